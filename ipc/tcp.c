/* tcp: one TCP connection over 127.0.0.1 with TCP_NODELAY; A connects, B accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "transport.h"

/* tcp_state is the listening socket made before the sides exist, and where it listens. */
struct tcp_state {
	int lfd;
	struct sockaddr_in addr; /* 127.0.0.1 and the port the kernel chose */
};

/* tcp_end is one side's connected socket. */
struct tcp_end {
	int fd;
};

static int tcp_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct tcp_state *ts = st;
	socklen_t len = sizeof(ts->addr);
	(void)p;
	ts->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ts->lfd < 0)
		return tp_fail(err, errno, "tcp: socket(AF_INET, SOCK_STREAM) failed: %m");
	ts->addr = (struct sockaddr_in){ .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	/* Port 0: the kernel picks a free one, read back below. */
	if (bind(ts->lfd, (struct sockaddr *)&ts->addr, sizeof(ts->addr)) ||
	    listen(ts->lfd, 1) || getsockname(ts->lfd, (struct sockaddr *)&ts->addr, &len))
		return tp_fail(err, errno, "tcp: listening on 127.0.0.1 port 0 failed: %m; "
			       "is the loopback interface up?");
	return 0;
}

static int tcp_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		      struct tp_err *err)
{
	struct tcp_state *ts = st;
	struct tcp_end *te = end;
	unsigned port = ntohs(ts->addr.sin_port);
	int one = 1;
	if (side == TP_SIDE_A) {
		te->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (te->fd < 0)
			return tp_fail(err, errno, "tcp: socket(AF_INET, SOCK_STREAM) failed: %m");
		int rc = fd_connect(te->fd, &ts->addr, sizeof(ts->addr), p->timeout_ns);
		if (rc)
			return tp_fail(err, -rc, "tcp: connect to 127.0.0.1:%u failed: %s", port,
				       strerror(-rc));
	} else {
		te->fd = fd_accept(ts->lfd, p->timeout_ns);
		if (te->fd < 0) {
			int rc = te->fd;
			te->fd = -1;
			return tp_fail(err, -rc, "tcp: accept on 127.0.0.1:%u failed: %s", port,
				       strerror(-rc));
		}
	}
	fd_close(&ts->lfd); /* this side's copy: only the runner's stays until teardown */
	/* Without it a small echo waits for the peer's delayed ACK (Nagle). */
	if (setsockopt(te->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return tp_fail(err, errno, "tcp: setsockopt(TCP_NODELAY) failed: %m");
	int rc = fd_blocking(te->fd, p);
	return rc ? tp_fail(err, -rc, "tcp: blocking waits: %s", strerror(-rc)) : 0;
}

static int tcp_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_all(((struct tcp_end *)end)->fd, buf, len, timeout_ns);
}

static ssize_t tcp_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct tcp_end *)end)->fd, buf, len, timeout_ns);
}

static void tcp_detach(void *end)
{
	fd_close(&((struct tcp_end *)end)->fd);
}

static void tcp_teardown(void *st)
{
	fd_close(&((struct tcp_state *)st)->lfd);
}

const struct transport_ops tcp_ops = {
	.name = "tcp",
	.group = "process",
	.summary = "TCP over 127.0.0.1, TCP_NODELAY on both ends, default socket buffers; "
		   "blocking socket calls, one call per wait; the watchdog bounds them",
	.flags = TP_CROSS_HOST,
	.copies = 2,
	.state_size = sizeof(struct tcp_state),
	.end_size = sizeof(struct tcp_end),
	.setup = tcp_setup,
	.attach = tcp_attach,
	.send = tcp_send,
	.recv = tcp_recv,
	.detach = tcp_detach,
	.teardown = tcp_teardown,
};
