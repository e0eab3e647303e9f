/* A receive that copies only part of each message (partial_copy.c, preloaded) fails every row as corrupt. */
#include "registry.h"
#include "support.h"

#include <dlfcn.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PARTIAL_COPY_SO
#error "PARTIAL_COPY_SO names the interposer library (tests/e2e/CMakeLists.txt)"
#endif

#define AFTER_VAR "IPCBENCH_PARTIAL_COPY_AFTER"
#define KEEP 64 /* what the interposer copies of each receive */
/*
 * Receives per process left whole: the first messages arrive intact, so what
 * a cut receive leaves behind is a real previous message (the hole), not the
 * buffer's first contents. Few, so that even a slow run cuts most messages.
 */
#define CUT_AFTER 20

/*
 * Every fd mechanism that receives with read() or recv(), both patterns, sizes
 * far above KEEP (and within udp's 65,507 B datagram).
 */
static const char *const run_args[] = {
	"-m", "pipe,socketpair,uds-stream,tcp,uds-seqpacket,udp,pipe-splice", "-p", "pingpong,stream", "-s", "4K,60K",
	"-d", "0.1", "-r", "1", "--json", "--quiet", NULL,
};
#define ROWS (7 * 2 * 2)

/*
 * Run the tool with the interposer preloaded; after >= 0 switches it on after
 * that many receives per process. The preload goes into the child's
 * environment only: the test process itself keeps its own read().
 */
static json_t *run_preloaded(long after, int *rc, char **err)
{
	char preload[1024], cut[64], asan[1024];
	const char *theirs = getenv("LD_PRELOAD");
	char *saved = theirs ? strdup(theirs) : NULL;
	/* ld.so takes the last LD_PRELOAD of the environment, getenv the first: keep only one */
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s%s%s", PARTIAL_COPY_SO, saved ? ":" : "",
		 saved ? saved : "");
	if (saved)
		unsetenv("LD_PRELOAD");
	/* a sanitizer build wants its runtime first in the list; ours comes first, and is harmless */
	const char *asan_opts = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan_opts ? asan_opts : "",
		 asan_opts ? ":" : "");
	snprintf(cut, sizeof(cut), AFTER_VAR "=%ld", after);
	/* the per-message calls go through the C library only when asked (ipc/sys_inline.h) */
	const char *env[] = { "IPCBENCH_SYSCALLS=libc", preload, asan, after >= 0 ? cut : NULL, NULL };
	char *out = NULL;
	*rc = tool_run_env(run_args, env, &out, err, 120);
	if (saved) {
		setenv("LD_PRELOAD", saved, 1);
		free(saved);
	}
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	if (!doc)
		print_error("stdout is not JSON (%s): %.400s\nstderr: %.2000s\n", jerr.text, out, *err);
	free(out);
	assert_non_null(doc);
	json_t *results = json_object_get(doc, "results");
	assert_true(json_is_array(results));
	return doc;
}

static const char *row_str(json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));
	return s ? s : "";
}

static json_int_t row_errors(json_t *row, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(row, "errors"), key));
}

static void print_rows(json_t *results)
{
	size_t i;
	json_t *row;
	json_array_foreach(results, i, row)
		print_error("  %s %s %lld B: %s, corrupt %lld: %s\n", row_str(row, "mechanism"), row_str(row, "pattern"),
			    (long long)json_integer_value(json_object_get(row, "size_bytes")), row_str(row, "status"),
			    (long long)row_errors(row, "corrupt"), row_str(row, "reason"));
}

