/* gemini.h — translation between OpenAI chat and Gemini generateContent. */
#ifndef LLMGATE_GEMINI_H
#define LLMGATE_GEMINI_H
#include "buf.h"
#include "chunk.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* Pure functions over JSON: no I/O, no global state, thread-safe. Every
 * function that fails writes a one-line reason (fit for a 400 message or a
 * log line, never holding a key) into err[errlen] when err is not NULL.
 *
 * The upstream call: POST BASE + gemini_path(model, stream), e.g.
 * https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent
 * or ...:streamGenerateContent?alt=sse, with the key in the header
 * "x-goog-api-key: KEY" (not Authorization: Bearer) and the body from
 * gemini_request_from_oai. A stream is SSE whose every data is a whole
 * GenerateContentResponse; it has no end marker: EOF ends it.
 *
 * Tool call ids: Gemini's functionCall has no id (or an optional one), so
 * answers get generated ids "call_<n>_<hash>". When a functionCall part
 * carries a thoughtSignature (Gemini 3 requires it back on the next turn)
 * the id is "<id>" GEMINI_SIG_SEP "<signature>", and
 * gemini_request_from_oai puts the signature back on the functionCall part
 * when the client echoes the id. */

#define GEMINI_SIG_SEP        "__thought__"
#define GEMINI_MAX_CANDIDATES 8      /* candidates (choices) a stream tracks */
#define GEMINI_ID_MAX         160
#define GEMINI_MODEL_MAX      256   /* >= MODEL_NAME_MAX: echoed whole */
#define GEMINI_ERR_MAX        256

/* The path to append to the base URL (".../v1beta"): "/models/MODEL:
 * generateContent", or "/models/MODEL:streamGenerateContent?alt=sse" when
 * stream. A leading "models/" in model is dropped. Returns 0, or -1 when
 * it does not fit in out[n] or model is empty or holds '/', '?', '#' or a
 * space. */
int gemini_path(char *out, size_t n, const char *model, int stream);

/* An OpenAI chat request (parsed) → a generateContent request body (a new
 * JSON string, caller frees; the model is in the URL, not the body).
 *
 * system/developer messages → systemInstruction (joined by a blank line);
 * user → role "user", assistant → role "model" (consecutive same-role
 * turns merged); text parts; image_url data: URLs → inlineData, http(s)
 * URLs → fileData (mimeType guessed from the extension); input_audio →
 * inlineData; file with file_data → inlineData; assistant tool_calls →
 * functionCall parts (args parsed); role "tool" → a functionResponse part
 * in a user turn, its name found from the earlier tool call with that id,
 * response = the content when it is a JSON object, else {"output": content};
 * tools → tools[{functionDeclarations:[{name, description,
 * parametersJsonSchema}]}]; tool_choice → toolConfig.functionCallingConfig
 * (auto AUTO, none NONE, required ANY, a named function ANY +
 * allowedFunctionNames); generationConfig from temperature, top_p,
 * max_completion_tokens/max_tokens (maxOutputTokens), stop (stopSequences),
 * n (candidateCount), presence_penalty, frequency_penalty, seed,
 * response_format (json_object → responseMimeType application/json,
 * json_schema → also responseJsonSchema), reasoning_effort and the
 * gateway's reasoning member → thinkingConfig {thinkingBudget,
 * includeThoughts} (reasoning.h). Other fields are dropped.
 *
 * NULL with err when malformed (the router answers 400): not an object, no
 * messages, an unknown role or part type, arguments that are not a JSON
 * object, a tool message whose tool_call_id matches no earlier tool call,
 * a bad max_tokens, n, tool_choice or stop. */
char *gemini_request_from_oai(const cJSON *req, char *err, size_t errlen);

/* A generateContent response body → an OpenAI chat.completion JSON string
 * (caller frees): id "chatcmpl-" + responseId, "model" = model (the name
 * the client asked for); one choice per candidate; text parts joined into
 * content, thought parts (thought: true) into reasoning_content,
 * functionCall → tool_calls with generated ids (content null when only
 * calls); finishReason STOP → stop (tool_calls when the candidate called a
 * function), MAX_TOKENS → length, SAFETY, RECITATION, BLOCKLIST,
 * PROHIBITED_CONTENT, SPII, IMAGE_SAFETY → content_filter, others → stop.
 * A prompt blocked by promptFeedback.blockReason (no candidates) gives one
 * choice with content "" and finish_reason content_filter — not an error.
 * usageMetadata → usage: prompt_tokens = promptTokenCount +
 * toolUsePromptTokenCount, completion_tokens = candidatesTokenCount +
 * thoughtsTokenCount, prompt_tokens_details.cached_tokens =
 * cachedContentTokenCount, completion_tokens_details.reasoning_tokens =
 * thoughtsTokenCount; u (may be NULL) gets the same. NULL with err when
 * the body is not JSON or is an error object. */
char *gemini_response_to_oai(const char *body, size_t len, const char *model,
			     struct usage *u, char *err, size_t errlen);

/* The usage of a native Gemini answer, read without translating it (a
 * passthrough client gets the upstream's bytes; the gateway needs only
 * their usage), counted as gemini_response_to_oai counts it. */
struct gemini_usage_scan {
	struct usage usage;   /* the last usageMetadata seen */
	int failed;           /* an error object, or data that is not JSON */
};

