/* The fault matrix through the binary: every mechanism with a side or the runner killed, Ctrl-C, a stopped peer, tight limits. */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "parse.h"
#include "registry.h"
#include "results/doc.h"

/* The moments are drawn from this seed, the mechanism's name and the fault: the same every run. */
#define SEED UINT64_C(0x1bc5fa17)
#define MOMENTS 2
/*
 * Each row of a run (-d 0.25) lasts about ROW_MS (warmup, timed span, fork and
 * setup); moments fall from MOMENT_MIN_MS into the first 85 % of the rows'
 * time, so a fault lands in the run whatever its number of rows. They count
 * from when the tool has its SIGINT handler: before that (~20 ms of loading
 * libzmq and its dependencies, far more under ASan) Ctrl-C kills any program.
 */
#define ROW_MS 320
#define MOMENT_MIN_MS 50
/* How long the tool may take to end after a fault, on a loaded 2-CPU machine. */
#define END_TIMEOUT_S 20
#define MS (NS_PER_S / 1000)

/* What the holder process reports about one run of the tool; lives in a shared mapping. */
struct sandbox_report {
	_Atomic int tool;      /* the tool's pid, once forked */
	_Atomic int tool_done; /* the tool was reaped; tool_status is its wait status */
	int tool_status;
	int isolated;          /* the run had its own mount, IPC and network namespaces */
	int setup_failed;      /* the namespaces could not be made */
	char procs[512];       /* processes of the run still alive 5 s after the tool ended */
	char names[4096];      /* what the run left in its namespaces' /dev/shm, /tmp, mqueue, sockets */
};

/* One run of the tool under a holder process that reaps everything it leaves. */
struct sandbox {
	pid_t holder;
	int pidfd;
	int out, err; /* memfds the tool writes its stdout and stderr to */
	struct sandbox_report *rep;
};

enum fault { F_KILL_A, F_KILL_B, F_KILL_HOST, F_SIGINT, F_KILL_RUNNER, F_KILL_RUNNER_AT_FORK, F_N };

static const char *const fault_names[F_N] = {
	[F_KILL_A] = "kill -9 side A",
	[F_KILL_B] = "kill -9 side B",
	[F_KILL_HOST] = "kill -9 host",
	[F_SIGINT] = "SIGINT group",
	[F_KILL_RUNNER] = "kill -9 runner",
	[F_KILL_RUNNER_AT_FORK] = "kill -9 runner",
};

/* The tallies printed at the end. */
static struct {
	int mechanisms, cases, passed, failed, skipped;
} matrix;

/* A scratch directory in the working directory (not /tmp, not named ipcbench-*) for -o runs. */
static char scratch[64];

/* ---- helpers ---- */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A fraction in [0, 1) for the k-th moment of fault f on mechanism name: fixed, whatever the registry's order. */
static double moment_fraction(const char *name, enum fault f, int k)
{
	uint64_t x = SEED;
	for (const char *p = name; *p; p++)
		x = x * 131 + (unsigned char)*p;
	x ^= (uint64_t)f << 40 ^ (uint64_t)k << 48;
	splitmix(&x);
	return (double)(splitmix(&x) >> 11) / (double)(UINT64_C(1) << 53);
}

static int usable_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) ? 1 : CPU_COUNT(&set);
}

/* Does a run of this mechanism fork two sides (true) or one host child (false)? */
static bool two_sides(const struct transport_ops *ops)
{
	return strcmp(ops->group, "process") == 0 && !ops->solo;
}

/* The rows `-s 64,4K` with both patterns gives for ops. */
static int rows_for(const struct transport_ops *ops, int n_sizes)
{
	int n = 0;
	for (unsigned mask = TP_PINGPONG; mask <= TP_STREAM; mask <<= 1)
		if (!ops->patterns || (ops->patterns & mask))
			n += ops->fixed_size ? 1 : n_sizes;
	return n;
}

static bool skip_spin(const struct transport_ops *ops)
{
	if ((ops->flags & TP_SPIN_ONLY) && usable_cpus() < 2) {
		print_message("%s only spins and this process has one CPU: skipped\n", ops->name);
		return true;
	}
	return false;
}

/* Every registered mechanism, comma-separated, for -m. */
static char *all_mechanisms(void)
{
	size_t len = 1;
	for (int i = 0; transport_registry[i]; i++)
		len += strlen(transport_registry[i]->name) + 1;
	char *s = calloc(1, len);
	for (int i = 0; transport_registry[i]; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, transport_registry[i]->name);
	}
	return s;
}

