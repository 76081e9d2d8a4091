/* admin_audit.c — the admin's audit log: who changed what, when, from
 * where, kept in state.db (admin:audit, the newest ADMIN_AUDIT_MAX
 * entries) and shown by GET audit. Never a secret: callers describe a
 * change by names and ids only. */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
void admin_audit_note(struct admin_ctx *x, const char *what, const char *fmt, ...)
{
	char detail[256], addr[ADMIN_ADDR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	log_scrub(detail);
	admin_client_addr(http_param(x->r, "REMOTE_ADDR"), addr, sizeof(addr));
	GDBM_FILE db = admin_state_open(x, 1);
	if (!db) {
		log_err("audit: cannot open state.db to note '%s %s'", what, detail);
		return;
	}
	cJSON *log = admin_get_json(db, AUDIT_KEY);
	if (!cJSON_IsArray(log)) {
		cJSON_Delete(log);
		log = cJSON_CreateArray();
	}
	while (cJSON_GetArraySize(log) >= ADMIN_AUDIT_MAX)
		cJSON_DeleteItemFromArray(log, 0);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "time", (double)x->now);
	cJSON_AddStringToObject(e, "who", x->who[0] ? x->who : "admin");
	cJSON_AddStringToObject(e, "addr", addr);
	cJSON_AddStringToObject(e, "what", what);
	cJSON_AddStringToObject(e, "detail", detail);
	cJSON_AddItemToArray(log, e);
	if (admin_put_json(db, AUDIT_KEY, log) != 0 || store_sync(db) != 0)
		log_err("audit: cannot write state.db to note '%s %s'", what, detail);
	cJSON_Delete(log);
	store_close(db);
}

void admin_audit_get(struct admin_ctx *x)
{
	cJSON *log = NULL;
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db && errno != ENOENT) {
		admin_reply_store_error(x);
		return;
	}
	if (db) {
		log = admin_get_json(db, AUDIT_KEY);
		store_close(db);
	}
	cJSON *out = cJSON_CreateArray();
	for (int i = cJSON_IsArray(log) ? cJSON_GetArraySize(log) - 1 : -1; i >= 0; i--)
		cJSON_AddItemToArray(out, cJSON_Duplicate(cJSON_GetArrayItem(log, i), 1));
	cJSON_Delete(log);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "entries", out);
	admin_reply_ok(x, 200, j);
}
