/* admin_impl.h — what the admin_*.c files share: the request context, the
 * answers, state.db access, and each resource's handlers for the routes
 * table of admin.c. Not for use outside the admin API (admin.h is its
 * contract with the programs). */
#ifndef LLMGATE_ADMIN_IMPL_H
#define LLMGATE_ADMIN_IMPL_H
#include "admin.h"
#include "sha256.h"
#include "store.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* state.db keys the admin API reads and writes (docs/state.md) */
#define SESSION_PREFIX "admin:session:"
#define PASSWORD_KEY "admin:password"
#define THROTTLE_KEY "admin:throttle"         /* all addresses */
#define THROTTLE_ADDR_PREFIX "admin:throttle:" /* one address (admin_client_addr) */
#define SETTINGS_KEY "settings"
#define UPKEY_PREFIX "upkey:"
#define GWKEY_PREFIX "gwkey:"
#define AUDIT_KEY "admin:audit"               /* JSON array, oldest first */
#define ADMIN_USER_PREFIX "admin:user:"       /* a named admin: {"hash","created","by"} */
#define ADMIN_OWNER "admin"                   /* the admin of setup (admin:password) */
#define ADMIN_NAME_MAX 32
#define ADMIN_USER_KEY_MAX (sizeof(ADMIN_USER_PREFIX) + ADMIN_NAME_MAX)
#define ADMIN_AUDIT_MAX 500                   /* entries kept */

/* One request being answered. */
struct admin_ctx {
	struct admin *a;
	struct http_req *r;
	char id[ADMIN_ID_MAX];   /* the <id> of keys/<id>, upstream-keys/<id> */
	cJSON *body;             /* the request's JSON object, or NULL */
	int64_t now;             /* unix seconds */
	char sess_key[sizeof(SESSION_PREFIX) + SHA256_HEX_LEN];
	char csrf[ADMIN_TOKEN_HEX];
	int64_t sess_expires;
	char who[64];            /* the session's admin name (ADMIN_OWNER for the
				  * admin of setup) */
};

/* ---- answers (admin.c); each sends the whole answer with the headers
 * every answer carries (no-store, nosniff, no framing) plus extra */

/* Answer body (len bytes) of type as it is. */
void admin_reply_raw(struct admin_ctx *x, int status, const char *type, const char *extra, const char *body,
		     size_t len);
/* Answer j as JSON (j is consumed; NULL or unprintable: 500). */
void admin_reply(struct admin_ctx *x, int status, cJSON *j, const char *extra);
/* Answer {"error":{"message","code"}}; the message is scrubbed of secrets. */
__attribute__((format(printf, 5, 6)))
void admin_reply_error(struct admin_ctx *x, int status, const char *code, const char *extra, const char *fmt, ...);
/* admin_reply without extra headers. */
void admin_reply_ok(struct admin_ctx *x, int status, cJSON *j);
/* A 400 answer whose error also names the member at fault
 * ({"error": {"message", "code", "param"}}), so that the page can show the
 * message beside that field; param is left out when NULL or empty. */
void admin_reply_invalid(struct admin_ctx *x, const char *code, const char *param, const char *msg);
/* Answer that state.db could not be opened (errno from store_open): 503
 * store_busy when locked, else 500 store_error (the cause is logged). */
void admin_reply_store_error(struct admin_ctx *x);
/* Answer 500 store_error after a failed write (logged). */
void admin_reply_write_error(struct admin_ctx *x);

/* ---- state.db and small helpers (admin.c) */

/* state.db as a reader, or as a writer (the state folder is made first);
 * NULL with errno as store_open. */
GDBM_FILE admin_state_open(struct admin_ctx *x, int writer);
/* The JSON value of key, or NULL. */
cJSON *admin_get_json(GDBM_FILE db, const char *key);
/* Store j under key: 0 or -1. */
int admin_put_json(GDBM_FILE db, const char *key, const cJSON *j);
/* Member name of o as a number (dflt when absent or not a number). */
double admin_num_of(const cJSON *o, const char *name, double dflt);
/* Member name of o as a string, or NULL. */
const char *admin_str_of(const cJSON *o, const char *name);
/* The configuration as the router sees it: file and environment, and with
 * with_state the settings and upstream keys of state.db. 0, or -1 with err. */
int admin_load_config(struct admin_ctx *x, struct config *c, int with_state, char *err, size_t errlen);
/* The value of name in query string q, percent-decoded ('+' is a space),
 * into out (cut to outlen - 1 bytes); 1 if present, else 0 (out ""). */
int admin_query_get(const char *q, const char *name, char *out, size_t outlen);
/* Is s exactly n lower-case hex digits? */
int admin_hex_ok(const char *s, size_t n);
/* A new JSON array of the n strings of v. */
cJSON *admin_string_array(char **v, size_t n);

/* ---- session and login (admin_session.c) */

/* pw hashed for admin:password (pwhash_make; a new string), or NULL after
 * an error answer (logged). */
char *admin_password_hash(struct admin_ctx *x, const char *pw);
/* An admin's name: 1 to ADMIN_NAME_MAX of [a-z0-9._-]. */
int admin_name_ok(const char *s);
/* The state.db key holding admin name's password hash: admin:password for
 * the owner, admin:user:<name> for a named admin. */
void admin_user_key(const char *name, char out[ADMIN_USER_KEY_MAX]);
/* Delete the sessions of admin name (db opened as a writer), but keep
 * the one under state.db key keep (NULL: none kept). */
void admin_sessions_end(GDBM_FILE db, const char *name, const char *keep);
/* 0 when pw (NULL: none) will do as a new password (ADMIN_PASSWORD_MIN
 * characters to PWHASH_PASSWORD_MAX bytes); else 1 after a 400
 * weak_password answer naming "password". */
