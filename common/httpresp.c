/* httpresp.c — an HTTP/1.x response read as its bytes arrive. */
#include "autoconf.h"
#include "httpresp.h"
#include "ini.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { ST_HEAD, ST_LEN, ST_CHUNK_SIZE, ST_CHUNK_DATA, ST_CHUNK_END, ST_TRAILER, ST_TO_EOF, ST_DONE, ST_FAILED };

#define CHUNK_MAX ((int64_t)1 << 48)
#define TRAILER_MAX 65536

void hresp_init(struct hresp *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	r->content_length = -1;
}

void hresp_free(struct hresp *r)
{
	free(r->head);
	r->head = NULL;
	r->head_len = r->head_cap = 0;
}

int hresp_untouched(const struct hresp *r)
{
	return r->bytes_in == 0;
}

static enum hresp_result fail(struct hresp *r, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
	r->state = ST_FAILED;
	return HRESP_ERROR;
}

long hresp_parse_retry_after(const char *v)
{
	long s;
	while (*v == ' ' || *v == '\t')
		v++;
	char tmp[64];
	size_t n = strcspn(v, "\r\n");
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	while (n && isspace((unsigned char)tmp[n - 1]))
		tmp[--n] = '\0';
	if (ini_parse_long(tmp, 0, 86400 * 7, &s) == 0)
		return s;
	/* an HTTP date: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") */
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char wd[4], mo[4], tz[4];
	int d, y, hh, mm, ss, end = 0;
	if (sscanf(tmp, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wd, &d, mo, &y, &hh, &mm, &ss, tz,
		   &end) != 8 || tmp[end] || strcmp(tz, "GMT"))
		return -1;
	int m = -1;
	for (int i = 0; i < 12; i++)
		if (!strcasecmp(mo, mon[i]))
			m = i;
	if (m < 0 || d < 1 || d > 31 || y < 1970 || y > 9999 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	struct tm tm = { .tm_sec = ss, .tm_min = mm, .tm_hour = hh, .tm_mday = d, .tm_mon = m, .tm_year = y - 1900 };
	time_t when = timegm(&tm);
	if (when == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	if (when <= now)
		return 0;
	return when - now > 86400 * 7 ? 86400 * 7 : (long)(when - now);
}

/* value of a header line "Name: value" (name matched without case), or NULL */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
		return NULL;
	const char *v = line + nl + 1, *e = line + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*vlen = (size_t)(e - v);
	return v;
}

/* does the comma-separated list hold token? */
static int has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return 1;
	}
	return 0;
}

/* last token of a comma-separated list is tok? */
static int last_token_is(const char *v, size_t n, const char *tok)
{
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == ','))
		n--;
	size_t s = n;
	while (s && v[s - 1] != ',')
		s--;
	while (s < n && (v[s] == ' ' || v[s] == '\t'))
		s++;
	return n - s == strlen(tok) && !strncasecmp(v + s, tok, n - s);
}

