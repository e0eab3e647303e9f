/*
 * pingpong_ref: the ping-pong a plain program writes, over two anonymous pipes
 * (pipe), a connected Unix stream socket on an abstract name (uds-stream, as
 * ipcbench's: A connects, B accepts) or a TCP connection over 127.0.0.1 with
 * TCP_NODELAY on both ends (tcp, as ipcbench's), so scripts/crosscheck can
 * hold ipcbench's pingpong rows against a loop with no header, no poll() and
 * no runner around it. Between round trips, untimed, side A checks the reply
 * and changes the next request, as ipcbench's side A does (see
 * between_round_trips).
 *
 *   pingpong_ref pipe|uds-stream|tcp SIZE SECONDS CPU_A CPU_B     (CPU -1: unpinned)
 *
 * The parent is side A (timing), the child side B (echo); each pins itself
 * after the fork. A round trip: A writes SIZE bytes from its send buffer and
 * reads SIZE back into its receive buffer, B reads SIZE into its buffer and
 * writes them back from there, with blocking read() and write() looping over
 * short counts. A keeps two buffers, as ipcbench's side A must (a reply read
 * into the buffer it was sent from would hide a receive that skipped part of
 * its copy) and as request/response programs do (netperf's TCP_RR keeps send
 * and receive rings): with both sides on one CPU, a single shared buffer makes
 * a 64 KiB round trip ~6% shorter, a difference of buffers, not of the
 * mechanism. Both sides' buffers start on a cache line, as ipcbench's do. An
 * untimed warmup of a quarter of SECONDS (ipcbench's default) comes first;
 * then every round trip is timed on its own with CLOCK_MONOTONIC into a
 * preallocated array, and A prints one line:
 *
 *   pingpong_ref MODE SIZE: rtt_p50_ns=N round_trips=N
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* No round trip through the kernel is shorter than this: it sizes the RTT array. */
#define MIN_RTT_NS 500

/* ref_link is one side's two descriptors: it reads rd and writes wr (one socket: rd == wr). */
struct ref_link {
	int rd;
	int wr;
};

static void die(const char *what)
{
	fprintf(stderr, "pingpong_ref: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "pingpong_ref: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
		exit(1);
	}
}

/* All len bytes, or 0 at end of stream before the first byte; a short stream is an error. */
static int read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n == 0 && got == 0)
			return 0;
		if (n <= 0) {
			errno = n ? errno : EPIPE;
			die("read");
		}
		got += (size_t)n;
	}
	return 1;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0)
			die("write");
		buf += n;
		len -= (size_t)n;
	}
}

static void round_trip(const struct ref_link *l, const char *sbuf, char *rbuf, size_t size)
{
	write_all(l->wr, sbuf, size);
	if (!read_all(l->rd, rbuf, size)) {
		errno = EPIPE;
		die("side B closed");
	}
}

/* Side B: echo every message until A closes its end. */
static void side_b(const struct ref_link *l, char *buf, size_t size)
{
	while (read_all(l->rd, buf, size))
		write_all(l->wr, buf, size);
}

static int cmp_rtt(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * Side A between round trips, untimed, does what ipcbench's side A does there:
 * it checks the reply against the request and changes one word in every
 * 64-byte line of the next request. That work is outside every RTT, but it
 * sets the loop's pace, and a wake-up's cost on a VM follows the pace: 2 us of
 * busy work between round trips made a plain loop's 64 KiB uds-stream round
 * trip between two vCPUs 8-12% shorter. Without it, the reference would differ
 * from ipcbench by the pace, not by anything in the round trip.
 */
static void between_round_trips(char *sbuf, const char *rbuf, size_t size)
{
	if (memcmp(rbuf, sbuf, size) != 0) {
		errno = EPROTO;
		die("the reply differs from the request");
	}
	for (size_t i = 0; i + sizeof(uint64_t) <= size; i += 64) {
		uint64_t w;
		memcpy(&w, sbuf + i, sizeof(w));
		w++;
		memcpy(sbuf + i, &w, sizeof(w));
	}
}

/* Side A: warmup, then round trips timed one by one until the deadline or a full array. */
static size_t side_a(const struct ref_link *l, char *sbuf, char *rbuf, size_t size, double secs,
		     int64_t *rtt, size_t cap)
{
	int64_t warm_end = now_ns() + (int64_t)(secs / 4 * 1e9);
	do {
		round_trip(l, sbuf, rbuf, size);
		between_round_trips(sbuf, rbuf, size);
	} while (now_ns() < warm_end);
	size_t n = 0;
	int64_t end = now_ns() + (int64_t)(secs * 1e9), t = 0;
	while (n < cap && t < end) {
		int64_t t0 = now_ns();
		round_trip(l, sbuf, rbuf, size);
		t = now_ns();
		rtt[n++] = t - t0;
		between_round_trips(sbuf, rbuf, size);
	}
	return n;
}

/* Two pipes, one per direction; each side keeps the ends it uses. */
static void open_pipes(struct ref_link *a, struct ref_link *b)
{
	int a_to_b[2], b_to_a[2];
	if (pipe2(a_to_b, O_CLOEXEC) || pipe2(b_to_a, O_CLOEXEC))
		die("pipe2");
	*a = (struct ref_link){ .rd = b_to_a[0], .wr = a_to_b[1] };
	*b = (struct ref_link){ .rd = a_to_b[0], .wr = b_to_a[1] };
}

/* Where B listens: an abstract Unix name, or 127.0.0.1 and a port the kernel picks. */
struct ref_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
		struct sockaddr_in in;
	} u;
	socklen_t len;
};

