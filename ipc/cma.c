/* cma: the receiver pulls each message out of the sender's memory with process_vm_readv(). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../bench/host.h"
#include "fdio.h"
#include "transport.h"

#define CMA_YAMA_PATH "/proc/sys/kernel/yama/ptrace_scope"
#define CMA_HELLO UINT64_C(0x434d4168656c6c6f) /* "CMAhello" */
#define CMA_READY UINT64_C(0x434d417265616479) /* "CMAready" */
#define CMA_CANARY UINT64_C(0x63616e6172792121)
/*
 * The sender's buffer must stay as it is until the receiver has pulled it:
 * the receiver acknowledges each message, and send returns only while at most
 * CMA_BUFFERS - 1 are unacknowledged. A stream sender rotates through that
 * many buffers (send_buffers), so it stamps the next one while the receiver
 * pulls the last.
 */
#define CMA_BUFFERS 2

/* Where a message lies in the sender's memory; the small message on the pipe. */
struct cma_desc {
	uint64_t addr;
	uint64_t len;
	uint64_t seq;
};

/* Each side's first two messages: who it is and a word to probe, then that it let the peer in. */
struct cma_hello {
	uint64_t magic;
	uint64_t pid;
	uint64_t canary_addr;
};

/* One direction: descriptors from the sender, acknowledgements back. */
struct cma_dir {
	int desc[2]; /* [0] read end (receiver), [1] write end (sender) */
	int ack[2];  /* [0] read end (sender), [1] write end (receiver) */
};

/* cma_state holds the four pipes until each side keeps its four ends. */
struct cma_state {
	struct cma_dir dir[2]; /* by sending side */
	int opened;
};

/* cma_end is one side's ends, its peer, and the counts that pair descriptors with acknowledgements. */
struct cma_end {
	int tx_desc, tx_ack; /* this side's messages */
	int rx_desc, rx_ack; /* the peer's */
	pid_t peer;
	uint64_t tx_seq, tx_acked, rx_seq;
	uint64_t canary; /* the peer reads it in attach, to learn whether it may read us at all */
};

/* Does this process hold CAP_SYS_PTRACE (which ptrace_scope 2 asks for)? */
static int cma_has_cap_ptrace(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return (data[CAP_SYS_PTRACE / 32].effective >> (CAP_SYS_PTRACE % 32)) & 1;
}

static size_t cma_max_msg(struct tp_err *why)
{
	int64_t scope = host_read_limit(CMA_YAMA_PATH); /* -1: no Yama, plain ptrace rules */
	if (scope >= 3) {
		tp_fail(why, EPERM, "what cma can carry here, none: it needs ptrace access to its peer, and "
			"kernel.yama.ptrace_scope=3 forbids it until a reboot (boot with it at 0 or 1)");
		return 0;
	}
	if (scope == 2 && !cma_has_cap_ptrace()) {
		tp_fail(why, EPERM, "what cma can carry here, none: kernel.yama.ptrace_scope=2 allows "
			"process_vm_readv() only with CAP_SYS_PTRACE; run as root or sysctl kernel.yama.ptrace_scope=1");
		return 0;
	}
	/* Reading our own memory is always allowed: this only asks whether the call exists here. */
	char from = 1, to = 0;
	struct iovec local = { &to, 1 }, remote = { &from, 1 };
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != 1) {
		tp_fail(why, errno, "what cma can carry here, none: process_vm_readv() fails: %m (%s)",
			errno == ENOSYS ? "a kernel without CONFIG_CROSS_MEMORY_ATTACH" : "a seccomp filter?");
		return 0;
	}
	return SIZE_MAX;
}

static void cma_close_all(struct cma_state *cs)
{
	if (!cs->opened)
		return;
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < 2; i++) {
			fd_close(&cs->dir[d].desc[i]);
			fd_close(&cs->dir[d].ack[i]);
		}
}

static int cma_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct cma_state *cs = st;
	(void)p;
	memset(cs->dir, -1, sizeof(cs->dir));
	cs->opened = 1;
	for (int d = 0; d < 2; d++)
		if (pipe2(cs->dir[d].desc, O_NONBLOCK | O_CLOEXEC) || pipe2(cs->dir[d].ack, O_NONBLOCK | O_CLOEXEC))
			return tp_fail(err, errno, "cma: pipe2() failed: %m; raise the open-file limit (ulimit -n)");
	return 0;
}

/* Send our hello (or ready) and take the peer's; the pipes are still non-blocking, so this waits in poll. */
static int cma_greet(struct cma_end *ce, uint64_t magic, struct cma_hello *peer, int64_t timeout_ns)
{
	struct cma_hello me = { .magic = magic, .pid = (uint64_t)getpid(), .canary_addr = (uintptr_t)&ce->canary };
	int rc = fd_send_all(ce->tx_desc, &me, sizeof(me), timeout_ns);
	if (rc)
		return rc;
	ssize_t n = fd_recv_all(ce->rx_desc, peer, sizeof(*peer), timeout_ns);
	if (n <= 0)
		return n ? (int)n : -EPIPE;
	return peer->magic == magic ? 0 : -EPROTO;
}

