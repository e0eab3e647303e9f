/* pipe: two anonymous pipes, one per direction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "transport.h"

/* pipe_state holds both pipes until each side keeps its two ends. */
struct pipe_state {
	int a_to_b[2]; /* [0] read end (B), [1] write end (A) */
	int b_to_a[2];
	int opened;
};

/* pipe_end is one side's read and write end. */
struct pipe_end {
	int rd;
	int wr;
};

static void pipe_close_all(struct pipe_state *ps)
{
	if (!ps->opened)
		return;
	for (int i = 0; i < 2; i++) {
		fd_close(&ps->a_to_b[i]);
		fd_close(&ps->b_to_a[i]);
	}
}

static int pipe_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct pipe_state *ps = st;
	(void)p;
	ps->a_to_b[0] = ps->a_to_b[1] = ps->b_to_a[0] = ps->b_to_a[1] = -1;
	ps->opened = 1;
	if (pipe2(ps->a_to_b, O_NONBLOCK | O_CLOEXEC) || pipe2(ps->b_to_a, O_NONBLOCK | O_CLOEXEC))
		return tp_fail(err, errno, "pipe: pipe2() failed: %m; raise the open-file limit (ulimit -n)");
	return 0;
}

static int pipe_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
		       struct tp_err *err)
{
	struct pipe_state *ps = st;
	struct pipe_end *pe = end;
	/* Keep our two ends and close the peer's, so its death reads as end of stream. */
	int *mine_rd = side == TP_SIDE_A ? &ps->b_to_a[0] : &ps->a_to_b[0];
	int *mine_wr = side == TP_SIDE_A ? &ps->a_to_b[1] : &ps->b_to_a[1];
	pe->rd = *mine_rd;
	pe->wr = *mine_wr;
	*mine_rd = *mine_wr = -1;
	pipe_close_all(ps);
	int rc = fd_blocking(pe->rd, p);
	if (rc == 0)
		rc = fd_blocking(pe->wr, p);
	return rc ? tp_fail(err, -rc, "pipe: fcntl(F_SETFL) failed: %s", strerror(-rc)) : 0;
}

static int pipe_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return fd_send_all(((struct pipe_end *)end)->wr, buf, len, timeout_ns);
}

static ssize_t pipe_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)cap;
	return fd_recv_all(((struct pipe_end *)end)->rd, buf, len, timeout_ns);
}

static void pipe_detach(void *end)
{
	struct pipe_end *pe = end;
	fd_close(&pe->rd);
	fd_close(&pe->wr);
}

static void pipe_teardown(void *st)
{
	pipe_close_all(st);
}

const struct transport_ops pipe_ops = {
	.name = "pipe",
	.group = "process",
	.summary = "two anonymous pipes, one per direction; blocking read()/write(), one call per wait; the watchdog bounds it",
	.flags = 0,
	.copies = 2,
	.state_size = sizeof(struct pipe_state),
	.end_size = sizeof(struct pipe_end),
	.setup = pipe_setup,
	.attach = pipe_attach,
	.send = pipe_send,
	.recv = pipe_recv,
	.detach = pipe_detach,
	.teardown = pipe_teardown,
};
