/* relay.c — the request engine: the one attempt loop (see relay.h). */
#include "autoconf.h"
#include "relay.h"
#include "durable.h"
#include "estimate.h"
#include "log.h"
#include "metrics.h"
#include "oai.h"
#include "streamcap.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pool *pool_of(struct runtime *snap, const struct provider_conf *p)
{
	return &snap->pools[p - snap->cfg.providers];
}

/* Write the usage record (spool, or kept in memory until it can be; quota
 * counters: it replaces the request's reservation) and the access log line. */
static void record_usage(struct gateway *gw, const struct auth_entry *who, const struct usage_record *rec,
			 int held, struct quota_hold *hold)
{
	char seg[SPOOL_NAME_MAX];
	durable_record(gw, rec, held, seg);
	quota_record(&gw->quota, who, rec->ts_ms, usage_total(&rec->u), rec->cost, seg, hold);
	log_info("%s key=%s %s model=%s provider=%s upkey=%s status=%d stream=%d prompt=%ld completion=%ld "
		 "cached=%ld reasoning=%ld%s cost=%.6f client_gone=%d ttfb=%ld ms=%ld",
		 rec->id, rec->key_id, rec->endpoint, rec->model, rec->provider, rec->upstream_key, rec->status,
		 rec->stream, rec->u.prompt, rec->u.completion, rec->u.cached, rec->u.reasoning,
		 rec->estimated ? " estimated" : "", rec->cost, rec->client_gone, rec->ttfb_ms, rec->total_ms);
}

/* ms from an attempt's start to its first byte: at least 1 when one came
 * (within the first millisecond on a local upstream), 0 when none did. */
static long first_byte_ms(const struct upstream_call *uc)
{
	if (!uc->t_first_byte_ms)
		return 0;
	long ms = (long)(uc->t_first_byte_ms - uc->t_start_ms);
	return ms > 0 ? ms : 1;
}

void relay_record(struct relay *x, int status)
{
	if (x->recorded)
		return;
	x->recorded = 1;
	x->r->recorded = 1;
	/* a stream is recorded when it ends, inside its attempt */
	if (!x->ttfb_ms && x->call)
		x->ttfb_ms = first_byte_ms(x->call);
	struct usage_record rec = {
		.ts_ms = x->t0, .key_id = x->who->id, .key_name = x->who->name, .provider = x->used_provider,
		.upstream_key = x->used_key, .model = x->requested, .upstream_model = x->used_model,
		.endpoint = x->endpoint, .u = x->usage, .currency = x->c->currency, .ttfb_ms = x->ttfb_ms,
		.total_ms = (long)(pool_now_ms() - x->t0), .status = status, .stream = x->client_stream,
		.client_gone = x->r->client_gone, .cache_hit = x->cache_hit,
	};
	char why[300];
	snprintf(rec.id, sizeof(rec.id), "%s", x->req_id);
	if (status >= 400) {
		/* in plain words, and never a key an upstream echoed */
		if (x->fail_detail && *x->fail_detail) {
			snprintf(why, sizeof(why), "%s", x->fail_detail);
		} else if (x->r->reason[0]) {
			snprintf(why, sizeof(why), "%s", x->r->reason);
		} else if (x->body.len && x->used_provider) {
			/* the upstream's own refusal, passed on to the client */
			char m[220];
			snprintf(why, sizeof(why), "upstream %s answered HTTP %d: %s", x->used_provider, status,
				 dialect_error_message(x->dops, status, buf_str(&x->body), x->body.len, m, sizeof(m)));
		} else {
			why[0] = '\0';
		}
		log_scrub(why);
		rec.error = why;
	}
	if (x->cache_hit || x->uncharged) {
		/* nothing was spent upstream, or nothing billable (counting tokens) */
		memset(&rec.u, 0, sizeof(rec.u));
	} else if (!x->usage.reported && status == 200) {
		/* no usage from the upstream (a cut stream): estimate, and say so */
		rec.estimated = 1;
		rec.u.prompt = (long)(x->r->body.len / 4);
		rec.u.completion = x->client_stream ? (x->events > 1 ? (long)x->events - 1 : 0) : (long)(x->body.len / 4);
	}
	rec.cost = usage_cost(&rec.u, config_price(x->c, x->used_model, x->requested));
	record_usage(x->gw, x->who, &rec, x->held, &x->hold);
	x->held = 0;
	if (filter_has_taps()) {
		x->fc.rec = &rec;
		filter_tap_end(&x->fc, status, &rec.u);
		x->fc.rec = NULL;
	}
}

