/* gnuplot as a child: no shell, stderr captured, a deadline, dies with ipcbench, and the PNG checked. */
#include "plots/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "runner.h"

/* gnuplot's full path from PATH, as execvp would find it, into full; false when it is not there. */
static bool gnuplot_lookup(char *full, size_t len)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t dir = strcspn(path, ":");
		snprintf(full, len, "%.*s/gnuplot", (int)(dir ? dir : 1), dir ? path : ".");
		struct stat sb;
		if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && access(full, X_OK) == 0)
			return true;
		path += dir + (path[dir] == ':');
	}
	return false;
}

bool gnuplot_in_path(void)
{
	char full[4096];
	return gnuplot_lookup(full, sizeof(full));
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
 * The child between fork and exec: only async-signal-safe calls, as charts
 * render from several threads at once (charts.c). It dies with ipcbench, even
 * on kill -9 (PR_SET_PDEATHSIG survives the exec), runs in its own process
 * group (so a kill on timeout reaches anything it started), with stdin and
 * stdout on /dev/null, stderr into err_fd, SIGPIPE at its default and no
 * signal blocked.
 */
static void gnuplot_child(pid_t parent, const char *exe, const char *dir, const char *gp, int err_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127); /* ipcbench died before the line above took effect */
	setpgid(0, 0);
	/* no O_CLOEXEC: with ipcbench's stdin closed, /dev/null opens as fd 0 and dup2 onto itself keeps the flag */
	int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0 || chdir(dir) != 0)
		_exit(127);
	if (in > STDERR_FILENO)
		close(in);
	if (out > STDERR_FILENO)
		close(out);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* -d: no ~/.gnuplot, so the chart is the same on every machine */
	char *argv[] = { "gnuplot", "-d", (char *)gp, NULL };
	execve(exe, argv, environ);
	_exit(127);
}

/*
 * Start `gnuplot -d GP` in dir (see gnuplot_child). fork, not posix_spawn:
 * posix_spawn cannot ask for a signal when the parent dies, and a chart
 * written after ipcbench was killed is a child outliving its parent.
 * Returns 0 or an errno.
 */
static int gnuplot_spawn(const char *dir, const char *gp, int err_fd, pid_t *pid)
{
	char exe[4096];
	if (!gnuplot_lookup(exe, sizeof(exe)))
		return ENOENT;
	pid_t parent = getpid();
	*pid = fork();
	if (*pid < 0)
		return errno;
	if (*pid == 0)
		gnuplot_child(parent, exe, dir, gp, err_fd);
	setpgid(*pid, *pid); /* as the child does: in its group before any kill on timeout */
	return 0;
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
		kill(-pid, SIGKILL); /* its group: both sides put it there before this */
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
