/* uds: Unix domain sockets in the abstract namespace, as stream, datagram and seqpacket kinds. */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdio.h"
#include "names.h"
#include "transport.h"

/*
 * unix_dgram_sendmsg() refuses a message longer than sk_sndbuf - 32 (datagram
 * and seqpacket alike): one message is one socket buffer, charged to the
 * sender until the receiver takes it. The receiver's SO_RCVBUF plays no part.
 */
#define UDS_SNDBUF_SLACK 32

/* uds_state is what the sides meet by: abstract names, and the listener for connected kinds. */
struct uds_state {
	int type; /* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET */
	int lfd;  /* stream, seqpacket: bound to addr[0]; B accepts on it */
	struct sockaddr_un addr[2]; /* datagram: side A's own name in [0], side B's in [1] */
	socklen_t addr_len[2];
};

/* uds_end is one side's connected socket. */
struct uds_end {
	int fd;
};

static const char *uds_kind(int type)
{
	return type == SOCK_STREAM ? "uds-stream" : type == SOCK_DGRAM ? "uds-dgram" : "uds-seqpacket";
}

/* An abstract address: a leading NUL, then a random name; nothing appears on disk. */
static int uds_name(struct sockaddr_un *sa, socklen_t *len)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	int rc = tp_random_name(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "", "uds");
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1));
	return rc;
}

/* net.core.wmem_max, the most SO_SNDBUF may ask for; -1 when unreadable. */
static long uds_wmem_max(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int uds_sndbuf(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len);
	return v;
}

/* Ask for the ceiling; the kernel doubles the request, and reports what it set. */
static int uds_raise_sndbuf(int fd, long wmem_max)
{
	int want = wmem_max > INT_MAX / 2 ? INT_MAX / 2 : (int)wmem_max;
	if (want > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	return uds_sndbuf(fd);
}

/* One probe message: the same small zeroed chunk repeated, so probing 8 MiB touches only chunk bytes. */
struct uds_probe {
	int sv[2];
	char *chunk;
	size_t chunk_bytes;
	struct iovec iov[IOV_MAX];
};

/* Does one len-byte message go from sv[0] to sv[1]? Leaves both empty again. */
static int uds_fits(struct uds_probe *pr, size_t len)
{
	struct msghdr mh = { .msg_iov = pr->iov };
	for (size_t left = len; left > 0; mh.msg_iovlen++) {
		size_t n = left < pr->chunk_bytes ? left : pr->chunk_bytes;
		pr->iov[mh.msg_iovlen] = (struct iovec){ .iov_base = pr->chunk, .iov_len = n };
		left -= n;
	}
	char c;
	if (sendmsg(pr->sv[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		return 0;
	recv(pr->sv[1], &c, 1, MSG_DONTWAIT | MSG_TRUNC); /* discards the rest of the message */
	return 1;
}

/*
 * The largest message of this kind, found by sending it: the SO_SNDBUF rule
 * above is the usual bound, but past about 4 MiB the kernel also cannot
 * allocate the socket buffer, and only a real send tells which bound holds.
 */
static size_t uds_max_msg(int type, struct tp_err *why)
{
	const char *kind = uds_kind(type);
	long wmem_max = uds_wmem_max();
	struct uds_probe pr = { .sv = { -1, -1 } };
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pr.sv)) {
		tp_fail(why, errno, "what %s can probe: socketpair() failed: %m", kind);
		return 0;
	}
	int sndbuf = uds_raise_sndbuf(pr.sv[0], wmem_max);
	size_t by_sndbuf = sndbuf > UDS_SNDBUF_SLACK ? (size_t)sndbuf - UDS_SNDBUF_SLACK : 0;
	pr.chunk_bytes = by_sndbuf / IOV_MAX + 1;
	pr.chunk = calloc(1, pr.chunk_bytes);
	size_t max = 0;
	if (!pr.chunk) {
		tp_fail(why, ENOMEM, "what %s can probe: out of memory", kind);
	} else if (uds_fits(&pr, by_sndbuf) && !uds_fits(&pr, by_sndbuf + 1)) {
		max = by_sndbuf;
		tp_fail(why, EMSGSIZE,
			"the largest %s message this kernel accepts, %zu B (SO_SNDBUF %d less 32 B, "
			"SO_SNDBUF being twice net.core.wmem_max=%ld); raise net.core.wmem_max",
			kind, max, sndbuf, wmem_max);
	} else {
		size_t lo = 0, hi = by_sndbuf + 1; /* lo goes through, hi does not */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			*(uds_fits(&pr, mid) ? &lo : &hi) = mid;
		}
		max = lo;
		tp_fail(why, EMSGSIZE,
			"the largest %s message this kernel accepts, %zu B: the kernel cannot allocate "
			"one larger socket buffer (SO_SNDBUF %d at net.core.wmem_max=%ld is not the "
			"limit); use uds-stream",
			kind, max, sndbuf, wmem_max);
	}
	free(pr.chunk);
	close(pr.sv[0]);
	close(pr.sv[1]);
	return max;
}

static size_t uds_dgram_max_msg(struct tp_err *why)
{
	return uds_max_msg(SOCK_DGRAM, why);
}

static size_t uds_seqpacket_max_msg(struct tp_err *why)
{
	return uds_max_msg(SOCK_SEQPACKET, why);
}

/* Leave the default send buffer alone unless one message does not fit it. */
static int uds_fit_sndbuf(int fd, int type, size_t msg_bytes, struct tp_err *err)
{
	if (type == SOCK_STREAM || msg_bytes + UDS_SNDBUF_SLACK <= (size_t)uds_sndbuf(fd))
		return 0;
	long wmem_max = uds_wmem_max();
	int sndbuf = uds_raise_sndbuf(fd, wmem_max);
	if (msg_bytes + UDS_SNDBUF_SLACK <= (size_t)sndbuf)
		return 0;
	return tp_fail(err, EMSGSIZE, "%s: %zu B does not fit SO_SNDBUF %d (net.core.wmem_max=%ld); "
		       "raise net.core.wmem_max", uds_kind(type), msg_bytes, sndbuf, wmem_max);
}

static int uds_setup(void *st, int type, struct tp_err *err)
{
	struct uds_state *us = st;
	const char *kind = uds_kind(type);
	us->type = type;
	us->lfd = -1;
	if (uds_name(&us->addr[0], &us->addr_len[0]) || uds_name(&us->addr[1], &us->addr_len[1]))
		return tp_fail(err, EIO, "%s: no random name: getrandom() failed", kind);
	if (type == SOCK_DGRAM)
		return 0; /* each side binds its own name in attach */
	us->lfd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (us->lfd < 0)
		return tp_fail(err, errno, "%s: socket(AF_UNIX) failed: %m", kind);
	if (bind(us->lfd, (struct sockaddr *)&us->addr[0], us->addr_len[0]) || listen(us->lfd, 1))
		return tp_fail(err, errno, "%s: listening on @%s failed: %m", kind,
			       us->addr[0].sun_path + 1);
	return 0;
}

static int uds_stream_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	return uds_setup(st, SOCK_STREAM, err);
}

