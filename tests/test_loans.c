/* Every zero-copy mechanism (TP_ZERO_COPY) driven through its loan calls: a stale buffer is caught, misuse refused. */
#include "support.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"

#define MS (NS_PER_S / 1000)
#define TIMEOUT_NS (2 * NS_PER_S)
#define STALE_MSGS 48
#define STALE_FROM 8 /* whole messages first, so a pool's buffers hold earlier ones */

/*
 * How a faulty sender leaves the buffer it commits: only part of the new
 * message written, the rest as the buffer was (a previous message in a
 * pool's buffer, zeros in a fresh memfd).
 */
enum stale_shape {
	STALE_HEADER, /* the new header only: the receiver sees a fresh header over a stale payload */
	STALE_TAIL,   /* the first line only */
	STALE_LINE,   /* all but one line near the middle */
	STALE_SHAPES,
};

static const char *const shape_names[STALE_SHAPES] = { "header only", "first line only", "one line stale" };

/* What side B saw, back through a shared mapping. */
struct b_report {
	int rc;
	uint64_t intact;
	struct msg_errors errors;
};

/* A run of both ends outside the runner: setup here, B in a forked child, A in this process. */
struct pair {
	const struct transport_ops *ops;
	struct tp_params p;
	void *st;
	void *end; /* side A's */
	pid_t b;
	bool copying; /* B receives with recv (into a buffer of its own) instead of recv_loan */
	struct b_report *rep;
};

/* Side B, in the child: take msgs messages in place, check each in full, hand each back. */
static int pair_b_body(const struct pair *pr, void *end, uint64_t msgs)
{
	struct msg_check chk = { 0 };
	size_t len = pr->p.msg_bytes;
	unsigned char *own = malloc(len);
	for (uint64_t i = 0, waits = 0; i < msgs && own; i++) {
		const void *msg = own;
		ssize_t n = pr->copying ? pr->ops->recv(end, own, len, len, TIMEOUT_NS)
					: pr->ops->recv_loan(end, len, TIMEOUT_NS, &msg);
		if (n == -ETIMEDOUT && ++waits < 4) { /* A may take a while: it tests its own timeouts first */
			i--;
			continue;
		}
		if (n <= 0)
			return n ? (int)n : -EPIPE;
		pr->rep->intact += msg_check(&chk, msg, (size_t)n, len, true);
		int rc = pr->copying ? 0 : pr->ops->recv_release(end, msg);
		if (rc)
			return rc;
	}
	pr->rep->errors = chk.errors;
	free(own);
	return own ? 0 : -ENOMEM;
}

