/* buf.h — growable byte buffer with a hard cap per instance. */
#ifndef LLMGATE_BUF_H
#define LLMGATE_BUF_H
#include <stddef.h>

/* Named caps for data that comes from outside. */
#define BUF_CAP_DEFAULT   (1u << 20)     /* 1 MiB */
#define BUF_CAP_ERRBODY   (64u << 10)    /* upstream error bodies kept */
#define BUF_CAP_SSE_EVENT (1u << 20)     /* one SSE event */

struct buf {
	char *data;   /* always NUL-terminated when non-NULL */
	size_t len;
	size_t alloc;
	size_t cap;   /* appends that would exceed cap fail */
};

/* Initialise an empty buffer; no allocation until the first append. */
void buf_init(struct buf *b, size_t cap);
/* Append; returns 0, or -1 (buffer unchanged) if len would exceed cap. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
/* Room for up to want more bytes at the end (less near the cap, maybe more
 * when already allocated): where they go, with *room set; NULL at the cap.
 * Then buf_added(b, n) for the n bytes written there. */
char *buf_room(struct buf *b, size_t want, size_t *room);
void buf_added(struct buf *b, size_t n);
/* printf-append; -1 if over cap. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Free memory; the buffer may be reused after buf_init. */
void buf_free(struct buf *b);
/* Give back the memory past the data (and its NUL): for a buffer that is
 * complete and kept a while. */
void buf_fit(struct buf *b);
/* Give the data to the caller (free()); buffer becomes empty. Never NULL. */
char *buf_steal(struct buf *b);
/* Data as a C string ("" when empty); owned by the buffer. */
const char *buf_str(const struct buf *b);
#endif