/* The head is whole in r->head[0..head_len): read it. */
static enum hresp_result parse_head(struct hresp *r)
{
	const char *p = r->head, *end = r->head + r->head_len;
	const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
	if (!nl)
		return fail(r, "not an HTTP/1.x response");
	size_t len = (size_t)(nl - p);
	if (len && p[len - 1] == '\r')
		len--;
	/* status line: HTTP/1.x SSS[ reason] */
	if (len < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
	    (len > 12 && p[12] != ' '))
		return fail(r, "not an HTTP/1.x response");
	int minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return fail(r, "response with an invalid status");
	int close = minor == 0, te = 0, chunked = 0;   /* HTTP/1.0: one request per connection */
	int64_t clen = -1;
	r->content_type[0] = '\0';
	r->retry_after_s = -1;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (!len)
			break;
		if (*p == ' ' || *p == '\t')
			continue;   /* a folded line: more of a header none of these read */
		const char *v;
		size_t vl;
		if ((v = header_value(p, len, "Content-Length", &vl))) {
			int64_t n = 0;
			if (!vl)
				return fail(r, "invalid Content-Length");
			for (size_t i = 0; i < vl; i++) {
				if (!isdigit((unsigned char)v[i]) || n > (INT64_MAX - 9) / 10)
					return fail(r, "invalid Content-Length");
				n = n * 10 + (v[i] - '0');
			}
			if (clen >= 0 && clen != n)
				return fail(r, "conflicting Content-Length headers");
			clen = n;
		} else if ((v = header_value(p, len, "Transfer-Encoding", &vl))) {
			te = 1;
			chunked = last_token_is(v, vl, "chunked");
		} else if ((v = header_value(p, len, "Connection", &vl))) {
			if (has_token(v, vl, "close"))
				close = 1;
		} else if ((v = header_value(p, len, "Content-Type", &vl))) {
			if (vl >= sizeof(r->content_type))
				vl = sizeof(r->content_type) - 1;
			memcpy(r->content_type, v, vl);
			r->content_type[vl] = '\0';
		} else if ((v = header_value(p, len, "Retry-After", &vl))) {
			char tmp[80];
			if (vl >= sizeof(tmp))
				vl = sizeof(tmp) - 1;
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			r->retry_after_s = hresp_parse_retry_after(tmp);
		}
	}
	if (r->status < 200) {
		if (r->status == 101)
			return fail(r, "unexpected 101 Switching Protocols");
		/* 100 Continue, 103 Early Hints...: the real head follows */
		r->head_len = r->line_start = 0;
		r->head_started = 0;
		return HRESP_MORE;
	}
	r->chunked = chunked;
	r->content_length = te ? -1 : clen;
	if (r->status == 204 || r->status == 304) {
		r->state = ST_DONE;
	} else if (chunked) {
		r->state = ST_CHUNK_SIZE;
		r->line_len = 0;
	} else if (!te && clen >= 0) {
		r->left = clen;
		r->state = clen ? ST_LEN : ST_DONE;
	} else {
		r->state = ST_TO_EOF;
		close = 1;
	}
	if (te && (!chunked || clen >= 0))
		close = 1;   /* no length, or two that disagree: not reused */
	r->keep_alive = !close;
	free(r->head);   /* the head's text is not needed any more */
	r->head = NULL;
	r->head_len = r->head_cap = 0;
	if (r->on_head && r->on_head(r->user, r) != 0)
		return HRESP_ABORTED;
	return HRESP_MORE;
}

/* Gather head bytes; returns how many of p were taken (up to the head's
 * end), or (size_t)-1 on a too large head. *whole: the head is complete
 * (an empty line after a non-empty one; empty lines before the status line
 * are passed over). */
static size_t take_head(struct hresp *r, const char *p, size_t n, int *whole)
{
	*whole = 0;
	size_t take = n;
	for (const char *q = p, *e = p + n; q < e;) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));
		if (!nl)
			break;
		size_t abs_nl = r->head_len + (size_t)(nl - p);
		size_t ll = abs_nl - r->line_start;
		char prev = ll ? (nl > p ? nl[-1] : r->head[r->head_len - 1]) : 0;
		int empty = ll == 0 || (ll == 1 && prev == '\r');
		r->line_start = abs_nl + 1;
		q = nl + 1;
		if (!empty) {
			r->head_started = 1;
		} else if (r->head_started) {
			take = (size_t)(q - p);
			*whole = 1;
			break;
		}
	}
	if (r->head_len + take > HRESP_HEAD_MAX)
		return (size_t)-1;
	if (r->head_len + take > r->head_cap) {
		size_t cap = r->head_cap ? r->head_cap : 1024;
		while (cap < r->head_len + take)
			cap *= 2;
		char *nh = realloc(r->head, cap);
		if (!nh)
			return (size_t)-1;
		r->head = nh;
		r->head_cap = cap;
	}
	memcpy(r->head + r->head_len, p, take);
	r->head_len += take;
	return take;
}

/* Hand on up to r->left of the bytes p[*i..n) as body. */
static enum hresp_result give(struct hresp *r, const char *p, size_t n, size_t *i)
{
	size_t k = n - *i;
	if ((int64_t)k > r->left)
		k = (size_t)r->left;
	r->left -= (int64_t)k;
	*i += k;
	if (r->on_data && r->on_data(r->user, p + *i - k, k) != 0)
		return HRESP_ABORTED;
	return HRESP_MORE;
}

