/* CPU topology from /sys/devices/system/cpu: what two pinned CPUs share, and pairs chosen by what they share. */
#include "topology.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPO_SYS "/sys/devices/system/cpu"

/* The relations topo_pick accepts, closest first. */
static const char *const topo_relations[] = { "same-cpu", "smt-sibling", "same-llc", "cross-llc", "cross-node",
					      NULL };

/* The first line of a sysfs file, without its newline; 0 or -errno. */
static int topo_read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A non-negative integer file; -1 when missing or not a number. */
static int topo_read_int(const char *path)
{
	char buf[32], *end;
	if (topo_read_str(path, buf, sizeof(buf)))
		return -1;
	long v = strtol(buf, &end, 10);
	return end == buf || v < 0 || v > 1 << 30 ? -1 : (int)v;
}

int topo_parse_list(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;
		if (end == s || lo < 0)
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo)
				return -EINVAL;
		}
		for (long c = lo; c <= hi && c < CPU_SETSIZE; c++)
			CPU_SET((int)c, set);
		s = end + (*end == ',');
		if (*end && *end != ',')
			return -EINVAL;
	}
	return 0;
}

static bool topo_read_set(const char *path, cpu_set_t *set)
{
	char buf[4096];
	return topo_read_str(path, buf, sizeof(buf)) == 0 && topo_parse_list(buf, set) == 0;
}

/* "48K", "1024K", "32M" as bytes; -1 when not a size. */
static int64_t topo_parse_size(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s || v < 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0': return v;
	case 'K': return v << 10;
	case 'M': return v << 20;
	case 'G': return v << 30;
	default: return -1;
	}
}

static void topo_read_cache(const char *dir, struct topo_cache *c)
{
	char path[512], buf[64];
	snprintf(path, sizeof(path), "%s/level", dir);
	c->level = topo_read_int(path);
	snprintf(path, sizeof(path), "%s/type", dir);
	if (topo_read_str(path, buf, sizeof(buf)) == 0)
		snprintf(c->type, sizeof(c->type), "%.15s", buf);
	snprintf(path, sizeof(path), "%s/size", dir);
	c->size_bytes = topo_read_str(path, buf, sizeof(buf)) == 0 ? topo_parse_size(buf) : -1;
	snprintf(path, sizeof(path), "%s/shared_cpu_list", dir);
	c->shared_known = topo_read_set(path, &c->shared_with);
}

static void topo_read_caches(int cpu, struct topo_cpu *out)
{
	char dir[128];
	for (int i = 0; out->n_caches < TOPO_MAX_CACHES; i++) {
		snprintf(dir, sizeof(dir), TOPO_SYS "/cpu%d/cache/index%d", cpu, i);
		if (access(dir, F_OK) != 0)
			break;
		struct topo_cache *c = &out->caches[out->n_caches++];
		topo_read_cache(dir, c);
	}
}

/* The NUMA node from the cpuN/nodeM link, else from /sys/devices/system/node/node*\/cpulist; -1 unknown. */
static int topo_node_of(int cpu)
{
	char path[128];
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d", cpu);
	DIR *d = opendir(path);
	struct dirent *e;
	int node = -1;
	while (d && node < 0 && (e = readdir(d)))
		if (strncmp(e->d_name, "node", 4) == 0 && isdigit((unsigned char)e->d_name[4]))
			node = atoi(e->d_name + 4);
	if (d)
		closedir(d);
	for (int n = 0; node < 0 && n < 1024; n++) {
		cpu_set_t set;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
		if (access(path, F_OK) != 0 && n > 0)
			break; /* node numbers are dense in practice; node0 may be memory-only elsewhere */
		if (topo_read_set(path, &set) && CPU_ISSET(cpu, &set))
			node = n;
	}
	return node;
}

