/* The decision table: the candidates of each need and size class, the best of them, and its statistical ties. */
#include "decide.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "mdtable.h"
#include "models/model_util.h"
#include "parse.h"
#include "registry.h"
#include "stats.h"

#define DECIDE_ALPHA 0.01      /* as compare: apart only below this p-value ... */
#define DECIDE_BAND 0.05       /* ... and when the ratio's interval clears 1 by this, or by the rows' own noise */
#define DECIDE_LEVEL 0.95      /* nominal coverage of the ratio's interval */
#define DECIDE_SLEEP_CORES 1.2 /* below this many cores busy, the sides sleep while they wait instead of spinning */
#define DECIDE_SLEEP_VCSW 0.1  /* ... and each side blocked this often per message: one that never blocks spins */
#define DECIDE_DOMINATES 2.0   /* a best row within this factor of its floor costs mostly what the floor costs */
#define DECIDE_MAX_ROWS 128

/* One line of the table: what the reader needs, among which rows. */
struct decide_need {
	const char *name;
	const char *pattern;
	const char *group;
	bool (*fits)(const json_t *r); /* NULL: every row of the pattern and group */
};

/* A fact the mechanism declares: the row's field, or this build's registry for results written before rows had it. */
static bool decide_flag(const json_t *r, const char *key, unsigned flag)
{
	const json_t *v = json_object_get(r, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	const struct transport_ops *t = transport_find(doc_str(r, "mechanism"));
	return t && (t->flags & flag);
}

/*
 * Cores busy alone reads low for a spinning side on a shared host: the time a
 * neighbour or the hypervisor takes from its CPU is not its CPU time. A side
 * that never blocked (no voluntary context switch) never slept.
 */
static bool decide_sleeps(const json_t *r)
{
	const json_t *cpu = json_object_get(r, "cpu");
	return doc_num(cpu, "cores_busy") < DECIDE_SLEEP_CORES && doc_num(cpu, "a_vcsw") >= DECIDE_SLEEP_VCSW &&
	       doc_num(cpu, "b_vcsw") >= DECIDE_SLEEP_VCSW;
}

static bool decide_boundaries(const json_t *r)
{
	return decide_flag(r, "boundaries", TP_BOUNDARIES);
}

static bool decide_cross_host(const json_t *r)
{
	return decide_flag(r, "cross_host", TP_CROSS_HOST);
}

static const struct decide_need decide_needs[] = {
	{ "lowest latency", "pingpong", "process", NULL },
	{ "lowest latency, no busy core", "pingpong", "process", decide_sleeps },
	{ "highest throughput", "stream", "process", NULL },
	{ "lowest latency, keeps message boundaries", "pingpong", "process", decide_boundaries },
	{ "lowest latency, crosses hosts", "pingpong", "process", decide_cross_host },
	{ "lowest latency, between threads", "pingpong", "thread", NULL },
};

/* The largest size of each class; a class holds the sizes above the one before. */
static const double decide_class_top[] = { 4096, 262144, INFINITY };
#define DECIDE_CLASSES (sizeof(decide_class_top) / sizeof(decide_class_top[0]))

static bool decide_stream(const json_t *r)
{
	return strcmp(doc_str(r, "pattern"), "stream") == 0;
}

/* The headline figure: p50 RTT for pingpong (lower is better), bytes per second for stream (higher). */
static double decide_figure(const json_t *r)
{
	return decide_stream(r) ? doc_num(r, "bytes_per_s") : doc_num(json_object_get(r, "rtt_ns"), "p50");
}

/* Is a better than b? */
static bool decide_better(const json_t *a, const json_t *b)
{
	return decide_stream(a) ? decide_figure(a) > decide_figure(b) : decide_figure(a) < decide_figure(b);
}

/* The repetitions' headline figures into v; 0 when they are missing, too many or not all positive. */
static size_t decide_reps(const json_t *r, double *v)
{
	const json_t *reps = json_object_get(r, decide_stream(r) ? "reps_bytes_per_s" : "reps_rtt_ns_p50");
	size_t n = json_array_size(reps);
	if (n > STATS_MAX_N)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(reps, i);
		v[i] = json_is_number(x) ? json_number_value(x) : NAN;
		if (!(v[i] > 0) || !isfinite(v[i]))
			return 0;
	}
	return n;
}

