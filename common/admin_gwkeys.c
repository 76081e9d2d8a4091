/* admin_gwkeys.c — the admin API's gateway keys: list with usage, create, change, revoke. */
#include "autoconf.h"
#include "admin_impl.h"
#include "auth.h"
#include "log.h"
#include "settings.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_MAX 1e15

#define VFAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int admin_limits_validate(const cJSON *limits, char *err, size_t errlen)
{
	static const char *const ints[] = { "rpm", "tpm", "tokens", "tokens_month", NULL };
	static const char *const nums[] = { "cost", "cost_month", NULL };
	static const char *const known[] = { "rpm", "tpm", "tokens", "tokens_month", "cost", "cost_month", "models",
					     NULL };
	const cJSON *v;
	if (!cJSON_IsObject(limits))
		VFAIL("limits must be an object {rpm, tpm, tokens, tokens_month, cost, cost_month, models}");
	if (settings_members_known(limits, known, "limits", err, errlen))
		return -1;
	for (const char *const *n = ints; *n; n++) {
		if ((v = cJSON_GetObjectItemCaseSensitive(limits, *n)) && !settings_int_in(v, 0, LIMIT_MAX))
			VFAIL("limits.%s must be a whole number, 0 for none", *n);
	}
	for (const char *const *n = nums; *n; n++) {
		v = cJSON_GetObjectItemCaseSensitive(limits, *n);
		if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= LIMIT_MAX)))
			VFAIL("limits.%s must be a number, 0 for none", *n);
	}
	v = cJSON_GetObjectItemCaseSensitive(limits, "models");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= AUTH_MODELS_MAX ||
		  (*v->valuestring && !settings_text_ok(v->valuestring, AUTH_MODELS_MAX, 0))))
		VFAIL("limits.models must be a comma-separated list of models under %d characters (\"\" = all)",
		      AUTH_MODELS_MAX);
	return 0;
}

#undef VFAIL

static void key_record_cb(const char *json, void *user)
{
	cJSON *j = cJSON_Parse(json);
	if (cJSON_IsObject(j) && admin_str_of(j, "id"))
		cJSON_AddItemToArray(user, j);
	else
		cJSON_Delete(j);
}

/* Every gateway key record (with its hash: strip it before sending), the
 * environment's keys included as {"id","name","source":"config"}. NULL
 * with err when state.db cannot be read. */
cJSON *admin_gwkeys_read(struct admin_ctx *x, char *err, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray();
	if (auth_key_each(x->a->cfg.state_dir, key_record_cb, arr, err, errlen) != 0) {
		cJSON_Delete(arr);
		return NULL;
	}
	for (size_t i = 0; i < x->a->cfg.nauth_keys; i++) {
		/* the id the router gives them (auth.c) */
		unsigned char h[SHA256_DIGEST_LEN];
		char hex[SHA256_HEX_LEN], id[AUTH_ID_MAX], name[AUTH_NAME_MAX];
		sha256(x->a->cfg.auth_keys[i], strlen(x->a->cfg.auth_keys[i]), h);
		hex_encode(h, 4, hex);
		snprintf(id, sizeof(id), "env-%.8s", hex);
		snprintf(name, sizeof(name), "AUTH_KEY #%zu", i + 1);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "source", "config");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void admin_gwkeys_name(struct admin_usage *u, const cJSON *keys)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, keys) {
		if (admin_str_of(k, "name"))
			admin_usage_set_name(u, admin_str_of(k, "id"), admin_str_of(k, "name"));
	}
}

/* ------------------------------------------------------------ gateway keys */

static int cmp_created_desc(const void *a, const void *b)
{
	double x = admin_num_of(*(cJSON *const *)a, "created", 0), y = admin_num_of(*(cJSON *const *)b, "created", 0);
	return x == y ? 0 : x > y ? -1 : 1;
}

