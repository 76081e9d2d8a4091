/* fuzz_sse.c — sse_feed fed the input in pieces must report the same
 * events (name, data; raw up to the documented CR/LF case) as when fed it
 * whole, and account for every byte.
 *
 * Input: byte 0 picks the event cap (small caps exercise the -2 path),
 * bytes 1..8 pick the split points, the rest is the stream. */
#include "fuzz_common.h"

#define MAX_EVENTS 4096

struct ev {
	char *name;
	char *data;
	size_t data_len;
	char *raw;
	size_t raw_len;
};

struct rec {
	struct ev *v;     /* grows as needed, up to MAX_EVENTS kept */
	size_t alloc;
	size_t n;
	size_t stop_at;   /* stop (return 1) at this event; 0: never */
	int stopped;
};

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int on_event(const struct sse_event *e, void *user)
{
	struct rec *r = user;
	FUZZ_ASSERT(e->event && e->data && e->raw, "NULL field in an event");
	FUZZ_ASSERT(e->data[e->data_len] == '\0', "data not NUL-terminated");
	FUZZ_ASSERT(strlen(e->data) <= e->data_len, "data_len too small");
	FUZZ_ASSERT(e->raw_len >= 1, "an event without bytes");
	if (r->n < MAX_EVENTS) {
		if (r->n == r->alloc) {
			r->alloc = r->alloc ? r->alloc * 2 : 16;
			r->v = realloc(r->v, r->alloc * sizeof(*r->v));
			if (!r->v)
				abort();
		}
		struct ev *v = &r->v[r->n];
		v->name = dupn(e->event, strlen(e->event));
		v->data = dupn(e->data, e->data_len);
		v->data_len = e->data_len;
		v->raw = dupn(e->raw, e->raw_len);
		v->raw_len = e->raw_len;
	}
	r->n++;
	if (r->stop_at && r->n == r->stop_at) {
		r->stopped = 1;
		return 1;
	}
	return 0;
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n && i < MAX_EVENTS; i++) {
		free(r->v[i].name);
		free(r->v[i].data);
		free(r->v[i].raw);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* raw texts are equal, or the piecewise one is the whole one without the
 * LF of a CRLF that the parser reported at the CR (documented) */
static int raw_equal(const struct ev *whole, const struct ev *piece)
{
	if (whole->raw_len == piece->raw_len && !memcmp(whole->raw, piece->raw, whole->raw_len))
		return 1;
	return whole->raw_len == piece->raw_len + 1 && piece->raw_len && piece->raw[piece->raw_len - 1] == '\r' &&
	       whole->raw[whole->raw_len - 1] == '\n' && !memcmp(whole->raw, piece->raw, piece->raw_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9 || size > (1u << 20))
		return 0;
	static const size_t caps[] = { 8, 64, 1000, 4096, BUF_CAP_SSE_EVENT };
	size_t cap = caps[data[0] % 5];
	size_t cuts[8];
	for (int i = 0; i < 8; i++)
		cuts[i] = data[1 + i];
	const char *s = (const char *)data + 9;
	size_t n = size - 9;

	struct rec whole, piece;
	memset(&whole, 0, sizeof(whole));
	memset(&piece, 0, sizeof(piece));

	struct sse_parser p;
	sse_init(&p, cap);
	int rw = sse_feed(&p, s, n, on_event, &whole);
	size_t pend_whole = sse_pending(&p);
	FUZZ_ASSERT(rw == 0 || rw == -2, "whole feed returned %d", rw);
	if (rw == 0) {
		/* every byte accounted for: raw of the events, then pending */
		size_t sum = pend_whole;
		for (size_t i = 0; i < whole.n && i < MAX_EVENTS; i++)
			sum += whole.v[i].raw_len;
		if (whole.n <= MAX_EVENTS)
			FUZZ_ASSERT(sum == n, "raw bytes %zu + pending %zu != fed %zu", sum - pend_whole,
				    pend_whole, n);
	}
	/* the same parser is reusable after sse_reset */
	sse_reset(&p);

	/* piecewise: split at positions derived from the header bytes */
	size_t pos = 0;
	int rp = 0;
	for (int i = 0; i < 8 && pos < n && rp == 0; i++) {
		size_t len = cuts[i] % 32;
		if (i & 1)
			len = cuts[i];    /* some long pieces too */
		if (len > n - pos)
			len = n - pos;
		rp = sse_feed(&p, s + pos, len, on_event, &piece);
		pos += len;
	}
	/* then one byte at a time for a while, then the rest */
	for (int i = 0; i < 64 && pos < n && rp == 0; i++, pos++)
		rp = sse_feed(&p, s + pos, 1, on_event, &piece);
	if (pos < n && rp == 0)
		rp = sse_feed(&p, s + pos, n - pos, on_event, &piece);
	FUZZ_ASSERT(rp == 0 || rp == -2, "piecewise feed returned %d", rp);

	/* The same events either way (and the same pending bytes). One
	 * documented exception: an event ended by a CRLF whose CR closes a
	 * piece is reported at the CR and the LF is skipped, so fed in pieces
	 * it counts one byte less against the cap: an event of exactly cap + 1
	 * bytes passes piecewise and fails whole. Then the whole feed must have
	 * failed right at that event. */
	size_t common = whole.n < piece.n ? whole.n : piece.n;
	for (size_t i = 0; i < common && i < MAX_EVENTS; i++) {
		const struct ev *a = &whole.v[i], *b = &piece.v[i];
		FUZZ_ASSERT(!strcmp(a->name, b->name), "event %zu name '%s' vs '%s'", i, a->name, b->name);
		FUZZ_ASSERT(a->data_len == b->data_len && !memcmp(a->data, b->data, a->data_len),
			    "event %zu data differs", i);
		FUZZ_ASSERT(raw_equal(a, b), "event %zu raw differs (%zu vs %zu bytes)", i, a->raw_len, b->raw_len);
	}
	int boundary = rw == -2 && piece.n > whole.n && whole.n < MAX_EVENTS &&
		       piece.v[whole.n].raw_len == cap && piece.v[whole.n].raw[cap - 1] == '\r';
	if (!boundary) {
		FUZZ_ASSERT((rw == -2) == (rp == -2), "cap exceeded whole=%d piecewise=%d (cap %zu)", rw, rp, cap);
		FUZZ_ASSERT(whole.n == piece.n, "events: whole %zu, piecewise %zu (cap %zu)", whole.n, piece.n, cap);
		if (rw == 0)
			FUZZ_ASSERT(sse_pending(&p) == pend_whole, "pending whole %zu piecewise %zu", pend_whole,
				    sse_pending(&p));
	}
	rec_free(&whole);
	rec_free(&piece);

	/* a callback that stops: the parser stays usable and the events up to
	 * the stop are the same */
	struct rec stopper;
	struct rec *stop = &stopper;
	memset(stop, 0, sizeof(*stop));
	stop->stop_at = 1 + data[1] % 4;
	sse_reset(&p);
	int rs = sse_feed(&p, s, n, on_event, stop);
	FUZZ_ASSERT(rs == 0 || rs == 1 || rs == -2, "stopping feed returned %d", rs);
	if (rs == 1)
		FUZZ_ASSERT(stop->stopped, "returned 1 without the callback stopping");
	rec_free(stop);
	sse_free(&p);
	return 0;
}
