/* What the processes-vs-threads experiments share: bounded children, pinning, /proc figures, JSON. */
#ifndef IPCBENCH_MODEL_UTIL_H
#define IPCBENCH_MODEL_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "hist.h"

/**
 * Reap pid, waiting at most timeout_ns (a pidfd poll bounds the wait). On
 * timeout the child is killed with SIGKILL and reaped.
 * @return 0 with *status set, -ETIMEDOUT, or another negative errno.
 */
int mu_wait(pid_t pid, int *status, int64_t timeout_ns);

/** CLOCK_REALTIME now + timeout_ns, for the pthread calls that only take that clock. */
struct timespec mu_realtime_deadline(int64_t timeout_ns);

/** The n-th CPU (0-based) this process may run on, or -1 when there are fewer. */
int mu_allowed_cpu(int n);

/** How many CPUs this process may run on (at least 1). */
int mu_allowed_count(void);

/** True when deadline_ns has passed or the run was asked to stop (SIGINT/SIGTERM). */
bool mu_stop(int64_t deadline_ns);

/**
 * The value of "Field:" (kB in the file) from /proc/<pid>/<file>, in bytes;
 * pid 0 means self. Reads with a stack buffer, so it allocates nothing.
 * @return bytes, or -1 when the file or field is missing.
 */
int64_t mu_proc_bytes(pid_t pid, const char *file, const char *field);

/**
 * Resident bytes of thread t's stack block (stack, TLS, thread descriptor),
 * by mincore(); its reserved size in *reserved when not NULL. -1 when unknown.
 */
int64_t mu_stack_resident(pthread_t t, int64_t *reserved);

/**
 * Wait for n workers, threads (tids) or processes (pids), each by the same
 * deadline timeout_ns from now. 0 when every one ended well; else the first
 * failure: -ETIMEDOUT, or -ECHILD for a process that did not exit 0.
 */
int mu_join_workers(bool threads, pthread_t *tids, pid_t *pids, int n, int64_t timeout_ns);

/** {"p50", "p99", "mean", "n"} of h, in the histogram's unit. */
json_t *mu_hist_json(const struct hist *h);

/** A measured figure for JSON: rounded to 2 decimals; null when not finite. */
json_t *mu_num(double v);

/** The number at key in obj (integer or real), or NAN. */
double mu_get(const json_t *obj, const char *key);

/** The number at a path of keys ("a", "b", NULL), or NAN. */
double mu_path(const json_t *obj, ...) __attribute__((sentinel));

/** Format a byte count as 812 B, 12.5 KiB, 256 MiB (1024-based, as memory is quoted). */
const char *mu_fmt_bytes(double bytes, char *buf, size_t len);

#endif
