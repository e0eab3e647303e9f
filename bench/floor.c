/* The hardware floor: one cache line's round trip between the two CPUs, and memcpy on one CPU (for reference). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ipc/transport.h"
#include "msg.h"
#include "shm/ring.h"

#define FLOOR_LINE_BYTES 64
#define FLOOR_WORDS (FLOOR_LINE_BYTES / 8)
#define FLOOR_SEQ_WORD (offsetof(struct msg_hdr, seq) / 8)
#define FLOOR_POLLS 32 /* polls between looks at the clock, as in the ring */

/*
 * floor_line is one direction's message: nothing but the 64 bytes, alone on a
 * line pair. The runner stamps every message with a new sequence number, so
 * the receiver watches that word: the sender stores it last (release) and
 * inverted, so the zeroed line never reads as message 0.
 */
struct floor_line {
	_Alignas(RING_LINE) _Atomic uint64_t w[FLOOR_WORDS];
};

/* floor_state points at the two lines; the threads only read it. */
struct floor_state {
	struct floor_line *line; /* [0] A to B, [1] B to A */
};

/* floor_end is one thread's lines and the stamp it saw last. */
struct floor_end {
	struct floor_line *tx;
	struct floor_line *rx;
	uint64_t seen;
};

static int floor_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct floor_state *fs = st;
	if (p->msg_bytes != FLOOR_LINE_BYTES)
		return tp_fail(err, EINVAL, "floor-cacheline: carries %d B only, not %zu B", FLOOR_LINE_BYTES,
			       p->msg_bytes);
	fs->line = aligned_alloc(RING_LINE, 2 * sizeof(struct floor_line));
	if (!fs->line)
		return tp_fail(err, ENOMEM, "floor-cacheline: no memory for two lines");
	memset(fs->line, 0, 2 * sizeof(struct floor_line));
	return 0;
}

static int floor_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			struct tp_err *err)
{
	struct floor_state *fs = st;
	struct floor_end *fe = end;
	(void)p;
	(void)err;
	fe->tx = &fs->line[side == TP_SIDE_A ? 0 : 1];
	fe->rx = &fs->line[side == TP_SIDE_A ? 1 : 0];
	return 0;
}

static int floor_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct floor_end *fe = end;
	uint64_t w[FLOOR_WORDS];
	(void)timeout_ns;
	if (len != FLOOR_LINE_BYTES)
		return -EMSGSIZE;
	memcpy(w, buf, sizeof(w));
	for (size_t i = 0; i < FLOOR_WORDS; i++)
		if (i != FLOOR_SEQ_WORD)
			atomic_store_explicit(&fe->tx->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&fe->tx->w[FLOOR_SEQ_WORD], ~w[FLOOR_SEQ_WORD], memory_order_release);
	return 0;
}

static ssize_t floor_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct floor_end *fe = end;
	uint64_t w[FLOOR_WORDS], v;
	int64_t deadline = 0;
	(void)len;
	if (cap < FLOOR_LINE_BYTES)
		return -EMSGSIZE;
	for (unsigned n = 1; (v = atomic_load_explicit(&fe->rx->w[FLOOR_SEQ_WORD], memory_order_acquire)) == fe->seen;
	     n++) {
		spin_pause();
		if (n % FLOOR_POLLS == 0) {
			if (deadline && now_ns() >= deadline)
				return -ETIMEDOUT;
			if (!deadline)
				deadline = now_ns() + timeout_ns;
		}
	}
	fe->seen = v;
	for (size_t i = 0; i < FLOOR_WORDS; i++)
		w[i] = atomic_load_explicit(&fe->rx->w[i], memory_order_relaxed);
	w[FLOOR_SEQ_WORD] = ~v;
	memcpy(buf, w, sizeof(w));
	return FLOOR_LINE_BYTES;
}

static void floor_detach(void *end)
{
	(void)end;
}

static void floor_teardown(void *st)
{
	struct floor_state *fs = st;
	free(fs->line);
	fs->line = NULL;
}

/* One CPU's own memcpy, no peer: a reference beside floor-xcopy, which the stream rows are divided by. */
static void floor_memcpy_solo(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

const struct transport_ops floor_cacheline_ops = {
	.name = "floor-cacheline",
	.group = "floor",
	.summary = "round trip of one 64 B cache line between the two CPUs, spinning: what no IPC can beat",
	.flags = TP_BOUNDARIES | TP_SPIN_ONLY,
	.copies = 2,
	.patterns = TP_PINGPONG,
	.fixed_size = FLOOR_LINE_BYTES,
	.state_size = sizeof(struct floor_state),
	.end_size = sizeof(struct floor_end),
	.setup = floor_setup,
	.attach = floor_attach,
	.send = floor_send,
	.recv = floor_recv,
	.detach = floor_detach,
	.teardown = floor_teardown,
};

const struct transport_ops floor_memcpy_ops = {
	.name = "floor-memcpy",
	.group = "floor",
	.summary = "memcpy bandwidth of one CPU per size, no peer: a reference (streams divide by floor-xcopy)",
	.copies = 1,
	.patterns = TP_STREAM,
	.solo = floor_memcpy_solo,
};
