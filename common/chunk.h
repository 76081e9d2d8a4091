/* chunk.h — one event of the internal stream (OpenAI's
 * chat.completion.chunk), as a structured value: what a dialect's stream
 * translator (anthropic.c, gemini.c) hands on, event by event, through a
 * callback, and what the client-side encoders (the OpenAI SSE writer, the
 * Anthropic encoder anthropic_from_oai_chunk) and the response taps take
 * directly, without the event being written as SSE text and parsed again. */
#ifndef LLMGATE_CHUNK_H
#define LLMGATE_CHUNK_H
#include "buf.h"
#include <cjson/cJSON.h>
#include <stddef.h>

enum {
	CHUNK_USAGE = 1,   /* the usage-only chunk ("choices": [], "usage") */
	CHUNK_DONE = 2,    /* the end: "data: [DONE]" */
	CHUNK_ERROR = 4,   /* an error event ({"error":...}); the stream stops */
};

/* One event. Every pointer is valid only during the callback. */
struct chunk {
	const cJSON *obj;            /* the chunk's JSON; NULL for CHUNK_DONE, or
				      * when only the text is at hand */
	const char *sse;             /* the event as an OpenAI client gets it: */
	size_t sse_len;              /*   "data: JSON\n\n" */
	const char *json;            /* the data inside sse (JSON, or "[DONE]"), */
	size_t json_len;             /*   not NUL-terminated */
	unsigned flags;              /* CHUNK_* */
};

/* Take one event; 0 to go on, non-zero to stop the stream. */
typedef int (*chunk_fn)(const struct chunk *c, void *user);

/* Where a translator writes its events. Without fn the events are
 * appended to buf as SSE text (one after another, for the caller to send);
 * with fn each is handed to fn at once, buf serving as scratch for its
 * text (left empty). */
struct chunk_sink {
	struct buf *buf;
	chunk_fn fn;
	void *user;
	int stopped;                 /* fn returned non-zero (sticky) */
};

/* Hand j on as one event with flags (j is taken and deleted). 0, or -1
 * when its text does not fit buf's cap, fn stopped the stream now or
 * before (k->stopped; nothing more is handed on), or j cannot be
 * printed. */
int chunk_emit(struct chunk_sink *k, cJSON *j, unsigned flags);
/* Hand on the end, "data: [DONE]\n\n" (CHUNK_DONE); 0 or -1 as above. */
int chunk_emit_done(struct chunk_sink *k);
#endif
