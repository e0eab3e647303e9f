/* races: increments lost without a lock, none with an atomic or a mutex, none shared across fork; a deadlock, detected. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "model.h"
#include "model_util.h"
#include "topology.h"
#include "parse.h"
#include "runner.h"

#define RACE_N (1u << 20)        /* increments per thread in one run, unless its time slice ends first */
#define RACE_CHUNK 1024          /* increments between two looks at the stop flag */
#define RACE_MAX_ATTEMPTS 20     /* unsynchronised runs before "not observed" */
#define RACE_COUNT_SHARE 0.70    /* of the budget: the counting runs; the rest is fork and the deadlock */
#define RACE_RUNS 7              /* counting runs planned: 1 racy pair (more only when it loses none), 3 alone, 2 pairs */
#define RACE_MIN_SLICE_NS (10 * 1000000LL)
#define RACE_LOCK_WAIT_NS (50 * 1000000LL) /* the deadlock's timedlock timeout, before budget scaling */
#define RACE_MIN_LOCK_WAIT_NS (10 * 1000000LL)

enum race_kind { RACE_PLAIN, RACE_ATOMIC, RACE_MUTEX };

static const char *const race_keys[] = { "unsynchronised", "atomic", "mutex" };

struct race_run;

/* One counting thread: its CPU, and how many increments it made in how long. */
struct race_thread {
	struct race_run *r;
	int cpu;
	uint64_t done;
	int64_t elapsed_ns;
};

/* One counting run: the counter, the lock of the mutex kind, the flags that start and stop it, its threads. */
struct race_run {
	_Alignas(64) volatile _Atomic uint64_t counter;
	_Alignas(64) _Atomic int ready;
	_Atomic int go;
	_Atomic int stop;
	_Atomic int finished;
	pthread_mutex_t lock;
	enum race_kind kind;
	uint64_t n;
	int64_t deadline_ns;
	struct race_thread th[2];
};

/*
 * The racy increment is a load and a store, written as two relaxed atomic
 * operations on a volatile object: volatile keeps the compiler from merging
 * a chunk of them into one add of 1024 (which would hide the race), and the
 * relaxed atomics keep the program free of undefined behaviour (a plain ++
 * from two threads would be a data race in C's terms). Nothing orders the
 * load against the other thread's store, so both threads can load the same
 * value and store the same value + 1: one increment is lost. A single
 * atomic_fetch_add would be one indivisible read-modify-write and lose none.
 */
static inline void race_plain_increment(volatile _Atomic uint64_t *c)
{
	uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
	atomic_store_explicit(c, v + 1, memory_order_relaxed);
}

static void race_chunk(struct race_run *r, uint64_t k)
{
	switch (r->kind) {
	case RACE_PLAIN:
		for (uint64_t i = 0; i < k; i++)
			race_plain_increment(&r->counter);
		break;
	case RACE_ATOMIC:
		for (uint64_t i = 0; i < k; i++)
			atomic_fetch_add_explicit(&r->counter, 1, memory_order_relaxed);
		break;
	case RACE_MUTEX:
		/* The same racy load and store, made safe by the lock; its holder never blocks while holding it. */
		for (uint64_t i = 0; i < k; i++) {
			pthread_mutex_lock(&r->lock);
			race_plain_increment(&r->counter);
			pthread_mutex_unlock(&r->lock);
		}
		break;
	}
}

static void *race_count_thread(void *p)
{
	struct race_thread *t = p;
	struct race_run *r = t->r;
	topology_pin_thread(t->cpu); /* each on a CPU of its own, so the two really run at once */
	atomic_fetch_add(&r->ready, 1);
	while (!atomic_load(&r->go)) {
		if (mu_stop(r->deadline_ns))
			goto out;
		sched_yield();
	}
	int64_t t0 = now_ns();
	uint64_t done = 0;
	while (done < r->n && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint64_t k = r->n - done < RACE_CHUNK ? r->n - done : RACE_CHUNK;
		race_chunk(r, k);
		done += k;
	}
	t->elapsed_ns = now_ns() - t0;
	t->done = done;
out:
	atomic_fetch_add(&r->finished, 1);
	return NULL;
}

