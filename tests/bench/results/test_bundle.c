/* The bundle's writers and readers in-process: JSON round trip, CSV shape, loading, report.md, the charts. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "plots/charts.h"
#include "plots/palette.h"
#include "registry.h"
#include "results/doc.h"
#include "results/output.h"
#include "results/report.h"

extern const struct transport_ops pipe_ops;

/* A pingpong row with figures that survive JSON's rounding (two decimals) exactly. */
static struct row known_pingpong(void)
{
	struct row r = {
		.ops = &pipe_ops, .pattern = PAT_PINGPONG, .size_bytes = 64, .status = ROW_OK, .has_rtt = true,
		.rtt_ns = { .min = 15001, .p50 = 21504.5, .p90 = 25088, .p99 = 40960.25, .p999 = 90112,
			    .max = 123456, .mean = 22000.75 },
		.msgs_per_s = 46500.5, .bytes_per_s = 5952064, .samples = 139500, .spread_pct = 3.25,
		.floor_ratio = 119.469, .reps = 3,
	};
	return r;
}

static struct row known_stream(void)
{
	struct row r = {
		.ops = &pipe_ops, .pattern = PAT_STREAM, .size_bytes = 4096, .status = ROW_OK,
		.msgs_per_s = 250000.5, .bytes_per_s = 1024002048, .samples = 750001, .spread_pct = NAN,
		.floor_ratio = NAN, .reps = 1,
	};
	return r;
}

static struct row known_unsupported(void)
{
	struct row r = { .ops = &pipe_ops, .pattern = PAT_PINGPONG, .size_bytes = 1 << 20,
			 .status = ROW_UNSUPPORTED, .spread_pct = NAN, .floor_ratio = NAN };
	snprintf(r.reason, sizeof(r.reason), "pipe: 1048576 B exceeds \"limit\", raise it");
	return r;
}

/* Dump and parse again: what a reader of results.json gets. */
static json_t *round_trip(json_t *o)
{
	char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(o);
	assert_non_null(text);
	json_error_t err;
	json_t *back = json_loads(text, 0, &err);
	free(text);
	assert_non_null(back);
	return back;
}

static void test_row_json_round_trip(void **state)
{
	(void)state;
	struct row r = known_pingpong();
	json_t *o = round_trip(row_json(&r));
	assert_string_equal(doc_str(o, "mechanism"), "pipe");
	assert_string_equal(doc_str(o, "group"), "process");
	assert_string_equal(doc_str(o, "pattern"), "pingpong");
	assert_string_equal(doc_str(o, "status"), "ok");
	assert_int_equal(json_integer_value(json_object_get(o, "size_bytes")), 64);
	const json_t *rtt = json_object_get(o, "rtt_ns");
	assert_true(doc_num(rtt, "min") == r.rtt_ns.min);
	assert_true(doc_num(rtt, "p50") == r.rtt_ns.p50);
	assert_true(doc_num(rtt, "p90") == r.rtt_ns.p90);
	assert_true(doc_num(rtt, "p99") == r.rtt_ns.p99);
	assert_true(doc_num(rtt, "p999") == r.rtt_ns.p999);
	assert_true(doc_num(rtt, "max") == r.rtt_ns.max);
	assert_true(doc_num(rtt, "mean") == r.rtt_ns.mean);
	assert_true(doc_num(o, "msgs_per_s") == r.msgs_per_s);
	assert_true(doc_num(o, "bytes_per_s") == r.bytes_per_s);
	assert_true(doc_num(o, "spread_pct") == r.spread_pct);
	assert_true(doc_num(o, "floor_ratio") == r.floor_ratio);
	assert_int_equal(json_integer_value(json_object_get(o, "samples")), r.samples);
	assert_int_equal(json_integer_value(json_object_get(o, "repetitions")), r.reps);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "errors"), "lost")), 0);
	json_decref(o);

	struct row s = known_stream();
	o = round_trip(row_json(&s));
	assert_null(json_object_get(o, "rtt_ns"));
	assert_true(doc_num(o, "bytes_per_s") == s.bytes_per_s);
	assert_true(json_is_null(json_object_get(o, "spread_pct"))); /* -r 1: no spread, said as null */
	assert_null(json_object_get(o, "floor_ratio"));
	json_decref(o);

	struct row u = known_unsupported();
	o = round_trip(row_json(&u));
	assert_string_equal(doc_str(o, "status"), "unsupported");
	assert_string_equal(doc_str(o, "reason"), u.reason);
	assert_null(json_object_get(o, "rtt_ns"));
	json_decref(o);
}

