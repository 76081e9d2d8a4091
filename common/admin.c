/* admin.c — the admin API's dispatch (the routes table: method, path,
 * session, body, handler), its answers and the helpers the admin_*.c
 * files share (admin_impl.h); set-up and clean-up. */
#include "autoconf.h"
#include "admin_impl.h"
#include "auth.h"
#include "ledger.h"
#include "log.h"
#include "settle.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define HEADERS_MAX 1536            /* extra response headers */

static const char *const JSON_TYPE = "application/json; charset=utf-8";
/* every answer: never cached, never sniffed, never framed (clickjacking) */
static const char *const BASE_HEADERS = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
					"Content-Security-Policy: frame-ancestors 'none'\r\nX-Frame-Options: DENY\r\n";

const char *admin_api_path(const char *path, const char *path_info)
{
	const char *m = path ? strstr(path, ADMIN_API_MOUNT) : NULL;
	if (m)
		return m + strlen(ADMIN_API_MOUNT);
	if (path_info && path_info[0] == '/')
		return path_info + 1;
	return NULL;
}

/* ================================================================ requests */

void admin_reply_raw(struct admin_ctx *x, int status, const char *type, const char *extra, const char *body, size_t len)
{
	char headers[HEADERS_MAX];
	int n = snprintf(headers, sizeof(headers), "%s%s", BASE_HEADERS, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(headers))
		snprintf(headers, sizeof(headers), "%s", BASE_HEADERS);
	http_respond(x->r, status, type, headers, body, len);
}

/* Answer with j (consumed). */
void admin_reply(struct admin_ctx *x, int status, cJSON *j, const char *extra)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!text) {
		static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"code\":\"server_error\"}}";
		admin_reply_raw(x, 500, JSON_TYPE, NULL, oom, sizeof(oom) - 1);
		return;
	}
	admin_reply_raw(x, status, JSON_TYPE, extra, text, strlen(text));
	free(text);
}

__attribute__((format(printf, 5, 6)))
void admin_reply_error(struct admin_ctx *x, int status, const char *code, const char *extra, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_scrub(msg);
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "code", code);
	admin_reply(x, status, j, extra);
}

void admin_reply_invalid(struct admin_ctx *x, const char *code, const char *param, const char *msg)
{
	char m[512];
	snprintf(m, sizeof(m), "%s", msg);
	log_scrub(m);
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", m);
	cJSON_AddStringToObject(e, "code", code);
	if (param && *param)
		cJSON_AddStringToObject(e, "param", param);
	admin_reply(x, 400, j, NULL);
}

void admin_reply_ok(struct admin_ctx *x, int status, cJSON *j)
{
	admin_reply(x, status, j, NULL);
}

/* ------------------------------------------------------------ state.db */

GDBM_FILE admin_state_open(struct admin_ctx *x, int writer)
{
	if (writer && mkdir(x->a->cfg.state_dir, 0700) != 0 && errno != EEXIST)
		log_err("cannot create %s: %s", x->a->cfg.state_dir, strerror(errno));
	return store_open(x->a->state_path, writer, ADMIN_STORE_WAIT_MS);
}

/* state.db could not be opened (errno from store_open). */
void admin_reply_store_error(struct admin_ctx *x)
{
	if (errno == EAGAIN) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
	} else {
		log_err("cannot open %s: %s", x->a->state_path, store_strerror(errno));
		admin_reply_error(x, 500, "store_error", NULL, "cannot open state.db (see the server log)");
	}
}

void admin_reply_write_error(struct admin_ctx *x)
{
	log_err("cannot write %s: %s", x->a->state_path, gdbm_strerror(gdbm_errno));
	admin_reply_error(x, 500, "store_error", NULL, "cannot write state.db (see the server log)");
}

cJSON *admin_get_json(GDBM_FILE db, const char *key)
{
	return store_get_json(db, key);
}

int admin_put_json(GDBM_FILE db, const char *key, const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	int r = text && store_put(db, key, text, strlen(text)) == 0 ? 0 : -1;
	free(text);
	return r;
}

