/* zmq: ZeroMQ PAIR sockets over ipc:// (abstract), tcp:// (loopback) and inproc:// (threads). */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../bench/clock.h"
#include "names.h"
#include "transport.h"

/*
 * Functions here are prefixed zmqt_ because zmq_ is libzmq's namespace.
 *
 * Socket type: PAIR on both sides, for both patterns. The runner does not tell
 * a mechanism its pattern, and PAIR is the one type that serves both: one peer,
 * both directions, one frame per message, no routing. REQ/REP (libzmq's
 * perf/local_lat) would add an empty delimiter frame to every message and a
 * lock-step state machine; PUSH/PULL (perf/local_thr) only goes one way.
 *
 * Side B binds, side A connects. B publishes the endpoint it actually bound
 * (ZMQ_LAST_ENDPOINT, which carries the port the kernel chose for
 * tcp://127.0.0.1:*) in a page shared before fork, and A waits for it, so the
 * bind always comes first and no connect falls into libzmq's reconnect delay.
 * No context exists before fork: each process side makes its own in attach,
 * after the runner pinned it, so its I/O thread shares the side's CPU. inproc
 * needs both threads in one context, made in setup by the runner's host
 * thread, which is pinned to side A's CPU.
 */

#define ZMQT_HWM_MSGS 1000             /* libzmq's default, set so a new default cannot move it */
#define ZMQT_QUEUE_BYTES (4u << 20)    /* but never more than this much payload queued per socket */
#define ZMQT_IO_THREADS 1
#define ZMQT_REMOTE_RECONNECT_MS 10    /* between two hosts: how soon A's connect retries while B has not bound */

/* zmqt_rendezvous is where side B publishes the endpoint A connects to. */
struct zmqt_rendezvous {
	_Atomic int bound;
	char endpoint[256];
};

/* zmqt_state is the endpoint to bind, the shared rendezvous and, for inproc only, the context. */
struct zmqt_state {
	char bind_to[128];
	struct zmqt_rendezvous *rv; /* MAP_SHARED, so B's write reaches A's process */
	void *ctx;                  /* inproc: shared by both threads; NULL between processes */
};

/* zmqt_end is one side's socket and, between processes, its own context. */
struct zmqt_end {
	void *ctx; /* owned; NULL when the state's context is used */
	void *sock;
	int64_t timeout_ns; /* what SNDTIMEO/RCVTIMEO are set to */
};

static int zmqt_fail(struct tp_err *err, const char *what)
{
	int e = errno;
	return tp_fail(err, e, "zmq: %s failed: %s", what, zmq_strerror(e));
}

static void *zmqt_context(struct tp_err *err)
{
	void *ctx = zmq_ctx_new();
	if (!ctx) {
		zmqt_fail(err, "zmq_ctx_new");
		return NULL;
	}
	if (zmq_ctx_set(ctx, ZMQ_IO_THREADS, ZMQT_IO_THREADS)) {
		zmqt_fail(err, "zmq_ctx_set(ZMQ_IO_THREADS)");
		zmq_ctx_term(ctx);
		return NULL;
	}
	return ctx;
}

/* Setup shared by the three tables: the bind endpoint and the rendezvous page. */
static int zmqt_setup(struct zmqt_state *zs, const char *lead, struct tp_err *err)
{
	if (lead) {
		int rc = tp_random_name(zs->bind_to, sizeof(zs->bind_to), lead, "zmq");
		if (rc)
			return tp_fail(err, rc, "zmq: cannot make a random endpoint name");
	}
	void *rv = mmap(NULL, sizeof(*zs->rv), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rv == MAP_FAILED)
		return tp_fail(err, errno, "zmq: mmap of the rendezvous page: %m");
	zs->rv = rv;
	return 0;
}

static int zmqt_setup_ipc(void *st, const struct tp_params *p, struct tp_err *err)
{
	(void)p;
	/* '@': the abstract namespace, so no socket file is ever left behind. */
	return zmqt_setup(st, "ipc://@", err);
}

