/* `ipcbench compare BASE.json NEW.json`: the rows of two runs side by side, as new/base ratios. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "doc.h"
#include "host.h"
#include "parse.h"
#include "stats.h"

#define COMPARE_ALPHA 0.01 /* a change is significant below this p-value */
#define COMPARE_BAND 0.05  /* ... and practical when its interval clears 1 +/- this: shared VMs drift a few % */
#define COMPARE_LEVEL 0.95 /* nominal coverage of the ratio interval */
/*
 * A round trip under this many of the runs' slowest cache-line round trips
 * (host.quality.cacheline_rtt_ns) is a few line transfers, and moves with
 * where the host put the CPUs and the lines as that round trip itself does:
 * by up to 25% (HOST_LINE_MOVED) without counting as the host moving them.
 * Such a row is judged only beyond that. Five pairs of the same shm 64 B
 * command on a VM read 0.90-1.14x of each other, each run's repetitions
 * within 3%, while the probe's line round trip stayed within 10%.
 */
#define COMPARE_LINE_BOUND 4.0

/* What the two runs' hosts did: whether they moved the CPUs, and the slowest cache-line round trip (NaN: none recorded). */
struct compare_hosts {
	bool moved;
	double line_ns;
};

/* One figure of a row as the comparison shows it. */
struct figure {
	const char *title;
	bool lower_better;
};

enum { FIG_P50, FIG_P99, FIG_MBPS, FIG_N };

static const struct figure figures[FIG_N] = {
	[FIG_P50] = { "p50 RTT", true },
	[FIG_P99] = { "p99 RTT", true },
	[FIG_MBPS] = { "MB/s", false },
};

static double figure_of(const json_t *r, int fig)
{
	if (!r || strcmp(doc_str(r, "status"), "ok") != 0)
		return NAN;
	switch (fig) {
	case FIG_P50: return doc_num(json_object_get(r, "rtt_ns"), "p50");
	case FIG_P99: return doc_num(json_object_get(r, "rtt_ns"), "p99");
	default: return doc_num(r, "bytes_per_s");
	}
}

static const char *fmt_figure(double v, int fig, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (fig == FIG_MBPS)
		snprintf(buf, len, v >= 1e8 ? "%.0f" : v >= 1e7 ? "%.1f" : "%.3g", v / 1e6);
	else
		fmt_ns(v, buf, len);
	return buf;
}

/* Two figures that are equal, or both absent (NAN). */
static bool same_num(double x, double y)
{
	return x == y || (isnan(x) && isnan(y));
}

static bool same_case(const json_t *a, const json_t *b)
{
	return strcmp(doc_str(a, "mechanism"), doc_str(b, "mechanism")) == 0 &&
	       strcmp(doc_str(a, "pattern"), doc_str(b, "pattern")) == 0 &&
	       doc_num(a, "size_bytes") == doc_num(b, "size_bytes") &&
	       strcmp(doc_str(a, "placement"), doc_str(b, "placement")) == 0 && /* "" when not swept */
	       same_num(doc_num(json_object_get(a, "rate"), "target_per_s"),
			doc_num(json_object_get(b, "rate"), "target_per_s")) &&
	       same_num(doc_num(a, "pairs"), doc_num(b, "pairs")) && same_num(doc_num(a, "senders"), doc_num(b, "senders"));
}

/* The row field holding each repetition's value of a headline figure. */
static const char *const reps_keys[FIG_N] = {
	[FIG_P50] = "reps_rtt_ns_p50",
	[FIG_MBPS] = "reps_bytes_per_s",
};

/* What the test says about a row's headline figure. */
struct compare_test {
	bool ran; /* res holds the statistics */
	struct stats_cmp res;
	char verdict[112];
};

static const json_t *find_case(const json_t *results, const json_t *like)
{
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		if (same_case(r, like))
			return r;
	return NULL;
}

/* The row's headline figure: the one its repetitions (reps_*) record. */
static int headline(const json_t *r)
{
	return strcmp(doc_str(r, "pattern"), "pingpong") == 0 ? FIG_P50 : FIG_MBPS;
}

