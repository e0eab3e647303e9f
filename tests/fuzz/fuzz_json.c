/* libFuzzer target: the results reader of plot and compare, and everything that reads a document it accepted. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "results/compare.h"
#include "results/doc.h"
#include "results/output.h"
#include "results/report.h"

/* Two documents in one input, for compare: BASE, this line, NEW. Without it the input is compared with itself. */
#define SPLIT "\n----\n"
#define INPUT_MAX_BYTES (1 << 17)

static int doc_fd[2] = { -1, -1 };
static char doc_path[2][64];
static FILE *sink;
static char charts_dir[PATH_MAX];

/* Put bytes where doc_load can open them by path: a memfd, seen as /proc/self/fd/N. */
static void as_file(int i, const uint8_t *data, size_t len)
{
	if (ftruncate(doc_fd[i], 0) || (len && pwrite(doc_fd[i], data, len, 0) != (ssize_t)len))
		abort();
}

/* At exit: the .gp and .dat files charts_write left (gnuplot is out of reach, so no .png), then the directory. */
static void remove_charts_dir(void)
{
	DIR *d = opendir(charts_dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(charts_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < 2; i++) {
		doc_fd[i] = memfd_create("doc", MFD_CLOEXEC);
		if (doc_fd[i] < 0)
			abort();
		snprintf(doc_path[i], sizeof(doc_path[i]), "/proc/self/fd/%d", doc_fd[i]);
	}
	sink = fopen("/dev/null", "we");
	/* Charts go to a directory of this fuzzer's own, beside its binary; gnuplot is kept out of reach. */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || !sink)
		abort();
	exe[n] = '\0';
	snprintf(charts_dir, sizeof(charts_dir), "%s/fuzz_json-charts-XXXXXX", dirname(exe));
	if (!mkdtemp(charts_dir))
		abort();
	atexit(remove_charts_dir);
	setenv("PATH", "/nonexistent", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len > INPUT_MAX_BYTES)
		return 0;
	const uint8_t *split = memmem(data, len, SPLIT, strlen(SPLIT));
	size_t base_len = split ? (size_t)(split - data) : len;
	as_file(0, data, base_len);
	if (split)
		as_file(1, split + strlen(SPLIT), len - base_len - strlen(SPLIT));
	else
		as_file(1, data, len);

	json_t *doc = doc_load(doc_path[0], "fuzz");
	if (doc) {
		write_csv(doc, sink);
		write_markdown(doc, sink);
		struct chart_set charts;
		charts_write(charts_dir, doc, &charts, 1);
		report_write(doc, &charts, sink);
		json_decref(doc);
	}
	char *argv[] = { "compare", doc_path[0], doc_path[1], NULL };
	compare_main(3, argv);
	return 0;
}
