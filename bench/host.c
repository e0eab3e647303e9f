/* The host block: read at run time, never assumed; and what about the host makes a figure worse. */
#include "host.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "clock.h"
#include "msg.h"
#include "registry.h"
#include "topology.h"
#include "version.h"

#define HOST_STEAL_WARN_PCT 1.0   /* pyperf's threshold too */
#define HOST_LOAD_WARN_PER_CPU 0.5
#define HOST_STEAL_SAMPLE_NS 200000000 /* /proc/stat counts in 10 ms ticks: 0.2 s x 2 CPUs is 40 of them */

int64_t host_read_limit(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long long v;
	int ok = fscanf(f, "%lld", &v) == 1;
	fclose(f);
	return ok && v >= 0 ? (int64_t)v : -1;
}

static void host_cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* A limit as a JSON integer, or null when this kernel does not expose it. */
static json_t *host_limit(const char *path)
{
	int64_t v = host_read_limit(path);
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *host_int_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *host_str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* The first line of a file, without its newline; false when it cannot be read or is empty. */
static bool host_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

/* --- topology of the pinned CPUs --- */

static json_t *host_cpu_list(const cpu_set_t *set)
{
	json_t *a = json_array();
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			json_array_append_new(a, json_integer(c));
	return a;
}

static json_t *host_cache_json(const struct topo_cache *c)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "level", host_int_or_null(c->level), "type",
			 host_str_or_null(c->type), "size_bytes", host_int_or_null(c->size_bytes), "shared_with",
			 c->shared_known ? host_cpu_list(&c->shared_with) : json_null());
}

/* One side's CPU: where it sits and the caches it uses; null when the side is not pinned. */
static json_t *host_cpu_json(int cpu)
{
	struct topo_cpu t;
	if (cpu < 0)
		return json_null();
	topo_read(cpu, &t); /* what it cannot read stays unknown: null below */
	json_t *caches = json_array();
	for (int i = 0; i < t.n_caches; i++)
		json_array_append_new(caches, host_cache_json(&t.caches[i]));
	return json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "cpu", cpu, "core", host_int_or_null(t.core), "package",
			 host_int_or_null(t.package), "smt_siblings",
			 t.siblings_known ? host_cpu_list(&t.siblings) : json_null(), "node",
			 host_int_or_null(t.node), "caches", caches);
}

json_t *host_topology_json(const int cpu[2])
{
	json_t *cpus = json_pack("[o, o]", host_cpu_json(cpu[0]), host_cpu_json(cpu[1]));
	return json_pack("{s:o, s:s}", "cpus", cpus, "relation", topo_relation(cpu[0], cpu[1]));
}

/* --- steal: CPU time the hypervisor gave to others --- */

/* One reading of the "cpu" line of /proc/stat, in clock ticks. */
struct host_stat {
	bool ok;
	uint64_t total, steal;
	int64_t at_ns;
};

/* The readings a run's quality is measured over: from host_quality_begin to host_quality_end. */
static struct {
	bool begun, ended;
	struct host_stat start, end;
	double loadavg; /* 1-minute, at the start; NAN when unreadable */
	double cpu_share_pct[2]; /* of wall time a spinning thread got on each pinned CPU; NAN unmeasured */
	int cpu[2];              /* the pinned CPUs, for the probe at the end */
	double line_rtt_ns[2];   /* a cache line's round trip between them, at the start and the end; NAN unmeasured */
} host_run = { .line_rtt_ns = { NAN, NAN } };

static struct host_stat host_stat_read(void)
{
	struct host_stat s = { .at_ns = now_ns() };
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return s;
	/* user nice system idle iowait irq softirq steal; guest time is already in user and nice */
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		       &v[6], &v[7]);
	fclose(f);
	s.ok = n == 8;
	for (int i = 0; i < 8; i++)
		s.total += v[i];
	s.steal = v[7];
	return s;
}

static double host_loadavg(void)
{
	double l;
	FILE *f = fopen("/proc/loadavg", "re");
	if (!f)
		return NAN;
	int ok = fscanf(f, "%lf", &l) == 1;
	fclose(f);
	return ok ? l : NAN;
}