/* What one counting run gives: increments made, the counter's end value, ns per increment. */
struct race_result {
	uint64_t expected, counted;
	double ns_per_increment;
};

/*
 * nthreads (1 or 2) threads on cpu[0], cpu[1] increment one counter, n times
 * each or until slice_ns has passed. Returns 0 or a negative errno.
 */
static int race_count(struct race_run *r, enum race_kind kind, int nthreads, uint64_t n, const int cpu[2],
		      int64_t slice_ns, int64_t timeout_ns, struct race_result *res)
{
	atomic_store(&r->counter, 0);
	atomic_store(&r->ready, 0);
	atomic_store(&r->go, 0);
	atomic_store(&r->stop, 0);
	atomic_store(&r->finished, 0);
	r->kind = kind;
	r->n = n;
	r->deadline_ns = now_ns() + timeout_ns;
	struct race_thread *th = r->th;
	pthread_t tid[2];
	int made = 0, rc = 0;
	for (; made < nthreads; made++) {
		th[made] = (struct race_thread){ .r = r, .cpu = cpu[made] };
		if ((rc = -pthread_create(&tid[made], NULL, race_count_thread, &th[made])))
			break;
	}
	while (rc == 0 && atomic_load(&r->ready) < made && !mu_stop(r->deadline_ns))
		sched_yield();
	atomic_store(&r->stop, rc != 0); /* a failed create: the others start and stop at once */
	atomic_store(&r->go, 1);
	int64_t end = now_ns() + slice_ns;
	while (atomic_load(&r->finished) < made && !mu_stop(end)) {
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&r->stop, 1);
	/* Every thread ends within one chunk of the stop flag, or by its own deadline if it never started. */
	struct timespec deadline = mu_realtime_deadline(timeout_ns);
	for (int i = 0; i < made; i++) {
		int j = pthread_timedjoin_np(tid[i], NULL, &deadline);
		if (j && !rc)
			rc = -j;
	}
	if (rc)
		return rc;
	*res = (struct race_result){ .counted = atomic_load(&r->counter) };
	double sum = 0;
	for (int i = 0; i < made; i++) {
		if (th[i].done == 0)
			return runner_stop_signal ? -EINTR : -ETIMEDOUT;
		res->expected += th[i].done;
		sum += (double)th[i].elapsed_ns / (double)th[i].done;
	}
	res->ns_per_increment = sum / made;
	return 0;
}

