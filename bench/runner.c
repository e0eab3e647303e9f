/* Forks the sides of one run, watches them against a deadline, and collects what they measured. */
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "peer/link.h"
#include "side.h"
#include "topology.h"

volatile int runner_stop_signal;

static void on_stop_signal(int sig)
{
	runner_stop_signal = sig;
}

void runner_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll must wake up */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);     /* a dead peer is EPIPE, handled */
}

/* Why a run with its other side on another host cannot be this case; NULL when it can. */
static const char *remote_unsupported(const struct case_spec *c)
{
	if (!(c->ops->flags & TP_CROSS_HOST) || strcmp(c->ops->group, "process") != 0)
		return "works on one host only (--list: hosts no); between hosts: tcp, zmq-tcp, udp";
	if (c->pattern != PAT_PINGPONG && c->pattern != PAT_STREAM)
		return "runs pingpong and stream between hosts: oneway needs one clock, fanin one host";
	if (c->pairs > 1)
		return "runs one pair between hosts (no --pairs)";
	return NULL;
}

bool case_unsupported(const struct case_spec *c, char *reason, size_t reason_len)
{
	const struct transport_ops *ops = c->ops;
	const char *remote_why = c->link ? remote_unsupported(c) : NULL;
	if (remote_why) {
		snprintf(reason, reason_len, "%s %s", ops->name, remote_why);
		return true;
	}
	if (c->placement_why) {
		snprintf(reason, reason_len, "placement %s: %s", c->placement, c->placement_why);
		return true;
	}
	if (c->pattern == PAT_FANIN && !pattern_runs(ops, PAT_FANIN)) {
		snprintf(reason, reason_len, "%s is point to point (one sender, one receiver): it cannot carry "
			 "several senders into one receiver", ops->name);
		return true;
	}
	if (c->pattern == PAT_FANIN && (ops->solo || strcmp(ops->group, "process") != 0)) {
		snprintf(reason, reason_len, "fanin runs each sender as a process of its own; %s is between threads "
			 "of one process", ops->name);
		return true;
	}
	if (c->pattern == PAT_FANIN && c->msg_bytes < sizeof(struct msg_hdr)) {
		snprintf(reason, reason_len, "fanin needs the %zu B header that names each message's sender",
			 sizeof(struct msg_hdr));
		return true;
	}
	if (!pattern_runs(ops, c->pattern)) {
		snprintf(reason, reason_len, "%s does not run the %s pattern", ops->name,
			 pattern_name(c->pattern));
		return true;
	}
	if ((ops->flags & TP_SPIN_ONLY) && c->cpu[0] >= 0 && c->cpu[0] == c->cpu[1]) {
		snprintf(reason, reason_len, "needs two CPUs: both sides pinned to CPU %d and %s only spins",
			 c->cpu[0], ops->name);
		return true;
	}
	if ((ops->flags & TP_SPIN_ONLY) && (c->cpu[0] < 0 || c->cpu[1] < 0)) {
		snprintf(reason, reason_len, "needs two CPUs: unpinned, the scheduler may put both sides on one CPU, "
			 "where %s, which only spins, measures time slices; pin them (--pin A,B)", ops->name);
		return true;
	}
	if (ops->max_msg) {
		struct tp_err why = { { 0 } };
		size_t max = ops->max_msg(&why);
		if (c->msg_bytes > max) {
			snprintf(reason, reason_len, "%zu B exceeds %s", c->msg_bytes,
				 why.msg[0] ? why.msg : "this mechanism's maximum message size");
			return true;
		}
	}
	return false;
}

pid_t fork_child(void)
{
	pid_t parent = getpid();
	fflush(NULL); /* a child must not flush its parent's buffers a second time */
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the parent died before prctl took effect */
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return 0;
}

static void note_failure(struct side_report *rep, const char *fmt, const char *arg)
{
	if (rep->failed)
		return;
	snprintf(rep->reason, sizeof(rep->reason), fmt, arg);
	rep->failed = 1;
}

