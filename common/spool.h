/* spool.h — the usage spool: append-only segment files, one writing process each.
 *
 * Layout: $STATE_DIR/spool/
 *   seg-<ms:13>-<pid>-<rand:8hex>.open     being written; its writer holds
 *                                          flock(LOCK_EX) on it
 *   seg-....ready                          closed by its writer (rename)
 *   seg-....settled                        folded into ledger.db by settle,
 *                                          waiting for the billing backend
 * Each record is one JSON object on one line ending in '\n', written with a
 * single writev(2) to an O_APPEND file (the kernel appends one write at a
 * time, so the threads of a writer share a segment without waiting on each
 * other; a local file system is assumed), so a kill -9 can leave at most one
 * partial last line, which readers skip. A ".open" segment whose lock can be
 * taken has lost its writer: settle closes it (spool_claim_orphans).
 * Segment names sort by creation time.
 *
 * Space for records is made sure of before a request goes upstream
 * (spool_reserve): each reservation is SPOOL_RESERVE_BYTES pre-allocated
 * (fallocate, FALLOC_FL_KEEP_SIZE) past the end of the current segment, and
 * the request's record is later appended into that space, so a disk that
 * fills meanwhile cannot refuse it. An append never writes into space other
 * reservations hold: it allocates for itself, or fails. A segment is closed
 * only once the next one holds the outstanding reservations. A record that
 * could not be written anyway (EIO, an over-sized record on a full disk) is
 * kept in memory (spool_keep) and written by spool_retry. */
#ifndef LLMGATE_SPOOL_H
#define LLMGATE_SPOOL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_NAME_MAX 64
#define SPOOL_RECORD_MAX 8192
#define SPOOL_ROTATE_MS 5000      /* a segment is closed this long after its first record */
#define SPOOL_ROTATE_BYTES (4u << 20)
#define SPOOL_RESERVE_BYTES 2048  /* pre-allocated per request in flight; records are ~450 bytes */
#define SPOOL_KEPT_MAX 1024       /* records kept in memory before new requests are refused */

/* A record that could not be written, kept for spool_retry; meta is the
 * caller's (copied), handed back when the record is written. */
struct spool_kept {
	char *json;
	size_t len;
	void *meta;
	size_t metalen;
};

struct spool {
	pthread_rwlock_t lock;     /* shared by appenders, alone to open or close a segment */
	char *dir;                 /* .../spool */
	int fd;                    /* current .open segment, -1 if none */
	char name[SPOOL_NAME_MAX]; /* its base name without suffix */
	int64_t opened_ms;
	size_t bytes;
	unsigned long records;     /* in the current segment */
	unsigned long failed;      /* records that could not be written */
	/* space: under lock (shared) + space_mu, or lock alone (exclusive) */
	pthread_mutex_t space_mu;
	size_t alloc_end;          /* pre-allocated up to here in the current segment */
	size_t reserved;           /* held by requests in flight */
	int prealloc;              /* 1: fallocate works here; 0: statvfs checks only */
	int last_err;              /* errno of the last failure to reserve or write, 0 after a success */
	/* records kept in memory */
	pthread_mutex_t kept_mu;
	pthread_mutex_t retry_mu;  /* one spool_retry at a time */
	struct spool_kept *kept;
	size_t nkept;
};

/* Prepare the writer for state_dir/spool (created 0700). 0, or -1. */
int spool_open(struct spool *s, const char *state_dir);
/* Make sure one record of up to SPOOL_RESERVE_BYTES will fit: pre-allocate
 * that much in the current segment (opening one when needed) and hold it
 * for the caller. 0: held (pass held = 1 to the record's spool_append, or
 * give it back with spool_unreserve); -1: no space or the spool cannot be
 * written (s->last_err says why; nothing logged). Thread-safe. */
int spool_reserve(struct spool *s);
void spool_unreserve(struct spool *s);
/* Is there space on the disk again, beyond what is held? Allocates 64 KiB
 * more for the current segment (kept for later records, so a few pages
 * freed do not end a "no space" state that returns at once). 0 if so, -1
 * if not (s->last_err). */
int spool_probe(struct spool *s);
/* Append one record (a JSON object, no newline); held: the caller holds a
 * reservation, which this gives back whatever happens. Opens a segment
 * when needed; seg_out (may be NULL) gets the segment's base name. Returns
 * 0 once the record is in the kernel (it survives a kill of this process),
 * -1 if it could not be written (s->last_err; nothing logged but an
 * over-sized record). Thread-safe. */
int spool_append(struct spool *s, const char *json, size_t len, int held, char seg_out[SPOOL_NAME_MAX]);
/* Keep a record that could not be written (json and meta are copied). */
void spool_keep(struct spool *s, const char *json, size_t len, const void *meta, size_t metalen);
/* How many records are kept. */
size_t spool_kept_count(struct spool *s);
/* Try to write the kept records, oldest first, stopping at the first
 * failure; written(meta, seg, user) for each one written. Returns how many
 * are still kept. Thread-safe (one retrier at a time). */
size_t spool_retry(struct spool *s, void (*written)(const void *meta, const char *seg, void *user), void *user);
/* Close the current segment if it is older than SPOOL_ROTATE_MS (force:
 * whatever its age) and holds records: fsync, rename .open -> .ready. */
void spool_rotate(struct spool *s, int force);
/* Rotate (forced) and free; records still kept are freed too (the caller
 * retries and reports them first). */
void spool_close(struct spool *s);

/* ----------------------------------------------------------- reader side */

/* Rename every .open segment whose writer is gone to .ready. Returns how
 * many were claimed. */
int spool_claim_orphans(const char *spool_dir);
/* Sorted list of segment base names (without suffix) that end in suffix
 * (".ready", ".settled", ".open"). Returns the count; *out is a new array
 * (spool_free_list). */
size_t spool_list(const char *spool_dir, const char *suffix, char ***out);
/* spool_list that tells an unreadable folder from an empty one: 0 with
 * *out, *count (a missing folder is empty), or -1 with errno when the
 * folder cannot be opened or read to its end (nothing in *out). spool_list
 * logs that error and answers 0 segments. */
int spool_scan(const char *spool_dir, const char *suffix, char ***out, size_t *count);
void spool_free_list(char **list, size_t n);
/* Bytes not yet folded into the ledger: the sizes of the .open and .ready
 * segments in spool_dir (0 if it cannot be read). */
long long spool_backlog_bytes(const char *spool_dir);
/* Is segment seg (base name) still to be settled: .open or .ready? */
int spool_pending(const char *spool_dir, const char *seg);
/* Call fn for each complete record (line) of the file; a last line without
 * '\n' is skipped and counted in *partial. Returns the number of records,
 * or -1 if the file cannot be read. fn returns non-zero to stop. */
long spool_read(const char *path, int (*fn)(const char *line, size_t len, void *user), void *user,
		int *partial);
#endif
