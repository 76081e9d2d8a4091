/* test_sse.c — SSE parser: splits at every byte, line endings, fields, cap, stop, pending. */
#include "autoconf.h"
#include "sse.h"
#include "tap.h"
#include "xmalloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One recorded event, copied out of the callback. */
struct rec {
	char *raw;
	size_t raw_len;
	char *event;
	char *data;
	size_t data_len;
};

struct log {
	struct rec *v;
	size_t n, alloc;
	size_t stop_at;        /* stop after this many events; 0 = never */
	int stop_rc;
	const char *lo, *hi;   /* the current feed, to see whether raw points into it */
	size_t in_feed;        /* events whose raw pointed into the feed */
	size_t bad;            /* events whose data or event was not NUL-terminated */
};

static char *dup_mem(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int collect(const struct sse_event *ev, void *user)
{
	struct log *l = user;
	struct rec *r;
	uintptr_t a = (uintptr_t)ev->raw;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	r = &l->v[l->n++];
	r->raw = dup_mem(ev->raw, ev->raw_len);
	r->raw_len = ev->raw_len;
	r->event = xstrdup(ev->event);
	r->data = dup_mem(ev->data, ev->data_len);
	r->data_len = ev->data_len;
	if (ev->data[ev->data_len] != '\0')
		l->bad++;
	if (l->lo && a >= (uintptr_t)l->lo && a < (uintptr_t)l->hi)
		l->in_feed++;
	if (l->stop_at && l->n == l->stop_at)
		return l->stop_rc;
	return 0;
}

static void log_clear(struct log *l)
{
	size_t i;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].raw);
		free(l->v[i].event);
		free(l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int feed(struct sse_parser *p, const char *s, size_t n, struct log *l)
{
	l->lo = s;
	l->hi = s + n;
	return sse_feed(p, s, n, collect, l);
}

/* Feed s in pieces ending at the given cut offsets (ascending), then the rest. */
static int feed_cuts(struct sse_parser *p, const char *s, size_t n,
		     const size_t *cuts, size_t ncuts, struct log *l)
{
	size_t i, at = 0;
	int rc;

	for (i = 0; i < ncuts; i++) {
		rc = feed(p, s + at, cuts[i] - at, l);
		if (rc)
			return rc;
		at = cuts[i];
	}
	return feed(p, s + at, n - at, l);
}

/* Reference: the event-stream rules applied to the whole input at once. */
static size_t ref_parse(const char *s, size_t n, struct log *l)
{
	struct sse_event ev;
	char *data = xmalloc(n + 1), *name = xmalloc(n + 1);
	size_t pos = 0, start = 0, dlen = 0, ndata = 0, j, el, len;
	int first = 1;

	name[0] = '\0';
	while (pos < n) {
		for (j = pos; j < n && s[j] != '\n' && s[j] != '\r'; j++)
			;
		if (j == n)
			break;
		el = s[j] == '\r' && j + 1 < n && s[j + 1] == '\n' ? 2 : 1;
		const char *line = s + pos;
		len = j - pos;
		pos = j + el;
		if (first && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			len -= 3;
			first = 0;
			if (len == 0)
				continue;
		}
		first = 0;
		if (len == 0) {
			data[dlen] = '\0';
			ev.raw = s + start;
			ev.raw_len = pos - start;
			ev.event = name;
			ev.data = data;
			ev.data_len = dlen;
			collect(&ev, l);
			start = pos;
			dlen = ndata = 0;
			name[0] = '\0';
			continue;
		}
		if (line[0] == ':')
			continue;
		const char *colon = memchr(line, ':', len);
		size_t flen = colon ? (size_t)(colon - line) : len;
		const char *val = colon ? colon + 1 : line + len;
		size_t vlen = colon ? len - flen - 1 : 0;
		if (vlen && *val == ' ') {
			val++;
			vlen--;
		}
		if (flen == 4 && memcmp(line, "data", 4) == 0) {
			if (ndata++)
				data[dlen++] = '\n';
			memcpy(data + dlen, val, vlen);
			dlen += vlen;
		} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
			memcpy(name, val, vlen);
			name[vlen] = '\0';
		}
	}
	free(data);
	free(name);
	return n - start;
}

