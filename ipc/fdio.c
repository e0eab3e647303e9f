/* Deadline-bounded fd I/O: the slow paths of fdio.h's per-message calls, and setup's accept and connect. */
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../bench/clock.h"

int fd_wait(int fd, short events, int64_t deadline_ns, bool signal_ends)
{
	for (;;) {
		int ms = ms_until(deadline_ns);
		if (ms == 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, ms);
		if (n > 0) {
			if ((p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events))
				return (p.revents & POLLNVAL) ? -EBADF : -EPIPE;
			return 0; /* readable, writable, or hung up: the next call says which */
		}
		if (n < 0 && (errno != EINTR || signal_ends))
			return -errno;
	}
}

/* Wait for events on fd until *deadline (computed here on the first wait). */
static int poll_fd(int fd, short events, int64_t timeout_ns, int64_t *deadline)
{
	if (*deadline == 0)
		*deadline = now_ns() + timeout_ns;
	return fd_wait(fd, events, *deadline, false);
}

/*
 * The call said EAGAIN. On a blocking socket that is its SO_RCVTIMEO or
 * SO_SNDTIMEO running out: the wait is over. On a non-blocking fd (setup),
 * wait in poll(). Off the hot path: one fcntl to tell which.
 */
static int wait_fd(int fd, short events, int64_t timeout_ns, int64_t *deadline)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		return -ETIMEDOUT;
	return poll_fd(fd, events, timeout_ns, deadline);
}

int fd_blocking(int fd, const struct tp_params *p)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	int type;
	socklen_t len = sizeof(type);
	if (p->watched || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return p->watched || errno == ENOTSOCK ? 0 : -errno; /* the watchdog bounds it */
	int64_t timeout_ns = p->timeout_ns;
	struct timeval tv = { .tv_sec = timeout_ns / 1000000000, .tv_usec = timeout_ns % 1000000000 / 1000 };
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1; /* zero would mean no timeout at all */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int fd_send_all_rest(int fd, const void *buf, size_t len, size_t done, ssize_t last, int64_t timeout_ns)
{
	const char *p = buf;
	int64_t deadline = 0;
	if (done >= len) /* nothing to write: a write of 0 bytes returns 0 */
		return 0;
	for (ssize_t n = last;; n = sys_write(fd, p + done, len - done)) {
		if (n > 0) {
			if ((done += (size_t)n) >= len)
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, timeout_ns, &deadline);
		if (rc)
			return rc;
	}
}

ssize_t fd_recv_all_rest(int fd, void *buf, size_t len, size_t done, ssize_t last, int64_t timeout_ns)
{
	char *p = buf;
	int64_t deadline = 0;
	for (ssize_t n = last;; n = sys_read(fd, p + done, len - done)) {
		if (n > 0) {
			if ((done += (size_t)n) >= len)
				return (ssize_t)done;
			continue;
		}
		if (n == 0)
			return 0; /* end of stream mid-message is as good as none */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = wait_fd(fd, POLLIN, timeout_ns, &deadline);
		if (rc)
			return rc;
	}
}

int fd_send_msg_rest(int fd, const void *buf, size_t len, ssize_t last, int64_t timeout_ns)
{
	int64_t deadline = 0;
	for (ssize_t n = last;; n = sys_send(fd, buf, len, MSG_NOSIGNAL)) {
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EMSGSIZE; /* a record is never sent in part */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != ENOBUFS)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, timeout_ns, &deadline);
		if (rc)
			return rc;
	}
}

ssize_t fd_recv_msg_rest(int fd, void *buf, size_t cap, ssize_t last, int64_t timeout_ns)
{
	int64_t deadline = 0;
	for (ssize_t n = last;; n = sys_recv(fd, buf, cap, MSG_TRUNC)) {
		if (n > (ssize_t)cap)
			return -EMSGSIZE;
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = wait_fd(fd, POLLIN, timeout_ns, &deadline);
		if (rc)
			return rc;
	}
}

int fd_accept(int lfd, int64_t timeout_ns)
{
	int64_t deadline = 0;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = poll_fd(lfd, POLLIN, timeout_ns, &deadline);
		if (rc)
			return rc;
	}
}

int fd_connect(int fd, const void *addr, unsigned addr_len, int64_t timeout_ns)
{
	const struct timespec nap = { 0, 100000 };
	int64_t deadline = now_ns() + timeout_ns;
	for (;;) {
		if (connect(fd, addr, addr_len) == 0)
			return 0;
		int e = errno;
		if (e == EISCONN)
			return 0;
		if (e == EINPROGRESS || e == EALREADY) {
			int rc = poll_fd(fd, POLLOUT, timeout_ns, &deadline);
			socklen_t len = sizeof(e);
			if (rc)
				return rc;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
				return -errno;
			return -e;
		}
		if (e != EINTR && e != ECONNREFUSED && e != ENOENT && e != EAGAIN)
			return -e;
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
}

int fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

void fd_close(int *fd)
{
	if (*fd > 0) /* zeroed state holds 0: never ours, never closed */
		close(*fd);
	*fd = -1;
}
