/* The chart generator: a .dat per chart from the results, a .gp from its plots/NAME.gp template, gnuplot run on it. */
#include "plots/charts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "output.h"
#include "parse.h"
#include "plots/gnuplot.h"
#include "plots/templates.h"
#include "registry.h"
#include "report.h"

#define MAX_SERIES 64
#define MAX_POINTS 64

/* Distinct colours indexed by registry position, so a mechanism looks the same in every chart. */
static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
	"#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#000000",
	"#3182bd", "#e6550d", "#31a354", "#756bb1",
};
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

/* Filled markers first; with the colour they tell neighbouring palette entries apart. */
static const int point_types[] = { 7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14, 2, 3 };
#define POINTS_N (sizeof(point_types) / sizeof(point_types[0]))

/* Colours of the spawn bars: the process way and the thread way of starting work. */
#define SPAWN_PROCESS_RGB "#1f77b4"
#define SPAWN_THREAD_RGB "#ff7f0e"

/* One mechanism as a line in a chart. */
struct series {
	const char *name;
	const char *group;
	int slot; /* registry position: picks colour and marker */
};

/* What every chart of one document shares. */
struct charts_run {
	const char *dir;
	const json_t *doc;
	const json_t *results;
	struct chart_set *set;
	struct series mech[MAX_SERIES]; /* every mechanism in the document, in order of appearance */
	int n_mech;
	char subtitle[512];
	int timeout_s;
	bool gnuplot;
};

/* A template parameter: @KEY@ in plots/NAME.gp becomes value. */
struct param {
	const char *key;
	const char *value;
};

/* --- reading the results --- */

static bool row_ok(const json_t *r)
{
	return strcmp(doc_str(r, "status"), "ok") == 0;
}

static bool is_floor_group(const char *group)
{
	return strcmp(group, "floor") == 0;
}

/* A mechanism's registry position; names this build does not know go after the registry. */
static int mech_slot(const char *name, int unknown_seen)
{
	int n = 0;
	for (; transport_registry[n]; n++)
		if (strcmp(transport_registry[n]->name, name) == 0)
			return n;
	return n + unknown_seen;
}

static void collect_mechanisms(struct charts_run *cr)
{
	size_t i;
	json_t *r;
	int unknown = 0;
	json_array_foreach(cr->results, i, r) {
		const char *name = doc_str(r, "mechanism");
		int k = 0;
		while (k < cr->n_mech && strcmp(cr->mech[k].name, name) != 0)
			k++;
		if (k < cr->n_mech || cr->n_mech == MAX_SERIES)
			continue;
		int slot = mech_slot(name, unknown);
		unknown += !transport_find(name);
		cr->mech[cr->n_mech++] = (struct series){ name, doc_str(r, "group"), slot };
	}
}

static int cmp_row_size(const void *a, const void *b)
{
	double x = doc_num(*(const json_t *const *)a, "size_bytes");
	double y = doc_num(*(const json_t *const *)b, "size_bytes");
	return (x > y) - (x < y);
}

/* The ok rows of one mechanism and pattern, smallest size first. */
static int rows_of(const struct charts_run *cr, const char *mech, const char *pattern, const json_t **out)
{
	size_t i;
	json_t *r;
	int n = 0;
	json_array_foreach(cr->results, i, r)
		if (n < MAX_POINTS && row_ok(r) && !doc_is_variant(r) && strcmp(doc_str(r, "mechanism"), mech) == 0 &&
		    strcmp(doc_str(r, "pattern"), pattern) == 0)
			out[n++] = r;
	qsort(out, (size_t)n, sizeof(*out), cmp_row_size);
	return n;
}

static double rtt(const json_t *r, const char *key)
{
	return doc_num(json_object_get(r, "rtt_ns"), key);
}

/* The ok row of mech at exactly size, or NULL. */
static const json_t *row_at(const struct charts_run *cr, const char *mech, const char *pattern, double size)
{
	const json_t *rows[MAX_POINTS];
	int n = rows_of(cr, mech, pattern, rows);
	for (int i = 0; i < n; i++)
		if (doc_num(rows[i], "size_bytes") == size)
			return rows[i];
	return NULL;
}

static const char *group_words(const char *group)
{
	if (strcmp(group, "process") == 0)
		return "between processes";
	if (strcmp(group, "thread") == 0)
		return "between threads of one process";
	return group;
}

/* --- files --- */

static FILE *open_file(const struct charts_run *cr, const char *name, const char *ext)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.%s", cr->dir, name, ext);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

static int close_file(const struct charts_run *cr, FILE *f, const char *name, const char *ext)
{
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ipcbench: writing %s/%s.%s failed\n", cr->dir, name, ext);
	return bad ? -1 : 0;
}

/* Copy a value into a single-quoted gnuplot string, where only ' needs escaping (as ''). */
static void put_quoted_value(const char *v, FILE *out)
{
	for (; *v; v++) {
		if (*v == '\'')
			fputc('\'', out);
		fputc(*v, out);
	}
}

