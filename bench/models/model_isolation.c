/* isolation: what a child process and a thread share with their parent, observed and recorded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "model.h"
#include "model_util.h"
#include "runner.h"

#define ISO_BEFORE 1
#define ISO_WRITTEN 2

/* The value a child or a thread overwrites; one per demonstration, so none sees another's write. */
struct iso_cell {
	volatile int value;
};

/* What the sacrificial child reports while it lives (an anonymous shared mapping). */
struct iso_report {
	_Atomic int thread_started;    /* the crashing thread ran up to its crash */
	_Atomic int main_next_step;    /* the child's main thread got past its wait for that thread */
	int child_value;               /* what the writing child saw after its write */
};

static void *iso_write_thread(void *p)
{
	((struct iso_cell *)p)->value = ISO_WRITTEN;
	return NULL;
}

static const char *iso_signame(int sig)
{
	return sig == SIGSEGV ? "SIGSEGV" : sig == SIGKILL ? "SIGKILL" : sig == SIGABRT ? "SIGABRT" : "other";
}

/* A child's end, as one JSON object: exit status or signal, and whether a core was written. */
static json_t *iso_status_json(int status)
{
	if (WIFSIGNALED(status))
		return json_pack("{s:s, s:i, s:s, s:b}", "ended_by", "signal", "signal", WTERMSIG(status),
				 "signal_name", iso_signame(WTERMSIG(status)), "core_dumped", WCOREDUMP(status) != 0);
	return json_pack("{s:s, s:i, s:b}", "ended_by", "exit", "exit_status", WEXITSTATUS(status),
			 "core_dumped", 0);
}

/*
 * Run body(arg) in a forked child (body ends with _exit) and wait for it.
 * Returns 0 with its wait status, or -1 with err naming what was waited for.
 */
static int iso_in_child(void (*body)(void *), void *arg, const char *what, int64_t timeout_ns, int *status,
			struct tp_err *err)
{
	pid_t pid = fork_child();
	if (pid == 0) {
		body(arg);
		_exit(0);
	}
	if (pid < 0) {
		tp_fail(err, errno, "isolation: fork: %m");
		return -1;
	}
	int rc = mu_wait(pid, status, timeout_ns);
	if (rc) {
		tp_fail(err, -rc, "isolation: waiting for %s: %s", what, strerror(-rc));
		return -1;
	}
	return 0;
}

/* What the writing child writes to, and where it reports what it then saw. */
struct iso_write {
	struct iso_cell *cell;
	struct iso_report *rep;
};

static void iso_child_write(void *p)
{
	struct iso_write *w = p;
	w->cell->value = ISO_WRITTEN;
	w->rep->child_value = w->cell->value;
}

/* Memory: a child's write stays in its copy; a thread's lands in the one the main thread reads. */
static json_t *iso_memory(struct iso_report *rep, int64_t timeout_ns, struct tp_err *err)
{
	struct iso_cell pc = { ISO_BEFORE }, tc = { ISO_BEFORE };
	struct iso_write w = { &pc, rep };
	int status, rc;
	if (iso_in_child(iso_child_write, &w, "the writing child", timeout_ns, &status, err))
		return NULL;
	pthread_t t;
	if ((rc = pthread_create(&t, NULL, iso_write_thread, &tc)) || (rc = pthread_join(t, NULL))) {
		tp_fail(err, rc, "isolation: the writing thread: %s", strerror(rc));
		return NULL;
	}
	char pobs[160], tobs[160];
	bool pseen = pc.value == ISO_WRITTEN, tseen = tc.value == ISO_WRITTEN;
	snprintf(pobs, sizeof(pobs), "the child wrote %d and read back %d; the parent then read %d: %s",
		 ISO_WRITTEN, rep->child_value, pc.value, pseen ? "seen" : "not seen");
	snprintf(tobs, sizeof(tobs), "the thread wrote %d; after pthread_join the main thread read %d: %s",
		 ISO_WRITTEN, tc.value, tseen ? "seen" : "not seen");
	return json_pack("{s:{s:i, s:i, s:i, s:b, s:s}, s:{s:i, s:i, s:b, s:s}}",
			 "process", "value_before", ISO_BEFORE, "child_read_back", rep->child_value,
			 "parent_reads", pc.value, "seen_by_parent", pseen, "observed", pobs,
			 "thread", "value_before", ISO_BEFORE, "main_reads", tc.value, "seen_by_main", tseen,
			 "observed", tobs);
}

