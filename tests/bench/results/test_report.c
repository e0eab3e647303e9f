/* report.md from a small hand-made results document: decision table, experiment sections, processes vs threads. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "results/decide.h"
#include "results/doc.h"
#include "results/model_table.h"
#include "results/report.h"

/* The experiments of a real --all run (methods left out), as report.md gets them. */
static const char models_json[] = "{"
	"\"spawn\":{\"status\":\"ok\",\"parent_rss_bytes\":15781888,\"parent_page_tables_bytes\":10"
	"2400,\"fork_ns\":{\"p50\":2052096,\"p99\":7782400,\"mean\":2139199.91,\"n\":80},\"vfork_ns\""
	":{\"p50\":77568,\"p99\":890880,\"mean\":106419.62,\"n\":1081},\"posix_spawn_ns\":{\"p50\":11"
	"26400,\"p99\":7487488,\"mean\":1496402.03,\"n\":116},\"fork_exec_ns\":{\"p50\":2809856,\"p9"
	"9\":6045696,\"mean\":3139392.4,\"n\":55},\"thread_create_ns\":{\"p50\":40064,\"p99\":829440"
	",\"mean\":84293.07,\"n\":1352},\"fork_big_heap_ns\":{\"p50\":28377088,\"p99\":41012984,\"me"
	"an\":29111824.15,\"n\":13},\"big_heap_bytes\":268435456,\"big_heap_touch_ns\":176706127"
	",\"memory\":{\"idle_count\":8,\"process_bytes\":134272.0,\"process_anon_bytes\":48256.0,"
	"\"process_page_tables_bytes\":86016.0,\"thread_bytes\":11776.0,\"thread_stack_residen"
	"t_bytes\":9216.0,\"thread_page_tables_bytes\":2560.0,\"thread_stack_reserved_bytes\":"
	"8388608.0}},"
	"\"ctxswitch\":{\"status\":\"ok\",\"cpu\":0,\"pipe\":{\"process\":{\"switch_ns\":1808.0,\"rtt_ns"
	"\":{\"p50\":4656,\"p99\":6992,\"mean\":4943.85,\"n\":37705},\"overhead_ns\":{\"p50\":530,\"p99"
	"\":22080,\"mean\":1286.29,\"n\":57428},\"clock_ns\":20},\"thread\":{\"switch_ns\":1876.0,\"r"
	"tt_ns\":{\"p50\":4816,\"p99\":34944,\"mean\":8460.94,\"n\":22292},\"overhead_ns\":{\"p50\":54"
	"2,\"p99\":1596,\"mean\":1377.79,\"n\":54750},\"clock_ns\":20}},\"futex\":{\"process\":{\"swit"
	"ch_ns\":2040.0,\"rtt_ns\":{\"p50\":5584,\"p99\":45696,\"mean\":8849.99,\"n\":21164},\"overhe"
	"ad_ns\":{\"p50\":762,\"p99\":1204,\"mean\":1460.05,\"n\":45945},\"clock_ns\":20},\"thread\":{"
	"\"switch_ns\":1908.0,\"rtt_ns\":{\"p50\":4880,\"p99\":54144,\"mean\":8281.83,\"n\":22579},\"o"
	"verhead_ns\":{\"p50\":542,\"p99\":642,\"mean\":1100.1,\"n\":67472},\"clock_ns\":20}},\"proce"
	"ss_switch_ns\":1808.0,\"thread_switch_ns\":1876.0,\"process_over_thread\":0.96},"
	"\"isolation\":{\"status\":\"ok\",\"memory_write\":{\"process\":{\"value_before\":1,\"child_re"
	"ad_back\":2,\"parent_reads\":1,\"seen_by_parent\":false,\"observed\":\"the child wrote 2"
	" and read back 2; the parent then read 1: not seen\"},\"thread\":{\"value_before\":1,"
	"\"main_reads\":2,\"seen_by_main\":true,\"observed\":\"the thread wrote 2; after pthread"
	"_join the main thread read 2: seen\"}},\"crash\":{\"process\":{\"ended_by\":\"signal\",\"s"
	"ignal\":11,\"signal_name\":\"SIGSEGV\",\"core_dumped\":false,\"parent_continued\":true,\"o"
	"bserved\":\"the child was killed by signal 11 (Segmentation fault); the parent ran"
	" on to its next step\"},\"thread\":{\"ended_by\":\"signal\",\"signal\":11,\"signal_name\":\""
	"SIGSEGV\",\"core_dumped\":false,\"crashing_thread_started\":true,\"main_thread_reached"
	"_next_step\":false,\"observed\":\"a thread raised SIGSEGV; its process was killed by"
	" signal 11; the main thread never reached its next step\"}},\"fd_close\":{\"process\""
	":{\"child_closed\":true,\"open_in_parent\":true,\"observed\":\"the child closed its cop"
	"y of the read end; the parent's read end still carried a byte\"},\"thread\":{\"open_"
	"in_main\":false,\"observed\":\"a thread closed the read end; for the main thread it "
	"was closed (EBADF)\"}}},"
	"\"scaling\":{\"status\":\"ok\",\"iterations\":114168417,\"checksum\":\"0xd03e4db9a085683d\","
	"\"checksum_ok\":true,\"repetitions\":3,\"workers\":[1,2],\"process\":{\"time_ns\":[1619567"
	"87,99509255],\"speedup\":[1.0,1.628],\"efficiency\":[1.0,0.814]},\"thread\":{\"time_ns\""
	":[149968378,115893483],\"speedup\":[1.0,1.294],\"efficiency\":[1.0,0.647]},\"false_sh"
	"aring\":{\"threads\":[2],\"shared_line_ns_per_increment\":[7.31],\"padded_ns_per_incre"
	"ment\":[5.27],\"shared_over_padded\":[1.39]}},"
	"\"races\":{\"status\":\"ok\",\"cpus\":[0,1],\"unsynchronised\":{\"threads\":2,\"expected_incr"
	"ements\":2097152,\"counted_increments\":1998385,\"lost_increments\":98767,\"lost_pct\":"
	"4.71,\"attempts\":1,\"ns_per_increment\":1.92,\"alone_ns_per_increment\":0.31,\"observe"
	"d\":\"98767 of 2097152 increments lost (4.7%) in run 1\"},\"atomic\":{\"threads\":2,\"ex"
	"pected_increments\":2097152,\"counted_increments\":2097152,\"lost_increments\":0,\"los"
	"t_pct\":0.0,\"attempts\":1,\"ns_per_increment\":14.92,\"alone_ns_per_increment\":5.99,\""
	"observed\":\"no increment lost in 1 run of 2097152 increments: none lost\"},\"mutex\""
	":{\"threads\":2,\"expected_increments\":2097152,\"counted_increments\":2097152,\"lost_i"
	"ncrements\":0,\"lost_pct\":0.0,\"attempts\":1,\"ns_per_increment\":72.68,\"alone_ns_per_"
	"increment\":30.82,\"observed\":\"no increment lost in 1 run of 2097152 increments: n"
	"one lost\"},\"fork\":{\"child_increments\":1048576,\"child_read\":1048576,\"parent_read\""
	":0,\"seen_by_parent\":false,\"shared_mapping_parent_read\":1048576,\"observed\":\"the p"
	"arent then read 0 (not seen); through a shared mapping the parent read 1048576\"}"
	",\"deadlock\":{\"detected\":true,\"lock_timeout_ns\":50000000,\"detect_ns\":50079380,\"to"
	"tal_ns\":50647930,\"a_timed_out\":true,\"b_timed_out\":true,\"backed_off\":true,\"observ"
	"ed\":\"A held m1 and waited for m2, B held m2 and waited for m1: deadlock detected"
	" by both\"}},"
	"\"iobound\":{\"status\":\"ok\",\"workers\":[1,2,8,32,128],\"wait_ns\":1000000,\"cpu_work_ns"
	"\":23135.0,\"window_ns\":78571428,\"ncpu\":2,\"cpu_cap_ops_per_s\":86449.1,\"ideal_ops_p"
	"er_s\":[977.39,1954.78,7819.11,31276.42,86449.1],\"process\":{\"ops_per_s\":[889.87,1"
	"435.29,6070.73,23865.01,48461.55],\"efficiency\":[0.91,0.73,0.78,0.76,0.56],\"creat"
	"e_ns_per_worker\":[846544.0,1398808.5,2538034.38,1702130.72,1300842.71],\"memory_b"
	"ytes_per_worker\":[151552.0,151040.0,151424.0,146880.0,151024.0]},\"thread\":{\"ops_"
	"per_s\":[711.52,1595.03,6823.89,19650.95,21976.71],\"efficiency\":[0.73,0.82,0.87,0"
	".63,0.25],\"create_ns_per_worker\":[85929.0,208391.0,162372.5,24682.47,135236.29],"
	"\"memory_bytes_per_worker\":[12288.0,10240.0,9728.0,11648.0,12160.0]}},"
	"\"python\":{\"status\":\"ok\",\"interpreter\":{\"version_short\":\"3.11.2\",\"gil_enabled\":tr"
	"ue,\"free_threaded_build\":false},\"start_method\":\"fork\",\"ncpu\":2,\"cpu_bound\":{\"wor"
	"kers\":[1,2],\"iterations\":1364612,\"ns_per_iteration\":32.62,\"checksum_ok\":true,\"re"
	"petitions\":2,\"process\":{\"time_ns\":[94013385,88009331],\"speedup\":[1.0,1.068],\"eff"
	"iciency\":[1.0,0.534]},\"thread\":{\"time_ns\":[71310208,90428984],\"speedup\":[1.0,0.7"
	"89],\"efficiency\":[1.0,0.394]}},\"io_bound\":{\"workers\":[1,2,8],\"tasks\":32,\"sleep_n"
	"s\":1000000,\"work_ns\":19968,\"repetitions\":2,\"checksum_ok\":true,\"process\":{\"time_n"
	"s\":[40167241,24337266,33364064],\"speedup\":[1.0,1.65,1.204],\"efficiency\":[1.0,0.8"
	"25,0.15]},\"thread\":{\"time_ns\":[36196643,18874310,5375095],\"speedup\":[1.0,1.918,6"
	".734],\"efficiency\":[1.0,0.959,0.842]}},\"roundtrip_64b\":{\"payload_bytes\":64,\"cpus"
	"\":[0,1],\"pipe_bytes_ns\":{\"p50\":44186,\"p99\":657572,\"min\":17727,\"mean\":87213.7,\"n\""
	":896},\"pipe_ns\":{\"p50\":44516,\"p99\":2680743,\"min\":20891,\"mean\":95841.4,\"n\":800},\""
	"queue_ns\":{\"p50\":55022,\"p99\":410283,\"min\":40681,\"mean\":84519.8,\"n\":992},\"thread_"
	"queue_ns\":{\"p50\":54572,\"p99\":398605,\"min\":9074,\"mean\":81429.2,\"n\":928}},\"duratio"
	"n_ns\":1470070144,\"interpreter_path\":\"/usr/bin/python3\",\"wall_ns\":1556661453}"
	"}";