int admin_new_password_weak(struct admin_ctx *x, const char *pw);
/* The number of characters (UTF-8 code points) of s. */
size_t admin_utf8_chars(const char *s);

/* The caller's session from its cookie: 0 (x->csrf, x->sess_key set), 401
 * when there is none or it expired, -1 when state.db cannot be read. */
int admin_session_load(struct admin_ctx *x);
/* Does the X-CSRF-Token header match the session's token? */
int admin_session_csrf_ok(struct admin_ctx *x);

/* ---- settle's schedule (admin_settle.c) */

/* Add "schedule" to j: {"scheduled": "cron" (a system crontab file runs
 * llmgate-settle: "cron_file"), "recent" (none found, but it ran within two
 * hours) or "no"; "crontab_line": the /etc/cron.d line for this install
 * (hourly, the state folder's owner, this configuration file, bindir);
 * "crontab_file"}. */
void admin_settle_schedule(struct admin_ctx *x, cJSON *j, int64_t last_run_ms);

/* ---- the audit log (admin_audit.c) */

/* Note a change that has been made (what: a short word such as "settings",
 * "key.create"; detail: names and ids, never a secret) with the session's
 * admin, the client address and the time. Best effort: a failure to write
 * is logged, the change stands. */
__attribute__((format(printf, 3, 4)))
void admin_audit_note(struct admin_ctx *x, const char *what, const char *fmt, ...);

/* ---- upstream keys (admin_upkeys.c), also shown by admin_providers.c */

/* Every upkey: record of state.db, as upkey_list gives them (no secrets);
 * NULL (logged) when state.db cannot be read. */
cJSON *admin_upkeys_read(struct admin_ctx *x);
/* Add key id's live state from live (admin_providers.c's merge of the
 * routers' pools files) to o, or fallback_state when not NULL. */
void admin_upkeys_add_live(cJSON *o, const cJSON *live, const char *id, const char *fallback_state);
/* An upstream key as shown, from an upkey_list entry (no secret, only its
 * hint); a new object. */
cJSON *admin_upkeys_public(const cJSON *rec, const cJSON *live);

/* ---- gateway keys (admin_gwkeys.c), also named in usage */

/* Every gateway key record (with its hash: strip it before sending), the
 * environment's keys included as {"id","name","source":"config"}. NULL
 * with err when state.db cannot be read. */
cJSON *admin_gwkeys_read(struct admin_ctx *x, char *err, size_t errlen);
/* Name the keys of u after the records of keys. */
void admin_gwkeys_name(struct admin_usage *u, const cJSON *keys);

/* ---- usage (admin_usage.c) */

/* Settled totals (ledger.db) plus the records of spool segments not in it
 * yet, added to u. 0, or -1 with err when the ledger cannot be read. */
int admin_usage_load(struct admin_ctx *x, struct admin_usage *u, char *err, size_t errlen);
/* Call fn for each record of each spool segment once: the segments listed
 * as .open, .ready, .settled and archived (the first nlist of these four),
 * but not those named in skip; each read under the name it has when read
 * (a segment moves on while settle runs: .open -> .ready -> .settled ->
 * archive/ or gone). */
void admin_spool_each(struct admin_ctx *x, size_t nlist, char **skip, size_t nskip,
		      int (*fn)(const char *line, size_t len, void *user), void *user);
/* The UTC month ("YYYY-MM") of unix time now. */
void admin_usage_this_month(int64_t now, char out[LEDGER_MONTH_LEN]);

/* ---- the handlers of admin.c's routes table: each answers the request
 * completely (x->body holds the parsed body where the route needs one,
 * x->id the path's id) */
void admin_session_setup_get(struct admin_ctx *x);
void admin_session_setup_post(struct admin_ctx *x);
void admin_session_login(struct admin_ctx *x);
void admin_session_logout(struct admin_ctx *x);
void admin_session_get(struct admin_ctx *x);
void admin_settings_get(struct admin_ctx *x);
void admin_settings_put(struct admin_ctx *x);
void admin_providers_get(struct admin_ctx *x);
void admin_gwkeys_get(struct admin_ctx *x);
void admin_gwkeys_post(struct admin_ctx *x);
void admin_gwkeys_patch(struct admin_ctx *x);
void admin_gwkeys_revoke(struct admin_ctx *x);
void admin_upkeys_post(struct admin_ctx *x);
void admin_upkeys_patch(struct admin_ctx *x);
void admin_upkeys_delete(struct admin_ctx *x);
void admin_usage_get(struct admin_ctx *x);
/* knowledge bases (admin_kb.c) */
void admin_kb_get(struct admin_ctx *x);
void admin_kb_store_post(struct admin_ctx *x);
void admin_kb_store_delete(struct admin_ctx *x);
void admin_kb_document_post(struct admin_ctx *x);   /* reads its own body (R_RAW) */
void admin_kb_remove(struct admin_ctx *x);
void admin_kb_reindex(struct admin_ctx *x);
void admin_usage_get_csv(struct admin_ctx *x);
void admin_account_password(struct admin_ctx *x);
void admin_audit_get(struct admin_ctx *x);
void admin_admins_get(struct admin_ctx *x);
void admin_admins_post(struct admin_ctx *x);
void admin_admins_delete(struct admin_ctx *x);
void admin_requests_get(struct admin_ctx *x);
void admin_probe_provider(struct admin_ctx *x);
void admin_convo_get(struct admin_ctx *x);         /* admin_convo.c */
void admin_convo_key_get(struct admin_ctx *x);
void admin_convo_delete(struct admin_ctx *x);
void admin_apps_get(struct admin_ctx *x);
void admin_apps_log(struct admin_ctx *x);
#endif
