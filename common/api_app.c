/* api_app.c — the prompt apps' front-end: POST <app path> with the app's
 * fields as a JSON object, answered {"<answer_field>": text} or the
 * declared JSON, errors {"error": message, "code": code}; the chat runs
 * through the chat engine as an internal request (api_chat_internal). */
#include "autoconf.h"
#include "api.h"
#include "app.h"
#include "applog.h"
#include "log.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APP_CLIENT_MAX 128
#define APP_BODY_SLACK 4096   /* JSON syntax and escapes around the fields */

/* {"error": message, "code": code}, with extra headers. */
__attribute__((format(printf, 5, 6)))
static void app_error(struct http_req *r, int status, const char *code, const char *extra, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_scrub(msg);
	snprintf(r->reason, sizeof(r->reason), "%s", code);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	cJSON_AddStringToObject(j, "code", code);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	http_respond(r, status, "application/json", extra, s, strlen(s));
	free(s);
}

/* The caller's address (printable, bounded) into out. */
static void client_address(struct http_req *r, char *out, size_t len)
{
	const char *a = http_param(r, "REMOTE_ADDR");
	size_t n = 0;
	for (; a && a[n] && n + 1 < len && (isalnum((unsigned char)a[n]) || strchr(".:[]%-", a[n])); n++)
		out[n] = a[n];
	out[n] = '\0';
	if (!n)
		snprintf(out, len, "-");
}

/* The client id of a checked request: its client field, printable and cut
 * to APP_CLIENT_MAX, or the address. */
