/* ipc/udp.c: the datagram limit is the protocol's, a datagram the receive buffer could not hold is counted lost, never hidden. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pair.h"
#include "registry.h"
#include "support.h"

#define MS (NS_PER_S / 1000)

static const struct transport_ops *udp(void)
{
	const struct transport_ops *ops = transport_find("udp");
	assert_non_null(ops);
	return ops;
}

/* 65,507 B goes through in both patterns; one byte more is unsupported, with the limit in the reason. */
static void test_limit_is_the_protocols(void **state)
{
	(void)state;
	const struct transport_ops *ops = udp();
	struct tp_err why = { { 0 } };
	size_t max = ops->max_msg(&why);
	print_message("udp max_msg %zu: %s\n", max, why.msg);
	if (max < 65507) {
		assert_non_null(strstr(why.msg, "net.core.rmem_max")); /* a small receive buffer: how to raise it */
		skip();
	}
	assert_int_equal(max, 65507);
	struct case_spec c = test_case(ops, PAT_PINGPONG, max, 50 * MS);
	char reason[256] = "";
	assert_false(case_unsupported(&c, reason, sizeof(reason)));
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("udp pingpong at %zu B: %s\n", max, r.reason);
	assert_true(r.ok && r.msgs > 0);
	c.msg_bytes = max + 1;
	assert_true(case_unsupported(&c, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "65507 B"));
}

/* Side A: a burst far larger than the receive buffer, then, once side B drained it, one last message. */
struct burst {
	uint64_t msgs;
	int go[2]; /* side B writes a byte here when the last message may go */
};

static int burst_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	struct burst *b = arg;
	unsigned char *buf = malloc(len);
	struct msg_gen g;
	msg_gen_init(&g, buf, len, 0x5c1b ^ len);
	int rc = 0;
	for (uint64_t seq = 0; seq < b->msgs && !rc; seq++) {
		msg_stamp(&g, seq);
		rc = ops->send(end, buf, len, NS_PER_S);
	}
	char c;
	if (!rc && read(b->go[0], &c, 1) == 1) {
		msg_stamp(&g, b->msgs);
		rc = ops->send(end, buf, len, NS_PER_S);
	}
	free(buf);
	return rc;
}

/*
 * UDP has no flow control: with side B asleep, datagrams beyond what its
 * SO_RCVBUF holds are dropped. Every one dropped is counted lost when the next
 * that arrives shows the gap; none arrives corrupt, twice or out of order.
 */
static void test_overflow_is_counted_lost(void **state)
{
	(void)state;
	const struct transport_ops *ops = udp();
	size_t len = 4096;
	struct burst b = { .msgs = 8000 }; /* 8000 x ~8 KiB of buffer each: past any rmem_max up to 32 MiB */
	assert_int_equal(pipe(b.go), 0);
	struct pair pr;
	pair_start(&pr, ops, len, NS_PER_S, burst_sender, &b);
	const struct timespec nap = { 0, 200 * MS }; /* the burst is sent meanwhile */
	nanosleep(&nap, NULL);
	unsigned char *buf = malloc(len);
	struct msg_check chk = { 0 };
	uint64_t got = 0;
	bool signalled = false;
	for (;;) {
		ssize_t n = ops->recv(pr.end, buf, len, len, signalled ? NS_PER_S : 100 * MS);
		if (n == -ETIMEDOUT && !signalled) { /* drained: let the last one go */
			assert_int_equal(write(b.go[1], "!", 1), 1);
			signalled = true;
			continue;
		}
		assert_int_equal(n, (ssize_t)len);
		got++;
		msg_check(&chk, buf, (size_t)n, len, true);
		if (chk.expected > b.msgs)
			break; /* the last message arrived */
	}
	assert_int_equal(pair_finish(&pr, false), 0);
	print_message("udp: %llu of %llu datagrams arrived, %llu counted lost\n", (unsigned long long)got,
		      (unsigned long long)b.msgs + 1, (unsigned long long)chk.errors.lost);
	assert_true(chk.errors.lost > 0);
	assert_int_equal(chk.errors.lost + got, b.msgs + 1);
	assert_int_equal(chk.errors.corrupt + chk.errors.duplicate + chk.errors.reordered, 0);
	free(buf);
	close(b.go[0]);
	close(b.go[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_is_the_protocols),
		cmocka_unit_test(test_overflow_is_counted_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
