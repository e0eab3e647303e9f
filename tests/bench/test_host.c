/* bench/topology.c and the host block: topology of the pinned CPUs, host quality, warnings; end to end in --json. */
#include "support.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "topology.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const relations[] = { "same-cpu", "smt-sibling", "same-llc", "cross-llc", "cross-node" };

static bool cpu_allowed(int cpu)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) == 0 && cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_parse_list(void **state)
{
	(void)state;
	cpu_set_t set;
	assert_int_equal(topo_parse_list("0-3,8,10-11", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 7);
	assert_true(CPU_ISSET(8, &set) && CPU_ISSET(11, &set) && !CPU_ISSET(9, &set));
	assert_int_equal(topo_parse_list("5", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_int_equal(topo_parse_list("3-1", &set), -EINVAL);
	assert_int_equal(topo_parse_list("a", &set), -EINVAL);
	assert_int_equal(topo_parse_list("1;2", &set), -EINVAL);
}

static void test_read_cpu0(void **state)
{
	(void)state;
	if (!file_exists("/sys/devices/system/cpu/cpu0/topology/core_id"))
		skip(); /* a kernel or container without CPU topology in sysfs */
	struct topo_cpu t;
	assert_int_equal(topo_read(0, &t), 0);
	assert_int_equal(t.cpu, 0);
	assert_true(t.core >= 0);
	assert_true(t.package >= 0);
	if (t.siblings_known)
		assert_true(CPU_ISSET(0, &t.siblings));
	for (int i = 0; i < t.n_caches; i++)
		if (t.caches[i].shared_known)
			assert_true(CPU_ISSET(0, &t.caches[i].shared_with));
	assert_int_equal(topo_read(-1, &t), -EINVAL);
	assert_int_equal(topo_read(CPU_SETSIZE, &t), -EINVAL);
}

static void test_relation_basics(void **state)
{
	(void)state;
	assert_string_equal(topo_relation(0, 0), "same-cpu");
	assert_string_equal(topo_relation(-1, 0), "unpinned");
	assert_string_equal(topo_relation(-1, -1), "unpinned");
}

/* Every relation either yields a pair that has it, or -ENOENT and a reason. */
static void test_pick_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_OF(relations); i++) {
		int pair[2];
		char why[256] = "x";
		int rc = topo_pick(relations[i], pair, why, sizeof(why));
		if (rc == 0) {
			assert_true(cpu_allowed(pair[0]) && cpu_allowed(pair[1]));
			assert_string_equal(topo_relation(pair[0], pair[1]), relations[i]);
		} else {
			assert_int_equal(rc, -ENOENT);
			assert_true(strlen(why) > 10);
		}
	}
}

static void test_pick_same_cpu(void **state)
{
	(void)state;
	int pair[2];
	char why[256];
	assert_int_equal(topo_pick("same-cpu", pair, why, sizeof(why)), 0);
	assert_int_equal(pair[0], pair[1]);
	assert_true(cpu_allowed(pair[0]));
	assert_int_equal(topo_pick("unpinned", pair, why, sizeof(why)), 0);
	assert_int_equal(pair[0], -1);
	assert_int_equal(topo_pick("next-door", pair, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "smt-sibling"));
}

/* --- which relation this host lacks, read from sysfs here rather than assumed --- */

/* The CPUs listed in a sysfs file, as a set; false when it cannot be read. */
static bool read_cpu_list(const char *path, cpu_set_t *set)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(buf, sizeof(buf), f);
	if (f)
		fclose(f);
	CPU_ZERO(set);
	for (char *p = buf; ok && *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = *end == '-' ? strtol(end + 1, &end, 10) : lo;
		if (end == p)
			break;
		for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
			CPU_SET((int)c, set);
		p = end + (*end == ',');
	}
	return ok;
}

/* Does the CPU list in cpuN/what of any allowed CPU hold another allowed CPU? */
static bool allowed_share(const char *what)
{
	cpu_set_t allowed, set;
	sched_getaffinity(0, sizeof(allowed), &allowed);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		char path[160];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/%s", c, what);
		if (!CPU_ISSET(c, &allowed) || !read_cpu_list(path, &set))
			continue;
		CPU_AND(&set, &set, &allowed);
		if (CPU_COUNT(&set) > 1)
			return true;
	}
	return false;
}

/* Do the allowed CPUs span more than one NUMA node? */
static bool allowed_nodes_many(void)
{
	cpu_set_t allowed, set;
	sched_getaffinity(0, sizeof(allowed), &allowed);
	int nodes = 0;
	for (int n = 0; n < 1024; n++) {
		char path[96];
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
		if (!read_cpu_list(path, &set))
			continue;
		CPU_AND(&set, &set, &allowed);
		nodes += CPU_COUNT(&set) > 0;
	}
	return nodes > 1;
}

