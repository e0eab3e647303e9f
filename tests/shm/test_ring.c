/* The SPSC ring: wrap-around, full and empty, big messages, a million random messages, a killed peer, a skipped copy. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"
#include "clock.h"
#include "msg.h"
#include "ipc/names.h"
#include "shm/ring.h"

#define SMALL_RING 512 /* the smallest ring: every test wraps it often */
#define MS (INT64_C(1000000))

extern const struct transport_ops shm_ops, shm_spin_ops, shm_sem_ops;

static const enum ring_wait waits[] = { RING_SPIN, RING_ADAPTIVE, RING_SEM };

static uint64_t splitmix(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* A ring in private memory (threads) or in an anonymous shared mapping (processes). */
static struct ring *ring_new(size_t size, bool shared)
{
	size_t bytes = ring_bytes(size);
	void *m = shared ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
			 : aligned_alloc(RING_LINE, bytes);
	assert_true(m != NULL && m != MAP_FAILED);
	memset(m, 0, bytes);
	assert_int_equal(ring_init(m, size, shared), 0);
	return m;
}

static void ring_free(struct ring *r, bool shared)
{
	if (shared)
		munmap(r, ring_bytes(r->size));
	else
		free(r);
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

/* One message of len bytes through a ring whose head and tail start at off. */
static void one_at(size_t off, size_t len, unsigned char *in, unsigned char *out)
{
	struct ring *r = ring_new(SMALL_RING, false);
	struct ring_end tx, rx;
	assert_int_equal(ring_end_init(&tx, r, RING_SPIN, false), 0);
	assert_int_equal(ring_end_init(&rx, r, RING_SPIN, false), 0);
	for (size_t at = 0; at < off; at += RING_ALIGN) { /* empty messages take one line each */
		assert_int_equal(ring_send(&tx, in, 0, MS), 0);
		assert_int_equal(ring_recv(&rx, out, SMALL_RING, MS), 0);
	}
	fill_pattern(in, len, off + len);
	memset(out, 0xee, len + 1);
	assert_int_equal(ring_send(&tx, in, len, MS), 0);
	assert_int_equal(ring_recv(&rx, out, len + 1, MS), (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(out[len], 0xee); /* nothing written past the message */
	assert_int_equal(r->head, atomic_load(&r->tail));
	ring_free(r, false);
}

/*
 * Every start line, with lengths that end at every byte of a word, that fill
 * the first line exactly or by one byte more, and that need two pieces.
 */
static void test_wrap_every_offset(void **state)
{
	(void)state;
	unsigned char in[SMALL_RING], out[SMALL_RING + 1];
	size_t lens[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 55, 56, 57, 63, 64, 65, 100, 119, 120, 121,
			  127, 128, 129,
			  SMALL_RING / 2 - RING_HDR,                     /* the largest single piece */
			  SMALL_RING / 2 - RING_HDR + 1,                 /* the smallest with two */
			  SMALL_RING - RING_ALIGN - 2 * RING_HDR };      /* two pieces, filling the ring */
	for (size_t off = 0; off < SMALL_RING; off += RING_ALIGN)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			one_at(off, lens[i], in, out);
}

/* Full is size - RING_ALIGN bytes of pieces in flight; empty and full both time out, for every wait. */
static void test_full_and_empty(void **state)
{
	(void)state;
	unsigned char buf[64] = { 0 };
	size_t one_line = RING_ALIGN - RING_HDR; /* the most a one-line piece holds */
	int fit = SMALL_RING / RING_ALIGN - 1;   /* one-line pieces that fill the ring */
	for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
		struct ring *r = ring_new(SMALL_RING, false);
		struct ring_end tx, rx;
		assert_int_equal(ring_end_init(&tx, r, waits[w], false), 0);
		assert_int_equal(ring_end_init(&rx, r, waits[w], false), 0);
		assert_int_equal(ring_recv(&rx, buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
		for (int i = 0; i < fit; i++) {
			buf[0] = (unsigned char)i;
			assert_int_equal(ring_send(&tx, buf, i == fit - 1 ? 1 : one_line, MS), 0);
		}
		assert_int_equal(r->head - atomic_load(&r->tail), SMALL_RING - RING_ALIGN);
		assert_int_equal(ring_send(&tx, buf, 0, 20 * MS), -ETIMEDOUT);
		assert_int_equal(ring_recv(&rx, buf, sizeof(buf), MS), (ssize_t)one_line);
		assert_int_equal(buf[0], 0);
		assert_int_equal(ring_send(&tx, buf, one_line + 1, 20 * MS), -ETIMEDOUT); /* a line too many */
		buf[0] = 99;
		assert_int_equal(ring_send(&tx, buf, one_line, MS), 0);
		assert_int_equal(r->head - atomic_load(&r->tail), SMALL_RING - RING_ALIGN);
		for (int i = 1; i <= fit; i++) {
			assert_int_equal(ring_recv(&rx, buf, sizeof(buf), MS), i == fit - 1 ? 1 : (ssize_t)one_line);
			assert_int_equal(buf[0], i < fit ? i : 99);
		}
		assert_int_equal(ring_recv(&rx, buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
		assert_int_equal(r->head, atomic_load(&r->tail));
		ring_free(r, false);
	}
}

/* Move an empty ring's head and tail forward by off bytes (a multiple of RING_ALIGN). */
static void advance(struct ring_end *tx, struct ring_end *rx, size_t off, unsigned char *scratch)
{
	while (off > 0) {
		size_t step = off < tx->chunk ? off : tx->chunk;
		assert_int_equal(ring_send(tx, scratch, step - RING_HDR, MS), 0);
		assert_int_equal(ring_recv(rx, scratch, step, MS), (ssize_t)(step - RING_HDR));
		off -= step;
	}
}

/* Large pieces, wrapping a few lines on either side of the end, and ending at it. */
static void test_large_piece_wrap(void **state)
{
	(void)state;
	enum { SIZE = 256 * 1024, LEN = 100 * 1024 + 3 };
	size_t rec = (RING_HDR + LEN + RING_ALIGN - 1) / RING_ALIGN * RING_ALIGN; /* the ring bytes it takes */
	unsigned char *in = malloc(LEN), *out = malloc(LEN + 1), *scratch = malloc(SIZE);
	for (size_t k = RING_ALIGN; k <= 4 * RING_ALIGN; k += RING_ALIGN) {
		/* the piece starting k bytes before the end, then ending k - RING_ALIGN bytes past it */
		size_t heads[] = { SIZE - k, SIZE + k - RING_ALIGN - rec };
		for (int h = 0; h < 2; h++) {
			struct ring *r = ring_new(SIZE, false);
			struct ring_end tx, rx;
			assert_int_equal(ring_end_init(&tx, r, RING_SPIN, false), 0);
			assert_int_equal(ring_end_init(&rx, r, RING_SPIN, false), 0);
			advance(&tx, &rx, heads[h], scratch);
			fill_pattern(in, LEN, k + (size_t)h);
			memset(out, 0xee, LEN + 1);
			assert_int_equal(ring_send(&tx, in, LEN, MS), 0);
			assert_int_equal(ring_recv(&rx, out, LEN + 1, MS), LEN);
			assert_memory_equal(in, out, LEN);
			assert_int_equal(out[LEN], 0xee);
			ring_free(r, false);
		}
	}
	free(in);
	free(out);
	free(scratch);
}

/* A receive buffer too small: the message is drained and the next one is intact. */
static void test_too_big_for_buffer(void **state)
{
	(void)state;
	unsigned char in[300], out[300];
	struct ring *r = ring_new(SMALL_RING, false);
	struct ring_end tx, rx;
	assert_int_equal(ring_end_init(&tx, r, RING_ADAPTIVE, false), 0);
	assert_int_equal(ring_end_init(&rx, r, RING_ADAPTIVE, false), 0);
	fill_pattern(in, sizeof(in), 1);
	assert_int_equal(ring_send(&tx, in, 300, MS), 0);
	assert_int_equal(ring_send(&tx, in, 10, MS), 0);
	assert_int_equal(ring_recv(&rx, out, 299, MS), -EMSGSIZE);
	assert_int_equal(ring_recv(&rx, out, 299, MS), 10);
	assert_memory_equal(in, out, 10);
	ring_free(r, false);
}

/* The far side of a two-thread test: receive count messages of the given lengths and check them. */
struct big_arg {
	struct ring_end *rx;
	const size_t *lens;
	int count;
	int bad;
};

static void *big_receiver(void *p)
{
	struct big_arg *a = p;
	unsigned char *want = malloc(1 << 20), *got = malloc(1 << 20);
	for (int i = 0; i < a->count; i++) {
		fill_pattern(want, a->lens[i], (uint64_t)i);
		ssize_t n = ring_recv(a->rx, got, 1 << 20, 5000 * MS);
		if (n != (ssize_t)a->lens[i] || memcmp(want, got, a->lens[i]) != 0)
			a->bad++;
	}
	free(want);
	free(got);
	return NULL;
}

/* Messages larger than the ring go through in pieces while the other side drains them. */
static void test_larger_than_ring(void **state)
{
	(void)state;
	static const size_t lens[] = { SMALL_RING, SMALL_RING + 1, 3 * SMALL_RING - 5, 4096, 65536 + 3, 1 << 20, 7 };
	int count = sizeof(lens) / sizeof(lens[0]);
	unsigned char *in = malloc(1 << 20);
	for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
		struct ring *r = ring_new(SMALL_RING, false);
		struct ring_end tx, rx;
		assert_int_equal(ring_end_init(&tx, r, waits[w], false), 0);
		assert_int_equal(ring_end_init(&rx, r, waits[w], false), 0);
		struct big_arg a = { &rx, lens, count, 0 };
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, big_receiver, &a), 0);
		for (int i = 0; i < count; i++) {
			fill_pattern(in, lens[i], (uint64_t)i);
			assert_int_equal(ring_send(&tx, in, lens[i], 5000 * MS), 0);
		}
		pthread_join(t, NULL);
		assert_int_equal(a.bad, 0);
		ring_free(r, false);
	}
	free(in);
}

/*
 * The stress: STRESS_MSGS messages of random sizes (mostly small, one in 512
 * larger than the ring), each carrying its sequence number and a checksum of
 * its random payload; the receiver knows the size sequence from the shared seed.
 */
#define STRESS_MSGS 1000000
#define STRESS_RING 4096
#define STRESS_MAX (4 * STRESS_RING)

struct stress_result {
	uint64_t received;
	uint64_t bad_len, bad_seq, bad_sum;
	int rc; /* the first error, or 0 */
};

static size_t stress_len(uint64_t *sizes)
{
	uint64_t x = splitmix(sizes);
	return (x & 511) == 0 ? STRESS_RING + (size_t)(x >> 20) % (STRESS_MAX - STRESS_RING)
			      : (size_t)(x >> 20) % 160;
}

static int stress_send(struct ring_end *tx, uint64_t seed)
{
	unsigned char *buf = malloc(STRESS_MAX);
	uint64_t sizes = seed, bytes = seed ^ 0xabcdef;
	int rc = 0;
	for (uint64_t seq = 0; seq < STRESS_MSGS && !rc; seq++) {
		size_t len = stress_len(&sizes);
		if (len >= 16) {
			for (size_t i = 16; i < len; i += 8) {
				uint64_t v = splitmix(&bytes);
				memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
			}
			uint64_t sum = msg_payload_sum(buf + 16, len - 16) ^ seq;
			memcpy(buf, &seq, 8);
			memcpy(buf + 8, &sum, 8);
		} else {
			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)(seq >> (8 * (i % 8))) ^ (unsigned char)i;
		}
		rc = ring_send(tx, buf, len, 10000 * MS);
	}
	free(buf);
	return rc;
}

static void stress_recv(struct ring_end *rx, uint64_t seed, struct stress_result *res)
{
	unsigned char *buf = malloc(STRESS_MAX);
	uint64_t sizes = seed;
	for (uint64_t seq = 0; seq < STRESS_MSGS; seq++) {
		size_t len = stress_len(&sizes);
		ssize_t n = ring_recv(rx, buf, STRESS_MAX, 10000 * MS);
		if (n < 0) {
			res->rc = (int)n;
			break;
		}
		res->received++;
		if ((size_t)n != len) {
			res->bad_len++;
			continue;
		}
		uint64_t got_seq, got_sum;
		if (len >= 16) {
			memcpy(&got_seq, buf, 8);
			memcpy(&got_sum, buf + 8, 8);
			res->bad_seq += got_seq != seq;
			res->bad_sum += got_sum != (msg_payload_sum(buf + 16, len - 16) ^ seq);
		} else {
			for (size_t i = 0; i < len; i++)
				if (buf[i] != ((unsigned char)(seq >> (8 * (i % 8))) ^ (unsigned char)i)) {
					res->bad_seq++;
					break;
				}
		}
	}
	free(buf);
}

struct stress_thread {
	struct ring_end *rx;
	uint64_t seed;
	struct stress_result res;
};

static void *stress_thread_main(void *p)
{
	struct stress_thread *t = p;
	stress_recv(t->rx, t->seed, &t->res);
	return NULL;
}

static void stress_check(const struct stress_result *res, int send_rc, enum ring_wait w, const char *how)
{
	if (res->rc || send_rc || res->received != STRESS_MSGS || res->bad_len || res->bad_seq || res->bad_sum)
		print_error("%s, wait %d: send rc %d, receive rc %d, %llu received, bad: %llu len %llu seq %llu sum\n",
			    how, (int)w, send_rc, res->rc, (unsigned long long)res->received,
			    (unsigned long long)res->bad_len, (unsigned long long)res->bad_seq,
			    (unsigned long long)res->bad_sum);
	assert_int_equal(send_rc, 0);
	assert_int_equal(res->rc, 0);
	assert_int_equal(res->received, STRESS_MSGS);
	assert_int_equal(res->bad_len + res->bad_seq + res->bad_sum, 0);
}

static void test_stress_threads(void **state)
{
	(void)state;
	for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
		struct ring *r = ring_new(STRESS_RING, false);
		struct ring_end tx, rx;
		assert_int_equal(ring_end_init(&tx, r, waits[w], false), 0);
		assert_int_equal(ring_end_init(&rx, r, waits[w], false), 0);
		struct stress_thread t = { .rx = &rx, .seed = 42 + w };
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, stress_thread_main, &t), 0);
		int rc = stress_send(&tx, t.seed);
		pthread_join(th, NULL);
		stress_check(&t.res, rc, waits[w], "threads");
		ring_free(r, false);
	}
}

