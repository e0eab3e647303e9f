/* The binary end to end: every bad input exits 2 with one line and nothing else; good runs print what they promise. */
#include "support.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "hist.h"
#include "models/model.h"
#include "registry.h"

#define MAX_ARGS 16

/* A scratch directory for -o paths, removed at the end; not named ipcbench-*, so no leftover check sees it. */
static char scratch[64];

static const char *in_scratch(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, sizeof(paths[0]), "%s/%s", scratch, name);
	return p;
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* A bad command line and the flag its one line of complaint must name. */
struct bad_case {
	const char *args[MAX_ARGS];
	const char *names;
};

/* Run args and expect exit 2, exactly one line on stderr naming names, nothing on stdout. */
static void expect_bad(const char *const *args, const char *names)
{
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 30);
	char cmd[512] = "ipcbench";
	for (int i = 0; args[i]; i++) {
		strncat(cmd, " '", sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, args[i], sizeof(cmd) - strlen(cmd) - 1);
		strncat(cmd, "'", sizeof(cmd) - strlen(cmd) - 1);
	}
	size_t len = strlen(err);
	bool one_line = count_lines(err) == 1 && len > 0 && err[len - 1] == '\n';
	if (rc != 2 || out[0] || !one_line || !strstr(err, names)) {
		print_error("%s\n  exit %d (want 2); stdout %zu bytes (want 0); stderr %zu lines (want 1, naming %s):\n%s",
			    cmd, rc, strlen(out), count_lines(err), names, err);
		free(out);
		free(err);
		fail();
	}
	free(out);
	free(err);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	/* a regular file, and a directory that holds something but no earlier results */
	const char *file = in_scratch("a-file");
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	const char *full = in_scratch("full-dir");
	assert_int_equal(mkdir(full, 0700), 0);
	char inside[300];
	snprintf(inside, sizeof(inside), "%s/notes.txt", full);
	f = fopen(inside, "w");
	assert_non_null(f);
	fclose(f);
	const char *orphan = in_scratch("no-such-parent/out");

	const struct bad_case cases[] = {
		{ { "-m", "nosuch", NULL }, "-m" },
		{ { "-m", "pipe,nosuch", NULL }, "-m" },
		{ { "--bogus", NULL }, "--bogus" },
		{ { "-m", "pipe", "--bogus", NULL }, "--bogus" },
		{ { "-x", NULL }, "-x" },
		{ { "--json=1", "-m", "pipe", NULL }, "--json" },
		{ { "-m", "pipe", "extra", NULL }, "extra" },
		{ { NULL }, "-m" }, /* nothing to run */
		{ { "-m", "pipe", "-s", "0", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "-5", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "12Q", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "99999999999999999999", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "18446744073709551616", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "2G", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "64,,4K", NULL }, "-s" },
		{ { "-m", "pipe", "-s", "64,", NULL }, "-s" },
		{ { "-m", "pipe", "-s", ",64", NULL }, "-s" },
		{ { "-m", "", NULL }, "-m" },
		{ { "-m", "pipe,", NULL }, "-m" },
		{ { "-m", ",pipe", NULL }, "-m" },
		{ { "-m", "pipe", "-p", "ping", NULL }, "-p" },
		{ { "-m", "pipe", "-p", "", NULL }, "-p" },
		{ { "-m", "pipe", "--pin", "4096", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "9999", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "0,4096", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "9999,0", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "0", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "a,b", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "0,1,0", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "", NULL }, "--pin" },
		{ { "-m", "pipe", "--pin", "-1,0", NULL }, "--pin" },
		{ { "-m", NULL }, "-m" },
		{ { "--pin", "0,1", "-m", NULL }, "-m" },
		{ { "-m", "pipe", "-s", NULL }, "-s" },
		{ { "-m", "pipe", "--sizes", NULL }, "-s" },
		{ { "-m", "pipe", "--pin", NULL }, "--pin" },
		{ { "-m", "pipe", "-d", NULL }, "-d" },
		{ { "-m", "pipe", "-o", NULL }, "-o" },
		{ { "-m", "pipe", "--verify", NULL }, "--verify" },
		{ { "-m", "pipe", "-r", "0", NULL }, "-r" },
		{ { "-m", "pipe", "-r", "1001", NULL }, "-r" },
		{ { "-m", "pipe", "-r", "x", NULL }, "-r" },
		{ { "-m", "pipe", "-r", "-1", NULL }, "-r" },
		{ { "-m", "pipe", "-d", "0", NULL }, "-d" },
		{ { "-m", "pipe", "-d", "abc", NULL }, "-d" },
		{ { "-m", "pipe", "-d", "1e3", NULL }, "-d" },
		{ { "-m", "pipe", "-d", "1h", NULL }, "-d" },
		{ { "-m", "pipe", "-d", "-1", NULL }, "-d" },
		{ { "-m", "pipe", "-d", "nan", NULL }, "-d" },
		{ { "-m", "pipe", "-w", "abc", NULL }, "-w" },
		{ { "-m", "pipe", "-t", "0", NULL }, "-t" },
		{ { "-m", "pipe", "--verify", "x", NULL }, "--verify" },
		{ { "-m", "pipe", "--budget", NULL }, "--budget" },
		{ { "-m", "pipe", "--placement", NULL }, "--placement" },
		{ { "-m", "pipe", "-p", "oneway,sideways", NULL }, "-p" },
		{ { "-m", "pipe", "--pairs", "0", NULL }, "--pairs" },
		{ { "-m", "pipe", "--pairs", "33", NULL }, "--pairs" },
		{ { "-m", "pipe", "--senders", "1", NULL }, "--senders" },
		{ { "-m", "pipe", "--senders", "x", NULL }, "--senders" },
		{ { "-m", "pipe", "--rate", "0", NULL }, "--rate" },
		{ { "-m", "pipe", "--rate", "fast", NULL }, "--rate" },
		{ { "-m", "pipe", "--rate", "2000", "-p", "stream", NULL }, "--rate" },
		{ { "-m", "pipe", "--placement", "near", NULL }, "--placement" },
		{ { "-m", "pipe", "--placement", "same-cpu,same-cpu", NULL }, "--placement" },
		{ { "-m", "pipe", "--placement", "", NULL }, "--placement" },
		{ { "-m", "pipe", "--placement", "same-cpu", "--pin", "0,1", NULL }, "--pin" },
		{ { "-m", "pipe", "--budget", "0", NULL }, "--budget" },
		{ { "-m", "pipe", "--budget", "10x", NULL }, "--budget" },
		{ { "-m", "pipe", "--budget", "25h", NULL }, "--budget" },
		{ { "-m", "pipe", "--budget", ".", NULL }, "--budget" },
		{ { "-m", "pipe", "--json", "--csv", NULL }, "--json" },
		{ { "-m", "pipe", "--csv", "--markdown", NULL }, "--csv" },
		{ { "-m", "pipe", "-o", orphan, NULL }, "-o" },
		{ { "-m", "pipe", "-o", file, NULL }, "-o" },
		{ { "-m", "pipe", "-o", full, NULL }, "-o" },
		{ { "-m", "pipe", "-o", "", NULL }, "-o" },
	};
	char *before = leftovers_snapshot();
	const char *never = in_scratch("never-created");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_bad(cases[i].args, cases[i].names);
		/* the same with an -o in front: a bad command creates no output directory */
		const char *with_o[MAX_ARGS + 2] = { "-o", never };
		memcpy(with_o + 2, cases[i].args, sizeof(cases[i].args));
		expect_bad(with_o, cases[i].names);
		if (exists(never)) {
			print_error("case %zu (%s ...): created %s\n", i, cases[i].args[0] ? cases[i].args[0] : "", never);
			fail();
		}
	}
	assert_false(exists(orphan));
	assert_false(exists(in_scratch("no-such-parent")));
	/* what was there is untouched */
	f = fopen(file, "r");
	char line[32] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "keep me\n");
	assert_true(exists(inside));
	assert_no_new_leftovers(before);
}

