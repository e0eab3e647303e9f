/* What the chart files of plots/ share: the run, reading rows, writing NAME.dat and NAME.gp. Not for outside plots/. */
#ifndef IPCBENCH_CHARTS_INT_H
#define IPCBENCH_CHARTS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "plots/charts.h"
#include "plots/palette.h"

#define MAX_SERIES 64
#define MAX_POINTS 64

/* One mechanism as a line in a chart. */
struct series {
	const char *name;
	const char *group;
	struct mech_style style;
};

/* What every chart of one document shares. */
struct charts_run {
	const char *dir;
	const json_t *doc;
	const json_t *results;
	struct chart_set *set;
	struct series mech[MAX_SERIES]; /* every mechanism in the document, in order of appearance */
	int n_mech;
	int timeout_s;
	bool gnuplot;
};

/* A template parameter: @KEY@ in plots/NAME.gp becomes value. */
struct param {
	const char *key;
	const char *value;
};

/* The word lists a template's plot loop reads, one word per series, in block order. */
struct words {
	char names[2048], colours[1024], points[256], dashes[256];
	int n;
};

void words_add(struct words *w, const struct series *s);

/* --- reading the results (chart_common.c) --- */

bool chart_row_ok(const json_t *r);
bool chart_is_floor(const char *group);
/** r.rtt_ns[key] in ns; NAN when absent or null. */
double chart_rtt(const json_t *r, const char *key);
/** The headline's 95% interval (ci95), or the headline itself twice when the row has none. */
void chart_ci(const json_t *r, double headline, double *low, double *high);
/** The ok rows (not load variants) of one mechanism and pattern, smallest size first; at most MAX_POINTS. */
int chart_rows(const struct charts_run *cr, const char *mech, const char *pattern, const json_t **out);
/** The ok row of mech at exactly size, or NULL. */
const json_t *chart_row_at(const struct charts_run *cr, const char *mech, const char *pattern, double size);
/** The smallest size after `after` at which mech's pattern is unsupported, or NAN. */
double chart_unsupported_after(const struct charts_run *cr, const char *mech, const char *pattern, double after);
/** 64 when a pingpong row of group (any group when NULL) has a p50 there, else the smallest such size; NAN without. */
double chart_small_size(const struct charts_run *cr, const char *group);
const char *chart_group_words(const char *group);

/* --- subtitles (chart_common.c): what the figures of a chart are --- */

/** "HOST | ipcbench V | <what> R repetitions per row, typical timed span S", from the document's config. */
void chart_rows_subtitle(const struct charts_run *cr, const char *what, char *buf, size_t len);
/** "HOST | ipcbench V | <method>", or "HOST | ipcbench V" for an empty method (an experiment gives
 *  its own method as the template's second subtitle line, @METHOD@). */
void chart_method_subtitle(const struct charts_run *cr, const char *method, char *buf, size_t len);

/* --- files (chart_common.c) --- */

FILE *chart_open(const struct charts_run *cr, const char *name, const char *ext);
/** Close f; -1 after a message when writing it failed. */
int chart_close(const struct charts_run *cr, FILE *f, const char *name, const char *ext);
/** Start data block index of a .dat (two blank lines before every block but the first). */
void chart_block(FILE *f, int index, const char *name);
/** Write NAME.gp from plots/TPL.gp and record the chart; charts_write renders the set afterwards. */
int chart_finish(struct charts_run *cr, const char *name, const char *tpl, const char *title, const char *subtitle,
		 const char *caption, const struct param *extra, int n_extra);

/* --- the chart families, one file each; 0 also when there is nothing to draw --- */

int chart_latency(struct charts_run *cr, const char *group);                   /* chart_sizes.c */
int chart_throughput(struct charts_run *cr, const char *group);                /* chart_sizes.c */
int chart_percentiles(struct charts_run *cr, const char *group, double size);  /* chart_percentiles.c */
int chart_floor(struct charts_run *cr);                                        /* chart_costs.c */
int chart_cpu(struct charts_run *cr);                                          /* chart_costs.c */
int chart_spawn(struct charts_run *cr);                                        /* chart_models.c */
int chart_scaling(struct charts_run *cr);                                      /* chart_models.c */
int chart_use_cases(struct charts_run *cr);                                    /* chart_models.c */

#endif
