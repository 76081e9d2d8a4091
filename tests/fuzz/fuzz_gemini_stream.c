/* fuzz_gemini_stream.c — an upstream answer in Gemini's wire format.
 *
 * The input is fed as SSE (streamGenerateContent?alt=sse) and the data of
 * every event goes to gemini_to_oai_feed_to, then gemini_to_oai_finish_to
 * at EOF; the OpenAI chunks it hands on as structured values (chunk.h) go
 * on to anthropic_from_oai_chunk (a /v1/messages client routed to Gemini),
 * and their text to anthropic_from_oai_feed (the same bytes must come
 * out); the data also goes to
 * gemini_usage_from_event (passthrough's usage reader). The whole input
 * also goes to gemini_response_to_oai, gemini_usage_from_body, the error
 * helpers and cache_to_sse (the replay of a cached body). Properties:
 * every emitted event is complete SSE with JSON data (each chunk one
 * event, its object its JSON text, nothing after the end or an error);
 * every body returned is JSON; the usage readers read the usage the translator reads (unless
 * its output went over its cap), never negative. */
#include "fuzz_common.h"
#include "anthropic.h"
#include "cache.h"
#include "gemini.h"
#include "usage.h"

struct run {
	struct gemini_to_oai g2o;
	struct anthropic_from_oai o2a;
	struct anthropic_from_oai o2a_text;   /* the same chunks as text */
	struct gemini_usage_scan scan;   /* passthrough's usage reader */
	struct usage scan_u;
	struct buf tx, cout, cout2;
	unsigned events;
	int g_rc;
	int ended;                       /* CHUNK_DONE or CHUNK_ERROR came */
};

/* One event of the translated stream, as the router gets it. */
static int chain_chunk(const struct chunk *c, void *user)
{
	struct run *r = user;
	fuzz_check_chunk("gemini_to_oai", c, &r->ended, &r->o2a, &r->o2a_text, &r->cout, &r->cout2);
	return 0;
}

static int up_event(const struct sse_event *ev, void *user)
{
	struct run *r = user;
	if (++r->events > 20000)
		return 1;
	if (!ev->data_len || fuzz_skip_huge_index(ev->data, ev->data_len))
		return 0;
	struct chunk_sink k = { .buf = &r->tx, .fn = chain_chunk, .user = r };
	int rc = gemini_to_oai_feed_to(&r->g2o, ev->data, ev->data_len, &k);
	FUZZ_ASSERT(rc == 0 || rc == -1, "gemini_to_oai_feed_to returned %d", rc);
	if (r->g_rc == -1)
		FUZZ_ASSERT(rc == -1, "feed after a failure returned %d", rc);
	FUZZ_ASSERT(r->tx.len == 0 && !k.stopped, "the scratch buffer was left with %zu bytes", r->tx.len);
	r->g_rc = rc;
	gemini_usage_from_event(&r->scan, ev->data, ev->data_len, &r->scan_u);
	if (strcmp(r->g2o.error, "the translated stream exceeds its buffer"))
		FUZZ_ASSERT(fuzz_same_usage(&r->scan_u, &r->g2o.usage),
			    "usage reader %ld/%ld/%ld/%ld, translator %ld/%ld/%ld/%ld", r->scan_u.prompt,
			    r->scan_u.completion, r->scan_u.cached, r->scan_u.reasoning, r->g2o.usage.prompt,
			    r->g2o.usage.completion, r->g2o.usage.cached, r->g2o.usage.reasoning);
	return 0;
}

static void check_body(const char *what, char *s, const char *err)
{
	if (!s) {
		FUZZ_ASSERT(err == NULL || err[0], "%s failed without a reason", what);
		return;
	}
	FUZZ_ASSERT(fuzz_is_json(s, strlen(s)), "%s returned invalid JSON: %.300s", what, s);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	const char *s = (const char *)data;
	static struct run r;
	memset(&r, 0, sizeof(r));
	gemini_to_oai_init(&r.g2o, "gemini-2.5-flash", (int)(size & 1));
	anthropic_from_oai_init(&r.o2a, "claude-via-gemini");
	anthropic_from_oai_init(&r.o2a_text, "claude-via-gemini");
	buf_init(&r.tx, BUF_CAP_SSE_EVENT * 4);
	buf_init(&r.cout, BUF_CAP_SSE_EVENT * 4);
	buf_init(&r.cout2, BUF_CAP_SSE_EVENT * 4);

	struct sse_parser up;
	sse_init(&up, BUF_CAP_SSE_EVENT);
	(void)sse_feed(&up, s, size, up_event, &r);
	struct chunk_sink k = { .buf = &r.tx, .fn = chain_chunk, .user = &r };
	int fin = gemini_to_oai_finish_to(&r.g2o, &k);
	FUZZ_ASSERT(fin == 1 || fin == -1, "gemini_to_oai_finish_to returned %d", fin);
	FUZZ_ASSERT(fin == -1 || r.ended, "a finished stream without its end");
	buf_reset(&r.cout);
	fin = anthropic_from_oai_finish(&r.o2a, &r.cout);
	FUZZ_ASSERT(fin == 1 || fin == -1, "anthropic_from_oai_finish returned %d", fin);
	fuzz_check_sse_text("anthropic_from_oai_finish (after gemini)", r.cout.data, r.cout.len);
	FUZZ_ASSERT(memchr(r.g2o.error, '\0', sizeof(r.g2o.error)) && memchr(r.g2o.id, '\0', sizeof(r.g2o.id)),
		    "unterminated string in the stream state");
	sse_free(&up);
	buf_free(&r.tx);
	buf_free(&r.cout);
	buf_free(&r.cout2);

	char err[256];
	struct usage u;
	err[0] = '\0';
	check_body("gemini_response_to_oai", gemini_response_to_oai(s, size, "gemini-2.5-flash", &u, err, sizeof(err)), err);
	struct usage ub = { -7, -7, -7, -7, 0 }, ut = ub;
	char *tb = gemini_response_to_oai(s, size, "gemini-2.5-flash", &ut, NULL, 0);
	int read = gemini_usage_from_body(s, size, &ub);
	FUZZ_ASSERT((read || !tb) && fuzz_same_usage(&ub, &ut),
		    "gemini_usage_from_body %d %ld/%ld, translator %d %ld/%ld", read, ub.prompt, ub.completion,
		    tb != NULL, ut.prompt, ut.completion);
	free(tb);
	int status = 400 + (int)(size % 200);
	check_body("gemini_error_to_oai", gemini_error_to_oai(s, size, status), NULL);
	(void)gemini_error_key_invalid(s, size);
	long ra = gemini_error_retry_after(s, size);
	FUZZ_ASSERT(ra >= -1, "gemini_error_retry_after returned %ld", ra);
	char *msg = fuzz_strndup(data, size > 2000 ? 2000 : size);
	check_body("gemini_error_json", gemini_error_json(status, msg), NULL);
	free(msg);
	(void)gemini_error_status(status);

	/* a stored chat.completion replayed as a stream */
	struct buf sse;
	buf_init(&sse, BUF_CAP_DEFAULT * 32);
	if (cache_to_sse(s, size, (int)(size & 2), &sse) == 0)
		fuzz_check_sse_text("cache_to_sse", sse.data, sse.len);
	else
		FUZZ_ASSERT(sse.len == 0, "cache_to_sse failed but left %zu bytes", sse.len);
	buf_free(&sse);
	return 0;
}
