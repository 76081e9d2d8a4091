/* filter.h — request filters and response taps: the place where a feature
 * changes a chat request before it goes upstream, and sees the answer as it
 * goes to the client.
 *
 * A request filter runs on the internal (OpenAI) form of a chat request,
 * after it was routed and admitted and before the response cache and the
 * first attempt: the prompt kept for a key that asks for it (promptlog.c,
 * which changes nothing), the configured system prompt (system_prompt), then the
 * stored conversation's history (convo.c); next knowledge-base context. A
 * filter returns 1 when it changed the request (then the client's bytes
 * are no longer the request as it stands, and the body sent upstream is
 * printed from the tree), 0 when it did not, -1 when it answered the
 * client with an error (the request stops there).
 *
 * A response tap sees every OpenAI-form event (chat.completion.chunk data,
 * before the client's dialect) of a streamed chat answer and the whole
 * body of a buffered one (api_chat.c; an Anthropic client's chat passed
 * through to an Anthropic upstream untouched is not in OpenAI form and is
 * not shown), and the end of every relayed request with its status and
 * usage (relay_record): the conversation store (convo.c) keeps the answer
 * there. A tap only reads; it cannot change or stop the answer. An empty
 * table costs one test per event. */
#ifndef LLMGATE_FILTER_H
#define LLMGATE_FILTER_H
#include "auth.h"
#include "config.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

struct worker;
struct runtime;
struct http_req;
struct convo_turn;

/* What a filter or tap may know of the request besides its body. */
struct filter_ctx {
	const struct config *c;
	const struct auth_entry *who;
	const char *req_id;
	const char *model;         /* the model the client asked for */
	struct worker *w;          /* for a filter's own upstream calls (kb_retrieve.c) */
	struct runtime *snap;
	struct http_req *r;        /* the client's request (its headers) */
	struct convo_turn *convo;  /* the stored conversation the chat continues (convo.h), or NULL */
	const struct usage_record *rec;  /* in a tap's end: the request's usage record, else NULL */
	cJSON **file_search;       /* a Responses request: where kb_retrieve leaves its file_search
				    * tool's search ({"queries", "results"}, new), or NULL */
};

struct filter {
	const char *name;
	int (*request)(cJSON *req, const struct filter_ctx *fc);
};

struct tap {
	const char *name;
	/* data: one event's JSON (streamed) or the whole answer (buffered) */
	void (*data)(const struct filter_ctx *fc, const char *data, size_t len);
	/* the answer ended (status as recorded; usage as reported or zero) */
	void (*end)(const struct filter_ctx *fc, int status, const struct usage *u);
};

/* Run every request filter, in the table's order, on req; 1 when any of
 * them changed it; -1 when one answered the client instead (an error in
 * the client's dialect, recorded by the caller: the request goes no
 * further). */
int filter_request(cJSON *req, const struct filter_ctx *fc);
/* Hand data to every tap (nothing when there is none). */
void filter_tap_data(const struct filter_ctx *fc, const char *data, size_t len);
/* Tell every tap the answer ended. */
void filter_tap_end(const struct filter_ctx *fc, int status, const struct usage *u);
/* 1 when any tap is registered. */
int filter_has_taps(void);
/* Register a tap, at start-up before any request (not thread-safe); at
 * most FILTER_TAPS_MAX. 0, or -1 when the table is full. */
#define FILTER_TAPS_MAX 8
int filter_add_tap(const struct tap *t);

/* The system prompt filter: adds fc->c->system_prompt as the first
 * message of a chat that has none (no "system" or "developer" role); 1 if
 * it did. Nothing without a configured prompt. */
int filter_system_prompt(cJSON *req, const struct filter_ctx *fc);
/* The knowledge-base filter (kb_retrieve.c). The stores a request asks
 * for in its body arrive as this member of the internal request (an array
 * of store ids, put there by responses.c for the file_search tool; the
 * filter takes it out before anything goes upstream). */
#define KB_RETRIEVE_MEMBER "x_llmgate_vector_stores"
/* true: the client asked for the search's results too (the Responses
 * API's include "file_search_call.results"); taken out like the stores. */
#define KB_RETRIEVE_RESULTS_MEMBER "x_llmgate_file_search_results"

int kb_retrieve_filter(cJSON *req, const struct filter_ctx *fc);
#endif
