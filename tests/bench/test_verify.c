/* The runner's verification, end to end: a test transport damages one message and the row must say so. */
#include "support.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "runner.h"

#define FQ_SLOTS 16

/* What the test transport does to one message. */
enum fault {
	F_NONE,
	F_DROP,      /* message N vanishes */
	F_DUPLICATE, /* message N arrives twice */
	F_REORDER,   /* message N arrives after N+1 */
	F_CORRUPT,   /* one bit of message N flips */
	F_STALE,     /* message N is replaced by a copy of N-1 (as many messages, one repeated, one lost) */
};

/* Set by a test before run_once; the run's child inherits it at fork. */
static struct {
	enum fault kind;
	int dir;          /* 0: A to B, 1: B to A */
	uint64_t nth;     /* 0-based index of the damaged message in that direction */
	size_t flip_byte; /* F_CORRUPT: which byte (clamped to the message) */
} fault;

/* fq_chan is one direction: a bounded queue of copied messages under a mutex. */
struct fq_chan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *slot[FQ_SLOTS];
	size_t slot_len[FQ_SLOTS];
	unsigned head, count;
	uint64_t sent;           /* messages the sender handed over */
	unsigned char *held;     /* F_REORDER: message N, waiting for N+1 */
	size_t held_len;
	unsigned char *prev;     /* F_STALE: the last message sent */
	size_t prev_len;
	int dir;
};

/* fq_link is the whole in-memory connection, shared by the two threads. */
struct fq_link {
	struct fq_chan ch[2];
	int inited;
};

/* fq_state is what the runner allocates: only a pointer, so the threads only read it. */
struct fq_state {
	struct fq_link *link;
};

/* fq_end is one side's view: where it sends and where it receives. */
struct fq_end {
	struct fq_chan *tx, *rx;
};

static int fq_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	struct fq_state *s = st;
	s->link = calloc(1, sizeof(*s->link));
	if (!s->link)
		return tp_fail(err, ENOMEM, "fault queue: out of memory");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (int i = 0; i < 2; i++) {
		pthread_mutex_init(&s->link->ch[i].mu, NULL);
		pthread_cond_init(&s->link->ch[i].cv, &ca);
		s->link->ch[i].dir = i;
	}
	pthread_condattr_destroy(&ca);
	s->link->inited = 1;
	return 0;
}

static int fq_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	(void)err;
	struct fq_state *s = st;
	struct fq_end *e = end;
	e->tx = &s->link->ch[side == TP_SIDE_A ? 0 : 1];
	e->rx = &s->link->ch[side == TP_SIDE_A ? 1 : 0];
	return 0;
}

/* Wait on c->cv until pred holds or the deadline passes; called with c->mu held. */
static int fq_wait(struct fq_chan *c, int want_space, int64_t deadline)
{
	while (want_space ? c->count == FQ_SLOTS : c->count == 0) {
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = { (time_t)(deadline / NS_PER_S), (long)(deadline % NS_PER_S) };
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	return 0;
}

/* Queue a copy of buf; called with c->mu held. */
static int fq_push(struct fq_chan *c, const void *buf, size_t len, int64_t deadline)
{
	int rc = fq_wait(c, 1, deadline);
	if (rc)
		return rc;
	unsigned char *m = malloc(len);
	if (!m)
		return -ENOMEM;
	memcpy(m, buf, len);
	unsigned tail = (c->head + c->count) % FQ_SLOTS;
	c->slot[tail] = m;
	c->slot_len[tail] = len;
	c->count++;
	pthread_cond_broadcast(&c->cv);
	return 0;
}

static unsigned char *fq_copy(const void *buf, size_t len)
{
	unsigned char *m = malloc(len);
	if (m)
		memcpy(m, buf, len);
	return m;
}

static int fq_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct fq_chan *c = ((struct fq_end *)end)->tx;
	int64_t deadline = now_ns() + timeout_ns;
	int rc = 0;
	pthread_mutex_lock(&c->mu);
	uint64_t n = c->sent++;
	bool hit = fault.kind != F_NONE && fault.dir == c->dir && n == fault.nth;
	if (!hit) {
		rc = fq_push(c, buf, len, deadline);
	} else if (fault.kind == F_DUPLICATE) {
		rc = fq_push(c, buf, len, deadline);
		if (!rc)
			rc = fq_push(c, buf, len, deadline);
	} else if (fault.kind == F_REORDER) {
		c->held = fq_copy(buf, len);
		c->held_len = len;
		rc = c->held ? 0 : -ENOMEM;
	} else if (fault.kind == F_CORRUPT) {
		unsigned char *m = fq_copy(buf, len);
		if (m) {
			m[fault.flip_byte < len ? fault.flip_byte : len - 1] ^= 0x20;
			rc = fq_push(c, m, len, deadline);
			free(m);
		}
	} else if (fault.kind == F_STALE && c->prev) {
		rc = fq_push(c, c->prev, c->prev_len, deadline);
	} /* F_DROP: nothing */
	if (!rc && c->held && n == fault.nth + 1) {
		rc = fq_push(c, c->held, c->held_len, deadline);
		free(c->held);
		c->held = NULL;
	}
	if (fault.kind == F_STALE) {
		free(c->prev);
		c->prev = fq_copy(buf, len);
		c->prev_len = len;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static ssize_t fq_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)len;
	struct fq_chan *c = ((struct fq_end *)end)->rx;
	pthread_mutex_lock(&c->mu);
	int rc = fq_wait(c, 0, now_ns() + timeout_ns);
	if (rc) {
		pthread_mutex_unlock(&c->mu);
		return rc;
	}
	unsigned char *m = c->slot[c->head];
	size_t n = c->slot_len[c->head];
	c->head = (c->head + 1) % FQ_SLOTS;
	c->count--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	ssize_t got = n > cap ? -EMSGSIZE : (ssize_t)n;
	if (got > 0)
		memcpy(buf, m, n);
	free(m);
	return got;
}

