/* The one clock every row is timed with. */
#ifndef IPCBENCH_CLOCK_H
#define IPCBENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S INT64_C(1000000000)

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* One turn of a busy-wait: gives the sibling hyperthread the core and saves power. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Milliseconds left until deadline_ns, for poll(); never negative, rounded up. */
static inline int ms_until(int64_t deadline_ns)
{
	int64_t left = deadline_ns - now_ns();
	if (left <= 0)
		return 0;
	int64_t ms = (left + 999999) / 1000000;
	return ms > 1000000 ? 1000000 : (int)ms;
}

#endif
