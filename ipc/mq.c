/* mq: POSIX message queues, one per direction, sized from the kernel's limits at run time. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../bench/host.h"
#include "names.h"
#include "sys_inline.h"
#include "transport.h"

#define MQ_MSG_MAX_PATH "/proc/sys/fs/mqueue/msg_max"
#define MQ_MSGSIZE_MAX_PATH "/proc/sys/fs/mqueue/msgsize_max"

/*
 * mq_state holds the two queues from setup to teardown. They have no name by
 * then: the descriptors reach both sides across fork, so nothing is left in
 * /dev/mqueue even when the runner is killed with SIGKILL before the sides
 * attach.
 */
struct mq_state {
	mqd_t q[2]; /* [0] carries A to B, [1] B to A */
	int held[2]; /* q[i] is open; zeroed state holds none */
};

/* mq_end is one side's pair of descriptors. */
struct mq_end {
	mqd_t tx;
	mqd_t rx;
	int open;
	struct timespec deadline; /* absolute, CLOCK_REALTIME; renewed only when a wait reaches it */
};

static struct timespec mq_deadline(int64_t timeout_ns);

static size_t mq_max_msg(struct tp_err *why)
{
	int64_t max = host_read_limit(MQ_MSGSIZE_MAX_PATH);
	if (max < 0) {
		tp_fail(why, ENOENT, "the kernel's fs.mqueue.msgsize_max, which cannot be read from "
			MQ_MSGSIZE_MAX_PATH " here");
		return 0;
	}
	tp_fail(why, EMSGSIZE, "the kernel's fs.mqueue.msgsize_max (%lld B); raise it with "
		"sysctl fs.mqueue.msgsize_max=N", (long long)max);
	return (size_t)max;
}

/* Why mq_open(O_CREAT) failed, with the limit that refused it and how to raise it. */
static int mq_create_failed(struct tp_err *err, int code, const struct mq_attr *a)
{
	/* What the kernel charges to RLIMIT_MSGQUEUE per queue: the messages and ~96 B of bookkeeping each. */
	long need = 2 * a->mq_maxmsg * (a->mq_msgsize + 96);
	struct rlimit rl = { 0, 0 };
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	if (code == EMFILE)
		return tp_fail(err, code, "mq: two queues of %ld x %ld B need about %ld B of this user's "
			       "RLIMIT_MSGQUEUE (%llu B here, shared by all the user's queues); raise it "
			       "with ulimit -q, or the open-file limit with ulimit -n",
			       a->mq_maxmsg, a->mq_msgsize, need, (unsigned long long)rl.rlim_cur);
	if (code == ENOSPC)
		return tp_fail(err, code, "mq: the kernel's fs.mqueue.queues_max is reached; remove "
			       "stale queues or raise it with sysctl fs.mqueue.queues_max=N");
	return tp_fail(err, code, "mq: mq_open(O_CREAT, %ld x %ld B) failed: %s", a->mq_maxmsg,
		       a->mq_msgsize, strerror(code));
}

static int mq_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct mq_state *ms = st;
	int64_t msg_max = host_read_limit(MQ_MSG_MAX_PATH);
	int64_t msgsize_max = host_read_limit(MQ_MSGSIZE_MAX_PATH);
	if (msg_max <= 0 || msgsize_max <= 0)
		return tp_fail(err, ENOENT, "mq: cannot read the queue limits from " MQ_MSG_MAX_PATH
			       " and " MQ_MSGSIZE_MAX_PATH);
	/* Root may exceed msgsize_max; the row must not, so every user measures the same limit. */
	if (p->msg_bytes > (uint64_t)msgsize_max)
		return tp_fail(err, EMSGSIZE, "mq: %zu B exceeds the kernel's fs.mqueue.msgsize_max "
			       "(%lld B); raise it with sysctl fs.mqueue.msgsize_max=N", p->msg_bytes,
			       (long long)msgsize_max);
	/* mq_receive refuses a buffer shorter than mq_msgsize, so a queue is exactly one message wide. */
	struct mq_attr a = { .mq_maxmsg = (long)msg_max, .mq_msgsize = (long)p->msg_bytes };
	for (int i = 0; i < 2; i++) {
		char name[64];
		int rc = tp_random_name(name, sizeof(name), "/", "mq");
		if (rc)
			return tp_fail(err, rc, "mq: cannot make a random queue name");
		mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &a);
		if (q == (mqd_t)-1)
			return mq_create_failed(err, errno, &a);
		mq_unlink(name); /* the name was only the way to create it */
		ms->q[i] = q;
		ms->held[i] = 1;
	}
	return 0;
}

