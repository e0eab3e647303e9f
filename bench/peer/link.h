/* One run with its other side on another host: what the runner calls around the side it forks here. */
#ifndef IPCBENCH_PEER_LINK_H
#define IPCBENCH_PEER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "side.h"

/*
 * The runner of each host calls, for a run whose case has a link:
 *
 *   setup of its own side (tp_params.remote = &link->remote)
 *   link_open     A's host: sends the case, takes B's port; B's host: answers ready or refused
 *   fork of its own side only, then link_relay whenever notify_fd or the control fd is readable
 *   link_close    after its side ended: B's report goes to A's host, into run_ctl.side[B]
 *
 * link_relay carries what the sides share in run_ctl: each side's attached and
 * finished flags both ways, and A's counts (warm_end, end_count) to B's host,
 * which answers with seen_* once its side B can see them.
 */
struct run_link {
	enum tp_side here;       /* the side this host runs */
	struct tp_remote remote; /* the data connection's addresses and ports */
	int fd;                  /* the control connection, non-blocking; -1 once it broke */
	char peer_name[160];     /* e.g. "side B on host-b (10.0.0.2)", for reasons */
	bool send_cpu;           /* A's host: the case names B's CPU (--pin); otherwise B's host picks */
	char broke[200];         /* why the control connection broke, once it has */
	/* One run's state: what crossed already, and the other side's report once it came. */
	int sent_attached, sent_finished;
	uint64_t sent_warm_end, sent_end_count;
	bool have_report;
	bool report_early;       /* it came mid-run: B failed there first */
	struct side_report report;
};

/** The data connection's addresses of c's run, for tp_params; NULL when both sides are here. */
struct tp_remote *run_link_remote(struct run_link *l);

/**
 * After this host's setup, which returned setup_rc (setup_why: its reason):
 * agree the run with the other host. 0, or a negative errno with one line in
 * reason (A's host: B's host refused, or the connection broke).
 */
int link_open(struct run_link *l, const struct case_spec *c, int setup_rc, const char *setup_why, char *reason,
	      size_t reason_len);

/**
 * Carry what changed in ctl across, and take in what arrived (never waits
 * for more than one message already under way). 0, or a negative errno when
 * the other side failed or the connection broke: the runner ends its side.
 */
int link_relay(struct run_link *l, struct run_ctl *ctl);

/**
 * After this host's side ended (failed: it did not finish well): A's host
 * waits (bounded) for B's report and puts it in ctl->side[TP_SIDE_B]; B's
 * host sends it. A link that broke gives side B a failed report.
 * @return true on A's host when B failed first (its report came mid-run) or
 * the connection broke: then B's reason is the run's.
 */
bool link_close(struct run_link *l, struct run_ctl *ctl, int64_t timeout_ns, bool failed);

#endif
