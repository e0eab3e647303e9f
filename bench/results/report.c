/* report.md: the decision table, host, configuration, summary tables, charts, rows not measured, how to read. */
#include "doc.h"
#include "report.h"

#include "mdtable.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "host.h"
#include "parse.h"

/* --- figures --- */

static const char *fmt_mbps(double bytes_per_s, char *buf, size_t len)
{
	double v = bytes_per_s / 1e6;
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : v >= 0.01 ? "%.2f" : "<0.01", v);
	return buf;
}

/* 812, 12.3k, 4.58M: a rate to three figures. */
static const char *fmt_count(double v, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (v >= 1e6)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

/* 1 MiB, 208 KiB, 8 KiB, 100 B: a kernel limit in bytes. */
static const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	int u = 0;
	while (u < 3 && b >= 1024 && b % 1024 == 0) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)b, unit[u]);
	return buf;
}

static const char *fmt_ratio(double r, char *buf, size_t len)
{
	if (!isfinite(r))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, r >= 100 ? "%.0fx" : r >= 10 ? "%.1fx" : r >= 0.1 ? "%.2fx" : "%.2gx", r);
	return buf;
}

/* A row over the floor of its kind, "1.45x wake", or "-" without one. */
static const char *fmt_floor(const json_t *r, char *buf, size_t len)
{
	const char *floor = doc_str(r, "floor");
	double ratio = doc_num(r, "floor_ratio");
	fmt_ratio(ratio, buf, len);
	size_t at = strlen(buf);
	if (*floor && isfinite(ratio) && at + 1 < len)
		snprintf(buf + at, len - at, " %s", floor);
	return buf;
}

/* The 95% interval's half-width as a share of the headline, "+-2.1%", or "-" without one. */
static const char *fmt_ci(const json_t *r, double head, char *buf, size_t len)
{
	const json_t *ci = json_object_get(r, "ci95");
	double lo = doc_num(ci, "low"), hi = doc_num(ci, "high");
	if (isfinite(lo) && isfinite(hi) && head > 0)
		snprintf(buf, len, "+-%.1f%%", 100 * (hi - lo) / 2 / head);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* Which stream and fan-in messages had their payload checked, as the run recorded it ("1 in 64 messages"). */
static const char *stream_payload_checked(const json_t *doc)
{
	const char *v = doc_str(json_object_get(doc, "config"), "verify_stream_payload");
	return *v ? v : "sampled messages";
}

/* "~" before a noisy row's headline figure. */
static const char *noisy_mark(const json_t *r)
{
	return json_is_true(json_object_get(r, "noisy")) ? "~" : "";
}

/* A zero-copy row (the receiver checks each message where it lies) is labelled so beside its mechanism. */
static const char *zero_copy_mark(const json_t *r)
{
	return json_is_true(json_object_get(r, "zero_copy")) ? " (zero-copy)" : "";
}

static const char *fmt_rtt(const json_t *r, const char *key, char *buf, size_t len)
{
	double v = doc_num(json_object_get(r, "rtt_ns"), key);
	return isfinite(v) ? fmt_ns(v, buf, len) : strcpy(buf, "-");
}

static const char *size_of(const json_t *r, char *buf, size_t len)
{
	double s = doc_num(r, "size_bytes");
	return format_size(s >= 0 ? (uint64_t)s : 0, buf, len);
}

static bool status_is(const json_t *r, const char *status)
{
	return strcmp(doc_str(r, "status"), status) == 0;
}

/* --- shared lines --- */

/* Words the shell reads as they are; anything else goes in single quotes. */
void report_shell_word(const char *w, FILE *out)
{
	bool plain = *w != '\0';
	for (const char *p = w; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=:,./@%", *p) != NULL;
	if (plain) {
		fputs(w, out);
		return;
	}
	fputc('\'', out);
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", out);
		else
			fputc(*p, out);
	}
	fputc('\'', out);
}

void report_command(const json_t *doc, FILE *out)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(json_object_get(doc, "run"), "argv"), i, w) {
		if (i)
			fputc(' ', out);
		report_shell_word(json_is_string(w) ? json_string_value(w) : "", out);
	}
}

/* --- sections --- */

static void limits_line(const json_t *limits, FILE *out)
{
	const char *key;
	json_t *v;
	int n = 0;
	json_object_foreach((json_t *)limits, key, v) {
		if (!json_is_integer(v))
			continue;
		size_t k = strlen(key);
		bool bytes = k > 6 && strcmp(key + k - 6, "_bytes") == 0;
		char val[32];
		if (bytes)
			fmt_bytes((uint64_t)json_integer_value(v), val, sizeof(val));
		else
			snprintf(val, sizeof(val), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		fprintf(out, "%s%.*s %s", n++ ? ", " : "", (int)(bytes ? k - 6 : k), key, val);
	}
	if (!n)
		fputs("not recorded", out);
}

/* --- host topology, quality and warnings (host.topology, host.quality, host.warnings) --- */

/* A JSON array of CPU numbers, lowest first, as ranges: "0-3,8". */
static const char *cpu_ranges(const json_t *list, char *buf, size_t len)
{
	size_t i, used = 0, n = json_array_size(list);
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(list, i, v) {
		json_int_t c = json_integer_value(v);
		bool starts = i == 0 || json_integer_value(json_array_get(list, i - 1)) != c - 1;
		bool ends = i + 1 == n || json_integer_value(json_array_get(list, i + 1)) != c + 1;
		if (used < len && starts)
			used += (size_t)snprintf(buf + used, len - used, "%s%" JSON_INTEGER_FORMAT, used ? "," : "", c);
		else if (used < len && ends)
			used += (size_t)snprintf(buf + used, len - used, "-%" JSON_INTEGER_FORMAT, c);
	}
	return buf;
}

/* "CPU 3 (core 1, package 0, node 0)", leaving out what sysfs did not say. */
static void cpu_place_text(const json_t *c, FILE *out)
{
	static const char *const keys[] = { "core", "package", "node" };
	fprintf(out, "CPU %.0f (", doc_num(c, "cpu"));
	for (int k = 0, n = 0; k < 3; k++)
		if (isfinite(doc_num(c, keys[k])))
			fprintf(out, "%s%s %.0f", n++ ? ", " : "", keys[k], doc_num(c, keys[k]));
	fputc(')', out);
}

static bool json_list_has(const json_t *list, double v)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		if (json_is_integer(x) && (double)json_integer_value(x) == v)
			return true;
	return false;
}

