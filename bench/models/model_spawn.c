/* spawn: what it costs to start a process or a thread and see it end, and what an idle one holds. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
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

#define SPAWN_HEAP_BYTES ((size_t)256 << 20)
#define SPAWN_HEAP_QUICK_BYTES ((size_t)64 << 20)
#define SPAWN_PAGE_BYTES 4096
#define SPAWN_WARMUP 3
#define SPAWN_MIN_SAMPLES 5
#define SPAWN_MAX_SAMPLES 20000
#define SPAWN_IDLE 8
#define SPAWN_IDLE_QUICK 4

extern char **environ;

static char spawn_exe[] = "/bin/true";

/* One timed operation: start, then wait until it is gone; writes the span to *ns. */
struct spawn_op {
	const char *key;   /* JSON field */
	const char *label; /* table row */
	int (*run)(int64_t timeout_ns, int64_t *ns);
	double share;      /* of the budget */
};

static int spawn_status_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/* Waits for a child that exits at once; the pidfd poll that bounds it is in every process span alike. */
static int spawn_reap(pid_t pid, int64_t timeout_ns)
{
	int status;
	int rc = mu_wait(pid, &status, timeout_ns);
	return rc ? rc : spawn_status_ok(status);
}

/* The timed children below exit at once, so they need no PR_SET_PDEATHSIG (it would add to the span). */
static int spawn_fork(int64_t timeout_ns, int64_t *ns)
{
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -errno;
	int rc = spawn_reap(pid, timeout_ns);
	*ns = now_ns() - t0;
	return rc;
}

/* Kept apart so no caller's locals live across vfork()'s second return. */
static __attribute__((noinline)) pid_t spawn_vfork_exit(void)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	return pid;
}

static int spawn_vfork(int64_t timeout_ns, int64_t *ns)
{
	int64_t t0 = now_ns();
	pid_t pid = spawn_vfork_exit();
	if (pid < 0)
		return -errno;
	int rc = spawn_reap(pid, timeout_ns);
	*ns = now_ns() - t0;
	return rc;
}

static int spawn_posix_spawn(int64_t timeout_ns, int64_t *ns)
{
	char *argv[] = { spawn_exe, NULL };
	pid_t pid;
	int64_t t0 = now_ns();
	int rc = posix_spawn(&pid, spawn_exe, NULL, NULL, argv, environ);
	if (rc)
		return -rc;
	rc = spawn_reap(pid, timeout_ns);
	*ns = now_ns() - t0;
	return rc;
}

static int spawn_fork_exec(int64_t timeout_ns, int64_t *ns)
{
	char *argv[] = { spawn_exe, NULL };
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		execve(spawn_exe, argv, environ);
		_exit(127);
	}
	if (pid < 0)
		return -errno;
	int rc = spawn_reap(pid, timeout_ns);
	*ns = now_ns() - t0;
	return rc;
}

static void *spawn_thread_body(void *arg)
{
	return arg;
}

static int spawn_thread(int64_t timeout_ns, int64_t *ns)
{
	struct timespec deadline = mu_realtime_deadline(timeout_ns); /* outside the span */
	pthread_t t;
	int64_t t0 = now_ns();
	int rc = pthread_create(&t, NULL, spawn_thread_body, NULL);
	if (rc)
		return -rc;
	rc = pthread_timedjoin_np(t, NULL, &deadline);
	*ns = now_ns() - t0;
	if (rc)
		pthread_detach(t);
	return -rc;
}

static const struct spawn_op spawn_ops[] = {
	{ "fork_ns", "fork + waitpid", spawn_fork, 0.12 },
	{ "vfork_ns", "vfork + _exit + waitpid", spawn_vfork, 0.08 },
	{ "posix_spawn_ns", "posix_spawn /bin/true + waitpid", spawn_posix_spawn, 0.12 },
	{ "fork_exec_ns", "fork + exec /bin/true + waitpid", spawn_fork_exec, 0.12 },
	{ "thread_create_ns", "pthread_create + join", spawn_thread, 0.08 },
};
#define SPAWN_BIG_HEAP_SHARE 0.38

/* Warm up, then sample op until its slice is spent (at least SPAWN_MIN_SAMPLES). */
static int spawn_sample(int (*run)(int64_t, int64_t *), int64_t timeout_ns, int64_t slice_ns,
			struct hist *h)
{
	int64_t ns;
	for (int i = 0; i < SPAWN_WARMUP; i++) {
		int rc = run(timeout_ns, &ns);
		if (rc)
			return rc;
	}
	int64_t deadline = now_ns() + slice_ns;
	while (h->count < SPAWN_MAX_SAMPLES && (h->count < SPAWN_MIN_SAMPLES || !mu_stop(deadline))) {
		if (mu_stop(INT64_MAX))
			return -EINTR;
		int rc = run(timeout_ns, &ns);
		if (rc)
			return rc;
		hist_record(h, (uint64_t)ns);
	}
	return 0;
}