/* Compare two event lists. With tolerant set, a raw may lack the final LF of
 * its "\r\n" terminator (an event ended by a CR at the end of a feed); the
 * number of such events is added to *orphans. Returns 1 if they match. */
static int same_events(const struct log *got, const struct log *want, int tolerant,
		       size_t *orphans, const char *what)
{
	size_t i;

	if (got->n != want->n) {
		diag("%s: %zu events, expected %zu", what, got->n, want->n);
		return 0;
	}
	for (i = 0; i < got->n; i++) {
		const struct rec *g = &got->v[i], *w = &want->v[i];
		int raw_ok = g->raw_len == w->raw_len && memcmp(g->raw, w->raw, w->raw_len) == 0;
		if (!raw_ok && tolerant && w->raw_len >= 2 && g->raw_len == w->raw_len - 1 &&
		    memcmp(g->raw, w->raw, g->raw_len) == 0 &&
		    memcmp(w->raw + g->raw_len - 1, "\r\n", 2) == 0) {
			raw_ok = 1;
			if (orphans)
				(*orphans)++;
		}
		if (!raw_ok || strcmp(g->event, w->event) != 0 || g->data_len != w->data_len ||
		    memcmp(g->data, w->data, w->data_len) != 0) {
			diag("%s: event %zu differs", what, i);
			tap_show_("got raw", g->raw, g->raw_len);
			tap_show_("want raw", w->raw, w->raw_len);
			tap_show_("got data", g->data, g->data_len);
			tap_show_("want data", w->data, w->data_len);
			return 0;
		}
	}
	return 1;
}

/* Feed s whole and return the events. */
static void whole(const char *s, size_t n, size_t cap, struct log *l, size_t *pending)
{
	struct sse_parser p;

	sse_init(&p, cap);
	feed(&p, s, n, l);
	*pending = sse_pending(&p);
	sse_free(&p);
}

static const char anthropic[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
	"\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"usage\":{\"input_tokens\":25,"
	"\"output_tokens\":1}}}\n\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":15}}\n\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n\n";

static const char openai[] =
	"data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
	": keep-alive\n\n"
	"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
	"data: [DONE]\n\n";

/* Everything at once: endings of every kind, comments, fields without colons. */
static const char tricky[] =
	"\xEF\xBB\xBF: hello\r\n"
	"event: a\rdata: 1\r\ndata:2\ndata:  3\r\r"
	"data\n\n"
	"\n"
	"id: 7\nretry: 100\nevent: x\nevent: y\ndata: z\r\n\r\n"
	":c\rdata: q\r\n:d\n\r"
	"data: tail";

