/* tcp: one TCP connection over 127.0.0.1 (or to a peer host) with TCP_NODELAY; A connects, B accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "transport.h"

/* tcp_state is the listening socket made before the sides exist, and where it listens. */
struct tcp_state {
	int lfd;
	struct sockaddr_storage addr; /* 127.0.0.1 (or B's host) and the port the kernel chose */
	socklen_t addr_len;
	char where[80];               /* the same as text, for reasons */
};

/* tcp_end is one side's connected socket. */
struct tcp_end {
	int fd;
};

/* Side A's host of a run between two hosts listens nowhere: A connects to B's host in attach. */
static int tcp_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct tcp_state *ts = st;
	struct tp_remote *r = p->remote;
	const char *host = r ? r->here : "127.0.0.1";
	ts->lfd = -1;
	if (r && r->side == TP_SIDE_A)
		return 0;
	if (tp_remote_addr(host, 0, &ts->addr, &ts->addr_len))
		return tp_fail(err, EINVAL, "tcp: '%s' is not a numeric address to listen on", host);
	ts->lfd = socket(ts->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ts->lfd < 0)
		return tp_fail(err, errno, "tcp: socket(SOCK_STREAM) failed: %m");
	/* Port 0: the kernel picks a free one, read back below. */
	socklen_t len = ts->addr_len;
	if (bind(ts->lfd, (struct sockaddr *)&ts->addr, ts->addr_len) ||
	    listen(ts->lfd, 1) || getsockname(ts->lfd, (struct sockaddr *)&ts->addr, &len))
		return tp_fail(err, errno, "tcp: listening on %s port 0 failed: %m; is %s up?", host,
			       r ? "that address" : "the loopback interface");
	unsigned port = tp_bound_port(ts->lfd);
	snprintf(ts->where, sizeof(ts->where), "%s:%u", host, port);
	if (r)
		r->port_here = port;
	return 0;
}

/* Side A between two hosts: B's host and port, known once the runner carried B's port_here across. */
static int tcp_peer_addr(struct tcp_state *ts, const struct tp_remote *r, struct tp_err *err)
{
	snprintf(ts->where, sizeof(ts->where), "%s:%u", r->peer, r->port_peer);
	if (!r->port_peer || tp_remote_addr(r->peer, r->port_peer, &ts->addr, &ts->addr_len))
		return tp_fail(err, EINVAL, "tcp: no address to connect to (%s)", ts->where);
	return 0;
}

static int tcp_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		      struct tp_err *err)
{
	struct tcp_state *ts = st;
	struct tcp_end *te = end;
	int one = 1;
	te->fd = -1;
	if (side == TP_SIDE_A) {
		if (p->remote && tcp_peer_addr(ts, p->remote, err))
			return -EINVAL;
		te->fd = socket(ts->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (te->fd < 0)
			return tp_fail(err, errno, "tcp: socket(SOCK_STREAM) failed: %m");
		int rc = fd_connect(te->fd, &ts->addr, ts->addr_len, p->timeout_ns);
		if (rc)
			return tp_fail(err, -rc, "tcp: connect to %s failed: %s", ts->where, strerror(-rc));
	} else {
		te->fd = fd_accept(ts->lfd, p->timeout_ns);
		if (te->fd < 0) {
			int rc = te->fd;
			te->fd = -1;
			return tp_fail(err, -rc, "tcp: accept on %s failed: %s", ts->where, strerror(-rc));
		}
		if (p->remote && !tp_from_host(te->fd, p->remote->peer))
			return tp_fail(err, EACCES, "tcp: the connection to %s came from another host than the "
				       "peer %s", ts->where, p->remote->peer);
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
	.summary = "TCP over 127.0.0.1 (or to --peer), TCP_NODELAY on both ends, default socket buffers; "
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
