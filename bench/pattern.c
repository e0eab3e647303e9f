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
#include <unistd.h>

#include "clock.h"
#include "peer/link.h"

/* One side's working set for a run. */
struct side {
	const struct case_spec *c;
	const struct transport_ops *ops;
	struct run_ctl *ctl;
	struct side_report *rep;
	void *end;
	enum tp_side me;
	struct msg_gen gen;   /* what this side sends (A only) */
	struct msg_gen *more; /* stream: the further send buffers A rotates through (transport_ops.send_buffers) */
	unsigned n_more;
	unsigned char *rbuf;  /* this side's own receive buffer */
	const unsigned char *msg; /* the message received last: in rbuf, or where a zero-copy mechanism lent it */
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

/* The other side on another host: wake this host's runner to carry a change across (run_ctl.linked). */
static void link_notify(struct run_ctl *ctl)
{
	uint64_t one = 1;
	if (ctl->linked && write(ctl->notify_fd, &one, sizeof(one)) < 0)
		return; /* the eventfd only counts wake-ups: it cannot fill */
}

/* Wait until the peer raised its flag; polls gently, this is outside any timed span. */
static _Atomic int *meet_flags(struct run_ctl *ctl, bool finished)
{
	return finished ? ctl->finished : ctl->attached;
}

/*
 * Raise this side's flag (attached, or finished) and wait for the peer's. In
 * fanin the one receiver meets every sender: it raises its flag in every lane
 * and waits for all of theirs.
 */
static int meet(struct side *s, bool finished, int64_t timeout_ns)
{
	bool all = s->c->pattern == PAT_FANIN && s->me == TP_SIDE_B;
	int first = all ? 0 : s->ctl->lane, last = all ? s->ctl->lanes : s->ctl->lane + 1;
	for (int l = first; l < last; l++)
		atomic_store_explicit(&meet_flags(&s->ctl->all[l], finished)[s->me], 1, memory_order_release);
	link_notify(s->ctl);
	int64_t deadline = now_ns() + timeout_ns;
	const struct timespec nap = { 0, 20000 };
	for (int l = first; l < last; l++)
		while (!atomic_load_explicit(&meet_flags(&s->ctl->all[l], finished)[1 - s->me], memory_order_acquire)) {
			if (now_ns() > deadline)
				return -ETIMEDOUT;
			nanosleep(&nap, NULL);
		}
	return 0;
}

/*
 * Lanes side by side (--pairs, fanin's senders) share one timed window: each
 * sender, its warmup done, waits here for the others; the last to arrive
 * sets the start a moment ahead, and all begin then. One lane starts at once.
 */
#define GATE_LEAD_NS (200 * 1000LL)

static int64_t gate_pass(struct side *s)
{
	struct run_ctl *g = s->ctl->all;
	if (s->ctl->lanes < 2)
		return now_ns();
	if (atomic_fetch_add_explicit(&g->gate_ready, 1, memory_order_acq_rel) + 1 == s->ctl->lanes)
		atomic_store_explicit(&g->gate_start_ns, now_ns() + GATE_LEAD_NS, memory_order_release);
	int64_t start, give_up = now_ns() + s->c->timeout_ns;
	while (!(start = atomic_load_explicit(&g->gate_start_ns, memory_order_acquire)) && now_ns() < give_up)
		spin_pause();
	if (!start)
		return now_ns(); /* a lane never came: it fails on its own; this one goes on */
	while (now_ns() < start)
		spin_pause();
	return start;
}

/*
 * A sets a count B starts or stops at (warm_end, end_count) before it sends
 * the message that reaches it. With B on another host the runners carry the
 * count across, and A waits until B's host has it (seen), so that message
 * cannot overtake it; a wait outside the timed span, bounded by the timeout.
 */
static int publish_count(struct side *s, _Atomic uint64_t *count, _Atomic uint64_t *seen, uint64_t v)
{
	atomic_store_explicit(count, v, memory_order_release);
	if (!s->ctl->linked)
		return 0;
	link_notify(s->ctl);
	int64_t deadline = now_ns() + s->c->timeout_ns;
	const struct timespec nap = { 0, 20000 };
	while (atomic_load_explicit(seen, memory_order_acquire) != v) {
		if (now_ns() > deadline)
			return side_fail(s, -ETIMEDOUT, "the peer host taking count %llu", (unsigned long long)v);
		nanosleep(&nap, NULL);
	}
	return 0;
}

/*
 * The calls between a loop and the mechanism's send or receive are inlined
 * (PER_MSG): with both sides on one CPU each blocking call lets the peer run,
 * and every return taken after that switch is mispredicted (ipc/sys_inline.h
 * says why), so the mechanism's own function is the one frame between the
 * loop and the kernel.
 */
#define PER_MSG static inline __attribute__((always_inline))

/* One more message moved: the runner's watchdog sees this side is alive (a relaxed store to a private line). */
PER_MSG void made_progress(struct side *s)
{
	_Atomic uint64_t *n = &s->ctl->progress[s->me].msgs;
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1, memory_order_relaxed);
}

