/* admin_account.c — an admin's own account: the password changed with
 * the current one, after which that admin's other sessions end. */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include "pwhash.h"
#include "settings.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored hash (new string), or NULL after an error answer. */
static char *stored_hash(struct admin_ctx *x)
{
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db) {
		admin_reply_store_error(x);
		return NULL;
	}
	char key[ADMIN_USER_KEY_MAX];
	admin_user_key(x->who, key);
	cJSON *rec = admin_get_json(db, key);
	store_close(db);
	const char *h = admin_str_of(rec, "hash");
	char *out = h ? strdup(h) : NULL;
	cJSON_Delete(rec);
	if (!out)
		admin_reply_error(x, 409, "setup_required", NULL, "no admin password is set yet");
	return out;
}

/* Store the new hash (the record's other members kept) and end the
 * caller's other sessions: 0, or -1 after an error answer. */
static int store_password(struct admin_ctx *x, const char *hash)
{
	char key[ADMIN_USER_KEY_MAX];
	int r = -1;
	GDBM_FILE db = admin_state_open(x, 1);
	if (!db) {
		admin_reply_store_error(x);
		return -1;
	}
	admin_user_key(x->who, key);
	cJSON *rec = admin_get_json(db, key);
	if (!cJSON_IsObject(rec)) {
		cJSON_Delete(rec);
		rec = cJSON_CreateObject();
	}
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "hash");
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "set");
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddNumberToObject(rec, "set", (double)x->now);
	admin_sessions_end(db, x->who, x->sess_key);
	if (admin_put_json(db, key, rec) != 0 || store_sync(db) != 0)
		admin_reply_write_error(x);
	else
		r = 0;
	cJSON_Delete(rec);
	store_close(db);
	return r;
}

void admin_account_password(struct admin_ctx *x)
{
	static const char *const known[] = { "current", "password", NULL };
	char err[256];
	char *old = NULL, *hash = NULL;
	const char *cur = admin_str_of(x->body, "current"), *pw = admin_str_of(x->body, "password");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		admin_reply_invalid(x, "invalid_request", NULL, err);
		goto out;
	}
	if (!cur || !*cur) {
		admin_reply_invalid(x, "invalid_request", "current", "the current password is needed");
		goto out;
	}
	if (admin_new_password_weak(x, pw))
		goto out;
	if (!(old = stored_hash(x)))
		goto out;
	if (strlen(cur) > PWHASH_PASSWORD_MAX || !pwhash_verify(cur, old)) {
		log_warn("admin password change refused: wrong current password");
		admin_reply_error(x, 403, "wrong_password", NULL, "the current password is wrong");
		goto out;
	}
	if (!(hash = admin_password_hash(x, pw)))
		goto out;
	if (store_password(x, hash) != 0)
		goto out;
	log_info("admin password changed");
	admin_audit_note(x, "password", "the password of %s was changed; its other sessions ended", x->who);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	admin_reply_ok(x, 200, j);
out:
	free(old);
	free(hash);
}
