/* Test helpers shared by every test program. */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

/* Read both pipes until they close or the deadline passes. */
static int drain(int fds[2], char *buf[2], size_t len[2], int64_t deadline)
{
	size_t cap[2] = { 0, 0 };
	int open_fds = 2;
	while (open_fds > 0) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		int ms = ms_until(deadline);
		if (ms == 0)
			return -1;
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			return -1;
		for (int i = 0; i < 2; i++) {
			if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (len[i] + 4096 + 1 > cap[i]) {
				cap[i] = (cap[i] + 4096) * 2;
				buf[i] = realloc(buf[i], cap[i]);
			}
			ssize_t n = read(fds[i], buf[i] + len[i], cap[i] - len[i] - 1);
			if (n <= 0) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
			} else {
				len[i] += (size_t)n;
			}
		}
	}
	return 0;
}

/* tool_run_env, and when nofile > 0 the tool's open-file limit lowered to it. */
static int tool_spawn(const char *const *args, const char *const *env, long nofile, char **out, char **err,
		      int timeout_s)
{
	const char *tool = getenv("IPCBENCH");
	assert_non_null(tool);
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = calloc(n + 2, sizeof(*argv));
	argv[0] = tool;
	memcpy(argv + 1, args, n * sizeof(*args));
	size_t ne = 0, nenv = 0;
	while (environ[ne])
		ne++;
	while (env && env[nenv])
		nenv++;
	char **envp = calloc(ne + nenv + 1, sizeof(*envp));
	if (nenv) /* env may be NULL, and memcpy from NULL is undefined even for 0 bytes */
		memcpy(envp, env, nenv * sizeof(*envp));
	memcpy(envp + nenv, environ, ne * sizeof(*envp)); /* ours first: the first match wins */

	int po[2], pe[2];
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		if (null > 2)
			close(null);
		struct rlimit rl;
		if (nofile > 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = (rlim_t)nofile;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execve(tool, (char *const *)argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	char *buf[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	int fds[2] = { po[0], pe[0] };
	int rc = drain(fds, buf, len, now_ns() + (int64_t)timeout_s * NS_PER_S);
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (!buf[i])
			buf[i] = calloc(1, 1);
		buf[i][len[i]] = '\0';
	}
	int status;
	if (rc < 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(argv);
	free(envp);
	if (out)
		*out = buf[0];
	else
		free(buf[0]);
	if (err)
		*err = buf[1];
	else
		free(buf[1]);
	if (rc < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tool_run_env(const char *const *args, const char *const *env, char **out, char **err, int timeout_s)
{
	return tool_spawn(args, env, 0, out, err, timeout_s);
}

int tool_run(const char *const *args, char **out, char **err, int timeout_s)
{
	return tool_spawn(args, NULL, 0, out, err, timeout_s);
}

int tool_run_nofile(const char *const *args, long nofile, char **out, char **err, int timeout_s)
{
	return tool_spawn(args, NULL, nofile, out, err, timeout_s);
}

static void append(char **s, size_t *len, const char *a, const char *b)
{
	size_t add = strlen(a) + strlen(b) + 1;
	*s = realloc(*s, *len + add + 1);
	*len += (size_t)sprintf(*s + *len, "%s%s\n", a, b);
}

static void scan_dir(const char *dir, char **s, size_t *len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "ipcbench-", 9) == 0) {
			snprintf(path, sizeof(path), "%s/", dir);
			append(s, len, path, e->d_name);
		}
	}
	if (d)
		closedir(d);
}

static void scan_abstract(char **s, size_t *len)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, " @ipcbench-");
		if (at) {
			at[strcspn(at, "\n")] = '\0';
			append(s, len, "abstract:", at + 1);
		}
	}
	if (f)
		fclose(f);
}

static bool mqueue_mounted(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char dev[256], dir[256], type[64];
	bool found = false;
	while (f && !found && fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3)
		found = strcmp(dir, "/dev/mqueue") == 0 && strcmp(type, "mqueue") == 0;
	if (f)
		fclose(f);
	return found;
}

/*
 * POSIX message queues are only visible through an mqueue filesystem. Where
 * none is mounted at /dev/mqueue (as on this host), a child mounts one over
 * /tmp in a private mount namespace of its own and lists it; that needs
 * CAP_SYS_ADMIN, and without it mq names go unchecked.
 */