/* The run's window (begin..end, begin..now, or a short sample now); steal as % of all CPU time, NAN unknown. */
static double host_steal_pct(double *window_s)
{
	struct host_stat a = host_run.start, b = host_run.end;
	if (!host_run.begun)
		a = host_stat_read();
	if (!host_run.ended) {
		int64_t left = a.at_ns + HOST_STEAL_SAMPLE_NS - now_ns();
		if (left > 0)
			nanosleep(&(struct timespec){ .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 }, NULL);
		b = host_stat_read();
	}
	*window_s = (double)(b.at_ns - a.at_ns) / 1e9;
	if (!a.ok || !b.ok || b.total <= a.total || b.steal < a.steal)
		return NAN;
	return 100.0 * (double)(b.steal - a.steal) / (double)(b.total - a.total);
}

/* --- hypervisor --- */

/* A CPUID hypervisor signature as a short name; NULL when it is not one we know. */
static const char *host_hv_name(const char *sig)
{
	static const char *const names[][2] = {
		{ "KVMKVMKVM", "kvm" },       { "Linux KVM Hv", "kvm" },   { "Microsoft Hv", "hyperv" },
		{ "VMwareVMware", "vmware" }, { "XenVMMXenVMM", "xen" },   { "TCGTCGTCGTCG", "qemu" },
		{ "VBoxVBoxVBox", "virtualbox" }, { " lrpepyh  vr", "parallels" }, { "bhyve bhyve ", "bhyve" },
		{ "ACRNACRNACRN", "acrn" },   { "QNXQVMBSQG", "qnx" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(sig, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

/* The hypervisor CPUID names at leaf (0x40000000, or 0x40000100 where KVM sits behind Hyper-V's leaves). */
static bool host_cpuid_sig(unsigned leaf, char sig[13])
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31))) /* the "running under a hypervisor" bit */
		return false;
	__cpuid(leaf, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	return sig[0] != '\0';
#else
	(void)leaf;
	(void)sig;
	return false;
#endif
}

static bool host_hv_cpuid(char *buf, size_t len)
{
	char sig[13];
	if (!host_cpuid_sig(0x40000000, sig))
		return false;
	const char *name = host_hv_name(sig);
	char alt[13];
	if (name && strcmp(name, "hyperv") == 0 && host_cpuid_sig(0x40000100, alt) && host_hv_name(alt))
		name = host_hv_name(alt); /* KVM offering Hyper-V enlightenments */
	if (name) {
		snprintf(buf, len, "%s", name);
		return true;
	}
	size_t j = 0; /* unknown: the signature itself, trimmed, in lower case */
	for (int i = 0; sig[i] && j + 1 < len; i++)
		if (isalnum((unsigned char)sig[i]))
			buf[j++] = (char)tolower((unsigned char)sig[i]);
	buf[j] = '\0';
	return j > 0;
}

/* What DMI's system vendor or product name says the machine is; NULL when it names no hypervisor. */
static const char *host_hv_dmi(void)
{
	static const char *const names[][2] = {
		{ "firecracker", "firecracker" }, { "cloud hypervisor", "cloud-hypervisor" }, { "qemu", "qemu" },
		{ "vmware", "vmware" },           { "virtualbox", "virtualbox" },             { "innotek", "virtualbox" },
		{ "xen", "xen" },                 { "bochs", "bochs" },                       { "parallels", "parallels" },
		{ "virtual machine", "hyperv" },
	};
	static const char *const files[] = { "/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name" };
	char buf[128];
	for (int f = 0; f < 2; f++) {
		if (!host_read_line(files[f], buf, sizeof(buf)))
			continue;
		for (char *p = buf; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strstr(buf, names[i][0]))
				return names[i][1];
	}
	return NULL;
}

static bool host_cpuinfo_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (char *w = strtok(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \n"); w && !found;
		     w = strtok(NULL, " \n"))
			found = strcmp(w, flag) == 0;
		break;
	}
	if (f)
		fclose(f);
	return found;
}

/* The hypervisor this runs under, named by CPUID, DMI or /sys/hypervisor; false on bare metal (as far as we can tell). */
static bool host_hypervisor(char *buf, size_t len)
{
	const char *dmi = host_hv_dmi();
	if (dmi && (strcmp(dmi, "firecracker") == 0 || strcmp(dmi, "cloud-hypervisor") == 0)) {
		snprintf(buf, len, "%s", dmi); /* a KVM-based VMM: CPUID would only say kvm */
		return true;
	}
	if (host_hv_cpuid(buf, len))
		return true;
	if (host_read_line("/sys/hypervisor/type", buf, len))
		return true;
	if (dmi || host_cpuinfo_flag("hypervisor")) {
		snprintf(buf, len, "%s", dmi ? dmi : "unknown");
		return true;
	}
	return false;
}

