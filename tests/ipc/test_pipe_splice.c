/* ipc/pipe_splice.c: the sender's pages stay in the pipe until read, so a stream sender needs exactly the buffers it is told. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pair.h"
#include "registry.h"
#include "support.h"

#define MS (NS_PER_S / 1000)

static const struct transport_ops *pipe_splice(void)
{
	const struct transport_ops *ops = transport_find("pipe-splice");
	assert_non_null(ops);
	return ops;
}

/* What the sender does: how many messages, and how many fewer buffers than it is told to rotate. */
struct rotation {
	uint64_t msgs;
	unsigned fewer;
	unsigned told; /* send_buffers, as side A saw it */
};

/*
 * Side A: stamps each message into the next of its buffers the moment the
 * last send returned, as the stream sender does. The buffers are page-aligned,
 * so a message takes as few of the pipe's slots as it can: the case the
 * count must cover.
 */
static int rotating_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	struct rotation *rot = arg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned n = ops->send_buffers(end) - rot->fewer;
	struct msg_gen *g = calloc(n, sizeof(*g));
	int rc = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned char *buf = aligned_alloc(page, (len + page - 1) / page * page);
		msg_gen_init(&g[i], buf, len, 0x5c1b ^ len);
	}
	for (uint64_t seq = 0; seq < rot->msgs && !rc; seq++) {
		msg_stamp(&g[seq % n], seq);
		rc = ops->send(end, g[seq % n].buf, len, 5 * NS_PER_S);
	}
	return rc; /* the buffers are not freed: the pipe may still hold their pages */
}

/* Side B: let side A fill the pipe first, then take every message; the error total of full checks. */
static uint64_t late_receive(const struct transport_ops *ops, struct pair *pr, size_t len, uint64_t msgs)
{
	const struct timespec fill = { 0, 50 * MS };
	nanosleep(&fill, NULL);
	unsigned char *buf = malloc(len);
	struct msg_check chk = { 0 };
	for (uint64_t i = 0; i < msgs; i++) {
		ssize_t n = ops->recv(pr->end, buf, len, len, 5 * NS_PER_S);
		assert_int_equal(n, (ssize_t)len);
		msg_check(&chk, buf, (size_t)n, len, true);
	}
	free(buf);
	return msg_errors_total(&chk.errors);
}

static uint64_t run_rotation(size_t len, uint64_t msgs, unsigned fewer, unsigned *told)
{
	const struct transport_ops *ops = pipe_splice();
	struct rotation rot = { .msgs = msgs, .fewer = fewer };
	struct pair pr;
	pair_start(&pr, ops, len, 5 * NS_PER_S, rotating_sender, &rot);
	*told = ops->send_buffers(pr.end); /* side B's pipe is the same size as side A's */
	uint64_t errors = late_receive(ops, &pr, len, msgs);
	assert_int_equal(pair_finish(&pr, false), 0);
	return errors;
}

/*
 * With as many buffers as send_buffers says, a sender that always runs ahead
 * (the receiver starts once the pipe is full) delivers every message intact,
 * at every size; the pipe holds a whole message where fs.pipe-max-size allows.
 */
static void test_told_buffers_are_enough(void **state)
{
	(void)state;
	static const size_t lens[] = { 1, 64, 4096, 65537, 1 << 20 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned told;
		uint64_t errors = run_rotation(lens[i], 100, 0, &told);
		print_message("pipe-splice %zu B: %u buffers, %llu errors\n", lens[i], told, (unsigned long long)errors);
		assert_int_equal(errors, 0);
		assert_true(told >= 2);
	}
}

/*
 * One buffer fewer is not enough: the pipe then still holds the message whose
 * buffer the sender rewrites, and the receiver reads the rewritten bytes. The
 * checks catch it. (Sizes whose full pipe of messages fits the pipe without
 * blocking the sender, so the rewrite happens before any read.)
 */
static void test_one_buffer_fewer_is_caught(void **state)
{
	(void)state;
	static const size_t lens[] = { 64, 4096 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned told;
		uint64_t errors = run_rotation(lens[i], 100, 1, &told);
		print_message("pipe-splice %zu B with %u buffers, one fewer than told: %llu errors\n", lens[i], told - 1,
			      (unsigned long long)errors);
		assert_true(errors > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_told_buffers_are_enough),
		cmocka_unit_test(test_one_buffer_fewer_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