int topo_read(int cpu, struct topo_cpu *out)
{
	memset(out, 0, sizeof(*out));
	out->cpu = cpu;
	out->core = out->package = out->node = -1;
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	char path[128];
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d", cpu);
	if (access(path, F_OK) != 0)
		return -ENOENT;
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d/topology/core_id", cpu);
	out->core = topo_read_int(path);
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d/topology/physical_package_id", cpu);
	out->package = topo_read_int(path);
	if (out->package < 0) {
		snprintf(path, sizeof(path), TOPO_SYS "/cpu%d/topology/package_id", cpu);
		out->package = topo_read_int(path);
	}
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d/topology/core_cpus_list", cpu);
	out->siblings_known = topo_read_set(path, &out->siblings);
	snprintf(path, sizeof(path), TOPO_SYS "/cpu%d/topology/thread_siblings_list", cpu);
	if (!out->siblings_known)
		out->siblings_known = topo_read_set(path, &out->siblings);
	out->node = topo_node_of(cpu);
	topo_read_caches(cpu, out);
	return 0;
}

const struct topo_cache *topo_llc(const struct topo_cpu *c)
{
	const struct topo_cache *llc = NULL;
	for (int i = 0; i < c->n_caches; i++)
		if (strcmp(c->caches[i].type, "Instruction") != 0 && (!llc || c->caches[i].level > llc->level))
			llc = &c->caches[i];
	return llc;
}

static bool topo_same_core(const struct topo_cpu *a, const struct topo_cpu *b)
{
	if (a->siblings_known)
		return CPU_ISSET(b->cpu, &a->siblings);
	return a->core >= 0 && a->core == b->core && a->package >= 0 && a->package == b->package;
}

const char *topo_relation_of(const struct topo_cpu *a, const struct topo_cpu *b)
{
	if (a->cpu < 0 || b->cpu < 0)
		return "unpinned";
	if (a->cpu == b->cpu)
		return "same-cpu";
	if (topo_same_core(a, b))
		return "smt-sibling";
	const struct topo_cache *llc = topo_llc(a);
	if (llc && llc->shared_known && CPU_ISSET(b->cpu, &llc->shared_with))
		return "same-llc";
	if (a->node >= 0 && b->node >= 0 && a->node != b->node)
		return "cross-node";
	return llc && llc->shared_known ? "cross-llc" : "unknown";
}

const char *topo_relation(int cpu_a, int cpu_b)
{
	if (cpu_a < 0 || cpu_b < 0)
		return "unpinned";
	if (cpu_a == cpu_b)
		return "same-cpu";
	struct topo_cpu a, b;
	if (topo_read(cpu_a, &a) || topo_read(cpu_b, &b))
		return "unknown";
	return topo_relation_of(&a, &b);
}

/* --- pairs among the CPUs this process may use --- */

/* The CPUs this process may use, each read from sysfs once, when first needed. */
struct topo_set {
	int n;
	int *cpu;
	struct topo_cpu *info;
	bool *read;
};

static int topo_set_open(struct topo_set *s)
{
	memset(s, 0, sizeof(*s));
	cpu_set_t mask;
	if (sched_getaffinity(0, sizeof(mask), &mask))
		return -errno;
	int n = CPU_COUNT(&mask);
	s->cpu = calloc((size_t)n + 1, sizeof(*s->cpu));
	s->info = calloc((size_t)n + 1, sizeof(*s->info));
	s->read = calloc((size_t)n + 1, sizeof(*s->read));
	if (!s->cpu || !s->info || !s->read)
		return -ENOMEM;
	for (int c = 0; c < CPU_SETSIZE && s->n < n; c++)
		if (CPU_ISSET(c, &mask))
			s->cpu[s->n++] = c;
	return 0;
}

static void topo_set_close(struct topo_set *s)
{
	free(s->cpu);
	free(s->info);
	free(s->read);
}

static const struct topo_cpu *topo_set_get(struct topo_set *s, int i)
{
	if (!s->read[i]) {
		topo_read(s->cpu[i], &s->info[i]); /* a failed read leaves the fields unknown */
		s->read[i] = true;
	}
	return &s->info[i];
}

