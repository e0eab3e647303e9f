/* The run loop: which cases, how long each, in what order, and progress on a terminal. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "parse.h"
#include "registry.h"
#include "topology.h"

/* Time budgets (ns) for the mechanism rows and the experiments when neither -d nor --budget is given. */
#define BUDGET_ALL_NS (44 * NS_PER_S)
#define BUDGET_QUICK_NS (2 * NS_PER_S)
#define BUDGET_MODELS_ALL_NS (10 * NS_PER_S)
#define BUDGET_MODELS_QUICK_NS (2500 * 1000000LL)
#define DEFAULT_MAX_DURATION_NS (250 * 1000000LL) /* lifted by --budget */
#define MIN_DURATION_NS (4 * 1000000LL)
#define QUICK_MIN_DURATION_NS (1000000LL) /* --quick: a smoke run, every span as short as it gets */
#define PROBE_DURATION_NS (15 * 1000000LL) /* a case's first repetition, before its rate is known */
#define RUN_OVERHEAD_NS (20 * 1000000LL) /* first guess at fork, setup, attach, teardown; then measured */
#define FLOOR_PROBE_NS (5 * 1000000LL)   /* a floor's repetition just before a row that divides by it */
#define FLOOR_PROBE_COST_NS (12 * 1000000LL) /* what one probe takes with its warmup and fork, to budget */

/* What a row needs before its figures are worth printing (see docs/methodology.md). */
#define TARGET_POOLED_RTTS 10000 /* pingpong: p99.9 is backed by 10 round trips above it */
#define TARGET_STREAM_MSGS 2000  /* stream: messages per repetition ... */
#define STREAM_MIN_DURATION_NS (8 * 1000000LL) /* ... over at least this: shorter spans scatter */

struct placement;

struct plan {
	struct case_spec *cases;
	int n;
	int n_runnable; /* cases that will run (not unsupported) */
	struct placement *placements; /* the cases point at their reasons */
};

static bool is_floor_group(const struct transport_ops *ops)
{
	return strcmp(ops->group, "floor") == 0;
}

static int plan_add(struct plan *p, int *cap, const struct case_spec *c)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		struct case_spec *n = realloc(p->cases, (size_t)*cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->cases = n;
	}
	p->cases[p->n++] = *c;
	return 0;
}

/* One placement of the two sides: its CPUs, or why the host has none. */
struct placement {
	const char *name; /* NULL: the CPUs of --pin (or the default) */
	int cpu[2];
	char why[200];
};

/* The open-loop rates of --rate sweep, as fractions of the closed loop's round trips per second. */
static const double rate_sweep_steps[] = { 0.25, 0.5, 0.75, 0.9, 1.0, 1.2 };
#define RATE_SWEEP_N (sizeof(rate_sweep_steps) / sizeof(rate_sweep_steps[0]))

/*
 * Is pattern pat asked for mechanism ops? As -p says; --all adds oneway, and
 * fanin where the mechanism carries it, at the smallest size only (the opt-in
 * patterns are a point each, not a sweep over sizes).
 */
static bool pattern_planned(const struct config *cfg, const struct transport_ops *ops, int pat, int size_index)
{
	if (cfg->patterns[pat])
		return pat == PAT_FANIN || pattern_runs(ops, (enum pattern)pat);
	bool extra = cfg->all && (pat == PAT_ONEWAY || pat == PAT_FANIN);
	return extra && size_index == 0 && !is_floor_group(ops) && pattern_runs(ops, (enum pattern)pat);
}

/*
 * A case and its variants: with --rate sweep, a pingpong row is followed by
 * one open-loop row per step; --all also runs two pairs side by side, once,
 * at the smallest size.
 */
static int plan_variants(const struct config *cfg, struct case_spec *c, int size_index, struct plan *p, int *cap)
{
	bool pingpong = c->pattern == PAT_PINGPONG && !is_floor_group(c->ops);
	int steps = pingpong && cfg->rate_sweep ? (int)RATE_SWEEP_N : 0;
	bool pairs = pingpong && cfg->all && cfg->pairs == 1 && size_index == 0;
	for (int k = 0; k <= steps + pairs; k++) {
		struct case_spec v = *c;
		if (k > 0 && k <= steps)
			v.rate_frac = rate_sweep_steps[k - 1];
		if (k > steps)
			v.pairs = 2;
		char why[8];
		p->n_runnable += !case_unsupported(&v, why, sizeof(why));
		if (plan_add(p, cap, &v))
			return -ENOMEM;
	}
	return 0;
}

