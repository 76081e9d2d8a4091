/* relay.h — the request engine. One routed request is tried on its route's
 * targets x keys (key pick, quota refusal, failure judgement, cool-down,
 * fallback to the next target, the final status), its answer goes to the
 * client and its usage is recorded; every route that goes upstream (chat,
 * /v1/messages, embeddings, images, passthrough) runs through relay_run,
 * the one attempt loop of the router. What differs per route is in struct
 * relay_ops, given by the front-end (api_*.c): what a target is sent, how
 * the answer is read as it arrives, what a buffered answer and a failure
 * look like to its client. */
#ifndef LLMGATE_RELAY_H
#define LLMGATE_RELAY_H
#include "anthropic.h"
#include "buf.h"
#include "dialect.h"
#include "filter.h"
#include "gateway.h"
#include "gemini.h"
#include "provider.h"
#include "sse.h"
#include "upstream.h"
#include "usage.h"

#define RELAY_EXTRA_HDR_MAX 512

enum relay_mode { RELAY_BUFFER = 0, RELAY_STREAM };

/* How the attempts so far failed. FAIL_DEADLINE: an answer that kept
 * coming past a limit of the gateway's own (upstream_gateway_limit): 504,
 * no retry, the key not blamed. */
/* FAIL_CLIENT_GONE: the client went away before any answer (a request
 * waiting on the event loop sees it at once): no more attempts, no key
 * blamed, nothing answered (ops->fail is not called), recorded as 499. */
enum fail_kind { FAIL_NONE = 0, FAIL_COOLING, FAIL_RATE_LIMITED, FAIL_AUTH, FAIL_TIMEOUT, FAIL_UPSTREAM, FAIL_DEADLINE,
		 FAIL_CLIENT_GONE };

struct relay_ops;

/* One request on its way through the relay. The front-end owns it
 * (relay_init/relay_free) and reads and writes its fields from its ops. */
struct relay {
	const struct relay_ops *ops;
	struct http_req *r;
	struct upstream_conns *conns;
	int (*perform)(struct upstream_call *uc);  /* upstream_perform (a test's fake) */
	struct runtime *snap;
	const char *provider;
	const char *req_id;
	enum dialect client;       /* OPENAI, ANTHROPIC or GEMINI (the chat front-ends) */
	enum dialect up;           /* this attempt's upstream */
	const struct dialect_ops *dops;  /* its ops */
	int passthrough;           /* Anthropic to Anthropic, Gemini to Gemini: bytes as they are */
	int ping_blank;            /* keep-alives as white space, not SSE comments (Gemini clients) */
	int client_stream;
	int client_usage;          /* forward the usage chunk (OpenAI side) */
	int include_usage;         /* the translators emit the usage chunk */
	enum relay_mode mode;
	int committed;             /* an answer went to the client: no more attempts */
	int status;
	struct buf body;           /* buffered body (non-stream or error) */
	int body_truncated;
	struct sse_parser sse;     /* upstream events */
	struct buf tx;             /* one translated OpenAI event (chunk_sink scratch) */
	struct buf cout;           /* events for an Anthropic client */
	struct dialect_stream ds;  /* the upstream's stream, to OpenAI form */
	struct anthropic_from_oai o2a;
	struct usage usage;
	int saw_done;
	unsigned events;
	const char *cache_state;   /* "hit", "miss", "bypass", or NULL (no cache) */
	char ctype[128];           /* the upstream's Content-Type (passthrough) */
	int raw_body_ok;           /* the client's JSON text is the request as it stands */
	void *front;               /* the front-end's own state */
	struct filter_ctx fc;      /* what filters and taps know of the request */
	/* for the usage record */
	struct gateway *gw;
	const struct config *c;
	const struct auth_entry *who;
	char requested[MODEL_NAME_MAX];
	const char *endpoint;
	const char *used_provider;
	const char *used_key;
	const char *used_model;
	int64_t t0;
	const char *fail_detail;   /* why no attempt answered (relay_run), for the usage record */
	long ttfb_ms;              /* to the upstream's first byte, >= 1; 0: none came */
	const struct upstream_call *call;  /* the attempt under way, or NULL */
	int cache_hit;
	int uncharged;             /* token counting: allow-list only, recorded with no tokens nor cost */
	int recorded;
	int held;                  /* space for the usage record is reserved */
	int stream_place;          /* one of [server] max_streams is taken (streamcap.h) */
	struct quota_hold hold;    /* the key's reservation while the request runs */
};

/* What one target is sent (filled by relay_ops.prepare). */
struct relay_send {
	char *url;                 /* whole URL (the relay frees it) */
	char *owned;               /* freed by the relay when the target is done */
	const char *body;          /* may be owned */
	size_t body_len;
	const char *method;        /* NULL: POST */
	const char *const *headers;  /* NULL: the dialect's (dialect_ops.headers) */
	int no_content_type;       /* headers carry Content-Type */
	const char *accept;
};

