/* fuzz_responses.c — the Responses API dialect (responses.c): the input as
 * a client's request body → responses_request_to_oai (a refusal says why;
 * an accepted request is an internal chat request: a non-empty "messages"
 * array of objects each with a string "role", printable as JSON); the input
 * as a chat.completion → responses_from_oai_answer (JSON or a reason); and
 * the input's lines as a sequence of internal stream events (chunk JSON or
 * "[DONE]") → responses_stream_feed and _finish: everything appended is
 * complete SSE with JSON data, each data's sequence_number one more than
 * the last, exactly one final event (response.completed, .incomplete or
 * .failed) and it is the last, nothing appended after the end. The
 * answer and the stream are run with the tool kinds of a request that
 * offers a custom tool "f", local_shell and a namespaced function "ns__g"
 * (rtools.h), so that their items are built from whatever the calls hold. */
#include "fuzz_common.h"
#include "responses.h"

static cJSON *kinds;

static void check_request(const char *text)
{
	char err[256] = "";
	cJSON *rq = cJSON_Parse(text);
	if (!rq)
		return;
	cJSON *k = NULL;
	cJSON *req = responses_request_to_oai(rq, &k, err, sizeof(err));
	FUZZ_ASSERT(!k || req, "tool kinds of a refused request");
	cJSON_Delete(k);
	if (!req) {
		FUZZ_ASSERT(err[0] != '\0', "responses_request_to_oai failed without a reason");
	} else {
		const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m;
		FUZZ_ASSERT(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) > 0, "an accepted request has no messages");
		cJSON_ArrayForEach(m, msgs) {
			FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "role")), "a message without a role");
		}
		char *s = cJSON_PrintUnformatted(req);
		FUZZ_ASSERT(s && fuzz_is_json(s, strlen(s)), "the chat request does not print as JSON");
		free(s);
	}
	cJSON_Delete(req);
	cJSON_Delete(rq);
}

/* Every event of the stream's output so far, checked and counted. */
static void check_out(struct responses_stream *s, long *seq, int *finals, int *ended)
{
	const char *p = s->out.data, *end = p + s->out.len;
	fuzz_check_sse_text("responses_stream", p ? p : "", s->out.len);
	FUZZ_ASSERT(!*ended || s->out.len == 0, "responses_stream appended after its end");
	while (p && p < end) {
		const char *d = memmem(p, (size_t)(end - p), "\ndata: ", 7);
		const char *e = d ? memmem(d, (size_t)(end - d), "\n\n", 2) : NULL;
		FUZZ_ASSERT(d && e, "responses_stream: an event without data");
		cJSON *j = cJSON_ParseWithLength(d + 7, (size_t)(e - d - 7));
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "sequence_number");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
		FUZZ_ASSERT(cJSON_IsNumber(n) && (long)n->valuedouble == *seq + 1, "sequence_number out of order");
		FUZZ_ASSERT(cJSON_IsString(t), "an event without its type");
		*seq = (long)n->valuedouble;
		if (!strcmp(t->valuestring, "response.completed") || !strcmp(t->valuestring, "response.incomplete") ||
		    !strcmp(t->valuestring, "response.failed")) {
			(*finals)++;
			*ended = 1;
		}
		cJSON_Delete(j);
		p = e + 2;
	}
	buf_reset(&s->out);
}

static void check_stream(const char *text, size_t len)
{
	struct responses_stream s;
	long seq = -1;
	int finals = 0, ended = 0, lines = 0;
	responses_stream_init(&s, "fuzz-model", kinds);
	for (const char *p = text, *end = text + len; p < end && lines < 256; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *obj = (lines & 1) ? cJSON_ParseWithLength(p, n) : NULL;
		responses_stream_feed(&s, obj, p, n);
		cJSON_Delete(obj);
		check_out(&s, &seq, &finals, &ended);
		p += n + 1;
	}
	int rc = responses_stream_finish(&s, "fuzz end");
	FUZZ_ASSERT(rc == 1 || rc == -1, "responses_stream_finish returned %d", rc);
	check_out(&s, &seq, &finals, &ended);
	FUZZ_ASSERT(finals == 1, "%d final events", finals);
	responses_stream_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16 || fuzz_skip_huge_index((const char *)data, size))
		return 0;
	if (!kinds)
		kinds = cJSON_Parse("{\"f\":{\"type\":\"custom\",\"name\":\"f\"},\"local_shell\":{\"type\":"
				    "\"local_shell\"},\"ns__g\":{\"type\":\"function\",\"name\":\"g\",\"namespace\":\"ns\"}}");
	char *text = fuzz_strndup(data, size);
	check_request(text);
	char err[128] = "";
	char *a = responses_from_oai_answer(text, size, "fuzz-model", kinds, err, sizeof(err));
	FUZZ_ASSERT(a ? fuzz_is_json(a, strlen(a)) : err[0] != '\0', "responses_from_oai_answer: bad result");
	free(a);
	check_stream(text, size);
	free(text);
	return 0;
}
