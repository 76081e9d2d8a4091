/* responses.h — the OpenAI Responses API (POST /v1/responses) as a client
 * dialect over the internal (OpenAI chat) form: a Responses request to a
 * chat request, a chat.completion to a Responses object, and the internal
 * stream (chat.completion.chunk events) to the Responses event sequence
 * (response.created, response.in_progress, output items, content parts,
 * text / function-call-argument / reasoning-summary deltas, and
 * response.completed, or response.failed when the stream broke). No state
 * outside the values passed in; stored responses are kept by the front-end
 * (api_responses.c, rstore.h). */
#ifndef LLMGATE_RESPONSES_H
#define LLMGATE_RESPONSES_H
#include "buf.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define RESPONSES_ID_MAX   160          /* ids kept by the stream state */
#define RESPONSES_MODEL_MAX 256         /* >= MODEL_NAME_MAX: echoed whole */
#define RESPONSES_TEXT_CAP (16u << 20)  /* an item's text or arguments, and one event */
/* A member of the kinds object (no tool's chat name has a '#'): true when
 * the request's include asks for "reasoning.encrypted_content"; reasoning
 * items then carry the thinking's signature (Anthropic's, thinking_blocks
 * of the internal form) as encrypted_content, and such an item sent back
 * in the input becomes the signed thinking block of its turn again. */
#define RESPONSES_KIND_ENCRYPTED "#encrypted_content"

/* A Responses request → a chat request in the internal form (new object),
 * or NULL with a reason in err (the client's fault: unknown item types, a
 * tool output with no call before it, built-in tools,
 * previous_response_id (the front-end resolves it first: api_responses.c),
 * members of the wrong type). The model is copied as
 * it is (missing: the caller's check answers). A streamed request asks for
 * the usage chunk (stream_options.include_usage). Custom, local_shell and
 * namespaced tools become chat function tools (rtools.h); *kinds (when
 * kinds is not NULL) gets the names that stand for them, for the answer,
 * and RESPONSES_KIND_ENCRYPTED (a new object, or NULL when there are
 * none). A reasoning item with encrypted_content becomes the
 * thinking_blocks of its assistant turn (its summary the text). */
cJSON *responses_request_to_oai(const cJSON *rq, cJSON **kinds, char *err, size_t errlen);

/* Does the request's include list name what ("file_search_call.results",
 * "reasoning.encrypted_content")? */
int responses_includes(const cJSON *rq, const char *what);

/* A chat.completion (OpenAI's JSON text) → the Responses object answering
 * a client that asked for model (new string; tool calls as the items of
 * the kinds from responses_request_to_oai), or NULL with a reason in err
 * when it is not a chat.completion. finish_reason "length" makes it
 * "incomplete" (incomplete_details.reason "max_output_tokens"). */
char *responses_from_oai_answer(const char *oai, size_t len, const char *model, const cJSON *kinds, char *err,
				size_t errlen);

/* The gateway's own file_search (fs: {"queries", "results"} from
 * kb_retrieve.c; results only when the client asked) as the first output
 * item of answer, a Responses object's JSON text from
 * responses_from_oai_answer: a file_search_call item (id "fs_...", status
 * completed, queries, results or null). The new text (answer freed), or
 * answer as it was when it is not a Responses object. */
char *responses_answer_file_search(char *answer, const cJSON *fs);

/* The stream encoder: feed it the internal events in order; each call
 * appends complete SSE events ("event: TYPE\ndata: JSON\n\n", every data
 * carrying its type and sequence_number) to s->out, for the caller to send
 * and reset. Memory: the text and arguments of the response so far (capped
 * at RESPONSES_TEXT_CAP each; beyond it the stream fails). */
struct responses_stream {
	char id[RESPONSES_ID_MAX];        /* "resp_..." */
	char model[RESPONSES_MODEL_MAX];
	long created;
	long seq;                         /* the next sequence_number */
	int started;                      /* response.created went out */
	int open;                         /* kind of the open output item (0: none) */
	int tool_index;                   /* chat index of the open function_call */
	char item_id[RESPONSES_ID_MAX];   /* the open item's id */
	char call_id[RESPONSES_ID_MAX];
	char name[RESPONSES_ID_MAX];
	struct buf text;                  /* the open item's text or arguments */
	cJSON *output;                    /* the finished output items */
	char finish[32];                  /* the chat finish_reason, "" until it came */
	struct usage usage;
	int have_usage;
	int done;                         /* response.completed or .failed went out */
	struct buf out;                   /* the events to send */
	const cJSON *kinds;               /* the tools' kinds (borrowed), or NULL */
	char *signature;                  /* the open reasoning item's (RESPONSES_KIND_ENCRYPTED), or NULL */
};

/* Start a stream answering a client that asked for model; kinds (from
 * responses_request_to_oai, or NULL) must outlive the stream. A custom
 * tool's call is sent as response.custom_tool_call_input.delta and .done
 * once whole; a local_shell call as its output item alone. */
void responses_stream_init(struct responses_stream *s, const char *model, const cJSON *kinds);
/* One internal event: obj its JSON when at hand (else json is parsed), or
 * json "[DONE]" (the end: response.completed). 0 go on; 1 complete; -1 the
 * stream failed (an upstream error event, JSON that is not a chunk, over a
 * cap): response.failed appended. After 1 or -1 nothing more is appended. */
int responses_stream_feed(struct responses_stream *s, const cJSON *obj, const char *json, size_t len);
/* The gateway's own file_search (fs as for responses_answer_file_search)
 * as the stream's next output item, before the model's: (response.created
 * and .in_progress when nothing went out yet,) output_item.added,
 * file_search_call.in_progress, .searching, .completed, output_item.done. */
void responses_stream_file_search(struct responses_stream *s, const cJSON *fs);
/* The upstream stream ended: if the response is not complete,
 * response.failed is appended (response.created first when nothing went
 * out yet) with message as its error. 1 if it was complete, else -1. */
int responses_stream_finish(struct responses_stream *s, const char *message);
/* The finished response object (JSON text, free()) of a stream that
 * completed (responses_stream_feed returned 1): the same object
 * response.completed carried. */
char *responses_stream_result(struct responses_stream *s);
/* Free what the stream holds (s may be zeroed). */
void responses_stream_free(struct responses_stream *s);
#endif
