/* store.c — GDBM files opened briefly, waiting politely for other processes. */
#include "autoconf.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_RETRY_MS 5

GDBM_FILE store_open(const char *path, int writer, int wait_ms)
{
	int waited = 0;
	for (;;) {
		if (!writer && access(path, F_OK) != 0) {
			errno = ENOENT;
			return NULL;
		}
		GDBM_FILE db = gdbm_open(path, 0, writer ? GDBM_WRCREAT : GDBM_READER, 0600, NULL);
		if (db)
			return db;
		int locked = gdbm_errno == GDBM_CANT_BE_READER || gdbm_errno == GDBM_CANT_BE_WRITER ||
			     gdbm_errno == GDBM_FILE_OPEN_ERROR;
		int saved = errno;
		if (!locked || waited >= wait_ms) {
			errno = locked ? EAGAIN : (saved ? saved : EIO);
			return NULL;
		}
		struct timespec ts = { 0, STORE_RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
		waited += STORE_RETRY_MS;
	}
}

void store_close(GDBM_FILE db)
{
	if (db)
		gdbm_close(db);
}

char *store_get(GDBM_FILE db, const char *key, size_t *len)
{
	datum k = { (char *)key, (int)strlen(key) };
	datum v = gdbm_fetch(db, k);
	if (!v.dptr)
		return NULL;
	char *s = xmalloc((size_t)v.dsize + 1);
	memcpy(s, v.dptr, (size_t)v.dsize);
	s[v.dsize] = '\0';
	free(v.dptr);
	if (len)
		*len = (size_t)v.dsize;
	return s;
}

int store_put(GDBM_FILE db, const char *key, const void *val, size_t len)
{
	datum k = { (char *)key, (int)strlen(key) };
	datum v = { (char *)val, (int)len };
	return gdbm_store(db, k, v, GDBM_REPLACE) == 0 ? 0 : -1;
}

int store_delete(GDBM_FILE db, const char *key)
{
	datum k = { (char *)key, (int)strlen(key) };
	return gdbm_delete(db, k) == 0 ? 0 : -1;
}

int store_each(GDBM_FILE db, const char *prefix,
	       int (*cb)(const char *key, const char *val, size_t vlen, void *user), void *user)
{
	int result = 0;
	size_t pl = strlen(prefix);
	datum k = gdbm_firstkey(db);
	while (k.dptr) {
		if ((size_t)k.dsize >= pl && !memcmp(k.dptr, prefix, pl)) {
			char *ks = xstrndup(k.dptr, (size_t)k.dsize);
			datum v = gdbm_fetch(db, k);
			if (v.dptr) {
				char *vs = xmalloc((size_t)v.dsize + 1);
				memcpy(vs, v.dptr, (size_t)v.dsize);
				vs[v.dsize] = '\0';
				result = cb(ks, vs, (size_t)v.dsize, user);
				free(vs);
				free(v.dptr);
			}
			free(ks);
			if (result)
				break;
		}
		datum next = gdbm_nextkey(db, k);
		free(k.dptr);
		k = next;
	}
	free(k.dptr);
	return result;
}

int store_sync(GDBM_FILE db)
{
	return gdbm_sync(db) == 0 ? 0 : -1;
}