/* "tcp://host:port", IPv6 in brackets. */
static void zmqt_tcp_endpoint(char *buf, size_t len, const char *host, unsigned port)
{
	bool v6 = strchr(host, ':') != NULL;
	snprintf(buf, len, "tcp://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/*
 * Between two hosts B's host names its port before B binds, for the runner to
 * carry across: a port the kernel hands out for a moment and takes back here
 * (a socket that was only bound leaves no TIME_WAIT). A's host binds nothing.
 */
static int zmqt_reserve_port(struct zmqt_state *zs, struct tp_remote *r, struct tp_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (tp_remote_addr(r->here, 0, &ss, &len))
		return tp_fail(err, EINVAL, "zmq: '%s' is not a numeric address to bind to", r->here);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return tp_fail(err, e, "zmq: cannot find a free port on %s: %s", r->here, strerror(e));
	}
	r->port_here = tp_bound_port(fd);
	close(fd);
	zmqt_tcp_endpoint(zs->bind_to, sizeof(zs->bind_to), r->here, r->port_here);
	return 0;
}

static int zmqt_setup_tcp(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct zmqt_state *zs = st;
	snprintf(zs->bind_to, sizeof(zs->bind_to), "tcp://127.0.0.1:*");
	int rc = p->remote && p->remote->side == TP_SIDE_B ? zmqt_reserve_port(zs, p->remote, err) : 0;
	return rc ? rc : zmqt_setup(zs, NULL, err);
}

static int zmqt_setup_inproc(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct zmqt_state *zs = st;
	(void)p;
	int rc = zmqt_setup(zs, "inproc://", err);
	if (rc)
		return rc;
	zs->ctx = zmqt_context(err);
	return zs->ctx ? 0 : -EIO;
}

static int zmqt_set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

static int zmqt_timeouts(struct zmqt_end *ze, int64_t timeout_ns)
{
	int64_t ms = (timeout_ns + 999999) / 1000000;
	int v = ms > INT32_MAX ? INT32_MAX : (int)ms;
	if (zmqt_set_int(ze->sock, ZMQ_SNDTIMEO, v) || zmqt_set_int(ze->sock, ZMQ_RCVTIMEO, v))
		return -1;
	ze->timeout_ns = timeout_ns;
	return 0;
}

/* Wait (bounded) for side B to publish its endpoint. */
static int zmqt_await_bind(const struct zmqt_state *zs, int64_t timeout_ns, struct tp_err *err)
{
	int64_t deadline = now_ns() + timeout_ns;
	const struct timespec nap = { 0, 20000 };
	while (!atomic_load_explicit(&zs->rv->bound, memory_order_acquire)) {
		if (now_ns() > deadline)
			return tp_fail(err, ETIMEDOUT, "zmq: side B did not bind %s within the %lld ms timeout",
				       zs->bind_to, (long long)(timeout_ns / 1000000));
		nanosleep(&nap, NULL);
	}
	return 0;
}

static int zmqt_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		       struct tp_err *err)
{
	struct zmqt_state *zs = st;
	struct zmqt_end *ze = end;
	void *ctx = zs->ctx;
	if (!ctx && !(ctx = ze->ctx = zmqt_context(err)))
		return -EIO;
	/* Fanin: PUSH sockets into one PULL, ZeroMQ's many-to-one; PAIR carries one peer only. */
	int type = p->senders > 1 ? (side == TP_SIDE_B ? ZMQ_PULL : ZMQ_PUSH) : ZMQ_PAIR;
	if (!(ze->sock = zmq_socket(ctx, type)))
		return zmqt_fail(err, "zmq_socket");
	size_t hwm = ZMQT_QUEUE_BYTES / (p->msg_bytes ? p->msg_bytes : 1);
	hwm = hwm > ZMQT_HWM_MSGS ? ZMQT_HWM_MSGS : hwm ? hwm : 1;
	if (zmqt_set_int(ze->sock, ZMQ_LINGER, 0) || zmqt_set_int(ze->sock, ZMQ_SNDHWM, (int)hwm) ||
	    zmqt_set_int(ze->sock, ZMQ_RCVHWM, (int)hwm) || zmqt_timeouts(ze, p->timeout_ns))
		return zmqt_fail(err, "zmq_setsockopt");
	const struct tp_remote *r = p->remote;
	if (r && (zmqt_set_int(ze->sock, ZMQ_IPV6, strchr(r->here, ':') != NULL) ||
		  zmqt_set_int(ze->sock, ZMQ_RECONNECT_IVL, ZMQT_REMOTE_RECONNECT_MS)))
		return zmqt_fail(err, "zmq_setsockopt");
	if (side == TP_SIDE_B) {
		size_t len = sizeof(zs->rv->endpoint);
		if (zmq_bind(ze->sock, zs->bind_to))
			return tp_fail(err, errno, "zmq: zmq_bind(%s) failed: %s", zs->bind_to,
				       zmq_strerror(errno));
		if (zmq_getsockopt(ze->sock, ZMQ_LAST_ENDPOINT, zs->rv->endpoint, &len))
			return zmqt_fail(err, "zmq_getsockopt(ZMQ_LAST_ENDPOINT)");
		atomic_store_explicit(&zs->rv->bound, 1, memory_order_release);
		return 0;
	}
	/* Between two hosts B may bind after A connects: libzmq retries every ZMQT_REMOTE_RECONNECT_MS. */
	if (r)
		zmqt_tcp_endpoint(zs->rv->endpoint, sizeof(zs->rv->endpoint), r->peer, r->port_peer);
	int rc = r ? 0 : zmqt_await_bind(zs, p->timeout_ns, err);
	if (rc)
		return rc;
	if (zmq_connect(ze->sock, zs->rv->endpoint))
		return tp_fail(err, errno, "zmq: zmq_connect(%s) failed: %s", zs->rv->endpoint,
			       zmq_strerror(errno));
	return 0;
}

