/* Helpers of the processes-vs-threads experiments: children that cannot outlive the run, /proc reads. */
#include "model_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "runner.h"

static int mu_kill_reap(pid_t pid, int *status, int rc)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return rc;
}

int mu_wait(pid_t pid, int *status, int64_t timeout_ns)
{
	int64_t deadline = now_ns() + timeout_ns;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		/* Kernels before 5.3: poll waitpid instead. */
		for (;;) {
			pid_t r = waitpid(pid, status, WNOHANG);
			if (r == pid)
				return 0;
			if (r < 0 && errno != EINTR)
				return -errno;
			if (runner_stop_signal)
				return mu_kill_reap(pid, status, -EINTR);
			if (now_ns() >= deadline)
				return mu_kill_reap(pid, status, -ETIMEDOUT);
			usleep(1000);
		}
	}
	int rc = 0;
	for (;;) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int ms = ms_until(deadline);
		int n = ms ? poll(&pfd, 1, ms) : 0;
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR) {
			rc = mu_kill_reap(pid, status, -errno);
			goto out;
		}
		if (runner_stop_signal) {
			rc = mu_kill_reap(pid, status, -EINTR);
			goto out;
		}
		if (n == 0 && ms_until(deadline) == 0) {
			rc = mu_kill_reap(pid, status, -ETIMEDOUT);
			goto out;
		}
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
out:
	close(pidfd);
	return rc;
}

int mu_allowed_cpu(int n)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && n-- == 0)
			return c;
	return -1;
}

int mu_allowed_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

bool mu_stop(int64_t deadline_ns)
{
	return runner_stop_signal || now_ns() >= deadline_ns;
}

/* The field's value in kB, times 1024, from one read of path; -1 when the read failed or lacks it. */
static int64_t mu_proc_read(const char *path, const char *field)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	size_t flen = strlen(field);
	for (char *line = buf; line;) {
		long long kb;
		if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
		    sscanf(line + flen + 1, "%lld", &kb) == 1)
			return (int64_t)kb * 1024;
		char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

int64_t mu_proc_bytes(pid_t pid, const char *file, const char *field)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", file);
	/*
	 * A few tries: a busy process's smaps_rollup can come back empty once
	 * (iobound's 128 workers under ASan gave a null memory figure).
	 */
	int64_t v = mu_proc_read(path, field);
	for (int tries = 1; tries < 3 && v < 0; tries++) {
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
		v = mu_proc_read(path, field);
	}
	return v;
}

json_t *mu_num(double v)
{
	return isfinite(v) ? json_real(round(v * 100) / 100) : json_null();
}

/* p99 is null below the 1,000 samples that back it, as in the rows (hist_samples_needed). */
json_t *mu_hist_json(const struct hist *h)
{
	json_t *p99 = h->count >= hist_samples_needed(990) ? json_integer((json_int_t)hist_percentile(h, 990))
							  : json_null();
	return json_pack("{s:I, s:o, s:o, s:I}", "p50", (json_int_t)hist_percentile(h, 500), "p99", p99, "mean",
			 mu_num(hist_mean(h)), "n", (json_int_t)h->count);
}

double mu_get(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

double mu_path(const json_t *obj, ...)
{
	va_list ap;
	va_start(ap, obj);
	const char *key;
	const json_t *v = obj;
	while (v && (key = va_arg(ap, const char *)))
		v = json_object_get(v, key);
	va_end(ap);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *mu_fmt_bytes(double b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	if (!isfinite(b)) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	int u = 0;
	while (fabs(b) >= 1024 && u < 3) {
		b /= 1024;
		u++;
	}
	/* 256 MiB, 12.5 KiB: decimals only where the value has them. */
	snprintf(buf, len, u == 0 || b == round(b) ? "%.0f %s" : "%.1f %s", b, unit[u]);
	return buf;
}

struct timespec mu_realtime_deadline(int64_t timeout_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ns = ts.tv_nsec + timeout_ns % NS_PER_S;
	ts.tv_sec += (time_t)(timeout_ns / NS_PER_S + ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	return ts;
}

int64_t mu_stack_resident(pthread_t t, int64_t *reserved)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(t, &attr))
		return -1;
	int rc = pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	if (rc)
		return -1;
	uintptr_t lo = (uintptr_t)addr & ~(uintptr_t)(page - 1);
	size_t len = (uintptr_t)addr + size - lo, pages = (len + page - 1) / page;
	unsigned char *vec = malloc(pages);
	if (!vec || mincore((void *)lo, len, vec)) {
		free(vec);
		return -1;
	}
	int64_t resident = 0;
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	if (reserved)
		*reserved = (int64_t)size;
	return resident * (int64_t)page;
}

int mu_join_workers(bool threads, pthread_t *tids, pid_t *pids, int n, int64_t timeout_ns)
{
	struct timespec deadline = mu_realtime_deadline(timeout_ns);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		int status, r;
		if (threads)
			r = -pthread_timedjoin_np(tids[i], NULL, &deadline);
		else if ((r = mu_wait(pids[i], &status, timeout_ns)) == 0 && (!WIFEXITED(status) || WEXITSTATUS(status)))
			r = -ECHILD;
		if (r && !rc)
			rc = r;
	}
	return rc;
}
