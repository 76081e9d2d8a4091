/* anthropic.h — translation between OpenAI chat and Anthropic Messages. */
#ifndef LLMGATE_ANTHROPIC_H
#define LLMGATE_ANTHROPIC_H
#include "buf.h"
#include "chunk.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* Pure functions over JSON: no I/O, no global state, thread-safe. Every
 * function that fails writes a one-line reason (fit for a 400 message or a
 * log line, never holding a key) into err[errlen] when err is not NULL.
 *
 * Two directions:
 *  - OpenAI client → Anthropic upstream (/v1/chat/completions routed to a
 *    Claude model): anthropic_request_from_oai, anthropic_response_to_oai,
 *    struct anthropic_to_oai (stream), anthropic_error_to_oai.
 *  - Anthropic client → OpenAI upstream (POST /v1/messages routed to an
 *    OpenAI-format provider): anthropic_request_to_oai,
 *    anthropic_response_from_oai, struct anthropic_from_oai (stream),
 *    anthropic_error_from_oai, anthropic_error_json, anthropic_error_type.
 *
 * Upstream requests to Anthropic need the headers "x-api-key: KEY",
 * "anthropic-version: " ANTHROPIC_VERSION and "content-type:
 * application/json" (no Authorization: Bearer). */

#define ANTHROPIC_VERSION            "2023-06-01"
#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096   /* when the client gave none */
#define ANTHROPIC_ID_MAX             160    /* ids kept by the stream state */
#define ANTHROPIC_MODEL_MAX          256    /* >= MODEL_NAME_MAX: echoed whole */
#define ANTHROPIC_ERR_MAX            256

/* ------------------------------------------------ OpenAI → Anthropic */

/* An OpenAI chat request (parsed) as the body of an Anthropic Messages
 * request for upstream model `model` (NULL: keep req's "model").
 *
 * system/developer messages → top-level "system" (joined by a blank line);
 * consecutive same-role turns are merged (Anthropic wants alternation);
 * text and image_url parts (data: URLs → base64 source, http(s) → url
 * source); assistant tool_calls → tool_use blocks (arguments parsed into
 * "input"; bytes of ids outside [A-Za-z0-9_-] become '_', in tool_use
 * and tool_result alike); role "tool" → user tool_result blocks; tools,
 * tool_choice (auto, none, required → any, {function:{name}} → tool) and
 * parallel_tool_calls:false → disable_parallel_tool_use; max_completion_tokens
 * or max_tokens (default ANTHROPIC_DEFAULT_MAX_TOKENS); temperature (clamped
 * to Anthropic's 0..1); top_p only when temperature is absent (recent Claude
 * models refuse both); stop → stop_sequences; stream; user →
 * metadata.user_id; reasoning_effort and the gateway's reasoning member
 * → thinking {type: enabled, budget_tokens} with max_tokens raised or the
 * budget lowered to fit, temperature and top_p left out, none for a turn
 * answering tool calls or a forced tool (docs/reasoning.md). Other fields
 * are dropped. Empty text is skipped
 * (Anthropic refuses empty text blocks). A history with tool calls but no
 * "tools" gets the called names declared (open schema) with tool_choice
 * none, since Anthropic refuses tool_use blocks without tools.
 *
 * Returns a new JSON string (caller frees with free()), or NULL with the
 * reason in err when the request is malformed (the router answers 400):
 * not an object, no messages, an unknown role or part type, arguments that
 * are not a JSON object, n > 1, a bad max_tokens, tool_choice or stop. */
char *anthropic_request_from_oai(const cJSON *req, const char *model, char *err, size_t errlen);

/* An Anthropic Messages response body → an OpenAI chat.completion JSON
 * string (caller frees). id becomes "chatcmpl-" + the message id, "model"
 * is `model` (the name the client asked for; NULL: the upstream's). text
 * blocks → content (null when there is none but tool calls), thinking →
 * reasoning_content, tool_use → tool_calls (arguments = JSON of input),
 * stop_reason → finish_reason (end_turn, stop_sequence, pause_turn → stop;
 * max_tokens, model_context_window_exceeded → length; tool_use →
 * tool_calls; refusal → content_filter). usage: prompt_tokens = input +
 * cache_read + cache_creation, completion_tokens = output,
 * prompt_tokens_details.cached_tokens = cache_read. u (may be NULL) gets
 * the same (u->cached = cache_read_input_tokens; u->reported = 1 when the
 * body had usage). NULL with err when the body is not a message (not JSON,
 * an error object, no content array). */
char *anthropic_response_to_oai(const char *body, size_t len, const char *model,
				struct usage *u, char *err, size_t errlen);

/* Anthropic SSE events → OpenAI chat.completion.chunk events. Feed every
 * upstream event in order; each call appends complete OpenAI SSE events
 * ("data: {...}\n\n") to out, which the caller sends and may reset between
 * calls. Nothing else is buffered: memory is constant. */
