/* python: threading vs multiprocessing in CPython, run by python/ipcbench_models.py as a bounded child. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "model.h"
#include "model_util.h"
#include "parse.h"
#include "runner.h"

/* Set by CMakeLists.txt: the script in the source tree, and where install() puts it. */
#ifndef IPCBENCH_PYTHON_SRC_DIR
#define IPCBENCH_PYTHON_SRC_DIR ""
#endif
#ifndef IPCBENCH_PYTHON_INSTALL_DIR
#define IPCBENCH_PYTHON_INSTALL_DIR ""
#endif

#define PY_SCRIPT "ipcbench_models.py"
#define PY_SYSTEM "/usr/bin/python3" /* Debian's python3 (python3-minimal) */
#define PY_SCRIPT_SHARE 0.85         /* of the budget, told to the script: the rest starts the interpreter */
#define PY_OUT_MAX (1 << 20)         /* bytes of stdout kept: the JSON is a few KiB */
#define PY_ERR_MAX (16 << 10)
#define PY_GRACE_NS (500 * 1000000LL) /* the script's own deadline comes this long before the kill */

/* An executable file at path? */
static bool py_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* name looked up in $PATH into buf, as execvp would; false when not found. */
static bool py_in_path(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	for (const char *p = path; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, p, name) < len && py_executable(buf))
			return true;
		p += n + (colon != NULL);
	}
	return false;
}

/*
 * The interpreter: $IPCBENCH_PYTHON (a path, or a name looked up in $PATH),
 * else Debian's /usr/bin/python3, else python3 in $PATH. False when none.
 */
static bool py_find_interpreter(char *buf, size_t len)
{
	const char *env = getenv("IPCBENCH_PYTHON");
	if (env && *env) {
		if (strchr(env, '/'))
			return snprintf(buf, len, "%s", env) < (int)len && py_executable(buf);
		return py_in_path(env, buf, len);
	}
	if (py_executable(PY_SYSTEM))
		return snprintf(buf, len, "%s", PY_SYSTEM) > 0;
	return py_in_path("python3", buf, len);
}

/*
 * The script: in $IPCBENCH_PYTHON_DIR, else in ../share/ipcbench/python
 * beside the binary (an installed or relocated binary uses its own copy),
 * else in the source tree this binary was built from (a build tree), else
 * where install() put it. Lists the places tried in tried.
 */
static bool py_find_script(char *buf, size_t len, char *tried, size_t tlen)
{
	char exe[PATH_MAX] = "", rel[PATH_MAX + 32] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(rel, sizeof(rel), "%s/../share/ipcbench/python", exe);
		}
	}
	const char *env = getenv("IPCBENCH_PYTHON_DIR");
	const char *dirs[] = { env ? env : "", rel, IPCBENCH_PYTHON_SRC_DIR, IPCBENCH_PYTHON_INSTALL_DIR };
	size_t at = 0;
	tried[0] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!*dirs[i])
			continue;
		if ((size_t)snprintf(buf, len, "%s/%s", dirs[i], PY_SCRIPT) < len && access(buf, R_OK) == 0)
			return true;
		if (at < tlen)
			at += (size_t)snprintf(tried + at, tlen - at, "%s%s", at ? ", " : "", dirs[i]);
	}
	return false;
}

/* Read what fd has now into *buf (grown up to max, the rest dropped); false at end of file or error. */
static bool py_drain(int fd, char **buf, size_t *len, size_t max)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	size_t keep = *len + (size_t)n > max ? max - *len : (size_t)n;
	char *grown = keep ? realloc(*buf, *len + keep + 1) : *buf;
	if (keep && grown) {
		memcpy(grown + *len, chunk, keep);
		*len += keep;
		grown[*len] = '\0';
		*buf = grown;
	}
	return true;
}

/* What one run of the script gave. */
struct py_child {
	char *out, *err; /* stdout and stderr, NUL-terminated (may be NULL when empty) */
	size_t out_len, err_len;
	int status;      /* wait status */
	bool timed_out;  /* killed at the deadline */
};

/*
 * fork + exec argv (no shell), stdout and stderr into pipes, stdin from
 * /dev/null; killed with SIGKILL when deadline_ns passes. 0 or -errno.
 */
