/* The charts at one size across mechanisms: p50 over its floor (floor-ratio), p50 against CPU time (cpu-rtt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "plots/charts_int.h"
#include "results/doc.h"

/* The size of the first floor's pingpong row (64 B), or NAN when the run had no pingpong floor. */
static double costs_floor_size(const struct charts_run *cr)
{
	for (int m = 0; m < cr->n_mech; m++) {
		const json_t *rows[MAX_POINTS];
		if (chart_is_floor(cr->mech[m].group) && chart_rows(cr, cr->mech[m].name, "pingpong", rows) > 0 &&
		    isfinite(chart_rtt(rows[0], "p50")))
			return doc_num(rows[0], "size_bytes");
	}
	return NAN;
}

/* The floor rows' p50 round trips at size, "floor-cacheline 140 ns, floor-wake 49.8 us", into buf. */
static const char *costs_floor_values(const struct charts_run *cr, double size, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int m = 0; m < cr->n_mech && at < len; m++) {
		const json_t *r = chart_is_floor(cr->mech[m].group) ? chart_row_at(cr, cr->mech[m].name, "pingpong", size)
								    : NULL;
		char t[24];
		double best = r ? doc_num(r, "best_rtt_ns_p50") : NAN; /* what the rows were divided by */
		double v = isfinite(best) ? best : r ? chart_rtt(r, "p50") : NAN;
		if (isfinite(v))
			at += (size_t)snprintf(buf + at, len - at, "%s%s %s", at ? ", " : "", cr->mech[m].name,
					       fmt_ns(v, t, sizeof(t)));
	}
	return buf;
}

/* One bar: a mechanism's ratio, labelled with the floor it is over. */
struct costs_bar {
	char label[64];
	double value;
	const char *colour;
};

static int costs_cmp_bar(const void *a, const void *b)
{
	double x = ((const struct costs_bar *)a)->value, y = ((const struct costs_bar *)b)->value;
	return (x > y) - (x < y);
}

int chart_floor(struct charts_run *cr)
{
	double size = costs_floor_size(cr);
	if (!isfinite(size))
		return 0;
	struct costs_bar bars[MAX_SERIES];
	int n = 0;
	for (int m = 0; m < cr->n_mech; m++) {
		const json_t *r = chart_row_at(cr, cr->mech[m].name, "pingpong", size);
		double ratio = r ? doc_num(r, "floor_ratio") : NAN;
		if (!(ratio > 0) || chart_is_floor(cr->mech[m].group))
			continue;
		const char *kind = doc_str(r, "floor");
		snprintf(bars[n].label, sizeof(bars[n].label), *kind ? "%s (%s)" : "%s", cr->mech[m].name, kind);
		bars[n].value = ratio;
		bars[n++].colour = cr->mech[m].style.colour;
	}
	if (n == 0)
		return 0;
	qsort(bars, (size_t)n, sizeof(*bars), costs_cmp_bar);
	const char *name = "floor-ratio";
	FILE *f = chart_open(cr, name, "dat");
	if (!f)
		return -1;
	char floors[200];
	costs_floor_values(cr, size, floors, sizeof(floors));
	fprintf(f, "# ipcbench: p50 round trip at %.0f B over the p50 round trip of the floor named in brackets "
		   "(%s); columns: mechanism floor_ratio rgb_colour\n", size, floors);
	for (int i = 0; i < n; i++)
		fprintf(f, "\"%s\" %.6g %ld\n", bars[i].label, bars[i].value, strtol(bars[i].colour + 1, NULL, 16));
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char title[300], caption[320], subtitle[600];
	snprintf(title, sizeof(title), "p50 round trip at %.0f B as a multiple of its floor (%s)", size, floors);
	snprintf(caption, sizeof(caption),
		 "Each p50 round trip at %.0f B over the floor in brackets (cacheline: it spins; wake: it sleeps), "
		 "the best that floor reached in the run; lowest first.", size);
	chart_rows_subtitle(cr, "p50: median of", subtitle, sizeof(subtitle));
	return chart_finish(cr, name, "floor", title, subtitle, caption, NULL, 0);
}