/* The 95% interval's half-width over the headline figure; 0 without one. */
static double decide_halfwidth(const json_t *r)
{
	const json_t *ci = json_object_get(r, "ci95");
	double h = (doc_num(ci, "high") - doc_num(ci, "low")) / 2 / decide_figure(r);
	return isfinite(h) && h > 0 ? h : 0;
}

enum decide_tie decide_tie(const json_t *a, const json_t *b)
{
	double *x = malloc(2 * STATS_MAX_N * sizeof(*x)), *y = x + STATS_MAX_N;
	size_t nx = x ? decide_reps(a, x) : 0, ny = nx ? decide_reps(b, y) : 0;
	struct stats_cmp s;
	bool ran = ny && stats_compare(x, nx, y, ny, DECIDE_LEVEL, &s) == 0 && s.p_min < DECIDE_ALPHA;
	free(x);
	if (!ran)
		return DECIDE_UNTESTED;
	double band = fmax(DECIDE_BAND, decide_halfwidth(a) + decide_halfwidth(b));
	bool apart = s.p < DECIDE_ALPHA && (s.low > 1 + band || s.high < 1 / (1 + band));
	return apart ? DECIDE_APART : DECIDE_TIED;
}

static bool decide_candidate(const json_t *r, const struct decide_need *n, const char *placement)
{
	double fig = decide_figure(r);
	return strcmp(doc_str(r, "status"), "ok") == 0 && !doc_is_variant(r) &&
	       strcmp(doc_str(r, "pattern"), n->pattern) == 0 && strcmp(doc_str(r, "group"), n->group) == 0 &&
	       strcmp(doc_str(r, "placement"), placement) == 0 && isfinite(fig) && fig > 0 && (!n->fits || n->fits(r));
}

static bool decide_in_class(double size, size_t c)
{
	return size <= decide_class_top[c] && (c == 0 || size > decide_class_top[c - 1]);
}

/*
 * The candidates of need n at the smallest size of class c that has any, best
 * first (a stable insertion sort: equal figures keep the run's order).
 */
static int decide_collect(const json_t *results, const struct decide_need *n, size_t c, const char *placement,
			  const json_t **rows)
{
	double size = INFINITY;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		if (decide_candidate(r, n, placement) && decide_in_class(doc_num(r, "size_bytes"), c))
			size = fmin(size, doc_num(r, "size_bytes"));
	int k = 0;
	json_array_foreach(results, i, r) {
		if (k == DECIDE_MAX_ROWS || !decide_candidate(r, n, placement) || doc_num(r, "size_bytes") != size)
			continue;
		int at = k++;
		while (at > 0 && decide_better(r, rows[at - 1])) {
			rows[at] = rows[at - 1];
			at--;
		}
		rows[at] = r;
	}
	return k;
}

/* "64 B-4 KiB": the sizes of the run's mechanism rows in class c; false when it has none. */
static bool decide_class_label(const json_t *results, size_t c, const char *placement, char *buf, size_t len)
{
	double lo = INFINITY, hi = -INFINITY;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		double s = doc_num(r, "size_bytes");
		bool mech = strcmp(doc_str(r, "group"), "floor") != 0 && strcmp(doc_str(r, "status"), "ok") == 0;
		if (mech && strcmp(doc_str(r, "placement"), placement) == 0 && decide_in_class(s, c)) {
			lo = fmin(lo, s);
			hi = fmax(hi, s);
		}
	}
	if (lo > hi)
		return false;
	char a[24], b[24];
	mu_fmt_bytes(lo, a, sizeof(a));
	mu_fmt_bytes(hi, b, sizeof(b));
	if (lo == hi)
		snprintf(buf, len, "%s", a);
	else if (strcmp(strchr(a, ' '), strchr(b, ' ')) == 0) /* one unit: "32-256 KiB" */
		snprintf(buf, len, "%.*s-%s", (int)(strchr(a, ' ') - a), a, b);
	else
		snprintf(buf, len, "%s-%s", a, b);
	return true;
}

static const char *decide_fmt(const json_t *r, double v, char *buf, size_t len)
{
	return decide_stream(r) ? fmt_rate(v, buf, len) : fmt_ns(v, buf, len);
}