static void test_stress_processes(void **state)
{
	(void)state;
	for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
		struct ring *r = ring_new(STRESS_RING, true);
		struct stress_result *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
						 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(res != MAP_FAILED);
		memset(res, 0, sizeof(*res));
		uint64_t seed = 7 + w;
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct ring_end rx;
			if (ring_end_init(&rx, r, waits[w], true))
				_exit(1);
			stress_recv(&rx, seed, res);
			_exit(0);
		}
		struct ring_end tx;
		assert_int_equal(ring_end_init(&tx, r, waits[w], true), 0);
		int rc = stress_send(&tx, seed);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		stress_check(res, rc, waits[w], "processes");
		munmap(res, sizeof(*res));
		ring_free(r, true);
	}
}

/*
 * Both sides stop now and then for up to 300 us, long past the adaptive spin,
 * so each keeps going to sleep on a full or an empty ring: a lost wake-up
 * would show as a timeout.
 */
#define SLEEPY_MSGS 20000

static void sleepy_pause(uint64_t *rng)
{
	uint64_t x = splitmix(rng);
	if ((x & 31) == 0)
		nanosleep(&(struct timespec){ 0, (long)((x >> 8) % 300000) }, NULL);
}

static int sleepy_side(struct ring_end *end, bool send, uint64_t seed)
{
	unsigned char *buf = malloc(3000), *want = malloc(3000);
	uint64_t sizes = seed, pauses = seed * 3 + (send ? 1 : 2);
	int bad = 0;
	for (uint64_t seq = 0; seq < SLEEPY_MSGS && !bad; seq++) {
		size_t len = (size_t)(splitmix(&sizes) % 3000);
		fill_pattern(want, len, seq);
		if (send)
			bad = ring_send(end, want, len, 2000 * MS) != 0;
		else
			bad = ring_recv(end, buf, 3000, 2000 * MS) != (ssize_t)len || memcmp(buf, want, len) != 0;
		sleepy_pause(&pauses);
	}
	free(buf);
	free(want);
	return bad;
}