PER_MSG int send_msg(struct side *s, const void *buf, size_t len, uint64_t seq)
{
	int rc = s->ops->send_commit ? s->ops->send_commit(s->end, buf, len, s->c->timeout_ns)
				     : s->ops->send(s->end, buf, len, s->c->timeout_ns);
	made_progress(s);
	return rc ? side_fail(s, rc, "send of message %llu", (unsigned long long)seq) : 0;
}

PER_MSG ssize_t recv_msg(struct side *s, uint64_t seq)
{
	size_t len = s->c->msg_bytes;
	ssize_t n;
	if (s->ops->recv_loan) {
		const void *msg = NULL;
		n = s->ops->recv_loan(s->end, len, s->c->timeout_ns, &msg);
		s->msg = msg;
	} else {
		n = s->ops->recv(s->end, s->rbuf, len, len, s->c->timeout_ns);
		s->msg = s->rbuf;
	}
	if (n <= 0)
		return side_fail(s, (int)n, "receive of message %llu", (unsigned long long)seq);
	made_progress(s);
	return n;
}

/* Zero-copy sending (transport_ops.send_loan): a buffer of the mechanism's for message seq, or NULL. */
PER_MSG void *loan_buf(struct side *s, size_t len, uint64_t seq)
{
	void *buf = NULL;
	int rc = s->ops->send_loan(s->end, len, s->c->timeout_ns, &buf);
	if (rc) {
		side_fail(s, rc, "loan of a buffer for message %llu", (unsigned long long)seq);
		return NULL;
	}
	return buf;
}

/*
 * Message seq, stamped, in the buffer it goes out in: g's own buffer, or, for
 * a mechanism that lends its buffers, a loaned one with the whole message
 * written into it (the producer writing its message once). NULL on failure.
 * A pingpong round trip calls this before t0, so with loans the RTT spans
 * A's commit, B's receipt, B's loan, copy and commit of its echo, and A's
 * receipt of the echo where it lies; A checks and releases it after t1.
 */
static void *stamp_msg(struct side *s, struct msg_gen *g, uint64_t seq)
{
	if (!s->ops->send_loan) {
		msg_stamp(g, seq);
		return g->buf;
	}
	void *buf = loan_buf(s, s->c->msg_bytes, seq);
	if (buf)
		msg_stamp_into(g, buf, seq);
	return buf;
}

/* B: send the message just received back whole; with loans, B copies it into a loaned buffer (B producing its reply). */
PER_MSG int echo_msg(struct side *s, size_t n, uint64_t seq)
{
	const void *src = s->msg;
	if (s->ops->send_loan) {
		void *buf = loan_buf(s, n, seq);
		if (!buf)
			return -EPIPE;
		memcpy(buf, s->msg, n);
		src = buf;
	}
	return send_msg(s, src, n, seq);
}

/* Done with the message received last, after its check: a zero-copy mechanism gets its buffer back. */
PER_MSG int done_msg(struct side *s, uint64_t seq)
{
	int rc = s->ops->recv_release ? s->ops->recv_release(s->end, s->msg) : 0;
	return rc ? side_fail(s, rc, "release of message %llu", (unsigned long long)seq) : 0;
}

/*
 * Check after the clock stopped; a bad echo is counted, not fatal, so all
 * errors are tallied. The message A sent is still in gen.buf unless it went
 * out in a loaned buffer, so the echo is compared with it byte for byte;
 * after a loan, the checksum checks it. The check is outside the RTT, but with
 * both sides on one CPU it is CPU time that A spends and B does not, and the
 * scheduler answers that share: the checksum (3.4 us at 64 KiB) made
 * uds-stream's 64 KiB round trip 5% longer than with a header check alone.
 */
