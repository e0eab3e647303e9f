/* The processes-vs-threads experiments: each runs, and its figures keep relations true on any Linux box. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/model.h"
#include "models/model_util.h"
#include "plots/charts.h"
#include "results/model_table.h"
#include "support.h"

#define MS (1000000LL)

/* Every experiment's result, kept for the table tests at the end. */
static json_t *models;

static struct model_params params(int64_t budget_ns, bool quick)
{
	int a = mu_allowed_cpu(0), b = mu_allowed_cpu(1);
	return (struct model_params){ .budget_ns = budget_ns, .timeout_ns = 5000 * MS,
				      .cpu = { a, b >= 0 ? b : a }, .ncpu = mu_allowed_count(), .quick = quick };
}

/* Processes whose parent is this test: after an experiment there must be none. */
static int count_children(void)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *close_paren = strrchr(buf, ')'); /* the name may hold spaces */
		int ppid;
		char state;
		if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid())
			n++;
	}
	closedir(d);
	return n;
}

/* Files in the working directory whose names start with "core", as core_pattern "core" writes them. */
static int count_cores(void)
{
	DIR *d = opendir(".");
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "core", 4) == 0;
	closedir(d);
	return n;
}

static json_t *run_model(const char *name, const struct model_params *p)
{
	const struct model_ops *m = model_find(name);
	assert_non_null(m);
	struct tp_err err = { { 0 } };
	json_t *r = m->run(p, &err);
	if (!r)
		fail_msg("%s failed: %s", name, err.msg);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "ok");
	assert_int_equal(count_children(), 0);
	json_object_set(models, name, r);
	/* The human table prints without a crash. */
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	m->print(r, null);
	fclose(null);
	return r;
}

static double p50(const json_t *r, const char *key)
{
	double v = mu_path(r, key, "p50", NULL);
	assert_true(v > 0);
	assert_true(mu_path(r, key, "n", NULL) >= 5);
	return v;
}

static void test_spawn(void **state)
{
	(void)state;
	/* Not --quick: the full 256 MiB heap, so the page-table copy stands out of any noise. */
	struct model_params p = params(2000 * MS, false);
	json_t *r = run_model("spawn", &p);
	assert_true(p50(r, "thread_create_ns") < p50(r, "fork_ns"));
	assert_true(p50(r, "fork_big_heap_ns") > p50(r, "fork_ns"));
	assert_int_equal(mu_get(r, "big_heap_bytes"), 256 << 20);
	p50(r, "vfork_ns");
	if (access("/bin/true", X_OK) == 0) {
		p50(r, "posix_spawn_ns");
		p50(r, "fork_exec_ns");
	}
	const json_t *mem = json_object_get(r, "memory");
	/* A process needs its own page tables and private pages; a thread shares them. */
	assert_true(mu_get(mem, "thread_bytes") > 0);
	assert_true(mu_get(mem, "process_bytes") > mu_get(mem, "thread_bytes"));
	assert_true(mu_get(mem, "thread_stack_reserved_bytes") > mu_get(mem, "thread_stack_resident_bytes"));
	assert_true(json_is_string(json_object_get(mem, "process_method")));
	assert_true(json_is_string(json_object_get(mem, "thread_method")));
	json_decref(r);
}

static void test_spawn_quick_heap(void **state)
{
	(void)state;
	struct model_params p = params(400 * MS, true);
	json_t *r = run_model("spawn", &p);
	assert_int_equal(mu_get(r, "big_heap_bytes"), 64 << 20);
	json_decref(r);
	json_object_del(models, "spawn");
}

static void test_ctxswitch(void **state)
{
	(void)state;
	struct model_params p = params(750 * MS, true);
	json_t *r = run_model("ctxswitch", &p);
	assert_int_equal(mu_get(r, "cpu"), p.cpu[0]);
	static const char *const kinds[] = { "pipe", "futex" }, *const modes[] = { "process", "thread" };
	for (int k = 0; k < 2; k++)
		for (int m = 0; m < 2; m++) {
			const json_t *v = json_object_get(json_object_get(r, kinds[k]), modes[m]);
			/* A round trip holds two switches besides the calls timed alone. */
			assert_true(p50(v, "rtt_ns") > p50(v, "overhead_ns"));
			assert_true(json_is_number(json_object_get(v, "switch_ns")));
		}
	assert_true(json_is_number(json_object_get(r, "process_switch_ns")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "method")), "lat_ctx"));
	json_decref(r);
}

