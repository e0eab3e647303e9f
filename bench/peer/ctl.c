/* The control protocol: frames with a length, JSON bodies checked field by field against a schema. */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "ipc/fdio.h"

enum kind { K_INT, K_STR, K_BOOL, K_HEX, K_OBJ };

/* One field of a message: its kind, whether it must be there, and its range (int) or longest length (str). */
struct field {
	const char *name;
	enum kind kind;
	bool optional;
	int64_t min, max;
	const char *const *one_of; /* K_STR: the only values allowed; NULL for any */
};

#define MAX_FIELDS 20
#define NONCE_HEX (2 * CTL_NONCE_BYTES)
#define REASON_MAX 255

struct schema {
	const char *type;
	struct field f[MAX_FIELDS];
};

static const char *const auth_kinds[] = { "hmac-sha256", "none", NULL };
static const char *const patterns[] = { "pingpong", "stream", NULL };
static const char *const flag_names[] = { "attached", "finished", "warm_end", "end_count", "seen_warm_end",
					  "seen_end_count", NULL };

#define INT(n, lo, hi) { n, K_INT, false, lo, hi, NULL }
#define COUNT(n) INT(n, 0, INT64_MAX)
#define STR(n, len) { n, K_STR, false, 0, len, NULL }
#define HEX(n) { n, K_HEX, false, NONCE_HEX, NONCE_HEX, NULL }
#define OPT_HEX(n) { n, K_HEX, true, NONCE_HEX, NONCE_HEX, NULL }

/* Indexed by enum ctl_type. */
static const struct schema schemas[CTL_TYPES] = {
	[CTL_HELLO] = { "hello", { INT("proto", 1, 1000), STR("version", 64),
				   { "auth", K_STR, false, 0, 16, auth_kinds }, HEX("nonce") } },
	[CTL_AUTH] = { "auth", { INT("proto", 1, 1000), HEX("nonce"), OPT_HEX("mac") } },
	[CTL_WELCOME] = { "welcome", { OPT_HEX("mac"), STR("hostname", 255), { "host", K_OBJ, false, 0, 0, NULL } } },
	[CTL_BUSY] = { "busy", { STR("reason", REASON_MAX) } },
	[CTL_ERROR] = { "error", { STR("reason", REASON_MAX) } },
	[CTL_CASE] = { "case", { STR("mechanism", 32), { "pattern", K_STR, false, 0, 16, patterns },
				 INT("size", 1, CTL_MAX_MSG_BYTES), INT("warmup_ns", 0, CTL_MAX_SPAN_NS),
				 INT("duration_ns", 1000, CTL_MAX_SPAN_NS), INT("timeout_ns", 1000000, CTL_MAX_SPAN_NS),
				 { "verify_full", K_BOOL, false, 0, 0, NULL }, INT("port", 0, 65535),
				 { "cpu", K_INT, true, -1, 4095, NULL } } },
	[CTL_READY] = { "ready", { INT("port", 0, 65535) } },
	[CTL_REFUSED] = { "refused", { STR("reason", REASON_MAX) } },
	[CTL_FLAG] = { "flag", { { "name", K_STR, false, 0, 16, flag_names }, COUNT("value") } },
	[CTL_ABORT] = { "abort", { { 0 } } },
	[CTL_REPORT] = { "report", { { "failed", K_BOOL, false, 0, 0, NULL }, STR("reason", REASON_MAX), COUNT("msgs"),
				     COUNT("t_first_ns"), COUNT("t_last_ns"), COUNT("cpu_ns"), COUNT("wall_ns"),
				     COUNT("vcsw"), COUNT("ivcsw"), COUNT("lost"), COUNT("duplicate"),
				     COUNT("reordered"), COUNT("corrupt") } },
	[CTL_BYE] = { "bye", { { 0 } } },
};

const char *ctl_type_name(enum ctl_type t)
{
	return (unsigned)t < CTL_TYPES ? schemas[t].type : "?";
}

static int refuse(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* Deepest nesting of arrays and objects, counted outside strings, before any parsing; stops past limit. */
static int nesting(const char *buf, size_t len, int limit)
{
	int depth = 0, deepest = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len && deepest <= limit; i++) {
		char ch = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '[' || ch == '{') {
			deepest = ++depth > deepest ? depth : deepest;
		} else if (ch == ']' || ch == '}') {
			depth--;
		}
	}
	return deepest;
}

