/* The -o bundle end to end: files, charts with and without gnuplot, plot and compare, bad input. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "parse.h"
#include "support.h"

#include "plots/gnuplot.h"

/* A short real run: one mechanism, one repetition, small sizes. */
#define RUN_ARGS "-m", "pipe", "--quick", "-r", "1", "-d", "0.02", "--quiet"

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/bundle-e2e-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static char *path_in(const char *dir, const char *name)
{
	static char path[1100];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static bool exists(const char *dir, const char *name)
{
	return access(path_in(dir, name), F_OK) == 0;
}

static bool is_png(const char *dir, const char *name)
{
	unsigned char head[8] = { 0 };
	int fd = open(path_in(dir, name), O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static char *slurp(const char *dir, const char *name)
{
	FILE *f = fopen(path_in(dir, name), "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		size_t a = strlen(e->d_name), b = strlen(suffix);
		n += a > b && strcmp(e->d_name + a - b, suffix) == 0;
	}
	if (d)
		closedir(d);
	return n;
}

/* Every chart script in dir has its data beside it, and its PNG when gnuplot is here; returns the charts. */
static int check_chart_files(const char *dir, bool rendered)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".gp") != 0)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s.dat", (int)(len - 3), e->d_name);
		if (!exists(dir, name))
			print_error("%s has no %s\n", e->d_name, name);
		assert_true(exists(dir, name));
		snprintf(name, sizeof(name), "%.*s.png", (int)(len - 3), e->d_name);
		assert_true(!rendered || is_png(dir, name));
		n++;
	}
	closedir(d);
	return n;
}

/* The 64 B percentile line of dir's pipe row: at least 20 points, ending at the row's max. */
static void check_percentile_line(const char *dir, const json_t *doc)
{
	double max = NAN;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r)
		if (json_integer_value(json_object_get(r, "size_bytes")) == 64 &&
		    strcmp(json_string_value(json_object_get(r, "pattern")), "pingpong") == 0 &&
		    json_object_get(r, "histogram"))
			max = json_number_value(json_object_get(json_object_get(r, "rtt_ns"), "max"));
	assert_true(isfinite(max));
	char *dat = slurp(dir, "percentiles-process.dat");
	int points = 0;
	double x = NAN, y = NAN;
	for (char *line = dat; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (*line != '#' && *line != '\n' && sscanf(line, "%lf %lf", &x, &y) == 2)
			points++;
	free(dat);
	assert_true(points >= 20);
	assert_true(y == max);
}

/* Every chart report.md shows inline is a PNG in dir. */
static int check_inline_pngs(const char *dir, const char *md)
{
	int n = 0;
	for (const char *p = strstr(md, "]("); p; p = strstr(p + 2, "](")) {
		const char *end = strchr(p, ')');
		if (!end || end - p < 6 || strncmp(end - 4, ".png", 4) != 0)
			continue;
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
		if (!is_png(dir, name))
			print_error("%s is not a PNG\n", name);
		assert_true(is_png(dir, name));
		n++;
	}
	return n;
}

/*
 * One HdrHistogram percentile distribution per ok pingpong row: four columns
 * up to the last line, percentiles rising to 1, the total count the row's samples.
 */
static void check_hgrm(const char *path, uint64_t samples)
{
	FILE *f = fopen(path, "re");
	if (!f)
		print_error("no %s\n", path);
	assert_non_null(f);
	char line[256];
	double last_p = -1, value, p, inv;
	unsigned long long count = 0, last_count = 0;
	bool footer = false;
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "Value") && strstr(line, "Percentile") && strstr(line, "TotalCount"));
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "#[Max", 5) == 0)
			footer = sscanf(line, "#[Max = %lf, Total count = %llu]", &value, &count) == 2 ||
				 strstr(line, "Total count") != NULL;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		int n = sscanf(line, "%lf %lf %llu %lf", &value, &p, &last_count, &inv);
		assert_true(n == 4 || (n == 3 && p == 1.0));
		assert_true(p >= last_p && p <= 1.0);
		last_p = p;
	}
	fclose(f);
	assert_true(footer);
	assert_true(last_p == 1.0);
	assert_int_equal(last_count, samples);
}

