/* api_proxy.c — the proxied endpoints: /v1/embeddings and
 * /v1/images/generations here, and the proxy engine they share with the
 * native passthrough (api_passthrough.c): the body goes to the upstream as the client sent
 * it (only model and auth change), the answer comes back as the upstream
 * sent it. Key rotation, retries, quotas and usage records apply as for
 * chats. Streams go through event by event; other answers are buffered
 * (capped) so that usage is read and recorded before the answer ends. */
#include "autoconf.h"
#include "api.h"
#include "log.h"
#include "oai.h"
#include "relay.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int proxy_on_head(void *user, int status, const char *ctype, long retry_after)
{
	struct relay *x = user;
	(void)retry_after;
	relay_head(x, status);
	/* the upstream's Content-Type goes into our answer's head: printable
	 * ASCII only, or a neutral type */
	int clean = *ctype != '\0';
	for (const char *q = ctype; *q && clean; q++)
		clean = (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f;
	snprintf(x->ctype, sizeof(x->ctype), "%s", clean ? ctype : "application/octet-stream");
	log_scrub(x->ctype);
	if (status >= 200 && status < 300 && !strncasecmp(ctype, "text/event-stream", 17)) {
		x->mode = RELAY_STREAM;
		x->client_stream = 1;   /* the record and the log line say stream */
	}
	return 0;
}

/* One upstream event of a passed-through stream: read its usage (not
 * translated), record before the stream's last event, forward it as it
 * is. */
static int proxy_event(const struct sse_event *ev, void *user)
{
	struct relay *x = user;
	x->events++;
	if (x->dops->usage_from_event(&x->ds, ev, &x->usage)) {
		x->saw_done = 1;
		relay_record(x, 200);
	}
	return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
}

static int proxy_on_data(void *user, const char *p, size_t n)
{
	struct relay *x = user;
	return relay_data(x, p, n, x->ctype, proxy_event);
}

/* Answer a proxied request no attempt of which reached the client, by how
 * the last one failed; a native (passthrough) call in its provider's own
 * error shape. */
static void proxy_fail(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms)
{
	const struct api_proxy_spec *spec = x->front;
	struct http_req *r = x->r;
	char extra[64];
	snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", relay_retry_after_s(retry_ms));
	int st = relay_fail_status(fail);
	enum dialect shape = !strcmp(spec->endpoint, "passthrough") ? x->up : DIALECT_OPENAI;
	if (shape == DIALECT_ANTHROPIC)
		r->anthropic_errors = 1;
	char msg[512];
	snprintf(msg, sizeof(msg), "The upstream request failed after %d attempt%s%s%s%s", attempts,
		 attempts == 1 ? "" : "s", detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	if (shape == DIALECT_GEMINI) {
		log_scrub(msg);
		char *b = gemini_error_json(st, msg);
		http_respond(r, st, "application/json", st == 429 ? extra : NULL, b, strlen(b));
		free(b);
		return;
	}
	oai_error(r, st, st == 429 ? "rate_limit_error" : "upstream_error",
		  st == 429 ? "upstream_rate_limited" : st == 504 ? "upstream_timeout" :
		  fail == FAIL_AUTH ? "upstream_auth_failed" : st == 503 ? "no_upstream_key" : "upstream_error",
		  NULL, st == 429 ? extra : NULL, "%s", msg);
}

/* What target t is sent (relay_ops.prepare): the spec's body, to its URL
 * or the target's base_url + suffix. */
static int proxy_prepare(struct relay *x, const struct route_target *t, struct relay_send *s, char *err,
			 size_t errlen)
{
	const struct api_proxy_spec *spec = x->front;
	(void)err;
	(void)errlen;
	s->url = spec->url ? xstrdup(spec->url) : xstrcat2(t->prov->base_url, spec->suffix);
	s->method = spec->method;
	s->headers = spec->pass_headers;
	s->no_content_type = spec->content_type != NULL;
	s->body = spec->body;
	s->body_len = spec->body_len;
	s->accept = "*/*";
	return 0;
}

/* A passed-through stream ended (relay_ops.streamed). */
static void proxy_streamed(struct relay *x, const struct route_target *t, const struct upstream_call *uc, int ok)
{
	if (!ok && !x->r->client_gone)
		log_warn("%s passthrough stream from %s %s: %s", x->req_id, t->prov->name,
			 upstream_gateway_limit(uc) ? "ended by the gateway's limit" : "failed", uc->errmsg);
}

/* An answer for the client, buffered: its own status, scrubbed
 * (relay_ops.answer). */
static void proxy_answer(struct relay *x)
{
	if (x->status >= 200 && x->status < 300)
		x->dops->usage_from_body(buf_str(&x->body), x->body.len, &x->usage);
	char extra[RELAY_EXTRA_HDR_MAX];
	relay_answer_headers(x, NULL, extra, sizeof(extra));
	relay_record(x, x->status);
	if (x->status >= 400) {
		char *b = relay_scrubbed_body(buf_str(&x->body), x->body.len);
		http_respond(x->r, x->status, x->ctype, extra, b, strlen(b));
		free(b);
	} else {
		http_respond(x->r, x->status, x->ctype, extra, x->body.data ? x->body.data : "", x->body.len);
	}
}

static const struct relay_ops proxy_ops = {
	.prepare = proxy_prepare, .on_head = proxy_on_head, .on_data = proxy_on_data,
	.streamed = proxy_streamed, .answer = proxy_answer, .fail = proxy_fail,
};

void api_proxy_run(const struct api_call *call, const struct route *rt, const char *model,
		   const struct api_proxy_spec *spec)
{
	struct http_req *r = call->r;
	struct proxy_mem {         /* not on the stack: see api_chat_run */
		struct relay x;
	} *mem = xmalloc(sizeof(*mem));
	struct relay *const x = &mem->x;

	relay_init(x, &proxy_ops, call->w, call->snap, r, call->who, call->req_id, DIALECT_OPENAI, spec->endpoint,
		   pool_now_ms(), 0);
	x->front = (void *)spec;
	x->include_usage = 1;
	x->uncharged = spec->uncharged;
	snprintf(x->requested, sizeof(x->requested), "%s", model && *model ? model : "-");
	if (relay_usage_space(x, r->passthrough && rt->n ? rt->t[0].prov->dialect : DIALECT_OPENAI) != 0)
		goto out;
	/* output: not for embeddings, nor for a request without a body (GET) */
	if (!relay_quota_admit(x, rt, strcmp(spec->endpoint, "embeddings") != 0 && spec->body_len > 0))
		goto out;
	relay_run(x, rt);
out:
	relay_free(x);
	free(mem);
}
/* POST /v1/embeddings and /v1/images/generations: OpenAI's format, routed
 * by model to OpenAI-compatible providers. */
void api_proxy_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	const char *suffix = call->path[0] == 'e' ? "/embeddings" : "/images/generations";
	const char *endpoint = call->path[0] == 'e' ? "embeddings" : "images";
	const struct config *c = &call->snap->cfg;
	cJSON *req = api_read_json_body(r, c);
	char *body = NULL;
	if (!req)
		return;
	struct route *rt = xmalloc(sizeof(*rt));   /* not on the stack: see api_chat_run */
	const char *model;
	if (api_request_model(r, req, &model) != 0)
		goto out;
	if (provider_resolve(c, model, rt) != 0) {
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%.200s' does not exist or you do not have access to it.", model);
		goto out;
	}
	size_t usable = 0;   /* the targets that speak OpenAI's format */
	for (size_t i = 0; i < rt->n; i++)
		if (rt->t[i].prov->dialect == DIALECT_OPENAI)
			rt->t[usable++] = rt->t[i];
	rt->n = usable;
	if (!usable) {
		oai_error(r, 400, "invalid_request_error", "unsupported_model", "model", NULL,
			  "%s is not offered for model '%.200s' through this gateway.", endpoint, model);
		goto out;
	}
	char requested[MODEL_NAME_MAX];
	memcpy(requested, model, strlen(model) + 1);   /* fits: api_request_model */
	/* the upstream model name is the same for every target of one route
	 * but for aliases: rewrite per first target */
	body = reqbody_forward(req, r->body.data, r->body.len, rt->t[0].model, 0);
	struct api_proxy_spec spec = { .endpoint = endpoint, .suffix = suffix, .body = body, .body_len = strlen(body) };
	api_proxy_run(call, rt, requested, &spec);
out:
	free(rt);
	free(body);
	cJSON_Delete(req);
}


