/* The chart set: which charts a document gives (what they share is in chart_common.c). */
#include "plots/charts.h"

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
	if (rc == 0)
		charts_remove_stale(cr);
	return rc;
}