/* Replace each "\n" of s by the given ending. */
static char *with_endings(const char *s, const char *eol, size_t *outlen)
{
	size_t n = strlen(s), el = strlen(eol), i, k = 0;
	char *o = xmalloc(n * el + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			memcpy(o + k, eol, el);
			k += el;
		} else {
			o[k++] = s[i];
		}
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

static void test_anthropic(void)
{
	static const char *names[] = {
		"message_start", "content_block_start", "ping", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop",
	};
	struct sse_parser p;
	struct log l = { 0 };
	size_t i, total = 0;
	int names_ok = 1;
	char *cat;

	sse_init(&p, BUF_CAP_SSE_EVENT);
	is_int(feed(&p, anthropic, strlen(anthropic), &l), 0, "anthropic: feed returns 0");
	is_int(l.n, 7, "anthropic: 7 events");
	for (i = 0; i < l.n && i < 7; i++)
		names_ok &= strcmp(l.v[i].event, names[i]) == 0;
	ok(names_ok, "anthropic: event names in order");
	if (l.n == 7) {
		is_str(l.v[2].data, "{\"type\": \"ping\"}", "anthropic: ping data");
		is_str(l.v[6].raw, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		       "anthropic: raw of message_stop");
	}
	is_int(l.in_feed, 7, "anthropic: raw points into the feed (no copy)");
	is_int(l.bad, 0, "anthropic: data NUL-terminated");
	cat = xmalloc(sizeof(anthropic));
	for (i = 0; i < l.n; i++) {
		memcpy(cat + total, l.v[i].raw, l.v[i].raw_len);
		total += l.v[i].raw_len;
	}
	is_mem(cat, total, anthropic, strlen(anthropic), "anthropic: raws concatenate to the input");
	is_int(sse_pending(&p), 0, "anthropic: nothing pending");
	free(cat);
	log_clear(&l);
	sse_free(&p);
}

static void test_openai(void)
{
	struct log l = { 0 };
	size_t pend;

	whole(openai, strlen(openai), BUF_CAP_SSE_EVENT, &l, &pend);
	is_int(l.n, 4, "openai: 4 events (one a comment)");
	if (l.n == 4) {
		is_str(l.v[0].event, "", "openai: no event name");
		is_int(l.v[1].data_len, 0, "openai: comment-only event has no data");
		is_str(l.v[1].raw, ": keep-alive\n\n", "openai: comment kept in raw");
		is_str(l.v[3].data, "[DONE]", "openai: [DONE]");
	}
	log_clear(&l);
}

/* Split at every position (and byte by byte); all must match whole feeding. */
static void every_split(const char *name, const char *s, size_t n, size_t want_orphans)
{
	struct log ref = { 0 }, want = { 0 }, got = { 0 };
	struct sse_parser p;
	size_t k, pend, ref_pend, orphans = 0;
	int all = 1, rc_ok = 1, pend_ok = 1;

	ref_pend = ref_parse(s, n, &ref);
	whole(s, n, BUF_CAP_SSE_EVENT, &want, &pend);
	ok(same_events(&want, &ref, 0, NULL, name) && pend == ref_pend,
	   "%s: whole feed matches the reference (%zu events, %zu pending)", name, want.n, pend);

	sse_init(&p, BUF_CAP_SSE_EVENT);
	for (k = 0; k <= n; k++) {
		rc_ok &= feed_cuts(&p, s, n, &k, 1, &got) == 0;
		all &= same_events(&got, &want, 1, &orphans, name);
		pend_ok &= sse_pending(&p) == pend;
		log_clear(&got);
		sse_reset(&p);
	}
	ok(all && rc_ok && pend_ok, "%s: split in two at each of %zu positions", name, n + 1);
	is_int(orphans, want_orphans, "CR-ended events reported before their LF");

	orphans = 0;
	for (k = 0; k < n; k++)
		rc_ok &= feed(&p, s + k, 1, &got) == 0;
	ok(rc_ok && same_events(&got, &want, 1, &orphans, name) && sse_pending(&p) == pend,
	   "%s: byte by byte", name);
	log_clear(&got);
	sse_free(&p);
	log_clear(&want);
	log_clear(&ref);
}

/* Split in three at every pair of positions. */
static void every_split3(const char *name, const char *s, size_t n)
{
	struct log want = { 0 }, got = { 0 };
	struct sse_parser p;
	size_t cuts[2], pend;
	int all = 1;

	whole(s, n, BUF_CAP_SSE_EVENT, &want, &pend);
	sse_init(&p, BUF_CAP_SSE_EVENT);
	for (cuts[0] = 0; cuts[0] <= n; cuts[0]++) {
		for (cuts[1] = cuts[0]; cuts[1] <= n; cuts[1]++) {
			all &= feed_cuts(&p, s, n, cuts, 2, &got) == 0;
			all &= same_events(&got, &want, 1, NULL, name);
			all &= sse_pending(&p) == pend;
			log_clear(&got);
			sse_reset(&p);
			if (!all)
				break;
		}
		if (!all)
			break;
	}
	ok(all, "%s: split in three at every pair of positions", name);
	sse_free(&p);
	log_clear(&want);
}

static void test_splits(void)
{
	char *crlf, *cr;
	size_t ncrlf, ncr;

	every_split("anthropic \\n", anthropic, strlen(anthropic), 0);
	every_split("openai \\n", openai, strlen(openai), 0);
	crlf = with_endings(anthropic, "\r\n", &ncrlf);
	/* each of the 7 events ends "\r\n\r\n": one split per event falls between its last CR and LF */
	every_split("anthropic \\r\\n", crlf, ncrlf, 7);
	cr = with_endings(anthropic, "\r", &ncr);
	every_split("anthropic \\r", cr, ncr, 0);
	every_split("tricky", tricky, strlen(tricky), 1);
	every_split3("tricky", tricky, strlen(tricky));
	every_split3("openai \\n", openai, strlen(openai));
	free(crlf);
	free(cr);
}

static void test_endings(void)
{
	struct log l = { 0 };
	size_t pend;
	static const char s1[] = "data: a\r\n\r\n";
	static const char s2[] = "data: a\r\rdata: b\r\r";
	static const char s3[] = "event: x\rdata: 1\r\ndata: 2\n\r\n";
	static const char s4[] = "data: a\r\r\n";

	whole(s1, strlen(s1), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].data, "a") == 0 && strcmp(l.v[0].raw, s1) == 0,
	   "\\r\\n endings: data and whole raw");
	log_clear(&l);

	whole(s2, strlen(s2), 1024, &l, &pend);
	ok(l.n == 2 && strcmp(l.v[0].data, "a") == 0 && strcmp(l.v[1].data, "b") == 0 &&
	   strcmp(l.v[0].raw, "data: a\r\r") == 0, "\\r endings: two events");
	log_clear(&l);

	whole(s3, strlen(s3), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].event, "x") == 0 && strcmp(l.v[0].data, "1\n2") == 0,
	   "mixed endings in one event");
	log_clear(&l);

	whole(s4, strlen(s4), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].raw, s4) == 0 && strcmp(l.v[0].data, "a") == 0,
	   "\\r then \\r\\n: one line ending, then a blank line");
	log_clear(&l);
}

