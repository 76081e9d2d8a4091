/* api_chat.c — the OpenAI chat completions front-end, and the chat engine
 * it shares with api_messages.c: a chat request in OpenAI's form goes
 * through the request filters and the response cache to the relay; each
 * attempt translates it to the target's dialect (OpenAI-compatible,
 * Anthropic, Gemini); the answer comes back to OpenAI form and then to the
 * client's dialect. An Anthropic client talking to an Anthropic upstream
 * is passed through untouched, both ways. */
#include "autoconf.h"
#include "api.h"
#include "cache.h"
#include "convo.h"
#include "draw.h"
#include "filter.h"
#include "gemini_in.h"
#include "jscan.h"
#include "log.h"
#include "oai.h"
#include "relay.h"
#include "responses.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The chat front-end's part of a request (relay.front). */
struct chat_front {
	cJSON *req;                /* OpenAI form */
	cJSON *areq;               /* the Anthropic original, or NULL */
	struct cache *cache;       /* NULL: no cache for this request */
	char ckey[CACHE_KEY_HEX];
	int cache_store;           /* a buffered answer goes into the cache */
	char *oai;                 /* the checked 2xx answer in OpenAI form */
	int responses;             /* the client speaks the Responses API */
	struct responses_stream *rs;  /* its stream encoder (a streamed request) */
	struct api_anthropic_hdrs *ah;  /* Anthropic to Anthropic: the client's headers, or NULL */
	const char *hdrs[3];
	const struct api_responses_keep *keep;  /* a Responses answer to keep, or NULL */
	const cJSON *kinds;        /* a Responses request's tool kinds (rtools.h), or NULL */
	int kept;
	const struct api_gemini_opts *g;  /* a Gemini client's request and wishes, or NULL */
	struct gemini_in_stream *gs;      /* its stream encoder (a streamed request) */
	int filtered;                     /* a request filter changed req: the client's own body is not it */
	cJSON *file_search;               /* the gateway's file_search for a Responses client (kb_retrieve.c), or NULL */
};

/* Send what the Responses encoder made; 0, or -1 when the client is gone. */
static int responses_out(struct relay *x, struct responses_stream *rs)
{
	int rc = rs->out.len ? http_write(x->r, rs->out.data, rs->out.len) : 0;
	buf_reset(&rs->out);
	return rc == 0 ? 0 : -1;
}

static int chat_on_head(void *user, int status, const char *ctype, long retry_after)
{
	struct relay *x = user;
	(void)retry_after;
	relay_head(x, status);
	if (status >= 200 && status < 300 && x->client_stream && !strncasecmp(ctype, "text/event-stream", 17))
		x->mode = RELAY_STREAM;
	return 0;
}

/* Does this event's JSON hold a "usage" object (not null)? A quick look at
 * what follows each "usage" key, without scanning the event as JSON. */
static int carries_usage(const char *d, size_t n)
{
	const char *end = d + n;
	for (const char *u = memmem(d, n, "\"usage\"", 7); u; u = memmem(u + 7, (size_t)(end - u - 7), "\"usage\"", 7)) {
		const char *p = u + 7;
		while (p < end && (*p == ' ' || *p == ':' || *p == '\t'))
			p++;
		if (p < end && *p == '{')
			return 1;
		if (end - u <= 7)
			break;
	}
	return 0;
}

/* One OpenAI-form event to the client, in the client's dialect (the taps
 * see it first): sse its text, json the data in it, obj its object when
 * there is one (NULL: the Anthropic encoder parses json); forward 0: to
 * the taps alone. (Plain arguments, not a struct chunk: an OpenAI client's
 * event, the hot path, is written as it came, with nothing built.) */
