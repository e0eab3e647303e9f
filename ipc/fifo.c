/* fifo: two named FIFOs, one per direction, made in a private mkdtemp directory and opened by name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "transport.h"

#define FIFO_DIR_TEMPLATE "/tmp/ipcbench-XXXXXX"

/*
 * fifo_state holds both FIFOs' four ends from setup until each side keeps its
 * two. Setup opens them and removes the names and the directory before it
 * returns, so nothing is left in /tmp even when the runner is killed with
 * SIGKILL before the sides attach.
 */
struct fifo_state {
	int a_to_b[2]; /* [0] read end (B), [1] write end (A) */
	int b_to_a[2];
	int opened;
};

/* fifo_end is one side's read and write end. */
struct fifo_end {
	int rd;
	int wr;
};

static void fifo_close_all(struct fifo_state *fs)
{
	if (!fs->opened)
		return;
	for (int i = 0; i < 2; i++) {
		fd_close(&fs->a_to_b[i]);
		fd_close(&fs->b_to_a[i]);
	}
}

/* Open one FIFO end without following a symlink, and make sure a FIFO is what we got. */
static int fifo_open(const char *path, int mode, struct tp_err *err)
{
	int fd = open(path, mode | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return tp_fail(err, errno, "fifo: open(%s) failed: %m", path);
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		return fd;
	close(fd);
	return tp_fail(err, EINVAL, "fifo: %s is not a FIFO any more; refusing to use it", path);
}

/* Make the FIFO at path and open both its ends: the read end first, so the write end finds a reader. */
static int fifo_make(const char *path, int ends[2], struct tp_err *err)
{
	if (mkfifo(path, 0600)) /* fails with EEXIST rather than reuse anything */
		return tp_fail(err, errno, "fifo: mkfifo(%s) failed: %m", path);
	int rc = fifo_open(path, O_RDONLY, err);
	if (rc < 0)
		return rc;
	ends[0] = rc;
	rc = fifo_open(path, O_WRONLY, err);
	if (rc < 0)
		return rc;
	ends[1] = rc;
	return 0;
}

static int fifo_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct fifo_state *fs = st;
	char dir[] = FIFO_DIR_TEMPLATE, path[2][sizeof(FIFO_DIR_TEMPLATE) + 8];
	(void)p;
	fs->a_to_b[0] = fs->a_to_b[1] = fs->b_to_a[0] = fs->b_to_a[1] = -1;
	fs->opened = 1;
	if (!mkdtemp(dir)) /* mode 0700: nobody else can reach the FIFOs */
		return tp_fail(err, errno, "fifo: mkdtemp(%s) failed: %m; make /tmp writable",
			       FIFO_DIR_TEMPLATE);
	snprintf(path[0], sizeof(path[0]), "%s/a2b", dir);
	snprintf(path[1], sizeof(path[1]), "%s/b2a", dir);
	int rc = fifo_make(path[0], fs->a_to_b, err);
	if (!rc)
		rc = fifo_make(path[1], fs->b_to_a, err);
	/* The open ends carry the FIFOs from here on; their names only invite a leftover. */
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
	return rc;
}

static int fifo_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		       struct tp_err *err)
{
	struct fifo_state *fs = st;
	struct fifo_end *fe = end;
	/* Keep our two ends and close the peer's, so its death reads as end of stream. */
	int *mine_rd = side == TP_SIDE_A ? &fs->b_to_a[0] : &fs->a_to_b[0];
	int *mine_wr = side == TP_SIDE_A ? &fs->a_to_b[1] : &fs->b_to_a[1];
	fe->rd = *mine_rd;
	fe->wr = *mine_wr;
	*mine_rd = *mine_wr = -1;
	fifo_close_all(fs);
	int rc = fd_blocking(fe->rd, p);
	if (rc == 0)
		rc = fd_blocking(fe->wr, p);
	return rc ? tp_fail(err, -rc, "fifo: fcntl(F_SETFL) failed: %s", strerror(-rc)) : 0;
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

static void fifo_teardown(void *st)
{
	fifo_close_all(st);
}

const struct transport_ops fifo_ops = {
	.name = "fifo",
	.group = "process",
	.summary = "two named FIFOs in a private mkdtemp directory, opened and removed before the sides start; "
		   "blocking read()/write(), one call per wait; the watchdog bounds it",
	.flags = TP_FS_NAME,
	.copies = 2,
	.state_size = sizeof(struct fifo_state),
	.end_size = sizeof(struct fifo_end),
	.setup = fifo_setup,
	.attach = fifo_attach,
	.send = fifo_send,
	.recv = fifo_recv,
	.detach = fifo_detach,
	.teardown = fifo_teardown,
};