double admin_num_of(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *admin_str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The configuration as the router sees it: file and environment, and with
 * state the settings and upstream keys of state.db. 0, or -1 with err. */
int admin_load_config(struct admin_ctx *x, struct config *c, int with_state, char *err, size_t errlen)
{
	if (config_load(c, x->a->config_path, err, errlen) != 0)
		return -1;
	if (with_state && config_apply_state(c, err, errlen) != 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

int admin_hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	}
	return 1;
}

static int hex_val(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

int admin_query_get(const char *q, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	while (q && *q) {
		const char *end = strchr(q, '&');
		if (!end)
			end = q + strlen(q);
		if ((size_t)(end - q) > nl && !strncmp(q, name, nl) && q[nl] == '=') {
			size_t n = 0;
			for (const char *p = q + nl + 1; p < end && n + 1 < outlen; p++) {
				int hi, lo;
				if (*p == '%' && end - p >= 3 && (hi = hex_val(p[1])) >= 0 && (lo = hex_val(p[2])) >= 0) {
					out[n++] = (char)(hi * 16 + lo);
					p += 2;
				} else {
					out[n++] = *p == '+' ? ' ' : *p;
				}
			}
			out[n] = '\0';
			return 1;
		}
		q = *end ? end + 1 : end;
	}
	return 0;
}

cJSON *admin_string_array(char **v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* ------------------------------------------------------------ dispatch */

#define R_PUBLIC 1u   /* no session needed */
#define R_BODY 2u     /* a JSON object body is required */
#define R_RAW 4u      /* the handler reads the body itself (not JSON) */

struct route {
	const char *method;
	const char *pattern;   /* '*' matches one path segment: an id */
	unsigned flags;
	void (*fn)(struct admin_ctx *x);
};

static const struct route routes[] = {
	{ "GET", "setup", R_PUBLIC, admin_session_setup_get },
	{ "POST", "setup", R_PUBLIC | R_BODY, admin_session_setup_post },
	{ "POST", "login", R_PUBLIC | R_BODY, admin_session_login },
	{ "POST", "logout", 0, admin_session_logout },
	{ "GET", "session", 0, admin_session_get },
	{ "GET", "settings", 0, admin_settings_get },
	{ "PUT", "settings", R_BODY, admin_settings_put },
	{ "GET", "providers", 0, admin_providers_get },
	{ "GET", "keys", 0, admin_gwkeys_get },
	{ "POST", "keys", R_BODY, admin_gwkeys_post },
	{ "PATCH", "keys/*", R_BODY, admin_gwkeys_patch },
	{ "DELETE", "keys/*", 0, admin_gwkeys_revoke },
	{ "POST", "keys/*/revoke", 0, admin_gwkeys_revoke },
	{ "POST", "upstream-keys", R_BODY, admin_upkeys_post },
	{ "PATCH", "upstream-keys/*", R_BODY, admin_upkeys_patch },
	{ "DELETE", "upstream-keys/*", 0, admin_upkeys_delete },
	{ "GET", "usage", 0, admin_usage_get },
	{ "GET", "usage.csv", 0, admin_usage_get_csv },
	{ "GET", "kb", 0, admin_kb_get },
	{ "POST", "kb/stores", R_BODY, admin_kb_store_post },
	{ "DELETE", "kb/stores/*", 0, admin_kb_store_delete },
	{ "POST", "kb/stores/*/documents", R_RAW, admin_kb_document_post },
	{ "POST", "kb/stores/*/remove", R_BODY, admin_kb_remove },
	{ "POST", "kb/stores/*/reindex", 0, admin_kb_reindex },
	{ "POST", "account/password", R_BODY, admin_account_password },
	{ "GET", "audit", 0, admin_audit_get },
	{ "GET", "admins", 0, admin_admins_get },
	{ "POST", "admins", R_BODY, admin_admins_post },
	{ "DELETE", "admins/*", 0, admin_admins_delete },
	{ "GET", "requests", 0, admin_requests_get },
	{ "POST", "providers/*/test", 0, admin_probe_provider },
	{ "GET", "conversations", 0, admin_convo_get },
	{ "GET", "conversations/*", 0, admin_convo_key_get },
	{ "POST", "conversations/*/delete", R_BODY, admin_convo_delete },
	{ "GET", "apps", 0, admin_apps_get },
	{ "GET", "apps/*/log", 0, admin_apps_log },
};

static int id_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static int route_match(const char *pattern, const char *path, char *id, size_t idlen)
{
	while (*pattern) {
		if (*pattern == '*') {
			size_t n = 0;
			while (path[n] && path[n] != '/') {
				if (!id_char(path[n]))
					return 0;
				n++;
			}
			if (!n || n >= idlen)
				return 0;
			memcpy(id, path, n);
			id[n] = '\0';
			path += n;
			pattern++;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *path == '\0';
}

static int changes_state(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

/* Read and parse the body; 0, or -1 after an error answer. */
static int read_body(struct admin_ctx *x, unsigned flags)
{
	int r = http_read_body(x->r, ADMIN_BODY_MAX);
	if (r == -1) {
		admin_reply_error(x, 413, "too_large", NULL, "the request body is larger than %u KiB", ADMIN_BODY_MAX >> 10);
		return -1;
	}
	if (r != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "the request body could not be read");
		return -1;
	}
	if (x->r->body.len == 0) {
		if (!(flags & R_BODY))
			return 0;
		admin_reply_error(x, 400, "invalid_json", NULL, "a JSON object body is needed");
		return -1;
	}
	const char *end = NULL, *stop = x->r->body.data + x->r->body.len;
	x->body = cJSON_ParseWithLengthOpts(x->r->body.data, x->r->body.len, &end, 0);
	while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(x->body) || end != stop) {
		admin_reply_error(x, 400, "invalid_json", NULL, "the request body is not a JSON object");
		return -1;
	}
	return 0;
}

void admin_handle(struct admin *a, struct http_req *r)
{
	struct admin_ctx x;
	char allow[96] = "";
	const struct route *rt = NULL;
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.r = r;
	x.now = (int64_t)time(NULL);
	const char *api = admin_api_path(r->path, http_param(r, "PATH_INFO"));
	for (size_t i = 0; api && i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].pattern, api, x.id, sizeof(x.id)))
			continue;
		if (!strcmp(routes[i].method, r->method)) {
			rt = &routes[i];
			break;
		}
		size_t n = strlen(allow);
		snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", routes[i].method);
	}
	if (!rt && !allow[0]) {
		admin_reply_error(&x, 404, "not_found", NULL, "no such admin API call");
		goto out;
	}
	if (!rt) {
		char extra[160];
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
		admin_reply_error(&x, 405, "method_not_allowed", extra, "use %s here", allow);
		goto out;
	}
	if (!(rt->flags & R_PUBLIC)) {
		int s = admin_session_load(&x);
		if (s < 0) {
			admin_reply_store_error(&x);
			goto out;
		}
		if (s) {
			admin_reply_error(&x, 401, "unauthorized", NULL, "log in first (no valid session)");
			goto out;
		}
		if (changes_state(r->method) && !admin_session_csrf_ok(&x)) {
			admin_reply_error(&x, 403, "csrf_failed", NULL, "missing or wrong X-CSRF-Token header");
			goto out;
		}
	}
	if ((!strcmp(r->method, "POST") || !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH")) &&
	    !(rt->flags & R_RAW) && read_body(&x, rt->flags) != 0)
		goto out;
	rt->fn(&x);
out:
	cJSON_Delete(x.body);
}

/* ------------------------------------------------------------ set-up */

int admin_init(struct admin *a, const char *config_path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (config_load(&a->cfg, config_path, err, errlen) != 0)
		return -1;
	if (config_path)
		a->config_path = xstrdup(config_path);
	else if (a->cfg.path)
		a->config_path = xstrdup(a->cfg.path);
	a->state_path = auth_state_path(a->cfg.state_dir);
	a->ledger_path = ledger_path(a->cfg.state_dir);
	if (a->cfg.settle_database && *a->cfg.settle_database)
		a->fleet_path = xasprintf("%s/%s", a->cfg.state_dir, SETTLE_FLEET_FILE);
	a->spool_dir = xasprintf("%s/spool", a->cfg.state_dir);
	a->run_dir = xasprintf("%s/run", a->cfg.state_dir);
	return 0;
}

void admin_free(struct admin *a)
{
	config_free(&a->cfg);
	free(a->config_path);
	free(a->state_path);
	free(a->ledger_path);
	free(a->fleet_path);
	free(a->spool_dir);
	free(a->run_dir);
	memset(a, 0, sizeof(*a));
}
