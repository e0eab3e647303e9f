/* SCM_RIGHTS over a blocking Unix socket: one record, at most one descriptor. */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sys_inline.h"

/* Room for the one descriptor we pass, and a few more a hostile peer might send (all closed). */
#define FDPASS_MAX_FDS 8

int fdpass_send(int sock, const void *buf, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sys_sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EMSGSIZE; /* a record is never sent in part */
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? -ETIMEDOUT : -errno; /* EAGAIN: SO_SNDTIMEO ran out */
	}
}

/* Keep the first descriptor of a received control block in *first, close the rest; how many came. */
static int fdpass_take(struct msghdr *mh, int *first)
{
	int count = 0;
	*first = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++, count++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count == 0)
				*first = fd;
			else
				close(fd);
		}
	}
	return count;
}

ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(FDPASS_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	*fd = -1;
	for (;;) {
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = sys_recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno; /* EAGAIN: SO_RCVTIMEO ran out */
		int first, count = fdpass_take(&mh, &first);
		if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || count > 1) {
			if (first >= 0)
				close(first);
			return -EPROTO;
		}
		*fd = first;
		return n;
	}
}
