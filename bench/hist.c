/* Log-linear histogram, in the manner of HdrHistogram with one significant bucket per 1/128. */
#include "hist.h"

#include <string.h>

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v)
{
	if (v < 2 * HIST_SUB_COUNT)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB_COUNT + (unsigned)((v >> shift) - HIST_SUB_COUNT);
}

/* The midpoint of a bucket: the value that stands for everything in it. */
static uint64_t bucket_mid(unsigned b)
{
	if (b < 2 * HIST_SUB_COUNT)
		return b;
	unsigned shift = b / HIST_SUB_COUNT - 1;
	uint64_t low = (uint64_t)(b % HIST_SUB_COUNT + HIST_SUB_COUNT) << shift;
	return low + ((UINT64_C(1) << shift) >> 1);
}

uint64_t hist_bucket_value(unsigned b)
{
	return bucket_mid(b);
}

bool hist_record(struct hist *h, uint64_t value)
{
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	if (value > HIST_MAX_VALUE) {
		h->overflow++;
		return false;
	}
	h->buckets[bucket_of(value)]++;
	return true;
}

uint64_t hist_percentile(const struct hist *h, unsigned permille)
{
	if (h->count == 0)
		return 0;
	if (permille >= 1000)
		return h->max;
	/* 1-based rank of the wanted value, in integers: no rounding can move it */
	uint64_t rank = (permille * h->count + 999) / 1000;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t v = bucket_mid(b);
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max; /* the rank falls among overflowed values */
}

uint64_t hist_samples_needed(unsigned permille)
{
	return permille >= 1000 ? UINT64_MAX : (10000 + (1000 - permille) - 1) / (1000 - permille);
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)(h->sum / (long double)h->count) : 0.0;
}

void hist_add(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	dst->count += src->count;
	dst->overflow += src->overflow;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
}