/* A document as results_json shapes it, from the known rows. */
static json_t *known_doc(void)
{
	struct row rows[3] = { known_pingpong(), known_stream(), known_unsupported() };
	json_t *results = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(results, row_json(&rows[i]));
	return json_pack("{s:s, s:s, s:i, s:{s:s, s:f, s:[s, s, s, s, s]}, s:{s:s, s:s, s:i}, "
			 "s:{s:f, s:f, s:i, s:[i, i]}, s:o, s:{}}",
			 "tool", "ipcbench", "version", "0.1.0", "schema", 1,
			 "run", "started_utc", "2026-01-02T03:04:05Z", "duration_s", 1.5, "argv",
			 "./ipcbench", "-m", "pipe", "-o", "my dir's",
			 "host", "kernel", "6.1.0-test", "cpu_model", "Test CPU", "ncpu", 2,
			 "config", "duration_s", 0.25, "warmup_s", 0.05, "repetitions", 3, "pin", 0, 1,
			 "results", results, "models");
}

/* Fields of one CSV line, honouring quotes ("a,b" is one field; "" is a quote). */
static int csv_fields(const char *line)
{
	int n = 1;
	bool quoted = false;
	for (; *line && *line != '\n'; line++) {
		if (*line == '"')
			quoted = !quoted;
		else if (*line == ',' && !quoted)
			n++;
	}
	return n;
}

static void test_csv_one_line_per_row(void **state)
{
	(void)state;
	json_t *doc = known_doc();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(write_csv(doc, f), 0);
	fclose(f);
	assert_int_equal(count_lines(buf), 1 + json_array_size(json_object_get(doc, "results")));
	assert_non_null(strstr(buf, "mechanism,group,pattern,size_bytes,status"));
	assert_non_null(strstr(buf, "rtt_ns_p50"));
	assert_non_null(strstr(buf, "errors_lost"));
	int header = csv_fields(buf);
	for (const char *line = strchr(buf, '\n') + 1; *line; line = strchr(line, '\n') + 1)
		assert_int_equal(csv_fields(line), header);
	free(buf);
	json_decref(doc);
}

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/bundle-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static json_t *load(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return doc_load(path, "test");
}

static void test_load_validates(void **state)
{
	(void)state;
	char *dir = temp_dir();
	json_t *doc = known_doc();
	char *text = json_dumps(doc, 0);
	write_text(dir, "good.json", text);
	free(text);
	json_t *back = load(dir, "good.json");
	assert_non_null(back);
	assert_true(json_equal(back, doc));
	json_decref(back);

	write_text(dir, "text.json", "not json at all");
	write_text(dir, "foreign.json", "{\"tool\":\"fio\",\"schema\":1,\"results\":[]}");
	write_text(dir, "schema2.json", "{\"tool\":\"ipcbench\",\"schema\":2,\"results\":[]}");
	write_text(dir, "noschema.json", "{\"tool\":\"ipcbench\",\"results\":[]}");
	write_text(dir, "array.json", "[1,2]");
	write_text(dir, "badrow.json", "{\"tool\":\"ipcbench\",\"schema\":1,\"results\":[{\"mechanism\":\"../x\","
				       "\"group\":\"process\",\"pattern\":\"pingpong\",\"size_bytes\":64,\"status\":\"ok\"}]}");
	write_text(dir, "nosize.json", "{\"tool\":\"ipcbench\",\"schema\":1,\"results\":[{\"mechanism\":\"pipe\","
				       "\"group\":\"process\",\"pattern\":\"pingpong\",\"status\":\"ok\"}]}");
	static const char *const bad[] = { "text.json", "foreign.json", "schema2.json", "noschema.json",
					   "array.json", "badrow.json", "nosize.json", "missing.json" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = load(dir, bad[i]);
		if (d)
			print_error("%s was accepted\n", bad[i]);
		assert_null(d);
	}
	json_decref(doc);
	remove_dir(dir);
}