/* The interposer itself, loaded privately into this process: the first 64 bytes arrive, the rest is left alone. */
static void test_interposer_cuts_copies(void **state)
{
	(void)state;
	setenv(AFTER_VAR, "1", 1);
	void *lib = dlopen(PARTIAL_COPY_SO, RTLD_NOW | RTLD_LOCAL); /* local: our own read() stays libc's */
	unsetenv(AFTER_VAR);
	assert_non_null(lib);
	ssize_t (*cut_read)(int, void *, size_t) = (ssize_t (*)(int, void *, size_t))dlsym(lib, "read");
	assert_non_null(cut_read);
	unsigned char sent[4096], got[4096];
	for (size_t i = 0; i < sizeof(sent); i++)
		sent[i] = (unsigned char)(i * 7 + 1);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	for (int call = 0; call < 3; call++) {
		size_t len = call == 2 ? KEEP : sizeof(sent);
		assert_int_equal(write(fds[1], sent, len), (ssize_t)len);
		memset(got, 0xee, sizeof(got));
		assert_int_equal(cut_read(fds[0], got, len), (ssize_t)len); /* every byte claimed */
		assert_memory_equal(got, sent, call == 1 ? KEEP : len); /* whole before the cut, a head after */
		if (call == 1)
			for (size_t i = KEEP; i < len; i++)
				assert_int_equal(got[i], 0xee);
	}
	close(fds[0]);
	close(fds[1]);
	dlclose(lib);
}

/* Preloaded but not switched on: nothing changes, every row is ok. */
static void test_preload_alone_is_harmless(void **state)
{
	(void)state;
	int rc;
	char *err = NULL;
	json_t *doc = run_preloaded(-1, &rc, &err);
	json_t *results = json_object_get(doc, "results");
	size_t i, ok = 0;
	json_t *row;
	json_array_foreach(results, i, row) {
		const struct transport_ops *ops = transport_find(row_str(row, "mechanism"));
		/* no flow control (udp): a stream may lose messages, and only lose them */
		bool lossy = ops && (ops->flags & TP_LOSSY) && row_errors(row, "lost") > 0 &&
			     row_errors(row, "duplicate") + row_errors(row, "reordered") + row_errors(row, "corrupt") == 0;
		ok += (strcmp(row_str(row, "status"), "ok") == 0 && row_errors(row, "corrupt") == 0) || lossy;
	}
	if ((rc != 0 && rc != 1) || json_array_size(results) != ROWS || ok != ROWS) {
		print_error("exit %d (want 0), %zu rows (want %d), %zu ok:\n", rc, json_array_size(results), ROWS, ok);
		print_rows(results);
		print_error("stderr: %.2000s\n", err);
	}
	assert_true(rc == 0 || (rc == 1 && ok == ROWS)); /* 1: a lossy row failed as lost */
	assert_int_equal(json_array_size(results), ROWS);
	assert_int_equal(ok, ROWS);
	json_decref(doc);
	free(err);
}

/*
 * After the first CUT_AFTER receives of each process every receive copies
 * only its first 64 bytes (a header and a little payload; a later piece of a
 * stream message only its head) and leaves the rest of the buffer as the
 * previous message left it: every row fails verification with corrupt
 * messages. In stream only one message in 64 has its payload checked, and
 * that one is enough.
 */
static void test_partial_copy_is_corrupt(void **state)
{
	(void)state;
	int rc;
	char *err = NULL;
	json_t *doc = run_preloaded(CUT_AFTER, &rc, &err);
	json_t *results = json_object_get(doc, "results");
	size_t i, caught = 0;
	json_t *row;
	json_array_foreach(results, i, row)
		caught += strcmp(row_str(row, "status"), "failed") == 0 && strstr(row_str(row, "reason"), "verification") &&
			  row_errors(row, "corrupt") > 0;
	if (rc != 1 || json_array_size(results) != ROWS || caught != ROWS) {
		print_error("exit %d (want 1), %zu rows (want %d), %zu failed verification with corrupt messages:\n", rc,
			    json_array_size(results), ROWS, caught);
		print_rows(results);
		print_error("stderr: %.2000s\n", err);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(json_array_size(results), ROWS);
	assert_int_equal(caught, ROWS);
	json_decref(doc);
	free(err);
}

int main(void)
{
	unsetenv(AFTER_VAR); /* the runs decide for themselves */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interposer_cuts_copies),
		cmocka_unit_test(test_preload_alone_is_harmless),
		cmocka_unit_test(test_partial_copy_is_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
