/* Results out: the JSON document (the one source of truth), and the table, CSV and Markdown views of it. */
#ifndef IPCBENCH_OUTPUT_H
#define IPCBENCH_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "bench.h"
#include "config.h"

/** One row as a JSON result object (schema 1). */
json_t *row_json(const struct row *r);

/** The whole document of schema 1: tool, run, host, config, results, models. */
json_t *results_json(const struct config *cfg, const struct results *res);

/** CSV of the document's results: a header line, then one line per row, fields flattened by '_'. */
int write_csv(const json_t *doc, FILE *out);

/** The aligned table's header, and one line of it per row (for printing as rows arrive). */
void table_header(FILE *out);
void table_row(const struct row *r, FILE *out);

/** The table's notes: what "-" and "~" mean, printed when some row shows them. */
void table_footer(const struct results *res, FILE *out);

/** A Markdown table of the document's results. */
void write_markdown(const json_t *doc, FILE *out);

#endif
