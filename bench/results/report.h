/* report.md: the part of a bundle people paste into design reviews. */
#ifndef IPCBENCH_REPORT_H
#define IPCBENCH_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "plots/charts.h"

/** Write report.md for doc; charts are the ones charts_write produced beside it. */
void report_write(const json_t *doc, const struct chart_set *charts, FILE *out);

/** One word as the shell would need it typed: as is when safe, else in single quotes. */
void report_shell_word(const char *word, FILE *out);

/** run.argv of doc as one shell command line, each word quoted where the shell needs it. */
void report_command(const json_t *doc, FILE *out);

/** The processes-vs-threads table of models (and the run's results, may be NULL), with its note. */
void report_models_table(const json_t *models, const json_t *results, FILE *out);

/** One subsection per experiment of models: its figures as tables with units, its method in one sentence. */
void report_models_experiments(const json_t *models, FILE *out);

#endif
