/* scaling: one CPU-bound job split over 1..ncpu processes vs threads, and what sharing a cache line costs. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
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

#define SCALE_MAX_WORKERS 256
#define SCALE_REPS 3
#define SCALE_JOB_SHARE 0.55
#define SCALE_SHARING_SHARE 0.30
#define SCALE_CALIBRATE_ITERS (1u << 22)
#define SCALE_MIN_ITERS (1u << 20)
#define SCALE_MIN_SLICE_NS (5 * 1000000LL)
#define SCALE_CHUNK 1024 /* increments between two looks at the stop flag */
#define SCALE_LINE 64
#define SCALE_SLOT 128   /* a padded counter's slot: two lines, beyond the adjacent-line prefetcher */

/* The unit of work: the splitmix64 finalizer of i. Its sum over a range does not depend on the split. */
static inline uint64_t scale_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static uint64_t scale_sum(uint64_t lo, uint64_t hi)
{
	uint64_t s = 0;
	for (uint64_t i = lo; i < hi; i++)
		s += scale_mix(i);
	return s;
}

/* One worker's share and its partial sum; a slot of its own, in memory the parent can read. */
struct scale_part {
	_Alignas(SCALE_LINE) uint64_t lo, hi, sum;
};

static void *scale_thread(void *p)
{
	struct scale_part *part = p;
	part->sum = scale_sum(part->lo, part->hi);
	return NULL;
}

/* Run the job over w workers; *ns is from the first start to the last reap. Returns 0 or -errno. */
static int scale_job(bool threads, int w, uint64_t iters, struct scale_part *parts, int64_t timeout_ns,
		     int64_t *ns, uint64_t *sum)
{
	pid_t pids[SCALE_MAX_WORKERS];
	pthread_t tids[SCALE_MAX_WORKERS];
	for (int i = 0; i < w; i++)
		parts[i] = (struct scale_part){ .lo = iters * (uint64_t)i / (uint64_t)w,
						.hi = iters * (uint64_t)(i + 1) / (uint64_t)w };
	fflush(NULL);
	int n = 0, rc = 0;
	int64_t t0 = now_ns();
	for (; n < w; n++) {
		if (threads) {
			rc = -pthread_create(&tids[n], NULL, scale_thread, &parts[n]);
		} else {
			pids[n] = fork_child();
			if (pids[n] == 0) {
				scale_thread(&parts[n]);
				_exit(0);
			}
			rc = pids[n] < 0 ? -errno : 0;
		}
		if (rc)
			break;
	}
	int joined = mu_join_workers(threads, tids, pids, n, timeout_ns);
	if (joined && !rc)
		rc = joined;
	*ns = now_ns() - t0;
	*sum = 0;
	for (int i = 0; i < w; i++)
		*sum += parts[i].sum;
	return rc;
}

/* The counters of one sharing run: its threads, the flag that starts and stops them, their counts. */
struct scale_share {
	_Alignas(SCALE_SLOT) _Atomic int ready;
	_Alignas(SCALE_SLOT) _Atomic int go;
	_Alignas(SCALE_SLOT) _Atomic int stop;
	_Alignas(SCALE_SLOT) _Atomic uint64_t *counter[SCALE_MAX_WORKERS];
	uint64_t count[SCALE_MAX_WORKERS];
	int64_t elapsed_ns[SCALE_MAX_WORKERS];
	int64_t deadline_ns;
};

/* What one counting thread is told: the run, its counter, its CPU. */
struct scale_share_arg {
	struct scale_share *s;
	int index;
	int cpu;
};

/* This thread's CPU time: time it spent descheduled by other load does not count. */
static int64_t scale_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void *scale_counter_thread(void *p)
{
	struct scale_share_arg *a = p;
	struct scale_share *s = a->s;
	_Atomic uint64_t *c = s->counter[a->index];
	topology_pin_thread(a->cpu); /* on a CPU of its own, or no line would bounce between caches */
	atomic_fetch_add(&s->ready, 1);
	while (!atomic_load(&s->go))
		if (now_ns() > s->deadline_ns)
			return NULL;
	uint64_t done = 0;
	int64_t t0 = scale_cpu_ns();
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		for (int k = 0; k < SCALE_CHUNK; k++)
			atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
		done += SCALE_CHUNK;
	}
	s->elapsed_ns[a->index] = scale_cpu_ns() - t0;
	s->count[a->index] = done;
	return NULL;
}

