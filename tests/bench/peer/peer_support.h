/* Helpers of the serve/--peer tests: a server in the background, any command with a deadline. */
#ifndef IPCBENCH_TEST_PEER_SUPPORT_H
#define IPCBENCH_TEST_PEER_SUPPORT_H

#include <stdbool.h>
#include <sys/types.h>

/* A server in the background, its stderr in a memfd. */
struct server_proc {
	pid_t pid;
	int log;       /* memfd holding its stderr */
	unsigned port; /* from its "listening on ADDR:PORT" line */
};

/**
 * Run argv (argv[0] found on PATH; "$IPCBENCH" stands for the tool) in the
 * background, dying with the test, and wait up to 10 s for its listening line.
 * 0, or -1 when it exited or never said where it listens.
 */
int server_start(struct server_proc *s, const char *const *argv);

/** Its exit status (128+N for signal N), waiting at most timeout_ms; -1 after killing it at the deadline. */
int server_wait(struct server_proc *s, int timeout_ms);

/** Kill (SIGKILL) and reap it if it still runs; close its log. Safe to repeat. */
void server_stop(struct server_proc *s);

/** Everything it wrote to stderr so far, malloc'd. */
char *server_log(const struct server_proc *s);

/** Run argv to its end (killed after timeout_s), stdout and stderr into malloc'd strings (NULL: dropped). Exit status, 128+N, or -1. */
int cmd_run(const char *const *argv, char **out, char **err, int timeout_s);

/** Start argv in the background (stdout and stderr to /dev/null); its pid. */
pid_t cmd_start(const char *const *argv);

#endif
