/* Command-line value parsers: what they take, what they refuse, and where the bounds are. */
#include "support.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* A value that must be refused with rc; *out is left alone. */
static void size_bad(const char *s, int rc)
{
	uint64_t v = 777;
	int got = parse_size(s, &v);
	if (got != rc) {
		print_error("parse_size(\"%s\") = %d, want %d\n", s, got, rc);
		fail();
	}
	assert_int_equal(v, 777);
}

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	int got = parse_size(s, &v);
	if (got != 0 || v != want) {
		print_error("parse_size(\"%s\") = %d, %llu; want 0, %llu\n", s, got, (unsigned long long)v,
			    (unsigned long long)want);
		fail();
	}
}

static void test_size(void **state)
{
	(void)state;
	size_ok("1", 1);
	size_ok("64", 64);
	size_ok("00064", 64);
	size_ok("4K", 4096);
	size_ok("4k", 4096);
	size_ok("4KB", 4096);
	size_ok("4KiB", 4096);
	size_ok("4kib", 4096);
	size_ok("1M", 1 << 20);
	size_ok("1024M", UINT64_C(1) << 30);
	size_ok("1G", UINT64_C(1) << 30);
	size_ok("1048576K", UINT64_C(1) << 30);
	size_ok("1073741824", SIZE_ARG_MAX);

	size_bad("0", -ERANGE);
	size_bad("0K", -ERANGE);
	size_bad("1025M", -ERANGE);
	size_bad("2G", -ERANGE);
	size_bad("1048577K", -ERANGE);
	size_bad("1073741825", -ERANGE);
	size_bad("18446744073709551615", -ERANGE);  /* 20 digits, fits in 64 bits */
	size_bad("18446744073709551616", -ERANGE);  /* 2^64 */
	size_bad("99999999999999999999", -ERANGE);
	size_bad("99999999999999999999K", -ERANGE);
	size_bad("17179869184G", -ERANGE);          /* the shift would overflow */

	size_bad("", -EINVAL);
	size_bad("-5", -EINVAL);
	size_bad("+5", -EINVAL);
	size_bad("12Q", -EINVAL);
	size_bad(" 7", -EINVAL);
	size_bad("7 ", -EINVAL);
	size_bad("0.5", -EINVAL);
	size_bad("0.5K", -EINVAL);
	size_bad("1e3", -EINVAL);
	size_bad("0x10", -EINVAL);
	size_bad("K", -EINVAL);
	size_bad("4KK", -EINVAL);
	size_bad("4KBB", -EINVAL);
	size_bad("4KiBx", -EINVAL);
	size_bad("4T", -EINVAL);
	size_bad("4B", -EINVAL);
	size_bad("nan", -EINVAL);
	size_bad("inf", -EINVAL);
	size_bad("4,096", -EINVAL);
}

#define NS INT64_C(1000000000)

static void dur_bad(const char *s, int rc)
{
	int64_t v = 777;
	int got = parse_duration(s, &v);
	if (got != rc) {
		print_error("parse_duration(\"%s\") = %d, want %d\n", s, got, rc);
		fail();
	}
	assert_int_equal(v, 777);
}

static void dur_ok(const char *s, int64_t want_ns)
{
	int64_t v = 0;
	int got = parse_duration(s, &v);
	if (got != 0 || v != want_ns) {
		print_error("parse_duration(\"%s\") = %d, %lld ns; want 0, %lld ns\n", s, got, (long long)v,
			    (long long)want_ns);
		fail();
	}
}

/* --budget: a whole run's time in s, m or h, 1 s to 24 h. */
static void test_budget(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		int64_t ns;
	} cases[] = {
		{ "90s", 0, 90 * NS }, { "90", 0, 90 * NS }, { "10m", 0, 600 * NS }, { "1h", 0, 3600 * NS },
		{ "1.5m", 0, 90 * NS }, { "24h", 0, 86400 * NS }, { "2.", 0, 2 * NS },
		{ "0", -ERANGE, 0 }, { "0.5s", -ERANGE, 0 }, { "25h", -ERANGE, 0 }, { "", -EINVAL, 0 },
		{ ".", -EINVAL, 0 }, { "10x", -EINVAL, 0 }, { "10ms", -EINVAL, 0 }, { "-1m", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 }, { "m", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 777;
		int rc = parse_budget(cases[i].s, &v);
		if (rc != cases[i].rc || (rc == 0 && v != cases[i].ns) || (rc != 0 && v != 777)) {
			print_error("parse_budget(\"%s\") = %d, %lld ns; want %d, %lld ns\n", cases[i].s, rc,
				    (long long)v, cases[i].rc, (long long)cases[i].ns);
			fail();
		}
	}
}

static void test_duration(void **state)
{
	(void)state;
	dur_ok("0.5", 500000000);
	dur_ok(".5", 500000000);
	dur_ok("2", 2000000000);
	dur_ok("2.", 2000000000);
	dur_ok("2s", 2000000000);
	dur_ok("500ms", 500000000);
	dur_ok("250us", 250000);
	dur_ok("1us", 1000);
	dur_ok("0.001ms", 1000);
	dur_ok("1.001", 1001000000);    /* not 1000999999: rounded, not truncated */
	dur_ok("0.000065", 65000);
	dur_ok("3600", 3600 * INT64_C(1000000000));
	dur_ok("3600000ms", 3600 * INT64_C(1000000000));

	dur_bad("0", -ERANGE);
	dur_bad("0s", -ERANGE);
	dur_bad("0.5us", -ERANGE);
	dur_bad("3601", -ERANGE);
	dur_bad("99999999999999999999", -ERANGE);

	/* exponents and hex are not plain decimals: "1e3" would silently mean 1000 s */
	dur_bad("1e3", -EINVAL);
	dur_bad("1E3", -EINVAL);
	dur_bad("0x10", -EINVAL);
	dur_bad("0x1p3", -EINVAL);
	dur_bad("1h", -EINVAL);
	dur_bad("1m", -EINVAL);
	dur_bad("1ns", -EINVAL);
	dur_bad("1S", -EINVAL);
	dur_bad("nan", -EINVAL);
	dur_bad("inf", -EINVAL);
	dur_bad("infinity", -EINVAL);
	dur_bad("", -EINVAL);
	dur_bad(".", -EINVAL);
	dur_bad("s", -EINVAL);
	dur_bad("-5", -EINVAL);
	dur_bad("+5", -EINVAL);
	dur_bad(" 7", -EINVAL);
	dur_bad("7 ", -EINVAL);
	dur_bad("1.2.3", -EINVAL);
	dur_bad("abc", -EINVAL);
	dur_bad("5 ms", -EINVAL);
}

