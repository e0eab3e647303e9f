/* The control protocol between `ipcbench serve` and `ipcbench --peer`: framing, limits, and the checked parser. */
#ifndef IPCBENCH_PEER_CTL_H
#define IPCBENCH_PEER_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROTO 1          /* the hello's "proto"; a peer speaking another is refused */
#define CTL_PORT 7650        /* the control port when ADDR has none */
#define CTL_MAX_BYTES 65536  /* one message's JSON body at most (the host record is the largest) */
#define CTL_MAX_DEPTH 8      /* nesting of arrays and objects at most (the host record needs 7) */
#define CTL_NONCE_BYTES 32

/* What a client may ask of a server, at most. */
#define CTL_MAX_MSG_BYTES (64u << 20)
#define CTL_MAX_SPAN_NS (60 * 1000000000LL) /* warmup, duration and timeout each */
#define CTL_MAX_RUNS 100000                 /* runs (repetitions of cases) per connection */

/* Deadlines of the reads: the greeting, a case's answer, and the wait for the next case. */
#define CTL_GREET_NS (10 * 1000000000LL)
#define CTL_IDLE_NS (120 * 1000000000LL)

/*
 * The messages, in the order a session uses them:
 *   S hello   {proto, version, auth: "hmac-sha256"|"none", nonce}
 *   C auth    {proto, nonce, mac?}          mac = HMAC(key, "client" | S nonce | C nonce)
 *   S welcome {mac?, hostname, host}        mac = HMAC(key, "server" | C nonce | S nonce)
 *   C case    {mechanism, pattern, size, warmup_ns, duration_ns, timeout_ns, verify_full, port, cpu?}
 *   S ready   {port}  or  S refused {reason}
 *   both flag {name, value}  (A: attached finished warm_end end_count; B: attached finished seen_*)
 *   C abort {}   S report {failed, reason, msgs, t_first_ns, t_last_ns, cpu_ns, ..., corrupt}
 *   C bye {};  S busy {reason} or error {reason} before it closes.
 */
enum ctl_type {
	CTL_HELLO, CTL_AUTH, CTL_WELCOME, CTL_BUSY, CTL_ERROR, CTL_CASE, CTL_READY, CTL_REFUSED,
	CTL_FLAG, CTL_ABORT, CTL_REPORT, CTL_BYE, CTL_TYPES
};

/* One received message whose every field was checked against its type's schema. */
struct ctl_msg {
	enum ctl_type type;
	json_t *doc; /* owned: ctl_msg_free */
};

/**
 * Check a message body (no frame header): at most CTL_MAX_BYTES, nesting at
 * most CTL_MAX_DEPTH, one JSON object without duplicate keys, a known "type",
 * and exactly the fields of that type's schema with their kinds and ranges.
 * @return 0 with *m filled, or -EPROTO with one line in why.
 */
int ctl_parse(const char *buf, size_t len, struct ctl_msg *m, char *why, size_t why_len);

void ctl_msg_free(struct ctl_msg *m);

/* A checked message's fields (absent optional ones read as 0, "" or NULL). */
int64_t ctl_int(const struct ctl_msg *m, const char *key);
const char *ctl_str(const struct ctl_msg *m, const char *key);
bool ctl_bool(const struct ctl_msg *m, const char *key);
bool ctl_has(const struct ctl_msg *m, const char *key);

const char *ctl_type_name(enum ctl_type t);

/** The body length a 4-byte big-endian frame header announces; -EMSGSIZE above CTL_MAX_BYTES or when 0. */
int64_t ctl_frame_len(const unsigned char hdr[4]);

/**
 * Send doc (consumed) as one frame on a non-blocking socket, waiting at most
 * until deadline_ns. 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE or -errno.
 */
int ctl_send(int fd, json_t *doc, int64_t deadline_ns);

/**
 * Receive one frame and check it (ctl_parse), waiting at most until
 * deadline_ns. 0, -ETIMEDOUT, -EPIPE (closed, also mid-frame), -EMSGSIZE,
 * -EINTR (SIGINT or SIGTERM), or -EPROTO with why; on any error the
 * connection is of no further use.
 */
int ctl_recv(int fd, struct ctl_msg *m, int64_t deadline_ns, char *why, size_t why_len);

/** Hex of n bytes into out (2n + 1 chars). */
void ctl_hex(const unsigned char *b, size_t n, char *out);

/** n bytes from exactly 2n lowercase hex digits; -EINVAL otherwise. */
int ctl_unhex(const char *s, unsigned char *b, size_t n);

#endif
