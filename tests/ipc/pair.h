/* Two ends of one process mechanism, side A in a forked child and side B here, for tests that call send and recv themselves. */
#ifndef IPCBENCH_TEST_PAIR_H
#define IPCBENCH_TEST_PAIR_H

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "runner.h"
#include "support.h"

/* What side A runs once attached; its return value (0 or a negative errno) comes back to pair_finish. */
typedef int (*pair_sender)(const struct transport_ops *ops, void *end, size_t len, void *arg);

/* pair is one setup with side A forked off and side B attached in this process. */
struct pair {
	const struct transport_ops *ops;
	struct tp_params p;
	void *st;
	void *end;      /* side B's */
	pid_t child;    /* side A */
	struct pair_shared {
		int child_rc;        /* side A's result */
		_Atomic int b_done;  /* side B received all it wanted: side A may detach (cma's peer reads its memory) */
	} *sh;
};

/* Set ops up for len-byte messages, fork side A to attach and run sender, attach side B here. */
static inline void pair_start(struct pair *pr, const struct transport_ops *ops, size_t len, int64_t timeout_ns,
			      pair_sender sender, void *arg)
{
	memset(pr, 0, sizeof(*pr));
	pr->ops = ops;
	pr->p = (struct tp_params){ .msg_bytes = len, .timeout_ns = timeout_ns };
	pr->st = tp_state_alloc(ops->state_size);
	pr->end = tp_state_alloc(ops->end_size);
	pr->sh = mmap(NULL, sizeof(*pr->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(pr->st && pr->end && pr->sh != MAP_FAILED);
	pr->sh->child_rc = -EINPROGRESS;
	struct tp_err err = { { 0 } };
	int rc = ops->setup(pr->st, &pr->p, &err);
	if (rc)
		print_error("%s: setup: %s\n", ops->name, err.msg);
	assert_int_equal(rc, 0);
	fflush(NULL);
	pr->child = fork();
	assert_true(pr->child >= 0);
	if (pr->child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		void *end = tp_state_alloc(ops->end_size);
		struct tp_err aerr = { { 0 } };
		rc = ops->attach(pr->st, end, TP_SIDE_A, &pr->p, &aerr);
		pr->sh->child_rc = rc ? rc : sender(ops, end, len, arg);
		for (int i = 0; i < 10000 && !atomic_load(&pr->sh->b_done); i++)
			usleep(1000);
		ops->detach(end);
		_exit(0);
	}
	rc = ops->attach(pr->st, pr->end, TP_SIDE_B, &pr->p, &err);
	if (rc)
		print_error("%s: attach B: %s\n", ops->name, err.msg);
	assert_int_equal(rc, 0);
}

/* Wait for side A (killed when kill_first), detach side B, tear down; side A's result. */
static inline int pair_finish(struct pair *pr, bool kill_first)
{
	atomic_store(&pr->sh->b_done, 1);
	if (pr->child > 0) { /* -1: the caller reaped it */
		if (kill_first)
			kill(pr->child, SIGKILL);
		int status;
		assert_int_equal(waitpid(pr->child, &status, 0), pr->child);
	}
	int rc = pr->sh->child_rc;
	pr->ops->detach(pr->end);
	pr->ops->teardown(pr->st);
	free(pr->end);
	free(pr->st);
	munmap(pr->sh, sizeof(*pr->sh));
	return rc;
}

/* Side A: n stamped messages, rotating through the buffers the mechanism asks for, as the stream sender does. */
static inline int pair_send_stamped(const struct transport_ops *ops, void *end, size_t len, uint64_t n,
				    int64_t timeout_ns)
{
	unsigned nbuf = ops->send_buffers ? ops->send_buffers(end) : 1;
	struct msg_gen *g = calloc(nbuf, sizeof(*g));
	int rc = g ? 0 : -ENOMEM;
	for (unsigned i = 0; i < nbuf && !rc; i++) {
		unsigned char *buf = aligned_alloc(64, (len + 63) / 64 * 64);
		if (!buf) {
			nbuf = i;
			rc = -ENOMEM;
			break;
		}
		msg_gen_init(&g[i], buf, len, 0x5c1b ^ len);
	}
	for (uint64_t seq = 0; seq < n && !rc; seq++) {
		msg_stamp(&g[seq % nbuf], seq);
		rc = ops->send(end, g[seq % nbuf].buf, len, timeout_ns);
	}
	/* Not freed: side B may still read the last messages there (cma, pipe-splice); side A exits soon. */
	return rc;
}

#define PAIR_SKIP_MSGS 64
#define PAIR_SKIP_FROM 4 /* whole messages first, so the buffer holds a previous message */

static int pair_skip_sender(const struct transport_ops *ops, void *end, size_t len, void *arg)
{
	(void)arg;
	return pair_send_stamped(ops, end, len, PAIR_SKIP_MSGS, 5 * NS_PER_S);
}

/*
 * A receive that skips part of its copy is caught: every message arrives whole
 * through the mechanism's own recv, then for every other message after the
 * first few only part of it is kept, the rest of the buffer left as the
 * previous message left it: the tail after 64 bytes, or one cache line in the
 * middle. msg_check with full=true counts each such message corrupt, each
 * whole one intact. (Mechanisms whose receive the kernel does without a
 * read() or recv() call an LD_PRELOAD interposer could cut short.)
 */
static inline void pair_skipped_copy_is_corrupt(const struct transport_ops *ops)
{
	static const size_t lens[] = { 200, 4096, 65537, 1 << 20 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (int shape = 0; shape < 2; shape++) {
			size_t len = lens[l];
			struct pair pr;
			pair_start(&pr, ops, len, 5 * NS_PER_S, pair_skip_sender, NULL);
			unsigned char *in = malloc(len), *buf = calloc(1, len);
			assert_true(in && buf);
			struct msg_check chk = { 0 };
			uint64_t altered = 0, wrong = 0;
			for (uint64_t seq = 0; seq < PAIR_SKIP_MSGS; seq++) {
				ssize_t n = ops->recv(pr.end, in, len, len, 5 * NS_PER_S);
				assert_int_equal(n, (ssize_t)len);
				size_t from = len, to = len;
				if (seq >= PAIR_SKIP_FROM && seq % 2) {
					from = shape == 0 ? 64 : len / 128 * 64;
					to = shape == 0 ? len : from + 64;
				}
				memcpy(buf, in, from);
				memcpy(buf + to, in + to, len - to);
				altered += to > from;
				bool intact = msg_check(&chk, buf, (size_t)n, len, true);
				if (intact != (to == from) && wrong++ < 3)
					print_error("%s %zu B, message %llu (bytes %zu..%zu skipped): msg_check says %s\n",
						    ops->name, len, (unsigned long long)seq, from, to, intact ? "intact" : "bad");
			}
			assert_int_equal(pair_finish(&pr, false), 0);
			assert_int_equal(wrong, 0);
			assert_int_equal(chk.errors.corrupt, altered);
			assert_int_equal(chk.errors.lost + chk.errors.duplicate + chk.errors.reordered, 0);
			assert_true(altered >= (PAIR_SKIP_MSGS - PAIR_SKIP_FROM) / 2);
			free(in);
			free(buf);
		}
}

#endif