static void check_hgrm_files(const char *dir, const json_t *doc)
{
	size_t i;
	json_t *r;
	int n = 0;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		const char *pattern = json_string_value(json_object_get(r, "pattern"));
		if (strcmp(json_string_value(json_object_get(r, "status")), "ok") || strcmp(pattern, "pingpong"))
			continue;
		char name[1024], size[16];
		format_size((uint64_t)json_integer_value(json_object_get(r, "size_bytes")), size, sizeof(size));
		snprintf(name, sizeof(name), "%s/hgrm/%s-%s.hgrm", dir, json_string_value(json_object_get(r, "mechanism")),
			 size);
		check_hgrm(name, (uint64_t)json_integer_value(json_object_get(r, "samples")));
		n++;
	}
	assert_true(n > 0);
}

struct bundle {
	char *dir;   /* a bundle written with gnuplot available (when installed) */
	char *bare;  /* a PATH without gnuplot */
	char *nopath;
};

static int setup(void **state)
{
	struct bundle *b = calloc(1, sizeof(*b));
	b->dir = temp_dir();
	b->bare = temp_dir();
	b->nopath = temp_dir();
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bundle *b = *state;
	remove_tree(b->dir);
	remove_tree(b->bare);
	remove_tree(b->nopath);
	free(b->dir);
	free(b->bare);
	free(b->nopath);
	free(b);
	return 0;
}

static void test_bundle_files(void **state)
{
	struct bundle *b = *state;
	char *before = leftovers_snapshot();
	char out_dir[512];
	snprintf(out_dir, sizeof(out_dir), "%s/run", b->dir);
	const char *args[] = { RUN_ARGS, "-o", out_dir, NULL };
	char *err = NULL;
	int rc = tool_run(args, NULL, &err, 120);
	if (rc != 0)
		print_error("stderr: %s\n", err);
	assert_int_equal(rc, 0);
	free(err);

	json_error_t jerr;
	json_t *doc = json_load_file(path_in(out_dir, "results.json"), 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "tool")), "ipcbench");
	size_t rows = json_array_size(json_object_get(doc, "results"));
	assert_true(rows > 0);
	char *csv = slurp(out_dir, "results.csv");
	assert_int_equal(count_lines(csv), rows + 1);
	assert_int_equal(strncmp(csv, "mechanism,", 10), 0);
	free(csv);
	check_hgrm_files(out_dir, doc);
	check_percentile_line(out_dir, doc);
	json_decref(doc);

	char *md = slurp(out_dir, "report.md");
	assert_non_null(strstr(md, "## Reproduce"));
	assert_non_null(strstr(md, "--quick"));
	/* every chart has its script and data beside it */
	assert_true(exists(out_dir, "latency-process.gp") && exists(out_dir, "latency-process.dat"));
	assert_true(exists(out_dir, "throughput-process.gp") && exists(out_dir, "percentiles-process.gp"));
	assert_true(exists(out_dir, "percentiles-process-4K.gp"));
	assert_true(check_chart_files(out_dir, gnuplot_in_path()) >= 4); /* latency, throughput, two percentiles */
	if (gnuplot_in_path()) {
		assert_int_equal(check_inline_pngs(out_dir, md), count_files(out_dir, ".gp"));
		assert_true(is_png(out_dir, "latency-process.png"));
	}
	free(md);
	assert_no_new_leftovers(before);
}

static void test_no_gnuplot_one_warning(void **state)
{
	struct bundle *b = *state;
	char out_dir[512], path_env[600];
	snprintf(out_dir, sizeof(out_dir), "%s/run", b->bare);
	snprintf(path_env, sizeof(path_env), "PATH=%s", b->nopath); /* an empty directory */
	const char *args[] = { RUN_ARGS, "-o", out_dir, NULL };
	const char *env[] = { path_env, NULL };
	char *out = NULL, *err = NULL;
	assert_int_equal(tool_run_env(args, env, &out, &err, 120), 0);
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "gnuplot"));
	assert_non_null(strstr(err, "apt-get install gnuplot-nox"));
	assert_non_null(strstr(err, "ipcbench plot"));
	assert_true(exists(out_dir, "results.json") && exists(out_dir, "results.csv") && exists(out_dir, "report.md"));
	assert_true(exists(out_dir, "latency-process.gp"));
	assert_int_equal(count_files(out_dir, ".png"), 0);
	free(out);
	free(err);

	/* plot renders them later, into the same directory */
	if (gnuplot_in_path()) {
		char results[600];
		snprintf(results, sizeof(results), "%s/results.json", out_dir);
		const char *plot[] = { "plot", results, "-o", out_dir, NULL };
		assert_int_equal(tool_run(plot, NULL, &err, 120), 0);
		assert_string_equal(err, "");
		free(err);
		char *md = slurp(out_dir, "report.md");
		assert_true(check_inline_pngs(out_dir, md) > 0);
		free(md);
	}
}

