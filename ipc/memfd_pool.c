/* memfd-pool: each side's buffers in one memfd, passed once at attach; then only an index crosses a Unix socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fdpass.h"
#include "transport.h"

#define MEMFD_POOL_BYTES ((size_t)4 * 1024 * 1024) /* a pool holds as many buffers as fit in this... */
#define MEMFD_POOL_MIN 2                          /* ...but at least two: one written while one is read */
#define MEMFD_POOL_MAX 64                         /* a bit each in a uint64_t */
#define MEMFD_POOL_ALIGN 64
/* What the receiver of a pool insists on: it cannot shrink under the mapping (a SIGBUS). */
#define MEMFD_POOL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

enum memfd_pool_kind {
	MEMFD_POOL_HELLO = 1, /* at attach: here is my pool (the memfd comes with it) */
	MEMFD_POOL_MSG = 2,   /* a message lies in my buffer index */
	MEMFD_POOL_RET = 3,   /* I am done with your buffer index */
};

/* One record on the socket: all that crosses it after attach. */
struct memfd_pool_rec {
	uint32_t kind;  /* enum memfd_pool_kind */
	uint32_t index; /* MSG, RET: a buffer of the pool of the side that sent the message */
	uint64_t len;   /* MSG: the message's bytes; HELLO: bytes per buffer */
	uint64_t count; /* HELLO: buffers in the pool */
};

/* memfd_pool_state holds both ends of the socket pair until each side keeps its own, and the pools' shape. */
struct memfd_pool_state {
	int fd[2]; /* [TP_SIDE_A], [TP_SIDE_B] */
	int opened;
	size_t buf_bytes;
	unsigned count;
};

/* memfd_pool_end is one side's socket, its own pool (lent to the peer buffer by buffer) and the peer's, read-only. */
struct memfd_pool_end {
	int sock;
	unsigned char *own;
	size_t buf_bytes;
	unsigned count;
	const unsigned char *peer;
	size_t peer_buf_bytes;
	unsigned peer_count;
	uint64_t free; /* bit i: own buffer i is ours to lend (the peer returned it) */
	unsigned lent; /* own buffer lent to the caller, plus one; 0 for none */
	size_t lent_len; /* the length it was lent for */
	unsigned held; /* the peer's buffer being read here, plus one; 0 for none */
	struct memfd_pool_rec queued[MEMFD_POOL_MAX]; /* messages read while waiting for a returned buffer */
	unsigned q_head, q_len;
};

static size_t memfd_pool_bytes(size_t buf_bytes, unsigned count)
{
	return buf_bytes * count;
}

static void memfd_pool_close_all(struct memfd_pool_state *ps)
{
	if (!ps->opened)
		return;
	fd_close(&ps->fd[0]);
	fd_close(&ps->fd[1]);
}

static int memfd_pool_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct memfd_pool_state *ps = st;
	ps->fd[0] = ps->fd[1] = -1;
	ps->opened = 1;
	if (p->msg_bytes > SIZE_MAX / MEMFD_POOL_MAX - MEMFD_POOL_ALIGN)
		return tp_fail(err, EMSGSIZE, "memfd-pool: %zu B buffers do not fit the address space", p->msg_bytes);
	ps->buf_bytes = (p->msg_bytes + MEMFD_POOL_ALIGN - 1) / MEMFD_POOL_ALIGN * MEMFD_POOL_ALIGN;
	size_t n = MEMFD_POOL_BYTES / ps->buf_bytes;
	ps->count = n < MEMFD_POOL_MIN ? MEMFD_POOL_MIN : n > MEMFD_POOL_MAX ? MEMFD_POOL_MAX : (unsigned)n;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ps->fd))
		return tp_fail(err, errno, "memfd-pool: socketpair(AF_UNIX, SOCK_SEQPACKET) failed: %m; "
			       "raise the open-file limit (ulimit -n)");
	return 0;
}

/* This side's pool: allocated now (a full memory is a setup error, not a SIGBUS), sealed against shrinking, passed. */
static int memfd_pool_make(struct memfd_pool_end *pe, const struct memfd_pool_state *ps, struct tp_err *err)
{
	size_t bytes = memfd_pool_bytes(ps->buf_bytes, ps->count);
	int fd = memfd_create("ipcbench-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return tp_fail(err, errno, "memfd-pool: memfd_create failed: %m; needs Linux >= 3.17");
	int rc = posix_fallocate(fd, 0, (off_t)bytes);
	if (rc) {
		close(fd);
		return tp_fail(err, rc, "memfd-pool: cannot allocate a pool of %u x %zu B: %s; free memory or use "
			       "smaller messages", ps->count, ps->buf_bytes, strerror(rc));
	}
	void *map = MAP_FAILED;
	if (fcntl(fd, F_ADD_SEALS, MEMFD_POOL_SEALS) == 0)
		map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = errno;
		close(fd);
		return tp_fail(err, rc, "memfd-pool: sealing or mapping a pool of %zu B failed: %s", bytes, strerror(rc));
	}
	pe->own = map;
	pe->buf_bytes = ps->buf_bytes;
	pe->count = ps->count;
	pe->free = ps->count == 64 ? UINT64_MAX : (UINT64_C(1) << ps->count) - 1;
	struct memfd_pool_rec hello = { .kind = MEMFD_POOL_HELLO, .len = ps->buf_bytes, .count = ps->count };
	rc = fdpass_send(pe->sock, &hello, sizeof(hello), fd);
	close(fd); /* the mapping holds it here, the record there */
	return rc ? tp_fail(err, -rc, "memfd-pool: passing the pool to the peer failed: %s", strerror(-rc)) : 0;
}