static bool flag(const json_t *r, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(r, a), b), c);
	assert_true(json_is_boolean(v));
	return json_is_true(v);
}

static void test_isolation(void **state)
{
	(void)state;
	int cores = count_cores();
	struct model_params p = params(750 * MS, true);
	json_t *r = run_model("isolation", &p);
	assert_false(flag(r, "memory_write", "process", "seen_by_parent"));
	assert_true(flag(r, "memory_write", "thread", "seen_by_main"));
	assert_int_equal(mu_path(r, "crash", "process", "signal", NULL), SIGSEGV);
	assert_true(flag(r, "crash", "process", "parent_continued"));
	assert_false(flag(r, "crash", "process", "core_dumped"));
	assert_int_equal(mu_path(r, "crash", "thread", "signal", NULL), SIGSEGV);
	assert_true(flag(r, "crash", "thread", "crashing_thread_started"));
	assert_false(flag(r, "crash", "thread", "main_thread_reached_next_step"));
	assert_false(flag(r, "crash", "thread", "core_dumped"));
	assert_true(flag(r, "fd_close", "process", "open_in_parent"));
	assert_false(flag(r, "fd_close", "thread", "open_in_main"));
	assert_int_equal(count_cores(), cores);
	json_decref(r);
}

static void test_scaling(void **state)
{
	(void)state;
	struct model_params p = params(750 * MS, true);
	json_t *r = run_model("scaling", &p);
	assert_true(json_is_true(json_object_get(r, "checksum_ok")));
	const json_t *w = json_object_get(r, "workers");
	assert_int_equal(json_array_size(w), mu_allowed_count());
	assert_int_equal(json_integer_value(json_array_get(w, 0)), 1);
	static const char *const kinds[] = { "process", "thread" };
	for (int k = 0; k < 2; k++) {
		const json_t *v = json_object_get(r, kinds[k]);
		const json_t *sp = json_object_get(v, "speedup"), *eff = json_object_get(v, "efficiency");
		assert_int_equal(json_array_size(sp), json_array_size(w));
		assert_int_equal(json_array_size(eff), json_array_size(w));
		assert_true(json_number_value(json_array_get(sp, 0)) == 1.0);
		assert_true(json_number_value(json_array_get(eff, 0)) == 1.0);
		for (size_t i = 0; i < json_array_size(w); i++)
			assert_true(json_number_value(json_array_get(json_object_get(v, "time_ns"), i)) > 0);
	}
	const json_t *fs = json_object_get(r, "false_sharing");
	size_t n = json_array_size(json_object_get(fs, "threads"));
	assert_int_equal(n, mu_allowed_count() - 1);
	assert_int_equal(json_array_size(json_object_get(fs, "shared_over_padded")), n);
	for (size_t i = 0; i < n; i++)
		assert_true(json_number_value(json_array_get(json_object_get(fs, "shared_over_padded"), i)) > 0);
	json_decref(r);
}