/* A descriptor of this side's own (mqd_t is a file descriptor on Linux), so st stays read-only. */
static int mq_take(const struct mq_state *ms, int i, mqd_t *out, const char *what, struct tp_err *err)
{
	*out = ms->held[i] ? fcntl(ms->q[i], F_DUPFD_CLOEXEC, 3) : -1;
	if (*out < 0)
		return tp_fail(err, ms->held[i] ? errno : EBADF, "mq: no queue for %s: %s", what,
			       ms->held[i] ? strerror(errno) : "setup did not make it");
	return 0;
}

static int mq_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		     struct tp_err *err)
{
	const struct mq_state *ms = st;
	struct mq_end *me = end;
	int rc = mq_take(ms, side == TP_SIDE_A ? 0 : 1, &me->tx, "sending", err);
	if (rc)
		return rc;
	rc = mq_take(ms, side == TP_SIDE_A ? 1 : 0, &me->rx, "receiving", err);
	if (rc) {
		mq_close(me->tx);
		return rc;
	}
	me->open = 1;
	me->deadline = mq_deadline(p->timeout_ns);
	return 0;
}

/* The absolute CLOCK_REALTIME instant timeout_ns from now, as mq_timed* want it. */
static struct timespec mq_deadline(int64_t timeout_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ns / 1000000000;
	ts.tv_nsec += timeout_ns % 1000000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/*
 * Blocking timed calls, not a non-blocking try plus a wait: a waiting receiver
 * gets the message handed over by the sender's own system call, so the common
 * ping-pong path is one system call. The absolute deadline those calls want is
 * kept from one call to the next instead of being built from the clock every
 * time: a call that finds it passed renews it and waits once more, so a wait
 * is bounded by twice the timeout and the clock is read once per timeout.
 */
static bool mq_renew(struct mq_end *me, int64_t timeout_ns, bool *renewed)
{
	if (*renewed)
		return false; /* a fresh deadline ran out too: a real timeout */
	me->deadline = mq_deadline(timeout_ns);
	*renewed = true;
	return true;
}

static int mq_send_msg(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct mq_end *me = end;
	bool renewed = false;
	while (sys_mq_timedsend(me->tx, buf, len, 0, &me->deadline) < 0)
		if (errno != EINTR && !(errno == ETIMEDOUT && mq_renew(me, timeout_ns, &renewed)))
			return -errno;
	return 0;
}

static ssize_t mq_recv_msg(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct mq_end *me = end;
	bool renewed = false;
	(void)len;
	for (;;) {
		ssize_t n = sys_mq_timedreceive(me->rx, buf, cap, NULL, &me->deadline);
		if (n >= 0)
			return n;
		if (errno != EINTR && !(errno == ETIMEDOUT && mq_renew(me, timeout_ns, &renewed)))
			return -errno;
	}
}

static void mq_detach(void *end)
{
	struct mq_end *me = end;
	if (!me->open)
		return;
	mq_close(me->tx);
	mq_close(me->rx);
	me->open = 0;
}

static void mq_teardown(void *st)
{
	struct mq_state *ms = st;
	for (int i = 0; i < 2; i++)
		if (ms->held[i]) {
			mq_close(ms->q[i]);
			ms->held[i] = 0;
		}
}

const struct transport_ops mq_ops = {
	.name = "mq",
	.group = "process",
	.summary = "POSIX message queues (mq_open), one per direction, msg_max deep; "
		   "blocking mq_timedsend/mq_timedreceive, one call per wait, the deadline renewed once per -t",
	.flags = TP_BOUNDARIES,
	.patterns = TP_POINT_TO_POINT | TP_FANIN, /* senders share the A-to-B queue, each message whole */
	.copies = 2,
	.state_size = sizeof(struct mq_state),
	.end_size = sizeof(struct mq_end),
	.max_msg = mq_max_msg,
	.setup = mq_setup,
	.attach = mq_attach,
	.send = mq_send_msg,
	.recv = mq_recv_msg,
	.detach = mq_detach,
	.teardown = mq_teardown,
};
