/* httpresp.h — an HTTP/1.x response read as its bytes arrive.
 *
 * Bytes go in by hresp_feed() in pieces of any size; the head is gathered
 * (1xx heads are skipped), then on_head is called once, then the body's
 * bytes are handed to on_data as they come, without copying: by length,
 * chunked (chunk framing and trailers taken off) or up to the end of the
 * connection (hresp_eof). */
#ifndef LLMGATE_HTTPRESP_H
#define LLMGATE_HTTPRESP_H
#include <stddef.h>
#include <stdint.h>

#define HRESP_HEAD_MAX 65536

enum hresp_result { HRESP_MORE = 0, HRESP_COMPLETE = 1, HRESP_ERROR = -1, HRESP_ABORTED = -2 };

struct hresp {
	/* set by the caller */
	int (*on_head)(void *user, const struct hresp *r);      /* non-zero: stop */
	int (*on_data)(void *user, const char *p, size_t n);     /* non-zero: stop */
	void *user;
	/* the head, once on_head was called */
	int status;
	int keep_alive;            /* the connection may carry another request */
	long retry_after_s;        /* -1: none */
	int64_t content_length;    /* -1: not given */
	char content_type[128];
	char err[160];             /* why HRESP_ERROR */
	/* reading state */
	int state;
	int chunked;
	int64_t left;              /* bytes left in the body or the chunk */
	char *head;
	size_t head_len, head_cap, line_start;
	int head_started;          /* a non-empty head line came */
	char line[80];             /* a chunk-size line being read */
	size_t line_len;
	size_t trailer_bytes;
	uint64_t bytes_in;         /* bytes fed so far */
};

void hresp_init(struct hresp *r);
void hresp_free(struct hresp *r);
/* Feed n bytes. *used says how many were taken: less than n only when the
 * response completed before their end (bytes after it are not this
 * response's). */
enum hresp_result hresp_feed(struct hresp *r, const char *p, size_t n, size_t *used);
/* The connection ended: HRESP_COMPLETE if that ends the body, else
 * HRESP_ERROR (err says what was missing). */
enum hresp_result hresp_eof(struct hresp *r);
/* 1 before any byte of the response came. */
int hresp_untouched(const struct hresp *r);
/* Parse a Retry-After value (seconds or an HTTP date); -1 if invalid. */
long hresp_parse_retry_after(const char *v);
#endif
