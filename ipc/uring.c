/* uring: a Unix stream socketpair driven through io_uring, one submission per send and per receive. */
#include <errno.h>
#include <liburing.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "../bench/host.h"
#include "fdio.h"
#include "transport.h"

/* Valgrind cannot see the kernel write a receive's bytes through io_uring: tell it. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#endif

#define URING_DISABLED_PATH "/proc/sys/kernel/io_uring_disabled" /* Linux 6.6+ */
#define URING_ENTRIES 4
#define URING_OP 1      /* user_data of the send or receive */
#define URING_TIMEOUT 2 /* user_data of the timeout linked to it */

/* uring_state holds the socketpair until each side keeps its end. */
struct uring_state {
	int sv[2]; /* side A's, side B's */
	int opened;
};

/* uring_end is one side's socket and its own ring (rings are not shared across fork). */
struct uring_end {
	int fd;
	int ring_ok;
	struct io_uring ring;
	struct __kernel_timespec ts; /* the linked timeout; the kernel reads it at submission */
};

/* Why io_uring is unavailable, from the errno io_uring_setup() gave. */
static int uring_unavailable(struct tp_err *why, int code, const char *what)
{
	int64_t disabled = host_read_limit(URING_DISABLED_PATH);
	if (disabled > 0)
		return tp_fail(why, code, "%s: io_uring is disabled by kernel.io_uring_disabled=%lld%s; "
			       "sysctl kernel.io_uring_disabled=0", what, (long long)disabled,
			       disabled == 1 ? " (only members of kernel.io_uring_group may use it)" : "");
	if (code == ENOSYS)
		return tp_fail(why, code, "%s: this kernel has no io_uring (Linux 5.6+ with CONFIG_IO_URING)", what);
	return tp_fail(why, code, "%s: io_uring_setup() failed: %s (a seccomp filter, or before Linux 5.12 "
		       "the locked-memory limit: ulimit -l)", what, strerror(code));
}

static size_t uring_max_msg(struct tp_err *why)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(URING_ENTRIES, &ring, 0);
	if (rc == 0) {
		io_uring_queue_exit(&ring);
		return SIZE_MAX;
	}
	uring_unavailable(why, -rc, "what uring can carry here, none");
	return 0;
}

static void uring_close_all(struct uring_state *us)
{
	if (!us->opened)
		return;
	fd_close(&us->sv[0]);
	fd_close(&us->sv[1]);
}

static int uring_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct uring_state *us = st;
	(void)p;
	us->sv[0] = us->sv[1] = -1;
	us->opened = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, us->sv))
		return tp_fail(err, errno, "uring: socketpair(AF_UNIX, SOCK_STREAM) failed: %m");
	return 0;
}

static int uring_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct uring_state *us = st;
	struct uring_end *ue = end;
	(void)p;
	ue->fd = us->sv[side];
	us->sv[side] = -1;
	uring_close_all(us); /* the peer's end: its death reads as end of stream */
	int rc = io_uring_queue_init(URING_ENTRIES, &ue->ring, 0);
	if (rc)
		return uring_unavailable(err, -rc, "uring");
	ue->ring_ok = 1;
	return 0;
}

/*
 * Submit the prepared operation with a timeout linked to it, in one
 * io_uring_enter(), and reap both completions: when the timeout fires the
 * kernel cancels the operation, so none is left running on our buffer.
 * Returns the operation's result.
 */
static int uring_run(struct uring_end *ue, struct io_uring_sqe *op, int64_t timeout_ns)
{
	io_uring_sqe_set_data64(op, URING_OP);
	op->flags |= IOSQE_IO_LINK;
	struct io_uring_sqe *t = io_uring_get_sqe(&ue->ring);
	ue->ts = (struct __kernel_timespec){ .tv_sec = timeout_ns / NS_PER_S, .tv_nsec = timeout_ns % NS_PER_S };
	io_uring_prep_link_timeout(t, &ue->ts, 0);
	io_uring_sqe_set_data64(t, URING_TIMEOUT);
	int rc = io_uring_submit_and_wait(&ue->ring, 2);
	if (rc < 0 && rc != -EINTR)
		return rc;
	int res = -EIO;
	for (int seen = 0; seen < 2;) {
		struct io_uring_cqe *cqe;
		rc = io_uring_wait_cqe(&ue->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc)
			return rc;
		if (io_uring_cqe_get_data64(cqe) == URING_OP)
			res = cqe->res;
		io_uring_cqe_seen(&ue->ring, cqe);
		seen++;
	}
	return res == -ECANCELED ? -ETIMEDOUT : res;
}

static int uring_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct uring_end *ue = end;
	/* MSG_WAITALL: the kernel retries a short send itself (Linux 5.19+); before that, this loops. */
	for (size_t sent = 0; sent < len;) {
		struct io_uring_sqe *op = io_uring_get_sqe(&ue->ring);
		io_uring_prep_send(op, ue->fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL | MSG_WAITALL);
		int n = uring_run(ue, op, timeout_ns);
		if (n <= 0)
			return n ? n : -EPIPE;
		sent += (size_t)n;
	}
	return 0;
}

static ssize_t uring_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct uring_end *ue = end;
	(void)cap;
	for (size_t got = 0; got < len;) {
		struct io_uring_sqe *op = io_uring_get_sqe(&ue->ring);
		io_uring_prep_recv(op, ue->fd, (char *)buf + got, len - got, MSG_WAITALL);
		int n = uring_run(ue, op, timeout_ns);
		if (n <= 0)
			return n; /* 0: end of stream, the peer is gone */
		VALGRIND_MAKE_MEM_DEFINED((char *)buf + got, (size_t)n);
		got += (size_t)n;
	}
	return (ssize_t)len;
}

static void uring_detach(void *end)
{
	struct uring_end *ue = end;
	if (ue->ring_ok)
		io_uring_queue_exit(&ue->ring);
	ue->ring_ok = 0;
	fd_close(&ue->fd);
}

static void uring_teardown(void *st)
{
	uring_close_all(st);
}

const struct transport_ops uring_ops = {
	.name = "uring",
	.group = "process",
	.summary = "Unix SOCK_STREAM socketpair through io_uring (liburing): one io_uring_enter() per send or "
		   "receive, IORING_OP_SEND/RECV with MSG_WAITALL and a linked timeout of -t; needs Linux 5.6+ "
		   "and kernel.io_uring_disabled=0",
	.flags = 0,
	.copies = 2,
	.state_size = sizeof(struct uring_state),
	.end_size = sizeof(struct uring_end),
	.max_msg = uring_max_msg,
	.setup = uring_setup,
	.attach = uring_attach,
	.send = uring_send,
	.recv = uring_recv,
	.detach = uring_detach,
	.teardown = uring_teardown,
};