static inline int to_client(struct relay *x, const char *sse, size_t sse_len, const char *json, size_t json_len,
			    const cJSON *obj, int forward)
{
	if (filter_has_taps())
		filter_tap_data(&x->fc, json, json_len);
	if (!forward)
		return 0;
	struct chat_front *f = x->front;
	if (f->rs) {   /* after an upstream error event (response.failed) the rest is dropped */
		if (responses_stream_feed(f->rs, obj, json, json_len) == 1 && f->keep && !f->kept) {
			char *resp = responses_stream_result(f->rs);
			f->keep->fn(f->keep->ctx, resp);
			free(resp);
			f->kept = 1;
		}
		return responses_out(x, f->rs);
	}
	if (x->client == DIALECT_OPENAI)
		return http_write(x->r, sse, sse_len) == 0 ? 0 : -1;
	buf_reset(&x->cout);
	if (x->client == DIALECT_GEMINI) {
		gemini_in_stream_feed(f->gs, obj, json, json_len, &x->cout);
		return !x->cout.len || http_write(x->r, x->cout.data, x->cout.len) == 0 ? 0 : -1;
	}
	struct chunk c = { .obj = obj, .sse = sse, .sse_len = sse_len, .json = json, .json_len = json_len };
	anthropic_from_oai_chunk(&x->o2a, &c, &x->cout);
	return http_write(x->r, x->cout.data, x->cout.len) == 0 ? 0 : -1;
}

/* One OpenAI-format event from an OpenAI upstream, on its way to the
 * client. */
static int oai_event(const struct sse_event *ev, void *user)
{
	struct relay *x = user;
	int forward = 1;
	x->events++;
	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
		x->saw_done = 1;
		relay_record(x, 200);
	} else if (ev->data_len && carries_usage(ev->data, ev->data_len)) {
		/* only the events that carry usage (every OpenAI chunk may say
		 * "usage":null) are looked at, and never parsed whole */
		if (x->up == DIALECT_OPENAI)
			usage_from_text(ev->data, ev->data_len, &x->usage);
		size_t vs, ve;
		if (!x->client_usage && jscan_member(ev->data, ev->data_len, "choices", &vs, &ve) == 1) {
			size_t i = vs + 1;
			while (i < ve && (ev->data[i] == ' ' || ev->data[i] == '\n'))
				i++;
			if (ev->data[vs] == '[' && i < ve && ev->data[i] == ']')
				forward = 0;   /* the usage-only chunk the client did not ask for */
		}
	}
	if (!ev->data_len)   /* a comment or keep-alive: every SSE client ignores it,
			      * and writing it tells whether the client is still there */
		return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	return to_client(x, ev->raw, ev->raw_len, ev->data, ev->data_len, NULL, forward);
}

/* One event of a translated stream, handed on by the translator as it
 * is made (chunk.h): its flags say what oai_event finds out by looking.
 * An event over BUF_CAP_SSE_EVENT stops the stream, as the SSE parser's
 * cap would. */
static int chat_chunk(const struct chunk *c, void *user)
{
	struct relay *x = user;
	if (c->sse_len > BUF_CAP_SSE_EVENT)
		return -1;
	x->events++;
	if (c->flags & CHUNK_DONE) {
		x->saw_done = 1;
		relay_record(x, 200);
	}
	return to_client(x, c->sse, c->sse_len, c->json, c->json_len, c->obj,
			 !(c->flags & CHUNK_USAGE) || x->client_usage);
}

/* One event of a Gemini upstream for a Gemini client: as it came (an
 * element of the JSON array for an array stream); recorded at the chunk
 * with the finishReason (Gemini's last). */
static int gemini_native_event(struct relay *x, const struct sse_event *ev)
{
	struct chat_front *f = x->front;
	if (!ev->data_len)   /* a comment */
		return f->g->array ? 0 : http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	x->events++;
	if (x->dops->usage_from_event(&x->ds, ev, &x->usage)) {
		x->saw_done = 1;
		relay_record(x, 200);
	}
	if (!f->g->array)
		return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	buf_reset(&x->cout);
	gemini_in_stream_native(f->gs, ev->data, ev->data_len, &x->cout);
	return http_write(x->r, x->cout.data, x->cout.len) == 0 ? 0 : -1;
}

/* One event from the upstream, in its own dialect. */
static int up_event(const struct sse_event *ev, void *user)
{
	struct relay *x = user;
	const struct dialect_ops *d = x->dops;
	if (!d->stream_feed)
		return oai_event(ev, x);
	if (!x->passthrough && d->keepalive_event && !strcmp(ev->event, d->keepalive_event))
		/* a keep-alive: passed on as an SSE comment, which also finds
		 * out whether the client is still there; not to a Gemini
		 * client, whose SDK takes nothing but events */
		return x->client == DIALECT_GEMINI || http_write(x->r, ": ping\n\n", 8) == 0 ? 0 : -1;
	if (x->passthrough && x->client == DIALECT_GEMINI)
		return gemini_native_event(x, ev);
	if (x->passthrough) {   /* Anthropic to Anthropic: the event as it came */
		x->events++;
		d->usage_from_event(&x->ds, ev, &x->usage);
		if (!strcmp(ev->event, "message_stop") ||
		    (ev->data_len && memmem(ev->data, ev->data_len, "\"message_stop\"", 14))) {
			x->saw_done = 1;
			relay_record(x, 200);
		}
		return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	}
	struct chunk_sink k = { .buf = &x->tx, .fn = chat_chunk, .user = x };
	d->stream_feed(&x->ds, ev, &k, &x->usage);
	return k.stopped ? -1 : 0;
}