/* The whole content of fd (a memfd), NUL-terminated; malloc'd. */
static char *fd_text(int fd)
{
	struct stat sb;
	size_t len = fstat(fd, &sb) == 0 ? (size_t)sb.st_size : 0;
	char *s = calloc(1, len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, s + got, len - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	s[got] = '\0';
	return s;
}

/* Append printf-style text to a fixed buffer, never past its end. */
static void addf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void addf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

#define PF_EXITING 0x4 /* the kernel's task flag for a process already on its way out */

/* The state letter of pid from /proc, or 0 when it is gone; 'X' too when it is already exiting. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	char state;
	unsigned flags;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return 0;
	return flags & PF_EXITING ? 'X' : state;
}

/* ---- the sandbox: a holder process, the tool in its own session below it ---- */

/* Can this process make private mount, IPC and network namespaces? Tried once, in a child. */
static bool can_isolate(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	known = 0;
	if (geteuid() != 0)
		return false;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET) ? 1 : 0);
	int status;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		known = 1;
	print_message("leftovers are looked for in %s\n",
		      known ? "private namespaces of each run (a fresh /dev/shm, /tmp, IPC and network namespace)"
			    : "the host's namespaces (not root: no private namespaces)");
	return known;
}

/* Bring up loopback in a fresh network namespace, so tcp rows run there. */
static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
}

/* A private /dev/shm, /tmp, IPC namespace (POSIX mq) and network namespace (abstract sockets). */
static int sandbox_enter(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"))
		return -1;
	loopback_up();
	return 0;
}

static void list_dir(const char *dir, const char *label, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			addf(out, cap, "%s%s\n", label, e->d_name);
	if (d)
		closedir(d);
}

/* Everything in the private namespaces: they started empty, so every entry is a leftover. */
static void list_namespace(char *out, size_t cap)
{
	list_dir("/dev/shm", "/dev/shm/", out, cap);
	list_dir("/tmp", "/tmp/", out, cap);
	FILE *f = fopen("/proc/net/unix", "re"); /* this network namespace's sockets only */
	char line[1024];
	if (f && !fgets(line, sizeof(line), f)) /* the header line */
		line[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char path[512];
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %511s", path) == 1)
			addf(out, cap, "socket %s\n", path);
	}
	if (f)
		fclose(f);
	/* the IPC namespace's message queues, seen through an mqueue mount where /tmp was */
	if (mount("mqueue", "/tmp", "mqueue", 0, NULL) == 0)
		list_dir("/tmp", "/dev/mqueue/", out, cap);
	else
		addf(out, cap, "(cannot mount mqueue to look: %s)\n", strerror(errno));
}

/* Wait up to 5 s for every process below the holder to end; name and kill the ones that do not. */
static void reap_all(struct sandbox_report *rep)
{
	int64_t deadline = now_ns() + 5 * NS_PER_S;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0 && errno == ECHILD)
			return;
		if (p > 0)
			continue;
		if (now_ns() >= deadline)
			break;
		usleep(2000);
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *close_paren = strrchr(buf, ')'), *open_paren = strchr(buf, '(');
		int ppid;
		if (!close_paren || !open_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1 || ppid != getpid())
			continue;
		*close_paren = '\0';
		addf(rep->procs, sizeof(rep->procs), "%s (%s, state %c) ", e->d_name, open_paren + 1, close_paren[2]);
		kill(atoi(e->d_name), SIGKILL);
	}
	if (d)
		closedir(d);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

/*
 * The binary, opened before any sandbox exists: the sandbox mounts a fresh
 * /tmp, which hides the binary when the tree being tested lives under /tmp.
 */
static int tool_fd = -1;

static void open_tool(void)
{
	if (tool_fd < 0)
		tool_fd = open(getenv("IPCBENCH"), O_RDONLY | O_CLOEXEC);
}

