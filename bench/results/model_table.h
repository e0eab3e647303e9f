/* The processes-vs-threads comparison table, filled from the figures of one run's "models" object. */
#ifndef IPCBENCH_MODEL_TABLE_H
#define IPCBENCH_MODEL_TABLE_H

#include <jansson.h>
#include <stdio.h>

/*
 * Rows: memory, isolation, creation cost, switch cost, communication (the
 * fastest and slowest round trip of each group), communication like for like
 * (the same ring with the same wait: shm between processes, thread-ring
 * between threads), crash behaviour, scaling, stability (races, deadlock),
 * I/O-bound work in C, and CPU-bound work, I/O-bound work and communication in
 * Python; columns: process, thread, and a verdict that weighs the two, naming
 * the figures it rests on. Each cell is a figure or an observation from models
 * (the "models" object of the JSON document); a cell whose experiment did not
 * run, or failed, says so. The communication rows come from the run's pingpong
 * rows (results, the "results" array; may be NULL).
 */

/** The table as aligned text, cells wrapped to fit about 100 columns, each verdict on lines of its own. */
void model_table_print(const json_t *models, const json_t *results, FILE *out);

/** The same table in Markdown, for report.md. */
void model_table_markdown(const json_t *models, const json_t *results, FILE *out);

#endif