/* A name repeated across -m flags runs once; many repeats are not a crash. */
static void test_repeated_names(void **state)
{
	(void)state;
	static char many[64 * 5 + 1];
	many[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(many, i ? ",pipe" : "pipe");
	const char *args[] = { "-m", many, "-m", "pipe", "-m", "pipe", "-p", "pingpong", "-s", "64", "-r", "1",
			       "-d", "10ms", "--csv", NULL };
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 60);
	assert_int_equal(rc, 0);
	assert_int_equal(count_lines(out), 2); /* header and one row */
	free(out);
	free(err);
}

static void test_help_version(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *help[] = { "--help", NULL };
	assert_int_equal(tool_run(help, &out, &err, 30), 0);
	assert_non_null(strstr(out, "usage: ipcbench"));
	assert_non_null(strstr(out, "--pin"));
	assert_string_equal(err, "");
	free(out);
	free(err);
	const char *version[] = { "--version", NULL };
	assert_int_equal(tool_run(version, &out, &err, 30), 0);
	assert_true(strncmp(out, "ipcbench ", 9) == 0);
	assert_int_equal(count_lines(out), 1);
	assert_string_equal(err, "");
	free(out);
	free(err);
	const char *short_v[] = { "-V", NULL };
	assert_int_equal(tool_run(short_v, &out, &err, 30), 0);
	assert_true(strncmp(out, "ipcbench ", 9) == 0);
	free(out);
	free(err);
}