static void exec_tool(const char *const *args, const struct sandbox *sb)
{
	const char *argv[64] = { "ipcbench" };
	for (int i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	setsid(); /* its own session and process group: Ctrl-C reaches exactly the run */
	int null = open("/dev/null", O_RDONLY);
	dup2(null, 0);
	dup2(sb->out, 1);
	dup2(sb->err, 2);
	extern char **environ;
	fexecve(tool_fd, (char *const *)argv, environ);
	_exit(127);
}

static void holder(const char *const *args, struct sandbox *sb)
{
	struct sandbox_report *rep = sb->rep;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* the run's orphans come here, to be counted and reaped */
	if (rep->isolated && sandbox_enter()) {
		rep->setup_failed = errno ? errno : EINVAL;
		rep->tool = -1;
		_exit(1);
	}
	fflush(NULL);
	pid_t tool = fork();
	if (tool == 0)
		exec_tool(args, sb);
	rep->tool = tool > 0 ? tool : -1;
	int status = 0;
	while (tool > 0 && waitpid(tool, &status, 0) < 0 && errno == EINTR)
		;
	rep->tool_status = status;
	rep->tool_done = 1;
	reap_all(rep);
	if (rep->isolated)
		list_namespace(rep->names, sizeof(rep->names));
	_exit(0);
}

/* Start the tool with args under a holder; returns once the tool's pid is known. */
static void sandbox_start(struct sandbox *sb, const char *const *args)
{
	open_tool();
	memset(sb, 0, sizeof(*sb));
	sb->rep = mmap(NULL, sizeof(*sb->rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sb->rep != MAP_FAILED);
	memset(sb->rep, 0, sizeof(*sb->rep));
	sb->rep->isolated = can_isolate();
	sb->out = memfd_create("stdout", MFD_CLOEXEC);
	sb->err = memfd_create("stderr", MFD_CLOEXEC);
	assert_true(sb->out >= 0 && sb->err >= 0);
	fflush(NULL);
	sb->holder = fork();
	assert_true(sb->holder >= 0);
	if (sb->holder == 0)
		holder(args, sb);
	sb->pidfd = (int)syscall(SYS_pidfd_open, sb->holder, 0);
	assert_true(sb->pidfd >= 0);
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while (!sb->rep->tool && now_ns() < deadline)
		usleep(100);
	if (sb->rep->tool <= 0)
		print_error("the tool did not start: %s\n",
			    sb->rep->setup_failed ? strerror(sb->rep->setup_failed) : "fork failed or timed out");
	assert_true(sb->rep->tool > 0);
}

static bool tool_running(const struct sandbox *sb)
{
	return !sb->rep->tool_done;
}

/* Wait up to timeout_s for the holder to finish its report; true when it did. */
static bool holder_done(const struct sandbox *sb, int timeout_s)
{
	int64_t deadline = now_ns() + (int64_t)timeout_s * NS_PER_S;
	for (;;) {
		if (waitpid(sb->holder, NULL, WNOHANG) == sb->holder)
			return true;
		int ms = ms_until(deadline);
		if (ms == 0)
			return false;
		struct pollfd p = { .fd = sb->pidfd, .events = POLLIN };
		poll(&p, 1, ms);
	}
}

/*
 * Wait for the run to end and the holder to report. A tool still running
 * after timeout_s is killed with its process group; returns false then.
 */
static bool sandbox_wait(struct sandbox *sb, int timeout_s)
{
	bool in_time = holder_done(sb, timeout_s);
	if (!in_time) {
		if (sb->rep->tool > 0)
			kill(-sb->rep->tool, SIGKILL);
		if (!holder_done(sb, 10)) {
			kill(sb->holder, SIGKILL);
			waitpid(sb->holder, NULL, 0);
		}
	}
	close(sb->pidfd);
	return in_time;
}

static void sandbox_free(struct sandbox *sb)
{
	close(sb->out);
	close(sb->err);
	munmap(sb->rep, sizeof(*sb->rep));
}

/* A results document from the tool's stdout, read by the reader plot and compare use; NULL if invalid. */
static json_t *stdout_doc(const struct sandbox *sb)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sb->out);
	return doc_load(path, "test_faults");
}

/* The first failed row's reason (or NULL); *n_rows the number of rows. */
static const char *failed_reason(const json_t *doc, int *n_rows)
{
	const json_t *rows = json_object_get(doc, "results");
	*n_rows = (int)json_array_size(rows);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
		if (strcmp(doc_str(r, "status"), "failed") == 0)
			return doc_str(r, "reason");
	return NULL;
}

/* ---- one case of the matrix ---- */

/* Wait until the tool catches SIGINT (its SigCgt mask in /proc); false when it ended first. */
static bool wait_for_handler(const struct sandbox *sb)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", sb->rep->tool);
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while (tool_running(sb) && now_ns() < deadline) {
		FILE *f = fopen(path, "re");
		unsigned long long caught = 0;
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "SigCgt: %llx", &caught) == 1)
				break;
		if (f)
			fclose(f);
		if (caught & (1ULL << (SIGINT - 1)))
			return true;
		usleep(200);
	}
	return false;
}

/* Pick side (0 A, 1 B) of the row running now, or the host child; waits for the next row if needed. */
static pid_t pick_child(const struct sandbox *sb, bool two, int side)
{
	int64_t deadline = now_ns() + 5 * NS_PER_S;
	while (tool_running(sb) && now_ns() < deadline) {
		pid_t kids[8];
		int n = children_of(sb->rep->tool, kids, 8);
		if (n >= (two ? 2 : 1)) {
			pid_t pid = kids[two ? side : 0];
			char st = proc_state(pid);
			if (st && st != 'Z' && st != 'X')
				return pid;
		}
		usleep(500);
	}
	return -1;
}