/* The caches side A's CPU shares with side B's: "L2 1 MiB, L3 32 MiB (CPUs 0-7)". */
static void shared_caches_text(const json_t *a, const json_t *b, FILE *out)
{
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(json_object_get(a, "caches"), i, c) {
		const json_t *with = json_object_get(c, "shared_with");
		if (!json_list_has(with, doc_num(b, "cpu")) || strcmp(doc_str(c, "type"), "Instruction") == 0)
			continue;
		char size[24] = "", cpus[128];
		if (isfinite(doc_num(c, "size_bytes")))
			fmt_bytes((uint64_t)doc_num(c, "size_bytes"), size, sizeof(size));
		fprintf(out, "%s L%.0f %s (CPUs %s)", n++ ? "," : "; they share", doc_num(c, "level"), size,
			cpu_ranges(with, cpus, sizeof(cpus)));
	}
	if (!n)
		fputs("; they share no cache", out);
}

static const char *relation_text(const char *relation)
{
	static const char *const text[][2] = {
		{ "same-cpu", "both on one CPU, taking turns" },
		{ "smt-sibling", "two hardware threads of one core (SMT siblings)" },
		{ "same-llc", "different cores sharing the last-level cache" },
		{ "cross-llc", "different cores with separate last-level caches, on one NUMA node" },
		{ "cross-node", "different NUMA nodes" },
	};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (strcmp(relation, text[i][0]) == 0)
			return text[i][1];
	return "this kernel does not say what they share";
}

static void topology_line(const json_t *topo, FILE *out)
{
	if (!topo)
		return;
	const json_t *cpus = json_object_get(topo, "cpus");
	const json_t *a = json_array_get(cpus, 0), *b = json_array_get(cpus, 1);
	const char *relation = doc_str(topo, "relation");
	if (!json_is_object(a) || !json_is_object(b)) {
		fputs("- **Topology:** not pinned (`--pin none`): the sides ran wherever the scheduler put them\n", out);
		return;
	}
	fputs("- **Topology:** side A on ", out);
	cpu_place_text(a, out);
	if (doc_num(a, "cpu") != doc_num(b, "cpu")) {
		fputs(", side B on ", out);
		cpu_place_text(b, out);
	}
	fprintf(out, ": %s (`%s`)", relation_text(relation), relation);
	if (doc_num(a, "cpu") != doc_num(b, "cpu"))
		shared_caches_text(a, b, out);
	fputs("\n", out);
}

static void quality_line(const json_t *q, FILE *out)
{
	if (!q)
		return;
	char hv[80] = "no hypervisor detected";
	if (*doc_str(q, "hypervisor"))
		snprintf(hv, sizeof(hv), "virtual machine (%s)", doc_str(q, "hypervisor"));
	fprintf(out, "- **Host quality:** %s", hv);
	if (isfinite(doc_num(q, "steal_pct")))
		fprintf(out, "; steal %.2f%% of CPU time over %.1f s of the run", doc_num(q, "steal_pct"),
			doc_num(q, "steal_window_s"));
	if (isfinite(doc_num(q, "loadavg")))
		fprintf(out, "; load average %.2f at the start", doc_num(q, "loadavg"));
	const json_t *share = json_object_get(q, "cpu_share_pct");
	if (json_array_size(share) == 2)
		fprintf(out, "; a thread spinning on each pinned CPU ran %.0f%% and %.0f%% of the wall time",
			json_number_value(json_array_get(share, 0)), json_number_value(json_array_get(share, 1)));
	fprintf(out, "; governor %s", *doc_str(q, "governor") ? doc_str(q, "governor") : "not exposed (no cpufreq)");
	const json_t *boost = json_object_get(q, "boost");
	if (json_is_boolean(boost))
		fprintf(out, "; boost %s", json_is_true(boost) ? "on" : "off");
	if (*doc_str(q, "clocksource"))
		fprintf(out, "; clocksource %s", doc_str(q, "clocksource"));
	if (*doc_str(q, "mitigations"))
		fprintf(out, "; CPU vulnerabilities: %s", doc_str(q, "mitigations"));
	fputs("\n", out);
}

/* The p50 RTT of a mechanism's first ok row, NAN when the run has none. */
static double row_p50(const json_t *doc, const char *mechanism)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r)
		if (strcmp(doc_str(r, "mechanism"), mechanism) == 0 && status_is(r, "ok"))
			return doc_num(json_object_get(r, "rtt_ns"), "p50");
	return NAN;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What a warning cost in this run, as far as its rows show it; with_noise: also how many rows are noisy. */
static void warning_effect(const json_t *doc, const char *w, bool with_noise, FILE *out)
{
	char t[24];
	double wake = row_p50(doc, "floor-wake"), line = row_p50(doc, "floor-cacheline");
	bool vm = starts_with(w, HOST_WARN_VM), steal = starts_with(w, HOST_WARN_STEAL);
	if ((vm || steal || starts_with(w, HOST_WARN_GOVERNOR)) && isfinite(wake))
		fprintf(out, " Here a round trip of two wake-ups between the two CPUs takes %s (floor-wake p50)%s.",
			fmt_ns(wake, t, sizeof(t)), vm ? "; on bare metal it is typically a few us" : "");
	if (vm && isfinite(line))
		fprintf(out, " A cache line's round trip between the two CPUs: %s (floor-cacheline p50).",
			fmt_ns(line, t, sizeof(t)));
	if (!with_noise)
		return;
	size_t i, rows = 0, noisy = 0;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		bool has_interval = json_is_object(json_object_get(r, "ci95")); /* -r 6 and up */
		rows += has_interval;
		noisy += has_interval && json_is_true(json_object_get(r, "noisy"));
	}
	if (rows)
		fprintf(out, " In this run %zu of %zu rows are noisy (`~`: 95%% interval reaching more than 5%% from the headline).", noisy, rows);
}

