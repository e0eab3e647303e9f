/* The experiments' charts (spawn, scaling, scaling-use-cases), each saying how its own figures were taken. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "plots/charts_int.h"
#include "results/doc.h"

/* Processes and threads, the same in every experiment chart (Okabe-Ito blue and orange). */
#define MODELS_PROCESS_RGB "#0072B2"
#define MODELS_THREAD_RGB "#E69F00"

static const json_t *models_get(const struct charts_run *cr, const char *name)
{
	return json_object_get(json_object_get(cr->doc, "models"), name);
}

/* The experiment called name when it succeeded, else NULL. */
static const json_t *models_ok(const struct charts_run *cr, const char *name)
{
	const json_t *m = models_get(cr, name);
	return strcmp(doc_str(m, "status"), "ok") == 0 ? m : NULL;
}

static bool models_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && strcmp(s + a - b, suffix) == 0;
}

/* "best of 3 runs", "1 run": how a figure was picked out of its repetitions. */
static const char *models_best_of(const json_t *m, char *buf, size_t len)
{
	double reps = doc_num(m, "repetitions");
	if (!(reps >= 1))
		snprintf(buf, len, "runs not recorded");
	else if (reps == 1)
		snprintf(buf, len, "1 run");
	else
		snprintf(buf, len, "best of %.0f runs", reps);
	return buf;
}

/* models.spawn: every "*_ns" object with a p50 is a bar, labelled with its n; p99 a whisker when present. */
int chart_spawn(struct charts_run *cr)
{
	const json_t *spawn = models_get(cr, "spawn");
	const char *key;
	json_t *v;
	int n = 0;
	double least = NAN, most = NAN;
	FILE *f = NULL;
	const char *name = "spawn";
	json_object_foreach((json_t *)spawn, key, v) {
		double p50 = doc_num(v, "p50"), p99 = doc_num(v, "p99"), count = doc_num(v, "n");
		if (!models_has_suffix(key, "_ns") || !json_is_object(v) || !(p50 > 0))
			continue;
		if (!f && !(f = chart_open(cr, name, "dat")))
			return -1;
		if (!n)
			fprintf(f, "# ipcbench: models.spawn, time per spawn and wait; "
				   "columns: label p50_ns p99_ns rgb_colour (p99_ns NaN: fewer than 1,000 spawns, too few for a p99)\n");
		fputc('"', f);
		for (const char *c = key; c < key + strlen(key) - 3; c++)
			fputc(*c == '"' || *c == '\\' ? '\'' : *c, f); /* a label must not end the quoted field */
		if (count >= 1)
			fprintf(f, ", n=%.0f", count);
		fprintf(f, "\" %.10g ", p50);
		if (isfinite(p99))
			fprintf(f, "%.10g", p99);
		else
			fputs("NaN", f);
		const char *rgb = strstr(key, "thread") ? MODELS_THREAD_RGB : MODELS_PROCESS_RGB;
		fprintf(f, " %ld\n", strtol(rgb + 1, NULL, 16));
		least = !(count >= least) ? count : least;
		most = !(count <= most) ? count : most;
		n++;
	}
	if (!f)
		return 0;
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char method[200] = "each bar: p50 of its n spawns, each timed from the call to the wait returning; whisker: p99, where n >= 1000",
	     subtitle[600];
	if (isfinite(least))
		snprintf(method + strlen(method), sizeof(method) - strlen(method), "; n from %.0f to %.0f, per bar", least,
			 most);
	chart_method_subtitle(cr, "", subtitle, sizeof(subtitle));
	const struct param p[] = { { "METHOD", method } };
	return chart_finish(cr, name, "spawn", "Cost of starting and finishing one process or thread (p50, whisker to p99)",
			    subtitle, "Time to create one process or thread and wait for it, p50 with a whisker to p99 "
			    "over n spawns each (threads in orange; log scale).", p, 1);
}

