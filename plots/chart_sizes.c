/* The charts over message size: round-trip time (latency-GROUP) and stream throughput (throughput-GROUP). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "plots/charts_int.h"
#include "results/doc.h"

/* What sets the two charts apart. */
struct size_kind {
	const char *pattern;
	const char *best_key; /* on a floor row: the best it reached in the run, what rows are divided by */
	double (*headline)(const json_t *r);
	const char *(*format)(double v, char *buf, size_t len);
};

static double sizes_p50(const json_t *r)
{
	return chart_rtt(r, "p50");
}

static double sizes_rate(const json_t *r)
{
	double v = doc_num(r, "bytes_per_s");
	return v > 0 ? v : NAN;
}

static const struct size_kind sizes_latency = { "pingpong", "best_rtt_ns_p50", sizes_p50, fmt_ns };
static const struct size_kind sizes_throughput = { "stream", "best_bytes_per_s", sizes_rate, fmt_rate };

/* Where a line stops because the sizes after its last point are unsupported. */
struct size_stop {
	double size, value, unsupported_from;
	const char *mech, *colour;
};

/* The blocks of one size chart: mechanisms, then floors, then the stops; and its size tics. */
struct size_data {
	struct words mech, floors;
	struct size_stop stop[MAX_SERIES];
	int n_stops;
	double sizes[MAX_POINTS];
	int n_sizes;
	char xtics[2048];
};

static void sizes_add_size(struct size_data *d, double size)
{
	for (int i = 0; i < d->n_sizes; i++)
		if (d->sizes[i] == size)
			return;
	if (d->n_sizes < MAX_POINTS)
		d->sizes[d->n_sizes++] = size;
}

static int sizes_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* `("64" 64, "4K" 4096)`: a tic at every size measured, labelled as -s takes it. */
static const char *sizes_xtics(struct size_data *d)
{
	qsort(d->sizes, (size_t)d->n_sizes, sizeof(double), sizes_cmp);
	size_t at = (size_t)snprintf(d->xtics, sizeof(d->xtics), "(");
	for (int i = 0; i < d->n_sizes && at < sizeof(d->xtics); i++) {
		char s[16];
		format_size((uint64_t)d->sizes[i], s, sizeof(s));
		at += (size_t)snprintf(d->xtics + at, sizeof(d->xtics) - at, "%s\"%s\" %.0f", i ? ", " : "", s,
				       d->sizes[i]);
	}
	if (at < sizeof(d->xtics))
		snprintf(d->xtics + at, sizeof(d->xtics) - at, ")");
	return d->xtics;
}

/* One mechanism's rows with a headline; 0 when it has none. */
static int sizes_rows(const struct charts_run *cr, const struct series *s, const struct size_kind *k,
		      const json_t **rows)
{
	const json_t *all[MAX_POINTS];
	int n = chart_rows(cr, s->name, k->pattern, all), m = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(k->headline(all[i])))
			rows[m++] = all[i];
	return m;
}

static bool sizes_group_has_rows(const struct charts_run *cr, const char *group, const struct size_kind *k)
{
	const json_t *rows[MAX_POINTS];
	for (int m = 0; m < cr->n_mech; m++)
		if (strcmp(cr->mech[m].group, group) == 0 && sizes_rows(cr, &cr->mech[m], k, rows) > 0)
			return true;
	return false;
}

/* A mechanism's block, size headline ci_low ci_high, and where its line stops, if it does. */
static void sizes_write_mech(const struct charts_run *cr, FILE *f, const struct series *s, const struct size_kind *k,
			     struct size_data *d)
{
	const json_t *rows[MAX_POINTS];
	int n = sizes_rows(cr, s, k, rows);
	if (n == 0)
		return;
	chart_block(f, d->mech.n, s->name);
	words_add(&d->mech, s);
	for (int i = 0; i < n; i++) {
		double size = doc_num(rows[i], "size_bytes"), v = k->headline(rows[i]), low, high;
		chart_ci(rows[i], v, &low, &high);
		sizes_add_size(d, size);
		fprintf(f, "%.0f %.10g %.10g %.10g\n", size, v, low, high);
	}
	double last = doc_num(rows[n - 1], "size_bytes");
	double from = chart_unsupported_after(cr, s->name, k->pattern, last);
	if (isfinite(from) && d->n_stops < MAX_SERIES)
		d->stop[d->n_stops++] = (struct size_stop){ last, k->headline(rows[n - 1]), from, s->name, s->style.colour };
}

/* A floor's block, size value "label": the best it reached in the run where the row says, else its own figure. */
static void sizes_write_floor(const struct charts_run *cr, FILE *f, const struct series *s,
			      const struct size_kind *k, struct size_data *d)
{
	const json_t *rows[MAX_POINTS];
	int n = sizes_rows(cr, s, k, rows);
	if (n == 0)
		return;
	chart_block(f, d->mech.n + d->floors.n, s->name);
	words_add(&d->floors, s);
	for (int i = 0; i < n; i++) {
		double best = doc_num(rows[i], k->best_key), v = isfinite(best) ? best : k->headline(rows[i]);
		char t[32];
		sizes_add_size(d, doc_num(rows[i], "size_bytes"));
		fprintf(f, "%.0f %.10g \"%s %s\"\n", doc_num(rows[i], "size_bytes"), v,
			isfinite(best) ? "best in run" : "median", k->format(v, t, sizeof(t)));
	}
}

static int sizes_cmp_stop(const void *a, const void *b)
{
	const struct size_stop *x = a, *y = b;
	if (x->size != y->size)
		return (x->size > y->size) - (x->size < y->size);
	return (x->value < y->value) - (x->value > y->value); /* highest first */
}