static int chat_on_data(void *user, const char *p, size_t n)
{
	struct relay *x = user;
	const struct chat_front *f = x->front;
	return relay_data(x, p, n, f->g && f->g->array ? "application/json; charset=utf-8" : "text/event-stream; charset=utf-8",
			  up_event);
}

/* What target t is sent (relay_ops.prepare): the request in its
 * dialect; -1 with a reason in err when that dialect cannot carry it. */
static int chat_prepare(struct relay *x, const struct route_target *t, struct relay_send *s, char *err, size_t errlen)
{
	struct chat_front *f = x->front;
	char *body;
	x->passthrough = (x->client == DIALECT_ANTHROPIC && x->up == DIALECT_ANTHROPIC && f->areq) ||
			 (x->client == DIALECT_GEMINI && x->up == DIALECT_GEMINI && !f->filtered);
	char path[MODEL_NAME_MAX + 64];
	if (dialect_chat_path(x->dops, path, sizeof(path), t->model, x->client_stream, err, errlen) != 0)
		return -1;
	if (x->passthrough && x->client == DIALECT_GEMINI) {   /* Gemini to Gemini: the client's bytes (the model is in the URL) */
		body = xstrndup(x->r->body.data, x->r->body.len);
	} else if (x->passthrough) {   /* Anthropic to Anthropic: the client's request and headers, but its model */
		body = reqbody_forward(f->areq, NULL, 0, t->model, 0);
		if (!f->ah)   /* its own allocation: 1 KB only this case needs */
			f->ah = xmalloc(sizeof(*f->ah));
		f->hdrs[api_anthropic_headers(x->r, f->ah, 1, f->hdrs, 0)] = NULL;
		s->headers = f->hdrs;
	} else
		body = x->dops->chat_request(f->req, x->raw_body_ok ? x->r->body.data : NULL, x->r->body.len, t->model,
					     x->client_stream, err, errlen);
	if (!body)
		return -1;
	s->url = xstrcat2(t->prov->base_url, path);
	s->owned = body;
	s->body = body;
	s->body_len = strlen(body);
	s->accept = x->client_stream ? "text/event-stream" : "application/json";
	return 0;
}

/* Pass an upstream 4xx to the client, scrubbed, in the client's dialect. */
static void chat_client_error(struct relay *x)
{
	char extra[RELAY_EXTRA_HDR_MAX];
	relay_answer_headers(x, NULL, extra, sizeof(extra));
	relay_record(x, x->status);
	if (x->passthrough && !x->body_truncated) {
		char *raw = relay_scrubbed_body(buf_str(&x->body), x->body.len);
		http_respond(x->r, x->status, "application/json", extra, raw, strlen(raw));
		free(raw);
		return;
	}
	char *oai = relay_error_as_oai(x);
	char *body = relay_scrubbed_body(oai, strlen(oai));
	free(oai);
	cJSON *j = cJSON_Parse(body);
	const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	if (cJSON_IsObject(e) && !x->body_truncated) {
		if (x->client == DIALECT_GEMINI) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
			char *gb = gemini_error_json(x->status, cJSON_IsString(m) ? m->valuestring : "upstream error");
			http_respond(x->r, x->status, "application/json", extra, gb, strlen(gb));
			free(gb);
		} else if (x->client == DIALECT_ANTHROPIC) {
			char *ab = anthropic_error_from_oai(body, strlen(body), x->status);
			http_respond(x->r, x->status, "application/json", extra, ab, strlen(ab));
			free(ab);
		} else {
			http_respond(x->r, x->status, "application/json", extra, body, strlen(body));
		}
	} else {
		const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
		oai_error(x->r, x->status, NULL, "upstream_error", NULL, NULL, "upstream %s answered HTTP %d: %.300s",
			  x->provider, x->status, cJSON_IsString(m) ? m->valuestring : body);
	}
	cJSON_Delete(j);
	free(body);
}


