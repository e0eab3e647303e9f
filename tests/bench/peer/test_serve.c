/* ipcbench serve and --peer over loopback: rows, refusals, a busy server, hostile input, and stops that leave nothing behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clock.h"
#include "peer_support.h"
#include "support.h"

#define HOSTILE_MESSAGES 10000

static struct server_proc server = { .pid = -1, .log = -1 };

static int stop_server(void **state)
{
	(void)state;
	server_stop(&server);
	return 0;
}

/* A server on a free loopback port; --once when once. */
static void start(bool once)
{
	const char *args[] = { "$IPCBENCH", "serve", "--listen", "127.0.0.1:0", once ? "--once" : NULL, NULL };
	if (server_start(&server, args)) {
		char *log = server_log(&server);
		fail_msg("the server did not start: %s", log);
	}
}

static char *peer_arg(void)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "127.0.0.1:%u", server.port);
	return buf;
}

/* Wait (at most 10 s) until the server's log holds text. */
static void await_log(const char *text)
{
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	for (;;) {
		char *log = server_log(&server);
		bool found = strstr(log, text) != NULL;
		if (found || now_ns() > deadline) {
			if (!found)
				fail_msg("no '%s' in the server's log: %s", text, log);
			free(log);
			return;
		}
		free(log);
		struct timespec nap = { 0, 10 * 1000000 };
		nanosleep(&nap, NULL);
	}
}

static void test_rows_between_client_and_server(void **state)
{
	(void)state;
	start(true);
	char *out = NULL, *err = NULL;
	const char *args[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp,zmq-tcp,udp", "-s", "64", "-d", "20ms",
			       "-r", "1", "--json", "--quiet", NULL };
	int rc = cmd_run(args, &out, &err, 120);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, err);
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	json_t *rows = json_object_get(doc, "results"), *row;
	size_t i;
	assert_int_equal(json_array_size(rows), 6);
	json_array_foreach(rows, i, row)
		assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
	assert_true(json_is_object(json_object_get(doc, "host")));
	assert_true(json_is_object(json_object_get(json_object_get(doc, "peer"), "host")));
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(server_wait(&server, 10000), 0);
}

static void refused_with(const char *const *args, const char *because)
{
	char *err = NULL;
	int rc = cmd_run(args, NULL, &err, 30);
	assert_int_equal(rc, 2);
	if (!strstr(err, because))
		fail_msg("refused as '%s', expected '%s'", err, because);
	assert_int_equal(count_lines(err), 1);
	free(err);
}

static void test_what_cannot_cross_hosts_is_refused(void **state)
{
	(void)state;
	const char *pipe_args[] = { "$IPCBENCH", "--peer", "127.0.0.1", "-m", "pipe", NULL };
	refused_with(pipe_args, "pipe works on one host only");
	const char *oneway[] = { "$IPCBENCH", "--peer", "127.0.0.1", "-m", "tcp", "-p", "oneway", NULL };
	refused_with(oneway, "two clocks");
	const char *key_alone[] = { "$IPCBENCH", "-m", "tcp", "--key", "/nonexistent", NULL };
	refused_with(key_alone, "--key: goes with --peer");
	const char *nobody[] = { "$IPCBENCH", "--peer", "127.0.0.1:1", "-m", "tcp", "-s", "64", NULL };
	refused_with(nobody, "cannot connect");
}

