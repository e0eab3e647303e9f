/* Writers: JSON is built once from the rows; CSV and Markdown are views of that JSON. */
#include "output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hgrm.h"
#include "host.h"
#include "parse.h"
#include "version.h"

static json_t *jprecise(double v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%.4g", v);
	return isfinite(v) ? json_real(strtod(buf, NULL)) : json_null();
}

/* A measured double as JSON: rounded to a sensible precision; null when not a number. */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(round(v * 100) / 100) : json_null();
}

/* The row's CPU cost: per side and together, per message; switches per message. */
static json_t *cpu_json(const struct row *r)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "a_ns", jnum(r->cpu.a_ns), "b_ns",
			 jnum(r->cpu.b_ns), "per_msg_ns", jnum(r->cpu.per_msg_ns), "cores_busy",
			 json_real(round(r->cpu.cores_busy * 1000) / 1000), "a_vcsw", jprecise(r->cpu.a_vcsw),
			 "a_ivcsw", jprecise(r->cpu.a_ivcsw), "b_vcsw", jprecise(r->cpu.b_vcsw), "b_ivcsw",
			 jprecise(r->cpu.b_ivcsw));
}

/* Pairs side by side: the fastest and the slowest pair's figures. */
static json_t *pairs_json(const struct row *r)
{
	return json_pack("{s:{s:o, s:o}, s:{s:o, s:o}, s:{s:o, s:o}}", "rtt_ns_p50", "min", jnum(r->per_pair.p50_min),
			 "max", jnum(r->per_pair.p50_max), "rtt_ns_p99", "min", jnum(r->per_pair.p99_min), "max",
			 jnum(r->per_pair.p99_max), "msgs_per_s", "min", jnum(r->per_pair.rate_min), "max",
			 jnum(r->per_pair.rate_max));
}

/* An open-loop row: target and achieved rates, and the round trips from their intended send times. */
static json_t *rate_json(const struct row *r)
{
	return json_pack("{s:o, s:o, s:b, s:{s:o, s:o, s:o, s:o, s:o}}", "target_per_s", jnum(r->rate.target_per_s),
			 "achieved_per_s", jnum(r->rate.achieved_per_s), "missed", r->rate.missed, "rtt_intended_ns",
			 "p50", jnum(r->rate.p50), "p90", jnum(r->rate.p90), "p99", jnum(r->rate.p99), "p999",
			 jnum(r->rate.p999), "max", jnum(r->rate.max));
}

json_t *row_json(const struct row *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "mechanism", r->ops->name, "group",
			      r->ops->group, "pattern", pattern_name(r->pattern), "size_bytes",
			      (json_int_t)r->size_bytes, "status", row_status_name(r->status));
	/* what the mechanism declares (--list), so a reader of the row can choose by it */
	json_object_set_new(o, "boundaries", json_boolean(r->ops->flags & TP_BOUNDARIES));
	json_object_set_new(o, "cross_host", json_boolean(r->ops->flags & TP_CROSS_HOST));
	if (r->ops->flags & TP_ZERO_COPY) /* the receiver checks each message where it lies */
		json_object_set_new(o, "zero_copy", json_true());
	if (r->pairs > 1)
		json_object_set_new(o, "pairs", json_integer(r->pairs));
	if (r->placement) {
		json_object_set_new(o, "placement", json_string(r->placement));
		json_object_set_new(o, "cpus", r->cpus[0] < 0 ? json_null() : json_pack("[i, i]", r->cpus[0], r->cpus[1]));
	}
	if (r->status != ROW_OK) {
		json_object_set_new(o, "reason", json_string(r->reason));
		if (r->status == ROW_UNSUPPORTED)
			return o;
	}
	bool oneway = r->pattern == PAT_ONEWAY; /* its latencies are one way, named so */
	if (r->has_rtt && r->status == ROW_OK)
		json_object_set_new(o, oneway ? "oneway_ns" : "rtt_ns",
				    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "min", jnum(r->rtt_ns.min),
					      "p50", jnum(r->rtt_ns.p50), "p90", jnum(r->rtt_ns.p90), "p99",
					      jnum(r->rtt_ns.p99), "p999", jnum(r->rtt_ns.p999), "max",
					      jnum(r->rtt_ns.max), "mean", jnum(r->rtt_ns.mean)));
	if (r->status == ROW_OK) {
		json_object_set_new(o, "msgs_per_s", jnum(r->msgs_per_s));
		json_object_set_new(o, "bytes_per_s", jnum(r->bytes_per_s));
		json_object_set_new(o, "spread_pct", jnum(r->spread_pct));
		json_object_set_new(o, "ci95", isfinite(r->ci95_low) ? json_pack("{s:o, s:o}", "low",
				    jnum(r->ci95_low), "high", jnum(r->ci95_high)) : json_null());
		json_object_set_new(o, "noisy", json_boolean(r->noisy));
		json_t *reps = json_array();
		for (int i = 0; i < r->reps; i++)
			json_array_append_new(reps, jnum(r->rep_headline[i]));
		json_object_set_new(o, oneway ? "reps_oneway_ns_p50" : r->has_rtt ? "reps_rtt_ns_p50" : "reps_bytes_per_s",
				    reps);
		if (r->has_rate)
			json_object_set_new(o, "rate", rate_json(r));
		if (r->pattern == PAT_FANIN)
			json_object_set_new(o, "senders", json_integer(r->senders));
		if (r->pairs > 1)
			json_object_set_new(o, "per_pair", pairs_json(r));
		if (r->errors.lost) /* a mechanism without flow control: what it dropped, against what arrived */
			json_object_set_new(o, "lost_pct", jnum(100.0 * (double)r->errors.lost /
								 (double)(r->errors.lost + r->samples)));
		if (isfinite(r->floor_ratio))
			json_object_set_new(o, "floor_ratio", json_real(round(r->floor_ratio * 1000) / 1000));
		if (isfinite(r->floor_ratio) && r->floor)
			json_object_set_new(o, "floor", json_string(r->floor));
		if (r->has_cpu)
			json_object_set_new(o, "cpu", cpu_json(r));
		if (r->floor_probes) { /* a floor row: the best it reached, with the probes taken before rows */
			json_object_set_new(o, r->has_rtt ? "best_rtt_ns_p50" : "best_bytes_per_s", jnum(r->floor_best));
			json_object_set_new(o, "probes", json_integer(r->floor_probes));
		}
	}
	json_object_set_new(o, "samples", json_integer((json_int_t)r->samples));
	json_object_set_new(o, "duration_s", json_real((double)r->duration_ns / 1e9));
	json_object_set_new(o, "repetitions", json_integer(r->reps));
	json_object_set_new(o, "errors",
			    json_pack("{s:I, s:I, s:I, s:I}", "lost", (json_int_t)r->errors.lost,
				      "duplicate", (json_int_t)r->errors.duplicate, "reordered",
				      (json_int_t)r->errors.reordered, "corrupt", (json_int_t)r->errors.corrupt));
	return o;
}