static char *report_of(const json_t *doc, const struct chart_set *set)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_write(doc, set, f);
	fclose(f);
	return buf;
}

static void test_report_sections(void **state)
{
	(void)state;
	json_t *doc = known_doc();
	struct chart_set set = { .n = 1 };
	snprintf(set.chart[0].name, sizeof(set.chart[0].name), "latency-process");
	snprintf(set.chart[0].caption, sizeof(set.chart[0].caption), "Round trips.");
	set.chart[0].rendered = true;
	char *md = report_of(doc, &set);
	assert_non_null(strstr(md, "## Host and configuration"));
	assert_non_null(strstr(md, "Linux 6.1.0-test"));
	assert_non_null(strstr(md, "![Round trips.](latency-process.png)"));
	assert_non_null(strstr(md, "| pipe "));
	assert_non_null(strstr(md, "21.5 us")); /* the p50 */
	assert_non_null(strstr(md, "10.8 us (RTT/2)")); /* one way, labelled */
	assert_non_null(strstr(md, "## Rows not measured"));
	assert_non_null(strstr(md, "exceeds \"limit\", raise it"));
	/* the command line, quoted so a shell gets the same words */
	assert_non_null(strstr(md, "./ipcbench -m pipe -o 'my dir'\\''s'"));
	assert_null(strstr(md, "## Processes vs threads")); /* no models: no section */
	free(md);

	/* without gnuplot the report says how to get the charts, and links no PNG */
	set.chart[0].rendered = false;
	set.gnuplot_missing = true;
	md = report_of(doc, &set);
	assert_non_null(strstr(md, "apt-get install gnuplot-nox"));
	assert_null(strstr(md, "](latency-process.png)"));
	free(md);

	/* models: every experiment gets a section, whatever its shape */
	json_object_set_new(doc, "models", json_pack("{s:{s:f}}", "ctxswitch", "thread_ns", 1800.5));
	md = report_of(doc, NULL);
	assert_non_null(strstr(md, "## Processes vs threads"));
	assert_non_null(strstr(md, "(ctxswitch)"));
	free(md);
	json_decref(doc);
}

static bool file_is_png(const char *dir, const char *name)
{
	char path[512];
	unsigned char head[8] = { 0 };
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static const struct chart *find_chart(const struct chart_set *set, const char *name)
{
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->chart[i].name, name) == 0)
			return &set->chart[i];
	return NULL;
}

/* The text of dir/name. */
static char *slurp_file(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *text = calloc(1, 1 << 16);
	assert_non_null(text);
	fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	return text;
}

/* Every chart the set lists has its script and data, and a PNG when gnuplot is here. */
static void assert_charts_complete(const char *dir, const struct chart_set *set)
{
	for (int i = 0; i < set->n; i++) {
		char gp[64], dat[64], png[64];
		snprintf(gp, sizeof(gp), "%s.gp", set->chart[i].name);
		snprintf(dat, sizeof(dat), "%s.dat", set->chart[i].name);
		snprintf(png, sizeof(png), "%s.png", set->chart[i].name);
		if (!exists(dir, gp) || !exists(dir, dat))
			print_error("chart %s: no .gp or .dat\n", set->chart[i].name);
		assert_true(exists(dir, gp) && exists(dir, dat));
		if (!set->gnuplot_missing) {
			assert_true(set->chart[i].rendered);
			assert_true(file_is_png(dir, png));
		}
	}
}

