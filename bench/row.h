/* One result row: a case's repetitions reduced to medians and a spread. */
#ifndef IPCBENCH_ROW_H
#define IPCBENCH_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "runner.h"

enum row_status { ROW_OK, ROW_UNSUPPORTED, ROW_FAILED };

/* The figures of one row; the RTT block is set for pingpong rows only. */
struct row {
	const struct transport_ops *ops;
	enum pattern pattern;
	uint64_t size_bytes;
	enum row_status status;
	char reason[256];
	bool has_rtt;
	struct {
		double min, p50, p90, p99, p999, max, mean;
	} rtt_ns;
	double msgs_per_s;   /* pingpong: round trips per second */
	double bytes_per_s;  /* pingpong: both directions; stream: what B received */
	uint64_t samples;    /* timed messages over all repetitions */
	double spread_pct;   /* (max - min) / median of the headline figure; NAN with one repetition */
	double floor_ratio;  /* over the hardware floor; NAN when there is none */
	int reps;            /* repetitions that make up the row */
	int64_t duration_ns; /* timed span of each repetition */
	int64_t warmup_ns;
	struct msg_errors errors;
};

const char *row_status_name(enum row_status s);

/**
 * Reduce n repetitions of a case to its row: any failed repetition fails the
 * row (its reason kept); otherwise each figure is the median over repetitions.
 */
void row_from_reps(struct row *r, const struct case_spec *c, const struct rep_result *reps, int n);

/** Set floor_ratio on every ok row from the floor rows among them. */
void rows_apply_floor(struct row *rows, int n);

#endif
