/* One run's configuration, as the command line set it. */
#ifndef IPCBENCH_CONFIG_H
#define IPCBENCH_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"
#include "runner.h"

#define MAX_SIZES 64
#define MAX_MECHS 64
#define MAX_PLACEMENTS 5
#define QUICK_REPS 3

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV, OUT_MARKDOWN };

struct config {
	const struct transport_ops *mechs[MAX_MECHS];
	int n_mechs;
	const struct model_ops *models[MAX_MECHS];
	int n_models;
	bool patterns[PAT_COUNT]; /* indexed by enum pattern */
	double rate_per_s;      /* --rate R: pingpong as an open-loop sender; 0: closed loop */
	bool rate_sweep;        /* --rate sweep: the rates RATE_SWEEP_STEPS of the closed loop's */
	int senders;            /* --senders M: fanin's senders (default 4) */
	int pairs;              /* --pairs N: pairs side by side in every pingpong and stream row (default 1) */
	uint64_t sizes[MAX_SIZES];
	int n_sizes;
	int64_t duration_ns;    /* 0: scaled to fit the time budget */
	int64_t warmup_ns;      /* 0: a share of each case's time */
	int64_t timeout_ns;
	int64_t budget_ns;      /* --budget: the whole run's time; 0: about a minute (--all) */
	int reps;
	bool reps_given;        /* -r was on the command line (else 6, or QUICK_REPS with --quick) */
	int cpu[2];             /* -1, -1 with --pin none */
	bool pin_given;         /* --pin was on the command line */
	const char *placements[MAX_PLACEMENTS]; /* --placement: run every case once per placement */
	int n_placements;
	bool all, quick, list, quiet, force, verify_full;
	bool histograms;        /* --histograms: rows carry their bucket counts on stdout too (always in -o's JSON) */
	enum out_format format;
	const char *out_dir;
	const char *peer;       /* --peer HOST[:PORT]: side B on `ipcbench serve` there; NULL: both sides here */
	const char *key_file;   /* --key FILE: the key shared with that server */
	struct run_link *link;  /* the session with the peer, once connected (bench/peer/) */
	json_t *peer_record;    /* results.json's "peer": the server's host record, both hosts' names */
	const char *between;    /* "between HOST-A (ADDR) and HOST-B (ADDR)" with --peer */
	int argc;
	char **argv;
};

/**
 * Parse the command line into cfg. On bad input prints one line to stderr
 * naming the flag and the accepted form and returns 2; returns -1 after
 * printing --help or --version (exit 0); 0 to go on.
 */
int cli_parse(int argc, char **argv, struct config *cfg);

/**
 * May -o write into dir: missing (then created), empty, an earlier bundle
 * (holds results.json), or anything with force? 0, or 2 after printing one
 * line naming the directory and the fix. Shared with `ipcbench plot`.
 */
int cli_check_out_dir(const char *dir, bool force);

#endif
