/*
 * The contract between the bench runner and one IPC mechanism: one operations
 * table per mechanism, one small file each. ipc/ holds the mechanisms the
 * kernel carries (pipes, FIFOs, sockets, mq, zero-copy handoffs, io_uring,
 * ZeroMQ); shm/ the shared-memory rings; threads/ the handoffs between two
 * threads of one process.
 */
#ifndef IPCBENCH_TRANSPORT_H
#define IPCBENCH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Life of one run, as the runner drives it:
 *
 *   setup(st)                      in the runner, once, before any side exists
 *   attach(st, end, side)          in each side (a forked process, or a thread for
 *                                  group "thread"), after that side pinned itself
 *   unlink_names(st)               in side A once both sides are attached
 *   send / recv ...                the timed loop
 *   detach(end)                    in each side, after both sides finished
 *   teardown(st)                   in the runner, after both sides are gone
 *
 * The runner allocates `st` (state_size bytes) and each side's `end` (end_size
 * bytes) zeroed, so a mechanism keeps no globals. For group "process" each side
 * works on its own copy of `st` after fork; for group "thread" both threads see
 * the same `st`, which they must only read.
 *
 * Any step may fail half-way: teardown and detach MUST be safe to call after a
 * failed or missing setup/attach, on zeroed or partly filled state. They must
 * not block.
 *
 * Errors are 0 or a negative errno. Setup and attach also fill `err` with one
 * line naming the object, the value, the limit and the fix; the runner shows it
 * as the row's reason. send and recv never format strings.
 */

/* Which end of the conversation: A times, B echoes (pingpong) or drains (stream). */
enum tp_side { TP_SIDE_A = 0, TP_SIDE_B = 1 };

/* Facts a mechanism declares; the runner and --list read them. */
enum tp_flags {
	TP_BOUNDARIES  = 1u << 0, /* one send arrives as one receive (datagram, message queue) */
	TP_CROSS_HOST  = 1u << 1, /* the same code works between two hosts */
	TP_FS_NAME     = 1u << 2, /* needs a name in a filesystem (e.g. a FIFO path) */
	TP_SPIN_ONLY   = 1u << 3, /* waits by busy-polling only: meaningless on one CPU */
	TP_SPINS_FIRST = 1u << 4, /* adaptive: spins a while before it sleeps, so a round trip between two
				     busy CPUs need not sleep; its floor is floor-cacheline, not floor-wake */
	TP_ZERO_COPY   = 1u << 5, /* the receiver checks each message where it lies (recv_loan), never
				     copying it out: a separate, labelled row ("checks in place") */
	TP_LOSSY       = 1u << 6, /* no flow control (UDP): a stream sender that outruns the receiver
				     loses messages; the row counts them and reports the loss as a
				     figure (as iperf3 does), failing only for anything else */
};

/*
 * Patterns, as a mask for transport_ops.patterns. 0 there means the
 * point-to-point ones; TP_FANIN (many senders into one receiver) only where
 * the mechanism declares it: it must take several side-A attaches on one
 * setup (tp_params.senders, .sender) and deliver all to side B.
 */
enum tp_patterns {
	TP_PINGPONG = 1u << 0,
	TP_STREAM   = 1u << 1,
	TP_ONEWAY   = 1u << 2,
	TP_FANIN    = 1u << 3,
	TP_POINT_TO_POINT = TP_PINGPONG | TP_STREAM | TP_ONEWAY,
};

/* A reason a setup or size is refused, shown verbatim as the row's reason. */
struct tp_err {
	char msg[256];
};

