/* mq: the msgsize_max limit path, messages at the limit, and no queue left behind even after kill -9. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "killer.h"
#include "support.h"

extern const struct transport_ops mq_ops;

#define MSGSIZE_MAX_PATH "/proc/sys/fs/mqueue/msgsize_max"
#define SKIP_STATUS 77

static size_t msgsize_max(void)
{
	int64_t v = host_read_limit(MSGSIZE_MAX_PATH);
	assert_true(v > 0);
	return (size_t)v;
}

/* One byte over the limit: an unsupported row that names the limit, its value and the sysctl. */
static void test_over_limit_unsupported(void **state)
{
	(void)state;
	size_t max = msgsize_max();
	char value[32], reason[256];
	snprintf(value, sizeof(value), "(%zu B)", max);
	struct case_spec c = test_case(&mq_ops, PAT_PINGPONG, max + 1, NS_PER_S / 10);
	assert_true(case_unsupported(&c, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "msgsize_max"));
	assert_non_null(strstr(reason, value));
	assert_non_null(strstr(reason, "sysctl fs.mqueue.msgsize_max="));
	c.msg_bytes = max;
	assert_false(case_unsupported(&c, reason, sizeof(reason)));

	/* Setup refuses it too (root could pass the kernel's check), and creates nothing. */
	char st[256] = { 0 };
	assert_true(mq_ops.state_size <= sizeof(st));
	struct tp_params p = { .msg_bytes = max + 1, .timeout_ns = NS_PER_S };
	struct tp_err err = { { 0 } };
	assert_int_equal(mq_ops.setup(st, &p, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "msgsize_max"));
	mq_ops.teardown(st);
}

/* The tool shows the unsupported row with its reason and exits 0. */
static void test_over_limit_row(void **state)
{
	(void)state;
	char size[32];
	snprintf(size, sizeof(size), "%zu", msgsize_max() * 2);
	const char *args[] = { "-m", "mq", "-s", size, "-d", "0.05", "-r", "1", "--json", NULL };
	char *out = NULL;
	assert_int_equal(tool_run(args, &out, NULL, 30), 0);
	assert_non_null(strstr(out, "\"status\": \"unsupported\""));
	assert_non_null(strstr(out, "msgsize_max"));
	free(out);
}

static void run_ok(enum pattern p, size_t size)
{
	struct case_spec c = test_case(&mq_ops, p, size, NS_PER_S / 20);
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("mq %s %zu B: %s\n", pattern_name(p), size, r.reason);
	assert_true(r.ok);
	assert_int_equal(msg_errors_total(&r.errors), 0);
}

/* Messages of exactly msgsize_max go through intact, and so do the small ones. */
static void test_at_limit(void **state)
{
	(void)state;
	size_t max = msgsize_max();
	const size_t sizes[] = { 1, 23, 24, 25, 64, 4096, max - 1, max };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		run_ok(PAT_PINGPONG, sizes[i]);
		run_ok(PAT_STREAM, sizes[i]);
	}
}

/*
 * In a private mount and IPC namespace, where the test can mount the queue
 * filesystem and see exactly the queues ipcbench made. The child reports with
 * its exit status, since cmocka's asserts belong to the parent.
 */
#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			_exit(1);                                                       \
		}                                                                       \
	} while (0)

static int queues_left(void)
{
	DIR *d = opendir("/dev/mqueue");
	CHECK(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "ipcbench-", 9) == 0;
	closedir(d);
	return n;
}

static int private_mqueue_mount(void)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC))
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	/* Not every host has /dev/mqueue, and the test must not create it there: give this
	 * namespace its own /dev instead. */
	struct stat sb;
	if (stat("/dev/mqueue", &sb) != 0 &&
	    (mount("none", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") ||
	     mkdir("/dev/mqueue", 01777)))
		return -errno;
	return mount("none", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ? -errno : 0;
}

static void killed_run(enum pattern p, int which)
{
	struct case_spec c = test_case(&mq_ops, p, 64, NS_PER_S);
	struct rep_result r;
	struct killer k;
	killer_start(&k, which, SIGKILL, c.warmup_ns + NS_PER_S / 4);
	CHECK(run_once(&c, &r) == 0);
	CHECK(killer_join(&k) > 0);
	CHECK(!r.ok);
	CHECK(strstr(r.reason, "killed by signal 9") != NULL);
}

static void namespace_child(void)
{
	int rc = private_mqueue_mount();
	if (rc == -EPERM || rc == -EACCES)
		_exit(SKIP_STATUS);
	CHECK(rc == 0);
	CHECK(queues_left() == 0);

	/*
	 * Setup's queues have no name once it returns: their descriptors carry them
	 * into both sides, so a runner killed before the sides attach leaves none.
	 */
	char st[256] = { 0 };
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = NS_PER_S };
	struct tp_err err = { { 0 } };
	CHECK(mq_ops.setup(st, &p, &err) == 0);
	CHECK(queues_left() == 0);
	mq_ops.teardown(st);
	CHECK(queues_left() == 0);

	/* Refused sizes create nothing. */
	memset(st, 0, sizeof(st));
	p.msg_bytes = (size_t)host_read_limit(MSGSIZE_MAX_PATH) + 1;
	CHECK(mq_ops.setup(st, &p, &err) == -EMSGSIZE);
	mq_ops.teardown(st);
	CHECK(queues_left() == 0);

	for (int pat = PAT_PINGPONG; pat <= PAT_STREAM; pat++) {
		struct case_spec c = test_case(&mq_ops, (enum pattern)pat, 64, NS_PER_S / 20);
		struct rep_result r;
		CHECK(run_once(&c, &r) == 0 && r.ok);
		CHECK(queues_left() == 0);
		killed_run((enum pattern)pat, 1);
		CHECK(queues_left() == 0);
		killed_run((enum pattern)pat, 0);
		CHECK(queues_left() == 0);
	}
	_exit(0);
}

/* Nothing in /dev/mqueue after a run, after a refused size, and after a side is SIGKILLed. */
static void test_nothing_left_in_dev_mqueue(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		namespace_child();
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == SKIP_STATUS)
		skip(); /* root without CAP_SYS_ADMIN, e.g. in a container */
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "mq over msgsize_max is unsupported", test_over_limit_unsupported, NULL, NULL, NULL },
		{ "mq over msgsize_max row", test_over_limit_row, NULL, NULL, NULL },
		{ "mq at msgsize_max", test_at_limit, NULL, NULL, NULL },
		{ "mq nothing left in /dev/mqueue", test_nothing_left_in_dev_mqueue, NULL, NULL, NULL },
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
