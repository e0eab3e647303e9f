/* The processes-vs-threads experiments: each runs, and its figures keep relations true on any Linux box. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "model.h"
#include "model_table.h"
#include "model_util.h"

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
					    "communication", "crash behaviour", "scaling" };
	char *md = table_text(models, true);
	assert_int_equal(count_lines(md), 2 + 7);
	assert_non_null(strstr(md, "| | process | thread |"));
	for (int i = 0; i < 7; i++) {
		char row[64];
		snprintf(row, sizeof(row), "\n| %s | ", rows[i]);
		assert_non_null(strstr(md, row));
	}
	/* without mechanism rows the communication cells say there were none */
	assert_non_null(strstr(md, "| communication | through IPC: every message copied in and out; no process "
				   "pingpong row in this run |"));
	assert_null(strstr(md, "not measured")); /* every experiment ran above */
	assert_non_null(strstr(md, "never reached its next step"));
	free(md);
	char *txt = table_text(models, false);
	for (int i = 0; i < 7; i++)
		assert_non_null(strstr(txt, rows[i]));
	free(txt);
}

static void test_table_without_results(void **state)
{
	(void)state;
	json_t *empty = json_pack("{s:{s:s, s:s}}", "spawn", "status", "failed", "reason", "x");
	char *md = table_text(empty, true);
	assert_int_equal(count_lines(md), 2 + 7);
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
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_without_results),
		cmocka_unit_test(test_tool_prints_table),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(models);
	return rc;
}
