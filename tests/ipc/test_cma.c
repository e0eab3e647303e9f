/* ipc/cma.c: a skipped piece of a pulled message is caught, a buffer reused too early is caught, a peer it may not read fails attach. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pair.h"
#include "registry.h"
#include "support.h"

static const struct transport_ops *cma_or_skip(void)
{
	const struct transport_ops *ops = transport_find("cma");
	assert_non_null(ops);
	struct tp_err why = { { 0 } };
	if (ops->max_msg(&why) == 0) {
		print_message("cma cannot run here: %s\n", why.msg);
		skip();
	}
	return ops;
}

static void test_skipped_copy_is_corrupt(void **state)
{
	(void)state;
	pair_skipped_copy_is_corrupt(cma_or_skip());
}

#define SLOW_MSGS 40

static int stamped_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	(void)arg;
	return pair_send_stamped(ops, end, len, SLOW_MSGS, 5 * NS_PER_S);
}

/* Rewrites its one buffer as soon as send returns, as a stream sender that ignored send_buffers would. */
static int one_buffer_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	(void)arg;
	unsigned char *buf = aligned_alloc(64, (len + 63) / 64 * 64);
	struct msg_gen g;
	msg_gen_init(&g, buf, len, 0x5c1b ^ len);
	int rc = 0;
	for (uint64_t seq = 0; seq < SLOW_MSGS && !rc; seq++) {
		msg_stamp(&g, seq);
		rc = ops->send(end, buf, len, 5 * NS_PER_S);
	}
	return rc; /* buf is not freed: side B may still pull the last message from it */
}

/* Receive SLOW_MSGS messages, pausing before each so the sender is always ahead; the error total. */
static uint64_t slow_receive(const struct transport_ops *ops, struct pair *pr, size_t len)
{
	unsigned char *buf = malloc(len);
	struct msg_check chk = { 0 };
	const struct timespec pause = { 0, 2 * 1000 * 1000 };
	for (int i = 0; i < SLOW_MSGS; i++) {
		nanosleep(&pause, NULL);
		ssize_t n = ops->recv(pr->end, buf, len, len, 5 * NS_PER_S);
		assert_int_equal(n, (ssize_t)len);
		msg_check(&chk, buf, (size_t)n, len, true);
	}
	free(buf);
	return msg_errors_total(&chk.errors);
}

/*
 * The receiver pulls from the sender's own buffer, so send returns only while
 * the buffer the sender rewrites next has been pulled: rotating through
 * send_buffers buffers, a sender always ahead of a slow receiver delivers every
 * message intact; one that rewrites a single buffer at once is caught.
 */
static void test_buffers_reused_only_after_pull(void **state)
{
	(void)state;
	const struct transport_ops *ops = cma_or_skip();
	static const size_t lens[] = { 64, 4096, 1 << 20 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct pair pr;
		pair_start(&pr, ops, lens[i], 5 * NS_PER_S, stamped_sender, NULL);
		uint64_t errors = slow_receive(ops, &pr, lens[i]);
		assert_int_equal(pair_finish(&pr, false), 0);
		assert_int_equal(errors, 0);

		pair_start(&pr, ops, lens[i], 5 * NS_PER_S, one_buffer_sender, NULL);
		unsigned nbuf = ops->send_buffers(pr.end);
		errors = slow_receive(ops, &pr, lens[i]);
		pair_finish(&pr, false);
		print_message("cma %zu B: rotating %u buffers intact; one buffer rewritten at once: %llu errors\n", lens[i],
			      nbuf, (unsigned long long)errors);
		assert_true(errors > 0);
	}
}

/* Take CAP_SYS_PTRACE out of this process's effective set (root could read any peer with it). */
static void drop_cap_ptrace(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
		syscall(SYS_capset, &hdr, data);
	}
}

/* A peer this side may not read (not dumpable, and no CAP_SYS_PTRACE here): attach fails, naming ptrace access. */
static void test_unreadable_peer_fails_attach(void **state)
{
	(void)state;
	const struct transport_ops *ops = cma_or_skip();
	struct { int rc; char msg[256]; } *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(res != MAP_FAILED);
	res->rc = 1;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		drop_cap_ptrace();
		struct tp_params p = { .msg_bytes = 64, .timeout_ns = NS_PER_S };
		struct tp_err err = { { 0 } };
		void *st = tp_state_alloc(ops->state_size), *end = tp_state_alloc(ops->end_size);
		if (ops->setup(st, &p, &err))
			_exit(2);
		pid_t a = fork();
		if (a == 0) {
			prctl(PR_SET_DUMPABLE, 0);
			ops->attach(st, end, TP_SIDE_A, &p, &err);
			ops->detach(end);
			_exit(0);
		}
		res->rc = ops->attach(st, end, TP_SIDE_B, &p, &err);
		snprintf(res->msg, sizeof(res->msg), "%s", err.msg);
		ops->detach(end);
		waitpid(a, NULL, 0);
		ops->teardown(st);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	print_message("attach to an unreadable peer: %d, '%s'\n", res->rc, res->msg);
	assert_true(res->rc < 0);
	assert_non_null(strstr(res->msg, "ptrace"));
	munmap(res, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skipped_copy_is_corrupt),
		cmocka_unit_test(test_buffers_reused_only_after_pull),
		cmocka_unit_test(test_unreadable_peer_fails_attach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