static int check_echo(struct side *s, ssize_t n, uint64_t seq)
{
	size_t len = s->c->msg_bytes;
	if (s->ops->send_loan)
		msg_check(&s->chk, s->msg, (size_t)n, len, true);
	else
		msg_check_echo(&s->chk, s->msg, (size_t)n, s->gen.buf, len);
	return done_msg(s, seq);
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
		spin_pause();
}

/*
 * A: one round trip; returns the RTT in ns (or a negative errno). The message
 * is stamped first; an open-loop sender then waits for its slot (not_before,
 * 0 for none), and *sent gets the clock at the send. In oneway rows A
 * publishes that clock reading, with the message's number, once its send has
 * returned; B takes it after reading its own clock.
 */
static int64_t round_trip(struct side *s, uint64_t seq, int64_t not_before, int64_t *sent)
{
	void *buf = stamp_msg(s, &s->gen, seq); /* with loans: loaned and written before t0 */
	if (!buf)
		return -EPIPE;
	if (not_before && now_ns() < not_before)
		wait_until(not_before);
	int64_t t0 = now_ns();
	*sent = t0;
	if (send_msg(s, buf, s->c->msg_bytes, seq))
		return -EPIPE;
	if (s->c->pattern == PAT_ONEWAY) { /* after the send: the store is in neither side's figure */
		atomic_store_explicit(&s->ctl->sent_ns[seq & 1], t0, memory_order_relaxed);
		atomic_store_explicit(&s->ctl->sent_seq, seq + 1, memory_order_release);
	}
	ssize_t n = recv_msg(s, seq);
	int64_t rtt = now_ns() - t0;
	if (n < 0)
		return -EPIPE;
	s->chk.expected = seq; /* the echo must carry exactly what was sent */
	if (check_echo(s, n, seq))
		return -EPIPE;
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
	int64_t start = gate_pass(s), end = start + c->duration_ns, t = start, rtt, sent;
	int64_t last_end = start + case_longest_span_ns(c);
	uint64_t n = 0;
	do {
		int64_t due = period_ns > 0 ? start + (int64_t)((double)n * period_ns) : 0;
		if ((rtt = round_trip(s, (*seq)++, due, &sent)) < 0)
			return (int)rtt;
		n++;
		t = sent + rtt; /* the clock when the echo arrived: no third reading per round trip */
		if (c->pattern == PAT_ONEWAY)
			continue; /* B times these */
		hist_record(&s->ctl->rtt, (uint64_t)rtt);
		if (due)
			hist_record(&s->ctl->intended, (uint64_t)(sent + rtt - due));
		s->rep->msgs++;
	} while (t < end || (n < c->min_round_trips && t < last_end));
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

	if (publish_count(s, &s->ctl->warm_end, &s->ctl->seen_warm_end, seq + 1)) /* B's span starts there too */
		return -ETIMEDOUT;
	cpu_span(s, false);
	int rc = pingpong_timed(s, &seq);
	if (rc)
		return rc;
	cpu_span(s, true);

	/* The last round trip tells B to stop after echoing it. */
	if (publish_count(s, &s->ctl->end_count, &s->ctl->seen_end_count, seq + 1))
		return -ETIMEDOUT;
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
static void oneway_record(struct side *s, int64_t received, uint64_t seq)
{
	/* A publishes its stamp just after its send returned: wait the moment it may take */
	int64_t give_up = now_ns() + s->c->timeout_ns;
	while (atomic_load_explicit(&s->ctl->sent_seq, memory_order_acquire) < seq + 1 && now_ns() < give_up)
		spin_pause();
	int64_t sent = atomic_load_explicit(&s->ctl->sent_ns[seq & 1], memory_order_relaxed);
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
		if (echo_msg(s, (size_t)n, count - 1))
			return -EPIPE;
		/*
		 * After the echo left, and the header only (magic, length,
		 * sequence): A checks every byte of the echo, which is this very
		 * buffer, so a payload B received wrong fails the row there. A full
		 * sum here would sit inside A's round trip whenever the two sides
		 * share a CPU.
		 */
		msg_check(&s->chk, s->msg, (size_t)n, len, false);
		if (done_msg(s, count - 1))
			return -EPIPE;
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
			oneway_record(s, received, s->chk.expected - 1);
	}
}

