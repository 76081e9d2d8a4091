/* store.h — GDBM files opened briefly, waiting politely for other processes. */
#ifndef LLMGATE_STORE_H
#define LLMGATE_STORE_H
#include <gdbm.h>
#include <stddef.h>

/* Open path as a writer (creating it 0600) or reader. GDBM allows one
 * writer or many readers and fails at once when locked: this retries for
 * up to wait_ms. Returns NULL on failure (errno: ENOENT if a reader found no
 * file, EAGAIN if still locked, else the cause). Close with store_close. */
GDBM_FILE store_open(const char *path, int writer, int wait_ms);
void store_close(GDBM_FILE db);

/* Value of key as a new NUL-terminated string (free()), or NULL. */
char *store_get(GDBM_FILE db, const char *key, size_t *len);
/* Insert or replace; 0 or -1. */
int store_put(GDBM_FILE db, const char *key, const void *val, size_t len);
int store_delete(GDBM_FILE db, const char *key);
/* Call cb for every key starting with prefix (order unspecified). The
 * strings are valid during the call only. Stops when cb returns non-zero,
 * and returns that value; else 0. Do not modify the db inside cb. */
int store_each(GDBM_FILE db, const char *prefix,
	       int (*cb)(const char *key, const char *val, size_t vlen, void *user), void *user);
/* Flush to disk; 0 or -1. */
int store_sync(GDBM_FILE db);
#endif