/* Fill err->msg printf-style; returns -code (code is a positive errno) for `return tp_fail(...)`. */
int tp_fail(struct tp_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Between two hosts (ipcbench serve and --peer, TP_CROSS_HOST only): each host
 * sets up and attaches its own side only. Addresses are numeric, IPv4 or IPv6.
 * Setup binds what this side needs on `here` (port 0) and sets port_here; the
 * runner carries it across, so the other host knows it as port_peer. Side A's
 * host sets up first: B's setup already knows A's port, A's attach B's.
 */
struct tp_remote {
	enum tp_side side;  /* the one side this host runs */
	char here[64];      /* this host's address facing the peer */
	char peer[64];      /* the other host's address */
	unsigned port_here; /* set by setup: where the other side connects or sends to; 0 for nowhere */
	unsigned port_peer; /* the other host's port_here; 0 while unknown */
};

/** A numeric address (tp_remote.here or .peer) and a port as a socket address; 0 or -EINVAL. */
int tp_remote_addr(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len);

/** The port a bound socket got; 0 when it cannot say. */
unsigned tp_bound_port(int fd);

/** Is the connected socket fd's other end at the numeric address host? */
bool tp_from_host(int fd, const char *host);

/* Per-run parameters the runner hands to setup. */
struct tp_params {
	size_t msg_bytes;   /* every message of this run has exactly this size */
	int64_t timeout_ns; /* how long one blocking step may take before it fails */
	unsigned senders;   /* fanin: how many side-A ends attach (0 or 1: one) */
	unsigned sender;    /* fanin: which of them this attach is, 0..senders-1 */
	/*
	 * The runner's watchdog bounds this side's waits (it ends a side that
	 * moves no message within timeout_ns), so a socket blocks plainly in
	 * the timed loop, as a pipe does: SO_RCVTIMEO would arm and cancel a
	 * kernel timer at every blocking wait. False (tests driving a mechanism
	 * directly): sockets bound each wait with SO_RCVTIMEO/SO_SNDTIMEO.
	 */
	bool watched;
	struct tp_remote *remote; /* the other side on another host; NULL: both here, over loopback */
};

struct transport_ops {
	const char *name;    /* the -m name, e.g. "pipe" */
	const char *group;   /* "process", "thread" or "floor" */
	const char *summary; /* one line for --list: what it is, socket types, wait strategy */
	unsigned flags;      /* enum tp_flags */
	int copies;          /* copies of the payload per message (user->kernel->user is 2) */
	unsigned patterns;   /* enum tp_patterns it can run; 0 means all */
	size_t fixed_size;   /* when non-zero, the only message size it runs (floor-cacheline) */
	size_t state_size;   /* bytes of shared setup state */
	size_t end_size;     /* bytes of per-side state */

	/*
	 * Largest message this host carries, read from the kernel at run time;
	 * SIZE_MAX when unlimited. When limited, why->msg names the limit, its
	 * value and how to raise it. Optional (NULL means unlimited).
	 */
	size_t (*max_msg)(struct tp_err *why);

	/* Create what both sides need (fds, names, mappings). Runs before fork. */
	int (*setup)(void *st, const struct tp_params *p, struct tp_err *err);

	/* Take this side's end; close or ignore the other side's. May block until
	 * the peer attaches, but never past the timeout. */
	int (*attach)(void *st, void *end, enum tp_side side, const struct tp_params *p,
		      struct tp_err *err);

	/* Remove every name in a filesystem or namespace, now that both sides hold
	 * the object. Optional. Must be idempotent: teardown may repeat it. */
	void (*unlink_names)(void *st);

	/*
	 * Send exactly len bytes as one message; loop over short writes. Blocks at
	 * most timeout_ns in all; a mechanism reads the clock only when it has to
	 * wait, so the timed loop pays for no deadline it does not use. Returns 0,
	 * -ETIMEDOUT, -EPIPE when the peer is gone, or another negative errno.
	 */
	int (*send)(void *end, const void *buf, size_t len, int64_t timeout_ns);

	/*
	 * Optional: how many send buffers a sender rotates through when it sends
	 * again before the peer replied (stream). The mechanism may still read a
	 * buffer after send returned (vmsplice() leaves the sender's pages in a
	 * pipe; a peer pulls them with process_vm_readv()), until n - 1 further
	 * sends have returned. A reply proves the peer took the message, so
	 * pingpong needs one. NULL means 1: the buffer is free once send returns.
	 * Called in side A after attach.
	 */
	unsigned (*send_buffers)(void *end);

	/*
	 * Receive one message of len bytes into buf (the caller's own buffer; cap
	 * bytes available, cap >= len). Stream kinds loop until len bytes arrived;
	 * message kinds return what one message held. Blocks at most timeout_ns.
	 * Returns the bytes received, 0 at end of stream (peer gone), -ETIMEDOUT,
	 * or another negative errno.
	 */
	ssize_t (*recv)(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns);

	/*
	 * Zero-copy sending (optional; both or neither). When set, the runner
	 * sends through them instead of send: send_loan lends the side a buffer of
	 * at least len bytes in *buf, one the peer will read the message from;
	 * the runner writes the whole message there (the producer writing its
	 * message once), then send_commit hands exactly that buffer, holding len
	 * bytes (at most the loan's), to the peer. One loan is out at a time, and
	 * every loan is committed before the next. send_loan may block at most timeout_ns while
	 * no buffer is free (the peer still holds them all); send_commit may block
	 * at most timeout_ns (a full socket). Both return 0, -ETIMEDOUT, -EPIPE
	 * when the peer is gone, or another negative errno; after an error the
	 * end is only detached.
	 */
	int (*send_loan)(void *end, size_t len, int64_t timeout_ns, void **buf);
	int (*send_commit)(void *end, const void *buf, size_t len, int64_t timeout_ns);

	/*
	 * Zero-copy receiving (optional; both or neither, with TP_ZERO_COPY). When
	 * set, the runner receives through them instead of recv: recv_loan waits
	 * for the next message (len bytes expected; it may hold another length,
	 * which the caller's check counts) and sets *msg to where it lies, readable
	 * until recv_release(end, msg). The runner checks it there, in place, and
	 * releases it before it receives the next one; a mechanism may refuse a
	 * release out of order. Blocks at most timeout_ns. recv_loan returns the
	 * message's length, 0 when the peer is gone, -ETIMEDOUT, -EPROTO when the
	 * peer sent something no sender of this mechanism would (a bad index or
	 * length, an unsealed memfd), or another negative errno. recv_release
	 * returns 0, -EINVAL for a message not held, or another negative errno
	 * (-EPIPE: the peer is gone); it waits at most tp_params.timeout_ns (a
	 * mechanism that hands buffers back through a socket).
	 */
	ssize_t (*recv_loan)(void *end, size_t len, int64_t timeout_ns, const void **msg);
	int (*recv_release)(void *end, const void *msg);

	void (*detach)(void *end);
	void (*teardown)(void *st);

	/*
	 * Optional, for rows with no peer (floor-memcpy): move len bytes from src
	 * to dst once, in the calling thread. When set, the runner skips attach,
	 * send and recv and times repeated calls as a stream row on one CPU.
	 */
	void (*solo)(void *dst, const void *src, size_t len);
};

#endif
