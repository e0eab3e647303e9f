/* memfd: each message in a sealed memfd of its own, passed over a Unix socket; the receiver maps it and checks it there. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "fdpass.h"
#include "transport.h"

/* What a receiver insists on before it maps a message: nobody can change or resize it any more. */
#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* memfd_state holds both ends of the socket pair until each side keeps its own. */
struct memfd_state {
	int fd[2]; /* [TP_SIDE_A], [TP_SIDE_B] */
	int opened;
};

/* memfd_end is one side's socket, the memfd it lent for the next message, and the message it is reading. */
struct memfd_end {
	int sock;
	int tx_fd;         /* the lent memfd; valid while tx_map is set */
	void *tx_map;      /* its read-write mapping, lent to the caller */
	size_t tx_len;
	const void *rx_map; /* the message received last, mapped read-only until released */
	size_t rx_len;
};

/* The record that carries the descriptor; the length doubles as a check of the memfd's size. */
struct memfd_rec {
	uint64_t len;
};

static void memfd_close_all(struct memfd_state *ms)
{
	if (!ms->opened)
		return;
	fd_close(&ms->fd[0]);
	fd_close(&ms->fd[1]);
}

static int memfd_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct memfd_state *ms = st;
	(void)p;
	ms->fd[0] = ms->fd[1] = -1;
	ms->opened = 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ms->fd))
		return tp_fail(err, errno, "memfd: socketpair(AF_UNIX, SOCK_SEQPACKET) failed: %m; "
			       "raise the open-file limit (ulimit -n)");
	return 0;
}

static int memfd_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct memfd_state *ms = st;
	struct memfd_end *me = end;
	me->tx_fd = -1;
	me->sock = ms->fd[side]; /* keep ours, close the peer's: its death reads as end of stream */
	ms->fd[side] = -1;
	memfd_close_all(ms);
	int rc = fd_blocking(me->sock, p);
	return rc ? tp_fail(err, -rc, "memfd: blocking waits: %s", strerror(-rc)) : 0;
}

/* A fresh memfd of len bytes, mapped for writing; its pages are allocated now (MAP_POPULATE). */
static int memfd_send_loan(void *end, size_t len, int64_t timeout_ns, void **buf)
{
	struct memfd_end *me = end;
	(void)timeout_ns;
	if (me->tx_map)
		return -EBUSY;
	int fd = memfd_create("ipcbench-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	void *map = MAP_FAILED;
	if (ftruncate(fd, (off_t)len) == 0)
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	me->tx_fd = fd;
	me->tx_map = map;
	me->tx_len = len;
	*buf = map;
	return 0;
}

/* Unmap, seal (F_SEAL_WRITE needs no writable mapping left), pass the descriptor, close ours. */
static int memfd_send_commit(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct memfd_end *me = end;
	(void)timeout_ns; /* the socket's SO_SNDTIMEO bounds the send */
	if (!me->tx_map || buf != me->tx_map || len == 0 || len > me->tx_len)
		return -EINVAL;
	munmap(me->tx_map, me->tx_len);
	me->tx_map = NULL;
	int rc = 0;
	if ((len < me->tx_len && ftruncate(me->tx_fd, (off_t)len)) || fcntl(me->tx_fd, F_ADD_SEALS, MEMFD_SEALS) < 0) {
		rc = -errno;
	} else {
		struct memfd_rec r = { .len = len };
		rc = fdpass_send(me->sock, &r, sizeof(r), me->tx_fd);
	}
	fd_close(&me->tx_fd);
	return rc;
}

/* Take the next memfd; map it read-only once it proves sealed and of the size its record says. */
static ssize_t memfd_recv_loan(void *end, size_t len, int64_t timeout_ns, const void **msg)
{
	struct memfd_end *me = end;
	(void)len;
	(void)timeout_ns; /* the watchdog bounds the wait (SO_RCVTIMEO when driven directly) */
	if (me->rx_map)
		return -EBUSY;
	struct memfd_rec r;
	int fd;
	ssize_t n = fdpass_recv(me->sock, &r, sizeof(r), &fd);
	if (n <= 0)
		return n;
	struct stat sb;
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
	if (n != sizeof(r) || seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS || fstat(fd, &sb) ||
	    r.len == 0 || (uint64_t)sb.st_size != r.len || r.len > SSIZE_MAX) {
		fd_close(&fd);
		return -EPROTO;
	}
	void *map = mmap(NULL, r.len, PROT_READ, MAP_SHARED, fd, 0);
	int rc = map == MAP_FAILED ? -errno : 0;
	close(fd); /* the mapping holds the memfd */
	if (rc)
		return rc;
	me->rx_map = map;
	me->rx_len = r.len;
	*msg = map;
	return (ssize_t)r.len;
}

static int memfd_recv_release(void *end, const void *msg)
{
	struct memfd_end *me = end;
	if (!me->rx_map || msg != me->rx_map)
		return -EINVAL;
	munmap((void *)me->rx_map, me->rx_len);
	me->rx_map = NULL;
	return 0;
}

/* The copying calls, for a caller without loans: the same memfd per message, copied in and out. */
static int memfd_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	void *dst = NULL;
	int rc = memfd_send_loan(end, len, timeout_ns, &dst);
	if (rc)
		return rc;
	memcpy(dst, buf, len);
	return memfd_send_commit(end, dst, len, timeout_ns);
}

static ssize_t memfd_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	const void *msg = NULL;
	ssize_t n = memfd_recv_loan(end, len, timeout_ns, &msg);
	if (n <= 0)
		return n;
	if ((size_t)n <= cap)
		memcpy(buf, msg, (size_t)n);
	int rc = memfd_recv_release(end, msg);
	return rc ? rc : (size_t)n <= cap ? n : -EMSGSIZE;
}

static void memfd_detach(void *end)
{
	struct memfd_end *me = end;
	if (me->tx_map)
		munmap(me->tx_map, me->tx_len);
	if (me->rx_map)
		munmap((void *)me->rx_map, me->rx_len);
	me->tx_map = NULL;
	me->rx_map = NULL;
	fd_close(&me->tx_fd);
	fd_close(&me->sock);
}

static void memfd_teardown(void *st)
{
	memfd_close_all(st);
}

const struct transport_ops memfd_ops = {
	.name = "memfd",
	.group = "process",
	.summary = "zero-copy: each message in a memfd of its own (memfd_create, sealed against writing and "
		   "resizing), its fd passed with SCM_RIGHTS over socketpair(AF_UNIX, SOCK_SEQPACKET); B maps it "
		   "read-only and checks it in place; pays an fd pass and an mmap per message; blocking socket "
		   "calls, the watchdog bounds them; needs Linux >= 3.17 (memfd_create, sealing)",
	.flags = TP_BOUNDARIES | TP_ZERO_COPY,
	.copies = 0,
	.state_size = sizeof(struct memfd_state),
	.end_size = sizeof(struct memfd_end),
	.setup = memfd_setup,
	.attach = memfd_attach,
	.send = memfd_send,
	.recv = memfd_recv,
	.send_loan = memfd_send_loan,
	.send_commit = memfd_send_commit,
	.recv_loan = memfd_recv_loan,
	.recv_release = memfd_recv_release,
	.detach = memfd_detach,
	.teardown = memfd_teardown,
};
