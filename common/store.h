/* store.h — GDBM files opened briefly, changed by copy-and-rename.
 *
 * A shared store (state.db) is never written in place: a writer takes
 * PATH.lock (flock), checks that PATH reads whole, copies it to PATH.tmp,
 * changes the copy, and store_sync renames the copy over PATH. A writer
 * killed at any moment, or a torn write, leaves PATH as it was (the stray
 * PATH.tmp is replaced by the next writer); readers never wait for a writer,
 * and concurrent writers queue on the lock, each starting from the last
 * committed version, so none loses another's change.
 *
 * Errors: errno is ENOENT (a reader found no file), EAGAIN (the lock is
 * held longer than the wait), STORE_EDAMAGED (the file exists but cannot be
 * read whole: a damaged store, never taken for an empty one), or the
 * system's cause. */
#ifndef LLMGATE_STORE_H
#define LLMGATE_STORE_H
#include <cjson/cJSON.h>
#include <errno.h>
#include <gdbm.h>
#include <stddef.h>
#include <sys/types.h>

#define STORE_EDAMAGED EBADMSG
#define STORE_READ 0
#define STORE_WRITE 1       /* a change, committed by store_sync (above) */
#define STORE_PRIVATE 2     /* in place under GDBM's lock: a private copy (settle's fold) */

/* Open path as a reader, a writer (a change: creates the store 0600 if it
 * does not exist; refuses a damaged one with STORE_EDAMAGED) or in place.
 * Waits up to wait_ms for the lock (writers) or for a GDBM lock held by
 * another program. NULL on failure, errno as above. Close with store_close. */
GDBM_FILE store_open(const char *path, int mode, int wait_ms);
/* Close; a change not committed with store_sync is discarded. */
void store_close(GDBM_FILE db);

/* Value of key as a new NUL-terminated string (free()), or NULL: errno
 * ENOENT when the key is absent, STORE_EDAMAGED (or the system's cause)
 * when it could not be read. */
char *store_get(GDBM_FILE db, const char *key, size_t *len);
/* Value of key parsed as JSON (new, cJSON_Delete), or NULL: absent (errno
 * as store_get) or not JSON. */
cJSON *store_get_json(GDBM_FILE db, const char *key);
/* Insert or replace; 0 or -1 (also after the change was committed). */
int store_put(GDBM_FILE db, const char *key, const void *val, size_t len);
/* 0, or -1 (errno ENOENT if the key was absent). */
int store_delete(GDBM_FILE db, const char *key);
/* Call cb for every key starting with prefix (order unspecified). The
 * strings are valid during the call only. Stops when cb returns non-zero
 * (callbacks return positive values), and returns that value; 0 when every
 * key was seen; -1 (errno) when the file could not be read to the end. Do
 * not modify the db inside cb. */
int store_each(GDBM_FILE db, const char *prefix,
	       int (*cb)(const char *key, const char *val, size_t vlen, void *user), void *user);
/* Make the changes durable: for a STORE_WRITE change, sync the copy and
 * rename it over the store (the commit; no change is accepted after it);
 * in place, gdbm_sync. 0 or -1 (nothing committed). */
int store_sync(GDBM_FILE db);

/* Read path whole: every key and value. 0 if healthy (*nkeys set when not
 * NULL), 1 if there is no file, -1 with a one-line reason in why (errno
 * STORE_EDAMAGED, or EAGAIN when a GDBM lock kept it from being read). */
int store_check(const char *path, long *nkeys, char *why, size_t whylen);
/* The file's identity (inode, size, mtime) as open in db or at path:
 * differs after every commit. 0 or -1. */
struct store_sig {
	ino_t ino;
	off_t size;
	long long mtime_ns;
};
int store_sig_of(GDBM_FILE db, struct store_sig *out);
int store_sig_path(const char *path, struct store_sig *out);
int store_sig_eq(const struct store_sig *a, const struct store_sig *b);

/* errno from a store function as words for a message: "another program
 * holds it", "it is damaged ...", or strerror. */
const char *store_strerror(int e);

/* Copy from to a new file to (a reflink where the file system can). 0, 1
 * if from does not exist (to is not created), -1 on error (errno). */
int store_copy_file(const char *from, const char *to);
/* fsync a file, or a directory (dir non-zero). 0 or -1. */
int store_fsync_path(const char *path, int dir);
#endif
