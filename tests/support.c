/* Test helpers shared by every test program. */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int tool_run_env(const char *const *args, const char *const *env, char **out, char **err, int timeout_s)
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
	if (nenv)
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

int tool_run(const char *const *args, char **out, char **err, int timeout_s)
{
	return tool_run_env(args, NULL, out, err, timeout_s);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *leftovers_snapshot(void)
{
	char *s = calloc(1, 1);
	size_t len = 0;
	scan_dir("/dev/shm", &s, &len);
	scan_dir("/dev/mqueue", &s, &len);
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

void assert_no_new_leftovers(char *before)
{
	char *after = leftovers_snapshot();
	char *save, *tok;
	int bad = 0;
	for (tok = strtok_r(after, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		char needle[600];
		snprintf(needle, sizeof(needle), "%s\n", tok);
		if (!strstr(before, needle)) {
			print_error("left behind: %s\n", tok);
			bad = 1;
		}
	}
	free(before);
	free(after);
	assert_false(bad);
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
