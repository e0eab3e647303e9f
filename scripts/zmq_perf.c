/*
 * zmq_perf: a standalone libzmq ping-pong and stream, the shape of libzmq's
 * perf/local_lat + remote_lat and local_thr + remote_thr, with the sockets and
 * options of ipcbench's zmq rows (PAIR/PAIR, LINGER 0, SNDTIMEO/RCVTIMEO, HWM
 * min(1000 msgs, 4 MiB), one I/O thread), so scripts/crosscheck-zmq can hold
 * ipcbench's figures against a loop with no header, no verification and no
 * runner around it.
 *
 *   zmq_perf pingpong|stream ipc|tcp SIZE SECONDS WARMUP_SECONDS CPU_A CPU_B
 *
 * Two processes, as in ipcbench: the child (side B, CPU_B) binds and echoes or
 * drains; the parent (side A, CPU_A) connects and sends. Each pins itself
 * before it creates its context. pingpong prints A's median round trip, each
 * round trip timed on its own; stream prints B's throughput from the first to
 * the last timed message. An empty message marks the end of warmup and of the run.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define HWM_MSGS 1000
#define QUEUE_BYTES (4u << 20)
#define TIMEOUT_MS 3000

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "zmq_perf: %s: %s\n", what, zmq_strerror(errno));
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void set_int(void *sock, int opt, int v)
{
	if (zmq_setsockopt(sock, opt, &v, sizeof(v)))
		die("zmq_setsockopt");
}

/* A context with one I/O thread and a PAIR socket with ipcbench's options. */
static void *open_pair(void **ctx, size_t size)
{
	*ctx = zmq_ctx_new();
	if (!*ctx || zmq_ctx_set(*ctx, ZMQ_IO_THREADS, 1))
		die("zmq_ctx_new");
	void *s = zmq_socket(*ctx, ZMQ_PAIR);
	if (!s)
		die("zmq_socket");
	size_t hwm = QUEUE_BYTES / size;
	hwm = hwm > HWM_MSGS ? HWM_MSGS : hwm ? hwm : 1;
	set_int(s, ZMQ_LINGER, 0);
	set_int(s, ZMQ_SNDHWM, (int)hwm);
	set_int(s, ZMQ_RCVHWM, (int)hwm);
	set_int(s, ZMQ_SNDTIMEO, TIMEOUT_MS);
	set_int(s, ZMQ_RCVTIMEO, TIMEOUT_MS);
	return s;
}

static void xsend(void *s, const void *buf, size_t len)
{
	if (zmq_send(s, buf, len, 0) != (int)len)
		die("zmq_send");
}