static void test_pick_missing(void **state)
{
	(void)state;
	const char *missing = NULL;
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof(allowed), &allowed);
	if (CPU_COUNT(&allowed) < 2)
		missing = "smt-sibling";
	else if (file_exists("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list") &&
		 !allowed_share("topology/thread_siblings_list"))
		missing = "smt-sibling";
	else if (!allowed_nodes_many())
		missing = "cross-node";
	if (!missing)
		skip(); /* SMT and several NUMA nodes: nothing this test knows to be missing */
	int pair[2];
	char why[256] = "";
	assert_int_equal(topo_pick(missing, pair, why, sizeof(why)), -ENOENT);
	assert_true(why[0] != '\0');
	print_message("topo_pick(\"%s\"): %s\n", missing, why);
}

static void test_default_pair(void **state)
{
	(void)state;
	int pair[2], llc[2];
	char why[256] = "", unused[256];
	assert_int_equal(topo_default_pair(pair, why, sizeof(why)), 0);
	assert_true(cpu_allowed(pair[0]) && cpu_allowed(pair[1]));
	assert_true(why[0] != '\0');
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof(allowed), &allowed);
	if (CPU_COUNT(&allowed) > 1)
		assert_int_not_equal(pair[0], pair[1]);
	if (topo_pick("same-llc", llc, unused, sizeof(unused)) == 0)
		assert_string_equal(topo_relation(pair[0], pair[1]), "same-llc");
	print_message("default pair: %s\n", why);
}

/* --- host.topology, host.quality, host.warnings --- */

static void test_topology_json(void **state)
{
	(void)state;
	json_t *t = host_topology_json((int[]){ -1, -1 });
	assert_string_equal(json_string_value(json_object_get(t, "relation")), "unpinned");
	assert_true(json_is_null(json_array_get(json_object_get(t, "cpus"), 0)));
	json_decref(t);
	int pair[2];
	char why[256];
	assert_int_equal(topo_default_pair(pair, why, sizeof(why)), 0);
	t = host_topology_json(pair);
	const json_t *cpus = json_object_get(t, "cpus");
	assert_int_equal(json_array_size(cpus), 2);
	static const char *const keys[] = { "cpu", "core", "package", "smt_siblings", "node", "caches" };
	for (size_t side = 0; side < 2; side++)
		for (size_t k = 0; k < N_OF(keys); k++)
			assert_non_null(json_object_get(json_array_get(cpus, side), keys[k]));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cpus, 1), "cpu")), pair[1]);
	assert_string_equal(json_string_value(json_object_get(t, "relation")), topo_relation(pair[0], pair[1]));
	json_decref(t);
}

static void assert_string_or_null(const json_t *q, const char *key)
{
	const json_t *v = json_object_get(q, key);
	assert_non_null(v);
	assert_true(json_is_string(v) || json_is_null(v));
}

static void assert_number_or_null(const json_t *q, const char *key)
{
	const json_t *v = json_object_get(q, key);
	assert_non_null(v);
	assert_true(json_is_number(v) || json_is_null(v));
}

static void assert_all_strings(const json_t *a)
{
	size_t i;
	json_t *w;
	assert_true(json_is_array(a));
	json_array_foreach(a, i, w)
		assert_true(json_is_string(w) && json_string_length(w) > 20);
}

static void test_quality_keys(void **state)
{
	(void)state;
	json_t *q = host_quality_json((int[]){ 0, 0 });
	assert_string_or_null(q, "hypervisor");
	assert_number_or_null(q, "steal_pct");
	assert_number_or_null(q, "loadavg");
	assert_string_or_null(q, "governor");
	assert_string_or_null(q, "clocksource");
	assert_string_or_null(q, "mitigations");
	const json_t *boost = json_object_get(q, "boost");
	assert_true(boost && (json_is_boolean(boost) || json_is_null(boost)));
	json_t *w = host_warnings_json(q);
	assert_all_strings(w);
	json_decref(w);
	json_decref(q);
}

/* Each condition gives its own warning, which names a fix; a clean host gives none. */
static void test_warnings(void **state)
{
	(void)state;
	json_t *bad = json_pack("{s:s, s:f, s:f, s:f, s:s, s:s}", "hypervisor", "kvm", "steal_pct", 7.5,
				"steal_window_s", 2.0, "loadavg", 1e6, "governor", "powersave", "clocksource", "hpet");
	json_t *w = host_warnings_json(bad);
	assert_all_strings(w);
	static const char *const starts[] = { HOST_WARN_VM, HOST_WARN_STEAL, HOST_WARN_GOVERNOR, HOST_WARN_LOAD,
					      HOST_WARN_CLOCK };
	assert_int_equal(json_array_size(w), N_OF(starts));
	for (size_t i = 0; i < N_OF(starts); i++) {
		const char *s = json_string_value(json_array_get(w, i));
		assert_true(strncmp(s, starts[i], strlen(starts[i])) == 0);
		assert_non_null(strchr(s, ';')); /* what it does; how to fix it */
	}
	assert_non_null(strstr(json_string_value(json_array_get(w, 2)), "cpupower frequency-set -g performance"));
	json_decref(w);
	json_decref(bad);
	json_t *clean = json_pack("{s:n, s:f, s:f, s:s, s:s}", "hypervisor", "steal_pct", 0.2, "loadavg", 0.0,
				  "governor", "performance", "clocksource", "tsc");
	w = host_warnings_json(clean);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	json_decref(clean);
}

