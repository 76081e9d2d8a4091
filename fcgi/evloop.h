/* evloop.h — streams held by one event-loop thread instead of a worker
 * thread each ([server] streams = events).
 *
 * In this mode a worker runs each request on a coroutine of its own (a
 * stack of SERVE_STACK_SIZE, mapped lazily: only the pages a request
 * touches are resident). Everything before a stream reaches its client
 * (reading, routing, admission, the attempts, retries and fallback, the
 * first event) runs on the worker as in threads mode. Once the stream's
 * first bytes went out over a plain upstream connection (or a TLS one that
 * may change threads, tls_movable), the request
 * parks (http_req.park): the worker flushes what libfcgi holds, hands the
 * coroutine to the loop thread and takes its next request. The loop
 * resumes a parked request whenever its upstream socket is readable (or a
 * deadline of the call passes); the request relays, translates, runs the
 * taps and writes its usage record exactly as it would on a worker. Its
 * answer is written as FastCGI records of its own (fcgi_rec.c) into a
 * buffer of at most EVLOOP_OUT_CAP bytes held for the client: past that,
 * the request waits (the upstream is not read) until the web server took
 * some. A client that goes away (the web server closes the connection or
 * sends ABORT_REQUEST) ends the upstream read at once. At the end the
 * request's records are flushed, its connection closed and the coroutine
 * freed. */
#ifndef LLMGATE_EVLOOP_H
#define LLMGATE_EVLOOP_H
#include "http.h"
#include <fcgiapp.h>

/* what the loop holds for one client before it stops reading that
 * client's upstream */
#define EVLOOP_OUT_CAP (64u << 10)

struct evloop_co;

/* 1 when this build has the mode (swapcontext and epoll: glibc, not
 * musl), else 0. */
int evloop_available(void);
/* Start the loop thread; done() is called (on it) when a parked request
 * has ended. 0, or -1 when it cannot start. */
int evloop_start(void (*done)(void));
/* A coroutine for the next request on listening socket sock (its
 * FastCGI request is evloop_request(co)). NULL when out of memory. */
struct evloop_co *evloop_co_new(int sock);
FCGX_Request *evloop_request(struct evloop_co *co);
/* The request's http_req, for the caller to prepare (http_req_init on
 * evloop_request(co), its watch slot). */
struct http_req *evloop_http(struct evloop_co *co);
/* Run handle(w, evloop_http(co)) on co. 0: it ended here, the request is
 * the caller's to free and finish as usual; 1: it parked, co now belongs
 * to the loop, which ends it (take a new one). */
int evloop_run(struct evloop_co *co, void (*handle)(void *w, struct http_req *r), void *w);
void evloop_co_free(struct evloop_co *co);
/* Requests parked on the loop now. */
int evloop_parked(void);
#endif