static void client_id(const struct app_conf *a, const cJSON *req, const char *addr, char *out, size_t len)
{
	const cJSON *v = a->client_field ? cJSON_GetObjectItemCaseSensitive(req, a->client_field) : NULL;
	if (!cJSON_IsString(v)) {
		snprintf(out, len, "%s", addr);
		return;
	}
	size_t n = 0;
	for (const char *p = v->valuestring; *p && n + 1 < len; p++)
		out[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	out[n] = '\0';
}

/* The key or the open app's own identity; 0, or -1 after an answer. */
static int app_identity(const struct api_call *call, const struct app_conf *a, struct auth_entry *who)
{
	if (a->auth == APP_AUTH_OPEN) {
		memset(who, 0, sizeof(*who));
		snprintf(who->id, sizeof(who->id), "app-%s", a->name);
		snprintf(who->name, sizeof(who->name), "app %s", a->name);
		who->rpm = a->rpm;
		who->tokens_month = a->tokens_month;
		who->cost_month = a->cost_month;
		return 0;
	}
	int k = gateway_key_lookup(call->w, call->r, who);
	if (k == 1)
		return 0;
	app_error(call->r, 401, "invalid_api_key", NULL, k == 0 ?
		  "This endpoint needs a gateway key: send it as 'Authorization: Bearer YOUR_KEY'." :
		  "Incorrect API key provided. Use a key issued by this gateway.");
	return -1;
}

/* The open app's per-client limit; 0, or -1 after a 429. */
static int app_rate(const struct api_call *call, const struct app_conf *a, const char *addr, const char *client)
{
	if (a->auth != APP_AUTH_OPEN || !a->rate_limit)
		return 0;
	struct ratelimit *rl = call->w->gw->app_rates;
	int64_t now = pool_now_ms();
	long retry = 0;
	char key[APP_CLIENT_MAX + 96];
	int ok = 1;
	if (a->rate_by != APP_RATE_CLIENT) {
		snprintf(key, sizeof(key), "%s|a|%s", a->name, addr);
		ok = ratelimit_take(rl, key, a->rate_limit, now, &retry);
	}
	if (ok && a->rate_by != APP_RATE_ADDRESS) {
		snprintf(key, sizeof(key), "%s|c|%s", a->name, client);
		ok = ratelimit_take(rl, key, a->rate_limit, now, &retry);
	}
	if (ok)
		return 0;
	char extra[48];
	snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", retry);
	app_error(call->r, 429, "rate_limited", extra, "Too many requests from this client: at most %ld a minute; "
		  "retry after %ld s.", a->rate_limit, retry);
	return -1;
}

/* The request's body as the app's checked fields; NULL after an answer. */
static cJSON *app_read(const struct api_call *call, const struct app_conf *a)
{
	struct http_req *r = call->r;
	const char *ct = http_header(r, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		app_error(r, 415, "unsupported_media_type", NULL, "Content-Type must be application/json.");
		return NULL;
	}
	size_t cap = APP_BODY_SLACK;
	for (size_t i = 0; i < a->nfields; i++)
		cap += a->fields[i].cap * 2;   /* room for escapes */
	int rb = http_read_body(r, cap < call->snap->cfg.max_body ? cap : call->snap->cfg.max_body);
	if (rb != 0) {
		if (rb == -1)
			app_error(r, 413, "request_too_large", NULL, "The request is too large for this endpoint.");
		else
			app_error(r, rb == -3 ? 408 : 400, "invalid_body", NULL, "The request body could not be read.");
		return NULL;
	}
	cJSON *req;
	char msg[256];
	if (reqbody_parse(r->body.data, r->body.len, 1, &req, msg, sizeof(msg)) != REQBODY_OK) {
		app_error(r, 400, "invalid_json", NULL, "Invalid JSON: %s", msg);
		return NULL;
	}
	int status;
	if (app_check_input(a, req, &status, msg, sizeof(msg)) != 0) {
		app_error(r, status, status == 413 ? "field_too_long" : "invalid_fields", NULL, "%s", msg);
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

/* A JSON answer: the model's text without a ``` fence, parsed and checked
 * against the shape; NULL with why. */
static cJSON *json_answer(const struct app_conf *a, const char *text, char *why, size_t whylen)
{
	const char *s = text;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	if (!strncmp(s, "```", 3)) {
		const char *nl = strchr(s, '\n');
		const char *end = nl ? strstr(nl, "```") : NULL;
		if (end) {
			n = (size_t)(end - nl - 1);
			s = nl + 1;
		}
	}
	cJSON *j = cJSON_ParseWithLength(s, n);
	if (!j) {
		snprintf(why, whylen, "the answer is not JSON");
		return NULL;
	}
	if (!app_shape_check(a->shape, j, why, whylen)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

struct app_result {
	int status;
	char *body;      /* the answer to the client (JSON text) */
	char *logged;    /* what the log keeps of it */
	char *error;
};

/* Ask the model (twice at most for a JSON answer of the wrong shape). */
static void app_ask(const struct api_call *call, const struct app_conf *a, const cJSON *req,
		    const struct auth_entry *who, struct app_result *res)
{
	char endpoint[APP_NAME_MAX + 8], why[256] = "";
	snprintf(endpoint, sizeof(endpoint), "app/%s", a->name);
	for (int attempt = 0; attempt < (a->answer == APP_ANSWER_JSON ? 2 : 1); attempt++) {
		struct buf out;
		buf_init(&out, BUF_CAP_DEFAULT * 4);
		cJSON *chat = app_chat_request(a, req);
		int st = api_chat_internal(call, who, endpoint, chat, &out);
		cJSON_Delete(chat);
		char *text = st == 200 ? api_chat_answer_text(buf_str(&out)) : NULL;
		if (st != 200 || !text) {
			char *m = st != 200 ? api_error_message(buf_str(&out)) : xstrdup("The model's answer held no text");
			res->status = st == 429 ? 429 : st == 504 ? 504 : st >= 500 || st == 200 ? 502 : st;
			/* the engine's own words say what failed upstream */
			res->error = st >= 500 || st == 200 ? m : xasprintf("Refused: %s", m);
			if (res->error != m)
				free(m);
			buf_free(&out);
			return;
		}
		buf_free(&out);
		if (a->answer == APP_ANSWER_TEXT) {
			size_t n = strlen(text);
			while (n && isspace((unsigned char)text[n - 1]))
				text[--n] = '\0';
			const char *t = text;
			while (isspace((unsigned char)*t))
				t++;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, a->answer_field, t);
			res->body = cJSON_PrintUnformatted(o);
			res->logged = xstrdup(t);
			cJSON_Delete(o);
			res->status = 200;
			free(text);
			return;
		}
		cJSON *j = json_answer(a, text, why, sizeof(why));
		free(text);
		if (j) {
			res->body = cJSON_PrintUnformatted(j);
			res->logged = xstrdup(res->body);
			res->status = 200;
			cJSON_Delete(j);
			return;
		}
		log_warn("%s app %s: answer of the wrong shape (%s)%s", call->req_id, a->name, why,
			 attempt ? "" : ", asked again");
	}
	res->status = 502;
	res->error = xasprintf("The model's answer did not match the declared shape: %s", why);
}

void api_app_handle(const struct api_call *call)
{
	const struct app_conf *a = call->app;
	struct http_req *r = call->r;
	if (strcmp(r->method, "POST")) {
		app_error(r, 405, "method_not_allowed", "Allow: POST\r\n", "Use POST %s with a JSON object.", a->path);
		return;
	}
	struct auth_entry who;
	if (app_identity(call, a, &who) != 0)
		return;
	cJSON *req = app_read(call, a);
	if (!req)
		return;
	char addr[64], client[APP_CLIENT_MAX + 1];
	client_address(r, addr, sizeof(addr));
	client_id(a, req, addr, client, sizeof(client));
	if (app_rate(call, a, addr, client) != 0) {
		cJSON_Delete(req);
		return;
	}
	struct app_result res = { 0 };
	app_ask(call, a, req, &who, &res);
	if (res.status == 200)
		http_respond(r, 200, "application/json", NULL, res.body, strlen(res.body));
	else
		app_error(r, res.status, res.status == 429 ? "rate_limited" : res.status < 500 ? "refused" : "upstream_error",
			  NULL, "%s", res.error);
	if (a->log_days > 0) {
		struct applog_entry e = { .client = client, .request_id = call->req_id, .address = addr,
					  .key_id = who.id, .input = req, .answer = res.logged, .error = res.error,
					  .status = res.status, .ts_ms = pool_now_ms() };
		const char *dir = call->w->gw->cfg.state_dir;
		applog_append(dir, a->name, &e);
		/* the size cap holds between the ticks' trims too (a quarter over
		 * it at most, so that not every call rewrites the log) */
		if (applog_size(dir, a->name) > a->log_max_bytes + a->log_max_bytes / 4)
			applog_trim(dir, a->name, a->log_days, a->log_max_bytes, pool_now_ms());
	}
	free(res.body);
	free(res.logged);
	free(res.error);
	cJSON_Delete(req);
}