/* The three counters: contended by two threads and alone; the racy one retried until it loses. */
static json_t *race_counters(const struct model_params *p, const int cpu[2], int64_t budget_ns, struct tp_err *err)
{
	struct race_run *r = aligned_alloc(64, sizeof(*r));
	if (!r) {
		tp_fail(err, ENOMEM, "races: out of memory");
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	int64_t slice = budget_ns / RACE_RUNS;
	if (slice < RACE_MIN_SLICE_NS)
		slice = RACE_MIN_SLICE_NS;
	int64_t racy_end = now_ns() + 2 * slice; /* the bound for retrying the racy run: two slices */
	json_t *out = json_object();
	for (int kind = RACE_PLAIN; kind <= RACE_MUTEX; kind++) {
		struct race_result pair, alone;
		int attempts = 0, rc;
		do {
			rc = race_count(r, kind, 2, RACE_N, cpu, slice, p->timeout_ns, &pair);
			attempts++;
		} while (rc == 0 && kind == RACE_PLAIN && pair.counted == pair.expected && attempts < RACE_MAX_ATTEMPTS &&
			 !mu_stop(racy_end));
		if (rc == 0)
			rc = race_count(r, kind, 1, RACE_N, cpu, slice, p->timeout_ns, &alone);
		if (rc) {
			/* A thread that did not end may still use r: it stays allocated (this cannot happen twice). */
			tp_fail(err, -rc, "races: %s counter: %s", race_keys[kind],
				rc == -ETIMEDOUT ? "the counting threads did not start or stop in time" : strerror(-rc));
			json_decref(out);
			return NULL;
		}
		uint64_t lost = pair.expected - pair.counted;
		char obs[200];
		if (lost)
			snprintf(obs, sizeof(obs), "%llu of %llu increments lost (%.1f%%) in run %d",
				 (unsigned long long)lost, (unsigned long long)pair.expected,
				 100.0 * (double)lost / (double)pair.expected, attempts);
		else
			snprintf(obs, sizeof(obs), "no increment lost in %d run%s of %llu increments: %s", attempts,
				 attempts == 1 ? "" : "s", (unsigned long long)pair.expected,
				 kind == RACE_PLAIN ? "a lost update was not observed in this run" : "none lost");
		json_object_set_new(out, race_keys[kind], json_pack(
			"{s:i, s:I, s:I, s:I, s:o, s:i, s:o, s:o, s:s}", "threads", 2, "expected_increments",
			(json_int_t)pair.expected, "counted_increments", (json_int_t)pair.counted, "lost_increments",
			(json_int_t)lost, "lost_pct", mu_num(100.0 * (double)lost / (double)pair.expected), "attempts",
			attempts, "ns_per_increment", mu_num(pair.ns_per_increment), "alone_ns_per_increment",
			mu_num(alone.ns_per_increment), "observed", obs));
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
	return out;
}

/* What the forked child saw, in a shared mapping so the parent can read it. */
struct race_fork_report {
	_Atomic uint64_t shared_counter;
	uint64_t child_read;
};

/* A child's increments land in its own copy of the counter; only a shared mapping carries them. */
static json_t *race_fork(uint64_t n, int64_t timeout_ns, struct tp_err *err)
{
	struct race_fork_report *rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED) {
		tp_fail(err, errno, "races: mmap of the fork report: %m");
		return NULL;
	}
	memset(rep, 0, sizeof(*rep));
	volatile uint64_t counter = 0; /* private: after fork, parent and child each have one */
	pid_t pid = fork_child();
	if (pid == 0) {
		for (uint64_t i = 0; i < n; i++) {
			counter = counter + 1;
			atomic_fetch_add_explicit(&rep->shared_counter, 1, memory_order_relaxed);
		}
		rep->child_read = counter;
		_exit(0);
	}
	int status = 0, rc = pid < 0 ? -errno : mu_wait(pid, &status, timeout_ns);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status)))
		rc = -ECHILD;
	json_t *out = NULL;
	if (rc)
		tp_fail(err, -rc, "races: the incrementing child: %s",
			rc == -ECHILD ? "it did not exit cleanly" : strerror(-rc));
	else {
		uint64_t parent_read = counter, shared = atomic_load(&rep->shared_counter);
		char obs[240];
		snprintf(obs, sizeof(obs), "the child incremented its copy %llu times and read %llu; the parent then "
			 "read %llu (%s); through a shared mapping the parent read %llu",
			 (unsigned long long)n, (unsigned long long)rep->child_read, (unsigned long long)parent_read,
			 parent_read == 0 ? "not seen" : "seen", (unsigned long long)shared);
		out = json_pack("{s:I, s:I, s:I, s:b, s:I, s:s}", "child_increments", (json_int_t)n,
				"child_read", (json_int_t)rep->child_read, "parent_read", (json_int_t)parent_read,
				"seen_by_parent", parent_read != 0, "shared_mapping_parent_read", (json_int_t)shared,
				"observed", obs);
	}
	munmap(rep, sizeof(*rep));
	return out;
}

struct race_deadlock;

/* One side: it takes m[first], then tries m[1 - first]. */
struct race_dl_side {
	struct race_deadlock *d;
	int first;
	int rc;            /* of the timed attempt at the second lock */
	int64_t waited_ns; /* how long that attempt took */
	bool met;          /* both held their first lock when it tried */
};

/* The two locks of the deadlock, the meeting points that make it certain, and its two sides. */
struct race_deadlock {
	pthread_mutex_t m[2];
	_Atomic int holding; /* threads that hold their first lock */
	_Atomic int tried;   /* threads whose attempt at the second ended */
	int64_t wait_ns;     /* the timedlock timeout */
	int64_t deadline_ns; /* for the meeting points */
	struct race_dl_side side[2];
};

/* Wait until *count reaches 2 or the deadline passes: the meeting points have deadlines too. */
static bool race_meet(_Atomic int *count, int64_t deadline_ns)
{
	atomic_fetch_add(count, 1);
	while (atomic_load(count) < 2)
		if (mu_stop(deadline_ns))
			return false;
		else
			sched_yield();
	return true;
}

