/* Whether the per-message system calls go inline or through the C library (sys_inline.h). */
#include "sys_inline.h"

#include <stdlib.h>
#include <string.h>

bool sys_via_libc;

int sys_inline_init(void)
{
	const char *how = getenv("IPCBENCH_SYSCALLS");
	if (!how || !strcmp(how, "inline")) {
		sys_via_libc = false;
		return 0;
	}
	if (strcmp(how, "libc"))
		return -EINVAL;
	sys_via_libc = true;
	return 0;
}
