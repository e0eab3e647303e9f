/* The ring's eventfd wait (shm-eventfd): both sides sleep and are woken through their eventfds, a wait is bounded, nothing stays open. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"
#include "shm/ring.h"
#include "support.h"

#define SMALL_RING 512
#define MS (INT64_C(1000000))
#define MSGS 3000

/* Two ends of one ring in this process's memory, each sleeping on its own eventfd. */
struct efd_ring {
	struct ring *r;
	struct ring_end tx, rx;
	int efd[2]; /* [0] the producer's, [1] the consumer's */
};

static void efd_ring_init(struct efd_ring *er)
{
	er->r = aligned_alloc(RING_LINE, ring_bytes(SMALL_RING));
	assert_non_null(er->r);
	memset(er->r, 0, ring_bytes(SMALL_RING));
	assert_int_equal(ring_init(er->r, SMALL_RING, false), 0);
	for (int i = 0; i < 2; i++)
		assert_true((er->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) >= 0);
	assert_int_equal(ring_end_init(&er->tx, er->r, RING_EVENTFD, false), 0);
	assert_int_equal(ring_end_init(&er->rx, er->r, RING_EVENTFD, false), 0);
	ring_end_eventfds(&er->tx, er->efd[0], er->efd[1]);
	ring_end_eventfds(&er->rx, er->efd[1], er->efd[0]);
}

static void efd_ring_free(struct efd_ring *er)
{
	close(er->efd[0]);
	close(er->efd[1]);
	free(er->r);
}

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7);
}

/* Every 16th message the producer pauses, so the consumer finds the ring empty and sleeps. */
static void *producer_main(void *p)
{
	struct efd_ring *er = p;
	unsigned char *buf = malloc(3 * SMALL_RING);
	const struct timespec pause = { 0, 200 * 1000 };
	intptr_t rc = 0;
	for (uint64_t i = 0; i < MSGS && !rc; i++) {
		size_t len = (i * 37) % (3 * SMALL_RING);
		fill(buf, len, i);
		if (i % 16 == 0)
			nanosleep(&pause, NULL);
		rc = ring_send(&er->tx, buf, len, 5000 * MS);
	}
	free(buf);
	return (void *)rc;
}

/*
 * Messages up to three times the ring, and pauses on both sides, so the
 * producer waits for room and the consumer for data, each asleep on its
 * eventfd until the other writes it: every message arrives whole.
 */
static void test_both_sides_sleep_and_wake(void **state)
{
	(void)state;
	struct efd_ring er;
	efd_ring_init(&er);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer_main, &er), 0);
	unsigned char *in = malloc(3 * SMALL_RING), *want = malloc(3 * SMALL_RING);
	const struct timespec pause = { 0, 200 * 1000 };
	for (uint64_t i = 0; i < MSGS; i++) {
		if (i % 16 == 8)
			nanosleep(&pause, NULL);
		size_t len = (i * 37) % (3 * SMALL_RING);
		ssize_t n = ring_recv(&er.rx, in, 3 * SMALL_RING, 5000 * MS);
		assert_int_equal(n, (ssize_t)len);
		fill(want, len, i);
		assert_memory_equal(in, want, len);
	}
	void *rc;
	pthread_join(t, &rc);
	assert_null(rc);
	free(in);
	free(want);
	efd_ring_free(&er);
}

/* A receive from an empty ring sleeps in the eventfd wait and gives up after its timeout. */
static void test_empty_ring_times_out(void **state)
{
	(void)state;
	struct efd_ring er;
	efd_ring_init(&er);
	unsigned char buf[64];
	int64_t t0 = now_ns();
	assert_int_equal(ring_recv(&er.rx, buf, sizeof(buf), 50 * MS), -ETIMEDOUT);
	int64_t took = now_ns() - t0;
	assert_true(took >= 50 * MS && took < 2000 * MS);
	efd_ring_free(&er);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The eventfds are made in setup and inherited: after a run, this process (the runner) holds none. */
static void test_runner_keeps_no_fds(void **state)
{
	(void)state;
	const struct transport_ops *ops = transport_find("shm-eventfd");
	assert_non_null(ops);
	int before = open_fds();
	for (int p = PAT_PINGPONG; p <= PAT_STREAM; p++) {
		struct case_spec c = test_case(ops, (enum pattern)p, 4096, 20 * MS);
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("shm-eventfd %s: %s\n", pattern_name(c.pattern), r.reason);
		assert_true(r.ok);
	}
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_sides_sleep_and_wake),
		cmocka_unit_test(test_empty_ring_times_out),
		cmocka_unit_test(test_runner_keeps_no_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