static void test_plot_into_new_dir(void **state)
{
	struct bundle *b = *state;
	char src[512], dst[512];
	snprintf(src, sizeof(src), "%s/run/results.json", b->dir);
	snprintf(dst, sizeof(dst), "%s/again", b->dir);
	const char *args[] = { "plot", src, "-o", dst, "--quiet", NULL };
	char *err = NULL;
	int rc = tool_run(args, NULL, &err, 120);
	if (rc != 0)
		print_error("stderr: %s\n", err);
	assert_int_equal(rc, 0);
	free(err);
	assert_true(exists(dst, "results.json") && exists(dst, "results.csv") && exists(dst, "report.md"));
	char *a = slurp(dst, "results.json");
	char *c = slurp(b->dir, "run/results.json");
	assert_string_equal(a, c);
	free(a);
	free(c);
}

static void test_compare_same_file(void **state)
{
	struct bundle *b = *state;
	char src[512];
	snprintf(src, sizeof(src), "%s/run/results.json", b->dir);
	const char *args[] = { "compare", src, src, NULL };
	char *out = NULL, *err = NULL;
	assert_int_equal(tool_run(args, &out, &err, 30), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "same host"));
	/* every ratio printed is 1.00x */
	regex_t re;
	regmatch_t m;
	assert_int_equal(regcomp(&re, "[0-9]+\\.[0-9]+x", REG_EXTENDED), 0);
	int ratios = 0;
	for (const char *p = out; regexec(&re, p, 1, &m, 0) == 0; p += m.rm_eo) {
		assert_int_equal(strncmp(p + m.rm_so, "1.00x", 5), 0);
		assert_true(p[m.rm_eo] != '*');
		ratios++;
	}
	regfree(&re);
	assert_true(ratios > 0);
	free(out);
	free(err);
}

/* A stand-in gnuplot in an otherwise empty PATH directory: an executable script given as text. */
static void fake_gnuplot(const char *dir, const char *script)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/gnuplot", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
}

/* gnuplot that fails, or writes something that is not a PNG: reported, exit 1, results still there. */
static void test_gnuplot_failures_reported(void **state)
{
	struct bundle *b = *state;
	char bin[600], path_env[700], src[512], out_dir[600];
	snprintf(bin, sizeof(bin), "%s/bin", b->nopath);
	assert_int_equal(mkdir(bin, 0700), 0);
	snprintf(path_env, sizeof(path_env), "PATH=%s:/usr/bin:/bin", bin);
	snprintf(src, sizeof(src), "%s/run/results.json", b->dir);
	snprintf(out_dir, sizeof(out_dir), "%s/fake", b->nopath);
	const char *args[] = { "plot", src, "-o", out_dir, NULL };
	const char *env[] = { path_env, NULL };
	char *err = NULL;

	fake_gnuplot(bin, "#!/bin/sh\necho 'line 7: boom' >&2\nexit 3\n");
	assert_int_equal(tool_run_env(args, env, NULL, &err, 60), 1);
	assert_non_null(strstr(err, "line 7: boom"));
	assert_non_null(strstr(err, "exit 3"));
	assert_true(exists(out_dir, "results.json") && exists(out_dir, "report.md"));
	free(err);

	/* the last argument is NAME.gp, run in the bundle directory */
	fake_gnuplot(bin, "#!/bin/sh\nfor a; do last=$a; done\necho 'not a picture' > \"${last%.gp}.png\"\n");
	assert_int_equal(tool_run_env(args, env, NULL, &err, 60), 1);
	assert_non_null(strstr(err, "is not a PNG"));
	free(err);
	char *md = slurp(out_dir, "report.md");
	assert_null(strstr(md, ".png)")); /* no chart that is not one is shown */
	free(md);
	assert_int_equal(count_files(out_dir, ".png"), 0); /* nor left in the bundle */
}

/*
 * gnuplot dies with ipcbench: stand-ins that note their pid, kill ipcbench with
 * SIGKILL and wait 60 s are all gone at once. Charts render several at a
 * time, so each appends its pid (one write) to the same file.
 */