/* --- frequency, clock, mitigations --- */

/* Add s to a "/"-separated list of distinct values. */
static void host_add_distinct(char *list, size_t len, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = strstr(list, s); p; p = strstr(p + 1, s))
		if ((p == list || p[-1] == '/') && (p[n] == '\0' || p[n] == '/'))
			return;
	size_t used = strlen(list);
	snprintf(list + used, len - used, "%s%s", used ? "/" : "", s);
}

/* The scaling governors of the pinned CPUs (of every allowed CPU when unpinned); false without cpufreq. */
static bool host_governor(const int cpu[2], char *buf, size_t len)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (cpu[0] >= 0 && cpu[1] >= 0) {
		CPU_SET(cpu[0], &set);
		CPU_SET(cpu[1], &set);
	} else if (sched_getaffinity(0, sizeof(set), &set)) {
		return false;
	}
	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE; c++) {
		char path[96], gov[64];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", c);
		if (CPU_ISSET(c, &set) && host_read_line(path, gov, sizeof(gov)))
			host_add_distinct(buf, len, gov);
	}
	return buf[0] != '\0';
}

/* Turbo/boost: true on, false off, null when this host does not say. */
static json_t *host_boost(void)
{
	int64_t boost = host_read_limit("/sys/devices/system/cpu/cpufreq/boost");
	if (boost >= 0)
		return json_boolean(boost != 0);
	int64_t no_turbo = host_read_limit("/sys/devices/system/cpu/intel_pstate/no_turbo");
	return no_turbo >= 0 ? json_boolean(no_turbo == 0) : json_null();
}

static int host_strcmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Names of /sys/devices/system/cpu/vulnerabilities/\*, sorted; how many (at most max). */
static int host_vuln_names(char names[][48], int max)
{
	DIR *d = opendir("/sys/devices/system/cpu/vulnerabilities");
	struct dirent *e;
	int n = 0;
	while (d && n < max && (e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(names[n++], sizeof(names[0]), "%.47s", e->d_name);
	if (d)
		closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), host_strcmp);
	return n;
}

/* Mitigated and vulnerable ones by name, a count of the rest: "2 mitigated (a, b), 17 not affected, 1 vulnerable (c)". */
static bool host_mitigations(char *buf, size_t len)
{
	char names[64][48];
	int n = host_vuln_names(names, 64), count[3] = { 0, 0, 0 }; /* mitigated, not affected, vulnerable */
	char list[2][1024] = { "", "" };                             /* names of the mitigated, the vulnerable */
	for (int i = 0; i < n; i++) {
		char path[128], v[256];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/vulnerabilities/%.47s", names[i]);
		if (!host_read_line(path, v, sizeof(v)))
			continue;
		int k = strncmp(v, "Not affected", 12) == 0 ? 1 : strncmp(v, "Mitigation", 10) == 0 ? 0 : 2;
		count[k]++;
		if (k != 1) {
			size_t used = strlen(list[k / 2]);
			snprintf(list[k / 2] + used, sizeof(list[0]) - used, "%s%s", used ? ", " : "", names[i]);
		}
	}
	if (!n)
		return false;
	snprintf(buf, len, "%d mitigated%s%.480s%s, %d not affected, %d vulnerable%s%.480s%s", count[0], count[0] ? " (" : "",
		 list[0], count[0] ? ")" : "", count[1], count[2], count[2] ? " (" : "", list[1], count[2] ? ")" : "");
	return true;
}

/* --- quality and warnings --- */

/*
 * How much of the wall time a thread that never blocks actually runs on each
 * pinned CPU, both spinning at once. A hypervisor that overcommits its CPUs can
 * withhold time without reporting it as steal; then every CPU-time figure
 * (cpu, cores_busy) reads low by this much and a spinning side stalls.
 */
#define HOST_SHARE_SPIN_NS (60 * 1000000LL)
#define HOST_SHARE_WARN_PCT 90.0

struct host_spinner {
	int cpu;
	double share_pct;
};