static int uds_dgram_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	return uds_setup(st, SOCK_DGRAM, err);
}

static int uds_seqpacket_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	return uds_setup(st, SOCK_SEQPACKET, err);
}

/* Stream and seqpacket: A connects to the listener, B accepts. */
static int uds_attach_connected(struct uds_state *us, struct uds_end *ue, enum tp_side side,
				const struct tp_params *p, struct tp_err *err)
{
	const char *kind = uds_kind(us->type);
	const char *name = us->addr[0].sun_path + 1;
	if (side == TP_SIDE_B) {
		int fd = fd_accept(us->lfd, p->timeout_ns);
		if (fd < 0)
			return tp_fail(err, -fd, "%s: accept on @%s failed: %s", kind, name, strerror(-fd));
		ue->fd = fd;
		return 0;
	}
	ue->fd = socket(AF_UNIX, us->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ue->fd < 0)
		return tp_fail(err, errno, "%s: socket(AF_UNIX) failed: %m", kind);
	int rc = fd_connect(ue->fd, &us->addr[0], us->addr_len[0], p->timeout_ns);
	if (rc)
		return tp_fail(err, -rc, "%s: connect to @%s failed: %s", kind, name, strerror(-rc));
	return 0;
}

/*
 * Datagram: each side binds its own name and connects to the peer's, so only
 * the peer may send. Connected both ways, the kernel skips the
 * net.unix.max_dgram_qlen check (it holds only while the receiver is not
 * connected back); a full SO_SNDBUF makes send wait (EAGAIN), nothing is dropped.
 */