struct anthropic_to_oai {
	char id[ANTHROPIC_ID_MAX];       /* "chatcmpl-" + message id */
	char model[ANTHROPIC_MODEL_MAX];
	long created;
	int include_usage;               /* emit the usage chunk (choices: []) */
	int started;                     /* the role chunk went out */
	int finished;                    /* the finish chunk went out */
	int done;                        /* "data: [DONE]" went out */
	int failed;                      /* feed returned -1 */
	int block;                       /* kind of the open content block */
	int tool_index;                  /* OpenAI index of the open tool_use block */
	int ntools;                      /* tool_use blocks so far */
	long in, out, cache_read, cache_write;  /* usage as reported so far */
	struct usage usage;              /* same, in the gateway's terms */
	char error[ANTHROPIC_ERR_MAX];   /* why feed returned -1 */
};

/* Start a stream for a client that asked for `model`; include_usage: the
 * client asked for stream_options.include_usage. Never fails. */
void anthropic_to_oai_init(struct anthropic_to_oai *s, const char *model, int include_usage);

/* Feed one event: `event` is the SSE event name (may be NULL or ""; the
 * data's "type" wins), data/len its data. Returns
 *   0  go on;
 *   1  message_stop: the finish chunk, the usage chunk (if asked for) and
 *      "data: [DONE]\n\n" were appended; the stream is complete;
 *  -1  an error event from upstream, or data that is not JSON, or out over
 *      its cap: an OpenAI-shaped error event ("data: {\"error\":...}\n\n")
 *      was appended when it fit, s->error says why; stop the stream.
 * message_start → role chunk; text_delta → content; thinking_delta →
 * reasoning_content; tool_use start → tool_calls delta (index, id, type,
 * function.name, arguments ""); input_json_delta → arguments deltas as they
 * come; message_delta stop_reason → finish chunk; ping, signature_delta and
 * unknown events are ignored. After 1 or -1 further feeds return the same
 * and append nothing. */
int anthropic_to_oai_feed(struct anthropic_to_oai *s, const char *event, const char *data,
			  size_t len, struct buf *out);
/* The same, each OpenAI event handed to out (chunk.h) as it is made: the
 * finish chunk plain, the usage chunk CHUNK_USAGE, the end CHUNK_DONE, an
 * error event CHUNK_ERROR. When out's callback stops the stream, feed
 * returns -1 (out->stopped says so). */
int anthropic_to_oai_feed_to(struct anthropic_to_oai *s, const char *event, const char *data,
			     size_t len, struct chunk_sink *out);

/* ------------------------------------------------ usage alone */

/* The usage of a native Anthropic answer, read without translating it (a
 * passthrough client gets the upstream's bytes; the gateway needs only
 * their usage). The counts are the translator's: prompt = input +
 * cache_read + cache_creation, completion = output, cached = cache_read. */
struct anthropic_usage_scan {
	long v[4];       /* input, output, cache_read, cache_creation so far */
	int reported;    /* some usage came */
	int done;        /* message_stop came */
	int failed;      /* an error event, or data that is not JSON */
};

/* One event of a stream (a zeroed scan starts one): message_start's
 * message.usage and message_delta's usage update the counts (fields
 * present overwrite, others stay), and *u gets them once any came. After
 * message_stop, an error event or data that is not a JSON object, nothing
 * more is read (as anthropic_to_oai_feed stops). Returns 1 when the event
 * was message_stop (the data's "type" wins over event, which may be NULL),
 * else 0. */
int anthropic_usage_from_event(struct anthropic_usage_scan *s, const char *event, const char *data,
			       size_t len, struct usage *u);

/* A whole Messages body: *u gets its usage as anthropic_response_to_oai
 * reads it (reported 0 when the message had none); a body that is not a
 * message (not JSON, an error, no content array) leaves *u as it was.
 * Returns 1 when *u was set. */
int anthropic_usage_from_body(const char *body, size_t len, struct usage *u);

/* ------------------------------------------------ Anthropic → OpenAI */

/* An Anthropic Messages request (parsed, from a client of POST
 * /v1/messages) → an OpenAI chat request for upstream model `model` (NULL:
 * keep req's "model"). system → a system message; text blocks (joined into
 * a string when a message has only text), image blocks → image_url parts
 * (base64 → data: URL); tool_use → assistant tool_calls; tool_result → role
 * "tool" messages (before the rest of that user turn; images inside a
 * tool_result follow in a user message); thinking blocks dropped; custom
 * tools → function tools (server tools such as web_search are dropped);
 * tool_choice auto/any/tool/none and disable_parallel_tool_use;
 * stop_sequences → stop; max_tokens, temperature, top_p; metadata.user_id →
 * user; stream (with stream_options.include_usage); thinking (enabled,
 * adaptive; any other type but disabled refused) and output_config.effort
 * → reasoning_effort and the gateway's reasoning member (reasoning.h).
 * Returns a new cJSON
 * object (caller frees with cJSON_Delete), or NULL with err when the
 * request is malformed (not an object, no messages, a bad role or block). */
cJSON *anthropic_request_to_oai(const cJSON *req, const char *model, char *err, size_t errlen);