/* Model charts follow the JSON shape: drawn when it is there, skipped quietly when it is not. */
static void test_model_charts(void **state)
{
	(void)state;
	char *dir = temp_dir();
	json_t *doc = known_doc();
	json_object_set_new(doc, "models",
			    json_pack("{s:{s:{s:f, s:f, s:i}, s:{s:f, s:i}, s:s}, s:{s:i, s:{s:[f, f]}, s:{s:[f, f]}}}",
				      "spawn", "fork_ns", "p50", 95000.0, "p99", 180000.0, "n", 40, "thread_create_ns",
				      "p50", 12000.0, "n", 150, "note", "not a figure",
				      "scaling", "repetitions", 3, "process", "speedup", 1.0, 1.9, "thread", "speedup",
				      1.0, 1.95));
	struct chart_set set;
	assert_int_equal(charts_write(dir, doc, &set, 30), 0);
	assert_int_equal(set.failed, 0);
	assert_non_null(find_chart(&set, "spawn"));
	assert_non_null(find_chart(&set, "scaling"));
	assert_non_null(find_chart(&set, "latency-process"));
	assert_charts_complete(dir, &set);

	/* an experiment's subtitles say how its own figures were taken, never the mechanism rows' repetitions */
	char *gp = slurp_file(dir, "spawn.gp");
	assert_null(strstr(gp, "repetitions of"));
	assert_null(strstr(gp, "repetitions per row"));
	assert_non_null(strstr(gp, "n from 40 to 150"));
	free(gp);
	gp = slurp_file(dir, "scaling.gp");
	assert_null(strstr(gp, "repetitions of"));
	assert_null(strstr(gp, "repetitions per row"));
	assert_non_null(strstr(gp, "best of 3 runs"));
	free(gp);
	gp = slurp_file(dir, "latency-process.gp"); /* a mechanism chart states the rows' repetitions */
	assert_non_null(strstr(gp, "3 repetitions per row"));
	free(gp);

	/* the line stops at 64 B because 1 MiB is unsupported, and the chart says so there */
	char path[512], line[512];
	bool stop = false;
	snprintf(path, sizeof(path), "%s/latency-process.dat", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		stop |= strncmp(line, "64 ", 3) == 0 && strstr(line, "\"pipe: unsupported from 1M\"") != NULL;
	fclose(f);
	assert_true(stop);

	/* other shapes: no chart, no error, and the earlier ones are gone */
	json_object_set_new(doc, "models",
			    json_pack("{s:[i], s:{s:{s:s}}}", "spawn", 1, "scaling", "process", "speedup", "fast"));
	assert_int_equal(charts_write(dir, doc, &set, 30), 0);
	assert_null(find_chart(&set, "spawn"));
	assert_null(find_chart(&set, "scaling"));
	assert_false(exists(dir, "spawn.png") || exists(dir, "spawn.gp") || exists(dir, "scaling.dat"));
	json_decref(doc);
	remove_dir(dir);
}

/* No two registered mechanisms look alike: colour, marker and dash never all the same. */
static void test_palette_distinct(void **state)
{
	(void)state;
	struct mech_style st[128];
	int n = 0;
	for (; transport_registry[n] && n < 128; n++)
		st[n] = palette_style(transport_registry[n]->name, transport_registry[n]->group, 0);
	assert_true(n >= 20);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			bool same = strcmp(st[i].colour, st[j].colour) == 0 && st[i].point == st[j].point &&
				    st[i].dash == st[j].dash;
			if (same)
				print_error("%s and %s look alike\n", transport_registry[i]->name, transport_registry[j]->name);
			assert_false(same);
			/* in greyscale the marker and the dash still tell two mechanisms (not floors) apart */
			bool floors = strcmp(transport_registry[i]->group, "floor") == 0 ||
				      strcmp(transport_registry[j]->group, "floor") == 0;
			assert_false(!floors && st[i].point == st[j].point && st[i].dash == st[j].dash);
		}
	/* the same mechanism looks the same wherever it is asked for */
	struct mech_style again = palette_style(transport_registry[n - 1]->name, "process", 5);
	assert_string_equal(again.colour, st[n - 1].colour);
	assert_int_equal(again.point, st[n - 1].point);
	assert_int_equal(again.dash, st[n - 1].dash);
}

