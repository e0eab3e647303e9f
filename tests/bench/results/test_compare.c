/* bench/stats.c (Mann-Whitney U test, Hodges-Lehmann ratio) and `ipcbench compare` verdicts end to end. */
#include "support.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void test_p_separated(void **state)
{
	(void)state;
	const double x[] = { 1, 2, 3, 4, 5, 6 }, y[] = { 7, 8, 9, 10, 11, 12 };
	assert_float_equal(stats_mwu_p(x, 6, y, 6), 2.0 / 924, 1e-15);
	assert_float_equal(stats_mwu_p(y, 6, x, 6), 2.0 / 924, 1e-15);
	double a[20], b[20];
	for (int i = 0; i < 20; i++) {
		a[i] = i;
		b[i] = 100 + i;
	}
	double p = stats_mwu_p(a, 20, b, 20);
	assert_true(fabs(p / (2.0 / 137846528820.0) - 1) < 1e-9); /* C(40, 20) */
}

static void test_p_known(void **state)
{
	(void)state;
	/* one pair out of order: U = 1, P(U <= 1) = 2/252, two-sided 4/252 (scipy mannwhitneyu, exact) */
	const double x[] = { 1, 2, 3, 4, 6 }, y[] = { 5, 7, 8, 9, 10 };
	assert_float_equal(stats_mwu_p(x, 5, y, 5), 4.0 / 252, 1e-15);
	/* interleaved: no evidence at all */
	const double odd[] = { 1, 3, 5, 7 }, even[] = { 2, 4, 6, 8 };
	assert_true(stats_mwu_p(odd, 4, even, 4) > 0.5);
}

static void test_p_ties(void **state)
{
	(void)state;
	const double x[] = { 5, 3, 9, 4, 7, 1 };
	assert_float_equal(stats_mwu_p(x, 6, x, 6), 1.0, 0);
	const double c[] = { 2, 2, 2, 2, 2 };
	assert_float_equal(stats_mwu_p(c, 5, c, 5), 1.0, 0);
	/* ties count against the tail tested: never smaller than with the ties broken either way */
	const double t1[] = { 1, 2, 3, 4, 5 }, t2[] = { 5, 6, 7, 8, 9 }, t2b[] = { 5.5, 6, 7, 8, 9 };
	assert_true(stats_mwu_p(t1, 5, t2, 5) >= stats_mwu_p(t1, 5, t2b, 5));
}

static void test_min_p(void **state)
{
	(void)state;
	assert_float_equal(stats_min_p(3, 3), 0.1, 1e-12);
	assert_float_equal(stats_min_p(4, 4), 2.0 / 70, 1e-12);
	assert_float_equal(stats_min_p(5, 5), 2.0 / 252, 1e-12);
	assert_float_equal(stats_min_p(1, 1), 1.0, 1e-12);
	assert_float_equal(stats_min_p(0, 4), 1.0, 0);
}

/* Above the exact range the normal approximation answers, with the same meaning. */
static void test_p_large(void **state)
{
	(void)state;
	double *a = malloc(600 * sizeof(*a)), *b = a + 300;
	for (int i = 0; i < 300; i++) {
		a[i] = 1 + 2 * i; /* interleaved */
		b[i] = 2 + 2 * i;
	}
	assert_true(stats_mwu_p(a, 300, b, 300) > 0.5);
	for (int i = 0; i < 300; i++)
		b[i] = 1000 + i; /* separated */
	assert_true(stats_mwu_p(a, 300, b, 300) < 1e-12);
	assert_true(isnan(stats_mwu_p(a, 0, b, 300)));
	free(a);
}

static void test_interval(void **state)
{
	(void)state;
	const double x[] = { 100, 103, 97, 101, 99, 102 };
	double y[6];
	for (int i = 0; i < 6; i++)
		y[5 - i] = 1.5 * x[i];
	struct stats_cmp s;
	assert_int_equal(stats_compare(x, 6, y, 6, 0.95, &s), 0);
	assert_float_equal(s.ratio, 1.5, 1e-9);
	assert_true(s.low < 1.5 && s.high > 1.5);
	assert_true(s.low > 1.4 && s.high < 1.6);
	/* 6 and 6: k = 6 (P(U <= 5) = 19/924 <= 0.025 < P(U <= 6) = 30/924) */
	assert_float_equal(s.coverage, 1 - 38.0 / 924, 1e-12);
	assert_float_equal(s.p, 2.0 / 924, 1e-15);
	assert_float_equal(s.p_min, 2.0 / 924, 1e-12);
}

