/* Every registered mechanism through the same cases: all sizes intact both ways, a killed peer, no leftovers. */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "registry.h"

#define MS (1000000LL)

/* Sizes around the header (24 B), a page, more than one pipe buffer, and 1 MiB. */
static const size_t sizes[] = { 1, 23, 24, 25, 64, 4095, 4096, 65537, 1 << 20 };

static const enum pattern patterns[] = { PAT_PINGPONG, PAT_STREAM };

static bool runs_pattern(const struct transport_ops *ops, enum pattern p)
{
	unsigned mask = p == PAT_PINGPONG ? TP_PINGPONG : TP_STREAM;
	return !ops->patterns || (ops->patterns & mask);
}

static int usable_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) ? 1 : CPU_COUNT(&set);
}

/* A spin-only kind on one CPU measures nothing; the runner reports it unsupported, so skip it here. */
static void skip_if_spin_on_one_cpu(const struct transport_ops *ops)
{
	if ((ops->flags & TP_SPIN_ONLY) && usable_cpus() < 2) {
		print_message("%s only spins and this process has one CPU: skipped\n", ops->name);
		skip();
	}
}

static size_t max_msg(const struct transport_ops *ops)
{
	struct tp_err why = { { 0 } };
	return ops->max_msg ? ops->max_msg(&why) : SIZE_MAX;
}

/* Run one case; report what went wrong and return false rather than stop at the first bad size. */
static bool carries(const struct transport_ops *ops, enum pattern p, size_t size)
{
	struct case_spec c = test_case(ops, p, size, 20 * MS);
	c.warmup_ns = 5 * MS;
	char why[256] = "";
	if (case_unsupported(&c, why, sizeof(why))) {
		print_error("%s %s %zu B: unsupported at or below its own limit: %s\n", ops->name,
			    pattern_name(p), size, why);
		return false;
	}
	struct rep_result r;
	if (run_once(&c, &r) != 0) {
		print_error("%s %s %zu B: interrupted\n", ops->name, pattern_name(p), size);
		return false;
	}
	/* No flow control (UDP): a stream may lose messages, and only lose them: the row counts them, ok. */
	if ((ops->flags & TP_LOSSY) && p == PAT_STREAM && r.ok && r.errors.lost &&
	    r.errors.lost == msg_errors_total(&r.errors) && r.msgs > 0) {
		print_message("%s stream %zu B: %llu lost (no flow control; counted as the row's loss)\n", ops->name,
			      size, (unsigned long long)r.errors.lost);
		return true;
	}
	if (!r.ok || msg_errors_total(&r.errors) || r.msgs == 0) {
		print_error("%s %s %zu B: %s (%llu lost, %llu duplicate, %llu reordered, %llu corrupt, %llu timed)\n",
			    ops->name, pattern_name(p), size, r.ok ? "errors in an ok row" : r.reason,
			    (unsigned long long)r.errors.lost, (unsigned long long)r.errors.duplicate,
			    (unsigned long long)r.errors.reordered, (unsigned long long)r.errors.corrupt,
			    (unsigned long long)r.msgs);
		return false;
	}
	if (p == PAT_PINGPONG && r.rtt.count != r.msgs) {
		print_error("%s pingpong %zu B: %llu round trips timed, %llu in the histogram\n", ops->name, size,
			    (unsigned long long)r.msgs, (unsigned long long)r.rtt.count);
		return false;
	}
	return true;
}

/* (a) every size up to 1 MiB or the mechanism's limit, intact, in both patterns; above the limit, a reason. */
static void test_sizes(void **state)
{
	const struct transport_ops *ops = *state;
	skip_if_spin_on_one_cpu(ops);
	char *before = leftovers_snapshot();
	size_t max = max_msg(ops);
	int bad = 0;
	for (size_t pi = 0; pi < 2; pi++) {
		enum pattern p = patterns[pi];
		char why[256] = "";
		if (!runs_pattern(ops, p)) {
			struct case_spec c = test_case(ops, p, ops->fixed_size ? ops->fixed_size : 64, 20 * MS);
			assert_true(case_unsupported(&c, why, sizeof(why)));
			assert_true(why[0] != '\0');
			continue;
		}
		if (ops->fixed_size) {
			bad += !carries(ops, p, ops->fixed_size);
			continue;
		}
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			if (sizes[i] > max) {
				struct case_spec c = test_case(ops, p, sizes[i], 20 * MS);
				why[0] = '\0';
				if (!case_unsupported(&c, why, sizeof(why)) || !why[0]) {
					print_error("%s: %zu B is above its limit %zu B, yet not unsupported with a reason\n",
						    ops->name, sizes[i], max);
					bad++;
				}
				continue;
			}
			bad += !carries(ops, p, sizes[i]);
		}
		/* a limit below 1 MiB is checked at the limit itself: the claim must hold */
		if (max < (1 << 20)) {
			bad += !carries(ops, p, max);
			struct case_spec c = test_case(ops, p, max + 1, 20 * MS);
			why[0] = '\0';
			assert_true(case_unsupported(&c, why, sizeof(why)));
			assert_true(why[0] != '\0');
		}
	}
	assert_no_new_leftovers(before);
	assert_int_equal(bad, 0);
}

/* What the helper process that runs run_once() reports back through shared memory. */
struct helper_report {
	int rc;
	struct rep_result r;
};