/* Every whole millisecond up to a minute comes out exact (no truncation to ...999 ns). */
static void test_duration_exact_ms(void **state)
{
	(void)state;
	char buf[32];
	for (long ms = 1; ms <= 60000; ms++) {
		snprintf(buf, sizeof(buf), "%ld.%03ld", ms / 1000, ms % 1000);
		int64_t v = 0;
		assert_int_equal(parse_duration(buf, &v), 0);
		if (v != ms * INT64_C(1000000)) {
			print_error("parse_duration(\"%s\") = %lld ns\n", buf, (long long)v);
			fail();
		}
	}
}

static void test_uint(void **state)
{
	(void)state;
	long v = 777;
	assert_int_equal(parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_uint("1", 1, 1000, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_uint("1000", 1, 1000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(parse_uint("007", 1, 1000, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_uint("3", -5, 10, &v), 0); /* a negative min is a bound, not a wrap */
	assert_int_equal(v, 3);
	assert_int_equal(parse_uint("9223372036854775807", 0, LONG_MAX, &v), 0);
	assert_int_equal(v, LONG_MAX);

	v = 777;
	assert_int_equal(parse_uint("0", 1, 1000, &v), -ERANGE);
	assert_int_equal(parse_uint("1001", 1, 1000, &v), -ERANGE);
	assert_int_equal(parse_uint("11", -5, 10, &v), -ERANGE);
	assert_int_equal(parse_uint("9223372036854775808", 0, LONG_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551615", 0, LONG_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551616", 0, LONG_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("99999999999999999999", 0, LONG_MAX, &v), -ERANGE);
	assert_int_equal(parse_uint("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("-1", -5, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1x", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1K", 0, 10000, &v), -EINVAL);
	assert_int_equal(parse_uint("a", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1.0", 0, 10, &v), -EINVAL);
	assert_int_equal(v, 777);
}

static int list(const char *s, char **items, int max, char *buf, size_t len)
{
	snprintf(buf, len, "%s", s);
	return parse_list(buf, items, max);
}

static void test_list(void **state)
{
	(void)state;
	char buf[256];
	char *items[8];
	assert_int_equal(list("a", items, 8, buf, sizeof(buf)), 1);
	assert_string_equal(items[0], "a");
	assert_int_equal(list("pipe,tcp,shm", items, 8, buf, sizeof(buf)), 3);
	assert_string_equal(items[0], "pipe");
	assert_string_equal(items[1], "tcp");
	assert_string_equal(items[2], "shm");
	assert_int_equal(list("a,b", items, 2, buf, sizeof(buf)), 2);
	assert_int_equal(list("a b,c", items, 8, buf, sizeof(buf)), 2); /* items are not trimmed */
	assert_string_equal(items[0], "a b");

	assert_int_equal(list("", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list(",", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list("a,,b", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list(",a", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list("a,", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list("a,b,", items, 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(list("a,b,c", items, 2, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(list("a", items, 0, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(list("1,2,3,4,5,6,7,8,9", items, 8, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(list("1,2,3,4,5,6,7,8", items, 8, buf, sizeof(buf)), 8);
	assert_string_equal(items[7], "8");
}

static void fmt_is(uint64_t bytes, const char *want)
{
	char buf[32];
	assert_ptr_equal(format_size(bytes, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_format_size(void **state)
{
	(void)state;
	fmt_is(0, "0");
	fmt_is(1, "1");
	fmt_is(64, "64");
	fmt_is(1023, "1023");
	fmt_is(1024, "1K");
	fmt_is(1536, "1536");
	fmt_is(4096, "4K");
	fmt_is(65537, "65537");
	fmt_is(1025 * 1024, "1025K");
	fmt_is(1 << 20, "1M");
	fmt_is(3 << 20, "3M");
	fmt_is(UINT64_C(1) << 30, "1G");
	fmt_is(UINT64_C(1) << 40, "1024G"); /* no T: -s does not take it */
	fmt_is(UINT64_MAX, "18446744073709551615");

	char small[3];
	format_size(4096, small, sizeof(small));
	assert_string_equal(small, "4K");
	format_size(65536, small, sizeof(small));
	assert_string_equal(small, "64"); /* truncated, still terminated */

	/* what format_size prints, parse_size reads back */
	uint64_t seed = 42;
	char buf[32];
	for (int i = 0; i < 100000; i++) {
		seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
		uint64_t x = 1 + (seed >> 20) % SIZE_ARG_MAX;
		if (i % 4 == 0)
			x = ((x >> (i % 3 * 10)) | 1) << (i % 3 * 10); /* some exact K and M multiples */
		if (x > SIZE_ARG_MAX)
			continue;
		uint64_t back = 0;
		assert_int_equal(parse_size(format_size(x, buf, sizeof(buf)), &back), 0);
		assert_int_equal(back, x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_duration_exact_ms),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_format_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