static void test_interval_small(void **state)
{
	(void)state;
	const double x[] = { 10, 11, 12 }, y[] = { 20, 22, 24 };
	struct stats_cmp s;
	assert_int_equal(stats_compare(x, 3, y, 3, 0.95, &s), 0);
	assert_float_equal(s.ratio, 2.0, 1e-9);
	assert_true(s.low == 0 && isinf(s.high) && s.coverage == 1); /* 20 arrangements: no 95% interval */
	assert_float_equal(s.p, 0.1, 1e-12);
	const double bad[] = { 1, 0, 2 };
	assert_int_equal(stats_compare(x, 3, bad, 3, 0.95, &s), -EINVAL);
	assert_int_equal(stats_compare(x, 0, y, 3, 0.95, &s), -EINVAL);
}

/* --- end to end --- */

static char scratch[64];

/* A results document with one pingpong row ("pipe") and one stream row ("tcp"); reps NULL: no reps fields. */
static const char *write_doc(const char *name, const double *rtt, const double *bps, size_t n)
{
	static char path[8][128];
	static int next;
	char *p = path[next++ % 8];
	snprintf(p, sizeof(path[0]), "%s/%s", scratch, name);
	json_t *rtt_reps = json_array(), *bps_reps = json_array();
	for (size_t i = 0; rtt && i < n; i++) {
		json_array_append_new(rtt_reps, json_real(rtt[i]));
		json_array_append_new(bps_reps, json_real(bps[i]));
	}
	json_t *ping = json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:f, s:f}, s:f, s:b}", "mechanism", "pipe", "group",
				 "process", "pattern", "pingpong", "size_bytes", 64, "status", "ok", "rtt_ns", "p50",
				 rtt ? rtt[0] : 1000.0, "p99", 2000.0, "bytes_per_s", 1e6, "noisy", 0);
	json_t *stream = json_pack("{s:s, s:s, s:s, s:i, s:s, s:f}", "mechanism", "tcp", "group", "process",
				   "pattern", "stream", "size_bytes", 4096, "status", "ok", "bytes_per_s",
				   bps ? bps[0] : 1e9);
	if (rtt) {
		/* with 6 repetitions the tool's 95% interval is their minimum and maximum */
		double lo = rtt[0], hi = rtt[0];
		for (size_t i = 1; i < n; i++) {
			lo = rtt[i] < lo ? rtt[i] : lo;
			hi = rtt[i] > hi ? rtt[i] : hi;
		}
		json_object_set_new(ping, "ci95", json_pack("{s:f, s:f}", "low", lo, "high", hi));
		json_object_set_new(ping, "reps_rtt_ns_p50", rtt_reps);
		json_object_set_new(stream, "reps_bytes_per_s", bps_reps);
	} else {
		json_decref(rtt_reps);
		json_decref(bps_reps);
	}
	json_t *doc = json_pack("{s:s, s:s, s:i, s:{s:s, s:s, s:i}, s:{s:i}, s:[o, o]}", "tool", "ipcbench", "version",
				"test", "schema", 1, "host", "kernel", "6.1", "cpu_model", "test cpu", "ncpu", 2, "config",
				"repetitions", (int)n, "results", ping, stream);
	assert_non_null(doc);
	assert_int_equal(json_dump_file(doc, p, JSON_INDENT(1)), 0);
	json_decref(doc);
	return p;
}

/* Run compare and return its stdout (exit 0, nothing on stderr). */
static char *run_compare(const char *base, const char *new)
{
	const char *args[] = { "compare", base, new, NULL };
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 30);
	if (rc != 0 || err[0])
		print_error("exit %d\nstderr: %s\nstdout: %s\n", rc, err, out);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	free(err);
	return out;
}

/* The output line of the row whose mechanism is mech, malloc'd. */
static char *row_line(const char *out, const char *mech)
{
	size_t len = strlen(mech);
	for (const char *l = out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
		if (strncmp(l, mech, len) == 0 && l[len] == ' ')
			return strndup(l, strcspn(l, "\n"));
	}
	fail_msg("no row for %s in:\n%s", mech, out);
	return NULL;
}

static void expect_row(const char *out, const char *mech, const char *want, const char *not_want)
{
	char *line = row_line(out, mech);
	if (!strstr(line, want) || (not_want && strstr(line, not_want)))
		fail_msg("row '%s'\nwants '%s'%s%s", line, want, not_want ? ", not " : "", not_want ? not_want : "");
	free(line);
}

