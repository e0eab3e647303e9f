/* Unpredictable names for the objects a mechanism creates (shm, mq, FIFO directory, abstract socket). */
#ifndef IPCBENCH_NAMES_H
#define IPCBENCH_NAMES_H

#include <stddef.h>

#define TP_NAME_PREFIX "ipcbench-"

/**
 * Write "<lead>ipcbench-<tag>-<16 random hex digits>" into buf, e.g. lead "/" for
 * shm_open and mq_open names. The digits come from getrandom(), so another user
 * cannot guess the name and plant an object there first.
 * @return 0, or -ENAMETOOLONG / -errno.
 */
int tp_random_name(char *buf, size_t len, const char *lead, const char *tag);

#endif