/*
 * The stops, size value "label" rgb label_value: labels of lines that stop at
 * the same size are pushed apart (LABEL_GAP times at least) so none covers another.
 */
#define LABEL_GAP 1.6
static void sizes_write_stops(FILE *f, struct size_data *d)
{
	if (d->n_stops == 0)
		return;
	qsort(d->stop, (size_t)d->n_stops, sizeof(d->stop[0]), sizes_cmp_stop);
	chart_block(f, d->mech.n + d->floors.n, "lines that stop: the next sizes are unsupported");
	double label_at = NAN;
	for (int i = 0; i < d->n_stops; i++) {
		const struct size_stop *s = &d->stop[i];
		bool below_last = i > 0 && d->stop[i - 1].size == s->size && s->value * LABEL_GAP > label_at;
		label_at = below_last ? label_at / LABEL_GAP : s->value;
		char from[16];
		format_size((uint64_t)s->unsupported_from, from, sizeof(from));
		fprintf(f, "%.0f %.10g \"%s: unsupported from %s\" %ld %.10g\n", s->size, s->value, s->mech, from,
			strtol(s->colour + 1, NULL, 16), label_at);
	}
}

/* NAME.dat of a size chart: the group's mechanisms, then the floors of the same pattern, then the stops. */
static int sizes_write(struct charts_run *cr, const char *name, const char *group, const struct size_kind *k,
		       const char *columns, struct size_data *d)
{
	FILE *f = chart_open(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: %s %s; blocks: one per mechanism (columns: %s), then one per floor "
		   "(size_bytes value \"label\"), then the lines that stop (size_bytes value \"label\" rgb label_value)\n",
		k->pattern, chart_group_words(group), columns);
	for (int m = 0; m < cr->n_mech; m++)
		if (strcmp(cr->mech[m].group, group) == 0)
			sizes_write_mech(cr, f, &cr->mech[m], k, d);
	for (int m = 0; m < cr->n_mech; m++)
		if (chart_is_floor(cr->mech[m].group))
			sizes_write_floor(cr, f, &cr->mech[m], k, d);
	sizes_write_stops(f, d);
	return chart_close(cr, f, name, "dat");
}

/* The parameters both templates take. */
static int sizes_params(struct size_data *d, char *stops, size_t len, struct param *p)
{
	snprintf(stops, len, "%d", d->n_stops > 0);
	const struct param all[] = {
		{ "NAMES", d->mech.names }, { "COLORS", d->mech.colours }, { "POINTS", d->mech.points },
		{ "DASHES", d->mech.dashes }, { "FLOOR_NAMES", d->floors.names }, { "FLOOR_COLORS", d->floors.colours },
		{ "FLOOR_POINTS", d->floors.points }, { "FLOOR_DASHES", d->floors.dashes }, { "STOPS", stops },
		{ "XTICS", sizes_xtics(d) },
	};
	memcpy(p, all, sizeof(all));
	return (int)(sizeof(all) / sizeof(all[0]));
}

int chart_latency(struct charts_run *cr, const char *group)
{
	if (!sizes_group_has_rows(cr, group, &sizes_latency))
		return 0;
	char name[48], title[200], caption[320], subtitle[600], stops[4];
	snprintf(name, sizeof(name), "latency-%s", group);
	struct size_data *d = calloc(1, sizeof(*d));
	if (!d || sizes_write(cr, name, group, &sizes_latency, "size_bytes p50_ns ci95_low_ns ci95_high_ns", d)) {
		free(d);
		return -1;
	}
	snprintf(title, sizeof(title), "Round-trip time vs message size, %s (pingpong p50, 95%% interval)",
		 chart_group_words(group));
	snprintf(caption, sizeof(caption),
		 "Round-trip time %s by message size (log-log): the p50, its bar the 95%% interval over the "
		 "repetitions%s; x: the sizes after are unsupported.", chart_group_words(group),
		 d->floors.n ? "; floors: a short mark at the size they were measured at, at the best p50 they reached" : "");
	chart_rows_subtitle(cr, "p50: median of", subtitle, sizeof(subtitle));
	struct param p[16];
	int np = sizes_params(d, stops, sizeof(stops), p);
	int rc = chart_finish(cr, name, "latency", title, subtitle, caption, p, np);
	free(d);
	return rc;
}

int chart_throughput(struct charts_run *cr, const char *group)
{
	if (!sizes_group_has_rows(cr, group, &sizes_throughput))
		return 0;
	char name[48], title[200], caption[320], subtitle[600], stops[4];
	snprintf(name, sizeof(name), "throughput-%s", group);
	struct size_data *d = calloc(1, sizeof(*d));
	if (!d || sizes_write(cr, name, group, &sizes_throughput,
			      "size_bytes bytes_per_s ci95_low ci95_high", d)) {
		free(d);
		return -1;
	}
	snprintf(title, sizeof(title), "Stream throughput vs message size, %s (95%% interval)",
		 chart_group_words(group));
	snprintf(caption, sizeof(caption),
		 "Stream throughput %s by message size, bytes per second the receiver got (log-log), its bar "
		 "the 95%% interval over the repetitions%s; x: the sizes after are unsupported.", chart_group_words(group),
		 d->floors.n ? "; dashed: the floors, at the best each reached in the run, what x floor divides by "
				     "(one no row is divided by: its median)" : "");
	chart_rows_subtitle(cr, "bytes per second: median of", subtitle, sizeof(subtitle));
	struct param p[16];
	int np = sizes_params(d, stops, sizeof(stops), p);
	int rc = chart_finish(cr, name, "throughput", title, subtitle, caption, p, np);
	free(d);
	return rc;
}