/* t threads increment their own counters for slice_ns; returns the mean ns per increment, or NAN. */
static double scale_counters(struct scale_share *s, int t, bool padded, unsigned char *mem, int64_t slice_ns,
			     int64_t timeout_ns)
{
	memset(mem, 0, (size_t)SCALE_MAX_WORKERS * SCALE_SLOT);
	atomic_store(&s->ready, 0);
	atomic_store(&s->go, 0);
	atomic_store(&s->stop, 0);
	s->deadline_ns = now_ns() + timeout_ns;
	struct scale_share_arg args[SCALE_MAX_WORKERS];
	pthread_t tids[SCALE_MAX_WORKERS];
	int n = 0;
	for (; n < t; n++) {
		/* Adjacent 8-byte counters share a line (8 to a line); padded ones sit SCALE_SLOT apart. */
		s->counter[n] = (_Atomic uint64_t *)(mem + (size_t)n * (padded ? SCALE_SLOT : sizeof(uint64_t)));
		s->count[n] = 0;
		s->elapsed_ns[n] = 0;
		args[n] = (struct scale_share_arg){ s, n, mu_allowed_cpu(n % mu_allowed_count()) };
		if (pthread_create(&tids[n], NULL, scale_counter_thread, &args[n]))
			break;
	}
	while (atomic_load(&s->ready) < n && now_ns() < s->deadline_ns)
		sched_yield();
	atomic_store(&s->go, 1);
	struct timespec ts = { .tv_sec = (time_t)(slice_ns / NS_PER_S), .tv_nsec = (long)(slice_ns % NS_PER_S) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&s->stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL); /* each stops within one chunk of its loop */
	double sum = 0;
	for (int i = 0; i < n; i++) {
		if (s->count[i] == 0)
			return NAN;
		sum += (double)s->elapsed_ns[i] / (double)s->count[i];
	}
	return n == t ? sum / n : NAN;
}

static json_t *scale_sharing(int ncpu, int64_t budget_ns, int64_t timeout_ns, struct tp_err *err)
{
	json_t *threads = json_array(), *shared = json_array(), *padded = json_array(), *ratio = json_array();
	json_t *out = json_pack("{s:o, s:o, s:o, s:o, s:s}", "threads", threads, "shared_line_ns_per_increment",
				shared, "padded_ns_per_increment", padded, "shared_over_padded", ratio, "method",
				"each thread, pinned to its own CPU, increments its own 64-bit counter with a relaxed "
				"atomic add (as a per-thread statistics counter would; a plain increment can hide behind "
				"store forwarding) for a fixed time: counters next to each other in one 64-byte line "
				"(false sharing) vs each in its own 128-byte slot; ns per increment is each thread's CPU time "
				"(CLOCK_THREAD_CPUTIME_ID) over its count, averaged over the threads. Processes share no memory unless they map it, so "
				"only threads pay this by default.");
	if (ncpu < 2) {
		json_object_set_new(out, "reason", json_string("needs two CPUs"));
		return out;
	}
	struct scale_share *s = aligned_alloc(SCALE_SLOT, sizeof(*s));
	unsigned char *mem = aligned_alloc(SCALE_SLOT, (size_t)SCALE_MAX_WORKERS * SCALE_SLOT);
	if (!s || !mem) {
		free(s);
		free(mem);
		json_decref(out);
		tp_fail(err, ENOMEM, "scaling: out of memory");
		return NULL;
	}
	int64_t slice = budget_ns / (2 * (ncpu - 1));
	if (slice < SCALE_MIN_SLICE_NS)
		slice = SCALE_MIN_SLICE_NS;
	for (int t = 2; t <= ncpu; t++) {
		double a = scale_counters(s, t, false, mem, slice, timeout_ns);
		double b = scale_counters(s, t, true, mem, slice, timeout_ns);
		if (!isfinite(a) || !isfinite(b)) {
			tp_fail(err, EAGAIN, "scaling: %d counting threads did not all start and count within %.1f s",
				t, (double)timeout_ns / 1e9);
			json_decref(out);
			out = NULL;
			break;
		}
		json_array_append_new(threads, json_integer(t));
		json_array_append_new(shared, mu_num(a));
		json_array_append_new(padded, mu_num(b));
		json_array_append_new(ratio, mu_num(a / b));
	}
	free(s);
	free(mem);
	return out;
}

