/* The floor rows: a cache line and a futex wake-up between two pinned threads, a copy from one to the
 * other, memcpy on one CPU; and which floor each row is read over. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "msg.h"
#include "results/output.h"
#include "row.h"
#include "support.h"

#define MS (INT64_C(1000000))

extern const struct transport_ops floor_cacheline_ops, floor_memcpy_ops, floor_wake_ops, floor_xcopy_ops;

/* The cache line's round trip goes through the runner's pingpong loop, every echo checked. */
static void test_cacheline_pingpong(void **state)
{
	(void)state;
	struct case_spec c = test_case(&floor_cacheline_ops, PAT_PINGPONG, 64, 50 * MS);
	char why[256];
	if (c.cpu[0] == c.cpu[1]) {
		assert_true(case_unsupported(&c, why, sizeof(why))); /* spins: needs two CPUs */
		skip();
	}
	assert_false(case_unsupported(&c, why, sizeof(why)));
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("%s\n", r.reason);
	assert_true(r.ok);
	assert_true(r.msgs > 0);
	assert_int_equal(r.rtt.count, r.msgs);
	assert_int_equal(msg_errors_total(&r.errors), 0);
}

/* It carries 64 B only, never streams, and refuses one CPU for both sides. */
static void test_cacheline_limits(void **state)
{
	(void)state;
	char why[256];
	struct case_spec c = test_case(&floor_cacheline_ops, PAT_STREAM, 64, 50 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
	c = test_case(&floor_cacheline_ops, PAT_PINGPONG, 64, 50 * MS);
	c.cpu[1] = c.cpu[0];
	assert_true(case_unsupported(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "two CPUs"));
	struct tp_params p = { .msg_bytes = 128, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	void *st = calloc(1, floor_cacheline_ops.state_size);
	assert_true(floor_cacheline_ops.setup(st, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "64 B"));
	floor_cacheline_ops.teardown(st);
	free(st);
}

/* memcpy per size, timed on one CPU with no peer, copying every byte. */
static void test_memcpy_stream(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 64, 4096, 1024 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct case_spec c = test_case(&floor_memcpy_ops, PAT_STREAM, sizes[i], 20 * MS);
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("%zu B: %s\n", sizes[i], r.reason);
		assert_true(r.ok);
		assert_true(r.msgs > 0);
		assert_int_equal(msg_errors_total(&r.errors), 0);
	}
	char why[256];
	struct case_spec c = test_case(&floor_memcpy_ops, PAT_PINGPONG, 64, 20 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
}

/* One row through the runner, every message checked; false when it cannot run on these CPUs. */
static bool run_row(const struct transport_ops *ops, enum pattern pat, size_t size)
{
	struct case_spec c = test_case(ops, pat, size, 20 * MS);
	char why[256];
	if (case_unsupported(&c, why, sizeof(why))) {
		assert_true(c.cpu[0] == c.cpu[1] && (ops->flags & TP_SPIN_ONLY)); /* spins: needs two CPUs */
		return false;
	}
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("%s %s %zu B: %s\n", ops->name, pattern_name(pat), size, r.reason);
	assert_true(r.ok);
	assert_true(r.msgs > 0);
	assert_int_equal(msg_errors_total(&r.errors), 0);
	return true;
}

/* The futex round trip through the pingpong loop: every echo checked; 64 B only, never a stream. */
static void test_wake_pingpong(void **state)
{
	(void)state;
	assert_true(run_row(&floor_wake_ops, PAT_PINGPONG, 64)); /* it sleeps: one CPU is fine */
	char why[256];
	struct case_spec c = test_case(&floor_wake_ops, PAT_STREAM, 64, 20 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
	struct tp_params p = { .msg_bytes = 128, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	void *st = calloc(1, floor_wake_ops.state_size);
	assert_true(floor_wake_ops.setup(st, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "64 B"));
	floor_wake_ops.teardown(st);
	free(st);
}

/* Both ends of one floor, attached as the runner would, in this thread. */
struct ends {
	const struct transport_ops *ops;
	void *st;
	void *end[2];
};

static void ends_open(struct ends *e, const struct transport_ops *ops, size_t msg_bytes)
{
	e->ops = ops;
	e->st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = msg_bytes, .timeout_ns = 1000 * MS };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(e->st, &p, &err), 0);
	for (int s = 0; s < 2; s++) {
		e->end[s] = calloc(1, ops->end_size);
		assert_int_equal(ops->attach(e->st, e->end[s], (enum tp_side)s, &p, &err), 0);
	}
}

static void ends_close(struct ends *e)
{
	for (int s = 0; s < 2; s++) {
		e->ops->detach(e->end[s]);
		free(e->end[s]);
	}
	e->ops->teardown(e->st);
	free(e->st);
}

/* A peer that never answers: the sleeping receive gives up with -ETIMEDOUT, not before the timeout. */
static void test_wake_timeout(void **state)
{
	(void)state;
	struct ends e;
	ends_open(&e, &floor_wake_ops, 64);
	unsigned char out[64], in[64];
	for (int i = 0; i < 64; i++)
		out[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(e.ops->send(e.end[TP_SIDE_A], out, sizeof(out), MS), 0);
	assert_int_equal(e.ops->recv(e.end[TP_SIDE_B], in, sizeof(in), sizeof(in), 1000 * MS), 64);
	assert_memory_equal(in, out, sizeof(out));
	int64_t t0 = now_ns();
	assert_int_equal(e.ops->recv(e.end[TP_SIDE_A], in, sizeof(in), sizeof(in), 30 * MS), -ETIMEDOUT);
	assert_true(now_ns() - t0 >= 30 * MS);
	assert_int_equal(e.ops->recv(e.end[TP_SIDE_B], in, sizeof(in), sizeof(in), 10 * MS), -ETIMEDOUT);
	assert_int_equal(e.ops->send(e.end[TP_SIDE_B], out, 32, MS), -EMSGSIZE);
	ends_close(&e);
}

/* The cache-to-cache copy through the stream loop, at every size. */
static void test_xcopy_stream(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 23, 64, 4096, 300 * 1024, 1024 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!run_row(&floor_xcopy_ops, PAT_STREAM, sizes[i]))
			skip();
	char why[256];
	struct case_spec c = test_case(&floor_xcopy_ops, PAT_PINGPONG, 64, 20 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
}

#define XCOPY_MSGS 2000

struct xcopy_run {
	struct ends e;
	size_t size;
	uint64_t bad;
	int rc;
};

static void xcopy_fill(unsigned char *buf, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seq * 131 + i * 7 + (i >> 8));
}

static void *xcopy_receiver(void *p)
{
	struct xcopy_run *x = p;
	unsigned char *got = malloc(x->size), *want = malloc(x->size);
	for (uint64_t seq = 0; seq < XCOPY_MSGS; seq++) {
		memset(got, 0, x->size);
		ssize_t n = x->e.ops->recv(x->e.end[TP_SIDE_B], got, x->size, x->size, 5000 * MS);
		if (n < 0) {
			x->rc = (int)n;
			break;
		}
		xcopy_fill(want, x->size, seq);
		x->bad += (size_t)n != x->size || memcmp(got, want, x->size) != 0;
	}
	free(got);
	free(want);
	return NULL;
}

/* Every byte of every message arrives intact and in order, at sizes around the slot's word and beyond. */
static void test_xcopy_intact(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 8, 57, 64, 65, 4097, 70000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct xcopy_run x = { .size = sizes[i] };
		ends_open(&x.e, &floor_xcopy_ops, sizes[i]);
		unsigned char *buf = malloc(sizes[i]);
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, xcopy_receiver, &x), 0);
		int rc = 0;
		for (uint64_t seq = 0; seq < XCOPY_MSGS && !rc; seq++) {
			xcopy_fill(buf, sizes[i], seq);
			rc = x.e.ops->send(x.e.end[TP_SIDE_A], buf, sizes[i], 5000 * MS);
		}
		pthread_join(t, NULL);
		assert_int_equal(rc, 0);
		assert_int_equal(x.rc, 0);
		assert_int_equal(x.bad, 0);
		free(buf);
		ends_close(&x.e);
	}
}