static int cma_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct cma_state *cs = st;
	struct cma_end *ce = end;
	struct cma_dir *out = &cs->dir[side], *in = &cs->dir[1 - side];
	ce->tx_desc = out->desc[1], ce->tx_ack = out->ack[0];
	ce->rx_desc = in->desc[0], ce->rx_ack = in->ack[1];
	out->desc[1] = out->ack[0] = in->desc[0] = in->ack[1] = -1;
	cma_close_all(cs); /* the peer's ends: its death reads as end of stream */
	ce->canary = CMA_CANARY;

	struct cma_hello hello, ready;
	int rc = cma_greet(ce, CMA_HELLO, &hello, p->timeout_ns);
	if (rc)
		return tp_fail(err, -rc, "cma: no hello from the peer: %s", strerror(-rc));
	ce->peer = (pid_t)hello.pid;
	/*
	 * Yama's ptrace_scope 1 lets a process read only its descendants, and the
	 * sides are siblings: each names the other as its ptracer. Harmless elsewhere.
	 */
	if (host_read_limit(CMA_YAMA_PATH) == 1 && prctl(PR_SET_PTRACER, (unsigned long)ce->peer, 0, 0, 0))
		return tp_fail(err, errno, "cma: prctl(PR_SET_PTRACER, %d) failed: %m", (int)ce->peer);
	if ((rc = cma_greet(ce, CMA_READY, &ready, p->timeout_ns)))
		return tp_fail(err, -rc, "cma: the peer did not get ready: %s", strerror(-rc));

	uint64_t word = 0;
	struct iovec local = { &word, sizeof(word) }, remote = { (void *)(uintptr_t)hello.canary_addr, sizeof(word) };
	errno = 0;
	if (process_vm_readv(ce->peer, &local, 1, &remote, 1, 0) != sizeof(word) || word != CMA_CANARY) {
		int e = errno ? errno : EPROTO;
		long long scope = (long long)host_read_limit(CMA_YAMA_PATH);
		return tp_fail(err, e, "cma: process_vm_readv() of the peer (pid %d) failed: %s; it needs ptrace "
			       "access: the same user, a dumpable peer, kernel.yama.ptrace_scope 0 or 1 (now %lld; "
			       "-1: no Yama), or CAP_SYS_PTRACE", (int)ce->peer, strerror(e), scope);
	}
	int fds[4] = { ce->tx_desc, ce->tx_ack, ce->rx_desc, ce->rx_ack };
	for (int i = 0; i < 4; i++)
		if ((rc = fd_blocking(fds[i], p)))
			return tp_fail(err, -rc, "cma: fcntl(F_SETFL) failed: %s", strerror(-rc));
	return 0;
}

static unsigned cma_send_buffers(void *end)
{
	(void)end;
	return CMA_BUFFERS;
}

/* Tell the peer where the message is; return once all but CMA_BUFFERS - 1 were pulled. */
static int cma_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct cma_end *ce = end;
	struct cma_desc d = { .addr = (uintptr_t)buf, .len = len, .seq = ce->tx_seq };
	int rc = fd_send_all(ce->tx_desc, &d, sizeof(d), timeout_ns); /* under PIPE_BUF: one write */
	if (rc)
		return rc;
	ce->tx_seq++;
	while (ce->tx_seq - ce->tx_acked > CMA_BUFFERS - 1) {
		uint64_t ack;
		ssize_t n = fd_recv_all(ce->tx_ack, &ack, sizeof(ack), timeout_ns);
		if (n <= 0)
			return n ? (int)n : -EPIPE;
		if (ack != ce->tx_acked++)
			return -EPROTO;
	}
	return 0;
}

/* Read where the next message is, pull it into buf, and say it may be reused. */
static ssize_t cma_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct cma_end *ce = end;
	struct cma_desc d;
	(void)len;
	ssize_t n = fd_recv_all(ce->rx_desc, &d, sizeof(d), timeout_ns);
	if (n <= 0)
		return n;
	if (d.seq != ce->rx_seq++)
		return -EPROTO;
	for (size_t got = 0; d.len <= cap && got < d.len;) {
		struct iovec local = { (char *)buf + got, d.len - got };
		struct iovec remote = { (void *)(uintptr_t)(d.addr + got), d.len - got };
		ssize_t r = sys_process_vm_readv(ce->peer, &local, 1, &remote, 1);
		if (r <= 0)
			return r == 0 ? -EIO : errno == ESRCH ? 0 : -errno; /* ESRCH: the peer is gone */
		got += (size_t)r;
	}
	int rc = fd_send_all(ce->rx_ack, &d.seq, sizeof(d.seq), timeout_ns);
	if (rc)
		return rc;
	return d.len <= cap ? (ssize_t)d.len : -EMSGSIZE;
}

static void cma_detach(void *end)
{
	struct cma_end *ce = end;
	fd_close(&ce->tx_desc);
	fd_close(&ce->tx_ack);
	fd_close(&ce->rx_desc);
	fd_close(&ce->rx_ack);
}

static void cma_teardown(void *st)
{
	cma_close_all(st);
}

const struct transport_ops cma_ops = {
	.name = "cma",
	.group = "process",
	.summary = "cross-memory attach: B pulls each message out of A's buffer with process_vm_readv() (the "
		   "one copy), told where by a 24 B descriptor on a pipe, and acknowledges it on another; needs "
		   "ptrace access to the peer (same user; kernel.yama.ptrace_scope <= 1, or 2 with "
		   "CAP_SYS_PTRACE; Linux 3.2+); blocking pipe read()/write(), the watchdog bounds them",
	.flags = TP_BOUNDARIES,
	.copies = 1,
	.state_size = sizeof(struct cma_state),
	.end_size = sizeof(struct cma_end),
	.max_msg = cma_max_msg,
	.setup = cma_setup,
	.attach = cma_attach,
	.send = cma_send,
	.send_buffers = cma_send_buffers,
	.recv = cma_recv,
	.detach = cma_detach,
	.teardown = cma_teardown,
};