/* Every mechanism x pattern x size the config asks for in one placement; floor rows first. */
static int plan_placement(const struct config *cfg, const struct placement *pl, struct plan *p, int *cap)
{
	for (int pass = 0; pass < 2; pass++)
		for (int m = 0; m < cfg->n_mechs; m++) {
			const struct transport_ops *ops = cfg->mechs[m];
			if (is_floor_group(ops) != (pass == 0))
				continue;
			for (int pat = 0; pat < PAT_COUNT; pat++)
				for (int s = 0; s < cfg->n_sizes; s++) {
					if (!pattern_planned(cfg, ops, pat, s))
						continue;
					if (ops->fixed_size && s > 0)
						break;
					struct case_spec c = {
						.ops = ops, .pattern = (enum pattern)pat,
						.msg_bytes = ops->fixed_size ? ops->fixed_size : cfg->sizes[s],
						.timeout_ns = cfg->timeout_ns, .cpu = { pl->cpu[0], pl->cpu[1] },
						.verify_full = cfg->verify_full, .placement = pl->name,
						.placement_why = pl->why[0] ? pl->why : NULL,
						.senders = pat == PAT_FANIN ? cfg->senders : 1,
						.pairs = pat == PAT_PINGPONG || pat == PAT_STREAM ? cfg->pairs : 1,
						.rate_per_s = pat == PAT_PINGPONG && !is_floor_group(ops) ? cfg->rate_per_s : 0,
						.link = cfg->link,
					};
					if (plan_variants(cfg, &c, s, p, cap))
						return -ENOMEM;
				}
		}
	return 0;
}

/* The cases of every placement asked for (--placement), or of the one pinning. */
static int plan_cases(const struct config *cfg, struct plan *p)
{
	int cap = 0, n = cfg->n_placements ? cfg->n_placements : 1;
	for (int i = 0; i < n; i++) {
		struct placement *pl = &p->placements[i];
		pl->name = cfg->n_placements ? cfg->placements[i] : NULL;
		pl->cpu[0] = cfg->cpu[0];
		pl->cpu[1] = cfg->cpu[1];
		if (pl->name && topo_pick(pl->name, pl->cpu, pl->why, sizeof(pl->why)) == 0)
			pl->why[0] = '\0';
		if (plan_placement(cfg, pl, p, &cap))
			return -ENOMEM;
	}
	return 0;
}

/*
 * How long each repetition's timed span is: as given by -d, or sized by need
 * within what fits the time left. Forking and setting up costs differ a lot
 * between machines (5 to 30 ms here), so the cost per run is measured as the
 * run goes and the fair share of the remaining runs follows it. A case's first
 * repetition is a short probe; the others take what the row still needs
 * (TARGET_*), up to one fair share: a fast row hands its unused share to the
 * rows after it, and a slow row taking more than its own would leave the rows
 * run last (whichever the registry lists last) with the minimum span.
 */
struct budget {
	int64_t total_ns;
	int64_t start_ns;
	int64_t max_span_ns;
	int runs_left;
	int runs_done;
	int64_t nominal_done_ns; /* warmup + duration of the runs done */
};

/* The fair share of one run's timed span in the time left. */
static int64_t budget_share(const struct budget *b)
{
	int64_t spent = now_ns() - b->start_ns;
	int64_t overhead = b->runs_done ? (spent - b->nominal_done_ns) / b->runs_done : RUN_OVERHEAD_NS;
	if (overhead < 1000000)
		overhead = 1000000;
	int64_t per_run = b->runs_left > 0 ? (b->total_ns - spent) / b->runs_left - overhead : 0;
	return per_run * 4 / 5; /* a warmup of a quarter of the span comes on top */
}

/* A run is done whose warmup and timed span took span_ns: the rest of its time was overhead. */
static void budget_spent(struct budget *b, int64_t span_ns)
{
	b->runs_left--;
	b->runs_done++;
	b->nominal_done_ns += span_ns;
}

