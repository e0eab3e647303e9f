/* The registry: one line per mechanism; nothing else in the runner names one. */
#include "registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const struct transport_ops floor_cacheline_ops;
extern const struct transport_ops floor_wake_ops;
extern const struct transport_ops floor_memcpy_ops;
extern const struct transport_ops floor_xcopy_ops;
extern const struct transport_ops pipe_ops;
extern const struct transport_ops pipe_splice_ops;
extern const struct transport_ops fifo_ops;
extern const struct transport_ops socketpair_ops;
extern const struct transport_ops uds_stream_ops;
extern const struct transport_ops uds_dgram_ops;
extern const struct transport_ops uds_seqpacket_ops;
extern const struct transport_ops tcp_ops;
extern const struct transport_ops udp_ops;
extern const struct transport_ops mq_ops;
extern const struct transport_ops cma_ops;
#ifdef IPCBENCH_HAVE_URING
extern const struct transport_ops uring_ops;
#endif
extern const struct transport_ops shm_ops;
extern const struct transport_ops shm_spin_ops;
extern const struct transport_ops shm_sem_ops;
extern const struct transport_ops shm_eventfd_ops;
extern const struct transport_ops shm_loan_ops;
extern const struct transport_ops memfd_ops;
extern const struct transport_ops memfd_pool_ops;
extern const struct transport_ops zmq_ipc_ops;
extern const struct transport_ops zmq_tcp_ops;
extern const struct transport_ops thread_ring_ops;
extern const struct transport_ops thread_mutex_ops;
extern const struct transport_ops zmq_inproc_ops;

/* Floor rows first: every later row is read as a multiple of them. */
const struct transport_ops *const transport_registry[] = {
	&floor_cacheline_ops,
	&floor_wake_ops,
	&floor_memcpy_ops,
	&floor_xcopy_ops,
	&pipe_ops,
	&pipe_splice_ops,
	&fifo_ops,
	&socketpair_ops,
	&uds_stream_ops,
	&uds_dgram_ops,
	&uds_seqpacket_ops,
	&tcp_ops,
	&udp_ops,
	&mq_ops,
	&cma_ops,
#ifdef IPCBENCH_HAVE_URING
	&uring_ops,
#endif
	&shm_ops,
	&shm_spin_ops,
	&shm_sem_ops,
	&shm_eventfd_ops,
	&shm_loan_ops,
	&memfd_ops,
	&memfd_pool_ops,
	&zmq_ipc_ops,
	&zmq_tcp_ops,
	&thread_ring_ops,
	&thread_mutex_ops,
	&zmq_inproc_ops,
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
