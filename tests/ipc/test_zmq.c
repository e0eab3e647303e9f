/* ZeroMQ rows: every size intact, a killed or stuck peer fails the row in time, nothing left behind. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/names.h"
#include "killer.h"
#include "support.h"

extern const struct transport_ops zmq_ipc_ops, zmq_tcp_ops, zmq_inproc_ops;

static const size_t sizes[] = {
	1, 2, 7, 23, 24, 25, 33, 64, 255, 256, 1000, 4096, 8191, 8192, 8193,
	65536, 65537, 262144, 1048575, 1048576,
};

/*
 * Names of this file's kind only: other programs on the machine (other tests
 * running at the same time) may hold ipcbench names of their own for a moment.
 */
static char *zmq_names(void)
{
	char *all = leftovers_snapshot(), *save, *line;
	char *out = calloc(1, strlen(all) + 1);
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, TP_NAME_PREFIX "zmq-"))
			strcat(strcat(out, line), "\n");
	free(all);
	return out;
}

/* Fail if a zmq name appeared since before was taken; frees before. */
static void assert_no_new_zmq_names(char *before)
{
	char *after = zmq_names(), *save, *line;
	for (line = strtok_r(after, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(before, line))
			print_error("left behind: %s\n", line);
		assert_non_null(strstr(before, line));
	}
	free(before);
	free(after);
}

static void run_ok(const struct transport_ops *ops, enum pattern p, size_t size, int64_t duration_ns)
{
	struct case_spec c = test_case(ops, p, size, duration_ns);
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("%s %s %zu B: %s\n", ops->name, pattern_name(p), size, r.reason);
	assert_true(r.ok);
	assert_true(r.msgs > 0);
	assert_int_equal(msg_errors_total(&r.errors), 0);
}

/* Every size from 1 B to 1 MiB arrives whole, in order, once, both ways and in a stream. */
static void test_all_sizes_intact(void **state)
{
	const struct transport_ops *ops = *state;
	char *before = zmq_names();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		run_ok(ops, PAT_PINGPONG, sizes[i], NS_PER_S / 50);
		run_ok(ops, PAT_STREAM, sizes[i], NS_PER_S / 50);
	}
	assert_no_new_zmq_names(before);
}

/* Run a case and signal child `which` half a second into it; the failed result. */
static struct rep_result run_and_signal(const struct transport_ops *ops, enum pattern p, int which,
					int sig)
{
	struct case_spec c = test_case(ops, p, 64, 2 * NS_PER_S);
	struct rep_result r;
	struct killer k;
	killer_start(&k, which, sig, c.warmup_ns + NS_PER_S / 4);
	assert_int_equal(run_once(&c, &r), 0);
	assert_true(killer_join(&k) > 0);
	assert_false(r.ok);
	return r;
}

/* A peer killed mid-run fails the row at once (not at the deadline), and the next run is fine. */
static void test_peer_killed(void **state)
{
	const struct transport_ops *ops = *state;
	char *before = zmq_names();
	bool threads = strcmp(ops->group, "thread") == 0;
	for (int p = PAT_PINGPONG; p <= PAT_STREAM; p++) {
		for (int which = 0; which < (threads ? 1 : 2); which++) {
			struct rep_result r = run_and_signal(ops, (enum pattern)p, which, SIGKILL);
			print_message("%s %s, child %d killed: %s\n", ops->name, pattern_name(p), which,
				      r.reason);
			assert_non_null(strstr(r.reason, "killed by signal 9"));
		}
		run_ok(ops, (enum pattern)p, 64, NS_PER_S / 20);
	}
	assert_no_new_zmq_names(before);
}

/* A stopped peer leaves the other side blocked in libzmq: its SNDTIMEO/RCVTIMEO fail the row. */
static void test_peer_stuck(void **state)
{
	const struct transport_ops *ops = *state;
	char *before = zmq_names();
	for (int p = PAT_PINGPONG; p <= PAT_STREAM; p++) {
		struct rep_result r = run_and_signal(ops, (enum pattern)p, 1, SIGSTOP);
		print_message("%s %s, side B stopped: %s\n", ops->name, pattern_name(p), r.reason);
		assert_non_null(strstr(r.reason, "side A"));
		assert_non_null(strstr(r.reason, "timed out"));
	}
	assert_no_new_zmq_names(before);
}

#define CASE(name, fn, ops) { name, fn, NULL, NULL, (void *)&(ops) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE("zmq-ipc every size intact", test_all_sizes_intact, zmq_ipc_ops),
		CASE("zmq-tcp every size intact", test_all_sizes_intact, zmq_tcp_ops),
		CASE("zmq-inproc every size intact", test_all_sizes_intact, zmq_inproc_ops),
		CASE("zmq-ipc peer killed", test_peer_killed, zmq_ipc_ops),
		CASE("zmq-tcp peer killed", test_peer_killed, zmq_tcp_ops),
		CASE("zmq-inproc process killed", test_peer_killed, zmq_inproc_ops),
		CASE("zmq-ipc peer stuck", test_peer_stuck, zmq_ipc_ops),
		CASE("zmq-tcp peer stuck", test_peer_stuck, zmq_tcp_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