/* Nothing sent: the receive times out; every slot taken: the send times out; then both go on. */
static void test_xcopy_timeouts(void **state)
{
	(void)state;
	struct ends e;
	unsigned char buf[256], in[256];
	ends_open(&e, &floor_xcopy_ops, sizeof(buf));
	void *a = e.end[TP_SIDE_A], *b = e.end[TP_SIDE_B];
	assert_int_equal(e.ops->recv(b, in, sizeof(in), sizeof(in), 20 * MS), -ETIMEDOUT);
	int sent = 0, rc;
	for (;;) {
		xcopy_fill(buf, sizeof(buf), (uint64_t)sent);
		if ((rc = e.ops->send(a, buf, sizeof(buf), 20 * MS)))
			break;
		sent++;
	}
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(sent >= 2);
	for (int i = 0; i < sent; i++) {
		assert_int_equal(e.ops->recv(b, in, sizeof(in), sizeof(in), MS), sizeof(in));
		xcopy_fill(buf, sizeof(buf), (uint64_t)i);
		assert_memory_equal(in, buf, sizeof(buf));
	}
	assert_int_equal(e.ops->send(a, buf, sizeof(buf), MS), 0);
	assert_int_equal(e.ops->send(a, buf, 100, MS), -EMSGSIZE);
	assert_int_equal(e.ops->recv(b, in, sizeof(in), 100, MS), -EMSGSIZE);
	assert_int_equal(e.ops->recv(b, in, sizeof(in), sizeof(in), MS), sizeof(in));
	ends_close(&e);
}