struct sleepy_thread {
	struct ring_end *rx;
	uint64_t seed;
	int bad;
};

static void *sleepy_thread_main(void *p)
{
	struct sleepy_thread *t = p;
	t->bad = sleepy_side(t->rx, false, t->seed);
	return NULL;
}

static void test_sleepy_peers(void **state)
{
	(void)state;
	for (size_t w = 1; w < sizeof(waits) / sizeof(waits[0]); w++) { /* the two that sleep */
		for (int shared = 0; shared < 2; shared++) {
			struct ring *r = ring_new(STRESS_RING, shared);
			struct ring_end tx, rx;
			assert_int_equal(ring_end_init(&tx, r, waits[w], shared), 0);
			assert_int_equal(ring_end_init(&rx, r, waits[w], shared), 0);
			struct sleepy_thread t = { .rx = &rx, .seed = 99 + w };
			pthread_t th;
			pid_t pid = -1;
			if (shared) {
				fflush(NULL);
				pid = fork();
				assert_true(pid >= 0);
				if (pid == 0)
					_exit(sleepy_side(&rx, false, t.seed));
			} else {
				assert_int_equal(pthread_create(&th, NULL, sleepy_thread_main, &t), 0);
			}
			int bad = sleepy_side(&tx, true, t.seed);
			if (shared) {
				int status;
				assert_int_equal(waitpid(pid, &status, 0), pid);
				t.bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
			} else {
				pthread_join(th, NULL);
			}
			assert_int_equal(bad, 0);
			assert_int_equal(t.bad, 0);
			ring_free(r, shared);
		}
	}
}

