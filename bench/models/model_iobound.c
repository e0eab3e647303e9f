/* iobound: W workers that mostly wait (1 ms) and briefly compute (20 us), as processes vs threads. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "model.h"
#include "model_util.h"
#include "parse.h"
#include "runner.h"

#define IO_MAX_WORKERS 128
#define IO_WAIT_NS (1000 * 1000LL) /* the simulated I/O: a 1 ms ppoll() timeout */
#define IO_WORK_NS (20 * 1000LL)   /* the CPU work after each wait */
#define IO_WINDOW_SHARE 0.55       /* of the budget: the measured windows; the rest creates, reads /proc, reaps */
#define IO_MIN_WINDOW_NS (15 * 1000000LL)
#define IO_MAX_WINDOW_NS (250 * 1000000LL)
#define IO_MIN_LOOPS 4 /* per worker: a window runs on (up to the timeout) until the workers counted these */
#define IO_CALIBRATE_ITERS (1u << 16)

static const int io_counts[] = { 1, 2, 8, 32, 128 };
static const int io_counts_quick[] = { 1, 8, 32 };
#define IO_MAX_COUNTS 5

/* One worker's count, on a line of its own: the parent reads them all at the end. */
struct io_slot {
	_Alignas(64) _Atomic uint64_t ops;
	uint64_t sink; /* the work's result, kept so it is computed */
};

/* One round, in a shared mapping so forked workers and threads report alike. */
struct io_shared {
	_Alignas(64) _Atomic int stop; /* stop counting (the workers go on until quit) */
	int go_fd, quit_fd, ready_fd;  /* read end, read end, write end */
	uint64_t work_iters;
	int64_t deadline_ns; /* no worker outlives this, whatever the parent does */
	struct io_slot slot[IO_MAX_WORKERS];
};

/* The work: a multiply-xorshift chain, one dependent step per iteration. */
static uint64_t io_work(uint64_t iters, uint64_t x)
{
	for (uint64_t i = 0; i < iters; i++) {
		x = (x ^ (x >> 29)) * UINT64_C(0xbf58476d1ce4e5b9) + i;
	}
	return x;
}

/* Wait until fd is readable or hung up (its writers closed it); false at the deadline. */
static bool io_wait_fd(int fd, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = ms_until(deadline_ns);
		int n = ms ? poll(&pfd, 1, ms) : 0;
		if (n > 0)
			return true;
		if ((n < 0 && errno != EINTR) || ms_until(deadline_ns) == 0)
			return false;
	}
}

/* The worker's loop: wait for "go", then wait 1 ms on the quit pipe and compute, until quit or the deadline. */
static void io_worker(struct io_shared *s, int index)
{
	char c = 1;
	if (write(s->ready_fd, &c, 1) != 1 || !io_wait_fd(s->go_fd, s->deadline_ns))
		return;
	const struct timespec wait = { 0, IO_WAIT_NS };
	uint64_t x = (uint64_t)index;
	for (;;) {
		struct pollfd pfd = { .fd = s->quit_fd, .events = POLLIN };
		int n = ppoll(&pfd, 1, &wait, NULL);
		if ((n != 0 && !(n < 0 && errno == EINTR)) || now_ns() > s->deadline_ns)
			break;
		x = io_work(s->work_iters, x);
		if (!atomic_load_explicit(&s->stop, memory_order_relaxed))
			atomic_fetch_add_explicit(&s->slot[index].ops, 1, memory_order_relaxed);
	}
	s->slot[index].sink = x;
}

/* What one thread worker is told. */
struct io_thread_arg {
	struct io_shared *s;
	int index;
};

static void *io_thread(void *p)
{
	struct io_thread_arg *a = p;
	io_worker(a->s, a->index);
	return NULL;
}

/* Anonymous PSS plus page tables of pid (0: self), in bytes; -1 when unknown. */
static int64_t io_private_bytes(pid_t pid)
{
	int64_t anon = mu_proc_bytes(pid, "smaps_rollup", "Pss_Anon"), pt = mu_proc_bytes(pid, "status", "VmPTE");
	return anon < 0 || pt < 0 ? -1 : anon + pt;
}

/* One round's figures. */
struct io_point {
	double ops_per_s;
	double create_ns; /* from the first create to the last worker's "ready", per worker */
	double mem_bytes; /* memory added per worker */
};