static const char *topo_set_relation(struct topo_set *s, int i, int j)
{
	return topo_relation_of(topo_set_get(s, i), topo_set_get(s, j));
}

/* The lowest pair of allowed CPUs with the relation; the index of its first CPU in s, or -ENOENT. */
static int topo_find(struct topo_set *s, const char *relation, int out[2])
{
	for (int i = 0; i < s->n; i++)
		for (int j = i + 1; j < s->n; j++)
			if (strcmp(topo_set_relation(s, i, j), relation) == 0) {
				out[0] = s->cpu[i];
				out[1] = s->cpu[j];
				return i;
			}
	return -ENOENT;
}

/* How the allowed CPUs group: distinct cores, last-level caches and NUMA nodes. */
struct topo_census {
	int cores, llcs, nodes, llc_level;
	bool known; /* sysfs described at least the cores */
};

/* Is CPU i the first of its group (cores: same core; caches: same core or same LLC) among the CPUs before it? */
static bool topo_first_of(struct topo_set *s, int i, bool by_llc)
{
	for (int j = 0; j < i; j++) {
		const char *r = topo_set_relation(s, j, i);
		if (strcmp(r, "smt-sibling") == 0 || (by_llc && strcmp(r, "same-llc") == 0))
			return false;
	}
	return true;
}

static bool topo_node_seen(struct topo_set *s, int i)
{
	for (int j = 0; j < i; j++)
		if (topo_set_get(s, j)->node == topo_set_get(s, i)->node)
			return true;
	return false;
}

static struct topo_census topo_count(struct topo_set *s)
{
	struct topo_census c = { 0, 0, 0, 0, false };
	for (int i = 0; i < s->n; i++) {
		const struct topo_cpu *t = topo_set_get(s, i);
		const struct topo_cache *llc = topo_llc(t);
		c.known |= t->siblings_known || t->core >= 0;
		c.cores += topo_first_of(s, i, false);
		c.llcs += topo_first_of(s, i, true);
		c.nodes += t->node >= 0 && !topo_node_seen(s, i);
		if (llc && llc->level > c.llc_level)
			c.llc_level = llc->level;
	}
	return c;
}

/* "both CPUs" or "all 5 CPUs this process may use". */
static const char *topo_all(const struct topo_set *s, char *buf, size_t len)
{
	bool every = s->n >= sysconf(_SC_NPROCESSORS_ONLN);
	if (s->n == 2)
		snprintf(buf, len, "both CPUs%s", every ? "" : " this process may use");
	else
		snprintf(buf, len, "all %d CPUs%s", s->n, every ? "" : " this process may use");
	return buf;
}

/* Why the allowed CPUs hold no pair with the relation. */
static void topo_why_none(struct topo_set *s, const char *relation, char *why, size_t len)
{
	struct topo_census c = topo_count(s);
	bool every = s->n >= sysconf(_SC_NPROCESSORS_ONLN);
	char all[64];
	topo_all(s, all, sizeof(all));
	if (s->n < 2)
		snprintf(why, len, "only one CPU (%d) is available to this process", s->n ? s->cpu[0] : -1);
	else if (!c.known)
		snprintf(why, len, "this kernel does not describe its CPU topology (" TOPO_SYS "/cpuN/topology)");
	else if (strcmp(relation, "smt-sibling") == 0)
		snprintf(why, len, "no two CPUs share a core: no SMT %s (each of the %d CPUs%s is its own core)",
			 every ? "on this host" : "among them", s->n, every ? "" : " this process may use");
	else if (strcmp(relation, "same-llc") == 0 && c.cores < 2)
		snprintf(why, len, "%s are threads of one core: there are no two cores to share a cache", all);
	else if (strcmp(relation, "same-llc") == 0)
		snprintf(why, len, "no two cores share a last-level cache: each of the %d cores has its own L%d", c.cores,
			 c.llc_level);
	else if (strcmp(relation, "cross-llc") == 0 && c.llcs < 2)
		snprintf(why, len, "%s share one last-level cache (L%d): there is no second one to cross to", all,
			 c.llc_level);
	else if (strcmp(relation, "cross-llc") == 0)
		snprintf(why, len, "CPUs under different last-level caches are on different NUMA nodes");
	else if (c.nodes < 1)
		snprintf(why, len, "this kernel reports no NUMA nodes (/sys/devices/system/node): one node");
	else
		snprintf(why, len, "%s are on one NUMA node (node %d)", all, topo_set_get(s, 0)->node);
}