static void *host_spin(void *p)
{
	struct host_spinner *sp = p;
	sp->share_pct = NAN;
	if (topology_pin_thread(sp->cpu))
		return NULL;
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	int64_t start = now_ns(), t;
	while ((t = now_ns()) - start < HOST_SHARE_SPIN_NS)
		;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	double cpu_ns = (double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec);
	sp->share_pct = 100 * cpu_ns / (double)(t - start);
	return NULL;
}

static void host_cpu_share(const int cpu[2], double out[2])
{
	struct host_spinner sp[2] = { { cpu[0], NAN }, { cpu[1], NAN } };
	pthread_t th[2];
	int n = cpu[0] < 0 ? 0 : cpu[1] < 0 || cpu[1] == cpu[0] ? 1 : 2;
	int started = 0;
	for (int i = 0; i < n; i++)
		started += pthread_create(&th[i], NULL, host_spin, &sp[i]) == 0;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	out[0] = sp[0].share_pct;
	out[1] = n == 2 ? sp[1].share_pct : sp[0].share_pct;
}

/*
 * A cache line's round trip between the two pinned CPUs, at the start and at
 * the end of a run: where the hypervisor placed the two virtual CPUs. On a
 * shared host it moves them (110 ns one minute, 550 ns the next here), and
 * every row that crosses CPUs moves with it; compare withholds its verdicts
 * when two runs' readings are far apart. It is the floor-cacheline mechanism,
 * driven by two threads of this process: the median of the mean round trip
 * over batches of 64, after a warmup; every wait ends at HOST_LINE_TIMEOUT_NS.
 */
#define HOST_LINE_WARMUP_NS (2 * 1000000LL)
#define HOST_LINE_SPAN_NS (10 * 1000000LL)
#define HOST_LINE_BATCH 64
#define HOST_LINE_BATCHES 1024
#define HOST_LINE_LEAST 16
#define HOST_LINE_TIMEOUT_NS (250 * 1000000LL) /* a peer thread that never runs: no reading */
#define HOST_LINE_STOP UINT64_MAX               /* the sequence number that ends side B */
#define HOST_LINE_BYTES 64                      /* the one size floor-cacheline carries */

/* One side of the probe: its thread's CPU and end of floor-cacheline. */
struct host_line_side {
	const struct transport_ops *ops;
	void *state;
	enum tp_side side;
	int cpu;
	double rtt_ns; /* side A's reading; NAN when there is none */
};

static int host_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Side A: round trips in batches until the span is over; the median batch's mean round trip. */
static double host_line_time(const struct host_line_side *ls, void *end, unsigned char *buf, struct msg_hdr *msg)
{
	static double batch_ns[HOST_LINE_BATCHES];
	size_t n = 0;
	int64_t start = now_ns(), t = start;
	/* the span, or on a loaded host until HOST_LINE_LEAST batches are in (a thread may wait out a time slice) */
	while (n < HOST_LINE_BATCHES && t - start < HOST_LINE_TIMEOUT_NS &&
	       (t - start < HOST_LINE_WARMUP_NS + HOST_LINE_SPAN_NS || n < HOST_LINE_LEAST)) {
		int64_t t0 = t;
		for (int i = 0; i < HOST_LINE_BATCH; i++) {
			msg->seq++;
			if (ls->ops->send(end, buf, HOST_LINE_BYTES, HOST_LINE_TIMEOUT_NS) ||
			    ls->ops->recv(end, buf, HOST_LINE_BYTES, HOST_LINE_BYTES, HOST_LINE_TIMEOUT_NS) <= 0)
				return NAN;
		}
		t = now_ns();
		if (t0 - start >= HOST_LINE_WARMUP_NS)
			batch_ns[n++] = (double)(t - t0) / HOST_LINE_BATCH;
	}
	qsort(batch_ns, n, sizeof(batch_ns[0]), host_cmp_double);
	return n ? batch_ns[n / 2] : NAN;
}