/* Answer from the cache if it holds the request; 1 if it did. */
static int serve_from_cache(struct cache *cache, struct relay *x, const char *ckey, const char *provider)
{
	size_t len;
	long age;
	char *body = cache_get(cache, ckey, &len, &age);
	if (!body)
		return 0;
	int served = 0;
	char first[96], extra[RELAY_EXTRA_HDR_MAX];
	x->provider = provider;
	x->cache_state = "hit";
	if (x->client_stream) {
		struct buf sse;
		buf_init(&sse, BUF_CAP_DEFAULT * 32);
		if (cache_to_sse(body, len, x->client_usage, &sse) == 0) {
			x->cache_hit = 1;
			relay_record(x, 200);
			snprintf(first, sizeof(first), "Cache-Control: no-cache\r\nAge: %ld\r\n", age);
			relay_answer_headers(x, first, extra, sizeof(extra));
			http_begin(x->r, 200, "text/event-stream; charset=utf-8", extra);
			http_write(x->r, sse.data, sse.len);
			http_flush(x->r);
			served = 1;
		}
		buf_free(&sse);
	} else {
		x->cache_hit = 1;
		relay_record(x, 200);
		snprintf(first, sizeof(first), "Age: %ld\r\n", age);
		relay_answer_headers(x, first, extra, sizeof(extra));
		http_respond(x->r, 200, "application/json", extra, body, len);
		served = 1;
	}
	if (!served)
		x->cache_state = "miss";
	free(body);
	return served;
}


/* The 2xx body of a buffered answer, in OpenAI's format (new string), with
 * usage read; NULL if it is not a valid answer. */
static char *success_as_oai(struct relay *x)
{
	char err[256];
	const char *b = buf_str(&x->body);
	if (x->dops->response_to_oai)
		return x->dops->response_to_oai(b, x->body.len, x->requested, &x->usage, err, sizeof(err));
	/* OpenAI's format goes to the client as it came: a cheap check that it
	 * is an object at all (not an HTML error page), and usage read alone */
	if (!jscan_is_object(b, x->body.len))
		return NULL;
	usage_from_text(b, x->body.len, &x->usage);
	return xstrdup(b);
}

/* End a stream that reached the client: the closing events a translated
 * stream still owes, or an error event when it was cut short. */
static void finish_stream(struct relay *x, int ok)
{
	if (ok && x->dops->stream_finish && !x->saw_done && !x->passthrough) {
		struct chunk_sink k = { .buf = &x->tx, .fn = chat_chunk, .user = x };
		x->dops->stream_finish(&x->ds, &k);
	}
	if (x->r->client_gone)
		return;
	struct chat_front *f = x->front;
	if (x->client == DIALECT_GEMINI) {
		static const char cut[] = "The upstream stream ended before it was complete.";
		buf_reset(&x->cout);
		if ((x->passthrough ? gemini_in_stream_native_end(f->gs, x->saw_done, cut, &x->cout)
				    : gemini_in_stream_finish(f->gs, cut, &x->cout)) < 0)
			log_warn("%s upstream %s stream ended early", x->req_id, x->provider);
		http_write(x->r, x->cout.data, x->cout.len);
		http_flush(x->r);
		return;
	}
	if (f->rs) {
		if (responses_stream_finish(f->rs, "The upstream stream ended before it was complete.") < 0)
			log_warn("%s upstream %s stream ended early", x->req_id, x->provider);
		responses_out(x, f->rs);
		http_flush(x->r);
		return;
	}
	if (x->client == DIALECT_ANTHROPIC && !x->passthrough) {
		buf_reset(&x->cout);
		anthropic_from_oai_finish(&x->o2a, &x->cout);
		http_write(x->r, x->cout.data, x->cout.len);
		http_flush(x->r);
		return;
	}
	if (!x->saw_done) {
		log_warn("%s upstream %s stream ended early", x->req_id, x->provider);
		oai_error(x->r, 502, "upstream_error", "stream_interrupted", NULL, NULL,
			  "The upstream stream ended before it was complete.");
	}
}


