/* What the chart families share: reading rows, subtitles, writing NAME.dat and NAME.gp. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "plots/charts_int.h"
#include "plots/templates.h"
#include "results/doc.h"

/* --- reading the results --- */

bool chart_row_ok(const json_t *r)
{
	return strcmp(doc_str(r, "status"), "ok") == 0;
}

bool chart_is_floor(const char *group)
{
	return strcmp(group, "floor") == 0;
}

double chart_rtt(const json_t *r, const char *key)
{
	return doc_num(json_object_get(r, "rtt_ns"), key);
}

void chart_ci(const json_t *r, double headline, double *low, double *high)
{
	const json_t *ci = json_object_get(r, "ci95");
	*low = doc_num(ci, "low");
	*high = doc_num(ci, "high");
	if (!isfinite(*low) || !isfinite(*high))
		*low = *high = headline; /* fewer than 6 repetitions: no interval, a bar of no height */
}

static int charts_cmp_size(const void *a, const void *b)
{
	double x = doc_num(*(const json_t *const *)a, "size_bytes");
	double y = doc_num(*(const json_t *const *)b, "size_bytes");
	return (x > y) - (x < y);
}

int chart_rows(const struct charts_run *cr, const char *mech, const char *pattern, const json_t **out)
{
	size_t i;
	json_t *r;
	int n = 0;
	json_array_foreach(cr->results, i, r)
		if (n < MAX_POINTS && chart_row_ok(r) && !doc_is_variant(r) && strcmp(doc_str(r, "mechanism"), mech) == 0 &&
		    strcmp(doc_str(r, "pattern"), pattern) == 0)
			out[n++] = r;
	qsort(out, (size_t)n, sizeof(*out), charts_cmp_size);
	return n;
}

const json_t *chart_row_at(const struct charts_run *cr, const char *mech, const char *pattern, double size)
{
	const json_t *rows[MAX_POINTS];
	int n = chart_rows(cr, mech, pattern, rows);
	for (int i = 0; i < n; i++)
		if (doc_num(rows[i], "size_bytes") == size)
			return rows[i];
	return NULL;
}

double chart_unsupported_after(const struct charts_run *cr, const char *mech, const char *pattern, double after)
{
	double first = NAN;
	size_t i;
	json_t *r;
	json_array_foreach(cr->results, i, r) {
		double s = doc_num(r, "size_bytes");
		if (strcmp(doc_str(r, "status"), "unsupported") == 0 && !doc_is_variant(r) &&
		    strcmp(doc_str(r, "mechanism"), mech) == 0 && strcmp(doc_str(r, "pattern"), pattern) == 0 &&
		    s > after && !(s >= first))
			first = s;
	}
	return first;
}

double chart_small_size(const struct charts_run *cr, const char *group)
{
	double best = NAN;
	size_t i;
	json_t *r;
	json_array_foreach(cr->results, i, r) {
		if (!chart_row_ok(r) || doc_is_variant(r) || (group && strcmp(doc_str(r, "group"), group)) ||
		    strcmp(doc_str(r, "pattern"), "pingpong") || !isfinite(chart_rtt(r, "p50")))
			continue;
		double s = doc_num(r, "size_bytes");
		if (s == 64)
			return 64;
		if (!(s >= best))
			best = s;
	}
	return best;
}

const char *chart_group_words(const char *group)
{
	if (strcmp(group, "process") == 0)
		return "between processes";
	if (strcmp(group, "thread") == 0)
		return "between threads of one process";
	return group;
}

void words_add(struct words *w, const struct series *s)
{
	size_t a = strlen(w->names), b = strlen(w->colours), c = strlen(w->points), d = strlen(w->dashes);
	const char *sep = w->n ? " " : "";
	snprintf(w->names + a, sizeof(w->names) - a, "%s%s", sep, s->name);
	snprintf(w->colours + b, sizeof(w->colours) - b, "%s%s", sep, s->style.colour);
	snprintf(w->points + c, sizeof(w->points) - c, "%s%d", sep, s->style.point);
	snprintf(w->dashes + d, sizeof(w->dashes) - d, "%s%d", sep, s->style.dash);
	w->n++;
}

