/* multipart.c — multipart/form-data parsing in place (see multipart.h). */
#include "autoconf.h"
#include "multipart.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_MP 1024

int multipart_boundary(const char *ctype, char *b, size_t blen)
{
	if (!ctype || strncasecmp(ctype, "multipart/form-data", 19))
		return -1;
	const char *p = ctype + 19;
	for (;;) {
		p = strchr(p, ';');
		if (!p)
			return -1;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, "boundary=", 9))
			break;
	}
	p += 9;
	size_t n;
	if (*p == '"') {
		p++;
		const char *q = strchr(p, '"');
		if (!q)
			return -1;
		n = (size_t)(q - p);
	} else {
		n = strcspn(p, "; \t");
	}
	if (n < 1 || n > 70 || n >= blen)
		return -1;
	memcpy(b, p, n);
	b[n] = '\0';
	return 0;
}

/* The value of param (name=) in a header's text [p, e) into out: quoted
 * (with \" escapes) or a token. 1 found, 0 not. */
static int header_param(const char *p, const char *e, const char *param, char *out, size_t outlen)
{
	size_t pl = strlen(param);
	for (const char *q = p; q + pl < e; q++) {
		if ((q == p || q[-1] == ';' || q[-1] == ' ' || q[-1] == '\t') && !strncasecmp(q, param, pl) && q[pl] == '=') {
			const char *v = q + pl + 1;
			size_t o = 0;
			if (v < e && *v == '"') {
				for (v++; v < e && *v != '"'; v++) {
					if (*v == '\\' && v + 1 < e)
						v++;
					if (o + 1 < outlen)
						out[o++] = *v;
				}
			} else {
				for (; v < e && *v != ';' && *v != ' '; v++)
					if (o + 1 < outlen)
						out[o++] = *v;
			}
			out[o] = '\0';
			return 1;
		}
	}
	return 0;
}

/* One header line [p, e) of a part into part. */
static void part_header(const char *p, const char *e, struct multipart_part *part)
{
	if (e - p > 20 && !strncasecmp(p, "Content-Disposition:", 20)) {
		header_param(p + 20, e, "name", part->name, sizeof(part->name));
		part->has_filename = header_param(p + 20, e, "filename", part->filename, sizeof(part->filename));
		char *slash = strrchr(part->filename, '/'), *bs = strrchr(part->filename, '\\');
		char *cut = slash > bs ? slash : bs;
		if (cut)
			memmove(part->filename, cut + 1, strlen(cut + 1) + 1);
	} else if (e - p > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		const char *v = p + 13;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		size_t n = (size_t)(e - v);
		if (n >= sizeof(part->ctype))
			n = sizeof(part->ctype) - 1;
		memcpy(part->ctype, v, n);
		part->ctype[n] = '\0';
	}
}

/* The headers of a part from p (after the delimiter line): filled into
 * part; the start of its data, or NULL when they do not end well. */
static const char *part_headers(const char *p, const char *end, struct multipart_part *part)
{
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || nl - p > LINE_MAX_MP)
			return NULL;
		const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == p)
			return nl + 1;   /* the empty line: the data follows */
		part_header(p, le, part);
		p = nl + 1;
	}
}

/* Does a delimiter line end at p: "--", or blanks and a line end? */
static int delimiter_ends(const char *p, const char *end)
{
	if (end - p >= 2 && p[0] == '-' && p[1] == '-')
		return 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && (*p == '\r' || *p == '\n');
}

int multipart_parse(const char *body, size_t len, const char *boundary, struct multipart_part *parts, int max,
		    char *err, size_t errlen)
{
	char delim[80];
	size_t dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	const char *end = body + len;
	const char *p = len >= dl && !memcmp(body, delim, dl) ? body : NULL;
	if (!p) {
		const char *first = memmem(body, len, delim, dl);
		/* a preamble is allowed; the delimiter starts a line */
		p = first && first > body && first[-1] == '\n' ? first : NULL;
	}
	if (!p) {
		snprintf(err, errlen, "the multipart body does not start with its boundary");
		return -1;
	}
	int n = 0;
	for (;;) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return n;   /* the closing delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n') {
			snprintf(err, errlen, "the multipart body is cut short or malformed");
			return -1;
		}
		p++;
		if (n >= max) {
			snprintf(err, errlen, "the multipart body has more than %d parts", max);
			return -1;
		}
		struct multipart_part *part = &parts[n];
		memset(part, 0, sizeof(*part));
		const char *data = part_headers(p, end, part);
		if (!data) {
			snprintf(err, errlen, "a part of the multipart body has malformed headers");
			return -1;
		}
		/* the data ends before CRLF (or LF) + delimiter */
		const char *q = data;
		const char *next = NULL;
		while ((q = memmem(q, (size_t)(end - q), delim, dl)) != NULL) {
			if (q > data && q[-1] == '\n' && delimiter_ends(q + dl, end)) {
				next = q;
				break;
			}
			q++;
		}
		if (!next) {
			snprintf(err, errlen, "the multipart body has no closing boundary");
			return -1;
		}
		const char *de = next - 1;
		if (de > data && de[-1] == '\r')
			de--;
		part->data = data;
		part->len = (size_t)(de - data);
		n++;
		p = next;
	}
}

const struct multipart_part *multipart_find(const struct multipart_part *parts, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(parts[i].name, name))
			return &parts[i];
	return NULL;
}
