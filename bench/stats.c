/* Exact Mann-Whitney U distribution by counting, and the Hodges-Lehmann / Moses ratio interval. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define STATS_EXACT_WORK 20000000.0 /* counting steps allowed per distribution; beyond it, the normal approximation */
#define STATS_EXACT_LOG_C 600.0     /* log C(n1+n2, n1) allowed: the counts must fit a double */

/* The null distribution of U for samples of n1 and n2 values without ties. */
struct stats_null {
	size_t n1, n2;
	size_t half; /* cdf covers u = 0..half, half = floor(n1*n2/2); the rest follows by symmetry */
	double *cdf; /* P(U <= u); NULL: normal approximation */
};

/* log C(n1+n2, n1) */
static double stats_lchoose(size_t n1, size_t n2)
{
	return lgamma((double)(n1 + n2) + 1) - lgamma((double)n1 + 1) - lgamma((double)n2 + 1);
}

double stats_min_p(size_t n1, size_t n2)
{
	if (!n1 || !n2)
		return 1;
	double p = 2 * exp(-stats_lchoose(n1, n2));
	return p < 1 ? p : 1;
}

/*
 * c[u] = how many of the C(n1+n2, n1) arrangements have U = u, for u = 0..half: the coefficients
 * of the Gaussian binomial [n1+n2 choose n1]_q = prod_{i=1..n1} (1 - q^(n2+i)) / (1 - q^i), one
 * factor at a time (multiply, then divide: a prefix sum with stride i). Only the lower half is
 * kept: a coefficient depends on lower ones only, and the lower half stays accurate to ~1e-14
 * where the upper half of the same product loses everything to cancellation.
 */
static void stats_count_u(size_t n1, size_t n2, size_t half, double *c)
{
	c[0] = 1;
	for (size_t u = 1; u <= half; u++)
		c[u] = 0;
	for (size_t i = 1; i <= n1; i++) {
		size_t top = i * n2 < half ? i * n2 : half, step = n2 + i;
		for (size_t u = top + 1; u-- > step;)
			c[u] -= c[u - step];
		for (size_t u = i; u <= top; u++)
			c[u] += c[u - i];
	}
}

/* Set up the null distribution: exact counts when cheap enough, else the normal approximation. 0 or -ENOMEM. */
static int stats_null_init(struct stats_null *d, size_t n1, size_t n2)
{
	size_t small = n1 < n2 ? n1 : n2, big = n1 < n2 ? n2 : n1;
	*d = (struct stats_null){ .n1 = n1, .n2 = n2, .half = n1 * n2 / 2 };
	if ((double)small * (double)d->half > STATS_EXACT_WORK || stats_lchoose(n1, n2) > STATS_EXACT_LOG_C)
		return 0;
	d->cdf = malloc((d->half + 1) * sizeof(*d->cdf));
	if (!d->cdf)
		return -ENOMEM;
	stats_count_u(small, big, d->half, d->cdf);
	for (size_t u = 1; u <= d->half; u++)
		d->cdf[u] += d->cdf[u - 1];
	/* all arrangements: the lower half plus its mirror (sharing the middle when n1*n2 is even) */
	size_t m = n1 * n2;
	double total = d->cdf[d->half] + d->cdf[m - 1 - d->half];
	for (size_t u = 0; u <= d->half; u++)
		d->cdf[u] /= total;
	return 0;
}

static void stats_null_fini(struct stats_null *d)
{
	free(d->cdf);
	d->cdf = NULL;
}

/* P(U <= u) under the null. */
static double stats_null_le(const struct stats_null *d, double u)
{
	double m = (double)d->n1 * (double)d->n2;
	if (u < 0)
		return 0;
	if (u >= m)
		return 1;
	if (!d->cdf) { /* continuity-corrected normal; no tie correction, which would only shrink p */
		double sd = sqrt(m * ((double)(d->n1 + d->n2) + 1) / 12);
		return 0.5 * erfc(-(floor(u) + 0.5 - m / 2) / (sd * sqrt(2)));
	}
	size_t k = (size_t)floor(u);
	if (k <= d->half)
		return d->cdf[k];
	return 1 - d->cdf[(size_t)m - 1 - k]; /* P(U >= k+1) = P(U <= m-k-1) by symmetry */
}

/* The two-sided p-value of x against y under d; tied pairs count against each tail in turn. */
static double stats_p(const struct stats_null *d, const double *x, const double *y)
{
	double above = 0, ties = 0;
	for (size_t i = 0; i < d->n1; i++)
		for (size_t j = 0; j < d->n2; j++) {
			above += x[i] > y[j];
			ties += x[i] == y[j];
		}
	double m = (double)d->n1 * (double)d->n2;
	double low = stats_null_le(d, above + ties), high = stats_null_le(d, m - above);
	double p = 2 * (low < high ? low : high);
	return p < 1 ? p : 1;
}

static bool stats_sizes_ok(size_t n1, size_t n2)
{
	return n1 && n2 && n1 <= STATS_MAX_N && n2 <= STATS_MAX_N;
}

double stats_mwu_p(const double *x, size_t n1, const double *y, size_t n2)
{
	struct stats_null d;
	if (!stats_sizes_ok(n1, n2) || stats_null_init(&d, n1, n2))
		return NAN;
	double p = stats_p(&d, x, y);
	stats_null_fini(&d);
	return p;
}

static int stats_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The largest k with P(U < k) <= tail (0 when even k = 1 is too wide a bet). */
static size_t stats_moses_k(const struct stats_null *d, double tail)
{
	size_t lo = 0, hi = d->n1 * d->n2;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (stats_null_le(d, (double)(mid - 1)) <= tail * (1 + 1e-9))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* The Hodges-Lehmann estimate and Moses interval of y/x from the sorted log differences diff[0..m). */
static void stats_interval(const struct stats_null *d, const double *diff, double level, struct stats_cmp *out)
{
	size_t m = d->n1 * d->n2;
	out->ratio = exp(m % 2 ? diff[m / 2] : (diff[m / 2 - 1] + diff[m / 2]) / 2);
	size_t k = stats_moses_k(d, (1 - level) / 2);
	if (!k) {
		out->low = 0;
		out->high = INFINITY;
		out->coverage = 1;
		return;
	}
	out->low = exp(diff[k - 1]);
	out->high = exp(diff[m - k]);
	out->coverage = 1 - 2 * stats_null_le(d, (double)(k - 1));
}

int stats_compare(const double *x, size_t n1, const double *y, size_t n2, double level, struct stats_cmp *out)
{
	if (!stats_sizes_ok(n1, n2))
		return -EINVAL;
	for (size_t i = 0; i < n1 + n2; i++) {
		double v = i < n1 ? x[i] : y[i - n1];
		if (!(v > 0) || !isfinite(v))
			return -EINVAL;
	}
	struct stats_null d;
	double *diff = malloc(n1 * n2 * sizeof(*diff));
	if (!diff || stats_null_init(&d, n1, n2)) {
		free(diff);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n1; i++)
		for (size_t j = 0; j < n2; j++)
			diff[i * n2 + j] = log(y[j]) - log(x[i]);
	qsort(diff, n1 * n2, sizeof(*diff), stats_cmp_double);
	out->p = stats_p(&d, x, y);
	out->p_min = stats_min_p(n1, n2);
	stats_interval(&d, diff, level, out);
	stats_null_fini(&d);
	free(diff);
	return 0;
}