/* The pipes of one round: go (closed to start), quit (closed to end), ready (a byte per started worker). */
static int io_pipes(int fds[3][2])
{
	for (int i = 0; i < 3; i++)
		if (pipe2(fds[i], O_CLOEXEC)) {
			int rc = -errno;
			while (i-- > 0) {
				close(fds[i][0]);
				close(fds[i][1]);
			}
			return rc;
		}
	return 0;
}

static uint64_t io_ops(const struct io_shared *s, int n)
{
	uint64_t ops = 0;
	for (int i = 0; i < n; i++)
		ops += atomic_load(&s->slot[i].ops);
	return ops;
}

/*
 * Sleep out the window from go, then on, 1 ms at a time, until the n workers have counted
 * IO_MIN_LOOPS loops each or timeout_ns has passed: a host that stalls the VM through a short
 * window would otherwise leave a rate of 0 from a round that was never run.
 */
static void io_sleep_window(const struct io_shared *s, int n, int64_t go, int64_t window_ns, int64_t timeout_ns)
{
	struct timespec ts = { (time_t)(window_ns / NS_PER_S), (long)(window_ns % NS_PER_S) };
	while (nanosleep(&ts, &ts) && errno == EINTR && !runner_stop_signal)
		;
	while (!runner_stop_signal && io_ops(s, n) < (uint64_t)n * IO_MIN_LOOPS && now_ns() - go < timeout_ns)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
}

/* Run w workers of one kind for window_ns; 0 or a negative errno. */
static int io_round(bool threads, int w, struct io_shared *s, int64_t window_ns, int64_t timeout_ns, struct io_point *pt)
{
	int fds[3][2]; /* go, quit, ready */
	int rc = io_pipes(fds);
	if (rc)
		return rc;
	atomic_store(&s->stop, 0);
	memset(s->slot, 0, sizeof(s->slot));
	s->go_fd = fds[0][0];
	s->quit_fd = fds[1][0];
	s->ready_fd = fds[2][1];
	s->deadline_ns = now_ns() + window_ns + 2 * timeout_ns;
	pid_t pids[IO_MAX_WORKERS];
	pthread_t tids[IO_MAX_WORKERS];
	struct io_thread_arg args[IO_MAX_WORKERS];
	int64_t mem0 = io_private_bytes(0), pt0 = mu_proc_bytes(0, "status", "VmPTE");
	int64_t t0 = now_ns();
	int n = 0;
	for (; n < w; n++) {
		if (threads) {
			args[n] = (struct io_thread_arg){ s, n };
			rc = -pthread_create(&tids[n], NULL, io_thread, &args[n]);
		} else {
			pids[n] = fork_child();
			if (pids[n] == 0) {
				close(fds[0][1]); /* a child holding a write end would keep go and quit from ever closing */
				close(fds[1][1]);
				close(fds[2][0]);
				io_worker(s, n);
				_exit(0);
			}
			rc = pids[n] < 0 ? -errno : 0;
		}
		if (rc)
			break;
	}
	if (!threads)
		close(fds[2][1]); /* so that end of file means every child died; threads share this one */
	/* Every started worker writes one byte to ready; all n bytes mean all n are up. */
	for (int got = 0; rc == 0 && got < n;) {
		char buf[IO_MAX_WORKERS];
		if (!io_wait_fd(fds[2][0], t0 + timeout_ns)) {
			rc = -ETIMEDOUT;
			break;
		}
		ssize_t k = read(fds[2][0], buf, sizeof(buf));
		if (k <= 0 && !(k < 0 && errno == EINTR))
			rc = k < 0 ? -errno : -ECHILD;
		got += k > 0 ? (int)k : 0;
	}
	pt->create_ns = (double)(now_ns() - t0) / w;
	int64_t go = now_ns();
	close(fds[0][1]);
	if (rc == 0)
		io_sleep_window(s, n, go, window_ns, timeout_ns);
	atomic_store(&s->stop, 1);
	int64_t window = now_ns() - go;
	/*
	 * Memory while every worker still runs its loop. A thread's stack block is
	 * counted by mincore, not by the growth of Pss_Anon: glibc reuses the stacks
	 * of ended threads, whose pages are resident before this round begins.
	 */
	int64_t base = threads ? mu_proc_bytes(0, "status", "VmPTE") : io_private_bytes(0);
	bool known = base >= 0 && mem0 >= 0 && pt0 >= 0;
	int64_t mem = base - (threads ? pt0 : mem0); /* the parent's share may shrink: PSS splits shared pages */
	for (int i = 0; i < n && known; i++) {
		int64_t b = threads ? mu_stack_resident(tids[i], NULL) : io_private_bytes(pids[i]);
		known = b >= 0;
		mem += b;
	}
	close(fds[1][1]);
	int joined = mu_join_workers(threads, tids, pids, n, timeout_ns);
	if (joined && !rc)
		rc = joined;
	close(fds[0][0]);
	close(fds[1][0]);
	close(fds[2][0]);
	if (threads)
		close(fds[2][1]);
	pt->ops_per_s = (double)io_ops(s, n) * 1e9 / (double)window;
	pt->mem_bytes = known ? (double)mem / w : NAN;
	return rc ? rc : runner_stop_signal ? -EINTR : 0;
}

