/* The -o bundle (results.json, results.csv, report.md, charts), reading it back, and `ipcbench plot`. */
#include "bundle.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "hgrm.h"
#include "output.h"
#include "plots/charts.h"
#include "report.h"

#define GNUPLOT_TIMEOUT_S 30

const char *doc_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

bool doc_is_variant(const json_t *r)
{
	return json_object_get(r, "pairs") || json_object_get(r, "rate");
}

double doc_num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

static int close_checked(FILE *f, const char *path)
{
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ipcbench: writing %s failed\n", path);
	return bad ? -1 : 0;
}

/* Everything but results.json, which `plot` may be reading from dir itself. */
static int bundle_views(const char *dir, const json_t *doc, bool quiet)
{
	char path[4096];
	int bad = 0;
	FILE *f = open_in(dir, "results.csv", path, sizeof(path));
	if (f) {
		write_csv(doc, f);
		bad |= close_checked(f, path);
	} else {
		bad = -1;
	}
	struct chart_set charts;
	bad |= hgrm_write_all(dir, doc);
	bad |= charts_write(dir, doc, &charts, GNUPLOT_TIMEOUT_S);
	if ((f = open_in(dir, "report.md", path, sizeof(path)))) {
		report_write(doc, &charts, f);
		bad |= close_checked(f, path);
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
	char path[4096];
	FILE *f = open_in(dir, "results.json", path, sizeof(path));
	if (!f)
		return -1;
	json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	fputc('\n', f);
	int bad = close_checked(f, path);
	return bundle_views(dir, doc, quiet) || bad ? -1 : 0;
}

/* --- reading a results document back --- */

/* Names end up in file names and gnuplot word lists: letters, digits and . _ + - only. */
static bool plain_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 47)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

static const char *row_problem(const json_t *r)
{
	static const char *const names[] = { "mechanism", "group", "pattern", "status" };
	if (!json_is_object(r))
		return "is not an object";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!plain_name(doc_str(r, names[i])))
			return names[i];
	if (!json_is_integer(json_object_get(r, "size_bytes")) || json_integer_value(json_object_get(r, "size_bytes")) < 1)
		return "size_bytes";
	const char *st = doc_str(r, "status");
	if (strcmp(st, "ok") && strcmp(st, "unsupported") && strcmp(st, "failed"))
		return "status";
	return NULL;
}

json_t *bundle_load(const char *path, const char *cmd)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "ipcbench: %s: cannot read '%s': %s\n", cmd, path, strerror(errno));
		return NULL;
	}
	json_error_t err;
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
	fclose(f);
	if (!doc) {
		fprintf(stderr, "ipcbench: %s: '%s' is not JSON (line %d: %s); give a results.json written by ipcbench -o\n",
			cmd, path, err.line, err.text);
		return NULL;
	}
	const json_t *schema = json_object_get(doc, "schema");
	const char *why = NULL;
	char buf[200];
	if (!json_is_object(doc) || strcmp(doc_str(doc, "tool"), "ipcbench") != 0) {
		why = "is not ipcbench results (no \"tool\": \"ipcbench\"); give a results.json written by ipcbench -o";
	} else if (!json_is_integer(schema) || json_integer_value(schema) != 1) {
		if (json_is_integer(schema))
			snprintf(buf, sizeof(buf), "has results schema %" JSON_INTEGER_FORMAT
				 "; this ipcbench reads schema 1 only", json_integer_value(schema));
		else
			snprintf(buf, sizeof(buf), "has no \"schema\" number; this ipcbench reads schema 1 only");
		why = buf;
	} else if (!json_is_array(json_object_get(doc, "results"))) {
		why = "has no \"results\" list";
	} else {
		static const char *const objs[] = { "run", "host", "config", "models" };
		for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]) && !why; i++) {
			const json_t *o = json_object_get(doc, objs[i]);
			if (o && !json_is_object(o)) {
				snprintf(buf, sizeof(buf), "has a \"%s\" that is not an object", objs[i]);
				why = buf;
			}
		}
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(doc, "results"), i, r) {
			const char *p = why ? NULL : row_problem(r);
			if (p) {
				snprintf(buf, sizeof(buf), "has a bad result row: results[%zu] %s%s", i,
					 strchr(p, ' ') ? "" : "has no valid ", p);
				why = buf;
			}
		}
	}
	if (why) {
		fprintf(stderr, "ipcbench: %s: '%s' %s\n", cmd, path, why);
		json_decref(doc);
		return NULL;
	}
	return doc;
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
	json_t *doc = bundle_load(src, "plot");
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
