/* Reducing repetitions to a row, and relating rows to the hardware floor. */
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

/* The figures of one repetition, in a fixed order, so each can take its median. */
enum fig { F_MIN, F_P50, F_P90, F_P99, F_P999, F_MAX, F_MEAN, F_MSGS, F_BYTES, F_COUNT };

static void rep_figures(const struct rep_result *rep, uint64_t size, bool pingpong, double *f)
{
	const struct hist *h = &rep->rtt;
	f[F_MIN] = (double)h->min;
	f[F_P50] = (double)hist_percentile(h, 50);
	f[F_P90] = (double)hist_percentile(h, 90);
	f[F_P99] = (double)hist_percentile(h, 99);
	f[F_P999] = (double)hist_percentile(h, 99.9);
	f[F_MAX] = (double)h->max;
	f[F_MEAN] = hist_mean(h);
	f[F_MSGS] = (double)rep->msgs / rep->elapsed_s;
	f[F_BYTES] = f[F_MSGS] * (double)size * (pingpong ? 2 : 1);
}

void row_from_reps(struct row *r, const struct case_spec *c, const struct rep_result *reps, int n)
{
	memset(r, 0, sizeof(*r));
	r->ops = c->ops;
	r->pattern = c->pattern;
	r->size_bytes = c->msg_bytes;
	r->spread_pct = NAN;
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
	bool pingpong = c->pattern == PAT_PINGPONG;
	double fig[F_COUNT][n];
	for (int i = 0; i < n; i++) {
		double f[F_COUNT];
		rep_figures(&reps[i], c->msg_bytes, pingpong, f);
		for (int k = 0; k < F_COUNT; k++)
			fig[k][i] = f[k];
	}
	r->has_rtt = pingpong;
	r->rtt_ns.min = median(fig[F_MIN], n);
	r->rtt_ns.p50 = median(fig[F_P50], n);
	r->rtt_ns.p90 = median(fig[F_P90], n);
	r->rtt_ns.p99 = median(fig[F_P99], n);
	r->rtt_ns.p999 = median(fig[F_P999], n);
	r->rtt_ns.max = median(fig[F_MAX], n);
	r->rtt_ns.mean = median(fig[F_MEAN], n);
	r->msgs_per_s = median(fig[F_MSGS], n);
	r->bytes_per_s = median(fig[F_BYTES], n);
	r->spread_pct = spread(pingpong ? fig[F_P50] : fig[F_BYTES], n);
}

static bool is_floor(const struct row *r)
{
	return r->status == ROW_OK && strcmp(r->ops->group, "floor") == 0;
}

void rows_apply_floor(struct row *rows, int n)
{
	const struct row *lat = NULL;
	for (int i = 0; i < n; i++)
		if (is_floor(&rows[i]) && rows[i].has_rtt)
			lat = &rows[i];
	for (int i = 0; i < n; i++) {
		struct row *r = &rows[i];
		if (r->status != ROW_OK || is_floor(r))
			continue;
		if (r->has_rtt && lat) {
			r->floor_ratio = r->rtt_ns.p50 / lat->rtt_ns.p50;
			continue;
		}
		for (int j = 0; j < n && !r->has_rtt; j++)
			if (is_floor(&rows[j]) && !rows[j].has_rtt && rows[j].size_bytes == r->size_bytes)
				r->floor_ratio = r->bytes_per_s / rows[j].bytes_per_s;
	}
}