static int64_t clamp_ns(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* What the repetitions before the one being planned measured, added up. */
struct reps_so_far {
	uint64_t msgs;
	long double busy_ns; /* sum of their RTTs */
	double elapsed_s;    /* sum of their timed spans */
};

static struct reps_so_far reps_so_far(const struct rep_result *rr, int done)
{
	struct reps_so_far t = { 0, 0, 0 };
	for (int i = 0; i < done; i++) {
		t.msgs += rr[i].msgs;
		t.busy_ns += rr[i].rtt.sum;
		t.elapsed_s += rr[i].elapsed_s;
	}
	return t;
}

/* What the repetitions after `done` still need, from the rate the ones before (t) measured. */
static int64_t span_needed(const struct case_spec *c, const struct reps_so_far *t, int done, int reps, bool quick)
{
	if (t->msgs == 0)
		return INT64_MAX;
	if (c->pattern == PAT_PINGPONG) {
		uint64_t want = t->msgs >= TARGET_POOLED_RTTS ? 0 : TARGET_POOLED_RTTS - t->msgs;
		double per_rep = (double)want / (reps - done) * 1.3; /* a little over, not just short */
		/* The loop's pace, not the RTT: stamping and checking a large message lie between round trips. */
		double pace_ns = t->elapsed_s > 0 ? t->elapsed_s * 1e9 / (double)t->msgs
						  : (double)(t->busy_ns / (long double)t->msgs);
		return (int64_t)(per_rep * pace_ns);
	}
	int64_t need = (int64_t)(TARGET_STREAM_MSGS * t->elapsed_s / (double)t->msgs * 1e9);
	int64_t least = quick ? QUICK_MIN_DURATION_NS : STREAM_MIN_DURATION_NS;
	return need > least ? need : least;
}

/* Set the span and warmup of repetition `done` of case c. */
static void plan_span(const struct budget *b, const struct config *cfg, struct case_spec *c,
		      const struct rep_result *rr, int done)
{
	int64_t d = cfg->duration_ns;
	c->min_round_trips = 0;
	c->max_duration_ns = 0;
	if (d == 0) {
		int64_t share = budget_share(b);
		int64_t least = cfg->quick ? QUICK_MIN_DURATION_NS : MIN_DURATION_NS;
		int64_t cap = clamp_ns(share, least, b->max_span_ns);
		struct reps_so_far t = reps_so_far(rr, done);
		int64_t need = done ? span_needed(c, &t, done, cfg->reps, cfg->quick) : PROBE_DURATION_NS;
		d = clamp_ns(need, least, cap);
		/*
		 * The span above is planned at the pace the earlier repetitions kept; should
		 * this one run slower, it runs on (within its share) until it has its part
		 * of the round trips still missing. One pair, closed loop only: pairs share
		 * one window, and an open-loop sender keeps its schedule.
		 */
		if (done && c->pattern == PAT_PINGPONG && c->rate_per_s <= 0 && c->pairs <= 1 && t.msgs < TARGET_POOLED_RTTS) {
			uint64_t left = (uint64_t)(cfg->reps - done);
			c->min_round_trips = (TARGET_POOLED_RTTS - t.msgs + left - 1) / left;
			c->max_duration_ns = cap;
		}
	}
	c->duration_ns = d;
	c->warmup_ns = cfg->warmup_ns ? cfg->warmup_ns : (d / 4 > 1000000 ? d / 4 : 1000000);
}

/* Progress on a terminal: which case of how many, and the time left. */
struct progress {
	bool on;
	int done, total;
	int64_t start_ns;
};

static void progress_show(struct progress *pg, const struct case_spec *c, int rep, int reps)
{
	if (!pg->on)
		return;
	char size[16];
	int64_t spent = now_ns() - pg->start_ns;
	double left = pg->done ? (double)spent / pg->done * (pg->total - pg->done) / 1e9 : 0;
	fprintf(stderr, "\r\033[K[%d/%d] %s %s %s, repetition %d/%d, ~%.0f s left", pg->done + 1,
		pg->total, c->ops->name, pattern_name(c->pattern), format_size(c->msg_bytes, size, sizeof(size)),
		rep + 1, reps, left);
	fflush(stderr);
}

static void progress_clear(struct progress *pg)
{
	if (pg->on) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

/*
 * One short repetition of the floor a case divides by, just before the case,
 * so that its floor is one the host gave in the same stretch of time (see
 * rows_apply_floor). Skipped with -d (fixed spans) and when the run has no
 * such floor. Returns -EINTR when the run was stopped.
 */
static int probe_floor(const struct config *cfg, const struct case_spec *c, struct results *res, struct budget *b)
{
	if (cfg->duration_ns || strcmp(c->ops->group, "floor") == 0)
		return 0;
	struct row *f = row_floor_for(res->rows, res->n_rows, c->ops, c->pattern, c->msg_bytes, c->cpu);
	if (!f)
		return 0;
	struct case_spec fc = *c;
	fc.ops = f->ops;
	fc.msg_bytes = f->size_bytes;
	fc.duration_ns = cfg->quick ? QUICK_MIN_DURATION_NS : FLOOR_PROBE_NS; /* a smoke run's spans are all 1 ms */
	fc.warmup_ns = fc.duration_ns / 4;
	struct rep_result *rr = calloc(1, sizeof(*rr));
	if (!rr)
		return 0;
	int rc = run_once(&fc, rr);
	b->runs_done++;
	b->nominal_done_ns += fc.duration_ns + fc.warmup_ns;
	if (rc == 0 && rr->ok && rr->msgs && rr->elapsed_s > 0)
		row_floor_probe(f, fc.pattern == PAT_PINGPONG ? (double)hist_percentile(&rr->rtt, 500)
							 : (double)rr->msgs * (double)fc.msg_bytes / rr->elapsed_s);
	free(rr);
	return rc;
}

/*
 * --rate sweep: a step's rate is a share of the closed-loop round trips per
 * second the same mechanism and size just reached (the row before its steps).
 * A step whose closed loop failed stays at 0: closed loop again, and says so.
 */
static void sweep_rate(const struct results *res, struct case_spec *c)
{
	for (int i = res->n_rows - 1; c->rate_frac > 0 && i >= 0; i--) {
		const struct row *r = &res->rows[i];
		if (r->ops == c->ops && r->pattern == PAT_PINGPONG && r->size_bytes == c->msg_bytes && !r->has_rate) {
			if (r->status == ROW_OK && r->msgs_per_s > 0)
				c->rate_per_s = c->rate_frac * r->msgs_per_s;
			return;
		}
	}
}

/* Run one case's repetitions into r; returns -EINTR when the run was stopped. */
static int run_case(const struct config *cfg, struct case_spec *c, struct budget *b, struct results *res,
		    struct progress *pg)
{
	char reason[256];
	int reps = cfg->reps;
	struct row *r = &res->rows[res->n_rows];
	if (case_unsupported(c, reason, sizeof(reason))) {
		row_from_reps(r, c, NULL, 0);
		r->status = ROW_UNSUPPORTED;
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
		return 0;
	}
	int rc = probe_floor(cfg, c, res, b);
	if (rc)
		return rc;
	struct rep_result *rr = calloc((size_t)reps, sizeof(*rr));
	if (!rr)
		return -ENOMEM;
	int done = 0;
	int64_t spans_ns = 0, warmups_ns = 0;
	for (; done < reps && rc == 0; done++) {
		plan_span(b, cfg, c, rr, done);
		progress_show(pg, c, done, reps);
		rc = run_once(c, &rr[done]);
		/* the span A kept: longer than planned when it ran on for its round trips */
		int64_t span = rr[done].elapsed_s > 0 ? (int64_t)(rr[done].elapsed_s * 1e9) : c->duration_ns;
		budget_spent(b, span + c->warmup_ns);
		spans_ns += span;
		warmups_ns += c->warmup_ns;
		pg->done++;
		if (rc == 0 && !rr[done].ok) {
			done++;
			break; /* one failed repetition fails the row: do not wait out the others */
		}
	}
	if (rc == 0) {
		row_from_reps(r, c, rr, done);
		r->duration_ns = spans_ns / done; /* spans differ by need: the mean */
		r->warmup_ns = warmups_ns / done;
	}
	b->runs_left -= reps - done;
	pg->done += reps - done;
	free(rr);
	return rc;
}

/* The span most rows ran for (the median), for the config block when spans were scaled. */
static void typical_span(struct results *res)
{
	int64_t *d = calloc((size_t)res->n_rows + 1, sizeof(*d));
	int n = 0;
	for (int i = 0; d && i < res->n_rows; i++)
		if (res->rows[i].status != ROW_UNSUPPORTED)
			d[n++] = res->rows[i].duration_ns;
	for (int i = 1; i < n; i++) /* insertion sort: a few hundred rows at most */
		for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
			int64_t t = d[j];
			d[j] = d[j - 1];
			d[j - 1] = t;
		}
	if (n) {
		res->duration_ns = d[n / 2];
		for (int i = 0; i < res->n_rows; i++)
			if (res->rows[i].duration_ns == d[n / 2])
				res->warmup_ns = res->rows[i].warmup_ns;
	}
	free(d);
}

/* How the run's time divides between the mechanism rows and the experiments. */
static void split_budget(const struct config *cfg, int64_t *rows_ns, int64_t *models_ns)
{
	*rows_ns = cfg->quick ? BUDGET_QUICK_NS : BUDGET_ALL_NS;
	*models_ns = cfg->quick ? BUDGET_MODELS_QUICK_NS : BUDGET_MODELS_ALL_NS;
	if (cfg->budget_ns) {
		/* the experiments answer their questions in seconds: more time goes to the rows */
		int64_t m = cfg->n_models ? cfg->budget_ns / 5 : 0;
		*models_ns = m < *models_ns ? m : *models_ns;
		*rows_ns = cfg->budget_ns - *models_ns;
	}
}

static void run_models(const struct config *cfg, struct results *res)
{
	int64_t rows_ns, budget;
	split_budget(cfg, &rows_ns, &budget);
	for (int i = 0; i < cfg->n_models && !runner_stop_signal; i++) {
		const struct model_ops *m = cfg->models[i];
		struct model_params mp = {
			.budget_ns = budget / cfg->n_models, .timeout_ns = cfg->timeout_ns,
			.cpu = { cfg->cpu[0], cfg->cpu[1] }, .ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN),
			.quick = cfg->quick,
		};
		if (!cfg->quiet && isatty(STDERR_FILENO))
			fprintf(stderr, "\r\033[Kmodel %s (%d/%d) ...", m->name, i + 1, cfg->n_models);
		struct tp_err err = { { 0 } };
		json_t *out = m->run(&mp, &err);
		if (!out)
			out = json_pack("{s:s, s:s}", "status", "failed", "reason",
					err.msg[0] ? err.msg : "the experiment failed");
		json_object_set_new(res->models, m->name, out);
	}
	if (!cfg->quiet && isatty(STDERR_FILENO) && cfg->n_models)
		fputs("\r\033[K", stderr);
}