/*
 * One row as results.json carries it. p50 is the headline (p50 RTT for
 * pingpong, bytes per second for stream); its six repetitions step by spread
 * of it, so two rows with the same spread and p50s far apart are told apart,
 * and two with the same p50 are tied. busy and vcsw fill the cpu block.
 */
static json_t *row(const char *mech, const char *group, const char *pattern, double size, double p50, double spread,
		   double busy, double vcsw, bool boundaries, bool cross_host)
{
	bool stream = strcmp(pattern, "stream") == 0;
	json_t *r = json_pack("{s:s, s:s, s:s, s:f, s:s, s:b, s:b}", "mechanism", mech, "group", group, "pattern", pattern,
			      "size_bytes", size, "status", "ok", "boundaries", boundaries, "cross_host", cross_host);
	json_t *reps = json_array();
	for (int i = 0; i < 6; i++)
		json_array_append_new(reps, json_real(p50 * (1 + spread * (i - 2.5) / 2.5)));
	json_object_set_new(r, stream ? "reps_bytes_per_s" : "reps_rtt_ns_p50", reps);
	json_object_set_new(r, "ci95", json_pack("{s:f, s:f}", "low", p50 * (1 - spread), "high", p50 * (1 + spread)));
	if (stream)
		json_object_set_new(r, "bytes_per_s", json_real(p50));
	else
		json_object_set_new(r, "rtt_ns", json_pack("{s:f, s:f}", "p50", p50, "p99", 2 * p50));
	json_object_set_new(r, "cpu", json_pack("{s:f, s:f, s:f, s:f}", "per_msg_ns", stream ? 100.0 : 2 * p50, "cores_busy",
						busy, "a_vcsw", vcsw, "b_vcsw", vcsw));
	return r;
}

