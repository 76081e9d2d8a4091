/* dialect.c — the upstream dialects' ops table (see dialect.h). */
#include "autoconf.h"
#include "dialect.h"
#include "anthropic.h"
#include "gemini.h"
#include "log.h"
#include "reasoning.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gemini_key_invalid(int status, const char *body, size_t len)
{
	return status == 400 && gemini_error_key_invalid(body, len);
}

static char *anthropic_error_for(int status, const char *message)
{
	return anthropic_error_json(anthropic_error_type(status), message);
}

static void anthropic_stream_init(struct dialect_stream *s, const char *model, int include_usage)
{
	anthropic_to_oai_init(&s->a2o, model, include_usage);
	memset(&s->ascan, 0, sizeof(s->ascan));
}

static void anthropic_stream_feed(struct dialect_stream *s, const struct sse_event *ev, struct chunk_sink *out,
				  struct usage *u)
{
	if (s->a2o.usage.reported)
		*u = s->a2o.usage;
	anthropic_to_oai_feed_to(&s->a2o, ev->event, ev->data, ev->data_len, out);
	if (s->a2o.usage.reported)
		*u = s->a2o.usage;
}

static int anthropic_stream_last(const struct dialect_stream *s, const struct sse_event *ev)
{
	(void)ev;
	return s->a2o.done;
}

static void gemini_stream_init(struct dialect_stream *s, const char *model, int include_usage)
{
	gemini_to_oai_init(&s->g2o, model, include_usage);
	memset(&s->gscan, 0, sizeof(s->gscan));
}

/* Gemini's events without data (comments) carry nothing to translate. */
static void gemini_stream_feed(struct dialect_stream *s, const struct sse_event *ev, struct chunk_sink *out,
			       struct usage *u)
{
	if (!ev->data_len)
		return;
	if (s->g2o.usage.reported)
		*u = s->g2o.usage;
	gemini_to_oai_feed_to(&s->g2o, ev->data, ev->data_len, out);
	if (s->g2o.usage.reported)
		*u = s->g2o.usage;
}

/* Gemini has no end event: the chunk with a finishReason is the last. */
static int gemini_stream_last(const struct dialect_stream *s, const struct sse_event *ev)
{
	(void)s;
	return ev->data_len && memmem(ev->data, ev->data_len, "\"finishReason\"", 14) != NULL;
}

/* OpenAI's events are read only when they carry usage. A chat stream ends
 * with [DONE]; a Responses API stream with response.completed (its usage
 * in response.usage), which is its last event. */
static int openai_usage_from_event(struct dialect_stream *s, const struct sse_event *ev, struct usage *u)
{
	(void)s;
	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6))
		return 1;
	if (ev->data_len && memmem(ev->data, ev->data_len, "\"usage\"", 7)) {
		cJSON *j = cJSON_ParseWithLength(ev->data, ev->data_len);
		if (j)
			usage_from_json(j, u);
		cJSON_Delete(j);
	}
	return !strcmp(ev->event, "response.completed");
}

static void openai_usage_from_body(const char *body, size_t len, struct usage *u)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	if (cJSON_IsObject(j))
		usage_from_json(j, u);
	cJSON_Delete(j);
}

/* events without data (comments) carry nothing */
static int anthropic_usage_event(struct dialect_stream *s, const struct sse_event *ev, struct usage *u)
{
	if (!ev->data_len)
		return 0;
	return anthropic_usage_from_event(&s->ascan, ev->event, ev->data, ev->data_len, u);
}

static void anthropic_usage_body(const char *body, size_t len, struct usage *u)
{
	anthropic_usage_from_body(body, len, u);
}

/* events without data (comments) carry nothing */
static int gemini_usage_event(struct dialect_stream *s, const struct sse_event *ev, struct usage *u)
{
	if (ev->data_len)
		gemini_usage_from_event(&s->gscan, ev->data, ev->data_len, u);
	return gemini_stream_last(s, ev);
}

static void gemini_usage_body(const char *body, size_t len, struct usage *u)
{
	gemini_usage_from_body(body, len, u);
}

static void gemini_stream_finish(struct dialect_stream *s, struct chunk_sink *out)
{
	gemini_to_oai_finish_to(&s->g2o, out);
}

/* Does an assistant message of req carry Anthropic's thinking_blocks? */
static int has_thinking_blocks(const cJSON *req)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req, "messages"))
		if (cJSON_GetObjectItemCaseSensitive(m, "thinking_blocks"))
			return 1;
	return 0;
}

/* The internal form as it is, but for what only the gateway and Anthropic
 * read, which is left out: the reasoning member (reasoning.h:
 * reasoning_effort says it in OpenAI's words) and the thinking_blocks of
 * assistant turns (a copy is sent then; req stays whole for the next
 * target, which may want them). */