static int py_spawn(char *const argv[], int64_t deadline_ns, struct py_child *c)
{
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		int rc = -errno;
		close(out[0]);
		close(out[1]);
		return rc;
	}
	pid_t pid = fork_child();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int rc = pid < 0 ? -errno : 0;
	close(out[1]);
	close(err[1]);
	bool open_fd[2] = { pid > 0, pid > 0 };
	while (open_fd[0] || open_fd[1]) {
		struct pollfd pfd[2] = { { .fd = open_fd[0] ? out[0] : -1, .events = POLLIN },
					 { .fd = open_fd[1] ? err[0] : -1, .events = POLLIN } };
		int ms = ms_until(deadline_ns);
		int n = ms ? poll(pfd, 2, ms) : 0;
		if (n < 0 && errno == EINTR && !runner_stop_signal)
			continue;
		if (n <= 0) { /* the deadline, an error, or Ctrl-C: the wait below kills it */
			c->timed_out = n == 0;
			break;
		}
		if (pfd[0].revents && !py_drain(out[0], &c->out, &c->out_len, PY_OUT_MAX))
			open_fd[0] = false;
		if (pfd[1].revents && !py_drain(err[0], &c->err, &c->err_len, PY_ERR_MAX))
			open_fd[1] = false;
	}
	close(out[0]);
	close(err[0]);
	if (pid > 0) {
		/* Output closed: the interpreter is exiting. Cut short: kill it now. */
		int w = mu_wait(pid, &c->status, open_fd[0] || open_fd[1] ? 0 : PY_GRACE_NS);
		if (runner_stop_signal)
			rc = -EINTR;
		else if (w == -ETIMEDOUT && !(open_fd[0] || open_fd[1]))
			c->timed_out = true;
		else if (w && w != -ETIMEDOUT)
			rc = w;
	}
	return rc;
}

