/* ipc/fdio.h and ipc/sys_inline.h: whole messages from pieces, ends, errors and waits, both ways of calling. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ipc/fdio.h"
#include "support.h"
#include "ipc/sys_inline.h"

#define MS (NS_PER_S / 1000)
#define LEN 4096

/* Each test runs once with the calls inline and once through the C library. */
static int inline_calls(void **state)
{
	(void)state;
	sys_via_libc = false;
	return 0;
}

static int libc_calls(void **state)
{
	(void)state;
	sys_via_libc = true;
	return 0;
}

static void fill(unsigned char *buf, size_t len, unsigned char seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 13);
}

/* A message written in three pieces, 5 ms apart, arrives whole through fd_recv_all. */
static void test_recv_all_joins_pieces(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	unsigned char sent[LEN], got[LEN];
	fill(sent, LEN, 7);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		const struct timespec gap = { 0, 5 * MS };
		size_t cut[] = { 0, 100, 3000, LEN };
		for (int i = 0; i < 3; i++) {
			if (write(fds[1], sent + cut[i], cut[i + 1] - cut[i]) != (ssize_t)(cut[i + 1] - cut[i]))
				_exit(1);
			nanosleep(&gap, NULL);
		}
		_exit(0);
	}
	close(fds[1]);
	memset(got, 0, LEN);
	assert_int_equal(fd_recv_all(fds[0], got, LEN, 5 * NS_PER_S), LEN);
	assert_memory_equal(got, sent, LEN);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the writer is gone: end of stream, before a byte or after some */
	assert_int_equal(fd_recv_all(fds[0], got, LEN, 5 * NS_PER_S), 0);
	close(fds[0]);
}

/* End of stream in the middle of a message reads as none: 0. */
static void test_recv_all_short_stream(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	unsigned char buf[LEN];
	fill(buf, 100, 1);
	assert_int_equal(sys_write(fds[1], buf, 100), 100);
	close(fds[1]);
	assert_int_equal(fd_recv_all(fds[0], buf, LEN, 5 * NS_PER_S), 0);
	close(fds[0]);
}

/* Nothing to send returns at once; a pipe nobody reads is -EPIPE. */
static void test_send_all_ends(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	unsigned char buf[LEN];
	fill(buf, LEN, 3);
	assert_int_equal(fd_send_all(fds[1], buf, 0, 5 * NS_PER_S), 0);
	close(fds[0]);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	assert_int_equal(fd_send_all(fds[1], buf, LEN, 5 * NS_PER_S), -EPIPE);
	sigaction(SIGPIPE, &old, NULL);
	close(fds[1]);
}

/* A non-blocking fd with nothing to read waits in poll() until the deadline: -ETIMEDOUT. */
static void test_recv_all_times_out(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	unsigned char buf[64];
	assert_int_equal(fd_recv_all(fds[0], buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
	/* half a message, then nothing: still a timeout, not a short message */
	assert_int_equal(sys_write(fds[1], buf, 10), 10);
	assert_int_equal(fd_recv_all(fds[0], buf, sizeof(buf), 20 * MS), -ETIMEDOUT);
	close(fds[0]);
	close(fds[1]);
}

/* Records: one whole, one longer than the buffer (-EMSGSIZE), and a closed peer (0). */
static void test_msg_records(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	unsigned char sent[LEN], got[LEN];
	fill(sent, LEN, 9);
	assert_int_equal(fd_send_msg(sv[0], sent, 300, 5 * NS_PER_S), 0);
	assert_int_equal(fd_recv_msg(sv[1], got, LEN, 5 * NS_PER_S), 300);
	assert_memory_equal(got, sent, 300);
	assert_int_equal(fd_send_msg(sv[0], sent, LEN, 5 * NS_PER_S), 0);
	assert_int_equal(fd_recv_msg(sv[1], got, 100, 5 * NS_PER_S), -EMSGSIZE);
	close(sv[0]);
	assert_int_equal(fd_recv_msg(sv[1], got, LEN, 5 * NS_PER_S), 0);
	close(sv[1]);
}

/* A failed call is -1 with errno set, whichever way it was made. */
static void test_errno(void **state)
{
	(void)state;
	unsigned char buf[8];
	errno = 0;
	assert_int_equal(sys_read(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(sys_write(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fd_recv_all(-1, buf, sizeof(buf), MS), -EBADF);
}

#define BOTH(t) cmocka_unit_test_setup(t, inline_calls), cmocka_unit_test_setup(t, libc_calls)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_recv_all_joins_pieces), BOTH(test_recv_all_short_stream), BOTH(test_send_all_ends),
		BOTH(test_recv_all_times_out),    BOTH(test_msg_records),	    BOTH(test_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
