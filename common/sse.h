/* sse.h — incremental Server-Sent-Events parser for upstream byte streams. */
#ifndef LLMGATE_SSE_H
#define LLMGATE_SSE_H
#include <stddef.h>
#include "buf.h"

/* One complete event. All pointers are valid only during the callback. */
struct sse_event {
	const char *raw;  size_t raw_len;   /* exact bytes of the event incl. its terminating blank line */
	const char *event;                  /* value of the last "event:" field, "" if none; NUL-terminated */
	const char *data; size_t data_len;  /* "data:" values joined with '\n'; NUL-terminated */
};

/* Return 0 to go on, non-zero to stop. Must not feed the same parser. */
typedef int (*sse_event_cb)(const struct sse_event *ev, void *user);

struct sse_parser {
	struct buf pending;   /* raw bytes of an unfinished event */
	struct buf data;      /* data of the current event so far */
	struct buf name;      /* event: value of the current event so far */
	size_t line_start;    /* offset in pending of the unfinished line */
	size_t ndata;         /* data fields seen in the current event */
	size_t cap;           /* largest event accepted */
	int cr_seen;          /* the last byte fed was a CR ending a line */
	int started;          /* the first line of the stream was parsed */
	int failed;           /* an event exceeded cap; feeds fail until reset */
};

/* Initialise; cap is the largest single event (raw bytes) accepted. No
 * allocation until the first feed. */
void sse_init(struct sse_parser *p, size_t cap);

/* Feed n bytes, split anywhere; calls cb (may be NULL) for each complete
 * event in order. Returns 0, the callback's non-zero value if it stopped
 * (the rest of this feed is dropped; the parser stays usable), or -2 if an
 * event exceeds cap (then every feed returns -2 until sse_reset).
 *
 * Lines end in \n, \r\n or \r; an event ends at a blank line and is reported
 * even without data (comment-only keep-alives, stray blank lines), so the
 * raw bytes of all events plus sse_pending() account for every byte fed.
 * The one exception: when an event ends in a CR that is the last byte of a
 * feed, it is reported at once, and if the next feed starts with the LF of
 * that CRLF, the LF is skipped (the forwarded "\r\n\r" is a complete
 * terminator on its own). Comment lines (":...") appear in raw only; a
 * leading UTF-8 BOM on the stream is ignored; "id" and "retry" are left in
 * raw only. When an event lies wholly inside one feed, raw points into buf
 * (no copy); otherwise it points into the parser's pending buffer. */
int sse_feed(struct sse_parser *p, const char *buf, size_t n, sse_event_cb cb, void *user);

/* Bytes held of an unfinished event (non-zero at EOF means a cut stream). */
size_t sse_pending(const struct sse_parser *p);
/* Forget all state, ready for a new stream; keeps memory. */
void sse_reset(struct sse_parser *p);
/* Free memory; the parser may be reused after sse_init. */
void sse_free(struct sse_parser *p);
#endif
