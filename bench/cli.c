/* The command line: every flag checked, every error one line naming the flag and the accepted form. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"
#include "registry.h"
#include "topology.h"
#include "version.h"

static const uint64_t default_sizes[] = { 64, 512, 4096, 32768, 262144, 1048576 };
static const uint64_t quick_sizes[] = { 64, 4096, 65536 };

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("ipcbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static void print_help(void)
{
	fputs(
"usage: ipcbench --all [-o DIR]              every mechanism x pattern x size, and the model suite\n"
"       ipcbench -m LIST [-p LIST] [-s LIST] [options]\n"
"       ipcbench --list                      the catalog, with properties on this host\n"
"       ipcbench plot RESULTS.json -o DIR    charts again from saved results\n"
"       ipcbench compare BASE.json NEW.json  side by side with ratios\n"
"       ipcbench serve [--listen ADDR[:PORT]] [--key FILE] [--once]   side B for --peer clients\n"
"\n"
"what to run:\n"
"  -a, --all            every mechanism and every model experiment\n"
"  -m, --mechanisms L   comma-separated names from --list (mechanisms and experiments)\n"
"  -p, --patterns L     pingpong,stream (default both), oneway (B times each message from A's\n"
"                       send), fanin (--senders M into one receiver)\n"
"  -s, --sizes L        message sizes, header included: 64,4K,1M (1024-based; default\n"
"                       64,512,4K,32K,256K,1M; with --quick 64,4K,64K)\n"
"  -q, --quick          small sizes, short durations: a smoke run in seconds\n"
"how to measure:\n"
"  -d, --duration T     timed span per case and repetition: 0.5, 500ms, 2s (default: sized\n"
"                       by what each row needs, so --all takes about a minute, --quick ten s)\n"
"      --budget T       the whole run's time instead: 90s, 10m, 1h; rows take what they\n"
"                       need for p99.9 (10,000 round trips) up to their share of it\n"
"  -w, --warmup T       untimed warmup before each timed span (default: a quarter of it)\n"
"  -r, --reps N         repetitions per case, 1..1000 (default 6, the fewest that give a 95%\n"
"                       interval for the median; 3 with --quick); rows show their median\n"
"  -t, --timeout T      longest a single send, receive or attach may block (default 3s)\n"
"      --pin A,B        CPUs of the two sides (default: two cores that share the last-level\n"
"                       cache, else two cores, else the first two this process may use);\n"
"                       --pin none leaves them to the scheduler\n"
"      --rate R         pingpong as an open-loop sender at R round trips per second, each\n"
"                       timed from its intended send too (no coordinated omission); sweep:\n"
"                       steps up to the closed loop's rate and past it\n"
"      --senders M      fanin: M senders into one receiver (default 4)\n"
"      --pairs N        N independent pairs side by side over one common window; rows add\n"
"                       their rates up and show the fastest and slowest pair\n"
"      --placement L    run each case once per placement of the two sides: same-cpu,\n"
"                       smt-sibling, same-llc, cross-llc, cross-node (those this host lacks\n"
"                       are reported unsupported, with why)\n"
"      --verify MODE    stream payload checks: sampled (1 in 64, default) or full\n"
"between two hosts:\n"
"      --peer H[:PORT]  side B on `ipcbench serve` at H (port 7650 by default); -m tcp, zmq-tcp,\n"
"                       udp; pingpong and stream; the results hold both hosts' records\n"
"      --key FILE       the key file the server was started with (its --key)\n"
"output:\n"
"      --json, --csv, --markdown   results on stdout in that format (default: a table)\n"
"      --histograms     with --json: each latency row's merged histogram (bucket counts); -o's\n"
"                       results.json always has them, and hgrm/*.hgrm (HdrHistogram's format)\n"
"  -o, --output DIR     also write results.json, results.csv, report.md and charts to DIR\n"
"      --force          write into a non-empty DIR that is not an ipcbench bundle\n"
"      --quiet          no progress on stderr\n"
"  -l, --list           list mechanisms and experiments with their properties, and exit\n"
"  -h, --help           this text;  -V, --version  the version\n"
"\n"
"exit status: 0 all rows ok or unsupported, 1 a row failed, 2 bad input, 130/143 interrupted\n",
		stdout);
}

/* The placements --placement accepts, in the order of distance between the two CPUs. */
static const char *const placement_names[] = { "same-cpu", "smt-sibling", "same-llc", "cross-llc", "cross-node" };

