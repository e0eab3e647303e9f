/* socketpair: one connected pair of Unix stream sockets, one end per side. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "transport.h"

/* socketpair_state holds both ends until each side keeps its own. */
struct socketpair_state {
	int fd[2]; /* [TP_SIDE_A], [TP_SIDE_B] */
	int opened;
};

/* socketpair_end is one side's socket, used for both directions. */
struct socketpair_end {
	int fd;
};

static void socketpair_close_all(struct socketpair_state *ss)
{
	if (!ss->opened)
		return;
	fd_close(&ss->fd[0]);
	fd_close(&ss->fd[1]);
}

static int socketpair_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct socketpair_state *ss = st;
	(void)p;
	ss->fd[0] = ss->fd[1] = -1;
	ss->opened = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ss->fd))
		return tp_fail(err, errno,
			       "socketpair: socketpair(AF_UNIX, SOCK_STREAM) failed: %m; "
			       "raise the open-file limit (ulimit -n)");
	return 0;
}

static int socketpair_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			     struct tp_err *err)
{
	struct socketpair_state *ss = st;
	struct socketpair_end *se = end;
	/* Keep ours and close the peer's, so its death reads as end of stream. */
	se->fd = ss->fd[side];
	ss->fd[side] = -1;
	socketpair_close_all(ss);
	int rc = fd_blocking(se->fd, p);
	return rc ? tp_fail(err, -rc, "socketpair: blocking waits: %s", strerror(-rc)) : 0;
}

static int socketpair_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_all(((struct socketpair_end *)end)->fd, buf, len, timeout_ns);
}

static ssize_t socketpair_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct socketpair_end *)end)->fd, buf, len, timeout_ns);
}

static void socketpair_detach(void *end)
{
	fd_close(&((struct socketpair_end *)end)->fd);
}

static void socketpair_teardown(void *st)
{
	socketpair_close_all(st);
}

const struct transport_ops socketpair_ops = {
	.name = "socketpair",
	.group = "process",
	.summary = "socketpair(AF_UNIX, SOCK_STREAM), one end per side; default socket buffers; "
		   "blocking socket calls, one call per wait; the watchdog bounds them",
	.flags = 0,
	.copies = 2,
	.state_size = sizeof(struct socketpair_state),
	.end_size = sizeof(struct socketpair_end),
	.setup = socketpair_setup,
	.attach = socketpair_attach,
	.send = socketpair_send,
	.recv = socketpair_recv,
	.detach = socketpair_detach,
	.teardown = socketpair_teardown,
};
