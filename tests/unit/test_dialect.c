/* test_dialect.c — the upstream dialects' ops table (dialect.h): each
 * dialect's key header, chat path, error and retry helpers, and that the
 * OpenAI-compatible dialect has nothing to translate. */
#include "autoconf.h"
#include "dialect.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void test_auth_lines(void)
{
	char *l = dialect_auth_line(dialect_ops(DIALECT_OPENAI), "sk-1");
	is_str(l, "Authorization: Bearer sk-1", "OpenAI: a bearer token");
	dialect_auth_free(l);
	l = dialect_auth_line(dialect_ops(DIALECT_ANTHROPIC), "sk-ant-1");
	is_str(l, "x-api-key: sk-ant-1", "Anthropic: x-api-key");
	dialect_auth_free(l);
	l = dialect_auth_line(dialect_ops(DIALECT_GEMINI), "AIza1");
	is_str(l, "x-goog-api-key: AIza1", "Gemini: x-goog-api-key");
	dialect_auth_free(l);
	ok(dialect_auth_line(dialect_ops(DIALECT_OPENAI), NULL) == NULL, "no key (keys = none): no line");
	dialect_auth_free(NULL);
}

static void test_chat_paths(void)
{
	char path[128], err[64] = "";
	is_int(dialect_chat_path(dialect_ops(DIALECT_OPENAI), path, sizeof(path), "gpt-4o", 1, err, sizeof(err)), 0,
	       "OpenAI path");
	is_str(path, "/chat/completions", "is the chat completions endpoint");
	dialect_chat_path(dialect_ops(DIALECT_ANTHROPIC), path, sizeof(path), "claude", 0, err, sizeof(err));
	is_str(path, "/messages", "Anthropic: messages");
	dialect_chat_path(dialect_ops(DIALECT_GEMINI), path, sizeof(path), "models/gemini-2.5-flash", 1, err,
			  sizeof(err));
	is_str(path, "/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "Gemini: the model in the path, streamed");
	is_int(dialect_chat_path(dialect_ops(DIALECT_GEMINI), path, sizeof(path), "a/b", 0, err, sizeof(err)), -1,
	       "Gemini: a model with a slash is refused");
	ok(err[0] != '\0', "with a reason");
	is_int(dialect_chat_path(dialect_ops(DIALECT_OPENAI), path, 4, "m", 0, err, sizeof(err)), -1,
	       "a path that does not fit is refused");
}

static void test_ops(void)
{
	const struct dialect_ops *o = dialect_ops(DIALECT_OPENAI), *a = dialect_ops(DIALECT_ANTHROPIC),
				 *g = dialect_ops(DIALECT_GEMINI);
	ok(!o->response_to_oai && !o->error_to_oai && !o->stream_feed && !o->error_json,
	   "OpenAI's form is the internal one: nothing to translate");
	ok(a->stream_feed && g->stream_feed && g->stream_finish && !a->stream_finish, "stream translators");
	is_str(a->keepalive_event, "ping", "Anthropic's keep-alive event");
	ok(dialect_ops((enum dialect)99) == o, "an unknown dialect gets OpenAI's ops");
	static const char body[] = "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\",\"message\":\"API key not valid.\","
				   "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}";
	is_int(g->key_invalid(400, body, strlen(body)), 1, "Gemini: a 400 API_KEY_INVALID is a refused key");
	is_int(g->key_invalid(404, body, strlen(body)), 0, "only as a 400");
	static const char rl[] = "{\"error\":{\"code\":429,\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
				 "\"retryDelay\":\"7s\"}]}}";
	is_int(g->retry_after(rl, strlen(rl)), 7, "Gemini: retry-after from the body");
	char *e = a->error_json(429, "slow");
	ok(e && strstr(e, "rate_limit_error") && strstr(e, "slow"), "Anthropic's error shape");
	free(e);
}

/* ------------------------------------------------ usage read alone */

static int same_usage(const struct usage *a, const struct usage *b)
{
	return a->prompt == b->prompt && a->completion == b->completion && a->cached == b->cached &&
	       a->reasoning == b->reasoning && a->reported == b->reported;
}

/* Feed evs (NULL-terminated pairs of event name, data) to d's translator
 * and to its usage reader: after every event both must hold the same
 * usage, and the reader must call the same event the last. *u gets the
 * reader's usage at the end. */
static int reader_agrees(const struct dialect_ops *d, const char *const *evs, struct usage *u, int *last_at)
{
	static struct dialect_stream tr, rd;
	struct usage ut = { 0, 0, 0, 0, 0 }, ur = { 0, 0, 0, 0, 0 };
	struct buf out;
	int agree = 1, i = 0;
	buf_init(&out, BUF_CAP_DEFAULT);
	d->stream_init(&tr, "m", 1);
	d->stream_init(&rd, "m", 1);
	*last_at = -1;
	for (; evs[2 * i + 1]; i++) {
		struct sse_event ev = { .event = evs[2 * i], .data = evs[2 * i + 1], .data_len = strlen(evs[2 * i + 1]),
					.raw = "", .raw_len = 0 };
		struct chunk_sink k = { .buf = &out };
		buf_reset(&out);
		d->stream_feed(&tr, &ev, &k, &ut);
		int last_t = d->stream_last(&tr, &ev);
		int last_r = d->usage_from_event(&rd, &ev, &ur);
		if (!same_usage(&ut, &ur) || (last_r && !last_t)) {
			diag("event %d: translator %ld/%ld/%ld/%ld/%d last %d, reader %ld/%ld/%ld/%ld/%d last %d", i,
			     ut.prompt, ut.completion, ut.cached, ut.reasoning, ut.reported, last_t, ur.prompt,
			     ur.completion, ur.cached, ur.reasoning, ur.reported, last_r);
			agree = 0;
		}
		if (last_r && *last_at < 0)
			*last_at = i;
	}
	buf_free(&out);
	*u = ur;
	return agree;
}

static void test_usage_streams(void)
{
	const struct dialect_ops *a = dialect_ops(DIALECT_ANTHROPIC), *g = dialect_ops(DIALECT_GEMINI);
	struct usage u;
	int last;
	static const char *const a1[] = {
		"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":10,"
		"\"cache_read_input_tokens\":4,\"cache_creation_input_tokens\":2,\"output_tokens\":1}}}",
		"ping", "{\"type\":\"ping\"}",
		"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
		"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}",
		"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
		"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}",
		"message_stop", "{\"type\":\"message_stop\"}",
		"message_delta", "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":99}}",
		NULL, NULL };
	ok(reader_agrees(a, a1, &u, &last), "Anthropic: the reader's usage is the translator's after every event");
	ok(u.prompt == 16 && u.completion == 7 && u.cached == 4 && u.reported, "input + cache tokens, output from message_delta");
	is_int(last, 6, "message_stop is the last event; nothing after it counts");
	static const char *const a2[] = {
		"", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}",
		"message_delta", "not json",
		"message_delta", "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}",
		NULL, NULL };
	ok(reader_agrees(a, a2, &u, &last), "Anthropic: data that is not JSON stops both");
	ok(u.prompt == 3 && u.completion == 0 && last == -1, "usage before it stays; no last event");
	static const char *const a3[] = {
		"message_start", "{\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}",
		"error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}",
		"message_stop", "{\"type\":\"message_stop\"}",
		NULL, NULL };
	ok(reader_agrees(a, a3, &u, &last), "Anthropic: the event name when the data has no type; an error stops");
	ok(u.prompt == 3 && u.completion == 2 && last == -1, "usage of message_start counted; no last after the error");
	static const char *const a4[] = { "ping", "{\"type\":\"ping\"}", NULL, NULL };
	ok(reader_agrees(a, a4, &u, &last) && !u.reported, "Anthropic: no usage, none reported");

	static const char *const g1[] = {
		"", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{\"promptTokenCount\":9}}",
		"", "",
		"", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}",
		"", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"c\"}]},\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":4,\"cachedContentTokenCount\":2,"
		"\"thoughtsTokenCount\":3,\"toolUsePromptTokenCount\":1}}",
		NULL, NULL };
	ok(reader_agrees(g, g1, &u, &last), "Gemini: the reader's usage is the translator's after every event");
	ok(u.prompt == 10 && u.completion == 7 && u.cached == 2 && u.reasoning == 3 && u.reported,
	   "the last usageMetadata counts: prompt + tool-use prompt, candidates + thoughts");
	is_int(last, 3, "the chunk with a finishReason is the last");
	static const char *const g2[] = {
		"", "{\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":1}}",
		"", "{\"error\":{\"code\":500,\"message\":\"x\"},\"usageMetadata\":{\"promptTokenCount\":50}}",
		"", "{\"usageMetadata\":{\"promptTokenCount\":70}}",
		NULL, NULL };
	ok(reader_agrees(g, g2, &u, &last), "Gemini: an error object stops both");
	ok(u.prompt == 5 && u.completion == 1, "the usage before the error counts");
	static const char *const g3[] = { "", "[1,2]", "", "{\"usageMetadata\":{\"promptTokenCount\":70}}", NULL, NULL };
	ok(reader_agrees(g, g3, &u, &last) && !u.reported, "Gemini: data that is not an object stops both");
}