/* Detach and teardown on zeroed state: what the runner does after a failed setup. */
static void test_zeroed_teardown(void **state)
{
	(void)state;
	const struct transport_ops *floors[] = { &floor_cacheline_ops, &floor_wake_ops, &floor_xcopy_ops };
	for (size_t i = 0; i < 3; i++) {
		void *st = calloc(1, floors[i]->state_size), *end = calloc(1, floors[i]->end_size);
		floors[i]->detach(end);
		floors[i]->teardown(st);
		free(st);
		free(end);
	}
}

/* Mechanisms as rows_apply_floor sees them: only their flags and group matter. */
static const struct transport_ops spins = { .name = "spins", .group = "process", .flags = TP_SPIN_ONLY };
static const struct transport_ops spins_first = { .name = "spins-first", .group = "thread",
						  .flags = TP_BOUNDARIES | TP_SPINS_FIRST };
static const struct transport_ops sleeps = { .name = "sleeps", .group = "process", .flags = TP_BOUNDARIES };

static struct row *add_row(struct row *rows, int *n, const struct transport_ops *ops, enum pattern pat,
			   uint64_t size, double figure)
{
	struct row *r = &rows[(*n)++];
	*r = (struct row){ .ops = ops, .pattern = pat, .size_bytes = size, .status = ROW_OK,
			   .has_rtt = pat == PAT_PINGPONG, .floor_ratio = NAN, .spread_pct = NAN };
	if (r->has_rtt)
		r->rtt_ns.p50 = figure;
	else
		r->bytes_per_s = figure;
	r->floor_best = figure; /* as row_from_reps leaves it */
	return r;
}

/*
 * A probe that finds the floor better (the host moved the CPUs closer) counts
 * for the rows after it; a row keeps the ratio it was given when it came.
 */
static void test_floor_probe(void **state)
{
	(void)state;
	struct row *rows = calloc(8, sizeof(*rows));
	int n = 0;
	struct row *line = add_row(rows, &n, &floor_cacheline_ops, PAT_PINGPONG, 64, 400);
	struct row *xcopy = add_row(rows, &n, &floor_xcopy_ops, PAT_STREAM, 4096, 1e10);
	struct row *before = add_row(rows, &n, &spins, PAT_PINGPONG, 64, 600);
	rows_apply_floor(rows, n);
	assert_true(fabs(before->floor_ratio - 1.5) < 1e-9);
	row_floor_probe(line, 500); /* worse: the best stays */
	row_floor_probe(line, 150); /* better */
	row_floor_probe(xcopy, 2e10);
	assert_int_equal(line->floor_probes, 2);
	assert_true(line->floor_best == 150 && xcopy->floor_best == 2e10);
	struct row *after = add_row(rows, &n, &spins, PAT_PINGPONG, 64, 600);
	struct row *stream = add_row(rows, &n, &sleeps, PAT_STREAM, 4096, 1e10);
	rows_apply_floor(rows, n);
	assert_true(fabs(before->floor_ratio - 1.5) < 1e-9);
	assert_true(fabs(after->floor_ratio - 4) < 1e-9);
	assert_true(fabs(stream->floor_ratio - 0.5) < 1e-9);
	assert_ptr_equal(row_floor_for(rows, n, &spins, PAT_PINGPONG, 64, after->cpus), line);
	json_t *o = row_json(line);
	assert_true(json_real_value(json_object_get(o, "best_rtt_ns_p50")) == 150);
	assert_int_equal(json_integer_value(json_object_get(o, "probes")), 2);
	json_decref(o);
	free(rows);
}