static int parse_placements(const char *arg, struct config *cfg)
{
	char buf[256];
	char *items[MAX_PLACEMENTS + 1];
	snprintf(buf, sizeof(buf), "%s", arg);
	int n = strlen(arg) < sizeof(buf) ? parse_list(buf, items, MAX_PLACEMENTS + 1) : -EINVAL;
	if (n <= 0 || n > MAX_PLACEMENTS)
		return usage_error("--placement: '%s' is not a list of placements; use e.g. --placement "
				   "same-cpu,same-llc (names: same-cpu, smt-sibling, same-llc, cross-llc, cross-node)", arg);
	cfg->n_placements = 0;
	for (int i = 0; i < n; i++) {
		const char *known = NULL;
		for (size_t k = 0; k < sizeof(placement_names) / sizeof(*placement_names); k++)
			if (strcmp(items[i], placement_names[k]) == 0)
				known = placement_names[k];
		if (!known)
			return usage_error("--placement: unknown placement '%s'; use same-cpu, smt-sibling, same-llc, "
					   "cross-llc or cross-node", items[i]);
		for (int j = 0; j < cfg->n_placements; j++)
			if (cfg->placements[j] == known)
				return usage_error("--placement: '%s' is given twice", items[i]);
		cfg->placements[cfg->n_placements++] = known;
	}
	return 0;
}

static int parse_pin(const char *arg, struct config *cfg)
{
	cfg->pin_given = true;
	if (strcmp(arg, "none") == 0) {
		cfg->cpu[0] = cfg->cpu[1] = -1;
		return 0;
	}
	char buf[64];
	char *items[3];
	snprintf(buf, sizeof(buf), "%s", arg);
	int n = strlen(arg) < sizeof(buf) ? parse_list(buf, items, 3) : -EINVAL;
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	for (int i = 0; n == 2 && i < 2; i++) {
		long cpu;
		if (parse_uint(items[i], 0, CPU_SETSIZE - 1, &cpu) || !CPU_ISSET(cpu, &set))
			return usage_error("--pin: CPU '%s' does not exist or is not allowed here; use two "
					   "CPUs from 0..%d, e.g. --pin 0,1, or --pin none", items[i],
					   (int)sysconf(_SC_NPROCESSORS_ONLN) - 1);
		cfg->cpu[i] = (int)cpu;
	}
	if (n != 2)
		return usage_error("--pin: '%s' is not two CPUs; use --pin A,B (e.g. --pin 0,1) or --pin none", arg);
	return 0;
}

static int parse_sizes(const char *arg, struct config *cfg)
{
	char *buf = strdup(arg);
	char *items[MAX_SIZES];
	int n = buf ? parse_list(buf, items, MAX_SIZES) : -ENOMEM;
	int rc = 0;
	if (n < 0)
		rc = usage_error("-s: '%s' is not a list of sizes; use e.g. -s 64,4K,1M (at most %d, no empty items)",
				 arg, MAX_SIZES);
	for (int i = 0; rc == 0 && i < n; i++)
		if (parse_size(items[i], &cfg->sizes[i]))
			rc = usage_error("-s: '%s' is not a size from 1 to 1G; use a whole number of bytes "
					 "with an optional K, M or G suffix (64, 4K, 1M)", items[i]);
	cfg->n_sizes = rc ? 0 : n;
	free(buf);
	return rc;
}

/* A name is a mechanism or an experiment; "all" is every one of both. */
static int parse_mechanisms(const char *arg, struct config *cfg)
{
	char *buf = strdup(arg);
	char *items[MAX_MECHS];
	int n = buf ? parse_list(buf, items, MAX_MECHS) : -ENOMEM;
	int rc = 0;
	if (n < 0)
		rc = usage_error("-m: '%s' is not a list of names; use e.g. -m pipe,tcp (see ipcbench --list)", arg);
	for (int i = 0; rc == 0 && i < n; i++) {
		const struct transport_ops *t = transport_find(items[i]);
		const struct model_ops *m = t ? NULL : model_find(items[i]);
		if (!t && !m) {
			rc = usage_error("-m: unknown mechanism '%s'; see ipcbench --list for the names", items[i]);
			break;
		}
		/* A name given twice (also across repeated -m) runs once; so the arrays cannot overflow. */
		bool dup = false;
		for (int j = 0; j < cfg->n_mechs; j++)
			dup |= cfg->mechs[j] == t;
		for (int j = 0; j < cfg->n_models; j++)
			dup |= cfg->models[j] == m;
		if (dup)
			continue;
		if (cfg->n_mechs + cfg->n_models >= MAX_MECHS)
			rc = usage_error("-m: more than %d names; use --all to run everything", MAX_MECHS);
		else if (t)
			cfg->mechs[cfg->n_mechs++] = t;
		else
			cfg->models[cfg->n_models++] = m;
	}
	free(buf);
	return rc;
}

