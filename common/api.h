/* api.h — the client-facing front-ends (api_*.c), one file per API:
 * api_chat.c (OpenAI chat completions, and the chat engine it shares with
 * api_messages.c, Anthropic messages), api_proxy.c (embeddings, images),
 * api_passthrough.c (/api/{provider}/...), api_info.c (health, models).
 * Each reads its request, answers and errors in its own dialect and hands a
 * routed request to the relay (relay.h). gateway.c's routes table picks the
 * handler; api.c holds what they share. */
#ifndef LLMGATE_API_H
#define LLMGATE_API_H
#include "gateway.h"
#include "provider.h"
#include <cjson/cJSON.h>

/* One request as the routes table hands it to its handler. */
struct api_call {
	struct worker *w;
	struct http_req *r;
	struct runtime *snap;              /* referenced for the whole call */
	const struct auth_entry *who;      /* the gateway key; NULL on routes without auth */
	const char *req_id;
	const char *path;                  /* the API path after "/v1/" ("chat/completions") */
	const struct provider_conf *prov;  /* passthrough: the provider named in the path */
	const char *rest;                  /* passthrough: the path after /api/{provider}, %-encoded */
	const struct app_conf *app;        /* a prompt app's route: the app */
	const char *endpoint;              /* the usage record's endpoint; NULL: the route's own
					    * (a prompt app's or MCP's internal chat names itself) */
	int internal;                      /* made by api_chat_internal: a chat and nothing else
					    * (no drawing trigger: its answer must be a chat's) */
};

/* The handlers (each answers the request completely). */
void api_chat_handle(const struct api_call *call);         /* POST /v1/chat/completions */
void api_messages_handle(const struct api_call *call);     /* POST /v1/messages */
void api_responses_handle(const struct api_call *call);    /* POST /v1/responses */
/* GET / DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items:
 * the calling key's stored responses (rstore.h); 404 for any other. */
void api_responses_stored(const struct api_call *call);
/* GET /v1/conversations (the calling key's, most recently used first),
 * GET and DELETE /v1/conversations/{id} (the id %-encoded): the key's
 * stored conversations (convo.h); 404 for any other key's. */
void api_convo_handle(const struct api_call *call);
/* POST /v1/messages/count_tokens: forwarded to the route's Anthropic
 * targets (their {"input_tokens":N} as it comes; recorded with no tokens
 * nor cost, endpoint "count_tokens"); for a model with no Anthropic target
 * answered here with an estimate (api_messages_estimate), not recorded
 * (one log line says so).
 * Only the key's allow-list is checked: nothing reserved, no budget spent. */
void api_messages_count_tokens(const struct api_call *call);
/* The documented estimate of a Messages request's input tokens: the bytes
 * of every string in its system, messages and tools, divided by 4 and
 * rounded up. */
long api_messages_estimate(const cJSON *req);
void api_proxy_handle(const struct api_call *call);        /* POST /v1/embeddings, /v1/images/generations */
void api_passthrough_handle(const struct api_call *call);  /* /api/{provider}/{rest} */
/* /v1/files[/...] and /v1/vector_stores[/...]: the knowledge bases in
 * OpenAI's shape (api_kb.c) */
void api_kb_handle(const struct api_call *call);
void api_info_health(const struct api_call *call);         /* GET /health */
/* GET / HEAD .../api/hello: the connectivity probe Claude Code makes as it
 * starts, answered 200 with a small JSON body; no key needed. */
void api_info_hello(const struct api_call *call);
void api_info_models(const struct api_call *call);         /* GET /v1/models[/{model}] */
/* GET /health and GET {route}/health (/v1/chat/health, ...): the whole
 * gateway (api_info_health) or one route's health entry (api_health.c's
 * table): {"route","status":"ok"|"unusable","usable","depends_on":[{"name",
 * "ok","detail"}]}, 200 when usable, else 503; 404 for a route without one.
 * A front-end adds its entry to that table with a check that fills deps
 * (api_health_dep) and returns 1 when the route can be used now; a route
 * that relays to upstreams starts with api_health_relayed. */