static void warnings_list(const json_t *doc, const json_t *warnings, FILE *out)
{
	if (!json_is_array(warnings))
		return;
	if (!json_array_size(warnings)) {
		fputs("- **Warnings:** none: no virtual machine, steal, powersave governor or load was detected\n", out);
		return;
	}
	fputs("- **Warnings** (also printed on stderr when the run started, steal when it ended):\n", out);
	size_t i, noise_at = SIZE_MAX; /* the noisy rows are told once, after the last warning they follow from */
	json_t *w;
	json_array_foreach(warnings, i, w) {
		const char *s = json_is_string(w) ? json_string_value(w) : "";
		if (starts_with(s, HOST_WARN_STEAL) || starts_with(s, HOST_WARN_LOAD))
			noise_at = i;
	}
	json_array_foreach(warnings, i, w) {
		const char *s = json_is_string(w) ? json_string_value(w) : "";
		fprintf(out, "  - %s.", s);
		warning_effect(doc, s, i == noise_at, out);
		fputs("\n", out);
	}
}

/* --peer: the rows ran between two hosts; this host (above) ran side A, the server side B. */
static void peer_line(const json_t *peer, FILE *out)
{
	if (!json_is_object(peer))
		return;
	const json_t *b = json_object_get(peer, "host"), *a = json_object_get(peer, "client");
	double ncpu = doc_num(b, "ncpu");
	fprintf(out, "- **Between two hosts:** side A on %s (%s), side B on %s (%s): %s, %.0f CPUs, Linux %s\n",
		doc_str(a, "hostname"), doc_str(a, "address"), doc_str(peer, "hostname"), doc_str(peer, "address"),
		doc_str(b, "cpu_model"), isfinite(ncpu) ? ncpu : 0, doc_str(b, "kernel"));
}

static void host_section(const json_t *doc, FILE *out)
{
	const json_t *host = json_object_get(doc, "host"), *cfg = json_object_get(doc, "config");
	const json_t *run = json_object_get(doc, "run");
	double mem = doc_num(host, "mem_bytes"), ncpu = doc_num(host, "ncpu");
	fputs("## Host and configuration\n\n", out);
	fprintf(out, "- **CPU:** %s, %.0f online, %s; memory %.1f GiB\n", doc_str(host, "cpu_model"),
		isfinite(ncpu) ? ncpu : 0, doc_str(host, "machine"), isfinite(mem) ? mem / (1 << 30) : 0.0);
	fprintf(out, "- **Kernel:** Linux %s\n", doc_str(host, "kernel"));
	peer_line(json_object_get(doc, "peer"), out);
	fprintf(out, "- **Build:** ipcbench %s, git %s, %s build, %s; libzmq %s\n", doc_str(doc, "version"),
		doc_str(host, "git_rev"), doc_str(host, "build_type"), doc_str(host, "compiler"), doc_str(host, "libzmq"));
	fputs("- **IPC limits here:** ", out);
	limits_line(json_object_get(host, "limits"), out);
	fputs("\n", out);
	double reps = doc_num(cfg, "repetitions");
	char d[24], w[24], t[24];
	bool scaled = json_is_true(json_object_get(cfg, "duration_scaled"));
	fprintf(out, "- **Timing:** %.0f repetition%s per case, each a %s%s timed span after %s of warmup%s; "
		     "a row is the median of its repetitions; no single step may block longer than %s\n",
		isfinite(reps) ? reps : 0, reps == 1 ? "" : "s", scaled ? "typically " : "",
		fmt_ns(doc_num(cfg, "duration_s") * 1e9, d, sizeof(d)),
		fmt_ns(doc_num(cfg, "warmup_s") * 1e9, w, sizeof(w)),
		scaled ? " (spans scaled to fit the run's time budget; each row's is in results.json as duration_s)" : "",
		fmt_ns(doc_num(cfg, "timeout_s") * 1e9, t, sizeof(t)));
	const json_t *pin = json_object_get(cfg, "pin");
	if (json_is_array(pin) && json_array_size(pin) == 2)
		fprintf(out, "- **Pinning:** side A on CPU %" JSON_INTEGER_FORMAT ", side B on CPU %" JSON_INTEGER_FORMAT
			     " (pinned before any helper thread exists, so libzmq's I/O threads share their side's CPU)\n",
			json_integer_value(json_array_get(pin, 0)), json_integer_value(json_array_get(pin, 1)));
	else
		fputs("- **Pinning:** none (`--pin none`): the scheduler placed both sides\n", out);
	topology_line(json_object_get(host, "topology"), out);
	quality_line(json_object_get(host, "quality"), out);
	warnings_list(doc, json_object_get(host, "warnings"), out);
	fprintf(out, "- **Verification:** every message's header is checked (lost, duplicate, reordered, corrupt); "
		     "pingpong checks every byte of every echo, stream the payload of %s\n",
		stream_payload_checked(doc));
	const json_t *sizes = json_object_get(cfg, "sizes_bytes");
	if (json_is_array(sizes) && json_array_size(sizes)) {
		fputs("- **Sizes:** ", out);
		size_t i;
		json_t *s;
		json_array_foreach(sizes, i, s) {
			char b[16];
			fprintf(out, "%s%s", i ? ", " : "", format_size((uint64_t)json_integer_value(s), b, sizeof(b)));
		}
		fputs(" bytes (K = 1024), the whole message with its 24-byte header\n", out);
	}
	fprintf(out, "- **Run:** started %s, took %.1f s", doc_str(run, "started_utc"), doc_num(run, "duration_s"));
	if (json_is_integer(json_object_get(run, "interrupted_by_signal")))
		fprintf(out, "; **interrupted by signal %" JSON_INTEGER_FORMAT "**: only the rows finished before it are here",
			json_integer_value(json_object_get(run, "interrupted_by_signal")));
	fputs("\n\n", out);
}

