/* The shared key of serve and --peer: its file, and the challenge-response on it (HMAC-SHA-256, libsodium). */
#ifndef IPCBENCH_PEER_AUTH_H
#define IPCBENCH_PEER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "peer/ctl.h"

#define PEER_KEY_MIN 16   /* bytes of a key file, at least */
#define PEER_KEY_MAX 4096 /* and at most */

struct peer_key {
	bool set;
	size_t len;
	unsigned char bytes[PEER_KEY_MAX];
};

/** libsodium, once per process; 0 or -1. */
int peer_crypto_init(void);

/**
 * Read the key file: a regular file of PEER_KEY_MIN to PEER_KEY_MAX bytes that
 * only its owner may read (like an ssh key). 0, or -1 with one line in why.
 */
int peer_key_load(const char *path, struct peer_key *k, char *why, size_t why_len);

/** Wipe the key from memory. */
void peer_key_wipe(struct peer_key *k);

/** A fresh random nonce. */
void peer_nonce(unsigned char n[CTL_NONCE_BYTES]);

/**
 * HMAC-SHA-256 under the key of role ("client" or "server") and the two
 * nonces in the order given, as hex: each side proves it knows the key over
 * the other's fresh nonce, so no answer can be replayed.
 */
void peer_mac(const struct peer_key *k, const char *role, const unsigned char first[CTL_NONCE_BYTES],
	      const unsigned char second[CTL_NONCE_BYTES], char hex[2 * CTL_NONCE_BYTES + 1]);

/** Does hex match peer_mac of the same inputs? Compared in constant time. */
bool peer_mac_ok(const struct peer_key *k, const char *role, const unsigned char first[CTL_NONCE_BYTES],
		 const unsigned char second[CTL_NONCE_BYTES], const char *hex);

#endif
