/* The registry: one line per mechanism; nothing else in the runner names one. */
#include "registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct transport_ops floor_cacheline_ops;
extern const struct transport_ops floor_memcpy_ops;
extern const struct transport_ops pipe_ops;
extern const struct transport_ops shm_ops;
extern const struct transport_ops shm_spin_ops;
extern const struct transport_ops shm_sem_ops;
extern const struct transport_ops thread_ring_ops;
extern const struct transport_ops thread_mutex_ops;

const struct transport_ops *const transport_registry[] = {
	&floor_cacheline_ops,
	&floor_memcpy_ops,
	&pipe_ops,
	&shm_ops,
	&shm_spin_ops,
	&shm_sem_ops,
	&thread_ring_ops,
	&thread_mutex_ops,
	NULL,
};

const struct transport_ops *transport_find(const char *name)
{
	for (size_t i = 0; transport_registry[i]; i++)
		if (strcmp(transport_registry[i]->name, name) == 0)
			return transport_registry[i];
	return NULL;
}

int tp_fail(struct tp_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code > 0 ? -code : (code ? code : -EINVAL);
}