/* Fed in any split: the same usage whatever arrives where (the SSE parser
 * cuts the bytes into events; the readers see whole events). */
struct split_run {
	const struct dialect_ops *d;
	struct dialect_stream ds;
	struct usage u;
	int lasts;
};

static int split_event(const struct sse_event *ev, void *user)
{
	struct split_run *sr = user;
	sr->lasts += sr->d->usage_from_event(&sr->ds, ev, &sr->u);
	return 0;
}

static void test_usage_split(void)
{
	static const char stream[] =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,"
		"\"output_tokens\":1}}}\n\n: comment\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":8}}\n\n"
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	static struct split_run sr;
	size_t n = strlen(stream);
	int all = 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct sse_parser p;
		memset(&sr, 0, sizeof(sr));
		sr.d = dialect_ops(DIALECT_ANTHROPIC);
		sr.d->stream_init(&sr.ds, "m", 0);
		sse_init(&p, BUF_CAP_SSE_EVENT);
		sse_feed(&p, stream, cut, split_event, &sr);
		sse_feed(&p, stream + cut, n - cut, split_event, &sr);
		sse_free(&p);
		if (sr.u.prompt != 12 || sr.u.completion != 8 || sr.lasts != 1) {
			diag("cut at %zu: %ld/%ld, %d last events", cut, sr.u.prompt, sr.u.completion, sr.lasts);
			all = 0;
		}
	}
	ok(all, "Anthropic: the same usage and one last event for every split of the stream (a comment skipped)");
}