static void *host_line_side(void *p)
{
	struct host_line_side *ls = p;
	struct tp_params params = { .msg_bytes = HOST_LINE_BYTES, .timeout_ns = HOST_LINE_TIMEOUT_NS };
	struct tp_err err;
	unsigned char buf[HOST_LINE_BYTES] = { 0 };
	struct msg_hdr *msg = (struct msg_hdr *)(void *)buf;
	void *end = calloc(1, ls->ops->end_size);
	if (!end || topology_pin_thread(ls->cpu) || ls->ops->attach(ls->state, end, ls->side, &params, &err)) {
		free(end);
		return NULL;
	}
	if (ls->side == TP_SIDE_A) {
		ls->rtt_ns = host_line_time(ls, end, buf, msg);
		msg->seq = HOST_LINE_STOP;
		ls->ops->send(end, buf, sizeof(buf), HOST_LINE_TIMEOUT_NS);
	} else { /* B: every message back, until the stop or a wait runs out */
		while (ls->ops->recv(end, buf, sizeof(buf), sizeof(buf), HOST_LINE_TIMEOUT_NS) > 0 &&
		       msg->seq != HOST_LINE_STOP)
			if (ls->ops->send(end, buf, sizeof(buf), HOST_LINE_TIMEOUT_NS))
				break;
	}
	ls->ops->detach(end);
	free(end);
	return NULL;
}

/* The round trip in ns; NAN with one CPU, unpinned sides, or a thread that could not run. */
static double host_cacheline_rtt(const int cpu[2])
{
	const struct transport_ops *ops = transport_find("floor-cacheline");
	if (!ops || cpu[0] < 0 || cpu[1] < 0 || cpu[0] == cpu[1])
		return NAN;
	void *state = calloc(1, ops->state_size);
	struct tp_params params = { .msg_bytes = HOST_LINE_BYTES, .timeout_ns = HOST_LINE_TIMEOUT_NS };
	struct tp_err err;
	if (!state || ops->setup(state, &params, &err)) {
		free(state);
		return NAN;
	}
	struct host_line_side side[2] = { { ops, state, TP_SIDE_A, cpu[0], NAN }, { ops, state, TP_SIDE_B, cpu[1], NAN } };
	pthread_t th[2];
	int started = 0;
	while (started < 2 && pthread_create(&th[started], NULL, host_line_side, &side[started]) == 0)
		started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	ops->teardown(state);
	free(state);
	return started == 2 ? side[0].rtt_ns : NAN;
}

static json_t *host_line_json(void)
{
	if (!host_run.begun || !isfinite(host_run.line_rtt_ns[0]))
		return json_null();
	json_t *a = json_array();
	for (int i = 0; i < 2; i++)
		json_array_append_new(a, isfinite(host_run.line_rtt_ns[i]) ? json_real(round(host_run.line_rtt_ns[i]))
									: json_null());
	return a;
}

static json_t *host_share_json(void)
{
	if (!host_run.begun || !isfinite(host_run.cpu_share_pct[0]))
		return json_null();
	return json_pack("[f, f]", round(host_run.cpu_share_pct[0] * 10) / 10,
			 round(host_run.cpu_share_pct[1] * 10) / 10);
}

/* The quality object; steal only when asked, since outside a run it takes a short sample. */
static json_t *host_quality(const int cpu[2], bool with_steal)
{
	char hv[64], gov[128], clock[64], mit[1024];
	double window_s = 0, steal = with_steal ? host_steal_pct(&window_s) : NAN;
	double load = host_run.begun ? host_run.loadavg : host_loadavg();
	json_t *q = json_object();
	json_object_set_new(q, "hypervisor", host_hypervisor(hv, sizeof(hv)) ? json_string(hv) : json_null());
	json_object_set_new(q, "steal_pct", isfinite(steal) ? json_real(round(steal * 100) / 100) : json_null());
	json_object_set_new(q, "steal_window_s", with_steal ? json_real(round(window_s * 100) / 100) : json_null());
	json_object_set_new(q, "cpu_share_pct", host_share_json());
	json_object_set_new(q, "cacheline_rtt_ns", host_line_json());
	json_object_set_new(q, "loadavg", isfinite(load) ? json_real(load) : json_null());
	json_object_set_new(q, "governor", host_governor(cpu, gov, sizeof(gov)) ? json_string(gov) : json_null());
	json_object_set_new(q, "boost", host_boost());
	bool cs = host_read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", clock,
				 sizeof(clock));
	json_object_set_new(q, "clocksource", cs ? json_string(clock) : json_null());
	json_object_set_new(q, "mitigations", host_mitigations(mit, sizeof(mit)) ? json_string(mit) : json_null());
	return q;
}

json_t *host_quality_json(const int cpu[2])
{
	return host_quality(cpu, true);
}