/* Iterations of io_work that take about IO_WORK_NS here, and what they measured (best of 5). */
static uint64_t io_calibrate(double *work_ns)
{
	int64_t t0 = now_ns();
	uint64_t x = io_work(IO_CALIBRATE_ITERS, 1);
	double per = (double)(now_ns() - t0) / IO_CALIBRATE_ITERS;
	uint64_t iters = (uint64_t)(IO_WORK_NS / (per > 0 ? per : 1));
	if (iters < 1)
		iters = 1;
	int64_t best = INT64_MAX;
	for (int i = 0; i < 5; i++) {
		t0 = now_ns();
		x = io_work(iters, x);
		int64_t d = now_ns() - t0;
		best = d < best ? d : best;
	}
	volatile uint64_t keep = x; /* kept, so it is computed */
	(void)keep;
	*work_ns = (double)best;
	return iters;
}

static json_t *io_array(const struct io_point *pts, int n, size_t field)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, mu_num(*(const double *)((const char *)&pts[i] + field)));
	return a;
}

static json_t *io_run(const struct model_params *p, struct tp_err *err)
{
	const int *counts = p->quick ? io_counts_quick : io_counts;
	int nc = p->quick ? (int)(sizeof(io_counts_quick) / sizeof(int)) : (int)(sizeof(io_counts) / sizeof(int));
	struct io_shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		tp_fail(err, errno, "iobound: mmap of the workers' counters: %m");
		return NULL;
	}
	double work_ns;
	s->work_iters = io_calibrate(&work_ns);
	int64_t window = (int64_t)(IO_WINDOW_SHARE * (double)p->budget_ns) / (2 * nc);
	window = window < IO_MIN_WINDOW_NS ? IO_MIN_WINDOW_NS : window > IO_MAX_WINDOW_NS ? IO_MAX_WINDOW_NS : window;
	int ncpu = mu_allowed_count();
	struct io_point pts[2][IO_MAX_COUNTS];
	for (int i = 0; i < nc; i++)
		for (int kind = 0; kind < 2; kind++) {
			int rc = io_round(kind == 1, counts[i], s, window, p->timeout_ns, &pts[kind][i]);
			if (rc) {
				/* A thread that did not end still uses s: leave it mapped. */
				if (!(kind == 1 && rc == -ETIMEDOUT))
					munmap(s, sizeof(*s));
				tp_fail(err, -rc, "iobound: %d %s: %s", counts[i], kind ? "threads" : "processes",
					rc == -ECHILD ? "a worker process failed" : strerror(-rc));
				return NULL;
			}
		}
	munmap(s, sizeof(*s));
	json_t *workers = json_array(), *ideal = json_array();
	double cycle = (double)IO_WAIT_NS + work_ns, cap = ncpu * 1e9 / work_ns;
	for (int i = 0; i < nc; i++) {
		json_array_append_new(workers, json_integer(counts[i]));
		double want = counts[i] * 1e9 / cycle;
		json_array_append_new(ideal, mu_num(want < cap ? want : cap));
	}
	json_t *out = json_pack("{s:s, s:o, s:I, s:o, s:I, s:i, s:o, s:o}", "status", "ok", "workers", workers,
				"wait_ns", (json_int_t)IO_WAIT_NS, "cpu_work_ns", mu_num(work_ns), "window_ns",
				(json_int_t)window, "ncpu", ncpu, "cpu_cap_ops_per_s", mu_num(cap), "ideal_ops_per_s",
				ideal);
	for (int kind = 0; kind < 2; kind++) {
		json_t *eff = json_array();
		for (int i = 0; i < nc; i++) { /* to 4 places: mu_num's 2 would make a stalled round's 0.3% a 0 */
			double e = pts[kind][i].ops_per_s / json_number_value(json_array_get(ideal, (size_t)i));
			json_array_append_new(eff, isfinite(e) ? json_real(round(e * 1e4) / 1e4) : json_null());
		}
		json_object_set_new(out, kind ? "thread" : "process", json_pack(
			"{s:o, s:o, s:o, s:o}", "ops_per_s", io_array(pts[kind], nc, offsetof(struct io_point, ops_per_s)),
			"efficiency", eff, "create_ns_per_worker",
			io_array(pts[kind], nc, offsetof(struct io_point, create_ns)), "memory_bytes_per_worker",
			io_array(pts[kind], nc, offsetof(struct io_point, mem_bytes))));
	}
	json_object_set_new(out, "method", json_string(
		"each worker loops: ppoll() on a pipe with a 1 ms timeout (the simulated I/O), then about 20 us of "
		"CPU work (cpu_work_ns: the best of 5 timed runs here); ops_per_s counts loops finished in a "
		"window after every worker started (the budget's share, run on until the workers finished 4 loops each), "
		"summed over the workers; ideal_ops_per_s is workers / (wait + "
		"work), capped at ncpu / work (the CPUs saturate); efficiency is ops_per_s over ideal. Workers are not "
		"pinned. create_ns_per_worker: from the first fork()/pthread_create() to the last worker's ready "
		"byte, over the workers. memory_bytes_per_worker, read while all run: processes, growth of "
		"Pss_Anon (/proc/PID/smaps_rollup) plus page tables (VmPTE) summed over the parent and its "
		"children; threads, each thread's resident stack block (mincore) plus the process's growth of "
		"page tables (VmPTE); per worker. Kernel stack and task struct, the same for both, not counted"));
	return out;
}

