/*
 * serve and --peer between two network namespaces joined by a veth pair, each
 * test with namespaces of its own (random names, addresses in 10.200.0.0/13 on
 * that pair only), removed even when it fails. Needs root, ip and tc; skips
 * otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clock.h"
#include "peer_support.h"
#include "support.h"

/* Two namespaces, the veth between them, their addresses, and two key files. */
struct pair {
	char ns[2][32];   /* the server's, the client's */
	char dev[2][16];
	char addr[2][32]; /* without the /30 */
	char dir[64], key[96], other_key[96];
	struct server_proc server;
	bool made[2];
};

static int ip(const char *a, const char *b, const char *c, const char *d, const char *e, const char *f,
	      const char *g, const char *h, const char *i, const char *j)
{
	const char *argv[] = { "ip", a, b, c, d, e, f, g, h, i, j, NULL };
	return cmd_run(argv, NULL, NULL, 20);
}

static void write_key(const char *path)
{
	unsigned char bytes[32];
	getrandom(bytes, sizeof(bytes), 0);
	FILE *f = fopen(path, "we");
	fwrite(bytes, 1, sizeof(bytes), f);
	fclose(f);
	chmod(path, 0600);
}

/* The namespaces, the pair and its addresses; false when this host cannot make them. */
static bool make_pair(struct pair *p)
{
	uint32_t r;
	getrandom(&r, sizeof(r), 0);
	unsigned net = (r >> 8) & 0x3fff; /* a /30 in 10.200.0.0/13 */
	snprintf(p->ns[0], sizeof(p->ns[0]), "ipcbp-%08x-s", r);
	snprintf(p->ns[1], sizeof(p->ns[1]), "ipcbp-%08x-c", r);
	snprintf(p->dev[0], sizeof(p->dev[0]), "vps%06x", r & 0xffffff);
	snprintf(p->dev[1], sizeof(p->dev[1]), "vpc%06x", r & 0xffffff);
	for (int i = 0; i < 2; i++)
		snprintf(p->addr[i], sizeof(p->addr[i]), "10.%u.%u.%u", 200 + (net >> 11), (net >> 3) & 0xff,
			 ((net & 7) << 5 | 0) + 1 + (unsigned)i);
	for (int i = 0; i < 2; i++)
		if (!(p->made[i] = ip("netns", "add", p->ns[i], NULL, NULL, NULL, NULL, NULL, NULL, NULL) == 0))
			return false;
	if (ip("link", "add", p->dev[0], "netns", p->ns[0], "type", "veth", "peer", "name", p->dev[1]) ||
	    ip("link", "set", p->dev[1], "netns", p->ns[1], NULL, NULL, NULL, NULL, NULL))
		return false;
	for (int i = 0; i < 2; i++) {
		char cidr[40];
		snprintf(cidr, sizeof(cidr), "%s/30", p->addr[i]);
		if (ip("-n", p->ns[i], "addr", "add", cidr, "dev", p->dev[i], NULL, NULL, NULL) ||
		    ip("-n", p->ns[i], "link", "set", p->dev[i], "up", NULL, NULL, NULL, NULL) ||
		    ip("-n", p->ns[i], "link", "set", "lo", "up", NULL, NULL, NULL, NULL))
			return false;
	}
	snprintf(p->dir, sizeof(p->dir), "/tmp/peer-netns-XXXXXX");
	if (!mkdtemp(p->dir))
		return false;
	snprintf(p->key, sizeof(p->key), "%s/key", p->dir);
	snprintf(p->other_key, sizeof(p->other_key), "%s/other", p->dir);
	write_key(p->key);
	write_key(p->other_key);
	return true;
}

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	p->server = (struct server_proc){ .pid = -1, .log = -1 };
	*state = p;
	return 0;
}