/* Claude Code sends its environment block as role "system" messages inside
 * "messages", which Anthropic's API refuses. Move each of them, in order,
 * into the top-level "system" of req (changed in place): after what system
 * already held; a string when everything is a string (joined by a blank
 * line), else an array of text blocks (strings become text blocks, blocks
 * are kept as they are, cache_control included). Empty texts are dropped.
 * 0 (nothing to do counts), or -1 with err when a system message holds
 * anything but a string or text blocks, or system is neither a string nor
 * an array; req may then be half changed and must not be sent. */
int anthropic_request_hoist_system(cJSON *req, char *err, size_t errlen);

/* An OpenAI chat.completion body → an Anthropic message JSON string
 * (caller frees): id "msg_" + upstream id, model = `model`, content
 * [thinking (from reasoning_content), text, tool_use...], stop_reason
 * (stop → end_turn, length → max_tokens, tool_calls → tool_use,
 * content_filter → refusal), usage {input_tokens = prompt - cached,
 * output_tokens, cache_read_input_tokens = cached,
 * cache_creation_input_tokens: 0}. u (may be NULL) gets the usage as
 * usage_from_json reads it. NULL with err when the body is not a chat
 * completion (not JSON, an error object, no choices). */
char *anthropic_response_from_oai(const char *body, size_t len, const char *model,
				  struct usage *u, char *err, size_t errlen);

/* OpenAI chunks → Anthropic SSE events ("event: NAME\ndata: {...}\n\n"):
 * message_start, content_block_start/delta/stop for thinking, text and
 * tool_use (input_json_delta), message_delta (stop_reason, usage),
 * message_stop. Constant memory: tool argument deltas pass straight
 * through. */
struct anthropic_from_oai {
	char id[ANTHROPIC_ID_MAX];       /* "msg_" + upstream id */
	char model[ANTHROPIC_MODEL_MAX];
	int started;                     /* message_start went out */
	int block;                       /* kind of the open content block */
	int nblocks;                     /* content blocks opened so far */
	int tool_index;                  /* OpenAI index of the open tool_use block */
	char tool_id[ANTHROPIC_ID_MAX];  /* its id */
	char stop_reason[32];            /* "" until the finish chunk */
	int done;                        /* message_stop went out */
	int failed;                      /* feed or finish returned -1 */
	struct usage usage;              /* from the upstream's usage chunk */
	char error[ANTHROPIC_ERR_MAX];   /* why feed/finish returned -1 */
};

/* Start a stream answering a client that asked for `model`. */
void anthropic_from_oai_init(struct anthropic_from_oai *s, const char *model);

/* Feed the data of one upstream SSE event (a chunk's JSON, or "[DONE]").
 * Returns 0 go on; 1 "[DONE]": closing events (message_delta,
 * message_stop) appended, complete; -1 an upstream error chunk, data that
 * is not JSON, or out over its cap: an Anthropic error event was appended
 * when it fit, s->error says why. After 1 or -1 feeds append nothing. */
int anthropic_from_oai_feed(struct anthropic_from_oai *s, const char *data, size_t len,
			    struct buf *out);
/* The same for one event as a structured value (chunk.h): its object
 * taken as it is, without parsing its text (the text when it has none);
 * what is appended to out is byte for byte what anthropic_from_oai_feed
 * appends for the event's data. */
int anthropic_from_oai_chunk(struct anthropic_from_oai *s, const struct chunk *c, struct buf *out);

/* The upstream stream ended (EOF). Returns 1 if the message is complete
 * (after appending the closing events if a finish_reason came but no
 * "[DONE]"), -1 if it was cut short (an Anthropic error event appended;
 * nothing at all was appended before if s->started is 0, so the router
 * can still answer with an HTTP error instead). */
int anthropic_from_oai_finish(struct anthropic_from_oai *s, struct buf *out);

/* ------------------------------------------------ errors */

/* Anthropic's error type for an HTTP status: 400 invalid_request_error,
 * 401 authentication_error, 402 billing_error, 403 permission_error, 404
 * not_found_error, 413 request_too_large, 429 rate_limit_error, 500 (and
 * other 5xx) api_error, 529 overloaded_error, other 4xx
 * invalid_request_error. Static string. */
const char *anthropic_error_type(int status);

/* {"type":"error","error":{"type":TYPE,"message":MESSAGE}} as a new string
 * (caller frees). type NULL: "api_error"; message NULL: "". */
char *anthropic_error_json(const char *type, const char *message);

/* An Anthropic error body (status from upstream) → an OpenAI error body
 * {"error":{"message","type","param":null,"code"}} (caller frees): code is
 * Anthropic's error type, type the OpenAI type for the status. The message
 * is scrubbed of registered secrets. Never NULL: a body that is not
 * Anthropic's shape gives a generic message. */
char *anthropic_error_to_oai(const char *body, size_t len, int status);

/* An OpenAI error body (status from upstream) → Anthropic's error shape
 * (caller frees), type from anthropic_error_type(status), message scrubbed.
 * Never NULL. */
char *anthropic_error_from_oai(const char *body, size_t len, int status);
#endif