/* Both sides as two threads of this (child) process. */
struct thread_arg {
	const struct case_spec *c;
	struct run_ctl *ctl;
	void *st;
	enum tp_side side;
};

static void *side_thread(void *p)
{
	struct thread_arg *a = p;
	if (topology_pin_thread(a->c->cpu[a->side]))
		note_failure(&a->ctl->side[a->side], "cannot pin %s to its CPU", "side B");
	else
		side_run(a->c, a->ctl, a->st, a->side);
	return NULL;
}

/* The body of the one child that hosts a thread-group or solo run. */
static int host_threads(const struct case_spec *c, struct run_ctl *ctl)
{
	/* Pin first, so helper threads a mechanism creates in setup share side A's CPU. */
	if (topology_pin_thread(c->cpu[0])) {
		note_failure(&ctl->side[TP_SIDE_A], "cannot pin %s to its CPU", "side A");
		return 1;
	}
	if (c->ops->solo)
		return side_run_solo(c, ctl) ? 1 : 0;
	void *st = tp_state_alloc(c->ops->state_size);
	struct tp_params p = { .msg_bytes = c->msg_bytes, .timeout_ns = c->timeout_ns };
	struct tp_err err = { { 0 } };
	int rc = st ? c->ops->setup(st, &p, &err) : -ENOMEM;
	if (rc) {
		note_failure(&ctl->side[TP_SIDE_A], "setup: %s", err.msg[0] ? err.msg : strerror(-rc));
	} else {
		struct thread_arg b = { c, ctl, st, TP_SIDE_B };
		pthread_t tb;
		if (pthread_create(&tb, NULL, side_thread, &b)) {
			note_failure(&ctl->side[TP_SIDE_A], "%s", "cannot create the side B thread");
		} else {
			side_run(c, ctl, st, TP_SIDE_A);
			pthread_join(tb, NULL);
		}
	}
	if (st)
		c->ops->teardown(st);
	free(st);
	return ctl->side[0].failed || ctl->side[1].failed;
}

static pid_t spawn_child(const struct case_spec *c, struct run_ctl *ctl, void *st, int side)
{
	pid_t pid = fork_child();
	if (pid != 0)
		return pid;
	if (side < 0)
		_exit(host_threads(c, ctl));
	if (topology_pin_thread(c->cpu[side])) {
		note_failure(&ctl->side[side], "cannot pin %s to its CPU", side ? "side B" : "side A");
		_exit(1);
	}
	_exit(side_run(c, ctl, st, (enum tp_side)side) ? 1 : 0);
}

