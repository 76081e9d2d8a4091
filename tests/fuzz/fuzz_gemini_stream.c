/* fuzz_gemini_stream.c — an upstream answer in Gemini's wire format.
 *
 * The input is fed as SSE (streamGenerateContent?alt=sse) and the data of
 * every event goes to gemini_to_oai_feed, then gemini_to_oai_finish at
 * EOF; the OpenAI chunks it emits are fed on to anthropic_from_oai_feed
 * (a /v1/messages client routed to Gemini); the data also goes to
 * gemini_usage_from_event (passthrough's usage reader). The whole input
 * also goes to gemini_response_to_oai, gemini_usage_from_body, the error
 * helpers and cache_to_sse (the replay of a cached body). Properties:
 * every emitted event is complete SSE with JSON data; every body returned
 * is JSON; the usage readers read the usage the translator reads (unless
 * its output went over its cap), never negative. */
#include "fuzz_common.h"
#include "anthropic.h"
#include "cache.h"
#include "gemini.h"
#include "usage.h"

struct run {
	struct gemini_to_oai g2o;
	struct anthropic_from_oai o2a;
	struct gemini_usage_scan scan;   /* passthrough's usage reader */
	struct usage scan_u;
	struct buf tx, cout;
	struct sse_parser oai_sse;
	unsigned events;
	int g_rc;
};

static int chain_event(const struct sse_event *ev, void *user)
{
	struct run *r = user;
	if (!ev->data_len || fuzz_skip_huge_index(ev->data, ev->data_len))
		return 0;
	buf_reset(&r->cout);
	int rc = anthropic_from_oai_feed(&r->o2a, ev->data, ev->data_len, &r->cout);
	FUZZ_ASSERT(rc >= -1 && rc <= 1, "anthropic_from_oai_feed returned %d", rc);
	fuzz_check_sse_text("anthropic_from_oai_feed (after gemini)", r->cout.data, r->cout.len);
	return 0;
}

static void pass_on(struct run *r)
{
	fuzz_check_sse_text("gemini_to_oai", r->tx.data, r->tx.len);
	if (r->tx.len)
		(void)sse_feed(&r->oai_sse, r->tx.data, r->tx.len, chain_event, r);
}

static int up_event(const struct sse_event *ev, void *user)
{
	struct run *r = user;
	if (++r->events > 20000)
		return 1;
	if (!ev->data_len || fuzz_skip_huge_index(ev->data, ev->data_len))
		return 0;
	buf_reset(&r->tx);
	int rc = gemini_to_oai_feed(&r->g2o, ev->data, ev->data_len, &r->tx);
	FUZZ_ASSERT(rc == 0 || rc == -1, "gemini_to_oai_feed returned %d", rc);
	if (r->g_rc == -1)
		FUZZ_ASSERT(rc == -1 && r->tx.len == 0, "feed after a failure appended %zu bytes", r->tx.len);
	r->g_rc = rc;
	pass_on(r);
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
	buf_init(&r.tx, BUF_CAP_SSE_EVENT * 4);
	buf_init(&r.cout, BUF_CAP_SSE_EVENT * 4);
	sse_init(&r.oai_sse, BUF_CAP_SSE_EVENT);

	struct sse_parser up;
	sse_init(&up, BUF_CAP_SSE_EVENT);
	(void)sse_feed(&up, s, size, up_event, &r);
	buf_reset(&r.tx);
	int fin = gemini_to_oai_finish(&r.g2o, &r.tx);
	FUZZ_ASSERT(fin == 1 || fin == -1, "gemini_to_oai_finish returned %d", fin);
	pass_on(&r);
	buf_reset(&r.cout);
	fin = anthropic_from_oai_finish(&r.o2a, &r.cout);
	FUZZ_ASSERT(fin == 1 || fin == -1, "anthropic_from_oai_finish returned %d", fin);
	fuzz_check_sse_text("anthropic_from_oai_finish (after gemini)", r.cout.data, r.cout.len);
	FUZZ_ASSERT(memchr(r.g2o.error, '\0', sizeof(r.g2o.error)) && memchr(r.g2o.id, '\0', sizeof(r.g2o.id)),
		    "unterminated string in the stream state");
	sse_free(&up);
	sse_free(&r.oai_sse);
	buf_free(&r.tx);
	buf_free(&r.cout);

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