static json_t *not_ok(const char *mech, const char *pattern, double size, const char *status)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:s, s:s}", "mechanism", mech, "group", "process", "pattern", pattern,
			 "size_bytes", size, "status", status, "reason", "not here");
}

/* A run of a few mechanisms at 64 B and 1 MiB, with the rows the decision table must leave out. */
static json_t *hand_doc(bool with_models)
{
	json_t *rows = json_array();
	json_array_append_new(rows, row("floor-cacheline", "floor", "pingpong", 64, 100, 0.02, 2, 0, true, false));
	json_array_append_new(rows, row("floor-wake", "floor", "pingpong", 64, 20000, 0.02, 0.5, 1, true, false));
	json_array_append_new(rows, row("shm", "process", "pingpong", 64, 150, 0.02, 1.9, 0, true, false));
	json_array_append_new(rows, not_ok("shm-spin", "pingpong", 64, "failed"));
	json_array_append_new(rows, row("pipe", "process", "pingpong", 64, 30000, 0.02, 0.4, 1, false, false));
	json_array_append_new(rows, row("fifo", "process", "pingpong", 64, 30000, 0.02, 0.4, 1, false, false));
	json_array_append_new(rows, row("mq", "process", "pingpong", 64, 90000, 0.02, 0.3, 1, true, false));
	json_array_append_new(rows, row("tcp", "process", "pingpong", 64, 50000, 0.02, 0.3, 1, false, true));
	json_array_append_new(rows, not_ok("udp", "pingpong", 64, "unsupported"));
	json_array_append_new(rows, row("thread-ring", "thread", "pingpong", 64, 140, 0.02, 1.9, 0, true, false));
	json_array_append_new(rows, row("thread-mutex", "thread", "pingpong", 64, 25000, 0.02, 0.4, 1, true, false));
	json_array_append_new(rows, row("shm", "process", "stream", 64, 1e9, 0.02, 1.5, 0, true, false));
	json_array_append_new(rows, row("pipe", "process", "stream", 64, 2e8, 0.02, 1.0, 0.5, false, false));
	json_array_append_new(rows, row("shm", "process", "pingpong", 1 << 20, 4e5, 0.02, 0.5, 1, true, false));
	json_array_append_new(rows, row("pipe", "process", "pingpong", 1 << 20, 1e6, 0.02, 0.4, 1, false, false));
	/* faster than every candidate, and never one: a variant of pipe, and a one-way row of zzz-oneway */
	json_t *pairs = row("pipe", "process", "pingpong", 64, 10, 0.02, 0.4, 1, false, false);
	json_object_set_new(pairs, "pairs", json_integer(2));
	json_array_append_new(rows, pairs);
	json_array_append_new(rows, row("zzz-oneway", "process", "oneway", 64, 5, 0.02, 0.4, 1, true, true));
	json_t *doc = json_pack("{s:s, s:s, s:i, s:{s:[s, s, s]}, s:{s:s, s:s}, s:{}, s:o}", "tool", "ipcbench", "version",
				"0.1.0", "schema", 1, "run", "argv", "./ipcbench", "-m", "all", "host", "cpu_model", "Test CPU",
				"kernel", "6.1.0-test", "config", "results", rows);
	if (with_models) {
		json_error_t err;
		json_t *models = json_loads(models_json, 0, &err);
		if (!models)
			print_error("models_json, line %d: %s\n", err.line, err.text);
		assert_non_null(models);
		json_object_set_new(doc, "models", models);
	}
	return doc;
}

