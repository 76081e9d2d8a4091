/* fuzz_anthropic_stream.c — an upstream answer in Anthropic's or OpenAI's
 * wire format, as the Anthropic translations see it.
 *
 * The input is fed as SSE (sse_feed) and every event goes to
 *   anthropic_to_oai_feed_to (Anthropic upstream → OpenAI client), whose
 *                           events are handed on as structured values
 *                           (chunk.h), as the router does for
 *                           /v1/messages clients, to
 *   anthropic_from_oai_chunk (OpenAI chunks → Anthropic client), and their
 *                           text to anthropic_from_oai_feed (the same
 *                           bytes must come out),
 *   and directly to a second anthropic_from_oai_feed (the input read as an
 *                           OpenAI upstream's chunks),
 * and to anthropic_usage_from_event (passthrough's usage reader), then
 * anthropic_from_oai_finish. The whole input also goes to
 * anthropic_response_to_oai, anthropic_usage_from_body,
 * anthropic_response_from_oai and the error converters. Properties:
 * everything the translators emit is complete SSE events with JSON data
 * (each chunk one event, its object its JSON text, nothing after the end
 * or an error), and every body they return is JSON; the usage readers read the usage the
 * translator reads (unless its output went over its cap), never negative,
 * and message_stop once at most. */
#include "fuzz_common.h"
#include "anthropic.h"
#include "usage.h"

struct run {
	struct anthropic_to_oai a2o;
	struct anthropic_from_oai o2a_chain;
	struct anthropic_from_oai o2a_text;   /* the same chunks as text */
	struct anthropic_from_oai o2a_direct;
	struct anthropic_usage_scan scan;   /* passthrough's usage reader */
	struct usage scan_u;
	int scan_lasts;
	struct buf tx, cout, cout2;
	int a2o_rc, direct_rc;
	int ended;                          /* CHUNK_DONE or CHUNK_ERROR came */
	unsigned events;
};

/* One event of the translated stream, as the router gets it. */
static int chain_chunk(const struct chunk *c, void *user)
{
	struct run *r = user;
	fuzz_check_chunk("anthropic_to_oai_feed_to", c, &r->ended, &r->o2a_chain, &r->o2a_text, &r->cout, &r->cout2);
	return 0;
}