static void *race_deadlock_thread(void *p)
{
	struct race_dl_side *s = p;
	struct race_deadlock *d = s->d;
	/* The first lock is free (the other side takes the other one); still, no wait without a deadline. */
	struct timespec ts = mu_realtime_deadline(NS_PER_S);
	if ((s->rc = pthread_mutex_timedlock(&d->m[s->first], &ts)))
		return NULL;
	s->met = race_meet(&d->holding, d->deadline_ns);
	/* timedlock takes a CLOCK_REALTIME deadline (clocklock would take a monotonic one, but TSan does not know it) */
	int64_t t0 = now_ns();
	ts = mu_realtime_deadline(d->wait_ns);
	s->rc = pthread_mutex_timedlock(&d->m[1 - s->first], &ts);
	s->waited_ns = now_ns() - t0;
	if (s->rc == 0)
		pthread_mutex_unlock(&d->m[1 - s->first]);
	/* Hold the first lock until the other side's attempt ends too, so both see the cycle; then back off. */
	race_meet(&d->tried, d->deadline_ns);
	pthread_mutex_unlock(&d->m[s->first]);
	return NULL;
}

/* A takes m1 then m2, B takes m2 then m1: each waits for the other; pthread_mutex_timedlock's deadline ends it. */
static json_t *race_deadlock(int64_t wait_ns, int64_t timeout_ns, struct tp_err *err)
{
	struct race_deadlock *d = malloc(sizeof(*d));
	if (!d) {
		tp_fail(err, ENOMEM, "races: out of memory");
		return NULL;
	}
	*d = (struct race_deadlock){ .wait_ns = wait_ns, .deadline_ns = now_ns() + wait_ns + timeout_ns };
	pthread_mutex_init(&d->m[0], NULL);
	pthread_mutex_init(&d->m[1], NULL);
	d->side[0] = (struct race_dl_side){ .d = d, .first = 0 };
	d->side[1] = (struct race_dl_side){ .d = d, .first = 1 };
	struct race_dl_side *side = d->side;
	pthread_t tid[2];
	int made = 0, rc = 0;
	int64_t t0 = now_ns();
	for (; made < 2; made++)
		if ((rc = pthread_create(&tid[made], NULL, race_deadlock_thread, &side[made])))
			break;
	struct timespec deadline = mu_realtime_deadline(wait_ns + 2 * timeout_ns);
	for (int i = 0; i < made; i++) {
		int j = pthread_timedjoin_np(tid[i], NULL, &deadline);
		if (j && !rc)
			rc = j;
	}
	int64_t total = now_ns() - t0;
	json_t *out = NULL;
	if (rc) {
		/* A side that did not end may still use d: it stays allocated. */
		tp_fail(err, rc, "races: the deadlock's threads: %s", strerror(rc));
		return NULL;
	}
	{
		bool a = side[0].met && side[0].rc == ETIMEDOUT, b = side[1].met && side[1].rc == ETIMEDOUT;
		int64_t first = side[0].waited_ns < side[1].waited_ns ? side[0].waited_ns : side[1].waited_ns;
		char obs[240], wa[24], wb[24];
		snprintf(obs, sizeof(obs), "A held m1 and waited for m2, B held m2 and waited for m1: %s (A: %s after %s, "
			 "B: %s after %s); both released their first lock and ended",
			 a && b ? "deadlock detected by both" : a || b ? "deadlock detected by one" : "no deadlock formed",
			 side[0].rc == ETIMEDOUT ? "ETIMEDOUT" : side[0].rc ? strerror(side[0].rc) : "acquired",
			 fmt_ns((double)side[0].waited_ns, wa, sizeof(wa)),
			 side[1].rc == ETIMEDOUT ? "ETIMEDOUT" : side[1].rc ? strerror(side[1].rc) : "acquired",
			 fmt_ns((double)side[1].waited_ns, wb, sizeof(wb)));
		out = json_pack("{s:b, s:I, s:I, s:I, s:b, s:b, s:b, s:s}", "detected", a || b, "lock_timeout_ns",
				(json_int_t)wait_ns, "detect_ns", (json_int_t)first, "total_ns", (json_int_t)total,
				"a_timed_out", a, "b_timed_out", b, "backed_off", true, "observed", obs);
	}
	pthread_mutex_destroy(&d->m[0]);
	pthread_mutex_destroy(&d->m[1]);
	free(d);
	return out;
}