/* Set up, start B (taking msgs messages, copying them out when copying), attach A. */
static void pair_open(struct pair *pr, const struct transport_ops *ops, size_t len, uint64_t msgs, bool copying)
{
	memset(pr, 0, sizeof(*pr));
	pr->ops = ops;
	pr->copying = copying;
	pr->p = (struct tp_params){ .msg_bytes = len, .timeout_ns = TIMEOUT_NS };
	pr->rep = mmap(NULL, sizeof(*pr->rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(pr->rep != MAP_FAILED);
	pr->rep->rc = -EINPROGRESS;
	pr->st = tp_state_alloc(ops->state_size);
	pr->end = tp_state_alloc(ops->end_size);
	assert_true(pr->st && pr->end);
	struct tp_err err = { { 0 } };
	if (ops->setup(pr->st, &pr->p, &err)) {
		print_error("%s: setup: %s\n", ops->name, err.msg);
		fail();
	}
	pid_t parent = getpid();
	fflush(NULL);
	pr->b = fork();
	assert_true(pr->b >= 0);
	if (pr->b == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		void *end = tp_state_alloc(ops->end_size);
		int rc = end ? ops->attach(pr->st, end, TP_SIDE_B, &pr->p, &err) : -ENOMEM;
		if (rc == 0)
			rc = pair_b_body(pr, end, msgs);
		pr->rep->rc = rc;
		if (end)
			ops->detach(end);
		_exit(0);
	}
	if (ops->attach(pr->st, pr->end, TP_SIDE_A, &pr->p, &err)) {
		print_error("%s: attach A: %s\n", ops->name, err.msg);
		fail();
	}
	if (ops->unlink_names)
		ops->unlink_names(pr->st);
}

/* Wait for B (A stays attached: closing first would drop what B still sends back), detach A, tear down; B's code. */
static int pair_close(struct pair *pr)
{
	int status;
	assert_int_equal(waitpid(pr->b, &status, 0), pr->b);
	pr->ops->detach(pr->end);
	pr->ops->teardown(pr->st);
	free(pr->end);
	free(pr->st);
	int rc = WIFEXITED(status) ? pr->rep->rc : -ECHILD;
	return rc;
}

/* The bytes [from, to) of a len-byte message that a faulty sender leaves as the buffer held them. */
static void stale_range(enum stale_shape shape, size_t len, size_t *from, size_t *to)
{
	switch (shape) {
	case STALE_HEADER: *from = sizeof(struct msg_hdr), *to = len; break;
	case STALE_TAIL: *from = 64, *to = len; break;
	default: *from = len / 128 * 64, *to = *from + 64; break; /* a whole line near the middle */
	}
}

/*
 * A sender that commits a buffer it did not wholly write is caught: B checks
 * every message in place, and counts each such message corrupt, each whole
 * one intact, and nothing lost, repeated or out of order.
 */
static void test_stale_buffer_is_corrupt(void **state)
{
	const struct transport_ops *ops = *state;
	static const size_t lens[] = { 200, 4096, 1 << 20 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (int shape = 0; shape < STALE_SHAPES; shape++) {
			size_t len = lens[l], from, to;
			stale_range((enum stale_shape)shape, len, &from, &to);
			unsigned char *base = malloc(len), *whole = malloc(len);
			assert_true(base && whole);
			struct msg_gen g;
			msg_gen_init(&g, base, len, UINT64_C(0x5c1b) ^ len);
			struct pair pr;
			pair_open(&pr, ops, len, STALE_MSGS, false);
			uint64_t faulty = 0;
			int rc = 0;
			for (uint64_t seq = 0; seq < STALE_MSGS && !rc; seq++) {
				void *buf = NULL;
				if ((rc = ops->send_loan(pr.end, len, TIMEOUT_NS, &buf)))
					break;
				if (seq >= STALE_FROM && seq % 2) {
					msg_stamp_into(&g, whole, seq);
					memcpy(buf, whole, from);
					memcpy((unsigned char *)buf + to, whole + to, len - to);
					faulty++;
				} else {
					msg_stamp_into(&g, buf, seq);
				}
				rc = ops->send_commit(pr.end, buf, len, TIMEOUT_NS);
			}
			int b_rc = pair_close(&pr);
			struct b_report got = *pr.rep;
			munmap(pr.rep, sizeof(*pr.rep));
			free(base);
			free(whole);
			print_message("%s %zu B, %s: %llu of %d corrupt, %llu intact\n", ops->name, len, shape_names[shape],
				      (unsigned long long)got.errors.corrupt, STALE_MSGS, (unsigned long long)got.intact);
			if (rc || b_rc)
				print_error("%s %zu B: side A %s, side B %s\n", ops->name, len, strerror(-rc), strerror(-b_rc));
			assert_int_equal(rc, 0);
			assert_int_equal(b_rc, 0);
			assert_int_equal(got.errors.corrupt, faulty);
			assert_int_equal(got.intact, STALE_MSGS - faulty);
			assert_int_equal(got.errors.lost + got.errors.duplicate + got.errors.reordered, 0);
		}
}

/*
 * The loan calls refuse misuse instead of corrupting a buffer: a second loan
 * before the commit, a commit of another buffer or length, a release of a
 * message not held; and a receive with nothing sent times out. B takes the
 * one message A sends whole at the end.
 */
static void test_misuse_refused(void **state)
{
	const struct transport_ops *ops = *state;
	size_t len = 256;
	unsigned char *base = malloc(len);
	struct msg_gen g;
	msg_gen_init(&g, base, len, 3);
	struct pair pr;
	pair_open(&pr, ops, len, 1, false);
	void *buf = NULL, *again = NULL;
	const void *msg = NULL;
	unsigned char other[256];
	/* nothing sent to A: B only receives */
	assert_int_equal(ops->recv_loan(pr.end, len, 50 * MS, &msg), -ETIMEDOUT);
	assert_int_equal(ops->recv_release(pr.end, other), -EINVAL);
	assert_int_equal(ops->send_commit(pr.end, other, len, TIMEOUT_NS), -EINVAL);
	assert_int_equal(ops->send_loan(pr.end, len, TIMEOUT_NS, &buf), 0);
	assert_int_equal(ops->send_loan(pr.end, len, TIMEOUT_NS, &again), -EBUSY);
	assert_int_equal(ops->send_commit(pr.end, other, len, TIMEOUT_NS), -EINVAL);
	assert_int_equal(ops->send_commit(pr.end, buf, len + 1, TIMEOUT_NS), -EINVAL);
	msg_stamp_into(&g, buf, 0);
	assert_int_equal(ops->send_commit(pr.end, buf, len, TIMEOUT_NS), 0);
	assert_int_equal(pair_close(&pr), 0);
	assert_int_equal(pr.rep->intact, 1);
	munmap(pr.rep, sizeof(*pr.rep));
	free(base);
}

/* The copying calls (send, recv) a caller without loans uses carry the same messages intact, in order. */
static void test_copying_calls(void **state)
{
	const struct transport_ops *ops = *state;
	static const size_t lens[] = { 1, 24, 200, 65537 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		size_t len = lens[l];
		unsigned char *base = malloc(len);
		struct msg_gen g;
		msg_gen_init(&g, base, len, 11);
		struct pair pr;
		pair_open(&pr, ops, len, 300, true);
		int rc = 0;
		for (uint64_t seq = 0; seq < 300 && !rc; seq++) {
			msg_stamp(&g, seq);
			rc = ops->send(pr.end, g.buf, len, TIMEOUT_NS);
		}
		int b_rc = pair_close(&pr);
		struct b_report got = *pr.rep;
		munmap(pr.rep, sizeof(*pr.rep));
		free(base);
		assert_int_equal(rc, 0);
		assert_int_equal(b_rc, 0);
		assert_int_equal(got.intact, 300);
		assert_int_equal(msg_errors_total(&got.errors), 0);
	}
}

/* Detach and teardown on zeroed state: what the runner does after a failed setup. */
static void test_zeroed_teardown(void **state)
{
	const struct transport_ops *ops = *state;
	void *st = tp_state_alloc(ops->state_size), *end = tp_state_alloc(ops->end_size);
	ops->detach(end);
	ops->teardown(st);
	free(st);
	free(end);
}

int main(void)
{
	runner_install_signals();
	struct CMUnitTest tests[64];
	static char names[64][96];
	size_t n = 0;
	for (size_t i = 0; transport_registry[i] && n + 4 <= 64; i++) {
		const struct transport_ops *ops = transport_registry[i];
		if (!(ops->flags & TP_ZERO_COPY))
			continue;
		/* The contract: zero-copy means loans on both sides. */
		assert_true(ops->send_loan && ops->send_commit && ops->recv_loan && ops->recv_release);
		static const struct {
			void (*fn)(void **);
			const char *what;
		} cases[] = {
			{ test_stale_buffer_is_corrupt, "a buffer committed half-written is corrupt" },
			{ test_misuse_refused, "loan misuse refused, an empty receive times out" },
			{ test_copying_calls, "the copying calls carry every message intact" },
			{ test_zeroed_teardown, "detach and teardown on zeroed state" },
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++, n++) {
			tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(cases[c].fn, (void *)ops);
			snprintf(names[n], sizeof(names[n]), "%s: %s", ops->name, cases[c].what);
			tests[n].name = names[n];
		}
	}
	print_message("%zu zero-copy mechanisms registered\n", n / 4);
	return _cmocka_run_group_tests("loans", tests, n, NULL, NULL);
}
