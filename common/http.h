/* http.h — one HTTP request and its response, over FastCGI or plain CGI. */
#ifndef LLMGATE_HTTP_H
#define LLMGATE_HTTP_H
#include "buf.h"
#include <fcgiapp.h>
#include <stddef.h>

#define HTTP_PATH_MAX 2048

/* Where an answer goes once its request runs on an event loop (set by the
 * FastCGI server, fcgi/evloop.c): write takes the bytes (and may wait,
 * yielding, while the client is behind), flush sends what it can without
 * blocking. Both return 0, or -1 when the client went away. */
struct http_ev {
	int (*write)(struct http_ev *ev, const void *p, size_t n);
	int (*flush)(struct http_ev *ev);
};

struct http_req {
	FCGX_Request *fcgx;     /* NULL in CGI mode (stdin/stdout/environ) */
	const char *method;     /* "" if absent */
	char *path;             /* decoded-free path of REQUEST_URI, no query (at most
				 * HTTP_PATH_MAX - 1 bytes; "" for an internal request) */
	const char *query;      /* after '?', or "" */
	struct buf body;
	int headers_sent;
	int client_gone;        /* a write failed: the client went away */
	int status;             /* status sent */
	char request_id[48];    /* sent as X-Request-Id with every answer, if set */
	int anthropic_errors;   /* errors in Anthropic's shape (/v1/messages) */
	int passthrough;        /* a native passthrough request */
	int gemini_errors;      /* errors in Gemini's shape (Gemini's API, /v1beta/models/...) */
	char reason[48];        /* why it was refused: the error code sent, or "" */
	int recorded;           /* a usage record (and its log line) was written */
	char query_key[256];    /* a gateway key found in the query string */
	size_t bytes_out;
	int watch;              /* slot in the body-read watch (http_watch_init), -1: none */
	unsigned inner_seq;     /* internal requests made for this one (api_chat_internal) */
	struct buf *capture;    /* an internal request (http_req_internal): the answer's body goes
				 * here, its status to status; no parameters, no client */
	const char *cors_origin;  /* Access-Control-Allow-Origin of every answer (cors.h), or NULL */
	/* [server] streams = events: park(r) moves the request, a stream under
	 * way, to the event loop (1: it runs there now, the answer goes to ev);
	 * NULL: the request stays on its worker thread */
	int (*park)(struct http_req *r);
	struct http_ev *ev;
};

/* Prepare req for the request that fcgx holds (NULL: CGI). */
void http_req_init(struct http_req *r, FCGX_Request *fcgx);
void http_req_free(struct http_req *r);
/* An internal request a front-end makes to run another route's engine
 * (a prompt app or an MCP tool calling the chat engine): body is its
 * request body (copied), no headers or parameters at all; what would go to
 * a client is kept instead: the status in r->status, the body in capture
 * (which the caller owns; bytes over its cap are dropped). Free with
 * http_req_free. */
void http_req_internal(struct http_req *r, const char *method, const char *body, size_t len, struct buf *capture);

/* A CGI/FastCGI parameter ("REQUEST_METHOD") or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* A request header by its HTTP name ("Authorization"), or NULL. */
const char *http_header(const struct http_req *r, const char *name);

/* Read the body into r->body. Returns 0; -1 if it is larger than cap
 * (nothing kept); -2 on a read error or a short body; -3 when it was not
 * all in by the body deadline (http_watch_init). */
int http_read_body(struct http_req *r, size_t cap);

/* A deadline for reading request bodies over FastCGI: slots for workers
 * threads (a request's `watch` names its worker's slot) and timeout_ms
 * (0: none). A worker reading a body registers its connection;
 * http_watch_tick(), called about four times a second, shuts the reading
 * side of those past their deadline, so that a client sending its body
 * slowly, through a front end that passes bodies on as they arrive, gets a
 * 408 instead of holding a thread. Call once, before the workers start. */
void http_watch_init(int workers, int timeout_ms);
void http_watch_tick(void);

/* Send the status line and headers. extra: further header lines, each
 * ending in "\r\n", or NULL. Only the first call sends anything. */
void http_begin(struct http_req *r, int status, const char *content_type, const char *extra);
/* Send body bytes; -1 (and client_gone set) if the client went away. */
int http_write(struct http_req *r, const void *p, size_t n);
/* Push buffered output to the web server now; -1 if the client went away. */
int http_flush(struct http_req *r);
/* While an answer waits (a held event stream): has the web server closed
 * the connection, or sent anything (a FastCGI abort) on it? 1 (and
 * client_gone set), else 0. Never blocks; 0 when there is no connection
 * to look at (CGI, an internal request). */
int http_peer_closed(struct http_req *r);
/* A whole response in one call. */
void http_respond(struct http_req *r, int status, const char *content_type, const char *extra,
		  const char *body, size_t len);
/* The reason phrase for a status. */
const char *http_reason(int status);
#endif