static const char *template_text(const char *name)
{
	for (const struct plot_template *t = plot_templates; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t->text;
	return NULL;
}

/* The template with every @KEY@ of params replaced by its value. */
static void fill_template(const char *text, const struct param *p, int np, FILE *out)
{
	while (*text) {
		const char *end = text[0] == '@' ? strchr(text + 1, '@') : NULL;
		int k = -1;
		for (int i = 0; end && i < np; i++)
			if ((size_t)(end - text - 1) == strlen(p[i].key) && !strncmp(text + 1, p[i].key, strlen(p[i].key)))
				k = i;
		if (k >= 0) {
			put_quoted_value(p[k].value, out);
			text = end + 1;
		} else {
			fputc(*text++, out);
		}
	}
}

/* Write NAME.gp from its template, record the chart, and render it when gnuplot is here. */
static int chart_finish(struct charts_run *cr, const char *name, const char *tpl, const char *title,
			const char *caption, const struct param *extra, int n_extra)
{
	const char *text = template_text(tpl);
	if (!text || cr->set->n == CHARTS_MAX) {
		fprintf(stderr, "ipcbench: chart %s: no template %s.gp in this build\n", name, tpl);
		return -1;
	}
	char data[80], output[80], script[80];
	snprintf(data, sizeof(data), "%s.dat", name);
	snprintf(output, sizeof(output), "%s.png", name);
	snprintf(script, sizeof(script), "%s.gp", name);
	struct param p[24] = {
		{ "TITLE", title }, { "SUBTITLE", cr->subtitle }, { "DATA", data }, { "OUTPUT", output },
		{ "SCRIPT", script },
	};
	int np = 5;
	for (int i = 0; i < n_extra && np < 24; i++)
		p[np++] = extra[i];
	FILE *f = open_file(cr, name, "gp");
	if (!f)
		return -1;
	fill_template(text, p, np, f);
	if (close_file(cr, f, name, "gp"))
		return -1;

	struct chart *c = &cr->set->chart[cr->set->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->caption, sizeof(c->caption), "%s", caption);
	c->rendered = false;
	if (!cr->gnuplot)
		return 0;
	char msg[2400];
	int rc = gnuplot_render(cr->dir, name, cr->timeout_s, msg, sizeof(msg));
	if (rc == -ETIMEDOUT)
		cr->gnuplot = false; /* one stuck gnuplot is enough waiting */
	if (rc != 0) {
		char png[4096];
		snprintf(png, sizeof(png), "%s/%s.png", cr->dir, name);
		unlink(png); /* a half-written or foreign file must not pass for the chart */
		fprintf(stderr, "ipcbench: chart %s: %s\n", png, msg);
		cr->set->failed++;
	} else {
		c->rendered = true;
	}
	return 0;
}

/* --- the series charts: one block per mechanism in NAME.dat --- */

/* The word lists (names, colours, markers, dash types) and size tics of a line chart. */
struct lines {
	char names[2048], colours[1024], points[256], dashes[256], xtics[2048];
	double sizes[MAX_POINTS];
	int n_sizes, n;
};

static void lines_add(struct lines *l, const struct series *s, bool dashed)
{
	size_t a = strlen(l->names), b = strlen(l->colours), c = strlen(l->points), d = strlen(l->dashes);
	const char *sep = l->n ? " " : "";
	snprintf(l->names + a, sizeof(l->names) - a, "%s%s", sep, s->name);
	snprintf(l->colours + b, sizeof(l->colours) - b, "%s%s", sep, palette[(size_t)s->slot % PALETTE_N]);
	snprintf(l->points + c, sizeof(l->points) - c, "%s%d", sep, point_types[(size_t)s->slot % POINTS_N]);
	snprintf(l->dashes + d, sizeof(l->dashes) - d, "%s%d", sep, dashed ? 2 : 1);
	l->n++;
}

static void lines_size(struct lines *l, double size)
{
	for (int i = 0; i < l->n_sizes; i++)
		if (l->sizes[i] == size)
			return;
	if (l->n_sizes < MAX_POINTS)
		l->sizes[l->n_sizes++] = size;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* `("64" 64, "4K" 4096)`: a tic at every size measured, labelled as -s takes it. */
static const char *lines_xtics(struct lines *l)
{
	qsort(l->sizes, (size_t)l->n_sizes, sizeof(double), cmp_double);
	size_t at = 0;
	at += (size_t)snprintf(l->xtics, sizeof(l->xtics), "(");
	for (int i = 0; i < l->n_sizes && at < sizeof(l->xtics); i++) {
		char s[16];
		format_size((uint64_t)l->sizes[i], s, sizeof(s));
		at += (size_t)snprintf(l->xtics + at, sizeof(l->xtics) - at, "%s\"%s\" %.0f", i ? ", " : "", s,
				       l->sizes[i]);
	}
	if (at < sizeof(l->xtics))
		snprintf(l->xtics + at, sizeof(l->xtics) - at, ")");
	return l->xtics;
}

static void block_start(FILE *f, int index, const char *name)
{
	fprintf(f, "%s# %s\n", index ? "\n\n" : "", name);
}

/* The floor-cacheline p50 RTT, or NAN without one. */
static double floor_rtt_ns(const struct charts_run *cr, const char **name, double *size)
{
	for (int m = 0; m < cr->n_mech; m++) {
		if (!is_floor_group(cr->mech[m].group))
			continue;
		const json_t *rows[MAX_POINTS];
		if (rows_of(cr, cr->mech[m].name, "pingpong", rows) > 0 && isfinite(rtt(rows[0], "p50"))) {
			*name = cr->mech[m].name;
			*size = doc_num(rows[0], "size_bytes");
			return rtt(rows[0], "p50");
		}
	}
	return NAN;
}

static int chart_latency(struct charts_run *cr, const char *group)
{
	char name[48];
	snprintf(name, sizeof(name), "latency-%s", group);
	struct lines l = { .n = 0 };
	FILE *f = NULL;
	for (int m = 0; m < cr->n_mech; m++) {
		const json_t *rows[MAX_POINTS];
		int n = strcmp(cr->mech[m].group, group) ? 0 : rows_of(cr, cr->mech[m].name, "pingpong", rows);
		int k = 0;
		while (k < n && !isfinite(rtt(rows[k], "p50")))
			k++;
		if (k == n)
			continue;
		if (!f && !(f = open_file(cr, name, "dat")))
			return -1;
		if (!l.n)
			fprintf(f, "# ipcbench: pingpong round-trip time %s; columns: size_bytes p50_us p99_us\n",
				group_words(group));
		block_start(f, l.n, cr->mech[m].name);
		lines_add(&l, &cr->mech[m], false);
		for (; k < n; k++) {
			double size = doc_num(rows[k], "size_bytes");
			if (!isfinite(rtt(rows[k], "p50")))
				continue;
			lines_size(&l, size);
			fprintf(f, "%.0f %.6g %.6g\n", size, rtt(rows[k], "p50") / 1e3, rtt(rows[k], "p99") / 1e3);
		}
	}
	if (!f)
		return 0;
	if (close_file(cr, f, name, "dat"))
		return -1;
	const char *floor_name = "";
	double floor_size = 0, floor_ns = floor_rtt_ns(cr, &floor_name, &floor_size);
	char floor_us[32] = "0", floor_label[160] = "", title[160], caption[200];
	if (isfinite(floor_ns)) {
		char t[24];
		snprintf(floor_us, sizeof(floor_us), "%.6g", floor_ns / 1e3);
		snprintf(floor_label, sizeof(floor_label), "hardware floor: %s p50 round trip, %s (%.0f B)",
			 floor_name, fmt_ns(floor_ns, t, sizeof(t)), floor_size);
	}
	snprintf(title, sizeof(title), "Round-trip time vs message size, %s (pingpong, p50 and p99)",
		 group_words(group));
	snprintf(caption, sizeof(caption),
		 "Round-trip time %s by message size: the point is the p50, the bar reaches the p99 (log-log).",
		 group_words(group));
	struct param p[] = {
		{ "NAMES", l.names }, { "COLORS", l.colours }, { "POINTS", l.points },
		{ "XTICS", lines_xtics(&l) }, { "FLOOR_US", floor_us }, { "FLOOR_LABEL", floor_label },
	};
	return chart_finish(cr, name, "latency", title, caption, p, (int)(sizeof(p) / sizeof(p[0])));
}

static int chart_throughput(struct charts_run *cr, const char *group)
{
	char name[48];
	snprintf(name, sizeof(name), "throughput-%s", group);
	struct lines l = { .n = 0 };
	FILE *f = NULL;
	/* the group's mechanisms first, then the floor rows (floor-xcopy, floor-memcpy) dashed for reference */
	for (int pass = 0; pass < 2; pass++)
		for (int m = 0; m < cr->n_mech; m++) {
			const struct series *s = &cr->mech[m];
			if (pass == 0 ? strcmp(s->group, group) != 0 : !is_floor_group(s->group))
				continue;
			const json_t *rows[MAX_POINTS];
			int n = rows_of(cr, s->name, "stream", rows), k = 0;
			while (k < n && !(doc_num(rows[k], "bytes_per_s") > 0))
				k++;
			if (k == n || (pass == 1 && l.n == 0))
				continue;
			if (!f && !(f = open_file(cr, name, "dat")))
				return -1;
			if (!l.n)
				fprintf(f, "# ipcbench: stream throughput %s (bytes the receiver got); "
					   "columns: size_bytes mb_per_s\n", group_words(group));
			block_start(f, l.n, s->name);
			lines_add(&l, s, pass == 1);
			for (; k < n; k++) {
				double bps = doc_num(rows[k], "bytes_per_s");
				if (!(bps > 0))
					continue;
				lines_size(&l, doc_num(rows[k], "size_bytes"));
				fprintf(f, "%.0f %.6g\n", doc_num(rows[k], "size_bytes"), bps / 1e6);
			}
		}
	if (!f)
		return 0;
	if (close_file(cr, f, name, "dat"))
		return -1;
	char title[160], caption[200];
	snprintf(title, sizeof(title), "Stream throughput vs message size, %s", group_words(group));
	snprintf(caption, sizeof(caption),
		 "Stream throughput %s by message size, in MB/s the receiver got (log-log)%s.",
		 group_words(group), strstr(l.dashes, "2") ? "; dashed: the floors (x floor is over floor-xcopy)" : "");
	struct param p[] = {
		{ "NAMES", l.names }, { "COLORS", l.colours }, { "POINTS", l.points },
		{ "DASHES", l.dashes }, { "XTICS", lines_xtics(&l) },
	};
	return chart_finish(cr, name, "throughput", title, caption, p, (int)(sizeof(p) / sizeof(p[0])));
}

/* One row's percentiles as points on the nines axis; returns the largest x written. */
static double write_nines(FILE *f, const json_t *r)
{
	static const struct {
		const char *key;
		double pct;
	} pts[] = { { "min", 0 }, { "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 } };
	double reps = doc_num(r, "repetitions");
	double per_rep = doc_num(r, "samples") / (reps >= 1 ? reps : 1);
	double last = 0;
	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		double x = -log10(1 - pts[i].pct / 100);
		/* a percentile needs at least one sample beyond it to mean anything */
		if (pow(10, x) > per_rep || !isfinite(rtt(r, pts[i].key)))
			continue;
		fprintf(f, "%.4f %.6g %s\n", x, rtt(r, pts[i].key) / 1e3, pts[i].key);
		last = x;
	}
	double xmax = per_rep > 1 ? log10(per_rep) : 0;
	if (xmax > last + 0.01 && isfinite(rtt(r, "max"))) {
		fprintf(f, "%.4f %.6g max\n", xmax, rtt(r, "max") / 1e3);
		last = xmax;
	}
	return last;
}

/* The size the distribution chart shows: 64 B when measured, else the smallest pingpong size. */
static double percentile_size(const struct charts_run *cr, const char *group)
{
	double best = NAN;
	size_t i;
	json_t *r;
	json_array_foreach(cr->results, i, r) {
		if (!row_ok(r) || (group && strcmp(doc_str(r, "group"), group)) || strcmp(doc_str(r, "pattern"), "pingpong") ||
		    !isfinite(rtt(r, "p50")))
			continue;
		double s = doc_num(r, "size_bytes");
		if (s == 64)
			return 64;
		if (!(s >= best))
			best = s;
	}
	return best;
}

static int chart_percentiles(struct charts_run *cr, const char *group)
{
	double size = percentile_size(cr, group);
	if (!isfinite(size))
		return 0;
	char name[48];
	snprintf(name, sizeof(name), "percentiles-%s", group);
	FILE *f = open_file(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: pingpong round-trip time distribution %s at %.0f B; columns: "
		   "x_nines rtt_us percentile (x = -log10(1 - p/100); max at 1 - 1/samples)\n",
		group_words(group), size);
	struct lines l = { .n = 0 };
	double xmax = 2; /* at least up to the 99% tic */
	for (int pass = 0; pass < 2; pass++)
		for (int m = 0; m < cr->n_mech; m++) {
			const struct series *s = &cr->mech[m];
			if (pass == 0 ? strcmp(s->group, group) != 0 : !is_floor_group(s->group))
				continue;
			const json_t *r = row_at(cr, s->name, "pingpong", size);
			if (!r || !isfinite(rtt(r, "p50")))
				continue;
			block_start(f, l.n, s->name);
			lines_add(&l, s, pass == 1);
			double x = write_nines(f, r);
			xmax = x > xmax ? x : xmax;
		}
	if (close_file(cr, f, name, "dat"))
		return -1;
	char sz[16], title[160], caption[200], xmax_s[16];
	format_size((uint64_t)size, sz, sizeof(sz));
	snprintf(xmax_s, sizeof(xmax_s), "%.2f", ceil((xmax + 0.2) * 4) / 4);
	snprintf(title, sizeof(title), "Round-trip time distribution at %s B, %s (pingpong)", sz, group_words(group));
	snprintf(caption, sizeof(caption),
		 "Round-trip time at %s B %s by percentile, on a nines axis (50%%, 90%%, 99%%, 99.9%%), ending at the max.",
		 sz, group_words(group));
	struct param p[] = {
		{ "NAMES", l.names }, { "COLORS", l.colours }, { "POINTS", l.points },
		{ "DASHES", l.dashes }, { "XMAX", xmax_s },
	};
	return chart_finish(cr, name, "percentiles", title, caption, p, (int)(sizeof(p) / sizeof(p[0])));
}

/* --- bar charts --- */

struct bar {
	const char *label;
	double value;
	const char *colour;
};

static int cmp_bar(const void *a, const void *b)
{
	double x = ((const struct bar *)a)->value, y = ((const struct bar *)b)->value;
	return (x > y) - (x < y);
}

/* The floor rows' p50 round trips at size, "floor-cacheline 140 ns, floor-wake 49.8 us", into buf. */
static const char *floor_values(const struct charts_run *cr, double size, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int m = 0; m < cr->n_mech && at < len; m++) {
		const json_t *r = is_floor_group(cr->mech[m].group) ? row_at(cr, cr->mech[m].name, "pingpong", size) : NULL;
		char t[24];
		double best = r ? doc_num(r, "best_rtt_ns_p50") : NAN; /* what the rows were divided by */
		double v = isfinite(best) ? best : r ? rtt(r, "p50") : NAN;
		if (isfinite(v))
			at += (size_t)snprintf(buf + at, len - at, "%s%s %s", at ? ", " : "", cr->mech[m].name,
					       fmt_ns(v, t, sizeof(t)));
	}
	return buf;
}

/* Each mechanism's p50 round trip over the floor of its kind (the row's "floor": cacheline or wake). */
static int chart_floor(struct charts_run *cr)
{
	const char *floor_name = "";
	double floor_size = 0, floor_ns = floor_rtt_ns(cr, &floor_name, &floor_size);
	if (!isfinite(floor_ns))
		return 0;
	struct bar bars[MAX_SERIES];
	char labels[MAX_SERIES][64];
	int n = 0;
	for (int m = 0; m < cr->n_mech; m++) {
		const json_t *r = row_at(cr, cr->mech[m].name, "pingpong", floor_size);
		double ratio = r ? doc_num(r, "floor_ratio") : NAN;
		if (!isfinite(ratio) || !(ratio > 0) || is_floor_group(cr->mech[m].group))
			continue;
		const char *kind = doc_str(r, "floor");
		snprintf(labels[n], sizeof(labels[n]), *kind ? "%s (%s)" : "%s", cr->mech[m].name, kind);
		bars[n] = (struct bar){ labels[n], ratio, palette[(size_t)cr->mech[m].slot % PALETTE_N] };
		n++;
	}
	if (n == 0)
		return 0;
	qsort(bars, (size_t)n, sizeof(*bars), cmp_bar);
	const char *name = "floor-ratio";
	FILE *f = open_file(cr, name, "dat");
	if (!f)
		return -1;
	char floors[200];
	floor_values(cr, floor_size, floors, sizeof(floors));
	fprintf(f, "# ipcbench: p50 round trip at %.0f B over the p50 round trip of the floor named in brackets "
		   "(%s); columns: mechanism floor_ratio rgb_colour\n", floor_size, floors);
	for (int i = 0; i < n; i++)
		fprintf(f, "\"%s\" %.6g %ld\n", bars[i].label, bars[i].value, strtol(bars[i].colour + 1, NULL, 16));
	if (close_file(cr, f, name, "dat"))
		return -1;
	char title[300], caption[200];
	snprintf(title, sizeof(title), "p50 round trip at %.0f B as a multiple of its floor (%s)", floor_size, floors);
	snprintf(caption, sizeof(caption),
		 "Each p50 round trip at %.0f B over the floor in brackets (cacheline: it spins; wake: it sleeps), "
		 "the best that floor reached in the run; lowest first.", floor_size);
	return chart_finish(cr, name, "floor", title, caption, NULL, 0);
}

/*
 * Is row i on the Pareto front of (cpu, rtt): no other row at least as good in
 * both and better in one?
 */
static bool on_front(const double *cpu, const double *rtt_ns, int n, int i)
{
	for (int j = 0; j < n; j++)
		if (j != i && cpu[j] <= cpu[i] && rtt_ns[j] <= rtt_ns[i] && (cpu[j] < cpu[i] || rtt_ns[j] < rtt_ns[i]))
			return false;
	return true;
}

/* The p50 round trip at the smallest size against both sides' CPU per round trip. */
static int chart_cpu(struct charts_run *cr)
{
	double size = percentile_size(cr, NULL), cpu[MAX_SERIES], p50[MAX_SERIES];
	const char *label[MAX_SERIES], *colour[MAX_SERIES];
	int point[MAX_SERIES], n = 0;
	for (int m = 0; m < cr->n_mech && n < MAX_SERIES; m++) {
		const json_t *r = row_at(cr, cr->mech[m].name, "pingpong", size);
		double c = r ? doc_num(json_object_get(r, "cpu"), "per_msg_ns") : NAN, t = r ? rtt(r, "p50") : NAN;
		if (isfinite(c) && c > 0 && isfinite(t) && t > 0 && !is_floor_group(cr->mech[m].group)) {
			label[n] = cr->mech[m].name;
			colour[n] = palette[(size_t)cr->mech[m].slot % PALETTE_N];
			point[n] = point_types[(size_t)cr->mech[m].slot % POINTS_N];
			cpu[n] = c;
			p50[n++] = t;
		}
	}
	if (n < 2)
		return 0;
	const char *name = "cpu-rtt";
	FILE *f = open_file(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: pingpong at %.0f B; columns: mechanism cpu_per_rtt_ns p50_rtt_ns rgb_colour on_front "
		"point_type\n", size);
	bool front[MAX_SERIES];
	for (int i = 0; i < n; i++) {
		front[i] = on_front(cpu, p50, n, i);
		fprintf(f, "\"%s\" %.6g %.6g %ld %d %d\n", label[i], cpu[i], p50[i], strtol(colour[i] + 1, NULL, 16), front[i],
			point[i]);
	}
	for (int i = 0; i < n; i++) /* one block per mechanism, so the key names each */
		fprintf(f, "\n\n\"%s\" %.6g %.6g %ld %d %d\n", label[i], cpu[i], p50[i], strtol(colour[i] + 1, NULL, 16),
			front[i], point[i]);
	fputs("\n\n# the front, by CPU time\n", f);
	for (double last = 0;;) { /* the front's points in rising CPU order: selection, n is small */
		int next = -1;
		for (int i = 0; i < n; i++)
			if (front[i] && cpu[i] > last && (next < 0 || cpu[i] < cpu[next]))
				next = i;
		if (next < 0)
			break;
		fprintf(f, "\"%s\" %.6g %.6g\n", label[next], cpu[next], p50[next]);
		last = cpu[next];
	}
	if (close_file(cr, f, name, "dat"))
		return -1;
	char title[200], caption[200];
	snprintf(title, sizeof(title), "Round trip against its CPU cost at %.0f B", size);
	snprintf(caption, sizeof(caption),
		 "p50 round trip at %.0f B against both sides' CPU per round trip (log-log); in bold the Pareto "
		 "front: none is both faster and cheaper.", size);
	char count[16], last[16], names[2048] = "", colours[1024] = "", points[256] = "";
	snprintf(count, sizeof(count), "%d", n);
	snprintf(last, sizeof(last), "%d", n + 1);
	for (int i = 0, c = 0, k = 0, q = 0; i < n; i++) {
		c += snprintf(names + c, sizeof(names) - (size_t)c, "%s%s", i ? " " : "", label[i]);
		k += snprintf(colours + k, sizeof(colours) - (size_t)k, "%s%s", i ? " " : "", colour[i]);
		q += snprintf(points + q, sizeof(points) - (size_t)q, "%s%d", i ? " " : "", point[i]);
	}
	const struct param extra[] = { { "COUNT", count }, { "FRONT", last }, { "NAMES", names },
				       { "COLOURS", colours }, { "POINTS", points } };
	return chart_finish(cr, name, "cpu", title, caption, extra, 5);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && strcmp(s + a - b, suffix) == 0;
}

/* models.spawn: every "*_ns" object with a p50 is a bar; p99 a whisker when present. */
static int chart_spawn(struct charts_run *cr)
{
	const json_t *spawn = json_object_get(json_object_get(cr->doc, "models"), "spawn");
	const char *key;
	json_t *v;
	int n = 0;
	FILE *f = NULL;
	const char *name = "spawn";
	json_object_foreach((json_t *)spawn, key, v) {
		double p50 = doc_num(v, "p50"), p99 = doc_num(v, "p99");
		if (!has_suffix(key, "_ns") || !json_is_object(v) || !(p50 > 0))
			continue;
		if (!f && !(f = open_file(cr, name, "dat")))
			return -1;
		if (!n)
			fprintf(f, "# ipcbench: models.spawn, time per spawn and wait; "
				   "columns: label p50_us p99_us rgb_colour (p99_us NaN: not measured)\n");
		fputc('"', f);
		for (const char *c = key; c < key + strlen(key) - 3; c++)
			fputc(*c == '"' || *c == '\\' ? '\'' : *c, f); /* a label must not end the quoted field */
		fprintf(f, "\" %.6g ", p50 / 1e3);
		if (isfinite(p99))
			fprintf(f, "%.6g", p99 / 1e3);
		else
			fputs("NaN", f);
		fprintf(f, " %ld\n", strtol((strstr(key, "thread") ? SPAWN_THREAD_RGB : SPAWN_PROCESS_RGB) + 1, NULL, 16));
		n++;
	}
	if (!f)
		return 0;
	if (close_file(cr, f, name, "dat"))
		return -1;
	return chart_finish(cr, name, "spawn", "Cost of starting and finishing one process or thread (p50, whisker to p99)",
			    "Time to create one process or thread and wait for it, p50 with a whisker to p99 "
			    "(threads in orange; log scale).", NULL, 0);
}

/* models.scaling.{process,thread}.speedup: one figure per worker count from 1. */
static int chart_scaling(struct charts_run *cr)
{
	const json_t *scaling = json_object_get(json_object_get(cr->doc, "models"), "scaling");
	const json_t *procs = json_object_get(json_object_get(scaling, "process"), "speedup");
	const json_t *threads = json_object_get(json_object_get(scaling, "thread"), "speedup");
	size_t np = json_is_array(procs) ? json_array_size(procs) : 0;
	size_t nt = json_is_array(threads) ? json_array_size(threads) : 0;
	size_t workers = np > nt ? np : nt;
	if (workers == 0)
		return 0;
	const char *name = "scaling";
	FILE *f = open_file(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: models.scaling.{process,thread}.speedup; columns: workers processes_speedup threads_speedup\n");
	for (size_t w = 0; w < workers; w++) {
		const json_t *a = json_array_get(procs, w), *b = json_array_get(threads, w);
		fprintf(f, "%zu ", w + 1);
		if (json_is_number(a))
			fprintf(f, "%.6g ", json_number_value(a));
		else
			fputs("- ", f);
		if (json_is_number(b))
			fprintf(f, "%.6g\n", json_number_value(b));
		else
			fputs("-\n", f);
	}
	if (close_file(cr, f, name, "dat"))
		return -1;
	char w[24];
	snprintf(w, sizeof(w), "%zu", workers);
	struct param p[] = { { "WORKERS", w } };
	return chart_finish(cr, name, "scaling", "Speedup of CPU-bound work over 1..n processes vs threads",
			    "The same CPU-bound work split over 1..n workers: speedup over one worker, "
			    "processes vs threads (dashed: linear).", p, 1);
}

/* One panel of the use-case chart: speedup per worker count, columns C processes, C threads, Python processes, Python threads. */
struct speedups {
	int workers[MAX_POINTS];
	double v[MAX_POINTS][4];
	int n;
	char cols[16]; /* the data columns (2..5) that have a figure, as "2 3 5" */
};

/* Add one series to col; relative: vals are rates, divided by the one-worker rate. */
static void speedups_add(struct speedups *s, int col, const json_t *workers, const json_t *vals, bool relative)
{
	size_t n = json_array_size(workers);
	double base = relative ? json_number_value(json_array_get(vals, 0)) : 1;
	if (n == 0 || json_array_size(vals) != n || !(base > 0) ||
	    (relative && json_integer_value(json_array_get(workers, 0)) != 1))
		return;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		int w = (int)json_integer_value(json_array_get(workers, i));
		double v = json_number_value(json_array_get(vals, i)) / base;
		int k = 0;
		while (k < s->n && s->workers[k] < w)
			k++;
		bool fresh = k == s->n || s->workers[k] != w;
		if (!(v > 0) || w < 1 || (fresh && s->n == MAX_POINTS))
			continue;
		if (fresh) { /* a new worker count: keep them sorted */
			memmove(&s->workers[k + 1], &s->workers[k], (size_t)(s->n - k) * sizeof(s->workers[0]));
			memmove(&s->v[k + 1], &s->v[k], (size_t)(s->n - k) * sizeof(s->v[0]));
			s->n++;
			s->workers[k] = w;
			for (int c = 0; c < 4; c++)
				s->v[k][c] = NAN;
		}
		s->v[k][col] = v;
		any = true;
	}
	if (any)
		snprintf(s->cols + strlen(s->cols), sizeof(s->cols) - strlen(s->cols), "%s%d", *s->cols ? " " : "",
			 col + 2);
}

static void speedups_write(const struct speedups *s, FILE *f)
{
	for (int k = 0; k < s->n; k++) {
		fprintf(f, "%d", s->workers[k]);
		for (int c = 0; c < 4; c++)
			if (isfinite(s->v[k][c]))
				fprintf(f, " %.6g", s->v[k][c]);
			else
				fputs(" -", f);
		fputc('\n', f);
	}
}

/* The experiment called name when it succeeded, else NULL. */
static const json_t *model_ok(const struct charts_run *cr, const char *name)
{
	const json_t *m = json_object_get(json_object_get(cr->doc, "models"), name);
	return strcmp(doc_str(m, "status"), "ok") == 0 ? m : NULL;
}

/* Speedup against workers, C and Python, processes and threads: CPU-bound left, I/O-bound right. */
static int chart_use_cases(struct charts_run *cr)
{
	const json_t *sc = model_ok(cr, "scaling"), *io = model_ok(cr, "iobound"), *py = model_ok(cr, "python");
	if (!io && !py)
		return 0; /* the scaling chart already shows the rest */
	static const char *const kinds[] = { "process", "thread" };
	struct speedups cpu = { .n = 0 }, iob = { .n = 0 };
	const json_t *pc = json_object_get(py, "cpu_bound"), *pi = json_object_get(py, "io_bound");
	for (int k = 0; k < 2; k++) {
		speedups_add(&cpu, k, json_object_get(sc, "workers"),
			     json_object_get(json_object_get(sc, kinds[k]), "speedup"), false);
		speedups_add(&iob, k, json_object_get(io, "workers"),
			     json_object_get(json_object_get(io, kinds[k]), "ops_per_s"), true);
	}
	for (int k = 0; k < 2; k++) {
		speedups_add(&cpu, 2 + k, json_object_get(pc, "workers"),
			     json_object_get(json_object_get(pc, kinds[k]), "speedup"), false);
		speedups_add(&iob, 2 + k, json_object_get(pi, "workers"),
			     json_object_get(json_object_get(pi, kinds[k]), "speedup"), false);
	}
	if (cpu.n == 0 && iob.n == 0)
		return 0;
	const char *name = "scaling-use-cases";
	FILE *f = open_file(cr, name, "dat");
	if (!f)
		return -1;
	fputs("# ipcbench: speedup over one worker; block 0 CPU-bound (models.scaling, models.python.cpu_bound), "
	      "block 1 I/O-bound (models.iobound ops_per_s over its 1-worker ops_per_s, models.python.io_bound); "
	      "columns: workers c_processes c_threads python_processes python_threads\n", f);
	speedups_write(&cpu, f);
	fputs("\n\n", f);
	speedups_write(&iob, f);
	if (close_file(cr, f, name, "dat"))
		return -1;
	char cmax[16], imax[16];
	snprintf(cmax, sizeof(cmax), "%d", cpu.n ? cpu.workers[cpu.n - 1] : 1);
	snprintf(imax, sizeof(imax), "%d", iob.n ? iob.workers[iob.n - 1] : 1);
	const struct param p[] = { { "CPU_COLS", cpu.cols }, { "IO_COLS", iob.cols }, { "CPU_MAX", cmax },
				   { "IO_MAX", imax } };
	return chart_finish(cr, name, "scaling-use-cases", "Speedup against workers: C and Python, processes and threads",
			    "Speedup over one worker: CPU-bound work (left) and work that mostly waits 1 ms (right, "
			    "log-log; C: ops/s over the one-worker ops/s), C solid, Python dashed.", p, 4);
}

/* --- the set --- */

/* Chart names this code may write: an earlier bundle's charts this run does not make go away. */
static void remove_stale(const struct charts_run *cr)
{
	static const char *const kinds[] = { "latency-", "throughput-", "percentiles-" };
	static const char *const singles[] = { "floor-ratio", "spawn", "scaling", "scaling-use-cases" };
	static const char *const groups[] = { "process", "thread" };
	char names[16][48];
	int n = 0;
	for (size_t k = 0; k < 3; k++)
		for (size_t g = 0; g < 2; g++)
			snprintf(names[n++], sizeof(names[0]), "%s%s", kinds[k], groups[g]);
	for (size_t s = 0; s < sizeof(singles) / sizeof(singles[0]); s++)
		snprintf(names[n++], sizeof(names[0]), "%s", singles[s]);
	for (int i = 0; i < n; i++) {
		bool made = false;
		for (int c = 0; c < cr->set->n; c++)
			made |= strcmp(cr->set->chart[c].name, names[i]) == 0;
		for (int e = 0; e < 3 && !made; e++) {
			static const char *const ext[] = { "png", "gp", "dat" };
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s.%s", cr->dir, names[i], ext[e]);
			unlink(path);
		}
	}
}

static void make_subtitle(struct charts_run *cr)
{
	char host[300];
	const json_t *cfg = json_object_get(cr->doc, "config");
	double reps = doc_num(cfg, "repetitions"), dur = doc_num(cfg, "duration_s");
	int at = snprintf(cr->subtitle, sizeof(cr->subtitle), "%s | ipcbench %s",
			  report_host_line(cr->doc, host, sizeof(host)), doc_str(cr->doc, "version"));
	if (isfinite(reps) && isfinite(dur) && at > 0 && (size_t)at < sizeof(cr->subtitle))
		snprintf(cr->subtitle + at, sizeof(cr->subtitle) - (size_t)at,
			 " | median of %.0f repetition%s of %.3g s", reps, reps == 1 ? "" : "s", dur);
}

int charts_write(const char *dir, const json_t *doc, struct chart_set *set, int timeout_s)
{
	struct charts_run run = { .dir = dir }, *cr = &run;
	cr->dir = dir;
	cr->doc = doc;
	cr->results = json_object_get(doc, "results");
	cr->set = set;
	cr->timeout_s = timeout_s;
	memset(set, 0, sizeof(*set));
	cr->gnuplot = gnuplot_in_path();
	set->gnuplot_missing = !cr->gnuplot;
	collect_mechanisms(cr);
	make_subtitle(cr);

	/* groups in order of appearance; the floor group is drawn into the others as a reference */
	const char *groups[MAX_SERIES];
	int ng = 0, rc = 0;
	for (int m = 0; m < cr->n_mech; m++) {
		int g = 0;
		while (g < ng && strcmp(groups[g], cr->mech[m].group) != 0)
			g++;
		if (g == ng && !is_floor_group(cr->mech[m].group) && *cr->mech[m].group)
			groups[ng++] = cr->mech[m].group;
	}
	for (int g = 0; g < ng && rc == 0; g++)
		rc = chart_latency(cr, groups[g]);
	for (int g = 0; g < ng && rc == 0; g++)
		rc = chart_percentiles(cr, groups[g]);
	if (rc == 0)
		rc = chart_floor(cr);
	if (rc == 0)
		rc = chart_cpu(cr);
	for (int g = 0; g < ng && rc == 0; g++)
		rc = chart_throughput(cr, groups[g]);
	if (rc == 0)
		rc = chart_spawn(cr);
	if (rc == 0)
		rc = chart_scaling(cr);
	if (rc == 0)
		rc = chart_use_cases(cr);
	if (rc == 0)
		remove_stale(cr);
	return rc;
}