/* The start of a child that will crash: no core file, whatever core_pattern says, and default SIGSEGV. */
static void iso_sacrificial(void)
{
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0);
	/* A sanitizer's handler would turn the crash into an exit: take the default back. */
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
}

static void *iso_crash_thread(void *p)
{
	struct iso_report *rep = p;
	atomic_store(&rep->thread_started, 1);
	raise(SIGSEGV); /* to this thread; the default action ends every thread of the process */
	return NULL;
}

static void iso_child_crash(void *unused)
{
	(void)unused;
	iso_sacrificial();
	raise(SIGSEGV);
}

/* Crash in a child process: the parent goes on and reads the signal from waitpid(). */
static json_t *iso_crash_process(int64_t timeout_ns, struct tp_err *err)
{
	int status;
	if (iso_in_child(iso_child_crash, NULL, "the crashing child", timeout_ns, &status, err))
		return NULL;
	json_t *o = iso_status_json(status);
	char obs[160];
	/* Reaching this line is the observation: the parent survived its child's crash. */
	snprintf(obs, sizeof(obs), "the child %s %d (%s); the parent ran on to its next step",
		 WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no signal");
	json_object_set_new(o, "parent_continued", json_true());
	json_object_set_new(o, "observed", json_string(obs));
	return o;
}

struct iso_thread_crash {
	struct iso_report *rep;
	int64_t timeout_ns;
};

static void iso_child_thread_crash(void *p)
{
	struct iso_thread_crash *tc = p;
	iso_sacrificial();
	pthread_t t;
	if (pthread_create(&t, NULL, iso_crash_thread, tc->rep))
		_exit(3);
	struct timespec deadline = mu_realtime_deadline(tc->timeout_ns / 2);
	pthread_timedjoin_np(t, NULL, &deadline);
	atomic_store(&tc->rep->main_next_step, 1);
}

/* Crash in a thread, inside a sacrificial child: does the child's main thread reach its next step? */
static json_t *iso_crash_thread_in_child(struct iso_report *rep, int64_t timeout_ns, struct tp_err *err)
{
	struct iso_thread_crash tc = { rep, timeout_ns };
	int status;
	if (iso_in_child(iso_child_thread_crash, &tc, "the child whose thread crashes", timeout_ns, &status, err))
		return NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		tp_fail(err, EAGAIN, "isolation: the sacrificial child could not create its thread");
		return NULL;
	}
	json_t *o = iso_status_json(status);
	bool started = atomic_load(&rep->thread_started), next = atomic_load(&rep->main_next_step);
	char obs[200];
	snprintf(obs, sizeof(obs), "a thread %s SIGSEGV; its process %s %d (%s); the main thread %s its next step",
		 started ? "raised" : "never raised", WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no signal", next ? "reached" : "never reached");
	json_object_set_new(o, "crashing_thread_started", json_boolean(started));
	json_object_set_new(o, "main_thread_reached_next_step", json_boolean(next));
	json_object_set_new(o, "observed", json_string(obs));
	return o;
}

static void *iso_close_thread(void *p)
{
	close(*(int *)p);
	return NULL;
}

/* Is fd open, and does it still carry a byte through its pipe? */
static bool iso_pipe_works(int rd, int wr)
{
	char c = 'x';
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	return fcntl(rd, F_GETFD) >= 0 && write(wr, &c, 1) == 1 && poll(&pfd, 1, 1000) == 1 &&
	       read(rd, &c, 1) == 1 && c == 'x';
}

/* Descriptors: a child's close leaves the parent's copy open; a thread's close is the process's. */
static json_t *iso_fds(int64_t timeout_ns, struct tp_err *err)
{
	int pp[2], tp[2];
	if (pipe2(pp, O_CLOEXEC)) {
		tp_fail(err, errno, "isolation: pipe2: %m; raise the open-file limit (ulimit -n)");
		return NULL;
	}
	pid_t pid = fork_child();
	if (pid == 0)
		_exit(close(pp[0]) == 0 && fcntl(pp[0], F_GETFD) < 0 ? 0 : 1);
	int status = 0, rc = pid < 0 ? -errno : mu_wait(pid, &status, timeout_ns);
	bool child_closed = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool parent_open = iso_pipe_works(pp[0], pp[1]);
	close(pp[0]);
	close(pp[1]);
	if (rc) {
		tp_fail(err, -rc, "isolation: the closing child: %s", strerror(-rc));
		return NULL;
	}
	if (pipe2(tp, O_CLOEXEC)) {
		tp_fail(err, errno, "isolation: pipe2: %m; raise the open-file limit (ulimit -n)");
		return NULL;
	}
	pthread_t t;
	if ((rc = pthread_create(&t, NULL, iso_close_thread, &tp[0])) || (rc = pthread_join(t, NULL))) {
		close(tp[0]);
		close(tp[1]);
		tp_fail(err, rc, "isolation: the closing thread: %s", strerror(rc));
		return NULL;
	}
	/* No other thread opens files here, so the number cannot have been reused in between. */
	bool main_open = fcntl(tp[0], F_GETFD) >= 0;
	if (main_open)
		close(tp[0]);
	close(tp[1]);
	char pobs[160], tobs[160];
	snprintf(pobs, sizeof(pobs), "the child closed its copy of the read end%s; the parent's read end %s",
		 child_closed ? "" : " (the close failed)", parent_open ? "still carried a byte" : "was closed too");
	snprintf(tobs, sizeof(tobs), "a thread closed the read end; for the main thread it was %s",
		 main_open ? "still open" : "closed (EBADF)");
	return json_pack("{s:{s:b, s:b, s:s}, s:{s:b, s:s}}", "process", "child_closed", child_closed,
			 "open_in_parent", parent_open, "observed", pobs, "thread", "open_in_main", main_open,
			 "observed", tobs);
}

static json_t *iso_run(const struct model_params *p, struct tp_err *err)
{
	struct iso_report *rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED) {
		tp_fail(err, errno, "isolation: mmap of the report block: %m");
		return NULL;
	}
	memset(rep, 0, sizeof(*rep));
	json_t *mem = NULL, *cp = NULL, *ct = NULL, *fds = NULL, *out = NULL;
	if ((mem = iso_memory(rep, p->timeout_ns, err)) && (cp = iso_crash_process(p->timeout_ns, err)) &&
	    (ct = iso_crash_thread_in_child(rep, p->timeout_ns, err)) && (fds = iso_fds(p->timeout_ns, err)))
		out = json_pack("{s:s, s:o, s:{s:o, s:o}, s:o, s:s}", "status", "ok", "memory_write", mem,
				"crash", "process", cp, "thread", ct, "fd_close", fds, "method",
				"each line is what happened in this run, not what was expected: a value written after "
				"fork() or in a thread, then read by the parent; SIGSEGV raised in a child and in a "
				"thread of a sacrificial child (RLIMIT_CORE 0, not dumpable, so no core file); a pipe's "
				"read end closed in a child or in a thread, then used by the parent");
	if (!out) {
		json_decref(mem);
		json_decref(cp);
		json_decref(ct);
		json_decref(fds);
	}
	munmap(rep, sizeof(*rep));
	return out;
}

static void iso_line(FILE *out, const char *what, const char *who, const json_t *v)
{
	const json_t *o = json_object_get(v, "observed");
	fprintf(out, "%-18s %-8s %s\n", what, who, json_is_string(o) ? json_string_value(o) : "-");
}

static void iso_print(const json_t *r, FILE *out)
{
	static const char *const keys[] = { "memory_write", "crash", "fd_close" };
	static const char *const what[] = { "write to memory", "crash (SIGSEGV)", "close a descriptor" };
	fprintf(out, "%-18s %-8s %s\n", "observation", "in a", "what happened in this run");
	for (int i = 0; i < 3; i++) {
		const json_t *k = json_object_get(r, keys[i]);
		iso_line(out, what[i], "process", json_object_get(k, "process"));
		iso_line(out, "", "thread", json_object_get(k, "thread"));
	}
}

const struct model_ops model_isolation_ops = {
	.name = "isolation",
	.summary = "observed in this run: a write, a SIGSEGV and a close() in a child process vs in a "
		   "thread (the thread crash inside a sacrificial child); what the parent sees",
	.run = iso_run,
	.print = iso_print,
};