/* Print "what: a vs b" for each listed field of two objects that differs; returns how many did. */
static int diff_fields(const char *what, const json_t *a, const json_t *b, const char *const *keys, FILE *out)
{
	int n = 0;
	const char *key;
	json_t *v;
	json_t *all = json_object();
	if (keys) {
		for (; *keys; keys++)
			json_object_set_new(all, *keys, json_true());
	} else {
		json_object_foreach((json_t *)a, key, v)
			json_object_set_new(all, key, json_true());
		json_object_foreach((json_t *)b, key, v)
			json_object_set_new(all, key, json_true());
	}
	json_object_foreach(all, key, v) {
		const json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
		if (x && y && json_equal(x, y))
			continue;
		if (!x && !y)
			continue;
		char *xs = x ? json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(4)) : NULL;
		char *ys = y ? json_dumps(y, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(4)) : NULL;
		fprintf(out, "%s %s %s vs %s", n ? "," : what, key, xs ? xs : "(absent)", ys ? ys : "(absent)");
		free(xs);
		free(ys);
		n++;
	}
	if (n)
		fputs("\n", out);
	json_decref(all);
	return n;
}

static void print_run(const char *label, const char *path, const json_t *doc, FILE *out)
{
	char host[400];
	fprintf(out, "%-5s %s: %s, ipcbench %s (%s)\n", label, path, doc_host_line(doc, host, sizeof(host)),
		doc_str(doc, "version"), doc_str(json_object_get(doc, "host"), "git_rev"));
}

/* The host fields that move figures (host.topology.relation and host.quality's), where both runs record them. */
static void quality_fields(const json_t *hb, const json_t *hn, json_t *a, json_t *b)
{
	static const char *const keys[] = { "hypervisor", "governor", "clocksource" };
	const json_t *ra = json_object_get(json_object_get(hb, "topology"), "relation");
	const json_t *rb = json_object_get(json_object_get(hn, "topology"), "relation");
	if (ra && rb) {
		json_object_set(a, "relation", (json_t *)ra);
		json_object_set(b, "relation", (json_t *)rb);
	}
	const json_t *qa = json_object_get(hb, "quality"), *qb = json_object_get(hn, "quality");
	for (int i = 0; i < 3; i++) {
		const json_t *x = json_object_get(qa, keys[i]), *y = json_object_get(qb, keys[i]);
		if (x && y) {
			json_object_set(a, keys[i], (json_t *)x);
			json_object_set(b, keys[i], (json_t *)y);
		}
	}
}

/*
 * A cache line's round trip between the pinned CPUs (host.quality.cacheline_rtt_ns, at each
 * run's start and end) more than 25% apart, within a run or between the runs: the host moved
 * the CPUs, and a row that crosses them changed with that, not with what was measured. Says
 * so and returns true when it did.
 */
static bool host_moved(const json_t *hb, const json_t *hn, double *line_ns, FILE *out)
{
	const json_t *rtt[2] = { json_object_get(json_object_get(hb, "quality"), "cacheline_rtt_ns"),
				 json_object_get(json_object_get(hn, "quality"), "cacheline_rtt_ns") };
	static const char *const run[2] = { "base", "new" };
	double lo[2], hi[2];
	bool between = host_line_moved(rtt[0], rtt[1], &lo[0], &hi[0], &lo[1], &hi[1]), moved = between;
	*line_ns = isfinite(hi[0]) && isfinite(hi[1]) ? fmax(hi[0], hi[1]) : NAN;
	for (int i = 0; i < 2 && isfinite(lo[0]) && isfinite(lo[1]); i++) {
		if (host_line_apart(lo[i], hi[i])) {
			fprintf(out, "the host moved the CPUs during the %s run: a cache line's round trip between them "
				     "took %.0f ns at its start and %.0f ns at its end\n",
				run[i], json_number_value(json_array_get(rtt[i], 0)),
				json_number_value(json_array_get(rtt[i], 1)));
			moved = true;
		}
	}
	if (between)
		fprintf(out, "the host moved the CPUs between the runs: a cache line's round trip between them took "
			     "%.0f-%.0f ns in base and %.0f-%.0f ns in new\n",
			lo[0], hi[0], lo[1], hi[1]);
	if (moved)
		fputs("so no row is judged better or worse: run both again on a steadier host\n", out);
	return moved;
}

