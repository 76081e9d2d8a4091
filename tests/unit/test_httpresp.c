/* test_httpresp.c — HTTP/1.x response reader: framing (length, chunked,
 * to the end), 1xx heads, keep-alive, malformed answers, every split. */
#include "autoconf.h"
#include "httpresp.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct got {
	int heads;
	int status;
	char body[8192];
	size_t body_len;
	int stop_head, stop_after;   /* stop in on_head / after this many body bytes */
};

static int g_head(void *u, const struct hresp *r)
{
	struct got *g = u;
	g->heads++;
	g->status = r->status;
	return g->stop_head;
}

static int g_data(void *u, const char *p, size_t n)
{
	struct got *g = u;
	if (g->body_len + n < sizeof(g->body)) {
		memcpy(g->body + g->body_len, p, n);
		g->body_len += n;
	}
	return g->stop_after && g->body_len >= (size_t)g->stop_after;
}

static void reader(struct hresp *r, struct got *g)
{
	hresp_init(r);
	memset(g, 0, sizeof(*g));
	r->on_head = g_head;
	r->on_data = g_data;
	r->user = g;
}

/* Feed msg in pieces of `step` bytes (0: all at once), then the end of the
 * connection when `eof`. Returns the last result; *left: bytes not taken. */
static enum hresp_result run(const char *msg, size_t len, size_t step, int eof, struct hresp *r, struct got *g,
			     size_t *left)
{
	reader(r, g);
	enum hresp_result res = HRESP_MORE;
	size_t i = 0;
	*left = 0;
	while (i < len && res == HRESP_MORE) {
		size_t n = step && len - i > step ? step : len - i, used;
		res = hresp_feed(r, msg + i, n, &used);
		i += used;
		if (res != HRESP_MORE)
			break;
	}
	*left = len - i;
	if (res == HRESP_MORE && eof)
		res = hresp_eof(r);
	return res;
}

/* The same message split at every size from 1 up: same outcome. */
static void every_split(const char *name, const char *msg, int eof, enum hresp_result want, int status,
			const char *body, int keep)
{
	size_t len = strlen(msg), left;
	int bad = 0;
	for (size_t step = 0; step <= len; step++) {
		struct hresp r;
		struct got g;
		enum hresp_result res = run(msg, len, step, eof, &r, &g, &left);
		int okk = res == want;
		if (want == HRESP_COMPLETE)
			okk = okk && g.heads == 1 && g.status == status && g.body_len == strlen(body) &&
			      !memcmp(g.body, body, g.body_len) && r.keep_alive == keep && left == 0;
		if (!okk && !bad) {
			diag("%s: step %zu: result %d status %d heads %d body %zu keep %d left %zu err %s", name, step,
			     res, g.status, g.heads, g.body_len, r.keep_alive, left, r.err);
			bad = 1;
		}
		hresp_free(&r);
		if (step == 0 && len > 3000)
			step = len - 2;   /* long inputs: one piece, then byte by byte is enough */
	}
	ok(!bad, "%s", name);
}

