/* What one case is: a mechanism, a pattern, a size, and how long and where to run it. Shared by the runner and the sides. */
#ifndef IPCBENCH_CASE_H
#define IPCBENCH_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/transport.h"

/*
 * pingpong: A sends, B echoes, each round trip timed. stream: A sends back to
 * back, B receives. oneway: the pingpong exchange, but B times each message
 * from A's send stamp to its own receive (one clock on one host). fanin:
 * several senders stream into one receiver.
 */
enum pattern { PAT_PINGPONG = 0, PAT_STREAM = 1, PAT_ONEWAY = 2, PAT_FANIN = 3, PAT_COUNT };

const char *pattern_name(enum pattern p);

/** The transport_ops.patterns bit of a pattern. */
unsigned pattern_mask(enum pattern p);

/** Does ops run pattern p (its declared patterns, or the point-to-point ones when it declares none)? */
bool pattern_runs(const struct transport_ops *ops, enum pattern p);

struct run_link;

/* Everything one repetition needs to know. */
struct case_spec {
	const struct transport_ops *ops;
	enum pattern pattern;
	size_t msg_bytes;
	int64_t warmup_ns;
	int64_t duration_ns;
	/*
	 * Closed-loop pingpong of one pair: side A's span runs on past duration_ns
	 * until it has made min_round_trips, but not past max_duration_ns (0: the
	 * span is duration_ns). A host that slows down mid-row then costs time, not samples.
	 */
	uint64_t min_round_trips;
	int64_t max_duration_ns;
	int64_t timeout_ns; /* one blocking step (attach, send, receive) at most */
	int cpu[2];         /* CPU of side A and B; -1 leaves a side unpinned */
	const char *placement;     /* --placement: the relation of the two CPUs; NULL otherwise */
	const char *placement_why; /* why this host has no such pair of CPUs; NULL when it has one */
	bool verify_full;   /* stream: check every payload, not one in 64 */
	double rate_per_s;  /* pingpong: an open-loop sender at this rate; 0 is closed loop */
	double rate_frac;   /* --rate sweep: the rate as a share of the closed loop's, set before it runs */
	int senders;        /* fanin: senders into the one receiver */
	int pairs;          /* --pairs: independent pairs side by side, one common window (0 or 1: one) */
	struct run_link *link; /* the other side on another host (bench/peer/); NULL: both sides here */
};

/** The longest side A's timed span may run: max_duration_ns when it lets the span run on, else duration_ns. */
static inline int64_t case_longest_span_ns(const struct case_spec *c)
{
	return c->max_duration_ns > c->duration_ns ? c->max_duration_ns : c->duration_ns;
}

/* CPU one side used over its timed span: time on CPU and context switches. */
struct cpu_use {
	int64_t cpu_ns;   /* user + system */
	int64_t wall_ns;  /* the span it was measured over */
	int64_t vcsw;     /* voluntary context switches (it blocked) */
	int64_t ivcsw;    /* involuntary ones (it was preempted) */
};

#define RUN_MAX_LANES 64 /* --pairs, or fanin's senders */
#define RUN_MAX_CHILDREN (2 * RUN_MAX_LANES + 1)

/**
 * Zeroed memory for a mechanism's state, aligned to a page: a state struct may
 * put its fields on separate cache lines with _Alignas, which malloc's 16-byte
 * alignment would silently undo. NULL when out of memory; free() it.
 */
void *tp_state_alloc(size_t size);

#endif
