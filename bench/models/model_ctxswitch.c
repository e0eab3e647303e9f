/* ctxswitch: one switch between two processes vs two threads on one CPU, measured the lat_ctx way. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "model.h"
#include "model_util.h"
#include "topology.h"
#include "parse.h"
#include "runner.h"

#define CTX_VARIANT_SHARE 0.22  /* of the budget, for each of the four variants */
#define CTX_MAX_SAMPLES 2000000

enum ctx_kind { CTX_PIPE, CTX_FUTEX };
enum ctx_mode { CTX_PROCESS, CTX_THREAD };

/* Written by the host child, read by the experiment: an anonymous shared mapping. */
struct ctx_shared {
	_Alignas(64) _Atomic uint32_t turn; /* futex ping-pong: 0 side A's turn, 1 side B's */
	_Alignas(64) _Atomic uint32_t stop;
	_Alignas(64) uint32_t idle_word;    /* a futex nobody waits on, for the overhead loop */
	int failed;
	char reason[128];
	struct hist clock;   /* two back-to-back clock reads */
	struct hist overhead; /* one wake call and one wait call that does not sleep, on one side */
	struct hist rtt;     /* one round trip: two switches plus two of the above */
};

/* One variant, as the host child runs it. */
struct ctx_run {
	enum ctx_kind kind;
	enum ctx_mode mode;
	int cpu;
	int64_t slice_ns;
	int64_t timeout_ns;
	struct ctx_shared *sh;
	int ab[2], ba[2]; /* pipe ping-pong: A to B, B to A */
};

