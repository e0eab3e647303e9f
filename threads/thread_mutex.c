/* thread-mutex: a bounded queue of message slots under a pthread mutex and two condition variables. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench/clock.h"
#include "../ipc/transport.h"

#define THREAD_MUTEX_QUEUE_BYTES ((size_t)4 * 1024 * 1024) /* slots per queue: what fits here, within 2..64 */

/* thread_mutex_queue is one direction: depth slots of slot_bytes, copied into and out of under the lock. */
struct thread_mutex_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	int made;            /* lock and conditions initialised */
	unsigned depth;
	unsigned first;      /* oldest filled slot */
	unsigned count;      /* filled slots */
	size_t slot_bytes;
	size_t *lens;        /* message length per slot */
	unsigned char *slots;
};

/* thread_mutex_state points at both queues; the threads only read it after setup. */
struct thread_mutex_state {
	struct thread_mutex_queue *q[2]; /* [0] A to B, [1] B to A */
};

/* thread_mutex_end is one thread's two queues. */
struct thread_mutex_end {
	struct thread_mutex_queue *tx;
	struct thread_mutex_queue *rx;
};

static struct thread_mutex_queue *thread_mutex_queue_new(size_t slot_bytes)
{
	struct thread_mutex_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	size_t depth = slot_bytes ? THREAD_MUTEX_QUEUE_BYTES / slot_bytes : 64;
	q->depth = depth < 2 ? 2 : depth > 64 ? 64 : (unsigned)depth;
	q->slot_bytes = slot_bytes;
	q->lens = calloc(q->depth, sizeof(*q->lens));
	q->slots = calloc(q->depth, slot_bytes ? slot_bytes : 1);
	pthread_condattr_t ca;
	if (!q->lens || !q->slots || pthread_condattr_init(&ca))
		return q;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines from now_ns(), immune to clock steps */
	if (!pthread_mutex_init(&q->lock, NULL)) {
		if (!pthread_cond_init(&q->not_empty, &ca) && !pthread_cond_init(&q->not_full, &ca))
			q->made = 1;
	}
	pthread_condattr_destroy(&ca);
	return q;
}

static void thread_mutex_queue_free(struct thread_mutex_queue *q)
{
	if (!q)
		return;
	if (q->made) {
		pthread_cond_destroy(&q->not_empty);
		pthread_cond_destroy(&q->not_full);
		pthread_mutex_destroy(&q->lock);
	}
	free(q->lens);
	free(q->slots);
	free(q);
}

/* Wait on cv until *deadline_ns, set here the first time: only a wait pays for the clock. */
static int thread_mutex_wait(pthread_cond_t *cv, pthread_mutex_t *lock, int64_t timeout_ns, int64_t *deadline_ns)
{
	if (*deadline_ns == 0)
		*deadline_ns = now_ns() + timeout_ns;
	struct timespec ts = { (time_t)(*deadline_ns / NS_PER_S), (long)(*deadline_ns % NS_PER_S) };
	return pthread_cond_timedwait(cv, lock, &ts);
}

static int thread_mutex_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct thread_mutex_state *ts = st;
	for (int i = 0; i < 2; i++) {
		ts->q[i] = thread_mutex_queue_new(p->msg_bytes);
		if (!ts->q[i] || !ts->q[i]->made)
			return tp_fail(err, ENOMEM, "thread-mutex: no memory for a queue of %zu B slots", p->msg_bytes);
	}
	return 0;
}

static int thread_mutex_attach(void *st, void *end, enum tp_side side, const struct tp_params *p,
			       struct tp_err *err)
{
	struct thread_mutex_state *ts = st;
	struct thread_mutex_end *te = end;
	(void)p;
	(void)err;
	te->tx = ts->q[side == TP_SIDE_A ? 0 : 1];
	te->rx = ts->q[side == TP_SIDE_A ? 1 : 0];
	return 0;
}

static int thread_mutex_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct thread_mutex_queue *q = ((struct thread_mutex_end *)end)->tx;
	if (len > q->slot_bytes)
		return -EMSGSIZE;
	int64_t deadline = 0;
	int rc = 0;
	pthread_mutex_lock(&q->lock);
	while (q->count == q->depth && !rc)
		rc = thread_mutex_wait(&q->not_full, &q->lock, timeout_ns, &deadline);
	if (q->count < q->depth) {
		unsigned i = (q->first + q->count) % q->depth;
		memcpy(q->slots + i * q->slot_bytes, buf, len);
		q->lens[i] = len;
		q->count++;
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	if (!rc)
		pthread_cond_signal(&q->not_empty); /* after the unlock: the woken thread never finds the lock held */
	return -rc;
}

static ssize_t thread_mutex_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	struct thread_mutex_queue *q = ((struct thread_mutex_end *)end)->rx;
	(void)len;
	int64_t deadline = 0;
	ssize_t rc = 0;
	bool took = false;
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !rc)
		rc = thread_mutex_wait(&q->not_empty, &q->lock, timeout_ns, &deadline);
	if (q->count > 0) {
		unsigned i = q->first;
		size_t n = q->lens[i];
		if (n <= cap)
			memcpy(buf, q->slots + i * q->slot_bytes, n);
		q->first = (q->first + 1) % q->depth;
		q->count--;
		took = true;
		rc = n <= cap ? (ssize_t)n : -EMSGSIZE;
	} else {
		rc = -rc;
	}
	pthread_mutex_unlock(&q->lock);
	if (took)
		pthread_cond_signal(&q->not_full);
	return rc;
}

static void thread_mutex_detach(void *end)
{
	(void)end;
}

static void thread_mutex_teardown(void *st)
{
	struct thread_mutex_state *ts = st;
	for (int i = 0; i < 2; i++) {
		thread_mutex_queue_free(ts->q[i]);
		ts->q[i] = NULL;
	}
}

const struct transport_ops thread_mutex_ops = {
	.name = "thread-mutex",
	.group = "thread",
	.summary = "bounded queue of message slots, copied in and out under a pthread mutex; condvar waits",
	.flags = TP_BOUNDARIES,
	.copies = 2,
	.state_size = sizeof(struct thread_mutex_state),
	.end_size = sizeof(struct thread_mutex_end),
	.setup = thread_mutex_setup,
	.attach = thread_mutex_attach,
	.send = thread_mutex_send,
	.recv = thread_mutex_recv,
	.detach = thread_mutex_detach,
	.teardown = thread_mutex_teardown,
};
