/* Where CPUs sit (core, package, caches, NUMA node), read from sysfs; and pairs of CPUs by relation. */
#ifndef IPCBENCH_TOPOLOGY_H
#define IPCBENCH_TOPOLOGY_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPO_MAX_CACHES 8

/* One cache a CPU uses, as /sys/devices/system/cpu/cpuN/cache/indexM describes it; -1 or "" when unknown. */
struct topo_cache {
	int level;
	char type[16];         /* "Data", "Instruction", "Unified" */
	int64_t size_bytes;
	bool shared_known;     /* shared_with was read */
	cpu_set_t shared_with; /* the CPUs that use this cache, this one included */
};

/* One CPU's place in the machine; -1 (or not known) where sysfs is silent. */
struct topo_cpu {
	int cpu, core, package, node;
	bool siblings_known; /* siblings was read */
	cpu_set_t siblings;  /* the CPUs of this core (SMT threads), this one included */
	int n_caches;
	struct topo_cache caches[TOPO_MAX_CACHES];
};

/**
 * Read where cpu sits from /sys/devices/system/cpu/cpuN. Files that are missing
 * leave their fields unknown. 0, -EINVAL for a negative or too large cpu, or
 * -ENOENT when the kernel does not know the CPU.
 */
int topo_read(int cpu, struct topo_cpu *out);

/**
 * The relation of two CPUs: "same-cpu", "smt-sibling" (same core), "same-llc"
 * (different cores sharing the last-level cache), "cross-llc" (same NUMA node,
 * no shared last-level cache), "cross-node", "unpinned" when either is -1, or
 * "unknown" when sysfs does not tell. A static string.
 */
const char *topo_relation(int cpu_a, int cpu_b);

/** The relation of two CPUs already read; as topo_relation. */
const char *topo_relation_of(const struct topo_cpu *a, const struct topo_cpu *b);

/** The last-level cache of c (the highest level that holds data), or NULL when sysfs lists none. */
const struct topo_cache *topo_llc(const struct topo_cpu *c);

/**
 * Two CPUs this process may use (sched_getaffinity) with the named relation,
 * the lowest such pair; "same-cpu" gives one CPU twice, "unpinned" gives -1, -1.
 * 0; -ENOENT with why saying why this host has no such pair; -EINVAL with why
 * naming the accepted names for an unknown placement.
 */
int topo_pick(const char *placement, int out[2], char *why, size_t why_len);

/**
 * The default pinning: two different physical cores that share the last-level
 * cache, else two different cores, else the first two allowed CPUs, else one
 * CPU for both sides. why says what was chosen ("CPUs 0 and 1: different cores
 * sharing L3"). 0, or -errno when the affinity mask cannot be read.
 */
int topo_default_pair(int out[2], char *why, size_t len);

/** Parse a sysfs CPU list ("0-3,8,10-11") into set; 0 or -EINVAL. */
int topo_parse_list(const char *s, cpu_set_t *set);

/** Pin the calling thread to cpu (-1: leave it where it may run). 0 or -errno. */
int topology_pin_thread(int cpu);

#endif
