/*
 * threads/: handoffs between two threads of one process, each an operations
 * table behind ipc/transport.h. thread-ring: the shm ring in process memory
 * between two threads, adaptive wait on private futexes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ipc/transport.h"
#include "../shm/ring.h"

/* thread_ring_state holds both rings; the threads only read it after setup. */
struct thread_ring_state {
	struct ring *ring[2]; /* [0] A to B, [1] B to A */
	size_t ring_size;
};

/* thread_ring_end is one thread's two ring ends. */
struct thread_ring_end {
	struct ring_end tx;
	struct ring_end rx;
};

static int thread_ring_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct thread_ring_state *ts = st;
	ts->ring_size = ring_size_for(p->msg_bytes);
	size_t bytes = ring_bytes(ts->ring_size);
	for (int i = 0; i < 2; i++) {
		ts->ring[i] = aligned_alloc(RING_LINE, bytes);
		if (!ts->ring[i])
			return tp_fail(err, ENOMEM, "thread-ring: no memory for a %zu B ring", bytes);
		memset(ts->ring[i], 0, bytes); /* ring_init wants zeroes; this also faults the pages in */
		int rc = ring_init(ts->ring[i], ts->ring_size, false);
		if (rc)
			return tp_fail(err, -rc, "thread-ring: ring_init: %s", strerror(-rc));
	}
	return 0;
}

static int thread_ring_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			      struct tp_err *err)
{
	struct thread_ring_state *ts = st;
	struct thread_ring_end *te = end;
	(void)p;
	int rc = ring_end_init(&te->tx, ts->ring[side == TP_SIDE_A ? 0 : 1], RING_ADAPTIVE, false);
	if (!rc)
		rc = ring_end_init(&te->rx, ts->ring[side == TP_SIDE_A ? 1 : 0], RING_ADAPTIVE, false);
	return rc ? tp_fail(err, -rc, "thread-ring: the rings are not set up") : 0;
}

static int thread_ring_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return ring_send(&((struct thread_ring_end *)end)->tx, buf, len, timeout_ns);
}

static ssize_t thread_ring_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)len;
	return ring_recv(&((struct thread_ring_end *)end)->rx, buf, cap, timeout_ns);
}

static void thread_ring_detach(void *end)
{
	(void)end;
}

static void thread_ring_teardown(void *st)
{
	struct thread_ring_state *ts = st;
	for (int i = 0; i < 2; i++) {
		free(ts->ring[i]);
		ts->ring[i] = NULL;
	}
}

const struct transport_ops thread_ring_ops = {
	.name = "thread-ring",
	.group = "thread",
	.summary = "the shm SPSC ring in process memory; spin, then sched_yield, then private futex",
	.flags = TP_BOUNDARIES | TP_SPINS_FIRST,
	.copies = 2,
	.state_size = sizeof(struct thread_ring_state),
	.end_size = sizeof(struct thread_ring_end),
	.setup = thread_ring_setup,
	.attach = thread_ring_attach,
	.send = thread_ring_send,
	.recv = thread_ring_recv,
	.detach = thread_ring_detach,
	.teardown = thread_ring_teardown,
};
