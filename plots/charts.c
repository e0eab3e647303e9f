/* The chart set: which charts a document gives (what they share is in chart_common.c). */
#include "plots/charts.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plots/charts_int.h"
#include "plots/gnuplot.h"
#include "registry.h"
#include "results/doc.h"

/* Every mechanism of the document once, in order of appearance, with its style. */
static void charts_collect(struct charts_run *cr)
{
	size_t i;
	json_t *r;
	int unknown[2] = { 0, 0 }; /* names this build does not know, not floors and floors */
	json_array_foreach(cr->results, i, r) {
		const char *name = doc_str(r, "mechanism"), *group = doc_str(r, "group");
		int k = 0;
		while (k < cr->n_mech && strcmp(cr->mech[k].name, name) != 0)
			k++;
		if (k < cr->n_mech || cr->n_mech == MAX_SERIES)
			continue;
		struct mech_style st = palette_style(name, group, unknown[chart_is_floor(group)]);
		unknown[chart_is_floor(group)] += !transport_find(name);
		cr->mech[cr->n_mech++] = (struct series){ name, group, st };
	}
}

/* --- the set --- */

/* Chart names this code may write: an earlier bundle's charts this run does not make go away. */
static void charts_remove_stale(const struct charts_run *cr)
{
	static const char *const kinds[] = { "latency-%s", "throughput-%s", "percentiles-%s", "percentiles-%s-4K" };
	static const char *const singles[] = { "floor-ratio", "cpu-rtt", "spawn", "scaling", "scaling-use-cases" };
	static const char *const groups[] = { "process", "thread" };
	static const char *const ext[] = { "png", "gp", "dat" };
	char names[16][48];
	int n = 0;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (size_t g = 0; g < 2; g++)
			snprintf(names[n++], sizeof(names[0]), kinds[k], groups[g]);
	for (size_t s = 0; s < sizeof(singles) / sizeof(singles[0]); s++)
		snprintf(names[n++], sizeof(names[0]), "%s", singles[s]);
	for (int i = 0; i < n; i++) {
		bool made = false;
		for (int c = 0; c < cr->set->n; c++)
			made |= strcmp(cr->set->chart[c].name, names[i]) == 0;
		for (int e = 0; e < 3 && !made; e++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s.%s", cr->dir, names[i], ext[e]);
			unlink(path);
		}
	}
}

/* --- rendering: one gnuplot per CPU at a time, each chart's outcome reported in the set's order --- */

#define RENDER_THREADS_MAX 8

struct render_job {
	int rc; /* gnuplot_render's, or 1: not started, a gnuplot before it was stuck */
	char msg[2400];
};

struct render_pool {
	const struct charts_run *cr;
	struct render_job job[CHARTS_MAX];
	_Atomic int next;
	_Atomic bool stuck; /* one stuck gnuplot is enough waiting: start no more */
};

static void *render_worker(void *arg)
{
	struct render_pool *rp = arg;
	for (int i; (i = atomic_fetch_add(&rp->next, 1)) < rp->cr->set->n;) {
		struct render_job *j = &rp->job[i];
		j->rc = 1;
		if (atomic_load(&rp->stuck))
			continue;
		j->rc = gnuplot_render(rp->cr->dir, rp->cr->set->chart[i].name, rp->cr->timeout_s, j->msg,
				       sizeof(j->msg));
		if (j->rc == -ETIMEDOUT)
			atomic_store(&rp->stuck, true);
	}
	return NULL;
}

static void charts_render(const struct charts_run *cr)
{
	struct render_pool *rp = calloc(1, sizeof(*rp));
	if (!rp) {
		fprintf(stderr, "ipcbench: charts: out of memory, none rendered\n");
		cr->set->failed += cr->set->n;
		return;
	}
	rp->cr = cr;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus > RENDER_THREADS_MAX ? RENDER_THREADS_MAX : (int)cpus;
	nt = nt < cr->set->n ? nt : cr->set->n;
	pthread_t t[RENDER_THREADS_MAX];
	int started = 0;
	while (started < nt && pthread_create(&t[started], NULL, render_worker, rp) == 0)
		started++;
	if (started == 0)
		render_worker(rp); /* no thread to be had: one at a time, here */
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < cr->set->n; i++) {
		struct render_job *j = &rp->job[i];
		if (j->rc == 0) {
			cr->set->chart[i].rendered = true;
		} else if (j->rc < 0) {
			char png[4096];
			snprintf(png, sizeof(png), "%s/%s.png", cr->dir, cr->set->chart[i].name);
			unlink(png); /* a half-written or foreign file must not pass for the chart */
			fprintf(stderr, "ipcbench: chart %s: %s\n", png, j->msg);
			cr->set->failed++;
		}
	}
	free(rp);
}

int charts_write(const char *dir, const json_t *doc, struct chart_set *set, int timeout_s)
{
	struct charts_run run = { .dir = dir }, *cr = &run;
	cr->doc = doc;
	cr->results = json_object_get(doc, "results");
	cr->set = set;
	cr->timeout_s = timeout_s;
	memset(set, 0, sizeof(*set));
	cr->gnuplot = gnuplot_in_path();
	set->gnuplot_missing = !cr->gnuplot;
	charts_collect(cr);

	/* groups in order of appearance; the floor group is drawn into the others as a reference */
	const char *groups[MAX_SERIES];
	int ng = 0, rc = 0;
	for (int m = 0; m < cr->n_mech; m++) {
		int g = 0;
		while (g < ng && strcmp(groups[g], cr->mech[m].group) != 0)
			g++;
		if (g == ng && !chart_is_floor(cr->mech[m].group) && *cr->mech[m].group)
			groups[ng++] = cr->mech[m].group;
	}
	for (int g = 0; g < ng && rc == 0; g++)
		rc = chart_latency(cr, groups[g]);
	for (int g = 0; g < ng && rc == 0; g++) {
		double small = chart_small_size(cr, groups[g]);
		rc = chart_percentiles(cr, groups[g], small);
		if (rc == 0 && small != 4096)
			rc = chart_percentiles(cr, groups[g], 4096);
	}
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
	if (cr->gnuplot && cr->set->n)
		charts_render(cr);
	if (rc == 0)
		charts_remove_stale(cr);
	return rc;
}