static json_t *config_json(const struct config *cfg, const struct results *res)
{
	json_t *pin = cfg->cpu[0] < 0 ? json_null() : json_pack("[i, i]", cfg->cpu[0], cfg->cpu[1]);
	json_t *sizes = json_array();
	for (int i = 0; i < cfg->n_sizes; i++)
		json_array_append_new(sizes, json_integer((json_int_t)cfg->sizes[i]));
	return json_pack("{s:f, s:b, s:f, s:f, s:i, s:o, s:b, s:s, s:o, s:b}",
			 "duration_s", (double)res->duration_ns / 1e9, "duration_scaled", cfg->duration_ns == 0,
			 "warmup_s", (double)res->warmup_ns / 1e9,
			 "timeout_s", (double)cfg->timeout_ns / 1e9, "repetitions", cfg->reps, "pin", pin,
			 "verify", 1, "verify_stream_payload", cfg->verify_full ? "every message" : "1 in 64 messages",
			 "sizes_bytes", sizes, "quick", cfg->quick);
}

json_t *results_json(const struct config *cfg, const struct results *res)
{
	char started[32];
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", gmtime(&res->started));
	json_t *argv = json_array();
	for (int i = 0; i < cfg->argc; i++)
		json_array_append_new(argv, json_string(cfg->argv[i]));
	json_t *run = json_pack("{s:s, s:f, s:o}", "started_utc", started, "duration_s",
				round(res->duration_s * 100) / 100, "argv", argv);
	if (res->interrupted)
		json_object_set_new(run, "interrupted_by_signal", json_integer(res->interrupted));
	json_t *rows = json_array();
	for (int i = 0; i < res->n_rows; i++) {
		json_t *o = row_json(&res->rows[i]);
		if ((cfg->histograms || cfg->out_dir) && res->rows[i].pooled && res->rows[i].status == ROW_OK)
			json_object_set_new(o, "histogram", hgrm_buckets_json(res->rows[i].pooled));
		json_array_append_new(rows, o);
	}
	json_t *doc = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:O}", "tool", "ipcbench", "version",
				IPCBENCH_VERSION, "schema", 1, "run", run, "host", host_json(cfg->cpu), "config",
				config_json(cfg, res), "results", rows, "models", res->models);
	if (doc && cfg->peer_record) /* --peer: side B's host, beside this one (side A's) */
		json_object_set(doc, "peer", cfg->peer_record);
	return doc;
}