/* Differences in what the host permitted: placement, hypervisor, governor, clocksource, and a large change in steal. */
static int quality_context(const json_t *hb, const json_t *hn, FILE *out)
{
	json_t *a = json_object(), *b = json_object();
	quality_fields(hb, hn, a, b);
	int n = diff_fields("host quality differs:", a, b, NULL, out);
	json_decref(a);
	json_decref(b);
	double sa = doc_num(json_object_get(hb, "quality"), "steal_pct");
	double sb = doc_num(json_object_get(hn, "quality"), "steal_pct");
	double lo = fmin(sa, sb), hi = fmax(sa, sb);
	if (isfinite(sa) && isfinite(sb) && hi - lo >= 1 && hi >= 2 * lo) { /* 1 point and twice: beyond tick noise */
		fprintf(out, "CPU time the hypervisor took differs: steal %.2g%% vs %.2g%%\n", sa, sb);
		n++;
	}
	return n;
}

/* Prints what the two runs were made on and under, and what their hosts did. */
static struct compare_hosts print_context(const char *base_path, const json_t *base, const char *new_path,
					  const json_t *new, FILE *out)
{
	struct compare_hosts h;
	static const char *const host_keys[] = { "kernel", "cpu_model", "ncpu", NULL };
	static const char *const build_keys[] = { "compiler", "build_type", "git_rev", "libzmq", NULL };
	const json_t *hb = json_object_get(base, "host"), *hn = json_object_get(new, "host");
	print_run("base", base_path, base, out);
	print_run("new", new_path, new, out);
	int differ = diff_fields("hosts differ:", hb, hn, host_keys, out);
	differ += diff_fields("configurations differ:", json_object_get(base, "config"), json_object_get(new, "config"),
			      NULL, out);
	diff_fields("builds differ:", hb, hn, build_keys, out);
	differ += quality_context(hb, hn, out);
	h.moved = host_moved(hb, hn, &h.line_ns, out); /* what the host did, not what it is: "same host" still holds */
	if (!differ)
		fputs("same host (kernel, CPU model, CPU count) and same configuration\n", out);
	fputs("\nratio = new/base. RTT: lower is better, so below 1.00x is better; MB/s: higher is better.\n"
	      "change: the headline figure (p50 RTT for pingpong rows, MB/s for stream rows) over the repetitions:\n"
	      "  the median of all new/base pairs of repetitions (Hodges-Lehmann), a distribution-free interval\n"
	      "  around it and that interval's exact coverage; p is the two-sided exact Mann-Whitney U test.\n"
	      "verdict: better or worse only when p < 0.01 and the whole interval clears 1 by more than the\n"
	      "  runs' noise: 5%, or the sum of the two rows' 95% half-widths when larger (two runs of the same\n"
	      "  command on a shared machine differ by that much); p < 0.01 needs -r 5 or more in both runs.\n"
	      "  A round trip under 4 cache-line round trips between the CPUs (host.quality.cacheline_rtt_ns)\n"
	      "  is a few line transfers and moves with the host's placement as they do: its noise is 25%.\n"
	      "  No verdict when the host moved the CPUs between the runs (those line round trips 25% apart).\n\n",
	      out);
	return h;
}

/* Width of the mechanism column: the longest name in either run. */
/* A row's name: the mechanism, and its placement when the run swept placements ("pipe@same-cpu"). */
static const char *case_name(const json_t *r, char *buf, size_t len)
{
	const char *pl = doc_str(r, "placement");
	snprintf(buf, len, "%s%s%s", doc_str(r, "mechanism"), *pl ? "@" : "", pl);
	return buf;
}

static int name_width(const json_t *a, const json_t *b)
{
	int w = (int)strlen("mechanism");
	char name[96];
	const json_t *docs[2] = { a, b };
	for (int d = 0; d < 2; d++) {
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(docs[d], "results"), i, r)
			if ((int)strlen(case_name(r, name, sizeof(name))) > w)
				w = (int)strlen(name);
	}
	return w;
}

static void print_header(int w, FILE *out)
{
	fprintf(out, "%-*s %-8s %5s", w, "mechanism", "pattern", "size");
	for (int f = 0; f < FIG_N; f++)
		fprintf(out, "  %10s %10s %7s", f == FIG_MBPS ? "MB/s base" : f == FIG_P50 ? "p50 base" : "p99 base",
			f == FIG_MBPS ? "MB/s new" : f == FIG_P50 ? "p50 new" : "p99 new", "ratio");
	fprintf(out, "  %-25s %-9s %s\n", "change [interval] cover", "p", "verdict");
}