/* The attempt's stream reached the client and ended (relay_ops.streamed). */
static void chat_streamed(struct relay *x, const struct route_target *t, const struct upstream_call *uc, int ok)
{
	if (!ok && !x->r->client_gone)
		log_warn("%s upstream %s stream %s: %s", x->req_id, t->prov->name,
			 upstream_gateway_limit(uc) ? "ended by the gateway's limit" : "failed",
			 uc->timeout == UPSTREAM_TIMEOUT_IDLE ? "idle timeout" : uc->errmsg);
	finish_stream(x, ok);
}

/* No target can carry the request (relay_ops.unsendable). */
static void chat_unsendable(struct relay *x, const struct route_target *t, const char *err)
{
	oai_error(x->r, 400, "invalid_request_error", "unsupported_request", NULL, NULL,
		  "This request cannot be sent to %s: %s", t->prov->name, err);
	relay_record(x, 400);
}

/* A buffered 2xx is an answer when it translates (relay_ops.check). */
static int chat_check(struct relay *x)
{
	struct chat_front *f = x->front;
	if (x->status >= 400)
		return 0;
	f->oai = success_as_oai(x);
	return f->oai ? 0 : -1;
}

/* A buffered answer, in the client's dialect (relay_ops.answer). */
static void chat_answer(struct relay *x)
{
	struct chat_front *f = x->front;
	if (x->status >= 400) {
		chat_client_error(x);
		return;
	}
	char *oai = f->oai, *out = oai;
	f->oai = NULL;
	if (filter_has_taps())
		filter_tap_data(&x->fc, oai, strlen(oai));
	if (x->passthrough) {
		out = xstrdup(buf_str(&x->body));
	} else if (x->client == DIALECT_ANTHROPIC) {
		char e2[128];
		out = anthropic_response_from_oai(oai, strlen(oai), x->requested, NULL, e2, sizeof(e2));
		if (!out)
			out = anthropic_error_json("api_error", "the upstream answer could not be translated");
	} else if (x->client == DIALECT_GEMINI) {
		char e2[128];
		out = gemini_in_response_from_oai(oai, strlen(oai), x->requested, f->g->thoughts, e2, sizeof(e2));
		if (!out)
			out = gemini_error_json(502, "the upstream answer could not be translated");
	} else if (f->responses) {
		char e2[128];
		out = responses_from_oai_answer(oai, strlen(oai), x->requested, f->kinds, e2, sizeof(e2));
		if (out && f->file_search)
			out = responses_answer_file_search(out, f->file_search);
		if (out && f->keep)
			f->keep->fn(f->keep->ctx, out);
		if (!out)
			out = xstrdup("{\"error\":{\"message\":\"the upstream answer could not be translated\","
				      "\"type\":\"server_error\",\"param\":null,\"code\":null}}");
	}
	char extra[RELAY_EXTRA_HDR_MAX];
	relay_answer_headers(x, NULL, extra, sizeof(extra));
	relay_record(x, 200);
	http_respond(x->r, 200, "application/json", extra, out, strlen(out));
	if (f->cache_store)
		cache_put(f->cache, f->ckey, oai, strlen(oai));
	if (out != oai)
		free(out);
	free(oai);
}

/* No attempt reached the client (relay_ops.fail; recorded). */
static void chat_fail(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms)
{
	struct http_req *r = x->r;
	char extra[64];
	long ra_s = relay_retry_after_s(retry_ms);
	snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", ra_s);
	switch (fail) {
	case FAIL_COOLING:
	case FAIL_RATE_LIMITED:
		oai_error(r, 429, "rate_limit_error", "upstream_rate_limited", NULL, extra,
			  "Every upstream key for model '%.100s' is rate limited; retry after %ld s.%s%s",
			  x->requested, ra_s, detail[0] ? " Last: " : "", detail);
		break;
	case FAIL_TIMEOUT:
		oai_error(r, 504, "upstream_error", "upstream_timeout", NULL, NULL,
			  "The upstream did not answer in time (%s).", detail);
		break;
	case FAIL_DEADLINE:
		oai_error(r, 504, "upstream_error", "upstream_timeout", NULL, NULL,
			  "The upstream answer did not complete within this gateway's limit (%s).", detail);
		break;
	case FAIL_AUTH:
		oai_error(r, 502, "upstream_error", "upstream_auth_failed", NULL, NULL,
			  "No upstream key was accepted (%s).", detail);
		break;
	case FAIL_UPSTREAM:
	case FAIL_CLIENT_GONE:   /* not met: relay_run answers nobody then */
		oai_error(r, 502, "upstream_error", "upstream_error", NULL, NULL,
			  "The upstream failed after %d attempt%s (%s).", attempts, attempts == 1 ? "" : "s", detail);
		break;
	case FAIL_NONE:
		oai_error(r, 503, "upstream_error", "no_upstream_key", NULL, NULL,
			  "No upstream key is available for model '%.100s' (all blocked).", x->requested);
		break;
	}
}