static void test_races(void **state)
{
	(void)state;
	struct model_params p = params(750 * MS, true);
	json_t *r = run_model("races", &p);
	static const char *const kinds[] = { "unsynchronised", "atomic", "mutex" };
	for (int k = 0; k < 3; k++) {
		const json_t *c = json_object_get(r, kinds[k]);
		double lost = mu_get(c, "lost_increments");
		assert_true(lost >= 0);
		assert_true(mu_get(c, "expected_increments") > 0);
		assert_true(mu_get(c, "counted_increments") + lost == mu_get(c, "expected_increments"));
		assert_true(mu_get(c, "ns_per_increment") > 0);
		assert_true(mu_get(c, "attempts") >= 1);
		assert_true(json_is_string(json_object_get(c, "observed")));
		if (k > 0) /* one indivisible add, or the lock: whatever the interleaving, none lost */
			assert_true(lost == 0);
	}
	/* A forked child's writes stay in its copy; a shared mapping carries them. */
	const json_t *f = json_object_get(r, "fork");
	assert_false(json_is_true(json_object_get(f, "seen_by_parent")));
	assert_true(mu_get(f, "parent_read") == 0);
	assert_true(mu_get(f, "child_read") == mu_get(f, "child_increments"));
	assert_true(mu_get(f, "shared_mapping_parent_read") == mu_get(f, "child_increments"));
	/* Both held their first lock before trying the second: each timed lock must run out. */
	const json_t *d = json_object_get(r, "deadlock");
	assert_true(json_is_true(json_object_get(d, "detected")));
	assert_true(json_is_true(json_object_get(d, "a_timed_out")));
	assert_true(json_is_true(json_object_get(d, "b_timed_out")));
	assert_true(mu_get(d, "detect_ns") >= mu_get(d, "lock_timeout_ns"));
	json_decref(r);
}

static void test_iobound(void **state)
{
	(void)state;
	/* Not --quick: every worker count up to 128, each over the shortest window. */
	struct model_params p = params(600 * MS, false);
	json_t *r = run_model("iobound", &p);
	static const int want[] = { 1, 2, 8, 32, 128 };
	const json_t *w = json_object_get(r, "workers");
	assert_int_equal(json_array_size(w), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(json_integer_value(json_array_get(w, i)), want[i]);
	assert_true(mu_get(r, "cpu_work_ns") > 0);
	static const char *const kinds[] = { "process", "thread" };
	static const char *const fields[] = { "ops_per_s", "efficiency", "create_ns_per_worker",
					      "memory_bytes_per_worker" };
	for (int k = 0; k < 2; k++)
		for (int f = 0; f < 4; f++) {
			const json_t *a = json_object_get(json_object_get(r, kinds[k]), fields[f]);
			assert_int_equal(json_array_size(a), 5);
			for (size_t i = 0; i < 5; i++) {
				const json_t *v = json_array_get(a, i);
				if (!(json_number_value(v) > 0))
					fail_msg("iobound %s %s at %d workers: %s%g", kinds[k], fields[f], want[i],
						 json_is_null(v) ? "null " : "", json_number_value(v));
			}
		}
	json_decref(r);
}

/* A speedup list per kind, one figure per worker count, the first 1. */
static void check_split(const json_t *part)
{
	const json_t *w = json_object_get(part, "workers");
	assert_true(json_array_size(w) >= 1);
	assert_int_equal(json_integer_value(json_array_get(w, 0)), 1);
	assert_true(json_is_true(json_object_get(part, "checksum_ok")));
	static const char *const kinds[] = { "process", "thread" };
	for (int k = 0; k < 2; k++) {
		const json_t *sp = json_object_get(json_object_get(part, kinds[k]), "speedup");
		assert_int_equal(json_array_size(sp), json_array_size(w));
		assert_true(json_number_value(json_array_get(sp, 0)) == 1.0);
		for (size_t i = 0; i < json_array_size(sp); i++)
			assert_true(json_number_value(json_array_get(sp, i)) > 0);
	}
}

static void test_python(void **state)
{
	(void)state;
	struct model_params p = params(1200 * MS, true);
	struct tp_err err = { { 0 } };
	json_t *r = model_find("python")->run(&p, &err);
	if (!r)
		fail_msg("python failed: %s", err.msg);
	assert_int_equal(count_children(), 0);
	const char *st = json_string_value(json_object_get(r, "status"));
	assert_non_null(st);
	if (strcmp(st, "unsupported") == 0) {
		/* No interpreter here: the reason names the package to install. */
		assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "python3"));
		json_decref(r);
		skip();
	}
	assert_string_equal(st, "ok");
	const json_t *in = json_object_get(r, "interpreter");
	assert_true(strlen(json_string_value(json_object_get(in, "version"))) > 0);
	assert_true(json_is_boolean(json_object_get(in, "gil_enabled")));
	check_split(json_object_get(r, "cpu_bound"));
	check_split(json_object_get(r, "io_bound"));
	static const char *const trips[] = { "pipe_ns", "pipe_bytes_ns", "queue_ns", "thread_queue_ns" };
	for (int i = 0; i < 4; i++)
		assert_true(mu_path(r, "roundtrip_64b", trips[i], "p50", NULL) > 0);
	json_object_set(models, "python", r);
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	model_find("python")->print(r, null);
	fclose(null);
	json_decref(r);
}

