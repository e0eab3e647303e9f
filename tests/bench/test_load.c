/* Load: oneway, pairs side by side, fanin, and an open-loop rate that does not omit a stall. */
#include "support.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "registry.h"
#include "../ipc/killer.h"

static json_t *run_json(const char *const *args, int want_status)
{
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 120);
	if (rc != want_status)
		print_error("exit %d, stderr:\n%s", rc, err);
	assert_int_equal(rc, want_status);
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	free(out);
	free(err);
	return doc;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* -p oneway: B's one-way times are rows of their own, named one way, not RTT. */
static void test_oneway(void **state)
{
	(void)state;
	const char *args[] = { "-m", "pipe,shm", "-p", "oneway", "-s", "64", "-d", "30ms", "-r", "1", "--json", "--quiet",
			       NULL };
	json_t *doc = run_json(args, 0);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		assert_string_equal(str(r, "pattern"), "oneway");
		assert_string_equal(str(r, "status"), "ok");
		assert_null(json_object_get(r, "rtt_ns"));
		const json_t *ow = json_object_get(r, "oneway_ns");
		assert_true(num(ow, "p50") > 0 && num(ow, "min") <= num(ow, "p50"));
		assert_true(num(r, "samples") > 0);
	}
	json_decref(doc);
}

/* --pairs 2: one row per mechanism, its rate the pairs' added up, the fastest and slowest pair shown. */
static void test_pairs(void **state)
{
	(void)state;
	const char *args[] = { "-m", "pipe,shm", "-p", "pingpong", "--pairs", "2", "-s", "64", "-d", "30ms", "-r", "1",
			       "--json", "--quiet", NULL };
	json_t *doc = run_json(args, 0);
	const json_t *rows = json_object_get(doc, "results");
	assert_int_equal(json_array_size(rows), 2);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		assert_string_equal(str(r, "status"), "ok");
		assert_int_equal(num(r, "pairs"), 2);
		const json_t *pp = json_object_get(r, "per_pair");
		const json_t *rate = json_object_get(pp, "msgs_per_s"), *p50 = json_object_get(pp, "rtt_ns_p50");
		assert_true(num(rate, "min") > 0 && num(rate, "min") <= num(rate, "max"));
		assert_true(num(p50, "min") <= num(p50, "max"));
		/* the row's rate is both pairs' together: at least the fastest pair's */
		assert_true(num(r, "msgs_per_s") >= num(rate, "max") * 0.999);
	}
	json_decref(doc);
}

/* -p fanin: senders into one receiver where the mechanism carries it, each sender's order verified. */
static void test_fanin(void **state)
{
	(void)state;
	const char *args[] = { "-m", "uds-dgram,mq,zmq-ipc,shm", "-p", "fanin", "--senders", "4", "-s", "64", "-d",
			       "30ms", "-r", "1", "--json", "--quiet", NULL };
	json_t *doc = run_json(args, 0);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		const json_t *e = json_object_get(r, "errors");
		if (strcmp(str(r, "mechanism"), "shm") == 0) {
			assert_string_equal(str(r, "status"), "unsupported");
			assert_non_null(strstr(str(r, "reason"), "point to point"));
			continue;
		}
		if (strcmp(str(r, "status"), "ok") != 0)
			print_error("%s: %s\n", str(r, "mechanism"), str(r, "reason"));
		assert_string_equal(str(r, "status"), "ok");
		assert_int_equal(num(r, "senders"), 4);
		assert_int_equal(num(e, "lost") + num(e, "reordered") + num(e, "duplicate") + num(e, "corrupt"), 0);
	}
	json_decref(doc);
}

/*
 * Coordinated omission made visible: side B stopped for 200 ms in an
 * open-loop run at 2000 round trips per second. Timed from their intended
 * send, the round trips due during the stall carry it (some 400 of ~6000, so
 * it reaches the p99); timed from the actual send, only the one in flight does.
 */
static void test_rate_does_not_omit_a_stall(void **state)
{
	(void)state;
	struct case_spec c = test_case(transport_find("pipe"), PAT_PINGPONG, 64, 3 * NS_PER_S);
	c.rate_per_s = 2000;
	c.timeout_ns = 3 * NS_PER_S;
	struct killer stop, cont;
	killer_start(&stop, 1, SIGSTOP, c.warmup_ns + 1200 * 1000000LL);
	killer_start(&cont, 1, SIGCONT, c.warmup_ns + 1400 * 1000000LL);
	struct rep_result *r = calloc(1, sizeof(*r));
	assert_int_equal(run_once(&c, r), 0);
	pid_t stopped = killer_join(&stop), continued = killer_join(&cont);
	if (!r->ok)
		print_error("%s\n", r->reason);
	assert_true(r->ok);
	assert_true(stopped > 0 && continued == stopped);
	uint64_t intended_p99 = hist_percentile(&r->intended, 990), service_p99 = hist_percentile(&r->rtt, 990);
	print_message("p99 from the intended send %.2f ms, from the actual send %.2f ms; max %.1f ms\n",
		      (double)intended_p99 / 1e6, (double)service_p99 / 1e6, (double)r->intended.max / 1e6);
	assert_true(intended_p99 >= 10 * 1000000ULL);
	assert_true(r->intended.max >= 150 * 1000000ULL);
	assert_true(service_p99 < intended_p99);
	free(r);
}

/*
 * A closed-loop span runs on past its planned end until side A has made
 * min_round_trips, and not past max_duration_ns: a repetition that the host
 * slowed still brings its share of samples, and one that cannot reach it ends.
 */
static void test_span_runs_on_for_its_round_trips(void **state)
{
	(void)state;
	struct case_spec c = test_case(transport_find("pipe"), PAT_PINGPONG, 64, NS_PER_S / 1000);
	c.min_round_trips = 3000;
	c.max_duration_ns = 30 * NS_PER_S;
	struct rep_result *r = calloc(1, sizeof(*r));
	assert_int_equal(run_once(&c, r), 0);
	if (!r->ok)
		print_error("%s\n", r->reason);
	assert_true(r->ok);
	assert_true(r->msgs >= 3000);
	assert_int_equal(r->rtt.count, r->msgs);

	/* out of reach: the cap ends the span, and the repetition is ok with what it has */
	c.min_round_trips = UINT64_MAX;
	c.max_duration_ns = 50 * 1000000LL;
	memset(r, 0, sizeof(*r));
	assert_int_equal(run_once(&c, r), 0);
	assert_true(r->ok);
	assert_true(r->msgs > 0 && r->msgs < UINT64_MAX);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneway),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_fanin),
		cmocka_unit_test(test_rate_does_not_omit_a_stall),
		cmocka_unit_test(test_span_runs_on_for_its_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
