/* Sending and receiving over file descriptors with a deadline: shared by every fd-based mechanism. */
#ifndef IPCBENCH_FDIO_H
#define IPCBENCH_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/** Write all len bytes (stream fds). 0, -ETIMEDOUT, -EPIPE or -errno. */
int fd_send_all(int fd, const void *buf, size_t len, int64_t timeout_ns);

/** Read exactly len bytes (stream fds). len, 0 at end of stream, -ETIMEDOUT or -errno. */
ssize_t fd_recv_all(int fd, void *buf, size_t len, int64_t timeout_ns);

/** Send one datagram or record (message fds). 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE or -errno. */
int fd_send_msg(int fd, const void *buf, size_t len, int64_t timeout_ns);

/** Receive one datagram or record of up to cap bytes. Its length, 0 when the peer closed,
 *  -ETIMEDOUT or -errno. A record longer than cap is reported as -EMSGSIZE. */
ssize_t fd_recv_msg(int fd, void *buf, size_t cap, int64_t timeout_ns);

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
