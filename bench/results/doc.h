/*
 * bench/results/: everything after the measurement. The results document
 * (this module: results.json read and written, and the accessors every view
 * reads it with), its views (the table, CSV and Markdown in output, report.md,
 * the decision and processes-vs-threads tables, .hgrm files; the charts are in
 * plots/), the -o bundle that writes them all, and `compare`. Nothing here
 * measures: every view is made from the document alone.
 */
#ifndef IPCBENCH_DOC_H
#define IPCBENCH_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/**
 * Read a results document written by ipcbench: JSON, "tool" "ipcbench",
 * "schema" 1, and every result row with its mechanism, group, pattern,
 * size_bytes and status. On anything else prints one line naming the file
 * and the problem, prefixed with "ipcbench: CMD: ", and returns NULL.
 */
json_t *doc_load(const char *path, const char *cmd);

/** Write doc as DIR/results.json. 0, or -1 after printing why it could not. */
int doc_write(const char *dir, const json_t *doc);

/** Open DIR/NAME for writing (its path into path); NULL after printing why it could not. */
FILE *doc_file_open(const char *dir, const char *name, char *path, size_t len);

/** Close a file doc_file_open gave; 0, or -1 after printing that writing path failed. */
int doc_file_close(FILE *f, const char *path);

/** o[key] as a string; "" when absent or not a string. */
const char *doc_str(const json_t *o, const char *key);

/** o[key] as a number; NAN when absent, null or not a number. */
double doc_num(const json_t *o, const char *key);

/**
 * Is r a load variant of a row: pairs side by side (--pairs) or an open-loop
 * rate (--rate)? It shares mechanism, pattern and size with the plain row, so
 * views that key rows by those three leave it to a section of its own.
 */
bool doc_is_variant(const json_t *r);

/** "AMD EPYC, 2 CPUs, Linux 6.18.44, 2026-11-26 05:43 UTC": where and when doc was measured. */
const char *doc_host_line(const json_t *doc, char *buf, size_t len);

#endif