/* The peer's pool: mapped read-only once it proves sealed, as large as it says and large enough for a message. */
static int memfd_pool_take_peer(struct memfd_pool_end *pe, const struct tp_params *p, struct tp_err *err)
{
	struct memfd_pool_rec r;
	int fd;
	ssize_t n = fdpass_recv(pe->sock, &r, sizeof(r), &fd);
	if (n <= 0)
		return tp_fail(err, n ? (int)-n : EPIPE, "memfd-pool: the peer's pool did not arrive: %s",
			       n ? strerror((int)-n) : "peer closed the socket");
	struct stat sb;
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
	bool sane = n == sizeof(r) && r.kind == MEMFD_POOL_HELLO && r.count >= 1 && r.count <= MEMFD_POOL_MAX &&
		    r.len >= p->msg_bytes && r.len <= SIZE_MAX / MEMFD_POOL_MAX;
	if (!sane || seals < 0 || (seals & MEMFD_POOL_SEALS) != MEMFD_POOL_SEALS || fstat(fd, &sb) ||
	    (uint64_t)sb.st_size < r.len * r.count) {
		fd_close(&fd);
		return tp_fail(err, EPROTO, "memfd-pool: the peer's pool is not a sealed memfd of the size it claims");
	}
	size_t bytes = memfd_pool_bytes(r.len, (unsigned)r.count);
	void *map = mmap(NULL, bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	int rc = map == MAP_FAILED ? errno : 0;
	close(fd);
	if (rc)
		return tp_fail(err, rc, "memfd-pool: mapping the peer's pool of %zu B failed: %s", bytes, strerror(rc));
	pe->peer = map;
	pe->peer_buf_bytes = r.len;
	pe->peer_count = (unsigned)r.count;
	return 0;
}

static int memfd_pool_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			     struct tp_err *err)
{
	struct memfd_pool_state *ps = st;
	struct memfd_pool_end *pe = end;
	pe->sock = ps->fd[side]; /* keep ours, close the peer's: its death reads as end of stream */
	ps->fd[side] = -1;
	memfd_pool_close_all(ps);
	int rc = fd_blocking(pe->sock, p);
	if (rc)
		return tp_fail(err, -rc, "memfd-pool: blocking waits: %s", strerror(-rc));
	/* Both sides pass first and take second: the socket holds both records, so neither waits for the other. */
	if ((rc = memfd_pool_make(pe, ps, err)))
		return rc;
	return memfd_pool_take_peer(pe, p, err);
}

/* Read one record: a returned buffer is ours again, a message waits in the queue. -EPIPE when the peer closed. */
static int memfd_pool_read(struct memfd_pool_end *pe)
{
	struct memfd_pool_rec r;
	int fd;
	ssize_t n = fdpass_recv(pe->sock, &r, sizeof(r), &fd);
	if (n <= 0)
		return n ? (int)n : -EPIPE;
	if (fd >= 0) {
		close(fd);
		return -EPROTO;
	}
	if (n != sizeof(r))
		return -EPROTO;
	if (r.kind == MEMFD_POOL_RET) {
		uint64_t bit = UINT64_C(1) << (r.index % MEMFD_POOL_MAX);
		if (r.index >= pe->count || (pe->free & bit) || pe->lent == r.index + 1)
			return -EPROTO; /* not a buffer the peer had */
		pe->free |= bit;
		return 0;
	}
	if (r.kind != MEMFD_POOL_MSG || pe->q_len == MEMFD_POOL_MAX)
		return -EPROTO;
	pe->queued[(pe->q_head + pe->q_len++) % MEMFD_POOL_MAX] = r;
	return 0;
}

/* Lend the caller a buffer of our pool; when the peer holds them all, wait (in recv) for one to come back. */
static int memfd_pool_send_loan(void *end, size_t len, int64_t timeout_ns, void **buf)
{
	struct memfd_pool_end *pe = end;
	(void)timeout_ns; /* the watchdog bounds each wait (SO_RCVTIMEO when driven directly) */
	if (pe->lent)
		return -EBUSY;
	if (len == 0 || len > pe->buf_bytes)
		return -EMSGSIZE;
	while (!pe->free) {
		int rc = memfd_pool_read(pe);
		if (rc)
			return rc;
	}
	unsigned i = (unsigned)__builtin_ctzll(pe->free);
	pe->free &= ~(UINT64_C(1) << i);
	pe->lent = i + 1;
	pe->lent_len = len;
	*buf = pe->own + (size_t)i * pe->buf_bytes;
	return 0;
}