/* The fewest repetitions per run (equal in both) that can reach p < COMPARE_ALPHA. */
static size_t compare_reps_needed(void)
{
	size_t n = 1;
	while (stats_min_p(n, n) >= COMPARE_ALPHA)
		n++;
	return n;
}

/* r's repetitions of figure fig, malloc'd; NULL with *why set when there are none to test. */
static double *compare_reps(const json_t *r, int fig, size_t *n, const char **why)
{
	const json_t *a = json_object_get(r, reps_keys[fig]);
	*n = json_array_size(a);
	if (*n == 0) {
		*why = "no repetitions recorded";
		return NULL;
	}
	double *v = *n <= STATS_MAX_N ? malloc(*n * sizeof(*v)) : NULL;
	for (size_t i = 0; v && i < *n; i++) {
		v[i] = json_is_number(json_array_get(a, i)) ? json_number_value(json_array_get(a, i)) : NAN;
		if (!(v[i] > 0) || !isfinite(v[i])) {
			free(v);
			v = NULL;
		}
	}
	if (!v)
		*why = *n > STATS_MAX_N ? "too many repetitions recorded" : "repetitions are not all positive numbers";
	return v;
}

/* A row's 95% interval half-width over its headline figure; 0 when it has none. */
static double compare_halfwidth(const json_t *r, int fig)
{
	const json_t *ci = json_object_get(r, "ci95");
	double head = figure_of(r, fig), h = (doc_num(ci, "high") - doc_num(ci, "low")) / 2 / head;
	return isfinite(h) && h > 0 ? h : 0;
}

/*
 * How far the ratio must clear 1 to count: COMPARE_BAND, or more when the two
 * runs' own repetitions scatter more. A change inside what each run could not
 * pin down (the sum of their 95% half-widths) is the machine's, not the code's:
 * on a shared VM two runs of the same command differ by that much.
 */
static double compare_band(const json_t *b, const json_t *n, int fig, double line_ns)
{
	double h = compare_halfwidth(b, fig) + compare_halfwidth(n, fig), band = COMPARE_BAND;
	double bound = COMPARE_LINE_BOUND * line_ns;
	if (fig == FIG_P50 && isfinite(bound) && (figure_of(b, fig) < bound || figure_of(n, fig) < bound))
		band = HOST_LINE_MOVED - 1;
	return h > band ? h : band;
}

/* The verdict once the statistics are in: see print_context for the rules. */
static void compare_verdict(struct compare_test *t, int fig, size_t nb, size_t nn, double band)
{
	const struct stats_cmp *s = &t->res;
	bool up = s->low > 1 + band, down = s->high < 1 / (1 + band);
	if (s->p_min >= COMPARE_ALPHA)
		snprintf(t->verdict, sizeof(t->verdict), "too few repetitions for a test (%zu and %zu; need %zu each)",
			 nb, nn, compare_reps_needed());
	else if (s->p >= COMPARE_ALPHA)
		snprintf(t->verdict, sizeof(t->verdict), "no significant change");
	else if (!up && !down)
		snprintf(t->verdict, sizeof(t->verdict), "no change beyond the runs' noise (+-%.0f%%)", 100 * band);
	else
		snprintf(t->verdict, sizeof(t->verdict), "%s", up == !figures[fig].lower_better ? "better" : "worse");
}

/* Add which runs marked the row noisy, when any did. */
static void compare_noisy_note(struct compare_test *t, const json_t *b, const json_t *n)
{
	bool nb = json_is_true(json_object_get(b, "noisy")), nn = json_is_true(json_object_get(n, "noisy"));
	size_t len = strlen(t->verdict);
	if (nb || nn)
		snprintf(t->verdict + len, sizeof(t->verdict) - len, " (%s noisy)", nb && nn ? "both runs" : nb ? "base" : "new");
}

/* Test the repetitions of the headline figure fig of two ok rows. */
static void compare_test_rows(const json_t *b, const json_t *n, int fig, const struct compare_hosts *h,
			      struct compare_test *t)
{
	size_t nb = 0, nn = 0;
	const char *why = NULL;
	double *xb = compare_reps(b, fig, &nb, &why);
	double *xn = xb ? compare_reps(n, fig, &nn, &why) : NULL;
	t->ran = xn && stats_compare(xb, nb, xn, nn, COMPARE_LEVEL, &t->res) == 0;
	if (t->ran && h->moved)
		snprintf(t->verdict, sizeof(t->verdict), "not judged: the host moved the CPUs between the runs");
	else if (t->ran)
		compare_verdict(t, fig, nb, nn, compare_band(b, n, fig, h->line_ns));
	else
		snprintf(t->verdict, sizeof(t->verdict), "%s", why ? why : "out of memory");
	compare_noisy_note(t, b, n);
	free(xb);
	free(xn);
}