/* Is there a line in text that starts with word followed by a space? */
static bool has_line_starting(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, word, n) == 0 && p[n] == ' ')
			return true;
	return false;
}

/* How many lines of text start with prefix. */
static int count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

static void test_list(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *args[] = { "--list", NULL };
	assert_int_equal(tool_run(args, &out, &err, 30), 0);
	assert_string_equal(err, "");
	for (int i = 0; transport_registry[i]; i++)
		if (!has_line_starting(out, transport_registry[i]->name)) {
			print_error("--list does not list %s:\n%s", transport_registry[i]->name, out);
			fail();
		}
	for (int i = 0; model_registry[i]; i++)
		assert_true(has_line_starting(out, model_registry[i]->name));
	free(out);
	free(err);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s) {
		print_error("no string \"%s\"\n", key);
		fail();
	}
	return s;
}

/* An ok row's interval: present from 6 repetitions on, around the headline; one value per repetition. */
static void check_confidence(const json_t *r, bool pingpong)
{
	json_int_t reps = json_integer_value(json_object_get(r, "repetitions"));
	const json_t *values = json_object_get(r, pingpong ? "reps_rtt_ns_p50" : "reps_bytes_per_s");
	assert_int_equal(json_array_size(values), reps);
	assert_true(json_is_boolean(json_object_get(r, "noisy")));
	const json_t *ci = json_object_get(r, "ci95");
	if (reps < 6) {
		assert_true(json_is_null(ci));
		return;
	}
	double head = pingpong ? json_number_value(json_object_get(json_object_get(r, "rtt_ns"), "p50"))
			       : json_number_value(json_object_get(r, "bytes_per_s"));
	double low = json_number_value(json_object_get(ci, "low")), high = json_number_value(json_object_get(ci, "high"));
	assert_true(low <= head && head <= high);
	assert_int_equal(json_is_true(json_object_get(r, "noisy")), (high - low) / 2 > 0.05 * head);
}

/* Every row has the fields docs/methodology.md lists; ok rows carry no errors. */
static void check_rows(const json_t *results, const char *mechanism)
{
	assert_true(json_is_array(results));
	assert_true(json_array_size(results) > 0);
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		assert_string_equal(jstr(r, "mechanism"), mechanism);
		assert_string_equal(jstr(r, "group"), transport_find(mechanism)->group);
		const char *pat = jstr(r, "pattern");
		assert_true(strcmp(pat, "pingpong") == 0 || strcmp(pat, "stream") == 0);
		assert_true(json_is_integer(json_object_get(r, "size_bytes")));
		assert_true(json_integer_value(json_object_get(r, "size_bytes")) > 0);
		const char *status = jstr(r, "status");
		assert_true(strcmp(status, "ok") == 0 || strcmp(status, "unsupported") == 0 ||
			    strcmp(status, "failed") == 0);
		if (strcmp(status, "ok") != 0) {
			assert_true(strlen(jstr(r, "reason")) > 0);
			continue;
		}
		const json_t *e = json_object_get(r, "errors");
		assert_true(json_is_object(e));
		static const char *const kinds[] = { "lost", "duplicate", "reordered", "corrupt" };
		for (int k = 0; k < 4; k++)
			assert_int_equal(json_integer_value(json_object_get(e, kinds[k])), 0);
		uint64_t samples = (uint64_t)json_integer_value(json_object_get(r, "samples"));
		if (strcmp(pat, "pingpong") == 0) {
			const json_t *rtt = json_object_get(r, "rtt_ns");
			static const char *const always[] = { "min", "p50", "max", "mean" };
			for (int k = 0; k < 4; k++)
				assert_true(json_is_number(json_object_get(rtt, always[k])));
			/* a percentile is printed exactly when enough pooled samples back it */
			static const char *const tail[] = { "p90", "p99", "p999" };
			static const unsigned permille[] = { 900, 990, 999 };
			for (int k = 0; k < 3; k++)
				assert_int_equal(json_is_number(json_object_get(rtt, tail[k])),
						 samples >= hist_samples_needed(permille[k]));
			assert_true(json_number_value(json_object_get(rtt, "min")) <=
				    json_number_value(json_object_get(rtt, "p50")));
			assert_true(json_number_value(json_object_get(rtt, "p50")) <=
				    json_number_value(json_object_get(rtt, "max")));
		}
		assert_true(json_is_number(json_object_get(r, "bytes_per_s")));
		assert_true(samples > 0);
		check_confidence(r, strcmp(pat, "pingpong") == 0);
	}
}