/* Two readings of a cache line's round trip more than 25% apart: the host moved the CPUs. */
static void test_line_moved(void **state)
{
	(void)state;
	double la, ha, lb, hb;
	json_t *near = json_pack("[f, f]", 110.0, 130.0), *far = json_pack("[f, f]", 420.0, 450.0);
	json_t *close = json_pack("[f, n]", 140.0), *none = json_pack("[n, n]");
	assert_true(host_line_moved(near, far, &la, &ha, &lb, &hb));
	assert_true(la == 110 && ha == 130 && lb == 420 && hb == 450);
	assert_true(host_line_moved(far, near, &la, &ha, &lb, &hb));
	assert_false(host_line_moved(near, close, &la, &ha, &lb, &hb)); /* 140 is within 25% of 130 */
	assert_false(host_line_moved(near, none, &la, &ha, &lb, &hb));
	assert_true(isnan(lb));
	assert_false(host_line_moved(NULL, far, &la, &ha, &lb, &hb));
	json_decref(near);
	json_decref(far);
	json_decref(close);
	json_decref(none);

	json_t *q = json_pack("{s:[f, f]}", "cacheline_rtt_ns", 120.0, 430.0);
	json_t *w = host_warnings_json(q);
	assert_int_equal(json_array_size(w), 1);
	const char *s = json_string_value(json_array_get(w, 0));
	assert_true(strncmp(s, HOST_WARN_MOVED, strlen(HOST_WARN_MOVED)) == 0);
	assert_non_null(strstr(s, "120 ns at the start and 430 ns at the end"));
	json_decref(w);
	json_decref(q);
	q = json_pack("{s:[f, f]}", "cacheline_rtt_ns", 120.0, 140.0);
	w = host_warnings_json(q);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	json_decref(q);
}

static void test_begin_prints_warnings(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	host_quality_begin((int[]){ 0, 0 }, f);
	host_quality_end(f);
	fclose(f);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		assert_true(strncmp(line, "ipcbench: warning: ", 19) == 0);
	free(text);
}

/* --- end to end: the JSON carries the host block; warnings go to stderr unless --quiet --- */

static void test_e2e_json(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *args[] = { "--quick", "-m", "pipe", "--json", NULL };
	int rc = tool_run(args, &out, &err, 120);
	if (rc != 0)
		print_error("exit %d, stderr:\n%s", rc, err);
	assert_int_equal(rc, 0);
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	const json_t *host = json_object_get(doc, "host");
	const json_t *topo = json_object_get(host, "topology"), *q = json_object_get(host, "quality");
	assert_true(json_is_object(topo));
	assert_true(json_is_string(json_object_get(topo, "relation")));
	assert_int_equal(json_array_size(json_object_get(topo, "cpus")), 2);
	assert_true(json_is_object(q));
	assert_non_null(json_object_get(q, "hypervisor"));
	assert_non_null(json_object_get(q, "steal_pct"));
	/* two CPUs: a cache line's round trip between them at the start and the end; one CPU: none */
	const json_t *cpus = json_object_get(topo, "cpus"), *line = json_object_get(q, "cacheline_rtt_ns");
	if (json_integer_value(json_object_get(json_array_get(cpus, 0), "cpu")) !=
	    json_integer_value(json_object_get(json_array_get(cpus, 1), "cpu"))) {
		assert_int_equal(json_array_size(line), 2);
		for (size_t k = 0; k < 2; k++)
			assert_true(json_number_value(json_array_get(line, k)) > 0);
	} else {
		assert_true(json_is_null(line));
	}
	const json_t *warnings = json_object_get(host, "warnings");
	assert_all_strings(warnings);
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w) {
		char line[1024];
		snprintf(line, sizeof(line), "ipcbench: warning: %s\n", json_string_value(w));
		if (!strstr(err, line)) {
			print_error("warning not on stderr: %s\nstderr:\n%s", line, err);
			fail();
		}
	}
	json_decref(doc);
	free(out);
	free(err);
}

static void test_e2e_quiet(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *args[] = { "--quick", "-m", "pipe", "-r", "1", "--json", "--quiet", NULL };
	assert_int_equal(tool_run(args, &out, &err, 120), 0);
	assert_string_equal(err, "");
	json_t *doc = json_loads(out, 0, NULL);
	assert_true(json_is_array(json_object_get(json_object_get(doc, "host"), "warnings")));
	json_decref(doc);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list),	 cmocka_unit_test(test_read_cpu0),
		cmocka_unit_test(test_relation_basics),	 cmocka_unit_test(test_pick_consistent),
		cmocka_unit_test(test_pick_same_cpu),	 cmocka_unit_test(test_pick_missing),
		cmocka_unit_test(test_default_pair),	 cmocka_unit_test(test_topology_json),
		cmocka_unit_test(test_quality_keys),	 cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_line_moved),
		cmocka_unit_test(test_begin_prints_warnings), cmocka_unit_test(test_e2e_json),
		cmocka_unit_test(test_e2e_quiet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