static void test_python_unsupported(void **state)
{
	(void)state;
	struct model_params p = params(400 * MS, true);
	setenv("IPCBENCH_PYTHON", "/nonexistent/python3", 1);
	struct tp_err err = { { 0 } };
	json_t *r = model_find("python")->run(&p, &err);
	unsetenv("IPCBENCH_PYTHON");
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "unsupported");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "python3-minimal"));
	json_decref(r);
}

/* An interpreter that never answers is killed at the deadline, and nothing of it stays behind. */
static void test_python_deadline(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-models-XXXXXX", path[64]; /* not ipcbench-*: not a leftover for other tests */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/python3", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexec sleep 60\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	struct model_params p = params(100 * MS, true);
	p.timeout_ns = 300 * MS;
	setenv("IPCBENCH_PYTHON", path, 1);
	struct tp_err err = { { 0 } };
	json_t *r = model_find("python")->run(&p, &err);
	unsetenv("IPCBENCH_PYTHON");
	unlink(path);
	rmdir(dir);
	assert_null(r);
	assert_non_null(strstr(err.msg, "was killed"));
	assert_int_equal(count_children(), 0);
}

static char *table_text(const json_t *m, bool markdown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (markdown)
		model_table_markdown(m, NULL, f);
	else
		model_table_print(m, NULL, f);
	fclose(f);
	return buf;
}

static void test_table(void **state)
{
	(void)state;
	static const char *const rows[] = { "memory", "isolation", "creation cost", "switch cost",
					    "communication", "comm. same ring", "crash behaviour", "scaling", "stability",
					    "I/O-bound (C)", "CPU-bound (Py)", "I/O-bound (Py)", "comm. (Py)" };
	enum { ROWS = sizeof(rows) / sizeof(rows[0]) };
	char *md = table_text(models, true);
	assert_int_equal(count_lines(md), 2 + ROWS);
	assert_non_null(strstr(md, "| | process | thread | verdict |"));
	for (int i = 0; i < ROWS; i++) {
		char row[64];
		snprintf(row, sizeof(row), "\n| %s | ", rows[i]);
		assert_non_null(strstr(md, row));
	}
	/* without mechanism rows the communication cells say there were none */
	assert_non_null(strstr(md, "| communication | through IPC: every message copied in and out; no process "
				   "pingpong row in this run |"));
	/* every experiment ran above (python only where an interpreter is) */
	assert_null(strstr(md, json_object_get(models, "python") ? "not measured" : "not measured (spawn"));
	assert_non_null(strstr(md, "never reached its next step"));
	assert_non_null(strstr(md, "were not seen by the parent"));
	assert_non_null(strstr(md, "lock-order deadlock detected"));
	assert_non_null(strstr(md, "128 threads:"));
	free(md);
	char *txt = table_text(models, false);
	for (int i = 0; i < ROWS; i++)
		assert_non_null(strstr(txt, rows[i]));
	free(txt);
}

/* A regular file in dir whose content begins with the PNG signature. */
static bool dir_has_png(const char *dir, const char *name)
{
	char path[256], sig[8];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	bool png = f && fread(sig, 1, 8, f) == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
	if (f)
		fclose(f);
	return png;
}

