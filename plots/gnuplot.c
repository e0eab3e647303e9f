/* gnuplot as a child: no shell, stderr captured, a deadline, and the PNG checked. */
#include "plots/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "runner.h"

bool gnuplot_in_path(void)
{
	const char *name = "gnuplot";
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char full[4096];
		snprintf(full, sizeof(full), "%.*s/%s", (int)(len ? len : 1), len ? path : ".", name);
		struct stat sb;
		if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && access(full, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

static bool is_png(const char *path)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char head[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && memcmp(head, sig, sizeof(sig)) == 0;
}

extern char **environ;

/*
 * Start `gnuplot -d GP` in dir: stdin and stdout on /dev/null, stderr into
 * err_fd, its own process group (so a kill on timeout reaches anything it
 * started), SIGPIPE at its default and no signal blocked. posix_spawn, not
 * fork: charts render from several threads at once (charts.c), and the
 * runner's address space is not copied for a child that execs at once.
 * Returns 0 or an errno.
 */
static int gnuplot_spawn(const char *dir, const char *gp, int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, pipe_sig;
	sigemptyset(&none);
	sigemptyset(&pipe_sig);
	sigaddset(&pipe_sig, SIGPIPE);
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return rc;
	if ((rc = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	if (!(rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) &&
	    !(rc = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)) &&
	    !(rc = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO)) &&
	    !(rc = posix_spawn_file_actions_addchdir_np(&fa, dir)) && !(rc = posix_spawnattr_setpgroup(&at, 0)) &&
	    !(rc = posix_spawnattr_setsigdefault(&at, &pipe_sig)) && !(rc = posix_spawnattr_setsigmask(&at, &none)) &&
	    !(rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
							 POSIX_SPAWN_SETSIGMASK))) {
		/* -d: no ~/.gnuplot, so the chart is the same on every machine */
		char *argv[] = { "gnuplot", "-d", (char *)gp, NULL };
		rc = posix_spawnp(pid, "gnuplot", &fa, &at, argv, environ);
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int gnuplot_render(const char *dir, const char *name, int timeout_s, char *msg, size_t len)
{
	char gp[128], png[4096];
	snprintf(gp, sizeof(gp), "%s.gp", name);
	snprintf(png, sizeof(png), "%s/%s.png", dir, name);
	unlink(png); /* an old PNG must not pass for a new one */
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid;
	int rc = gnuplot_spawn(dir, gp, p[1], &pid);
	close(p[1]);
	if (rc) {
		snprintf(msg, len, "cannot run gnuplot in %s: %s", dir, strerror(rc));
		close(p[0]);
		return -1;
	}

	char err[2048];
	size_t got = 0;
	int64_t deadline = now_ns() + (int64_t)timeout_s * NS_PER_S;
	bool timed_out = false, eof = false;
	while (!eof) {
		int ms = ms_until(deadline);
		if (ms == 0 || runner_stop_signal) {
			timed_out = true;
			break;
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		if (poll(&pf, 1, ms) < 0 && errno != EINTR)
			break;
		if (!(pf.revents & (POLLIN | POLLHUP)))
			continue;
		char buf[512];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = true;
			break;
		}
		size_t keep = (size_t)n < sizeof(err) - 1 - got ? (size_t)n : sizeof(err) - 1 - got;
		memcpy(err + got, buf, keep);
		got += keep;
	}
	close(p[0]);
	err[got] = '\0';
	while (got && (err[got - 1] == '\n' || err[got - 1] == ' '))
		err[--got] = '\0';

	int status = 0;
	pid_t w;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && !timed_out) {
		if (ms_until(deadline) == 0 || runner_stop_signal)
			timed_out = true;
		else
			nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	if (timed_out) {
		kill(-pid, SIGKILL); /* its group: posix_spawn returned after the child joined it */
		waitpid(pid, &status, 0);
		if (runner_stop_signal) {
			snprintf(msg, len, "interrupted while gnuplot ran %s", gp);
			return -ETIMEDOUT;
		}
		snprintf(msg, len, "gnuplot did not finish %s within %d s and was killed; the charts after it "
			 "are not rendered either%s%s", gp, timeout_s, got ? "; it said:\n" : "", err);
		return -ETIMEDOUT;
	}
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int code = w < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		snprintf(msg, len, "gnuplot %s failed (exit %d)%s%s", gp, code, got ? ":\n" : "", err);
		return -1;
	}
	if (!is_png(png)) {
		snprintf(msg, len, "gnuplot ran on %s but %s.png is not a PNG file%s%s", gp, name,
			 got ? "; gnuplot said:\n" : "", err);
		return -1;
	}
	return 0;
}