/* Signal pid through a pidfd, so a pid reused in between is never hit. */
static int signal_pid(pid_t pid, int sig)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -errno;
	char st = proc_state(pid);
	int rc = st && st != 'Z' && st != 'X' ? (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) : -1;
	close(pfd);
	return rc ? -ESRCH : 0;
}

/* Wait until the runner forks the first process of row `row` (0-based); false when the run ended first. */
static bool wait_for_row(const struct sandbox *sb, int row, int per_row)
{
	pid_t seen[64], now[8];
	int n_seen = 0;
	const struct timespec nap = { 0, 20000 };
	while (tool_running(sb)) {
		int n = children_of(sb->rep->tool, now, 8);
		for (int i = 0; i < n; i++) {
			bool old = false;
			for (int j = 0; j < n_seen; j++)
				old |= now[i] == seen[j];
			if (old || n_seen == 64)
				continue;
			seen[n_seen++] = now[i];
			if (n_seen > row * per_row)
				return true;
		}
		nanosleep(&nap, NULL);
	}
	return false;
}

/* Run one case; returns NULL when it passed, or why not (static buffer). detail gets the outcome. */
static const char *fault_case(const struct transport_ops *ops, enum fault f, int k, int at, char *detail,
			      size_t detail_len)
{
	static char why[600];
	why[0] = '\0';
	bool two = two_sides(ops);
	char outdir[128] = "";
	const char *args[24] = { "-m", ops->name, "-d", "0.25", "-r", "1", "-s", "64,4K", "-t", "1", "--quiet" };
	int na = 11;
	if (f == F_SIGINT && k == 1) {
		snprintf(outdir, sizeof(outdir), "%s/%s-%d", scratch, ops->name, k);
		args[na++] = "-o";
		args[na++] = outdir;
	} else {
		args[na++] = "--json";
	}
	args[na] = NULL;
	char *before = can_isolate() ? NULL : leftovers_snapshot();
	struct sandbox sb;
	sandbox_start(&sb, args);
	wait_for_handler(&sb);
	int64_t t0 = now_ns();
	while (f != F_KILL_RUNNER_AT_FORK && now_ns() < t0 + at * MS && tool_running(&sb))
		usleep(200);

	int sent = -ESRCH;
	pid_t victim = -1;
	if (f == F_KILL_A || f == F_KILL_B || f == F_KILL_HOST) {
		victim = pick_child(&sb, two, f == F_KILL_B);
		if (victim > 0)
			sent = signal_pid(victim, SIGKILL);
	} else if (f == F_SIGINT) {
		if (tool_running(&sb))
			sent = kill(-sb.rep->tool, SIGINT) ? -errno : 0;
	} else if (f == F_KILL_RUNNER_AT_FORK) {
		if (wait_for_row(&sb, at, two ? 2 : 1))
			sent = kill(sb.rep->tool, SIGKILL) ? -errno : 0;
	} else if (tool_running(&sb)) {
		sent = kill(sb.rep->tool, SIGKILL) ? -errno : 0;
	}
	int64_t signalled = now_ns();
	bool in_time = sandbox_wait(&sb, END_TIMEOUT_S);
	double end_s = (double)(now_ns() - signalled) / 1e9;
	int st = sb.rep->tool_status;

	if (sent != 0) {
		snprintf(why, sizeof(why), "the run ended before the fault could be applied (exit %d)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	} else if (!in_time) {
		snprintf(why, sizeof(why), "still running %d s after the fault", END_TIMEOUT_S);
	} else if (f == F_KILL_RUNNER || f == F_KILL_RUNNER_AT_FORK) {
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			snprintf(why, sizeof(why), "the runner was not killed (status 0x%x)", st);
		else
			snprintf(detail, detail_len, "runner killed, all gone %.2f s later", end_s);
	} else if (f == F_SIGINT) {
		json_t *doc = NULL;
		if (outdir[0]) {
			char path[200];
			snprintf(path, sizeof(path), "%s/results.json", outdir);
			doc = doc_load(path, "test_faults");
		} else {
			doc = stdout_doc(&sb);
		}
		int n_rows = 0;
		if (doc)
			failed_reason(doc, &n_rows);
		if (WIFSIGNALED(st))
			snprintf(why, sizeof(why), "killed by signal %d after SIGINT, want exit 130", WTERMSIG(st));
		else if (WEXITSTATUS(st) != 130)
			snprintf(why, sizeof(why), "exit %d after SIGINT, want 130", WEXITSTATUS(st));
		else if (!doc)
			snprintf(why, sizeof(why), "no valid results document %s after SIGINT",
				 outdir[0] ? "in -o DIR" : "on stdout");
		else
			snprintf(detail, detail_len, "exit 130 in %.2f s, %d row%s in %s", end_s, n_rows,
				 n_rows == 1 ? "" : "s", outdir[0] ? "DIR/results.json" : "the JSON on stdout");
		json_decref(doc);
	} else {
		json_t *doc = stdout_doc(&sb);
		int n_rows = 0;
		const char *reason = doc ? failed_reason(doc, &n_rows) : NULL;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
			snprintf(why, sizeof(why), "exit %d, want 1 (a failed row)",
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		else if (!doc)
			snprintf(why, sizeof(why), "stdout is not a valid results document");
		else if (!reason || !reason[0])
			snprintf(why, sizeof(why), "no failed row with a reason");
		else if (n_rows != rows_for(ops, 2))
			snprintf(why, sizeof(why), "%d rows, want %d: the run did not go on", n_rows, rows_for(ops, 2));
		else
			snprintf(detail, detail_len, "exit 1 in %.2f s: %s", end_s, reason);
		json_decref(doc);
	}
	if (!why[0] && sb.rep->procs[0])
		snprintf(why, sizeof(why), "processes left 5 s after the run: %s", sb.rep->procs);
	if (!why[0] && sb.rep->names[0])
		snprintf(why, sizeof(why), "left behind:\n%.500s", sb.rep->names);
	if (why[0]) {
		char *err = fd_text(sb.err);
		if (err[0])
			addf(why, sizeof(why), "\n  stderr: %.300s", err);
		free(err);
	}
	sandbox_free(&sb);
	if (outdir[0])
		remove_tree(outdir);
	if (before)
		assert_no_new_leftovers(before); /* without private namespaces, the host's are compared */
	return why[0] ? why : NULL;
}

/* Every fault at MOMENTS moments for one mechanism. */
static void test_fault_matrix(void **state)
{
	const struct transport_ops *ops = *state;
	if (skip_spin(ops)) {
		matrix.skipped++;
		skip();
	}
	static const enum fault two[] = { F_KILL_A, F_KILL_B, F_SIGINT, F_KILL_RUNNER, F_KILL_RUNNER_AT_FORK };
	static const enum fault one[] = { F_KILL_HOST, F_SIGINT, F_KILL_RUNNER, F_KILL_RUNNER_AT_FORK };
	const enum fault *faults = two_sides(ops) ? two : one;
	size_t n = two_sides(ops) ? sizeof(two) / sizeof(two[0]) : sizeof(one) / sizeof(one[0]);
	int bad = 0;
	matrix.mechanisms++;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < MOMENTS; k++) {
			char detail[400] = "", when[32];
			double frac = moment_fraction(ops->name, faults[i], k);
			int rows = rows_for(ops, 2), at;
			if (faults[i] == F_KILL_RUNNER_AT_FORK) { /* which row's fork, rather than when */
				at = (int)(frac * rows);
				snprintf(when, sizeof(when), "fork of row %d", at + 1);
			} else {
				at = MOMENT_MIN_MS + (int)(frac * (0.85 * rows * ROW_MS - MOMENT_MIN_MS));
				snprintf(when, sizeof(when), "%d ms", at);
			}
			const char *why = fault_case(ops, faults[i], k, at, detail, sizeof(detail));
			matrix.cases++;
			if (why) {
				matrix.failed++;
				bad++;
				print_error("%-14s %-16s at %-14s FAILED: %s\n", ops->name, fault_names[faults[i]], when, why);
			} else {
				matrix.passed++;
				print_message("%-14s %-16s at %-14s %s\n", ops->name, fault_names[faults[i]], when, detail);
			}
		}
	assert_int_equal(bad, 0);
}

/* A row of a mechanism without flow control (TP_LOSSY) that failed only by losing messages: not the fault's row. */
static bool lossy_stream_loss(const struct transport_ops *ops, const json_t *row)
{
	const char *reason = doc_str(row, "reason");
	return (ops->flags & TP_LOSSY) && strstr(reason, "verification failed") &&
	       strstr(reason, " 0 duplicate, 0 reordered, 0 corrupt");
}

/*
 * A stopped side: its row fails by the deadline with a reason, the rows after
 * it run, and the stopped process is gone afterwards. The stop is meant for
 * the first row; on a busy machine it may land in a later one, so the check is
 * on the one failed row, wherever it is, with a row after it.
 */
static void test_stuck_peer(void **state)
{
	const struct transport_ops *ops = *state;
	if (skip_spin(ops))
		skip();
	bool two = two_sides(ops);
	const char *args[] = { "-m", ops->name, "-d", "0.25", "-r", "1", "-s", "64,4K", "-t", "1", "--json", "--quiet",
			       NULL };
	struct sandbox sb;
	char *before = can_isolate() ? NULL : leftovers_snapshot();
	sandbox_start(&sb, args);
	pid_t victim = pick_child(&sb, two, 1);
	assert_true(victim > 0);
	usleep(150 * 1000); /* into its row's timed span */
	int pfd = (int)syscall(SYS_pidfd_open, victim, 0);
	assert_true(pfd >= 0);
	assert_int_equal(syscall(SYS_pidfd_send_signal, pfd, SIGSTOP, NULL, 0), 0);
	int64_t stopped = now_ns();
	bool in_time = sandbox_wait(&sb, END_TIMEOUT_S);
	double took = (double)(now_ns() - stopped) / 1e9;
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	bool gone = poll(&p, 1, 0) == 1; /* a pidfd reads as ready once its process exited */
	close(pfd);
	int st = sb.rep->tool_status;
	json_t *doc = stdout_doc(&sb);
	const json_t *rows = json_object_get(doc, "results");
	int n_rows = (int)json_array_size(rows), n_failed = 0, at = -1;
	for (int i = 0; i < n_rows; i++)
		if (strcmp(doc_str(json_array_get(rows, (size_t)i), "status"), "failed") == 0 &&
		    !lossy_stream_loss(ops, json_array_get(rows, (size_t)i)) && n_failed++ == 0)
			at = i;
	const char *reason = at >= 0 ? doc_str(json_array_get(rows, (size_t)at), "reason") : "";
	bool by_deadline = strstr(reason, "timed out") || strstr(reason, "deadline");
	bool goes_on = at >= 0 && (at < n_rows - 1 || n_rows == 1);
	bool ok = in_time && WIFEXITED(st) && WEXITSTATUS(st) == 1 && doc && n_rows == rows_for(ops, 2) &&
		  n_failed == 1 && by_deadline && goes_on && gone && !sb.rep->procs[0] && !sb.rep->names[0];
	if (!ok) {
		char *err = fd_text(sb.err);
		print_error("%s, %s stopped: in time %d, exit %d, %d of %d rows, %d failed, row %d: '%s', stopped process "
			    "%s, left: %s %s\n  stderr: %s\n",
			    ops->name, two ? "side B" : "the host", in_time,
			    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), n_rows, rows_for(ops, 2), n_failed, at + 1,
			    reason, gone ? "gone" : "STILL THERE", sb.rep->procs, sb.rep->names, err);
		free(err);
	} else {
		print_message("%s, %s stopped: row %d of %d failed (%s); the rest ran; exit 1, %.1f s after the stop\n",
			      ops->name, two ? "side B" : "the host", at + 1, n_rows, reason, took);
	}
	json_decref(doc);
	sandbox_free(&sb);
	if (before)
		assert_no_new_leftovers(before);
	assert_true(ok);
}