static void test_fields(void)
{
	struct log l = { 0 };
	size_t pend;
	static const char multi[] = "data: a\ndata: b\ndata:c\ndata:  d\ndata:\ndata: e\n\n";
	static const char nocolon[] = "data\n\ndata\ndata\n\n";
	static const char names[] = "event: one\nevent:two\ndata: x\n\ndata: y\n\nevent\n\n";
	static const char other[] = "id: 5\nretry: 10\nfoo: bar\ndata : no\n DATA: no\ndata: yes\n\n";
	static const char comments[] = ":c1\ndata: y\n: data: no\n\n";
	static const char nul[] = "data: a\0b\n\n";
	static const char bom[] = "\xEF\xBB\xBF" "data: x\n\n\xEF\xBB\xBF" "data: y\n\n";
	static const char blank[] = "\n\n";

	whole(multi, strlen(multi), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].data, "a\nb\nc\n d\n\ne") == 0,
	   "multi-line data joined with \\n, one space stripped");
	log_clear(&l);

	whole(nocolon, strlen(nocolon), 1024, &l, &pend);
	ok(l.n == 2 && l.v[0].data_len == 0 && strcmp(l.v[1].data, "\n") == 0,
	   "field without colon has an empty value");
	log_clear(&l);

	whole(names, strlen(names), 1024, &l, &pend);
	ok(l.n == 3 && strcmp(l.v[0].event, "two") == 0 && strcmp(l.v[1].event, "") == 0 &&
	   strcmp(l.v[2].event, "") == 0 && l.v[2].data_len == 0,
	   "last event: wins and does not carry to the next event");
	log_clear(&l);

	whole(other, strlen(other), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].data, "yes") == 0 && strcmp(l.v[0].raw, other) == 0,
	   "id, retry, unknown and near-miss fields are raw only");
	log_clear(&l);

	whole(comments, strlen(comments), 1024, &l, &pend);
	ok(l.n == 1 && strcmp(l.v[0].data, "y") == 0 && strcmp(l.v[0].raw, comments) == 0,
	   "comments kept in raw, not in data");
	log_clear(&l);

	whole(nul, sizeof(nul) - 1, 1024, &l, &pend);
	ok(l.n == 1 && l.v[0].data_len == 3 && memcmp(l.v[0].data, "a\0b", 3) == 0,
	   "NUL byte in data kept, length right");
	log_clear(&l);

	whole(bom, strlen(bom), 1024, &l, &pend);
	ok(l.n == 2 && strcmp(l.v[0].data, "x") == 0 && l.v[1].data_len == 0,
	   "leading BOM ignored, only at the start of the stream");
	log_clear(&l);

	whole(blank, strlen(blank), 1024, &l, &pend);
	ok(l.n == 2 && strcmp(l.v[0].raw, "\n") == 0 && l.v[0].data_len == 0,
	   "stray blank lines are reported as empty events");
	log_clear(&l);
}