static const struct relay_ops chat_ops = {
	.prepare = chat_prepare, .unsendable = chat_unsendable,
	.on_head = chat_on_head, .on_data = chat_on_data,
	.streamed = chat_streamed, .check = chat_check, .answer = chat_answer, .fail = chat_fail,
};

/* The response cache's part: its key, whether the answer may be stored,
 * and the answer when it holds one; 1 if it answered. */
static int chat_cache(struct relay *x, const struct route *rt)
{
	struct chat_front *f = x->front;
	struct http_req *r = x->r;
	const char *cc = http_header(r, "Cache-Control");
	const char *lc = http_header(r, "X-Llmgate-Cache");
	int no_read = (cc && (strstr(cc, "no-cache") || strstr(cc, "no-store"))) || (lc && !strcmp(lc, "bypass"));
	int no_write = (cc && strstr(cc, "no-store")) || (lc && !strcmp(lc, "bypass"));
	cache_key(f->req, rt->t[0].prov->name, rt->t[0].model, x->c->cache_per_key ? x->who->id : "", f->ckey);
	x->cache_state = no_read ? "bypass" : "miss";
	f->cache_store = !no_write && !x->client_stream;
	x->used_provider = rt->t[0].prov->name;
	x->used_model = rt->t[0].model;
	return !no_read && serve_from_cache(f->cache, x, f->ckey, rt->t[0].prov->name);
}

/* The chat request's own checks: model, messages, stream; the client's
 * wishes into x. 0, or -1 after a 400. */
static int chat_read(struct relay *x, const cJSON *req)
{
	struct http_req *r = x->r;
	const char *model;
	if (api_request_model(r, req, &model) != 0)
		return -1;
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
		oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "messages", NULL,
			  "'messages' must be a non-empty array.");
		return -1;
	}
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(req, "stream");
	if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
		oai_error(r, 400, "invalid_request_error", "invalid_type", "stream", NULL, "'stream' must be a boolean.");
		return -1;
	}
	x->client_stream = cJSON_IsTrue(stream);
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
	x->client_usage = x->client == DIALECT_ANTHROPIC || x->client == DIALECT_GEMINI ||
			 (cJSON_IsObject(so) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage")));
	x->include_usage = x->client_usage;
	memcpy(x->requested, model, strlen(model) + 1);   /* fits: api_request_model */
	return 0;
}

/* The conversation the client names (X-Conversation-Id), begun in
 * x->fc.convo: its history goes in by the filter, its turn is kept by the
 * tap (convo.h), so the answer is not from the cache nor passed through
 * untranslated. 0, or -1 after a 400. */
static int chat_conversation(struct relay *x, struct chat_front *f)
{
	const char *id = http_header(x->r, "X-Conversation-Id");
	if (!id)
		return 0;
	if (!convo_id_ok(id)) {
		oai_error(x->r, 400, "invalid_request_error", "invalid_conversation_id", NULL, NULL,
			  "X-Conversation-Id must be 1 to %d printable ASCII characters, without a space at either end.",
			  CONVO_ID_MAX);
		return -1;
	}
	if (!x->c->conv_max_per_key) {
		oai_error(x->r, 400, "invalid_request_error", "conversations_off", NULL, NULL,
			  "This gateway keeps no conversations ([conversations] max_per_key is 0).");
		return -1;
	}
	x->fc.convo = convo_begin(id);
	f->cache = NULL;
	f->areq = NULL;
	return 0;
}

