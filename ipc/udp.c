/* udp: UDP datagrams over 127.0.0.1 (or to a peer host), two sockets connected to each other. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../bench/host.h"
#include "fdio.h"
#include "transport.h"

#define UDP_MAX_DATAGRAM 65507 /* 65,535 (the IPv4 length field) less the IP and UDP headers */
#define UDP_RMEM_MAX_PATH "/proc/sys/net/core/rmem_max"
/*
 * Loopback UDP has no flow control: a sender that gets ahead fills the
 * receiver's SO_RCVBUF, and the next datagram is dropped. The buffer must hold
 * at least this many datagrams, or a stream of that size is unsupported here.
 */
#define UDP_QUEUE_MIN 32
/*
 * What one queued datagram costs SO_RCVBUF (its skb's truesize), at most:
 * up to 16 KiB the payload sits in one power-of-two slab with ~800 B of
 * bookkeeping (a 4,096 B datagram costs 8,448 B), above it in page fragments
 * (65,507 B cost 66,339 B on Linux 6.18).
 */
#define UDP_LINEAR_MAX 16000
#define UDP_SKB_OVERHEAD 1024

/* udp_state holds both sockets, bound and connected before the sides exist. */
struct udp_state {
	int fd[2]; /* side A's, side B's */
	int opened;
};

/* udp_end is one side's connected socket. */
struct udp_end {
	int fd;
};

static size_t udp_truesize(size_t msg)
{
	return msg > UDP_LINEAR_MAX ? msg + UDP_SKB_OVERHEAD : 2 * msg + UDP_SKB_OVERHEAD;
}

/* The SO_RCVBUF we ask for: net.core.rmem_max (the kernel sets twice the request). */
static int udp_rcvbuf_request(long rmem_max)
{
	return rmem_max > INT_MAX / 2 ? INT_MAX / 2 : (int)rmem_max;
}

static size_t udp_max_msg(struct tp_err *why)
{
	long rmem_max = (long)host_read_limit(UDP_RMEM_MAX_PATH);
	if (rmem_max < 0) {
		tp_fail(why, ENOENT, "what udp can queue: net.core.rmem_max cannot be read from " UDP_RMEM_MAX_PATH);
		return 0;
	}
	size_t room = 2 * (size_t)udp_rcvbuf_request(rmem_max) / UDP_QUEUE_MIN;
	if (udp_truesize(UDP_MAX_DATAGRAM) <= room) {
		tp_fail(why, EMSGSIZE, "the largest UDP datagram over IPv4, %d B (65,535 less the IP and UDP "
			"headers); no setting raises it: use tcp or uds-stream", UDP_MAX_DATAGRAM);
		return UDP_MAX_DATAGRAM;
	}
	size_t per = room > UDP_SKB_OVERHEAD ? room - UDP_SKB_OVERHEAD : 0;
	size_t max = per > UDP_LINEAR_MAX ? per : per / 2;
	tp_fail(why, ENOBUFS, "the largest udp datagram of which SO_RCVBUF (twice net.core.rmem_max=%ld B) queues "
		"%d, %zu B: a stream of longer ones would drop datagrams at once; raise it with sysctl "
		"net.core.rmem_max=%zu", rmem_max, UDP_QUEUE_MIN, max,
		(udp_truesize(UDP_MAX_DATAGRAM) * UDP_QUEUE_MIN + 1) / 2);
	return max;
}

static void udp_close_all(struct udp_state *us)
{
	if (!us->opened)
		return;
	fd_close(&us->fd[0]);
	fd_close(&us->fd[1]);
}

/* As large a receive buffer as net.core.rmem_max allows; only ever raised. */
static void udp_raise_rcvbuf(int fd)
{
	int rcvbuf = udp_rcvbuf_request((long)host_read_limit(UDP_RMEM_MAX_PATH)), now = 0;
	socklen_t len = sizeof(now);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &now, &len);
	if (rcvbuf > now / 2)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

static int udp_check_rcvbuf(int fd, size_t msg_bytes, struct tp_err *err)
{
	int got = 0;
	socklen_t len = sizeof(got);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	if (udp_truesize(msg_bytes) * UDP_QUEUE_MIN > (size_t)got)
		return tp_fail(err, ENOBUFS, "udp: SO_RCVBUF is %d B, too small for %d datagrams of %zu B; "
			       "raise net.core.rmem_max", got, UDP_QUEUE_MIN, msg_bytes);
	return 0;
}