/* --- subtitles --- */

void chart_method_subtitle(const struct charts_run *cr, const char *method, char *buf, size_t len)
{
	char host[300];
	snprintf(buf, len, "%s | ipcbench %s%s%s", doc_host_line(cr->doc, host, sizeof(host)),
		 doc_str(cr->doc, "version"), *method ? " | " : "", method);
}

void chart_rows_subtitle(const struct charts_run *cr, const char *what, char *buf, size_t len)
{
	const json_t *cfg = json_object_get(cr->doc, "config");
	double reps = doc_num(cfg, "repetitions"), span_s = doc_num(cfg, "duration_s");
	bool scaled = json_is_true(json_object_get(cfg, "duration_scaled"));
	char method[200] = "", span[24];
	if (isfinite(reps) && isfinite(span_s))
		snprintf(method, sizeof(method), "%s %.0f repetition%s per row, %s %s", what, reps, reps == 1 ? "" : "s",
			 scaled ? "typical timed span" : "timed span", fmt_ns(span_s * 1e9, span, sizeof(span)));
	chart_method_subtitle(cr, method, buf, len);
}

/* --- files --- */

FILE *chart_open(const struct charts_run *cr, const char *name, const char *ext)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.%s", cr->dir, name, ext);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int chart_close(const struct charts_run *cr, FILE *f, const char *name, const char *ext)
{
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ipcbench: writing %s/%s.%s failed\n", cr->dir, name, ext);
	return bad ? -1 : 0;
}

void chart_block(FILE *f, int index, const char *name)
{
	fprintf(f, "%s# %s\n", index ? "\n\n" : "", name);
}

/* Copy a value into a single-quoted gnuplot string, where only ' needs escaping (as ''). */
static void charts_put_quoted(const char *v, FILE *out)
{
	for (; *v; v++) {
		if (*v == '\'')
			fputc('\'', out);
		fputc(*v, out);
	}
}

static const char *charts_template(const char *name)
{
	for (const struct plot_template *t = plot_templates; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t->text;
	return NULL;
}

/* The template with every @KEY@ of params replaced by its value. */
static void charts_fill(const char *text, const struct param *p, int np, FILE *out)
{
	while (*text) {
		const char *end = text[0] == '@' ? strchr(text + 1, '@') : NULL;
		int k = -1;
		for (int i = 0; end && i < np; i++)
			if ((size_t)(end - text - 1) == strlen(p[i].key) && !strncmp(text + 1, p[i].key, strlen(p[i].key)))
				k = i;
		if (k >= 0) {
			charts_put_quoted(p[k].value, out);
			text = end + 1;
		} else {
			fputc(*text++, out);
		}
	}
}

int chart_finish(struct charts_run *cr, const char *name, const char *tpl, const char *title, const char *subtitle,
		 const char *caption, const struct param *extra, int n_extra)
{
	const char *text = charts_template(tpl);
	if (!text || cr->set->n == CHARTS_MAX) {
		fprintf(stderr, "ipcbench: chart %s: no template %s.gp in this build\n", name, tpl);
		return -1;
	}
	char data[80], output[80], script[80];
	snprintf(data, sizeof(data), "%s.dat", name);
	snprintf(output, sizeof(output), "%s.png", name);
	snprintf(script, sizeof(script), "%s.gp", name);
	struct param p[32] = {
		{ "TITLE", title }, { "SUBTITLE", subtitle }, { "DATA", data }, { "OUTPUT", output },
		{ "SCRIPT", script },
	};
	int np = 5;
	for (int i = 0; i < n_extra && np < 32; i++)
		p[np++] = extra[i];
	FILE *f = chart_open(cr, name, "gp");
	if (!f)
		return -1;
	charts_fill(text, p, np, f);
	if (chart_close(cr, f, name, "gp"))
		return -1;

	struct chart *c = &cr->set->chart[cr->set->n++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->caption, sizeof(c->caption), "%s", caption);
	c->rendered = false; /* charts_write renders the set once every script is written */
	return 0;
}
