/* ipcbench: measure Linux IPC mechanisms the same fair way, and processes against threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "host.h"
#include "peer/peer.h"
#include "registry.h"
#include "results/bundle.h"
#include "results/compare.h"
#include "results/hgrm.h"
#include "results/model_table.h"
#include "results/output.h"
#include "ipc/sys_inline.h"

/* A closed stdin/stdout/stderr would hand fd 0-2 to a mechanism; keep them taken. */
static void hold_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			exit(2);
}

static void yes_no(FILE *out, bool v)
{
	fprintf(out, " %-5s", v ? "yes" : "no");
}

static void print_list(FILE *out)
{
	fprintf(out, "%-15s %-8s %-5s %-6s %-14s %-5s %-5s %s\n", "mechanism", "group", "bound", "copies",
		"max msg here", "hosts", "fs", "what");
	for (int i = 0; transport_registry[i]; i++) {
		const struct transport_ops *t = transport_registry[i];
		char max[64] = "unlimited";
		struct tp_err why = { { 0 } };
		size_t m = t->max_msg ? t->max_msg(&why) : SIZE_MAX;
		if (t->fixed_size)
			snprintf(max, sizeof(max), "%zu B only", t->fixed_size);
		else if (m != SIZE_MAX)
			snprintf(max, sizeof(max), "%zu B", m);
		fprintf(out, "%-15s %-8s", t->name, t->group);
		yes_no(out, t->flags & TP_BOUNDARIES);
		if (t->flags & TP_ZERO_COPY) /* the receiver checks each message where it lies */
			fprintf(out, " %-6s %-14s", "0 zc", max);
		else
			fprintf(out, " %-6d %-14s", t->copies, max);
		yes_no(out, t->flags & TP_CROSS_HOST);
		yes_no(out, t->flags & TP_FS_NAME);
		fprintf(out, " %s\n", t->summary);
	}
	if (model_registry[0])
		fprintf(out, "\n%-15s %-8s %s\n", "experiment", "group", "what");
	for (int i = 0; model_registry[i]; i++)
		fprintf(out, "%-15s %-8s %s\n", model_registry[i]->name, "model", model_registry[i]->summary);
	fputs("\nbound: one send arrives as one receive; copies: of the payload per message (zc: zero-copy,\n"
	      "the receiver checks each message where it lies, in a separate row);\n"
	      "hosts: works between hosts; fs: needs a filesystem name.\n", out);
}

/* The table as rows arrive: a line names each placement of a --placement sweep. */
struct table_sink {
	FILE *out;
	const char *placement;
};

static void sink_table(const struct row *r, void *ctx)
{
	struct table_sink *t = ctx;
	if (r->placement && r->placement != t->placement) {
		if (r->cpus[0] >= 0)
			fprintf(t->out, "-- placement %s: CPUs %d and %d --\n", r->placement, r->cpus[0], r->cpus[1]);
		else
			fprintf(t->out, "-- placement %s --\n", r->placement);
		t->placement = r->placement;
	}
	table_row(r, t->out);
}

static void print_models(const struct config *cfg, const json_t *doc, FILE *out)
{
	const json_t *models = json_object_get(doc, "models");
	for (int i = 0; i < cfg->n_models; i++) {
		const json_t *m = json_object_get(models, cfg->models[i]->name);
		const json_t *status = json_object_get(m, "status");
		fprintf(out, "\n== %s ==\n", cfg->models[i]->name);
		if (json_is_string(status) && strcmp(json_string_value(status), "failed") == 0)
			fprintf(out, "failed: %s\n", json_string_value(json_object_get(m, "reason")));
		else
			cfg->models[i]->print(m, out);
	}
	if (cfg->n_models > 1)
		model_table_print(models, json_object_get(doc, "results"), out);
}

/* Results on stdout in the chosen format. */
static void print_results(const struct config *cfg, const struct results *res, const json_t *doc)
{
	switch (cfg->format) {
	case OUT_JSON: {
		json_t *shown = cfg->histograms ? json_incref((json_t *)doc) : json_deep_copy(doc);
		if (!cfg->histograms)
			hgrm_strip(shown); /* the bundle's results.json keeps them, for its .hgrm files */
		json_dumpf(shown, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		fputc('\n', stdout);
		json_decref(shown);
		break;
	}
	case OUT_CSV:
		write_csv(doc, stdout);
		break;
	case OUT_MARKDOWN:
		write_markdown(doc, stdout);
		break;
	case OUT_TABLE:
		table_footer(res, stdout); /* rows were printed as they came */
		print_models(cfg, doc, stdout);
		break;
	}
	fflush(stdout);
}

static int any_failed(const struct results *res)
{
	for (int i = 0; i < res->n_rows; i++)
		if (res->rows[i].status == ROW_FAILED)
			return 1;
	const char *key;
	json_t *m;
	json_object_foreach(res->models, key, m) {
		const json_t *st = json_object_get(m, "status");
		if (json_is_string(st) && strcmp(json_string_value(st), "failed") == 0)
			return 1;
	}
	return 0;
}

static int run(const struct config *cfg)
{
	runner_install_signals();
	host_quality_begin(cfg->cpu, cfg->quiet ? NULL : stderr); /* what about this host makes figures worse */
	if (cfg->format == OUT_TABLE && cfg->between)
		printf("-- %s --\n", cfg->between);
	if (cfg->format == OUT_TABLE && cfg->n_mechs)
		table_header(stdout);
	struct results res;
	struct table_sink sink = { .out = stdout };
	if (bench_run(cfg, &res, cfg->format == OUT_TABLE ? sink_table : NULL, &sink)) {
		fprintf(stderr, "ipcbench: out of memory\n");
		return 1;
	}
	host_quality_end(cfg->quiet ? NULL : stderr);
	json_t *doc = results_json(cfg, &res);
	print_results(cfg, &res, doc);
	int rc = any_failed(&res);
	if (cfg->out_dir && bundle_write(cfg->out_dir, doc, cfg->quiet) != 0)
		rc = 1;
	if (res.interrupted)
		rc = 128 + res.interrupted;
	json_decref(doc);
	results_free(&res);
	return rc;
}

/* --peer: the session with the server lasts the run; refused or unreachable is exit status 2. */
static int run_with_peer(struct config *cfg)
{
	struct peer_session s;
	int rc = peer_connect(cfg->peer, cfg->key_file, cfg->timeout_ns, cfg->pin_given, &s);
	if (rc)
		return rc;
	cfg->link = s.link;
	cfg->peer_record = s.record;
	cfg->between = s.between;
	if (!cfg->quiet)
		fprintf(stderr, "ipcbench: running %s\n", s.between);
	rc = run(cfg);
	peer_disconnect(&s);
	json_decref(s.record);
	return rc;
}

int main(int argc, char **argv)
{
	hold_std_fds();
	if (sys_inline_init()) {
		fprintf(stderr, "ipcbench: IPCBENCH_SYSCALLS is '%s'; it takes 'inline' (the default) or 'libc' "
				"(every per-message system call through the C library, for an interposer)\n",
			getenv("IPCBENCH_SYSCALLS"));
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "plot") == 0)
		return bundle_plot_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "compare") == 0)
		return compare_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	struct config cfg;
	int rc = cli_parse(argc, argv, &cfg);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (cfg.list) {
		print_list(stdout);
		return 0;
	}
	return cfg.peer ? run_with_peer(&cfg) : run(&cfg);
}
