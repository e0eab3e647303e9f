/* ipc/uring.c: a skipped piece of a received message is caught; a silent peer times out, a gone one ends the stream. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "pair.h"
#include "registry.h"
#include "support.h"

#define MS (NS_PER_S / 1000)

static const struct transport_ops *uring_or_skip(void)
{
	const struct transport_ops *ops = transport_find("uring");
	assert_non_null(ops);
	struct tp_err why = { { 0 } };
	if (ops->max_msg(&why) == 0) {
		print_message("uring cannot run here: %s\n", why.msg);
		assert_non_null(strstr(why.msg, "io_uring")); /* the reason names what is missing */
		skip();
	}
	return ops;
}

static void test_skipped_copy_is_corrupt(void **state)
{
	(void)state;
	pair_skipped_copy_is_corrupt(uring_or_skip());
}

/* Side A attaches and says nothing until side B is done. */
static int silent_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	(void)ops, (void)end, (void)len, (void)arg;
	return 0;
}

/*
 * A receive from a peer that sends nothing ends with -ETIMEDOUT after about
 * its timeout (the linked timeout cancelled it), and the ring takes the next
 * one; once the peer is gone, a receive says end of stream and a send -EPIPE.
 */
static void test_silent_then_gone_peer(void **state)
{
	(void)state;
	const struct transport_ops *ops = uring_or_skip();
	struct pair pr;
	pair_start(&pr, ops, 64, NS_PER_S, silent_sender, NULL);
	char buf[64] = { 0 };
	for (int i = 0; i < 2; i++) {
		int64_t t0 = now_ns();
		ssize_t n = ops->recv(pr.end, buf, sizeof(buf), sizeof(buf), 100 * MS);
		int64_t took = now_ns() - t0;
		print_message("receive from a silent peer: %zd after %.0f ms\n", n, (double)took / 1e6);
		assert_int_equal(n, -ETIMEDOUT);
		assert_true(took >= 100 * MS && took < 2 * NS_PER_S);
	}
	kill(pr.child, SIGKILL);
	waitpid(pr.child, NULL, 0);
	assert_int_equal(ops->recv(pr.end, buf, sizeof(buf), sizeof(buf), NS_PER_S), 0);
	assert_int_equal(ops->send(pr.end, buf, sizeof(buf), NS_PER_S), -EPIPE);
	pr.child = -1; /* reaped */
	pair_finish(&pr, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skipped_copy_is_corrupt),
		cmocka_unit_test(test_silent_then_gone_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