/* Each data block of dir/name: its points, and the last point's x and y. */
struct dat_block {
	int points;
	double last_x, last_y;
};

static int read_blocks(const char *dir, const char *name, struct dat_block *b, int max)
{
	char path[512], line[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0, blanks = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\n') {
			blanks++;
			continue;
		}
		if (line[0] == '#')
			continue;
		if (n == 0 || blanks >= 2) {
			assert_true(n < max);
			b[n++] = (struct dat_block){ 0, NAN, NAN };
		}
		blanks = 0;
		double x, y;
		assert_int_equal(sscanf(line, "%lf %lf", &x, &y), 2);
		b[n - 1].points++;
		b[n - 1].last_x = x;
		b[n - 1].last_y = y;
	}
	fclose(f);
	return n;
}

/* The percentile charts: a line per histogram to the max; points alone from a file without one. */
static void test_percentile_lines(void **state)
{
	(void)state;
	char *dir = temp_dir();
	json_t *doc = known_doc(), *results = json_object_get(doc, "results");
	/* the 64 B row gets a histogram of 139500 round trips; the max lies past its last bucket's value */
	json_t *row = json_array_get(results, 0), *values = json_array(), *counts = json_array();
	for (int i = 0, left = 139500; left > 0; i++) {
		int c = left < 1000 + 37 * (i % 11) ? left : 1000 + 37 * (i % 11);
		json_array_append_new(values, json_integer(15001 + 97 * i));
		json_array_append_new(counts, json_integer(c));
		left -= c;
	}
	json_object_set_new(row, "histogram", json_pack("{s:o, s:o}", "value_ns", values, "count", counts));
	/* a 4 KiB row as an older file has it: no histogram, p999 not backed */
	json_t *old = json_deep_copy(row);
	json_object_del(old, "histogram");
	json_object_set_new(old, "size_bytes", json_integer(4096));
	json_object_set_new(json_object_get(old, "rtt_ns"), "p999", json_null());
	json_array_append_new(results, old);

	struct chart_set set;
	assert_int_equal(charts_write(dir, doc, &set, 30), 0);
	assert_int_equal(set.failed, 0);
	assert_non_null(find_chart(&set, "percentiles-process"));
	assert_non_null(find_chart(&set, "percentiles-process-4K"));
	assert_charts_complete(dir, &set);

	struct dat_block b[4];
	assert_int_equal(read_blocks(dir, "percentiles-process.dat", b, 4), 1);
	assert_true(b[0].points >= 20);
	assert_true(b[0].last_y == 123456); /* the row's max, at the right end */
	assert_true(fabs(b[0].last_x - log10(139500)) < 1e-3);

	assert_int_equal(read_blocks(dir, "percentiles-process-4K.dat", b, 4), 1);
	assert_int_equal(b[0].points, 5); /* min, p50, p90, p99 and the max; no p99.9 */
	assert_true(b[0].last_y == 123456);
	json_decref(doc);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_json_round_trip),
		cmocka_unit_test(test_csv_one_line_per_row),
		cmocka_unit_test(test_load_validates),
		cmocka_unit_test(test_report_sections),
		cmocka_unit_test(test_model_charts),
		cmocka_unit_test(test_palette_distinct),
		cmocka_unit_test(test_percentile_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
