/* admin_upkeys.c — the admin API's upstream keys: add to a provider's pool, label, disable, remove. */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include "settings.h"
#include "upkey.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_LEN 64                /* an upstream key label, with the NUL (as upkey.c) */
#define UPKEY_MIN_LEN 8             /* shorter is surely not a provider's key */

/* Every upkey: record of state.db, as upkey_list gives them (no secrets). */
cJSON *admin_upkeys_read(struct admin_ctx *x)
{
	char err[256];
	cJSON *arr = upkey_list(x->a->cfg.state_dir, err, sizeof(err));
	if (!arr)
		log_warn("%s", err);
	return arr;
}

void admin_upkeys_add_live(cJSON *o, const cJSON *live, const char *id, const char *fallback_state)
{
	static const char *const nums[] = { "cooldown_until", "recent_429", "uses", "last_used", "last_error_at", NULL };
	const cJSON *m = live ? cJSON_GetObjectItemCaseSensitive(live, id) : NULL;
	if (fallback_state || !m) {
		cJSON_AddStringToObject(o, "state", fallback_state ? fallback_state : "unknown");
		return;
	}
	cJSON_AddStringToObject(o, "state", admin_str_of(m, "state") ? admin_str_of(m, "state") : "unknown");
	for (const char *const *n = nums; *n; n++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, *n);
		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(o, *n, v->valuedouble);
	}
	if (admin_str_of(m, "reason"))
		cJSON_AddStringToObject(o, "reason", admin_str_of(m, "reason"));
	if (admin_str_of(m, "last_error"))
		cJSON_AddStringToObject(o, "last_error", admin_str_of(m, "last_error"));
}

/* An upstream key as shown, from an upkey_list entry (which holds no
 * secret, only its hint). */
cJSON *admin_upkeys_public(const cJSON *rec, const cJSON *live)
{
	const char *id = admin_str_of(rec, "id");
	int disabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "disabled"));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id ? id : "");
	cJSON_AddStringToObject(o, "source", "state");
	cJSON_AddStringToObject(o, "provider", admin_str_of(rec, "provider") ? admin_str_of(rec, "provider") : "");
	cJSON_AddStringToObject(o, "masked", admin_str_of(rec, "hint") ? admin_str_of(rec, "hint") : "\xe2\x80\xa6");
	cJSON_AddStringToObject(o, "label", admin_str_of(rec, "label") ? admin_str_of(rec, "label") : "");
	cJSON_AddBoolToObject(o, "disabled", disabled);
	cJSON_AddNumberToObject(o, "added", admin_num_of(rec, "added", 0));
	admin_upkeys_add_live(o, live, id ? id : "", disabled ? "disabled" : NULL);
	return o;
}

/* ------------------------------------------------------------ upstream keys */

/* An upstream key: printable ASCII without spaces, as upkey_add takes it. */
static int secret_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < UPKEY_MIN_LEN || n >= UPKEY_SECRET_MAX)
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

static int label_ok(const cJSON *v)
{
	return cJSON_IsString(v) && (!*v->valuestring || settings_text_ok(v->valuestring, LABEL_LEN - 1, 0));
}

static int same_secret_cb(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	const char *s = admin_str_of(j, "key");
	int same = s && !strcmp(s, user);
	(void)key;
	cJSON_Delete(j);
	return same;
}

/* Does provider's pool in state.db hold secret already? 1, 0, or -1 when
 * state.db cannot be read. */
static int upkey_exists(struct admin_ctx *x, const char *provider, const char *secret)
{
	char prefix[sizeof(UPKEY_PREFIX) + CONFIG_NAME_MAX + 1];
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db)
		return errno == ENOENT ? 0 : -1;
	snprintf(prefix, sizeof(prefix), UPKEY_PREFIX "%s:", provider);
	int r = store_each(db, prefix, same_secret_cb, (void *)secret);
	r = r < 0 ? -1 : r ? 1 : 0;
	store_close(db);
	return r;
}

/* The upkey_list entry of id (a new object), or NULL after an error answer
 * (404, 503). */
static cJSON *upkey_get(struct admin_ctx *x, const char *id)
{
	cJSON *found = NULL, *list = NULL;
	const cJSON *e;
	if (strncmp(id, "u_", 2) || !admin_hex_ok(id + 2, 8)) {
		admin_reply_error(x, 404, "not_found", NULL, "no upstream key with id %s", id);
		return NULL;
	}
	if (!(list = admin_upkeys_read(x))) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		return NULL;
	}
	cJSON_ArrayForEach(e, list) {
		if (!found && !strcmp(admin_str_of(e, "id"), id))
			found = cJSON_Duplicate(e, 1);
	}
	cJSON_Delete(list);
	if (!found)
		admin_reply_error(x, 404, "not_found", NULL, "no upstream key with id %s", id);
	return found;
}