static void test_usage_bodies(void)
{
	static const char *const abodies[] = {
		"{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
		"\"usage\":{\"input_tokens\":5,\"output_tokens\":3,\"cache_read_input_tokens\":2}}",
		"{\"type\":\"message\",\"content\":[]}",
		"{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"y\"},\"usage\":{\"input_tokens\":5}}",
		"{\"usage\":{\"input_tokens\":5}}", "nope", "", NULL };
	static const char *const gbodies[] = {
		"{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":6,\"thoughtsTokenCount\":2}}",
		"{\"candidates\":[]}", "{\"error\":{\"code\":400},\"usageMetadata\":{\"promptTokenCount\":4}}",
		"{\"error\":null,\"usageMetadata\":{\"promptTokenCount\":4}}", "[]", NULL };
	const struct dialect_ops *ds[2] = { dialect_ops(DIALECT_ANTHROPIC), dialect_ops(DIALECT_GEMINI) };
	const char *const *bodies[2] = { abodies, gbodies };
	for (int k = 0; k < 2; k++) {
		int all = 1;
		for (const char *const *b = bodies[k]; *b; b++) {
			struct usage seed = { 77, 77, 77, 77, 1 }, ut = seed, ur = seed;
			char err[128];
			free(ds[k]->response_to_oai(*b, strlen(*b), "m", &ut, err, sizeof(err)));
			ds[k]->usage_from_body(*b, strlen(*b), &ur);
			if (!same_usage(&ut, &ur)) {
				diag("body %s: translator %ld/%ld, reader %ld/%ld", *b, ut.prompt, ut.completion, ur.prompt, ur.completion);
				all = 0;
			}
		}
		ok(all, "%s: a body's usage as the translator reads it (answers, errors, not JSON)",
		   k ? "Gemini" : "Anthropic");
	}
	struct usage u = { 0, 0, 0, 0, 0 };
	static const char ob[] = "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
	dialect_ops(DIALECT_OPENAI)->usage_from_body(ob, strlen(ob), &u);
	ok(u.prompt == 3 && u.completion == 4 && u.reported, "OpenAI: the body's usage");
	struct sse_event done = { .event = "", .data = "[DONE]", .data_len = 6, .raw = "", .raw_len = 0 };
	struct sse_event chunk = { .event = "", .data = ob, .data_len = strlen(ob), .raw = "", .raw_len = 0 };
	struct usage v = { 0, 0, 0, 0, 0 };
	is_int(dialect_ops(DIALECT_OPENAI)->usage_from_event(NULL, &chunk, &v), 0, "OpenAI: a usage chunk is not the last");
	ok(v.prompt == 3 && v.completion == 4, "its usage read");
	is_int(dialect_ops(DIALECT_OPENAI)->usage_from_event(NULL, &done, &v), 1, "[DONE] is the last");
}

