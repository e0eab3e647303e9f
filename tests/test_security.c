/* Every registered mechanism's named objects: O_EXCL, 0600, unpredictable, never reused when someone got there first; no shell anywhere. */
#include "support.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mqueue.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ipc/names.h"
#include "registry.h"

#define MS (NS_PER_S / 1000)
#define MAX_CALLS 256
#define CANARY "canary: must stay as it is\n"

/* One call that creates or names an object, as the interposers below saw it. */
struct call {
	char fn[12];
	char name[112];   /* the object's name; abstract socket names without the leading NUL */
	int flags;        /* open flags, or the socket type for bind */
	unsigned mode;    /* the mode asked for */
	unsigned made;    /* the mode of what was made; 0 when nothing was */
	int err;          /* errno when the call failed */
};

/* Shared with the runner's children (an anonymous shared mapping), so their calls are seen too. */
struct call_log {
	_Atomic int n;
	_Atomic int plant;   /* plant an object at the next name a creating call uses */
	_Atomic int planted; /* one was planted: what, where, by whom */
	char planted_fn[12];
	char planted_name[112];
	pid_t planted_by;
	int planted_fd; /* a planted socket, in the planting process */
	char canary[64]; /* the file a planted symlink points to */
	struct call calls[MAX_CALLS];
};

static struct call_log *logbook;

/* ---- interposers: this program's definitions win over the C library's for ipcbench_core ---- */

static void *real(const char *fn)
{
	void *p = dlsym(RTLD_NEXT, fn);
	if (!p)
		abort();
	return p;
}

static struct call *log_call(const char *fn, const char *name, int flags, unsigned mode)
{
	if (!logbook)
		return NULL;
	int i = atomic_fetch_add(&logbook->n, 1);
	if (i >= MAX_CALLS)
		return NULL;
	struct call *c = &logbook->calls[i];
	snprintf(c->fn, sizeof(c->fn), "%s", fn);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->flags = flags;
	c->mode = mode;
	return c;
}

/* Claim the one plant of this run; true for the caller that should plant at name. */
static bool claim_plant(const char *fn, const char *name)
{
	int no = 0;
	if (!logbook || !atomic_load(&logbook->plant) || !atomic_compare_exchange_strong(&logbook->planted, &no, 1))
		return false;
	snprintf(logbook->planted_fn, sizeof(logbook->planted_fn), "%s", fn);
	snprintf(logbook->planted_name, sizeof(logbook->planted_name), "%s", name);
	logbook->planted_by = getpid();
	logbook->planted_fd = -1;
	return true;
}

int shm_open(const char *name, int oflag, mode_t mode)
{
	int (*next)(const char *, int, mode_t) = real("shm_open");
	if ((oflag & O_CREAT) && claim_plant("shm_open", name)) {
		char path[160];
		snprintf(path, sizeof(path), "/dev/shm%s", name);
		if (symlink(logbook->canary, path)) /* a symlink to someone's file where the object would go */
			abort();
	}
	struct call *c = log_call("shm_open", name, oflag, mode);
	int fd = next(name, oflag, mode);
	struct stat sb;
	if (c && fd < 0)
		c->err = errno;
	if (c && fd >= 0 && (oflag & O_CREAT) && fstat(fd, &sb) == 0)
		c->made = sb.st_mode & 07777;
	return fd;
}

mqd_t mq_open(const char *name, int oflag, ...)
{
	mqd_t (*next)(const char *, int, ...) = real("mq_open");
	mode_t mode = 0;
	struct mq_attr *attr = NULL;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = va_arg(ap, mode_t);
		attr = va_arg(ap, struct mq_attr *);
		va_end(ap);
		if (claim_plant("mq_open", name)) { /* a queue of someone else's, with a message in it */
			mqd_t q = next(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644, NULL);
			if (q == (mqd_t)-1 || mq_send(q, CANARY, sizeof(CANARY), 0))
				abort();
			mq_close(q);
		}
	}
	struct call *c = log_call("mq_open", name, oflag, mode);
	mqd_t q = (oflag & O_CREAT) ? next(name, oflag, mode, attr) : next(name, oflag);
	struct stat sb;
	if (c && q == (mqd_t)-1)
		c->err = errno;
	if (c && q != (mqd_t)-1 && (oflag & O_CREAT) && fstat(q, &sb) == 0) /* an mqd_t is an fd on Linux */
		c->made = sb.st_mode & 07777;
	return q;
}