static void test_gnuplot_dies_with_ipcbench(void **state)
{
	struct bundle *b = *state;
	char bin[600], path_env[700], src[512], out_dir[600], pid_file[600], script[1400];
	snprintf(bin, sizeof(bin), "%s/orphan-bin", b->nopath);
	assert_int_equal(mkdir(bin, 0700), 0);
	snprintf(path_env, sizeof(path_env), "PATH=%s:/usr/bin:/bin", bin);
	snprintf(src, sizeof(src), "%s/run/results.json", b->dir);
	snprintf(out_dir, sizeof(out_dir), "%s/orphan", b->nopath);
	snprintf(pid_file, sizeof(pid_file), "%s/gnuplot.pids", b->nopath);
	snprintf(script, sizeof(script), "#!/bin/sh\necho $$ >> %s\nkill -9 $PPID\nexec sleep 60\n", pid_file);
	fake_gnuplot(bin, script);
	const char *args[] = { "plot", src, "-o", out_dir, NULL };
	const char *env[] = { path_env, NULL };
	assert_int_equal(tool_run_env(args, env, NULL, NULL, 60), 128 + SIGKILL);

	FILE *f = fopen(pid_file, "r");
	assert_non_null(f);
	int pids[16], n = 0;
	while (n < 16 && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	fclose(f);
	assert_true(n >= 1);
	int64_t deadline = now_ns() + 5 * NS_PER_S;
	int alive = n;
	while (alive && now_ns() < deadline) {
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		alive = 0;
		for (int i = 0; i < n; i++)
			alive += !pid_gone(pids[i]);
	}
	for (int i = 0; i < n && alive; i++)
		kill(pids[i], SIGKILL); /* leave nothing behind, then fail */
	assert_int_equal(alive, 0);
}

/* Each bad input: exit 2 and one line on stderr naming the problem, nothing written. */
static void expect_bad(const char *const *args, const char *needle)
{
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 30);
	if (rc != 2 || count_lines(err) != 1 || !strstr(err, needle))
		print_error("%s %s: rc %d, stderr: %s\n", args[0], args[1] ? args[1] : "", rc, err);
	assert_int_equal(rc, 2);
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, needle));
	assert_string_equal(out, "");
	free(out);
	free(err);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_bad_input(void **state)
{
	struct bundle *b = *state;
	char notjson[512], foreign[512], schema[512], out_dir[512], good[512];
	snprintf(notjson, sizeof(notjson), "%s/notjson.json", b->nopath);
	snprintf(foreign, sizeof(foreign), "%s/foreign.json", b->nopath);
	snprintf(schema, sizeof(schema), "%s/schema.json", b->nopath);
	snprintf(out_dir, sizeof(out_dir), "%s/never", b->nopath);
	snprintf(good, sizeof(good), "%s/run/results.json", b->dir);
	write_file(notjson, "{\"tool\": \"ipcbench\",");
	write_file(foreign, "{\"benchmarks\": [], \"context\": {}}");
	write_file(schema, "{\"tool\": \"ipcbench\", \"schema\": 7, \"results\": []}");

	const char *a1[] = { "plot", NULL };
	expect_bad(a1, "give the results file");
	const char *a2[] = { "plot", "/nonexistent/results.json", "-o", out_dir, NULL };
	expect_bad(a2, "No such file");
	const char *a3[] = { "plot", notjson, "-o", out_dir, NULL };
	expect_bad(a3, "is not JSON");
	const char *a4[] = { "plot", foreign, "-o", out_dir, NULL };
	expect_bad(a4, "not ipcbench results");
	const char *a5[] = { "plot", schema, "-o", out_dir, NULL };
	expect_bad(a5, "schema 7");
	const char *a6[] = { "plot", good, NULL };
	expect_bad(a6, "-o DIR");
	const char *a7[] = { "compare", good, NULL };
	expect_bad(a7, "give two results files");
	const char *a8[] = { "compare", good, foreign, NULL };
	expect_bad(a8, "not ipcbench results");
	const char *a9[] = { "plot", good, "-o", out_dir, "--frobnicate", NULL };
	expect_bad(a9, "--frobnicate");
	assert_int_equal(access(out_dir, F_OK), -1); /* bad input creates nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_files),
		cmocka_unit_test(test_no_gnuplot_one_warning),
		cmocka_unit_test(test_plot_into_new_dir),
		cmocka_unit_test(test_compare_same_file),
		cmocka_unit_test(test_gnuplot_failures_reported),
		cmocka_unit_test(test_gnuplot_dies_with_ipcbench),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