/* Wait for pid until deadline; true when it exited (status filled). */
static bool wait_until(pid_t pid, int *status, int64_t deadline)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pfd >= 0);
	bool done = false;
	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid) {
			done = true;
			break;
		}
		int ms = ms_until(deadline);
		if (ms == 0)
			break;
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		poll(&p, 1, ms);
	}
	close(pfd);
	return done;
}

/*
 * Start run_once() in a helper process, kill one of the run's processes with
 * SIGKILL once it is well into its timed span, and check the row failed with a
 * reason, soon. victim: 0 or 1 for side A or B; the one host child for runs
 * that keep both sides in one process.
 */
static void kill_one(const struct transport_ops *ops, enum pattern p, int victim)
{
	size_t size = ops->fixed_size ? ops->fixed_size : 64;
	struct case_spec c = test_case(ops, p, size, 3 * NS_PER_S);
	c.warmup_ns = 5 * MS;
	c.timeout_ns = 1 * NS_PER_S;
	char why[256];
	if (case_unsupported(&c, why, sizeof(why))) {
		print_message("%s %s %zu B: unsupported (%s), nothing to kill\n", ops->name, pattern_name(p), size, why);
		return;
	}
	bool two = strcmp(ops->group, "process") == 0;
	struct helper_report *rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
					 -1, 0);
	assert_true(rep != MAP_FAILED);
	rep->rc = -1;
	pid_t parent = getpid();
	fflush(NULL);
	pid_t helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		rep->rc = run_once(&c, &rep->r);
		_exit(0);
	}

	/* the run's processes appear when it forks them */
	pid_t kids[4];
	int n = 0, status = 0;
	bool ended = false;
	int64_t deadline = now_ns() + 10 * NS_PER_S;
	while ((n = children_of(helper, kids, 4)) < (two ? 2 : 1) && now_ns() < deadline && !ended) {
		ended = waitpid(helper, &status, WNOHANG) == helper;
		usleep(1000);
	}
	if (ended || n < (two ? 2 : 1)) {
		if (!ended) {
			kill(helper, SIGKILL);
			waitpid(helper, NULL, 0);
		}
		print_error("%s %s: %s (%d of the run's processes seen); row: %s\n", ops->name, pattern_name(p),
			    ended ? "the run ended before a side could be killed" : "the run's processes never appeared",
			    n, rep->r.reason);
		munmap(rep, sizeof(*rep));
		fail();
	}
	usleep(150 * 1000); /* attached and timing: the run lasts 3 s */
	pid_t target = two ? kids[victim] : kids[0];
	assert_int_equal(kill(target, SIGKILL), 0);
	int64_t killed_at = now_ns();

	/* the row must come back within the timeout, with slack for a loaded machine */
	bool done = wait_until(helper, &status, killed_at + c.timeout_ns + 5 * NS_PER_S);
	if (!done) {
		kill(helper, SIGKILL);
		waitpid(helper, NULL, 0);
	}
	struct helper_report got = *rep;
	munmap(rep, sizeof(*rep));
	if (!done) {
		print_error("%s %s: run_once still running %.1f s after a side was killed\n", ops->name,
			    pattern_name(p), (double)(now_ns() - killed_at) / 1e9);
		fail();
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got.rc, 0);
	if (got.r.ok || got.r.reason[0] == '\0') {
		print_error("%s %s: killing %s gave ok=%d, reason '%s'\n", ops->name, pattern_name(p),
			    two ? (victim ? "side B" : "side A") : "the run's process", got.r.ok, got.r.reason);
		fail();
	}
	print_message("%s %s, %s killed: %s\n", ops->name, pattern_name(p),
		      two ? (victim ? "side B" : "side A") : "the run's process", got.r.reason);
}

/* (b) a peer killed mid-run is a failed row with a reason, within the timeout; (c) nothing left behind. */
static void test_peer_killed(void **state)
{
	const struct transport_ops *ops = *state;
	skip_if_spin_on_one_cpu(ops);
	if (ops->solo) {
		print_message("%s runs alone: no peer to kill\n", ops->name);
		skip();
	}
	bool two = strcmp(ops->group, "process") == 0;
	for (size_t pi = 0; pi < 2; pi++) {
		if (!runs_pattern(ops, patterns[pi]))
			continue;
		for (int victim = 0; victim < (two ? 2 : 1); victim++) {
			char *before = leftovers_snapshot();
			kill_one(ops, patterns[pi], victim);
			assert_no_new_leftovers(before);
		}
	}
}

int main(void)
{
	runner_install_signals();
	size_t n = 0;
	while (transport_registry[n])
		n++;
	struct CMUnitTest *tests = calloc(2 * n, sizeof(*tests));
	char (*names)[96] = calloc(2 * n, sizeof(*names));
	assert_true(tests && names);
	for (size_t i = 0; i < n; i++) {
		const struct transport_ops *ops = transport_registry[i];
		struct CMUnitTest sizes_test = cmocka_unit_test_prestate(test_sizes, (void *)ops);
		struct CMUnitTest kill_test = cmocka_unit_test_prestate(test_peer_killed, (void *)ops);
		snprintf(names[2 * i], sizeof(names[0]), "%s: sizes intact both ways, nothing left", ops->name);
		snprintf(names[2 * i + 1], sizeof(names[0]), "%s: peer killed mid-run, nothing left", ops->name);
		sizes_test.name = names[2 * i];
		kill_test.name = names[2 * i + 1];
		tests[2 * i] = sizes_test;
		tests[2 * i + 1] = kill_test;
	}
	int rc = _cmocka_run_group_tests("mechanisms", tests, 2 * n, NULL, NULL);
	free(tests);
	free(names);
	return rc;
}