char *mkdtemp(char *tmpl)
{
	char *(*next)(char *) = real("mkdtemp");
	char *dir = next(tmpl);
	struct call *c = log_call("mkdtemp", tmpl, 0, 0700);
	struct stat sb;
	if (c && !dir)
		c->err = errno;
	if (c && dir && lstat(dir, &sb) == 0)
		c->made = sb.st_mode & 07777;
	return dir;
}

int mkfifo(const char *path, mode_t mode)
{
	int (*next)(const char *, mode_t) = real("mkfifo");
	if (claim_plant("mkfifo", path) && symlink(logbook->canary, path))
		abort();
	struct call *c = log_call("mkfifo", path, 0, mode);
	int rc = next(path, mode);
	struct stat sb;
	if (c && rc)
		c->err = errno;
	if (c && !rc && lstat(path, &sb) == 0)
		c->made = sb.st_mode & 07777;
	return rc;
}

/* The abstract name of a Unix socket address (without its leading NUL), or NULL. */
static const char *abstract_name(const struct sockaddr *addr, socklen_t len, char *buf, size_t cap)
{
	const struct sockaddr_un *sa = (const struct sockaddr_un *)addr;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (addr->sa_family != AF_UNIX || len <= off + 1 || sa->sun_path[0] != '\0')
		return NULL;
	size_t n = len - off - 1 < cap - 1 ? len - off - 1 : cap - 1;
	memcpy(buf, sa->sun_path + 1, n);
	buf[n] = '\0';
	return buf;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*next)(int, const struct sockaddr *, socklen_t) = real("bind");
	char name[112];
	if (!abstract_name(addr, len, name, sizeof(name)))
		return next(fd, addr, len);
	int type = 0;
	socklen_t tl = sizeof(type);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	if (claim_plant("bind", name)) { /* someone listening at the name first */
		int s = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0 || next(s, addr, len) || (type != SOCK_DGRAM && listen(s, 4)))
			abort();
		logbook->planted_fd = s;
	}
	struct call *c = log_call("bind", name, type, 0);
	int rc = next(fd, addr, len);
	if (c && rc)
		c->err = errno;
	if (c && !rc)
		c->made = 1;
	return rc;
}

/* ---- the tests ---- */

/* A scratch directory for the canary file, not named ipcbench-*, so no leftover check sees it. */
static char scratch[32], canary_path[64];

static void log_reset(bool plant)
{
	memset(logbook, 0, sizeof(*logbook));
	snprintf(logbook->canary, sizeof(logbook->canary), "%s", canary_path);
	atomic_store(&logbook->plant, plant);
}

