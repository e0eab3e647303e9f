/* Message stamping and checking; none of it runs inside a timed span of pingpong. */
#include "msg.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: every input bit affects every output bit */
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Fletcher-style running sums over 8-byte words, the last (partial or empty) word included. */
static void payload_sums(const unsigned char *p, size_t len, uint64_t *sum_a, uint64_t *sum_b)
{
	uint64_t a = 1, b = 0, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		a += w;
		b += a;
	}
	w = 0;
	memcpy(&w, p + i, len - i);
	a += w;
	b += a;
	*sum_a = a;
	*sum_b = b;
}

static uint64_t sums_final(uint64_t a, uint64_t b, size_t len)
{
	return mix64(a ^ mix64(b + len));
}

uint64_t msg_payload_sum(const void *buf, size_t len)
{
	uint64_t a, b;
	payload_sums(buf, len, &a, &b);
	return sums_final(a, b, len);
}

/*
 * The payload words that carry the stamp: the first, and the first of every
 * later cache line (the header takes the first 24 bytes of line 0, so payload
 * word j starts a line when 24 + 8j is a multiple of 64). Only whole words.
 */
#define STAMP_FIRST_LINE_WORD 5 /* (64 - 24) / 8 */
#define STAMP_EVERY 8           /* words per cache line */

static size_t next_stamp(size_t j)
{
	return j == 0 ? STAMP_FIRST_LINE_WORD : j + STAMP_EVERY;
}

void msg_gen_init(struct msg_gen *g, unsigned char *buf, size_t len, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->buf = buf;
	g->len = len;
	uint64_t s = seed;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = mix64(s++);
		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
	if (len < sizeof(struct msg_hdr))
		return;
	size_t plen = len - sizeof(struct msg_hdr), words = plen / 8;
	payload_sums(buf + sizeof(struct msg_hdr), plen, &g->sum_a, &g->sum_b);
	/* word j is in the running sum a from step j on: words + 1 - j times in b */
	for (size_t j = 0; j < words; j = next_stamp(j)) {
		g->stamps++;
		g->stamp_weight += words + 1 - j;
	}
}

/* A message too short for a header carries these bytes, so loss and reordering still show. */
static void small_fill(unsigned char *buf, size_t len, uint64_t seq)
{
	uint64_t r = mix64(seq ^ UINT64_C(0x5eed));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(r >> (8 * (i % 8))) ^ (unsigned char)(i / 8);
}

static bool small_matches(const unsigned char *buf, size_t len, uint64_t seq)
{
	unsigned char want[sizeof(struct msg_hdr)];
	small_fill(want, len, seq);
	return memcmp(want, buf, len) == 0;
}

static uint64_t stamp_of(uint64_t seq)
{
	return mix64(seq ^ UINT64_C(0x57a3b));
}

/* Write message seq's header into dst, its stamped words holding stamp over their base values. */
static void stamp_header(const struct msg_gen *g, unsigned char *dst, uint64_t seq, uint64_t stamp)
{
	/* The sums are linear in the words, so the stamped payload's checksum needs no pass over it. */
	uint64_t sum = sums_final(g->sum_a + g->stamps * stamp, g->sum_b + g->stamp_weight * stamp,
				  g->len - sizeof(struct msg_hdr));
	struct msg_hdr h = {
		.magic = MSG_MAGIC,
		.length = (uint32_t)g->len,
		.seq = seq,
		.checksum = sum ^ mix64(seq),
	};
	memcpy(dst, &h, sizeof(h));
}

/* Add delta to the word at p: a stamped word. */
static void stamp_add(unsigned char *p, uint64_t delta)
{
	uint64_t w;
	memcpy(&w, p, 8);
	w += delta;
	memcpy(p, &w, 8);
}

void msg_stamp(struct msg_gen *g, uint64_t seq)
{
	if (g->len < sizeof(struct msg_hdr)) {
		small_fill(g->buf, g->len, seq);
		return;
	}
	/* Every stamped word holds base + stamp(seq); move it there from the last stamp. */
	uint64_t stamp = stamp_of(seq), delta = stamp - g->stamp;
	unsigned char *payload = g->buf + sizeof(struct msg_hdr);
	size_t words = (g->len - sizeof(struct msg_hdr)) / 8;
	for (size_t j = 0; j < words; j = next_stamp(j))
		stamp_add(payload + 8 * j, delta);
	g->stamp = stamp;
	stamp_header(g, g->buf, seq, stamp);
}

/*
 * Copy the whole 64-byte lines of src from off up to len into dst, adding
 * delta to the first word of each (a stamped word: lines start at multiples
 * of 64 past the first), in one pass; returns where the whole lines end.
 */