/* The last non-empty line of s, for a reason; "" when none. */
static const char *py_last_line(char *s)
{
	if (!s)
		return "";
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

static json_t *py_unsupported(const char *fmt, const char *arg)
{
	char why[600];
	snprintf(why, sizeof(why), fmt, arg);
	return json_pack("{s:s, s:s}", "status", "unsupported", "reason", why);
}

static json_t *py_run(const struct model_params *p, struct tp_err *err)
{
	char interp[PATH_MAX], script[PATH_MAX], tried[1024];
	if (!py_find_interpreter(interp, sizeof(interp))) {
		const char *env = getenv("IPCBENCH_PYTHON");
		return py_unsupported("no Python interpreter: %s; install the Debian package python3-minimal (or "
				      "python3), or name one with IPCBENCH_PYTHON",
				      env && *env ? "IPCBENCH_PYTHON is not an executable" : "python3 is not in PATH");
	}
	if (!py_find_script(script, sizeof(script), tried, sizeof(tried)))
		return py_unsupported("the script " PY_SCRIPT " was not found (looked in %s); set IPCBENCH_PYTHON_DIR",
				      tried);
	int ncpu = p->ncpu < mu_allowed_count() ? p->ncpu : mu_allowed_count();
	int64_t kill_ns = 2 * p->budget_ns + p->timeout_ns; /* past this the interpreter is killed */
	char budget[32], deadline[32], cpus[32], ncpus[16];
	snprintf(budget, sizeof(budget), "%.0f", PY_SCRIPT_SHARE * (double)p->budget_ns / 1e6);
	snprintf(deadline, sizeof(deadline), "%.0f", (double)(kill_ns - PY_GRACE_NS) / 1e6);
	snprintf(cpus, sizeof(cpus), "%d,%d", p->cpu[0], p->cpu[1]);
	snprintf(ncpus, sizeof(ncpus), "%d", ncpu < 1 ? 1 : ncpu);
	/* -I: isolated (no PYTHON* variables, no user site-packages), so the host's settings cannot change it. */
	char *argv[] = { interp, "-I", script, "--budget-ms", budget, "--deadline-ms", deadline, "--ncpu", ncpus,
			 "--cpus", cpus, p->quick ? "--quick" : NULL, NULL };
	struct py_child c = { 0 };
	int64_t t0 = now_ns();
	int rc = py_spawn(argv, t0 + kill_ns, &c);
	int64_t took = now_ns() - t0;
	json_t *out = NULL;
	json_error_t jerr;
	if (rc)
		tp_fail(err, -rc, "python: running %s: %s", interp, strerror(-rc));
	else if (c.timed_out)
		tp_fail(err, ETIMEDOUT, "python: %s %s did not finish within %.1f s and was killed", interp, script,
			(double)kill_ns / 1e9);
	else if (!(out = c.out ? json_loadb(c.out, c.out_len, 0, &jerr) : NULL) || !json_is_object(out))
		tp_fail(err, EPROTO, "python: %s printed no JSON object (%s %d): %s", interp,
			WIFEXITED(c.status) ? "exit status" : "signal",
			WIFEXITED(c.status) ? WEXITSTATUS(c.status) : WTERMSIG(c.status), py_last_line(c.err));
	else if (!json_is_string(json_object_get(out, "status")) ||
		 strcmp(json_string_value(json_object_get(out, "status")), "ok") != 0 || !WIFEXITED(c.status) ||
		 WEXITSTATUS(c.status) != 0) {
		const char *why = json_string_value(json_object_get(out, "reason"));
		tp_fail(err, EPROTO, "python: %s", why ? why : py_last_line(c.err));
	} else {
		json_object_set_new(out, "interpreter_path", json_string(interp));
		json_object_set_new(out, "script", json_string(script));
		json_object_set_new(out, "wall_ns", json_integer((json_int_t)took));
		json_object_set_new(out, "method", json_string(
			"the script runs in its own interpreter (fork+exec, -I, killed at a deadline); multiprocessing "
			"uses the fork start method. cpu_bound: sum of (i*i) mod 1000003 over a range split into equal "
			"parts, best of the repetitions, wall time from creating the first worker to joining the last; "
			"io_bound: tasks of time.sleep(1 ms) then about 20 us of the same work, split alike; speedup "
			"is the one-worker time over the n-worker time of the same kind. roundtrip_64b: a 64-byte bytes "
			"object there and back, each trip timed alone with perf_counter_ns: Pipe.send/recv (pickled), "
			"Pipe.send_bytes/recv_bytes (not pickled), a pair of multiprocessing.Queue, and a pair of "
			"queue.Queue between two threads; the two sides pinned to the run's two CPUs"));
		free(c.out);
		free(c.err);
		return out;
	}
	json_decref(out);
	free(c.out);
	free(c.err);
	return NULL;
}

static void py_split_lines(FILE *out, const char *title, const json_t *part)
{
	const json_t *w = json_object_get(part, "workers");
	const json_t *pr = json_object_get(part, "process"), *th = json_object_get(part, "thread");
	fprintf(out, "%-10s %-8s %12s %8s %12s %8s\n", title, "workers", "processes", "speedup", "threads", "speedup");
	for (size_t i = 0; i < json_array_size(w); i++) {
		char a[24], b[24];
		fprintf(out, "%-10s %-8d %12s %7.2fx %12s %7.2fx\n", "", (int)json_integer_value(json_array_get(w, i)),
			fmt_ns(json_number_value(json_array_get(json_object_get(pr, "time_ns"), i)), a, sizeof(a)),
			json_number_value(json_array_get(json_object_get(pr, "speedup"), i)),
			fmt_ns(json_number_value(json_array_get(json_object_get(th, "time_ns"), i)), b, sizeof(b)),
			json_number_value(json_array_get(json_object_get(th, "speedup"), i)));
	}
}

static void py_print(const json_t *r, FILE *out)
{
	const char *st = json_string_value(json_object_get(r, "status"));
	if (st && strcmp(st, "unsupported") == 0) {
		fprintf(out, "unsupported: %s\n", json_string_value(json_object_get(r, "reason")));
		return;
	}
	const json_t *in = json_object_get(r, "interpreter");
	fprintf(out, "%s %s (%s), GIL %s (%s); multiprocessing start method %s\n",
		json_string_value(json_object_get(r, "interpreter_path")),
		json_string_value(json_object_get(in, "version_short")), json_string_value(json_object_get(in, "version")),
		json_is_true(json_object_get(in, "gil_enabled")) ? "enabled" : "disabled",
		json_is_true(json_object_get(in, "free_threaded_build")) ? "free-threaded build" : "default build",
		json_string_value(json_object_get(r, "start_method")));
	py_split_lines(out, "CPU-bound", json_object_get(r, "cpu_bound"));
	py_split_lines(out, "I/O-bound", json_object_get(r, "io_bound"));
	static const char *const keys[] = { "pipe_ns", "pipe_bytes_ns", "queue_ns", "thread_queue_ns" };
	static const char *const what[] = { "multiprocessing.Pipe send/recv (pickled)",
					    "multiprocessing.Pipe send_bytes/recv_bytes",
					    "multiprocessing.Queue, one each way", "queue.Queue between two threads" };
	fprintf(out, "%-44s %10s %10s %8s   (64 B round trip)\n", "", "p50", "p99", "trips");
	const json_t *rt = json_object_get(r, "roundtrip_64b");
	for (int i = 0; i < 4; i++) {
		char a[24], b[24];
		const json_t *v = json_object_get(rt, keys[i]);
		fprintf(out, "%-44s %10s %10s %8.0f\n", what[i], fmt_ns(mu_get(v, "p50"), a, sizeof(a)),
			fmt_ns(mu_get(v, "p99"), b, sizeof(b)), mu_get(v, "n"));
	}
}

const struct model_ops model_python_ops = {
	.name = "python",
	.summary = "CPython threading vs multiprocessing: CPU-bound and sleep-bound work split over workers "
		   "(speedup, GIL state), 64 B round trips through Pipe and Queue",
	.run = py_run,
	.print = py_print,
};