static void host_warn_vm(const json_t *q, json_t *out)
{
	const char *hv = json_string_value(json_object_get(q, "hypervisor"));
	if (hv)
		json_array_append_new(out, json_sprintf(HOST_WARN_VM " (%s): wake-ups and cache transfers cost more "
							  "and vary with the host's load; compare runs made on "
							  "the same host, or use bare metal", hv));
}

static void host_warn_steal(const json_t *q, json_t *out)
{
	double steal = json_number_value(json_object_get(q, "steal_pct"));
	double window = json_number_value(json_object_get(q, "steal_window_s"));
	if (json_is_number(json_object_get(q, "steal_pct")) && steal > HOST_STEAL_WARN_PCT)
		json_array_append_new(out, json_sprintf(HOST_WARN_STEAL " %.1f%% of CPU time over %.1f s (steal): other "
							     "guests share the physical CPUs, so a side can stall "
							     "mid-message; run on a dedicated or quieter host",
							steal, window));
}

bool host_line_moved(const json_t *a, const json_t *b, double *lo_a, double *hi_a, double *lo_b, double *hi_b)
{
	double r[2][2];
	const json_t *v[2] = { a, b };
	*lo_a = *hi_a = *lo_b = *hi_b = NAN;
	for (int i = 0; i < 2; i++) {
		r[i][0] = INFINITY;
		r[i][1] = -INFINITY;
		for (size_t j = 0; j < json_array_size(v[i]); j++) {
			const json_t *x = json_array_get(v[i], j);
			if (json_is_number(x)) {
				r[i][0] = fmin(r[i][0], json_number_value(x));
				r[i][1] = fmax(r[i][1], json_number_value(x));
			}
		}
		if (!isfinite(r[i][0]))
			return false;
	}
	*lo_a = r[0][0], *hi_a = r[0][1], *lo_b = r[1][0], *hi_b = r[1][1];
	return host_line_apart(r[1][1], r[0][0]) || host_line_apart(r[0][1], r[1][0]);
}

static void host_warn_moved(const json_t *q, json_t *out)
{
	const json_t *rtt = json_object_get(q, "cacheline_rtt_ns");
	double start = json_number_value(json_array_get(rtt, 0)), end = json_number_value(json_array_get(rtt, 1));
	if (start > 0 && end > 0 && host_line_apart(fmin(start, end), fmax(start, end)))
		json_array_append_new(out, json_sprintf(HOST_WARN_MOVED " during the run: a cache line's round trip between "
							     "the two CPUs took %.0f ns at the start and %.0f ns at the "
							     "end, so rows that cross CPUs early and late were measured on "
							     "different placements; run again, or on a dedicated host",
							start, end));
}

static void host_warn_share(const json_t *q, json_t *out)
{
	const json_t *share = json_object_get(q, "cpu_share_pct");
	double low = NAN;
	for (size_t i = 0; i < json_array_size(share); i++)
		if (!(json_number_value(json_array_get(share, i)) >= low))
			low = json_number_value(json_array_get(share, i));
	if (isfinite(low) && low < HOST_SHARE_WARN_PCT)
		json_array_append_new(out, json_sprintf(HOST_WARN_SHARE " only %.0f%% of the wall time: the hypervisor "
							     "withholds the rest (not all of it shows as steal), so "
							     "CPU-time figures read low by that much and a spinning "
							     "side stalls; run on a dedicated or quieter host", low));
}

static void host_warn_governor(const json_t *q, json_t *out)
{
	const char *gov = json_string_value(json_object_get(q, "governor"));
	if (gov && strstr(gov, "powersave"))
		json_array_append_new(out, json_sprintf(HOST_WARN_GOVERNOR " is %s: a CPU that waits clocks down "
							     "and wakes slowly, so latencies grow and vary; set it "
							     "with cpupower frequency-set -g performance", gov));
}

static void host_warn_load(const json_t *q, json_t *out)
{
	double load = json_number_value(json_object_get(q, "loadavg"));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (json_is_number(json_object_get(q, "loadavg")) && ncpu > 0 && load > HOST_LOAD_WARN_PER_CPU * ncpu)
		json_array_append_new(out, json_sprintf(HOST_WARN_LOAD " %.2f on %ld CPU%s: other work shares the CPUs; "
							    "stop it or expect wider intervals", load, ncpu,
							ncpu == 1 ? "" : "s"));
}