/* Spinning pingpong over the cache line, sleeping pingpong over the wake-up, streams over xcopy (not memcpy). */
static void test_apply_floor(void **state)
{
	(void)state;
	struct row *rows = calloc(16, sizeof(*rows));
	int n = 0;
	add_row(rows, &n, &floor_cacheline_ops, PAT_PINGPONG, 64, 200);
	struct row *wake = add_row(rows, &n, &floor_wake_ops, PAT_PINGPONG, 64, 40000);
	add_row(rows, &n, &floor_memcpy_ops, PAT_STREAM, 4096, 9e10);
	add_row(rows, &n, &floor_xcopy_ops, PAT_STREAM, 4096, 1e10);
	struct row *spin = add_row(rows, &n, &spins, PAT_PINGPONG, 64, 300);
	struct row *spin_big = add_row(rows, &n, &spins, PAT_PINGPONG, 4096, 1000);
	struct row *first = add_row(rows, &n, &spins_first, PAT_PINGPONG, 64, 400);
	struct row *sleep = add_row(rows, &n, &sleeps, PAT_PINGPONG, 64, 60000);
	struct row *stream = add_row(rows, &n, &sleeps, PAT_STREAM, 4096, 5e9);
	struct row *spin_stream = add_row(rows, &n, &spins, PAT_STREAM, 4096, 8e9);
	struct row *no_floor = add_row(rows, &n, &sleeps, PAT_STREAM, 65536, 5e9);
	struct row *failed = add_row(rows, &n, &sleeps, PAT_PINGPONG, 64, 0);
	failed->status = ROW_FAILED;
	rows_apply_floor(rows, n);

	assert_string_equal(spin->floor, "cacheline");
	assert_true(fabs(spin->floor_ratio - 1.5) < 1e-9);
	assert_string_equal(spin_big->floor, "cacheline");
	assert_true(fabs(spin_big->floor_ratio - 5) < 1e-9);
	assert_string_equal(first->floor, "cacheline");
	assert_true(fabs(first->floor_ratio - 2) < 1e-9);
	assert_string_equal(sleep->floor, "wake");
	assert_true(fabs(sleep->floor_ratio - 1.5) < 1e-9);
	assert_string_equal(stream->floor, "xcopy");
	assert_true(fabs(stream->floor_ratio - 0.5) < 1e-9);
	assert_string_equal(spin_stream->floor, "xcopy");
	assert_true(fabs(spin_stream->floor_ratio - 0.8) < 1e-9);
	json_t *o = row_json(sleep); /* and in results.json */
	assert_string_equal(json_string_value(json_object_get(o, "floor")), "wake");
	assert_true(fabs(json_real_value(json_object_get(o, "floor_ratio")) - 1.5) < 1e-9);
	json_decref(o);
	o = row_json(no_floor);
	assert_null(json_object_get(o, "floor"));
	assert_null(json_object_get(o, "floor_ratio"));
	json_decref(o);
	assert_null(no_floor->floor); /* no floor-xcopy row at 64 KiB */
	assert_true(isnan(no_floor->floor_ratio));
	assert_null(failed->floor);
	for (struct row *f = rows; f < rows + 4; f++) { /* the floors themselves */
		assert_null(f->floor);
		assert_true(isnan(f->floor_ratio));
	}

	/* Without floor-wake in the run a sleeping row has no ratio; a spinning one still has its own. */
	wake->status = ROW_UNSUPPORTED;
	sleep->floor = NULL;
	sleep->floor_ratio = NAN;
	rows_apply_floor(rows, n);
	assert_null(sleep->floor);
	assert_true(isnan(sleep->floor_ratio));
	assert_string_equal(spin->floor, "cacheline");

	/* A floor measured between other CPUs (another --placement) is not this row's floor. */
	spin->floor = NULL;
	spin->floor_ratio = NAN;
	spin->cpus[1] = 5;
	rows_apply_floor(rows, n);
	assert_null(spin->floor);
	assert_true(isnan(spin->floor_ratio));
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacheline_pingpong),
		cmocka_unit_test(test_cacheline_limits),
		cmocka_unit_test(test_memcpy_stream),
		cmocka_unit_test(test_wake_pingpong),
		cmocka_unit_test(test_wake_timeout),
		cmocka_unit_test(test_xcopy_stream),
		cmocka_unit_test(test_xcopy_intact),
		cmocka_unit_test(test_xcopy_timeouts),
		cmocka_unit_test(test_zeroed_teardown),
		cmocka_unit_test(test_apply_floor),
		cmocka_unit_test(test_floor_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