static json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	if (!doc) {
		print_error("stdout is not JSON: line %d: %s\n", jerr.line, jerr.text);
		fail();
	}
	return doc;
}

static void test_json(void **state)
{
	(void)state;
	char *before = leftovers_snapshot();
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "pipe", "--quick", "-r", "1", "--json", NULL };
	int rc = tool_run(args, &out, &err, 120);
	if (rc != 0)
		print_error("exit %d, stderr:\n%s", rc, err);
	assert_int_equal(rc, 0);
	/* not a terminal: no progress; only the host's warnings, each a line of its own */
	for (const char *line = err; *line; line = strchr(line, '\n') + 1) {
		assert_true(strncmp(line, "ipcbench: warning: ", 19) == 0);
		assert_non_null(strchr(line, '\n'));
	}
	json_t *doc = parse_json(out);
	assert_string_equal(jstr(doc, "tool"), "ipcbench");
	assert_true(json_is_integer(json_object_get(doc, "schema")));
	assert_int_equal(json_integer_value(json_object_get(doc, "schema")), 1);
	assert_true(strlen(jstr(doc, "version")) > 0);
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	const json_t *host = json_object_get(doc, "host");
	assert_string_equal(jstr(host, "kernel"), u.release);
	assert_true(json_integer_value(json_object_get(host, "ncpu")) >= 1);
	assert_true(json_is_object(json_object_get(host, "limits")));
	const json_t *cfg = json_object_get(doc, "config");
	assert_int_equal(json_integer_value(json_object_get(cfg, "repetitions")), 1);
	const json_t *run = json_object_get(doc, "run");
	assert_true(json_is_array(json_object_get(run, "argv")));
	assert_true(json_is_object(json_object_get(doc, "models")));
	const json_t *results = json_object_get(doc, "results");
	check_rows(results, "pipe");
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		assert_string_equal(jstr(r, "status"), "ok");
		assert_true(json_is_null(json_object_get(r, "spread_pct"))); /* one repetition: no spread */
	}
	json_decref(doc);
	free(out);
	free(err);
	assert_no_new_leftovers(before);
}

/* The cells of one CSV line, quotes understood. */
static int csv_cells(const char *line, char cells[][64], int max)
{
	int n = 0, k = 0;
	bool quoted = false;
	for (const char *p = line;; p++) {
		if (*p == '"') {
			if (quoted && p[1] == '"')
				p++;
			else {
				quoted = !quoted;
				continue;
			}
		}
		if ((!quoted && *p == ',') || *p == '\n' || *p == '\0') {
			if (n < max) {
				cells[n][k < 63 ? k : 63] = '\0';
			}
			n++;
			k = 0;
			if (*p != ',')
				return n;
			continue;
		}
		if (n < max && k < 63)
			cells[n][k] = *p;
		k++;
	}
}