void api_health_handle(const struct api_call *call);
void api_health_dep(cJSON *deps, const char *name, int ok, const char *detail);
/* What every relayed route depends on (gateway keys, an upstream provider
 * with a key usable now, the usage store, state.db): added to deps; 1 when
 * the route can be used. */
int api_health_relayed(const struct api_call *call, cJSON *deps);
/* GET /metrics (api_metrics.c): the Prometheus text format, for the
 * addresses of [metrics] allow (loopback by default) or with the bearer
 * [metrics] token; else 403 (401 for a wrong token). */
void api_metrics_handle(const struct api_call *call);
/* May remote_addr read /metrics without a token: inside an entry of allow
 * (comma-separated addresses or CIDR ranges, IPv4 or IPv6; an IPv4 client
 * seen as ::ffff:a.b.c.d is the IPv4 address)? 1 or 0 (0 for anything
 * that is no address). */
int api_metrics_addr_allowed(const char *allow, const char *remote_addr);
/* Publish this process's key pool states to the shared metrics. */
void api_metrics_publish_keys(struct runtime *rt, int64_t now);
void api_info_compat_models(const struct api_call *call);  /* GET /api/compat/models[/{model}]: also "provider/model" ids */
/* A prompt app's path (app.h; the app in call->app): its own errors
 * ({"error": message, "code": code}), key or open with a per-client rate
 * limit; the call logged (applog.h). */
void api_app_handle(const struct api_call *call);
/* MCP (api_mcp.c): /mcp (Streamable HTTP), GET /sse and POST
 * /sse/message (HTTP+SSE); a gateway key, errors as JSON-RPC errors. */
void api_mcp_handle(const struct api_call *call);
void api_mcp_sse(const struct api_call *call);
void api_mcp_message(const struct api_call *call);

/* The chat engine (api_chat.c): route req (OpenAI format; areq the
 * Anthropic original for an Anthropic client, else NULL), run it through
 * the relay, answer in the client's dialect (client: DIALECT_OPENAI or
 * DIALECT_ANTHROPIC). req may be changed (request filters, filter.h). */
void api_chat_run(const struct api_call *call, cJSON *req, cJSON *areq, enum dialect client);
/* The same for a Responses API client (api_responses.c): req is the
 * internal form of its request (responses.h); the answer, its stream and
 * the usage record (endpoint "responses") are the Responses API's; errors
 * in OpenAI's shape. */
/* keep (or NULL): called once with the Responses object (JSON text) when
 * the answer completed (a 2xx answer, or a stream that reached
 * response.completed / .incomplete), before it goes to the client. */
struct api_responses_keep {
	void (*fn)(void *ctx, const char *response_json);
	void *ctx;
};
/* kinds: the tools' kinds of the request (responses_request_to_oai), or NULL. */
void api_chat_run_responses(const struct api_call *call, cJSON *req, const cJSON *kinds,
			    const struct api_responses_keep *keep);

/* The same for a Gemini client (api_gemini.c): req the internal form of
 * its request; to a Gemini upstream the client's own body goes as it is
 * (its model in the URL; unless a request filter changed the request,
 * which is then translated), its answer and stream back as they come; to
 * others the answer is encoded as Gemini's (gemini_in.h). Usage is
 * recorded with endpoint "generate_content"; errors in Gemini's shape
 * (r->gemini_errors). */
struct api_gemini_opts {
	int array;       /* a stream as one JSON array, not SSE (no ?alt=sse) */
	int thoughts;    /* thought parts in the answer (includeThoughts) */
};
void api_chat_run_gemini(const struct api_call *call, cJSON *req, const struct api_gemini_opts *g);
/* Gemini's API (api_gemini.c), under /v1beta/ (and /v1/ for the model
 * verbs): POST models/{model}:generateContent, :streamGenerateContent
 * (?alt=sse, else a JSON array), :countTokens (forwarded to a Gemini
 * target, else api_gemini_estimate's answer, never recorded); GET models
 * and models/{model} in Gemini's list shape. call->path is "models...". */