static bool topo_known_relation(const char *name)
{
	for (int i = 0; topo_relations[i]; i++)
		if (strcmp(topo_relations[i], name) == 0)
			return true;
	return false;
}

int topo_pick(const char *placement, int out[2], char *why, size_t why_len)
{
	out[0] = out[1] = -1;
	snprintf(why, why_len, "%s", "");
	if (strcmp(placement, "unpinned") == 0)
		return 0;
	if (!topo_known_relation(placement)) {
		snprintf(why, why_len, "unknown placement '%s'; use same-cpu, smt-sibling, same-llc, cross-llc, "
				       "cross-node or unpinned", placement);
		return -EINVAL;
	}
	struct topo_set s;
	int rc = topo_set_open(&s);
	if (rc == 0 && s.n == 0)
		rc = -ENOENT;
	if (rc == 0 && strcmp(placement, "same-cpu") == 0)
		out[0] = out[1] = s.cpu[0];
	else if (rc == 0 && (rc = topo_find(&s, placement, out) < 0 ? -ENOENT : 0) != 0)
		topo_why_none(&s, placement, why, why_len);
	if (rc && !why[0])
		snprintf(why, why_len, "cannot read this process's CPU affinity: %s", strerror(-rc));
	topo_set_close(&s);
	return rc;
}

/* Two different cores, preferring a shared last-level cache; 0 or -ENOENT. */
static int topo_two_cores(struct topo_set *s, int out[2], char *why, size_t len)
{
	static const char *const order[] = { "same-llc", "cross-llc", "cross-node" };
	for (int k = 0; k < 3; k++) {
		int i = topo_find(s, order[k], out);
		if (i < 0)
			continue;
		const struct topo_cache *llc = topo_llc(topo_set_get(s, i));
		if (k == 0)
			snprintf(why, len, "CPUs %d and %d: different cores sharing L%d", out[0], out[1],
				 llc ? llc->level : 0);
		else
			snprintf(why, len, "CPUs %d and %d: different cores%s (no two cores here share a last-level cache)",
				 out[0], out[1], k == 2 ? " on different NUMA nodes" : "");
		return 0;
	}
	return -ENOENT;
}

int topo_default_pair(int out[2], char *why, size_t len)
{
	struct topo_set s;
	int rc = topo_set_open(&s);
	out[0] = out[1] = -1;
	if (rc == 0 && s.n == 0)
		rc = -ENOENT;
	if (rc == 0 && s.n == 1) {
		out[0] = out[1] = s.cpu[0];
		snprintf(why, len, "CPU %d for both sides: the only CPU this process may use", s.cpu[0]);
	} else if (rc == 0 && topo_two_cores(&s, out, why, len) != 0) {
		out[0] = s.cpu[0];
		out[1] = s.cpu[1];
		const char *r = topo_set_relation(&s, 0, 1);
		snprintf(why, len, "CPUs %d and %d: the first two this process may use (%s)", out[0], out[1],
			 strcmp(r, "smt-sibling") == 0 ? "SMT siblings: no two different cores are available"
						       : "the topology is not known");
	}
	if (rc)
		snprintf(why, len, "cannot read this process's CPU affinity: %s", strerror(-rc));
	topo_set_close(&s);
	return rc;
}

int topology_pin_thread(int cpu)
{
	if (cpu < 0)
		return 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return rc ? -rc : 0;
}
