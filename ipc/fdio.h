/* Sending and receiving over file descriptors with a deadline: shared by every fd-based mechanism. */
#ifndef IPCBENCH_FDIO_H
#define IPCBENCH_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sys_inline.h"
#include "transport.h"

/*
 * In the steady state an fd is blocking and each wait is the one system call a
 * plain program makes (fd_blocking). Under the runner (tp_params.watched) it
 * blocks plainly, a socket as a pipe, and the runner's watchdog ends a side
 * that makes no progress within the timeout; driven directly, a socket bounds
 * each wait with SO_RCVTIMEO and SO_SNDTIMEO instead. During setup an fd may
 * still be non-blocking: then a call that would block waits in poll() until
 * the deadline, computed only when there is something to wait for.
 * timeout_ns bounds the whole call either way (for a blocking socket driven
 * directly, each wait; otherwise, the watchdog).
 */

/**
 * Make fd blocking for the timed loop. A socket driven directly (p->watched
 * false) also gets SO_RCVTIMEO and SO_SNDTIMEO of p->timeout_ns, so its waits
 * stay bounded without a watchdog. 0 or -errno.
 */
int fd_blocking(int fd, const struct tp_params *p);

/*
 * The per-message calls. Each makes its system calls inline (sys_inline.h)
 * and leaves the rest (EINTR, a wait, an error) to a function in fdio.c, so
 * that a mechanism's send or receive is the one frame between the timed loop
 * and the kernel. sys_inline.h says why that matters.
 */

/* The slow paths: carry on after done bytes moved and a call returned last (errno intact when it is -1). */
int fd_send_all_rest(int fd, const void *buf, size_t len, size_t done, ssize_t last, int64_t timeout_ns);
ssize_t fd_recv_all_rest(int fd, void *buf, size_t len, size_t done, ssize_t last, int64_t timeout_ns);
int fd_send_msg_rest(int fd, const void *buf, size_t len, ssize_t last, int64_t timeout_ns);
ssize_t fd_recv_msg_rest(int fd, void *buf, size_t cap, ssize_t last, int64_t timeout_ns);

/** Write all len bytes (stream fds). 0, -ETIMEDOUT, -EPIPE or -errno. */
static inline int fd_send_all(int fd, const void *buf, size_t len, int64_t timeout_ns)
{
	for (size_t done = 0;;) {
		ssize_t n = sys_write(fd, (const char *)buf + done, len - done);
		if (n <= 0)
			return fd_send_all_rest(fd, buf, len, done, n, timeout_ns);
		if ((done += (size_t)n) >= len)
			return 0;
	}
}

/** Read exactly len bytes (stream fds). len, 0 at end of stream, -ETIMEDOUT or -errno. */
static inline ssize_t fd_recv_all(int fd, void *buf, size_t len, int64_t timeout_ns)
{
	for (size_t done = 0;;) {
		ssize_t n = sys_read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return fd_recv_all_rest(fd, buf, len, done, n, timeout_ns);
		if ((done += (size_t)n) >= len)
			return (ssize_t)done;
	}
}

/** Send one datagram or record (message fds). 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE or -errno. */
static inline int fd_send_msg(int fd, const void *buf, size_t len, int64_t timeout_ns)
{
	ssize_t n = sys_send(fd, buf, len, MSG_NOSIGNAL);
	return n == (ssize_t)len ? 0 : fd_send_msg_rest(fd, buf, len, n, timeout_ns);
}

/** Receive one datagram or record of up to cap bytes. Its length, 0 when the peer closed,
 *  -ETIMEDOUT or -errno. A record longer than cap is reported as -EMSGSIZE. */
static inline ssize_t fd_recv_msg(int fd, void *buf, size_t cap, int64_t timeout_ns)
{
	ssize_t n = sys_recv(fd, buf, cap, MSG_TRUNC);
	return n >= 0 && n <= (ssize_t)cap ? n : fd_recv_msg_rest(fd, buf, cap, n, timeout_ns);
}

/** Accept one connection on a listening fd, waiting at most timeout_ns. The new fd is
 *  non-blocking and close-on-exec. The fd, -ETIMEDOUT or -errno. */
int fd_accept(int lfd, int64_t timeout_ns);

/** Connect a non-blocking socket, waiting at most timeout_ns in all. Retries while the
 *  address has nobody behind it yet (ECONNREFUSED, ENOENT, EAGAIN: a datagram peer that
 *  has not bound, a full backlog), so two sides may start in any order. 0, -ETIMEDOUT
 *  or -errno. */
int fd_connect(int fd, const void *addr, unsigned addr_len, int64_t timeout_ns);

/** Wait until fd has events (poll() events) or the absolute CLOCK_MONOTONIC deadline_ns
 *  passes. 0 (ready, or hung up: the next call says which), -ETIMEDOUT, -EPIPE or -EBADF
 *  (an error on fd), or -errno. A signal ends the wait with -EINTR when signal_ends (a
 *  server that stops on SIGINT); otherwise the wait goes on. */
int fd_wait(int fd, short events, int64_t deadline_ns, bool signal_ends);

/** Make fd non-blocking and close-on-exec. 0 or -errno. */
int fd_nonblock(int fd);

/** Close *fd if open and mark it closed (-1). Safe on zeroed state only when *fd was set to -1 or a real fd. */
void fd_close(int *fd);

#endif
