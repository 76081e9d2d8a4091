/* sse.c — incremental Server-Sent-Events parser (WHATWG event-stream rules). */
#include "autoconf.h"
#include "sse.h"
#include <string.h>

#define SSE_ERR_CAP (-2)

void sse_init(struct sse_parser *p, size_t cap)
{
	buf_init(&p->pending, cap);
	buf_init(&p->data, cap);
	buf_init(&p->name, cap);
	p->cap = cap;
	p->line_start = 0;
	p->ndata = 0;
	p->cr_seen = 0;
	p->started = 0;
	p->failed = 0;
}

/* Index of the first CR or LF in s[0..n), or n if there is none. */
static size_t sse_eol(const char *s, size_t n)
{
	const char *lf = memchr(s, '\n', n);
	size_t lim = lf ? (size_t)(lf - s) : n;
	const char *cr = memchr(s, '\r', lim);

	return cr ? (size_t)(cr - s) : lim;
}

/* Length of the line ending that starts at s[j]. A CR that is the last byte
 * counts alone; *cr_seen records that an LF may still follow in the next feed. */
static size_t sse_eol_len(const char *s, size_t j, size_t n, int *cr_seen)
{
	if (s[j] == '\n')
		return 1;
	if (j + 1 < n)
		return s[j + 1] == '\n' ? 2 : 1;
	*cr_seen = 1;
	return 1;
}

/* Apply one complete, non-blank line (without its ending) to the event. */
static int sse_line(struct sse_parser *p, const char *s, size_t n)
{
	const char *colon, *val;
	size_t flen, vlen;

	if (!p->started) {
		p->started = 1;
		if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;
			n -= 3;
		}
	}
	if (n == 0 || s[0] == ':')
		return 0;
	colon = memchr(s, ':', n);
	flen = colon ? (size_t)(colon - s) : n;
	val = colon ? colon + 1 : s + n;
	vlen = colon ? n - flen - 1 : 0;
	if (vlen && val[0] == ' ') {
		val++;
		vlen--;
	}
	if (flen == 4 && memcmp(s, "data", 4) == 0) {
		if (p->ndata++ && buf_append(&p->data, "\n", 1) != 0)
			return -1;
		if (buf_append(&p->data, val, vlen) != 0)
			return -1;
	} else if (flen == 5 && memcmp(s, "event", 5) == 0) {
		buf_reset(&p->name);
		if (buf_append(&p->name, val, vlen) != 0)
			return -1;
	}
	return 0;
}

/* Report the finished event and clear the per-event fields. */
static int sse_dispatch(struct sse_parser *p, const char *raw, size_t len,
			sse_event_cb cb, void *user)
{
	struct sse_event ev;
	int rc = 0;

	ev.raw = raw;
	ev.raw_len = len;
	ev.event = buf_str(&p->name);
	ev.data = buf_str(&p->data);
	ev.data_len = p->data.len;
	if (cb)
		rc = cb(&ev, user);
	buf_reset(&p->name);
	buf_reset(&p->data);
	p->ndata = 0;
	p->started = 1;
	return rc;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t n, sse_event_cb cb, void *user)
{
	size_t i = 0, j, el, start, linelen;
	const char *line;
	int rc = 0;

	if (p->failed)
		return SSE_ERR_CAP;
	if (n == 0)
		return 0;

	/* The LF of a CRLF split across feeds. */
	if (p->cr_seen) {
		p->cr_seen = 0;
		if (buf[0] == '\n') {
			i = 1;
			if (p->pending.len) {
				if (buf_append(&p->pending, "\n", 1) != 0)
					goto toobig;
				p->line_start = p->pending.len;
			}
			/* else the event was already reported: skip the LF. */
		}
	}

	/* An event begun in an earlier feed: copy it into pending line by
	 * line until its blank line. */
	while (p->pending.len && i < n) {
		j = i + sse_eol(buf + i, n - i);
		if (j == n) {
			if (buf_append(&p->pending, buf + i, n - i) != 0)
				goto toobig;
			goto out;
		}
		el = sse_eol_len(buf, j, n, &p->cr_seen);
		if (buf_append(&p->pending, buf + i, j + el - i) != 0)
			goto toobig;
		line = p->pending.data + p->line_start;
		linelen = p->pending.len - el - p->line_start;
		i = j + el;
		p->line_start = p->pending.len;
		if (linelen == 0) {
			rc = sse_dispatch(p, p->pending.data, p->pending.len, cb, user);
			buf_reset(&p->pending);
			p->line_start = 0;
			if (rc)
				goto out;
		} else if (sse_line(p, line, linelen) != 0) {
			goto toobig;
		}
	}

	/* Events lying wholly in buf are reported from it without copying. */
	start = i;
	while (i < n) {
		j = i + sse_eol(buf + i, n - i);
		if (j == n)
			break;
		el = sse_eol_len(buf, j, n, &p->cr_seen);
		if (j + el - start > p->cap)
			goto toobig;
		line = buf + i;
		linelen = j - i;
		i = j + el;
		if (linelen == 0) {
			rc = sse_dispatch(p, buf + start, i - start, cb, user);
			start = i;
			if (rc)
				goto out;
		} else if (sse_line(p, line, linelen) != 0) {
			goto toobig;
		}
	}
	/* Keep the unfinished event. */
	if (start < n) {
		if (buf_append(&p->pending, buf + start, n - start) != 0)
			goto toobig;
		p->line_start = i - start;
	}
	goto out;

toobig:
	sse_reset(p);
	p->failed = 1;
	rc = SSE_ERR_CAP;
out:
	return rc;
}

size_t sse_pending(const struct sse_parser *p)
{
	return p->pending.len;
}

void sse_reset(struct sse_parser *p)
{
	buf_reset(&p->pending);
	buf_reset(&p->data);
	buf_reset(&p->name);
	p->line_start = 0;
	p->ndata = 0;
	p->cr_seen = 0;
	p->started = 0;
	p->failed = 0;
}

void sse_free(struct sse_parser *p)
{
	buf_free(&p->pending);
	buf_free(&p->data);
	buf_free(&p->name);
	sse_reset(p);
}
