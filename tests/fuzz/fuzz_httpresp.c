/* fuzz_httpresp.c — the upstream response reader (common/httpresp.c):
 * fed in pieces, it must come to the same outcome as fed whole (result,
 * status, keep-alive, body bytes, bytes left over), hand on no more body
 * than it was given, and never read outside its input.
 *
 * Input: bytes 0..3 pick the split points, byte 4 whether the connection
 * ends after the input; the rest is what the upstream sent. */
#include "fuzz_common.h"
#include "httpresp.h"

struct out {
	unsigned char *body;
	size_t n, cap;
	int heads;
};

static int on_head(void *u, const struct hresp *r)
{
	struct out *o = u;
	o->heads++;
	FUZZ_ASSERT(r->status >= 200 && r->status <= 999, "on_head with status %d", r->status);
	return 0;
}

static int on_data(void *u, const char *p, size_t n)
{
	struct out *o = u;
	FUZZ_ASSERT(o->heads == 1, "body before a head");
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2;
		o->body = realloc(o->body, o->cap);
		if (!o->body)
			abort();
	}
	memcpy(o->body + o->n, p, n);
	o->n += n;
	return 0;
}

struct run {
	enum hresp_result res;
	int status, keep;
	size_t taken;
	struct out o;
};

static void feed(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts, int eof, struct run *rn)
{
	struct hresp r;
	memset(rn, 0, sizeof(*rn));
	hresp_init(&r);
	r.on_head = on_head;
	r.on_data = on_data;
	r.user = &rn->o;
	enum hresp_result res = HRESP_MORE;
	size_t at = 0;
	for (size_t k = 0; k <= ncuts && res == HRESP_MORE; k++) {
		size_t end = k < ncuts ? cuts[k] : size;
		if (end < at)
			end = at;
		/* the piece in a buffer of its own size: ASan sees any overread */
		size_t len = end - at;
		char *piece = malloc(len ? len : 1);
		if (!piece)
			abort();
		memcpy(piece, data + at, len);
		size_t used = 0;
		res = hresp_feed(&r, piece, len, &used);
		free(piece);
		FUZZ_ASSERT(used <= len, "used %zu of %zu", used, len);
		FUZZ_ASSERT(res != HRESP_MORE || used == len, "more wanted, yet bytes left");
		at += used;
	}
	if (res == HRESP_MORE && eof)
		res = hresp_eof(&r);
	rn->res = res;
	rn->status = r.status;
	rn->keep = r.keep_alive;
	rn->taken = at;
	if (res == HRESP_ERROR)
		FUZZ_ASSERT(r.err[0], "an error without a reason");
	hresp_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	size_t cuts[4];
	const uint8_t *msg = data + 5;
	size_t n = size - 5;
	for (int i = 0; i < 4; i++)
		cuts[i] = n ? data[i] * n / 256 : 0;
	for (int i = 1; i < 4; i++)   /* ascending */
		for (int j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
			size_t t = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	int eof = data[4] & 1;
	struct run whole, parts;
	feed(msg, n, NULL, 0, eof, &whole);
	feed(msg, n, cuts, 4, eof, &parts);
	FUZZ_ASSERT(whole.res == parts.res, "whole %d, in pieces %d", whole.res, parts.res);
	FUZZ_ASSERT(whole.o.n <= n, "more body (%zu) than input (%zu)", whole.o.n, n);
	if (whole.res == HRESP_COMPLETE) {
		FUZZ_ASSERT(whole.status == parts.status && whole.keep == parts.keep, "head differs in pieces");
		FUZZ_ASSERT(whole.taken == parts.taken, "taken %zu whole, %zu in pieces", whole.taken, parts.taken);
		FUZZ_ASSERT(whole.o.n == parts.o.n && (!whole.o.n || !memcmp(whole.o.body, parts.o.body, whole.o.n)),
			    "body differs in pieces");
	}
	free(whole.o.body);
	free(parts.o.body);
	return 0;
}
