/* upkey.c — upstream keys added at run time, kept in state.db. */
#include "autoconf.h"
#include "upkey.h"
#include "auth.h"
#include "sha256.h"
#include "state_redis.h"
#include "store.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_WAIT_MS 2000
#define UPKEY_LABEL_MAX 64

void upkey_hint(const char *secret, char *out, size_t outlen)
{
	size_t n = strlen(secret);
	if (n < 12)
		snprintf(out, outlen, "…");
	else
		snprintf(out, outlen, "%.3s…%s", secret, secret + n - 4);
}

static GDBM_FILE open_writer(const char *state_dir, char *err, size_t errlen)
{
	char *path = auth_state_path(state_dir);
	GDBM_FILE db = store_open(path, STORE_WRITE, STORE_WAIT_MS);
	if (!db)
		snprintf(err, errlen, "cannot change %s: %s", path, store_strerror(errno));
	free(path);
	return db;
}

static int valid_provider(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= 64)
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr("-_.", *s)))
			return 0;
	return 1;
}

int upkey_add(const char *state_dir, const char *provider, const char *secret, const char *label,
	      char id_out[UPKEY_ID_MAX], char *err, size_t errlen)
{
	int result = -1;
	GDBM_FILE db = NULL;
	char *json = NULL, *dbkey = NULL;
	cJSON *j = NULL;
	size_t sl = strlen(secret);
	if (!valid_provider(provider)) {
		snprintf(err, errlen, "provider must be a provider name ([a-z0-9._-])");
		goto out;
	}
	if (!sl || sl >= UPKEY_SECRET_MAX) {
		snprintf(err, errlen, "the key must be 1 to %d characters", UPKEY_SECRET_MAX - 1);
		goto out;
	}
	for (const char *p = secret; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen, "the key must not contain spaces or control characters");
			goto out;
		}
	}
	if (label && strlen(label) >= UPKEY_LABEL_MAX) {
		snprintf(err, errlen, "label longer than %d characters", UPKEY_LABEL_MAX - 1);
		goto out;
	}
	unsigned char rnd[4];
	char hex[9];
	if (random_bytes(rnd, sizeof(rnd)) != 0) {
		snprintf(err, errlen, "no randomness available");
		goto out;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(id_out, UPKEY_ID_MAX, "u_%s", hex);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id_out);
	cJSON_AddStringToObject(j, "provider", provider);
	cJSON_AddStringToObject(j, "key", secret);
	cJSON_AddStringToObject(j, "label", label ? label : "");
	cJSON_AddFalseToObject(j, "disabled");
	cJSON_AddNumberToObject(j, "added", (double)time(NULL));
	state_redis_stamp(j);
	json = cJSON_PrintUnformatted(j);
	dbkey = xasprintf("upkey:%s:%s", provider, id_out);
	if (!(db = open_writer(state_dir, err, errlen)))
		goto out;
	if (store_put(db, dbkey, json, strlen(json)) != 0 || store_sync(db) != 0) {
		snprintf(err, errlen, "cannot write state.db");
		goto out;
	}
	result = 0;
out:
	store_close(db);
	if (json) {
		memset(json, 0, strlen(json));
		free(json);
	}
	free(dbkey);
	cJSON_Delete(j);
	return result;
}

struct find_ctx {
	const char *id;
	char *dbkey;
};

/* A removed key's record (kept so that the removal reaches every gateway
 * of a fleet, state_redis.h): no secret, "removed": true. */
static int is_removed(const char *val, size_t vlen)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	int r = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "removed"));
	cJSON_Delete(j);
	return r;
}

static int find_one(const char *key, const char *val, size_t vlen, void *user)
{
	struct find_ctx *f = user;
	const char *colon = strrchr(key, ':');
	if (colon && !strcmp(colon + 1, f->id) && !is_removed(val, vlen)) {
		f->dbkey = xstrdup(key);
		return 1;
	}
	return 0;
}