/* Log lines show reasons and names: no control characters in any string. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static int check_field(const struct field *f, const json_t *v, char *why, size_t len)
{
	switch (f->kind) {
	case K_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
			return refuse(why, len, "\"%s\" is not a whole number from %lld to %lld", f->name,
				      (long long)f->min, (long long)f->max);
		return 0;
	case K_BOOL:
		return json_is_boolean(v) ? 0 : refuse(why, len, "\"%s\" is not true or false", f->name);
	case K_OBJ:
		return json_is_object(v) ? 0 : refuse(why, len, "\"%s\" is not an object", f->name);
	case K_HEX:
		if (!json_is_string(v) || !is_hex(json_string_value(v), (size_t)f->max))
			return refuse(why, len, "\"%s\" is not %lld lowercase hex digits", f->name, (long long)f->max);
		return 0;
	case K_STR:
		break;
	}
	if (!json_is_string(v) || json_string_length(v) > (size_t)f->max || !printable(json_string_value(v)))
		return refuse(why, len, "\"%s\" is not a printable string of at most %lld bytes", f->name,
			      (long long)f->max);
	if (f->one_of && !in_list(json_string_value(v), f->one_of))
		return refuse(why, len, "\"%s\" has a value this protocol does not know", f->name);
	return 0;
}

static const struct field *find_field(const struct schema *s, const char *name)
{
	for (int i = 0; i < MAX_FIELDS && s->f[i].name; i++)
		if (strcmp(s->f[i].name, name) == 0)
			return &s->f[i];
	return NULL;
}

/* Every key known and well-formed, every required one there. */
static int check_schema(const struct schema *s, const json_t *doc, char *why, size_t len)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)doc, key, v) {
		if (strcmp(key, "type") == 0)
			continue;
		const struct field *f = find_field(s, key);
		if (!f)
			return refuse(why, len, "a %s message has no field \"%.40s\"", s->type,
				      printable(key) ? key : "?");
		int rc = check_field(f, v, why, len);
		if (rc)
			return rc;
	}
	for (int i = 0; i < MAX_FIELDS && s->f[i].name; i++)
		if (!s->f[i].optional && !json_object_get(doc, s->f[i].name))
			return refuse(why, len, "a %s message needs \"%s\"", s->type, s->f[i].name);
	return 0;
}

static int type_of(const json_t *doc, enum ctl_type *t)
{
	const char *name = json_string_value(json_object_get(doc, "type"));
	for (int i = 0; name && i < CTL_TYPES; i++)
		if (strcmp(name, schemas[i].type) == 0) {
			*t = (enum ctl_type)i;
			return 0;
		}
	return -1;
}

int ctl_parse(const char *buf, size_t len, struct ctl_msg *m, char *why, size_t why_len)
{
	m->doc = NULL;
	if (len == 0 || len > CTL_MAX_BYTES)
		return refuse(why, why_len, "a message of %zu bytes (1 to %d allowed)", len, CTL_MAX_BYTES);
	if (nesting(buf, len, CTL_MAX_DEPTH) > CTL_MAX_DEPTH)
		return refuse(why, why_len, "nested deeper than %d levels", CTL_MAX_DEPTH);
	json_error_t err;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc)
		return refuse(why, why_len, "not JSON (at byte %d)", err.position);
	int rc;
	if (!json_is_object(doc))
		rc = refuse(why, why_len, "not a JSON object");
	else if (type_of(doc, &m->type))
		rc = refuse(why, why_len, "no known \"type\"");
	else
		rc = check_schema(&schemas[m->type], doc, why, why_len);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	m->doc = doc;
	return 0;
}

void ctl_msg_free(struct ctl_msg *m)
{
	json_decref(m->doc);
	m->doc = NULL;
}

int64_t ctl_int(const struct ctl_msg *m, const char *key)
{
	return json_integer_value(json_object_get(m->doc, key));
}

const char *ctl_str(const struct ctl_msg *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m->doc, key));
	return s ? s : "";
}

bool ctl_bool(const struct ctl_msg *m, const char *key)
{
	return json_is_true(json_object_get(m->doc, key));
}

bool ctl_has(const struct ctl_msg *m, const char *key)
{
	return json_object_get(m->doc, key) != NULL;
}

int64_t ctl_frame_len(const unsigned char hdr[4])
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	return n == 0 || n > CTL_MAX_BYTES ? -EMSGSIZE : (int64_t)n;
}

/* A control frame's bytes, waiting until the deadline; a handled signal (SIGINT, SIGTERM) ends a wait with -EINTR. */
static int write_all(int fd, const unsigned char *b, size_t len, int64_t deadline_ns)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			return errno == ECONNRESET ? -EPIPE : -errno;
		int rc = fd_wait(fd, POLLOUT, deadline_ns, true);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_all(int fd, unsigned char *b, size_t len, int64_t deadline_ns)
{
	while (len) {
		ssize_t n = recv(fd, b, len, 0);
		if (n > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN)
			return errno == ECONNRESET ? -EPIPE : -errno;
		int rc = fd_wait(fd, POLLIN, deadline_ns, true);
		if (rc)
			return rc;
	}
	return 0;
}

int ctl_send(int fd, json_t *doc, int64_t deadline_ns)
{
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body)
		return -ENOMEM;
	size_t len = strlen(body);
	int rc = -EMSGSIZE;
	if (len <= CTL_MAX_BYTES) {
		unsigned char hdr[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
					 (unsigned char)(len >> 8), (unsigned char)len };
		rc = write_all(fd, hdr, 4, deadline_ns);
		if (rc == 0)
			rc = write_all(fd, (unsigned char *)body, len, deadline_ns);
	}
	free(body);
	return rc;
}

int ctl_recv(int fd, struct ctl_msg *m, int64_t deadline_ns, char *why, size_t why_len)
{
	unsigned char hdr[4];
	m->doc = NULL;
	int rc = read_all(fd, hdr, 4, deadline_ns);
	if (rc)
		return rc;
	int64_t len = ctl_frame_len(hdr);
	if (len < 0) {
		snprintf(why, why_len, "a frame of 0 or more than %d bytes", CTL_MAX_BYTES);
		return -EMSGSIZE;
	}
	char *body = malloc((size_t)len);
	if (!body)
		return -ENOMEM;
	rc = read_all(fd, (unsigned char *)body, (size_t)len, deadline_ns);
	if (rc == 0)
		rc = ctl_parse(body, (size_t)len, m, why, why_len);
	free(body);
	return rc;
}

void ctl_hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int ctl_unhex(const char *s, unsigned char *b, size_t n)
{
	if (!is_hex(s, 2 * n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
