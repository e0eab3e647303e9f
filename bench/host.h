/* Facts about this host that a reader needs to trust or reproduce a number. */
#ifndef IPCBENCH_HOST_H
#define IPCBENCH_HOST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* How each warning in host.warnings begins, so a view (report.md) can tell which is which. */
#define HOST_WARN_VM "running in a virtual machine"
#define HOST_WARN_STEAL "the hypervisor took"
#define HOST_WARN_SHARE "a thread spinning on a pinned CPU got"
#define HOST_WARN_GOVERNOR "the CPU frequency governor"
#define HOST_WARN_LOAD "load average"
#define HOST_WARN_CLOCK "clocksource"
#define HOST_WARN_MOVED "the host moved the CPUs"

/** Read an unsigned number from a /proc or /sys file; -1 when it cannot be read. */
int64_t host_read_limit(const char *path);

/**
 * Start of a run: take the readings its quality is measured over (steal,
 * load average) and print the warnings known now on warn, one line each,
 * prefixed "ipcbench: warning: " (NULL prints nothing; they still go to JSON).
 * cpu: the run's two CPUs, -1 for --pin none.
 */
void host_quality_begin(const int cpu[2], FILE *warn);

/** End of a run: the closing steal reading; print the steal warning on warn (NULL: nothing) if one is due. */
void host_quality_end(FILE *warn);

/**
 * host.topology: {"cpus": [side A's CPU, side B's CPU] (each an object with
 * cpu, core, package, smt_siblings, node, caches; null for an unpinned side),
 * "relation": as topo_relation}. Unknown fields are null.
 */
json_t *host_topology_json(const int cpu[2]);

/**
 * host.quality: hypervisor, steal_pct, steal_window_s, loadavg, governor,
 * boost, clocksource, mitigations; null where this host does not say. Steal
 * is over the run (host_quality_begin..end, or ..now), else a short sample.
 */
json_t *host_quality_json(const int cpu[2]);

/** host.warnings: what in a quality object makes figures worse or less stable, each with its fix. */
json_t *host_warnings_json(const json_t *quality);

/* Cache-line round trips further apart than this (the larger over the smaller): the host moved the CPUs. */
#define HOST_LINE_MOVED 1.25

/** Whether a lowest and a highest cache-line round trip lie further apart than HOST_LINE_MOVED. */
static inline bool host_line_apart(double lo, double hi)
{
	return hi > HOST_LINE_MOVED * lo;
}

/**
 * Whether two sets of cache-line round trips (arrays of ns, as host.quality.cacheline_rtt_ns)
 * lie more than 25% apart: the host moved the CPUs between them. Each set's lowest and
 * highest reading go to lo_* and hi_* (NAN when either set has none, and then false).
 */
bool host_line_moved(const json_t *a, const json_t *b, double *lo_a, double *hi_a, double *lo_b, double *hi_b);

/** The "host" object of the JSON schema: kernel, CPU, memory, toolchain, IPC limits, topology, quality, warnings. */
json_t *host_json(const int cpu[2]);

#endif
