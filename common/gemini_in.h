/* gemini_in.h — Gemini's generateContent API as a client dialect (POST
 * /v1beta/models/{model}:generateContent, gemini-cli, the @google/genai
 * SDK): its request to the internal (OpenAI chat) form, and the internal
 * answer (a chat.completion, or its chunk stream) back to Gemini's
 * GenerateContentResponse. The way out, to a Gemini upstream, is gemini.c.
 * Pure functions over JSON: no I/O, no global state, thread-safe. Failures
 * write a one-line reason (fit for a 400 message) into err[errlen]. */
#ifndef LLMGATE_GEMINI_IN_H
#define LLMGATE_GEMINI_IN_H
#include "buf.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define GEMINI_IN_MAX_CALLS 64   /* tool calls per streamed answer */

/* A GenerateContentRequest (parsed; member names in camelCase or
 * snake_case, as Google's parser takes both) for model → a chat request in
 * the internal form (new object): systemInstruction → a system message;
 * contents (role "user" or "model") → user / assistant messages; parts:
 * text; thought parts dropped (only their text was shown); inlineData →
 * image_url data: URLs for images, input_audio for wav/mp3, else a file
 * part; fileData → image_url (its URI); functionCall → tool_calls (id: the
 * part's own, else "call_<turn>_<k>"); functionResponse → a "tool" message
 * (answering the earlier call of that id, else the oldest unanswered one
 * of that name; content: response.output when that is the only string,
 * else the response as JSON text); tools.functionDeclarations
 * (parametersJsonSchema, or parameters in Gemini's Schema with its
 * upper-case types lowered) → function tools; toolConfig.
 * functionCallingConfig (AUTO, NONE, ANY, ANY with one allowed name) →
 * tool_choice; generationConfig: temperature, topP, maxOutputTokens
 * (max_completion_tokens), stopSequences, candidateCount (n),
 * presencePenalty, frequencyPenalty, seed, responseMimeType
 * application/json with responseJsonSchema or responseSchema →
 * response_format, thinkingConfig → reasoning (reasoning.h). stream: the
 * usage chunk asked for. safetySettings and labels are accepted and not
 * kept; topK, responseModalities and the like are dropped.
 * NULL with err: not an object, an unknown member, no contents, an
 * unknown role or part, a built-in tool (googleSearch, codeExecution,
 * urlContext, ...), cachedContent, a functionResponse no call precedes,
 * members of the wrong type. */
cJSON *gemini_in_request_to_oai(const cJSON *greq, const char *model, int stream, char *err, size_t errlen);

/* The documented estimate of a countTokens request's tokens (for models no
 * Gemini target serves): the bytes of every string in contents,
 * systemInstruction and tools (or those of generateContentRequest),
 * divided by 4, rounded up. */
long gemini_in_estimate(const cJSON *greq);

/* A chat.completion (OpenAI's JSON text) → a GenerateContentResponse
 * (new string) answering a client that asked for model: one candidate per
 * choice (content.role "model"; parts: a thought part {text, thought:
 * true} from reasoning_content when thoughts, the text, one functionCall
 * {id, name, args} per tool call); finishReason STOP (stop, tool_calls),
 * MAX_TOKENS (length), SAFETY (content_filter); usageMetadata
 * {promptTokenCount, candidatesTokenCount (output without thoughts),
 * thoughtsTokenCount, cachedContentTokenCount, totalTokenCount};
 * modelVersion model; responseId the chat id. NULL with err when it is
 * not a chat.completion. */
char *gemini_in_response_from_oai(const char *oai, size_t len, const char *model, int thoughts, char *err,
				  size_t errlen);

/* usage → a usageMetadata object (new). */
cJSON *gemini_in_usage_json(const struct usage *u);

/* The stream encoder: the internal events (chat.completion.chunk) in order
 * → GenerateContentResponse events appended to out: as SSE ("data:
 * JSON\r\n\r\n", alt=sse) or as the elements of one JSON array ("[",
 * JSON, ",\r\n" ... "]"). Text and thought deltas go out as they come;
 * tool calls are gathered (Gemini sends a functionCall whole) and go out
 * with the finish; the last event carries the finishReasons and the
 * usageMetadata (the usage chunk or [DONE] closes it). Memory: the tool
 * calls' arguments (capped, with everything else, by out's cap). */
struct gemini_in_call {
	int choice, index;
	char *id, *name;
	struct buf args;
};
struct gemini_in_stream {
	char model[256];
	char id[160];
	int thoughts;            /* thought parts go out (includeThoughts) */
	int array;               /* the JSON-array form, not SSE */
	int events;              /* events written */
	int done;                /* the closing event went out */
	int failed;
	char finish[8][16];      /* per choice: Gemini's finishReason, "" until it came */
	int nfinish;
	struct gemini_in_call calls[GEMINI_IN_MAX_CALLS];
	int ncalls;
	struct usage usage;
	int have_usage;
};

void gemini_in_stream_init(struct gemini_in_stream *s, const char *model, int thoughts, int array);
/* One internal event: obj its JSON when at hand (else json is parsed), or
 * json "[DONE]". 0 go on; 1 complete (the closing event appended); -1 an
 * upstream error event or JSON that is no chunk: an error object
 * {"error":{code,message,status}} appended as an event (as Gemini does),
 * the stream is over. After 1 or -1 nothing more is appended. */
int gemini_in_stream_feed(struct gemini_in_stream *s, const cJSON *obj, const char *json, size_t len,
			  struct buf *out);
/* The upstream stream ended: the closing event when a finish came but no
 * [DONE] (1), else an error event (-1); the array's "]" in either case
 * (nothing when it was complete and closed already). */
int gemini_in_stream_finish(struct gemini_in_stream *s, const char *message, struct buf *out);
/* A Gemini upstream's own event (json, len: its data), passed on as it is
 * for the JSON-array form (an SSE client gets the upstream's bytes). */
int gemini_in_stream_native(struct gemini_in_stream *s, const char *json, size_t len, struct buf *out);
/* The end of a native stream: an error event first unless complete, then
 * the array's "]". 1 when complete, else -1. */
int gemini_in_stream_native_end(struct gemini_in_stream *s, int complete, const char *message, struct buf *out);
/* Free the gathered calls (s may be zeroed). */
void gemini_in_stream_free(struct gemini_in_stream *s);
#endif
