/* Runs one case (mechanism x pattern x size) once: two pinned sides, one timed loop. */
#ifndef IPCBENCH_RUNNER_H
#define IPCBENCH_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "case.h"
#include "hist.h"
#include "msg.h"

/* One lane of a run of several (one pair of --pairs, or one fanin sender). */
struct lane_result {
	double msgs_per_s; /* its round trips (messages) per second */
	double p50_ns, p99_ns;
};

/* What one repetition measured. */
struct rep_result {
	bool ok;
	char reason[256];
	struct hist rtt;    /* pingpong: every timed round trip, ns; oneway: every send-to-receive time */
	struct hist intended; /* pingpong with a rate: each round trip from its intended send time */
	uint64_t msgs;      /* timed messages (pingpong: round trips) */
	double elapsed_s;   /* the timed span: A's for pingpong, B's first-to-last for stream */
	struct cpu_use cpu[2]; /* per side; a solo row fills side B only */
	int lanes;             /* lanes that timed messages: pairs (or senders) */
	struct lane_result lane[RUN_MAX_LANES];
	struct msg_errors errors;
};

/*
 * Why a mechanism cannot run this case here, in reason; false when it can.
 * Checks the size against the kernel's limit and spin-only kinds on one CPU.
 */
bool case_unsupported(const struct case_spec *c, char *reason, size_t reason_len);

/*
 * Run the case once in fresh child processes. Never blocks past the case's
 * deadline; a dead or stuck side is a failed result with a reason.
 * @return 0, or -EINTR when SIGINT/SIGTERM arrived (the children are gone).
 */
int run_once(const struct case_spec *c, struct rep_result *out);

/**
 * fork() for every child of ipcbench (a run's sides, an experiment's helpers):
 * stdio is flushed first, so no buffer is written twice; in the child, it dies
 * with its parent (PR_SET_PDEATHSIG) and takes default SIGINT/SIGTERM.
 * Returns what fork() returns.
 */
pid_t fork_child(void);

/* Set by the SIGINT/SIGTERM handler; runner loops stop when it is non-zero. */
extern volatile int runner_stop_signal;

/** Install the handlers that set runner_stop_signal, and ignore SIGPIPE. */
void runner_install_signals(void);

#endif
