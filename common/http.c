/* http.c — one HTTP request and its response, over FastCGI or plain CGI. */
#include "autoconf.h"
#include "http.h"
#include "clock.h"
#include "cors.h"
#include "ini.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

extern char **environ;

#define HTTP_HEADER_NAME_MAX 128
#define HTTP_READ_CHUNK 16384

void http_req_init(struct http_req *r, FCGX_Request *fcgx)
{
	memset(r, 0, sizeof(*r));
	r->fcgx = fcgx;
	r->watch = -1;
	buf_init(&r->body, 0);
	const char *m = http_param(r, "REQUEST_METHOD");
	r->method = m ? m : "";
	const char *uri = http_param(r, "REQUEST_URI");
	/* the path is kept at its length: a parked stream holds it to its end */
	char path[HTTP_PATH_MAX];
	if (!uri || !*uri) {
		/* CGI servers that do not set REQUEST_URI */
		const char *sn = http_param(r, "SCRIPT_NAME");
		const char *pi = http_param(r, "PATH_INFO");
		snprintf(path, sizeof(path), "%s%s", sn ? sn : "", pi ? pi : "");
		const char *qs = http_param(r, "QUERY_STRING");
		r->query = qs ? qs : "";
	} else {
		const char *q = strchr(uri, '?');
		size_t n = q ? (size_t)(q - uri) : strlen(uri);
		if (n >= sizeof(path))
			n = sizeof(path) - 1;
		memcpy(path, uri, n);
		path[n] = '\0';
		r->query = q ? q + 1 : "";
	}
	r->path = xstrdup(path);
}

void http_req_internal(struct http_req *r, const char *method, const char *body, size_t len, struct buf *capture)
{
	memset(r, 0, sizeof(*r));
	r->watch = -1;
	r->path = xstrdup("");
	r->method = method;
	r->query = "";
	r->capture = capture;
	buf_init(&r->body, len + 1);
	buf_append(&r->body, body, len);
}

void http_req_free(struct http_req *r)
{
	buf_free(&r->body);
	free(r->path);
	r->path = NULL;
}

const char *http_param(const struct http_req *r, const char *name)
{
	if (r->capture)
		return NULL;
	if (r->fcgx)
		return FCGX_GetParam(name, r->fcgx->envp);
	return getenv(name);
}

const char *http_header(const struct http_req *r, const char *name)
{
	char env[HTTP_HEADER_NAME_MAX + 6] = "HTTP_";
	size_t i = 0;
	for (; name[i] && i < HTTP_HEADER_NAME_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];
		env[5 + i] = ch == '-' ? '_' : (char)toupper(ch);
	}
	env[5 + i] = '\0';
	if (!strcmp(env, "HTTP_CONTENT_TYPE"))
		return http_param(r, "CONTENT_TYPE");
	if (!strcmp(env, "HTTP_CONTENT_LENGTH"))
		return http_param(r, "CONTENT_LENGTH");
	return http_param(r, env);
}

static int read_some(struct http_req *r, char *p, size_t n)
{
	if (r->fcgx)
		return FCGX_GetStr(p, (int)n, r->fcgx->in);
	ssize_t got;
	do {
		got = read(STDIN_FILENO, p, n);
	} while (got < 0 && errno == EINTR);
	return got < 0 ? -1 : (int)got;
}

/* ------------------------------------------------- the body-read watch */

struct watch_slot {
	int fd;
	/* 0 idle; > 0 the deadline (monotonic ms); -1 being shut by the
	 * watcher; -2 shut */
	int64_t state;
};
static struct watch_slot *watch;
static int watch_n, watch_ms;

void http_watch_init(int workers, int timeout_ms)
{
	free(watch);
	watch = NULL;
	watch_n = 0;
	watch_ms = timeout_ms > 0 ? timeout_ms : 0;
	if (!watch_ms || workers <= 0)
		return;
	watch = xcalloc((size_t)workers, sizeof(*watch));
	watch_n = workers;
}