static char *openai_chat_request(cJSON *req, const char *raw, size_t raw_len, const char *model, int stream,
				 char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (has_thinking_blocks(req)) {
		cJSON *copy = cJSON_Duplicate(req, 1), *m;
		cJSON_DeleteItemFromObjectCaseSensitive(copy, REASONING_MEMBER);
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(copy, "messages"))
			cJSON_DeleteItemFromObjectCaseSensitive(m, "thinking_blocks");
		char *body = reqbody_forward(copy, NULL, 0, model, stream);
		cJSON_Delete(copy);
		return body;
	}
	cJSON *own = cJSON_DetachItemFromObjectCaseSensitive(req, REASONING_MEMBER);
	char *body = reqbody_forward(req, own ? NULL : raw, raw_len, model, stream);
	if (own)
		cJSON_AddItemToObject(req, REASONING_MEMBER, own);
	return body;
}

static char *anthropic_chat_request(cJSON *req, const char *raw, size_t raw_len, const char *model,
				    int stream, char *err, size_t errlen)
{
	(void)raw;
	(void)raw_len;
	(void)stream;
	return anthropic_request_from_oai(req, model, err, errlen);
}

static int gemini_chat_path(char *out, size_t n, const char *model, int stream, char *err, size_t errlen)
{
	if (gemini_path(out, n, model, stream) == 0)
		return 0;
	snprintf(err, errlen, "model name not usable with Gemini");
	return -1;
}

/* the model is in the path (gemini_chat_path) */
static char *gemini_chat_request(cJSON *req, const char *raw, size_t raw_len, const char *model, int stream,
				 char *err, size_t errlen)
{
	(void)raw;
	(void)raw_len;
	(void)model;
	(void)stream;
	return gemini_request_from_oai(req, err, errlen);
}

static const char *const anthropic_headers[] = { "anthropic-version: " ANTHROPIC_VERSION, NULL };

static const struct dialect_ops ops[] = {
	[DIALECT_OPENAI] = {
		.id = DIALECT_OPENAI, .auth_prefix = "Authorization: Bearer ", .chat_suffix = "/chat/completions",
		.chat_request = openai_chat_request,
		.usage_from_event = openai_usage_from_event, .usage_from_body = openai_usage_from_body,
	},
	[DIALECT_ANTHROPIC] = {
		.id = DIALECT_ANTHROPIC, .auth_prefix = "x-api-key: ", .headers = anthropic_headers,
		.chat_suffix = "/messages", .chat_request = anthropic_chat_request,
		.response_to_oai = anthropic_response_to_oai, .error_to_oai = anthropic_error_to_oai, .error_json = anthropic_error_for,
		.stream_init = anthropic_stream_init, .stream_feed = anthropic_stream_feed,
		.stream_last = anthropic_stream_last, .keepalive_event = "ping",
		.usage_from_event = anthropic_usage_event, .usage_from_body = anthropic_usage_body,
	},
	[DIALECT_GEMINI] = {
		.id = DIALECT_GEMINI, .auth_prefix = "x-goog-api-key: ", .model_path = gemini_chat_path,
		.chat_request = gemini_chat_request, .response_to_oai = gemini_response_to_oai,
		.error_to_oai = gemini_error_to_oai, .retry_after = gemini_error_retry_after,
		.key_invalid = gemini_key_invalid, .error_json = gemini_error_json,
		.stream_init = gemini_stream_init, .stream_feed = gemini_stream_feed,
		.stream_last = gemini_stream_last, .stream_finish = gemini_stream_finish,
		.usage_from_event = gemini_usage_event, .usage_from_body = gemini_usage_body,
	},
};

const struct dialect_ops *dialect_ops(enum dialect d)
{
	if ((unsigned)d >= sizeof(ops) / sizeof(ops[0]))
		return &ops[DIALECT_OPENAI];
	return &ops[d];
}

int dialect_chat_path(const struct dialect_ops *d, char *out, size_t n, const char *model, int stream, char *err,
		      size_t errlen)
{
	if (!d->chat_suffix)
		return d->model_path(out, n, model, stream, err, errlen);
	size_t l = strlen(d->chat_suffix);
	if (l >= n) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	memcpy(out, d->chat_suffix, l + 1);
	return 0;
}

char *dialect_auth_line(const struct dialect_ops *d, const char *secret)
{
	if (!secret)
		return NULL;
	return xstrcat2(d->auth_prefix, secret);
}

void dialect_auth_free(char *line)
{
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
}

const char *dialect_error_message(const struct dialect_ops *d, int status, const char *body, size_t len, char *out,
				  size_t outlen)
{
	char *oai = d->error_to_oai ? d->error_to_oai(body, len, status) : xstrdup(body);
	cJSON *j = cJSON_Parse(oai);
	const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	if (cJSON_IsString(m))
		snprintf(out, outlen, "%.200s", m->valuestring);
	else
		snprintf(out, outlen, "%.120s", body);
	cJSON_Delete(j);
	free(oai);
	log_scrub(out);
	for (char *p = out; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return out;
}