/* Read one byte from each of n helpers, within the timeout: they are all at their idle point. */
static int spawn_await_ready(int fd, int n, int64_t timeout_ns)
{
	int64_t deadline = now_ns() + timeout_ns;
	char buf[64];
	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = ms_until(deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, ms) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ssize_t got = read(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
		if (got == 0)
			return -EPIPE;
		if (got > 0)
			n -= (int)got;
	}
	return 0;
}

/* An idle helper: say it is ready, then sleep until the go pipe closes (or the timeout). */
static void spawn_idle(int go_fd, int ready_fd, int64_t timeout_ns)
{
	struct pollfd pfd = { .fd = go_fd, .events = POLLIN };
	if (write(ready_fd, "r", 1) == 1)
		poll(&pfd, 1, (int)(timeout_ns / 1000000));
}

/* The two pipes that hold idle children or threads: "go" releases them, "ready" says they are up. */
static int spawn_idle_pipes(int go[2], int ready[2])
{
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(ready, O_CLOEXEC)) {
		int rc = -errno;
		close(go[0]);
		close(go[1]);
		return rc;
	}
	return 0;
}

/* Extra memory per idle forked child: anon PSS and page tables over parent and children. */
static int spawn_memory_process(int k, int64_t timeout_ns, double *anon_per, double *pt_per)
{
	int go[2], ready[2];
	int prc = spawn_idle_pipes(go, ready);
	if (prc)
		return prc;
	int64_t anon0 = mu_proc_bytes(0, "smaps_rollup", "Pss_Anon");
	int64_t pt0 = mu_proc_bytes(0, "status", "VmPTE");
	pid_t pids[SPAWN_IDLE];
	int n = 0, rc = 0;
	for (; n < k; n++) {
		pids[n] = fork_child();
		if (pids[n] == 0) {
			close(go[1]);
			close(ready[0]);
			spawn_idle(go[0], ready[1], timeout_ns);
			_exit(0);
		}
		if (pids[n] < 0) {
			rc = -errno;
			break;
		}
	}
	close(ready[1]);
	if (rc == 0)
		rc = spawn_await_ready(ready[0], n, timeout_ns);
	if (rc == 0) {
		int64_t anon = mu_proc_bytes(0, "smaps_rollup", "Pss_Anon");
		int64_t pt = mu_proc_bytes(0, "status", "VmPTE");
		for (int i = 0; i < n && anon >= 0 && pt >= 0; i++) {
			int64_t a = mu_proc_bytes(pids[i], "smaps_rollup", "Pss_Anon");
			int64_t p = mu_proc_bytes(pids[i], "status", "VmPTE");
			anon = a < 0 ? -1 : anon + a;
			pt = p < 0 ? -1 : pt + p;
		}
		if (anon < 0 || pt < 0 || anon0 < 0 || pt0 < 0)
			rc = -ENOENT;
		*anon_per = (double)(anon - anon0) / k;
		*pt_per = (double)(pt - pt0) / k;
	}
	close(go[1]); /* every child wakes to end of file and exits */
	for (int i = 0; i < n; i++) {
		int status;
		int w = mu_wait(pids[i], &status, timeout_ns);
		if (rc == 0 && w)
			rc = w;
	}
	close(go[0]);
	close(ready[0]);
	return rc;
}

/* spawn_idle_arg is what one idle thread needs. */
struct spawn_idle_arg {
	int go_fd, ready_fd;
	int64_t timeout_ns;
};

static void *spawn_idle_thread(void *p)
{
	const struct spawn_idle_arg *a = p;
	spawn_idle(a->go_fd, a->ready_fd, a->timeout_ns);
	return NULL;
}

/* Extra memory per idle thread: its resident stack block, and the page tables it added. */
static int spawn_memory_thread(int k, int64_t timeout_ns, double *stack_per, double *pt_per,
			       double *reserved)
{
	int go[2], ready[2];
	int prc = spawn_idle_pipes(go, ready);
	if (prc)
		return prc;
	struct spawn_idle_arg arg = { go[0], ready[1], timeout_ns };
	int64_t pt0 = mu_proc_bytes(0, "status", "VmPTE");
	pthread_t ts[SPAWN_IDLE];
	int n = 0, rc = 0;
	for (; n < k; n++) {
		rc = -pthread_create(&ts[n], NULL, spawn_idle_thread, &arg);
		if (rc)
			break;
	}
	if (rc == 0)
		rc = spawn_await_ready(ready[0], n, timeout_ns);
	if (rc == 0) {
		int64_t stack = 0, size = 0;
		for (int i = 0; i < n && stack >= 0; i++) {
			int64_t s = mu_stack_resident(ts[i], &size);
			stack = s < 0 ? -1 : stack + s;
		}
		int64_t pt = mu_proc_bytes(0, "status", "VmPTE");
		if (stack < 0 || pt < 0 || pt0 < 0)
			rc = -ENOENT;
		*stack_per = (double)stack / k;
		*pt_per = (double)(pt - pt0) / k;
		*reserved = (double)size;
	}
	close(go[1]);
	struct timespec deadline = mu_realtime_deadline(timeout_ns);
	for (int i = 0; i < n; i++)
		if (pthread_timedjoin_np(ts[i], NULL, &deadline) && rc == 0)
			rc = -ETIMEDOUT;
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
	return rc;
}