/* Looking at the clock costs ~20 ns; in a stream of small messages look every 16th. */
static int time_up(uint64_t seq, int64_t deadline)
{
	return (seq & 15) == 0 && now_ns() >= deadline;
}

static int stream_send(struct side *s, uint64_t seq)
{
	/* A mechanism that may still read a sent buffer gets the next one (transport_ops.send_buffers). */
	unsigned i = s->n_more ? (unsigned)(seq % (s->n_more + 1)) : 0;
	struct msg_gen *g = i ? &s->more[i - 1] : &s->gen;
	void *buf = stamp_msg(s, g, seq);
	return buf ? send_msg(s, buf, s->c->msg_bytes, seq) : -EPIPE;
}

/* A sender's sequence numbers: fanin sender i counts from i << FANIN_SEQ_SHIFT, every other from 0. */
static uint64_t first_seq(const struct side *s)
{
	return s->c->pattern == PAT_FANIN ? (uint64_t)s->ctl->lane << FANIN_SEQ_SHIFT : 0;
}

/*
 * Without flow control (TP_LOSSY) the last message may be dropped too, and B
 * would wait for it until its timeout rather than count what it lost. So A
 * sends it again every millisecond until B is done (at most the timeout). B
 * stops at the first copy it gets, so it never counts one twice.
 */
static int stream_repeat_last(struct side *s, uint64_t seq)
{
	const struct timespec gap = { 0, 1000 * 1000 };
	_Atomic int *b_done = &meet_flags(&s->ctl->all[s->ctl->lane], true)[TP_SIDE_B];
	int64_t deadline = now_ns() + s->c->timeout_ns;
	while (!atomic_load_explicit(b_done, memory_order_acquire) && now_ns() < deadline) {
		nanosleep(&gap, NULL);
		if (stream_send(s, seq))
			return -EPIPE;
	}
	return 0;
}