static void host_warn_clock(const json_t *q, json_t *out)
{
	const char *cs = json_string_value(json_object_get(q, "clocksource"));
	if (cs && (strcmp(cs, "hpet") == 0 || strcmp(cs, "acpi_pm") == 0 || strcmp(cs, "jiffies") == 0))
		json_array_append_new(out, json_sprintf(HOST_WARN_CLOCK " %s: every clock read is a system call of a "
							      "microsecond or more, which inflates short round trips; "
							      "use tsc if the kernel allows (clocksource=tsc)", cs));
}

json_t *host_warnings_json(const json_t *quality)
{
	json_t *w = json_array();
	host_warn_vm(quality, w);
	host_warn_steal(quality, w);
	host_warn_share(quality, w);
	host_warn_moved(quality, w);
	host_warn_governor(quality, w);
	host_warn_load(quality, w);
	host_warn_clock(quality, w);
	return w;
}

static void host_print_warnings(const json_t *warnings, FILE *warn)
{
	size_t i;
	json_t *w;
	json_array_foreach(warnings, i, w)
		fprintf(warn, "ipcbench: warning: %s\n", json_string_value(w));
}

void host_quality_begin(const int cpu[2], FILE *warn)
{
	host_run.loadavg = host_loadavg();
	host_run.start = host_stat_read();
	host_cpu_share(cpu, host_run.cpu_share_pct);
	host_run.cpu[0] = cpu[0];
	host_run.cpu[1] = cpu[1];
	host_run.line_rtt_ns[0] = host_cacheline_rtt(cpu);
	host_run.line_rtt_ns[1] = NAN;
	host_run.begun = true;
	host_run.ended = false;
	if (!warn)
		return;
	json_t *q = host_quality(cpu, false); /* steal is over the run: warned at its end */
	json_t *w = host_warnings_json(q);
	host_print_warnings(w, warn);
	json_decref(w);
	json_decref(q);
}

void host_quality_end(FILE *warn)
{
	host_run.end = host_stat_read();
	host_run.ended = host_run.begun;
	if (host_run.begun)
		host_run.line_rtt_ns[1] = host_cacheline_rtt(host_run.cpu);
	double window_s, steal = host_steal_pct(&window_s);
	if (!warn)
		return;
	/* rounded as host.quality rounds them, so the line on stderr is the one in host.warnings */
	json_t *q = json_pack("{s:o, s:f, s:o}", "steal_pct",
			      isfinite(steal) ? json_real(round(steal * 100) / 100) : json_null(), "steal_window_s",
			      round(window_s * 100) / 100, "cacheline_rtt_ns", host_line_json());
	json_t *w = json_array();
	host_warn_steal(q, w);
	host_warn_moved(q, w);
	host_print_warnings(w, warn);
	json_decref(w);
	json_decref(q);
}

json_t *host_json(const int cpu[2])
{
	struct utsname u;
	uname(&u);
	char model[256];
	host_cpu_model(model, sizeof(model));
	int zmaj, zmin, zpat;
	zmq_version(&zmaj, &zmin, &zpat);
	char zver[32];
	snprintf(zver, sizeof(zver), "%d.%d.%d", zmaj, zmin, zpat);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	json_t *limits = json_object();
	json_object_set_new(limits, "pipe_max_size_bytes", host_limit("/proc/sys/fs/pipe-max-size"));
	json_object_set_new(limits, "mq_msg_max", host_limit("/proc/sys/fs/mqueue/msg_max"));
	json_object_set_new(limits, "mq_msgsize_max_bytes", host_limit("/proc/sys/fs/mqueue/msgsize_max"));
	json_object_set_new(limits, "socket_wmem_default_bytes", host_limit("/proc/sys/net/core/wmem_default"));
	json_object_set_new(limits, "socket_wmem_max_bytes", host_limit("/proc/sys/net/core/wmem_max"));
	json_object_set_new(limits, "unix_dgram_qlen", host_limit("/proc/sys/net/unix/max_dgram_qlen"));
	json_t *quality = host_quality_json(cpu), *warnings = host_warnings_json(quality);
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "kernel", u.release,
			 "machine", u.machine, "cpu_model", model, "ncpu", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "mem_bytes", (json_int_t)pages * page, "libzmq", zver, "compiler", IPCBENCH_COMPILER,
			 "build_type", IPCBENCH_BUILD_TYPE, "git_rev", IPCBENCH_GIT_REV, "limits", limits, "topology",
			 host_topology_json(cpu), "quality", quality, "warnings", warnings);
}
