/* evloop.h — streams held by one event-loop thread instead of a worker
 * thread each ([server] streams = events).
 *
 * In this mode a worker runs each request on a coroutine of its own (a
 * stack of SERVE_STACK_SIZE, mapped lazily: only the pages a request
 * touches are resident). Reading, routing, admission and the upstream
 * call's start run on the worker as in threads mode. The request parks
 * (http_req.park) once its upstream connection is plain or a TLS one that
 * may change threads (tls_movable) and either its stream's first bytes
 * went out to the client, or it has waited a while for its upstream (a
 * model thinking before its first byte, a slow answer that is not
 * streamed: upstream.c): the worker flushes what libfcgi holds, gives
 * back libfcgi's buffers and the stack pages below the park, hands the
 * coroutine to the loop thread and takes its next request. The loop
 * resumes a parked request whenever its upstream socket is readable (or a
 * deadline of the call passes); the request relays, translates, runs the
 * taps, makes its further attempts (retries, fallback: on connections of
 * their own) and writes its usage record exactly as it would on a worker.
 * Its answer is written as FastCGI records of its own (fcgi_rec.c) into a
 * buffer held for the client; writing never waits. Once that buffer holds
 * EVLOOP_OUT_CAP bytes (at most one upstream read more), the request's
 * next wait for its upstream first waits until the web server took some:
 * the upstream is not read meanwhile. A client that goes away (the web
 * server closes the connection or sends ABORT_REQUEST) ends the upstream
 * call at once; before any answer, no further attempt is made. At the end
 * the request's records are flushed, its connection closed and the
 * coroutine freed. */
#ifndef LLMGATE_EVLOOP_H
#define LLMGATE_EVLOOP_H
#include "http.h"
#include <fcgiapp.h>

/* what the loop holds for one client before it stops reading that
 * client's upstream (one read more at most) */
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