int main(void)
{
	every_split("Content-Length body, keep-alive",
		    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"xyz\"}",
		    0, HRESP_COMPLETE, 200, "{\"a\":\"xyz\"}", 1);
	every_split("chunked with extension and trailer",
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n"
		    "5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
		    0, HRESP_COMPLETE, 200, "hello world", 1);
	every_split("bare LF line ends",
		    "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", 0, HRESP_COMPLETE, 200, "abc", 1);
	every_split("100 Continue and 103 Early Hints skipped",
		    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
		    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		    0, HRESP_COMPLETE, 201, "ok", 1);
	every_split("body to the end of the connection",
		    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n", 1,
		    HRESP_COMPLETE, 200, "data: 1\n\ndata: 2\n\n", 0);
	every_split("Connection: close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx",
		    0, HRESP_COMPLETE, 200, "x", 0);
	every_split("HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, HRESP_COMPLETE, 200, "x", 0);
	every_split("204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, HRESP_COMPLETE, 204,
		    "", 1);
	every_split("Content-Length 0", "HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\nRetry-After: 7\r\n\r\n", 0,
		    HRESP_COMPLETE, 429, "", 1);
	every_split("folded header line passed over",
		    "HTTP/1.1 200 OK\r\n X-Folded: a\r\nX-A: b\r\n  c\r\nContent-Length: 2\r\n\r\nhi", 0, HRESP_COMPLETE,
		    200, "hi", 1);
	every_split("Transfer-Encoding wins over Content-Length, then closes",
		    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", 0,
		    HRESP_COMPLETE, 200, "ab", 0);

	every_split("cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1, HRESP_ERROR, 0, "", 0);
	every_split("cut in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 1, HRESP_ERROR, 0,
		    "", 0);
	every_split("cut in the head", "HTTP/1.1 200 OK\r\nContent-Le", 1, HRESP_ERROR, 0, "", 0);
	every_split("not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, HRESP_ERROR, 0, "", 0);
	every_split("bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, HRESP_ERROR, 0, "", 0);
	every_split("HTTP/2 status line", "HTTP/2 200\r\n\r\n", 0, HRESP_ERROR, 0, "", 0);
	every_split("conflicting Content-Length",
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 0, HRESP_ERROR, 0, "", 0);
	every_split("negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, HRESP_ERROR, 0, "",
		    0);
	every_split("huge Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0,
		    HRESP_ERROR, 0, "", 0);
	every_split("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, HRESP_ERROR, 0,
		    "", 0);
	every_split("chunk without its CRLF",
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n0\r\n\r\n", 0, HRESP_ERROR, 0,
		    "", 0);
	every_split("chunk size overflow",
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 0, HRESP_ERROR, 0,
		    "", 0);
	every_split("101 refused", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0, HRESP_ERROR, 0, "",
		    0);
	every_split("nothing at all", "", 1, HRESP_ERROR, 0, "", 0);

	/* the head's figures */
	{
		struct hresp r;
		struct got g;
		size_t left;
		const char *m = "HTTP/1.1 429 Too Many Requests\r\ncontent-type:  application/json; charset=utf-8 \r\n"
				"retry-after: 12\r\nContent-Length: 2\r\n\r\n{}";
		is_int(run(m, strlen(m), 0, 0, &r, &g, &left), HRESP_COMPLETE, "429 read");
		is_str(r.content_type, "application/json; charset=utf-8", "Content-Type, trimmed");
		is_int(r.retry_after_s, 12, "Retry-After seconds");
		is_int(r.content_length, 2, "Content-Length");
		hresp_free(&r);
	}
	/* bytes after a complete response are not taken */
	{
		struct hresp r;
		struct got g;
		size_t left;
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n";
		is_int(run(m, strlen(m), 0, 0, &r, &g, &left), HRESP_COMPLETE, "complete before extra bytes");
		is_int(left, strlen("HTTP/1.1 200 OK\r\n"), "the extra bytes are left");
		hresp_free(&r);
	}
	/* a callback stops the transfer */
	{
		struct hresp r;
		struct got g;
		size_t used;
		const char *m = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
		reader(&r, &g);
		g.stop_after = 4;
		is_int(hresp_feed(&r, m, strlen(m), &used), HRESP_ABORTED, "on_data stops");
		size_t u2;
		is_int(hresp_feed(&r, "x", 1, &u2), HRESP_ERROR, "nothing more after a stop");
		hresp_free(&r);
		reader(&r, &g);
		g.stop_head = 1;
		is_int(hresp_feed(&r, m, strlen(m), &used), HRESP_ABORTED, "on_head stops");
		is_int(g.body_len, 0, "no body after on_head stopped");
		hresp_free(&r);
	}
	/* a head over the limit */
	{
		size_t n = HRESP_HEAD_MAX + 100;
		char *m = malloc(n + 1);
		memcpy(m, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
		memset(m + 24, 'a', n - 24);
		m[n] = '\0';
		struct hresp r;
		struct got g;
		size_t left;
		is_int(run(m, n, 4096, 0, &r, &g, &left), HRESP_ERROR, "head too large");
		ok(strstr(r.err, "too large") != NULL, "says so (%s)", r.err);
		hresp_free(&r);
		free(m);
	}
	/* Retry-After as an HTTP date */
	{
		char d[64];
		time_t t = time(NULL) + 120;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		long s = hresp_parse_retry_after(d);
		ok(s >= 118 && s <= 120, "Retry-After date 120 s ahead: %ld", s);
		is_int(hresp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), 0, "a date gone by: now");
		is_int(hresp_parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST"), -1, "not GMT: refused");
		is_int(hresp_parse_retry_after("soon"), -1, "not a number or date");
		is_int(hresp_parse_retry_after(" 30 "), 30, "seconds with spaces");
	}
	return done_testing();
}