static void fq_detach(void *end)
{
	(void)end;
}

static void fq_teardown(void *st)
{
	struct fq_state *s = st;
	if (!s->link)
		return;
	for (int i = 0; s->link->inited && i < 2; i++) {
		struct fq_chan *c = &s->link->ch[i];
		for (unsigned k = 0; k < c->count; k++)
			free(c->slot[(c->head + k) % FQ_SLOTS]);
		free(c->held);
		free(c->prev);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
	}
	free(s->link);
	s->link = NULL;
}

static const struct transport_ops fault_ops = {
	.name = "test-fault-queue",
	.group = "thread",
	.summary = "in-memory queue that damages one chosen message (tests only)",
	.copies = 2,
	.state_size = sizeof(struct fq_state),
	.end_size = sizeof(struct fq_end),
	.setup = fq_setup,
	.attach = fq_attach,
	.send = fq_send,
	.recv = fq_recv,
	.detach = fq_detach,
	.teardown = fq_teardown,
};

/* Run one case with the given fault; checks that run_once came back in time. */
static struct rep_result run_with(enum fault kind, int dir, uint64_t nth, enum pattern pat, size_t size,
				  bool verify_full, int64_t timeout_ns)
{
	fault.kind = kind;
	fault.dir = dir;
	fault.nth = nth;
	struct case_spec c = test_case(&fault_ops, pat, size, 20 * 1000000LL);
	c.warmup_ns = 5 * 1000000LL;
	c.verify_full = verify_full;
	c.timeout_ns = timeout_ns;
	struct rep_result r;
	int64_t t0 = now_ns();
	assert_int_equal(run_once(&c, &r), 0);
	int64_t spent = now_ns() - t0;
	/* a hang check, not a timing: the runner's own deadline plus generous slack */
	int64_t limit = c.warmup_ns + c.duration_ns + 4 * c.timeout_ns + 10 * NS_PER_S;
	if (spent > limit) {
		print_error("run_once took %.1f s, past its deadline\n", (double)spent / 1e9);
		fail();
	}
	fault.kind = F_NONE;
	return r;
}

static void expect_verification(const struct rep_result *r, uint64_t lost, uint64_t dup, uint64_t reord,
				uint64_t corrupt, const char *what)
{
	const struct msg_errors *e = &r->errors;
	if (r->ok || !strstr(r->reason, "verification failed") || e->lost != lost || e->duplicate != dup ||
	    e->reordered != reord || e->corrupt != corrupt) {
		print_error("%s: ok=%d reason '%s'; lost %llu duplicate %llu reordered %llu corrupt %llu, "
			    "want %llu %llu %llu %llu\n", what, r->ok, r->reason, (unsigned long long)e->lost,
			    (unsigned long long)e->duplicate, (unsigned long long)e->reordered,
			    (unsigned long long)e->corrupt, (unsigned long long)lost, (unsigned long long)dup,
			    (unsigned long long)reord, (unsigned long long)corrupt);
		fail();
	}
}

static void expect_clean(const struct rep_result *r, const char *what)
{
	if (!r->ok || msg_errors_total(&r->errors) != 0 || r->msgs == 0 || r->reason[0]) {
		print_error("%s: ok=%d reason '%s', %llu errors, %llu messages\n", what, r->ok, r->reason,
			    (unsigned long long)msg_errors_total(&r->errors), (unsigned long long)r->msgs);
		fail();
	}
}

static const size_t sizes[] = { 8, 4096 }; /* below and above the 24-byte header */
#define NTH 2
#define TIMEOUT_NS (2 * NS_PER_S)
#define SHORT_TIMEOUT_NS (200 * 1000000LL)

static void test_clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		fault.flip_byte = 0;
		struct rep_result r = run_with(F_NONE, 0, 0, PAT_PINGPONG, sizes[i], true, TIMEOUT_NS);
		expect_clean(&r, "pingpong, no fault");
		assert_true(r.rtt.count == r.msgs);
		r = run_with(F_NONE, 0, 0, PAT_STREAM, sizes[i], true, TIMEOUT_NS);
		expect_clean(&r, "stream, no fault");
		r = run_with(F_NONE, 0, 0, PAT_STREAM, sizes[i], false, TIMEOUT_NS);
		expect_clean(&r, "stream sampled, no fault");
	}
}

