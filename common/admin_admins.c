/* admin_admins.c — named admins beside the admin of setup (the owner):
 * listed by every admin; added and removed by the owner only. Each has its
 * own password (admin:user:<name>, a yescrypt hash) and logs in with its
 * name; the audit log names who made each change. Removing an admin ends
 * its sessions. */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include "settings.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMINS_MAX 32

static int list_cb(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", key + strlen(ADMIN_USER_PREFIX));
	cJSON_AddNumberToObject(o, "created", admin_num_of(j, "created", 0));
	cJSON_AddStringToObject(o, "by", admin_str_of(j, "by") ? admin_str_of(j, "by") : "");
	cJSON_AddItemToArray(user, o);
	cJSON_Delete(j);
	return 0;
}

/* The named admins ([{name, created, by}]), or NULL (errno) when state.db
 * cannot be read. */
static cJSON *admins_read(struct admin_ctx *x)
{
	cJSON *arr = cJSON_CreateArray();
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db)
		return errno == ENOENT ? arr : (cJSON_Delete(arr), NULL);
	int r = store_each(db, ADMIN_USER_PREFIX, list_cb, arr);
	store_close(db);
	if (r < 0) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

void admin_admins_get(struct admin_ctx *x)
{
	cJSON *arr = admins_read(x);
	if (!arr) {
		admin_reply_store_error(x);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "owner", ADMIN_OWNER);
	cJSON_AddStringToObject(j, "you", x->who);
	cJSON_AddItemToObject(j, "admins", arr);
	admin_reply_ok(x, 200, j);
}

static int owner_only(struct admin_ctx *x)
{
	if (!strcmp(x->who, ADMIN_OWNER))
		return 0;
	admin_reply_error(x, 403, "owner_only", NULL, "only the admin of setup ('%s') adds and removes admins", ADMIN_OWNER);
	return -1;
}

void admin_admins_post(struct admin_ctx *x)
{
	static const char *const known[] = { "name", "password", NULL };
	char err[256], key[ADMIN_USER_KEY_MAX];
	char *hash = NULL, *had = NULL;
	cJSON *arr = NULL;
	GDBM_FILE db = NULL;
	const char *name = admin_str_of(x->body, "name"), *pw = admin_str_of(x->body, "password");
	if (owner_only(x) != 0)
		goto out;
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		admin_reply_invalid(x, "invalid_request", NULL, err);
		goto out;
	}
	if (!name || !admin_name_ok(name) || !strcmp(name, ADMIN_OWNER)) {
		admin_reply_invalid(x, "invalid_request", "name",
				    "name: 1 to 32 of a-z, 0-9, '.', '_', '-', and not 'admin'");
		goto out;
	}
	if (admin_new_password_weak(x, pw))
		goto out;
	if (!(arr = admins_read(x))) {
		admin_reply_store_error(x);
		goto out;
	}
	if (cJSON_GetArraySize(arr) >= ADMINS_MAX) {
		admin_reply_invalid(x, "invalid_request", "name", "there are 32 admins already");
		goto out;
	}
	if (!(hash = admin_password_hash(x, pw)))
		goto out;
	if (!(db = admin_state_open(x, 1))) {
		admin_reply_store_error(x);
		goto out;
	}
	admin_user_key(name, key);
	if ((had = store_get(db, key, NULL)) != NULL) {
		admin_reply_error(x, 409, "duplicate", NULL, "there is an admin '%s' already", name);
		goto out;
	}
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddNumberToObject(rec, "created", (double)x->now);
	cJSON_AddStringToObject(rec, "by", x->who);
	int bad = admin_put_json(db, key, rec) != 0 || store_sync(db) != 0;
	cJSON_Delete(rec);
	if (bad) {
		admin_reply_write_error(x);
		goto out;
	}
	store_close(db);
	db = NULL;
	log_info("admin %s added", name);
	admin_audit_note(x, "admin.add", "admin %s added", name);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddNumberToObject(j, "created", (double)x->now);
	admin_reply_ok(x, 201, j);
out:
	store_close(db);
	cJSON_Delete(arr);
	free(hash);
	free(had);
}

void admin_admins_delete(struct admin_ctx *x)
{
	char key[ADMIN_USER_KEY_MAX];
	if (owner_only(x) != 0)
		return;
	if (!admin_name_ok(x->id) || !strcmp(x->id, ADMIN_OWNER)) {
		admin_reply_error(x, 404, "not_found", NULL, "no admin '%s' to remove", x->id);
		return;
	}
	GDBM_FILE db = admin_state_open(x, 1);
	if (!db) {
		admin_reply_store_error(x);
		return;
	}
	admin_user_key(x->id, key);
	if (store_delete(db, key) != 0) {
		store_close(db);
		admin_reply_error(x, 404, "not_found", NULL, "no admin '%s' to remove", x->id);
		return;
	}
	admin_sessions_end(db, x->id, NULL);
	if (store_sync(db) != 0) {
		store_close(db);
		admin_reply_write_error(x);
		return;
	}
	store_close(db);
	log_info("admin %s removed", x->id);
	admin_audit_note(x, "admin.remove", "admin %s removed; its sessions ended", x->id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", x->id);
	cJSON_AddBoolToObject(j, "deleted", 1);
	admin_reply_ok(x, 200, j);
}