static int parse_patterns(const char *arg, struct config *cfg)
{
	char *buf = strdup(arg);
	char *items[8];
	int n = buf ? parse_list(buf, items, 8) : -ENOMEM;
	int rc = n < 0 ? usage_error("-p: '%s' is not a list of patterns; use e.g. pingpong,stream (names: pingpong, "
				     "stream, oneway, fanin)", arg) : 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		int p = 0;
		while (p < PAT_COUNT && strcmp(items[i], pattern_name((enum pattern)p)) != 0)
			p++;
		if (p == PAT_COUNT)
			rc = usage_error("-p: unknown pattern '%s'; use pingpong, stream, oneway or fanin", items[i]);
		else
			cfg->patterns[p] = true;
	}
	free(buf);
	return rc;
}

static int parse_time_flag(const char *flag, const char *arg, int64_t *out)
{
	if (parse_duration(arg, out))
		return usage_error("%s: '%s' is not a duration from 1us to 1h; use seconds (0.5, 2) or "
				   "a suffix (500ms, 250us, 2s)", flag, arg);
	return 0;
}

int cli_check_out_dir(const char *dir, bool force)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT)
			return usage_error("-o: cannot use '%s': %s", dir, strerror(errno));
		if (mkdir(dir, 0755) != 0)
			return usage_error("-o: cannot create directory '%s': %s; give a path whose parent exists "
					   "and is writable", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(sb.st_mode))
		return usage_error("-o: '%s' exists and is not a directory; give a new or empty directory", dir);
	if (access(dir, W_OK | X_OK) != 0)
		return usage_error("-o: directory '%s' is not writable: %s", dir, strerror(errno));
	char marker[4096];
	snprintf(marker, sizeof(marker), "%s/results.json", dir);
	if (force || access(marker, F_OK) == 0)
		return 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	int entries = 0;
	while (d && (e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	if (entries)
		return usage_error("-o: '%s' is not empty and holds no earlier ipcbench results; give a new "
				   "or empty directory, or add --force", dir);
	return 0;
}

static void defaults(struct config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->reps = 6;
	cfg->senders = 4;
	cfg->pairs = 1;
	cfg->timeout_ns = 3 * (int64_t)1000000000;
	cfg->format = OUT_TABLE;
	cfg->argc = argc;
	cfg->argv = argv;
	char why[160];
	topo_default_pair(cfg->cpu, why, sizeof(why)); /* two cores sharing the LLC; one CPU: both sides share it */
}

/* --peer runs what crosses hosts, and says why it runs nothing else. */
static int check_peer(const struct config *cfg)
{
	if (!cfg->peer)
		return cfg->key_file ? usage_error("--key: goes with --peer HOST (or `ipcbench serve --key`)") : 0;
	if (cfg->all || cfg->n_models)
		return usage_error("--peer: runs mechanisms that cross hosts (-m tcp,zmq-tcp,udp), not --all or "
				   "the experiments");
	for (int i = 0; i < cfg->n_mechs; i++)
		if (!(cfg->mechs[i]->flags & TP_CROSS_HOST))
			return usage_error("--peer: %s works on one host only (--list: hosts no); between hosts: "
					   "tcp, zmq-tcp, udp", cfg->mechs[i]->name);
	if (cfg->patterns[PAT_ONEWAY])
		return usage_error("--peer: oneway times each message on two clocks, which two hosts do not "
				   "share; round trips (pingpong) need one clock only");
	if (cfg->patterns[PAT_FANIN])
		return usage_error("--peer: fanin runs its senders on one host; use pingpong or stream");
	if (cfg->pairs > 1 || cfg->n_placements)
		return usage_error("--peer: one pair between the two hosts; no --pairs or --placement");
	return 0;
}

/* What the run does when flags left it open. */
static int complete(struct config *cfg)
{
	if (cfg->all) {
		cfg->n_mechs = cfg->n_models = 0;
		for (int i = 0; transport_registry[i] && i < MAX_MECHS; i++)
			cfg->mechs[cfg->n_mechs++] = transport_registry[i];
		for (int i = 0; model_registry[i] && i < MAX_MECHS; i++)
			cfg->models[cfg->n_models++] = model_registry[i];
	}
	if (cfg->pin_given && cfg->n_placements)
		return usage_error("--pin and --placement: choose one; --placement picks the CPUs of each placement itself");
	int rc = check_peer(cfg);
	if (rc)
		return rc;
	if (!cfg->list && cfg->n_mechs == 0 && cfg->n_models == 0)
		return usage_error("nothing to run: give --all, -m LIST (names from --list), --quick -m LIST "
				   "or --list; see --help");
	if (cfg->quick && !cfg->reps_given)
		cfg->reps = QUICK_REPS; /* a smoke run: no 95% interval (it needs 6), in half the time */
	bool any = false;
	for (int p = 0; p < PAT_COUNT; p++)
		any |= cfg->patterns[p];
	if (!any)
		cfg->patterns[PAT_PINGPONG] = cfg->patterns[PAT_STREAM] = true;
	if (cfg->rate_per_s > 0 || cfg->rate_sweep) {
		if (!cfg->patterns[PAT_PINGPONG])
			return usage_error("--rate: paces pingpong only; add -p pingpong");
		if (cfg->duration_ns == 0 && cfg->rate_per_s > 0 && cfg->rate_per_s < 10)
			return usage_error("--rate: %g/s gives too few round trips without -d; give -d too", cfg->rate_per_s);
	}
	if (cfg->n_sizes == 0) {
		const uint64_t *src = cfg->quick ? quick_sizes : default_sizes;
		size_t n = cfg->quick ? sizeof(quick_sizes) / sizeof(*src) : sizeof(default_sizes) / sizeof(*src);
		memcpy(cfg->sizes, src, n * sizeof(*src));
		cfg->n_sizes = (int)n;
	}
	return 0;
}

enum { OPT_PIN = 256, OPT_JSON, OPT_CSV, OPT_MARKDOWN, OPT_FORCE, OPT_QUIET, OPT_VERIFY, OPT_BUDGET, OPT_PLACEMENT, OPT_RATE, OPT_SENDERS, OPT_PAIRS, OPT_HISTOGRAMS, OPT_PEER, OPT_KEY };

static const struct option long_opts[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "list", no_argument, NULL, 'l' },
	{ "mechanisms", required_argument, NULL, 'm' },
	{ "patterns", required_argument, NULL, 'p' },
	{ "sizes", required_argument, NULL, 's' },
	{ "duration", required_argument, NULL, 'd' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "reps", required_argument, NULL, 'r' },
	{ "timeout", required_argument, NULL, 't' },
	{ "quick", no_argument, NULL, 'q' },
	{ "output", required_argument, NULL, 'o' },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "markdown", no_argument, NULL, OPT_MARKDOWN },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verify", required_argument, NULL, OPT_VERIFY },
	{ "budget", required_argument, NULL, OPT_BUDGET },
	{ "placement", required_argument, NULL, OPT_PLACEMENT },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "senders", required_argument, NULL, OPT_SENDERS },
	{ "pairs", required_argument, NULL, OPT_PAIRS },
	{ "histograms", no_argument, NULL, OPT_HISTOGRAMS },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What each flag's value looks like, for "needs a value" errors. */
