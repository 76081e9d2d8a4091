/* auth.c — gateway keys: the router's in-memory table and the key store. */
#include "autoconf.h"
#include "auth.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "state_redis.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STORE_WAIT_MS 2000
#define KEY_RANDOM_BYTES 24

char *auth_state_path(const char *state_dir)
{
	return xasprintf("%s/state.db", state_dir);
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(((const struct auth_entry *)a)->hash, ((const struct auth_entry *)b)->hash, 32);
}

static int hex_decode32(const char *hex, unsigned char out[32])
{
	if (!hex || strlen(hex) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char ch = hex[2 * i + j];
			v <<= 4;
			if (ch >= '0' && ch <= '9') v |= (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f') v |= (unsigned)(ch - 'a' + 10);
			else return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

struct load_ctx {
	struct auth_entry *v;
	size_t n;
};

/* A number from state.db that an integer of the limits can hold (a damaged
 * value is ignored rather than cast out of range). */
static int num_in(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi;
}

static int load_one(const char *key, const char *val, size_t vlen, void *user)
{
	struct load_ctx *lc = user;
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	if (!j)
		return 0;
	struct auth_entry e;
	memset(&e, 0, sizeof(e));
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(j, "hash");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires");
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(j, "revoked");
	if (cJSON_IsString(hash) && cJSON_IsString(id) && hex_decode32(hash->valuestring, e.hash) == 0) {
		snprintf(e.id, sizeof(e.id), "%s", id->valuestring);
		if (cJSON_IsString(name))
			snprintf(e.name, sizeof(e.name), "%s", name->valuestring);
		if (num_in(exp, 0, 9.2e18))
			e.expires = (int64_t)exp->valuedouble;
		e.revoked = cJSON_IsTrue(rev);
		e.log_prompts = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "log_prompts"));
		const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j, "limits");
		if (cJSON_IsObject(lim)) {
			const cJSON *v;
			if (num_in(v = cJSON_GetObjectItemCaseSensitive(lim, "rpm"), 0, (double)LONG_MAX))
				e.rpm = (long)v->valuedouble;
			if (num_in(v = cJSON_GetObjectItemCaseSensitive(lim, "tpm"), 0, (double)LONG_MAX))
				e.tpm = (long)v->valuedouble;
			if (num_in(v = cJSON_GetObjectItemCaseSensitive(lim, "tokens"), 0, 9.2e18))
				e.tokens = (long long)v->valuedouble;
			if (num_in(v = cJSON_GetObjectItemCaseSensitive(lim, "tokens_month"), 0, 9.2e18))
				e.tokens_month = (long long)v->valuedouble;
			if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(lim, "cost")))
				e.cost = v->valuedouble;
			if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(lim, "cost_month")))
				e.cost_month = v->valuedouble;
			if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(lim, "models")))
				snprintf(e.models, sizeof(e.models), "%s", v->valuestring);
		}
		lc->v = xrealloc(lc->v, (lc->n + 1) * sizeof(*lc->v));
		lc->v[lc->n++] = e;
	}
	(void)key;
	cJSON_Delete(j);
	return 0;
}

/* Build a new table from env keys + state.db, and the version of state.db
 * it holds (zero when there is none). Returns 0, or -1 with err (keep the
 * old table then). */
static int auth_build(struct auth *a, struct auth_entry **out, size_t *nout, struct store_sig *sig,
		      char *err, size_t errlen)
{
	struct load_ctx lc = { NULL, 0 };
	memset(sig, 0, sizeof(*sig));
	GDBM_FILE db = store_open(a->db_path, STORE_READ, 50);
	if (!db && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", a->db_path, store_strerror(errno));
		return -1;
	}
	if (db) {
		store_sig_of(db, sig);
		int r = store_each(db, "gwkey:", load_one, &lc);
		int saved = errno;
		store_close(db);
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", a->db_path, store_strerror(saved));
			free(lc.v);
			return -1;
		}
	}
	lc.v = xrealloc(lc.v, (lc.n + a->nenv + 1) * sizeof(*lc.v));
	memcpy(lc.v + lc.n, a->env, a->nenv * sizeof(*lc.v));
	lc.n += a->nenv;
	qsort(lc.v, lc.n, sizeof(*lc.v), cmp_entry);
	*out = lc.v;
	*nout = lc.n;
	return 0;
}

