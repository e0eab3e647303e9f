/* Rank statistics for two small samples: the exact Mann-Whitney U test and the Hodges-Lehmann ratio. */
#ifndef IPCBENCH_STATS_H
#define IPCBENCH_STATS_H

#include <stddef.h>

#define STATS_MAX_N 1000 /* the most values a sample may have (-r takes 1..1000) */

/* Two samples compared: new (y) against base (x). */
struct stats_cmp {
	double p;        /* two-sided p-value of the Mann-Whitney U test */
	double p_min;    /* the smallest p-value samples of these sizes can give */
	double ratio;    /* Hodges-Lehmann estimate of y/x: the median of all y_j/x_i */
	double low;      /* the interval of y/x; 0 and INFINITY when the samples are too small for one */
	double high;
	double coverage; /* the interval's actual coverage under the null distribution, e.g. 0.968 */
};

/**
 * The smallest two-sided p-value the exact U test can reach: 2 / C(n1+n2, n1).
 * @param n1 size of the first sample
 * @param n2 size of the second sample
 * @return the p-value (1 when a sample is empty)
 */
double stats_min_p(size_t n1, size_t n2);

/**
 * Two-sided p-value of the Mann-Whitney U test (Wilcoxon rank-sum) of x against y.
 * Exact null distribution while it is cheap to count (both samples up to ~200), normal
 * approximation beyond. Ties are not corrected for: each tail counts tied pairs against
 * itself, which gives the largest p-value of any way of breaking the ties (conservative;
 * identical samples give 1).
 * @param x first sample, n1 values
 * @param y second sample, n2 values
 * @return the p-value in (0, 1]; NAN when a sample is empty or larger than STATS_MAX_N, or out of memory
 */
double stats_mwu_p(const double *x, size_t n1, const double *y, size_t n2);

/**
 * Compare two samples of positive values: the U test's p-value, and the ratio y/x with a
 * distribution-free interval (Hodges-Lehmann estimate, Moses interval on the logs: the k-th
 * smallest and k-th largest of the n1*n2 differences log y_j - log x_i, k the largest with
 * P(U < k) <= (1 - level) / 2 under the same null distribution of U).
 * @param x base sample, n1 positive finite values
 * @param y new sample, n2 positive finite values
 * @param level the interval's nominal coverage, e.g. 0.95
 * @param out filled on success
 * @return 0; -EINVAL for empty, oversized or non-positive samples; -ENOMEM
 */
int stats_compare(const double *x, size_t n1, const double *y, size_t n2, double level, struct stats_cmp *out);

#endif