/* Refuse the request before anything is held or sent upstream: 503 with
 * Retry-After in the client's dialect (native: the provider's shape on a
 * passthrough), nothing recorded (nothing was spent). */
static void refuse_503(struct relay *x, enum dialect native, const char *code, const char *msg)
{
	x->recorded = 1;
	if (native == DIALECT_GEMINI) {
		char *b = gemini_error_json(503, msg);
		snprintf(x->r->reason, sizeof(x->r->reason), "%s", code);
		http_respond(x->r, 503, "application/json", "Retry-After: 5\r\n", b, strlen(b));
		free(b);
		return;
	}
	if (native == DIALECT_ANTHROPIC)
		x->r->anthropic_errors = 1;
	oai_error(x->r, 503, NULL, code, NULL, "Retry-After: 5\r\n", "%s", msg);
}

int relay_usage_space(struct relay *x, enum dialect native)
{
	const char *why;
	if (x->client_stream && !x->stream_place) {
		if (!streamcap_take(x->c->max_streams)) {
			log_debug("%s refused: %d streams open", x->req_id, x->c->max_streams);
			refuse_503(x, native, "too_many_streams",
				   "The gateway holds as many open streams as it is configured for; retry later.");
			return -1;
		}
		x->stream_place = 1;
	}
	if (durable_admit(x->gw, x->c, &why) == 0) {
		x->held = 1;
		return 0;
	}
	log_debug("%s refused: %s", x->req_id, why);
	char msg[300];
	snprintf(msg, sizeof(msg),
		 "The gateway cannot record usage right now (%s), so the request was not sent upstream. Retry later.", why);
	refuse_503(x, native, "usage_store_unavailable", msg);
	return -1;
}

void relay_answer_headers(const struct relay *x, const char *first, char *out, size_t n)
{
	int len = snprintf(out, n, "%sX-Llmgate-Provider: %s\r\n", first ? first : "", x->provider);
	if (x->cache_state && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, "X-Llmgate-Cache: %s\r\n", x->cache_state);
}


char *relay_error_as_oai(struct relay *x)
{
	const char *b = buf_str(&x->body);
	if (x->dops->error_to_oai)
		return x->dops->error_to_oai(b, x->body.len, x->status);
	return xstrdup(b);
}

static void scrub_tree(cJSON *j)
{
	for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring) {
			log_scrub(c->valuestring);
		} else {
			scrub_tree(c);
		}
	}
}

char *relay_scrubbed_body(const char *b, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(b, n);
	char *out;
	if (j) {
		scrub_tree(j);
		out = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	} else {
		out = xstrndup(b, n);
	}
	log_scrub(out);
	return out;
}


static const char *upstream_message(struct relay *x, char *out, size_t outlen)
{
	return dialect_error_message(x->dops, x->status, buf_str(&x->body), x->body.len, out, outlen);
}




/* The next key of a target's pool to try, or -1 when none is left; when
 * all that are left are cooling down, *fail and *retry_ms say so. */
static int next_key(struct pool *pool, struct pool_tried *tried, enum fail_kind *fail, int64_t *retry_ms)
{
	int64_t wait = 0;
	int ki = pool_pick(pool, tried, pool_now_ms(), &wait);
	if (ki < 0 && wait > 0 && (*fail == FAIL_NONE || *fail == FAIL_COOLING || *fail == FAIL_RATE_LIMITED)) {
		*fail = *fail == FAIL_NONE ? FAIL_COOLING : *fail;
		if (!*retry_ms || wait < *retry_ms)
			*retry_ms = wait;
	}
	return ki;
}

/* A new attempt with key ki of target t: what the last one left is reset,
 * and the translator of the upstream's dialect is started. */