static void test_a_second_client_is_told_busy(void **state)
{
	(void)state;
	start(false);
	const char *first[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-p", "stream", "-s", "64", "-d", "2s",
				"-r", "1", "--quiet", NULL };
	pid_t a = cmd_start(first);
	await_log("accepted");
	const char *second[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-s", "64", NULL };
	refused_with(second, "busy");
	int status;
	assert_int_equal(waitpid(a, &status, 0), a);
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* One connection that sends kind-th sort of garbage, and waits until the server closes it. */
static void hostile_once(int kind)
{
	static const char auth[] = "{\"type\":\"auth\",\"proto\":1,\"nonce\":\"0123456789abcdef0123456789abcdef"
				   "0123456789abcdef0123456789abcdef\"}";
	unsigned char buf[512];
	size_t len = 0;
	uint32_t r;
	getrandom(&r, sizeof(r), 0);
	getrandom(buf + 4, 300, 0);
	size_t body = 1 + r % 300;
	switch (kind) {
	case 0: /* raw random bytes, no frame */
		len = body;
		memmove(buf, buf + 4, len);
		break;
	case 1: /* a frame announcing 4 GiB */
		memset(buf, 0xff, 4);
		len = 4 + body;
		break;
	case 2: /* a frame of random bytes */
	case 3: /* a valid auth cut short: the header says more than follows */
	case 4: /* a valid auth with one byte changed */
		if (kind > 2) {
			body = sizeof(auth) - 1;
			memcpy(buf + 4, auth, body);
		}
		if (kind == 4)
			buf[4 + r % body] ^= (unsigned char)(1 + (r >> 16) % 255);
		buf[0] = buf[1] = 0;
		buf[2] = (unsigned char)(body >> 8);
		buf[3] = (unsigned char)body;
		len = kind == 3 ? 4 + r % body : 4 + body;
		break;
	default: /* half a frame header */
		len = 2;
		break;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)server.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 15 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send(fd, buf, len, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	char sink[4096];
	ssize_t n;
	while ((n = recv(fd, sink, sizeof(sink), 0)) > 0)
		;
	/* closed by the server (a reset when it left bytes unread), not timed out */
	assert_true(n == 0 || errno == ECONNRESET);
	close(fd);
}

static void test_hostile_messages_do_not_stop_the_server(void **state)
{
	(void)state;
	start(false);
	for (int i = 0; i < HOSTILE_MESSAGES; i++)
		hostile_once(i % 6);
	assert_int_equal(kill(server.pid, 0), 0);
	const char *good[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-s", "64", "-d", "20ms", "-r", "1",
			       "--quiet", NULL };
	char *err = NULL;
	int rc = cmd_run(good, NULL, &err, 60);
	if (rc != 0)
		fail_msg("a correct client after %d hostile ones: exit %d: %s", HOSTILE_MESSAGES, rc, err);
	free(err);
	char *log = server_log(&server);
	assert_true(count_lines(log) >= HOSTILE_MESSAGES);
	free(log);
	kill(server.pid, SIGINT);
	assert_int_equal(server_wait(&server, 5000), 130);
}

/* The server's session and its side B, while a row runs. */
static int running_family(pid_t *pids)
{
	pid_t session[4];
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while (now_ns() < deadline) {
		if (children_of(server.pid, session, 4) == 1 && children_of(session[0], pids + 1, 4) == 1) {
			pids[0] = session[0];
			return 2;
		}
		struct timespec nap = { 0, 10 * 1000000 };
		nanosleep(&nap, NULL);
	}
	fail_msg("no session with a side B under the server");
	return 0;
}

static void test_sigint_stops_server_and_its_sides(void **state)
{
	(void)state;
	start(false);
	const char *client[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-p", "stream", "-s", "64", "-d",
				 "5s", "-r", "1", "--quiet", NULL };
	pid_t c = cmd_start(client);
	pid_t family[2];
	running_family(family);
	int64_t t0 = now_ns();
	kill(server.pid, SIGINT);
	assert_int_equal(server_wait(&server, 5000), 130);
	assert_true(pid_gone(family[0]) && pid_gone(family[1]));
	int status;
	assert_int_equal(waitpid(c, &status, 0), c);
	assert_int_equal(WEXITSTATUS(status), 1); /* the row failed, with the reason */
	assert_true(now_ns() - t0 < 8 * NS_PER_S);
}

static void test_client_killed_leaves_server_serving(void **state)
{
	(void)state;
	start(false);
	const char *client[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-p", "pingpong", "-s", "64", "-d",
				 "5s", "-r", "1", "--quiet", NULL };
	pid_t c = cmd_start(client);
	pid_t family[2];
	running_family(family);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while (!(pid_gone(family[0]) && pid_gone(family[1])) && now_ns() < deadline) {
		struct timespec nap = { 0, 10 * 1000000 };
		nanosleep(&nap, NULL);
	}
	assert_true(pid_gone(family[0]) && pid_gone(family[1]));
	const char *good[] = { "$IPCBENCH", "--peer", peer_arg(), "-m", "tcp", "-s", "64", "-d", "20ms", "-r", "1",
			       "--quiet", NULL };
	assert_int_equal(cmd_run(good, NULL, NULL, 60), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rows_between_client_and_server, stop_server),
		cmocka_unit_test(test_what_cannot_cross_hosts_is_refused),
		cmocka_unit_test_teardown(test_a_second_client_is_told_busy, stop_server),
		cmocka_unit_test_teardown(test_hostile_messages_do_not_stop_the_server, stop_server),
		cmocka_unit_test_teardown(test_sigint_stops_server_and_its_sides, stop_server),
		cmocka_unit_test_teardown(test_client_killed_leaves_server_serving, stop_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