/* ------------------------------------------------ structured events */

/* What a callback sink saw: the events' text one after another, their
 * flags, and what an Anthropic client got from the structured values and
 * from the text (which must be the same bytes). */
struct seen {
	const struct dialect_ops *d;
	struct dialect_stream ds;
	struct usage u;
	struct buf text, flags, from_obj, from_text, scratch, o2a_out;
	struct anthropic_from_oai o2a_obj, o2a_text;
	int obj_matches;             /* every obj printed is its json text */
};

static int seen_chunk(const struct chunk *c, void *user)
{
	struct seen *sn = user;
	buf_append(&sn->text, c->sse, c->sse_len);
	buf_printf(&sn->flags, "%u,", c->flags);
	if (c->obj) {
		char *p = cJSON_PrintUnformatted(c->obj);
		sn->obj_matches &= p && strlen(p) == c->json_len && !memcmp(p, c->json, c->json_len);
		free(p);
	}
	sn->obj_matches &= c->sse_len == c->json_len + 8 && !memcmp(c->sse, "data: ", 6) &&
			   c->json == c->sse + 6 && !memcmp(c->sse + c->sse_len - 2, "\n\n", 2);
	buf_reset(&sn->o2a_out);
	anthropic_from_oai_chunk(&sn->o2a_obj, c, &sn->o2a_out);
	buf_append(&sn->from_obj, sn->o2a_out.data ? sn->o2a_out.data : "", sn->o2a_out.len);
	buf_reset(&sn->o2a_out);
	anthropic_from_oai_feed(&sn->o2a_text, c->json, c->json_len, &sn->o2a_out);
	buf_append(&sn->from_text, sn->o2a_out.data ? sn->o2a_out.data : "", sn->o2a_out.len);
	return 0;
}

static int seen_event(const struct sse_event *ev, void *user)
{
	struct seen *sn = user;
	struct chunk_sink k = { .buf = &sn->scratch, .fn = seen_chunk, .user = sn };
	sn->d->stream_feed(&sn->ds, ev, &k, &sn->u);
	return 0;
}

static void seen_run(struct seen *sn, const struct dialect_ops *d, const char *stream, size_t cut)
{
	memset(sn, 0, sizeof(*sn));
	sn->d = d;
	sn->obj_matches = 1;
	buf_init(&sn->text, BUF_CAP_DEFAULT);
	buf_init(&sn->flags, BUF_CAP_DEFAULT);
	buf_init(&sn->from_obj, BUF_CAP_DEFAULT);
	buf_init(&sn->from_text, BUF_CAP_DEFAULT);
	buf_init(&sn->scratch, BUF_CAP_SSE_EVENT);
	buf_init(&sn->o2a_out, BUF_CAP_DEFAULT);
	d->stream_init(&sn->ds, "m", 1);
	sn->ds.a2o.created = sn->ds.g2o.created = 1700000000;
	anthropic_from_oai_init(&sn->o2a_obj, "m");
	anthropic_from_oai_init(&sn->o2a_text, "m");
	struct sse_parser p;
	sse_init(&p, BUF_CAP_SSE_EVENT);
	sse_feed(&p, stream, cut, seen_event, sn);
	sse_feed(&p, stream + cut, strlen(stream) - cut, seen_event, sn);
	sse_free(&p);
	if (d->stream_finish) {
		struct chunk_sink k = { .buf = &sn->scratch, .fn = seen_chunk, .user = sn };
		d->stream_finish(&sn->ds, &k);
	}
}

static void seen_free(struct seen *sn)
{
	buf_free(&sn->text);
	buf_free(&sn->flags);
	buf_free(&sn->from_obj);
	buf_free(&sn->from_text);
	buf_free(&sn->scratch);
	buf_free(&sn->o2a_out);
}