/* "150 ns p50 RTT [150 ns, 160 ns]" or "2.29 GB/s [2.10 GB/s, 2.40 GB/s]". */
static void decide_figure_cell(struct mdtable *t, const json_t *r)
{
	const json_t *ci = json_object_get(r, "ci95");
	char f[32], lo[32], hi[32];
	decide_fmt(r, decide_figure(r), f, sizeof(f));
	if (isfinite(doc_num(ci, "low")) && isfinite(doc_num(ci, "high")))
		md_cell(t, "%s%s [%s, %s]", f, decide_stream(r) ? "" : " p50 RTT", decide_fmt(r, doc_num(ci, "low"), lo, sizeof(lo)),
			decide_fmt(r, doc_num(ci, "high"), hi, sizeof(hi)));
	else
		md_cell(t, "%s%s (no interval: under 6 repetitions)", f, decide_stream(r) ? "" : " p50 RTT");
}

static void decide_cpu_cell(struct mdtable *t, const json_t *r)
{
	const json_t *cpu = json_object_get(r, "cpu");
	char a[24];
	if (!isfinite(doc_num(cpu, "per_msg_ns")))
		md_cell(t, "not measured");
	else
		md_cell(t, "%s per %s, %.2f cores busy", fmt_ns(doc_num(cpu, "per_msg_ns"), a, sizeof(a)),
			decide_stream(r) ? "message" : "round trip", doc_num(cpu, "cores_busy"));
}

/* After "all N are one group": how close the best came to the floor of its kind, and what that means. */
static void decide_floor_remark(const json_t *best, FILE *f)
{
	static const char *const floors[][2] = {
		{ "wake", "the wake-up dominates" },
		{ "cacheline", "the cache line's trip between the CPUs dominates" },
		{ "xcopy", "the copy between the CPUs dominates" },
	};
	const char *floor = doc_str(best, "floor");
	double ratio = doc_num(best, "floor_ratio");
	if (!(ratio > 0))
		return;
	char at[32];
	decide_fmt(best, decide_figure(best) / ratio, at, sizeof(at));
	bool dominated = decide_stream(best) ? ratio >= 1 / DECIDE_DOMINATES : ratio <= DECIDE_DOMINATES;
	for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]) && dominated; i++)
		if (strcmp(floor, floors[i][0]) == 0)
			fprintf(f, ": %s (the best is %.2fx `floor-%s`, whose best reading before that row was %s; "
				   "the floor's own row shows its median)",
				floors[i][1], ratio, floor, at);
}

static void decide_names(FILE *f, const json_t **rows, const enum decide_tie *tie, int n, enum decide_tie which)
{
	for (int i = 1, shown = 0; i < n; i++)
		if (tie[i] == which)
			fprintf(f, "%s`%s`%s", shown++ ? ", " : "", doc_str(rows[i], "mechanism"),
				json_is_true(json_object_get(rows[i], "zero_copy")) ? " (zero-copy)" : "");
}

/* The last cell: the candidates the repetitions cannot tell from the best, said plainly when that is all of them. */
static void decide_ties_cell(struct mdtable *t, const json_t **rows, int n)
{
	enum decide_tie tie[DECIDE_MAX_ROWS];
	int count[3] = { 0 };
	for (int i = 1; i < n; i++)
		count[tie[i] = decide_tie(rows[0], rows[i])]++;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		md_cell(t, "-");
		return;
	}
	if (n == 1) {
		fputs("the only candidate in this run", f);
	} else if (count[DECIDE_TIED] == n - 1) {
		decide_names(f, rows, tie, n, DECIDE_TIED);
		if (n == 2)
			fputs("; on this host the two are one group", f);
		else
			fprintf(f, "; on this host all %d are one group", n);
		decide_floor_remark(rows[0], f);
	} else if (count[DECIDE_TIED]) {
		decide_names(f, rows, tie, n, DECIDE_TIED);
		if (count[DECIDE_APART])
			fprintf(f, " (%d other%s apart)", count[DECIDE_APART], count[DECIDE_APART] == 1 ? "" : "s");
	} else if (count[DECIDE_APART]) {
		if (count[DECIDE_APART] == 1)
			fputs("none: the other one is apart", f);
		else
			fprintf(f, "none: the other %d are apart", count[DECIDE_APART]);
	}
	if (count[DECIDE_UNTESTED]) {
		fprintf(f, "%snot tested (under 5 repetitions): ", count[DECIDE_UNTESTED] == n - 1 ? "" : "; ");
		decide_names(f, rows, tie, n, DECIDE_UNTESTED);
	}
	fclose(f);
	md_cell(t, "%s", buf ? buf : "-");
	free(buf);
}

