/* Histogram percentiles against the exact answer from a sorted copy of the same random data. */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define N_VALUES 100003 /* odd and not round, so ranks do not fall on neat boundaries */

/* hist.h promises half a bucket: 1/256 of the value, the 0.4% docs/methodology.md states. */
#define REL_ERR (1.0 / 256)

/* splitmix64: fixed seeds, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

enum dist { D_UNIFORM, D_EXPONENTIAL, D_PARETO, D_CONSTANT, D_LOG_1NS_10S, D_SMALL };

static const char *const dist_name[] = { "uniform", "exponential", "pareto", "constant",
					 "log-uniform 1ns..1e10ns", "small exact" };

static uint64_t draw(enum dist d, uint64_t *s)
{
	switch (d) {
	case D_UNIFORM: return 1000 + rng_next(s) % 1000000;
	case D_EXPONENTIAL: return (uint64_t)(-20000.0 * log(rng_unit(s))) + 1;
	case D_PARETO: return (uint64_t)(5000.0 / pow(rng_unit(s), 1.0 / 1.2)); /* long tail */
	case D_CONSTANT: return 123457;
	case D_LOG_1NS_10S: return (uint64_t)exp(rng_unit(s) * log(1e10)); /* 1 .. 1e10 */
	case D_SMALL: return rng_next(s) % 256;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The exact percentile: the value of rank ceil(permille/1000 * n), counted from 1. */
static uint64_t truth(const uint64_t *sorted, size_t n, unsigned permille)
{
	uint64_t rank = ((uint64_t)permille * n + 999) / 1000;
	return sorted[(rank ? rank : 1) - 1];
}

static void assert_close(uint64_t got, uint64_t want, const char *what, const char *dist)
{
	double err = fabs((double)got - (double)want);
	if (err > REL_ERR * (double)want) {
		print_error("%s of %s: histogram %llu, exact %llu (%.3f%% off)\n", what, dist,
			    (unsigned long long)got, (unsigned long long)want, 100.0 * err / (double)want);
		fail();
	}
}

static void check_distribution(enum dist d, uint64_t seed)
{
	uint64_t *v = malloc(N_VALUES * sizeof(*v));
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(v);
	assert_non_null(h);
	hist_init(h);
	long double sum = 0;
	for (size_t i = 0; i < N_VALUES; i++) {
		v[i] = draw(d, &seed);
		sum += v[i];
		assert_true(hist_record(h, v[i]));
	}
	qsort(v, N_VALUES, sizeof(*v), cmp_u64);
	assert_int_equal(h->count, N_VALUES);
	assert_int_equal(h->overflow, 0);
	assert_int_equal(h->min, v[0]);
	assert_int_equal(h->max, v[N_VALUES - 1]);

	static const struct { unsigned permille; const char *name; } pts[] = {
		{ 500, "p50" }, { 900, "p90" }, { 990, "p99" }, { 999, "p99.9" }, { 100, "p10" }, { 1, "p0.1" },
	};
	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++)
		assert_close(hist_percentile(h, pts[i].permille), truth(v, N_VALUES, pts[i].permille), pts[i].name,
			     dist_name[d]);
	assert_int_equal(hist_percentile(h, 1000), v[N_VALUES - 1]);
	assert_close(hist_percentile(h, 0), v[0], "min", dist_name[d]);
	double mean = (double)(sum / N_VALUES);
	assert_true(fabs(hist_mean(h) - mean) <= 1e-9 * mean);
	if (d == D_SMALL || d == D_CONSTANT) /* below 256 every value has its own bucket; a constant is clamped */
		for (unsigned pm = 1; pm <= 1000; pm += 37)
			assert_int_equal(hist_percentile(h, pm), truth(v, N_VALUES, pm));
	free(v);
	free(h);
}

static void test_uniform(void **state)
{
	(void)state;
	check_distribution(D_UNIFORM, 1);
}

static void test_exponential(void **state)
{
	(void)state;
	check_distribution(D_EXPONENTIAL, 2);
}

static void test_pareto(void **state)
{
	(void)state;
	check_distribution(D_PARETO, 3);
}

static void test_constant(void **state)
{
	(void)state;
	check_distribution(D_CONSTANT, 4);
}

