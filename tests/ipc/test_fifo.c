/* ipc/fifo.c: nothing named once setup returns, and FIFO paths that are never followed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"
#include "support.h"

#define MS (NS_PER_S / 1000)
#define FIFO_DIR_PREFIX "/tmp/ipcbench-"

/* What the mkfifo interposer puts where setup's FIFO was, before setup opens it. */
enum plant { PLANT_NOTHING, PLANT_SYMLINK, PLANT_FILE };

static enum plant plant;
static char plant_target[64]; /* where a planted symlink points */
static int made_fifos;        /* FIFOs made by the last setup */
static mode_t dir_mode;       /* the mode of the directory the last FIFO was made in */

/*
 * Interposes the C library's mkfifo for ipc/fifo.c (linked into this
 * program): records the directory's mode, and can swap the new FIFO for a
 * symlink or a regular file, as someone able to write there could.
 */
int mkfifo(const char *path, mode_t mode)
{
	char dir[400];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	struct stat sb;
	dir_mode = stat(dir, &sb) == 0 ? sb.st_mode : 0;
	made_fifos = strstr(path, "/a2b") ? 1 : made_fifos + 1;
	int rc = mknod(path, S_IFIFO | (mode & 07777), 0);
	if (rc || plant == PLANT_NOTHING)
		return rc;
	unlink(path);
	if (plant == PLANT_SYMLINK)
		return symlink(plant_target, path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -1;
}

static const struct transport_ops *fifo(void)
{
	const struct transport_ops *ops = transport_find("fifo");
	assert_non_null(ops);
	return ops;
}

/*
 * The FIFO directories in /tmp (mkdtemp's six random characters after the
 * prefix), one per line. Other runs on this machine create and remove their
 * own ipcbench-* objects meanwhile; only these are ours to judge.
 */
static char *fifo_dirs(void)
{
	char *all = leftovers_snapshot(), *save;
	char *mine = calloc(1, strlen(all) + 1);
	for (char *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, FIFO_DIR_PREFIX, strlen(FIFO_DIR_PREFIX)) == 0 &&
		    strlen(line) == strlen(FIFO_DIR_PREFIX) + 6)
			strcat(strcat(mine, line), "\n");
	free(all);
	return mine;
}

static void assert_no_new_dirs(char *before)
{
	char *after = fifo_dirs();
	assert_string_equal(after, before);
	free(after);
	free(before);
}

/* The FIFOs this process holds open that were not open before, into fds; their count. */
static int fifo_fds(const bool *before, int *fds, int max)
{
	int n = 0;
	for (int fd = 0; fd < 1024 && n < max; fd++) {
		struct stat sb;
		if (!before[fd] && fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
			fds[n++] = fd;
	}
	return n;
}

static void open_fds(bool *open)
{
	for (int fd = 0; fd < 1024; fd++)
		open[fd] = fcntl(fd, F_GETFD) >= 0;
}

/*
 * Setup returns with both FIFOs open at both ends and nothing named left in
 * /tmp, so a runner killed before its sides attach leaves no directory
 * behind. The FIFOs are 0600 and were made in a directory of mode 0700.
 */
static void test_nothing_named_after_setup(void **state)
{
	(void)state;
	const struct transport_ops *ops = fifo();
	char *before = fifo_dirs();
	bool was_open[1024];
	open_fds(was_open);
	void *st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 2 * NS_PER_S };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	assert_int_equal(made_fifos, 2);
	assert_int_equal(dir_mode & 07777, 0700);
	int fds[8];
	assert_int_equal(fifo_fds(was_open, fds, 8), 4);
	for (int i = 0; i < 4; i++) {
		struct stat sb;
		assert_int_equal(fstat(fds[i], &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600); /* nobody else could have opened it */
		assert_int_equal(sb.st_uid, getuid());
	}
	char *now = fifo_dirs();
	assert_string_equal(now, before);
	free(now);
	ops->teardown(st);
	free(st);
	assert_int_equal(fifo_fds(was_open, fds, 8), 0);
	assert_no_new_dirs(before);
}

/* Set up with each new FIFO replaced by what an attacker might plant; returns setup's result. */
static int setup_after_replacing(enum plant what, struct tp_err *err)
{
	const struct transport_ops *ops = fifo();
	void *st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
	plant = what;
	int rc = ops->setup(st, &p, err);
	plant = PLANT_NOTHING;
	ops->teardown(st);
	free(st);
	return rc;
}

/* A symlink where a FIFO was is refused with ELOOP; its target is never opened. */
static void test_symlink_is_not_followed(void **state)
{
	(void)state;
	char tdir[] = "/tmp/fifotest-XXXXXX";
	assert_non_null(mkdtemp(tdir));
	snprintf(plant_target, sizeof(plant_target), "%s/target", tdir);
	assert_int_equal(mknod(plant_target, S_IFIFO | 0600, 0), 0); /* a FIFO: followed, the open would succeed */

	char *before = fifo_dirs();
	struct tp_err err = { { 0 } };
	assert_int_equal(setup_after_replacing(PLANT_SYMLINK, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "/a2b"));
	struct stat sb;
	assert_int_equal(lstat(plant_target, &sb), 0); /* what the symlink pointed to is still there */
	assert_true(S_ISFIFO(sb.st_mode));
	assert_no_new_dirs(before); /* setup removed the directory and the symlink */

	unlink(plant_target);
	rmdir(tdir);
}

/* A regular file where a FIFO was is opened without following anything, then refused. */
static void test_regular_file_is_refused(void **state)
{
	(void)state;
	char *before = fifo_dirs();
	struct tp_err err = { { 0 } };
	assert_int_equal(setup_after_replacing(PLANT_FILE, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not a FIFO"));
	assert_no_new_dirs(before);
}

/* Whole runs, both patterns, and a size that takes many reads: nothing stays in /tmp. */
static void test_runs_leave_nothing(void **state)
{
	(void)state;
	char *before = fifo_dirs();
	for (int pat = PAT_PINGPONG; pat <= PAT_STREAM; pat++) {
		struct case_spec c = test_case(fifo(), (enum pattern)pat, 1 << 20, 50 * MS);
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("fifo %s: %s\n", pattern_name(c.pattern), r.reason);
		assert_true(r.ok);
	}
	assert_no_new_dirs(before);
}

static void test_zeroed_state_is_safe(void **state)
{
	(void)state;
	const struct transport_ops *ops = fifo();
	int fd0_open = fcntl(0, F_GETFD) >= 0;
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	ops->detach(end);
	ops->teardown(st);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, fd0_open);
	free(end);
	free(st);
}

int main(void)
{
	umask(022); /* the modes checked are the ones asked for */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_named_after_setup),
		cmocka_unit_test(test_symlink_is_not_followed),
		cmocka_unit_test(test_regular_file_is_refused),
		cmocka_unit_test(test_runs_leave_nothing),
		cmocka_unit_test(test_zeroed_state_is_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