/*
 * A peer that is busy on another CPU and answers every 100 us is waited for by
 * spinning once the consumer has seen how long it takes: past the first few
 * messages, the consumer goes to sleep (a voluntary context switch) for few of
 * them. A fixed 20 us spin slept for every one, and paid a wake-up each time.
 */
#define BUSY_MSGS 300
#define BUSY_WARMUP 20
#define BUSY_GAP_NS (100 * 1000)

struct busy_peer {
	struct ring_end *tx;
	int cpu;
	int rc;
};

static void pin_to(int cpu)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

static void *busy_peer_main(void *p)
{
	struct busy_peer *b = p;
	unsigned char byte = 0;
	pin_to(b->cpu);
	for (int i = 0; i < BUSY_MSGS && !b->rc; i++) {
		int64_t until = now_ns() + BUSY_GAP_NS;
		while (now_ns() < until)
			spin_pause(); /* running, not asleep: what spinning waits for */
		b->rc = ring_send(b->tx, &byte, 1, 1000 * MS);
	}
	return NULL;
}

static long voluntary_switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

static void test_adaptive_spins_for_busy_peer(void **state)
{
	(void)state;
	cpu_set_t was;
	int cpu[2], n = 0;
	assert_int_equal(sched_getaffinity(0, sizeof(was), &was), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &was))
			cpu[n++] = c;
	if (n < 2)
		skip(); /* one CPU: the ring rightly sleeps at once */
	struct ring *r = ring_new(STRESS_RING, false);
	struct ring_end tx, rx;
	assert_int_equal(ring_end_init(&tx, r, RING_ADAPTIVE, false), 0);
	assert_int_equal(ring_end_init(&rx, r, RING_ADAPTIVE, false), 0);
	pin_to(cpu[0]);
	struct busy_peer b = { .tx = &tx, .cpu = cpu[1] };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, busy_peer_main, &b), 0);
	unsigned char byte;
	long sleeps = 0;
	for (int i = 0; i < BUSY_MSGS; i++) {
		if (i == BUSY_WARMUP)
			sleeps = -voluntary_switches();
		assert_int_equal(ring_recv(&rx, &byte, 1, 1000 * MS), 1);
	}
	sleeps += voluntary_switches();
	pthread_join(t, NULL);
	sched_setaffinity(0, sizeof(was), &was);
	if (sleeps >= (BUSY_MSGS - BUSY_WARMUP) / 4)
		print_error("slept for %ld of %d messages from a busy peer\n", sleeps, BUSY_MSGS - BUSY_WARMUP);
	assert_int_equal(b.rc, 0);
	assert_true(sleeps < (BUSY_MSGS - BUSY_WARMUP) / 4);
	ring_free(r, false);
}

