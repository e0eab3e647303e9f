/* The round-trip time distribution at one size on a nines axis: percentiles-GROUP (64 B) and percentiles-GROUP-4K. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "plots/charts_int.h"
#include "results/doc.h"

#define NINES_MIN_POINTS 24 /* a line from a histogram has at least this many points before its max */
#define NINES_STEP 0.1      /* and one every tenth of a nine when it is longer than 2.4 nines */
#define NINES_MARK 0.5      /* a marker every half nine, so the line can be told apart in greyscale */

/* Where percentile p (0..1) sits on the nines axis: 90% at 1, 99% at 2, 99.9% at 3. */
static double nines_x(double p)
{
	return -log10(1 - p);
}

/*
 * The row's merged histogram as quantiles on an even grid of the nines axis up to
 * 1 - 1/N, then the max there: the N-th of N round trips. Returns the points
 * written, 0 when the row carries no usable histogram; *x_end is the max's x,
 * *mark_every how many points apart a marker goes.
 */
static int nines_from_histogram(FILE *f, const json_t *r, double *x_end, int *mark_every)
{
	const json_t *h = json_object_get(r, "histogram");
	const json_t *values = json_object_get(h, "value_ns"), *counts = json_object_get(h, "count");
	size_t nb = json_array_size(values);
	double min = chart_rtt(r, "min"), max = chart_rtt(r, "max"), total = 0;
	if (nb == 0 || json_array_size(counts) != nb || !isfinite(min) || !isfinite(max))
		return 0;
	for (size_t b = 0; b < nb; b++)
		total += json_number_value(json_array_get(counts, b));
	if (!(total >= 2))
		return 0;
	double x_max = log10(total);
	int k = (int)ceil(x_max / NINES_STEP);
	k = k < NINES_MIN_POINTS ? NINES_MIN_POINTS : k;
	size_t b = 0;
	double through = json_number_value(json_array_get(counts, 0)); /* round trips in buckets 0..b */
	for (int i = 0; i < k; i++) {
		double x = x_max * i / k;
		double rank = ceil((1 - pow(10, -x)) * total - 1e-9); /* the rank-th smallest round trip */
		rank = rank < 1 ? 1 : rank;
		while (b + 1 < nb && through < rank)
			through += json_number_value(json_array_get(counts, ++b));
		double v = json_number_value(json_array_get(values, b)); /* the bucket's midpoint: clamp to what was seen */
		fprintf(f, "%.4f %.10g\n", x, v < min ? min : v > max ? max : v);
	}
	fprintf(f, "%.4f %.10g\n", x_max, max);
	*x_end = x_max;
	*mark_every = (int)lround(NINES_MARK / (x_max / k));
	*mark_every = *mark_every < 1 ? 1 : *mark_every;
	return k + 1;
}

