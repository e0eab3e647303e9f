/* Sizes, durations and rates in and out: strict, overflow-checked parsers for command-line values, and their printed forms. */
#ifndef IPCBENCH_PARSE_H
#define IPCBENCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIZE_ARG_MAX (UINT64_C(1) << 30) /* 1 GiB: the largest message -s accepts */

/** "64", "4K", "1M", "1G" (1024-based, case-insensitive suffix) into 1..SIZE_ARG_MAX. 0 or -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *out);

/** "0.5", "2", "2s", "500ms", "250us" (plain decimals: no sign, exponent or hex) into
 *  nanoseconds, 1 us .. 1 hour. 0 or -EINVAL/-ERANGE. */
int parse_duration(const char *s, int64_t *out_ns);

/** A whole run's time: a plain decimal with s, m or h (or none: seconds), 1s..24h. 0 or -EINVAL/-ERANGE. */
int parse_budget(const char *s, int64_t *out_ns);

/** A whole decimal number in [min, max]. 0 or -EINVAL/-ERANGE. */
int parse_uint(const char *s, long min, long max, long *out);

/**
 * Split a comma-separated list into at most max items (pointers into buf,
 * which is modified). Empty items ("a,,b", "", "a,") are an error.
 * @return the number of items, or -EINVAL / -E2BIG.
 */
int parse_list(char *buf, char **items, int max);

/** Format a byte count the way -s takes it: 64, 4K, 1M; non-multiples in plain bytes. */
const char *format_size(uint64_t bytes, char *buf, size_t len);

/** Format nanoseconds as 812 ns, 21.4 us, 3.05 ms, 1.20 s; "-" when not a number. */
const char *fmt_ns(double ns, char *buf, size_t len);

/** Format bytes per second as 812 B/s ... 12.3 GB/s (decimal, as bandwidth is quoted). */
const char *fmt_rate(double bytes_per_s, char *buf, size_t len);

#endif