/* A key record as shown: no hash; with its state and usage when u. */
static cJSON *key_public(const cJSON *rec, const struct admin_usage *u, int64_t now)
{
	static const char *const copy[] = { "id", "name", "prefix", "created", "expires", "revoked_at", "limits", NULL };
	cJSON *o = cJSON_CreateObject();
	for (const char *const *n = copy; *n; n++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, *n);
		if (v)
			cJSON_AddItemToObject(o, *n, cJSON_Duplicate(v, 1));
	}
	const char *source = admin_str_of(rec, "source");
	int revoked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked"));
	double expires = admin_num_of(rec, "expires", 0);
	cJSON_AddStringToObject(o, "source", source ? source : "state");
	cJSON_AddBoolToObject(o, "revoked", revoked);
	cJSON_AddBoolToObject(o, "log_prompts", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "log_prompts")));
	cJSON_AddStringToObject(o, "state", revoked ? "revoked" : expires > 0 && expires <= (double)now ? "expired" : "active");
	if (!cJSON_GetObjectItemCaseSensitive(o, "limits"))
		cJSON_AddObjectToObject(o, "limits");
	if (u) {
		struct ledger_totals total, month;
		int64_t last_ms;
		char last_day[LEDGER_DAY_LEN];
		admin_usage_key(u, admin_str_of(rec, "id"), &total, &month, &last_ms, last_day);
		cJSON_AddItemToObject(o, "usage", admin_totals_json(&total));
		cJSON_AddItemToObject(o, "usage_month", admin_totals_json(&month));
		if (last_ms)
			cJSON_AddNumberToObject(o, "last_used", (double)last_ms);
		else
			cJSON_AddNullToObject(o, "last_used");
		if (last_day[0])
			cJSON_AddStringToObject(o, "last_day", last_day);
		else
			cJSON_AddNullToObject(o, "last_day");
	}
	return o;
}

void admin_gwkeys_get(struct admin_ctx *x)
{
	char err[512], month[LEDGER_MONTH_LEN];
	cJSON *recs = NULL, *out = NULL;
	cJSON **v = NULL;
	admin_usage_this_month(x->now, month);
	struct admin_usage *u = admin_usage_new("", "", month);
	if (!(recs = admin_gwkeys_read(x, err, sizeof(err)))) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	admin_gwkeys_name(u, recs);
	if (admin_usage_load(x, u, err, sizeof(err)) != 0) {
		log_warn("%s", err);
		admin_reply_error(x, 503, "ledger_busy", "Retry-After: 1\r\n", "the usage ledger cannot be read now; try again");
		goto out;
	}
	size_t n = (size_t)cJSON_GetArraySize(recs), i = 0;
	v = xcalloc(n ? n : 1, sizeof(*v));
	const cJSON *rec;
	cJSON_ArrayForEach(rec, recs)
		v[i++] = (cJSON *)rec;
	qsort(v, n, sizeof(*v), cmp_created_desc);
	out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "keys");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, key_public(v[i], u, x->now));
	cJSON_AddStringToObject(out, "month", month);
	cJSON_AddStringToObject(out, "currency", x->a->cfg.currency ? x->a->cfg.currency : "USD");
	admin_reply_ok(x, 200, out);
	out = NULL;
out:
	free(v);
	cJSON_Delete(recs);
	cJSON_Delete(out);
	admin_usage_free(u);
}

/* Check name / expires / limits members of a key body. 0, or -1 after a
 * 400 answer. */
