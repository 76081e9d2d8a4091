/* fuzz_fcgi_rec.c — the FastCGI record reader fed the input in pieces must
 * hand on the same records (type, id, length, kept content) and end the
 * same way as when fed it whole; every record it hands on is answered by
 * fcgi_rec_reply without passing its buffer's cap; and the writer's
 * records of the input, read back, carry the input exactly.
 *
 * Input: bytes 0..7 pick the split points, the rest is what a web server
 * sends on the connection. */
#include "fuzz_common.h"
#include "fcgi_rec.h"

#define MAX_RECS 256

struct seen {
	unsigned type[MAX_RECS], id[MAX_RECS];
	size_t len[MAX_RECS];
	uint32_t sum[MAX_RECS];   /* of the kept content */
	size_t n;
	struct buf replies;
	struct buf content;       /* kept content, in order */
};

static uint32_t sum_of(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int on_rec(const struct fcgi_rec *rec, void *user)
{
	struct seen *s = user;
	FUZZ_ASSERT(rec->len <= FCGI_REC_CONTENT_MAX && rec->kept <= rec->len && rec->kept <= FCGI_REC_KEEP,
		    "lengths %zu kept %zu", rec->len, rec->kept);
	FUZZ_ASSERT(rec->kept == (rec->len < FCGI_REC_KEEP ? rec->len : FCGI_REC_KEEP), "kept %zu of %zu",
		    rec->kept, rec->len);
	if (s->n < MAX_RECS) {
		s->type[s->n] = rec->type;
		s->id[s->n] = rec->id;
		s->len[s->n] = rec->len;
		s->sum[s->n] = sum_of(rec->content, rec->kept);
	}
	s->n++;
	size_t before = s->replies.len;
	int r = fcgi_rec_reply(&s->replies, 1, rec);
	FUZZ_ASSERT(r == -1 || s->replies.len % 8 == 0, "reply records of 8-byte multiples (%zu)", s->replies.len);
	FUZZ_ASSERT(r != 1 || (rec->type == FCGI_REC_ABORT_REQUEST && rec->id == 1), "stop only on our abort");
	if (r == -1)
		FUZZ_ASSERT(s->replies.len == before, "a refused reply leaves the buffer");
	if (rec->type == FCGI_REC_STDOUT)
		buf_append(&s->content, rec->content, rec->kept);
	return 0;
}

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->replies, 256);
	buf_init(&s->content, 1 << 20);
}

static void seen_free(struct seen *s)
{
	buf_free(&s->replies);
	buf_free(&s->content);
}

static struct fcgi_rec_reader rd;

/* the writer's records of the input, read back: the same bytes */
static void round_trip(const uint8_t *p, size_t n)
{
	struct buf out;
	buf_init(&out, 1 << 22);
	FUZZ_ASSERT(fcgi_rec_stdout(&out, 7, p, n) == 0 && fcgi_rec_end(&out, 7, 0) == 0, "fits");
	struct seen s;
	seen_init(&s);
	fcgi_rec_reader_init(&rd);
	FUZZ_ASSERT(fcgi_rec_feed(&rd, out.data, out.len, on_rec, &s) == 0, "the writer's records read back");
	FUZZ_ASSERT(rd.have == 0, "nothing left over");
	size_t total = 0;
	for (size_t i = 0; i < s.n && i < MAX_RECS; i++) {
		FUZZ_ASSERT(s.id[i] == 7, "id");
		if (s.type[i] == FCGI_REC_STDOUT)
			total += s.len[i];
	}
	FUZZ_ASSERT(total == n, "content %zu of %zu", total, n);
	FUZZ_ASSERT(n > FCGI_REC_KEEP || (s.content.len == n && (!n || !memcmp(s.content.data, p, n))), "same bytes");
	seen_free(&s);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8 || size > 1 << 20)
		return 0;
	const uint8_t *p = data + 8;
	size_t n = size - 8;
	struct seen whole, parts;
	seen_init(&whole);
	seen_init(&parts);
	fcgi_rec_reader_init(&rd);
	int rw = fcgi_rec_feed(&rd, p, n, on_rec, &whole);
	size_t left_whole = rd.have;
	fcgi_rec_reader_init(&rd);
	int rp = 0;
	size_t at = 0;
	for (int i = 0; i < 8 && rp == 0 && at < n; i++) {
		size_t k = (size_t)data[i] * (i + 1);
		if (k > n - at)
			k = n - at;
		rp = fcgi_rec_feed(&rd, p + at, k, on_rec, &parts);
		at += k;
	}
	if (rp == 0 && at < n)
		rp = fcgi_rec_feed(&rd, p + at, n - at, on_rec, &parts);
	FUZZ_ASSERT(rw == rp, "whole %d, in pieces %d", rw, rp);
	FUZZ_ASSERT(whole.n == parts.n, "records whole %zu, in pieces %zu", whole.n, parts.n);
	for (size_t i = 0; i < whole.n && i < MAX_RECS; i++)
		FUZZ_ASSERT(whole.type[i] == parts.type[i] && whole.id[i] == parts.id[i] && whole.len[i] == parts.len[i] &&
			    whole.sum[i] == parts.sum[i], "record %zu differs", i);
	FUZZ_ASSERT(rw != 0 || left_whole == rd.have, "the same part of a record pending");
	FUZZ_ASSERT(whole.replies.len == parts.replies.len &&
		    (!whole.replies.len || !memcmp(whole.replies.data, parts.replies.data, whole.replies.len)),
		    "the same replies");
	seen_free(&whole);
	seen_free(&parts);
	round_trip(p, n < 200000 ? n : 200000);
	return 0;
}