static void io_print(const json_t *r, FILE *out)
{
	const json_t *w = json_object_get(r, "workers"), *ideal = json_object_get(r, "ideal_ops_per_s");
	const json_t *k[2] = { json_object_get(r, "process"), json_object_get(r, "thread") };
	char a[24], b[24], c[24];
	fprintf(out, "each worker: wait %s, then %s of work; the CPUs saturate at %.0f ops/s; window %s per round\n",
		fmt_ns(mu_get(r, "wait_ns"), a, sizeof(a)), fmt_ns(mu_get(r, "cpu_work_ns"), b, sizeof(b)),
		mu_get(r, "cpu_cap_ops_per_s"), fmt_ns(mu_get(r, "window_ns"), c, sizeof(c)));
	fprintf(out, "%-8s %10s | %10s %5s %10s %10s | %10s %5s %10s %10s\n", "workers", "ideal/s", "proc ops/s", "eff",
		"create", "memory", "thr ops/s", "eff", "create", "memory");
	for (size_t i = 0; i < json_array_size(w); i++) {
		fprintf(out, "%-8d %10.0f", (int)json_integer_value(json_array_get(w, i)),
			json_number_value(json_array_get(ideal, i)));
		for (int j = 0; j < 2; j++) {
			char c[24], m[24];
			fprintf(out, " | %10.0f %4.0f%% %10s %10s",
				json_number_value(json_array_get(json_object_get(k[j], "ops_per_s"), i)),
				100 * json_number_value(json_array_get(json_object_get(k[j], "efficiency"), i)),
				fmt_ns(json_number_value(json_array_get(json_object_get(k[j], "create_ns_per_worker"), i)), c,
				       sizeof(c)),
				mu_fmt_bytes(json_number_value(json_array_get(json_object_get(k[j], "memory_bytes_per_worker"), i)),
					     m, sizeof(m)));
		}
		fputc('\n', out);
	}
}

const struct model_ops model_iobound_ops = {
	.name = "iobound",
	.summary = "1..128 workers each waiting 1 ms then computing 20 us, processes vs threads: ops/s against the "
		   "ideal, creation time and memory per worker",
	.run = io_run,
	.print = io_print,
};
