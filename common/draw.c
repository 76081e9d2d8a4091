/* draw.c — the drawing trigger (see draw.h). */
#include "autoconf.h"
#include "draw.h"
#include "cache.h"
#include "log.h"
#include "oai.h"
#include "relay.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRAW_ZH "\xe7\x94\xbb"        /* 画 */
#define DRAW_EN "/draw"
#define FULLWIDTH_COLON "\xef\xbc\x9a" /* ： */

/* The drawing front-end's part of a request (relay.front). */
struct draw_front {
	char *prompt;
	int stream;
	char *url;        /* the picture, once an answer held one */
};

static const char *skip_spaces(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

char *draw_prompt(const char *s)
{
	s = skip_spaces(s);
	if (!strncmp(s, DRAW_ZH, 3))
		s += 3;
	else if (!strncmp(s, DRAW_EN, 5) && (s[5] == ' ' || s[5] == '\0' || s[5] == '\n' || s[5] == '\t'))
		s += 5;
	else
		return NULL;
	s = skip_spaces(s);
	if (*s == ':')
		s = skip_spaces(s + 1);
	else if (!strncmp(s, FULLWIDTH_COLON, 3))
		s = skip_spaces(s + 3);
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* The text of req's last user message (its string, or its first text
 * part), or NULL. Points into req. */
static const char *last_user_text(const cJSON *req)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m, *last = NULL;
	cJSON_ArrayForEach(m, ms) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
			last = m;
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(last, "content"), *p;
	if (cJSON_IsString(c))
		return c->valuestring;
	if (!cJSON_IsArray(c))
		return NULL;
	cJSON_ArrayForEach(p, c) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
		if (cJSON_IsString(t))
			return t->valuestring;
	}
	return NULL;
}

int draw_wanted(const struct config *c, const cJSON *req)
{
	if (!c->drawing_enabled || !c->drawing_model || !*c->drawing_model)
		return 0;
	const char *t = last_user_text(req);
	char *p = t ? draw_prompt(t) : NULL;
	free(p);
	return p != NULL;
}

char *draw_image_url(const char *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0);
	const cJSON *i0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "images"), 0);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(d0 ? d0 : i0, "url");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(d0, "b64_json");
	char *out = NULL;
	if (cJSON_IsString(url) && *url->valuestring)
		out = xstrdup(url->valuestring);
	else if (cJSON_IsString(b64) && *b64->valuestring)
		out = xstrcat2("data:image/png;base64,", b64->valuestring);
	cJSON_Delete(j);
	return out;
}

/* ------------------------------------------------------------ the answer */

/* The chat answer holding the picture, in OpenAI's form (new string). */
static char *answer_oai(struct relay *x, const struct draw_front *f)
{
	char *alt = xstrdup(f->prompt);
	for (char *p = alt; *p; p++)
		if (*p == '[' || *p == ']' || *p == '\n' || *p == '\r')
			*p = ' ';
	char *md = xasprintf("![%s](%s)", alt, f->url);
	free(alt);
	cJSON *o = cJSON_CreateObject();
	char id[96];
	snprintf(id, sizeof(id), "chatcmpl-%s", x->req_id);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "chat.completion");
	cJSON_AddNumberToObject(o, "created", (double)time(NULL));
	cJSON_AddStringToObject(o, "model", x->requested);
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
	cJSON_AddNumberToObject(ch, "index", 0);
	cJSON *msg = cJSON_AddObjectToObject(ch, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	cJSON_AddStringToObject(msg, "content", md);
	cJSON_AddStringToObject(ch, "finish_reason", "stop");
	cJSON *u = cJSON_AddObjectToObject(o, "usage");
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)x->usage.prompt);
	cJSON_AddNumberToObject(u, "completion_tokens", (double)x->usage.completion);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(x->usage.prompt + x->usage.completion));
	char *out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(md);
	return out;
}

/* The OpenAI stream of an answer (sse) as Anthropic's events into out. */
static void sse_to_anthropic(struct relay *x, const struct buf *sse, struct buf *out)
{
	const char *p = sse->data, *end = sse->data + sse->len;
	anthropic_from_oai_init(&x->o2a, x->requested);
	while (p < end) {
		const char *e = memmem(p, (size_t)(end - p), "\n\n", 2);
		if (!e)
			break;
		if (e - p > 6 && !memcmp(p, "data: ", 6) && memcmp(p + 6, "[DONE]", 6))
			anthropic_from_oai_feed(&x->o2a, p + 6, (size_t)(e - p - 6), out);
		p = e + 2;
	}
	anthropic_from_oai_finish(&x->o2a, out);
}

/* Send the picture to the client in its dialect, buffered or as a stream. */
static void send_answer(struct relay *x, const struct draw_front *f)
{
	char *oai = answer_oai(x, f), *body = oai;
	char extra[RELAY_EXTRA_HDR_MAX], err[128];
	struct buf sse, out;
	buf_init(&sse, BUF_CAP_DEFAULT * 8);
	buf_init(&out, BUF_CAP_DEFAULT * 8);
	if (f->stream) {
		relay_answer_headers(x, "Cache-Control: no-cache\r\n", extra, sizeof(extra));
		cache_to_sse(oai, strlen(oai), 1, &sse);
		if (x->client == DIALECT_ANTHROPIC)
			sse_to_anthropic(x, &sse, &out);
		const struct buf *b = x->client == DIALECT_ANTHROPIC ? &out : &sse;
		http_respond(x->r, 200, "text/event-stream; charset=utf-8", extra, b->data ? b->data : "", b->len);
	} else {
		relay_answer_headers(x, NULL, extra, sizeof(extra));
		if (x->client == DIALECT_ANTHROPIC)
			body = anthropic_response_from_oai(oai, strlen(oai), x->requested, NULL, err, sizeof(err));
		if (!body)
			body = anthropic_error_json("api_error", "the picture could not be put in an answer");
		http_respond(x->r, 200, "application/json", extra, body, strlen(body));
	}
	if (body != oai)
		free(body);
	free(oai);
	buf_free(&sse);
	buf_free(&out);
}

