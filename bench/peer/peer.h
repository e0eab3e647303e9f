/*
 * bench/peer/: rows between two hosts, in the way of iperf3 -s/-c: `ipcbench
 * serve` runs side B of each case a client sends over a control connection,
 * and `ipcbench --peer HOST` runs side A here, through the same runner and
 * timed loops as a local row (ctl: the protocol; link: one run; serve and
 * client: the two ends of a session; auth: the shared key).
 */
#ifndef IPCBENCH_PEER_H
#define IPCBENCH_PEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct run_link;

/** `ipcbench serve [--listen ADDR[:PORT]] [--key FILE] [--once]`: argv[0] is "serve". The exit status. */
int serve_main(int argc, char **argv);

/* The client's session with one server, open for a whole run. */
struct peer_session {
	struct run_link *link; /* for every case of the run */
	json_t *record;        /* "peer" of results.json: both hosts' names and addresses, the server's host record */
	char between[400];     /* "between HOST-A (ADDR) and HOST-B (ADDR)" */
};

/**
 * Connect to HOST[:PORT], greet, and authenticate with the key in key_file
 * (NULL: none; the server then serves only clients on its own host). B's CPU
 * is named in every case when pin_b (--pin was given), else the server picks.
 * 0, or 2 after one line on stderr saying why (refused, unreachable, bad key).
 */
int peer_connect(const char *peer, const char *key_file, int64_t timeout_ns, bool pin_b, struct peer_session *s);

/** Say goodbye and close; frees the session (record stays with the caller's reference). */
void peer_disconnect(struct peer_session *s);

#endif
