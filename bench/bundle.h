/* The -o bundle (results.json, results.csv, report.md, charts), and the plot and compare commands. */
#ifndef IPCBENCH_BUNDLE_H
#define IPCBENCH_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>

/**
 * Write the bundle for doc into dir (which cli_parse checked or created).
 * Charts are skipped with one warning when gnuplot is missing.
 * @return 0, or -1 after printing why a file or a chart could not be written.
 */
int bundle_write(const char *dir, const json_t *doc, bool quiet);

/** `ipcbench plot RESULTS.json -o DIR`: argv[0] is "plot". Returns the exit status. */
int bundle_plot_main(int argc, char **argv);

/** `ipcbench compare BASE.json NEW.json`: argv[0] is "compare". Returns the exit status. */
int compare_main(int argc, char **argv);

/**
 * Read a results document written by ipcbench: JSON, "tool" "ipcbench",
 * "schema" 1, and every result row with its mechanism, group, pattern,
 * size_bytes and status. On anything else prints one line naming the file
 * and the problem, prefixed with "ipcbench: CMD: ", and returns NULL.
 */
json_t *bundle_load(const char *path, const char *cmd);

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

#endif
