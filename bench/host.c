/* The host block: read at run time, never assumed. */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zmq.h>

#include "version.h"

int64_t host_read_limit(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long long v;
	int ok = fscanf(f, "%lld", &v) == 1;
	fclose(f);
	return ok && v >= 0 ? (int64_t)v : -1;
}

static void cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* A limit as a JSON integer, or null when this kernel does not expose it. */
static json_t *limit(const char *path)
{
	int64_t v = host_read_limit(path);
	return v < 0 ? json_null() : json_integer(v);
}

json_t *host_json(void)
{
	struct utsname u;
	uname(&u);
	char cpu[256];
	cpu_model(cpu, sizeof(cpu));
	int zmaj, zmin, zpat;
	zmq_version(&zmaj, &zmin, &zpat);
	char zver[32];
	snprintf(zver, sizeof(zver), "%d.%d.%d", zmaj, zmin, zpat);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	json_t *limits = json_object();
	json_object_set_new(limits, "pipe_max_size_bytes", limit("/proc/sys/fs/pipe-max-size"));
	json_object_set_new(limits, "mq_msg_max", limit("/proc/sys/fs/mqueue/msg_max"));
	json_object_set_new(limits, "mq_msgsize_max_bytes", limit("/proc/sys/fs/mqueue/msgsize_max"));
	json_object_set_new(limits, "socket_wmem_default_bytes", limit("/proc/sys/net/core/wmem_default"));
	json_object_set_new(limits, "socket_wmem_max_bytes", limit("/proc/sys/net/core/wmem_max"));
	json_object_set_new(limits, "unix_dgram_qlen", limit("/proc/sys/net/unix/max_dgram_qlen"));
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:o}",
			 "kernel", u.release, "machine", u.machine, "cpu_model", cpu,
			 "ncpu", (int)sysconf(_SC_NPROCESSORS_ONLN), "mem_bytes", (json_int_t)pages * page,
			 "libzmq", zver, "compiler", IPCBENCH_COMPILER, "build_type", IPCBENCH_BUILD_TYPE,
			 "git_rev", IPCBENCH_GIT_REV, "limits", limits);
}
