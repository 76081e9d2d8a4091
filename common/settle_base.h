/* settle_base.h — what the parts of settlement share (not for callers
 * outside settle_*.c: they use settle.h).
 *
 * The parts: settle.c (a run: claim, fold, push, backlog; the dry run),
 * settle_base.c (the run context, the spool's side files, meta:last,
 * counting, the lock), settle_fold.c (segments into ledger.db; the
 * rebuild), settle_push.c (batches to the billing backend over libcurl),
 * settle_status.c (status, dump, verify: reads only). settle_push.c is the
 * only file that uses libcurl, and only settle_run reaches it: a program
 * that shows the status without running settlement does not link it. */
#ifndef LLMGATE_SETTLE_BASE_H
#define LLMGATE_SETTLE_BASE_H
#include "settle.h"
#include <stddef.h>
#include <stdint.h>

struct ledger_fold;

#define SETTLE_STORE_WAIT_MS 2000      /* waiting for a store another process holds */
#define SETTLE_SEGMENT_MAX (256L << 20)   /* a segment read whole for pushing */

/* One run's context. */
struct settle_ctx {
	const struct settle_opts *o;
	struct settle_result *r;
	char *spool_dir;
	char *ledger;              /* ledger.db */
	char *tmp;                 /* ledger.db.tmp */
	char *url;                 /* backend_url + backend_path, or NULL */
	int keep_settled;          /* a backend is configured: keep .settled */
	long long last_seq;        /* meta:last */
	char **last_segs;
	size_t nlast;
	void *curl;                /* settle_push.c's libcurl handle, or NULL */
	void *pg;                  /* settle_pg.c's PostgreSQL connection, or NULL */
	int64_t push_ok_ms;        /* last accepted batch in this run */
	char push_error[200];
};

/* Stop here if a test asked to (as if the process had been killed): sets
 * result to SETTLE_STOPPED and jumps to out. */
#define SETTLE_STOP_AT(x, s)                         \
	do {                                         \
		if ((x)->o->stop_after == (s)) {     \
			result = SETTLE_STOPPED;     \
			goto out;                    \
		}                                    \
	} while (0)

/* Counting the records of a segment with settle_count_cb: n counted, ts
 * of record number want (0: none). */
struct settle_count_ctx {
	long n;
	long want;       /* record index whose ts to take */
	int64_t ts;
};

/* $STATE_DIR/spool/settle.state: what the last runs did. */
struct settle_runstate {
	int64_t last_run, last_push_ok, last_error_at;
	char last_error[200];
};

/* x for a run of o reporting into r (both zeroed first), with its paths
 * (spool_dir, ledger, tmp: the caller frees them). */
void settle_ctx_init(struct settle_ctx *x, const struct settle_opts *o, struct settle_result *r);
/* Record the first reason of a failure in x->r->error (secrets scrubbed). */
__attribute__((format(printf, 2, 3)))
void settle_fail(struct settle_ctx *x, const char *fmt, ...);
/* s is neither NULL nor "". */
int settle_is_set(const char *s);
/* Write data to dir/name through dir/name.tmp and a rename; durable: fsync
 * the file and the directory. 0 or -1 (errno). */
int settle_write_atomic(const char *dir, const char *name, const char *data, size_t len, int durable);
/* "<spool_dir>/<name><suffix>", to free. */
char *settle_seg_path(const struct settle_ctx *x, const char *name, const char *suffix);
/* A spool_read callback counting records into a struct settle_count_ctx. */
int settle_count_cb(const char *line, size_t len, void *user);
/* One record of a segment read whole: its bytes are data[off, off+len). */
struct settle_line {
	size_t off, len;
};
/* Read the segment at path whole (at most SETTLE_SEGMENT_MAX bytes) and
 * find its records: complete lines that are JSON objects, in order. The
 * data is a new buffer (free it and *lines); NULL with errno when the file
 * cannot be read. */
char *settle_load_records(const char *path, struct settle_line **lines, long *n);
/* "<segment>.push": {"batch":B,"acked":A}. 1 read, 0 none, -1 malformed. */
int settle_read_push_file(const char *path, long *batch, long *acked);
/* Read settle.state of spool_dir (zeroed when absent or unreadable). */
void settle_read_state(const char *spool_dir, struct settle_runstate *s);
/* Write settle.state (a failure is logged). */
void settle_write_state(const char *spool_dir, const struct settle_runstate *s);
/* Forget x's meta:last segment list. */
void settle_free_last(struct settle_ctx *x);
/* Read meta:last from the ledger file: seq, and when not NULL its time and
 * its segments (a new list). 0 (also when there is no ledger), -1 (errno). */
int settle_read_last(const char *ledger, long long *seq, int64_t *at, char ***segs, size_t *nsegs);
/* name is one of list[0..n). */
int settle_in_list(char **list, size_t n, const char *name);
/* Count the records of each segment with suffix into c; with_push: those
 * the backend accepted go to *accepted (when not NULL) and are not old.
 * Updates *oldest (0: none yet). */
void settle_count_state(const struct settle_ctx *x, const char *suffix, int with_push, struct settle_count *c,
			long *accepted, int64_t *oldest);
/* The settle lock, without waiting: 0 taken (*fd holds it), 1 another run
 * holds it, -1 error (r->error). */
int settle_take_lock(struct settle_ctx *x, int *fd);

/* settle_fold.c */
/* A segment done with at path (in the ledger, and accepted by the backend
 * when there is one): archived or deleted. 0, or -1 (errno; ENOENT:
 * already gone). */
int settle_segment_done(struct settle_ctx *x, const char *path, const char *name);
/* Sum the segments dir/segs[i]suffix into f, counting bad lines into *bad.
 * 0, or -1 (r->error). */
int settle_fold_read(struct settle_ctx *x, const char *dir, const char *suffix, char **segs, size_t n,
		     struct ledger_fold *f, long *bad);
/* Fold every .ready segment into the ledger, SETTLE_FOLD_SEGMENTS per
 * commit. 0, -1 (r->error), or SETTLE_STOPPED. */
int settle_fold_all(struct settle_ctx *x);

/* settle_pg.c */
/* Write every .settled segment not yet marked "<segment>.pg" into the
 * PostgreSQL database of x->o->database, one transaction per segment
 * (records keyed by their id, so a replay inserts nothing; the totals
 * table moves by what was inserted), then mark it; then refresh fleet.db
 * from the totals. A segment with no billing backend waiting is done once
 * marked. 0 all written, 1 the database did not take one (kept for the
 * next run), -1 error (r->error), SETTLE_STOPPED. */
int settle_pg_all(struct settle_ctx *x);
/* The segment is written to the database, or no database is configured. */
int settle_pg_done(const struct settle_ctx *x, const char *seg);
/* Close the connection settle_pg_all opened. */
void settle_pg_end(struct settle_ctx *x);

/* settle_push.c */
/* Push every .settled segment, oldest first, until one is not taken: 0 all
 * taken, 1 the backend did not take a batch, -1 error, SETTLE_STOPPED. */
int settle_push_all(struct settle_ctx *x);
/* Release what pushing held (the libcurl handle). */
void settle_push_end(struct settle_ctx *x);
#endif
