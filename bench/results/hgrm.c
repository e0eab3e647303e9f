/* HdrHistogram's percentile distribution text, from the buckets a row carries in results.json. */
#include "hgrm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "doc.h"
#include "parse.h"

json_t *hgrm_buckets_json(const struct hist *h)
{
	json_t *values = json_array(), *counts = json_array();
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		if (h->buckets[b]) {
			json_array_append_new(values, json_integer((json_int_t)hist_bucket_value(b)));
			json_array_append_new(counts, json_integer((json_int_t)h->buckets[b]));
		}
	return json_pack("{s:o, s:o}", "value_ns", values, "count", counts);
}

/* The file name of a row: MECH-SIZE, then what sets it apart from the plain pingpong row. */
static void hgrm_name(const json_t *r, char *buf, size_t len)
{
	char size[16];
	format_size((uint64_t)doc_num(r, "size_bytes"), size, sizeof(size));
	int n = snprintf(buf, len, "%s-%s", doc_str(r, "mechanism"), size);
	if (strcmp(doc_str(r, "pattern"), "pingpong"))
		n += snprintf(buf + n, len - (size_t)n, "-%s", doc_str(r, "pattern"));
	if (*doc_str(r, "placement"))
		n += snprintf(buf + n, len - (size_t)n, "-%s", doc_str(r, "placement"));
	if (json_object_get(r, "pairs"))
		n += snprintf(buf + n, len - (size_t)n, "-pairs%.0f", doc_num(r, "pairs"));
	if (json_object_get(r, "rate"))
		snprintf(buf + n, len - (size_t)n, "-rate%.0f", doc_num(json_object_get(r, "rate"), "target_per_s"));
}

/* Mean and standard deviation of the bucketed values, in ns. */
static void hgrm_moments(const json_t *v, const json_t *c, double total, double *mean, double *sd)
{
	double sum = 0, sq = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		double x = (double)json_integer_value(json_array_get(v, i));
		double k = (double)json_integer_value(json_array_get(c, i));
		sum += x * k;
		sq += x * x * k;
	}
	*mean = total > 0 ? sum / total : 0;
	*sd = total > 0 ? sqrt(fmax(0, sq / total - *mean * *mean)) : 0;
}

/*
 * One line per bucket with the count up to it; values clamped to the row's
 * true min and max, so the distribution starts and ends where the row does.
 * The last line, at percentile 1, has no fourth column, as HdrHistogram writes it.
 */
static void hgrm_print(const json_t *r, const json_t *hist, FILE *out)
{
	const json_t *v = json_object_get(hist, "value_ns"), *c = json_object_get(hist, "count");
	const json_t *lat = json_object_get(r, "rtt_ns") ? json_object_get(r, "rtt_ns") : json_object_get(r, "oneway_ns");
	double lo = doc_num(lat, "min"), hi = doc_num(lat, "max"), total = 0, seen = 0, mean, sd;
	for (size_t i = 0; i < json_array_size(c); i++)
		total += (double)json_integer_value(json_array_get(c, i));
	fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
	for (size_t i = 0; i < json_array_size(v); i++) {
		double x = (double)json_integer_value(json_array_get(v, i));
		seen += (double)json_integer_value(json_array_get(c, i));
		x = i == 0 && isfinite(lo) ? lo : i + 1 == json_array_size(v) && isfinite(hi) ? hi : x;
		double p = seen / total;
		if (seen < total)
			fprintf(out, "%12.3f %14.12f %10.0f %14.2f\n", x / 1e3, p, seen, 1 / (1 - p));
		else
			fprintf(out, "%12.3f %14.12f %10.0f\n", x / 1e3, 1.0, seen);
	}
	hgrm_moments(v, c, total, &mean, &sd);
	fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean / 1e3, sd / 1e3);
	fprintf(out, "#[Max     = %12.3f, Total count    = %12.0f]\n", (isfinite(hi) ? hi : 0) / 1e3, total);
	fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n", HIST_BUCKETS / HIST_SUB_COUNT, HIST_SUB_COUNT);
}

int hgrm_write_all(const char *dir, const json_t *doc)
{
	char path[4096], name[160];
	size_t i;
	json_t *r;
	int made = 0, bad = 0;
	json_array_foreach(json_object_get(doc, "results"), i, r) {
		const json_t *hist = json_object_get(r, "histogram");
		if (strcmp(doc_str(r, "status"), "ok") || !json_is_object(hist))
			continue;
		snprintf(path, sizeof(path), "%s/hgrm", dir);
		if (!made++ && mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "ipcbench: cannot create %s: %s\n", path, strerror(errno));
			return -1;
		}
		hgrm_name(r, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/hgrm/%s.hgrm", dir, name);
		FILE *f = fopen(path, "we");
		if (!f) {
			fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
			bad = -1;
			continue;
		}
		hgrm_print(r, hist, f);
		if (fclose(f)) {
			fprintf(stderr, "ipcbench: cannot write %s: %s\n", path, strerror(errno));
			bad = -1;
		}
	}
	return bad;
}

void hgrm_strip(json_t *doc)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "results"), i, r)
		json_object_del(r, "histogram");
}