/* The charts whose names start with prefix, each with its caption and the files to re-render it. */
static void charts_section(const struct chart_set *set, const char *prefix, FILE *out)
{
	for (int i = 0; set && i < set->n; i++) {
		const struct chart *c = &set->chart[i];
		if (strncmp(c->name, prefix, strlen(prefix)) != 0)
			continue;
		if (c->rendered)
			fprintf(out, "![%s](%s.png)\n\n", c->caption, c->name);
		else
			fprintf(out, "`%s.png` was not rendered (%s).\n\n", c->name,
				set->gnuplot_missing ? "gnuplot was not found" : "gnuplot failed; see the run's messages");
		fprintf(out, "*%s* Data: [%s.dat](%s.dat), script: [%s.gp](%s.gp).\n\n", c->caption, c->name, c->name,
			c->name, c->name);
	}
}

static int count_rows(const json_t *results, const char *pattern, const char *status)
{
	size_t i;
	json_t *r;
	int n = 0;
	json_array_foreach(results, i, r)
		n += (!pattern || strcmp(doc_str(r, "pattern"), pattern) == 0) && status_is(r, status);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Mechanisms down, sizes across, one figure per cell: the table to paste. */
static void glance_table(const json_t *results, const char *pattern, FILE *out)
{
	double sizes[14];
	int ns = 0;
	const char *mechs[128];
	int nm = 0;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if (strcmp(doc_str(r, "pattern"), pattern) != 0)
			continue;
		double sz = doc_num(r, "size_bytes");
		int k = 0;
		while (k < ns && sizes[k] != sz)
			k++;
		if (k == ns && ns < 14)
			sizes[ns++] = sz;
		const char *m = doc_str(r, "mechanism");
		k = 0;
		while (k < nm && strcmp(mechs[k], m) != 0)
			k++;
		if (k == nm && nm < 128)
			mechs[nm++] = m;
	}
	qsort(sizes, (size_t)ns, sizeof(double), cmp_double);
	bool pingpong = strcmp(pattern, "pingpong") == 0;
	char align[17] = "ll";
	const char *head[16] = { "mechanism", "group" };
	char names[14][16];
	for (int k = 0; k < ns; k++) {
		format_size((uint64_t)sizes[k], names[k], sizeof(names[k]));
		head[k + 2] = names[k];
		align[k + 2] = 'r';
	}
	struct mdtable t;
	md_header(&t, align, head);
	for (int m = 0; m < nm; m++) {
		const json_t *first = NULL;
		json_array_foreach(results, i, r)
			if (!first && strcmp(doc_str(r, "mechanism"), mechs[m]) == 0)
				first = r;
		md_cell(&t, "%s%s", mechs[m], zero_copy_mark(first));
		md_cell(&t, "%s", doc_str(first, "group"));
		for (int k = 0; k < ns; k++) {
			const json_t *hit = NULL;
			json_array_foreach(results, i, r)
				if (!hit && !doc_is_variant(r) && strcmp(doc_str(r, "pattern"), pattern) == 0 &&
				    strcmp(doc_str(r, "mechanism"), mechs[m]) == 0 && doc_num(r, "size_bytes") == sizes[k])
					hit = r;
			char v[24] = "";
			if (hit && status_is(hit, "ok"))
				pingpong ? fmt_rtt(hit, "p50", v, sizeof(v)) : fmt_mbps(doc_num(hit, "bytes_per_s"), v, sizeof(v));
			else if (hit)
				snprintf(v, sizeof(v), "%s", status_is(hit, "failed") ? "**failed**" : "n/a");
			md_cell(&t, "%s%s", hit && status_is(hit, "ok") ? noisy_mark(hit) : "", v);
		}
	}
	md_print(&t, out);
	fputs("\n", out);
}

#define TARGETS_NOISY_NAMED 8 /* noisy rows named in the header; the tables mark them all */

/* How many rows met their sample and confidence targets, and which are noisy. */
static void targets_line(const json_t *results, FILE *out)
{
	int ok = 0, pp = 0, backed = 0, with_ci = 0, noisy = 0;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if (!status_is(r, "ok"))
			continue;
		ok++;
		const json_t *rtt = json_object_get(r, "rtt_ns");
		pp += rtt != NULL;
		backed += rtt && isfinite(doc_num(rtt, "p999"));
		with_ci += json_is_object(json_object_get(r, "ci95"));
		noisy += json_is_true(json_object_get(r, "noisy"));
	}
	if (!ok)
		return;
	fprintf(out, "**Targets:** %d of %d pingpong rows have the 10,000 round trips that back a p99.9; "
		"%d of %d rows have a 95%% interval (it needs 6 repetitions), and %d of those are within +-5%% "
		"of their headline figure.", backed, pp, with_ci, ok, with_ci - noisy);
	if (noisy) {
		fputs(" Noisy (`~`):", out);
		int shown = 0;
		json_array_foreach(results, i, r)
			if (json_is_true(json_object_get(r, "noisy")) && shown < TARGETS_NOISY_NAMED) {
				char s[16];
				fprintf(out, "%s %s %s %s", shown++ ? "," : "", doc_str(r, "mechanism"), doc_str(r, "pattern"),
					size_of(r, s, sizeof(s)));
				if (json_object_get(r, "pairs")) /* a variant shares the three with its plain row */
					fprintf(out, " (%.0f pairs)", doc_num(r, "pairs"));
				if (json_object_get(r, "rate"))
					fprintf(out, " (at %.0f/s)", doc_num(json_object_get(r, "rate"), "target_per_s"));
			}
		if (noisy > shown)
			fprintf(out, " and %d more, marked `~` in the tables", noisy - shown);
		fputs(".", out);
	}
	fputs("\n\n", out);
}