int bench_run(const struct config *cfg, struct results *res, row_sink sink, void *ctx)
{
	memset(res, 0, sizeof(*res));
	res->started = time(NULL);
	res->models = json_object();
	int64_t t0 = now_ns();
	struct placement placements[MAX_PLACEMENTS];
	struct plan plan = { .placements = placements };
	memset(placements, 0, sizeof(placements));
	if (!res->models || plan_cases(cfg, &plan))
		return -ENOMEM;
	int64_t rows_ns, models_ns;
	split_budget(cfg, &rows_ns, &models_ns);
	struct budget budget = {
		.total_ns = rows_ns - (cfg->duration_ns ? 0 : plan.n_runnable * FLOOR_PROBE_COST_NS / 2),
		.start_ns = t0, .runs_left = plan.n_runnable * cfg->reps,
		.max_span_ns = cfg->budget_ns ? rows_ns : DEFAULT_MAX_DURATION_NS,
	};
	res->rows = calloc((size_t)plan.n + 1, sizeof(*res->rows));
	if (!res->rows) {
		free(plan.cases);
		return -ENOMEM;
	}
	struct progress pg = {
		.on = !cfg->quiet && isatty(STDERR_FILENO),
		.total = plan.n_runnable * cfg->reps, .start_ns = t0,
	};
	int rc = 0;
	for (int i = 0; i < plan.n && rc == 0; i++) {
		sweep_rate(res, &plan.cases[i]);
		rc = run_case(cfg, &plan.cases[i], &budget, res, &pg);
		if (rc == 0) {
			res->n_rows++;
			row_apply_floor(res->rows, res->n_rows, &res->rows[res->n_rows - 1]);
			progress_clear(&pg);
			if (sink)
				sink(&res->rows[res->n_rows - 1], ctx);
		}
	}
	progress_clear(&pg);
	free(plan.cases);
	typical_span(res);
	if (rc == -EINTR || runner_stop_signal)
		res->interrupted = runner_stop_signal ? runner_stop_signal : 2;
	else if (rc)
		return rc;
	if (!res->interrupted)
		run_models(cfg, res);
	if (runner_stop_signal)
		res->interrupted = runner_stop_signal;
	res->duration_s = (double)(now_ns() - t0) / 1e9;
	return 0;
}

void results_free(struct results *res)
{
	for (int i = 0; res->rows && i < res->n_rows; i++)
		free(res->rows[i].pooled);
	free(res->rows);
	json_decref(res->models);
	memset(res, 0, sizeof(*res));
}
