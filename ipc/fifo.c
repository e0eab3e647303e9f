/* fifo: two named FIFOs, one per direction, in a private mkdtemp directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "fdio.h"
#include "transport.h"

#define FIFO_DIR_TEMPLATE "/tmp/ipcbench-XXXXXX"

/* fifo_state names the directory and the two FIFOs; an empty dir means nothing was made. */
struct fifo_state {
	char dir[sizeof(FIFO_DIR_TEMPLATE)];
	char path[2][sizeof(FIFO_DIR_TEMPLATE) + 8]; /* [0] A to B, [1] B to A */
};

/* fifo_end is one side's read and write end. */
struct fifo_end {
	int rd;
	int wr;
};

static void fifo_unlink_names(void *st)
{
	struct fifo_state *fs = st;
	if (!fs->dir[0])
		return;
	for (int i = 0; i < 2; i++)
		if (fs->path[i][0])
			unlink(fs->path[i]); /* ENOENT: already gone, which is the point */
	rmdir(fs->dir);
}

static int fifo_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct fifo_state *fs = st;
	static const char *const names[2] = { "a2b", "b2a" };
	(void)p;
	strcpy(fs->dir, FIFO_DIR_TEMPLATE);
	if (!mkdtemp(fs->dir)) { /* mode 0700: nobody else can reach the FIFOs */
		fs->dir[0] = '\0';
		return tp_fail(err, errno, "fifo: mkdtemp(%s) failed: %m; make /tmp writable",
			       FIFO_DIR_TEMPLATE);
	}
	for (int i = 0; i < 2; i++) {
		snprintf(fs->path[i], sizeof(fs->path[i]), "%s/%s", fs->dir, names[i]);
		if (mkfifo(fs->path[i], 0600)) { /* fails with EEXIST rather than reuse anything */
			int e = errno;
			fs->path[i][0] = '\0';
			fifo_unlink_names(fs);
			errno = e;
			return tp_fail(err, e, "fifo: mkfifo(%s/%s) failed: %m", fs->dir, names[i]);
		}
	}
	return 0;
}

/* Open one FIFO end without following a symlink, and make sure a FIFO is what we got. */
static int fifo_open(const char *path, int mode, int64_t deadline_ns, struct tp_err *err)
{
	const struct timespec nap = { 0, 50000 };
	for (;;) {
		int fd = open(path, mode | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			struct stat sb;
			if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
				return fd;
			close(fd);
			return tp_fail(err, EINVAL, "fifo: %s is not a FIFO any more; refusing to use it",
				       path);
		}
		/* A non-blocking open for writing fails with ENXIO until the peer opened the read end. */
		if (errno != ENXIO && errno != EINTR)
			return tp_fail(err, errno, "fifo: open(%s) failed: %m", path);
		if (now_ns() >= deadline_ns)
			return tp_fail(err, ETIMEDOUT, "fifo: the peer did not open %s for reading in time",
				       path);
		nanosleep(&nap, NULL);
	}
}

static int fifo_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		       struct tp_err *err)
{
	struct fifo_state *fs = st;
	struct fifo_end *fe = end;
	int64_t deadline = now_ns() + p->timeout_ns;
	fe->rd = fe->wr = -1;
	/* Read end first on both sides, so each side's write open finds its reader. */
	int rc = fifo_open(fs->path[side == TP_SIDE_A ? 1 : 0], O_RDONLY, deadline, err);
	if (rc < 0)
		return rc;
	fe->rd = rc;
	rc = fifo_open(fs->path[side == TP_SIDE_A ? 0 : 1], O_WRONLY, deadline, err);
	if (rc < 0)
		return rc;
	fe->wr = rc;
	return 0;
}

static int fifo_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_all(((struct fifo_end *)end)->wr, buf, len, timeout_ns);
}

static ssize_t fifo_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct fifo_end *)end)->rd, buf, len, timeout_ns);
}

static void fifo_detach(void *end)
{
	struct fifo_end *fe = end;
	fd_close(&fe->rd);
	fd_close(&fe->wr);
}

const struct transport_ops fifo_ops = {
	.name = "fifo",
	.group = "process",
	.summary = "two named FIFOs in a private mkdtemp directory, removed once both sides hold them; "
		   "non-blocking fds with poll() deadlines",
	.flags = TP_FS_NAME,
	.copies = 2,
	.state_size = sizeof(struct fifo_state),
	.end_size = sizeof(struct fifo_end),
	.setup = fifo_setup,
	.attach = fifo_attach,
	.unlink_names = fifo_unlink_names,
	.send = fifo_send,
	.recv = fifo_recv,
	.detach = fifo_detach,
	.teardown = fifo_unlink_names,
};
