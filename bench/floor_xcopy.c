/* floor-xcopy: a stream where B copies out what A has just copied in, cache to cache, between the two CPUs. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ipc/transport.h"
#include "shm/ring.h"

#define FLOOR_XCOPY_POLLS 32              /* polls between looks at the clock, as in the ring */
#define FLOOR_XCOPY_WINDOW (64 * 1024)    /* slots in flight: at least this many bytes, at least two */
#define FLOOR_XCOPY_BATCH 16              /* B hands back slots this many at a time, at most a quarter of them */

/*
 * A ring of fixed slots, each a word and one message. A copies a message into
 * the next slot and stores the word last (release): the message's number plus
 * one, so a zeroed slot never reads as published. B waits for that word and
 * copies the message into its own buffer. It hands the slots back by storing
 * how many it copied out in `released`, a few at a time and whenever it is
 * about to wait; A reads that line only when its last look says every slot is
 * taken. That is all a copying stream must do, with less traffic between the
 * CPUs than the shm ring. Two slots would do for large messages, but small
 * ones then wait on the handoff, not the copy (64 B ran at a fifth of the shm
 * ring's rate here): the 64 KiB window, the ring's smallest, lets A run ahead,
 * and small messages share lines as they do in the ring.
 */
struct floor_xcopy_slot {
	_Atomic uint64_t word;
	unsigned char msg[];
};

struct floor_xcopy_shared {
	_Alignas(RING_LINE) _Atomic uint64_t released; /* messages B copied out, ever; written by B */
	_Alignas(RING_LINE) unsigned char slots[];
};

/* What setup made; the threads only read it. */
struct floor_xcopy_state {
	struct floor_xcopy_shared *sh;
	size_t msg_bytes;
	size_t stride; /* bytes from one slot to the next: word, message, padding to a cache line */
	uint64_t n_slots;
	uint64_t batch; /* slots B copies out before it hands them back */
};

/* One thread's view: A counts what it sent and what it last saw released; B what it received and released. */
struct floor_xcopy_end {
	const struct floor_xcopy_state *fs;
	uint64_t count;
	uint64_t released; /* A: its last look at sh->released; B: what it stored there last */
	uint64_t at;       /* the slot of message `count`: count % n_slots, kept without a division */
};

static struct floor_xcopy_slot *floor_xcopy_slot(const struct floor_xcopy_end *fe)
{
	return (struct floor_xcopy_slot *)(void *)(fe->fs->sh->slots + fe->at * fe->fs->stride);
}

/* One more message through this end's next slot. */
static void floor_xcopy_advance(struct floor_xcopy_end *fe)
{
	fe->count++;
	if (++fe->at == fe->fs->n_slots)
		fe->at = 0;
}

static int floor_xcopy_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct floor_xcopy_state *fs = st;
	fs->msg_bytes = p->msg_bytes;
	/* each slot starts on a cache line, as the shm ring's pieces do: no line holds the end of one message and
	 * the start of the next, which A writes while B still reads the first */
	fs->stride = (sizeof(struct floor_xcopy_slot) + p->msg_bytes + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1);
	fs->n_slots = FLOOR_XCOPY_WINDOW / fs->stride > 2 ? FLOOR_XCOPY_WINDOW / fs->stride : 2;
	fs->batch = fs->n_slots / 4 < FLOOR_XCOPY_BATCH ? fs->n_slots / 4 : FLOOR_XCOPY_BATCH;
	if (fs->batch == 0)
		fs->batch = 1;
	size_t bytes = sizeof(struct floor_xcopy_shared) + fs->n_slots * fs->stride;
	bytes = (bytes + RING_LINE - 1) / RING_LINE * RING_LINE;
	fs->sh = aligned_alloc(RING_LINE, bytes);
	if (!fs->sh)
		return tp_fail(err, ENOMEM, "floor-xcopy: no memory for %llu slots of %zu B",
			       (unsigned long long)fs->n_slots, fs->stride);
	memset(fs->sh, 0, bytes);
	return 0;
}