/* An older file without histograms: the percentile fields that are backed (not null), and the max. */
static int nines_from_fields(FILE *f, const json_t *r, double *x_end)
{
	static const struct {
		const char *key;
		double p;
	} pts[] = { { "min", 0 }, { "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "p999", 0.999 } };
	int n = 0;
	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++)
		if (isfinite(chart_rtt(r, pts[i].key))) {
			*x_end = nines_x(pts[i].p);
			fprintf(f, "%.4f %.10g\n", *x_end, chart_rtt(r, pts[i].key));
			n++;
		}
	double samples = doc_num(r, "samples");
	if (samples >= 2 && isfinite(chart_rtt(r, "max")) && log10(samples) > *x_end) {
		*x_end = log10(samples);
		fprintf(f, "%.4f %.10g\n", *x_end, chart_rtt(r, "max"));
		n++;
	}
	return n;
}

/* The series drawn: their styles, which are lines and which points, and each line's marker spacing. */
struct nines {
	struct words w;
	char lines[256], dots[256], marks[256];
	double x_end;
};

static void nines_list(char *list, size_t len, int v)
{
	size_t at = strlen(list);
	snprintf(list + at, len - at, "%s%d", at ? " " : "", v);
}

/* One mechanism's block at size; false when it has no row there. */
static bool nines_series(struct charts_run *cr, FILE *f, const struct series *s, double size, struct nines *d)
{
	const json_t *r = chart_row_at(cr, s->name, "pingpong", size);
	if (!r || !isfinite(chart_rtt(r, "p50")))
		return false;
	chart_block(f, d->w.n, s->name);
	double x = 0;
	int every = 1;
	if (nines_from_histogram(f, r, &x, &every) > 0) {
		nines_list(d->lines, sizeof(d->lines), d->w.n + 1);
		nines_list(d->marks, sizeof(d->marks), every);
	} else {
		nines_from_fields(f, r, &x);
		nines_list(d->dots, sizeof(d->dots), d->w.n + 1);
	}
	words_add(&d->w, s);
	d->x_end = x > d->x_end ? x : d->x_end;
	return true;
}

/* "64 B", "4 KiB": a size in a sentence. */
static const char *nines_size_words(double size, char *buf, size_t len)
{
	char s[16];
	format_size((uint64_t)size, s, sizeof(s));
	size_t n = strlen(s);
	if (n && (s[n - 1] < '0' || s[n - 1] > '9'))
		snprintf(buf, len, "%.*s %ciB", (int)(n - 1), s, s[n - 1]);
	else
		snprintf(buf, len, "%s B", s);
	return buf;
}

int chart_percentiles(struct charts_run *cr, const char *group, double size)
{
	if (!isfinite(size) || !isfinite(chart_small_size(cr, group)))
		return 0;
	bool any = false;
	for (int m = 0; m < cr->n_mech && !any; m++) {
		const char *mech = cr->mech[m].name;
		const json_t *r = strcmp(cr->mech[m].group, group) ? NULL : chart_row_at(cr, mech, "pingpong", size);
		any = r && isfinite(chart_rtt(r, "p50"));
	}
	if (!any)
		return 0;
	char name[48], sz[16], words[24];
	format_size((uint64_t)size, sz, sizeof(sz));
	nines_size_words(size, words, sizeof(words));
	if (size == chart_small_size(cr, group))
		snprintf(name, sizeof(name), "percentiles-%s", group);
	else
		snprintf(name, sizeof(name), "percentiles-%s-%s", group, sz);
	FILE *f = chart_open(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: pingpong round-trip time distribution %s at %.0f B; one block per mechanism; "
		   "columns: x_nines rtt_ns (x = -log10(1 - p); the last point is the max, at 1 - 1/round trips)\n",
		chart_group_words(group), size);
	struct nines d = { .x_end = 2 }; /* at least up to the 99% tic */
	for (int m = 0; m < cr->n_mech; m++) /* the group's mechanisms, then the floors measured at this size */
		if (strcmp(cr->mech[m].group, group) == 0)
			nines_series(cr, f, &cr->mech[m], size, &d);
	for (int m = 0; m < cr->n_mech; m++)
		if (chart_is_floor(cr->mech[m].group))
			nines_series(cr, f, &cr->mech[m], size, &d);
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char title[200], caption[320], subtitle[600], xmax[16];
	snprintf(xmax, sizeof(xmax), "%.2f", ceil((d.x_end + 0.15) * 4) / 4);
	snprintf(title, sizeof(title), "Round-trip time distribution at %s, %s (pingpong, every round trip)", words,
		 chart_group_words(group));
	snprintf(caption, sizeof(caption),
		 "Round-trip time at %s %s by percentile, on a nines axis (90%%, 99%%, 99.9%% equally spaced), "
		 "from every round trip; each line ends at the slowest (max)%s.", words, chart_group_words(group),
		 *d.dots ? "; points alone: a row without its histogram, only its backed percentiles" : "");
	chart_rows_subtitle(cr, "every round trip of", subtitle, sizeof(subtitle));
	const struct param p[] = {
		{ "NAMES", d.w.names }, { "COLORS", d.w.colours }, { "POINTS", d.w.points }, { "DASHES", d.w.dashes },
		{ "LINES", d.lines }, { "MARKS", d.marks }, { "DOTS", d.dots }, { "XMAX", xmax },
	};
	return chart_finish(cr, name, "percentiles", title, subtitle, caption, p, (int)(sizeof(p) / sizeof(p[0])));
}