static void chat_run(const struct api_call *call, cJSON *req, cJSON *areq, enum dialect client, int responses,
		     const cJSON *kinds, const struct api_responses_keep *keep, const struct api_gemini_opts *g)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	/* The request's state on the heap, not the stack: a worker thread
	 * keeps the deepest stack it ever used resident, and a router may run
	 * hundreds of them. */
	struct chat_mem {
		struct relay x;
		struct route rt;
		struct chat_front f;
	} *mem = xmalloc(sizeof(*mem));
	struct relay *const x = &mem->x;
	struct route *const rt = &mem->rt;
	struct chat_front *const f = &mem->f;

	if (!responses && !call->internal && draw_wanted(c, req)) {
		free(mem);
		draw_run(call, req, client);
		return;
	}
	relay_init(x, &chat_ops, call->w, call->snap, r, call->who, call->req_id, client,
		   call->endpoint ? call->endpoint : client == DIALECT_ANTHROPIC ? "messages"
		   : client == DIALECT_GEMINI ? "generate_content" : responses ? "responses" : "chat", pool_now_ms(), 1);
	*f = (struct chat_front){ .req = req, .areq = areq, .responses = responses, .keep = keep, .kinds = kinds,
				  .g = g };
	f->cache = c->cache_enabled && client == DIALECT_OPENAI && !responses ?
		__atomic_load_n(&call->w->gw->cache, __ATOMIC_ACQUIRE) : NULL;
	x->front = f;
	if (chat_read(x, req) != 0 || chat_conversation(x, f) != 0)
		goto out;
	if (responses && x->client_stream) {
		f->rs = xmalloc(sizeof(*f->rs));   /* only a Responses stream needs it */
		responses_stream_init(f->rs, x->requested, kinds);
	}
	if (g) {   /* its own allocation: the other clients need none */
		f->gs = xmalloc(sizeof(*f->gs));
		gemini_in_stream_init(f->gs, x->requested, g->thoughts, g->array);
		x->ping_blank = 1;   /* Gemini's SDKs read nothing but events (white space aside) */
	}
	if (provider_resolve(c, x->requested, rt) != 0) {
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%.200s' does not exist or you do not have access to it.", x->requested);
		goto out;
	}
	if (relay_usage_space(x, DIALECT_OPENAI) != 0)
		goto out;
	if (client == DIALECT_ANTHROPIC)
		anthropic_from_oai_init(&x->o2a, x->requested);
	if (!relay_quota_admit(x, rt, 1))
		goto out;
	x->raw_body_ok = client == DIALECT_OPENAI && !responses && r->body.data;
	if (responses)
		x->fc.file_search = &f->file_search;
	int fr = filter_request(req, &x->fc);
	if (fr < 0) {   /* a filter answered (its error): recorded as refused */
		relay_record(x, r->status);
		goto out;
	}
	if (f->rs && f->file_search)
		responses_stream_file_search(f->rs, f->file_search);
	if (fr) {   /* the request as it stands is the tree now, for every upstream */
		x->raw_body_ok = 0;
		f->filtered = 1;
		f->areq = NULL;
	}
	if (f->cache && chat_cache(x, rt)) {
		relay_record(x, r->status);
		goto out;
	}
	relay_run(x, rt);
out:
	if (f->rs)
		responses_stream_free(f->rs);
	free(f->rs);
	free(f->ah);
	if (f->gs)
		gemini_in_stream_free(f->gs);
	free(f->gs);
	free(f->oai);
	cJSON_Delete(f->file_search);
	convo_free(x->fc.convo);
	relay_free(x);
	free(mem);
}

void api_chat_run(const struct api_call *call, cJSON *req, cJSON *areq, enum dialect client)
{
	chat_run(call, req, areq, client, 0, NULL, NULL, NULL);
}

void api_chat_run_gemini(const struct api_call *call, cJSON *req, const struct api_gemini_opts *g)
{
	chat_run(call, req, NULL, DIALECT_GEMINI, 0, NULL, NULL, g);
}

void api_chat_run_responses(const struct api_call *call, cJSON *req, const cJSON *kinds,
			    const struct api_responses_keep *keep)
{
	chat_run(call, req, NULL, DIALECT_OPENAI, 1, kinds, keep, NULL);
}

/* POST /v1/chat/completions */
void api_chat_handle(const struct api_call *call)
{
	cJSON *req = api_read_json_body(call->r, &call->snap->cfg);
	if (req)
		api_chat_run(call, req, NULL, DIALECT_OPENAI);
	cJSON_Delete(req);
}