static int key_fields_ok(struct admin_ctx *x, int need_name)
{
	static const char *const known[] = { "name", "expires", "limits", "log_prompts", NULL };
	char err[512];
	const cJSON *v;
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0)
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(x->body, "name");
	if ((v || need_name) && (!cJSON_IsString(v) || !settings_text_ok(v->valuestring, AUTH_NAME_MAX - 1, 0))) {
		snprintf(err, sizeof(err), "name must be text of 1 to %d characters", AUTH_NAME_MAX - 1);
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(x->body, "expires");
	if (v && (!settings_int_in(v, 0, 1e11) || (v->valuedouble != 0 && v->valuedouble <= (double)x->now))) {
		snprintf(err, sizeof(err), "expires must be a unix time in the future, or 0 for never");
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(x->body, "limits");
	if (v && admin_limits_validate(v, err, sizeof(err)) != 0)
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(x->body, "log_prompts");
	if (v && !cJSON_IsBool(v)) {
		snprintf(err, sizeof(err), "log_prompts must be true or false");
		goto bad;
	}
	return 0;
bad:
	admin_reply_error(x, 400, "invalid_request", NULL, "%s", err);
	return -1;
}

void admin_gwkeys_post(struct admin_ctx *x)
{
	char err[512], id[AUTH_ID_MAX], prefix[16];
	char *key = NULL;
	cJSON *patch = NULL;
	if (key_fields_ok(x, 1) != 0)
		goto out;
	const char *name = admin_str_of(x->body, "name");
	const cJSON *limits = cJSON_GetObjectItemCaseSensitive(x->body, "limits");
	int64_t expires = (int64_t)admin_num_of(x->body, "expires", 0);
	const cJSON *logp = cJSON_GetObjectItemCaseSensitive(x->body, "log_prompts");
	if (cJSON_GetArraySize(limits) > 0 || cJSON_IsTrue(logp)) {   /* written with the key, never after it */
		patch = cJSON_CreateObject();
		if (cJSON_GetArraySize(limits) > 0)
			cJSON_AddItemToObject(patch, "limits", cJSON_Duplicate(limits, 1));
		if (cJSON_IsTrue(logp))
			cJSON_AddTrueToObject(patch, "log_prompts");
	}
	if (!(key = auth_key_create(x->a->cfg.state_dir, name, expires, patch, id, err, sizeof(err)))) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot create the key now: %s", err);
		goto out;
	}
	snprintf(prefix, sizeof(prefix), "%.10s", key);
	log_info("gateway key %s created", id);
	admin_audit_note(x, "key.create", "gateway key %s (%.60s) created", id, name);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "key", key);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "prefix", prefix);
	cJSON_AddNumberToObject(j, "expires", (double)expires);
	cJSON_AddItemToObject(j, "limits", limits ? cJSON_Duplicate(limits, 1) : cJSON_CreateObject());
	cJSON_AddBoolToObject(j, "log_prompts", cJSON_IsTrue(logp));
	admin_reply_ok(x, 201, j);
out:
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	cJSON_Delete(patch);
}

/* The stored record of gateway key x->id: a new object, or NULL after an
 * error answer (404, 503). */
static cJSON *gwkey_get(struct admin_ctx *x)
{
	char dbkey[sizeof(GWKEY_PREFIX) + ADMIN_ID_MAX];
	cJSON *j = NULL;
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db && errno != ENOENT) {
		admin_reply_store_error(x);
		return NULL;
	}
	if (db) {
		snprintf(dbkey, sizeof(dbkey), GWKEY_PREFIX "%s", x->id);
		j = admin_get_json(db, dbkey);
		store_close(db);
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		admin_reply_error(x, 404, "not_found", NULL, "no gateway key with id %s", x->id);
		return NULL;
	}
	return j;
}

void admin_gwkeys_patch(struct admin_ctx *x)
{
	char err[512];
	cJSON *rec = NULL;
	if (key_fields_ok(x, 0) != 0 || !(rec = gwkey_get(x)))
		goto out;
	if (cJSON_GetArraySize(x->body) == 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "nothing to change: give name, expires or limits");
		goto out;
	}
	if (auth_key_update(x->a->cfg.state_dir, x->id, x->body, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot change the key now: %s", err);
		goto out;
	}
	cJSON_Delete(rec);
	if (!(rec = gwkey_get(x)))
		goto out;
	log_info("gateway key %s changed", x->id);
	admin_audit_note(x, "key.change", "gateway key %s changed", x->id);
	admin_reply_ok(x, 200, key_public(rec, NULL, x->now));
out:
	cJSON_Delete(rec);
}

void admin_gwkeys_revoke(struct admin_ctx *x)
{
	char err[512];
	cJSON *rec = gwkey_get(x);
	if (!rec)
		return;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked")) &&
	    auth_key_revoke(x->a->cfg.state_dir, x->id, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot revoke the key now: %s", err);
		cJSON_Delete(rec);
		return;
	}
	cJSON_Delete(rec);
	log_info("gateway key %s revoked", x->id);
	admin_audit_note(x, "key.revoke", "gateway key %s revoked", x->id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", x->id);
	cJSON_AddBoolToObject(j, "revoked", 1);
	admin_reply_ok(x, 200, j);
}