static void test_csv_and_table(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "pipe", "-s", "64,4K", "-r", "1", "-d", "20ms", "--csv", NULL };
	assert_int_equal(tool_run(args, &out, &err, 60), 0);
	assert_int_equal(count_lines(out), 1 + 4); /* header, 2 patterns x 2 sizes */
	char head[64][64], cells[64][64];
	int ncols = csv_cells(out, head, 64);
	assert_true(ncols > 5 && ncols <= 64);
	assert_string_equal(head[0], "mechanism");
	static const char *const want[] = { "group", "pattern", "size_bytes", "status", "rtt_ns_p50",
					    "errors_lost", "errors_corrupt" };
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;
		for (int c = 0; c < ncols; c++)
			found |= strcmp(head[c], want[w]) == 0;
		if (!found) {
			print_error("CSV header lacks %s: %.200s\n", want[w], out);
			fail();
		}
	}
	for (const char *line = strchr(out, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
		assert_int_equal(csv_cells(line, cells, 64), ncols);
		assert_string_equal(cells[0], "pipe");
	}
	free(out);
	free(err);

	/* the default table: a header and one line per row; Markdown: two header lines and the rows */
	const char *table[] = { "-m", "pipe", "-s", "64,4K", "-r", "1", "-d", "20ms", NULL };
	assert_int_equal(tool_run(table, &out, &err, 60), 0);
	assert_int_equal(count_lines_starting(out, "pipe "), 4); /* then notes on "-" and "~" when shown */
	assert_true(has_line_starting(out, "mechanism"));
	free(out);
	free(err);
	const char *md[] = { "-m", "pipe", "-s", "64,4K", "-r", "1", "-d", "20ms", "--markdown", NULL };
	assert_int_equal(tool_run(md, &out, &err, 60), 0);
	assert_int_equal(count_lines(out), 2 + 4);
	assert_true(strncmp(out, "| mechanism", 11) == 0);
	free(out);
	free(err);
}

/*
 * Exit 1 when a row failed. The honest way to make one fail from outside is the
 * environment: with 5 open files allowed, pipe cannot create its second pipe.
 */
/*
 * --placement runs every case once per placement into one result, each row
 * naming its placement and CPUs; a spinning row is refused where the sides
 * share a CPU, and a placement this host lacks is a row with the reason.
 */
static void test_placement(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *args[] = { "--placement", "same-cpu,same-llc", "-m", "pipe,shm-spin", "-p", "pingpong", "-s", "64",
			       "-d", "20ms", "-r", "1", "--json", "--quiet", NULL };
	assert_int_equal(tool_run(args, &out, &err, 60), 0);
	json_t *doc = parse_json(out);
	const json_t *rows = json_object_get(doc, "results");
	assert_int_equal(json_array_size(rows), 4);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *pl = jstr(r, "placement"), *status = jstr(r, "status"), *mech = jstr(r, "mechanism");
		assert_string_equal(pl, i < 2 ? "same-cpu" : "same-llc");
		const json_t *cpus = json_object_get(r, "cpus");
		if (strcmp(status, "unsupported") == 0 && strncmp(jstr(r, "reason"), "placement ", 10) == 0)
			continue; /* this host has no such pair of CPUs, and says why */
		assert_int_equal(json_array_size(cpus), 2);
		bool same = json_integer_value(json_array_get(cpus, 0)) == json_integer_value(json_array_get(cpus, 1));
		assert_int_equal(same, strcmp(pl, "same-cpu") == 0);
		if (same && strcmp(mech, "shm-spin") == 0) {
			assert_string_equal(status, "unsupported");
			assert_non_null(strstr(jstr(r, "reason"), "needs two CPUs"));
		} else {
			assert_string_equal(status, "ok");
		}
	}
	json_decref(doc);
	free(out);
	free(err);

	/* unpinned, the scheduler may put both sides on one CPU: a spinning row is refused */
	const char *none[] = { "--pin", "none", "-m", "shm-spin", "-p", "pingpong", "-s", "64", "-d", "20ms", "-r", "1",
			       "--json", "--quiet", NULL };
	assert_int_equal(tool_run(none, &out, &err, 60), 0);
	doc = parse_json(out);
	r = json_array_get(json_object_get(doc, "results"), 0);
	assert_string_equal(jstr(r, "status"), "unsupported");
	assert_non_null(strstr(jstr(r, "reason"), "needs two CPUs"));
	json_decref(doc);
	free(out);
	free(err);
}