static json_t *spawn_memory(const struct model_params *p, struct tp_err *err)
{
	int k = p->quick ? SPAWN_IDLE_QUICK : SPAWN_IDLE;
	double anon = NAN, ppt = NAN, stack = NAN, tpt = NAN, reserved = NAN;
	int rc = spawn_memory_process(k, p->timeout_ns, &anon, &ppt);
	if (rc) {
		tp_fail(err, -rc, "spawn: measuring idle children's memory: %s", strerror(-rc));
		return NULL;
	}
	rc = spawn_memory_thread(k, p->timeout_ns, &stack, &tpt, &reserved);
	if (rc) {
		tp_fail(err, -rc, "spawn: measuring idle threads' memory: %s", strerror(-rc));
		return NULL;
	}
	return json_pack(
		"{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "idle_count", k,
		"process_bytes", mu_num(anon + ppt), "process_anon_bytes", mu_num(anon),
		"process_page_tables_bytes", mu_num(ppt), "thread_bytes", mu_num(stack + tpt),
		"thread_stack_resident_bytes", mu_num(stack), "thread_page_tables_bytes", mu_num(tpt),
		"thread_stack_reserved_bytes", mu_num(reserved), "process_method",
		"idle forked children blocked in poll(): growth of Pss_Anon (/proc/PID/smaps_rollup) summed "
		"over the parent and its children, plus growth of their page tables (VmPTE, /proc/PID/status), "
		"divided by the number of children; kernel stack and task struct (the same for a thread) not counted",
		"thread_method",
		"idle threads blocked in poll(): resident pages (mincore) of each thread's stack block as "
		"pthread_getattr_np reports it (stack, TLS, thread descriptor), plus the growth of the "
		"process's page tables (VmPTE), per thread; kernel stack and task struct not counted");
}

/* fork + waitpid with a large heap, touched page by page so every page table entry exists. */
static int spawn_big_heap(size_t bytes, int64_t timeout_ns, int64_t slice_ns, struct hist *h,
			  int64_t *touch_ns, bool *populated, struct tp_err *err)
{
	char *heap = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED)
		return tp_fail(err, errno, "spawn: mmap of a %zu MiB heap failed: %m; free memory or use --quick "
			       "(64 MiB)", bytes >> 20);
	/* 4 KiB pages even where transparent huge pages are on: one entry per page to copy. */
	madvise(heap, bytes, MADV_NOHUGEPAGE);
	int64_t t0 = now_ns();
	/* The kernel write-faults every page in one call; page by page by hand where it cannot. */
	*populated = madvise(heap, bytes, MADV_POPULATE_WRITE) == 0;
	if (!*populated)
		for (size_t off = 0; off < bytes; off += SPAWN_PAGE_BYTES)
			heap[off] = (char)(off >> 12 | 1);
	*touch_ns = now_ns() - t0;
	int rc = spawn_sample(spawn_fork, timeout_ns, slice_ns - *touch_ns, h);
	munmap(heap, bytes);
	if (rc)
		return tp_fail(err, -rc, "spawn: fork with a %zu MiB heap: %s", bytes >> 20, strerror(-rc));
	return 0;
}

