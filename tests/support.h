/* Test helpers: run the ipcbench binary, look for leftovers, build a case to run in-process. */
#ifndef IPCBENCH_TEST_SUPPORT_H
#define IPCBENCH_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "runner.h"

/**
 * Run the binary named by $IPCBENCH with args (NULL-terminated, without
 * argv[0]); stdout and stderr are captured into malloc'd strings (either
 * pointer may be NULL to discard). Killed after timeout_s.
 * @return the exit status; 128+N when killed by signal N; -1 when it timed out.
 */
int tool_run(const char *const *args, char **out, char **err, int timeout_s);

/** Like tool_run, but with extra environment entries ("NAME=value", NULL-terminated). */
int tool_run_env(const char *const *args, const char *const *env, char **out, char **err, int timeout_s);

/** Like tool_run, with the tool's open-file limit (soft RLIMIT_NOFILE) lowered to nofile. */
int tool_run_nofile(const char *const *args, long nofile, char **out, char **err, int timeout_s);

/**
 * Every name ipcbench could leave behind, one per line, sorted: entries named
 * ipcbench-* in /dev/shm, /dev/mqueue (seen through a private mount when it is
 * not mounted) and /tmp, and abstract Unix sockets @ipcbench-* in
 * /proc/net/unix. malloc'd.
 */
char *leftovers_snapshot(void);

/** Fail the test if a name appeared since before was taken and is still there 5 s later (other
 *  runs on the machine create names that soon go again); frees before. */
void assert_no_new_leftovers(char *before);

/** The children of pid (forked by any of its threads), in fork order, at most max; how many. */
int children_of(pid_t pid, pid_t *out, int max);

/** Is pid gone: no such process, or a zombie no one reaped? */
bool pid_gone(pid_t pid);

/** Remove dir and everything below it, going on past what cannot be removed. 0 when dir is gone, else -1. */
int remove_tree(const char *dir);

/** Count of lines in s. */
size_t count_lines(const char *s);

/** A case as the runner builds it: pinned to the first two allowed CPUs, 2 s timeout. */
struct case_spec test_case(const struct transport_ops *ops, enum pattern p, size_t size,
			   int64_t duration_ns);

#endif
