/*
 * bench/: the measuring core. The command line, the run (this module: plan the
 * cases, fit them into the time budget, run, collect rows and models), the
 * runner and the timed loops of the two sides, message stamping and checking,
 * histograms and statistics, the floors, the host record. Its folders:
 * models/ (the processes-vs-threads experiments) and results/ (everything
 * made from the results document after the measurement).
 */
#ifndef IPCBENCH_BENCH_H
#define IPCBENCH_BENCH_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "row.h"

struct results {
	struct row *rows;
	int n_rows;
	json_t *models;       /* {"spawn": {...}, ...}; empty object when none ran */
	time_t started;       /* wall clock, for started_utc */
	double duration_s;
	int64_t duration_ns;  /* timed span per repetition actually used */
	int64_t warmup_ns;
	int interrupted;      /* the signal that stopped the run, or 0 */
};

/* Called after each row, so a table can be printed as rows arrive. */
typedef void (*row_sink)(const struct row *r, void *ctx);

/**
 * Run everything cfg asks for. Progress goes to stderr when it is a terminal
 * (and not --quiet). Rows are in res->rows in run order: floor rows first, so
 * every later row has its floor ratio when it reaches the sink.
 * @return 0, or -ENOMEM.
 */
int bench_run(const struct config *cfg, struct results *res, row_sink sink, void *ctx);

void results_free(struct results *res);

#endif
