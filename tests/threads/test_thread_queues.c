/* thread-ring and thread-mutex: run by the runner, and driven directly by two threads. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "msg.h"

#define MS (INT64_C(1000000))
#define DIRECT_MSGS 100000
#define DIRECT_MAX (40 * 1024)

extern const struct transport_ops thread_ring_ops, thread_mutex_ops;

static const struct transport_ops *const queues[] = { &thread_ring_ops, &thread_mutex_ops };

/* Every pattern and a spread of sizes through the real runner: two pinned threads, every message checked. */
static void test_runner_rows(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 64, 4096, 300 * 1024, 1024 * 1024 };
	for (size_t q = 0; q < 2; q++)
		for (int pat = 0; pat < 2; pat++)
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				struct case_spec c = test_case(queues[q], (enum pattern)pat, sizes[s], 20 * MS);
				struct rep_result r;
				assert_int_equal(run_once(&c, &r), 0);
				if (!r.ok)
					print_error("%s %s %zu B: %s\n", queues[q]->name, pattern_name(c.pattern),
						    sizes[s], r.reason);
				assert_true(r.ok);
				assert_true(r.msgs > 0);
				assert_int_equal(msg_errors_total(&r.errors), 0);
			}
}

/* Both ends of one queue, attached as the runner would, in this process. */
struct direct {
	const struct transport_ops *ops;
	void *st;
	void *end[2];
	uint64_t seed;
	uint64_t bad;
	int rc;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t direct_len(uint64_t *s)
{
	uint64_t x = next_rand(s);
	return (x & 255) == 0 ? (size_t)(x >> 16) % DIRECT_MAX : (size_t)(x >> 16) % 200;
}

static void direct_fill(unsigned char *buf, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + i * 7);
}

static void *direct_receiver(void *p)
{
	struct direct *d = p;
	unsigned char *got = malloc(DIRECT_MAX), *want = malloc(DIRECT_MAX);
	uint64_t sizes = d->seed;
	for (uint64_t seq = 0; seq < DIRECT_MSGS; seq++) {
		size_t len = direct_len(&sizes);
		ssize_t n = d->ops->recv(d->end[TP_SIDE_B], got, len, DIRECT_MAX, 5000 * MS);
		if (n < 0) {
			d->rc = (int)n;
			break;
		}
		direct_fill(want, len, seq);
		d->bad += (size_t)n != len || memcmp(got, want, len) != 0;
	}
	free(got);
	free(want);
	return NULL;
}

static void direct_open(struct direct *d, const struct transport_ops *ops, size_t msg_bytes)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = msg_bytes, .timeout_ns = 1000 * MS };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(d->st, &p, &err), 0);
	for (int s = 0; s < 2; s++) {
		d->end[s] = calloc(1, ops->end_size);
		assert_int_equal(ops->attach(d->st, d->end[s], (enum tp_side)s, &p, &err), 0);
	}
}

static void direct_close(struct direct *d)
{
	for (int s = 0; s < 2; s++) {
		d->ops->detach(d->end[s]);
		free(d->end[s]);
	}
	d->ops->teardown(d->st);
	free(d->st);
}

/* Random sizes, in order and intact, from one thread to another. */
static void test_direct_random_sizes(void **state)
{
	(void)state;
	unsigned char *buf = malloc(DIRECT_MAX);
	for (size_t q = 0; q < 2; q++) {
		struct direct d;
		direct_open(&d, queues[q], DIRECT_MAX);
		d.seed = 0x9e3779b97f4a7c15u + q;
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, direct_receiver, &d), 0);
		uint64_t sizes = d.seed;
		int rc = 0;
		for (uint64_t seq = 0; seq < DIRECT_MSGS && !rc; seq++) {
			size_t len = direct_len(&sizes);
			direct_fill(buf, len, seq);
			rc = d.ops->send(d.end[TP_SIDE_A], buf, len, 5000 * MS);
		}
		pthread_join(t, NULL);
		assert_int_equal(rc, 0);
		assert_int_equal(d.rc, 0);
		assert_int_equal(d.bad, 0);
		direct_close(&d);
	}
	free(buf);
}

/* An empty queue times out; a full one times out; a short buffer is -EMSGSIZE and the queue goes on. */
static void test_direct_limits(void **state)
{
	(void)state;
	unsigned char buf[128] = { 0 };
	for (size_t q = 0; q < 2; q++) {
		struct direct d;
		direct_open(&d, queues[q], sizeof(buf));
		void *a = d.end[TP_SIDE_A], *b = d.end[TP_SIDE_B];
		assert_int_equal(d.ops->recv(b, buf, sizeof(buf), sizeof(buf), 20 * MS), -ETIMEDOUT);
		int sent = 0, rc;
		while ((rc = d.ops->send(a, buf, sizeof(buf), 20 * MS)) == 0)
			sent++;
		assert_int_equal(rc, -ETIMEDOUT);
		assert_true(sent >= 2);
		for (int i = 0; i < sent; i++)
			assert_int_equal(d.ops->recv(b, buf, sizeof(buf), sizeof(buf), MS), sizeof(buf));
		assert_int_equal(d.ops->send(a, buf, 100, MS), 0);
		assert_int_equal(d.ops->send(a, buf, 10, MS), 0);
		assert_int_equal(d.ops->recv(b, buf, 100, 99, MS), -EMSGSIZE);
		assert_int_equal(d.ops->recv(b, buf, 10, sizeof(buf), MS), 10);
		direct_close(&d);
	}
}

/* Detach and teardown on zeroed state: what the runner does after a failed setup. */
static void test_zeroed_teardown(void **state)
{
	(void)state;
	for (size_t q = 0; q < 2; q++) {
		void *st = calloc(1, queues[q]->state_size), *end = calloc(1, queues[q]->end_size);
		queues[q]->detach(end);
		queues[q]->teardown(st);
		free(st);
		free(end);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_rows),
		cmocka_unit_test(test_direct_random_sizes),
		cmocka_unit_test(test_direct_limits),
		cmocka_unit_test(test_zeroed_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