/* Connect this host's one socket to the other host's (whose port the runner carried across). */
static int udp_connect_peer(int fd, const struct tp_remote *r, struct tp_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (!r->port_peer || tp_remote_addr(r->peer, r->port_peer, &ss, &len))
		return tp_fail(err, EINVAL, "udp: no address of the peer to connect to (%s:%u)", r->peer, r->port_peer);
	if (connect(fd, (struct sockaddr *)&ss, len))
		return tp_fail(err, errno, "udp: connect to %s:%u failed: %m", r->peer, r->port_peer);
	return 0;
}

/* Between two hosts: this side's socket only, bound on this host's address; B's host connects it now. */
static int udp_setup_remote(struct udp_state *us, const struct tp_params *p, struct tp_err *err)
{
	struct tp_remote *r = p->remote;
	struct sockaddr_storage ss;
	socklen_t len;
	if (tp_remote_addr(r->here, 0, &ss, &len))
		return tp_fail(err, EINVAL, "udp: '%s' is not a numeric address to bind to", r->here);
	int fd = us->fd[r->side] = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return tp_fail(err, errno, "udp: socket(SOCK_DGRAM) failed: %m");
	if (bind(fd, (struct sockaddr *)&ss, len))
		return tp_fail(err, errno, "udp: bind to %s port 0 failed: %m", r->here);
	r->port_here = tp_bound_port(fd);
	udp_raise_rcvbuf(fd);
	int rc = r->side == TP_SIDE_B ? udp_connect_peer(fd, r, err) : 0;
	return rc ? rc : udp_check_rcvbuf(fd, p->msg_bytes, err);
}

static int udp_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct udp_state *us = st;
	struct sockaddr_in addr[2];
	us->fd[0] = us->fd[1] = -1;
	us->opened = 1;
	if (p->remote)
		return udp_setup_remote(us, p, err);
	for (int i = 0; i < 2; i++) {
		socklen_t len = sizeof(addr[i]);
		addr[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		us->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (us->fd[i] < 0)
			return tp_fail(err, errno, "udp: socket(AF_INET, SOCK_DGRAM) failed: %m");
		/* Port 0: the kernel picks a free one, read back. */
		if (bind(us->fd[i], (struct sockaddr *)&addr[i], sizeof(addr[i])) ||
		    getsockname(us->fd[i], (struct sockaddr *)&addr[i], &len))
			return tp_fail(err, errno, "udp: bind to 127.0.0.1 port 0 failed: %m; is the loopback interface up?");
		udp_raise_rcvbuf(us->fd[i]);
	}
	/* Connected both ways: only the peer may send, and send/recv need no address. */
	for (int i = 0; i < 2; i++)
		if (connect(us->fd[i], (struct sockaddr *)&addr[1 - i], sizeof(addr[1 - i])))
			return tp_fail(err, errno, "udp: connect to 127.0.0.1:%u failed: %m",
				       (unsigned)ntohs(addr[1 - i].sin_port));
	return udp_check_rcvbuf(us->fd[1], p->msg_bytes, err);
}

static int udp_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct udp_state *us = st;
	struct udp_end *ue = end;
	ue->fd = us->fd[side];
	us->fd[side] = -1;
	udp_close_all(us);
	int rc = p->remote && side == TP_SIDE_A ? udp_connect_peer(ue->fd, p->remote, err) : 0;
	if (rc)
		return rc;
	rc = fd_blocking(ue->fd, p);
	return rc ? tp_fail(err, -rc, "udp: blocking waits: %s", strerror(-rc)) : 0;
}

static int udp_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_msg(((struct udp_end *)end)->fd, buf, len, timeout_ns);
}

static ssize_t udp_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)len;
	return fd_recv_msg(((struct udp_end *)end)->fd, buf, cap, timeout_ns);
}

static void udp_detach(void *end)
{
	fd_close(&((struct udp_end *)end)->fd);
}

static void udp_teardown(void *st)
{
	udp_close_all(st);
}

const struct transport_ops udp_ops = {
	.name = "udp",
	.group = "process",
	.summary = "UDP datagrams over 127.0.0.1 (or to --peer), two sockets connected both ways, SO_RCVBUF raised to "
		   "net.core.rmem_max; no flow control: a dropped datagram fails the row as lost; blocking "
		   "send()/recv(), one call per wait; the watchdog bounds them",
	.flags = TP_BOUNDARIES | TP_CROSS_HOST | TP_LOSSY,
	.copies = 2,
	.state_size = sizeof(struct udp_state),
	.end_size = sizeof(struct udp_end),
	.max_msg = udp_max_msg,
	.setup = udp_setup,
	.attach = udp_attach,
	.send = udp_send,
	.recv = udp_recv,
	.detach = udp_detach,
	.teardown = udp_teardown,
};