static void attempt_begin(struct relay *x, const struct route_target *t, struct pool *pool, int ki,
			  int include_usage)
{
	x->provider = t->prov->name;
	x->used_provider = t->prov->name;
	x->used_key = pool->keys[ki].id;
	x->used_model = t->model;
	x->mode = RELAY_BUFFER;
	x->status = 0;
	x->saw_done = 0;
	x->events = 0;
	buf_reset(&x->body);
	sse_reset(&x->sse);
	memset(&x->usage, 0, sizeof(x->usage));
	if (x->dops->stream_init)
		x->dops->stream_init(&x->ds, x->requested, include_usage);
}

/* An attempt that did not reach the client: 1 when it failed in a way
 * another key or target may not (transport error or timeout, 429, a
 * refused key, 5xx/408): the key's pool learns of it, and *fail, *retry_ms
 * and detail say what happened. 0: the answer is for the client. */
static int attempt_failed(struct relay *x, const struct upstream_call *uc, int ok, const struct route_target *t,
			  struct pool *pool, int ki, int attempt, int64_t now, enum fail_kind *fail,
			  int64_t *retry_ms, char *detail, size_t dl)
{
	const struct config *c = x->c;
	const char *name = t->prov->name, *key = pool->keys[ki].id;
	char m[220];
	if (!ok && x->r->client_gone) {
		*fail = FAIL_CLIENT_GONE;
		snprintf(detail, dl, "the client went away while upstream %s had not answered", name);
		log_info("%s attempt %d on %s key %s stopped: %s", x->req_id, attempt, name, key, detail);
		return 1;
	}
	if (!ok && upstream_gateway_limit(uc)) {
		/* the upstream was answering, only too slowly or too long: not the
		 * key's fault, and another try would make the client wait as long
		 * again */
		*fail = FAIL_DEADLINE;
		metrics_upstream_failure(name, "deadline");
		snprintf(detail, dl, "upstream %s: %s", name, uc->errmsg);
		log_warn("%s attempt %d on %s key %s ended by the gateway's limit: %s", x->req_id, attempt, name, key,
			 detail);
		return 1;
	}
	if (!ok) {
		*fail = uc->timeout != UPSTREAM_TIMEOUT_NONE || uc->err == UPSTREAM_ERR_TIMEOUT ? FAIL_TIMEOUT
												     : FAIL_UPSTREAM;
		metrics_upstream_failure(name, *fail == FAIL_TIMEOUT ? "timeout" : "transfer");
		if (uc->status >= 200 && uc->status < 300 && uc->aborted)
			snprintf(detail, dl, "upstream %s response larger than %zu bytes", name, c->max_response);
		else
			snprintf(detail, dl, "upstream %s: %s", name,
				 uc->timeout == UPSTREAM_TIMEOUT_FIRST_BYTE ? "no response in time" :
				 uc->timeout == UPSTREAM_TIMEOUT_IDLE ? "response stalled" :
				 uc->errmsg[0] ? uc->errmsg : "transfer failed");
		pool_report(pool, ki, POOL_FAILED, -1, c, now);
		log_warn("%s attempt %d on %s key %s failed: %s", x->req_id, attempt, name, key, detail);
		return 1;
	}
	if (uc->status == 429) {
		long ra = uc->retry_after_s;
		if (ra < 0 && x->dops->retry_after)
			ra = x->dops->retry_after(buf_str(&x->body), x->body.len);
		pool_report(pool, ki, POOL_RATE_LIMITED, ra, c, now);
		*fail = FAIL_RATE_LIMITED;
		metrics_upstream_failure(name, "rate_limited");
		if (ra < 0)
			ra = c->cooldown_s;
		if (!*retry_ms || ra * 1000 < *retry_ms)
			*retry_ms = ra * 1000;
		snprintf(detail, dl, "upstream %s rate limited: %s", name, upstream_message(x, m, sizeof(m)));
		log_info("%s key %s of %s answered 429; cooling down", x->req_id, key, name);
		return 1;
	}
	if (uc->status == 401 || uc->status == 403 ||
	    (x->dops->key_invalid && x->dops->key_invalid(uc->status, buf_str(&x->body), x->body.len))) {
		pool_report(pool, ki, POOL_AUTH_FAILED, -1, c, now);
		*fail = FAIL_AUTH;
		metrics_upstream_failure(name, "auth");
		snprintf(detail, dl, "upstream %s refused its key (HTTP %d)", name, uc->status);
		log_warn("%s key %s of %s refused by upstream (HTTP %d); blocked", x->req_id, key, name, uc->status);
		return 1;
	}
	if (uc->status >= 500 || uc->status == 408 || uc->status < 200) {
		pool_report(pool, ki, POOL_FAILED, -1, c, now);
		*fail = FAIL_UPSTREAM;
		metrics_upstream_failure(name, "server_error");
		snprintf(detail, dl, "upstream %s answered HTTP %d: %s", name, uc->status,
			 upstream_message(x, m, sizeof(m)));
		log_warn("%s attempt %d: %s", x->req_id, attempt, detail);
		return 1;
	}
	return 0;
}