/* One short pingpong (or the pattern it runs) of ops; false when it cannot run on this host. */
static bool run_short(const struct transport_ops *ops, struct rep_result *r)
{
	enum pattern p = !ops->patterns || (ops->patterns & TP_PINGPONG) ? PAT_PINGPONG : PAT_STREAM;
	struct case_spec c = test_case(ops, p, ops->fixed_size ? ops->fixed_size : 64, 20 * MS);
	c.warmup_ns = 5 * MS;
	c.timeout_ns = NS_PER_S;
	char why[256];
	if (case_unsupported(&c, why, sizeof(why))) {
		print_message("%s: cannot run here (%s)\n", ops->name, why);
		return false;
	}
	assert_int_equal(run_once(&c, r), 0);
	return true;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every object a run creates: O_EXCL, mode 0600 (0700 for a directory), named ipcbench-<random>. */
static void test_objects_private(void **state)
{
	const struct transport_ops *ops = *state;
	char *before = leftovers_snapshot();
	log_reset(false);
	struct rep_result r;
	if (!run_short(ops, &r)) {
		free(before);
		skip();
	}
	if (!r.ok)
		print_error("%s: %s\n", ops->name, r.reason);
	assert_true(r.ok);
	int bad = 0, created = 0;
	char seen[400] = "";
	int n = atomic_load(&logbook->n);
	assert_true(n <= MAX_CALLS);
	for (int i = 0; i < n; i++) {
		const struct call *c = &logbook->calls[i];
		const char *problem = NULL;
		bool creates = (!strcmp(c->fn, "shm_open") || !strcmp(c->fn, "mq_open")) ? (c->flags & O_CREAT) != 0
											 : c->err == 0;
		if (!creates)
			continue;
		created++;
		if (!strcmp(c->fn, "shm_open") || !strcmp(c->fn, "mq_open")) {
			if (!(c->flags & O_EXCL))
				problem = "created without O_EXCL";
			else if (c->mode != 0600 || c->made != 0600)
				problem = "mode is not 0600";
			else if (!starts_with(c->name, "/" TP_NAME_PREFIX))
				problem = "name does not begin with /" TP_NAME_PREFIX;
		} else if (!strcmp(c->fn, "mkdtemp")) {
			if (c->made != 0700)
				problem = "directory mode is not 0700";
			else if (!starts_with(c->name, "/tmp/" TP_NAME_PREFIX))
				problem = "directory is not /tmp/" TP_NAME_PREFIX "XXXXXX";
		} else if (!strcmp(c->fn, "mkfifo")) {
			if (c->mode != 0600 || c->made != 0600)
				problem = "FIFO mode is not 0600";
		} else if (!strcmp(c->fn, "bind") && !starts_with(c->name, TP_NAME_PREFIX)) {
			problem = "abstract socket name does not begin with " TP_NAME_PREFIX;
		}
		/* 16 hex digits (64 bits) from getrandom(): nobody guesses the name in advance */
		const char *tail = strrchr(c->name, '-');
		if (!problem && strcmp(c->fn, "mkdtemp") && strcmp(c->fn, "mkfifo") &&
		    (!tail || strspn(tail + 1, "0123456789abcdef") < 16))
			problem = "name has no 16 random hex digits";
		if (problem) {
			print_error("%s: %s(%s, flags 0x%x, mode %04o, made %04o): %s\n", ops->name, c->fn, c->name, c->flags,
				    c->mode, c->made, problem);
			bad++;
		}
		if (!strstr(seen, c->fn) && strlen(seen) < 300)
			strcat(strcat(seen, seen[0] ? ", " : ""), c->fn);
	}
	if (created && !bad)
		print_message("%s: %d named object%s made (%s), each exclusive and private\n", ops->name, created,
			      created == 1 ? "" : "s", seen);
	else
		print_message("%s: no named object\n", ops->name);
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

/* The planted object is as it was: not followed, written, read, connected to or removed by the run. */
static int check_planted(const struct transport_ops *ops)
{
	const char *fn = logbook->planted_fn, *name = logbook->planted_name;
	int bad = 0;
	char buf[128] = "";
	if (!strcmp(fn, "shm_open") || !strcmp(fn, "mkfifo")) {
		char path[160];
		struct stat sb;
		snprintf(path, sizeof(path), "%s%s", !strcmp(fn, "shm_open") ? "/dev/shm" : "", name);
		if (!strcmp(fn, "shm_open") && (lstat(path, &sb) || !S_ISLNK(sb.st_mode))) {
			print_error("%s: the symlink planted at %s was removed or replaced\n", ops->name, path);
			bad++;
		}
		unlink(path);
		FILE *f = fopen(logbook->canary, "re");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[n] = '\0';
		if (f)
			fclose(f);
		if (strcmp(buf, CANARY)) {
			print_error("%s: the symlink's target was written through: '%s'\n", ops->name, buf);
			bad++;
		}
	} else if (!strcmp(fn, "mq_open")) {
		mqd_t (*next)(const char *, int, ...) = real("mq_open");
		mqd_t q = next(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		struct mq_attr a = { 0 };
		char *msg = q != (mqd_t)-1 && mq_getattr(q, &a) == 0 ? calloc(1, (size_t)a.mq_msgsize + 1) : NULL;
		if (!msg || a.mq_curmsgs != 1 || mq_receive(q, msg, (size_t)a.mq_msgsize, NULL) != sizeof(CANARY) ||
		    strcmp(msg, CANARY)) {
			print_error("%s: the queue planted at %s was removed, read or written to\n", ops->name, name);
			bad++;
		}
		free(msg);
		if (q != (mqd_t)-1)
			mq_close(q);
		mq_unlink(name);
	} else if (!strcmp(fn, "bind") && logbook->planted_by == getpid()) {
		char c;
		int fd = logbook->planted_fd;
		int type = 0;
		socklen_t tl = sizeof(type);
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
		int got = type == SOCK_DGRAM ? (int)recv(fd, &c, 1, MSG_DONTWAIT) : accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (got >= 0 || errno != EAGAIN) {
			print_error("%s: someone %s the socket planted at @%s\n", ops->name,
				    type == SOCK_DGRAM ? "sent to" : "connected to", name);
			bad++;
		}
		close(fd);
	}
	return bad;
}

/* Someone else got to the name first (a symlink, a queue, a listening socket): the row fails, theirs is untouched. */
static void test_name_taken(void **state)
{
	const struct transport_ops *ops = *state;
	char *before = leftovers_snapshot();
	int fd = open(canary_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CANARY, strlen(CANARY)), (ssize_t)strlen(CANARY));
	close(fd);
	log_reset(true);
	struct rep_result r;
	if (!run_short(ops, &r)) {
		free(before);
		skip();
	}
	atomic_store(&logbook->plant, 0);
	if (!atomic_load(&logbook->planted)) {
		print_message("%s: no named object, nothing to plant (row %s)\n", ops->name, r.ok ? "ok" : r.reason);
		assert_true(r.ok);
		assert_no_new_leftovers(before);
		return;
	}
	int bad = check_planted(ops);
	if (r.ok || !r.reason[0]) {
		print_error("%s: %s(%s) found the name taken, yet the row is ok\n", ops->name, logbook->planted_fn,
			    logbook->planted_name);
		bad++;
	} else {
		print_message("%s: %s at a taken name: row failed: %s\n", ops->name, logbook->planted_fn, r.reason);
	}
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

/* The directories of the tool's own code, with their folders: a shell command in any of them is a finding. */
static const char *const source_dirs[] = { "bench", "ipc", "shm", "threads", "plots" };

/* Is the pattern at p a word of its own on its left (so "subsystem(" is not "system(")? */
static bool word_start(const char *line, const char *p)
{
	return p == line || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
			      (p[-1] >= '0' && p[-1] <= '9'));
}

static int scan_file(const char *path)
{
	static const char *const shells[] = { "system(", "popen(", "/bin/sh", "\"sh\"", "wordexp(" };
	FILE *f = fopen(path, "re");
	char line[2048];
	int hits = 0;
	for (int no = 1; f && fgets(line, sizeof(line), f); no++)
		for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
			const char *p = strstr(line, shells[i]);
			if (p && (shells[i][0] == '/' || shells[i][0] == '"' || word_start(line, p))) {
				print_error("%s:%d: %s", path, no, line);
				hits++;
			}
		}
	if (f)
		fclose(f);
	return hits;
}

static int shell_files, shell_hits;

/* nftw's visit: scan every .c, .h and .gp file, at any depth. */
static int scan_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	size_t n = strlen(path);
	if (type == FTW_F && n > 3 &&
	    (!strcmp(path + n - 2, ".c") || !strcmp(path + n - 2, ".h") || !strcmp(path + n - 3, ".gp"))) {
		shell_hits += scan_file(path);
		shell_files++;
	}
	return 0;
}