static json_t *spawn_run(const struct model_params *p, struct tp_err *err)
{
	struct hist *h = malloc(sizeof(*h));
	if (!h) {
		tp_fail(err, ENOMEM, "spawn: out of memory");
		return NULL;
	}
	fflush(NULL);
	json_t *out = json_pack("{s:s}", "status", "ok");
	json_t *mem = spawn_memory(p, err); /* first: before any thread stack is cached */
	if (!mem)
		goto fail;
	json_object_set_new(out, "parent_rss_bytes", json_integer(mu_proc_bytes(0, "status", "VmRSS")));
	json_object_set_new(out, "parent_page_tables_bytes", json_integer(mu_proc_bytes(0, "status", "VmPTE")));
	bool have_exe = access(spawn_exe, X_OK) == 0;
	for (size_t i = 0; i < sizeof(spawn_ops) / sizeof(*spawn_ops); i++) {
		const struct spawn_op *op = &spawn_ops[i];
		if (!have_exe && (op->run == spawn_posix_spawn || op->run == spawn_fork_exec)) {
			json_object_set_new(out, op->key, json_null());
			continue;
		}
		hist_init(h);
		int rc = spawn_sample(op->run, p->timeout_ns, (int64_t)(op->share * (double)p->budget_ns), h);
		if (rc) {
			tp_fail(err, -rc, "spawn: %s: %s", op->label,
				rc == -ECHILD ? "the child did not exit with status 0" : strerror(-rc));
			goto fail;
		}
		json_object_set_new(out, op->key, mu_hist_json(h));
	}
	size_t heap = p->quick ? SPAWN_HEAP_QUICK_BYTES : SPAWN_HEAP_BYTES;
	int64_t touch_ns = 0;
	bool populated = false;
	hist_init(h);
	if (spawn_big_heap(heap, p->timeout_ns, (int64_t)(SPAWN_BIG_HEAP_SHARE * (double)p->budget_ns), h,
			   &touch_ns, &populated, err))
		goto fail;
	json_object_set_new(out, "fork_big_heap_ns", mu_hist_json(h));
	json_object_set_new(out, "big_heap_bytes", json_integer((json_int_t)heap));
	json_object_set_new(out, "big_heap_touch_ns", json_integer(touch_ns));
	json_object_set_new(out, "big_heap_touched_by", json_string(populated ?
		"madvise(MADV_POPULATE_WRITE): the kernel write-faults every page" : "one write per 4 KiB page"));
	json_object_set_new(out, "exec_path", have_exe ? json_string(spawn_exe) : json_null());
	if (!have_exe)
		json_object_set_new(out, "exec_reason", json_string("/bin/true is missing or not executable"));
	json_object_set_new(out, "memory", mem);
	json_object_set_new(out, "method", json_string(
		"each operation timed from the call that starts it to waitpid() (pidfd-bounded) or "
		"pthread_join() returning, after 3 warmup runs; the children exit at once; the large "
		"heap is private anonymous memory with MADV_NOHUGEPAGE, every 4 KiB page written before timing, "
		"so fork copies one page table entry per page"));
	free(h);
	return out;
fail:
	json_decref(mem);
	json_decref(out);
	free(h);
	return NULL;
}

static void spawn_print_op(FILE *out, const char *label, const json_t *v)
{
	char a[32], b[32];
	if (!json_is_object(v)) {
		fprintf(out, "%-34s %10s %10s %7s\n", label, "-", "-", "-");
		return;
	}
	fprintf(out, "%-34s %10s %10s %7.0f\n", label, fmt_ns(mu_get(v, "p50"), a, sizeof(a)),
		fmt_ns(mu_get(v, "p99"), b, sizeof(b)), mu_get(v, "n"));
}

static void spawn_print(const json_t *r, FILE *out)
{
	fprintf(out, "%-34s %10s %10s %7s\n", "operation", "p50", "p99", "n");
	for (size_t i = 0; i < sizeof(spawn_ops) / sizeof(*spawn_ops); i++)
		spawn_print_op(out, spawn_ops[i].label, json_object_get(r, spawn_ops[i].key));
	char label[64], a[32], b[32], c[32];
	snprintf(label, sizeof(label), "fork + waitpid, %s heap",
		 mu_fmt_bytes(mu_get(r, "big_heap_bytes"), a, sizeof(a)));
	spawn_print_op(out, label, json_object_get(r, "fork_big_heap_ns"));
	const json_t *m = json_object_get(r, "memory");
	fprintf(out, "memory per idle process: %s (anon %s + page tables %s)\n",
		mu_fmt_bytes(mu_get(m, "process_bytes"), a, sizeof(a)),
		mu_fmt_bytes(mu_get(m, "process_anon_bytes"), b, sizeof(b)),
		mu_fmt_bytes(mu_get(m, "process_page_tables_bytes"), c, sizeof(c)));
	fprintf(out, "memory per idle thread:  %s (stack block resident %s + page tables %s; ",
		mu_fmt_bytes(mu_get(m, "thread_bytes"), a, sizeof(a)),
		mu_fmt_bytes(mu_get(m, "thread_stack_resident_bytes"), b, sizeof(b)),
		mu_fmt_bytes(mu_get(m, "thread_page_tables_bytes"), c, sizeof(c)));
	fprintf(out, "%s reserved)\n", mu_fmt_bytes(mu_get(m, "thread_stack_reserved_bytes"), a, sizeof(a)));
}

const struct model_ops model_spawn_ops = {
	.name = "spawn",
	.summary = "p50/p99 of fork+waitpid (also with a 256 MiB touched heap), vfork, posix_spawn vs "
		   "fork+exec of /bin/true, pthread_create+join; memory per idle process vs thread",
	.run = spawn_run,
	.print = spawn_print,
};
