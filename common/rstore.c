/* rstore.c — stored responses in STATE/responses.db (see rstore.h). */
#include "autoconf.h"
#include "rstore.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RSTORE_WAIT_MS 2000
#define RSTORE_SWEEP_S 3600            /* expired records dropped at most this often */
#define RSTORE_SWEPT "meta:swept"      /* when they last were */

char *rstore_path(const char *state_dir)
{
	return xasprintf("%s/responses.db", state_dir);
}

struct expired {
	long cutoff;
	char **ids;
	size_t n, cap;
};

static int collect_expired(const char *key, const char *val, size_t vlen, void *user)
{
	struct expired *e = user;
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "created");
	if (strncmp(key, "resp_", 5) == 0 && (!cJSON_IsNumber(c) || (long)c->valuedouble < e->cutoff)) {
		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 16;
			e->ids = xrealloc(e->ids, e->cap * sizeof(*e->ids));
		}
		e->ids[e->n++] = xstrdup(key);
	}
	cJSON_Delete(j);
	return 0;
}

/* Open the store for a change, in place: stored responses are no money and
 * no keys, and a copy of the whole file per answer would cost what the
 * file weighs. GDBM's own lock keeps readers out while it is open. A file
 * damaged (by a crash in the middle of a change) is put aside, said once,
 * and a new one begun: its responses are gone, nothing else is. */
static GDBM_FILE open_change(const char *path)
{
	GDBM_FILE db = store_open(path, STORE_PRIVATE, RSTORE_WAIT_MS);
	if (db || errno != STORE_EDAMAGED)
		return db;
	char *aside = xasprintf("%s.damaged-%ld", path, (long)time(NULL));
	if (rename(path, aside) == 0)
		log_err("%s was damaged; kept as %s, stored responses start anew", path, aside);
	free(aside);
	return store_open(path, STORE_PRIVATE, RSTORE_WAIT_MS);
}

/* Drop the records older than ttl_s from db (open for a change), at most
 * once every RSTORE_SWEEP_S: a look at every record is not for every
 * answer. */
static void drop_expired(GDBM_FILE db, long ttl_s)
{
	long now = (long)time(NULL);
	char *swept = store_get(db, RSTORE_SWEPT, NULL);
	long last = swept ? atol(swept) : 0;
	free(swept);
	if (last && now - last < RSTORE_SWEEP_S && last <= now)
		return;
	char stamp[24];
	snprintf(stamp, sizeof(stamp), "%ld", now);
	store_put(db, RSTORE_SWEPT, stamp, strlen(stamp));
	struct expired e = { .cutoff = now - ttl_s };
	store_each(db, "", collect_expired, &e);
	for (size_t i = 0; i < e.n; i++) {
		store_delete(db, e.ids[i]);
		free(e.ids[i]);
	}
	free(e.ids);
}

int rstore_put(const char *state_dir, const char *owner, const cJSON *response,
	       const cJSON *input, const char *instructions, long ttl_s)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(response, "id");
	if (!cJSON_IsString(id) || !owner) {
		errno = EINVAL;
		return -1;
	}
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "owner", owner);
	cJSON_AddNumberToObject(rec, "created", (double)time(NULL));
	if (instructions)
		cJSON_AddStringToObject(rec, "instructions", instructions);
	cJSON_AddItemToObject(rec, "input", input ? cJSON_Duplicate(input, 1) : cJSON_CreateArray());
	cJSON_AddItemToObject(rec, "response", cJSON_Duplicate(response, 1));
	char *txt = cJSON_PrintUnformatted(rec);
	cJSON_Delete(rec);
	char *path = rstore_path(state_dir);
	int rc = -1;
	GDBM_FILE db = open_change(path);
	if (db) {
		drop_expired(db, ttl_s);
		if (store_put(db, id->valuestring, txt, strlen(txt)) == 0 && store_sync(db) == 0)
			rc = 0;
		int e = errno;
		store_close(db);
		errno = e;
	}
	free(path);
	free(txt);
	return rc;
}

/* The record of id in db if owner made it (and, ttl_s != 0, it is young
 * enough), else NULL with errno. */
static cJSON *owned(GDBM_FILE db, const char *owner, const char *id, long ttl_s)
{
	cJSON *rec = store_get_json(db, id);
	if (!rec)
		return NULL;
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "owner");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "created");
	if (!cJSON_IsString(o) || strcmp(o->valuestring, owner) || !cJSON_IsNumber(c) ||
	    (ttl_s != 0 && (long)c->valuedouble < (long)time(NULL) - ttl_s)) {
		cJSON_Delete(rec);
		errno = ENOENT;
		return NULL;
	}
	return rec;
}

cJSON *rstore_get(const char *state_dir, const char *owner, const char *id, long ttl_s)
{
	if (!owner || !id) {
		errno = ENOENT;
		return NULL;
	}
	char *path = rstore_path(state_dir);
	GDBM_FILE db = store_open(path, STORE_READ, RSTORE_WAIT_MS);
	free(path);
	if (!db)
		return NULL;
	cJSON *rec = owned(db, owner, id, ttl_s);
	int e = errno;
	store_close(db);
	errno = e;
	return rec;
}

int rstore_delete(const char *state_dir, const char *owner, const char *id)
{
	if (!owner || !id) {
		errno = ENOENT;
		return -1;
	}
	char *path = rstore_path(state_dir);
	GDBM_FILE db = open_change(path);
	free(path);
	if (!db)
		return -1;
	int rc = -1;
	cJSON *rec = owned(db, owner, id, 0);
	if (rec && store_delete(db, id) == 0 && store_sync(db) == 0)
		rc = 0;
	int e = errno;
	cJSON_Delete(rec);
	store_close(db);
	errno = e;
	return rc;
}
