/* settle.h — settlement: fold closed spool segments into ledger.db, push them to the billing backend.
 *
 * One run, under an exclusive flock on $STATE_DIR/spool/settle.lock:
 *   1. close orphaned ".open" segments (spool_claim_orphans);
 *   2. fold: for up to SETTLE_FOLD_SEGMENTS ".ready" segments at a time, in
 *      name order: sum their records in memory, copy ledger.db to
 *      ledger.db.tmp, add the sums to the copy together with meta:last =
 *      {seq, segments}, fsync it and rename it over ledger.db (the commit),
 *      then rename the segments ".ready" -> ".settled" (or delete them when
 *      no billing backend is configured; with opts.archive, move them to
 *      spool/archive/). A ".ready" segment named in meta:last is already in
 *      the ledger and is only renamed. A ledger.db that cannot be read
 *      whole stops the run before this step (SETTLE_EXIT_DAMAGED);
 *   3. with a PostgreSQL database (settle_pg.c): each ".settled" segment
 *      in one transaction, its records keyed by id; "<segment>.pg" marks
 *      it written; fleet.db is refreshed from the database's totals;
 *   4. push: each ".settled" segment, in batches whose id is stable
 *      ("<segment>.<index>"); a "<segment>.push" file beside it records the
 *      batch size and how many batches the backend accepted; a segment is
 *      deleted (or archived) once every batch was accepted and, with a
 *      database, it is written there.
 * ledger.db is never written in place, so a reader never waits and a kill
 * at any moment leaves either the old or the new ledger. See
 * docs/settlement.md for the argument.
 *
 * The parts are in settle*.c (see settle_base.h); settle_status,
 * settle_dump_ledger, settle_verify and settle_opts_from_config need no
 * libcurl. */
#ifndef LLMGATE_SETTLE_H
#define LLMGATE_SETTLE_H
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SETTLE_EXIT_OK 0
#define SETTLE_EXIT_ERROR 1        /* configuration or I/O error */
#define SETTLE_EXIT_DAMAGED 65     /* EX_DATAERR: ledger.db (or state.db) cannot be read
				    * whole; nothing was folded or pushed */
#define SETTLE_EXIT_TEMPFAIL 75    /* EX_TEMPFAIL: the backend did not take everything */
#define SETTLE_STOPPED (-2)        /* tests: stopped at opts.stop_after */

#define SETTLE_LOCK_FILE "settle.lock"    /* in the spool directory */
#define SETTLE_STATE_FILE "settle.state"  /* in the spool directory: last push etc. */
#define SETTLE_ARCHIVE_DIR "archive"      /* in the spool directory: segments done with */
#define SETTLE_FLEET_FILE "fleet.db"      /* in the state directory: the database's totals, in
					   * ledger.db's format (with [settle] database) */
#define SETTLE_FOLD_SEGMENTS 64           /* segments per ledger commit, at most */
#define SETTLE_FOLD_RECORDS 200000L       /* records per ledger commit, about */
#define SETTLE_SIG_LEN (7 + 64 + 1)       /* "sha256=" + hex + NUL */
#define SETTLE_BATCH_ID_MAX 96

/* Points where a test can stop a run as if it had been killed there. */
enum settle_step {
	SETTLE_STEP_NONE = 0,
	SETTLE_STEP_CLAIMED,      /* orphans closed */
	SETTLE_STEP_COPIED,       /* ledger.db copied to ledger.db.tmp */
	SETTLE_STEP_APPLIED,      /* sums written to the copy, no meta:last yet */
	SETTLE_STEP_SYNCED,       /* meta:last written, copy synced and closed */
	SETTLE_STEP_COMMITTED,    /* copy renamed over ledger.db */
	SETTLE_STEP_MARKED_ONE,   /* the first folded segment renamed */
	SETTLE_STEP_MARKED,       /* every folded segment renamed */
	SETTLE_STEP_PLANNED,      /* a segment's .push file written */
	SETTLE_STEP_SENT,         /* a batch accepted, not yet recorded */
	SETTLE_STEP_ACKED,        /* the acceptance recorded */
	SETTLE_STEP_DELETED,      /* a pushed segment deleted, its .push file not yet */
	SETTLE_STEP_MAX,
	/* with a database only (not in the loops over the steps above) */
	SETTLE_STEP_PG_COMMITTED = 100  /* a segment's transaction committed, not yet marked */
};

struct settle_opts {
	const char *state_dir;
	const char *backend_url;   /* NULL or "": no billing backend */
	const char *backend_path;  /* appended to backend_url, "/internal/usage" */
	const char *secret;        /* HMAC key (INTERNAL_SECRET); NULL or "": cannot push */
	const char *database;      /* PostgreSQL (DATABASE_URL, [settle] database); NULL or "": none */
	int batch;                 /* records per batch */
	int retries;               /* retries of a failing batch in one run */
	long retry_delay_ms;       /* first retry delay; doubles each time */
	long connect_timeout_ms;
	long timeout_ms;           /* a whole POST */
	int dry_run;               /* look, count, change nothing */
	int archive;               /* keep segments done with in spool/archive/ */
	enum settle_step stop_after;  /* tests only; SETTLE_STEP_NONE otherwise */
};

