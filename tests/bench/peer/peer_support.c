/* Helpers of the serve/--peer tests. */
#include "peer_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "runner.h"

#define MAX_ARGS 64

/* argv with "$IPCBENCH" replaced by the tool's path. */
static void resolve(const char *const *argv, const char **out)
{
	int i = 0;
	for (; argv[i] && i < MAX_ARGS - 1; i++)
		out[i] = strcmp(argv[i], "$IPCBENCH") == 0 ? getenv("IPCBENCH") : argv[i];
	out[i] = NULL;
}

static pid_t spawn(const char *const *argv, int out_fd, int err_fd)
{
	const char *args[MAX_ARGS];
	resolve(argv, args);
	pid_t pid = fork_child();
	if (pid != 0)
		return pid;
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	dup2(err_fd >= 0 ? err_fd : null, 2);
	execvp(args[0], (char *const *)args);
	_exit(127);
}

char *server_log(const struct server_proc *s)
{
	off_t len = lseek(s->log, 0, SEEK_END);
	char *buf = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	if (buf && len > 0 && pread(s->log, buf, (size_t)len, 0) < 0)
		buf[0] = '\0';
	return buf;
}

int server_start(struct server_proc *s, const char *const *argv)
{
	s->log = memfd_create("serve-log", MFD_CLOEXEC);
	s->port = 0;
	s->pid = s->log >= 0 ? spawn(argv, -1, s->log) : -1;
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while (s->pid > 0 && now_ns() < deadline) {
		char *log = server_log(s), *at = log ? strstr(log, "listening on ") : NULL;
		char *colon = at ? strchr(at, ';') : NULL;
		while (colon && colon > at && colon[-1] != ':')
			colon--;
		if (colon && colon > at)
			s->port = (unsigned)strtoul(colon, NULL, 10);
		free(log);
		if (s->port)
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			break;
		}
		struct timespec nap = { 0, 10 * 1000000 };
		nanosleep(&nap, NULL);
	}
	return -1;
}

int server_wait(struct server_proc *s, int timeout_ms)
{
	int status;
	int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
	while (s->pid > 0 && now_ns() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		struct timespec nap = { 0, 5 * 1000000 };
		nanosleep(&nap, NULL);
	}
	server_stop(s);
	return -1;
}

void server_stop(struct server_proc *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
	if (s->log >= 0)
		close(s->log);
	s->log = -1;
}

/* Read a pipe to its end or the deadline into a malloc'd string. */
static char *slurp(int fd, int64_t deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = ms_until(deadline);
		if (ms == 0 || poll(&p, 1, ms) <= 0)
			break;
		if (len + 4096 + 1 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

int cmd_run(const char *const *argv, char **out, char **err, int timeout_s)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	pid_t pid = spawn(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	int64_t deadline = now_ns() + (int64_t)timeout_s * NS_PER_S;
	/* stderr is small (a few lines); stdout may be large: read it first, then stderr */
	char *o = slurp(po[0], deadline), *e = slurp(pe[0], deadline);
	close(po[0]);
	close(pe[0]);
	int status = 0;
	bool late = now_ns() >= deadline;
	if (late)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return late ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t cmd_start(const char *const *argv)
{
	return spawn(argv, -1, -1);
}

