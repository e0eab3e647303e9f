/* Log-linear latency histogram: constant memory, at most 0.4% relative error. */
#ifndef IPCBENCH_HIST_H
#define IPCBENCH_HIST_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Values below 2^(HIST_SUB_BITS+1) are kept exactly; above, every power of two
 * is split into 2^HIST_SUB_BITS equal buckets, so a bucket is at most 1/128 of
 * its value wide and its midpoint is within 0.4% of any value in it.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_MAX_VALUE ((UINT64_C(1) << 40) - 1) /* ~18 minutes in ns */
#define HIST_BUCKETS ((40 - HIST_SUB_BITS + 1) * HIST_SUB_COUNT)

/* A fixed-size value, safe to place in memory shared between processes. */
struct hist {
	uint64_t count;
	uint64_t overflow; /* values above HIST_MAX_VALUE, counted but not bucketed */
	uint64_t min;
	uint64_t max;
	long double sum;
	uint64_t buckets[HIST_BUCKETS];
};

/** Empty the histogram. */
void hist_init(struct hist *h);

/**
 * Record one value.
 * @return false when the value is above HIST_MAX_VALUE (it still counts in
 *         count, min, max and mean, but no percentile can reach it).
 */
bool hist_record(struct hist *h, uint64_t value);

/**
 * The value at or below which permille/1000 of the recorded values lie
 * (0..1000; 500 is the median, 999 is p99.9), within 0.4%, clamped to
 * [min, max]. The rank is ceil(permille x count / 1000) in integers, at
 * least 1, so p99.9 of the values 1..1000 is 999. 0 when empty.
 */
uint64_t hist_percentile(const struct hist *h, unsigned permille);

/**
 * Samples a percentile needs before it is worth printing: 10 / (1 - p), so
 * that at least ten values lie above it (p99 needs 1,000, p99.9 10,000).
 */
uint64_t hist_samples_needed(unsigned permille);

/** The value that stands for bucket b (its midpoint): what a percentile falling in it reports. */
uint64_t hist_bucket_value(unsigned b);

/** Exact mean of recorded values; 0 when empty. */
double hist_mean(const struct hist *h);

/** Merge src into dst, as if every value of src had been recorded in dst. */
void hist_add(struct hist *dst, const struct hist *src);

#endif