/* Blocking calls bounded by SNDTIMEO/RCVTIMEO: libzmq reads its clock only when it must wait. */
static int zmqt_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct zmqt_end *ze = end;
	if (timeout_ns != ze->timeout_ns && zmqt_timeouts(ze, timeout_ns))
		return -errno;
	while (zmq_send(ze->sock, buf, len, 0) < 0) {
		if (errno != EINTR)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
	return 0;
}

static ssize_t zmqt_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct zmqt_end *ze = end;
	(void)len;
	if (timeout_ns != ze->timeout_ns && zmqt_timeouts(ze, timeout_ns))
		return -errno;
	for (;;) {
		int n = zmq_recv(ze->sock, buf, cap, 0); /* copies into the caller's buffer */
		if (n >= 0)
			return (size_t)n > cap ? -EMSGSIZE : n; /* n is the whole size when truncated */
		if (errno != EINTR)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

static void zmqt_detach(void *end)
{
	struct zmqt_end *ze = end;
	if (ze->sock)
		zmq_close(ze->sock);
	if (ze->ctx)
		zmq_ctx_term(ze->ctx); /* LINGER 0: returns at once */
	ze->sock = ze->ctx = NULL;
}

static void zmqt_teardown(void *st)
{
	struct zmqt_state *zs = st;
	if (zs->ctx)
		zmq_ctx_term(zs->ctx); /* both sides detached, every socket is closed */
	if (zs->rv)
		munmap(zs->rv, sizeof(*zs->rv));
	zs->ctx = NULL;
	zs->rv = NULL;
}

/* Between processes: user -> message, -> kernel, -> message, -> user. */
const struct transport_ops zmq_ipc_ops = {
	.name = "zmq-ipc",
	.group = "process",
	.summary = "ZeroMQ PAIR/PAIR over ipc://@abstract; 1 I/O thread per side on its CPU; "
		   "HWM min(1000 msgs, 4 MiB); blocking calls with SNDTIMEO/RCVTIMEO",
	.flags = TP_BOUNDARIES,
	.patterns = TP_POINT_TO_POINT | TP_FANIN, /* fanin: PUSH into PULL */
	.copies = 4,
	.state_size = sizeof(struct zmqt_state),
	.end_size = sizeof(struct zmqt_end),
	.setup = zmqt_setup_ipc,
	.attach = zmqt_attach,
	.send = zmqt_send,
	.recv = zmqt_recv,
	.detach = zmqt_detach,
	.teardown = zmqt_teardown,
};

const struct transport_ops zmq_tcp_ops = {
	.name = "zmq-tcp",
	.group = "process",
	.summary = "ZeroMQ PAIR/PAIR over tcp://127.0.0.1 or to --peer (TCP_NODELAY); 1 I/O thread per side on its "
		   "CPU; HWM min(1000 msgs, 4 MiB); blocking calls with SNDTIMEO/RCVTIMEO",
	.flags = TP_BOUNDARIES | TP_CROSS_HOST,
	.patterns = TP_POINT_TO_POINT | TP_FANIN, /* fanin: PUSH into PULL */
	.copies = 4,
	.state_size = sizeof(struct zmqt_state),
	.end_size = sizeof(struct zmqt_end),
	.setup = zmqt_setup_tcp,
	.attach = zmqt_attach,
	.send = zmqt_send,
	.recv = zmqt_recv,
	.detach = zmqt_detach,
	.teardown = zmqt_teardown,
};

/* Between threads the message itself crosses: user -> message -> user. */
const struct transport_ops zmq_inproc_ops = {
	.name = "zmq-inproc",
	.group = "thread",
	.summary = "ZeroMQ PAIR/PAIR over inproc:// between two threads, one context (1 I/O thread, "
		   "idle for inproc); HWM min(1000 msgs, 4 MiB); blocking calls with SNDTIMEO/RCVTIMEO",
	.flags = TP_BOUNDARIES,
	.copies = 2,
	.state_size = sizeof(struct zmqt_state),
	.end_size = sizeof(struct zmqt_end),
	.setup = zmqt_setup_inproc,
	.attach = zmqt_attach,
	.send = zmqt_send,
	.recv = zmqt_recv,
	.detach = zmqt_detach,
	.teardown = zmqt_teardown,
};