/* Is row i on the Pareto front of (cpu, rtt): no other row at least as good in both and better in one? */
static bool costs_on_front(const double *cpu, const double *rtt_ns, int n, int i)
{
	for (int j = 0; j < n; j++)
		if (j != i && cpu[j] <= cpu[i] && rtt_ns[j] <= rtt_ns[i] && (cpu[j] < cpu[i] || rtt_ns[j] < rtt_ns[i]))
			return false;
	return true;
}

/* One mechanism's line of cpu-rtt.dat. */
static void costs_cpu_line(FILE *f, const struct series *s, double cpu, double p50, bool front)
{
	fprintf(f, "\"%s\" %.6g %.6g %ld %d %d\n", s->name, cpu, p50, strtol(s->style.colour + 1, NULL, 16), front,
		s->style.point);
}

/* The p50 round trip at the smallest size against both sides' CPU per round trip. */
int chart_cpu(struct charts_run *cr)
{
	double size = chart_small_size(cr, NULL), cpu[MAX_SERIES], p50[MAX_SERIES];
	const struct series *mech[MAX_SERIES];
	int n = 0;
	for (int m = 0; m < cr->n_mech && n < MAX_SERIES; m++) {
		const json_t *r = chart_row_at(cr, cr->mech[m].name, "pingpong", size);
		double c = r ? doc_num(json_object_get(r, "cpu"), "per_msg_ns") : NAN, t = r ? chart_rtt(r, "p50") : NAN;
		if (c > 0 && t > 0 && !chart_is_floor(cr->mech[m].group)) {
			mech[n] = &cr->mech[m];
			cpu[n] = c;
			p50[n++] = t;
		}
	}
	if (n < 2)
		return 0;
	const char *name = "cpu-rtt";
	FILE *f = chart_open(cr, name, "dat");
	if (!f)
		return -1;
	fprintf(f, "# ipcbench: pingpong at %.0f B; columns: mechanism cpu_per_rtt_ns p50_rtt_ns rgb_colour on_front "
		"point_type\n", size);
	bool front[MAX_SERIES];
	for (int i = 0; i < n; i++) {
		front[i] = costs_on_front(cpu, p50, n, i);
		costs_cpu_line(f, mech[i], cpu[i], p50[i], front[i]);
	}
	struct words w = { .n = 0 };
	for (int i = 0; i < n; i++) { /* one block per mechanism, so the key names each */
		fputs("\n\n", f);
		costs_cpu_line(f, mech[i], cpu[i], p50[i], front[i]);
		words_add(&w, mech[i]);
	}
	fputs("\n\n# the front, by CPU time\n", f);
	for (double last = 0;;) { /* the front's points in rising CPU order: selection, n is small */
		int next = -1;
		for (int i = 0; i < n; i++)
			if (front[i] && cpu[i] > last && (next < 0 || cpu[i] < cpu[next]))
				next = i;
		if (next < 0)
			break;
		fprintf(f, "\"%s\" %.6g %.6g\n", mech[next]->name, cpu[next], p50[next]);
		last = cpu[next];
	}
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char title[200], caption[320], subtitle[600], count[16], last[16];
	snprintf(title, sizeof(title), "Round trip against its CPU cost at %.0f B", size);
	snprintf(caption, sizeof(caption),
		 "p50 round trip at %.0f B against both sides' CPU time per round trip (log-log); in bold the Pareto "
		 "front: none is both faster and cheaper.", size);
	chart_rows_subtitle(cr, "p50: median of", subtitle, sizeof(subtitle));
	snprintf(count, sizeof(count), "%d", n);
	snprintf(last, sizeof(last), "%d", n + 1);
	const struct param extra[] = { { "COUNT", count }, { "FRONT", last }, { "NAMES", w.names },
				       { "COLOURS", w.colours }, { "POINTS", w.points } };
	return chart_finish(cr, name, "cpu", title, subtitle, caption, extra, 5);
}