/* Reload when state.db is not the version in the table. wait: queue behind
 * a reload in progress (a lookup that missed) rather than skip it (the
 * housekeeping tick). retry_bad: read again a version that failed before.
 * With force, reload whatever the version. 0, or -1 with err. */
static int auth_reload(struct auth *a, int wait, int retry_bad, int force, char *err, size_t errlen)
{
	int result = 0;
	if (wait)
		pthread_mutex_lock(&a->reload_mu);
	else if (pthread_mutex_trylock(&a->reload_mu) != 0)
		return 0;
	struct store_sig now, had;
	store_sig_path(a->db_path, &now);
	pthread_rwlock_rdlock(&a->lock);
	had = a->sig;
	pthread_rwlock_unlock(&a->lock);
	if (!force && (store_sig_eq(&now, &had) || (!retry_bad && a->failing && store_sig_eq(&now, &a->bad_sig))))
		goto out;
	struct auth_entry *v;
	size_t n;
	struct store_sig sig;
	if (auth_build(a, &v, &n, &sig, err, errlen) != 0) {
		if (!a->failing || !store_sig_eq(&now, &a->bad_sig))
			log_err("gateway keys not reloaded, the keys read before stay in use: %s", err);
		a->failing = 1;
		a->bad_sig = now;
		result = -1;
		goto out;
	}
	if (a->failing)
		log_info("gateway keys reloaded: %s can be read again", a->db_path);
	a->failing = 0;
	pthread_rwlock_wrlock(&a->lock);
	struct auth_entry *old = a->v;
	a->v = v;
	a->n = n;
	a->sig = sig;
	pthread_rwlock_unlock(&a->lock);
	free(old);
out:
	pthread_mutex_unlock(&a->reload_mu);
	return result;
}

int auth_init(struct auth *a, const struct config *c, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	pthread_rwlock_init(&a->lock, NULL);
	pthread_mutex_init(&a->reload_mu, NULL);
	a->db_path = auth_state_path(c->state_dir);
	a->env = xcalloc(c->nauth_keys ? c->nauth_keys : 1, sizeof(*a->env));
	for (size_t i = 0; i < c->nauth_keys; i++) {
		struct auth_entry *e = &a->env[a->nenv++];
		char hex[65];
		sha256(c->auth_keys[i], strlen(c->auth_keys[i]), e->hash);
		hex_encode(e->hash, 4, hex);
		snprintf(e->id, sizeof(e->id), "env-%.8s", hex);
		snprintf(e->name, sizeof(e->name), "AUTH_KEY #%zu", i + 1);
	}
	return auth_reload(a, 1, 1, 1, err, errlen);
}

void auth_free(struct auth *a)
{
	free(a->v);
	free(a->env);
	free(a->db_path);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->reload_mu);
}

void auth_refresh(struct auth *a)
{
	char err[512];
	auth_reload(a, 0, 1, 0, err, sizeof(err));
}

/* 1 found (out filled), 0 not; *stale: state.db is not the table's version. */
static int lookup_table(struct auth *a, const unsigned char hash[32], struct auth_entry *out, int *stale)
{
	int found = 0;
	struct auth_entry probe;
	memcpy(probe.hash, hash, 32);
	pthread_rwlock_rdlock(&a->lock);
	const struct auth_entry *e = bsearch(&probe, a->v, a->n, sizeof(*a->v), cmp_entry);
	if (e && ct_equal(e->hash, probe.hash, 32) && !e->revoked &&
	    (!e->expires || e->expires > (int64_t)time(NULL))) {
		*out = *e;
		found = 1;
	}
	if (!found && stale) {
		struct store_sig now;
		store_sig_path(a->db_path, &now);
		*stale = !store_sig_eq(&now, &a->sig);
	}
	pthread_rwlock_unlock(&a->lock);
	return found;
}

int auth_lookup(struct auth *a, const char *key, struct auth_entry *out)
{
	unsigned char hash[32];
	int stale = 0;
	if (!key || !*key)
		return 0;
	sha256(key, strlen(key), hash);
	if (lookup_table(a, hash, out, &stale))
		return 1;
	if (!stale)
		return 0;
	/* a key created since the table was read: read state.db again, once */
	char err[512];
	auth_reload(a, 1, 0, 0, err, sizeof(err));
	return lookup_table(a, hash, out, NULL);
}

/* ---------------------------------------------------------- the key store */

static int do_update(cJSON *rec, const void *arg, char *err, size_t errlen);