/* The data of one stream event (a zeroed scan starts one): the last
 * usageMetadata seen counts, and *u gets it once one came. After an error
 * object or data that is not a JSON object nothing more is read (as
 * gemini_to_oai_feed stops). */
void gemini_usage_from_event(struct gemini_usage_scan *s, const char *data, size_t len, struct usage *u);

/* A whole generateContent body: *u gets its usageMetadata (all 0,
 * reported 0, when it has none); a body that is not JSON or is an error
 * object leaves *u as it was. Returns 1 when *u was set. */
int gemini_usage_from_body(const char *body, size_t len, struct usage *u);

/* streamGenerateContent?alt=sse events → OpenAI chunks. Feed the data of
 * each SSE event; each call appends complete OpenAI SSE events ("data:
 * {...}\n\n") to out, which the caller sends and may reset between calls.
 * Nothing else is buffered: memory is constant. */
struct gemini_to_oai {
	char id[GEMINI_ID_MAX];          /* "chatcmpl-" + responseId */
	char model[GEMINI_MODEL_MAX];
	long created;
	int include_usage;               /* emit the usage chunk (choices: []) */
	int started;                     /* the role chunk went out */
	int done;                        /* "data: [DONE]" went out */
	int failed;                      /* feed or finish returned -1 */
	int ntools[GEMINI_MAX_CANDIDATES];      /* tool calls per candidate */
	unsigned char seen[GEMINI_MAX_CANDIDATES];      /* its role chunk went out */
	unsigned char finished[GEMINI_MAX_CANDIDATES];  /* its finish chunk went out */
	unsigned events;                 /* events fed */
	struct usage usage;              /* the last usageMetadata seen */
	char error[GEMINI_ERR_MAX];      /* why feed or finish returned -1 */
};

/* Start a stream for a client that asked for `model`; include_usage: the
 * client asked for stream_options.include_usage. Never fails. */
void gemini_to_oai_init(struct gemini_to_oai *s, const char *model, int include_usage);

/* Feed the data of one SSE event. Returns 0 go on, or -1: an error object
 * from upstream ({"error":{...}}), data that is not JSON, or out over its
 * cap: an OpenAI-shaped error event ("data: {\"error\":...}\n\n") was
 * appended when it fit and s->error says why; stop the stream. The first
 * sight of a candidate brings its role chunk; text → content, thought
 * parts → reasoning_content, functionCall → one tool_calls delta with the
 * whole arguments, finishReason → a finish chunk for that candidate, a
 * blocked prompt → a content_filter finish chunk for choice 0. Candidates
 * with index >= GEMINI_MAX_CANDIDATES are ignored. After -1 feeds append
 * nothing. */
int gemini_to_oai_feed(struct gemini_to_oai *s, const char *data, size_t len, struct buf *out);

/* The upstream stream ended (EOF). Returns 1 when every candidate seen had
 * finished: the usage chunk (if asked for) and "data: [DONE]\n\n" were
 * appended. -1 when the stream was cut (no finishReason) or nothing came:
 * an error event was appended (if s->started is 0 nothing was appended
 * before it, so the router can answer with an HTTP error instead). */
int gemini_to_oai_finish(struct gemini_to_oai *s, struct buf *out);

/* The same two, each OpenAI event handed to out (chunk.h) as it is made:
 * the usage chunk CHUNK_USAGE, the end CHUNK_DONE, an error event
 * CHUNK_ERROR. When out's callback stops the stream they return -1
 * (out->stopped says so). */
int gemini_to_oai_feed_to(struct gemini_to_oai *s, const char *data, size_t len, struct chunk_sink *out);
int gemini_to_oai_finish_to(struct gemini_to_oai *s, struct chunk_sink *out);

/* ------------------------------------------------ errors */

/* Google's status name for an HTTP status: 400 INVALID_ARGUMENT, 401
 * UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 409 ABORTED, 413
 * INVALID_ARGUMENT, 429 RESOURCE_EXHAUSTED, 499 CANCELLED, 500 INTERNAL,
 * 501 UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, other 4xx
 * FAILED_PRECONDITION, other 5xx INTERNAL. Static string. */
const char *gemini_error_status(int http_status);

/* {"error":{"code":HTTP_STATUS,"message":MESSAGE,"status":NAME}} as a new
 * string (caller frees). message NULL: "". */
char *gemini_error_json(int http_status, const char *message);

/* A Gemini error body (status from upstream) → an OpenAI error body
 * {"error":{"message","type","param":null,"code"}} (caller frees): code is
 * Google's status name (e.g. "RESOURCE_EXHAUSTED"), type the OpenAI type for
 * the HTTP status; the message is scrubbed of registered secrets (Gemini
 * echoes bad keys). Never NULL. */
char *gemini_error_to_oai(const char *body, size_t len, int status);

/* 1 when a Gemini error body says the API key itself is bad (Gemini answers
 * 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not 401), so the key
 * pool can block the key as it does on 401; 0 otherwise. */
int gemini_error_key_invalid(const char *body, size_t len);

/* Seconds to wait from a Gemini 429 body: its google.rpc.RetryInfo detail
 * ("retryDelay": "7s", "0.5s" rounds up to 1), since Gemini sends no
 * Retry-After header. -1 when there is none or it is out of range. */
long gemini_error_retry_after(const char *body, size_t len);
#endif