#define PASSED_NAMED 8 /* rows past their floor named in the header */

/*
 * Whether a row reads past its floor even at the far end of its own 95%
 * interval: an RTT below the floor's, a bandwidth above it.
 */
static bool past_floor(const json_t *r)
{
	double ratio = doc_num(r, "floor_ratio");
	const json_t *ci = json_object_get(r, "ci95");
	if (!isfinite(ratio) || !ci)
		return false;
	if (!strcmp(doc_str(r, "floor"), "xcopy")) {
		double bps = doc_num(r, "bytes_per_s");
		return bps > 0 && ratio * doc_num(ci, "low") / bps > 1;
	}
	double p50 = doc_num(json_object_get(r, "rtt_ns"), "p50");
	return p50 > 0 && ratio * doc_num(ci, "high") / p50 < 1;
}

/* The floor row whose best reading is furthest from its own median: how far the floors moved in this run. */
static const json_t *floor_widest(const json_t *results, double *spread)
{
	const json_t *widest = NULL;
	size_t i;
	json_t *r;
	*spread = 1;
	json_array_foreach(results, i, r) {
		double best_rtt = doc_num(r, "best_rtt_ns_p50"), best_bw = doc_num(r, "best_bytes_per_s");
		double p50 = doc_num(json_object_get(r, "rtt_ns"), "p50"), bw = doc_num(r, "bytes_per_s");
		double x = best_rtt > 0 && p50 > 0 ? p50 / best_rtt : best_bw > 0 && bw > 0 ? best_bw / bw : 1;
		if (x > *spread) {
			*spread = x;
			widest = r;
		}
	}
	return widest;
}

/*
 * Rows that read past their floor beyond their own interval, named: a floor
 * bounds what its kind of row can do between these CPUs, so such a ratio says
 * the floor was read in a slower moment of the host than the row, or that the
 * floor does not bound that row. Either way it is not a row faster than the
 * hardware, and the reader is told so instead of finding it in the tables.
 */
static void floors_passed_line(const json_t *results, FILE *out)
{
	int passed = 0;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		passed += status_is(r, "ok") && past_floor(r);
	if (!passed)
		return;
	fprintf(out, "**Past their floor:** %d row%s read%s past the floor of %s kind even at the far end of %s 95%% "
		     "interval:", passed, passed == 1 ? "" : "s", passed == 1 ? "s" : "", passed == 1 ? "its" : "their",
		passed == 1 ? "its" : "their");
	int shown = 0;
	json_array_foreach(results, i, r)
		if (status_is(r, "ok") && past_floor(r) && shown < PASSED_NAMED) {
			char s[16], x[32];
			fprintf(out, "%s %s %s %s (%s)", shown++ ? "," : "", doc_str(r, "mechanism"), doc_str(r, "pattern"),
				size_of(r, s, sizeof(s)), fmt_floor(r, x, sizeof(x)));
		}
	if (passed > shown)
		fprintf(out, " and %d more", passed - shown);
	double spread;
	const json_t *w = floor_widest(results, &spread);
	fputs(". A floor is read in short probes before each row, and the best so far divides the row", out);
	if (w) {
		char s[16];
		fprintf(out, "; in this run the floors' own readings moved by up to %.2fx (%s %s: its median against its "
			     "best probe)", spread, doc_str(w, "mechanism"), size_of(w, s, sizeof(s)));
	}
	fputs(". Such a ratio means the row met a faster moment of the host than its floor did, or that the floor does "
	      "not bound that row: read it as unknown, not as faster than the hardware.\n\n", out);
}

static void glance_section(const json_t *doc, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	bool pp = count_rows(results, "pingpong", "ok") > 0, st = count_rows(results, "stream", "ok") > 0;
	if (!pp && !st)
		return;
	fputs("## At a glance\n\n", out);
	if (pp) {
		fputs("**p50 round-trip time** (pingpong; one way is half of it), by message size:\n\n", out);
		glance_table(results, "pingpong", out);
	}
	if (st) {
		fputs("**Stream throughput, MB/s** (10^6 bytes/s the receiver got), by message size:\n\n", out);
		glance_table(results, "stream", out);
	}
	fputs("`n/a`: unsupported on this host, see [Rows not measured](#rows-not-measured). `~`: a noisy row, "
	      "whose 95% interval reaches more than 5% from its figure. Percentiles, floor ratios and intervals are "
	      "in the sections below.\n\n", out);
}

/* Two cells: both sides' CPU time per message (or round trip), and cores kept busy. */
static void cpu_cells(struct mdtable *t, const json_t *r)
{
	const json_t *cpu = json_object_get(r, "cpu");
	char a[24], b[24];
	double busy = doc_num(cpu, "cores_busy");
	md_cell(t, "%s", fmt_ns(doc_num(cpu, "per_msg_ns"), a, sizeof(a)));
	if (isfinite(busy))
		snprintf(b, sizeof(b), "%.2f", busy);
	else
		snprintf(b, sizeof(b), "-");
	md_cell(t, "%s", b);
}