/* The dearest price among a route's targets (a reservation must cover
 * whichever of them answers), or NULL when none has one. */
static const struct price_conf *dearest_price(const struct config *c, const struct route *rt, const char *requested)
{
	const struct price_conf *best = NULL;
	for (size_t i = 0; i < rt->n; i++) {
		const struct price_conf *p = config_price(c, rt->t[i].model, requested);
		if (p && (!best || p->input + p->output > best->input + best->output))
			best = p;
	}
	return best;
}

int relay_quota_admit(struct relay *x, const struct route *rt, int output)
{
	struct quota_ask ask = { 0, 0 };
	struct quota_refusal why;
	if (quota_has_limits(x->who) && !x->uncharged)
		estimate_ask(x->r->body.data, x->r->body.len, output, x->c->default_max_tokens,
			     dearest_price(x->c, rt, x->requested), &ask);
	enum quota_verdict qv = x->uncharged ? quota_check_model(x->who, x->requested, &why) :
		quota_check(&x->gw->quota, x->who, x->requested, &ask, x->t0, &why, &x->hold);
	if (qv == QUOTA_OK)
		return 1;
	char extra[64] = "";
	if (why.retry_after_s > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", why.retry_after_s);
	relay_record(x, (int)qv);
	oai_error(x->r, (int)qv, qv == QUOTA_MODEL ? "permission_error" : qv == QUOTA_UNAVAILABLE ? "api_error" :
		  "rate_limit_error", why.code, qv == QUOTA_MODEL ? "model" : NULL, extra[0] ? extra : NULL, "%s",
		  why.message);
	return 0;
}

void relay_init(struct relay *x, const struct relay_ops *ops, struct worker *w, struct runtime *snap,
		struct http_req *r, const struct auth_entry *who, const char *req_id, enum dialect client,
		const char *endpoint, int64_t t0, int translate)
{
	const struct config *c = &snap->cfg;
	memset(x, 0, sizeof(*x));
	buf_init(&x->body, c->max_response);
	buf_init(&x->tx, BUF_CAP_SSE_EVENT * 4);
	buf_init(&x->cout, translate ? BUF_CAP_SSE_EVENT * 4 : 0);
	sse_init(&x->sse, BUF_CAP_SSE_EVENT);
	x->ops = ops;
	x->conns = w->conns;
	x->perform = upstream_perform;
	x->snap = snap;
	x->r = r;
	x->req_id = req_id;
	x->client = client;
	x->dops = dialect_ops(DIALECT_OPENAI);
	x->gw = w->gw;
	x->c = c;
	x->who = who;
	x->t0 = t0;
	x->endpoint = endpoint;
	x->used_provider = "-";
	x->used_key = "-";
	x->used_model = "";
	x->fc = (struct filter_ctx){ .c = c, .who = who, .req_id = req_id, .model = x->requested, .w = w, .snap = snap,
				     .r = r };
}

void relay_free(struct relay *x)
{
	quota_release(&x->gw->quota, x->who, &x->hold);
	if (x->stream_place)
		streamcap_give();
	x->stream_place = 0;
	sse_free(&x->sse);
	buf_free(&x->body);
	buf_free(&x->tx);
	buf_free(&x->cout);
}

void relay_head(struct relay *x, int status)
{
	x->status = status;
	x->mode = RELAY_BUFFER;
	buf_reset(&x->body);
	x->body_truncated = 0;
}

int relay_data(struct relay *x, const char *p, size_t n, const char *ctype, sse_event_cb event)
{
	if (x->mode == RELAY_BUFFER) {
		if (buf_append(&x->body, p, n) != 0) {
			if (x->status >= 200 && x->status < 300)
				return -1;          /* a success body over the cap */
			x->body_truncated = 1;  /* error bodies: keep the head */
		}
		return 0;
	}
	if (!x->committed) {
		char extra[RELAY_EXTRA_HDR_MAX];
		relay_answer_headers(x, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", extra, sizeof(extra));
		http_begin(x->r, 200, ctype, extra);
		x->committed = 1;
	}
	if (sse_feed(&x->sse, p, n, event, x) != 0)
		return -1;
	return http_flush(x->r) == 0 ? 0 : -1;
}

int relay_buffered_head(void *user, int status, const char *ctype, long retry_after)
{
	(void)ctype;
	(void)retry_after;
	relay_head(user, status);
	return 0;
}

int relay_buffered_data(void *user, const char *p, size_t n)
{
	return relay_data(user, p, n, "application/json", NULL);   /* buffered: no event is ever parsed */
}

int relay_fail_status(enum fail_kind fail)
{
	return fail == FAIL_CLIENT_GONE ? 499 : fail == FAIL_COOLING || fail == FAIL_RATE_LIMITED ? 429 :
	       fail == FAIL_TIMEOUT || fail == FAIL_DEADLINE ? 504 : fail == FAIL_NONE ? 503 : 502;
}

long relay_retry_after_s(int64_t retry_ms)
{
	long ra_s = (long)((retry_ms + 999) / 1000);
	return ra_s < 1 ? 1 : ra_s;
}

/* One attempt with key ki of target t: the call, as s says, with x's ops
 * as handlers. 1 when the call completed (no transport failure). */
/* The upstream of a stream that reached the client is silent (a model
 * thinking): an SSE comment, which every client ignores, keeps proxies and
 * load balancers with idle timeouts from cutting the stream, and finds out
 * whether the client is still there. Streams go to the client event by
 * event, so it falls between two events. */
static int relay_quiet(void *user)
{
	struct relay *x = user;
	if (!x->committed || x->mode == RELAY_BUFFER)
		return 0;
	static const char ping[] = ": keep-alive\n\n";
	const char *p = x->ping_blank ? "\r\n" : ping;
	return http_write(x->r, p, strlen(p)) == 0 && http_flush(x->r) == 0 ? 0 : -1;
}

/* Offered by the upstream call between two reads of a flowing answer,
 * and while it waits long for its upstream: a stream that reached its
 * client, or a request nothing was answered for yet, moves to the event
 * loop when the server offers one ([server] streams = events), freeing
 * its worker thread. From then on its attempts use connections of their
 * own, not the worker's. */
static int relay_park(void *user)
{
	struct relay *x = user;
	int streaming = x->committed && x->mode == RELAY_STREAM;
	if ((x->committed && !streaming) || !x->r->park || x->r->ev || !x->r->park(x->r))
		return 0;
	x->conns = NULL;
	return 1;
}

static int attempt_call(struct relay *x, struct pool *pool, int ki, const struct relay_send *s,
			struct upstream_call *uc)
{
	const struct config *c = x->c;
	char *auth = dialect_auth_line(x->dops, pool->keys[ki].secret);
	*uc = (struct upstream_call){
		.conns = x->conns, .url = s->url, .method = s->method, .auth_header = auth,
		.extra_headers = s->headers ? s->headers : x->dops->headers,
		.no_content_type = s->no_content_type,
		.body = s->body, .body_len = s->body_len,
		.accept = s->accept,
		.connect_timeout_ms = c->connect_timeout_ms,
		.first_byte_timeout_ms = c->first_byte_timeout_ms,
		.idle_timeout_ms = c->idle_timeout_ms,
		.head_timeout_ms = c->head_timeout_ms,
		.total_timeout_ms = c->total_timeout_ms,
		.stream_max_ms = c->stream_max_s * 1000,
		.stream_max_bytes = c->stream_max_bytes,
		.request_id = x->req_id,
		.on_head = x->ops->on_head, .on_data = x->ops->on_data, .user = x,
		.quiet_ms = c->stream_ping_s * 1000, .on_quiet = relay_quiet,
		.park = x->r->park ? relay_park : NULL,
	};
	x->call = uc;
	int ok = x->perform(uc) == 0;
	x->call = NULL;
	dialect_auth_free(auth);
	/* the status the handler saw in a whole response head */
	uc->status = x->status;
	x->ttfb_ms = first_byte_ms(uc);
	return ok;
}

/* The attempts on one target, while attempts are left: 1 when an answer
 * reached the client or trying on is pointless (FAIL_DEADLINE). */
static int relay_target(struct relay *x, const struct route_target *t, const struct relay_send *s, int *attempts,
			enum fail_kind *fail, int64_t *retry_ms, char *detail, size_t dl)
{
	const struct config *c = x->c;
	struct pool *pool = pool_of(x->snap, t->prov);
	struct pool_tried tried = { 0 };
	while (*attempts < c->max_attempts) {
		int ki = next_key(pool, &tried, fail, retry_ms);
		if (ki < 0)
			break;
		++*attempts;
		attempt_begin(x, t, pool, ki, x->include_usage);
		struct upstream_call uc;
		int ok = attempt_call(x, pool, ki, s, &uc);
		int64_t now = pool_now_ms();
		if (x->committed) {
			/* the answer reached the client: no retry whatever happens */
			pool_report(pool, ki, POOL_OK, -1, c, now);
			if (x->ops->streamed)
				x->ops->streamed(x, t, &uc, ok);
			*fail = FAIL_NONE;
			return 1;
		}
		if (attempt_failed(x, &uc, ok, t, pool, ki, *attempts, now, fail, retry_ms, detail, dl)) {
			if (*fail == FAIL_CLIENT_GONE)
				return 1;
			pool_note_error(pool, ki, detail, now);
			if (*fail == FAIL_DEADLINE)
				return 1;
			continue;
		}
		if (x->ops->check && x->ops->check(x) != 0) {
			pool_report(pool, ki, POOL_FAILED, -1, c, now);
			*fail = FAIL_UPSTREAM;
			metrics_upstream_failure(t->prov->name, "invalid_answer");
			snprintf(detail, dl, "upstream %s answered with a body that is not a valid answer", t->prov->name);
			pool_note_error(pool, ki, detail, now);
			log_warn("%s attempt %d: %s", x->req_id, *attempts, detail);
			continue;
		}
		/* an answer for the client, buffered */
		pool_report(pool, ki, POOL_OK, -1, c, now);
		x->ops->answer(x);
		x->committed = 1;
		*fail = FAIL_NONE;
		return 1;
	}
	return 0;
}

void relay_run(struct relay *x, const struct route *rt)
{
	char detail[300] = "";
	int attempts = 0;
	enum fail_kind fail = FAIL_NONE;
	int64_t retry_ms = 0;
	for (size_t ti = 0; ti < rt->n && attempts < x->c->max_attempts && !x->committed && fail != FAIL_DEADLINE &&
	     fail != FAIL_CLIENT_GONE; ti++) {
		const struct route_target *t = &rt->t[ti];
		struct relay_send s = { 0 };
		char err[256];
		x->up = t->prov->dialect;
		x->dops = dialect_ops(x->up);
		if (x->ops->prepare(x, t, &s, err, sizeof(err)) != 0) {
			free(s.url);
			free(s.owned);
			if (ti + 1 < rt->n)
				continue;
			x->ops->unsendable(x, t, err);
			x->committed = 1;
			break;
		}
		int done = relay_target(x, t, &s, &attempts, &fail, &retry_ms, detail, sizeof(detail));
		free(s.url);
		free(s.owned);
		if (done)
			break;
	}
	if (!x->committed) {
		x->fail_detail = detail;
		relay_record(x, relay_fail_status(fail));
		if (fail != FAIL_CLIENT_GONE)
			x->ops->fail(x, fail, attempts, detail, retry_ms);
	}
	/* what was not recorded before its answer ended: a stream cut short or
	 * left by its client */
	relay_record(x, x->r->status);
	x->fail_detail = NULL;   /* detail ends here */
}