static int xrecv(void *s, void *buf, size_t cap)
{
	int n = zmq_recv(s, buf, cap, 0);
	if (n < 0)
		die("zmq_recv");
	if ((size_t)n > cap)
		die("message larger than expected");
	return n;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Side B: echo (pingpong) or drain and time (stream) until the last empty message. */
static void side_b(void *s, int stream, const char *transport, size_t size, char *buf)
{
	if (!stream) {
		int n;
		while ((n = xrecv(s, buf, size)) > 0)
			xsend(s, buf, (size_t)n);
		return;
	}
	while (xrecv(s, buf, size) > 0) /* warmup */
		;
	uint64_t count = 0;
	int64_t t0 = now_ns();
	while (xrecv(s, buf, size) > 0)
		count++;
	double secs = (double)(now_ns() - t0) / 1e9;
	printf("zmq_perf stream %s %zu: msgs_per_s=%.0f bytes_per_s=%.0f messages=%llu\n", transport,
	       size, (double)count / secs, (double)count * (double)size / secs,
	       (unsigned long long)count);
}

/* Side A: round trips, or messages back to back, for warmup and then the timed span. */
static void side_a(void *s, int stream, const char *transport, size_t size, char *sbuf,
		   char *rbuf, double secs, double warm)
{
	int64_t warm_end = now_ns() + (int64_t)(warm * 1e9);
	if (stream) {
		for (uint64_t i = 0; (i & 15) || now_ns() < warm_end; i++)
			xsend(s, sbuf, size);
		xsend(s, sbuf, 0);
		int64_t end = now_ns() + (int64_t)(secs * 1e9);
		for (uint64_t i = 0; (i & 15) || now_ns() < end; i++)
			xsend(s, sbuf, size);
		xsend(s, sbuf, 0);
		return;
	}
	do {
		xsend(s, sbuf, size);
		xrecv(s, rbuf, size);
	} while (now_ns() < warm_end);
	size_t cap = 1 << 16, n = 0;
	int64_t *rtt = malloc(cap * sizeof(*rtt));
	int64_t start = now_ns(), end = start + (int64_t)(secs * 1e9), t = start;
	while (rtt && t < end) {
		int64_t t0 = now_ns();
		xsend(s, sbuf, size);
		xrecv(s, rbuf, size);
		t = now_ns();
		if (n == cap)
			rtt = realloc(rtt, (cap *= 2) * sizeof(*rtt));
		if (rtt)
			rtt[n++] = t - t0;
	}
	if (!rtt) {
		fprintf(stderr, "zmq_perf: out of memory\n");
		exit(1);
	}
	xsend(s, sbuf, 0);
	qsort(rtt, n, sizeof(*rtt), cmp_i64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)rtt[i];
	printf("zmq_perf pingpong %s %zu: rtt_p50_ns=%lld rtt_mean_ns=%.0f round_trips=%zu\n",
	       transport, size, (long long)rtt[n / 2], sum / (double)n, n);
	free(rtt);
}

int main(int argc, char **argv)
{
	if (argc != 8 || (strcmp(argv[1], "pingpong") && strcmp(argv[1], "stream")) ||
	    (strcmp(argv[2], "ipc") && strcmp(argv[2], "tcp"))) {
		fprintf(stderr, "usage: zmq_perf pingpong|stream ipc|tcp SIZE SECONDS WARMUP_SECONDS "
				"CPU_A CPU_B\n");
		return 2;
	}
	int stream = strcmp(argv[1], "stream") == 0;
	const char *transport = argv[2];
	size_t size = strtoull(argv[3], NULL, 10);
	double secs = atof(argv[4]), warm = atof(argv[5]);
	int cpu_a = atoi(argv[6]), cpu_b = atoi(argv[7]);
	if (size == 0 || secs <= 0 || warm < 0) {
		fprintf(stderr, "zmq_perf: SIZE must be >= 1 and SECONDS > 0\n");
		return 2;
	}
	char endpoint[256];
	if (strcmp(transport, "ipc") == 0)
		snprintf(endpoint, sizeof(endpoint), "ipc://@zmq_perf-%d", (int)getpid());
	else
		snprintf(endpoint, sizeof(endpoint), "tcp://127.0.0.1:*");
	char *sbuf = calloc(1, size), *rbuf = calloc(1, size);
	int handoff[2]; /* B writes the endpoint it bound; A connects to it */
	if (!sbuf || !rbuf || pipe(handoff)) {
		perror("zmq_perf");
		return 1;
	}
	memset(sbuf, 0xa5, size);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("zmq_perf: fork");
		return 1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(handoff[0]);
		pin(cpu_b);
		void *ctx, *s = open_pair(&ctx, size);
		if (zmq_bind(s, endpoint))
			die("zmq_bind");
		size_t len = sizeof(endpoint);
		if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len))
			die("zmq_getsockopt(ZMQ_LAST_ENDPOINT)");
		if (write(handoff[1], endpoint, len) != (ssize_t)len)
			die("write");
		close(handoff[1]);
		side_b(s, stream, transport, size, rbuf);
		zmq_close(s);
		zmq_ctx_term(ctx);
		fflush(stdout);
		_exit(0);
	}
	close(handoff[1]);
	pin(cpu_a);
	ssize_t got = read(handoff[0], endpoint, sizeof(endpoint) - 1);
	close(handoff[0]);
	if (got <= 0) {
		fprintf(stderr, "zmq_perf: side B did not bind\n");
		return 1;
	}
	endpoint[got] = '\0';
	void *ctx, *s = open_pair(&ctx, size);
	if (zmq_connect(s, endpoint))
		die("zmq_connect");
	side_a(s, stream, transport, size, sbuf, rbuf, secs, warm);
	int status = 0;
	waitpid(pid, &status, 0); /* B drains the last messages before A's socket closes */
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(sbuf);
	free(rbuf);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