static void test_failed_row_exits_1(void **state)
{
	(void)state;
	char *before = leftovers_snapshot();
	char *out = NULL, *err = NULL;
	const char *args[] = { "-m", "pipe", "-p", "pingpong", "-s", "64", "-r", "2", "-d", "20ms", "--json", NULL };
	int rc = tool_run_nofile(args, 5, &out, &err, 60);
	if (rc != 1)
		print_error("exit %d (want 1); stdout:\n%s\nstderr:\n%s", rc, out, err);
	assert_int_equal(rc, 1);
	json_t *doc = parse_json(out);
	const json_t *results = json_object_get(doc, "results");
	check_rows(results, "pipe");
	assert_int_equal(json_array_size(results), 1);
	const json_t *row = json_array_get(results, 0);
	assert_string_equal(jstr(row, "status"), "failed");
	print_message("failed row: %s\n", jstr(row, "reason"));
	json_decref(doc);
	free(out);
	free(err);

	/* and the same command with the usual limit is fine */
	assert_int_equal(tool_run(args, NULL, NULL, 60), 0);
	assert_no_new_leftovers(before);
}

/* IPCBENCH_SYSCALLS: a bad value exits 2 naming it; both ways of making the calls give verified rows. */
static void test_syscalls_env(void **state)
{
	(void)state;
	const char *list[] = { "--list", NULL };
	const char *bogus[] = { "IPCBENCH_SYSCALLS=bogus", NULL };
	char *out = NULL, *err = NULL;
	int rc = tool_run_env(list, bogus, &out, &err, 30);
	if (rc != 2 || out[0] || count_lines(err) != 1 || !strstr(err, "IPCBENCH_SYSCALLS"))
		print_error("IPCBENCH_SYSCALLS=bogus: exit %d (want 2), stdout %zu bytes, stderr:\n%s", rc, strlen(out), err);
	assert_int_equal(rc, 2);
	assert_int_equal(count_lines(err), 1);
	free(out);
	free(err);

	const char *args[] = { "-m", "pipe,uds-stream,mq,shm", "-p", "pingpong", "-s", "4K", "-d", "0.05", "-r", "1",
			       "--json", "--quiet", NULL };
	const char *ways[] = { "IPCBENCH_SYSCALLS=inline", "IPCBENCH_SYSCALLS=libc" };
	for (size_t w = 0; w < 2; w++) {
		const char *env[] = { ways[w], NULL };
		out = err = NULL;
		rc = tool_run_env(args, env, &out, &err, 60);
		if (rc != 0)
			print_error("%s: exit %d (want 0); stderr:\n%s", ways[w], rc, err);
		assert_int_equal(rc, 0);
		json_t *doc = parse_json(out);
		const json_t *results = json_object_get(doc, "results");
		assert_int_equal(json_array_size(results), 4);
		size_t i;
		const json_t *row;
		json_array_foreach(results, i, row) {
			if (strcmp(jstr(row, "status"), "ok") && strcmp(jstr(row, "status"), "unsupported"))
				print_error("%s: %s %s\n", ways[w], jstr(row, "mechanism"), jstr(row, "reason"));
			assert_true(!strcmp(jstr(row, "status"), "ok") || !strcmp(jstr(row, "status"), "unsupported"));
		}
		json_decref(doc);
		free(out);
		free(err);
	}
}

/* -o writes the bundle; this build writes results.json (schema 1) and results.csv. */
static void test_output_dir(void **state)
{
	(void)state;
	const char *dir = in_scratch("bundle");
	const char *args[] = { "-m", "pipe", "-p", "pingpong", "-s", "64", "-r", "1", "-d", "20ms", "--quiet",
			       "-o", dir, NULL };
	char *out = NULL, *err = NULL;
	int rc = tool_run(args, &out, &err, 120);
	if (rc != 0)
		print_error("exit %d, stderr:\n%s", rc, err);
	assert_int_equal(rc, 0);
	char path[400];
	static const char *const files[] = { "results.json", "results.csv" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (!exists(path)) {
			print_error("-o %s: no %s\n", dir, files[i]);
			fail();
		}
	}
	snprintf(path, sizeof(path), "%s/results.json", dir);
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "schema")), 1);
	check_rows(json_object_get(doc, "results"), "pipe");
	json_decref(doc);
	free(out);
	free(err);
	/* a second run into the same bundle directory is allowed */
	assert_int_equal(tool_run(args, NULL, NULL, 120), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/test_cli-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return remove_tree(scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_repeated_names),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_csv_and_table),
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_failed_row_exits_1),
		cmocka_unit_test(test_output_dir),
		cmocka_unit_test(test_syscalls_env),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
