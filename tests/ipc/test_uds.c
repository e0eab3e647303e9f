/* ipc/uds.c: the datagram size limit is the kernel's real one, names stay abstract, only the peer may send. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"
#include "support.h"

#define MS (NS_PER_S / 1000)

static const struct transport_ops *ops_named(const char *name)
{
	const struct transport_ops *ops = transport_find(name);
	assert_non_null(ops);
	return ops;
}

/* Is inode the inode of a socket this process holds open? */
static bool socket_held(unsigned long inode)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	bool held = false;
	struct dirent *e;
	char want[48], link[64];
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!held && (e = readdir(d))) {
		char path[300];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		held = n > 0 && (link[n] = '\0', strcmp(link, want) == 0);
	}
	closedir(d);
	return held;
}

/*
 * Our names only, as "abstract:@ipcbench-uds-..." lines: the abstract names
 * bound by sockets this process holds. Other runs on this machine (a test
 * beside this one, a benchmark) create and remove their own meanwhile, and an
 * abstract name lives exactly as long as a socket holds it.
 */
static char *uds_names(void)
{
	FILE *f = fopen("/proc/net/unix", "re");
	assert_non_null(f);
	size_t cap = 4096, len = 0;
	char *mine = calloc(1, cap), line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long inode;
		char path[256];
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &inode, path) != 2 ||
		    strncmp(path, "@ipcbench-uds-", 14) != 0 || !socket_held(inode))
			continue;
		size_t need = len + strlen(path) + 11;
		if (need > cap)
			mine = realloc(mine, cap = 2 * need);
		len += (size_t)sprintf(mine + len, "abstract:%s\n", path);
	}
	fclose(f);
	return mine;
}

static void assert_no_new_names(char *before)
{
	char *after = uds_names();
	assert_string_equal(after, before);
	free(after);
	free(before);
}

static long wmem_max(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &v), 1);
	fclose(f);
	return v;
}

/* Send len bytes as one message over a fresh socketpair whose SO_SNDBUF is at its ceiling. */
static int kernel_takes(int type, const char *buf, size_t len)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
	int want = (int)wmem_max();
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)), 0);
	ssize_t n = send(sv[0], buf, len, MSG_DONTWAIT);
	int e = errno;
	close(sv[0]);
	close(sv[1]);
	if (n < 0)
		assert_true(e == EMSGSIZE || e == ENOBUFS); /* refused for its size, nothing else */
	return n == (ssize_t)len;
}

/* The limit max_msg reports goes through the kernel and the transport; one byte more does not. */
static void test_limit_is_real(void **state)
{
	const struct transport_ops *ops = ops_named(*state);
	struct tp_err why = { { 0 } };
	size_t max = ops->max_msg(&why);
	assert_true(max > 0 && max < SIZE_MAX);
	assert_non_null(strstr(why.msg, "net.core.wmem_max"));
	assert_non_null(strstr(why.msg, ops->name));

	int type = strcmp(ops->name, "uds-dgram") == 0 ? SOCK_DGRAM : SOCK_SEQPACKET;
	char *buf = calloc(1, max + 1);
	assert_non_null(buf);
	assert_true(kernel_takes(type, buf, max));
	assert_false(kernel_takes(type, buf, max + 1));
	free(buf);

	char *before = uds_names();
	for (int p = PAT_PINGPONG; p <= PAT_STREAM; p++) {
		struct case_spec c = test_case(ops, (enum pattern)p, max, 50 * MS);
		char reason[256];
		assert_false(case_unsupported(&c, reason, sizeof(reason)));
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("%s %s at %zu B: %s\n", ops->name, pattern_name(c.pattern), max, r.reason);
		assert_true(r.ok);
		assert_true(r.msgs > 0);

		c.msg_bytes = max + 1;
		assert_true(case_unsupported(&c, reason, sizeof(reason)));
		char value[32];
		snprintf(value, sizeof(value), "%zu B", max);
		assert_non_null(strstr(reason, value)); /* names the limit's value */
	}
	assert_no_new_names(before);
}

/* Many small datagrams in flight: a full queue makes the sender wait, it never drops one. */
static void test_dgram_stream_loses_nothing(void **state)
{
	(void)state;
	const struct transport_ops *ops = ops_named("uds-dgram");
	static const size_t sizes[] = { 1, 64, 65536 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct case_spec c = test_case(ops, PAT_STREAM, sizes[i], 100 * MS);
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("uds-dgram stream at %zu B: %s\n", sizes[i], r.reason);
		assert_true(r.ok);
		assert_int_equal(msg_errors_total(&r.errors), 0);
	}
}