/* Describe how a child ended, for the row's reason. */
static void note_exit(struct side_report *rep, const char *who, int status)
{
	char msg[160];
	if (WIFSIGNALED(status)) {
		snprintf(msg, sizeof(msg), "%s killed by signal %d (%s)", who, WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		note_failure(rep, "%s", msg);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(msg, sizeof(msg), "%s exited with status %d", who, WEXITSTATUS(status));
		note_failure(rep, "%s", msg);
	}
}

struct child {
	pid_t pid;
	int pidfd;
	int done;
	int killed; /* by the runner, after another side failed: not a cause of its own */
	int status;
};

static void kill_all(struct child *ch, int n)
{
	/* One already dead was not killed by us: its own end may be why the others failed. */
	for (int i = 0; i < n; i++)
		if (!ch[i].done && ch[i].pid > 0 && waitpid(ch[i].pid, &ch[i].status, WNOHANG) == ch[i].pid)
			ch[i].done = 1;
	for (int i = 0; i < n; i++)
		if (!ch[i].done && ch[i].pid > 0) {
			kill(ch[i].pid, SIGKILL);
			ch[i].killed = 1;
		}
	for (int i = 0; i < n; i++)
		if (!ch[i].done && ch[i].pid > 0) {
			waitpid(ch[i].pid, &ch[i].status, 0);
			ch[i].done = 1;
		}
}

/*
 * The watchdog: a run whose sides moved no message for longer than the
 * timeout is stuck (a stopped peer, or a pipe blocked with no deadline of its
 * own). The slack lets a mechanism with its own deadline report it first.
 */
#define STALL_SLACK_NS (250 * 1000000LL)

struct watchdog {
	struct run_ctl *ctl; /* lane 0 of ctl->lanes */
	struct run_link *link; /* the other side on another host: its control connection is watched too */
	int64_t limit_ns;
	uint64_t last;
	int64_t since_ns;
};

static uint64_t progress_of(const struct run_ctl *ctl)
{
	uint64_t n = 0;
	for (int i = 0; i < ctl->lanes; i++)
		n += atomic_load_explicit(&ctl[i].progress[0].msgs, memory_order_relaxed) +
		     atomic_load_explicit(&ctl[i].progress[1].msgs, memory_order_relaxed);
	return n;
}

/* true when nothing moved for the limit; otherwise the deadline of the next look in *next. */
static bool stalled(struct watchdog *w, int64_t *next)
{
	uint64_t now_msgs = progress_of(w->ctl);
	int64_t t = now_ns();
	if (now_msgs != w->last) {
		w->last = now_msgs;
		w->since_ns = t;
	}
	*next = w->since_ns + w->limit_ns;
	return t >= *next;
}

/*
 * Wait for the children until they exit, the deadline passes or they stall.
 * When one ends badly the others are killed at once: a dead peer fails the
 * row now, not at the timeout. Returns 0, -ETIMEDOUT, -EAGAIN (stalled) or -EINTR.
 */
static int watch(struct child *ch, int n, int64_t deadline, struct watchdog *w)
{
	for (;;) {
		struct pollfd pfd[RUN_MAX_CHILDREN + 2];
		int live = 0, blind = 0;
		nfds_t nfds = (nfds_t)n;
		for (int i = 0; i < n; i++) {
			pfd[i] = (struct pollfd){ .fd = ch[i].done ? -1 : ch[i].pidfd, .events = POLLIN };
			live += !ch[i].done;
			blind += !ch[i].done && ch[i].pidfd < 0;
		}
		if (w->link) { /* the other host's messages, and this host's side raising a flag */
			pfd[nfds++] = (struct pollfd){ .fd = w->link->fd, .events = POLLIN };
			pfd[nfds++] = (struct pollfd){ .fd = w->ctl->notify_fd, .events = POLLIN };
		}
		if (!live)
			return 0;
		if (runner_stop_signal)
			return -EINTR;
		int64_t look;
		if (stalled(w, &look))
			return -EAGAIN;
		int ms = ms_until(deadline < look ? deadline : look);
		if (ms == 0 && now_ns() >= deadline)
			return -ETIMEDOUT;
		ms = ms ? ms : 1;
		/* Without pidfds (old kernels, valgrind) look at the children every 2 ms. */
		if (poll(pfd, nfds, blind && ms > 2 ? 2 : ms) < 0 && errno != EINTR)
			return -errno;
		if (w->link && (pfd[n].revents || pfd[n + 1].revents) && link_relay(w->link, w->ctl))
			return -ECONNRESET; /* the other side failed, or its host is gone */
		for (int i = 0; i < n; i++) {
			if (ch[i].done)
				continue;
			if (ch[i].pidfd >= 0 && !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (waitpid(ch[i].pid, &ch[i].status, WNOHANG) == ch[i].pid) {
				ch[i].done = 1;
				if (!WIFEXITED(ch[i].status) || WEXITSTATUS(ch[i].status) != 0)
					return 0; /* a side failed: the caller kills the rest */
			}
		}
	}
}

/* Add lane l's figures to out: its errors, CPU, round trips and messages; its failure when it has one. */
static void collect_lane(const struct case_spec *c, struct run_ctl *ctl, int cause, struct rep_result *out)
{
	struct side_report *a = &ctl->side[TP_SIDE_A], *b = &ctl->side[TP_SIDE_B];
	const struct side_report *timed = c->pattern == PAT_PINGPONG ? a : b; /* oneway, fanin: B times it */
	struct msg_errors *e = &out->errors;
	for (int side = 0; side < 2; side++) {
		const struct side_report *r = &ctl->side[side];
		e->lost += r->errors.lost;
		e->duplicate += r->errors.duplicate;
		e->reordered += r->errors.reordered;
		e->corrupt += r->errors.corrupt;
		out->cpu[side].cpu_ns += r->cpu.cpu_ns;
		out->cpu[side].vcsw += r->cpu.vcsw;
		out->cpu[side].ivcsw += r->cpu.ivcsw;
		if (r->cpu.wall_ns > out->cpu[side].wall_ns) /* the lanes share one window */
			out->cpu[side].wall_ns = r->cpu.wall_ns;
	}
	double elapsed_s = (double)(timed->t_last_ns - timed->t_first_ns) / 1e9;
	if (timed->msgs && elapsed_s > 0 && out->lanes < RUN_MAX_LANES) {
		struct lane_result *lr = &out->lane[out->lanes++];
		lr->msgs_per_s = c->pattern == PAT_PINGPONG && ctl->rtt.sum > 0
			? (double)ctl->rtt.count / (double)(ctl->rtt.sum / 1e9L) : (double)timed->msgs / elapsed_s;
		lr->p50_ns = ctl->rtt.count ? (double)hist_percentile(&ctl->rtt, 500) : NAN;
		lr->p99_ns = ctl->rtt.count ? (double)hist_percentile(&ctl->rtt, 990) : NAN;
	}
	out->msgs += timed->msgs;
	if (elapsed_s > out->elapsed_s)
		out->elapsed_s = elapsed_s;
	hist_add(&out->rtt, &ctl->rtt);
	hist_add(&out->intended, &ctl->intended);
	const struct side_report *bad = cause >= 0 && ctl->side[cause].failed ? &ctl->side[cause]
		: a->failed ? a : b->failed ? b : NULL;
	if (bad && !out->reason[0] && ctl->lanes > 1 && c->pattern != PAT_FANIN)
		snprintf(out->reason, sizeof(out->reason), "pair %d: %.200s", ctl->lane + 1, bad->reason);
	else if (bad && !out->reason[0])
		snprintf(out->reason, sizeof(out->reason), "%s", bad->reason);
}

static void collect(const struct case_spec *c, struct run_ctl *ctl, const int *cause, struct rep_result *out)
{
	hist_init(&out->rtt);
	hist_init(&out->intended);
	for (int l = 0; l < ctl->lanes; l++)
		collect_lane(c, &ctl[l], cause[l], out);
	if (out->reason[0])
		return;
	/* Without flow control a stream may drop messages: the loss is a figure of the row, not a fault. */
	bool loss_only = (c->ops->flags & TP_LOSSY) && c->pattern != PAT_PINGPONG && c->pattern != PAT_ONEWAY &&
			 msg_errors_total(&out->errors) == out->errors.lost;
	if (msg_errors_total(&out->errors) && !loss_only) {
		snprintf(out->reason, sizeof(out->reason),
			 "verification failed: %llu lost, %llu duplicate, %llu reordered, %llu corrupt",
			 (unsigned long long)out->errors.lost, (unsigned long long)out->errors.duplicate,
			 (unsigned long long)out->errors.reordered, (unsigned long long)out->errors.corrupt);
	} else if (out->msgs == 0 || (out->elapsed_s <= 0 && c->pattern != PAT_ONEWAY)) {
		snprintf(out->reason, sizeof(out->reason), "no message was timed");
	} else {
		out->ok = true;
	}
}

/* A pidfd, or -1 where the kernel (or valgrind) has none: then watch() polls. */
static int pidfd_of(pid_t pid)
{
	static int unavailable;
	if (unavailable)
		return -1;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ENOSYS)
		unavailable = 1;
	return fd;
}

/* The lanes of a run: --pairs, or fanin's senders; one otherwise. */
static int lanes_of(const struct case_spec *c)
{
	int n = c->pattern == PAT_FANIN ? c->senders : c->pairs;
	return n < 1 ? 1 : n > RUN_MAX_LANES ? RUN_MAX_LANES : n;
}

/* One shared mapping of every lane's control block, each knowing its lane and the array. */
static struct run_ctl *lanes_map(int lanes)
{
	struct run_ctl *ctl = mmap(NULL, (size_t)lanes * sizeof(*ctl), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return NULL;
	memset(ctl, 0, (size_t)lanes * sizeof(*ctl));
	for (int i = 0; i < lanes; i++) {
		ctl[i].warm_end = COUNT_UNSET;
		ctl[i].end_count = COUNT_UNSET;
		hist_init(&ctl[i].rtt);
		hist_init(&ctl[i].intended);
		ctl[i].lane = i;
		ctl[i].lanes = lanes;
		ctl[i].all = ctl;
	}
	return ctl;
}

/* One run's children and what each one is: a side of a lane, or a lane's thread host (side -1). */
struct run_kids {
	struct child ch[RUN_MAX_CHILDREN];
	int lane[RUN_MAX_CHILDREN], side[RUN_MAX_CHILDREN];
	int n;
};

static int fork_kid(struct run_kids *k, const struct case_spec *c, struct run_ctl *ctl, void *st, int side)
{
	int i = k->n;
	k->ch[i] = (struct child){ .pidfd = -1 };
	k->ch[i].pid = spawn_child(c, ctl, st, side);
	if (k->ch[i].pid < 0)
		return -errno;
	k->ch[i].pidfd = pidfd_of(k->ch[i].pid);
	k->lane[i] = ctl->lane;
	k->side[i] = side;
	k->n++;
	return 0;
}

/*
 * Fork the run: each lane's host (thread rows), or each lane's two sides
 * (pairs: a state each), or fanin's senders and the one receiver (one state).
 */
static int fork_run(struct run_kids *k, const struct case_spec *c, struct run_ctl *ctl, void **st, bool in_threads)
{
	bool fanin = c->pattern == PAT_FANIN;
	int rc = 0;
	if (c->link) /* the other side runs on its own host */
		return fork_kid(k, c, ctl, st[0], c->link->here);
	for (int l = 0; l < ctl->lanes && rc == 0; l++) {
		if (in_threads) {
			rc = fork_kid(k, c, &ctl[l], NULL, -1);
			continue;
		}
		rc = fork_kid(k, c, &ctl[l], st[fanin ? 0 : l], TP_SIDE_A);
		if (rc == 0 && !fanin)
			rc = fork_kid(k, c, &ctl[l], st[l], TP_SIDE_B);
	}
	if (rc == 0 && fanin && !in_threads)
		rc = fork_kid(k, c, &ctl[0], st[0], TP_SIDE_B);
	return rc;
}

/* Set up each lane's mechanism state in the runner (process rows); fanin's senders share one. */
static int setup_states(const struct case_spec *c, int lanes, void **st, struct rep_result *out)
{
	struct tp_params p = { .msg_bytes = c->msg_bytes, .timeout_ns = c->timeout_ns,
			       .senders = c->pattern == PAT_FANIN ? (unsigned)lanes : 1, .remote = run_link_remote(c->link) };
	int n = c->pattern == PAT_FANIN ? 1 : lanes;
	for (int l = 0; l < n; l++) {
		struct tp_err err = { { 0 } };
		st[l] = tp_state_alloc(c->ops->state_size);
		int rc = st[l] ? c->ops->setup(st[l], &p, &err) : -ENOMEM;
		if (rc) {
			snprintf(out->reason, sizeof(out->reason), "setup: %s", err.msg[0] ? err.msg : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* After the children are gone: how each ended, and why the run stopped when the runner stopped it. */
static void note_ends(struct run_kids *k, struct run_ctl *ctl, bool in_threads, int rc, int64_t limit_ns,
		      int *cause)
{
	for (int i = 0; i < k->n; i++) {
		int l = k->lane[i], side = k->side[i] < 0 ? TP_SIDE_A : k->side[i];
		if (!k->ch[i].killed)
			note_exit(&ctl[l].side[side], in_threads ? "the run's process" : side ? "side B" : "side A",
				  k->ch[i].status);
		if (!k->ch[i].killed && WIFSIGNALED(k->ch[i].status) && cause[l] < 0)
			cause[l] = side;
		if (k->ch[i].pidfd >= 0)
			close(k->ch[i].pidfd);
	}
	if (rc == -ETIMEDOUT)
		note_failure(&ctl[0].side[TP_SIDE_A], "%s", "run exceeded its deadline; sides killed");
	if (rc == -EAGAIN) {
		char why[160];
		snprintf(why, sizeof(why), "no message moved for %.1f s (the -t timeout): a side is stopped or "
			 "stuck; timed out, sides killed", (double)limit_ns / 1e9);
		note_failure(&ctl[0].side[TP_SIDE_A], "%s", why);
	}
}

/*
 * A run whose other side is on another host (case_spec.link): the eventfd
 * this host's side wakes the runner with, and the case agreed with the other
 * host after this host's setup (setup_rc), which is also its answer.
 */
static int link_begin(const struct case_spec *c, struct run_ctl *ctl, int setup_rc, struct rep_result *out)
{
	ctl->linked = 1;
	ctl->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctl->notify_fd < 0 && setup_rc == 0) {
		setup_rc = -errno;
		snprintf(out->reason, sizeof(out->reason), "runner: eventfd: %s", strerror(errno));
	}
	char why[sizeof(out->reason)];
	snprintf(why, sizeof(why), "%s", out->reason);
	return link_open(c->link, c, setup_rc, why, out->reason, sizeof(out->reason));
}

int run_once(const struct case_spec *c, struct rep_result *out)
{
	memset(out, 0, sizeof(*out));
	int lanes = lanes_of(c);
	struct run_ctl *ctl = lanes_map(lanes);
	if (!ctl) {
		snprintf(out->reason, sizeof(out->reason), "runner: mmap of the control block: %s", strerror(errno));
		return 0;
	}
	/* Processes: setup here, one child per side. Threads and solo rows: one host child per lane. */
	bool in_threads = c->ops->solo || strcmp(c->ops->group, "process") != 0;
	void *st[RUN_MAX_LANES] = { 0 };
	struct run_kids *k = calloc(1, sizeof(*k));
	int rc = k ? 0 : -ENOMEM, cause[RUN_MAX_LANES];
	for (int l = 0; l < lanes; l++)
		cause[l] = -1; /* a side killed by someone else is why its peer failed, not the other way */
	if (rc == 0 && !in_threads)
		rc = setup_states(c, lanes, st, out);
	if (c->link && k)
		rc = link_begin(c, ctl, rc, out);
	if (rc == 0 && (rc = fork_run(k, c, ctl, st, in_threads)))
		snprintf(out->reason, sizeof(out->reason), "fork: %s", strerror(-rc));
	if (rc) {
		if (k)
			kill_all(k->ch, k->n);
		goto out;
	}
	/* Attach, warmup, the timed span, and the final meet each get their share. */
	int64_t deadline = now_ns() + c->warmup_ns + case_longest_span_ns(c) + 4 * c->timeout_ns;
	struct watchdog w = { .ctl = ctl, .link = c->link, .limit_ns = c->timeout_ns + STALL_SLACK_NS,
			      .since_ns = now_ns() };
	rc = watch(k->ch, k->n, deadline, &w);
	kill_all(k->ch, k->n);
	note_ends(k, ctl, in_threads, rc, w.limit_ns, cause);
	if (c->link && link_close(c->link, ctl, c->timeout_ns, rc != 0 || ctl->side[c->link->here].failed))
		cause[0] = TP_SIDE_B; /* B, or its host, failed first: its reason is the row's */
	collect(c, ctl, cause, out);
out:
	if (ctl->linked && ctl->notify_fd >= 0)
		close(ctl->notify_fd);
	for (int l = 0; l < lanes; l++)
		if (st[l]) {
			c->ops->teardown(st[l]);
			free(st[l]);
		}
	free(k);
	munmap(ctl, (size_t)lanes * sizeof(*ctl));
	return rc == -EINTR ? -EINTR : 0;
}