static void pingpong_section(const json_t *doc, const struct chart_set *set, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	if (!count_rows(results, "pingpong", "ok"))
		return;
	fputs("## Round-trip latency (pingpong)\n\n"
	      "A sends a message, B echoes it whole; each round trip is timed on its own. "
	      "p50 is the median of the repetitions' p50; the other percentiles come from every round trip "
	      "of every repetition pooled, and `-` marks one the samples cannot back (p99 needs 1,000, "
	      "p99.9 10,000). RTT is the full round trip, not one way; MB/s is 2 x size over the mean RTT. "
	      "`~` marks a noisy row, whose 95% interval reaches more than 5% from the headline.\n\n", out);
	charts_section(set, "latency-", out);
	charts_section(set, "percentiles-", out);
	charts_section(set, "floor-", out);
	static const char *const head[] = { "mechanism", "group", "size", "p50 RTT", "p99 RTT", "p99.9 RTT",
					    "MB/s", "CPU/RTT", "cores busy", "x floor", "ci95" };
	struct mdtable t;
	md_header(&t, "lllrrrrrrrr", head);
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if (strcmp(doc_str(r, "pattern"), "pingpong") || !status_is(r, "ok") || doc_is_variant(r))
			continue;
		char a[24], b[24], c[24], s[16];
		md_cell(&t, "%s%s", doc_str(r, "mechanism"), zero_copy_mark(r));
		md_cell(&t, "%s", doc_str(r, "group"));
		md_cell(&t, "%s", size_of(r, s, sizeof(s)));
		md_cell(&t, "%s%s", noisy_mark(r), fmt_rtt(r, "p50", a, sizeof(a)));
		md_cell(&t, "%s", fmt_rtt(r, "p99", b, sizeof(b)));
		md_cell(&t, "%s", fmt_rtt(r, "p999", c, sizeof(c)));
		md_cell(&t, "%s", fmt_mbps(doc_num(r, "bytes_per_s"), a, sizeof(a)));
		cpu_cells(&t, r);
		md_cell(&t, "%s", fmt_floor(r, b, sizeof(b)));
		md_cell(&t, "%s", fmt_ci(r, doc_num(json_object_get(r, "rtt_ns"), "p50"), c, sizeof(c)));
	}
	md_print(&t, out);
	fputs("\n", out);
}

/* The p50 of a one-way row, or of the plain pingpong row at the same mechanism and size (NAN without). */
static double plain_p50(const json_t *results, const json_t *like, const char *pattern, const char *block)
{
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		if (status_is(r, "ok") && !doc_is_variant(r) && strcmp(doc_str(r, "pattern"), pattern) == 0 &&
		    strcmp(doc_str(r, "mechanism"), doc_str(like, "mechanism")) == 0 &&
		    doc_num(r, "size_bytes") == doc_num(like, "size_bytes"))
			return doc_num(json_object_get(r, block), "p50");
	return NAN;
}

static void oneway_table(const json_t *results, FILE *out)
{
	static const char *const head[] = { "mechanism", "size", "one-way p50", "one-way p99", "pingpong p50 / 2",
					    "one-way / RTT" };
	struct mdtable t;
	md_header(&t, "llrrrr", head);
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if (strcmp(doc_str(r, "pattern"), "oneway") || !status_is(r, "ok"))
			continue;
		char a[24], b[24], c[24], s[16];
		const json_t *ow = json_object_get(r, "oneway_ns");
		double rtt = plain_p50(results, r, "pingpong", "rtt_ns"), one = doc_num(ow, "p50");
		md_cell(&t, "%s", doc_str(r, "mechanism"));
		md_cell(&t, "%s", size_of(r, s, sizeof(s)));
		md_cell(&t, "%s%s", noisy_mark(r), fmt_ns(one, a, sizeof(a)));
		md_cell(&t, "%s", fmt_ns(doc_num(ow, "p99"), b, sizeof(b)));
		md_cell(&t, "%s", fmt_ns(rtt / 2, c, sizeof(c)));
		md_cell(&t, "%s", fmt_ratio(one / rtt, s, sizeof(s)));
	}
	md_print(&t, out);
	fputs("\n", out);
}

/* Pairs side by side, open-loop rates and fanin: rows that carry load, one line each. */
static void load_table(const json_t *results, FILE *out)
{
	static const char *const head[] = { "mechanism", "pattern", "size", "load", "p50 RTT", "p99 RTT", "MB/s",
					    "msgs/s", "fairness / schedule" };
	struct mdtable t;
	md_header(&t, "llllrrrrl", head);
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if ((!doc_is_variant(r) && strcmp(doc_str(r, "pattern"), "fanin")) || !status_is(r, "ok"))
			continue;
		char a[24], b[24], c[24], s[16], load[48], note[160] = "";
		const json_t *rate = json_object_get(r, "rate"), *pp = json_object_get(r, "per_pair");
		if (rate) {
			snprintf(load, sizeof(load), "%.0f/s open loop", doc_num(rate, "target_per_s"));
			const json_t *it = json_object_get(rate, "rtt_intended_ns");
			snprintf(note, sizeof(note), "achieved %.0f/s%s; from the intended send: p50 %s, p99 %s",
				 doc_num(rate, "achieved_per_s"), json_is_true(json_object_get(rate, "missed")) ? " (missed)" : "",
				 fmt_ns(doc_num(it, "p50"), a, sizeof(a)), fmt_ns(doc_num(it, "p99"), b, sizeof(b)));
		} else if (pp) {
			snprintf(load, sizeof(load), "%.0f pairs", doc_num(r, "pairs"));
			const json_t *rt = json_object_get(pp, "msgs_per_s"), *p50 = json_object_get(pp, "rtt_ns_p50");
			snprintf(note, sizeof(note), "one pair %s to %s msgs/s", fmt_count(doc_num(rt, "min"), a, sizeof(a)),
				 fmt_count(doc_num(rt, "max"), b, sizeof(b)));
			if (isfinite(doc_num(p50, "min")))
				snprintf(note + strlen(note), sizeof(note) - strlen(note), "; p50 %s to %s",
					 fmt_ns(doc_num(p50, "min"), a, sizeof(a)), fmt_ns(doc_num(p50, "max"), b, sizeof(b)));
		} else {
			snprintf(load, sizeof(load), "%.0f senders", doc_num(r, "senders"));
		}
		md_cell(&t, "%s", doc_str(r, "mechanism"));
		md_cell(&t, "%s", doc_str(r, "pattern"));
		md_cell(&t, "%s", size_of(r, s, sizeof(s)));
		md_cell(&t, "%s", load);
		bool fanin = !strcmp(doc_str(r, "pattern"), "fanin"); /* its headline is MB/s, the others' p50 RTT */
		md_cell(&t, "%s%s", fanin ? "" : noisy_mark(r), fmt_rtt(r, "p50", a, sizeof(a)));
		md_cell(&t, "%s", fmt_rtt(r, "p99", b, sizeof(b)));
		md_cell(&t, "%s%s", fanin ? noisy_mark(r) : "", fmt_mbps(doc_num(r, "bytes_per_s"), c, sizeof(c)));
		md_cell(&t, "%s", fmt_count(doc_num(r, "msgs_per_s"), s, sizeof(s)));
		md_cell(&t, "%s", note);
	}
	md_print(&t, out);
	fputs("\n", out);
}