char *auth_key_create(const char *state_dir, const char *name, int64_t expires, const cJSON *patch,
		      char id_out[AUTH_ID_MAX], char *err, size_t errlen)
{
	char *result = NULL;
	unsigned char rnd[KEY_RANDOM_BYTES], idr[4], hash[32];
	char hex[2 * KEY_RANDOM_BYTES + 1], idhex[9], hashhex[65];
	char *path = auth_state_path(state_dir);
	GDBM_FILE db = NULL;
	cJSON *j = NULL;
	char *json = NULL;

	if (strlen(name) >= AUTH_NAME_MAX) {
		snprintf(err, errlen, "name longer than %d characters", AUTH_NAME_MAX - 1);
		goto out;
	}
	if (random_bytes(rnd, sizeof(rnd)) != 0 || random_bytes(idr, sizeof(idr)) != 0) {
		snprintf(err, errlen, "no randomness available");
		goto out;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	hex_encode(idr, sizeof(idr), idhex);
	char *key = xasprintf("%s%s", AUTH_KEY_PREFIX, hex);
	sha256(key, strlen(key), hash);
	hex_encode(hash, 32, hashhex);
	snprintf(id_out, AUTH_ID_MAX, "k_%s", idhex);

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id_out);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "hash", hashhex);
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%.10s", key);
	cJSON_AddStringToObject(j, "prefix", prefix);
	cJSON_AddNumberToObject(j, "created", (double)time(NULL));
	cJSON_AddNumberToObject(j, "expires", (double)expires);
	cJSON_AddFalseToObject(j, "revoked");
	/* limits in the same write: a router never sees the key without them */
	if (patch && do_update(j, patch, err, errlen) != 0) {
		free(key);
		goto out;
	}
	state_redis_stamp(j);
	json = cJSON_PrintUnformatted(j);

	db = store_open(path, STORE_WRITE, STORE_WAIT_MS);
	if (!db) {
		snprintf(err, errlen, "cannot change %s: %s", path, store_strerror(errno));
		free(key);
		goto out;
	}
	char *dbkey = xasprintf("gwkey:%s", id_out);
	int r = store_put(db, dbkey, json, strlen(json));
	free(dbkey);
	if (r != 0 || store_sync(db) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		free(key);
		goto out;
	}
	result = key;
out:
	store_close(db);
	free(json);
	cJSON_Delete(j);
	free(path);
	return result;
}

/* Read key id's record, let fn change it, write it back. */
static int key_modify(const char *state_dir, const char *id, int (*fn)(cJSON *rec, const void *arg, char *err,
								     size_t errlen),
		      const void *arg, char *err, size_t errlen)
{
	int result = -1;
	char *path = auth_state_path(state_dir);
	char *dbkey = xasprintf("gwkey:%s", id);
	char *val = NULL, *json = NULL;
	cJSON *j = NULL;
	GDBM_FILE db = store_open(path, STORE_WRITE, STORE_WAIT_MS);
	if (!db) {
		snprintf(err, errlen, "cannot change %s: %s", path, store_strerror(errno));
		goto out;
	}
	size_t len;
	val = store_get(db, dbkey, &len);
	if (!val && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		goto out;
	}
	if (!val || !(j = cJSON_ParseWithLength(val, len))) {
		snprintf(err, errlen, "no key with id %.40s", id);
		goto out;
	}
	if (fn(j, arg, err, errlen) != 0)
		goto out;
	state_redis_stamp(j);
	json = cJSON_PrintUnformatted(j);
	if (store_put(db, dbkey, json, strlen(json)) != 0 || store_sync(db) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		goto out;
	}
	result = 0;
out:
	store_close(db);
	cJSON_Delete(j);
	free(json);
	free(val);
	free(dbkey);
	free(path);
	return result;
}

static void replace_item(cJSON *obj, const char *name, cJSON *item)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddItemToObject(obj, name, item);
}

static int do_revoke(cJSON *rec, const void *arg, char *err, size_t errlen)
{
	(void)arg; (void)err; (void)errlen;
	replace_item(rec, "revoked", cJSON_CreateTrue());
	replace_item(rec, "revoked_at", cJSON_CreateNumber((double)time(NULL)));
	return 0;
}

int auth_key_revoke(const char *state_dir, const char *id, char *err, size_t errlen)
{
	return key_modify(state_dir, id, do_revoke, NULL, err, errlen);
}

static const char *const limit_numbers[] = { "rpm", "tpm", "tokens", "tokens_month", "cost", "cost_month" };