static int memfd_pool_send_commit(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct memfd_pool_end *pe = end;
	(void)timeout_ns; /* the socket's SO_SNDTIMEO bounds the send */
	if (!pe->lent || buf != pe->own + (size_t)(pe->lent - 1) * pe->buf_bytes || len == 0 || len > pe->lent_len)
		return -EINVAL;
	struct memfd_pool_rec r = { .kind = MEMFD_POOL_MSG, .index = pe->lent - 1, .len = len };
	pe->lent = 0;
	return fdpass_send(pe->sock, &r, sizeof(r), -1);
}

static ssize_t memfd_pool_recv_loan(void *end, size_t len, int64_t timeout_ns, const void **msg)
{
	struct memfd_pool_end *pe = end;
	(void)len;
	(void)timeout_ns; /* the watchdog bounds each wait (SO_RCVTIMEO when driven directly) */
	if (pe->held)
		return -EBUSY;
	while (!pe->q_len) {
		int rc = memfd_pool_read(pe);
		if (rc)
			return rc == -EPIPE ? 0 : rc;
	}
	struct memfd_pool_rec r = pe->queued[pe->q_head];
	pe->q_head = (pe->q_head + 1) % MEMFD_POOL_MAX;
	pe->q_len--;
	if (r.index >= pe->peer_count || r.len == 0 || r.len > pe->peer_buf_bytes)
		return -EPROTO;
	pe->held = r.index + 1;
	*msg = pe->peer + (size_t)r.index * pe->peer_buf_bytes;
	return (ssize_t)r.len;
}

/* Hand the buffer back to the peer, which may write its next message there. */
static int memfd_pool_recv_release(void *end, const void *msg)
{
	struct memfd_pool_end *pe = end;
	if (!pe->held || msg != pe->peer + (size_t)(pe->held - 1) * pe->peer_buf_bytes)
		return -EINVAL;
	struct memfd_pool_rec r = { .kind = MEMFD_POOL_RET, .index = pe->held - 1 };
	pe->held = 0;
	return fdpass_send(pe->sock, &r, sizeof(r), -1);
}

/* The copying calls, for a caller without loans: the same buffers, copied into and out of. */
static int memfd_pool_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	void *dst = NULL;
	int rc = memfd_pool_send_loan(end, len, timeout_ns, &dst);
	if (rc)
		return rc;
	memcpy(dst, buf, len);
	return memfd_pool_send_commit(end, dst, len, timeout_ns);
}

static ssize_t memfd_pool_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	const void *msg = NULL;
	ssize_t n = memfd_pool_recv_loan(end, len, timeout_ns, &msg);
	if (n <= 0)
		return n;
	if ((size_t)n <= cap)
		memcpy(buf, msg, (size_t)n);
	int rc = memfd_pool_recv_release(end, msg);
	return rc ? rc : (size_t)n <= cap ? n : -EMSGSIZE;
}

static void memfd_pool_detach(void *end)
{
	struct memfd_pool_end *pe = end;
	if (pe->own)
		munmap(pe->own, memfd_pool_bytes(pe->buf_bytes, pe->count));
	if (pe->peer)
		munmap((void *)pe->peer, memfd_pool_bytes(pe->peer_buf_bytes, pe->peer_count));
	pe->own = NULL;
	pe->peer = NULL;
	fd_close(&pe->sock);
}

static void memfd_pool_teardown(void *st)
{
	memfd_pool_close_all(st);
}

const struct transport_ops memfd_pool_ops = {
	.name = "memfd-pool",
	.group = "process",
	.summary = "zero-copy: each side's pool of buffers in one memfd (sealed against resizing), passed once "
		   "with SCM_RIGHTS at attach; then a (buffer, length) record per message over "
		   "socketpair(AF_UNIX, SOCK_SEQPACKET), B checks the message in place and returns the buffer in "
		   "a record of its own; blocking socket calls, the watchdog bounds them; needs Linux "
		   ">= 3.17 (memfd_create, sealing)",
	.flags = TP_BOUNDARIES | TP_ZERO_COPY,
	.copies = 0,
	.state_size = sizeof(struct memfd_pool_state),
	.end_size = sizeof(struct memfd_pool_end),
	.setup = memfd_pool_setup,
	.attach = memfd_pool_attach,
	.send = memfd_pool_send,
	.recv = memfd_pool_recv,
	.send_loan = memfd_pool_send_loan,
	.send_commit = memfd_pool_send_commit,
	.recv_loan = memfd_pool_recv_loan,
	.recv_release = memfd_pool_recv_release,
	.detach = memfd_pool_detach,
	.teardown = memfd_pool_teardown,
};
