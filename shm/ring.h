/*
 * shm/: the shared-memory rows, each an operations table over this ring (or,
 * for shm-loan, its slots). This header: a single-producer single-consumer ring
 * of variable-size messages, for shared memory or, in threads/, two threads.
 */
#ifndef IPCBENCH_RING_H
#define IPCBENCH_RING_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A message travels as one or more pieces, each [8-byte word][bytes][padding
 * to the next 64-byte line]. The word holds the piece's length and is written
 * last, so the consumer polls the word where the next piece will start. The
 * consumer publishes tail so the producer knows what it may overwrite; the
 * producer keeps its head to itself. A message longer than ring->chunk goes
 * in several pieces, so the consumer copies one out while the producer writes
 * the next, and a message larger than the whole ring passes through it.
 *
 * Why this layout (measured on a 2-vCPU KVM guest of an AMD EPYC, 1 MiB L2
 * per core, one 32 MiB L3; ratios within one run, taken while the host held
 * still, with two pinned threads running the ring against a plain copy of the
 * bench's floors):
 *
 * - Every piece starts on a line, so a piece of up to 56 bytes is one line:
 *   the word the consumer polls arrives with the bytes, one line per hop. A
 *   48 B round trip went from 1.26-1.31x a bare cache line's to 0.99-1.18x
 *   (8-byte-aligned pieces let it straddle two lines). A 64 B message (the
 *   bench's messages carry their own header) is two lines either way, about
 *   1.25x; aligning to 128-byte line pairs did no better. The producer writes
 *   a piece's other lines first and the first line's bytes last, right before
 *   the word, so the polled line changes hands once. Small messages in a
 *   stream pay for it: a 64 B message takes two lines of the ring, not 72
 *   bytes.
 * - Before committing a piece the producer zeroes the word after it (see
 *   ring_send): the consumer never reads a stale word or stale bytes as a
 *   piece, whatever the sizes and wherever they wrap. The zero is the first
 *   store, so that line's ownership travels while the bytes are copied.
 * - Plain copies, no non-temporal stores. Streaming stores that bypassed the
 *   producer's cache had been worth 1.3x at 1 MiB on an earlier host; here
 *   they held the ring at 0.34-0.40x of floor-xcopy at 256 KiB and 1 MiB
 *   (7-19 GB/s against 17-50), because the consumer then reads from DRAM
 *   what it could take from the other core's cache or the shared L3. With
 *   plain copies the ring runs at 0.93-1.13x of floor-xcopy (up to ~60 GB/s).
 * - Piece sizes from 16 to 256 KiB and rings of 1 to 4 MiB for 1 MiB messages
 *   made no difference above the host's noise once the copies were plain, so
 *   pieces stay at up to 256 KiB and ring_size_for as it was.
 * - RING_ADAPTIVE spins for as long as the last waits say the peer takes to
 *   answer (ring.c, ring_learn_spin), not a fixed 20 us: a 1 MiB round trip
 *   waits ~50 us per side, and the fixed spin put it to sleep and paid a
 *   wake-up (~15-25 us here) each way: 1.75x shm-spin's p50, now ~1.0x.
 *
 * The ring works in any memory: a MAP_SHARED mapping two processes hold (the
 * atomics are lock-free and address-free, the semaphores process-shared) or
 * plain process memory shared by two threads. It holds no pointers.
 */

#define RING_LINE 128 /* two 64-byte lines: the adjacent-line prefetcher pulls pairs */
#define RING_HDR 8    /* the word in front of every piece */
#define RING_ALIGN 64 /* every piece starts on a cache line: its word shares the line with its first bytes */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	       "the ring lives in shared memory: its atomics must be lock-free");

/* How a side waits when the ring is empty (consumer) or full (producer). */
enum ring_wait {
	RING_SPIN,     /* busy-poll until the deadline: lowest latency, burns a CPU */
	RING_ADAPTIVE, /* spin about as long as the peer took lately, then sched_yield, then sleep on a futex */
	RING_SEM,      /* process-shared POSIX semaphores, posted for every piece */
	RING_EVENTFD,  /* no spin: sleep in poll() on this side's eventfd, which the other side writes */
};

/* Indexes into ring->sleeping: which side announced it is about to sleep. */
enum ring_role { RING_CONSUMER = 0, RING_PRODUCER = 1 };

/* The ring's header and data: each side's index on a line of its own, the producer's with its cached tail. */
struct ring {
	_Alignas(RING_LINE) uint64_t head;         /* bytes written, ever; the producer's alone */
	uint64_t tail_cache;                        /* the producer's last look at tail */
	_Atomic int producer_cpu;                   /* RING_ADAPTIVE: where the producer ran last */
	_Alignas(RING_LINE) _Atomic uint64_t tail; /* bytes consumed, ever; written by the consumer */
	_Atomic int consumer_cpu;                   /* RING_ADAPTIVE: where the consumer ran last */
	/* Written only around a sleep, so the hot path reads them from its own cache. */
	_Alignas(RING_LINE) _Atomic uint32_t sleeping[2]; /* futex words, by enum ring_role */
	uint64_t size;  /* data bytes, a power of two */
	uint64_t chunk; /* largest piece, its word included */
	/* Posted for every piece, so kept off the line the hot path reads. */
	_Alignas(RING_LINE) sem_t items; /* RING_SEM: one post per committed piece */
	sem_t room;                      /* RING_SEM: posted when the producer announced it waits for room */
	_Alignas(RING_LINE) unsigned char data[];
};

_Static_assert(offsetof(struct ring, tail) - offsetof(struct ring, head) >= RING_LINE,
	       "head and tail must not share a line");
_Static_assert(offsetof(struct ring, sleeping) - offsetof(struct ring, tail) >= RING_LINE,
	       "the wait words must not share a line with tail");
_Static_assert(offsetof(struct ring, data) % RING_LINE == 0 &&
	       offsetof(struct ring, data) - offsetof(struct ring, sleeping) >= RING_LINE,
	       "data must start on a line of its own");

/* One side's handle on a ring, in that side's private memory. */
struct ring_end {
	struct ring *r;
	enum ring_wait wait;
	bool shared;     /* the other side is another process */
	bool light_wake; /* waking needs no fence: the sleeper calls membarrier() (ring.c) */
	int futex_flags; /* FUTEX_PRIVATE_FLAG between threads, 0 between processes */
	int64_t spin_ns; /* RING_ADAPTIVE: how long to spin before sleeping, learnt from the last waits */
	uint64_t size;   /* copies of r->size and r->chunk, so the hot path reads no shared line */
	uint64_t chunk;
	int wait_fd;     /* RING_EVENTFD: the eventfd this side sleeps on */
	int wake_fd;     /* RING_EVENTFD: the other side's, written to wake it */
};

/**
 * The data size the shm and thread rows use for messages of msg_bytes: room
 * for two whole messages, so the producer writes one while the consumer copies
 * the other, but at least RING_SIZE_MIN (small rings stay in L1/L2, and the
 * lines come back round before they are evicted) and at most RING_SIZE_MAX
 * (bigger messages go in pieces; more ring would only spill the caches).
 */
#define RING_SIZE_MIN ((size_t)64 * 1024)
#define RING_SIZE_MAX ((size_t)4 * 1024 * 1024)
size_t ring_size_for(size_t msg_bytes);

/** Bytes to allocate (RING_LINE-aligned) for a ring with size data bytes. */
size_t ring_bytes(size_t size);

/**
 * Initialise a ring in zeroed memory of ring_bytes(size) bytes. size is a power
 * of two, at least 4 * RING_LINE. pshared: the semaphores are used between processes.
 * @return 0 or -errno.
 */
int ring_init(struct ring *r, size_t size, bool pshared);

/**
 * Take one end of a ring. shared: the ring is in memory other processes map
 * (process-wide futexes); otherwise threads of this process use it.
 * @return 0, or -EINVAL when the header does not describe a valid ring.
 */
int ring_end_init(struct ring_end *e, struct ring *r, enum ring_wait wait, bool shared);

/**
 * RING_EVENTFD, after ring_end_init: this side sleeps on wait_fd and wakes the
 * other side by writing 1 to wake_fd (both non-blocking eventfds, owned by the caller).
 */
void ring_end_eventfds(struct ring_end *e, int wait_fd, int wake_fd);

/**
 * Producer: copy len bytes in as one message. Blocks at most timeout_ns in all
 * while the ring is full (it holds at most size - RING_ALIGN bytes of pieces).
 * @return 0, -ETIMEDOUT or another negative errno.
 */
int ring_send(struct ring_end *e, const void *buf, size_t len, int64_t timeout_ns);

/**
 * Consumer: copy the next message into buf (cap bytes). Blocks at most
 * timeout_ns in all while the ring is empty. A message longer than cap is
 * drained and reported as -EMSGSIZE.
 * @return the message length, -ETIMEDOUT, -EMSGSIZE, -EPROTO (the ring holds
 * something no producer wrote) or another negative errno.
 */
ssize_t ring_recv(struct ring_end *e, void *buf, size_t cap, int64_t timeout_ns);

#endif
