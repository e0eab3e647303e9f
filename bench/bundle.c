/* The -o bundle: results.json and results.csv. */
#include "bundle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

static FILE *open_in(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int bundle_write(const char *dir, const json_t *doc, bool quiet)
{
	char path[4096];
	(void)quiet;
	FILE *f = open_in(dir, "results.json", path, sizeof(path));
	if (!f)
		return -1;
	int bad = json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0;
	bad |= fclose(f) != 0;
	if (!(f = open_in(dir, "results.csv", path, sizeof(path))))
		return -1;
	bad |= write_csv(doc, f) != 0;
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ipcbench: writing the results in %s failed\n", dir);
	return bad ? -1 : 0;
}

int bundle_plot_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ipcbench: plot: not available in this build\n");
	return 2;
}

int compare_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ipcbench: compare: not available in this build\n");
	return 2;
}
