/* floor-wake: a 64 B round trip between the two CPUs where each side sleeps on a futex, never spins. */
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ipc/transport.h"
#include "ipc/sys_inline.h"
#include "shm/ring.h"

#define FLOOR_WAKE_BYTES 64

/*
 * One direction: the message, and the futex word the sender bumps after
 * writing it (release) and the receiver sleeps on. The word is the only thing
 * the receiver looks at before it sleeps, so nothing here ever spins.
 */
struct floor_wake_line {
	_Alignas(RING_LINE) _Atomic uint32_t word;
	unsigned char msg[FLOOR_WAKE_BYTES];
};

/* The two directions; the threads only read this. */
struct floor_wake_state {
	struct floor_wake_line *line; /* [0] A to B, [1] B to A */
};

/* One thread's lines and the word's value at its last receive. */
struct floor_wake_end {
	struct floor_wake_line *tx;
	struct floor_wake_line *rx;
	uint32_t seen;
};

static int floor_wake_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct floor_wake_state *fs = st;
	if (p->msg_bytes != FLOOR_WAKE_BYTES)
		return tp_fail(err, EINVAL, "floor-wake: carries %d B only, not %zu B", FLOOR_WAKE_BYTES,
			       p->msg_bytes);
	fs->line = aligned_alloc(RING_LINE, 2 * sizeof(struct floor_wake_line));
	if (!fs->line)
		return tp_fail(err, ENOMEM, "floor-wake: no memory for two lines");
	memset(fs->line, 0, 2 * sizeof(struct floor_wake_line));
	return 0;
}

static int floor_wake_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			     struct tp_err *err)
{
	struct floor_wake_state *fs = st;
	struct floor_wake_end *fe = end;
	(void)p;
	(void)err;
	fe->tx = &fs->line[side == TP_SIDE_A ? 0 : 1];
	fe->rx = &fs->line[side == TP_SIDE_A ? 1 : 0];
	return 0;
}

/* Write the message, bump the word, wake the peer: a send never waits. */
static int floor_wake_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct floor_wake_end *fe = end;
	(void)timeout_ns;
	if (len != FLOOR_WAKE_BYTES)
		return -EMSGSIZE;
	/* The peer read the last message before it answered it, and pingpong sends only after the answer. */
	memcpy(fe->tx->msg, buf, FLOOR_WAKE_BYTES);
	atomic_fetch_add_explicit(&fe->tx->word, 1, memory_order_release);
	sys_futex((uint32_t *)&fe->tx->word, FUTEX_WAKE_PRIVATE, 1, NULL);
	return 0;
}

/* Sleep until the word moves past the value seen last, at most timeout_ns in all. */
static ssize_t floor_wake_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct floor_wake_end *fe = end;
	uint32_t v;
	int64_t deadline = 0;
	(void)len;
	if (cap < FLOOR_WAKE_BYTES)
		return -EMSGSIZE;
	while ((v = atomic_load_explicit(&fe->rx->word, memory_order_acquire)) == fe->seen) {
		int64_t now = now_ns();
		if (!deadline)
			deadline = now + timeout_ns;
		if (now >= deadline)
			return -ETIMEDOUT;
		int64_t left = deadline - now;
		struct timespec ts = { (time_t)(left / NS_PER_S), (long)(left % NS_PER_S) };
		/* The kernel compares the word itself: a wake that came first returns at once (EAGAIN). */
		if (sys_futex((uint32_t *)&fe->rx->word, FUTEX_WAIT_PRIVATE, fe->seen, &ts) &&
		    errno == ETIMEDOUT)
			return -ETIMEDOUT;
	}
	fe->seen = v;
	memcpy(buf, fe->rx->msg, FLOOR_WAKE_BYTES);
	return FLOOR_WAKE_BYTES;
}

static void floor_wake_detach(void *end)
{
	(void)end;
}

static void floor_wake_teardown(void *st)
{
	struct floor_wake_state *fs = st;
	free(fs->line);
	fs->line = NULL;
}

const struct transport_ops floor_wake_ops = {
	.name = "floor-wake",
	.group = "floor",
	.summary = "64 B round trip between the two CPUs, each side asleep on a futex until woken: "
		   "what no sleeping IPC can beat",
	.flags = TP_BOUNDARIES,
	.copies = 2,
	.patterns = TP_PINGPONG,
	.fixed_size = FLOOR_WAKE_BYTES,
	.state_size = sizeof(struct floor_wake_state),
	.end_size = sizeof(struct floor_wake_end),
	.setup = floor_wake_setup,
	.attach = floor_wake_attach,
	.send = floor_wake_send,
	.recv = floor_wake_recv,
	.detach = floor_wake_detach,
	.teardown = floor_wake_teardown,
};