/* The placement of the run's first ok row: with --placement, the table is judged at that one ("" without). */
static const char *decide_placement(const json_t *results)
{
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		if (strcmp(doc_str(r, "status"), "ok") == 0 && strcmp(doc_str(r, "group"), "floor") != 0)
			return doc_str(r, "placement");
	return "";
}

void decide_section(const json_t *doc, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	const char *placement = decide_placement(results);
	static const char *const head[] = { "sizes", "need", "best row", "its figure [95% interval]", "its CPU cost",
					    "statistically tied with it" };
	struct mdtable t;
	md_header(&t, "llllll", head);
	int lines = 0;
	for (size_t c = 0; c < DECIDE_CLASSES; c++) {
		char label[48];
		if (!decide_class_label(results, c, placement, label, sizeof(label)))
			continue;
		for (size_t k = 0; k < sizeof(decide_needs) / sizeof(decide_needs[0]); k++) {
			const struct decide_need *n = &decide_needs[k];
			const json_t *rows[DECIDE_MAX_ROWS];
			int nrows = decide_collect(results, n, c, placement, rows);
			md_cell(&t, "%s", label);
			md_cell(&t, "%s", n->name);
			if (!nrows) {
				md_cell(&t, "none: no candidate row in this run");
				md_cell(&t, "-");
				md_cell(&t, "-");
				md_cell(&t, "-");
				continue;
			}
			char s[24];
			md_cell(&t, "`%s`%s %s %s", doc_str(rows[0], "mechanism"),
				json_is_true(json_object_get(rows[0], "zero_copy")) ? " (zero-copy)" : "", n->pattern,
				mu_fmt_bytes(doc_num(rows[0], "size_bytes"), s, sizeof(s)));
			decide_figure_cell(&t, rows[0]);
			decide_cpu_cell(&t, rows[0]);
			decide_ties_cell(&t, rows, nrows);
			lines++;
		}
	}
	if (!lines) {
		md_free(&t);
		return;
	}
	fputs("## Decision table\n\n"
	      "Which mechanism to pick, read from this run's rows only. Each band of sizes is judged at its "
	      "smallest size that has a candidate row, the size its best row names: a line holds at that size, "
	      "not across the band. Each line names the best row (mechanism, "
	      "pattern, size: a row of results.json), its headline figure with its 95% interval, what it costs in "
	      "CPU (both sides' CPU time per message or round trip, their stamping and checking included, and "
	      "the cores kept busy), and the other "
	      "candidates of the same pattern and size that its repetitions cannot tell from it.\n\n", out);
	md_print(&t, out);
	fprintf(out, "\n"
		"- **Tied** is the rule `ipcbench compare` uses: over the two rows' repetitions (each one's p50 RTT, or "
		"MB/s), the exact Mann-Whitney test finds no difference at p < 0.01, or the ratio's 95%% interval "
		"stays within 5%% or the two rows' 95%% half-widths added, whichever is larger.\n"
		"- **Candidates** are the ok pingpong rows (stream rows for throughput) between processes, and between "
		"threads on the last line of each class; never the floors, the --pairs or --rate variants, or the "
		"one-way and fan-in rows. A class is judged at its smallest size that has a candidate row, named in "
		"the best row.\n"
		"- **No busy core**: the sides sleep while they wait instead of spinning: the row kept under %.1f "
		"cores busy, and each side blocked (a voluntary context switch) at least once in %.0f round trips. "
		"Cores busy alone reads low for a spinning side on a shared host, whose CPU a neighbour or the "
		"hypervisor takes without charging it. **Keeps message boundaries** (one send is one receive) and "
		"**crosses hosts** are what each mechanism declares, as `ipcbench --list` shows them.\n",
		DECIDE_SLEEP_CORES, 1 / DECIDE_SLEEP_VCSW);
	if (*placement)
		fprintf(out, "- Only the rows at placement %s are candidates.\n", placement);
	fputs("\n", out);
}