enum hresp_result hresp_feed(struct hresp *r, const char *p, size_t n, size_t *used)
{
	size_t i = 0;
	enum hresp_result res = HRESP_MORE;
	r->bytes_in += n;
	while (i < n && res == HRESP_MORE) {
		switch (r->state) {
		case ST_HEAD: {
			int whole;
			size_t t = take_head(r, p + i, n - i, &whole);
			if (t == (size_t)-1) {
				res = fail(r, "response head too large");
				break;
			}
			i += t;
			if (whole) {
				/* a head that is only empty lines is not one */
				size_t s = 0;
				while (s < r->head_len && (r->head[s] == '\r' || r->head[s] == '\n'))
					s++;
				if (s) {
					memmove(r->head, r->head + s, r->head_len - s);
					r->head_len -= s;
				}
				res = parse_head(r);
			}
			break;
		}
		case ST_LEN:
		case ST_CHUNK_DATA:
			/* up to r->left bytes of the body or of a chunk */
			res = give(r, p, n, &i);
			if (!r->left && res == HRESP_MORE) {
				r->state = r->state == ST_LEN ? ST_DONE : ST_CHUNK_END;
				r->line_len = 0;
			}
			break;
		case ST_TO_EOF:
			r->left = (int64_t)(n - i);
			res = give(r, p, n, &i);
			break;
		case ST_CHUNK_SIZE:
		case ST_CHUNK_END: {
			char c = p[i++];
			if (c != '\n') {
				if (r->line_len >= sizeof(r->line) - 1) {
					if (r->state == ST_CHUNK_END || r->line_len > 4096) {
						res = fail(r, "invalid chunked encoding");
						break;
					}
					r->line_len++;   /* a long chunk extension: count, not kept */
					continue;
				}
				r->line[r->line_len++] = c;
				continue;
			}
			size_t ll = r->line_len < sizeof(r->line) ? r->line_len : sizeof(r->line) - 1;
			r->line[ll] = '\0';
			if (ll && r->line[ll - 1] == '\r')
				r->line[--ll] = '\0';
			r->line_len = 0;
			if (r->state == ST_CHUNK_END) {
				if (ll) {
					res = fail(r, "invalid chunked encoding");
					break;
				}
				r->state = ST_CHUNK_SIZE;
				break;
			}
			int64_t size = 0;
			size_t k = 0;
			for (; k < ll && isxdigit((unsigned char)r->line[k]); k++) {
				int d = isdigit((unsigned char)r->line[k]) ? r->line[k] - '0'
									   : (tolower((unsigned char)r->line[k]) - 'a' + 10);
				size = size * 16 + d;
				if (size > CHUNK_MAX)
					break;
			}
			if (!k || size > CHUNK_MAX ||
			    (k < ll && r->line[k] != ';' && r->line[k] != ' ' && r->line[k] != '\t')) {
				res = fail(r, "invalid chunk size");
				break;
			}
			if (size) {
				r->left = size;
				r->state = ST_CHUNK_DATA;
			} else {
				r->state = ST_TRAILER;
				r->line_len = 0;
				r->trailer_bytes = 0;
			}
			break;
		}
		case ST_TRAILER: {
			/* lines until an empty one; only their length is kept */
			char c = p[i++];
			if (++r->trailer_bytes > TRAILER_MAX) {
				res = fail(r, "response trailer too large");
				break;
			}
			if (c == '\n') {
				if (!r->line_len || (r->line_len == 1 && r->line[0] == '\r'))
					r->state = ST_DONE;
				r->line_len = 0;
			} else {
				if (!r->line_len)
					r->line[0] = c;
				r->line_len++;
			}
			break;
		}
		case ST_DONE:
			goto out;
		default:
			res = HRESP_ERROR;
			break;
		}
	}
out:
	*used = i;
	if (res == HRESP_MORE && r->state == ST_DONE)
		res = HRESP_COMPLETE;
	if (res == HRESP_ABORTED)
		r->state = ST_FAILED;
	return res;
}

enum hresp_result hresp_eof(struct hresp *r)
{
	switch (r->state) {
	case ST_TO_EOF:
	case ST_DONE:
		r->state = ST_DONE;
		r->keep_alive = 0;
		return HRESP_COMPLETE;
	case ST_HEAD:
		return fail(r, r->bytes_in ? "connection closed in the response head"
				       : "connection closed before a response");
	case ST_FAILED:
		return HRESP_ERROR;
	default:
		return fail(r, "connection closed before the end of the response");
	}
}