static const double rtt6[] = { 21000, 20500, 22100, 20900, 21800, 21300 };
static const double bps6[] = { 3.1e9, 3.0e9, 3.3e9, 2.9e9, 3.2e9, 3.05e9 };

static void test_e2e_identical(void **state)
{
	(void)state;
	const char *a = write_doc("a.json", rtt6, bps6, 6), *b = write_doc("b.json", rtt6, bps6, 6);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "no significant change", "worse");
	expect_row(out, "pipe", "p=1.000", "better");
	expect_row(out, "tcp", "no significant change", "worse");
	expect_row(out, "tcp", "1.00x [", "better");
	free(out);
}

static void test_e2e_twice_slower(void **state)
{
	(void)state;
	double rtt[6], bps[6];
	for (int i = 0; i < 6; i++) {
		rtt[i] = 2 * rtt6[i]; /* every repetition's round trip doubled: worse */
		bps[i] = 2 * bps6[i]; /* every repetition's throughput doubled: better */
	}
	const char *a = write_doc("base.json", rtt6, bps6, 6), *b = write_doc("new.json", rtt, bps, 6);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "worse", "better");
	expect_row(out, "pipe", "p=0.002", NULL); /* 2/924: fully separated 6 and 6 */
	expect_row(out, "pipe", "2.00x [", NULL);
	expect_row(out, "pipe", "95.9%", NULL); /* the interval's exact coverage for 6 and 6 */
	expect_row(out, "tcp", "better", "worse");
	free(out);
	/* the other way round the verdicts swap */
	out = run_compare(b, a);
	expect_row(out, "pipe", "better", "worse");
	expect_row(out, "tcp", "worse", "better");
	free(out);
}

/* Record a cache line's round trip between the run's CPUs, at its start and end, in the document at path. */
static void set_line_rtt(const char *path, double start, double end)
{
	json_t *doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	json_object_set_new(json_object_get(doc, "host"), "quality",
			    json_pack("{s:[f, f]}", "cacheline_rtt_ns", start, end));
	assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
}

/* The host moved the CPUs between the runs (a cache line's round trip 4x): no row is judged. */
static void test_e2e_host_moved(void **state)
{
	(void)state;
	double rtt[6], bps[6];
	for (int i = 0; i < 6; i++) {
		rtt[i] = 2 * rtt6[i];
		bps[i] = bps6[i] / 2;
	}
	const char *a = write_doc("moved_base.json", rtt6, bps6, 6), *b = write_doc("moved_new.json", rtt, bps, 6);
	set_line_rtt(a, 110, 120);
	set_line_rtt(b, 450, 470);
	char *out = run_compare(a, b);
	if (!strstr(out, "moved the CPUs between the runs: a cache line") || !strstr(out, "110-120 ns in base and 450-470 ns"))
		fail_msg("no line on the host moving the CPUs in:\n%s", out);
	expect_row(out, "pipe", "not judged: the host moved the CPUs", "worse");
	expect_row(out, "pipe", "2.00x [", NULL); /* the change and p are still shown */
	expect_row(out, "tcp", "not judged", "worse");
	free(out);
	/* readings within 25% of each other: the same placement, judged as usual */
	set_line_rtt(b, 125, 140);
	out = run_compare(a, b);
	if (strstr(out, "moved the CPUs between the runs:") || strstr(out, "moved the CPUs during"))
		fail_msg("the host did not move the CPUs (110-120 ns vs 125-140 ns):\n%s", out);
	expect_row(out, "pipe", "worse", "not judged");
	free(out);
	/* moved during one run (120 ns at its start, 430 at its end): its rows mix two placements */
	set_line_rtt(b, 120, 430);
	out = run_compare(a, b);
	if (!strstr(out, "moved the CPUs during the new run: a cache line's round trip between them took 120 ns at "
			 "its start and 430 ns at its end"))
		fail_msg("no line on the host moving the CPUs during the new run in:\n%s", out);
	assert_non_null(strstr(out, "same host")); /* the same machine, whatever it did with its CPUs */
	expect_row(out, "pipe", "not judged", "worse");
	free(out);
}

/*
 * A round trip of a few cache-line transfers (under 4 of the runs' line round
 * trips) moves with the host's placement as those do: a 14% shift, every new
 * repetition above every base one, is inside its 25%; a doubling is not.
 */