/* The change column, the p column and the verdict. */
static void compare_print_test(const struct compare_test *t, FILE *out)
{
	const struct stats_cmp *s = &t->res;
	char change[64] = "-", p[24] = "-";
	if (t->ran && isfinite(s->high))
		snprintf(change, sizeof(change), "%.2fx [%.2f, %.2f] %.1f%%", s->ratio, s->low, s->high, 100 * s->coverage);
	else if (t->ran)
		snprintf(change, sizeof(change), "%.2fx", s->ratio);
	if (t->ran)
		snprintf(p, sizeof(p), s->p >= 0.001 ? "p=%.3f" : "p=%.1e", s->p);
	fprintf(out, "  %-25s %-9s %s\n", change, p, t->verdict);
}

/* One matched (or unmatched) case. */
static void print_pair(int w, const json_t *b, const json_t *n, const struct compare_hosts *h, FILE *out)
{
	const json_t *any = b ? b : n;
	char size[16];
	format_size((uint64_t)doc_num(any, "size_bytes"), size, sizeof(size));
	char name[96];
	fprintf(out, "%-*s %-8s %5s", w, case_name(any, name, sizeof(name)), doc_str(any, "pattern"), size);
	if (!b || !n || strcmp(doc_str(b, "status"), "ok") || strcmp(doc_str(n, "status"), "ok")) {
		fprintf(out, "  base: %s, new: %s\n", b ? doc_str(b, "status") : "not run", n ? doc_str(n, "status") : "not run");
		return;
	}
	for (int f = 0; f < FIG_N; f++) {
		double x = figure_of(b, f), y = figure_of(n, f);
		char xs[24], ys[24], ratio[16] = "-";
		if (isfinite(x) && isfinite(y) && x > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx", y / x);
		fprintf(out, "  %10s %10s %7s", fmt_figure(x, f, xs, sizeof(xs)), fmt_figure(y, f, ys, sizeof(ys)), ratio);
	}
	struct compare_test t;
	compare_test_rows(b, n, headline(any), h, &t);
	compare_print_test(&t, out);
}

int compare_main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("usage: ipcbench compare BASE.json NEW.json\n"
		     "Print the rows of two runs side by side (matched by mechanism, pattern and size)\n"
		     "with new/base ratios, and say where hosts or configurations differ.\n"
		     "Each row's headline figure (p50 RTT for pingpong, MB/s for stream) is tested over the\n"
		     "repetitions of both runs: exact Mann-Whitney U test (p) and the new/base ratio with a\n"
		     "distribution-free interval. The verdict is better or worse only when p < 0.01 and the\n"
		     "interval clears 1 by more than 5% or the two rows' 95% half-widths added, whichever is\n"
		     "larger (25% for a round trip under 4 cache-line round trips between the CPUs: a few line\n"
		     "transfers move with the host's placement); that needs -r 5 or more in both runs. No row\n"
		     "is judged when the host moved the two CPUs during either run or between them (their cache\n"
		     "line round trips, in host.quality.cacheline_rtt_ns, more than 25% apart).");
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "ipcbench: compare: %s; use: ipcbench compare BASE.json NEW.json\n",
			argc < 3 ? "give two results files" : "give exactly two results files");
		return 2;
	}
	json_t *base = doc_load(argv[1], "compare");
	json_t *new = base ? doc_load(argv[2], "compare") : NULL;
	if (!new) {
		json_decref(base);
		return 2;
	}
	struct compare_hosts h = print_context(argv[1], base, argv[2], new, stdout);
	int w = name_width(base, new);
	print_header(w, stdout);
	const json_t *rb = json_object_get(base, "results"), *rn = json_object_get(new, "results");
	size_t i;
	json_t *r;
	json_array_foreach(rb, i, r)
		print_pair(w, r, find_case(rn, r), &h, stdout);
	json_array_foreach(rn, i, r)
		if (!find_case(rb, r))
			print_pair(w, NULL, r, &h, stdout);
	json_decref(base);
	json_decref(new);
	return fflush(stdout) == 0 ? 0 : 1;
}