/* models.scaling.{process,thread}.speedup: one figure per worker count from 1. */
int chart_scaling(struct charts_run *cr)
{
	const json_t *scaling = models_get(cr, "scaling");
	const json_t *procs = json_object_get(json_object_get(scaling, "process"), "speedup");
	const json_t *threads = json_object_get(json_object_get(scaling, "thread"), "speedup");
	size_t np = json_is_array(procs) ? json_array_size(procs) : 0;
	size_t nt = json_is_array(threads) ? json_array_size(threads) : 0;
	size_t workers = np > nt ? np : nt;
	if (workers == 0)
		return 0;
	const char *name = "scaling";
	FILE *f = chart_open(cr, name, "dat");
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
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char w[24], runs[40], method[300], subtitle[600];
	snprintf(w, sizeof(w), "%zu", workers);
	int at = snprintf(method, sizeof(method), "each point: wall time of the whole job, %s",
			  models_best_of(scaling, runs, sizeof(runs)));
	if (doc_num(scaling, "iterations") > 0)
		snprintf(method + at, sizeof(method) - (size_t)at, "; %.0f hash iterations split over 1 to %zu workers",
			 doc_num(scaling, "iterations"), workers);
	chart_method_subtitle(cr, "", subtitle, sizeof(subtitle));
	struct param p[] = { { "WORKERS", w }, { "METHOD", method } };
	return chart_finish(cr, name, "scaling", "Speedup of CPU-bound work over 1..n processes vs threads", subtitle,
			    "The same CPU-bound work split over 1..n workers: speedup over one worker, "
			    "processes vs threads (dotted: linear).", p, 2);
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

/* How each experiment drawn in the use-case chart took its figures, from its own JSON. */
static void use_cases_method(const json_t *sc, const json_t *io, const json_t *py, char *buf, size_t len)
{
	char runs[40], t[24];
	size_t at = 0;
	buf[0] = '\0';
	if (sc)
		at += (size_t)snprintf(buf + at, len - at, "C CPU-bound: %s", models_best_of(sc, runs, sizeof(runs)));
	if (io && at < len)
		at += (size_t)snprintf(buf + at, len - at, "%sC I/O-bound: loops finished in a %s window", at ? "; " : "",
				       fmt_ns(doc_num(io, "window_ns"), t, sizeof(t)));
	const json_t *pc = json_object_get(py, "cpu_bound"), *pi = json_object_get(py, "io_bound");
	if (pc && at < len)
		at += (size_t)snprintf(buf + at, len - at, "%sPython CPU-bound: %s", at ? "; " : "",
				       models_best_of(pc, runs, sizeof(runs)));
	if (pi && at < len)
		snprintf(buf + at, len - at, "%sPython I/O-bound: %.0f tasks, %s", at ? "; " : "", doc_num(pi, "tasks"),
			 models_best_of(pi, runs, sizeof(runs)));
}

/* Speedup against workers, C and Python, processes and threads: CPU-bound left, I/O-bound right. */
int chart_use_cases(struct charts_run *cr)
{
	const json_t *sc = models_ok(cr, "scaling"), *io = models_ok(cr, "iobound"), *py = models_ok(cr, "python");
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
	FILE *f = chart_open(cr, name, "dat");
	if (!f)
		return -1;
	fputs("# ipcbench: speedup over one worker; block 0 CPU-bound (models.scaling, models.python.cpu_bound), "
	      "block 1 I/O-bound (models.iobound ops_per_s over its 1-worker ops_per_s, models.python.io_bound); "
	      "columns: workers c_processes c_threads python_processes python_threads\n", f);
	speedups_write(&cpu, f);
	fputs("\n\n", f);
	speedups_write(&iob, f);
	if (chart_close(cr, f, name, "dat"))
		return -1;
	char cmax[16], imax[16], method[400], subtitle[600];
	snprintf(cmax, sizeof(cmax), "%d", cpu.n ? cpu.workers[cpu.n - 1] : 1);
	snprintf(imax, sizeof(imax), "%d", iob.n ? iob.workers[iob.n - 1] : 1);
	use_cases_method(sc, io, py, method, sizeof(method));
	chart_method_subtitle(cr, "", subtitle, sizeof(subtitle));
	const struct param p[] = { { "CPU_COLS", cpu.cols }, { "IO_COLS", iob.cols }, { "CPU_MAX", cmax },
				   { "IO_MAX", imax }, { "METHOD", method } };
	return chart_finish(cr, name, "scaling-use-cases", "Speedup against workers: C and Python, processes and threads",
			    subtitle, "Speedup over one worker: CPU-bound work (left) and work that mostly waits 1 ms "
			    "(right, log-log; C: ops/s over the one-worker ops/s); processes blue, threads orange, "
			    "C solid, Python dashed.", p, 5);
}