static int stream_a(struct side *s)
{
	const struct case_spec *c = s->c;
	uint64_t seq = first_seq(s);
	int64_t warm_until = now_ns() + c->warmup_ns;
	while (!time_up(seq, warm_until))
		if (stream_send(s, seq++))
			return -EPIPE;
	if (publish_count(s, &s->ctl->warm_end, &s->ctl->seen_warm_end, seq + 1))
		return -ETIMEDOUT;
	if (stream_send(s, seq++))
		return -EPIPE;

	int64_t end = gate_pass(s) + c->duration_ns;
	cpu_span(s, false);
	while (!time_up(seq, end))
		if (stream_send(s, seq++))
			return -EPIPE;
	cpu_span(s, true);
	if (publish_count(s, &s->ctl->end_count, &s->ctl->seen_end_count, seq + 1))
		return -ETIMEDOUT;
	if (stream_send(s, seq))
		return -EPIPE;
	return s->ops->flags & TP_LOSSY ? stream_repeat_last(s, seq) : 0;
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
		msg_check(&s->chk, s->msg, (size_t)n, c->msg_bytes, full);
		if (done_msg(s, count - 1))
			return -EPIPE;
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

/*
 * fanin's receiver: messages of every sender arrive mixed; each is checked
 * against its own sender's sequence (the sender's number in the top bits), so
 * loss and reordering are still caught per sender. The timed span runs from
 * the first message past a sender's warmup to the last message of the last
 * sender to finish.
 */
struct fanin_rx {
	struct msg_check chk[RUN_MAX_LANES];
	bool done[RUN_MAX_LANES];
	int n_done;
};

static bool fanin_sender_done(struct side *s, struct fanin_rx *rx, int i)
{
	uint64_t end = atomic_load_explicit(&s->ctl->all[i].end_count, memory_order_acquire);
	if (!rx->done[i] && end != COUNT_UNSET && rx->chk[i].expected >= end) {
		rx->done[i] = true;
		rx->n_done++;
	}
	return rx->done[i];
}

static int fanin_b(struct side *s)
{
	const struct case_spec *c = s->c;
	int senders = s->ctl->lanes;
	struct fanin_rx *rx = calloc(1, sizeof(*rx));
	if (!rx)
		return side_fail(s, -ENOMEM, "fanin receiver state");
	for (int i = 0; i < senders; i++)
		rx->chk[i].expected = (uint64_t)i << FANIN_SEQ_SHIFT;
	bool timed = false;
	int rc = 0;
	for (uint64_t count = 1; rx->n_done < senders; count++) {
		ssize_t n = recv_msg(s, count - 1);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		struct msg_hdr h = { 0 };
		memcpy(&h, s->msg, (size_t)n < sizeof(h) ? (size_t)n : sizeof(h));
		uint64_t from = h.seq >> FANIN_SEQ_SHIFT;
		struct msg_check *chk = from < (uint64_t)senders ? &rx->chk[from] : &rx->chk[0];
		msg_check(chk, s->msg, (size_t)n, c->msg_bytes, c->verify_full || (count & 63) == 0);
		if (done_msg(s, count - 1)) {
			rc = -EPIPE;
			break;
		}
		if (!timed && from < (uint64_t)senders &&
		    chk->expected >= atomic_load_explicit(&s->ctl->all[from].warm_end, memory_order_acquire)) {
			timed = true;
			s->rep->t_first_ns = now_ns();
			cpu_span(s, false);
		}
		s->rep->msgs += timed;
		if (from < (uint64_t)senders)
			fanin_sender_done(s, rx, (int)from);
	}
	if (rc == 0 && timed) {
		s->rep->t_last_ns = now_ns();
		cpu_span(s, true);
	}
	for (int i = 0; i < senders; i++) { /* every sender's tallies count for the row */
		s->chk.errors.lost += rx->chk[i].errors.lost;
		s->chk.errors.duplicate += rx->chk[i].errors.duplicate;
		s->chk.errors.reordered += rx->chk[i].errors.reordered;
		s->chk.errors.corrupt += rx->chk[i].errors.corrupt;
	}
	free(rx);
	return rc;
}

static int run_pattern(struct side *s)
{
	if (s->c->pattern == PAT_FANIN)
		return s->me == TP_SIDE_A ? stream_a(s) : fanin_b(s);
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

/* Stream, side A, after attach: the further send buffers the mechanism asks for, each with the same payload. */
static int side_more_buffers(struct side *s)
{
	unsigned n = s->ops->send_buffers && s->me == TP_SIDE_A && s->c->pattern == PAT_STREAM
		? s->ops->send_buffers(s->end) : 1;
	size_t len = s->c->msg_bytes;
	if (n > 1 && !(s->more = calloc(n - 1, sizeof(*s->more))))
		return side_fail(s, -ENOMEM, "%u send buffers of %zu bytes", n, len);
	for (; s->n_more + 1 < n; s->n_more++) {
		unsigned char *buf = aligned_alloc(64, (len + 63) / 64 * 64);
		if (!buf)
			return side_fail(s, -ENOMEM, "%u send buffers of %zu bytes", n, len);
		msg_gen_init(&s->more[s->n_more], buf, len, UINT64_C(0x1bc5) ^ len);
	}
	return 0;
}

int side_run(const struct case_spec *c, struct run_ctl *ctl, void *st, enum tp_side side)
{
	struct side s = {
		.c = c, .ops = c->ops, .ctl = ctl, .rep = &ctl->side[side], .me = side,
	};
	bool fanin = c->pattern == PAT_FANIN;
	struct tp_params p = { .msg_bytes = c->msg_bytes, .timeout_ns = c->timeout_ns,
			       .senders = fanin ? (unsigned)ctl->lanes : 1, .sender = fanin ? (unsigned)ctl->lane : 0,
			       .watched = true, /* run_once's watchdog ends a side that stops moving */
			       .remote = run_link_remote(c->link) };
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
	if ((rc = side_more_buffers(&s)))
		goto out_detach;
	if ((rc = meet(&s, false, c->timeout_ns))) {
		side_fail(&s, rc, "waiting for the peer to attach");
		goto out_detach;
	}
	if (side == TP_SIDE_A && c->ops->unlink_names)
		c->ops->unlink_names(st);
	rc = run_pattern(&s);
	s.rep->errors = s.chk.errors;
	/* Stay attached until the peer is done: closing early may drop its last messages. */
	if (!rc && (rc = meet(&s, true, c->timeout_ns)))
		side_fail(&s, rc, "waiting for the peer to finish");
out_detach:
	c->ops->detach(s.end);
	free(s.end);
out:
	free(s.rbuf);
	free(s.gen.buf);
	for (unsigned i = 0; i < s.n_more; i++)
		free(s.more[i].buf);
	free(s.more);
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