/* ------------------------------------------------------------ relay ops */

static int draw_prepare(struct relay *x, const struct route_target *t, struct relay_send *s, char *err, size_t errlen)
{
	struct draw_front *f = x->front;
	(void)err;
	(void)errlen;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "model", t->model);
	cJSON_AddStringToObject(b, "prompt", f->prompt);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	s->url = xstrcat2(t->prov->base_url, "/images/generations");
	s->owned = body;
	s->body = body;
	s->body_len = strlen(body);
	s->accept = "application/json";
	return 0;
}

static void draw_unsendable(struct relay *x, const struct route_target *t, const char *err)
{
	relay_record(x, 400);
	oai_error(x->r, 400, "invalid_request_error", "unsupported_request", NULL, NULL,
		  "The drawing request cannot be sent to %s: %s", t->prov->name, err);
}

/* A 2xx without a picture is no answer: the next key or target. */
static int draw_check(struct relay *x)
{
	struct draw_front *f = x->front;
	if (x->status >= 400)
		return 0;
	free(f->url);
	f->url = draw_image_url(buf_str(&x->body), x->body.len);
	return f->url ? 0 : -1;
}

static void draw_answer(struct relay *x)
{
	struct draw_front *f = x->front;
	if (x->status >= 400 || !f->url) {
		relay_record(x, x->status >= 400 ? x->status : 502);
		char *oai = relay_error_as_oai(x);
		cJSON *j = cJSON_Parse(oai);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
		oai_error(x->r, x->status >= 500 || x->status < 400 ? 502 : x->status, "upstream_error", "image_upstream_error",
			  NULL, NULL, "The image model '%.200s' failed (HTTP %d): %.300s", x->requested, x->status,
			  cJSON_IsString(m) ? m->valuestring : "no picture in its answer");
		cJSON_Delete(j);
		free(oai);
		return;
	}
	x->dops->usage_from_body(buf_str(&x->body), x->body.len, &x->usage);
	x->usage.reported = 1;   /* an image call: the tokens it reports, or none (not an estimate) */
	relay_record(x, 200);
	send_answer(x, f);
}

static void draw_fail(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms)
{
	(void)retry_ms;
	int st = relay_fail_status(fail);
	oai_error(x->r, st, "upstream_error", "image_upstream_error", NULL, NULL,
		  "The image model '%.200s' failed after %d attempt%s%s%s%s", x->requested, attempts,
		  attempts == 1 ? "" : "s", detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
}

static const struct relay_ops draw_ops = {
	.prepare = draw_prepare, .unsendable = draw_unsendable,
	.on_head = relay_buffered_head, .on_data = relay_buffered_data,
	.check = draw_check, .answer = draw_answer, .fail = draw_fail,
};

/* The image model's route: its OpenAI-compatible targets. 0, or -1 after
 * an answer. */
static int draw_route(const struct api_call *call, const char *model, struct route *rt)
{
	int rc = provider_resolve_dialect(&call->snap->cfg, model, DIALECT_OPENAI, rt);
	if (rc != 0)
		oai_error(call->r, 503, "upstream_error", "image_model_not_found", NULL, NULL,
			  rc == -1 ? "The drawing model '%.200s' is not served by any provider of this gateway."
				   : "The drawing model '%.200s' has no OpenAI-compatible provider.", model);
	return rc ? -1 : 0;
}

void draw_run(const struct api_call *call, const cJSON *req, enum dialect client)
{
	const struct config *c = &call->snap->cfg;
	struct draw_mem {          /* not on the stack: see api_chat_run */
		struct relay x;
		struct route rt;
		struct draw_front f;
	} *mem = xcalloc(1, sizeof(*mem));
	struct relay *const x = &mem->x;
	struct draw_front *const f = &mem->f;
	const char *text = last_user_text(req);
	f->prompt = text ? draw_prompt(text) : NULL;
	f->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
	if (!f->prompt || !*f->prompt) {
		oai_error(call->r, 400, "invalid_request_error", "empty_drawing_prompt", "messages", NULL,
			  "Nothing to draw: write what to draw after \"" DRAW_ZH "\" or \"/draw \".");
		goto out;
	}
	if (draw_route(call, c->drawing_model, &mem->rt) != 0)
		goto out;
	relay_init(x, &draw_ops, call->w, call->snap, call->r, call->who, call->req_id, client, "images", pool_now_ms(), 1);
	x->front = f;
	x->client_stream = f->stream;
	snprintf(x->requested, sizeof(x->requested), "%s", c->drawing_model);
	log_debug("%s key=%s drawing with %s", call->req_id, call->who->id, c->drawing_model);
	if (relay_usage_space(x, DIALECT_OPENAI) == 0 && relay_quota_admit(x, &mem->rt, 1))
		relay_run(x, &mem->rt);
	relay_free(x);
out:
	free(f->prompt);
	free(f->url);
	free(mem);
}