static void test_log_wide(void **state)
{
	(void)state;
	check_distribution(D_LOG_1NS_10S, 5);
	check_distribution(D_LOG_1NS_10S, 55);
}

static void test_small_exact(void **state)
{
	(void)state;
	check_distribution(D_SMALL, 6);
}

/* Around every power of two the bucket of a value still stands for it within the bound. */
static void test_bucket_edges(void **state)
{
	(void)state;
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	for (unsigned k = 1; k < 40; k++)
		for (int d = -1; d <= 1; d++) {
			uint64_t x = (UINT64_C(1) << k) + (uint64_t)(int64_t)d;
			hist_init(h);
			/* a small and a huge neighbour, so clamping to min/max cannot hide the error */
			hist_record(h, 0);
			hist_record(h, x);
			hist_record(h, HIST_MAX_VALUE);
			assert_close(hist_percentile(h, 500), x, "median of {0, x, max}", "power-of-two edges");
		}
	free(h);
}

/* Merging two histograms equals recording everything in one. */
static void test_add_equals_record_all(void **state)
{
	(void)state;
	struct hist *all = malloc(sizeof(*all)), *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct hist *sum = malloc(sizeof(*sum));
	assert_true(all && a && b && sum);
	hist_init(all);
	hist_init(a);
	hist_init(b);
	hist_init(sum);
	uint64_t seed = 7;
	for (int i = 0; i < 50000; i++) {
		uint64_t x = draw(i % 3 ? D_EXPONENTIAL : D_LOG_1NS_10S, &seed);
		if (i % 1000 == 0)
			x = HIST_MAX_VALUE + 1 + (uint64_t)i; /* some overflow on both sides */
		hist_record(all, x);
		hist_record(i % 2 ? a : b, x);
	}
	hist_add(sum, a);
	hist_add(sum, b);
	assert_int_equal(sum->count, all->count);
	assert_int_equal(sum->overflow, all->overflow);
	assert_int_equal(sum->min, all->min);
	assert_int_equal(sum->max, all->max);
	assert_memory_equal(sum->buckets, all->buckets, sizeof(all->buckets));
	assert_true(fabsl(sum->sum - all->sum) <= 1e-12L * all->sum);
	static const unsigned permilles[] = { 1, 500, 900, 990, 999, 1000 };
	for (size_t i = 0; i < sizeof(permilles) / sizeof(permilles[0]); i++)
		assert_int_equal(hist_percentile(sum, permilles[i]), hist_percentile(all, permilles[i]));

	/* an empty source changes nothing, an empty destination becomes a copy */
	struct hist *before = malloc(sizeof(*before)), *empty = malloc(sizeof(*empty));
	assert_true(before && empty);
	hist_init(empty);
	memcpy(before, sum, sizeof(*before));
	hist_add(sum, empty);
	assert_memory_equal(sum, before, sizeof(*sum));
	hist_add(empty, a);
	assert_memory_equal(empty, a, sizeof(*a));
	free(before);
	free(empty);
	free(all);
	free(a);
	free(b);
	free(sum);
}

static void test_out_of_range(void **state)
{
	(void)state;
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	hist_init(h);
	assert_true(hist_record(h, HIST_MAX_VALUE));
	assert_false(hist_record(h, HIST_MAX_VALUE + 1));
	assert_false(hist_record(h, UINT64_MAX));
	assert_int_equal(h->count, 3);
	assert_int_equal(h->overflow, 2);
	assert_int_equal(h->max, UINT64_MAX);
	assert_int_equal(h->min, HIST_MAX_VALUE);
	assert_int_equal(hist_percentile(h, 1000), UINT64_MAX);
	/* a rank among the overflowed values reports the max, never a bucket below it */
	assert_int_equal(hist_percentile(h, 900), UINT64_MAX);
	assert_close(hist_percentile(h, 100), HIST_MAX_VALUE, "p10", "out of range");
	double mean = ((double)HIST_MAX_VALUE + (double)(HIST_MAX_VALUE + 1) + (double)UINT64_MAX) / 3;
	assert_true(fabs(hist_mean(h) - mean) <= 1e-9 * mean);

	hist_init(h);
	for (int i = 0; i < 99; i++)
		hist_record(h, 1000);
	hist_record(h, UINT64_MAX);
	assert_close(hist_percentile(h, 500), 1000, "p50", "with one overflow");
	assert_close(hist_percentile(h, 990), 1000, "p99", "with one overflow");
	assert_int_equal(hist_percentile(h, 995), UINT64_MAX);
	free(h);
}

