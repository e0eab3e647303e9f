/* Reducing repetitions to a row, and relating each row to the floor of its kind. */
#include "row.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *row_status_name(enum row_status s)
{
	return s == ROW_OK ? "ok" : s == ROW_UNSUPPORTED ? "unsupported" : "failed";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double spread(double *v, int n)
{
	if (n < 2)
		return NAN;
	double m = median(v, n); /* sorted now */
	return m > 0 ? 100.0 * (v[n - 1] - v[0]) / m : NAN;
}

/* Binomial(n, 1/2) probabilities, P(X < k), by the recurrence C(n, i+1) = C(n, i) (n - i) / (i + 1). */
static double binom_half_below(int n, int k)
{
	double c = 1, sum = 0, scale = ldexp(1.0, -n);
	for (int i = 0; i < k; i++) {
		sum += c * scale;
		c = c * (n - i) / (i + 1);
	}
	return sum;
}

bool median_ci95(double *v, int n, double *low, double *high, double *coverage)
{
	int best = 0;
	for (int k = 1; 2 * k <= n; k++)
		if (1 - 2 * binom_half_below(n, k) >= 0.95)
			best = k;
	if (!best)
		return false;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	*low = v[best - 1];
	*high = v[n - best];
	*coverage = 1 - 2 * binom_half_below(n, best);
	return true;
}

double row_headline(const struct row *r)
{
	return r->has_rtt ? r->rtt_ns.p50 : r->bytes_per_s;
}

/* A percentile from the pooled samples, or NAN when they are too few to back it. */
static double backed(const struct hist *h, unsigned permille)
{
	return h->count >= hist_samples_needed(permille) ? (double)hist_percentile(h, permille) : NAN;
}

/* The RTT figures and the pingpong rates, from all repetitions' round trips pooled. */
static void pingpong_figures(struct row *r, const struct rep_result *reps, int n)
{
	struct hist *all = malloc(sizeof(*all));
	double p50[ROW_MAX_REPS];
	if (!all)
		return; /* the figures stay 0; out of memory is not worth a failed row here */
	hist_init(all);
	for (int i = 0; i < n; i++) {
		hist_add(all, &reps[i].rtt);
		p50[i] = r->rep_headline[i] = (double)hist_percentile(&reps[i].rtt, 500);
	}
	r->rtt_ns.min = (double)all->min;
	r->rtt_ns.p50 = median(p50, n);
	r->rtt_ns.p90 = backed(all, 900);
	r->rtt_ns.p99 = backed(all, 990);
	r->rtt_ns.p999 = backed(all, 999);
	r->rtt_ns.max = (double)all->max;
	r->rtt_ns.mean = hist_mean(all);
	/* Throughput of the round trips themselves: checking an echo is not in it. */
	double busy_s = (double)(all->sum / 1e9L);
	r->msgs_per_s = busy_s > 0 ? (double)all->count / busy_s : NAN;
	r->bytes_per_s = r->msgs_per_s * 2 * (double)r->size_bytes;
	r->pooled = all; /* for the row's histogram in results.json and its .hgrm */
}

/*
 * An open-loop row: the target rate, the rate achieved (round trips over the
 * timed spans), and the percentiles from each round trip's intended send time,
 * pooled over the repetitions.
 */
static void rate_figures(struct row *r, const struct case_spec *c, const struct rep_result *reps, int n)
{
	struct hist *all = malloc(sizeof(*all));
	if (!all)
		return;
	hist_init(all);
	double msgs = 0, span_s = 0;
	for (int i = 0; i < n; i++) {
		hist_add(all, &reps[i].intended);
		msgs += (double)reps[i].msgs;
		span_s += reps[i].elapsed_s;
	}
	r->has_rate = true;
	r->rate.target_per_s = c->rate_per_s;
	r->rate.achieved_per_s = span_s > 0 ? msgs / span_s : NAN;
	r->rate.missed = !(r->rate.achieved_per_s >= 0.95 * c->rate_per_s);
	r->rate.p50 = backed(all, 500);
	r->rate.p90 = backed(all, 900);
	r->rate.p99 = backed(all, 990);
	r->rate.p999 = backed(all, 999);
	r->rate.max = all->count ? (double)all->max : NAN;
	free(all);
}

static void stream_figures(struct row *r, const struct rep_result *reps, int n)
{
	double msgs[ROW_MAX_REPS], bytes[ROW_MAX_REPS];
	for (int i = 0; i < n; i++) {
		msgs[i] = (double)reps[i].msgs / reps[i].elapsed_s;
		bytes[i] = r->rep_headline[i] = msgs[i] * (double)r->size_bytes;
	}
	r->msgs_per_s = median(msgs, n);
	r->bytes_per_s = median(bytes, n);
}

/*
 * What the row cost the host: each side's CPU time and context switches over
 * its timed span, pooled over the repetitions and divided by the timed
 * messages; cores_busy relates both sides' CPU to the span's wall time.
 */
static void cpu_figures(struct row *r, const struct rep_result *reps, int n)
{
	double cpu[2] = { 0, 0 }, vcsw[2] = { 0, 0 }, ivcsw[2] = { 0, 0 }, wall = 0, msgs = 0;
	for (int i = 0; i < n; i++) {
		for (int side = 0; side < 2; side++) {
			cpu[side] += (double)reps[i].cpu[side].cpu_ns;
			vcsw[side] += (double)reps[i].cpu[side].vcsw;
			ivcsw[side] += (double)reps[i].cpu[side].ivcsw;
		}
		/* the side that times the row: A in pingpong; B in the others, solo rows included */
		const struct cpu_use *timed = &reps[i].cpu[r->pattern == PAT_PINGPONG ? TP_SIDE_A : TP_SIDE_B];
		wall += (double)timed->wall_ns;
		msgs += (double)reps[i].msgs;
	}
	if (msgs <= 0 || wall <= 0 || cpu[0] + cpu[1] <= 0)
		return;
	r->has_cpu = true;
	r->cpu.a_ns = cpu[0] / msgs;
	r->cpu.b_ns = cpu[1] / msgs;
	r->cpu.per_msg_ns = (cpu[0] + cpu[1]) / msgs;
	r->cpu.cores_busy = (cpu[0] + cpu[1]) / wall;
	r->cpu.a_vcsw = vcsw[0] / msgs;
	r->cpu.a_ivcsw = ivcsw[0] / msgs;
	r->cpu.b_vcsw = vcsw[1] / msgs;
	r->cpu.b_ivcsw = ivcsw[1] / msgs;
}

/* Pairs side by side: the rates added up, and the fastest and slowest pair (fairness). */
static void pair_figures(struct row *r, const struct rep_result *reps, int n)
{
	double agg[ROW_MAX_REPS];
	r->per_pair.p50_min = r->per_pair.p99_min = r->per_pair.rate_min = INFINITY;
	r->per_pair.p50_max = r->per_pair.p99_max = r->per_pair.rate_max = -INFINITY;
	for (int i = 0; i < n; i++) {
		agg[i] = 0;
		for (int l = 0; l < reps[i].lanes; l++) {
			const struct lane_result *lr = &reps[i].lane[l];
			agg[i] += lr->msgs_per_s;
			r->per_pair.p50_min = fmin(r->per_pair.p50_min, lr->p50_ns);
			r->per_pair.p50_max = fmax(r->per_pair.p50_max, lr->p50_ns);
			r->per_pair.p99_min = fmin(r->per_pair.p99_min, lr->p99_ns);
			r->per_pair.p99_max = fmax(r->per_pair.p99_max, lr->p99_ns);
			r->per_pair.rate_min = fmin(r->per_pair.rate_min, lr->msgs_per_s);
			r->per_pair.rate_max = fmax(r->per_pair.rate_max, lr->msgs_per_s);
		}
	}
	if (r->has_rtt) { /* the pooled round trips give one pair's rate; the row gives them all */
		r->msgs_per_s = median(agg, n);
		r->bytes_per_s = r->msgs_per_s * 2 * (double)r->size_bytes;
	}
}

/* Spread, the 95% interval and the noisy mark, all around the headline over the repetitions. */
static void confidence(struct row *r)
{
	double v[ROW_MAX_REPS], coverage;
	int n = r->reps;
	memcpy(v, r->rep_headline, (size_t)n * sizeof(*v));
	r->spread_pct = spread(v, n);
	double head = row_headline(r);
	/* noisy when either end is more than 5% away: a lopsided interval ([-8%, +1%]) has a half-width under 5% */
	if (median_ci95(v, n, &r->ci95_low, &r->ci95_high, &coverage))
		r->noisy = head - r->ci95_low > 0.05 * head || r->ci95_high - head > 0.05 * head;
}

void row_from_reps(struct row *r, const struct case_spec *c, const struct rep_result *reps, int n)
{
	memset(r, 0, sizeof(*r));
	r->ops = c->ops;
	r->pattern = c->pattern;
	r->size_bytes = c->msg_bytes;
	r->placement = c->placement;
	r->senders = c->senders;
	r->pairs = c->pairs > 1 ? c->pairs : 1;
	r->cpus[0] = c->cpu[0];
	r->cpus[1] = c->cpu[1];
	r->spread_pct = NAN;
	r->ci95_low = r->ci95_high = NAN;
	r->floor_ratio = NAN;
	r->reps = n;
	r->duration_ns = c->duration_ns;
	r->warmup_ns = c->warmup_ns;
	for (int i = 0; i < n; i++) {
		r->errors.lost += reps[i].errors.lost;
		r->errors.duplicate += reps[i].errors.duplicate;
		r->errors.reordered += reps[i].errors.reordered;
		r->errors.corrupt += reps[i].errors.corrupt;
		r->samples += reps[i].msgs;
		if (!reps[i].ok && r->status != ROW_FAILED) {
			r->status = ROW_FAILED;
			if (n > 1)
				snprintf(r->reason, sizeof(r->reason), "repetition %d: %.200s", i + 1, reps[i].reason);
			else
				snprintf(r->reason, sizeof(r->reason), "%s", reps[i].reason);
		}
	}
	if (r->status == ROW_FAILED || n == 0) {
		r->status = ROW_FAILED;
		return;
	}
	r->has_rtt = c->pattern == PAT_PINGPONG || c->pattern == PAT_ONEWAY;
	if (r->has_rtt)
		pingpong_figures(r, reps, n);
	else
		stream_figures(r, reps, n);
	if (c->pattern == PAT_ONEWAY)
		r->msgs_per_s = r->bytes_per_s = NAN; /* one message in flight, timed one way: no rate of its own */
	if (c->rate_per_s > 0)
		rate_figures(r, c, reps, n);
	if (r->pairs > 1)
		pair_figures(r, reps, n);
	cpu_figures(r, reps, n);
	confidence(r);
	r->floor_best = row_headline(r);
}

/* The kind of floor a row is read over: what it cannot do better than (docs/methodology.md). */
static const char *floor_kind_of(const struct transport_ops *ops, enum pattern pattern)
{
	if (pattern == PAT_ONEWAY || pattern == PAT_FANIN)
		return NULL; /* no floor times one way, or carries several senders */
	if (pattern == PAT_STREAM && (ops->flags & TP_ZERO_COPY))
		return NULL; /* the copy floor bounds streams that copy; a loan moves no payload between the CPUs */
	if (pattern == PAT_STREAM)
		return "xcopy"; /* B copies out what A copied in, between the two CPUs */
	return ops->flags & (TP_SPIN_ONLY | TP_SPINS_FIRST) ? "cacheline" : "wake";
}

static const char *floor_kind(const struct row *r)
{
	return floor_kind_of(r->ops, r->pattern);
}

static bool in_floor_group(const struct row *r)
{
	return strcmp(r->ops->group, "floor") == 0;
}

/*
 * A floor row between two CPUs is the floor of its own kind, for rows between
 * the same two CPUs (--placement runs the floors once per placement);
 * floor-memcpy (one CPU, solo) is the floor of none.
 */
static bool is_floor_of(const struct row *f, const char *kind, uint64_t size_bytes, const int cpus[2])
{
	return f->status == ROW_OK && in_floor_group(f) && !f->ops->solo && floor_kind(f) && strcmp(floor_kind(f), kind) == 0 &&
	       (f->has_rtt || f->size_bytes == size_bytes) && f->cpus[0] == cpus[0] && f->cpus[1] == cpus[1];
}

struct row *row_floor_for(struct row *rows, int n, const struct transport_ops *ops, enum pattern pattern,
			  uint64_t size_bytes, const int cpus[2])
{
	const char *kind = floor_kind_of(ops, pattern);
	for (int j = 0; kind && j < n; j++)
		if (is_floor_of(&rows[j], kind, size_bytes, cpus))
			return &rows[j];
	return NULL;
}

void row_floor_probe(struct row *f, double headline)
{
	f->floor_probes++;
	if (f->has_rtt ? headline < f->floor_best : headline > f->floor_best)
		f->floor_best = headline;
}

/*
 * A row is divided by the best its floor reached up to the row's own time (the
 * floor row, or a probe of it taken just before the row): on a shared host the
 * two CPUs move closer and apart within seconds, and a floor caught in a slow
 * moment would let a row measured in a fast one "beat" it. A row keeps the
 * ratio it was printed with.
 */
void row_apply_floor(struct row *rows, int n, struct row *r)
{
	if (r->status != ROW_OK || in_floor_group(r) || r->floor)
		return;
	const struct row *f = row_floor_for(rows, n, r->ops, r->pattern, r->size_bytes, r->cpus);
	if (!f)
		return;
	r->floor = floor_kind(r);
	r->floor_ratio = r->has_rtt ? r->rtt_ns.p50 / f->floor_best : r->bytes_per_s / f->floor_best;
}

void rows_apply_floor(struct row *rows, int n)
{
	for (int i = 0; i < n; i++)
		row_apply_floor(rows, n, &rows[i]);
}
