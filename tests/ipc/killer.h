/* Signal one side of a run while run_once() drives it: the sides are found among the caller's children. */
#ifndef IPCBENCH_TEST_KILLER_H
#define IPCBENCH_TEST_KILLER_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* killer is a thread that waits for the runner's children, then signals one of them. */
struct killer {
	pthread_t thread;
	pid_t pid, tid;    /* the thread whose children are the sides (run_once's caller) */
	int which;         /* 0: the first child (side A, or the thread host), 1: side B */
	int sig;
	int64_t delay_ns;  /* after the child appeared: lets the run reach its timed loop */
	pid_t victim;      /* the pid signalled, 0 when none was found */
};

/* The pids listed in /proc/<pid>/task/<tid>/children, up to max; their count. */
static int killer_children(const struct killer *k, pid_t *out, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)k->pid, (int)k->tid);
	FILE *f = fopen(path, "re");
	int n = 0, v;
	while (f && n < max && fscanf(f, "%d", &v) == 1)
		out[n++] = v;
	if (f)
		fclose(f);
	return n;
}

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	const struct timespec tick = { 0, 1000000 };
	int64_t give_up = now_ns() + 10 * NS_PER_S;
	pid_t kids[4];
	while (killer_children(k, kids, 4) <= k->which) {
		if (now_ns() > give_up)
			return NULL;
		nanosleep(&tick, NULL);
	}
	struct timespec d = { (time_t)(k->delay_ns / NS_PER_S), (long)(k->delay_ns % NS_PER_S) };
	nanosleep(&d, NULL);
	/* Still the same child? The list changes only when the run ended early. */
	pid_t now[4];
	if (killer_children(k, now, 4) > k->which && now[k->which] == kids[k->which] &&
	    kill(kids[k->which], k->sig) == 0)
		k->victim = kids[k->which];
	return NULL;
}

/** Start a thread that sends sig to child number `which` of the calling thread, delay_ns after it appears. */
static inline void killer_start(struct killer *k, int which, int sig, int64_t delay_ns)
{
	*k = (struct killer){ .pid = getpid(), .tid = gettid(), .which = which, .sig = sig,
			      .delay_ns = delay_ns };
	pthread_create(&k->thread, NULL, killer_main, k);
}

/** Wait for the thread; the pid it signalled, or 0. */
static inline pid_t killer_join(struct killer *k)
{
	pthread_join(k->thread, NULL);
	return k->victim;
}

#endif