static void scan_mqueue(char **s, size_t *len)
{
	if (mqueue_mounted()) {
		scan_dir("/dev/mqueue", s, len);
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("mqueue", "/tmp", "mqueue", 0, NULL))
			_exit(1);
		DIR *d = opendir("/tmp");
		struct dirent *e;
		char line[300];
		while (d && (e = readdir(d)))
			if (strncmp(e->d_name, "ipcbench-", 9) == 0) {
				int n = snprintf(line, sizeof(line), "%s\n", e->d_name);
				if (write(p[1], line, (size_t)n) != n)
					_exit(1);
			}
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return;
	}
	char buf[4096];
	size_t have = 0;
	ssize_t n;
	while ((n = read(p[0], buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			append(s, len, "/dev/mqueue/", buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than any name: drop it */
	}
	close(p[0]);
	waitpid(pid, NULL, 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *leftovers_snapshot(void)
{
	char *s = calloc(1, 1);
	size_t len = 0;
	scan_dir("/dev/shm", &s, &len);
	scan_mqueue(&s, &len);
	scan_dir("/tmp", &s, &len);
	scan_abstract(&s, &len);
	/* sort the lines, so two snapshots compare line by line */
	size_t n = count_lines(s);
	char **lines = calloc(n + 1, sizeof(*lines));
	char *save, *tok = strtok_r(s, "\n", &save);
	for (size_t i = 0; tok; tok = strtok_r(NULL, "\n", &save))
		lines[i++] = tok;
	qsort(lines, n, sizeof(*lines), cmp_str);
	char *sorted = calloc(1, len + 1);
	for (size_t i = 0; i < n; i++) {
		strcat(sorted, lines[i]);
		strcat(sorted, "\n");
	}
	free(lines);
	free(s);
	return sorted;
}

/* Is line (without its newline) one of the lines of list? */
static bool has_line(const char *list, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = list; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, line, n) == 0 && p[n] == '\n')
			return true;
		if (!strchr(p, '\n'))
			break;
	}
	return false;
}

/* The lines of a that are (keep true) or are not (keep false) lines of b; malloc'd. */
static char *filter_lines(const char *a, const char *b, bool keep)
{
	char *copy = strdup(a), *out = calloc(1, strlen(a) + 1), *save, *tok;
	for (tok = strtok_r(copy, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
		if (has_line(b, tok) == keep && !has_line(out, tok)) {
			strcat(out, tok);
			strcat(out, "\n");
		}
	free(copy);
	return out;
}

/* The session of pid, or -1. */
static pid_t session_of(const char *pid)
{
	char path[320], buf[512];
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	int sid;
	return p && sscanf(p + 1, " %*c %*d %*d %d", &sid) == 1 ? (pid_t)sid : -1;
}

/* Does an open fd or mapping of pid name target ("socket:[N]" or a path, or a path below it)? */
static bool pid_holds(const char *pid, const char *target)
{
	char dir[320], path[600], link[600];
	size_t tl = strlen(target);
	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strncmp(link, target, tl) == 0 && (link[tl] == '\0' || link[tl] == '/' || link[tl] == ' ');
	}
	if (d)
		closedir(d);
	if (found || target[0] != '/')
		return found;
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	FILE *f = fopen(path, "re");
	char line[1024];
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, target) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The inode of the abstract socket @name in /proc/net/unix, as "socket:[N]"; false when gone. */
static bool abstract_inode(const char *name, char *out, size_t len)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[1024];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		unsigned long inode;
		char path[512];
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %511s", &inode, path) == 2 && strcmp(path, name) == 0) {
			snprintf(out, len, "socket:[%lu]", inode);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Is this leftover line held by a process of another session (another ipcbench
 * run on the machine, still busy with it)? Then it is not ours to report.
 */
static bool held_by_others(const char *line)
{
	char target[600];
	if (strncmp(line, "abstract:", 9) == 0) {
		if (!abstract_inode(line + 9, target, sizeof(target)))
			return false;
	} else if (strncmp(line, "/dev/mqueue/", 12) == 0) {
		snprintf(target, sizeof(target), "%s", line + 11); /* an mq fd reads as "/name" */
	} else {
		snprintf(target, sizeof(target), "%s", line);
	}
	pid_t mine = getsid(0);
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool held = false;
	while (d && !held && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t sid = session_of(e->d_name);
		held = sid >= 0 && sid != mine && pid_holds(e->d_name, target);
	}
	if (d)
		closedir(d);
	return held;
}

/* The lines of list that no process of another session holds; malloc'd. */
static char *drop_held_by_others(const char *list)
{
	char *copy = strdup(list), *out = calloc(1, strlen(list) + 1), *save, *tok;
	for (tok = strtok_r(copy, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
		if (!held_by_others(tok)) {
			strcat(out, tok);
			strcat(out, "\n");
		}
	free(copy);
	return out;
}

void assert_no_new_leftovers(char *before)
{
	char *now = leftovers_snapshot();
	char *fresh = filter_lines(now, before, false);
	free(now);
	/*
	 * Other ipcbench runs on this machine name things too. What a process of
	 * another session holds is theirs; the rest of theirs goes within seconds,
	 * while a leftover stays.
	 */
	int64_t deadline = now_ns() + 5 * NS_PER_S;
	while (*fresh && now_ns() < deadline) {
		usleep(100 * 1000);
		now = leftovers_snapshot();
		char *still = filter_lines(fresh, now, true);
		free(now);
		free(fresh);
		fresh = drop_held_by_others(still);
		free(still);
	}
	char *save, *tok;
	int bad = 0;
	for (tok = strtok_r(fresh, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		print_error("left behind: %s\n", tok);
		bad = 1;
	}
	free(before);
	free(fresh);
	assert_false(bad);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0; /* on to the next: what is left shows in the check below */
}

int remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return access(dir, F_OK) == 0 ? -1 : 0;
}

size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct case_spec test_case(const struct transport_ops *ops, enum pattern p, size_t size, int64_t duration_ns)
{
	cpu_set_t set;
	int cpu[2] = { -1, -1 }, n = 0;
	sched_getaffinity(0, sizeof(set), &set);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpu[n++] = c;
	if (n == 1)
		cpu[1] = cpu[0];
	return (struct case_spec){
		.ops = ops, .pattern = p, .msg_bytes = size, .warmup_ns = duration_ns / 4,
		.duration_ns = duration_ns, .timeout_ns = 2 * NS_PER_S, .cpu = { cpu[0], cpu[1] },
		.verify_full = true,
	};
}

int children_of(pid_t pid, pid_t *out, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	int k = 0;
	while (d && (e = readdir(d)) && k < max) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char cpath[96], buf[1024];
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%.20s/children", (int)pid, e->d_name);
		int fd = open(cpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *p = buf, *end; k < max; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			out[k++] = (pid_t)v;
		}
	}
	if (d)
		closedir(d);
	return k;
}

bool pid_gone(pid_t pid)
{
	char path[64], stat[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	bool read_ok = fgets(stat, sizeof(stat), f) != NULL;
	fclose(f);
	const char *paren = strrchr(stat, ')');
	return !read_ok || (paren && paren[1] == ' ' && paren[2] == 'Z');
}