static int floor_xcopy_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			      struct tp_err *err)
{
	struct floor_xcopy_end *fe = end;
	(void)side;
	(void)p;
	(void)err;
	fe->fs = st;
	return 0;
}

/* Spin until *v passes target; the clock is read every FLOOR_XCOPY_POLLS polls, and only once waiting. */
static int floor_xcopy_wait(_Atomic uint64_t *v, uint64_t target, uint64_t *seen, int64_t timeout_ns)
{
	int64_t deadline = 0;
	for (unsigned n = 1; (*seen = atomic_load_explicit(v, memory_order_acquire)) < target; n++) {
		spin_pause();
		if (n % FLOOR_XCOPY_POLLS == 0) {
			if (deadline && now_ns() >= deadline)
				return -ETIMEDOUT;
			if (!deadline)
				deadline = now_ns() + timeout_ns;
		}
	}
	return 0;
}

static int floor_xcopy_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct floor_xcopy_end *fe = end;
	const struct floor_xcopy_state *fs = fe->fs;
	if (len != fs->msg_bytes)
		return -EMSGSIZE;
	uint64_t need = fe->count + 1 > fs->n_slots ? fe->count + 1 - fs->n_slots : 0; /* released, for a free slot */
	if (fe->released < need) {
		int rc = floor_xcopy_wait(&fs->sh->released, need, &fe->released, timeout_ns);
		if (rc)
			return rc;
	}
	struct floor_xcopy_slot *s = floor_xcopy_slot(fe);
	memcpy(s->msg, buf, len);
	atomic_store_explicit(&s->word, fe->count + 1, memory_order_release);
	floor_xcopy_advance(fe);
	return 0;
}

static ssize_t floor_xcopy_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct floor_xcopy_end *fe = end;
	const struct floor_xcopy_state *fs = fe->fs;
	uint64_t seen;
	(void)len;
	if (cap < fs->msg_bytes)
		return -EMSGSIZE;
	struct floor_xcopy_slot *s = floor_xcopy_slot(fe);
	/* The word only grows: a slot holds message n, then n + n_slots, ... */
	if (atomic_load_explicit(&s->word, memory_order_acquire) <= fe->count) {
		if (fe->released != fe->count) /* about to wait: A must not wait for slots we are done with */
			atomic_store_explicit(&fs->sh->released, fe->released = fe->count, memory_order_release);
		int rc = floor_xcopy_wait(&s->word, fe->count + 1, &seen, timeout_ns);
		if (rc)
			return rc;
	}
	memcpy(buf, s->msg, fs->msg_bytes);
	floor_xcopy_advance(fe);
	if (fe->count - fe->released >= fs->batch)
		atomic_store_explicit(&fs->sh->released, fe->released = fe->count, memory_order_release);
	return (ssize_t)fs->msg_bytes;
}

static void floor_xcopy_detach(void *end)
{
	(void)end;
}

static void floor_xcopy_teardown(void *st)
{
	struct floor_xcopy_state *fs = st;
	free(fs->sh);
	fs->sh = NULL;
}

const struct transport_ops floor_xcopy_ops = {
	.name = "floor-xcopy",
	.group = "floor",
	.summary = "B copies out what A just copied in, cache to cache, slots handed over by spinning: "
		   "what no copying stream between the two CPUs can beat",
	.flags = TP_BOUNDARIES | TP_SPIN_ONLY,
	.copies = 2,
	.patterns = TP_STREAM,
	.state_size = sizeof(struct floor_xcopy_state),
	.end_size = sizeof(struct floor_xcopy_end),
	.setup = floor_xcopy_setup,
	.attach = floor_xcopy_attach,
	.send = floor_xcopy_send,
	.recv = floor_xcopy_recv,
	.detach = floor_xcopy_detach,
	.teardown = floor_xcopy_teardown,
};