static int scale_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static json_t *scale_run(const struct model_params *p, struct tp_err *err)
{
	int ncpu = p->ncpu < mu_allowed_count() ? p->ncpu : mu_allowed_count();
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > SCALE_MAX_WORKERS)
		ncpu = SCALE_MAX_WORKERS;
	struct scale_part *parts = mmap(NULL, sizeof(*parts) * SCALE_MAX_WORKERS, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (parts == MAP_FAILED) {
		tp_fail(err, errno, "scaling: mmap of the workers' results: %m");
		return NULL;
	}
	/* Size the job so every worker count, both kinds, SCALE_REPS times, fits its share of the budget. */
	int64_t t0 = now_ns();
	volatile uint64_t probe = scale_sum(0, SCALE_CALIBRATE_ITERS); /* kept, so it is computed */
	(void)probe;
	double ns_per_iter = (double)(now_ns() - t0) / SCALE_CALIBRATE_ITERS;
	double harmonic = 0;
	for (int w = 1; w <= ncpu; w++)
		harmonic += 1.0 / w;
	double single_ns = SCALE_JOB_SHARE * (double)p->budget_ns / (SCALE_REPS * 2 * harmonic);
	uint64_t iters = (uint64_t)(single_ns / (ns_per_iter > 0 ? ns_per_iter : 1));
	if (iters < SCALE_MIN_ITERS)
		iters = SCALE_MIN_ITERS;
	int64_t job_timeout = p->timeout_ns + (int64_t)(20 * single_ns);

	int64_t times[2][SCALE_MAX_WORKERS][SCALE_REPS];
	uint64_t want = 0;
	bool sums_ok = true;
	for (int rep = 0; rep < SCALE_REPS; rep++)
		for (int w = 1; w <= ncpu; w++)
			for (int kind = 0; kind < 2; kind++) {
				uint64_t sum;
				int rc = scale_job(kind == 1, w, iters, parts, job_timeout, &times[kind][w - 1][rep], &sum);
				if (rc == 0 && (rep | kind) == 0 && w == 1)
					want = sum;
				else if (rc == 0)
					sums_ok &= sum == want;
				if (rc == 0 && mu_stop(INT64_MAX))
					rc = -EINTR;
				if (rc) {
					/* A thread that did not finish still writes to parts: leave them mapped. */
					if (!(kind == 1 && rc == -ETIMEDOUT))
						munmap(parts, sizeof(*parts) * SCALE_MAX_WORKERS);
					tp_fail(err, -rc, "scaling: %d %s: %s", w, kind ? "threads" : "processes",
						rc == -ECHILD ? "a worker process failed" : strerror(-rc));
					return NULL;
				}
			}
	munmap(parts, sizeof(*parts) * SCALE_MAX_WORKERS);

	char checksum[32];
	snprintf(checksum, sizeof(checksum), "0x%016" PRIx64, want);
	json_t *out = json_pack("{s:s, s:s, s:I, s:s, s:b, s:i, s:[]}", "status", "ok", "workload",
				"sum of the splitmix64 finalizer of i over i in [0, iterations), split into equal "
				"contiguous ranges; every split must give the same sum", "iterations", (json_int_t)iters,
				"checksum", checksum, "checksum_ok", sums_ok,
				"repetitions", SCALE_REPS, "workers");
	json_t *workers = json_object_get(out, "workers");
	for (int w = 1; w <= ncpu; w++)
		json_array_append_new(workers, json_integer(w));
	for (int kind = 0; kind < 2; kind++) {
		json_t *tj = json_array(), *sj = json_array(), *ej = json_array();
		double base = 0;
		for (int w = 1; w <= ncpu; w++) {
			qsort(times[kind][w - 1], SCALE_REPS, sizeof(int64_t), scale_cmp_i64);
			double best = (double)times[kind][w - 1][0];
			if (w == 1)
				base = best;
			json_array_append_new(tj, json_integer((json_int_t)best));
			json_array_append_new(sj, json_real(round(base / best * 1000) / 1000));
			json_array_append_new(ej, json_real(round(base / best / w * 1000) / 1000));
		}
		json_object_set_new(out, kind ? "thread" : "process",
				    json_pack("{s:o, s:o, s:o}", "time_ns", tj, "speedup", sj, "efficiency", ej));
	}
	json_object_set_new(out, "method", json_string(
		"wall time from the first fork()/pthread_create() to the last waitpid()/pthread_join(), "
		"the best of 3 interleaved repetitions (other load only adds time); workers are not pinned; speedup is the time with 1 "
		"worker of the same kind over the time with n; efficiency is speedup / n"));
	json_t *fs = scale_sharing(ncpu, (int64_t)(SCALE_SHARING_SHARE * (double)p->budget_ns), p->timeout_ns, err);
	if (!fs) {
		json_decref(out);
		return NULL;
	}
	json_object_set_new(out, "false_sharing", fs);
	return out;
}