static const char *value_form(int opt)
{
	switch (opt) {
	case 'm': return "a comma-separated list of names from --list, e.g. -m pipe,tcp";
	case 'p': return "pingpong, stream or pingpong,stream";
	case 's': return "a list of sizes, e.g. -s 64,4K,1M";
	case 'd': case 'w': case 't': return "a duration, e.g. 0.5, 500ms or 2s";
	case 'r': return "a whole number of repetitions, 1..1000";
	case 'o': return "a directory to write the results bundle to";
	case OPT_PIN: return "two CPUs, e.g. --pin 0,1, or --pin none";
	case OPT_VERIFY: return "sampled or full";
	case OPT_BUDGET: return "a duration, e.g. 90s, 10m or 1h";
	case OPT_PLACEMENT: return "placements, e.g. same-cpu,same-llc";
	case OPT_RATE: return "round trips per second, e.g. 2000, or sweep";
	case OPT_SENDERS: return "a whole number of senders, 2..64";
	case OPT_PAIRS: return "a whole number of pairs, 1..32";
	case OPT_PEER: return "the server's address, HOST or HOST:PORT";
	case OPT_KEY: return "a key file, the one `ipcbench serve --key` was given";
	default: return "a value";
	}
}

static const char *flag_name(int opt, char *buf, size_t len)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == opt) {
			if (opt < 256)
				snprintf(buf, len, "-%c/--%s", opt, o->name);
			else
				snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	snprintf(buf, len, "-%c", opt);
	return buf;
}

static int take_format(struct config *cfg, enum out_format f, bool *set)
{
	if (*set && cfg->format != f)
		return usage_error("--json, --csv and --markdown: choose one output format");
	cfg->format = f;
	*set = true;
	return 0;
}