void http_watch_tick(void)
{
	int64_t now = mono_ms();
	for (int i = 0; i < watch_n; i++) {
		int64_t d = __atomic_load_n(&watch[i].state, __ATOMIC_ACQUIRE);
		if (d > 0 && now >= d &&
		    __atomic_compare_exchange_n(&watch[i].state, &d, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* reads return 0 from now on; the answer can still be written */
			shutdown(watch[i].fd, SHUT_RD);
			__atomic_store_n(&watch[i].state, -2, __ATOMIC_RELEASE);
		}
	}
}

static int watch_arm(const struct http_req *r)
{
	if (!r->fcgx || r->watch < 0 || r->watch >= watch_n)
		return 0;
	struct watch_slot *w = &watch[r->watch];
	w->fd = r->fcgx->ipcFd;
	__atomic_store_n(&w->state, mono_ms() + watch_ms, __ATOMIC_RELEASE);
	return 1;
}

/* 1 if the watcher shut the connection's reading side. Waits for a
 * shutdown under way, so the descriptor is not closed (and its number
 * taken by another connection) before the watcher is done with it. */
static int watch_disarm(const struct http_req *r)
{
	struct watch_slot *w = &watch[r->watch];
	for (;;) {
		int64_t v = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
		if (v == -1) {
			sched_yield();
			continue;
		}
		if (__atomic_compare_exchange_n(&w->state, &v, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return v == -2;
	}
}

static int read_body(struct http_req *r, size_t cap, long declared)
{
	buf_init(&r->body, cap);
	/* read straight into the body: no chunk on the stack */
	size_t want = declared >= 0 ? (size_t)declared : cap + 1;
	while (r->body.len < want) {
		size_t n = want - r->body.len, room;
		if (n > HTTP_READ_CHUNK)
			n = HTTP_READ_CHUNK;
		char *at = buf_room(&r->body, n, &room);
		if (!at) {   /* at the cap: over it unless the body ends here */
			char one;
			int got = read_some(r, &one, 1);
			if (got == 0)
				break;
			buf_free(&r->body);
			return got < 0 ? -2 : -1;
		}
		if (n > room)
			n = room;
		int got = read_some(r, at, n);
		if (got < 0)
			return -2;
		if (got == 0)
			break;
		buf_added(&r->body, (size_t)got);
	}
	if (declared >= 0 && r->body.len != (size_t)declared)
		return -2;
	buf_fit(&r->body);   /* kept as long as the request, a stream's too */
	return 0;
}

int http_read_body(struct http_req *r, size_t cap)
{
	long declared = -1;
	const char *cl = http_param(r, "CONTENT_LENGTH");
	if (cl && *cl && ini_parse_long(cl, 0, 0x7fffffffL, &declared) != 0)
		return -2;
	if (declared >= 0 && (size_t)declared > cap)
		return -1;
	int armed = watch_arm(r);
	int rc = read_body(r, cap, declared);
	if (armed && watch_disarm(r)) {
		/* shut at the deadline: a body not known complete is not taken */
		if (rc != -1 && (rc != 0 || declared < 0))
			return -3;
		return rc;
	}
	if (rc != 0)
		return rc;
	/* take the end-of-body record the server sends right after the body
	 * (it is mostly in the same read), so that the connection can be
	 * closed without libfcgi's lingering (router.c) */
	if (r->fcgx && declared >= 0 && !FCGX_HasSeenEOF(r->fcgx->in))
		(void)FCGX_GetChar(r->fcgx->in);
	return 0;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status < 400 ? "OK" : "Error";
	}
}

static int raw_write(struct http_req *r, const void *p, size_t n)
{
	if (r->client_gone)
		return -1;
	if (!n)
		return 0;
	if (r->capture) {
		(void)buf_append(r->capture, p, n);
		return 0;
	}
	if (r->ev) {
		if (r->ev->write(r->ev, p, n) != 0) {
			r->client_gone = 1;
			return -1;
		}
	} else if (r->fcgx) {
		if (FCGX_PutStr(p, (int)n, r->fcgx->out) != (int)n) {
			r->client_gone = 1;
			return -1;
		}
	} else if (fwrite(p, 1, n, stdout) != n) {
		r->client_gone = 1;
		return -1;
	}
	return 0;
}

void http_begin(struct http_req *r, int status, const char *content_type, const char *extra)
{
	if (r->headers_sent)
		return;
	r->headers_sent = 1;
	r->status = status;
	if (r->capture)
		return;
	char head[1024];
	int n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\n",
			 status, http_reason(status), content_type);
	if (n < 0 || (size_t)n >= sizeof(head))
		n = snprintf(head, sizeof(head), "Status: 500 Internal Server Error\r\n");
	raw_write(r, head, (size_t)n);
	if (r->request_id[0]) {
		n = snprintf(head, sizeof(head), "X-Request-Id: %s\r\n", r->request_id);
		raw_write(r, head, (size_t)n);
	}
	if (r->cors_origin) {
		n = snprintf(head, sizeof(head), "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
			     "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS "\r\n", r->cors_origin);
		if (n > 0 && (size_t)n < sizeof(head))
			raw_write(r, head, (size_t)n);
	}
	if (extra)
		raw_write(r, extra, strlen(extra));
	raw_write(r, "\r\n", 2);
}

int http_write(struct http_req *r, const void *p, size_t n)
{
	if (raw_write(r, p, n) != 0)
		return -1;
	r->bytes_out += n;
	return 0;
}

int http_flush(struct http_req *r)
{
	if (r->client_gone)
		return -1;
	if (r->capture)
		return 0;
	if (r->ev) {
		if (r->ev->flush(r->ev) != 0) {
			r->client_gone = 1;
			return -1;
		}
	} else if (r->fcgx) {
		if (FCGX_FFlush(r->fcgx->out) != 0) {
			r->client_gone = 1;
			return -1;
		}
	} else if (fflush(stdout) != 0) {
		r->client_gone = 1;
		return -1;
	}
	return 0;
}

int http_peer_closed(struct http_req *r)
{
	if (r->client_gone)
		return 1;
	if (!r->fcgx || r->capture || r->fcgx->ipcFd < 0)
		return 0;
	struct pollfd p = { .fd = r->fcgx->ipcFd, .events = POLLIN | POLLRDHUP };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
		r->client_gone = 1;
		return 1;
	}
	return 0;
}

void http_respond(struct http_req *r, int status, const char *content_type, const char *extra,
		  const char *body, size_t len)
{
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", len);
	if (extra) {
		char both[2048];
		snprintf(both, sizeof(both), "%s%s", cl, extra);
		http_begin(r, status, content_type, both);
	} else {
		http_begin(r, status, content_type, cl);
	}
	http_write(r, body, len);
}