/* Deleting a namespace deletes its end of the pair, and so the pair. */
static int teardown(void **state)
{
	struct pair *p = *state;
	server_stop(&p->server);
	for (int i = 0; i < 2; i++)
		if (p->made[i])
			ip("netns", "del", p->ns[i], NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (p->dir[0] && strcmp(p->dir, "/tmp/peer-netns-XXXXXX") != 0) {
		unlink(p->key);
		unlink(p->other_key);
		rmdir(p->dir);
	}
	free(p);
	return 0;
}

static void need_pair(struct pair *p)
{
	if (geteuid() != 0) {
		print_message("needs root: network namespaces and a veth pair\n");
		skip();
	}
	if (!make_pair(p)) {
		print_message("cannot make two network namespaces joined by a veth pair here (ip netns, veth)\n");
		skip();
	}
}

static void serve(struct pair *p, bool once)
{
	const char *argv[] = { "ip", "netns", "exec", p->ns[0], "$IPCBENCH", "serve", "--listen", p->addr[0], "--key",
			       p->key, once ? "--once" : NULL, NULL };
	if (server_start(&p->server, argv)) {
		char *log = server_log(&p->server);
		fail_msg("the server did not start: %s", log);
	}
}

/* The client in its namespace: exit status, stdout and stderr. */
static int client(struct pair *p, const char *key, const char *const *args, char **out, char **err)
{
	const char *argv[40] = { "ip", "netns", "exec", p->ns[1], "$IPCBENCH", "--peer", p->addr[0], "--key", key };
	int n = 9;
	for (int i = 0; args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return cmd_run(argv, out, err, 180);
}

static json_t *parse_json(const char *out)
{
	json_error_t e;
	json_t *doc = json_loads(out, 0, &e);
	if (!doc)
		fail_msg("not JSON: %s (%s)", e.text, out);
	return doc;
}

static void test_rows_run_between_namespaces(void **state)
{
	struct pair *p = *state;
	need_pair(p);
	serve(p, true);
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "tcp,zmq-tcp", "-s", "64,64K", "-d", "50ms", "-r", "2", "--json", "--quiet", NULL };
	int rc = client(p, p->key, args, &out, &err);
	if (rc != 0)
		fail_msg("client exit %d: %s", rc, err);
	json_t *doc = parse_json(out), *row;
	size_t i;
	assert_int_equal(json_array_size(json_object_get(doc, "results")), 8);
	json_array_foreach(json_object_get(doc, "results"), i, row)
		assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
	json_t *peer = json_object_get(doc, "peer");
	assert_true(json_is_object(json_object_get(doc, "host")));
	assert_true(json_is_object(json_object_get(peer, "host")));
	assert_string_equal(json_string_value(json_object_get(peer, "address")), p->addr[0]);
	assert_string_equal(json_string_value(json_object_get(json_object_get(peer, "client"), "address")), p->addr[1]);
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(server_wait(&p->server, 10000), 0);
}

/* 100 Mbit/s is 12.5 MB/s: a stream that read more did not cross the shaped link. */
static void test_shaped_link_caps_the_stream(void **state)
{
	struct pair *p = *state;
	need_pair(p);
	for (int i = 0; i < 2; i++) {
		const char *tc[] = { "ip", "netns", "exec", p->ns[i], "tc", "qdisc", "add", "dev", p->dev[i], "root",
				     "tbf", "rate", "100mbit", "burst", "32kbit", "latency", "400ms", NULL };
		if (cmd_run(tc, NULL, NULL, 20) != 0) {
			print_message("tc cannot add a tbf qdisc here\n");
			skip();
		}
	}
	serve(p, true);
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "tcp", "-p", "stream", "-s", "1M", "-d", "500ms", "-r", "3", "--json", "--quiet", NULL };
	int rc = client(p, p->key, args, &out, &err);
	if (rc != 0)
		fail_msg("client exit %d: %s", rc, err);
	json_t *doc = parse_json(out);
	json_t *row = json_array_get(json_object_get(doc, "results"), 0);
	double rate = json_number_value(json_object_get(row, "bytes_per_s"));
	print_message("tcp stream 1 MiB over a 100 Mbit/s link: %.2f MB/s\n", rate / 1e6);
	assert_true(rate > 0 && rate <= 12.5e6);
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(server_wait(&p->server, 10000), 0);
}

static void test_wrong_key_is_refused(void **state)
{
	struct pair *p = *state;
	need_pair(p);
	serve(p, true);
	char *err = NULL;
	const char *args[] = { "-m", "tcp", "-s", "64", NULL };
	assert_int_equal(client(p, p->other_key, args, NULL, &err), 2);
	assert_non_null(strstr(err, "authentication failed"));
	assert_int_equal(count_lines(err), 1);
	free(err);
	assert_int_equal(server_wait(&p->server, 10000), 1);
}

/* A server killed mid-row: that row fails within its deadline, the next fails at once, the run ends. */
static void test_server_killed_mid_row(void **state)
{
	struct pair *p = *state;
	need_pair(p);
	serve(p, false);
	pid_t killer = fork();
	if (killer == 0) {
		struct timespec t = { 1, 500 * 1000000 };
		nanosleep(&t, NULL);
		kill(p->server.pid, SIGKILL);
		_exit(0);
	}
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "tcp", "-p", "pingpong,stream", "-s", "64", "-d", "3s", "-r", "1", "-t", "2s",
			       "--json", "--quiet", NULL };
	int64_t t0 = now_ns();
	int rc = client(p, p->key, args, &out, &err);
	double took = (double)(now_ns() - t0) / 1e9;
	waitpid(killer, NULL, 0);
	assert_int_equal(rc, 1);
	json_t *doc = parse_json(out), *row;
	size_t i;
	assert_int_equal(json_array_size(json_object_get(doc, "results")), 2);
	json_array_foreach(json_object_get(doc, "results"), i, row) {
		assert_string_equal(json_string_value(json_object_get(row, "status")), "failed");
		assert_non_null(strstr(json_string_value(json_object_get(row, "reason")), "side B on"));
	}
	print_message("server killed 1.5 s into a 3 s row: the client ended after %.1f s\n", took);
	assert_true(took < 3 + 4 * 2 + 1); /* the row's deadline: warmup, span, four timeouts */
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(server_wait(&p->server, 1000), 128 + SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_run_between_namespaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shaped_link_caps_the_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_killed_mid_row, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