static int abstract_names_listed(void)
{
	char *s = uds_names();
	int n = 0;
	for (char *p = s; (p = strstr(p, "abstract:@ipcbench-uds-")); p++)
		n++;
	free(s);
	return n;
}

/* Stream and seqpacket listen on an abstract name from setup to teardown; nothing on disk. */
static void test_listener_name_is_abstract(void **state)
{
	const struct transport_ops *ops = ops_named(*state);
	int had = abstract_names_listed();
	char *before = uds_names();
	void *st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	assert_int_equal(abstract_names_listed(), had + 1);
	ops->teardown(st);
	ops->teardown(st); /* idempotent */
	free(st);
	assert_no_new_names(before);
}

/* One side's attach, run on its own thread (datagram attach waits for the peer's name). */
struct attach_arg {
	const struct transport_ops *ops;
	void *st, *end;
	enum tp_side side;
	struct tp_params p;
	struct tp_err err;
	int rc;
};

static void *attach_thread(void *v)
{
	struct attach_arg *a = v;
	a->rc = a->ops->attach(a->st, a->end, a->side, &a->p, &a->err);
	return NULL;
}

/* After attach, each datagram socket is connected to its peer: a third socket may not send to it. */
static void test_dgram_only_peer_may_send(void **state)
{
	(void)state;
	const struct transport_ops *ops = ops_named("uds-dgram");
	char *before = uds_names();
	void *st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 2 * NS_PER_S };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	struct attach_arg a[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		a[i] = (struct attach_arg){ .ops = ops, .st = st, .end = calloc(1, ops->end_size),
					    .side = (enum tp_side)i, .p = p };
		assert_int_equal(pthread_create(&th[i], NULL, attach_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}

	/* Both sides' names, as /proc/net/unix lists them: "abstract:@ipcbench-uds-...". */
	char *now = uds_names(), *save;
	int names = 0;
	for (char *line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "abstract:@ipcbench-uds-", 23) != 0 || strstr(before, line))
			continue;
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s", line + 10);
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(line + 10));
		int intruder = socket(AF_UNIX, SOCK_DGRAM, 0);
		assert_true(intruder >= 0);
		assert_int_equal(sendto(intruder, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, len), -1);
		assert_int_equal(errno, EPERM);
		close(intruder);
		names++;
	}
	free(now);
	assert_int_equal(names, 2);

	char msg[64] = "hello", got[64];
	assert_int_equal(ops->send(a[1].end, msg, sizeof(msg), NS_PER_S), 0);
	assert_int_equal(ops->recv(a[0].end, got, sizeof(got), sizeof(got), NS_PER_S), sizeof(msg));
	assert_string_equal(got, "hello");

	for (int i = 0; i < 2; i++) {
		ops->detach(a[i].end);
		free(a[i].end);
	}
	ops->teardown(st);
	free(st);
	assert_no_new_names(before);
}

/* A peer that never comes is a timeout with a reason, not a hang. */
static void test_dgram_attach_alone_times_out(void **state)
{
	(void)state;
	const struct transport_ops *ops = ops_named("uds-dgram");
	char *before = uds_names();
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	assert_int_equal(ops->attach(st, end, TP_SIDE_A, &p, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "uds-dgram: connect to @ipcbench-uds-"));
	ops->detach(end);
	ops->teardown(st);
	free(end);
	free(st);
	assert_no_new_names(before);
}

/* Teardown and detach on zeroed state close nothing (fd 0 there means "not open", not stdin). */
static void test_zeroed_state_is_safe(void **state)
{
	const struct transport_ops *ops = ops_named(*state);
	int probe = open("/dev/null", O_RDONLY);
	assert_true(probe >= 0);
	int fd0_open = fcntl(0, F_GETFD) >= 0;
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	ops->detach(end);
	ops->teardown(st);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, fd0_open);
	assert_true(fcntl(probe, F_GETFD) >= 0);
	close(probe);
	free(end);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_limit_is_real, (void *)"uds-dgram"),
		cmocka_unit_test_prestate(test_limit_is_real, (void *)"uds-seqpacket"),
		cmocka_unit_test(test_dgram_stream_loses_nothing),
		cmocka_unit_test_prestate(test_listener_name_is_abstract, (void *)"uds-stream"),
		cmocka_unit_test_prestate(test_listener_name_is_abstract, (void *)"uds-seqpacket"),
		cmocka_unit_test(test_dgram_only_peer_may_send),
		cmocka_unit_test(test_dgram_attach_alone_times_out),
		cmocka_unit_test_prestate(test_zeroed_state_is_safe, (void *)"uds-stream"),
		cmocka_unit_test_prestate(test_zeroed_state_is_safe, (void *)"uds-dgram"),
		cmocka_unit_test_prestate(test_zeroed_state_is_safe, (void *)"uds-seqpacket"),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