static __attribute__((noinline)) char *report_of(const json_t *doc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	report_write(doc, NULL, f);
	fclose(f);
	return buf;
}

/* The text of md from the heading that starts with head up to the next heading of that level or above. */
static char *section(const char *md, const char *head)
{
	const char *at = strstr(md, head);
	assert_non_null(at);
	size_t level = strspn(head, "#");
	const char *end = at + 1;
	while ((end = strstr(end, "\n#")) && strspn(end + 1, "#") > level)
		end++;
	return strndup(at, end ? (size_t)(end - at) : strlen(at));
}

/* The line of the decision table for need in sizes, e.g. ("64 B", "lowest latency, crosses hosts"). */
static char *decision_line(const char *decision, const char *sizes, const char *need)
{
	char key[160];
	snprintf(key, sizeof(key), "| %s ", sizes);
	for (const char *p = strstr(decision, key); p; p = strstr(p + 1, key)) {
		const char *end = strchr(p, '\n'), *cell = strchr(p + 1, '|');
		char want[128];
		snprintf(want, sizeof(want), "| %s ", need);
		if (cell && strncmp(cell, want, strlen(want)) == 0 && (cell[strlen(want)] == ' ' || cell[strlen(want)] == '|'))
			return strndup(p, end ? (size_t)(end - p) : strlen(p));
	}
	print_error("no line for %s, %s in:\n%s\n", sizes, need, decision);
	fail();
	return NULL;
}

