/* ipc/fifo.c: a private directory that goes away early, and FIFO paths that are never followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* The one directory that appeared since before, into dir. */
static void new_dir(const char *before, char *dir, size_t len)
{
	char *now = fifo_dirs(), *save;
	int found = 0;
	for (char *line = strtok_r(now, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(before, line)) {
			snprintf(dir, len, "%s", line);
			found++;
		}
	free(now);
	assert_int_equal(found, 1);
}

/* The entries of dir (not . and ..), as full paths; returns how many. */
static int entries(const char *dir, char paths[][400], int max)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < max)
			snprintf(paths[n++], 400, "%s/%s", dir, e->d_name);
	closedir(d);
	return n;
}

struct attach_arg {
	void *st, *end;
	enum tp_side side;
	struct tp_params p;
	struct tp_err err;
	int rc;
};

static void *attach_thread(void *v)
{
	struct attach_arg *a = v;
	a->rc = fifo()->attach(a->st, a->end, a->side, &a->p, &a->err);
	return NULL;
}

/* Mode 0700 directory, 0600 FIFOs; both gone after unlink_names while the fds still carry data. */
static void test_private_dir_removed_after_attach(void **state)
{
	(void)state;
	const struct transport_ops *ops = fifo();
	char *before = fifo_dirs();
	void *st = calloc(1, ops->state_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 2 * NS_PER_S };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);

	char dir[400], paths[4][400];
	struct stat sb;
	new_dir(before, dir, sizeof(dir));
	assert_int_equal(lstat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(sb.st_uid, getuid());
	assert_int_equal(entries(dir, paths, 4), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lstat(paths[i], &sb), 0);
		assert_true(S_ISFIFO(sb.st_mode));
		assert_int_equal(sb.st_mode & 0077, 0); /* nobody else may open it */
	}

	struct attach_arg a[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		a[i] = (struct attach_arg){ .st = st, .end = calloc(1, ops->end_size),
					    .side = (enum tp_side)i, .p = p };
		assert_int_equal(pthread_create(&th[i], NULL, attach_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}
	assert_int_equal(stat(dir, &sb), 0); /* still there until both sides hold their fds */
	ops->unlink_names(st);
	assert_int_equal(stat(dir, &sb), -1);
	assert_int_equal(errno, ENOENT);

	char msg[64] = "ping", got[64];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ops->send(a[i].end, msg, sizeof(msg), NS_PER_S), 0);
		assert_int_equal(ops->recv(a[1 - i].end, got, sizeof(got), sizeof(got), NS_PER_S), sizeof(got));
		assert_string_equal(got, "ping");
	}
	for (int i = 0; i < 2; i++) {
		ops->detach(a[i].end);
		free(a[i].end);
	}
	ops->unlink_names(st); /* idempotent, as teardown repeats it */
	ops->teardown(st);
	free(st);
	assert_no_new_dirs(before);
}

/* Replace each FIFO with what an attacker might plant, attach side A, and return its result. */
static int attach_after_replacing(const char *before, const char *target, char *dir, size_t dir_len,
				  struct tp_err *err)
{
	const struct transport_ops *ops = fifo();
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
	assert_int_equal(ops->setup(st, &p, err), 0);
	char paths[4][400];
	new_dir(before, dir, dir_len);
	assert_int_equal(entries(dir, paths, 4), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(unlink(paths[i]), 0);
		if (target) {
			assert_int_equal(symlink(target, paths[i]), 0);
		} else {
			int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			assert_true(fd >= 0);
			close(fd);
		}
	}
	int rc = ops->attach(st, end, TP_SIDE_A, &p, err);
	ops->detach(end);
	ops->teardown(st);
	free(end);
	free(st);
	return rc;
}

/* A symlink where a FIFO was is refused with ELOOP; its target is never opened. */
static void test_symlink_is_not_followed(void **state)
{
	(void)state;
	char tdir[] = "/tmp/fifotest-XXXXXX", target[64], dir[400];
	assert_non_null(mkdtemp(tdir));
	snprintf(target, sizeof(target), "%s/target", tdir);
	assert_int_equal(mkfifo(target, 0600), 0); /* a FIFO: followed, the open would succeed */

	char *before = fifo_dirs();
	struct tp_err err = { { 0 } };
	assert_int_equal(attach_after_replacing(before, target, dir, sizeof(dir), &err), -ELOOP);
	assert_non_null(strstr(err.msg, dir));
	struct stat sb;
	assert_int_equal(lstat(dir, &sb), -1); /* teardown removed the directory and the symlinks */
	assert_int_equal(lstat(target, &sb), 0); /* but not what they pointed to */
	assert_true(S_ISFIFO(sb.st_mode));
	assert_no_new_dirs(before);

	unlink(target);
	rmdir(tdir);
}

/* A regular file where a FIFO was is opened without following anything, then refused. */
static void test_regular_file_is_refused(void **state)
{
	(void)state;
	char *before = fifo_dirs(), dir[400];
	struct tp_err err = { { 0 } };
	assert_int_equal(attach_after_replacing(before, NULL, dir, sizeof(dir), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not a FIFO"));
	assert_no_new_dirs(before);
}

/* Opening for writing with no reader fails (ENXIO) until the deadline: no hang, a reason. */
static void test_missing_peer_times_out(void **state)
{
	(void)state;
	const struct transport_ops *ops = fifo();
	char *before = fifo_dirs();
	void *st = calloc(1, ops->state_size), *end = calloc(1, ops->end_size);
	struct tp_params p = { .msg_bytes = 64, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	assert_int_equal(ops->setup(st, &p, &err), 0);
	assert_int_equal(ops->attach(st, end, TP_SIDE_B, &p, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "did not open"));
	ops->detach(end);
	ops->teardown(st);
	free(end);
	free(st);
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
	ops->unlink_names(st);
	ops->teardown(st);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, fd0_open);
	free(end);
	free(st);
}

int main(void)
{
	umask(022); /* the modes checked are the ones asked for */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_dir_removed_after_attach),
		cmocka_unit_test(test_symlink_is_not_followed),
		cmocka_unit_test(test_regular_file_is_refused),
		cmocka_unit_test(test_missing_peer_times_out),
		cmocka_unit_test(test_runs_leave_nothing),
		cmocka_unit_test(test_zeroed_state_is_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
