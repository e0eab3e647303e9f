/* Message stamping and checking: every size carries its sequence, and every kind of damage is counted. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define HDR sizeof(struct msg_hdr)

/* A sender and a receiver for one size, with the sender's messages kept by sequence number. */
struct link {
	size_t len;
	struct msg_gen gen;
	struct msg_check chk;
	unsigned char *rx; /* the receiver's own buffer */
};

static void link_init(struct link *l, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->len = len;
	l->rx = malloc(len);
	unsigned char *tx = malloc(len);
	assert_non_null(l->rx);
	assert_non_null(tx);
	msg_gen_init(&l->gen, tx, len, UINT64_C(0x1bc5) ^ len);
}

static void link_free(struct link *l)
{
	free(l->gen.buf);
	free(l->rx);
}

/* Stamp seq and copy it to the receiver's buffer, as a transport would. */
static unsigned char *carry(struct link *l, uint64_t seq)
{
	msg_stamp(&l->gen, seq);
	memcpy(l->rx, l->gen.buf, l->len);
	return l->rx;
}

static bool deliver(struct link *l, uint64_t seq, bool full)
{
	return msg_check(&l->chk, carry(l, seq), l->len, l->len, full);
}

static void assert_errors(const struct msg_errors *e, uint64_t lost, uint64_t dup, uint64_t reord,
			  uint64_t corrupt, size_t len)
{
	if (e->lost != lost || e->duplicate != dup || e->reordered != reord || e->corrupt != corrupt) {
		print_error("size %zu: lost %llu duplicate %llu reordered %llu corrupt %llu; want %llu %llu %llu %llu\n",
			    len, (unsigned long long)e->lost, (unsigned long long)e->duplicate,
			    (unsigned long long)e->reordered, (unsigned long long)e->corrupt,
			    (unsigned long long)lost, (unsigned long long)dup, (unsigned long long)reord,
			    (unsigned long long)corrupt);
		fail();
	}
	assert_int_equal(msg_errors_total(e), lost + dup + reord + corrupt);
}

static const size_t big_sizes[] = { 4095, 4096, 65537, 1 << 20 };

/* Calls fn for 1..100 and the big sizes. */
static void for_sizes(void (*fn)(size_t len))
{
	for (size_t len = 1; len <= 100; len++)
		fn(len);
	for (size_t i = 0; i < sizeof(big_sizes) / sizeof(big_sizes[0]); i++)
		fn(big_sizes[i]);
}

static void clean_stream(size_t len)
{
	struct link l;
	link_init(&l, len);
	for (uint64_t seq = 0; seq < 300; seq++)
		if (!deliver(&l, seq, seq % 2 == 0)) {
			print_error("size %zu: message %llu refused\n", len, (unsigned long long)seq);
			fail();
		}
	assert_int_equal(l.chk.expected, 300);
	assert_errors(&l.chk.errors, 0, 0, 0, 0, len);
	if (len >= HDR) {
		struct msg_hdr h;
		memcpy(&h, l.rx, HDR);
		assert_int_equal(h.magic, MSG_MAGIC);
		assert_int_equal(h.length, len);
		assert_int_equal(h.seq, 299);
	}
	link_free(&l);
}

static void test_clean_all_sizes(void **state)
{
	(void)state;
	for_sizes(clean_stream);
}

/* Below the header the bytes still differ from one sequence number to the next. */
static void test_small_messages_carry_seq(void **state)
{
	(void)state;
	for (size_t len = 1; len < HDR; len++) {
		struct link l;
		link_init(&l, len);
		unsigned char prev[HDR];
		msg_stamp(&l.gen, 0);
		memcpy(prev, l.gen.buf, len);
		int same = 0;
		for (uint64_t seq = 1; seq < 1000; seq++) {
			msg_stamp(&l.gen, seq);
			same += memcmp(prev, l.gen.buf, len) == 0;
			memcpy(prev, l.gen.buf, len);
		}
		/* one byte has 256 values, so neighbours may collide now and then; from 2 bytes on, never */
		if (len >= 2)
			assert_int_equal(same, 0);
		else
			assert_true(same < 20);
		link_free(&l);
	}
}

