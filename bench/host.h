/* Facts about this host that a reader needs to trust or reproduce a number. */
#ifndef IPCBENCH_HOST_H
#define IPCBENCH_HOST_H

#include <jansson.h>
#include <stdint.h>

/** Read an unsigned number from a /proc or /sys file; -1 when it cannot be read. */
int64_t host_read_limit(const char *path);

/** The "host" object of the JSON schema: kernel, CPU, memory, toolchain, IPC limits. */
json_t *host_json(void);

#endif