/*
 * An injected skipped piece is caught: the ring delivers every message whole,
 * then for every other message after the first few the consumer keeps only
 * part of it, leaving the rest of its buffer as the previous message left it
 * (a receive that skipped part of its copy). Skipped are the tail after the
 * first 64 bytes, one cache line in the middle, or the second of the ring's
 * pieces. msg_check with full=true counts each such message corrupt, and each
 * whole one intact.
 */
#define SKIP_MSGS 64
#define SKIP_FROM 4 /* whole messages first, so the buffer holds a previous message */

enum skip_shape { SKIP_TAIL, SKIP_LINE, SKIP_PIECE };

struct skip_sender {
	struct ring_end *tx;
	size_t len;
	int rc;
};

static void *skip_sender_main(void *p)
{
	struct skip_sender *s = p;
	unsigned char *buf = malloc(s->len);
	struct msg_gen g;
	msg_gen_init(&g, buf, s->len, 0x5c1b ^ s->len);
	for (uint64_t seq = 0; seq < SKIP_MSGS && !s->rc; seq++) {
		msg_stamp(&g, seq);
		s->rc = ring_send(s->tx, buf, s->len, 5000 * MS);
	}
	free(buf);
	return NULL;
}

/* The bytes [*from, *to) of a len-byte message that a cut receive leaves uncopied. */
static void skip_range(enum skip_shape shape, size_t len, size_t piece, size_t *from, size_t *to)
{
	switch (shape) {
	case SKIP_TAIL: *from = 64, *to = len; break;
	case SKIP_LINE: *from = len / 128 * 64, *to = *from + 64; break; /* a whole line near the middle */
	case SKIP_PIECE: *from = piece, *to = 2 * piece < len ? 2 * piece : len; break;
	}
}