/* The k-th cell of a Markdown table line (0 is the first), trimmed. */
static char *cell_of(const char *line, int k)
{
	const char *p = line;
	for (int i = 0; i <= k; i++) {
		p = strchr(p, '|');
		assert_non_null(p);
		p++;
	}
	const char *end = strchr(p, '|');
	while (*p == ' ')
		p++;
	size_t n = end ? (size_t)(end - p) : strlen(p);
	while (n && p[n - 1] == ' ')
		n--;
	return strndup(p, n);
}

static bool has_ok_row(const json_t *doc, const char *mech)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r)
		if (!strcmp(doc_str(r, "mechanism"), mech) && !strcmp(doc_str(r, "status"), "ok"))
			return true;
	return false;
}

static void test_decision_heading(void **state)
{
	(void)state;
	json_t *doc = hand_doc(false);
	char *md = report_of(doc);
	char *decision = section(md, "## Decision");
	/* before the detailed sections */
	assert_true(strstr(md, "## Decision") < strstr(md, "## Round-trip latency"));
	free(decision);
	free(md);
	json_decref(doc);
}

/* Every mechanism the decision section names (in backticks) has an ok row; other rows never lead. */
static void test_decision_names_ok_rows(void **state)
{
	(void)state;
	json_t *doc = hand_doc(false);
	char *md = report_of(doc);
	char *decision = section(md, "## Decision");
	int named = 0;
	for (const char *p = strchr(decision, '`'); p; p = strchr(p + 1, '`')) {
		const char *end = strchr(p + 1, '`');
		assert_non_null(end);
		char word[64];
		snprintf(word, sizeof(word), "%.*s", (int)(end - p - 1), p + 1);
		p = end;
		if (word[0] == '-' || strchr(word, ' '))
			continue; /* an option or a command, not a mechanism */
		if (!has_ok_row(doc, word))
			print_error("the decision section names %s, which has no ok row\n", word);
		assert_true(has_ok_row(doc, word));
		named++;
	}
	assert_true(named > 0);
	assert_null(strstr(decision, "`udp`"));
	assert_null(strstr(decision, "`shm-spin`"));
	assert_null(strstr(decision, "zzz-oneway"));

	/* the best is the fastest candidate: not the floor, not pipe's pairs row */
	char *line = decision_line(decision, "64 B", "lowest latency");
	char *best = cell_of(line, 2);
	assert_string_equal(best, "`shm` pingpong 64 B");
	free(best);
	free(line);
	/* sleeping: shm spins (never blocked), so pipe leads, fifo tied (the same repetitions), mq apart */
	line = decision_line(decision, "64 B", "lowest latency, no busy core");
	best = cell_of(line, 2);
	char *ties = cell_of(line, 5);
	assert_string_equal(best, "`pipe` pingpong 64 B");
	assert_non_null(strstr(ties, "`fifo`"));
	assert_null(strstr(ties, "`mq`"));
	free(ties);
	free(best);
	free(line);
	line = decision_line(decision, "64 B", "lowest latency, crosses hosts");
	best = cell_of(line, 2);
	assert_string_equal(best, "`tcp` pingpong 64 B");
	free(best);
	free(line);
	line = decision_line(decision, "64 B", "lowest latency, keeps message boundaries");
	ties = cell_of(line, 5);
	assert_null(strstr(ties, "`pipe`")); /* pipe keeps no boundaries */
	free(ties);
	free(line);
	line = decision_line(decision, "64 B", "highest throughput");
	best = cell_of(line, 2);
	assert_string_equal(best, "`shm` stream 64 B");
	free(best);
	free(line);
	line = decision_line(decision, "64 B", "lowest latency, between threads");
	best = cell_of(line, 2);
	assert_string_equal(best, "`thread-ring` pingpong 64 B");
	free(best);
	free(line);
	line = decision_line(decision, "1 MiB", "lowest latency");
	best = cell_of(line, 2);
	assert_string_equal(best, "`shm` pingpong 1 MiB");
	free(best);
	free(line);
	free(decision);
	free(md);
	json_decref(doc);
}