/* One flag into cfg; 0, 2 on bad input, -1 after help or version. */
static int apply(int opt, const char *arg, struct config *cfg, bool *fmt_set)
{
	long v;
	char name[32];
	switch (opt) {
	case 'a': cfg->all = true; return 0;
	case 'l': cfg->list = true; return 0;
	case 'q': cfg->quick = true; return 0;
	case 'm': return parse_mechanisms(arg, cfg);
	case 'p': return parse_patterns(arg, cfg);
	case 's': return parse_sizes(arg, cfg);
	case 'd': return parse_time_flag("-d/--duration", arg, &cfg->duration_ns);
	case 'w': return parse_time_flag("-w/--warmup", arg, &cfg->warmup_ns);
	case 't': return parse_time_flag("-t/--timeout", arg, &cfg->timeout_ns);
	case 'r':
		if (parse_uint(arg, 1, 1000, &v))
			return usage_error("-r/--reps: '%s' is not a whole number from 1 to 1000", arg);
		cfg->reps = (int)v;
		cfg->reps_given = true;
		return 0;
	case 'o':
		if (!*arg)
			return usage_error("-o/--output: the directory name is empty");
		cfg->out_dir = arg;
		return 0;
	case OPT_PIN: return parse_pin(arg, cfg);
	case OPT_JSON: return take_format(cfg, OUT_JSON, fmt_set);
	case OPT_CSV: return take_format(cfg, OUT_CSV, fmt_set);
	case OPT_MARKDOWN: return take_format(cfg, OUT_MARKDOWN, fmt_set);
	case OPT_FORCE: cfg->force = true; return 0;
	case OPT_QUIET: cfg->quiet = true; return 0;
	case OPT_PLACEMENT: return parse_placements(arg, cfg);
	case OPT_RATE:
		if (strcmp(arg, "sweep") == 0) {
			cfg->rate_sweep = true;
			return 0;
		}
		if (parse_uint(arg, 1, 100000000, &v))
			return usage_error("--rate: '%s' is not a rate; use round trips per second from 1 to 100000000 "
					   "(e.g. --rate 2000) or --rate sweep", arg);
		cfg->rate_per_s = (double)v;
		return 0;
	case OPT_HISTOGRAMS: cfg->histograms = true; return 0;
	case OPT_PEER: cfg->peer = arg; return 0;
	case OPT_KEY: cfg->key_file = arg; return 0;
	case OPT_PAIRS:
		if (parse_uint(arg, 1, 32, &v))
			return usage_error("--pairs: '%s' is not a whole number from 1 to 32", arg);
		cfg->pairs = (int)v;
		return 0;
	case OPT_SENDERS:
		if (parse_uint(arg, 2, 64, &v))
			return usage_error("--senders: '%s' is not a whole number from 2 to 64", arg);
		cfg->senders = (int)v;
		return 0;
	case OPT_BUDGET:
		if (parse_budget(arg, &cfg->budget_ns))
			return usage_error("--budget: '%s' is not a duration from 1s to 24h; use e.g. 90s, 10m or 1h",
					   arg);
		return 0;
	case OPT_VERIFY:
		if (strcmp(arg, "full") && strcmp(arg, "sampled"))
			return usage_error("--verify: '%s' is not a mode; use --verify sampled or --verify full", arg);
		cfg->verify_full = strcmp(arg, "full") == 0;
		return 0;
	case 'h': print_help(); return -1;
	case 'V': printf("ipcbench %s\n", IPCBENCH_VERSION); return -1;
	case ':':
		return usage_error("%s needs a value: %s", flag_name(optopt, name, sizeof(name)),
				   value_form(optopt));
	default:
		return -2; /* unknown: the caller names it */
	}
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	defaults(cfg, argc, argv);
	bool fmt_set = false;
	opterr = 0;
	optind = 0; /* 0, not 1: glibc then also forgets a half-read "-abc" group */
	int opt, rc;
	while ((opt = getopt_long(argc, argv, ":alqm:p:s:d:w:r:t:o:hV", long_opts, NULL)) != -1) {
		rc = apply(opt, optarg, cfg, &fmt_set);
		if (rc == -2) {
			const char *bad = argv[optind - 1];
			if (optopt && optopt < 256)
				return usage_error("unknown option '-%c'; see ipcbench --help", optopt);
			return usage_error("unknown option '%s'; see ipcbench --help", bad);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'; options take the form -m pipe,tcp (see --help)",
				   argv[optind]);
	if ((rc = complete(cfg)))
		return rc;
	if (cfg->out_dir && !cfg->list)
		return cli_check_out_dir(cfg->out_dir, cfg->force);
	return 0;
}