static void test_cap(void)
{
	struct sse_parser p;
	struct log l = { 0 };
	char ev32[33], ev33[34];
	size_t k;
	int all = 1;

	/* "data: " + 24 x + "\n\n" = 32 bytes */
	memcpy(ev32, "data: xxxxxxxxxxxxxxxxxxxxxxxx\n\n", 33);
	memcpy(ev33, "data: xxxxxxxxxxxxxxxxxxxxxxxxx\n\n", 34);
	sse_init(&p, 32);
	is_int(feed(&p, ev32, 32, &l), 0, "cap: an event of exactly cap bytes is accepted");
	is_int(l.n, 1, "cap: and reported");
	is_int(feed(&p, ev33, 33, &l), -2, "cap: one byte more gives -2");
	is_int(feed(&p, ev32, 32, &l), -2, "cap: feeds fail until reset");
	is_int(l.n, 1, "cap: nothing reported after the failure");
	sse_reset(&p);
	is_int(feed(&p, ev32, 32, &l), 0, "cap: usable again after sse_reset");
	log_clear(&l);

	for (k = 0; k <= 33; k++) {
		all &= feed_cuts(&p, ev33, 33, &k, 1, &l) == -2 && l.n == 0;
		sse_reset(&p);
		log_clear(&l);
	}
	for (k = 0; k <= 32; k++) {
		all &= feed_cuts(&p, ev32, 32, &k, 1, &l) == 0 && l.n == 1;
		sse_reset(&p);
		log_clear(&l);
	}
	ok(all, "cap: same verdict at every split");

	is_int(feed(&p, "data: 0123456789abc", 19, &l), 0, "cap: unfinished line under cap is held");
	is_int(feed(&p, "0123456789abcdef", 16, &l), -2, "cap: -2 as soon as held bytes pass cap");
	is_int(sse_pending(&p), 0, "cap: nothing held after the failure");
	sse_free(&p);
	log_clear(&l);
}

