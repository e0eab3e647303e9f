/* One result row: a case's repetitions reduced to medians and a spread. */
#ifndef IPCBENCH_ROW_H
#define IPCBENCH_ROW_H

#include <stdbool.h>
#include <stdint.h>

#include "runner.h"

enum row_status { ROW_OK, ROW_UNSUPPORTED, ROW_FAILED };

#define ROW_MAX_REPS 1000 /* -r at most */

/*
 * The figures of one row; the RTT block is set for pingpong rows only. A
 * figure the row cannot support is NAN (printed as null, an empty cell or
 * "-"): a percentile p needs 10 / (1 - p) pooled samples.
 */
struct row {
	const struct transport_ops *ops;
	enum pattern pattern;
	uint64_t size_bytes;
	enum row_status status;
	char reason[256];
	bool has_rtt;
	struct {
		double min, p50, p90, p99, p999, max, mean;
	} rtt_ns;           /* p50: median of the repetitions' p50; the rest from all samples pooled */
	double msgs_per_s;   /* pingpong: round trips over the sum of their RTTs */
	double bytes_per_s;  /* pingpong: both directions, likewise; stream: median of what B received */
	uint64_t samples;    /* timed messages over all repetitions */
	double spread_pct;   /* (max - min) / median of the headline figure; NAN with one repetition */
	double ci95_low, ci95_high; /* around the headline, distribution-free; NAN below 6 repetitions */
	bool noisy;          /* the interval's half-width exceeds 5% of the headline */
	double floor_ratio;  /* over the hardware floor; NAN when there is none */
	int reps;            /* repetitions that make up the row */
	double rep_headline[ROW_MAX_REPS]; /* each repetition's p50 RTT (ns) or bytes per second */
	int64_t duration_ns; /* timed span of each repetition */
	int64_t warmup_ns;
	struct msg_errors errors;
};

/** The headline figure of a row: p50 RTT for pingpong, bytes per second for stream. */
double row_headline(const struct row *r);

/**
 * A distribution-free interval for the median of n values (sorted in place):
 * the order statistics x(k) and x(n+1-k) with the largest k whose coverage
 * 1 - 2 P(Binomial(n, 1/2) < k) is at least 95%. false below 6 values, where
 * no such k exists. *coverage gets the interval's exact coverage.
 */
bool median_ci95(double *v, int n, double *low, double *high, double *coverage);

const char *row_status_name(enum row_status s);

/**
 * Reduce n repetitions of a case to its row: any failed repetition fails the
 * row (its reason kept); otherwise each figure is the median over repetitions.
 */
void row_from_reps(struct row *r, const struct case_spec *c, const struct rep_result *reps, int n);

/** Set floor_ratio on every ok row from the floor rows among them. */
void rows_apply_floor(struct row *rows, int n);

#endif