static void test_skipped_piece_is_corrupt(void **state)
{
	(void)state;
	/* one piece; many pieces; larger than the whole ring */
	static const size_t lens[] = { 200, 4096, 3 * SMALL_RING - 5 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (int shape = SKIP_TAIL; shape <= SKIP_PIECE; shape++) {
			size_t len = lens[l];
			struct ring *r = ring_new(SMALL_RING, false);
			struct ring_end tx, rx;
			assert_int_equal(ring_end_init(&tx, r, RING_ADAPTIVE, false), 0);
			assert_int_equal(ring_end_init(&rx, r, RING_ADAPTIVE, false), 0);
			size_t piece = rx.chunk - RING_HDR; /* the bytes of a message's first piece */
			if (shape == SKIP_PIECE && len <= piece) {
				ring_free(r, false);
				continue; /* one piece: nothing to skip but all of it */
			}
			struct skip_sender s = { .tx = &tx, .len = len };
			pthread_t t;
			assert_int_equal(pthread_create(&t, NULL, skip_sender_main, &s), 0);
			unsigned char *in = malloc(len), *buf = calloc(1, len);
			struct msg_check chk = { 0 };
			uint64_t altered = 0, wrong = 0;
			for (uint64_t seq = 0; seq < SKIP_MSGS; seq++) {
				ssize_t n = ring_recv(&rx, in, len, 5000 * MS);
				assert_int_equal(n, (ssize_t)len);
				size_t from = len, to = len;
				if (seq >= SKIP_FROM && seq % 2)
					skip_range((enum skip_shape)shape, len, piece, &from, &to);
				memcpy(buf, in, from);
				memcpy(buf + to, in + to, len - to);
				altered += to > from;
				bool intact = msg_check(&chk, buf, (size_t)n, len, true);
				if (intact != (to == from) && wrong++ < 3)
					print_error("%zu B, shape %d, message %llu (bytes %zu..%zu skipped): msg_check says %s\n",
						    len, shape, (unsigned long long)seq, from, to, intact ? "intact" : "bad");
			}
			pthread_join(t, NULL);
			assert_int_equal(s.rc, 0);
			assert_int_equal(wrong, 0);
			assert_int_equal(chk.errors.corrupt, altered);
			assert_int_equal(chk.errors.lost + chk.errors.duplicate + chk.errors.reordered, 0);
			assert_true(altered >= (SKIP_MSGS - SKIP_FROM) / 2);
			free(in);
			free(buf);
			ring_free(r, false);
		}
}

/*
 * Our shm objects among the leftovers: other programs on the machine may come
 * and go with names of their own (other ipcbench runs), so compare only ours.
 */
static char *our_leftovers(void)
{
	char *all = leftovers_snapshot(), *ours = calloc(1, strlen(all) + 1), *save;
	for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "/dev/shm/" TP_NAME_PREFIX "shm-", strlen("/dev/shm/" TP_NAME_PREFIX "shm-")) == 0)
			strcat(strcat(ours, line), "\n");
	free(all);
	return ours;
}