/* The text the translator appends to a buffer when fed the same events
 * whole (the old way), for comparison. */
static char *as_text(const struct dialect_ops *d, const char *const *evs)
{
	static struct dialect_stream ds;
	struct usage u;
	struct buf out;
	buf_init(&out, BUF_CAP_DEFAULT);
	struct chunk_sink k = { .buf = &out };
	d->stream_init(&ds, "m", 1);
	ds.a2o.created = ds.g2o.created = 1700000000;
	for (int i = 0; evs[2 * i + 1]; i++) {
		struct sse_event ev = { .event = evs[2 * i], .data = evs[2 * i + 1], .data_len = strlen(evs[2 * i + 1]),
					.raw = "", .raw_len = 0 };
		d->stream_feed(&ds, &ev, &k, &u);
	}
	if (d->stream_finish)
		d->stream_finish(&ds, &k);
	return buf_steal(&out);
}

static void check_chunks(const char *name, const struct dialect_ops *d, const char *const *evs, const char *flags)
{
	struct buf raw;
	buf_init(&raw, BUF_CAP_DEFAULT);
	for (int i = 0; evs[2 * i + 1]; i++)
		buf_printf(&raw, "%s%s%sdata: %s\n\n", evs[2 * i][0] ? "event: " : "", evs[2 * i], evs[2 * i][0] ? "\n" : "",
			   evs[2 * i + 1]);
	char *want = as_text(d, evs);
	static struct seen sn;
	int same = 1, objs = 1, anth = 1, fl = 1;
	for (size_t cut = 0; cut <= raw.len; cut++) {
		seen_run(&sn, d, raw.data, cut);
		if (strcmp(buf_str(&sn.text), want)) {
			if (same)
				diag("cut %zu: %s\nwant: %s", cut, buf_str(&sn.text), want);
			same = 0;
		}
		objs &= sn.obj_matches;
		anth &= !strcmp(buf_str(&sn.from_obj), buf_str(&sn.from_text)) && sn.from_obj.len > 0;
		if (strcmp(buf_str(&sn.flags), flags)) {
			if (fl)
				diag("cut %zu: flags %s, want %s", cut, buf_str(&sn.flags), flags);
			fl = 0;
		}
		seen_free(&sn);
	}
	ok(same, "%s: the events handed on, in every split of the stream, are the text the translator writes", name);
	ok(objs, "%s: each event's object is its JSON text, framed as one SSE event", name);
	ok(fl, "%s: flags mark the usage chunk, the end and errors", name);
	ok(anth, "%s: an Anthropic client gets the same bytes from the objects as from the text", name);
	free(want);
	buf_free(&raw);
}

static void test_chunks(void)
{
	static const char *const a[] = {
		"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":10,"
		"\"output_tokens\":1}}}",
		"content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}",
		"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}",
		"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
		"content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
		"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"h\\u00e9 \\\"x\\\"\\n\"}}",
		"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}",
		"content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"tu_1\",\"name\":\"f\",\"input\":{}}}",
		"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}",
		"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}",
		"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}",
		"message_stop", "{\"type\":\"message_stop\"}",
		NULL, NULL };
	check_chunks("Anthropic", dialect_ops(DIALECT_ANTHROPIC), a, "0,0,0,0,0,0,1,2,");
	static const char *const ae[] = {
		"message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\"}}",
		"error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}",
		NULL, NULL };
	check_chunks("Anthropic error", dialect_ops(DIALECT_ANTHROPIC), ae, "0,4,");
	static const char *const g[] = {
		"", "{\"responseId\":\"r1\",\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"thought\":true},{\"text\":\"b\"}]}}]}",
		"", "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"x\":2}}}]},"
		"\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":4}}",
		NULL, NULL };
	check_chunks("Gemini", dialect_ops(DIALECT_GEMINI), g, "0,0,0,0,0,1,2,");
	static const char *const ge[] = {
		"", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}",
		NULL, NULL };
	check_chunks("Gemini cut short", dialect_ops(DIALECT_GEMINI), ge, "0,0,4,");
}

int main(void)
{
	test_auth_lines();
	test_chat_paths();
	test_ops();
	test_usage_streams();
	test_usage_split();
	test_usage_bodies();
	test_chunks();
	return done_testing();
}
