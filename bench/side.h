/* What the two sides of one run share, and the loop each side runs. Private to the runner. */
#ifndef IPCBENCH_SIDE_H
#define IPCBENCH_SIDE_H

#include <stdatomic.h>

#include "case.h"
#include "hist.h"
#include "msg.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
	       "run_ctl lives in shared memory: its atomics must be lock-free");

#define COUNT_UNSET UINT64_MAX

/* One side's report, written by that side only. */
struct side_report {
	int failed;
	char reason[256];
	struct msg_errors errors;
	uint64_t msgs;
	int64_t t_first_ns; /* start of the timed span */
	int64_t t_last_ns;  /* end of the timed span */
	struct cpu_use cpu; /* this side's CPU over its timed span */
};

/*
 * Shared by both sides (an anonymous shared mapping, so it works for processes
 * and threads alike). The message counts are set by A before it sends the
 * message that reaches them, so B sees them when that message arrives.
 */
struct run_ctl {
	_Alignas(128) _Atomic uint64_t warm_end;  /* stream: count of the last warmup message */
	_Alignas(128) _Atomic uint64_t end_count; /* count of the last message of the run */
	_Alignas(128) _Atomic int attached[2];
	_Atomic int finished[2];
	struct side_report side[2];
	/* Messages each side has moved, for the runner's watchdog; a line each, written by that side only. */
	struct {
		_Alignas(128) _Atomic uint64_t msgs;
	} progress[2];
	struct hist rtt;      /* side A, pingpong (side B, oneway) */
	struct hist intended; /* side A, pingpong with a rate: from each intended send time */
	/*
	 * oneway: A's clock at the send of message n, in slot n % 2, published
	 * with n + 1 once the send returned. B reads slot n after it echoed n;
	 * A cannot reach n + 2 before B echoed n + 1, so two slots suffice.
	 */
	_Alignas(128) _Atomic int64_t sent_ns[2];
	_Atomic uint64_t sent_seq;
	/*
	 * A run of several lanes (--pairs: a pair each; fanin: a sender each, the
	 * one receiver in lane 0) has a control block per lane in one mapping.
	 */
	int lane, lanes;
	struct run_ctl *all; /* lane 0's block: the array of them */
	_Alignas(128) _Atomic int gate_ready;   /* lane 0: senders that finished their warmup */
	_Atomic int64_t gate_start_ns;          /* lane 0: when every lane's timed span starts */
	/*
	 * The other side on another host (case_spec.link, bench/peer/): a side
	 * that raises a flag or sets a count writes to notify_fd (an eventfd),
	 * and its runner carries the change across. Before A sends the message
	 * that reaches a count, it waits until B's host has it (seen_*).
	 */
	int linked;
	int notify_fd;
	_Alignas(128) _Atomic uint64_t seen_warm_end;
	_Atomic uint64_t seen_end_count;
};

/* The sequence numbers of fanin sender i begin at i << FANIN_SEQ_SHIFT, so the receiver tells senders apart. */
#define FANIN_SEQ_SHIFT 48

/*
 * Run one side: attach, meet the peer, the pattern's loop, meet again, detach.
 * Writes ctl->side[side]. Returns 0 or a negative errno.
 */
int side_run(const struct case_spec *c, struct run_ctl *ctl, void *st, enum tp_side side);

/* Run a solo row (no peer) on the calling thread; writes ctl->side[TP_SIDE_B]. */
int side_run_solo(const struct case_spec *c, struct run_ctl *ctl);

#endif
