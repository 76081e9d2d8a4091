/* recstore.h — records kept one file each, grouped by owner, every change
 * committed whole: the engine under the conversation store (convo.c), and
 * meant for any per-key record (stored responses could move here from
 * rstore.c: a record per response id, the owner's key id as owner).
 *
 * Layout: ROOT/<owner hash>/<id hash>.r, the hashes the first 128 bits of
 * SHA-256 in hex, so any owner or id (up to RECSTORE_ID_MAX bytes, no NUL)
 * makes a safe file name and an owner's records are only ever found
 * through its own folder. A file is a header line
 * "LGR1 <idlen> <datalen> <16 hex of SHA-256(id, data)>\n", the id, the
 * data (recstore_parse). A change is written to a temporary file in the
 * same folder, fsynced and renamed over the record (then the folder is
 * fsynced): a writer killed at any moment leaves the previous record whole
 * or the new one whole, never a mix; a record that reads short or does not
 * match its checksum (a disk that lost a write) reads as absent and is
 * replaced by the next change; stray temporary files are removed by the
 * sweep. Writers of one owner queue on ROOT/<owner hash>/.lock (flock);
 * readers take no lock. A record's age is its file's mtime (the last
 * change). */
#ifndef LLMGATE_RECSTORE_H
#define LLMGATE_RECSTORE_H
#include <stddef.h>
#include <time.h>

#define RECSTORE_ID_MAX 256
#define RECSTORE_HASH_HEX 33        /* 32 hex and the NUL */
#define RECSTORE_WAIT_MS 2000       /* longest wait for an owner's lock */
#define RECSTORE_TMP_AGE_S 60       /* temporary files older than this are debris */

/* Parse a record file's bytes: 0 with the id and data pointing into buf,
 * or -1 (torn, damaged, not a record). */
int recstore_parse(const char *buf, size_t n, const char **id, size_t *idlen, const char **data, size_t *datalen);

/* The record of (owner, id) younger than max_age_s (0: any age): its data
 * as a new NUL-terminated string (free()), *len and *mtime set when not
 * NULL; NULL with errno ENOENT (absent, expired, damaged) or the system's
 * cause. */
char *recstore_get(const char *root, const char *owner, const char *id, long max_age_s, size_t *len, time_t *mtime);

/* Change the record of (owner, id) under the owner's lock: fn is called
 * with its data (NULL when absent, expired by max_age_s or damaged) and
 * returns the new data (a new string recstore frees; NULL: leave the
 * record as it is). After a record is created, the owner's least recently
 * changed records beyond max_records (0: no limit) are deleted in the same
 * lock. 1 when written, 0 when fn left it, -1 (errno; nothing changed). */
typedef char *(*recstore_update_fn)(const char *old, size_t oldlen, void *user);
int recstore_update(const char *root, const char *owner, const char *id, long max_age_s, size_t max_records,
		    recstore_update_fn fn, void *user);

/* Delete the record of (owner, id). 0, or -1 (errno ENOENT when absent). */
int recstore_delete(const char *root, const char *owner, const char *id);

/* Call fn for each record of owner younger than max_age_s (0: any), in no
 * order, with its id, data and mtime; damaged records are skipped. Stops
 * when fn returns non-zero. Returns the number of records seen, or -1. */
typedef int (*recstore_each_fn)(const char *id, size_t idlen, const char *data, size_t len, time_t mtime,
				void *user);
long recstore_each(const char *root, const char *owner, long max_age_s, recstore_each_fn fn, void *user);

/* Delete every record older than max_age_s and stray temporary files,
 * under each owner's lock, at most once every interval_s (ROOT/.swept
 * keeps the time). Returns the records deleted, or -1. */
long recstore_sweep(const char *root, long max_age_s, long interval_s);
#endif