static int do_update(cJSON *rec, const void *arg, char *err, size_t errlen)
{
	const cJSON *patch = arg;
	const cJSON *v;
	if (!cJSON_IsObject(patch)) {
		snprintf(err, errlen, "the change must be a JSON object");
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(patch, "name"))) {
		if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= AUTH_NAME_MAX) {
			snprintf(err, errlen, "name must be a string of 1 to %d characters", AUTH_NAME_MAX - 1);
			return -1;
		}
		replace_item(rec, "name", cJSON_CreateString(v->valuestring));
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(patch, "expires"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)AUTH_EXPIRES_MAX) {
			snprintf(err, errlen, "expires must be a unix time (0 = never)");
			return -1;
		}
		replace_item(rec, "expires", cJSON_CreateNumber(v->valuedouble));
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(patch, "log_prompts"))) {
		if (!cJSON_IsBool(v)) {
			snprintf(err, errlen, "log_prompts must be true or false");
			return -1;
		}
		replace_item(rec, "log_prompts", cJSON_CreateBool(cJSON_IsTrue(v)));
	}
	const cJSON *lp = cJSON_GetObjectItemCaseSensitive(patch, "limits");
	if (!lp)
		return 0;
	if (!cJSON_IsObject(lp)) {
		snprintf(err, errlen, "limits must be an object");
		return -1;
	}
	cJSON *lim = cJSON_GetObjectItemCaseSensitive(rec, "limits");
	if (!cJSON_IsObject(lim)) {
		lim = cJSON_CreateObject();
		replace_item(rec, "limits", lim);
	}
	cJSON_ArrayForEach(v, lp) {
		int known = 0;
		for (size_t i = 0; i < sizeof(limit_numbers) / sizeof(limit_numbers[0]); i++) {
			if (strcmp(v->string, limit_numbers[i]))
				continue;
			known = 1;
			if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15) {
				snprintf(err, errlen, "limit %s must be a number from 0 (none) up", v->string);
				return -1;
			}
			if (v->valuedouble == 0)
				cJSON_DeleteItemFromObjectCaseSensitive(lim, v->string);
			else
				replace_item(lim, v->string, cJSON_CreateNumber(v->valuedouble));
		}
		if (!strcmp(v->string, "models")) {
			known = 1;
			if (!cJSON_IsString(v) || strlen(v->valuestring) >= AUTH_MODELS_MAX) {
				snprintf(err, errlen, "models must be a comma-separated string under %d characters",
					 AUTH_MODELS_MAX);
				return -1;
			}
			if (!*v->valuestring)
				cJSON_DeleteItemFromObjectCaseSensitive(lim, "models");
			else
				replace_item(lim, "models", cJSON_CreateString(v->valuestring));
		}
		if (!known) {
			snprintf(err, errlen, "unknown limit '%.40s' (rpm, tpm, tokens, tokens_month, cost, cost_month, models)",
				 v->string);
			return -1;
		}
	}
	return 0;
}

int auth_key_check(const cJSON *patch, char *err, size_t errlen)
{
	cJSON *scratch = cJSON_CreateObject();
	int r = do_update(scratch, patch, err, errlen);
	cJSON_Delete(scratch);
	return r;
}

int auth_key_update(const char *state_dir, const char *id, const cJSON *patch, char *err, size_t errlen)
{
	return key_modify(state_dir, id, do_update, patch, err, errlen);
}

struct each_ctx {
	char **v;
	size_t n;
};

static int each_one(const char *key, const char *val, size_t vlen, void *user)
{
	struct each_ctx *ec = user;
	(void)key;
	ec->v = xrealloc(ec->v, (ec->n + 1) * sizeof(*ec->v));
	ec->v[ec->n++] = xstrndup(val, vlen);
	return 0;
}

int auth_key_each(const char *state_dir, void (*fn)(const char *json, void *user), void *user,
		  char *err, size_t errlen)
{
	char *path = auth_state_path(state_dir);
	struct each_ctx ec = { NULL, 0 };
	int result = 0;
	GDBM_FILE db = store_open(path, STORE_READ, STORE_WAIT_MS);
	if (!db) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
			result = -1;
		}
		goto out;
	}
	if (store_each(db, "gwkey:", each_one, &ec) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		result = -1;
	}
	store_close(db);
	for (size_t i = 0; i < ec.n; i++) {
		if (result == 0)
			fn(ec.v[i], user);
		free(ec.v[i]);
	}
	free(ec.v);
out:
	free(path);
	return result;
}