static json_t *race_run(const struct model_params *p, struct tp_err *err)
{
	int cpu[2] = { p->cpu[0], p->cpu[1] };
	int64_t wait = p->budget_ns / 20;
	if (wait > RACE_LOCK_WAIT_NS)
		wait = RACE_LOCK_WAIT_NS;
	if (wait < RACE_MIN_LOCK_WAIT_NS)
		wait = RACE_MIN_LOCK_WAIT_NS;
	json_t *counters = race_counters(p, cpu, (int64_t)(RACE_COUNT_SHARE * (double)p->budget_ns), err);
	if (!counters)
		return NULL;
	json_t *fork = race_fork(p->quick ? RACE_N / 4 : RACE_N, p->timeout_ns, err);
	json_t *dl = fork ? race_deadlock(wait, p->timeout_ns, err) : NULL;
	if (!fork || !dl) {
		json_decref(counters);
		json_decref(fork);
		return NULL;
	}
	json_t *out = json_pack("{s:s, s:[i, i]}", "status", "ok", "cpus", cpu[0], cpu[1]);
	json_object_update(out, counters);
	json_decref(counters);
	json_object_set_new(out, "fork", fork);
	json_object_set_new(out, "deadlock", dl);
	json_object_set_new(out, "method", json_string(
		"two threads, pinned to the run's two CPUs, increment one 64-bit counter up to 2^20 times each "
		"(fewer when the time slice ends first); lost_increments = increments made - the counter's end value. "
		"unsynchronised: a relaxed atomic load then a relaxed atomic store of a volatile counter (two "
		"operations the compiler cannot merge, so the race is the CPU's, not the optimizer's), retried "
		"until an increment is lost or 20 runs; atomic: atomic_fetch_add; mutex: the same load and store "
		"under a pthread mutex. ns_per_increment is each thread's wall time over its increments, averaged; "
		"alone_ns_per_increment is one thread with nobody contending. fork: a child increments its copy of "
		"a counter, the parent reads its own; deadlock: a barrier makes both threads hold their first lock, "
		"then each waits for the other's with pthread_mutex_timedlock and a deadline; detect_ns is the "
		"first wait to end (CLOCK_MONOTONIC)"));
	return out;
}

static void race_print(const json_t *r, FILE *out)
{
	static const char *const what[] = { "unsynchronised", "atomic fetch_add", "mutex" };
	fprintf(out, "%-17s %13s %13s %11s %7s %9s %10s %8s\n", "counter (2 thr)", "increments", "counted", "lost",
		"lost", "attempts", "ns/incr", "alone");
	for (int k = 0; k < 3; k++) {
		const json_t *c = json_object_get(r, race_keys[k]);
		fprintf(out, "%-17s %13.0f %13.0f %11.0f %6.1f%% %9.0f %10.1f %8.1f\n", what[k],
			mu_get(c, "expected_increments"), mu_get(c, "counted_increments"), mu_get(c, "lost_increments"),
			mu_get(c, "lost_pct"), mu_get(c, "attempts"), mu_get(c, "ns_per_increment"),
			mu_get(c, "alone_ns_per_increment"));
	}
	const json_t *o = json_object_get(json_object_get(r, "fork"), "observed");
	fprintf(out, "fork:     %s\n", json_is_string(o) ? json_string_value(o) : "-");
	o = json_object_get(json_object_get(r, "deadlock"), "observed");
	fprintf(out, "deadlock: %s\n", json_is_string(o) ? json_string_value(o) : "-");
}

const struct model_ops model_races_ops = {
	.name = "races",
	.summary = "two threads on one counter: increments lost unsynchronised, none with atomic_fetch_add or a "
		   "mutex (ns each); fork shares nothing; a lock-order deadlock caught by a timed lock",
	.run = race_run,
	.print = race_print,
};