/* The listener, before the fork; B accepts on it, A connects. */
static int listen_on(int tcp, struct ref_addr *ad)
{
	int fd;
	if (tcp) {
		ad->u.in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		ad->len = sizeof(ad->u.in);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	} else {
		ad->u.un = (struct sockaddr_un){ .sun_family = AF_UNIX };
		int n = snprintf(ad->u.un.sun_path + 1, sizeof(ad->u.un.sun_path) - 1, "pingpong_ref-%d",
				 (int)getpid());
		ad->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		die("socket");
	if (bind(fd, &ad->u.sa, ad->len) || listen(fd, 1) || getsockname(fd, &ad->u.sa, &ad->len))
		die(tcp ? "bind/listen on 127.0.0.1" : "bind/listen on the abstract name");
	return fd;
}

/* TCP as ipcbench's tcp row sets it: no Nagle delay on either end. */
static void no_delay(int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("setsockopt(TCP_NODELAY)");
}

static int connect_to(int tcp, const struct ref_addr *ad)
{
	int fd = socket(ad->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, &ad->u.sa, ad->len))
		die("connect");
	if (tcp)
		no_delay(fd);
	return fd;
}

static void close_link(const struct ref_link *l)
{
	close(l->rd);
	if (l->wr != l->rd)
		close(l->wr);
}

enum ref_mode { REF_PIPE, REF_UDS, REF_TCP };

static void run_b(pid_t parent, enum ref_mode mode, int lfd, const struct ref_link *pipes_a,
		  struct ref_link *b, int cpu, char *buf, size_t size)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1); /* A died before the line above took effect */
	pin(cpu);
	if (mode != REF_PIPE) {
		b->rd = b->wr = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (b->rd < 0)
			die("accept");
		if (mode == REF_TCP)
			no_delay(b->rd);
		close(lfd);
	} else {
		close_link(pipes_a); /* A's ends: its exit reads as end of stream here */
	}
	side_b(b, buf, size);
	_exit(0);
}

static void usage(void)
{
	fprintf(stderr, "usage: pingpong_ref pipe|uds-stream|tcp SIZE SECONDS CPU_A CPU_B  (CPU -1: unpinned)\n");
	exit(2);
}

static enum ref_mode mode_of(const char *name)
{
	if (!strcmp(name, "pipe"))
		return REF_PIPE;
	if (!strcmp(name, "uds-stream"))
		return REF_UDS;
	if (!strcmp(name, "tcp"))
		return REF_TCP;
	usage();
	return REF_PIPE;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		usage();
	enum ref_mode mode = mode_of(argv[1]);
	char *end;
	size_t size = strtoull(argv[2], &end, 10);
	double secs = atof(argv[3]);
	int cpu_a = atoi(argv[4]), cpu_b = atoi(argv[5]);
	if (*end || size == 0 || secs <= 0 || cpu_a < -1 || cpu_b < -1) {
		fprintf(stderr, "pingpong_ref: SIZE must be >= 1 B, SECONDS > 0, a CPU >= -1\n");
		usage();
	}
	size_t cap = (size_t)(secs * 1e9 / MIN_RTT_NS) + 1;
	int64_t *rtt = malloc(cap * sizeof(*rtt));
	/* aligned to a cache line, as ipcbench's: the kernel's copy to a 16-byte-aligned 64 KiB buffer took 3-6% longer */
	size_t alloc = (size + 63) / 64 * 64;
	char *sbuf = aligned_alloc(64, alloc), *rbuf = aligned_alloc(64, alloc);
	if (!rtt || !sbuf || !rbuf)
		die("malloc");
	memset(rtt, 0, cap * sizeof(*rtt)); /* faulted in now, not in the timed loop */
	memset(sbuf, 0xa5, size);
	memset(rbuf, 0x5a, size);
	signal(SIGPIPE, SIG_IGN); /* a dead peer is EPIPE and a message, not a silent exit */

	struct ref_link a = { -1, -1 }, b = { -1, -1 };
	struct ref_addr ad;
	int lfd = -1;
	if (mode == REF_PIPE)
		open_pipes(&a, &b);
	else
		lfd = listen_on(mode == REF_TCP, &ad);
	fflush(NULL);
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		run_b(parent, mode, lfd, &a, &b, cpu_b, rbuf, size); /* B's one buffer */

	pin(cpu_a);
	if (mode == REF_PIPE) {
		close_link(&b);
	} else {
		a.rd = a.wr = connect_to(mode == REF_TCP, &ad);
		close(lfd);
	}
	size_t n = side_a(&a, sbuf, rbuf, size, secs, rtt, cap);
	close_link(&a); /* B reads end of stream and exits */
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "pingpong_ref: side B failed (wait status %d)\n", status);
		return 1;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_rtt);
	printf("pingpong_ref %s %zu: rtt_p50_ns=%lld round_trips=%zu\n", argv[1], size,
	       (long long)rtt[n / 2], n);
	free(rtt);
	free(sbuf);
	free(rbuf);
	return 0;
}