/* The tie rule: the same repetitions tie, far apart and tight do not, too few are not tested. */
static void test_decision_tie_rule(void **state)
{
	(void)state;
	json_t *a = row("pipe", "process", "pingpong", 64, 30000, 0.02, 0.4, 1, false, false);
	json_t *b = row("fifo", "process", "pingpong", 64, 30000, 0.02, 0.4, 1, false, false);
	json_t *c = row("mq", "process", "pingpong", 64, 90000, 0.02, 0.4, 1, false, false);
	json_t *d = row("uds", "process", "pingpong", 64, 33000, 0.02, 0.4, 1, false, false); /* 10%: beyond the 5% band */
	json_t *e = row("tcp", "process", "pingpong", 64, 31000, 0.02, 0.4, 1, false, false); /* 3%: within it */
	assert_int_equal(decide_tie(a, b), DECIDE_TIED);
	assert_int_equal(decide_tie(a, c), DECIDE_APART);
	assert_int_equal(decide_tie(a, d), DECIDE_APART);
	assert_int_equal(decide_tie(a, e), DECIDE_TIED);
	json_object_set_new(c, "reps_rtt_ns_p50", json_pack("[f, f, f]", 90000.0, 91000.0, 92000.0));
	assert_int_equal(decide_tie(a, c), DECIDE_UNTESTED);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(e);
}

/* Experiment sections are tables with units: no dotted key path (fork_ns.p50, memory.idle_count) anywhere in them. */
static void test_experiment_sections_readable(void **state)
{
	(void)state;
	json_t *doc = hand_doc(true);
	char *md = report_of(doc);
	const char *first = strstr(md, "\n### ");
	assert_non_null(first);
	const char *end = strstr(first, "\n## ");
	char *experiments = strndup(first, end ? (size_t)(end - first) : strlen(first));
	regex_t re;
	assert_int_equal(regcomp(&re, "[A-Za-z_][A-Za-z0-9_]*\\.[A-Za-z_][A-Za-z0-9_]*", REG_EXTENDED), 0);
	regmatch_t m;
	if (regexec(&re, experiments, 1, &m, 0) == 0)
		print_error("a key path in the experiment sections: %.*s\n", (int)(m.rm_eo - m.rm_so), experiments + m.rm_so);
	assert_int_not_equal(regexec(&re, experiments, 1, &m, 0), 0);
	regfree(&re);
	/* one section per experiment, each with a table and figures in units */
	static const char *const names[] = { "(spawn)", "(ctxswitch)", "(isolation)", "(scaling)", "(races)", "(iobound)",
					     "(python)" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(strstr(experiments, names[i]));
	assert_non_null(strstr(experiments, "| fork + waitpid ")); /* fork_ns.p50 2052096 */
	assert_non_null(strstr(experiments, "2.05 ms"));
	assert_non_null(strstr(experiments, "131.1 KiB")); /* memory.process_bytes */
	assert_non_null(strstr(experiments, "98767 (4.7%)"));
	/* a p99 is shown only over the 1,000 samples that back it, whatever the document carries */
	assert_null(strstr(experiments, "7.78 ms"));    /* fork_ns.p99 over n = 80 */
	assert_non_null(strstr(experiments, "891 us")); /* vfork_ns.p99 over n = 1081 */
	assert_non_null(strstr(experiments, "-: p99 needs 1,000 samples"));
	static const char *const keys[] = { "fork_ns", "process_bytes", "idle_count", "switch_ns", "lost_increments",
					    "ops_per_s", "time_ns", "pipe_ns" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_null(strstr(experiments, keys[i]));
	free(experiments);
	free(md);

	/* an experiment that failed says why, one this build does not know still shows its numbers in words */
	json_object_set_new(json_object_get(doc, "models"), "spawn", json_pack("{s:s, s:s}", "status", "failed", "reason",
										 "spawn: fork: out of memory"));
	json_object_set_new(json_object_get(doc, "models"), "future", json_pack("{s:s, s:{s:f}}", "status", "ok",
										  "wait_ns", "p50", 1800.5));
	md = report_of(doc);
	assert_non_null(strstr(md, "Failed: spawn: fork: out of memory"));
	assert_non_null(strstr(md, "| wait ns, p50 "));
	free(md);
	json_decref(doc);
}

/* Every cell of the processes-vs-threads table holds something, with the experiments and without them. */
static void check_no_empty_cell(const json_t *models, const json_t *results)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	model_table_markdown(models, results, f);
	fclose(f);
	int rows = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "|---", 4) == 0)
			continue;
		rows++;
		int cells = 0;
		for (int k = rows == 1 ? 1 : 0; k < 4; k++) { /* the header's first cell is empty by design */
			char *c = cell_of(line, k);
			if (!*c)
				print_error("empty cell %d in: %s\n", k, line);
			assert_true(*c);
			free(c);
			cells++;
		}
		assert_true(cells >= 3);
	}
	assert_int_equal(rows, 1 + 13);
	free(buf);
}