/* --- CSV: the result objects flattened, keys joined by '_' --- */

#define CSV_MAX_COLS 64

struct csv_cols {
	char name[CSV_MAX_COLS][48];
	int n;
};

static void csv_collect(struct csv_cols *cols, const char *prefix, const json_t *obj)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		char name[48];
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "_" : "", key);
		if (json_is_object(v)) {
			csv_collect(cols, name, v);
			continue;
		}
		if (json_is_array(v))
			continue; /* per-repetition lists stay in the JSON */
		int i = 0;
		while (i < cols->n && strcmp(cols->name[i], name) != 0)
			i++;
		if (i == cols->n && cols->n < CSV_MAX_COLS)
			snprintf(cols->name[cols->n++], sizeof(cols->name[0]), "%s", name);
	}
}

/* The value at a flattened path, e.g. rtt_ns_p50 -> obj.rtt_ns.p50. */
static const json_t *csv_lookup(const json_t *obj, const char *name)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		size_t k = strlen(key);
		if (strncmp(name, key, k) != 0)
			continue;
		if (name[k] == '\0')
			return v;
		if (name[k] == '_' && json_is_object(v)) {
			const json_t *found = csv_lookup(v, name + k + 1);
			if (found)
				return found;
		}
	}
	return NULL;
}