/* The use-case chart: C and Python, CPU-bound and I/O-bound, from the experiments above. */
static void test_use_case_chart(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-models-XXXXXX";
	assert_non_null(mkdtemp(dir));
	json_t *doc = json_pack("{s:O, s:[]}", "models", models, "results");
	struct chart_set set;
	assert_int_equal(charts_write(dir, doc, &set, 30), 0);
	assert_int_equal(set.failed, 0);
	int found = -1;
	for (int i = 0; i < set.n; i++)
		if (strcmp(set.chart[i].name, "scaling-use-cases") == 0)
			found = i;
	assert_true(found >= 0);
	char path[256], line[512];
	snprintf(path, sizeof(path), "%s/scaling-use-cases.dat", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int blocks = 1, io_128 = 0;
	for (bool blank = false; fgets(line, sizeof(line), f);) {
		blocks += blank && line[0] == '\n';
		blank = line[0] == '\n';
		io_128 |= blocks == 2 && strncmp(line, "128 ", 4) == 0; /* iobound's largest worker count */
	}
	fclose(f);
	assert_int_equal(blocks, 2);
	assert_true(io_128);
	/* its subtitle says how the experiments took their figures, not the mechanism rows' repetitions */
	snprintf(path, sizeof(path), "%s/scaling-use-cases.gp", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	bool method = false;
	while (fgets(line, sizeof(line), f)) {
		assert_null(strstr(line, "repetitions of"));
		method |= strncmp(line, "method", 6) == 0 && strstr(line, "C I/O-bound: loops finished in a") != NULL;
	}
	fclose(f);
	assert_true(method);
	if (!set.gnuplot_missing)
		assert_true(dir_has_png(dir, "scaling-use-cases.png"));
	json_decref(doc);
	static const char *const ext[] = { "png", "gp", "dat" };
	for (int i = 0; i < set.n; i++)
		for (int e = 0; e < 3; e++) {
			snprintf(path, sizeof(path), "%s/%s.%s", dir, set.chart[i].name, ext[e]);
			unlink(path);
		}
	assert_int_equal(rmdir(dir), 0);
}

static void test_table_without_results(void **state)
{
	(void)state;
	json_t *empty = json_pack("{s:{s:s, s:s}}", "spawn", "status", "failed", "reason", "x");
	char *md = table_text(empty, true);
	assert_int_equal(count_lines(md), 2 + 13);
	assert_non_null(strstr(md, "not measured (spawn failed)"));
	assert_non_null(strstr(md, "not measured (scaling did not run)"));
	free(md);
	json_decref(empty);
}

/* tool_run() hands memcpy a NULL environment list, which UBSan rejects: pass an empty one. */
static const char *const no_env[] = { NULL };

/* The tool prints every experiment and then the comparison table. */
static void test_tool_prints_table(void **state)
{
	(void)state;
	char *out = NULL;
	const char *args[] = { "--quick", "--quiet", "-m", "spawn,ctxswitch,isolation,scaling,pipe",
			       "-p", "pingpong", "-s", "64", "-r", "1", NULL };
	int rc = tool_run_env(args, no_env, &out, NULL, 60);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "== spawn =="));
	assert_non_null(strstr(out, "== scaling =="));
	assert_non_null(strstr(out, "processes vs threads"));
	assert_non_null(strstr(out, "64 B round trip p50")); /* the communication cell, from the pipe row */
	assert_non_null(strstr(out, "(pipe)"));
	free(out);
	const char *one[] = { "--quick", "--quiet", "-m", "isolation", NULL };
	rc = tool_run_env(one, no_env, &out, NULL, 60);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "processes vs threads")); /* one experiment: no comparison */
	free(out);
}

int main(void)
{
	models = json_object();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_quick_heap),
		cmocka_unit_test(test_spawn),
		cmocka_unit_test(test_ctxswitch),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_scaling),
		cmocka_unit_test(test_races),
		cmocka_unit_test(test_iobound),
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_python_unsupported),
		cmocka_unit_test(test_python_deadline),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_use_case_chart),
		cmocka_unit_test(test_table_without_results),
		cmocka_unit_test(test_tool_prints_table),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(models);
	return rc;
}
