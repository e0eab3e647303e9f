/* The -o bundle (results.json, results.csv, report.md, charts) and `ipcbench plot`. */
#include "bundle.h"
#include "doc.h"
#include "output.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "hgrm.h"
#include "plots/charts.h"

#define GNUPLOT_TIMEOUT_S 30

/* Everything but results.json, which `plot` may be reading from dir itself. */
static int bundle_views(const char *dir, const json_t *doc, bool quiet)
{
	char path[4096];
	int bad = 0;
	FILE *f = doc_file_open(dir, "results.csv", path, sizeof(path));
	if (f) {
		write_csv(doc, f);
		bad |= doc_file_close(f, path);
	} else {
		bad = -1;
	}
	struct chart_set charts;
	bad |= hgrm_write_all(dir, doc);
	bad |= charts_write(dir, doc, &charts, GNUPLOT_TIMEOUT_S);
	if ((f = doc_file_open(dir, "report.md", path, sizeof(path)))) {
		report_write(doc, &charts, f);
		bad |= doc_file_close(f, path);
	} else {
		bad = -1;
	}
	if (charts.gnuplot_missing && charts.n) {
		fprintf(stderr, "ipcbench: warning: gnuplot not found in PATH, %d chart%s skipped (results and "
				"report.md are in %s); to get them: apt-get install gnuplot-nox, then ipcbench plot ",
			charts.n, charts.n == 1 ? "" : "s", dir);
		snprintf(path, sizeof(path), "%s/results.json", dir);
		report_shell_word(path, stderr);
		fputs(" -o ", stderr);
		report_shell_word(dir, stderr);
		fputc('\n', stderr);
	}
	if (charts.failed)
		bad = -1;
	if (!quiet && isatty(STDERR_FILENO)) {
		int rendered = 0;
		for (int i = 0; i < charts.n; i++)
			rendered += charts.chart[i].rendered;
		fprintf(stderr, "ipcbench: wrote %s/report.md, results.json, results.csv and %d chart%s\n", dir,
			rendered, rendered == 1 ? "" : "s");
	}
	return bad ? -1 : 0;
}

int bundle_write(const char *dir, const json_t *doc, bool quiet)
{
	int bad = doc_write(dir, doc);
	return bundle_views(dir, doc, quiet) || bad ? -1 : 0;
}

/* --- ipcbench plot --- */

static int plot_usage(const char *problem)
{
	fprintf(stderr, "ipcbench: plot: %s; use: ipcbench plot RESULTS.json -o DIR [--force] [--quiet]\n", problem);
	return 2;
}

int bundle_plot_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	bool force = false, quiet = false;
	int opt;
	char msg[200];
	opterr = 0;
	optind = 0; /* 0: glibc resets all of getopt's state, in case an earlier parse stopped mid-word */
	while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': dir = optarg; break;
		case 'f': force = true; break;
		case 'q': quiet = true; break;
		case 'h':
			puts("usage: ipcbench plot RESULTS.json -o DIR [--force] [--quiet]\n"
			     "Write the charts, report.md and results.csv of saved results into DIR again\n"
			     "(and results.json, when DIR is not where it came from).");
			return 0;
		case ':': return plot_usage("-o needs a directory");
		default:
			snprintf(msg, sizeof(msg), "unknown option '%s'", argv[optind - 1]);
			return plot_usage(msg);
		}
	}
	if (optind >= argc)
		return plot_usage("give the results file");
	if (argc - optind > 1) {
		snprintf(msg, sizeof(msg), "unexpected argument '%s'", argv[optind + 1]);
		return plot_usage(msg);
	}
	if (!dir || !*dir)
		return plot_usage("give the output directory with -o DIR");
	const char *src = argv[optind];
	json_t *doc = doc_load(src, "plot");
	if (!doc)
		return 2;
	int rc = cli_check_out_dir(dir, force);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	char dst[4096];
	struct stat a, b;
	snprintf(dst, sizeof(dst), "%s/results.json", dir);
	bool same = stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	rc = same ? bundle_views(dir, doc, quiet) : bundle_write(dir, doc, quiet);
	json_decref(doc);
	return rc ? 1 : 0;
}