static size_t stamp_lines(unsigned char *dst, const unsigned char *src, size_t off, size_t len, uint64_t delta)
{
#if defined(__SSE2__)
	__m128i add = _mm_set_epi64x(0, (long long)delta);
	for (; off + 64 <= len; off += 64) {
		const __m128i *s = (const __m128i *)(const void *)(src + off);
		__m128i *d = (__m128i *)(void *)(dst + off);
		__m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
		__m128i c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);
		_mm_storeu_si128(d, _mm_add_epi64(a, add));
		_mm_storeu_si128(d + 1, b);
		_mm_storeu_si128(d + 2, c);
		_mm_storeu_si128(d + 3, e);
	}
#else
	for (; off + 64 <= len; off += 64) {
		memcpy(dst + off, src + off, 64);
		stamp_add(dst + off, delta);
	}
#endif
	return off;
}

void msg_stamp_into(const struct msg_gen *g, void *dst, uint64_t seq)
{
	unsigned char *d = dst;
	const unsigned char *src = g->buf;
	size_t hdr = sizeof(struct msg_hdr), len = g->len;
	if (len < hdr) {
		small_fill(d, len, seq);
		return;
	}
	uint64_t stamp = stamp_of(seq), delta = stamp - g->stamp;
	/* the first line: the payload's first word is stamped; the header is written last */
	size_t off = len < 64 ? len : 64;
	memcpy(d + hdr, src + hdr, off - hdr);
	if (len >= hdr + 8)
		stamp_add(d + hdr, delta);
	off = stamp_lines(d, src, off, len, delta);
	memcpy(d + off, src + off, len - off);
	if (off > hdr && off + 8 <= len) /* a last part line that holds a whole word */
		stamp_add(d + off, delta);
	stamp_header(g, d, seq, stamp);
}

uint64_t msg_errors_total(const struct msg_errors *e)
{
	return e->lost + e->duplicate + e->reordered + e->corrupt;
}

/* Move past a message that arrived or was counted corrupt. */
static void advance(struct msg_check *c)
{
	c->expected++;
	c->seen = c->seen << 1 | 1;
}

static bool count_corrupt(struct msg_check *c)
{
	c->errors.corrupt++;
	advance(c);
	return false;
}

/* Sort an arrived sequence number into ok, lost (skipped ahead), duplicate or reordered. */
static bool classify(struct msg_check *c, uint64_t seq)
{
	if (seq >= c->expected) {
		uint64_t gap = seq - c->expected;
		c->errors.lost += gap;
		c->seen = gap >= 63 ? 1 : (c->seen << (gap + 1)) | 1;
		c->expected = seq + 1;
		return gap == 0;
	}
	uint64_t back = c->expected - 1 - seq;
	if (back >= 64) {
		c->errors.reordered++; /* too old to tell a late message from a repeat */
	} else if (c->seen >> back & 1) {
		c->errors.duplicate++;
	} else {
		/* counted lost when it was skipped; it came after all, only late */
		c->seen |= UINT64_C(1) << back;
		if (c->errors.lost)
			c->errors.lost--;
		c->errors.reordered++;
	}
	return false;
}

/* Below header size the sequence number is found by trying the likely neighbours. */
static bool small_check(struct msg_check *c, const unsigned char *buf, size_t len)
{
	static const int64_t near[] = { 0, 1, -1, 2, 3, 4, -2, -3, 5, 6, 7, 8 };
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		int64_t seq = (int64_t)c->expected + near[i];
		if (seq >= 0 && small_matches(buf, len, (uint64_t)seq))
			return classify(c, (uint64_t)seq);
	}
	return count_corrupt(c);
}

bool msg_check(struct msg_check *c, const void *buf, size_t got, size_t len, bool full)
{
	if (got != len)
		return count_corrupt(c);
	if (len < sizeof(struct msg_hdr))
		return small_check(c, buf, len);
	struct msg_hdr h;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MSG_MAGIC || h.length != len)
		return count_corrupt(c);
	if (full) {
		const unsigned char *p = (const unsigned char *)buf + sizeof(h);
		uint64_t sum = msg_payload_sum(p, len - sizeof(h));
		if ((sum ^ mix64(h.seq)) != h.checksum)
			return count_corrupt(c);
	}
	return classify(c, h.seq);
}

bool msg_check_echo(struct msg_check *c, const void *buf, size_t got, const void *sent, size_t len)
{
	if (got != len || memcmp(buf, sent, len) != 0)
		return msg_check(c, buf, got, len, true);
	advance(c);
	return true;
}