static void test_table_complete(void **state)
{
	(void)state;
	json_t *doc = hand_doc(true);
	const json_t *models = json_object_get(doc, "models"), *results = json_object_get(doc, "results");
	check_no_empty_cell(models, results);
	check_no_empty_cell(NULL, NULL);
	json_t *none = json_object();
	check_no_empty_cell(none, results);
	json_decref(none);

	char *md = report_of(doc);
	char *table = section(md, "## Processes vs threads");
	/* the like-for-like row: one ring between processes and between threads, with a verdict on its figures */
	assert_non_null(strstr(table, "| comm. same ring | shm, the ring"));
	assert_non_null(strstr(table, "64 B round trip p50 150 ns"));
	assert_non_null(strstr(table, "thread-ring, the same ring"));
	assert_non_null(strstr(table, "thread-ring 140 ns vs shm 150 ns"));
	/* verdicts name the figures they rest on */
	assert_non_null(strstr(table, "threads: 51x cheaper to create (pthread_create+join 40.1 us vs fork+wait 2.05 ms)"));
	assert_non_null(strstr(table, "threads: 11x less memory each (11.5 KiB per idle thread vs 131.1 KiB per idle "
				      "process)"));
	free(table);
	free(md);

	/* the communication line compares rows that copy: a faster zero-copy row is not its fastest process */
	json_t *loan = row("shm-loan", "process", "pingpong", 64, 100, 0.02, 1.9, 0, true, false);
	json_object_set_new(loan, "zero_copy", json_true());
	json_array_append_new(json_object_get(doc, "results"), loan);
	md = report_of(doc);
	table = section(md, "## Processes vs threads");
	const char *comm = strstr(table, "| communication |");
	assert_non_null(comm);
	char *line = strndup(comm, strcspn(comm, "\n"));
	assert_null(strstr(line, "shm-loan"));
	assert_non_null(strstr(line, "150 ns (shm)"));
	free(line);
	free(table);
	free(md);
	json_decref(doc);
}

/* A row past its floor even at the far end of its interval is named in the header; one within its interval is not. */
static void test_floor_passed_named(void **state)
{
	(void)state;
	json_t *doc = hand_doc(false);
	char *md = report_of(doc);
	assert_null(strstr(md, "**Past their floor:**")); /* no row has a floor_ratio yet */
	free(md);

	json_t *rows = json_object_get(doc, "results");
	json_t *wake = json_array_get(rows, 1), *pipe = json_array_get(rows, 4), *fifo = json_array_get(rows, 5);
	json_object_set_new(wake, "best_rtt_ns_p50", json_real(10000)); /* its median 20000: moved 2x */
	json_object_set_new(pipe, "floor", json_string("wake"));
	json_object_set_new(pipe, "floor_ratio", json_real(0.9)); /* ci95 high 30600: 0.918x at that end */
	json_object_set_new(fifo, "floor", json_string("wake"));
	json_object_set_new(fifo, "floor_ratio", json_real(0.99)); /* 1.01x at the high end: within */
	md = report_of(doc);
	const char *line = strstr(md, "**Past their floor:** 1 row reads past");
	assert_non_null(line);
	char *text = strndup(line, strcspn(line, "\n"));
	assert_non_null(strstr(text, "pipe pingpong 64 (0.90x wake)"));
	assert_null(strstr(text, "fifo"));
	assert_non_null(strstr(text, "moved by up to 2.00x (floor-wake 64"));
	free(text);
	free(md);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_heading),
		cmocka_unit_test(test_decision_names_ok_rows),
		cmocka_unit_test(test_decision_tie_rule),
		cmocka_unit_test(test_experiment_sections_readable),
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_floor_passed_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
