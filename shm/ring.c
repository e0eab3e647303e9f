/* SPSC byte ring: pieces in, pieces out, and the four ways to wait for the other side. */
#include "ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "../ipc/sys_inline.h"

#define RING_POLLS 32                  /* polls between looks at the clock while spinning */
#define RING_SPIN_NS (20 * 1000)      /* adaptive: the least spin before sleeping, many cross-CPU round trips */
#define RING_SPIN_MAX_NS (1000 * 1000) /* adaptive: the most, well below a scheduler tick */
#define RING_YIELDS 4                  /* adaptive: then sched_yield() this often, then sleep */
#define RING_CHUNK_MAX ((uint64_t)256 * 1024) /* pieces small enough to pipeline a big message */

/* The word in front of every piece; 0 until the producer commits the piece. */
#define RING_WORD_USED 1u
#define RING_WORD_MORE 2u /* another piece of the same message follows */
#define RING_WORD_SHIFT 2 /* the piece's byte count sits above the flags */

/* The ring bytes a piece of n payload bytes takes: its word, the bytes, and padding to the next line. */
static uint64_t ring_rec(uint64_t n)
{
	return (RING_HDR + n + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

size_t ring_size_for(size_t msg_bytes)
{
	size_t size = RING_SIZE_MIN;
	while (size < RING_SIZE_MAX && size < 2 * ring_rec(msg_bytes))
		size *= 2;
	return size;
}

size_t ring_bytes(size_t size)
{
	return sizeof(struct ring) + size;
}

int ring_init(struct ring *r, size_t size, bool pshared)
{
	if (size < 4 * RING_LINE || (size & (size - 1)))
		return -EINVAL;
	r->size = size; /* a multiple of RING_ALIGN, so a piece's first line never wraps */
	atomic_init(&r->producer_cpu, -1);
	atomic_init(&r->consumer_cpu, -1);
	r->chunk = size / 2 < RING_CHUNK_MAX ? size / 2 : RING_CHUNK_MAX;
	if (sem_init(&r->items, pshared, 0) || sem_init(&r->room, pshared, 0))
		return -errno;
	return 0;
}

/*
 * The sleep protocol needs a StoreLoad fence on both sides (see
 * ring_wait_for), and the waker's side runs for every piece. membarrier()
 * moves that cost to the sleeper, which is about to sleep anyway: it makes
 * every CPU running a registered thread pass a full fence, so the waker's
 * store and load need only stay in program order. A process that cannot
 * register (an old kernel, a seccomp filter) wakes with fences instead.
 */
static bool ring_membarrier(bool shared, bool reg)
{
	int cmd = shared ? (reg ? MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED : MEMBARRIER_CMD_GLOBAL_EXPEDITED)
			 : (reg ? MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED : MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	return syscall(SYS_membarrier, cmd, 0, 0) == 0;
}

int ring_end_init(struct ring_end *e, struct ring *r, enum ring_wait wait, bool shared)
{
	if (r->size < 4 * RING_LINE || (r->size & (r->size - 1)) || r->chunk < RING_ALIGN ||
	    r->chunk > r->size / 2 || r->chunk % RING_ALIGN)
		return -EINVAL;
	*e = (struct ring_end){
		.r = r, .wait = wait, .shared = shared, .futex_flags = shared ? 0 : FUTEX_PRIVATE_FLAG,
		.size = r->size, .chunk = r->chunk, .spin_ns = RING_SPIN_NS,
		.light_wake = wait != RING_SPIN && ring_membarrier(shared, true),
	};
	return 0;
}

void ring_end_eventfds(struct ring_end *e, int wait_fd, int wake_fd)
{
	e->wait_fd = wait_fd;
	e->wake_fd = wake_fd;
}

static _Atomic uint64_t *ring_word(struct ring_end *e, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(e->r->data + (pos & (e->size - 1)));
}

/* Copy n bytes into the ring at pos, wrapping at its end. */
static void ring_put(struct ring_end *e, uint64_t pos, const void *src, size_t n)
{
	size_t at = pos & (e->size - 1), first = e->size - at;
	if (n <= first) {
		memcpy(e->r->data + at, src, n);
	} else {
		memcpy(e->r->data + at, src, first);
		memcpy(e->r->data, (const unsigned char *)src + first, n - first);
	}
}

/*
 * Write a piece's bytes at head: the lines after its first, then the first
 * line's share, so the stores to the line the consumer polls come last and
 * together, right before the word that commits them (one ownership transfer
 * of that line, not one for the bytes and another for the word).
 */
static void ring_put_piece(struct ring_end *e, uint64_t head, const unsigned char *src, size_t n)
{
	size_t in_first = n < RING_ALIGN - RING_HDR ? n : RING_ALIGN - RING_HDR;
	if (n > in_first)
		ring_put(e, head + RING_ALIGN, src + in_first, n - in_first);
	memcpy(e->r->data + (head & (e->size - 1)) + RING_HDR, src, in_first);
}

static void ring_get(struct ring_end *e, uint64_t pos, void *dst, size_t n)
{
	size_t at = pos & (e->size - 1), first = e->size - at;
	if (n <= first) {
		memcpy(dst, e->r->data + at, n);
	} else {
		memcpy(dst, e->r->data + at, first);
		memcpy((unsigned char *)dst + first, e->r->data, n - first);
	}
}

static void ring_start_clock(int64_t *deadline, int64_t timeout_ns)
{
	if (*deadline == 0)
		*deadline = now_ns() + timeout_ns;
}

static void ring_futex_wait(struct ring_end *e, _Atomic uint32_t *word, int64_t left_ns)
{
	struct timespec ts = { (time_t)(left_ns / NS_PER_S), (long)(left_ns % NS_PER_S) };
	/* The kernel reads the word itself: a wake that came first makes this return at once. */
	sys_futex((uint32_t *)word, FUTEX_WAIT | e->futex_flags, 1, &ts);
}

static void ring_futex_wake(struct ring_end *e, _Atomic uint32_t *word)
{
	sys_futex((uint32_t *)word, FUTEX_WAKE | e->futex_flags, 1, NULL);
}

/* Sleep until the other side writes our eventfd; a write that came first makes poll return at once. */
static void ring_eventfd_wait(struct ring_end *e, int64_t left_ns)
{
	struct timespec ts = { (time_t)(left_ns / NS_PER_S), (long)(left_ns % NS_PER_S) };
	struct pollfd p = { .fd = e->wait_fd, .events = POLLIN };
	uint64_t count;
	if (sys_ppoll(&p, 1, &ts) > 0)
		(void)!sys_read(e->wait_fd, &count, sizeof(count)); /* back to 0 for the next sleep */
}

static void ring_eventfd_wake(struct ring_end *e)
{
	uint64_t one = 1;
	(void)!sys_write(e->wake_fd, &one, sizeof(one));
}

static int ring_sem_wait(sem_t *s, int64_t timeout_ns, int64_t *deadline)
{
	if (sem_trywait(s) == 0)
		return 0;
	ring_start_clock(deadline, timeout_ns);
	struct timespec ts = { (time_t)(*deadline / NS_PER_S), (long)(*deadline % NS_PER_S) };
	while (sem_clockwait(s, CLOCK_MONOTONIC, &ts)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/*
 * RING_ADAPTIVE: how long to spin next time, from how long this wait took in
 * all (took_ns, from its first look at the clock). A peer that answered within
 * RING_SPIN_MAX_NS was busy on its CPU, not idle: spin twice that long next
 * time and the answer is caught without a wake-up (a 1 MiB round trip waits
 * ~50 us, past any fixed short spin). A longer wait means the peer had nothing
 * to send: back to the least spin, so an idle peer costs little CPU.
 */
static void ring_learn_spin(struct ring_end *e, int64_t took_ns)
{
	if (took_ns > RING_SPIN_MAX_NS)
		e->spin_ns = RING_SPIN_NS;
	else if (2 * took_ns > e->spin_ns)
		e->spin_ns = 2 * took_ns < RING_SPIN_MAX_NS ? 2 * took_ns : RING_SPIN_MAX_NS;
}

/*
 * RING_SPIN and RING_ADAPTIVE: poll *v until it reaches target (0), the
 * deadline passes (-ETIMEDOUT), or, adaptive, spinning stops paying (1): the
 * other side runs on this CPU, or it has not answered within e->spin_ns.
 * *began gets the time of the first look at the clock, 0 if there was none.
 */
static int ring_spin(struct ring_end *e, _Atomic uint64_t *v, uint64_t target, uint64_t *seen,
		     enum ring_role me, int64_t timeout_ns, int64_t *deadline, int64_t *began)
{
	int64_t spin_until = 0;
	for (unsigned n = 1;; n++) {
		spin_pause();
		if ((*seen = atomic_load_explicit(v, memory_order_acquire)) >= target)
			return 0;
		if (n % RING_POLLS)
			continue;
		int64_t t = now_ns();
		ring_start_clock(deadline, timeout_ns);
		if (t >= *deadline)
			return -ETIMEDOUT;
		if (e->wait == RING_SPIN)
			continue;
		if (!spin_until) {
			/* Spinning only helps when the other side runs on another CPU. */
			_Atomic int *other = me == RING_CONSUMER ? &e->r->producer_cpu : &e->r->consumer_cpu;
			*began = t;
			spin_until = atomic_load_explicit(other, memory_order_relaxed) == sched_getcpu()
				? t : t + e->spin_ns;
		}
		if (t >= spin_until)
			return 1;
	}
}

/*
 * Sleep until *v reaches target. The one subtle point: a sleeper stores its
 * flag, fences, then reads *v; the waker stores *v, fences, then reads the
 * flag (ring_store_then_wake); so at least one of them sees the other's store
 * and no wake-up is lost. The sleeper's fence is membarrier() when the
 * waker's is only a compiler barrier.
 */
static int ring_sleep(struct ring_end *e, _Atomic uint64_t *v, uint64_t target, uint64_t *seen,
		      enum ring_role me, int64_t timeout_ns, int64_t *deadline)
{
	struct ring *r = e->r;
	ring_start_clock(deadline, timeout_ns);
	_Atomic uint32_t *flag = &r->sleeping[me];
	int rc = 0;
	for (;;) {
		atomic_store(flag, 1);
		ring_membarrier(e->shared, false); /* fails harmlessly where the waker fences itself */
		if ((*seen = atomic_load(v)) >= target)
			break;
		int64_t left = *deadline - now_ns();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (e->wait == RING_ADAPTIVE)
			ring_futex_wait(e, flag, left); /* woken, timed out or interrupted: look again */
		else if (e->wait == RING_EVENTFD)
			ring_eventfd_wait(e, left);
		else if ((rc = ring_sem_wait(&r->room, timeout_ns, deadline)))
			break;
	}
	atomic_store_explicit(flag, 0, memory_order_relaxed);
	return rc;
}

/*
 * Wait until *v (the consumer's next piece word, or the producer's view of
 * tail) reaches target; *seen gets the value. Spin, adaptive: then yield, then
 * sleep; the others sleep at once.
 */
static int ring_wait_for(struct ring_end *e, _Atomic uint64_t *v, uint64_t target, uint64_t *seen,
			 enum ring_role me, int64_t timeout_ns, int64_t *deadline)
{
	int64_t began = 0;
	if (e->wait == RING_SPIN || e->wait == RING_ADAPTIVE) {
		int rc = ring_spin(e, v, target, seen, me, timeout_ns, deadline, &began);
		if (rc <= 0)
			return rc;
		for (int yields = 0; yields < RING_YIELDS; yields++) {
			sched_yield();
			if ((*seen = atomic_load_explicit(v, memory_order_acquire)) >= target)
				return 0;
		}
	}
	int rc = ring_sleep(e, v, target, seen, me, timeout_ns, deadline);
	if (began)
		ring_learn_spin(e, now_ns() - began);
	return rc;
}

/* RING_ADAPTIVE: note the CPU this side runs on, in its own line, for the other side's ring_wait_for. */
static void ring_note_cpu(_Atomic int *cpu)
{
	int now = sched_getcpu(); /* glibc reads it from rseq: no system call */
	if (atomic_load_explicit(cpu, memory_order_relaxed) != now)
		atomic_store_explicit(cpu, now, memory_order_relaxed);
}

/* Wake the other side if it announced it sleeps; mo is how hard to look. */
static void ring_wake(struct ring_end *e, enum ring_role who, memory_order mo)
{
	_Atomic uint32_t *flag = &e->r->sleeping[who];
	if (!atomic_load_explicit(flag, mo) || !atomic_exchange(flag, 0))
		return;
	if (e->wait == RING_SEM)
		sem_post(&e->r->room);
	else if (e->wait == RING_EVENTFD)
		ring_eventfd_wake(e);
	else
		ring_futex_wake(e, flag);
}

/* The waker's half of the sleep protocol: store v, then look whether the other side sleeps. */
static void ring_store_then_wake(struct ring_end *e, _Atomic uint64_t *dst, uint64_t v, enum ring_role who)
{
	if (e->light_wake) {
		atomic_store_explicit(dst, v, memory_order_release);
		atomic_signal_fence(memory_order_seq_cst); /* program order; the sleeper's membarrier fences */
		ring_wake(e, who, memory_order_relaxed);
	} else {
		atomic_store(dst, v);
		ring_wake(e, who, memory_order_seq_cst);
	}
}

/* Producer: commit a piece by storing its word. */
static void ring_commit(struct ring_end *e, _Atomic uint64_t *w, uint64_t word)
{
	if (e->wait == RING_ADAPTIVE || e->wait == RING_EVENTFD) {
		ring_store_then_wake(e, w, word, RING_CONSUMER);
		if (e->wait == RING_ADAPTIVE)
			ring_note_cpu(&e->r->producer_cpu);
		return;
	}
	atomic_store_explicit(w, word, memory_order_release);
	if (e->wait == RING_SEM)
		sem_post(&e->r->items); /* the textbook way: one post for every piece */
}

/* Consumer: hand the bytes up to tail back to the producer. */
static void ring_release(struct ring_end *e, uint64_t tail)
{
	atomic_store_explicit(&e->r->tail, tail, memory_order_release);
	/* A plain look is enough: before we wait, ring_show_tail looks again under the sleep protocol. */
	if (e->wait == RING_SPIN)
		return;
	ring_wake(e, RING_PRODUCER, memory_order_relaxed);
	if (e->wait == RING_ADAPTIVE)
		ring_note_cpu(&e->r->consumer_cpu);
}

/* Producer: wait until need bytes are free at head. */
static int ring_wait_room(struct ring_end *e, uint64_t head, uint64_t need, int64_t timeout_ns,
			  int64_t *deadline)
{
	struct ring *r = e->r;
	uint64_t target = head + need - e->size; /* tail must reach this */
	if (head + need <= e->size || r->tail_cache >= target)
		return 0;
	if ((r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire)) >= target)
		return 0;
	return ring_wait_for(e, &r->tail, target, &r->tail_cache, RING_PRODUCER, timeout_ns, deadline);
}

/* Consumer, about to wait: a producer waiting for room must see all we consumed (see ring_wait_for). */
static void ring_show_tail(struct ring_end *e, uint64_t tail)
{
	ring_store_then_wake(e, &e->r->tail, tail, RING_PRODUCER);
}

/* Consumer: wait until the piece at tail is committed; its word goes to *word. */
static int ring_wait_piece(struct ring_end *e, uint64_t tail, uint64_t *word, int64_t timeout_ns,
			   int64_t *deadline)
{
	struct ring *r = e->r;
	_Atomic uint64_t *w = ring_word(e, tail);
	if (e->wait == RING_SEM) {
		/* One wait per piece keeps the count equal to the pieces in the ring. */
		if (sem_trywait(&r->items)) {
			ring_show_tail(e, tail);
			int rc = ring_sem_wait(&r->items, timeout_ns, deadline);
			if (rc)
				return rc;
		}
		*word = atomic_load_explicit(w, memory_order_acquire);
		return *word ? 0 : -EPROTO; /* a post without a piece: the ring is corrupt */
	}
	if ((*word = atomic_load_explicit(w, memory_order_acquire)))
		return 0;
	if (e->wait != RING_SPIN)
		ring_show_tail(e, tail);
	return ring_wait_for(e, w, RING_WORD_USED, word, RING_CONSUMER, timeout_ns, deadline);
}

/*
 * A piece is [word][bytes][padding to the next line]. Before committing one,
 * the producer zeroes the word after it, so the consumer, arriving there,
 * reads 0 until the next piece is committed and never a stale word or stale
 * bytes from the previous lap. That word must be free too, so the ring holds
 * at most size - RING_ALIGN bytes. The zero is stored first, so its line's
 * ownership is on its way while the bytes are copied.
 */
int ring_send(struct ring_end *e, const void *buf, size_t len, int64_t timeout_ns)
{
	struct ring *r = e->r;
	const unsigned char *src = buf;
	uint64_t head = r->head, max = e->chunk - RING_HDR;
	int64_t deadline = 0;
	size_t left = len;
	do {
		size_t n = left < max ? left : (size_t)max;
		uint64_t rec = ring_rec(n);
		int rc = ring_wait_room(e, head, rec + RING_HDR, timeout_ns, &deadline);
		if (rc)
			return rc;
		atomic_store_explicit(ring_word(e, head + rec), 0, memory_order_relaxed);
		ring_put_piece(e, head, src, n);
		src += n;
		left -= n;
		uint64_t word = (uint64_t)n << RING_WORD_SHIFT | (left ? RING_WORD_MORE : 0) | RING_WORD_USED;
		ring_commit(e, ring_word(e, head), word);
		r->head = head += rec;
	} while (left);
	return 0;
}

ssize_t ring_recv(struct ring_end *e, void *buf, size_t cap, int64_t timeout_ns)
{
	struct ring *r = e->r;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed), word;
	size_t got = 0;
	int64_t deadline = 0;
	do {
		int rc = ring_wait_piece(e, tail, &word, timeout_ns, &deadline);
		if (rc)
			return rc;
		size_t n = word >> RING_WORD_SHIFT;
		if (n > e->chunk - RING_HDR)
			return -EPROTO; /* not a word a producer wrote: the ring is corrupt */
		if (got + n <= cap)
			ring_get(e, tail + RING_HDR, (unsigned char *)buf + got, n);
		got += n;
		tail += ring_rec(n);
		ring_release(e, tail);
	} while (word & RING_WORD_MORE);
	return got <= cap ? (ssize_t)got : -EMSGSIZE;
}