static int uds_attach_dgram(struct uds_state *us, struct uds_end *ue, enum tp_side side,
			    const struct tp_params *p, struct tp_err *err)
{
	ue->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ue->fd < 0)
		return tp_fail(err, errno, "uds-dgram: socket(AF_UNIX) failed: %m");
	/*
	 * Fanin: the receiver binds and stays unconnected, so every sender may
	 * reach it; the senders, never answered, need no name. Its queue is then
	 * net.unix.max_dgram_qlen deep, and a sender waits while it is full.
	 */
	bool fanin = p->senders > 1;
	if (fanin && side == TP_SIDE_A)
		goto connect;
	if (bind(ue->fd, (struct sockaddr *)&us->addr[side], us->addr_len[side]))
		return tp_fail(err, errno, "uds-dgram: bind to @%s failed: %m", us->addr[side].sun_path + 1);
	if (fanin)
		return 0;
connect:;
	int rc = fd_connect(ue->fd, &us->addr[1 - side], us->addr_len[1 - side], p->timeout_ns);
	if (rc)
		return tp_fail(err, -rc, "uds-dgram: connect to @%s failed: %s",
			       us->addr[1 - side].sun_path + 1, strerror(-rc));
	return 0;
}

static int uds_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		      struct tp_err *err)
{
	struct uds_state *us = st;
	struct uds_end *ue = end;
	ue->fd = -1;
	int rc = us->type == SOCK_DGRAM ? uds_attach_dgram(us, ue, side, p, err)
					: uds_attach_connected(us, ue, side, p, err);
	fd_close(&us->lfd); /* this side's copy: only the runner's stays until teardown */
	if (rc || (rc = uds_fit_sndbuf(ue->fd, us->type, p->msg_bytes, err)))
		return rc;
	if ((rc = fd_blocking(ue->fd, p)))
		return tp_fail(err, -rc, "%s: blocking waits: %s", uds_kind(us->type), strerror(-rc));
	return 0;
}

static int uds_send_stream(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_all(((struct uds_end *)end)->fd, buf, len, timeout_ns);
}

static ssize_t uds_recv_stream(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct uds_end *)end)->fd, buf, len, timeout_ns);
}

static int uds_send_msg(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_msg(((struct uds_end *)end)->fd, buf, len, timeout_ns);
}

static ssize_t uds_recv_msg(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)len;
	return fd_recv_msg(((struct uds_end *)end)->fd, buf, cap, timeout_ns);
}

static void uds_detach(void *end)
{
	fd_close(&((struct uds_end *)end)->fd);
}

static void uds_teardown(void *st)
{
	fd_close(&((struct uds_state *)st)->lfd); /* an abstract name goes with its last socket */
}

#define W_UDS "blocking socket calls, one call per wait; the watchdog bounds them"

const struct transport_ops uds_stream_ops = {
	.name = "uds-stream",
	.group = "process",
	.summary = "Unix domain SOCK_STREAM, abstract name, A connects and B accepts; default socket "
		   "buffers; " W_UDS,
	.flags = 0,
	.copies = 2,
	.state_size = sizeof(struct uds_state),
	.end_size = sizeof(struct uds_end),
	.setup = uds_stream_setup,
	.attach = uds_attach,
	.send = uds_send_stream,
	.recv = uds_recv_stream,
	.detach = uds_detach,
	.teardown = uds_teardown,
};

const struct transport_ops uds_dgram_ops = {
	.name = "uds-dgram",
	.group = "process",
	.summary = "Unix domain SOCK_DGRAM, two abstract names connected both ways; SO_SNDBUF raised to "
		   "net.core.wmem_max only for messages the default does not fit; " W_UDS "; fanin: senders "
		   "into one unconnected receiver",
	.flags = TP_BOUNDARIES,
	.copies = 2,
	.patterns = TP_POINT_TO_POINT | TP_FANIN,
	.state_size = sizeof(struct uds_state),
	.end_size = sizeof(struct uds_end),
	.max_msg = uds_dgram_max_msg,
	.setup = uds_dgram_setup,
	.attach = uds_attach,
	.send = uds_send_msg,
	.recv = uds_recv_msg,
	.detach = uds_detach,
	.teardown = uds_teardown,
};

const struct transport_ops uds_seqpacket_ops = {
	.name = "uds-seqpacket",
	.group = "process",
	.summary = "Unix domain SOCK_SEQPACKET, abstract name, A connects and B accepts; SO_SNDBUF raised "
		   "to net.core.wmem_max only for messages the default does not fit; " W_UDS,
	.flags = TP_BOUNDARIES,
	.copies = 2,
	.state_size = sizeof(struct uds_state),
	.end_size = sizeof(struct uds_end),
	.max_msg = uds_seqpacket_max_msg,
	.setup = uds_seqpacket_setup,
	.attach = uds_attach,
	.send = uds_send_msg,
	.recv = uds_recv_msg,
	.detach = uds_detach,
	.teardown = uds_teardown,
};