static void scale_print(const json_t *r, FILE *out)
{
	const json_t *w = json_object_get(r, "workers");
	const json_t *pr = json_object_get(r, "process"), *th = json_object_get(r, "thread");
	fprintf(out, "%" JSON_INTEGER_FORMAT " iterations, checksum %s (%s)\n",
		json_integer_value(json_object_get(r, "iterations")),
		json_string_value(json_object_get(r, "checksum")),
		json_is_true(json_object_get(r, "checksum_ok")) ? "every split agrees" : "SPLITS DISAGREE");
	fprintf(out, "%-8s %12s %8s %6s %12s %8s %6s\n", "workers", "processes", "speedup", "eff",
		"threads", "speedup", "eff");
	for (size_t i = 0; i < json_array_size(w); i++) {
		char a[32], b[32];
		fprintf(out, "%-8d %12s %7.2fx %5.0f%% %12s %7.2fx %5.0f%%\n",
			(int)json_integer_value(json_array_get(w, i)),
			fmt_ns(json_number_value(json_array_get(json_object_get(pr, "time_ns"), i)), a, sizeof(a)),
			json_number_value(json_array_get(json_object_get(pr, "speedup"), i)),
			100 * json_number_value(json_array_get(json_object_get(pr, "efficiency"), i)),
			fmt_ns(json_number_value(json_array_get(json_object_get(th, "time_ns"), i)), b, sizeof(b)),
			json_number_value(json_array_get(json_object_get(th, "speedup"), i)),
			100 * json_number_value(json_array_get(json_object_get(th, "efficiency"), i)));
	}
	const json_t *fs = json_object_get(r, "false_sharing");
	const json_t *t = json_object_get(fs, "threads");
	if (json_array_size(t) == 0) {
		const json_t *why = json_object_get(fs, "reason");
		fprintf(out, "false sharing: not measured (%s)\n", json_is_string(why) ? json_string_value(why) : "-");
		return;
	}
	fprintf(out, "%-8s %12s %12s %8s   (ns per increment, one counter per thread)\n", "threads",
		"one line", "padded", "ratio");
	for (size_t i = 0; i < json_array_size(t); i++) {
		fprintf(out, "%-8d %9.1f ns %9.1f ns %7.1fx\n", (int)json_integer_value(json_array_get(t, i)),
			json_number_value(json_array_get(json_object_get(fs, "shared_line_ns_per_increment"), i)),
			json_number_value(json_array_get(json_object_get(fs, "padded_ns_per_increment"), i)),
			json_number_value(json_array_get(json_object_get(fs, "shared_over_padded"), i)));
	}
}

const struct model_ops model_scaling_ops = {
	.name = "scaling",
	.summary = "a fixed CPU-bound hash sum split over 1..ncpu processes vs threads (time, speedup, "
		   "efficiency); counters in one cache line vs padded (false sharing)",
	.run = scale_run,
	.print = scale_print,
};