static void test_empty(void **state)
{
	(void)state;
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	hist_init(h);
	assert_int_equal(h->count, 0);
	assert_int_equal(hist_percentile(h, 500), 0);
	assert_int_equal(hist_percentile(h, 1000), 0);
	assert_int_equal(hist_percentile(h, 0), 0);
	assert_true(hist_mean(h) == 0.0);
	struct hist *e = malloc(sizeof(*e));
	assert_non_null(e);
	hist_init(e);
	hist_add(h, e);
	assert_int_equal(h->count, 0);
	assert_int_equal(h->min, UINT64_MAX); /* still "nothing seen", not zero */
	assert_int_equal(hist_percentile(h, 500), 0);

	/* zero is a value like any other */
	hist_record(h, 0);
	assert_int_equal(h->count, 1);
	assert_int_equal(hist_percentile(h, 500), 0);
	assert_int_equal(h->min, 0);
	free(e);
	free(h);
}

/* n samples whose value of rank r is value(r): nondecreasing in r, so rank r holds value(r). */
static struct hist *by_rank(uint64_t n, uint64_t (*value)(uint64_t r, uint64_t at), uint64_t at)
{
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	hist_init(h);
	for (uint64_t r = 1; r <= n; r++)
		assert_true(hist_record(h, value(r, at)));
	return h;
}

static uint64_t identity(uint64_t r, uint64_t at)
{
	(void)at;
	return r;
}

/* 100 at rank at, 99 and 101 on either side, 0..200 in all: every value has a bucket of its own. */
static uint64_t probe(uint64_t r, uint64_t at)
{
	uint64_t v = r + 100 >= at ? r + 100 - at : 0;
	return v < 200 ? v : 200;
}

/*
 * The rank is ceil(permille x n / 1000) in integers: p99.9 of 1..1000 is the
 * value of rank 999, where 99.9 / 100 x 1000 in doubles is 999.0000000000001
 * and would round up to rank 1000, the max.
 */
static void test_rank_is_exact(void **state)
{
	(void)state;
	static const struct { uint64_t n; unsigned permille; uint64_t rank; const char *name; } cases[] = {
		{ 1000, 999, 999, "p99.9 of 1..1000" }, { 1000, 990, 990, "p99 of 1..1000" },
		{ 1000, 500, 500, "p50 of 1..1000" },   { 1000, 1000, 1000, "p100 of 1..1000" },
		{ 2000, 999, 1998, "p99.9 of 1..2000" }, { 2000, 990, 1980, "p99 of 1..2000" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* 1..n: above 255 a bucket is 1/128 of its value wide, so the answer holds within half of that */
		struct hist *h = by_rank(cases[i].n, identity, 0);
		assert_close(hist_percentile(h, cases[i].permille), cases[i].rank, cases[i].name, "1..n");
		free(h);
		/* the same ranks over exact buckets: rank - 1 or rank + 1 would read 99 or 101 */
		h = by_rank(cases[i].n, probe, cases[i].rank);
		if (hist_percentile(h, cases[i].permille) != 100)
			print_error("%s: the value of rank %llu%+d, not of rank %llu\n", cases[i].name,
				    (unsigned long long)cases[i].rank, (int)hist_percentile(h, cases[i].permille) - 100,
				    (unsigned long long)cases[i].rank);
		assert_int_equal(hist_percentile(h, cases[i].permille), 100);
		free(h);
	}
}

/* Ten values above the percentile: 10 / (1 - p). */
static void test_samples_needed(void **state)
{
	(void)state;
	assert_int_equal(hist_samples_needed(990), 1000);
	assert_int_equal(hist_samples_needed(999), 10000);
	assert_int_equal(hist_samples_needed(500), 20);
	assert_int_equal(hist_samples_needed(900), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_exponential),
		cmocka_unit_test(test_pareto),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_log_wide),
		cmocka_unit_test(test_small_exact),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_add_equals_record_all),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_rank_is_exact),
		cmocka_unit_test(test_samples_needed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