static void csv_cell(const json_t *v, FILE *out)
{
	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		fputc('"', out);
		for (const char *p = json_string_value(v); *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
	} else if (json_is_integer(v)) {
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		fprintf(out, "%.10g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "true" : "false", out);
	}
}

int write_csv(const json_t *doc, FILE *out)
{
	const json_t *results = json_object_get(doc, "results");
	struct csv_cols cols = { .n = 0 };
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
		csv_collect(&cols, "", r);
	for (int c = 0; c < cols.n; c++)
		fprintf(out, "%s%s", c ? "," : "", cols.name[c]);
	fputc('\n', out);
	json_array_foreach(results, i, r) {
		for (int c = 0; c < cols.n; c++) {
			if (c)
				fputc(',', out);
			csv_cell(csv_lookup(r, cols.name[c]), out);
		}
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}

/* --- the aligned table --- */

void table_header(FILE *out)
{
	fprintf(out, "%-15s %-8s %6s %-6s %10s %9s %9s %11s %8s %9s %7s %15s\n", "mechanism", "pattern", "size",
		"status", "p50 rtt", "p99 rtt", "p99.9", "MB/s", "msgs/s", "cpu/msg", "ci95 +-", "x floor");
	fflush(out);
}

/* The 95% interval's half-width as a share of the headline: "2.1%", or "-" without one. */
static const char *fmt_ci(double low, double high, double head, char *buf, size_t len)
{
	double pct = 100 * (high - low) / 2 / head;
	if (isfinite(low) && isfinite(high) && head > 0)
		snprintf(buf, len, pct < 1000 ? "%.1f%%" : ">999%%", pct);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* A headline figure, "~"-marked when its row is noisy. */
static const char *fmt_headline(const char *figure, bool noisy, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", noisy ? "~" : "", figure);
	return buf;
}

/* A row over its floor, "1.45x wake", or "-" without one (results from before floor kinds: "1.45x"). */
static const char *fmt_floor(double ratio, const char *floor, char *buf, size_t len)
{
	if (!isfinite(ratio))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, ratio >= 100 ? "%.0fx%s%s" : ratio >= 10 ? "%.1fx%s%s" : ratio >= 0.1 ? "%.2fx%s%s"
			 : "%.2gx%s%s", ratio, floor ? " " : "", floor ? floor : "");
	return buf;
}

void table_row(const struct row *r, FILE *out)
{
	char size[16], a[24], head[32], b[24], c[24], ci[16], flr[40], mbps[24], cpu[24];
	format_size(r->size_bytes, size, sizeof(size));
	fprintf(out, "%-15s %-8s %6s %-6s ", r->ops->name, pattern_name(r->pattern), size,
		r->status == ROW_OK ? "ok" : r->status == ROW_FAILED ? "FAILED" : "unsup");
	if (r->status != ROW_OK) {
		fprintf(out, "%s\n", r->reason);
		fflush(out);
		return;
	}
	fmt_ci(r->ci95_low, r->ci95_high, row_headline(r), ci, sizeof(ci));
	fmt_floor(r->floor_ratio, r->floor, flr, sizeof(flr));
	snprintf(mbps, sizeof(mbps), isfinite(r->bytes_per_s) ? "%.1f" : "-", r->bytes_per_s / 1e6);
	if (r->has_rtt)
		fprintf(out, "%10s %9s %9s %11s ", fmt_headline(fmt_ns(r->rtt_ns.p50, a, sizeof(a)), r->noisy, head,
			sizeof(head)), fmt_ns(r->rtt_ns.p99, b, sizeof(b)), fmt_ns(r->rtt_ns.p999, c, sizeof(c)), mbps);
	else
		fprintf(out, "%10s %9s %9s %11s ", "-", "-", "-", fmt_headline(mbps, r->noisy, head, sizeof(head)));
	fmt_ns(r->has_cpu ? r->cpu.per_msg_ns : NAN, cpu, sizeof(cpu));
	char mps[16];
	snprintf(mps, sizeof(mps), isfinite(r->msgs_per_s) ? "%.3g" : "-", r->msgs_per_s);
	fprintf(out, "%8s %9s %7s %15s\n", mps, cpu, ci, flr);
	if (r->errors.lost)
		fprintf(out, "%-38s lost %llu messages (%.2f%% of those timed): no flow control; MB/s counts what "
			"arrived\n", "", (unsigned long long)r->errors.lost,
			100.0 * (double)r->errors.lost / (double)(r->errors.lost + r->samples));
	if (r->has_rate)
		fprintf(out, "%-38s at %.0f/s (achieved %.0f/s%s), from the intended send: p50 %s, p99 %s, p99.9 %s\n",
			"", r->rate.target_per_s, r->rate.achieved_per_s, r->rate.missed ? ", TARGET MISSED" : "",
			fmt_ns(r->rate.p50, a, sizeof(a)), fmt_ns(r->rate.p99, b, sizeof(b)),
			fmt_ns(r->rate.p999, c, sizeof(c)));
	fflush(out);
}

void table_footer(const struct results *res, FILE *out)
{
	int unbacked = 0, noisy = 0;
	for (int i = 0; i < res->n_rows; i++) {
		const struct row *r = &res->rows[i];
		unbacked += r->status == ROW_OK && r->has_rtt && !isfinite(r->rtt_ns.p999);
		noisy += r->status == ROW_OK && r->noisy;
	}
	if (unbacked)
		fprintf(out, "-: too few round trips for that percentile (p99 needs 1,000, p99.9 10,000 pooled); "
			"--budget 10m gives rows more time\n");
	if (noisy)
		fprintf(out, "~: noisy, the 95%% interval of the headline reaches more than 5%% from it\n");
	for (int i = 0; i < res->n_rows; i++)
		if (res->rows[i].pattern == PAT_ONEWAY && res->rows[i].status == ROW_OK) {
			fprintf(out, "oneway: the latency columns are one way, from A's send to B's receive, not RTT\n");
			break;
		}
}

/* --- Markdown --- */

static double jget(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

void write_markdown(const json_t *doc, FILE *out)
{
	fputs("| mechanism | pattern | size | status | p50 RTT | p99 RTT | p99.9 RTT | MB/s | ci95 +- | x floor |\n"
	      "|---|---|--:|---|--:|--:|--:|--:|--:|--:|\n", out);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		char size[16], a[24] = "-", b[24] = "-", c[24] = "-", ci[16], mbps[24];
		format_size((uint64_t)json_integer_value(json_object_get(r, "size_bytes")), size, sizeof(size));
		const char *status = json_string_value(json_object_get(r, "status"));
		fprintf(out, "| %s | %s | %s | %s |", json_string_value(json_object_get(r, "mechanism")),
			json_string_value(json_object_get(r, "pattern")), size, status);
		if (strcmp(status, "ok") != 0) {
			fprintf(out, " %s | | | | | |\n", json_string_value(json_object_get(r, "reason")));
			continue;
		}
		bool pingpong = json_is_object(json_object_get(r, "rtt_ns"));
		const char *noisy = json_is_true(json_object_get(r, "noisy")) ? "~" : "";
		double head = pingpong ? jget(r, "rtt_ns", "p50") : jget(r, "bytes_per_s", NULL);
		if (pingpong) {
			fmt_ns(jget(r, "rtt_ns", "p50"), a, sizeof(a));
			fmt_ns(jget(r, "rtt_ns", "p99"), b, sizeof(b));
			fmt_ns(jget(r, "rtt_ns", "p999"), c, sizeof(c));
		}
		snprintf(mbps, sizeof(mbps), "%s%.1f", pingpong ? "" : noisy, jget(r, "bytes_per_s", NULL) / 1e6);
		fmt_ci(jget(r, "ci95", "low"), jget(r, "ci95", "high"), head, ci, sizeof(ci));
		double flr = jget(r, "floor_ratio", NULL);
		fprintf(out, " %s%s | %s | %s | %s | %s |", pingpong ? noisy : "", a, b, c, mbps, ci);
		char fl[40];
		fprintf(out, " %s |\n", fmt_floor(flr, json_string_value(json_object_get(r, "floor")), fl, sizeof(fl)));
	}
}