static void assert_no_new_shm(char *before)
{
	char *after = our_leftovers();
	if (strcmp(before, after) != 0)
		print_error("/dev/shm before:\n%safter:\n%s", before, after);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/*
 * A peer killed while we wait in the ring (on the futex, the semaphore, or
 * spinning) is an error after the timeout, and the object is gone from
 * /dev/shm. room: we wait for room (the peer stopped draining), else for data.
 */
static void kill_peer_while_waiting(const struct transport_ops *ops, bool room)
{
	char *before = our_leftovers();
	struct tp_params p = { .msg_bytes = 1024, .timeout_ns = 300 * MS };
	struct tp_err err = { { 0 } };
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	unsigned char buf[1024] = { 0 };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *peer = calloc(1, ops->end_size);
		if (ops->attach(st, peer, TP_SIDE_B, &p, &err))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		nanosleep(&(struct timespec){ 0, 50 * MS }, NULL); /* the other side is waiting by now */
		raise(SIGKILL);
		_exit(1);
	}
	assert_int_equal(ops->attach(st, end, TP_SIDE_A, &p, &err), 0);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	ops->unlink_names(st);
	int64_t t0 = now_ns();
	if (room) {
		int rc, sent = 0;
		while ((rc = ops->send(end, buf, sizeof(buf), p.timeout_ns)) == 0)
			sent++;
		assert_int_equal(rc, -ETIMEDOUT);
		assert_true(sent > 0);
	} else {
		assert_int_equal(ops->recv(end, buf, sizeof(buf), sizeof(buf), p.timeout_ns), -ETIMEDOUT);
	}
	assert_true(now_ns() - t0 >= p.timeout_ns); /* it waited the whole timeout, past the death */
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(ready[0]);
	close(ready[1]);
	ops->detach(end);
	ops->teardown(st);
	free(end);
	free(st);
	assert_no_new_shm(before);
}

static void test_killed_peer_futex(void **state)
{
	(void)state;
	kill_peer_while_waiting(&shm_ops, false);
	kill_peer_while_waiting(&shm_ops, true);
}

static void test_killed_peer_sem(void **state)
{
	(void)state;
	kill_peer_while_waiting(&shm_sem_ops, false);
	kill_peer_while_waiting(&shm_sem_ops, true);
}

static void test_killed_peer_spin(void **state)
{
	(void)state;
	kill_peer_while_waiting(&shm_spin_ops, false);
	kill_peer_while_waiting(&shm_spin_ops, true);
}

/* A full /dev/shm fails setup with a reason, and leaves nothing behind (a 1 MiB tmpfs in a private mount namespace). */
static void test_full_dev_shm(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777"))
			_exit(77); /* no right to make a mount namespace here */
		struct tp_params p = { .msg_bytes = 1024 * 1024, .timeout_ns = 100 * MS };
		struct tp_err err = { { 0 } };
		void *st = calloc(1, shm_ops.state_size);
		int rc = shm_ops.setup(st, &p, &err);
		shm_ops.teardown(st);
		DIR *d = opendir("/dev/shm");
		int left = 0;
		for (struct dirent *e; d && (e = readdir(d));)
			left += e->d_name[0] != '.';
		if (d)
			closedir(d);
		if (rc != -ENOSPC || !strstr(err.msg, "/dev/shm") || left)
			_exit(1);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Teardown and detach are safe on zeroed state and after a setup that never reached attach. */
static void test_half_set_up(void **state)
{
	(void)state;
	char *before = our_leftovers();
	const struct transport_ops *all[] = { &shm_ops, &shm_spin_ops, &shm_sem_ops };
	for (size_t i = 0; i < 3; i++) {
		void *st = calloc(1, all[i]->state_size), *end = calloc(1, all[i]->end_size);
		all[i]->detach(end);
		all[i]->teardown(st);
		struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
		struct tp_err err = { { 0 } };
		assert_int_equal(all[i]->setup(st, &p, &err), 0);
		all[i]->teardown(st);
		all[i]->teardown(st);
		free(end);
		free(st);
	}
	assert_no_new_shm(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_every_offset),
		cmocka_unit_test(test_full_and_empty),
		cmocka_unit_test(test_large_piece_wrap),
		cmocka_unit_test(test_too_big_for_buffer),
		cmocka_unit_test(test_larger_than_ring),
		cmocka_unit_test(test_stress_threads),
		cmocka_unit_test(test_stress_processes),
		cmocka_unit_test(test_sleepy_peers),
		cmocka_unit_test(test_adaptive_spins_for_busy_peer),
		cmocka_unit_test(test_skipped_piece_is_corrupt),
		cmocka_unit_test(test_killed_peer_futex),
		cmocka_unit_test(test_killed_peer_sem),
		cmocka_unit_test(test_killed_peer_spin),
		cmocka_unit_test(test_full_dev_shm),
		cmocka_unit_test(test_half_set_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