/* Nothing in the tool runs through a shell: no system(), popen(), /bin/sh or wordexp() in its sources. */
static void test_no_shell(void **state)
{
	(void)state;
	shell_files = shell_hits = 0;
	for (size_t i = 0; i < sizeof(source_dirs) / sizeof(source_dirs[0]); i++) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/%s", IPCBENCH_SOURCE_DIR, source_dirs[i]);
		assert_int_equal(nftw(dir, scan_visit, 16, FTW_PHYS), 0);
	}
	int files = shell_files, hits = shell_hits;
	print_message("%d source files scanned for a shell\n", files);
	assert_true(files > 10);
	assert_int_equal(hits, 0);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/sectest-XXXXXX");
	if (!mkdtemp(scratch))
		return -1;
	snprintf(canary_path, sizeof(canary_path), "%s/canary", scratch);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(canary_path);
	rmdir(scratch);
	return 0;
}

int main(void)
{
	umask(022); /* the modes checked are the ones asked for */
	runner_install_signals();
	logbook = mmap(NULL, sizeof(*logbook), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (logbook == MAP_FAILED)
		return 1;
	size_t n = 0;
	while (transport_registry[n])
		n++;
	size_t total = 2 * n + 1;
	struct CMUnitTest *tests = calloc(total, sizeof(*tests));
	char (*names)[96] = calloc(total, sizeof(*names));
	if (!tests || !names)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const struct transport_ops *ops = transport_registry[i];
		struct CMUnitTest objects = cmocka_unit_test_prestate(test_objects_private, (void *)ops);
		struct CMUnitTest taken = cmocka_unit_test_prestate(test_name_taken, (void *)ops);
		snprintf(names[i], sizeof(names[0]), "%s: named objects exclusive, private, unpredictable", ops->name);
		snprintf(names[n + i], sizeof(names[0]), "%s: a name taken first is never reused", ops->name);
		objects.name = names[i];
		taken.name = names[n + i];
		tests[i] = objects;
		tests[n + i] = taken;
	}
	tests[2 * n] = (struct CMUnitTest)cmocka_unit_test(test_no_shell);
	int rc = _cmocka_run_group_tests("security", tests, total, group_setup, group_teardown);
	free(tests);
	free(names);
	return rc;
}