struct settle_result {
	int busy;                  /* another run holds the lock: nothing done */
	long claimed;              /* orphaned .open segments closed */
	long folded_segments;      /* (dry run: would be) */
	long folded_records;
	long bad_lines;            /* complete lines that were not JSON objects: skipped */
	long pushed_batches;       /* (dry run: would be) */
	long pushed_records;
	long backlog_segments;     /* .ready and .settled segments left */
	long backlog_records;      /* their records not yet accepted by the backend */
	int push_failed;           /* the backend did not take every batch */
	long push_status;          /* then: its last HTTP status, 0 if none came */
	int no_backend_waiting;    /* .settled segments wait, but no backend is set */
	long db_records;           /* records of segments written to the database */
	int db_failed;             /* the database did not take every segment */
	char error[256];           /* one line (no secrets) when the run failed */
};

struct settle_count {
	long segments;
	long records;
};

struct settle_status {
	struct settle_count open;     /* being written by the router */
	struct settle_count ready;    /* closed, not in the ledger yet */
	struct settle_count settled;  /* in the ledger, waiting for the backend */
	long settled_accepted;        /* records of .settled segments the backend has */
	long backlog_records;         /* ready + settled not yet accepted */
	int64_t oldest_ms;            /* ts of the oldest record not settled or
				       * not accepted (open included); 0: none */
	int64_t last_push_ok_ms;      /* 0: never */
	int64_t last_run_ms;          /* 0: never */
	int64_t last_error_ms;
	char last_error[200];
	long long ledger_seq;         /* meta:last.seq, 0 if no ledger */
	int64_t ledger_commit_ms;
	int backend;                  /* a backend is configured */
};

/* Fill o from the configuration ([settle], BACKEND_URL, INTERNAL_SECRET,
 * state_dir) and the built-in delays. o points into c. */
void settle_opts_from_config(struct settle_opts *o, const struct config *c);

/* One settlement run. Returns SETTLE_EXIT_OK (also when another run holds
 * the lock: r->busy), SETTLE_EXIT_ERROR, SETTLE_EXIT_DAMAGED (the ledger
 * cannot be read whole: it is neither replaced nor added to, and no
 * segment moves) or SETTLE_EXIT_TEMPFAIL, with r
 * filled in either case (r->error says why). Call curl_global_init first. */
int settle_run(const struct settle_opts *o, struct settle_result *r);

/* What is waiting where; reads only. 0, or -1 with the reason in err. */
int settle_status(const struct settle_opts *o, struct settle_status *st, char *err, size_t errlen);

/* Print every ledger.db key (fleet: fleet.db's) as one JSON object per
 * line, sorted by key: {"key":"day:...",...the value's fields}. A missing
 * file prints nothing. 0, or -1 with the reason in err. */
int settle_dump_ledger(const char *state_dir, int fleet, FILE *out, char *err, size_t errlen);
/* Read ledger.db and state.db whole (every key, every ledger value parsed)
 * and print one line per file to out: "ok", "absent" or "DAMAGED: why".
 * Changes nothing. SETTLE_EXIT_OK when both can be read,
 * SETTLE_EXIT_DAMAGED when one cannot. */
int settle_verify(const char *state_dir, FILE *out);
/* Recovery from a damaged ledger: under the settle lock, build a new
 * ledger.db from the segments still on disk — spool/archive/ (kept when
 * [settle] archive is on) and the .settled ones waiting for the backend —
 * with a meta:last naming no segment (so the next run folds every .ready
 * one), and rename it over ledger.db; the old file stays as
 * ledger.db.damaged-<ms>. Refused when ledger.db reads whole, unless
 * force. Prints what it did to out. SETTLE_EXIT_OK, or SETTLE_EXIT_ERROR
 * with err. */
int settle_rebuild_ledger(const struct settle_opts *o, int force, FILE *out, char *err, size_t errlen);

/* Create or migrate the PostgreSQL schema of o->database (settle runs do
 * this too, before writing). SETTLE_EXIT_OK with one line on out, or
 * SETTLE_EXIT_ERROR with err (no secrets). */
int settle_init_db(const struct settle_opts *o, FILE *out, char *err, size_t errlen);

/* "sha256=" + hex HMAC-SHA256 under secret of "<ts>.<body>". */
void settle_sign(const char *secret, const char *ts, const char *body, size_t len, char out[SETTLE_SIG_LEN]);
/* The stable id of batch index of segment: "<segment>.<index>". */
void settle_batch_id(const char *segment, long index, char out[SETTLE_BATCH_ID_MAX]);
#endif
