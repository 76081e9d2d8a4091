/* api_passthrough.c — the native passthrough front-end, /api/{provider}/
 * {rest}: the provider's own API, the gateway key swapped for a pool key.
 * The path and a few headers are checked and passed on, the model read for
 * quotas and the record, and the request run by the proxy engine
 * (api_proxy_run); refusals are in the provider's own error shape. */
#include "autoconf.h"
#include "api.h"
#include "anthropic.h"
#include "dialect.h"
#include "log.h"
#include "oai.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 2048

/* Is this passthrough path safe to put behind a provider's base URL? The
 * path is REQUEST_URI's, still %-encoded: no "..", no "." segments, no
 * encoded slashes or dots or percent signs, no empty segments, no
 * backslashes, '#', '?' or '@', nothing but printable ASCII, nothing that
 * could name another host. */
int api_passthrough_path_ok(const char *rest)
{
	if (rest[0] != '/' || !rest[1])
		return 0;
	for (const char *p = rest; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '@' || ch == '#' || ch == '?')
			return 0;
		if (ch == '.' && p[1] == '.')
			return 0;   /* no "..", dot segment or not */
		if (ch == '%') {
			/* two hex digits must follow; read the second only if the
			 * first is there */
			if (!p[1] || !p[2])
				return 0;
			char a = p[1], b = p[2];
			if ((a == '2' && (b == 'e' || b == 'E' || b == 'f' || b == 'F')) ||
			    (a == '5' && (b == 'c' || b == 'C')) || (a == '2' && b == '5') || (a == '0' || a == '1'))
				return 0;
		}
		if (ch == '/') {
			if (p[1] == '/')
				return 0;
			if (p[1] == '.' && (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))))
				return 0;
		}
		if (ch == ':' && p[1] == '/' && p[2] == '/')
			return 0;
	}
	return 1;
}

/* The query string without a client's "key=" parameter (Gemini's way of
 * sending a key), into out. */
static void strip_key_param(const char *q, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		if (!(n >= 4 && !strncmp(q, "key=", 4)) && n && o + n + 2 < outlen) {
			if (o)
				out[o++] = '&';
			memcpy(out + o, q, n);
			o += n;
			out[o] = '\0';
		}
		q += n;
		if (*q == '&')
			q++;
	}
}

/* A passthrough request refused in its provider's own error shape. */
static void native_error(struct http_req *r, const struct provider_conf *prov, int status, const char *code,
			 const char *param, const char *msg)
{
	char clean[512];
	snprintf(clean, sizeof(clean), "%s", msg);
	log_scrub(clean);
	const struct dialect_ops *d = dialect_ops(prov->dialect);
	snprintf(r->reason, sizeof(r->reason), "%s", code);
	char *body = d->error_json ? d->error_json(status, clean) : NULL;
	if (body)
		http_respond(r, status, "application/json", NULL, body, strlen(body));
	else
		oai_error(r, status, "invalid_request_error", code, param, NULL, "%s", clean);
	free(body);
}

/* Does the passthrough body read as JSON: a JSON Content-Type, or text
 * that starts like an object or array? */
static int body_is_json(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	if (ct && strcasestr(ct, "json"))
		return 1;
	size_t i = 0;
	while (i < r->body.len && strchr(" \t\r\n", r->body.data[i]))
		i++;
	return i < r->body.len && (r->body.data[i] == '{' || r->body.data[i] == '[');
}

/* The model a passthrough request names, into model (MODEL_NAME_MAX):
 * the body's "model", or the path's /models/NAME (Gemini's way); "" for
 * none. Whatever the gateway reads must be what the upstream reads: a JSON
 * body must be strict (reqbody.h), a name is never cut, one in the path is
 * taken only as written (no %-escapes), and body and path may not name two
 * models. Otherwise the client is answered (400) and -1 returned. */
static int passthrough_model(struct http_req *r, const struct provider_conf *prov, const char *rest, char *model)
{
	char msg[320];
	const char *bm = NULL, *pm = NULL;
	size_t pl = 0;
	cJSON *j = NULL;
	if (r->body.len && body_is_json(r)) {
		enum reqbody_verdict v = reqbody_parse(r->body.data, r->body.len, 0, &j, msg, sizeof(msg));
		if (v != REQBODY_OK) {
			native_error(r, prov, 400, v == REQBODY_DUPLICATE ? "duplicate_member" :
				     v == REQBODY_CASE ? "invalid_member_name" : "invalid_json", NULL, msg);
			return -1;
		}
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
		if (cJSON_IsString(m) && reqbody_model(j, &bm) == REQBODY_MODEL_TOO_LONG) {
			snprintf(msg, sizeof(msg), "'model' is longer than %d bytes, the longest model name this gateway takes.",
				 REQBODY_MODEL_LEN);
			goto refuse;
		}
	}
	const char *mp = strstr(rest, "/models/");
	if (mp) {
		pm = mp + 8;
		pl = strcspn(pm, ":/?");
		if (pl > REQBODY_MODEL_LEN || memchr(pm, '%', pl) || strstr(pm, "/models/")) {
			snprintf(msg, sizeof(msg), "The model in the path is longer than %d bytes, %%-encoded, or not the "
				 "only one; name one model, plainly.", REQBODY_MODEL_LEN);
			goto refuse;
		}
		/* the body may name the same model, also as "models/NAME" */
		const char *b = bm && !strncmp(bm, "models/", 7) ? bm + 7 : bm;
		if (pl && b && (strlen(b) != pl || memcmp(b, pm, pl))) {
			snprintf(msg, sizeof(msg), "The path and the body's 'model' name two different models.");
			goto refuse;
		}
	}
	if (pm && pl) {            /* the name the upstream runs; the body's agrees */
		memcpy(model, pm, pl);
		model[pl] = '\0';
	} else if (bm) {
		memcpy(model, bm, strlen(bm) + 1);
	}
	cJSON_Delete(j);
	return 0;
refuse:
	cJSON_Delete(j);
	native_error(r, prov, 400, "invalid_value", "model", msg);
	return -1;
}

