/*
 * bench/models/: the processes-vs-threads experiments (group "model"): what
 * each costs to create and switch, how isolated each is, how each scales. Not
 * transports, but run, budgeted and reported alike; this header is their registry.
 */
#ifndef IPCBENCH_MODEL_H
#define IPCBENCH_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ipc/transport.h"

/* What an experiment may spend and where it may run. */
struct model_params {
	int64_t budget_ns;  /* wall time the experiment should fit in */
	int64_t timeout_ns; /* no single wait lasts longer */
	int cpu[2];         /* the run's two CPUs (-1: not pinned) */
	int ncpu;           /* CPUs this process may use */
	bool quick;
};

struct model_ops {
	const char *name;    /* the -m name: "spawn", "ctxswitch", ... */
	const char *summary; /* one line for --list: what is measured and how */
	/* Run it; returns a new JSON object with units in field names, or NULL with err set. */
	json_t *(*run)(const struct model_params *p, struct tp_err *err);
	/* Print the result as an aligned, human-readable table. */
	void (*print)(const json_t *result, FILE *out);
};

/* NULL-terminated. */
extern const struct model_ops *const model_registry[];

/** The experiment called name, or NULL. */
const struct model_ops *model_find(const char *name);

#endif
