/* pipe-splice: two pipes fed with vmsplice() from the sender's buffer; the receiver read()s. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "../bench/host.h"
#include "fdio.h"
#include "transport.h"

#define PIPE_SPLICE_MAX_PATH "/proc/sys/fs/pipe-max-size"
#define PIPE_SPLICE_MIN_BYTES (64 * 1024) /* the kernel's default pipe size */

/*
 * Without SPLICE_F_GIFT, vmsplice() puts references to the sender's own pages
 * into the pipe: nothing is copied until the reader's read() copies them out.
 * Until then a write to the sender's buffer changes what the reader will get.
 * In pingpong the echo proves the reader consumed the message. A stream
 * sender re-stamps its buffer for the next message at once, so it rotates
 * through n buffers (send_buffers): when it rewrites one, the n - 1 messages
 * sent since lie wholly in the pipe or were read. Each takes at least
 * ceil(len / page) of the pipe's slots (one page reference each, never merged
 * with another), and the pipe holds at most F_GETPIPE_SZ / page slots, taken
 * and freed in order. With (n - 1) x ceil(len / page) >= slots, the older
 * message's pages have all been read. A gift would be wrong here: the sender
 * reuses its pages.
 */

/* pipe_splice_state holds both pipes until each side keeps its two ends. */
struct pipe_splice_state {
	int a_to_b[2]; /* [0] read end (B), [1] write end (A) */
	int b_to_a[2];
	int opened;
};

/* pipe_splice_end is one side's read and write end, and what it needs to size the sender's rotation. */
struct pipe_splice_end {
	int rd;
	int wr;
	size_t msg_bytes;
	size_t pipe_bytes; /* F_GETPIPE_SZ of the pipe this side writes */
};

static void pipe_splice_close_all(struct pipe_splice_state *ps)
{
	if (!ps->opened)
		return;
	for (int i = 0; i < 2; i++) {
		fd_close(&ps->a_to_b[i]);
		fd_close(&ps->b_to_a[i]);
	}
}

/* Room for a whole message where the host allows: one vmsplice() and one read() carry it. */
static void pipe_splice_size(int fd, size_t msg_bytes)
{
	int64_t max = host_read_limit(PIPE_SPLICE_MAX_PATH);
	size_t want = PIPE_SPLICE_MIN_BYTES;
	while (want < msg_bytes && want < ((size_t)1 << 30) && (max < 0 || want * 2 <= (size_t)max))
		want *= 2;
	if (want > PIPE_SPLICE_MIN_BYTES)
		fcntl(fd, F_SETPIPE_SZ, (int)want); /* refused (pipe-user-pages limits): the default works too */
}

static int pipe_splice_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct pipe_splice_state *ps = st;
	ps->a_to_b[0] = ps->a_to_b[1] = ps->b_to_a[0] = ps->b_to_a[1] = -1;
	ps->opened = 1;
	if (pipe2(ps->a_to_b, O_NONBLOCK | O_CLOEXEC) || pipe2(ps->b_to_a, O_NONBLOCK | O_CLOEXEC))
		return tp_fail(err, errno, "pipe-splice: pipe2() failed: %m; raise the open-file limit (ulimit -n)");
	pipe_splice_size(ps->a_to_b[1], p->msg_bytes);
	pipe_splice_size(ps->b_to_a[1], p->msg_bytes);
	return 0;
}

static int pipe_splice_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct pipe_splice_state *ps = st;
	struct pipe_splice_end *pe = end;
	/* Keep our two ends and close the peer's, so its death reads as end of stream. */
	int *mine_rd = side == TP_SIDE_A ? &ps->b_to_a[0] : &ps->a_to_b[0];
	int *mine_wr = side == TP_SIDE_A ? &ps->a_to_b[1] : &ps->b_to_a[1];
	pe->rd = *mine_rd;
	pe->wr = *mine_wr;
	*mine_rd = *mine_wr = -1;
	pipe_splice_close_all(ps);
	pe->msg_bytes = p->msg_bytes;
	int sz = fcntl(pe->wr, F_GETPIPE_SZ);
	if (sz <= 0)
		return tp_fail(err, errno ? errno : EBADF, "pipe-splice: F_GETPIPE_SZ failed: %m");
	pe->pipe_bytes = (size_t)sz;
	int rc = fd_blocking(pe->rd, p);
	if (rc == 0)
		rc = fd_blocking(pe->wr, p);
	return rc ? tp_fail(err, -rc, "pipe-splice: fcntl(F_SETFL) failed: %s", strerror(-rc)) : 0;
}

/* See the comment at the top: enough buffers that the pipe cannot still hold the oldest. */
static unsigned pipe_splice_send_buffers(void *end)
{
	struct pipe_splice_end *pe = end;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t slots = pe->pipe_bytes / page;
	size_t per_msg = pe->msg_bytes > page ? (pe->msg_bytes + page - 1) / page : 1; /* at least this many */
	return (unsigned)((slots + per_msg - 1) / per_msg + 1);
}

static int pipe_splice_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	int fd = ((struct pipe_splice_end *)end)->wr;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	int64_t deadline = 0;
	while (iov.iov_len > 0) {
		ssize_t n = sys_vmsplice(fd, &iov, 1, 0);
		if (n > 0) {
			iov.iov_base = (char *)iov.iov_base + n;
			iov.iov_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			return n == 0 ? -EIO : -errno;
		/* Only a non-blocking pipe says EAGAIN: wait for room until the deadline. */
		if (deadline == 0)
			deadline = now_ns() + timeout_ns;
		int ms = ms_until(deadline);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (ms == 0 || poll(&pfd, 1, ms) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static ssize_t pipe_splice_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct pipe_splice_end *)end)->rd, buf, len, timeout_ns);
}

static void pipe_splice_detach(void *end)
{
	struct pipe_splice_end *pe = end;
	fd_close(&pe->rd);
	fd_close(&pe->wr);
}

static void pipe_splice_teardown(void *st)
{
	pipe_splice_close_all(st);
}

const struct transport_ops pipe_splice_ops = {
	.name = "pipe-splice",
	.group = "process",
	.summary = "two pipes fed with vmsplice() of the sender's pages (no gift; the receiver's read() is the "
		   "one copy), each enlarged with F_SETPIPE_SZ to hold a message, up to fs.pipe-max-size; a "
		   "stream sender rotates buffers so none is rewritten while the pipe holds it; blocking "
		   "vmsplice()/read(), the watchdog bounds them",
	.flags = 0,
	.copies = 1,
	.state_size = sizeof(struct pipe_splice_state),
	.end_size = sizeof(struct pipe_splice_end),
	.setup = pipe_splice_setup,
	.attach = pipe_splice_attach,
	.send = pipe_splice_send,
	.send_buffers = pipe_splice_send_buffers,
	.recv = pipe_splice_recv,
	.detach = pipe_splice_detach,
	.teardown = pipe_splice_teardown,
};