struct relay_ops {
	/* Fill s for target t (x->up and x->dops are t's dialect). 0, or -1
	 * with a reason in err: this target cannot carry the request (the
	 * client's fault; the next target is tried). */
	int (*prepare)(struct relay *x, const struct route_target *t, struct relay_send *s, char *err, size_t errlen);
	/* No target could carry the request; err from the last one. Answer
	 * the client and record (relay_record). */
	void (*unsendable)(struct relay *x, const struct route_target *t, const char *err);
	/* upstream_call's on_head and on_data, with user = x. on_data sets
	 * x->committed once it sent anything to the client. */
	int (*on_head)(void *user, int status, const char *ctype, long retry_after);
	int (*on_data)(void *user, const char *p, size_t n);
	/* The attempt's answer reached the client (x->committed) and ended,
	 * ok or not: close it. NULL: nothing to do. */
	void (*streamed)(struct relay *x, const struct route_target *t, const struct upstream_call *uc, int ok);
	/* A buffered answer the failure judgement left for the client: -1
	 * when it is a 2xx that is no valid answer (the key is blamed, the
	 * next is tried), else 0. Writes nothing. NULL: every one is. */
	int (*check)(struct relay *x);
	/* Send that answer (x->status, x->body) to the client, recorded. */
	void (*answer)(struct relay *x);
	/* No attempt reached the client: answer by how the last one failed,
	 * after relay_record(x, relay_fail_status(fail)). */
	void (*fail)(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms);
};

/* A request's state (buffers sized from the snapshot's config), with ops
 * as its front-end and upstream_perform as x->perform; translate: the
 * answer may be turned into another client dialect's stream (x->cout). */
void relay_init(struct relay *x, const struct relay_ops *ops, struct worker *w, struct runtime *snap,
		struct http_req *r, const struct auth_entry *who, const char *req_id, enum dialect client,
		const char *endpoint, int64_t t0, int translate);
/* Release the quota hold still kept, and the buffers. */
void relay_free(struct relay *x);

/* Before anything goes upstream: for a stream (x->client_stream) one of
 * [server] max_streams open-stream places (streamcap.h, given back by
 * relay_free), then space for the usage record (see durable.h). 0, or -1
 * after a 503 with Retry-After in the client's dialect (native: the
 * provider's for a passthrough): nothing sent upstream, nothing recorded
 * (nothing was spent). */
int relay_usage_space(struct relay *x, enum dialect native);
/* The key's allow-list, rate limits and budgets for this request, its
 * worst case (output: it may produce output tokens) reserved in x->hold;
 * for an uncharged request (x->uncharged) the allow-list alone, nothing
 * reserved. 1: go on; 0: refused, answered and recorded. */
int relay_quota_admit(struct relay *x, const struct route *rt, int output);

/* Try rt's targets x keys with x->ops until an answer reaches the client
 * (at most max_attempts attempts; nothing is retried once a byte reached
 * the client; a 429'd, failed or refused key is reported to its pool, which
 * cools it down or blocks it); otherwise answer by ops->fail. The usage
 * record is written in every case (once, see relay_record). */
void relay_run(struct relay *x, const struct route *rt);

/* ops.on_head and ops.on_data (user: the relay) for an answer that is
 * always buffered, never streamed to the client: the front-end makes its
 * own answer from x->body (an image call, an embedding call). */
int relay_buffered_head(void *user, int status, const char *ctype, long retry_after);
int relay_buffered_data(void *user, const char *p, size_t n);
/* For ops.on_head: a new answer head (status) starts a buffered body. */
void relay_head(struct relay *x, int status);
/* For ops.on_data: body bytes of the attempt's answer. A buffered answer
 * (x->mode RELAY_BUFFER) is kept in x->body, up to its cap (-1: a 2xx
 * over it; an error body keeps its head, x->body_truncated); a streamed
 * one goes to the client: the head first (status 200, ctype, the
 * gateway's headers; x->committed), then each SSE event through event,
 * flushed. Non-zero: stop the transfer. */
int relay_data(struct relay *x, const char *p, size_t n, const char *ctype, sse_event_cb event);

/* Write the request's usage record, once (the taps hear of the end). Call it before the last byte of
 * an answer goes out (before the body, before a stream's end), so that no
 * request a client saw complete is ever missing from the spool, even if the
 * process is killed right after. */
void relay_record(struct relay *x, int status);
/* The status of a request no attempt of which reached the client. */
int relay_fail_status(enum fail_kind fail);
/* Seconds for Retry-After from retry_ms (at least 1). */
long relay_retry_after_s(int64_t retry_ms);
/* The response headers every answer from an upstream carries, after
 * first (NULL: none), into out. */
void relay_answer_headers(const struct relay *x, const char *first, char *out, size_t n);
/* An upstream body for the client with every secret removed: JSON is
 * parsed first, so that a key written with escapes (\u0073k-, \/) is seen
 * as the client will see it; other text is scrubbed as it is. New string. */
char *relay_scrubbed_body(const char *b, size_t n);
/* The upstream's error body (x->body) in OpenAI's shape (new string). */
char *relay_error_as_oai(struct relay *x);
#endif