static void test_e2e_line_bound(void **state)
{
	(void)state;
	double base[6] = { 407, 411, 407, 409, 405, 407 }, shifted[6], doubled[6];
	for (int i = 0; i < 6; i++) {
		shifted[i] = 1.14 * base[i];
		doubled[i] = 2 * base[i];
	}
	const char *a = write_doc("line_base.json", base, bps6, 6), *b = write_doc("line_new.json", shifted, bps6, 6);
	set_line_rtt(a, 315, 291);
	set_line_rtt(b, 308, 293);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "no change beyond the runs' noise (+-25%)", "worse");
	expect_row(out, "pipe", "p=0.002", NULL);
	free(out);
	b = write_doc("line_doubled.json", doubled, bps6, 6);
	set_line_rtt(b, 308, 293);
	out = run_compare(a, b);
	expect_row(out, "pipe", "worse", "better");
	free(out);
	/* the same round trips beside a faster line (under a quarter of them): the usual 5% */
	set_line_rtt(a, 90, 95);
	b = write_doc("line_new2.json", shifted, bps6, 6);
	set_line_rtt(b, 92, 96);
	out = run_compare(a, b);
	expect_row(out, "pipe", "worse", "better");
	free(out);
}

static void test_e2e_small_change(void **state)
{
	(void)state;
	double rtt[6], bps[6];
	for (int i = 0; i < 6; i++) {
		rtt[i] = 1.01 * (20000 + i); /* separated, so p is small, but only 1% */
		bps[i] = bps6[i];
	}
	double base[6] = { 20000, 20001, 20002, 20003, 20004, 20005 };
	const char *a = write_doc("s1.json", base, bps6, 6), *b = write_doc("s2.json", rtt, bps, 6);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "no change beyond the runs' noise (+-5%)", "worse");
	expect_row(out, "pipe", "p=0.002", NULL);
	free(out);
}

/* A clear shift, but inside what each run's own repetitions scatter: the machine's, not the code's. */
static void test_e2e_within_noise(void **state)
{
	(void)state;
	double base[6] = { 16000, 18000, 19000, 20000, 21000, 24000 }, new[6];
	for (int i = 0; i < 6; i++)
		new[i] = 1.3 * base[i] + 7000; /* every new one above every base one: p = 0.002 */
	const char *a = write_doc("n1.json", base, bps6, 6), *b = write_doc("n2.json", new, bps6, 6);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "no change beyond the runs' noise", "worse");
	expect_row(out, "pipe", "p=0.002", NULL);
	free(out);
}

static void test_e2e_too_few(void **state)
{
	(void)state;
	double rtt[3], bps[3];
	for (int i = 0; i < 3; i++) {
		rtt[i] = 3 * rtt6[i];
		bps[i] = bps6[i] / 3;
	}
	const char *a = write_doc("r3a.json", rtt6, bps6, 3), *b = write_doc("r3b.json", rtt, bps, 3);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "too few repetitions for a test (3 and 3; need 5 each)", "worse");
	expect_row(out, "tcp", "too few repetitions", "worse");
	free(out);
}

static void test_e2e_old_files(void **state)
{
	(void)state;
	const char *a = write_doc("old.json", NULL, NULL, 0), *b = write_doc("new6.json", rtt6, bps6, 6);
	char *out = run_compare(a, b);
	expect_row(out, "pipe", "no repetitions recorded", "better");
	expect_row(out, "tcp", "no repetitions recorded", "worse");
	free(out);
}

static void test_e2e_help(void **state)
{
	(void)state;
	const char *args[] = { "compare", "--help", NULL };
	char *out = NULL;
	assert_int_equal(tool_run(args, &out, NULL, 30), 0);
	assert_non_null(strstr(out, "Mann-Whitney"));
	free(out);
}

static int scratch_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/compare-test-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int scratch_teardown(void **state)
{
	(void)state;
	return remove_tree(scratch); /* every document a test wrote, whatever its name */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p_separated),   cmocka_unit_test(test_p_known),
		cmocka_unit_test(test_p_ties),	      cmocka_unit_test(test_min_p),
		cmocka_unit_test(test_p_large),	      cmocka_unit_test(test_interval),
		cmocka_unit_test(test_interval_small), cmocka_unit_test(test_e2e_identical),
		cmocka_unit_test(test_e2e_twice_slower), cmocka_unit_test(test_e2e_host_moved),
		cmocka_unit_test(test_e2e_small_change), cmocka_unit_test(test_e2e_line_bound),
		cmocka_unit_test(test_e2e_within_noise),
		cmocka_unit_test(test_e2e_too_few),   cmocka_unit_test(test_e2e_old_files),
		cmocka_unit_test(test_e2e_help),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
