/* The timed loops: pingpong and stream, the same for every mechanism. */
#include "side.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "clock.h"

/* One side's working set for a run. */
struct side {
	const struct case_spec *c;
	const struct transport_ops *ops;
	struct run_ctl *ctl;
	struct side_report *rep;
	void *end;
	enum tp_side me;
	struct msg_gen gen;   /* what this side sends (A only) */
	unsigned char *rbuf;  /* this side's own receive buffer */
	struct msg_check chk;
};

static const char *side_label(enum tp_side s)
{
	return s == TP_SIDE_A ? "side A" : "side B";
}

static int side_fail(struct side *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record why this side stopped; the first reason wins. Off the hot path. */
static int side_fail(struct side *s, int rc, const char *fmt, ...)
{
	if (s->rep->failed)
		return rc;
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *why = rc == 0 ? "peer closed the connection"
		: rc == -ETIMEDOUT ? "timed out (peer stuck or gone)"
		: rc == -EPIPE ? "peer gone (EPIPE)" : strerror(-rc);
	snprintf(s->rep->reason, sizeof(s->rep->reason), "%s: %s: %s", side_label(s->me), what, why);
	s->rep->failed = 1; /* after the reason: a side killed in between leaves no empty reason */
	return rc < 0 ? rc : -EPIPE;
}

/* Record a reason given whole; the first reason wins. */
static void side_note(struct side *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void side_note(struct side *s, const char *fmt, ...)
{
	if (s->rep->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->rep->reason, sizeof(s->rep->reason), fmt, ap);
	va_end(ap);
	s->rep->failed = 1;
}

/*
 * This side's CPU so far. A side that is a process of its own counts the whole
 * process, so the helper threads a library starts for it (libzmq's I/O thread)
 * count with their side; a side that is a thread counts itself only.
 */
static void cpu_now(bool whole, struct cpu_use *u)
{
	struct timespec ts;
	struct rusage ru;
	clock_gettime(whole ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID, &ts);
	getrusage(whole ? RUSAGE_SELF : RUSAGE_THREAD, &ru);
	u->cpu_ns = ts.tv_sec * NS_PER_S + ts.tv_nsec;
	u->wall_ns = now_ns();
	u->vcsw = ru.ru_nvcsw;
	u->ivcsw = ru.ru_nivcsw;
}

/* Open (at its start) and close (at its end) a CPU account of a timed span. */
static void cpu_account(bool whole, struct cpu_use *acc, bool end)
{
	struct cpu_use now;
	cpu_now(whole, &now);
	int sign = end ? 1 : -1;
	acc->cpu_ns += sign * now.cpu_ns;
	acc->wall_ns += sign * now.wall_ns;
	acc->vcsw += sign * now.vcsw;
	acc->ivcsw += sign * now.ivcsw;
}

static void cpu_span(struct side *s, bool end)
{
	cpu_account(strcmp(s->ops->group, "process") == 0, &s->rep->cpu, end);
}

/* Wait until the peer raised its flag; polls gently, this is outside any timed span. */
static int meet(struct side *s, _Atomic int *flags, int64_t timeout_ns)
{
	atomic_store_explicit(&flags[s->me], 1, memory_order_release);
	int64_t deadline = now_ns() + timeout_ns;
	const struct timespec nap = { 0, 20000 };
	while (!atomic_load_explicit(&flags[1 - s->me], memory_order_acquire)) {
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	return 0;
}

/* One more message moved: the runner's watchdog sees this side is alive (a relaxed store to a private line). */
static void made_progress(struct side *s)
{
	_Atomic uint64_t *n = &s->ctl->progress[s->me].msgs;
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
}

static int send_msg(struct side *s, const void *buf, size_t len, uint64_t seq)
{
	int rc = s->ops->send(s->end, buf, len, s->c->timeout_ns);
	made_progress(s);
	return rc ? side_fail(s, rc, "send of message %llu", (unsigned long long)seq) : 0;
}

static ssize_t recv_msg(struct side *s, uint64_t seq)
{
	size_t len = s->c->msg_bytes;
	ssize_t n = s->ops->recv(s->end, s->rbuf, len, len, s->c->timeout_ns);
	if (n <= 0)
		return side_fail(s, (int)n, "receive of message %llu", (unsigned long long)seq);
	made_progress(s);
	return n;
}

/* Check after the clock stopped; a bad echo is counted, not fatal, so all errors are tallied. */
static void check_echo(struct side *s, ssize_t n)
{
	msg_check(&s->chk, s->rbuf, (size_t)n, s->c->msg_bytes, true);
}

/*
 * Wait until the absolute CLOCK_MONOTONIC instant t (an open-loop sender's
 * schedule): sleep until shortly before it, then spin, so that a timer that
 * wakes late (tens of microseconds in a VM) does not delay the send and show
 * up as queueing that is the sender's own.
 */
#define RATE_SPIN_NS (200 * 1000LL)

static void wait_until(int64_t t)
{
	int64_t wake = t - RATE_SPIN_NS;
	if (now_ns() < wake) {
		struct timespec ts = { .tv_sec = wake / NS_PER_S, .tv_nsec = wake % NS_PER_S };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	while (now_ns() < t)
		;
}

/*
 * A: one round trip; returns the RTT in ns (or a negative errno). The message
 * is stamped first; an open-loop sender then waits for its slot (not_before,
 * 0 for none), and *sent gets the clock at the send. In oneway rows the send
 * stamp goes to B through the control block, which the message's arrival
 * publishes.
 */
static int64_t round_trip(struct side *s, uint64_t seq, int64_t not_before, int64_t *sent)
{
	msg_stamp(&s->gen, seq);
	if (not_before && now_ns() < not_before)
		wait_until(not_before);
	int64_t t0 = now_ns();
	*sent = t0;
	if (s->c->pattern == PAT_ONEWAY)
		atomic_store_explicit(&s->ctl->sent_ns, t0, memory_order_release);
	if (send_msg(s, s->gen.buf, s->c->msg_bytes, seq))
		return -EPIPE;
	ssize_t n = recv_msg(s, seq);
	int64_t rtt = now_ns() - t0;
	if (n < 0)
		return -EPIPE;
	s->chk.expected = seq; /* the echo must carry exactly what was sent */
	check_echo(s, n);
	return rtt;
}

/*
 * The timed round trips. Closed loop, each starts when the last ended. At a
 * rate, round trip i is due at start + i / rate: the sender waits for that
 * instant, or sends at once when it is late, and each round trip is recorded
 * twice: from its actual send (service time) and from its intended one (what a
 * caller waiting in line sees: a stall delays every send due during it, so the
 * delay is not omitted).
 */
static int pingpong_timed(struct side *s, uint64_t *seq)
{
	const struct case_spec *c = s->c;
	double period_ns = c->rate_per_s > 0 ? 1e9 / c->rate_per_s : 0;
	int64_t start = now_ns(), end = start + c->duration_ns, t, rtt, sent;
	uint64_t n = 0;
	do {
		int64_t due = period_ns > 0 ? start + (int64_t)((double)n * period_ns) : 0;
		if ((rtt = round_trip(s, (*seq)++, due, &sent)) < 0)
			return (int)rtt;
		n++;
		if (c->pattern == PAT_ONEWAY)
			continue; /* B times these */
		hist_record(&s->ctl->rtt, (uint64_t)rtt);
		if (due)
			hist_record(&s->ctl->intended, (uint64_t)(sent + rtt - due));
		s->rep->msgs++;
	} while ((t = now_ns()) < end);
	s->rep->t_first_ns = start;
	s->rep->t_last_ns = t;
	return 0;
}

static int pingpong_a(struct side *s)
{
	const struct case_spec *c = s->c;
	uint64_t seq = 0;
	int64_t rtt, sent;
	int64_t warm_until = now_ns() + c->warmup_ns;
	if (c->rate_per_s > 0)
		prctl(PR_SET_TIMERSLACK, 1UL); /* wake on the schedule, not up to 50 us after it */
	do {
		if ((rtt = round_trip(s, seq++, 0, &sent)) < 0)
			return (int)rtt;
	} while (now_ns() < warm_until);

	atomic_store_explicit(&s->ctl->warm_end, seq + 1, memory_order_release); /* B's span starts there too */
	cpu_span(s, false);
	int rc = pingpong_timed(s, &seq);
	if (rc)
		return rc;
	cpu_span(s, true);

	/* The last round trip tells B to stop after echoing it. */
	atomic_store_explicit(&s->ctl->end_count, seq + 1, memory_order_release);
	return round_trip(s, seq, 0, &sent) < 0 ? -EPIPE : 0;
}

/*
 * B stops when the sequence numbers it checked reach a count A published, not
 * when it received that many messages: a lost or repeated message then fails
 * the row as a verification error instead of leaving B waiting for a message
 * that never comes (or stopping before the last one).
 */
static bool reached(const struct side *s, _Atomic uint64_t *count)
{
	return s->chk.expected >= atomic_load_explicit(count, memory_order_acquire);
}

/* B in a oneway row: the time from A's send stamp to this receive, for a timed message. */
static void oneway_record(struct side *s, int64_t received)
{
	int64_t sent = atomic_load_explicit(&s->ctl->sent_ns, memory_order_acquire);
	hist_record(&s->ctl->rtt, (uint64_t)(received > sent ? received - sent : 0));
	if (!s->rep->msgs++)
		s->rep->t_first_ns = received;
	s->rep->t_last_ns = received;
}

static int pingpong_b(struct side *s)
{
	size_t len = s->c->msg_bytes;
	bool timed = false, oneway = s->c->pattern == PAT_ONEWAY;
	for (uint64_t count = 1;; count++) {
		ssize_t n = recv_msg(s, count - 1);
		int64_t received = oneway ? now_ns() : 0;
		if (n < 0)
			return (int)n;
		if (send_msg(s, s->rbuf, (size_t)n, count - 1))
			return -EPIPE;
		msg_check(&s->chk, s->rbuf, (size_t)n, len, true); /* after the echo left */
		if (!timed && reached(s, &s->ctl->warm_end)) {
			cpu_span(s, false);
			timed = true;
		}
		if (reached(s, &s->ctl->end_count)) {
			if (timed)
				cpu_span(s, true);
			return 0;
		}
		if (timed && oneway)
			oneway_record(s, received);
	}
}

/* Looking at the clock costs ~20 ns; in a stream of small messages look every 16th. */
static int time_up(uint64_t seq, int64_t deadline)
{
	return (seq & 15) == 0 && now_ns() >= deadline;
}

static int stream_send(struct side *s, uint64_t seq)
{
	msg_stamp(&s->gen, seq);
	return send_msg(s, s->gen.buf, s->c->msg_bytes, seq);
}

static int stream_a(struct side *s)
{
	const struct case_spec *c = s->c;
	uint64_t seq = 0;
	int64_t warm_until = now_ns() + c->warmup_ns;
	while (!time_up(seq, warm_until))
		if (stream_send(s, seq++))
			return -EPIPE;
	atomic_store_explicit(&s->ctl->warm_end, seq + 1, memory_order_release);
	if (stream_send(s, seq++))
		return -EPIPE;

	cpu_span(s, false);
	int64_t end = now_ns() + c->duration_ns;
	while (!time_up(seq, end))
		if (stream_send(s, seq++))
			return -EPIPE;
	cpu_span(s, true);
	atomic_store_explicit(&s->ctl->end_count, seq + 1, memory_order_release);
	return stream_send(s, seq) ? -EPIPE : 0;
}

static int stream_b(struct side *s)
{
	const struct case_spec *c = s->c;
	uint64_t warm_end = COUNT_UNSET;
	for (uint64_t count = 1;; count++) {
		ssize_t n = recv_msg(s, count - 1);
		if (n < 0)
			return (int)n;
		bool full = c->verify_full || (count & 63) == 0;
		msg_check(&s->chk, s->rbuf, (size_t)n, c->msg_bytes, full);
		if (warm_end == COUNT_UNSET && reached(s, &s->ctl->warm_end)) {
			warm_end = count;
			s->rep->t_first_ns = now_ns();
			cpu_span(s, false);
		}
		if (reached(s, &s->ctl->end_count)) {
			s->rep->t_last_ns = now_ns();
			if (warm_end != COUNT_UNSET)
				cpu_span(s, true);
			s->rep->msgs = count - warm_end;
			return 0;
		}
	}
}

static int run_pattern(struct side *s)
{
	if (s->c->pattern == PAT_PINGPONG || s->c->pattern == PAT_ONEWAY)
		return s->me == TP_SIDE_A ? pingpong_a(s) : pingpong_b(s);
	return s->me == TP_SIDE_A ? stream_a(s) : stream_b(s);
}

static int side_buffers(struct side *s)
{
	size_t len = s->c->msg_bytes;
	s->rbuf = aligned_alloc(64, (len + 63) / 64 * 64);
	unsigned char *sbuf = aligned_alloc(64, (len + 63) / 64 * 64);
	if (!s->rbuf || !sbuf) {
		free(sbuf);
		return side_fail(s, -ENOMEM, "buffers of %zu bytes", len);
	}
	msg_gen_init(&s->gen, sbuf, len, UINT64_C(0x1bc5) ^ len);
	return 0;
}

int side_run(const struct case_spec *c, struct run_ctl *ctl, void *st, enum tp_side side)
{
	struct side s = {
		.c = c, .ops = c->ops, .ctl = ctl, .rep = &ctl->side[side], .me = side,
	};
	struct tp_params p = { .msg_bytes = c->msg_bytes, .timeout_ns = c->timeout_ns };
	struct tp_err err = { { 0 } };
	int rc = side_buffers(&s);
	if (rc)
		goto out;
	s.end = tp_state_alloc(c->ops->end_size);
	if (!s.end) {
		rc = side_fail(&s, -ENOMEM, "per-side state");
		goto out;
	}
	rc = c->ops->attach(st, s.end, side, &p, &err);
	if (rc) {
		if (err.msg[0]) /* the mechanism's own line already says what and why */
			side_note(&s, "%s: attach: %s", side_label(side), err.msg);
		else
			side_fail(&s, rc, "attach");
		goto out_detach;
	}
	if ((rc = meet(&s, ctl->attached, c->timeout_ns))) {
		side_fail(&s, rc, "waiting for the peer to attach");
		goto out_detach;
	}
	if (side == TP_SIDE_A && c->ops->unlink_names)
		c->ops->unlink_names(st);
	rc = run_pattern(&s);
	s.rep->errors = s.chk.errors;
	/* Stay attached until the peer is done: closing early may drop its last messages. */
	if (!rc && (rc = meet(&s, ctl->finished, c->timeout_ns)))
		side_fail(&s, rc, "waiting for the peer to finish");
out_detach:
	c->ops->detach(s.end);
	free(s.end);
out:
	free(s.rbuf);
	free(s.gen.buf);
	return rc;
}

int side_run_solo(const struct case_spec *c, struct run_ctl *ctl)
{
	struct side_report *rep = &ctl->side[TP_SIDE_B];
	size_t len = c->msg_bytes;
	unsigned char *src = aligned_alloc(64, (len + 63) / 64 * 64);
	unsigned char *dst = aligned_alloc(64, (len + 63) / 64 * 64);
	if (!src || !dst) {
		free(src);
		free(dst);
		rep->failed = 1;
		snprintf(rep->reason, sizeof(rep->reason), "buffers of %zu bytes: out of memory", len);
		return -ENOMEM;
	}
	memset(src, 0xa5, len);
	memset(dst, 0, len);
	int64_t warm_until = now_ns() + c->warmup_ns;
	uint64_t n = 0;
	while (!time_up(n++, warm_until))
		c->ops->solo(dst, src, len);
	cpu_account(false, &rep->cpu, false);
	int64_t start = now_ns(), end = start + c->duration_ns;
	n = 0;
	do {
		c->ops->solo(dst, src, len);
		n++;
	} while (!time_up(n, end));
	rep->t_first_ns = start;
	rep->t_last_ns = now_ns();
	cpu_account(false, &rep->cpu, true);
	rep->msgs = n;
	if (memcmp(src, dst, len) != 0) {
		rep->errors.corrupt++;
	}
	free(src);
	free(dst);
	return 0;
}
