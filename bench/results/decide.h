/* The decision table of report.md: for each size class and need, this run's best mechanism and its statistical ties. */
#ifndef IPCBENCH_DECIDE_H
#define IPCBENCH_DECIDE_H

#include <jansson.h>
#include <stdio.h>

/* Whether the repetitions of two rows can tell them apart. */
enum decide_tie {
	DECIDE_TIED,     /* p >= 0.01, or the ratio's 95% interval stays within the rows' noise */
	DECIDE_APART,    /* p < 0.01 and the whole interval clears the noise */
	DECIDE_UNTESTED, /* too few repetitions (fewer than 5 each) or none recorded */
};

/**
 * Test two ok rows of one pattern over their repetitions' headline figures
 * (reps_rtt_ns_p50 or reps_bytes_per_s) by the rule `ipcbench compare` uses:
 * an exact Mann-Whitney test, and the Hodges-Lehmann ratio's interval against
 * a band of 5% or the rows' two 95% half-widths added, whichever is larger.
 */
enum decide_tie decide_tie(const json_t *a, const json_t *b);

/**
 * "## Decision table": per size class (up to 4 KiB, up to 256 KiB, above) and
 * per need (lowest latency, lowest latency without a busy core, highest
 * throughput, message boundaries, across hosts, between threads), the best ok
 * row of doc with its figure, 95% interval and CPU cost, and the rows tied
 * with it. Nothing when doc has no ok pingpong or stream row.
 */
void decide_section(const json_t *doc, FILE *out);

#endif