static void load_section(const json_t *doc, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	int oneway = count_rows(results, "oneway", "ok"), load = count_rows(results, "fanin", "ok");
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		load += doc_is_variant(r) && status_is(r, "ok");
	if (!oneway && !load)
		return;
	fputs("## One way, and under load\n\n", out);
	if (oneway) {
		fputs("**One way** (`-p oneway`): the pingpong exchange, but B times each message from the clock "
		      "A read as it sent it to the clock B read as it received it (both sides read one "
		      "CLOCK_MONOTONIC on one host), set beside half the pingpong round trip of the same run. "
		      "A ratio above 0.5 means the way there costs more than the way back.\n\n", out);
		oneway_table(results, out);
	}
	if (load) {
		fputs("**Under load**: `--pairs N` runs N pairs side by side over one common window (with two "
		      "CPUs, the pairs share them: every side A on one, every side B on the other), their rates "
		      "added up; `--rate R` sends on a fixed schedule and times each round trip also from its "
		      "intended send, so a stall delays every send due during it (no coordinated omission); "
		      "`-p fanin` streams from several senders into one receiver, each sender's order checked. "
		      "`~` marks a noisy row on its headline figure (p50 RTT; MB/s for fanin).\n\n",
		      out);
		load_table(results, out);
	}
}

static void stream_section(const json_t *doc, const struct chart_set *set, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	if (!count_rows(results, "stream", "ok"))
		return;
	fputs("## Throughput (stream)\n\n"
	      "A sends back to back, B receives and checks; throughput is B's bytes over B's time from first "
	      "to last message. Median of the repetitions, with its 95% interval; `~` marks a noisy row.\n\n", out);
	charts_section(set, "throughput-", out);
	static const char *const head[] = { "mechanism", "group", "size", "MB/s", "msgs/s", "CPU/msg", "cores busy",
					    "x floor", "ci95" };
	struct mdtable t;
	md_header(&t, "lllrrrrrr", head);
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		if (strcmp(doc_str(r, "pattern"), "stream") || !status_is(r, "ok") || doc_is_variant(r))
			continue;
		char a[24], s[16];
		double mps = doc_num(r, "msgs_per_s");
		md_cell(&t, "%s%s", doc_str(r, "mechanism"), zero_copy_mark(r));
		md_cell(&t, "%s", doc_str(r, "group"));
		md_cell(&t, "%s", size_of(r, s, sizeof(s)));
		md_cell(&t, "%s%s", noisy_mark(r), fmt_mbps(doc_num(r, "bytes_per_s"), a, sizeof(a)));
		md_cell(&t, "%s", fmt_count(mps, s, sizeof(s)));
		cpu_cells(&t, r);
		md_cell(&t, "%s", fmt_floor(r, a, sizeof(a)));
		md_cell(&t, "%s", fmt_ci(r, doc_num(r, "bytes_per_s"), a, sizeof(a)));
	}
	md_print(&t, out);
	fputs("\n", out);
}

static void models_section(const json_t *doc, const struct chart_set *set, FILE *out)
{
	const json_t *models = json_object_get(doc, "models");
	if (!json_is_object(models) || json_object_size(models) == 0)
		return;
	fputs("## Processes vs threads\n\n", out);
	report_models_table(models, json_object_get(doc, "results"), out);
	charts_section(set, "spawn", out);
	charts_section(set, "scaling", out);
	report_models_experiments(models, out);
}

static void not_measured_section(const json_t *doc, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	int failed = count_rows(results, NULL, "failed"), unsup = count_rows(results, NULL, "unsupported");
	if (!failed && !unsup)
		return;
	fputs("## Rows not measured\n\n"
	      "A failed row hit an error or a verification failure; an unsupported row is a case this host "
	      "cannot carry (never clamped to a size that fits).\n\n", out);
	static const char *const head[] = { "mechanism", "pattern", "size", "status", "reason" };
	struct mdtable t;
	md_header(&t, "lllll", head);
	for (int pass = 0; pass < 2; pass++) {
		size_t i;
		json_t *r;
		json_array_foreach(results, i, r) {
			if (!status_is(r, pass == 0 ? "failed" : "unsupported"))
				continue;
			char s[16];
			md_cell(&t, "%s", doc_str(r, "mechanism"));
			md_cell(&t, "%s", doc_str(r, "pattern"));
			md_cell(&t, "%s", size_of(r, s, sizeof(s)));
			md_cell(&t, pass == 0 ? "**failed**" : "unsupported");
			md_cell(&t, "%s", doc_str(r, "reason"));
		}
	}
	md_print(&t, out);
	fputs("\n", out);
}

/* An example of RTT and one-way read from this run: the first ok pingpong row. */
static void read_example(const json_t *doc, FILE *out)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		double p50 = doc_num(json_object_get(r, "rtt_ns"), "p50");
		if (!status_is(r, "ok") || !isfinite(p50))
			continue;
		char a[24], b[24], s[16];
		fprintf(out, " Here: %s at %s B has a p50 RTT of %s, so a one-way figure is %s (RTT/2).",
			doc_str(r, "mechanism"), size_of(r, s, sizeof(s)), fmt_ns(p50, a, sizeof(a)),
			fmt_ns(p50 / 2, b, sizeof(b)));
		return;
	}
}