/* The header is 24 bytes: 23 uses derived bytes, 24 is a header alone, 25 a header and one byte. */
static void test_header_boundary(void **state)
{
	(void)state;
	assert_int_equal(HDR, 24);
	struct link l;
	link_init(&l, 23);
	msg_stamp(&l.gen, 5);
	uint32_t magic;
	memcpy(&magic, l.gen.buf, sizeof(magic));
	assert_int_not_equal(magic, MSG_MAGIC);
	link_free(&l);

	for (size_t len = 24; len <= 25; len++) {
		link_init(&l, len);
		carry(&l, 5);
		struct msg_hdr h;
		memcpy(&h, l.rx, HDR);
		assert_int_equal(h.magic, MSG_MAGIC);
		assert_int_equal(h.length, len);
		assert_int_equal(h.seq, 5);
		l.chk.expected = 5;
		assert_true(msg_check(&l.chk, l.rx, len, len, true));
		link_free(&l);
	}

	/* the one payload byte of a 25-byte message is covered by the checksum */
	link_init(&l, 25);
	carry(&l, 0);
	l.rx[24] ^= 0x40;
	assert_false(msg_check(&l.chk, l.rx, 25, 25, true));
	assert_errors(&l.chk.errors, 0, 0, 0, 1, 25);
	link_free(&l);
}

/* Flip one bit of message 3 at pos; the receiver must not take it as intact, and carries on. */
static void flip_one(size_t len, size_t pos, int bit)
{
	struct link l;
	link_init(&l, len);
	for (uint64_t seq = 0; seq < 3; seq++)
		assert_true(deliver(&l, seq, true));
	carry(&l, 3);
	l.rx[pos] ^= (unsigned char)(1u << bit);
	if (msg_check(&l.chk, l.rx, len, len, true)) {
		print_error("size %zu: bit %d of byte %zu flipped, still ok\n", len, bit, pos);
		fail();
	}
	/* below 4 bytes a damaged message may pass for a neighbour's, but never for itself */
	if (len >= 4)
		assert_errors(&l.chk.errors, 0, 0, 0, 1, len);
	else
		assert_int_equal(msg_errors_total(&l.chk.errors), 1);
	if (len >= 4)
		assert_true(deliver(&l, 4, true));
	link_free(&l);
}

static void flip_each_byte(size_t len)
{
	if (len <= 100) {
		for (size_t pos = 0; pos < len; pos++)
			for (int bit = 0; bit < 8; bit += 3)
				flip_one(len, pos, bit);
		return;
	}
	const size_t pos[] = { 0, 3, 4, 8, 15, 16, 23, 24, 25, 31, len / 3, len / 2, len - 9, len - 8, len - 2, len - 1 };
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++)
		flip_one(len, pos[i], (int)(i % 8));
}

static void test_corruption_all_sizes(void **state)
{
	(void)state;
	for_sizes(flip_each_byte);
}

/* Sampled checking (full == false) still reads the header: magic and length are always checked. */
static void test_sampled_checks_header(void **state)
{
	(void)state;
	static const size_t sizes[] = { 24, 25, 64, 4096 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		for (size_t pos = 0; pos < 8; pos++) { /* magic and length */
			struct link l;
			link_init(&l, len);
			carry(&l, 0);
			l.rx[pos] ^= 0x10;
			assert_false(msg_check(&l.chk, l.rx, len, len, false));
			assert_errors(&l.chk.errors, 0, 0, 0, 1, len);
			link_free(&l);
		}
		/* a payload flip passes a sampled check: that is what "sampled" means */
		if (len > HDR) {
			struct link l;
			link_init(&l, len);
			carry(&l, 0);
			l.rx[len - 1] ^= 0x10;
			assert_true(msg_check(&l.chk, l.rx, len, len, false));
			link_free(&l);
		}
	}
}

/* A received length other than the message size is corrupt, whatever the bytes. */
static void test_wrong_length(void **state)
{
	(void)state;
	static const size_t sizes[] = { 8, 24, 64 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct link l;
		link_init(&l, sizes[i]);
		carry(&l, 0);
		assert_false(msg_check(&l.chk, l.rx, sizes[i] - 1, sizes[i], true));
		assert_errors(&l.chk.errors, 0, 0, 0, 1, sizes[i]);
		assert_int_equal(l.chk.expected, 1);
		assert_true(deliver(&l, 1, true));
		link_free(&l);
	}
}

/* Loss, duplication and reordering, as a stream receiver sees them. */
static void sequence_faults(size_t len)
{
	struct link l;
	/* lost: 0 1 2 _ 4 5 */
	link_init(&l, len);
	for (uint64_t s = 0; s < 3; s++)
		assert_true(deliver(&l, s, true));
	assert_false(deliver(&l, 4, true));
	assert_true(deliver(&l, 5, true));
	assert_errors(&l.chk.errors, 1, 0, 0, 0, len);
	link_free(&l);

	/* several lost at once: 0 _ _ _ 4 5 */
	link_init(&l, len);
	assert_true(deliver(&l, 0, true));
	assert_false(deliver(&l, 4, true));
	assert_true(deliver(&l, 5, true));
	assert_errors(&l.chk.errors, 3, 0, 0, 0, len);
	link_free(&l);

	/* duplicate: 0 1 2 2 3 */
	link_init(&l, len);
	for (uint64_t s = 0; s < 3; s++)
		assert_true(deliver(&l, s, true));
	assert_false(deliver(&l, 2, true));
	assert_true(deliver(&l, 3, true));
	assert_errors(&l.chk.errors, 0, 1, 0, 0, len);
	link_free(&l);

	/* an older duplicate: 0 1 2 3 1 4 */
	link_init(&l, len);
	for (uint64_t s = 0; s < 4; s++)
		assert_true(deliver(&l, s, true));
	assert_false(deliver(&l, 1, true));
	assert_true(deliver(&l, 4, true));
	assert_errors(&l.chk.errors, 0, 1, 0, 0, len);
	link_free(&l);

	/* swapped: 0 1 3 2 4 -- nothing lost, one message late */
	link_init(&l, len);
	assert_true(deliver(&l, 0, true));
	assert_true(deliver(&l, 1, true));
	assert_false(deliver(&l, 3, true));
	assert_false(deliver(&l, 2, true));
	assert_true(deliver(&l, 4, true));
	assert_errors(&l.chk.errors, 0, 0, 1, 0, len);
	link_free(&l);

	/* late by two (as far back as a message without header is looked for): 0 2 3 1 4 */
	link_init(&l, len);
	assert_true(deliver(&l, 0, true));
	assert_false(deliver(&l, 2, true));
	assert_true(deliver(&l, 3, true));
	assert_false(deliver(&l, 1, true));
	assert_true(deliver(&l, 4, true));
	assert_errors(&l.chk.errors, 0, 0, 1, 0, len);
	link_free(&l);

	/* late, then repeated: 0 2 1 1 3 */
	link_init(&l, len);
	assert_true(deliver(&l, 0, true));
	assert_false(deliver(&l, 2, true));
	assert_false(deliver(&l, 1, true));
	assert_false(deliver(&l, 1, true));
	assert_true(deliver(&l, 3, true));
	assert_errors(&l.chk.errors, 0, 1, 1, 0, len);
	link_free(&l);

	/* the first message lost, then late: 1 0 2 */
	link_init(&l, len);
	assert_false(deliver(&l, 1, true));
	assert_false(deliver(&l, 0, true));
	assert_true(deliver(&l, 2, true));
	assert_errors(&l.chk.errors, 0, 0, 1, 0, len);
	link_free(&l);
}

static void test_sequence_faults(void **state)
{
	(void)state;
	static const size_t sizes[] = { 4, 8, 23, 24, 25, 64, 4096 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		sequence_faults(sizes[i]);
}

/* With a header, sequence numbers far apart are still told apart. */
static void test_far_sequences(void **state)
{
	(void)state;
	struct link l;
	link_init(&l, 64);
	for (uint64_t s = 0; s < 200; s++)
		assert_true(deliver(&l, s, true));
	assert_false(deliver(&l, 1200, true)); /* 1000 lost */
	assert_false(deliver(&l, 5, true));   /* older than the window: cannot tell late from repeat */
	assert_true(deliver(&l, 1201, true));
	assert_errors(&l.chk.errors, 1000, 0, 1, 0, 64);
	assert_false(deliver(&l, UINT64_MAX - 1, true));
	assert_int_equal(l.chk.expected, UINT64_MAX);
	link_free(&l);

	/* 62 messages late is still late, not lost; a repeat 62 back is still a repeat */
	link_init(&l, 64);
	assert_true(deliver(&l, 0, true));
	for (uint64_t s = 2; s < 64; s++)
		assert_true(deliver(&l, s, true) == (s != 2));
	assert_false(deliver(&l, 1, true));
	assert_false(deliver(&l, 2, true));
	assert_errors(&l.chk.errors, 0, 1, 1, 0, 64);
	link_free(&l);
}

static void test_payload_sum(void **state)
{
	(void)state;
	unsigned char a[64], b[64];
	for (int i = 0; i < 64; i++)
		a[i] = (unsigned char)(i * 7 + 1);
	memcpy(b, a, sizeof(a));
	assert_int_equal(msg_payload_sum(a, 64), msg_payload_sum(b, 64));
	/* position matters: swapping two 8-byte words changes the sum */
	memcpy(b, a + 8, 8);
	memcpy(b + 8, a, 8);
	assert_int_not_equal(msg_payload_sum(a, 64), msg_payload_sum(b, 64));
	/* length matters, also when the extra bytes are zero */
	unsigned char z[9] = { 1, 2, 3, 0, 0, 0, 0, 0, 0 };
	assert_int_not_equal(msg_payload_sum(z, 3), msg_payload_sum(z, 4));
	assert_int_not_equal(msg_payload_sum(z, 8), msg_payload_sum(z, 9));
	assert_int_not_equal(msg_payload_sum(z, 0), msg_payload_sum(z, 3));
	/* every byte of a tail shorter than a word counts */
	for (size_t n = 1; n < 8; n++) {
		unsigned char t[8] = { 0 };
		uint64_t base = msg_payload_sum(t, n);
		for (size_t i = 0; i < n; i++) {
			t[i] = 1;
			assert_int_not_equal(msg_payload_sum(t, n), base);
			t[i] = 0;
		}
	}
}

static void test_errors_total(void **state)
{
	(void)state;
	struct msg_errors e = { 1, 2, 3, 4 };
	assert_int_equal(msg_errors_total(&e), 10);
	struct msg_errors z = { 0 };
	assert_int_equal(msg_errors_total(&z), 0);
}

/*
 * msg_stamp_into writes, into a buffer of any alignment, exactly the message
 * msg_stamp leaves in the sender's own buffer, whatever that buffer's last
 * stamp was, and the message checks intact.
 */
static void test_stamp_into(void **state)
{
	(void)state;
	static const size_t big[] = { 4095, 4096, 4097, 65537, 1 << 20 };
	for (size_t i = 0; i < 300 + sizeof(big) / sizeof(big[0]); i++) {
		size_t len = i < 300 ? i + 1 : big[i - 300];
		unsigned char *a = malloc(len), *b = malloc(len), *dst = malloc(len + 64);
		assert_true(a && b && dst);
		struct msg_gen into, own;
		msg_gen_init(&into, a, len, 7);
		msg_gen_init(&own, b, len, 7);
		struct msg_check chk = { 0 };
		for (uint64_t seq = 0; seq < 6; seq++) {
			if (seq & 1)
				msg_stamp(&into, 1000 + seq); /* a sender's own buffer, stamped since */
			unsigned char *d = dst + (seq * 9) % 64;
			memset(d, 0xee, len);
			msg_stamp_into(&into, d, seq);
			msg_stamp(&own, seq);
			if (memcmp(d, own.buf, len)) {
				print_error("%zu B, message %llu: msg_stamp_into differs from msg_stamp\n", len,
					    (unsigned long long)seq);
				fail();
			}
			assert_true(msg_check(&chk, d, len, len, true));
		}
		free(a);
		free(b);
		free(dst);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_into),
		cmocka_unit_test(test_clean_all_sizes),
		cmocka_unit_test(test_small_messages_carry_seq),
		cmocka_unit_test(test_header_boundary),
		cmocka_unit_test(test_corruption_all_sizes),
		cmocka_unit_test(test_sampled_checks_header),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_sequence_faults),
		cmocka_unit_test(test_far_sequences),
		cmocka_unit_test(test_payload_sum),
		cmocka_unit_test(test_errors_total),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
