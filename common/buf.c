/* buf.c — growable byte buffer with a hard cap per instance. */
#include "autoconf.h"
#include "buf.h"
#include "xmalloc.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	/* keep cap + 1 and the doubling in range */
	b->cap = cap > SIZE_MAX / 4 ? SIZE_MAX / 4 : cap;
}

static int buf_grow(struct buf *b, size_t need)
{
	if (need > b->cap)
		return -1;
	if (need + 1 <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : 256;
	while (n < need + 1)
		n *= 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	b->data = xrealloc(b->data, n);
	b->alloc = n;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap || b->len > b->cap - n)
		return -1;
	if (buf_grow(b, b->len + n) != 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->alloc > b->len ? b->alloc - b->len : 0;
	/* one pass when it fits in what is allocated, two when it must grow */
	va_start(ap, fmt);
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > b->cap || b->len > b->cap - (size_t)n) {
		if (room)
			b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	if (buf_grow(b, b->len + (size_t)n) != 0) {
		if (room)
			b->data[b->len] = '\0';
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_room(struct buf *b, size_t want, size_t *room)
{
	size_t left = b->cap - b->len;   /* len never passes cap */
	if (!left) {
		*room = 0;
		return NULL;
	}
	if (want > left)
		want = left;
	if (!want)
		want = 1;
	if (buf_grow(b, b->len + want) != 0) {
		*room = 0;
		return NULL;
	}
	*room = b->alloc - 1 - b->len;
	return b->data + b->len;
}

void buf_added(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void buf_fit(struct buf *b)
{
	if (!b->data || b->len + 1 >= b->alloc)
		return;
	b->data = xrealloc(b->data, b->len + 1);
	b->alloc = b->len + 1;
}

char *buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}
