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
	int senders;           /* fanin: senders into the one receiver */
	int pairs;             /* --pairs: pairs side by side; the rates are theirs added up */
	struct {
		double p50_min, p50_max, p99_min, p99_max; /* the fastest and slowest pair's */
		double rate_min, rate_max;                 /* messages (round trips) per second of one pair */
	} per_pair;            /* over every repetition's pairs */
	const char *placement; /* --placement: how the two sides' CPUs relate; NULL when not swept */
	int cpus[2];           /* the CPUs the sides were pinned to; -1 unpinned */
	enum row_status status;
	char reason[256];
	bool has_rtt;
	struct {
		double min, p50, p90, p99, p999, max, mean;
	} rtt_ns;           /* p50: median of the repetitions' p50; the rest from all samples pooled */
	struct hist *pooled; /* every repetition's round trips (one-way times) merged; freed with the rows */
	bool has_rate;       /* pingpong at a --rate: the open-loop figures below are set */
	struct {
		double target_per_s, achieved_per_s;
		bool missed;         /* achieved below 95% of the target */
		double p50, p90, p99, p999, max; /* from each round trip's intended send time */
	} rate;
	double msgs_per_s;   /* pingpong: round trips over the sum of their RTTs */
	double bytes_per_s;  /* pingpong: both directions, likewise; stream: median of what B received */
	uint64_t samples;    /* timed messages over all repetitions */
	double spread_pct;   /* (max - min) / median of the headline figure; NAN with one repetition */
	double ci95_low, ci95_high; /* around the headline, distribution-free; NAN below 6 repetitions */
	bool noisy;          /* an end of the interval lies more than 5% from the headline */
	double floor_ratio;  /* over the floor of its kind; NAN when there is none */
	const char *floor;   /* what floor_ratio divides by: "cacheline", "wake" or "xcopy"; NULL without one */
	double floor_best;   /* a floor row: the best headline it reached in this run, its own or a probe's */
	int floor_probes;    /* a floor row: the probes taken just before the rows that divide by it */
	bool has_cpu;        /* the CPU block below is measured */
	struct {
		double a_ns, b_ns;     /* each side's CPU time per message (pingpong: per round trip) */
		double per_msg_ns;     /* both sides together */
		double cores_busy;     /* both sides' CPU time over the timed span's wall time */
		double a_vcsw, a_ivcsw, b_vcsw, b_ivcsw; /* context switches per message */
	} cpu;               /* over all repetitions pooled */
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

/**
 * Set floor_ratio and floor on every ok row from the floor rows among them
 * (docs/methodology.md, Floors): a pingpong row of a mechanism that spins
 * (TP_SPIN_ONLY, TP_SPINS_FIRST) is read over floor-cacheline, one that sleeps
 * over floor-wake, a stream row over floor-xcopy at its size. Floor rows get
 * neither, nor does a row whose floor is not among the rows.
 */
void rows_apply_floor(struct row *rows, int n);

/** The same for one row r among rows[0..n): as each row arrives, the rows before it already have theirs. */
void row_apply_floor(struct row *rows, int n, struct row *r);

/**
 * The floor row among rows[0..n) that a case of ops, pattern, size and CPUs
 * divides by; NULL when the run has none.
 */
struct row *row_floor_for(struct row *rows, int n, const struct transport_ops *ops, enum pattern pattern,
			  uint64_t size_bytes, const int cpus[2]);

/** Count a probe of floor row f that reached headline (p50 RTT or bytes per second); keeps the best. */
void row_floor_probe(struct row *f, double headline);

#endif