static int ends_with(const char *s, const char *end)
{
	size_t sl = strlen(s), el = strlen(end);
	return sl >= el && !strcmp(s + sl - el, end);
}

/* Is rest (a passthrough path) one of the dialect's token-counting calls:
 * Anthropic's /messages/count_tokens, Gemini's models/{m}:countTokens,
 * OpenAI's /responses/input_tokens? */
static int counts_tokens(enum dialect d, const char *rest)
{
	switch (d) {
	case DIALECT_ANTHROPIC: return ends_with(rest, "/messages/count_tokens");
	case DIALECT_GEMINI: return ends_with(rest, ":countTokens");
	default: return ends_with(rest, "/responses/input_tokens");
	}
}

/* /api/{provider}/{rest}: the provider's own API, the gateway key swapped
 * for a pool key. */
void api_passthrough_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	const struct provider_conf *prov = call->prov;
	const char *rest = call->rest;
	const struct config *c = &call->snap->cfg;
	struct pt_mem {            /* not on the stack: see api_chat_run */
		char url[URL_MAX], query[1024];
		struct route rt;
		char model[MODEL_NAME_MAX];
		struct api_anthropic_hdrs ah;
	} *mem = xmalloc(sizeof(*mem));
	char *const url = mem->url, *const query = mem->query, *const model = mem->model;
	struct route *const rt = &mem->rt;
	model[0] = '\0';

	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
	int method_ok = 0;
	for (const char *const *mm = methods; *mm; mm++)
		method_ok |= !strcmp(r->method, *mm);
	if (!method_ok) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Allow: GET, POST, PUT, PATCH, DELETE\r\n");
		oai_error(r, 405, "invalid_request_error", "method_not_allowed", NULL, extra,
			  "This method cannot be passed to a provider.");
		goto out;
	}
	if (!api_passthrough_path_ok(rest)) {
		oai_error(r, 400, "invalid_request_error", "invalid_path", NULL, NULL,
			  "This path cannot be passed to a provider.");
		goto out;
	}
	if (!provider_usable(prov)) {
		oai_error(r, 404, "invalid_request_error", "provider_not_found", NULL, NULL,
			  "Provider '%.60s' has no upstream key here.", prov->name);
		goto out;
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "DELETE") && api_read_body(r, c) != 0)
		goto out;
	/* the model, for quotas and the record: the body's, or Gemini's path */
	if (passthrough_model(r, prov, rest, model) != 0)
		goto out;

	/* base_url + rest, where the end of the base's path may be repeated at
	 * the start of rest (".../v1beta" and "/v1beta/models/..."): then only
	 * once */
	const char *base = prov->base_url;
	const char *bpath = strstr(base, "://");
	bpath = bpath ? strchr(bpath + 3, '/') : NULL;
	size_t keep = strlen(base);
	for (const char *sfx = bpath; sfx && *sfx; sfx = strchr(sfx + 1, '/')) {
		size_t sl = strlen(sfx);
		if (!strncmp(rest, sfx, sl) && (rest[sl] == '/' || !rest[sl])) {
			keep = (size_t)(sfx - base);
			break;
		}
	}
	strip_key_param(r->query, query, sizeof(mem->query));
	int un = snprintf(url, URL_MAX, "%.*s%s%s%s", (int)keep, base, rest, query[0] ? "?" : "", query);
	if (un < 0 || (size_t)un >= URL_MAX) {
		oai_error(r, 414, "invalid_request_error", "uri_too_long", NULL, NULL, "The path is too long.");
		goto out;
	}
	/* a few of the client's headers go along; its auth never does */
	char ctype[160] = "", ob[96] = "";
	const char *hdrs[6];
	size_t nh = 0;
	const char *v;
	if ((v = http_header(r, "Content-Type")) && api_header_value_ok(v) && snprintf(ctype, sizeof(ctype), "Content-Type: %s", v) < (int)sizeof(ctype))
		hdrs[nh++] = ctype;
	nh = api_anthropic_headers(r, &mem->ah, prov->dialect == DIALECT_ANTHROPIC, hdrs, nh);
	if ((v = http_header(r, "OpenAI-Beta")) && api_header_value_ok(v) && snprintf(ob, sizeof(ob), "OpenAI-Beta: %s", v) < (int)sizeof(ob))
		hdrs[nh++] = ob;
	hdrs[nh] = NULL;

	rt->n = 1;
	rt->t[0].prov = prov;
	snprintf(rt->t[0].model, sizeof(rt->t[0].model), "%s", model[0] ? model : "-");
	/* counting tokens is not a chat: recorded with no tokens nor cost */
	int counting = counts_tokens(prov->dialect, rest);
	struct api_proxy_spec spec = {
		.endpoint = "passthrough", .method = r->method, .url = url, .uncharged = counting,
		.body = r->body.data, .body_len = r->body.len,
		.content_type = ctype[0] ? ctype : NULL, .pass_headers = hdrs,
	};
	api_proxy_run(call, rt, model, &spec);
out:
	free(mem);
}