static void reading_section(const json_t *doc, FILE *out)
{
	fputs("## How to read these numbers\n\n"
	      "- **RTT** is the round-trip time: A's clock (`CLOCK_MONOTONIC`) from before its send to after "
	      "B's echo arrived. Latency in this report always means RTT. A one-way figure is RTT/2 and is "
	      "labelled so wherever it is quoted.", out);
	read_example(doc, out);
	fputs("\n"
	      "- **p50, p99, p99.9** are percentiles of the round trips: half of them, 99 in 100 and 999 in "
	      "1000 took at most this long (log-linear histogram, at most 0.4% relative error). p50 is the "
	      "median of the repetitions' p50s; min, p99, p99.9 and max come from all round trips of all "
	      "repetitions pooled. A percentile p is shown only when at least 10 / (1 - p) round trips back it "
	      "(p99: 1,000, p99.9: 10,000), so it is never just the maximum; `-` otherwise, and `samples` in "
	      "results.json says how many there were.\n"
	      "- **MB/s** is 10^6 bytes per second. For stream rows it is what the receiver got; for pingpong "
	      "rows it counts both directions over the sum of the round trips (checking time is not in it).\n"
	      "- **x floor** is the row over the floor of its kind, measured between the same two CPUs in the "
	      "same run (the best reading that floor reached before the row: see results.json's `best_rtt_ns_p50` "
	      "and `best_bytes_per_s`); the word after the ratio names it. `cacheline`: p50 RTT over `floor-cacheline` (one "
	      "64 B cache line bounced between the CPUs by spinning), for pingpong rows of mechanisms that spin "
	      "(shm-spin, and shm, shm-loan and thread-ring, which spin before they sleep). `wake`: p50 RTT over "
	      "`floor-wake` (a 64 B round trip where each side sleeps on a futex until the other wakes it), for "
	      "pingpong rows of mechanisms that sleep (pipes, sockets, mq, shm-sem, thread-mutex, zmq): a "
	      "sleeping row pays for waking a CPU, so near 1x means it costs little more than the wake-up. "
	      "`xcopy`: MB/s over `floor-xcopy` at the same size (B copying out what A has just copied in, "
	      "cache to cache between the CPUs), for stream rows. No mechanism of a kind should beat its floor "
	      "by more than the noise: RTT ratios are at least about 1x, bandwidth ratios at most about 1x; the "
	      "header names the rows that do (Past their floor). "
	      "`floor-memcpy` (one CPU copying, no peer) is shown for reference only. `-` means the row's floor "
	      "was not part of the run.\n"
	      "- **ci95** is a 95% confidence interval for the headline figure (p50 RTT for pingpong, MB/s for "
	      "stream), shown as its half-width: the order statistics of the repetitions' values that cover the "
	      "median with at least 95% probability, whatever their distribution (with 6 repetitions, their "
	      "minimum and maximum, 96.9%). `~` marks a row whose interval reaches more than 5% from the headline "
	      "on either side: a difference from it "
	      "smaller than that is not measurable on this host. `ipcbench compare` tests differences properly.\n"
	      "- **(zero-copy)** marks a row whose receiver checks each message where the mechanism lent it, "
	      "never copying it into a buffer of its own (memfd, memfd-pool, shm-loan): it reads a payload only "
	      "to check it (every one in pingpong, 1 in 64 in stream unless `--verify full`), so it is a separate "
	      "row, not a replacement for the copying ones.\n"
	      "- **Sizes** include the 24-byte header every message carries (magic, length, sequence, checksum); "
	      "K is 1024 bytes.\n\n", out);
}

void report_write(const json_t *doc, const struct chart_set *charts, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	char host[400];
	fputs("# ipcbench results\n\n", out);
	fprintf(out, "Measured on %s with ipcbench %s.", doc_host_line(doc, host, sizeof(host)),
		doc_str(doc, "version"));
	fputs(" Mechanisms: ", out);
	size_t i, shown = 0;
	json_t *r;
	json_array_foreach(results, i, r) {
		const char *name = doc_str(r, "mechanism");
		size_t k = 0;
		while (k < i && strcmp(doc_str(json_array_get(results, k), "mechanism"), name) != 0)
			k++;
		if (k == i)
			fprintf(out, "%s`%s`", shown++ ? ", " : "", name);
	}
	if (!shown)
		fputs("none", out);
	fprintf(out, ". Every message's header and sequence number were checked, and the payload of every pingpong "
		     "echo and of %s in stream and fan-in rows: lost, duplicated, reordered or corrupt messages fail a row.\n\n",
		stream_payload_checked(doc));
	int failed = count_rows(results, NULL, "failed");
	if (failed)
		fprintf(out, "**%d row%s failed**; see [Rows not measured](#rows-not-measured).\n\n", failed,
			failed == 1 ? "" : "s");
	if (charts && charts->gnuplot_missing && charts->n)
		fputs("Charts were not rendered because gnuplot was not found. Install it (`apt-get install "
		      "gnuplot-nox`), then run `ipcbench plot results.json -o .` in this directory.\n\n", out);
	targets_line(results, out);
	floors_passed_line(results, out);
	decide_section(doc, out);
	glance_section(doc, out);
	host_section(doc, out);
	pingpong_section(doc, charts, out);
	stream_section(doc, charts, out);
	load_section(doc, out);
	models_section(doc, charts, out);
	not_measured_section(doc, out);
	fputs("## Reproduce\n\n```sh\n", out);
	report_command(doc, out);
	fputs("\n```\n\nThe figures above are in results.json (every field, schema 1) and results.csv; "
	      "`ipcbench compare results.json NEW.json` sets a later run beside this one.\n\n", out);
	reading_section(doc, out);
}