static int up_event(const struct sse_event *ev, void *user)
{
	struct run *r = user;
	r->events++;
	if (r->events > 20000)
		return 1;
	struct chunk_sink k = { .buf = &r->tx, .fn = chain_chunk, .user = r };
	int rc = anthropic_to_oai_feed_to(&r->a2o, ev->event, ev->data, ev->data_len, &k);
	FUZZ_ASSERT(rc >= -1 && rc <= 1, "anthropic_to_oai_feed_to returned %d", rc);
	if (r->a2o_rc != 0)
		FUZZ_ASSERT(rc == r->a2o_rc, "feed after the end returned %d", rc);
	FUZZ_ASSERT(r->tx.len == 0 && !k.stopped, "the scratch buffer was left with %zu bytes", r->tx.len);
	r->a2o_rc = rc;
	r->scan_lasts += anthropic_usage_from_event(&r->scan, ev->event, ev->data, ev->data_len, &r->scan_u);
	FUZZ_ASSERT(r->scan_lasts <= 1, "the usage reader saw %d last events", r->scan_lasts);
	if (strcmp(r->a2o.error, "the translated stream exceeds its buffer"))
		FUZZ_ASSERT(fuzz_same_usage(&r->scan_u, &r->a2o.usage) &&
			    (r->a2o.done == r->scan.done || !r->scan.done),
			    "usage reader %ld/%ld/%ld (done %d), translator %ld/%ld/%ld (done %d)", r->scan_u.prompt,
			    r->scan_u.completion, r->scan_u.cached, r->scan.done, r->a2o.usage.prompt,
			    r->a2o.usage.completion, r->a2o.usage.cached, r->a2o.done);

	if (ev->data_len && !fuzz_skip_huge_index(ev->data, ev->data_len)) {
		buf_reset(&r->cout);
		rc = anthropic_from_oai_feed(&r->o2a_direct, ev->data, ev->data_len, &r->cout);
		FUZZ_ASSERT(rc >= -1 && rc <= 1, "anthropic_from_oai_feed returned %d", rc);
		fuzz_check_sse_text("anthropic_from_oai_feed", r->cout.data, r->cout.len);
		r->direct_rc = rc;
	}
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
	anthropic_to_oai_init(&r.a2o, "claude-sonnet-4", (int)(size & 1));
	anthropic_from_oai_init(&r.o2a_chain, "claude-sonnet-4");
	anthropic_from_oai_init(&r.o2a_text, "claude-sonnet-4");
	anthropic_from_oai_init(&r.o2a_direct, "gpt-4o");
	buf_init(&r.tx, BUF_CAP_SSE_EVENT * 4);
	buf_init(&r.cout, BUF_CAP_SSE_EVENT * 4);
	buf_init(&r.cout2, BUF_CAP_SSE_EVENT * 4);

	struct sse_parser up;
	sse_init(&up, BUF_CAP_SSE_EVENT);
	(void)sse_feed(&up, s, size, up_event, &r);
	/* EOF */
	buf_reset(&r.cout);
	int fin = anthropic_from_oai_finish(&r.o2a_chain, &r.cout);
	FUZZ_ASSERT(fin == 1 || fin == -1, "anthropic_from_oai_finish returned %d", fin);
	fuzz_check_sse_text("anthropic_from_oai_finish (chained)", r.cout.data, r.cout.len);
	buf_reset(&r.cout);
	fin = anthropic_from_oai_finish(&r.o2a_direct, &r.cout);
	FUZZ_ASSERT(fin == 1 || fin == -1, "anthropic_from_oai_finish returned %d", fin);
	fuzz_check_sse_text("anthropic_from_oai_finish", r.cout.data, r.cout.len);
	FUZZ_ASSERT(memchr(r.a2o.error, '\0', sizeof(r.a2o.error)) && memchr(r.a2o.id, '\0', sizeof(r.a2o.id)),
		    "unterminated string in the stream state");
	FUZZ_ASSERT(r.a2o.usage.prompt >= 0 && r.a2o.usage.completion >= 0, "negative usage %ld/%ld",
		    r.a2o.usage.prompt, r.a2o.usage.completion);
	sse_free(&up);
	buf_free(&r.tx);
	buf_free(&r.cout);
	buf_free(&r.cout2);

	/* the whole input as one body */
	char err[256];
	struct usage u;
	err[0] = '\0';
	check_body("anthropic_response_to_oai", anthropic_response_to_oai(s, size, "claude-sonnet-4", &u, err, sizeof(err)), err);
	struct usage ub = { -7, -7, -7, -7, 0 }, ut = ub;
	char *tb = anthropic_response_to_oai(s, size, "claude-sonnet-4", &ut, NULL, 0);
	int read = anthropic_usage_from_body(s, size, &ub);
	FUZZ_ASSERT((read || !tb) && fuzz_same_usage(&ub, &ut),
		    "anthropic_usage_from_body %d %ld/%ld, translator %d %ld/%ld", read, ub.prompt, ub.completion,
		    tb != NULL, ut.prompt, ut.completion);
	FUZZ_ASSERT(!read || (ub.prompt >= 0 && ub.completion >= 0 && ub.cached >= 0), "negative usage from a body");
	free(tb);
	err[0] = '\0';
	check_body("anthropic_response_to_oai(NULL model)", anthropic_response_to_oai(s, size, NULL, NULL, err, sizeof(err)), err);
	err[0] = '\0';
	check_body("anthropic_response_from_oai", anthropic_response_from_oai(s, size, "gpt-4o", &u, err, sizeof(err)), err);
	int status = 400 + (int)(size % 200);
	check_body("anthropic_error_to_oai", anthropic_error_to_oai(s, size, status), NULL);
	check_body("anthropic_error_from_oai", anthropic_error_from_oai(s, size, status), NULL);
	char *msg = fuzz_strndup(data, size > 2000 ? 2000 : size);
	check_body("anthropic_error_json", anthropic_error_json(anthropic_error_type(status), msg), NULL);
	free(msg);
	return 0;
}
