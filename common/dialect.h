/* dialect.h — the upstream dialects (OpenAI-compatible, Anthropic, Gemini)
 * behind one ops table: what the relay and the front-ends need of an
 * upstream's API, looked up by a provider's dialect instead of branching on
 * enum dialect. The translators themselves are anthropic.c and gemini.c;
 * the OpenAI-compatible dialect is the internal form (its ops are mostly
 * NULL: nothing to translate). */
#ifndef LLMGATE_DIALECT_H
#define LLMGATE_DIALECT_H
#include "anthropic.h"
#include "buf.h"
#include "chunk.h"
#include "config.h"
#include "gemini.h"
#include "sse.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* A stream's state for the attempt's dialect: its translator's, and its
 * usage reader's (passthrough). stream_init starts both. */
/* One upstream's stream at a time: the Anthropic and Gemini states share
 * their memory (each dialect's init sets its own). */
struct dialect_stream {
	union {
		struct {
			struct anthropic_to_oai a2o;
			struct anthropic_usage_scan ascan;
		};
		struct {
			struct gemini_to_oai g2o;
			struct gemini_usage_scan gscan;
		};
	};
};

struct dialect_ops {
	enum dialect id;
	/* the header that carries an upstream key, up to the key:
	 * "Authorization: Bearer ", "x-api-key: ", "x-goog-api-key: " */
	const char *auth_prefix;
	/* header lines every request of the gateway's own carries
	 * (NULL-terminated), or NULL */
	const char *const *headers;
	/* The chat endpoint's path behind base_url ("/chat/completions",
	 * "/messages"), or NULL when the model is part of it: then model_path
	 * makes it (Gemini's "/models/M:generateContent"; 0, or -1 with a
	 * reason in err). See dialect_chat_path. */
	const char *chat_suffix;
	int (*model_path)(char *out, size_t n, const char *model, int stream, char *err, size_t errlen);
	/* A chat request in the internal (OpenAI) form → the dialect's body
	 * for model (new string); raw: the client's JSON text when it is req
	 * as it stands, else NULL. NULL with a reason in err when the dialect
	 * cannot carry it (the client's fault). */
	char *(*chat_request)(cJSON *req, const char *raw, size_t raw_len, const char *model, int stream,
			      char *err, size_t errlen);
	/* A 2xx body → OpenAI's chat.completion (new string), usage read into
	 * *u; NULL with err when it is not an answer. NULL for OpenAI (the
	 * body is OpenAI's already). */
	char *(*response_to_oai)(const char *body, size_t len, const char *model, struct usage *u, char *err,
				 size_t errlen);
	/* An error body → OpenAI's error shape (new string, never NULL). NULL
	 * for OpenAI. */
	char *(*error_to_oai)(const char *body, size_t len, int status);
	/* Seconds to wait, from a 429's body (for a dialect that sends no
	 * Retry-After header); -1 for none. NULL: the header alone. */
	long (*retry_after)(const char *body, size_t len);
	/* 1 when an answer other than 401/403 says the key itself is bad
	 * (Gemini: 400 API_KEY_INVALID). NULL: 401/403 alone. */
	int (*key_invalid)(int status, const char *body, size_t len);
	/* An error body in the dialect's own shape for a gateway message (new
	 * string), for native (passthrough) clients. NULL for OpenAI (oai.h's
	 * shape). */
	char *(*error_json)(int status, const char *message);

	/* Streams, to OpenAI chat.completion.chunk events. NULL for OpenAI
	 * (its events are the internal form already). */
	/* Start one (model: the client's name; include_usage: emit the usage
	 * chunk). */
	void (*stream_init)(struct dialect_stream *s, const char *model, int include_usage);
	/* One upstream event: each OpenAI event it makes handed to out
	 * (chunk.h: a callback, or SSE text appended to out->buf); when the
	 * stream reported usage so far, *u gets it, before and after the
	 * event (the end, CHUNK_DONE, comes in an event that reports none, so
	 * *u is whole when it comes). */
	void (*stream_feed)(struct dialect_stream *s, const struct sse_event *ev, struct chunk_sink *out,
			    struct usage *u);
	/* 1 when ev (just fed) was the stream's last event. */
	int (*stream_last)(const struct dialect_stream *s, const struct sse_event *ev);
	/* The closing events a stream that ended without its last event
	 * still owes (NULL: none: it just ends). */
	void (*stream_finish)(struct dialect_stream *s, struct chunk_sink *out);
	/* an event that is only a keep-alive ("ping"), or NULL */
	const char *keepalive_event;

	/* Usage of a native answer, read without translating it (for
	 * passthrough clients, who get the upstream's bytes). Never NULL. */
	/* One upstream event of a stream begun by stream_init (or with s
	 * zeroed): *u gets the usage reported so far, when some came (as
	 * stream_feed would set it). Returns 1 when ev was the stream's last
	 * event (OpenAI's [DONE], Anthropic's message_stop, Gemini's chunk
	 * with a finishReason), else 0. */
	int (*usage_from_event)(struct dialect_stream *s, const struct sse_event *ev, struct usage *u);
	/* A buffered 2xx body: *u gets its usage as response_to_oai would read
	 * it; a body that is not an answer leaves *u alone. */
	void (*usage_from_body)(const char *body, size_t len, struct usage *u);
};

/* The ops of dialect d; never NULL (an unknown value gets OpenAI's). */
const struct dialect_ops *dialect_ops(enum dialect d);

/* The header line that carries secret in d's way (new string, to be wiped
 * and freed with dialect_auth_free), or NULL when secret is NULL (keys =
 * none). */
char *dialect_auth_line(const struct dialect_ops *d, const char *secret);
/* The chat endpoint's path for model behind base_url into out[n]; 0, or
 * -1 with a reason in err when the model cannot be named in it (or the path
 * does not fit). */
int dialect_chat_path(const struct dialect_ops *d, char *out, size_t n, const char *model, int stream, char *err,
		      size_t errlen);
/* The message of an upstream's error answer (status, body of len bytes)
 * in d's shape, in plain words for a log line or an admin: its
 * error.message (up to 200 bytes) or the body's start, secrets scrubbed,
 * line breaks as spaces; into out, which is returned. */
const char *dialect_error_message(const struct dialect_ops *d, int status, const char *body, size_t len, char *out,
				  size_t outlen);
/* Wipe and free a line from dialect_auth_line (NULL: nothing). */
void dialect_auth_free(char *line);
#endif
