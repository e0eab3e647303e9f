/*
 * plots/: the charts of a results document: .dat and .gp files from the
 * plots/NAME.gp templates (compiled into the binary), rendered by gnuplot.
 * Made from the document alone, like every view in bench/results/.
 */
#ifndef IPCBENCH_CHARTS_H
#define IPCBENCH_CHARTS_H

#include <jansson.h>
#include <stdbool.h>

#define CHARTS_MAX 24

/* One chart of the bundle: NAME.png with NAME.gp and NAME.dat beside it. */
struct chart {
	char name[48];     /* file stem, e.g. "latency-process" */
	char caption[320]; /* one sentence: what it shows */
	bool rendered;     /* NAME.png was written and is a PNG */
};

/* The charts one document gave, in the order a report shows them. */
struct chart_set {
	struct chart chart[CHARTS_MAX];
	int n;
	bool gnuplot_missing; /* .gp and .dat were written, but nothing rendered them */
	int failed;           /* charts gnuplot did not turn into a PNG */
};

/**
 * Write every chart doc has data for into dir and render each with gnuplot
 * (a child process, killed after timeout_s). A chart without data is skipped;
 * earlier bundle charts this run does not produce are removed. Failures are
 * reported on stderr with gnuplot's own message and counted in set->failed.
 * @return 0, or -1 when a .gp or .dat file could not be written.
 */
int charts_write(const char *dir, const json_t *doc, struct chart_set *set, int timeout_s);

#endif
