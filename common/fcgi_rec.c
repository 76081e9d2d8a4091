/* fcgi_rec.c — the FastCGI record layer for non-blocking answers (fcgi_rec.h). */
#include "autoconf.h"
#include "fcgi_rec.h"
#include <string.h>

static void put_head(unsigned char *h, unsigned type, unsigned id, size_t clen, unsigned plen)
{
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(clen >> 8);
	h[5] = (unsigned char)clen;
	h[6] = (unsigned char)plen;
	h[7] = 0;
}

/* One record of type with content p[0..n) (n <= FCGI_REC_CONTENT_MAX),
 * padded to 8. 0, or -1 with out as it was. */
static int put_record(struct buf *out, unsigned type, unsigned id, const void *p, size_t n)
{
	static const unsigned char zeros[8];
	unsigned pad = (unsigned)((8 - n % 8) % 8);
	size_t before = out->len;
	unsigned char h[FCGI_REC_HEADER];
	put_head(h, type, id, n, pad);
	if (buf_append(out, h, sizeof(h)) != 0 || (n && buf_append(out, p, n) != 0) ||
	    (pad && buf_append(out, zeros, pad) != 0)) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		return -1;
	}
	return 0;
}

int fcgi_rec_stdout(struct buf *out, unsigned id, const void *p, size_t n)
{
	size_t before = out->len;
	const unsigned char *c = p;
	while (n) {
		size_t k = n > FCGI_REC_CONTENT_MAX ? FCGI_REC_CONTENT_MAX : n;
		if (put_record(out, FCGI_REC_STDOUT, id, c, k) != 0) {
			out->len = before;
			if (out->data)
				out->data[before] = '\0';
			return -1;
		}
		c += k;
		n -= k;
	}
	return 0;
}

int fcgi_rec_stderr_end(struct buf *out, unsigned id)
{
	return put_record(out, FCGI_REC_STDERR, id, NULL, 0);
}

int fcgi_rec_end(struct buf *out, unsigned id, unsigned app_status)
{
	size_t before = out->len;
	unsigned char body[8] = {
		(unsigned char)(app_status >> 24), (unsigned char)(app_status >> 16),
		(unsigned char)(app_status >> 8), (unsigned char)app_status, FCGI_REC_REQUEST_COMPLETE, 0, 0, 0,
	};
	if (put_record(out, FCGI_REC_STDOUT, id, NULL, 0) != 0 ||
	    put_record(out, FCGI_REC_END_REQUEST, id, body, sizeof(body)) != 0) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		return -1;
	}
	return 0;
}

void fcgi_rec_reader_init(struct fcgi_rec_reader *rd)
{
	rd->have = 0;
	rd->failed = 0;
}

static size_t rec_clen(const unsigned char *h)
{
	return ((size_t)h[4] << 8) | h[5];
}

/* A header breaks the protocol: not version 1, a management record
 * (GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE) with a request id, or an
 * application record with id 0. Unknown types are only allowed as
 * management records (id 0), where they are answered UNKNOWN_TYPE. */
static int head_bad(const unsigned char *h)
{
	unsigned type = h[1], id = ((unsigned)h[2] << 8) | h[3];
	if (h[0] != 1)
		return 1;
	int mgmt = type == FCGI_REC_GET_VALUES || type == FCGI_REC_GET_VALUES_RESULT || type == FCGI_REC_UNKNOWN_TYPE ||
		   type > FCGI_REC_UNKNOWN_TYPE || type == 0;
	return mgmt ? id != 0 : id == 0;
}

int fcgi_rec_feed(struct fcgi_rec_reader *rd, const void *p, size_t n, fcgi_rec_cb cb, void *user)
{
	const unsigned char *c = p;
	if (rd->failed)
		return -1;
	while (n) {
		if (rd->have < FCGI_REC_HEADER) {
			size_t k = FCGI_REC_HEADER - rd->have;
			if (k > n)
				k = n;
			memcpy(rd->head + rd->have, c, k);
			rd->have += k;
			c += k;
			n -= k;
			if (rd->have < FCGI_REC_HEADER)
				break;
			if (head_bad(rd->head)) {
				rd->failed = 1;
				return -1;
			}
		}
		size_t clen = rec_clen(rd->head), plen = rd->head[6];
		size_t at = rd->have - FCGI_REC_HEADER, total = clen + plen;
		size_t k = total - at < n ? total - at : n;
		if (at < FCGI_REC_KEEP && at < clen) {
			size_t kc = (clen < FCGI_REC_KEEP ? clen : FCGI_REC_KEEP) - at;
			memcpy(rd->content + at, c, kc < k ? kc : k);
		}
		rd->have += k;
		c += k;
		n -= k;
		if (rd->have - FCGI_REC_HEADER < total)
			break;
		struct fcgi_rec rec = { rd->head[1], ((unsigned)rd->head[2] << 8) | rd->head[3], rd->content,
					 clen < FCGI_REC_KEEP ? clen : FCGI_REC_KEEP, clen };
		rd->have = 0;
		int stop = cb ? cb(&rec, user) : 0;
		if (stop)
			return stop;
	}
	return 0;
}

/* GET_VALUES: the names asked for, each answered if the router knows it
 * (FCGI_MPXS_CONNS 0; the others are the web server's to guess). */
static int reply_values(struct buf *out, const struct fcgi_rec *rec)
{
	static const char mpxs[] = "FCGI_MPXS_CONNS";
	const unsigned char *c = rec->content, *end = c + rec->kept;
	int asked = 0;
	while (c < end) {
		size_t len[2];
		for (int i = 0; i < 2; i++) {
			if (c >= end)
				return 0;
			if (*c & 0x80) {
				if (end - c < 4)
					return 0;
				len[i] = ((size_t)(c[0] & 0x7f) << 24) | ((size_t)c[1] << 16) | ((size_t)c[2] << 8) | c[3];
				c += 4;
			} else {
				len[i] = *c++;
			}
		}
		if (len[0] > (size_t)(end - c) || len[1] > (size_t)(end - c) - len[0])
			break;
		if (len[0] == sizeof(mpxs) - 1 && !memcmp(c, mpxs, len[0]))
			asked = 1;
		c += len[0] + len[1];
	}
	unsigned char pair[2 + sizeof(mpxs)] = { sizeof(mpxs) - 1, 1 };
	memcpy(pair + 2, mpxs, sizeof(mpxs) - 1);
	pair[sizeof(pair) - 1] = '0';
	return put_record(out, FCGI_REC_GET_VALUES_RESULT, 0, pair, asked ? sizeof(pair) : 0);
}

int fcgi_rec_reply(struct buf *out, unsigned id, const struct fcgi_rec *rec)
{
	if (rec->id == 0) {
		if (rec->type == FCGI_REC_GET_VALUES)
			return reply_values(out, rec);
		unsigned char body[8] = { (unsigned char)rec->type };
		return put_record(out, FCGI_REC_UNKNOWN_TYPE, 0, body, sizeof(body));
	}
	if (rec->id == id)
		return rec->type == FCGI_REC_ABORT_REQUEST;
	if (rec->type == FCGI_REC_BEGIN_REQUEST) {
		unsigned char body[8] = { 0, 0, 0, 0, FCGI_REC_CANT_MPX_CONN };
		return put_record(out, FCGI_REC_END_REQUEST, rec->id, body, sizeof(body)) == 0 ? 0 : -1;
	}
	return 0;   /* records of a request that was never begun here */
}
