/* fuzz_gemini_in.c — Gemini's API as a client dialect (gemini_in.c): the
 * input as a client's GenerateContentRequest → gemini_in_request_to_oai
 * (a refusal says why; an accepted request is an internal chat request: a
 * non-empty "messages" array of objects each with a string "role", every
 * "tool" message answering a call of an earlier assistant message, the
 * model as given, printable as JSON) and gemini_in_estimate (not
 * negative); the input as a chat.completion → gemini_in_response_from_oai
 * (JSON or a reason); and the input's lines as internal stream events →
 * gemini_in_stream_feed and _finish, in the SSE and the JSON-array forms:
 * every SSE event is "data: JSON\r\n\r\n", the array form is one JSON
 * array, nothing is appended after the end. */
#include "fuzz_common.h"
#include "gemini_in.h"

/* Every tool message answers a tool call of an earlier message. */
static int tool_messages_paired(const cJSON *msgs)
{
	const cJSON *m, *tc;
	cJSON_ArrayForEach(m, msgs) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (!cJSON_IsString(role) || strcmp(role->valuestring, "tool"))
			continue;
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "tool_call_id");
		int found = 0;
		for (const cJSON *e = msgs->child; e != m && !found; e = e->next)
			cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(e, "tool_calls")) {
				const cJSON *tid = cJSON_GetObjectItemCaseSensitive(tc, "id");
				if (cJSON_IsString(id) && cJSON_IsString(tid) && !strcmp(id->valuestring, tid->valuestring))
					found = 1;
			}
		if (!found)
			return 0;
	}
	return 1;
}

static void check_request(const char *text)
{
	char err[256] = "";
	cJSON *g = cJSON_Parse(text);
	if (!g)
		return;
	FUZZ_ASSERT(gemini_in_estimate(g) >= 0, "a negative estimate");
	cJSON *req = gemini_in_request_to_oai(g, "fuzz-model", (int)(strlen(text) & 1), err, sizeof(err));
	if (!req) {
		FUZZ_ASSERT(err[0] != '\0', "gemini_in_request_to_oai failed without a reason");
	} else {
		const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m;
		const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
		FUZZ_ASSERT(cJSON_IsString(model) && !strcmp(model->valuestring, "fuzz-model"), "the model changed");
		FUZZ_ASSERT(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) > 0, "an accepted request has no messages");
		cJSON_ArrayForEach(m, msgs) {
			FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "role")), "a message without a role");
		}
		FUZZ_ASSERT(tool_messages_paired(msgs), "a tool message answers no earlier call");
		char *s = cJSON_PrintUnformatted(req);
		FUZZ_ASSERT(s && fuzz_is_json(s, strlen(s)), "the chat request does not print as JSON");
		free(s);
	}
	cJSON_Delete(req);
	cJSON_Delete(g);
}

/* What the stream appended: SSE events with JSON data, or (array) the
 * pieces of one JSON array; *all gathers the array's text. */
static void check_out(struct buf *out, int array, int *ended, struct buf *all)
{
	FUZZ_ASSERT(!*ended || out->len == 0, "gemini_in_stream appended after its end");
	if (!out->len)
		return;
	if (array) {
		buf_append(all, out->data, out->len);
	} else {
		const char *p = out->data, *end = p + out->len;
		while (p && p < end) {
			FUZZ_ASSERT(end - p > 6 && !memcmp(p, "data: ", 6), "an SSE event without data");
			const char *e = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
			FUZZ_ASSERT(e && fuzz_is_json(p + 6, (size_t)(e - p - 6)), "an SSE event whose data is not JSON");
			p = e + 4;
		}
	}
	buf_reset(out);
}

static void check_stream(const char *text, size_t len, int array)
{
	struct gemini_in_stream s;
	struct buf out, all;
	int ended = 0, lines = 0;
	buf_init(&out, 1 << 24);
	buf_init(&all, 1 << 24);
	gemini_in_stream_init(&s, "fuzz-model", (int)(len & 1), array);
	for (const char *p = text, *end = text + len; p < end && lines < 256; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *obj = (lines & 1) ? cJSON_ParseWithLength(p, n) : NULL;
		int rc = gemini_in_stream_feed(&s, obj, p, n, &out);
		cJSON_Delete(obj);
		check_out(&out, array, &ended, &all);
		if (rc != 0)
			ended = 1;
		p += n + 1;
	}
	int rc = gemini_in_stream_finish(&s, "fuzz end", &out);
	FUZZ_ASSERT(rc == 1 || rc == -1, "gemini_in_stream_finish returned %d", rc);
	ended = 0;
	check_out(&out, array, &ended, &all);
	if (array)
		FUZZ_ASSERT(fuzz_is_json(all.data, all.len), "the array form is not one JSON value");
	gemini_in_stream_free(&s);
	buf_free(&out);
	buf_free(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16 || fuzz_skip_huge_index((const char *)data, size))
		return 0;
	char *text = fuzz_strndup(data, size);
	check_request(text);
	char err[128] = "";
	char *a = gemini_in_response_from_oai(text, size, "fuzz-model", 1, err, sizeof(err));
	FUZZ_ASSERT(a ? fuzz_is_json(a, strlen(a)) : err[0] != '\0', "gemini_in_response_from_oai: bad result");
	free(a);
	check_stream(text, size, 0);
	check_stream(text, size, 1);
	free(text);
	return 0;
}