static void test_stream_faults(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t len = sizes[i];
		fault.flip_byte = len - 1; /* payload above the header; any byte below it */
		struct rep_result r = run_with(F_DROP, 0, NTH, PAT_STREAM, len, true, TIMEOUT_NS);
		expect_verification(&r, 1, 0, 0, 0, "stream, one message dropped");
		assert_non_null(strstr(r.reason, "1 lost"));
		r = run_with(F_DUPLICATE, 0, NTH, PAT_STREAM, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 1, 0, 0, "stream, one message duplicated");
		r = run_with(F_REORDER, 0, NTH, PAT_STREAM, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 0, 1, 0, "stream, two messages swapped");
		r = run_with(F_CORRUPT, 0, NTH, PAT_STREAM, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 0, 0, 1, "stream, one bit flipped");
		r = run_with(F_STALE, 0, NTH, PAT_STREAM, len, true, TIMEOUT_NS);
		expect_verification(&r, 1, 1, 0, 0, "stream, one message replaced by the one before");
	}
}

/* --verify sampled checks every header and one payload in 64. */
static void test_stream_sampled(void **state)
{
	(void)state;
	fault.flip_byte = 0; /* the magic */
	struct rep_result r = run_with(F_CORRUPT, 0, NTH, PAT_STREAM, 4096, false, TIMEOUT_NS);
	expect_verification(&r, 0, 0, 0, 1, "sampled stream, header damaged");
	fault.flip_byte = 4095;
	r = run_with(F_CORRUPT, 0, 63, PAT_STREAM, 4096, false, TIMEOUT_NS); /* the 64th: a sampled one */
	expect_verification(&r, 0, 0, 0, 1, "sampled stream, payload of the 64th message damaged");
	r = run_with(F_CORRUPT, 0, 62, PAT_STREAM, 8, false, TIMEOUT_NS);     /* no header: always whole */
	expect_verification(&r, 0, 0, 0, 1, "sampled stream, 8-byte message damaged");
}

static void test_pingpong_faults(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t len = sizes[i];
		fault.flip_byte = len - 1;
		/*
		 * B echoes the damaged bytes and A counts them. B checks headers
		 * only (A checks every byte of the echo), so a damaged payload is
		 * counted once; below the header B compares the whole message, and
		 * counts it too.
		 */
		struct rep_result r = run_with(F_CORRUPT, 0, NTH, PAT_PINGPONG, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 0, 0, len < sizeof(struct msg_hdr) ? 2 : 1, "pingpong, request damaged");
		r = run_with(F_CORRUPT, 1, NTH, PAT_PINGPONG, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 0, 0, 1, "pingpong, echo damaged");
		/* an echo that repeats the previous one */
		r = run_with(F_STALE, 1, NTH, PAT_PINGPONG, len, true, TIMEOUT_NS);
		expect_verification(&r, 0, 1, 0, 0, "pingpong, stale echo");
		/* B sees N-1 again (duplicate), then N+1 (N lost); A gets the stale echo (duplicate) */
		r = run_with(F_STALE, 0, NTH, PAT_PINGPONG, len, true, TIMEOUT_NS);
		expect_verification(&r, 1, 2, 0, 0, "pingpong, stale request");
	}
}

/*
 * A request that arrives twice puts one echo too many in flight, so every later
 * echo A reads is one behind: A counts each of them, B counts the repeat once.
 */
static void test_pingpong_duplicate(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct rep_result r = run_with(F_DUPLICATE, 0, NTH, PAT_PINGPONG, sizes[i], true, TIMEOUT_NS);
		assert_false(r.ok);
		assert_non_null(strstr(r.reason, "verification failed"));
		assert_true(r.errors.duplicate >= 2);
		assert_int_equal(r.errors.lost + r.errors.reordered + r.errors.corrupt, 0);
	}
}

/*
 * In lockstep a lost or held-back request stops the conversation: both sides
 * wait, the receive times out, and the row fails with that reason, on time.
 */
static void test_pingpong_stall(void **state)
{
	(void)state;
	static const enum fault kinds[] = { F_DROP, F_REORDER };
	for (size_t i = 0; i < 2; i++)
		for (int dir = 0; dir < 2; dir++)
			for (size_t k = 0; k < 2; k++) {
				struct rep_result r = run_with(kinds[k], dir, NTH, PAT_PINGPONG, sizes[i], true,
							       SHORT_TIMEOUT_NS);
				if (r.ok || !strstr(r.reason, "timed out")) {
					print_error("pingpong, %s %s: ok=%d reason '%s'\n",
						    kinds[k] == F_DROP ? "drop" : "reorder", dir ? "echo" : "request",
						    r.ok, r.reason);
					fail();
				}
			}
}

int main(void)
{
	runner_install_signals();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_stream_faults),
		cmocka_unit_test(test_stream_sampled),
		cmocka_unit_test(test_pingpong_faults),
		cmocka_unit_test(test_pingpong_duplicate),
		cmocka_unit_test(test_pingpong_stall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
