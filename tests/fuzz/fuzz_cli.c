/* libFuzzer target: the command line and the value parsers behind it, on hostile input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse.h"

#define MAX_ARGS 32

/* The parsers alone, on the whole input as one string. */
static void fuzz_values(const char *s)
{
	uint64_t size;
	int64_t ns;
	long v;
	char buf[256], *items[16];
	if (parse_size(s, &size) == 0 && (size == 0 || size > SIZE_ARG_MAX))
		abort();
	if (parse_duration(s, &ns) == 0 && (ns < 1000 || ns > INT64_C(3600000000000)))
		abort();
	if (parse_uint(s, 1, 1000, &v) == 0 && (v < 1 || v > 1000))
		abort();
	snprintf(buf, sizeof(buf), "%s", s);
	int n = parse_list(buf, items, 16);
	for (int i = 0; i < n; i++)
		if (items[i][0] == '\0')
			abort();
	format_size(size, buf, sizeof(buf));
}

/* -o creates directories, --help and --version print texts: not what is fuzzed here. */
static bool creates_or_prints(const char *arg)
{
	if (arg[0] != '-')
		return false;
	if (arg[1] == '-') /* long options match by unambiguous prefix */
		return strncmp(arg, "--o", 3) == 0 || strncmp(arg, "--h", 3) == 0 ||
		       (strncmp(arg, "--v", 3) == 0 && strncmp(arg, "--veri", 6) != 0);
	return strpbrk(arg + 1, "ohV") != NULL; /* a short option, or a group like -qo */
}

/* The input split at NUL bytes into argv. */
static void fuzz_argv(const char *data, size_t len)
{
	char *copy = malloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = '\0';
	char *argv[MAX_ARGS + 2] = { "ipcbench" };
	int argc = 1;
	for (char *p = copy; p < copy + len && argc < MAX_ARGS; p += strlen(p) + 1) {
		if (creates_or_prints(p))
			continue;
		argv[argc++] = p;
	}
	struct config cfg;
	int rc = cli_parse(argc, argv, &cfg);
	if (rc == 0 && (cfg.reps < 1 || cfg.n_sizes < 1 || cfg.n_sizes > MAX_SIZES))
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len > 4096)
		return 0;
	char *s = malloc(len + 1);
	memcpy(s, data, len);
	s[len] = '\0';
	fuzz_values(s);
	free(s);
	fuzz_argv((const char *)data, len);
	return 0;
}