static void test_stop(void)
{
	struct sse_parser p;
	struct log l = { 0 };
	static const char three[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	sse_init(&p, 1024);
	l.stop_at = 2;
	l.stop_rc = 5;
	is_int(feed(&p, three, strlen(three), &l), 5, "stop: callback's value returned");
	is_int(l.n, 2, "stop: no event after the stop");
	l.stop_at = 0;
	is_int(feed(&p, "data: z\n\n", 9, &l), 0, "stop: parser usable afterwards");
	ok(l.n == 3 && strcmp(l.v[2].data, "z") == 0, "stop: next event reported");
	log_clear(&l);

	sse_reset(&p);
	l.stop_at = 1;
	l.stop_rc = -7;
	is_int(feed(&p, "data: sp", 8, &l), 0, "stop: first half of an event held");
	is_int(feed(&p, "an\n\ndata: 2\n\n", 13, &l), -7, "stop: stop on an event completed from pending");
	ok(l.n == 1 && strcmp(l.v[0].data, "span") == 0, "stop: the spanning event was reported");
	is_int(sse_pending(&p), 0, "stop: nothing held");
	sse_free(&p);
	log_clear(&l);
}

static void test_pending(void)
{
	struct sse_parser p;
	struct log l = { 0 };

	sse_init(&p, 1024);
	is_int(sse_pending(&p), 0, "pending: 0 at start");
	feed(&p, "data: a\n\ndata: partial", 22, &l);
	ok(l.n == 1 && sse_pending(&p) == 13, "pending: the cut event's bytes are held");
	feed(&p, "", 0, &l);
	is_int(sse_pending(&p), 13, "pending: empty feed changes nothing");
	feed(&p, "\n", 1, &l);
	is_int(sse_pending(&p), 14, "pending: a line ending is held too");
	feed(&p, "\n", 1, &l);
	ok(l.n == 2 && sse_pending(&p) == 0 && strcmp(l.v[1].data, "partial") == 0 &&
	   strcmp(l.v[1].raw, "data: partial\n\n") == 0, "pending: completed by a later feed");
	ok(l.in_feed == 1, "pending: a spanning event's raw is the parser's copy");
	log_clear(&l);

	feed(&p, "data: x\r", 8, &l);
	is_int(sse_pending(&p), 8, "pending: CR at the end of a feed held");
	feed(&p, "\n", 1, &l);
	is_int(sse_pending(&p), 9, "pending: its LF joins it");
	feed(&p, "\n", 1, &l);
	ok(l.n == 1 && strcmp(l.v[0].raw, "data: x\r\n\n") == 0 && strcmp(l.v[0].data, "x") == 0,
	   "pending: CRLF split across feeds inside an event");
	log_clear(&l);

	feed(&p, "data: y\r\n\r", 10, &l);
	ok(l.n == 1 && sse_pending(&p) == 0, "pending: event ended by a final CR reported at once");
	feed(&p, "\ndata: w\n\n", 11, &l);
	ok(l.n == 2 && strcmp(l.v[1].raw, "data: w\n\n") == 0,
	   "pending: the LF completing that CR is skipped");
	sse_free(&p);
	log_clear(&l);
}

static void test_large(void)
{
	struct sse_parser p;
	struct log l = { 0 };
	size_t n = 200000 + 8, i;
	char *s = xmalloc(n);
	int rc = 0;

	memcpy(s, "data: ", 6);
	memset(s + 6, 'q', 200000);
	memcpy(s + 6 + 200000, "\n\n", 2);
	sse_init(&p, BUF_CAP_SSE_EVENT);
	for (i = 0; i < n; i += 1000)
		rc |= feed(&p, s + i, n - i < 1000 ? n - i : 1000, &l);
	ok(rc == 0 && l.n == 1 && l.v[0].data_len == 200000 && l.v[0].raw_len == n,
	   "large event fed in 1000-byte pieces");
	sse_free(&p);
	log_clear(&l);
	free(s);
}

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Random streams from SSE-ish pieces, fed whole and randomly split,
 * compared with the reference. */
static void test_random(void)
{
	static const char *tok[] = {
		"data: ", "data:", "data", "event: ", "event:", ":", " ", "x", "yz",
		"\n", "\n", "\r", "\r\n", "\r\n", "id: 1", "retry: 5", "\xEF\xBB\xBF", "dat",
	};
	const size_t ntok = sizeof(tok) / sizeof(tok[0]);
	struct log ref = { 0 }, got = { 0 };
	struct sse_parser p;
	char s[512];
	size_t iter, n, ref_pend, cuts[16], ncuts, i;
	int all = 1;

	sse_init(&p, BUF_CAP_SSE_EVENT);
	for (iter = 0; iter < 5000 && all; iter++) {
		size_t ntoks = rng() % 40;
		n = 0;
		for (i = 0; i < ntoks; i++) {
			const char *t = tok[rng() % ntok];
			size_t tl = strlen(t);
			memcpy(s + n, t, tl);
			n += tl;
		}
		ref_pend = ref_parse(s, n, &ref);

		/* whole, exact */
		all &= feed(&p, s, n, &got) == 0;
		all &= same_events(&got, &ref, 0, NULL, "random whole");
		all &= sse_pending(&p) == ref_pend;
		log_clear(&got);
		sse_reset(&p);

		/* random cuts, tolerant of CR-ended events */
		ncuts = n ? rng() % 16 : 0;
		for (i = 0; i < ncuts; i++)
			cuts[i] = rng() % (n + 1);
		for (i = 1; i < ncuts; i++) {   /* insertion sort */
			size_t v = cuts[i], j = i;
			while (j > 0 && cuts[j - 1] > v) {
				cuts[j] = cuts[j - 1];
				j--;
			}
			cuts[j] = v;
		}
		all &= feed_cuts(&p, s, n, cuts, ncuts, &got) == 0;
		all &= same_events(&got, &ref, 1, NULL, "random split");
		all &= sse_pending(&p) == ref_pend;
		if (!all)
			tap_show_("input", s, n);
		log_clear(&got);
		log_clear(&ref);
		sse_reset(&p);
	}
	ok(all, "random streams: whole and split feeds match the reference (%zu streams)", iter);
	sse_free(&p);
}

int main(void)
{
	test_anthropic();
	test_openai();
	test_splits();
	test_endings();
	test_fields();
	test_cap();
	test_stop();
	test_pending();
	test_large();
	test_random();
	return done_testing();
}
