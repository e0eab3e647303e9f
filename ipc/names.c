/* Random object names from the kernel's entropy pool. */
#include "names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

int tp_random_name(char *buf, size_t len, const char *lead, const char *tag)
{
	uint64_t r;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -errno;
	int n = snprintf(buf, len, "%s" TP_NAME_PREFIX "%s-%016" PRIx64, lead, tag, r);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