/* The removal of a key: its record without the secret, marked removed. */
static void do_remove(cJSON *rec, const void *arg)
{
	(void)arg;
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(rec, "key");
	if (cJSON_IsString(secret))
		memset(secret->valuestring, 0, strlen(secret->valuestring));
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "key");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "removed");
	cJSON_AddTrueToObject(rec, "removed");
}

/* Change key id's record with fn. */
static int modify(const char *state_dir, const char *id, void (*fn)(cJSON *rec, const void *arg), const void *arg,
		  char *err, size_t errlen)
{
	int result = -1;
	struct find_ctx f = { id, NULL };
	char *val = NULL, *json = NULL;
	cJSON *j = NULL;
	GDBM_FILE db = open_writer(state_dir, err, errlen);
	if (!db)
		goto out;
	store_each(db, "upkey:", find_one, &f);
	if (!f.dbkey) {
		snprintf(err, errlen, "no upstream key with id %.20s", id);
		goto out;
	}
	size_t len;
	val = store_get(db, f.dbkey, &len);
	if (!val || !(j = cJSON_ParseWithLength(val, len))) {
		snprintf(err, errlen, "upstream key %.20s is unreadable", id);
		goto out;
	}
	fn(j, arg);
	state_redis_stamp(j);
	json = cJSON_PrintUnformatted(j);
	if (store_put(db, f.dbkey, json, strlen(json)) != 0 || store_sync(db) != 0) {
		snprintf(err, errlen, "cannot write state.db");
		goto out;
	}
	result = 0;
out:
	store_close(db);
	free(f.dbkey);
	free(val);
	free(json);
	cJSON_Delete(j);
	return result;
}

static void set_member(cJSON *rec, const char *name, cJSON *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, name);
	cJSON_AddItemToObject(rec, name, v);
}

static void do_disable(cJSON *rec, const void *arg)
{
	set_member(rec, "disabled", cJSON_CreateBool(*(const int *)arg));
}

static void do_label(cJSON *rec, const void *arg)
{
	set_member(rec, "label", cJSON_CreateString(arg));
}

int upkey_set_disabled(const char *state_dir, const char *id, int disabled, char *err, size_t errlen)
{
	return modify(state_dir, id, do_disable, &disabled, err, errlen);
}

int upkey_set_label(const char *state_dir, const char *id, const char *label, char *err, size_t errlen)
{
	if (strlen(label) >= UPKEY_LABEL_MAX) {
		snprintf(err, errlen, "label longer than %d characters", UPKEY_LABEL_MAX - 1);
		return -1;
	}
	return modify(state_dir, id, do_label, label, err, errlen);
}

int upkey_remove(const char *state_dir, const char *id, char *err, size_t errlen)
{
	return modify(state_dir, id, do_remove, NULL, err, errlen);
}

static int list_one(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *arr = user;
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	(void)key;
	if (!j)
		return 0;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *prov = cJSON_GetObjectItemCaseSensitive(j, "provider");
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(j, "label");
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added");
	if (cJSON_IsString(id) && cJSON_IsString(prov) && cJSON_IsString(secret)) {
		char hint[32];
		upkey_hint(secret->valuestring, hint, sizeof(hint));
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id->valuestring);
		cJSON_AddStringToObject(o, "provider", prov->valuestring);
		cJSON_AddStringToObject(o, "label", cJSON_IsString(label) ? label->valuestring : "");
		cJSON_AddBoolToObject(o, "disabled", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disabled")));
		cJSON_AddNumberToObject(o, "added", cJSON_IsNumber(added) ? added->valuedouble : 0);
		cJSON_AddStringToObject(o, "hint", hint);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_Delete(j);
	return 0;
}

cJSON *upkey_list(const char *state_dir, char *err, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray();
	char *path = auth_state_path(state_dir);
	GDBM_FILE db = store_open(path, STORE_READ, STORE_WAIT_MS);
	if (!db && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		cJSON_Delete(arr);
		arr = NULL;
	} else if (db) {
		if (store_each(db, "upkey:", list_one, arr) < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
			cJSON_Delete(arr);
			arr = NULL;
		}
		store_close(db);
	}
	free(path);
	return arr;
}
