/* The results document: results.json read and written, and the accessors every view reads it with. */
#include "doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *doc_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

bool doc_is_variant(const json_t *r)
{
	return json_object_get(r, "pairs") || json_object_get(r, "rate");
}

double doc_num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *doc_host_line(const json_t *doc, char *buf, size_t len)
{
	const json_t *host = json_object_get(doc, "host");
	const json_t *run = json_object_get(doc, "run");
	char when[40] = "";
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (strptime(doc_str(run, "started_utc"), "%Y-%m-%dT%H:%M:%SZ", &tm))
		strftime(when, sizeof(when), ", %Y-%m-%d %H:%M UTC", &tm);
	double ncpu = doc_num(host, "ncpu");
	snprintf(buf, len, "%s, %.0f CPU%s, Linux %s%s", *doc_str(host, "cpu_model") ? doc_str(host, "cpu_model") : "unknown CPU",
		 isfinite(ncpu) ? ncpu : 0, ncpu == 1 ? "" : "s", doc_str(host, "kernel"), when);
	return buf;
}

FILE *doc_file_open(const char *dir, const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int doc_file_close(FILE *f, const char *path)
{
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad)
		fprintf(stderr, "ipcbench: writing %s failed\n", path);
	return bad ? -1 : 0;
}

int doc_write(const char *dir, const json_t *doc)
{
	char path[4096];
	FILE *f = doc_file_open(dir, "results.json", path, sizeof(path));
	if (!f)
		return -1;
	json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	fputc('\n', f);
	return doc_file_close(f, path);
}

/* Names end up in file names and gnuplot word lists: letters, digits and . _ + - only. */
static bool plain_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 47)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

static const char *row_problem(const json_t *r)
{
	static const char *const names[] = { "mechanism", "group", "pattern", "status" };
	if (!json_is_object(r))
		return "is not an object";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!plain_name(doc_str(r, names[i])))
			return names[i];
	if (!json_is_integer(json_object_get(r, "size_bytes")) || json_integer_value(json_object_get(r, "size_bytes")) < 1)
		return "size_bytes";
	const char *st = doc_str(r, "status");
	if (strcmp(st, "ok") && strcmp(st, "unsupported") && strcmp(st, "failed"))
		return "status";
	return NULL;
}

json_t *doc_load(const char *path, const char *cmd)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "ipcbench: %s: cannot read '%s': %s\n", cmd, path, strerror(errno));
		return NULL;
	}
	json_error_t err;
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
	fclose(f);
	if (!doc) {
		fprintf(stderr, "ipcbench: %s: '%s' is not JSON (line %d: %s); give a results.json written by ipcbench -o\n",
			cmd, path, err.line, err.text);
		return NULL;
	}
	const json_t *schema = json_object_get(doc, "schema");
	const char *why = NULL;
	char buf[200];
	if (!json_is_object(doc) || strcmp(doc_str(doc, "tool"), "ipcbench") != 0) {
		why = "is not ipcbench results (no \"tool\": \"ipcbench\"); give a results.json written by ipcbench -o";
	} else if (!json_is_integer(schema) || json_integer_value(schema) != 1) {
		if (json_is_integer(schema))
			snprintf(buf, sizeof(buf), "has results schema %" JSON_INTEGER_FORMAT
				 "; this ipcbench reads schema 1 only", json_integer_value(schema));
		else
			snprintf(buf, sizeof(buf), "has no \"schema\" number; this ipcbench reads schema 1 only");
		why = buf;
	} else if (!json_is_array(json_object_get(doc, "results"))) {
		why = "has no \"results\" list";
	} else {
		static const char *const objs[] = { "run", "host", "config", "models" };
		for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]) && !why; i++) {
			const json_t *o = json_object_get(doc, objs[i]);
			if (o && !json_is_object(o)) {
				snprintf(buf, sizeof(buf), "has a \"%s\" that is not an object", objs[i]);
				why = buf;
			}
		}
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(doc, "results"), i, r) {
			const char *p = why ? NULL : row_problem(r);
			if (p) {
				snprintf(buf, sizeof(buf), "has a bad result row: results[%zu] %s%s", i,
					 strchr(p, ' ') ? "" : "has no valid ", p);
				why = buf;
			}
		}
	}
	if (why) {
		fprintf(stderr, "ipcbench: %s: '%s' %s\n", cmd, path, why);
		json_decref(doc);
		return NULL;
	}
	return doc;
}
