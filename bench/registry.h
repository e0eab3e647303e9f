/* Every mechanism the runner can drive, in the order --list and --all show them. */
#ifndef IPCBENCH_REGISTRY_H
#define IPCBENCH_REGISTRY_H

#include <stddef.h>

#include "ipc/transport.h"

/* NULL-terminated. */
extern const struct transport_ops *const transport_registry[];

/** The mechanism called name, or NULL. */
const struct transport_ops *transport_find(const char *name);

#endif
