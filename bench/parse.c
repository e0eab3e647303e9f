/* Command-line value parsers, each rejecting the whole value rather than guess, and the printed forms of sizes, times and rates. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Digits only, no sign, no spaces: strtoull alone accepts "-5" and " 7". */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int rc = parse_digits(s, &end, &v);
	if (rc)
		return rc;
	unsigned shift = 0;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		default: return -EINVAL;
		}
		end++;
		if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I') {
			/* tolerate "4KB" and "4KiB": both mean 4096 here */
			if (toupper((unsigned char)*end) == 'I' && toupper((unsigned char)end[1]) == 'B')
				end++;
			end++;
		}
		if (*end)
			return -EINVAL;
	}
	if (v > (SIZE_ARG_MAX >> shift))
		return -ERANGE;
	v <<= shift;
	if (v == 0)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_duration(const char *s, int64_t *out_ns)
{
	/* Plain decimals only: strtod alone also takes "1e3", "0x10" and "infinity". */
	const char *p = s;
	size_t digits = strspn(p, "0123456789");
	p += digits;
	if (*p == '.') {
		size_t frac = strspn(p + 1, "0123456789");
		digits += frac;
		p += 1 + frac;
	}
	if (digits == 0)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != p || errno == ERANGE || !isfinite(v))
		return errno == ERANGE ? -ERANGE : -EINVAL;
	double scale = 1e9;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		scale = 1e9;
	else if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "us") == 0)
		scale = 1e3;
	else
		return -EINVAL;
	double ns = v * scale;
	if (ns > 3601e9)
		return -ERANGE; /* before llround, which is undefined on huge values */
	int64_t r = llround(ns); /* 1.001 * 1e9 is 1000999999.99...: truncating loses a nanosecond */
	if (r < 1000 || r > 3600 * INT64_C(1000000000))
		return -ERANGE;
	*out_ns = r;
	return 0;
}

int parse_budget(const char *s, int64_t *out_ns)
{
	size_t digits = strspn(s, "0123456789"), frac = 0;
	if (s[digits] == '.')
		frac = strspn(s + digits + 1, "0123456789") + 1;
	const char *unit = s + digits + frac;
	if (digits + frac <= 1 && digits == 0)
		return -EINVAL;
	double scale = strcmp(unit, "") == 0 || strcmp(unit, "s") == 0 ? 1
		: strcmp(unit, "m") == 0 ? 60 : strcmp(unit, "h") == 0 ? 3600 : 0;
	if (scale == 0)
		return -EINVAL;
	double v = strtod(s, NULL) * scale;
	if (!(v >= 1 && v <= 86400))
		return -ERANGE;
	*out_ns = llround(v * 1e9);
	return 0;
}

int parse_uint(const char *s, long min, long max, long *out)
{
	const char *end;
	uint64_t v;
	int rc = parse_digits(s, &end, &v);
	if (rc)
		return rc;
	if (*end)
		return -EINVAL;
	if (v > (uint64_t)LONG_MAX || (long)v < min || (long)v > max)
		return -ERANGE; /* compared as long: a negative min must not wrap to a huge one */
	*out = (long)v;
	return 0;
}

int parse_list(char *buf, char **items, int max)
{
	int n = 0;
	char *p = buf;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p == '\0')
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		items[n++] = p;
		if (!comma)
			return n;
		p = comma + 1;
	}
}

const char *format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMG";
	int u = -1;
	uint64_t v = bytes;
	while (u < 2 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, bytes);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

const char *fmt_ns(double ns, char *buf, size_t len)
{
	if (!isfinite(ns))
		snprintf(buf, len, "-");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.3g us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3g s", ns / 1e9);
	return buf;
}

const char *fmt_rate(double b, char *buf, size_t len)
{
	static const char *unit[] = { "B/s", "kB/s", "MB/s", "GB/s", "TB/s" };
	int u = 0;
	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(buf, len, "%.3g %s", b, unit[u]);
	return buf;
}

/* A small ratio as JSON, four significant figures (a switch per message is 1.0, or 0.0002). */
