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
 * Segment names sort by creation time. */
#ifndef LLMGATE_SPOOL_H
#define LLMGATE_SPOOL_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_NAME_MAX 64
#define SPOOL_RECORD_MAX 8192
#define SPOOL_ROTATE_MS 5000      /* a segment is closed this long after its first record */
#define SPOOL_ROTATE_BYTES (4u << 20)

struct spool {
	pthread_rwlock_t lock;     /* shared by appenders, alone to open or close a segment */
	char *dir;                 /* .../spool */
	int fd;                    /* current .open segment, -1 if none */
	char name[SPOOL_NAME_MAX]; /* its base name without suffix */
	int64_t opened_ms;
	size_t bytes;
	unsigned long records;     /* in the current segment */
	unsigned long failed;      /* records that could not be written */
};

/* Prepare the writer for state_dir/spool (created 0700). 0, or -1. */
int spool_open(struct spool *s, const char *state_dir);
/* Append one record (a JSON object, no newline). Opens a segment when
 * needed; seg_out (may be NULL) gets the segment's base name. Returns 0 once the record is in the kernel (it survives a kill
 * of this process), -1 if it could not be written (logged). Thread-safe. */
int spool_append(struct spool *s, const char *json, size_t len, char seg_out[SPOOL_NAME_MAX]);
/* Close the current segment if it is older than SPOOL_ROTATE_MS (force:
 * whatever its age) and holds records: fsync, rename .open -> .ready. */
void spool_rotate(struct spool *s, int force);
/* Rotate (forced) and free. */
void spool_close(struct spool *s);

/* ----------------------------------------------------------- reader side */

/* Rename every .open segment whose writer is gone to .ready. Returns how
 * many were claimed. */
int spool_claim_orphans(const char *spool_dir);
/* Sorted list of segment base names (without suffix) that end in suffix
 * (".ready", ".settled", ".open"). Returns the count; *out is a new array
 * (spool_free_list). */
size_t spool_list(const char *spool_dir, const char *suffix, char ***out);
void spool_free_list(char **list, size_t n);
/* Is segment seg (base name) still to be settled: .open or .ready? */
int spool_pending(const char *spool_dir, const char *seg);
/* Call fn for each complete record (line) of the file; a last line without
 * '\n' is skipped and counted in *partial. Returns the number of records,
 * or -1 if the file cannot be read. fn returns non-zero to stop. */
long spool_read(const char *path, int (*fn)(const char *line, size_t len, void *user), void *user,
		int *partial);
#endif