static int ctx_futex(_Atomic uint32_t *word, int op, uint32_t val, const struct ctx_run *r)
{
	/* Threads use a private futex, as pthread objects do; processes need the shared kind. */
	int flags = r->mode == CTX_THREAD ? FUTEX_PRIVATE_FLAG : 0;
	struct timespec ts = { .tv_sec = (time_t)(r->timeout_ns / NS_PER_S),
			       .tv_nsec = (long)(r->timeout_ns % NS_PER_S) };
	return (int)syscall(SYS_futex, word, op | flags, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

/* Side B: echo until told to stop. Its reads block; the host's deadline bounds them. */
static void ctx_partner(const struct ctx_run *r)
{
	if (r->kind == CTX_PIPE) {
		char c;
		while (read(r->ab[0], &c, 1) == 1 && c != 'q')
			if (write(r->ba[1], &c, 1) != 1)
				break;
		return;
	}
	struct ctx_shared *sh = r->sh;
	for (;;) {
		while (atomic_load(&sh->turn) == 0)
			ctx_futex(&sh->turn, FUTEX_WAIT, 0, r);
		if (atomic_load(&sh->stop))
			return;
		atomic_store(&sh->turn, 0);
		ctx_futex(&sh->turn, FUTEX_WAKE, 1, r);
	}
}

static void *ctx_partner_thread(void *p)
{
	ctx_partner(p);
	return NULL;
}

/* Side A: one round trip. */
static int ctx_round_trip(const struct ctx_run *r)
{
	if (r->kind == CTX_PIPE) {
		char c = 'p';
		return write(r->ab[1], &c, 1) == 1 && read(r->ba[0], &c, 1) == 1 ? 0 : -EPIPE;
	}
	struct ctx_shared *sh = r->sh;
	atomic_store(&sh->turn, 1);
	ctx_futex(&sh->turn, FUTEX_WAKE, 1, r);
	while (atomic_load(&sh->turn) == 1)
		if (ctx_futex(&sh->turn, FUTEX_WAIT, 1, r) < 0 && errno == ETIMEDOUT)
			return -ETIMEDOUT;
	return 0;
}

/* What a round trip costs besides the switches: the same calls on one side, none of them sleeping. */
static int ctx_overhead(const struct ctx_run *r, int own[2])
{
	if (r->kind == CTX_PIPE) {
		char c = 'o';
		return write(own[1], &c, 1) == 1 && read(own[0], &c, 1) == 1 ? 0 : -EIO;
	}
	_Atomic uint32_t *w = (_Atomic uint32_t *)&r->sh->idle_word;
	ctx_futex(w, FUTEX_WAKE, 1, r);
	ctx_futex(w, FUTEX_WAIT, 1, r); /* the word is 0: returns EAGAIN at once */
	return 0;
}

static void ctx_fail(struct ctx_shared *sh, const char *what, int rc)
{
	if (!sh->failed) {
		sh->failed = 1;
		snprintf(sh->reason, sizeof(sh->reason), "%s: %s", what, strerror(rc < 0 ? -rc : rc));
	}
}

/* The host child: pinned, it measures clock and overhead alone, then the ping-pong with its partner. */
static int ctx_host(struct ctx_run *r)
{
	struct ctx_shared *sh = r->sh;
	int rc = topology_pin_thread(r->cpu);
	if (rc) {
		ctx_fail(sh, "pinning to the CPU", rc);
		return 1;
	}
	int64_t deadline = now_ns() + r->slice_ns / 20;
	while (sh->clock.count < CTX_MAX_SAMPLES && !mu_stop(deadline)) {
		int64_t t0 = now_ns();
		hist_record(&sh->clock, (uint64_t)(now_ns() - t0));
	}
	int own[2];
	if (pipe2(own, O_CLOEXEC)) {
		ctx_fail(sh, "pipe2", errno);
		return 1;
	}
	deadline = now_ns() + r->slice_ns / 4;
	while (sh->overhead.count < CTX_MAX_SAMPLES && !mu_stop(deadline)) {
		int64_t t0 = now_ns();
		rc = ctx_overhead(r, own);
		hist_record(&sh->overhead, (uint64_t)(now_ns() - t0));
		if (rc)
			break;
	}
	close(own[0]);
	close(own[1]);
	if (rc) {
		ctx_fail(sh, "overhead loop", rc);
		return 1;
	}
	if (pipe2(r->ab, O_CLOEXEC) || pipe2(r->ba, O_CLOEXEC)) {
		ctx_fail(sh, "pipe2", errno);
		return 1;
	}
	pid_t pid = -1;
	pthread_t t;
	if (r->mode == CTX_PROCESS) {
		pid = fork_child(); /* inherits the pinning */
		if (pid == 0) {
			close(r->ab[1]);
			close(r->ba[0]);
			ctx_partner(r);
			_exit(0);
		}
		if (pid < 0) {
			ctx_fail(sh, "fork", errno);
			return 1;
		}
		close(r->ab[0]);
		close(r->ba[1]);
	} else if ((rc = pthread_create(&t, NULL, ctx_partner_thread, r))) {
		ctx_fail(sh, "pthread_create", rc);
		return 1;
	}
	deadline = now_ns() + r->slice_ns / 10; /* warmup */
	while (!mu_stop(deadline) && (rc = ctx_round_trip(r)) == 0)
		;
	deadline = now_ns() + r->slice_ns * 3 / 5;
	while (rc == 0 && sh->rtt.count < CTX_MAX_SAMPLES && !mu_stop(deadline)) {
		int64_t t0 = now_ns();
		rc = ctx_round_trip(r);
		hist_record(&sh->rtt, (uint64_t)(now_ns() - t0));
	}
	if (rc)
		ctx_fail(sh, "ping-pong", rc);
	if (r->kind == CTX_PIPE) {
		char q = 'q';
		if (write(r->ab[1], &q, 1) != 1)
			ctx_fail(sh, "stopping the partner", errno);
	} else {
		atomic_store(&sh->stop, 1);
		atomic_store(&sh->turn, 1);
		ctx_futex(&sh->turn, FUTEX_WAKE, 1, r);
	}
	if (r->mode == CTX_PROCESS) {
		int status;
		if ((rc = mu_wait(pid, &status, r->timeout_ns)))
			ctx_fail(sh, "waiting for the partner", rc);
	} else {
		pthread_join(t, NULL); /* it stops at once; the host's own deadline bounds this */
	}
	return sh->failed;
}

/* Run one variant in a fresh pinned child, so this process keeps its affinity. */
static int ctx_variant(struct ctx_run *r, struct tp_err *err)
{
	memset(r->sh, 0, sizeof(*r->sh));
	hist_init(&r->sh->clock);
	hist_init(&r->sh->overhead);
	hist_init(&r->sh->rtt);
	pid_t pid = fork_child();
	if (pid == 0)
		_exit(ctx_host(r));
	if (pid < 0)
		return tp_fail(err, errno, "ctxswitch: fork: %m");
	int status;
	int rc = mu_wait(pid, &status, r->slice_ns + 2 * r->timeout_ns);
	const char *name = r->kind == CTX_PIPE ? "pipe" : "futex";
	const char *mode = r->mode == CTX_PROCESS ? "processes" : "threads";
	if (rc)
		return tp_fail(err, -rc, "ctxswitch: %s between %s: %s", name, mode,
			       rc == -ETIMEDOUT ? "exceeded its deadline; killed" : strerror(-rc));
	if (r->sh->failed)
		return tp_fail(err, EIO, "ctxswitch: %s between %s: %s", name, mode, r->sh->reason);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return tp_fail(err, EIO, "ctxswitch: %s between %s: the host child ended with status %#x",
			       name, mode, status);
	return 0;
}

/* The lat_ctx subtraction, on medians, with the clock's own cost taken out of each timed span. */
static double ctx_switch_ns(const struct ctx_shared *sh)
{
	double clk = (double)hist_percentile(&sh->clock, 500);
	double ovh = (double)hist_percentile(&sh->overhead, 500) - clk;
	double rtt = (double)hist_percentile(&sh->rtt, 500) - clk;
	return (rtt - 2 * ovh) / 2;
}

static json_t *ctx_variant_json(const struct ctx_shared *sh)
{
	return json_pack("{s:o, s:o, s:o, s:I}", "switch_ns", mu_num(ctx_switch_ns(sh)), "rtt_ns",
			 mu_hist_json(&sh->rtt), "overhead_ns", mu_hist_json(&sh->overhead), "clock_ns",
			 (json_int_t)hist_percentile(&sh->clock, 500));
}

static const char ctx_method[] =
	"lmbench lat_ctx: two processes (or two threads of one process) pinned to one CPU pass a token "
	"back and forth, through a pipe (1 byte write and blocking read) or a futex (wake, then wait); a "
	"round trip is two switches plus, on each side, one wake call and one wait call. The same two calls "
	"are timed on one side alone, where the wait returns at once (a byte already in its own pipe; a futex "
	"whose value differs), and subtracted: switch_ns = ((rtt - clock) - 2 * (overhead - clock)) / 2 on "
	"medians, where clock is the cost of the two clock reads around each timed span. Threads use "
	"private futexes, processes shared ones.";

static json_t *ctx_run_model(const struct model_params *p, struct tp_err *err)
{
	struct ctx_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		tp_fail(err, errno, "ctxswitch: mmap of the shared block: %m");
		return NULL;
	}
	int cpu = p->cpu[0] >= 0 ? p->cpu[0] : mu_allowed_cpu(0);
	json_t *out = json_pack("{s:s, s:i}", "status", "ok", "cpu", cpu);
	double sw[2][2];
	static const char *const kinds[] = { "pipe", "futex" }, *const modes[] = { "process", "thread" };
	for (int k = CTX_PIPE; k <= CTX_FUTEX; k++) {
		json_t *kj = json_object();
		json_object_set_new(out, kinds[k], kj);
		for (int m = CTX_PROCESS; m <= CTX_THREAD; m++) {
			struct ctx_run r = {
				.kind = (enum ctx_kind)k, .mode = (enum ctx_mode)m, .cpu = cpu,
				.slice_ns = (int64_t)(CTX_VARIANT_SHARE * (double)p->budget_ns),
				.timeout_ns = p->timeout_ns, .sh = sh,
			};
			if (ctx_variant(&r, err)) {
				json_decref(out);
				munmap(sh, sizeof(*sh));
				return NULL;
			}
			sw[k][m] = ctx_switch_ns(sh);
			json_object_set_new(kj, modes[m], ctx_variant_json(sh));
		}
	}
	munmap(sh, sizeof(*sh));
	json_object_set_new(out, "process_switch_ns", mu_num(sw[CTX_PIPE][CTX_PROCESS]));
	json_object_set_new(out, "thread_switch_ns", mu_num(sw[CTX_PIPE][CTX_THREAD]));
	json_object_set_new(out, "process_over_thread",
			    mu_num(sw[CTX_PIPE][CTX_THREAD] > 0 ? sw[CTX_PIPE][CTX_PROCESS] / sw[CTX_PIPE][CTX_THREAD] : NAN));
	json_object_set_new(out, "method", json_string(ctx_method));
	return out;
}

static void ctx_print(const json_t *r, FILE *out)
{
	fprintf(out, "both sides pinned to CPU %d; switch = (round trip - 2 x overhead) / 2 (lmbench lat_ctx)\n",
		(int)mu_get(r, "cpu"));
	fprintf(out, "%-6s %-8s %10s %10s %10s %10s %9s\n", "via", "between", "switch", "rtt p50", "rtt p99",
		"overhead", "n");
	static const char *const kinds[] = { "pipe", "futex" }, *const modes[] = { "process", "thread" };
	for (int k = 0; k < 2; k++)
		for (int m = 0; m < 2; m++) {
			const json_t *v = json_object_get(json_object_get(r, kinds[k]), modes[m]);
			const json_t *rtt = json_object_get(v, "rtt_ns");
			char a[32], b[32], c[32], d[32];
			fprintf(out, "%-6s %-8s %10s %10s %10s %10s %9.0f\n", kinds[k], m ? "threads" : "procs",
				fmt_ns(mu_get(v, "switch_ns"), a, sizeof(a)), fmt_ns(mu_get(rtt, "p50"), b, sizeof(b)),
				fmt_ns(mu_get(rtt, "p99"), c, sizeof(c)),
				fmt_ns(mu_path(v, "overhead_ns", "p50", NULL), d, sizeof(d)), mu_get(rtt, "n"));
		}
}

const struct model_ops model_ctxswitch_ops = {
	.name = "ctxswitch",
	.summary = "one switch between 2 processes vs 2 threads pinned to one CPU: pipe and futex "
		   "ping-pong minus the same wake/wait calls timed without a switch (lmbench lat_ctx)",
	.run = ctx_run_model,
	.print = ctx_print,
};
