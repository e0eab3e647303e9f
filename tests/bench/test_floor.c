/* The floor rows: one cache line between two pinned threads, and memcpy on one CPU. */
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "msg.h"

#define MS (INT64_C(1000000))

extern const struct transport_ops floor_cacheline_ops, floor_memcpy_ops;

/* The cache line's round trip goes through the runner's pingpong loop, every echo checked. */
static void test_cacheline_pingpong(void **state)
{
	(void)state;
	struct case_spec c = test_case(&floor_cacheline_ops, PAT_PINGPONG, 64, 50 * MS);
	char why[256];
	if (c.cpu[0] == c.cpu[1]) {
		assert_true(case_unsupported(&c, why, sizeof(why))); /* spins: needs two CPUs */
		skip();
	}
	assert_false(case_unsupported(&c, why, sizeof(why)));
	struct rep_result r;
	assert_int_equal(run_once(&c, &r), 0);
	if (!r.ok)
		print_error("%s\n", r.reason);
	assert_true(r.ok);
	assert_true(r.msgs > 0);
	assert_int_equal(r.rtt.count, r.msgs);
	assert_int_equal(msg_errors_total(&r.errors), 0);
}

/* It carries 64 B only, never streams, and refuses one CPU for both sides. */
static void test_cacheline_limits(void **state)
{
	(void)state;
	char why[256];
	struct case_spec c = test_case(&floor_cacheline_ops, PAT_STREAM, 64, 50 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
	c = test_case(&floor_cacheline_ops, PAT_PINGPONG, 64, 50 * MS);
	c.cpu[1] = c.cpu[0];
	assert_true(case_unsupported(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "two CPUs"));
	struct tp_params p = { .msg_bytes = 128, .timeout_ns = 100 * MS };
	struct tp_err err = { { 0 } };
	void *st = calloc(1, floor_cacheline_ops.state_size);
	assert_true(floor_cacheline_ops.setup(st, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "64 B"));
	floor_cacheline_ops.teardown(st);
	free(st);
}

/* memcpy per size, timed on one CPU with no peer, copying every byte. */
static void test_memcpy_stream(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 64, 4096, 1024 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct case_spec c = test_case(&floor_memcpy_ops, PAT_STREAM, sizes[i], 20 * MS);
		struct rep_result r;
		assert_int_equal(run_once(&c, &r), 0);
		if (!r.ok)
			print_error("%zu B: %s\n", sizes[i], r.reason);
		assert_true(r.ok);
		assert_true(r.msgs > 0);
		assert_int_equal(msg_errors_total(&r.errors), 0);
	}
	char why[256];
	struct case_spec c = test_case(&floor_memcpy_ops, PAT_PINGPONG, 64, 20 * MS);
	assert_true(case_unsupported(&c, why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacheline_pingpong),
		cmocka_unit_test(test_cacheline_limits),
		cmocka_unit_test(test_memcpy_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