/* ---- resource limits ---- */

/*
 * Every row of doc is ok, or unsupported or failed with a reason, and no side
 * was killed by a signal (a crash); prints the refused rows. Returns how many
 * rows broke that.
 */
static int check_rows(const json_t *doc, const char *label)
{
	int bad = 0;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		const char *st = doc_str(r, "status"), *reason = doc_str(r, "reason");
		char size[32];
		snprintf(size, sizeof(size), "%.0f B", doc_num(r, "size_bytes"));
		if (strcmp(st, "ok") == 0)
			continue;
		if ((strcmp(st, "failed") && strcmp(st, "unsupported")) || !reason[0] || strstr(reason, "signal")) {
			print_error("%s: %s %s %s: %s '%s'\n", label, doc_str(r, "mechanism"), doc_str(r, "pattern"), size,
				    st, reason);
			bad++;
		} else if (strcmp(st, "failed") == 0) {
			print_message("%s: %s %s %s failed: %s\n", label, doc_str(r, "mechanism"), doc_str(r, "pattern"),
				      size, reason);
		}
	}
	return bad;
}

static json_t *parse_doc(const char *text)
{
	json_error_t err;
	json_t *doc = json_loads(text, 0, &err);
	if (!doc || !json_is_array(json_object_get(doc, "results"))) {
		print_error("not a results document (%s): %.400s\n", doc ? "no results" : err.text, text);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* With 32 open files at most, every row is ok or a clear failed or unsupported row; no crash, nothing left. */
static void test_few_fds(void **state)
{
	(void)state;
	char *mechs = all_mechanisms();
	const char *args[] = { "-m", mechs, "--quick", "-r", "1", "-t", "1", "--json", "--quiet", NULL };
	char *before = leftovers_snapshot();
	char *out = NULL, *err = NULL;
	int rc = tool_run_nofile(args, 32, &out, &err, 120);
	if (rc != 0 && rc != 1)
		print_error("ulimit -n 32: exit %d\nstderr: %s\n", rc, err);
	assert_true(rc == 0 || rc == 1);
	json_t *doc = parse_doc(out);
	assert_non_null(doc);
	print_message("ulimit -n 32: exit %d, %zu rows\n", rc, json_array_size(json_object_get(doc, "results")));
	int bad = check_rows(doc, "ulimit -n 32");
	json_decref(doc);
	free(out);
	free(err);
	free(mechs);
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

/* Set in the forked child when prepare() gave it a /dev/shm of its own: all in it is the run's. */
static bool child_private_shm;

/* What a forked child that ran the tool reports back. */
struct child_run {
	int rc;
	int shm_entries; /* left in the child's own /dev/shm, when it had one */
	char out[1 << 16];
	char err[4096];
};

/* Run the tool in a forked child that first calls prepare(); the result comes back in shared memory. */
static struct child_run *run_in_child(int (*prepare)(void), const char *const *args)
{
	struct child_run *cr = mmap(NULL, sizeof(*cr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(cr != MAP_FAILED);
	cr->rc = -2;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (prepare())
			_exit(3);
		char *out = NULL, *err = NULL;
		cr->rc = tool_run(args, &out, &err, 120);
		snprintf(cr->out, sizeof(cr->out), "%s", out);
		snprintf(cr->err, sizeof(cr->err), "%s", err);
		DIR *d = child_private_shm ? opendir("/dev/shm") : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)))
			cr->shm_entries += e->d_name[0] != '.';
		if (d)
			closedir(d);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 3) {
		munmap(cr, sizeof(*cr));
		return NULL;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
	return cr;
}

/* A private mount namespace with a 1 MiB tmpfs as /dev/shm. */
static int small_dev_shm(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777"))
		return -1;
	child_private_shm = true;
	return 0;
}

/* The shared-memory family that keeps its rings in /dev/shm, those of them that are registered. */
static const char *const dev_shm_users[] = { "shm", "shm-spin", "shm-sem", "shm-eventfd", "shm-loan" };

/* /dev/shm nearly full: a 1 MiB message needs more than there is; a clear failed row, no SIGBUS. */
static void test_dev_shm_full(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		print_message("not root: no private mount of a small /dev/shm\n");
		skip();
	}
	char *mechs = all_mechanisms();
	const char *args[] = { "-m", mechs, "-s", "1M", "-p", "pingpong", "-d", "0.05", "-r", "1", "-t", "1", "--json",
			       "--quiet", NULL };
	char *before = leftovers_snapshot();
	struct child_run *cr = run_in_child(small_dev_shm, args);
	free(mechs);
	if (!cr) {
		free(before);
		print_message("cannot mount a small tmpfs over /dev/shm here: skipped\n");
		skip();
	}
	if (cr->rc != 0 && cr->rc != 1)
		print_error("1 MiB /dev/shm: exit %d\nstderr: %s\n", cr->rc, cr->err);
	assert_true(cr->rc == 0 || cr->rc == 1);
	json_t *doc = parse_doc(cr->out);
	assert_non_null(doc);
	int bad = check_rows(doc, "1 MiB /dev/shm");
	int users = 0;
	for (size_t u = 0; u < sizeof(dev_shm_users) / sizeof(dev_shm_users[0]); u++) {
		if (!transport_find(dev_shm_users[u]))
			continue;
		users++;
		size_t i;
		json_t *r;
		bool seen = false;
		json_array_foreach(json_object_get(doc, "results"), i, r) {
			if (strcmp(doc_str(r, "mechanism"), dev_shm_users[u]))
				continue;
			seen = true;
			if (strcmp(doc_str(r, "status"), "failed") || !strstr(doc_str(r, "reason"), strerror(ENOSPC))) {
				print_error("%s at 1 MiB in a 1 MiB /dev/shm: %s '%s', want failed naming '%s'\n",
					    dev_shm_users[u], doc_str(r, "status"), doc_str(r, "reason"), strerror(ENOSPC));
				bad++;
			}
		}
		bad += !seen;
	}
	if (!users)
		print_message("no mechanism of the /dev/shm family (shm, shm-spin, shm-sem, shm-eventfd, shm-loan) is registered; "
			      "the others ran\n");
	if (cr->shm_entries) {
		print_error("%d entries left in the private /dev/shm\n", cr->shm_entries);
		bad++;
	}
	json_decref(doc);
	munmap(cr, sizeof(*cr));
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

#define AS_LIMIT_BYTES (768L << 20)

/*
 * A 768 MiB address-space limit; as root also a 64 MiB /dev/shm of its own,
 * so a mechanism that allocates its rings there before it maps them does not
 * take gigabytes of the machine's shared memory meanwhile.
 */
static int small_address_space(void)
{
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		child_private_shm = mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777") == 0;
	struct rlimit rl = { AS_LIMIT_BYTES, AS_LIMIT_BYTES };
	return setrlimit(RLIMIT_AS, &rl);
}

/* 1 GiB messages under a 768 MiB address-space limit: clear failed or unsupported rows, no crash. */
static void test_size_cannot_be_allocated(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	print_message("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS run in this build\n");
	skip();
#endif
	char *mechs = all_mechanisms();
	const char *args[] = { "-m", mechs, "-s", "1G", "-p", "pingpong", "-d", "0.05", "-r", "1", "-t", "2", "--json",
			       "--quiet", NULL };
	char *before = leftovers_snapshot();
	struct child_run *cr = run_in_child(small_address_space, args);
	free(mechs);
	assert_non_null(cr);
	if (cr->rc != 0 && cr->rc != 1)
		print_error("RLIMIT_AS %ld MiB, -s 1G: exit %d\nstderr: %s\n", AS_LIMIT_BYTES >> 20, cr->rc, cr->err);
	assert_true(cr->rc == 0 || cr->rc == 1);
	json_t *doc = parse_doc(cr->out);
	assert_non_null(doc);
	int bad = check_rows(doc, "1 GiB under RLIMIT_AS");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r)
		bad += strcmp(doc_str(r, "status"), "ok") == 0 && /* 2 GiB of buffers cannot fit in 768 MiB */
		       json_integer_value(json_object_get(r, "size_bytes")) == (json_int_t)1 << 30;
	if (cr->shm_entries) {
		print_error("%d entries left in /dev/shm\n", cr->shm_entries);
		bad++;
	}
	json_decref(doc);
	munmap(cr, sizeof(*cr));
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

static int setup_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "faults-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown_scratch(void **state)
{
	(void)state;
	remove_tree(scratch);
	return 0;
}

/*
 * TEST_SHARD=i/n (ctest's test_faults_i): keep matrix cases i-1, i-1+n, ...
 * of the first `matrix` tests, and the tests after them only in share 1;
 * every matrix case runs in namespaces of its own, so shares may run side by
 * side. Returns how many tests are left at the front of tests.
 */
static size_t take_share(struct CMUnitTest *tests, size_t matrix, size_t total)
{
	unsigned i = 1, n = 1;
	const char *share = getenv("TEST_SHARD");
	if (!share || sscanf(share, "%u/%u", &i, &n) != 2 || n == 0 || i == 0 || i > n)
		return total;
	size_t kept = 0;
	for (size_t t = 0; t < total; t++)
		if (t < matrix ? t % n == i - 1 : i == 1)
			tests[kept++] = tests[t];
	return kept;
}

int main(void)
{
	size_t n = 0;
	while (transport_registry[n])
		n++;
	size_t total = 2 * n + 3;
	struct CMUnitTest *tests = calloc(total, sizeof(*tests));
	char (*names)[96] = calloc(total, sizeof(*names));
	assert_true(tests && names);
	for (size_t i = 0; i < n; i++) {
		const struct transport_ops *ops = transport_registry[i];
		struct CMUnitTest faults = cmocka_unit_test_prestate(test_fault_matrix, (void *)ops);
		struct CMUnitTest stuck = cmocka_unit_test_prestate(test_stuck_peer, (void *)ops);
		snprintf(names[i], sizeof(names[0]), "%s: every fault at %d moments", ops->name, MOMENTS);
		snprintf(names[n + i], sizeof(names[0]), "%s: a stopped side fails its row by the deadline", ops->name);
		faults.name = names[i];
		stuck.name = names[n + i];
		tests[i] = faults;
		tests[n + i] = stuck;
	}
	tests[2 * n] = (struct CMUnitTest)cmocka_unit_test(test_few_fds);
	tests[2 * n + 1] = (struct CMUnitTest)cmocka_unit_test(test_dev_shm_full);
	tests[2 * n + 2] = (struct CMUnitTest)cmocka_unit_test(test_size_cannot_be_allocated);
	if (getenv("FAULTS_FILTER")) /* e.g. FAULTS_FILTER='mq*' to run one mechanism's cases */
		cmocka_set_test_filter(getenv("FAULTS_FILTER"));
	total = take_share(tests, 2 * n, total);
	int rc = _cmocka_run_group_tests("faults", tests, total, setup_scratch, teardown_scratch);
	print_message("fault matrix: %d mechanisms, %d cases (mechanism x fault x %d moments): %d passed, %d failed; "
		      "%d skipped\n",
		      matrix.mechanisms, matrix.cases, MOMENTS, matrix.passed, matrix.failed, matrix.skipped);
	free(tests);
	free(names);
	return rc;
}