void api_gemini_handle(const struct api_call *call);

/* A request the proxy engine (api_proxy.c) sends as it is. */
struct api_proxy_spec {
	const char *endpoint;        /* for the usage record */
	const char *method;          /* upstream method */
	const char *url;             /* whole upstream URL, or NULL: base_url + suffix */
	const char *suffix;          /* "/embeddings" */
	const char *body;            /* as sent upstream */
	size_t body_len;
	const char *content_type;    /* the client's, for passthrough */
	const char *const *pass_headers;  /* client headers forwarded as they are */
	int uncharged;               /* token counting: the allow-list alone is checked, nothing
				      * reserved, recorded with no tokens nor cost */
};
/* Try the targets of rt (model: the client's name for the usage record)
 * with the request of spec through the relay: the answer comes back as the
 * upstream sent it, usage read on the way; failures in OpenAI's shape, or
 * the provider's own for a passthrough. */
void api_proxy_run(const struct api_call *call, const struct route *rt, const char *model,
		   const struct api_proxy_spec *spec);

/* May rest (the part of a passthrough path after /api/{provider}, still
 * %-encoded) be appended to a provider's base URL? 1 if so. */
int api_passthrough_path_ok(const char *rest);

/* Read the request body into r->body; 0, or -1 after an answer to the
 * client (413 too large, 408 not in time, 400 unreadable). */
int api_read_body(struct http_req *r, const struct config *c);
/* Read and parse a request body; answers the client and returns NULL when
 * it is too large, unreadable or not a strict JSON object (reqbody.h: no
 * duplicate member anywhere, nothing after it, no \u0000). */
cJSON *api_read_json_body(struct http_req *r, const struct config *c);
/* The request's "model" in *model, or an answer to the client (400: no
 * model, or one longer than the gateway holds, which is never cut) and
 * -1. */
int api_request_model(struct http_req *r, const cJSON *req, const char **model);
/* May a client's header value go on to an upstream? 1 for printable
 * ASCII only (no CR or LF to end the header early). */
int api_header_value_ok(const char *v);
/* The client's Anthropic headers for an Anthropic upstream, each line
 * kept in h: its anthropic-version (printable ASCII; else, when fallback,
 * "anthropic-version: " ANTHROPIC_VERSION) and its anthropic-beta, put in
 * hdrs[n...] (room for two). Returns the new n; values that are not
 * printable ASCII or do not fit are left out. */
struct api_anthropic_hdrs {
	char version[96];
	char beta[1024];
};
size_t api_anthropic_headers(const struct http_req *r, struct api_anthropic_hdrs *h, int fallback,
			     const char **hdrs, size_t n);
/* Run req (a chat request in OpenAI's form, not streamed) through the
 * chat engine (api_chat_run: routed, quota-checked, recorded like any chat)
 * as an internal request of call: who is charged, endpoint names the usage
 * record's endpoint, its id is the request's id + ".<n>" (the n-th
 * internal request of this one: each record's id stays unique). Returns the HTTP status it ended with; out gets its
 * body (a chat completion, or an error in OpenAI's shape). The outer
 * request is marked recorded when a usage record was written. For the
 * front-ends that answer in a format of their own (prompt apps, MCP). */
int api_chat_internal(const struct api_call *call, const struct auth_entry *who, const char *endpoint, cJSON *req,
		      struct buf *out);
/* The first choice's message content of a chat completion (JSON text), a
 * new string, or NULL. */
char *api_chat_answer_text(const char *json);
/* The message of an OpenAI-shaped error body (a new string; a generic one
 * when there is none). */
char *api_error_message(const char *json);
/* Answer status with j as JSON. */
void api_respond_json(struct http_req *r, int status, cJSON *j);
#endif