void admin_upkeys_post(struct admin_ctx *x)
{
	static const char *const known[] = { "provider", "key", "label", NULL };
	char err[512], id[UPKEY_ID_MAX];
	struct config eff;
	int have_eff = 0;
	cJSON *rec = NULL;
	const char *provider = admin_str_of(x->body, "provider");
	const char *secret = admin_str_of(x->body, "key");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(x->body, "label");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "%s", err);
		goto out;
	}
	if (!provider || !settings_provider_name_ok(provider)) {
		admin_reply_error(x, 400, "invalid_request", NULL, "provider must be a provider name (a-z, 0-9, '.', '_', '-'; not 'compat')");
		goto out;
	}
	if (!secret || !secret_ok(secret)) {
		admin_reply_error(x, 400, "invalid_request", NULL,
			    "key must be the provider's API key: %d to %d printable characters without spaces",
			    UPKEY_MIN_LEN, UPKEY_SECRET_MAX - 1);
		goto out;
	}
	if (label && !label_ok(label)) {
		admin_reply_error(x, 400, "invalid_request", NULL, "label must be text of up to %d characters", LABEL_LEN - 1);
		goto out;
	}
	if (admin_load_config(x, &eff, 1, err, sizeof(err)) != 0) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	have_eff = 1;
	if (!config_provider(&eff, provider)) {
		admin_reply_error(x, 400, "unknown_provider", NULL,
			    "there is no provider '%s': add it under Settings (providers) first", provider);
		goto out;
	}
	switch (upkey_exists(x, provider, secret)) {
	case 1:
		admin_reply_error(x, 409, "duplicate", NULL, "this key is already in the pool of %s", provider);
		goto out;
	case -1:
		admin_reply_store_error(x);
		goto out;
	}
	if (upkey_add(x->a->cfg.state_dir, provider, secret, label ? label->valuestring : "", id, err,
		      sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot add the key now: %s", err);
		goto out;
	}
	log_add_secret(secret);
	log_info("upstream key %s added to %s", id, provider);
	admin_audit_note(x, "upkey.add", "upstream key %s added to %s", id, provider);
	if ((rec = upkey_get(x, id)) != NULL)
		admin_reply_ok(x, 201, admin_upkeys_public(rec, NULL));
out:
	cJSON_Delete(rec);
	if (have_eff)
		config_free(&eff);
}

void admin_upkeys_patch(struct admin_ctx *x)
{
	static const char *const known[] = { "disabled", "label", NULL };
	char err[512];
	cJSON *rec = NULL;
	const cJSON *dis = cJSON_GetObjectItemCaseSensitive(x->body, "disabled");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(x->body, "label");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "%s", err);
		goto out;
	}
	if ((!dis && !label) || (dis && !cJSON_IsBool(dis)) || (label && !label_ok(label))) {
		admin_reply_error(x, 400, "invalid_request", NULL,
			    "give disabled (true or false) and/or label (text of up to %d characters)", LABEL_LEN - 1);
		goto out;
	}
	if (!(rec = upkey_get(x, x->id)))
		goto out;
	if ((label && upkey_set_label(x->a->cfg.state_dir, x->id, label->valuestring, err, sizeof(err)) != 0) ||
	    (dis && upkey_set_disabled(x->a->cfg.state_dir, x->id, cJSON_IsTrue(dis), err, sizeof(err)) != 0)) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot change the key now: %s", err);
		goto out;
	}
	cJSON_Delete(rec);
	if (!(rec = upkey_get(x, x->id)))
		goto out;
	log_info("upstream key %s changed", x->id);
	admin_audit_note(x, "upkey.change", "upstream key %s changed", x->id);
	admin_reply_ok(x, 200, admin_upkeys_public(rec, NULL));
out:
	cJSON_Delete(rec);
}

void admin_upkeys_delete(struct admin_ctx *x)
{
	char err[512];
	cJSON *rec = upkey_get(x, x->id);
	if (!rec)
		return;
	cJSON_Delete(rec);
	if (upkey_remove(x->a->cfg.state_dir, x->id, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot remove the key now: %s", err);
		return;
	}
	log_info("upstream key %s removed", x->id);
	admin_audit_note(x, "upkey.remove", "upstream key %s removed", x->id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", x->id);
	cJSON_AddBoolToObject(j, "deleted", 1);
	admin_reply_ok(x, 200, j);
}
