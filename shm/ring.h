/* A single-producer single-consumer ring of variable-size messages, for shared memory or threads. */
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
 * to 8]. The word holds the piece's length and is written last, so the
 * consumer polls the word where the next piece will start: the data and the
 * signal arrive on the same cache line, and nothing else crosses between the
 * CPUs for a small message. The consumer publishes tail so the producer knows
 * what it may overwrite; the producer keeps its head to itself. A message
 * longer than ring->chunk goes in several pieces, so the consumer copies one
 * out while the producer writes the next, and a message larger than the
 * whole ring passes through it.
 *
 * The ring works in any memory: a MAP_SHARED mapping two processes hold (the
 * atomics are lock-free and address-free, the semaphores process-shared) or
 * plain process memory shared by two threads. It holds no pointers.
 */

#define RING_LINE 128 /* two 64-byte lines: the adjacent-line prefetcher pulls pairs */
#define RING_HDR 8    /* the word in front of every piece */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	       "the ring lives in shared memory: its atomics must be lock-free");

/* How a side waits when the ring is empty (consumer) or full (producer). */
enum ring_wait {
	RING_SPIN,     /* busy-poll until the deadline: lowest latency, burns a CPU */
	RING_ADAPTIVE, /* spin a little, then sched_yield, then sleep on a futex */
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
 * while the ring is full (it holds at most size - 8 bytes of pieces).
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

/* A busy-wait's pause: gives the sibling hyperthread the core and saves power. */
static inline void ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif
