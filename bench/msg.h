/* The message every mechanism carries: a header, a payload, and the receiver's checks. */
#ifndef IPCBENCH_MSG_H
#define IPCBENCH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC UINT32_C(0x49504342) /* "IPCB" */

/* At the start of every message of at least sizeof(struct msg_hdr) bytes. */
struct msg_hdr {
	uint32_t magic;
	uint32_t length;   /* the whole message, header included */
	uint64_t seq;      /* 0, 1, 2, ... per run and direction */
	uint64_t checksum; /* of the payload, mixed with seq */
};
_Static_assert(sizeof(struct msg_hdr) == 24, "the header is part of every size: keep it packed");

/* What went wrong with received messages; any non-zero count fails the row. */
struct msg_errors {
	uint64_t lost;
	uint64_t duplicate;
	uint64_t reordered;
	uint64_t corrupt;
};

/*
 * The sender's side: one base payload per run, and in every message one word
 * of each cache line stamped with a value derived from the sequence number,
 * so no two messages carry the same bytes in any line and a receive that
 * leaves part of its buffer as the previous message left it fails the check.
 * Stamping costs one add per 64 bytes; the checksum follows in O(1).
 */
struct msg_gen {
	unsigned char *buf;   /* len bytes, owned by the caller */
	size_t len;
	uint64_t sum_a, sum_b; /* the base payload's running sums (see msg_payload_sum) */
	uint64_t stamps;       /* stamped words in the payload */
	uint64_t stamp_weight; /* how much the stamped words weigh in sum_b, together */
	uint64_t stamp;        /* what every stamped word holds over its base value now */
};

/** Fill buf (len bytes) with a pseudo-random payload derived from seed. */
void msg_gen_init(struct msg_gen *g, unsigned char *buf, size_t len, uint64_t seed);

/** Stamp g->buf as message seq: header and one word per cache line (below header size, bytes derived from seq). */
void msg_stamp(struct msg_gen *g, uint64_t seq);

/**
 * Write message seq whole into dst (g->len bytes: header, payload, stamps),
 * as msg_stamp would leave it in g->buf, in one pass; g->buf stays as it is.
 * For a zero-copy sender, whose message goes out in a buffer it borrowed: the
 * producer writing its message once.
 */
void msg_stamp_into(const struct msg_gen *g, void *dst, uint64_t seq);

/* The receiver's side: what sequence number comes next, and the tallies. */
struct msg_check {
	uint64_t expected;
	uint64_t seen; /* bit i: message expected-1-i arrived, so a late one is told from a repeat */
	struct msg_errors errors;
};

/**
 * Check one received message of got bytes against the expected length len:
 * magic, length, sequence (lost, duplicate, reordered) and, when full is true,
 * the payload checksum. Updates the tallies. A skipped message counts as lost;
 * when it turns up later (within 64 messages) it counts as reordered instead,
 * and one that arrives again counts as a duplicate.
 * @return true when the message is the expected one and intact.
 */
bool msg_check(struct msg_check *c, const void *buf, size_t got, size_t len, bool full);

/**
 * Check a reply that must be exactly what this side sent (a pingpong echo),
 * byte for byte against sent: ~3x faster than the checksum at 64 KiB. A
 * mismatch goes to msg_check(full) to be sorted into corrupt, lost or out of
 * order and counted. @return true when the reply is the expected message, intact.
 */
bool msg_check_echo(struct msg_check *c, const void *buf, size_t got, const void *sent, size_t len);

/** A position-dependent 64-bit sum of len bytes (Fletcher-style, ~8 bytes a cycle). */
uint64_t msg_payload_sum(const void *buf, size_t len);

/** Total of all error counts. */
uint64_t msg_errors_total(const struct msg_errors *e);

#endif
