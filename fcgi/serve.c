/* serve.c — the start-up shared by the FastCGI programs (serve.h). */
#include "autoconf.h"
#include "serve.h"
#include "admit.h"
#include "evloop.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"
#include <fcgiapp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SERVE_TICK_MS 250

struct serve_thread {
	const struct serve_ops *ops;
	void *app;
	int sock;
	int local;   /* sock is a Unix-domain socket */
	unsigned idx;
};

static int stopping;
static int events_mode;        /* [server] streams = events (serve_streams_events) */
static int inflight;
static int running;            /* worker threads not ended */
static unsigned long served;   /* requests finished */
static unsigned long accepted; /* requests taken */

void serve_streams_events(int on)
{
	events_mode = on;
}

/* A parked request ended on the event loop. */
static void serve_parked_done(void)
{
	__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
}

/* The end of a request on its worker: libfcgi's lingering close skipped
 * where it is not needed (see serve_worker). */
static void serve_finish(FCGX_Request *fr, int local)
{
	/* libfcgi ends a connection with shutdown, a wait (up to 2 s) for
	 * the server to close its end, a read and a close: three system
	 * calls and a wake-up more per request, there so that a TCP
	 * reset cannot destroy an answer the server has not read. On a
	 * Unix socket the answer is read before any error, so once the
	 * request has been read to its end the connection is simply
	 * closed (FCGX_Detach skips the shutdown). */
	if (local && FCGX_HasSeenEOF(fr->in) == EOF)
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
}

/* [server] streams = events: each request on a coroutine of its own; one
 * that parks (a stream under way) is the event loop's from then on, and
 * the worker takes its next request on a new one (evloop.h). */
static void serve_worker_events(struct serve_thread *t, void *w)
{
	struct evloop_co *co = NULL;
	for (;;) {
		if (!co && !(co = evloop_co_new(t->sock))) {
			log_err("out of memory for a request's stack");
			break;
		}
		admit_enter();
		FCGX_Request *fr = evloop_request(co);
		if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) || FCGX_Accept_r(fr) != 0)
			break;
		struct http_req *r = evloop_http(co);
		__atomic_add_fetch(&accepted, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		http_req_init(r, fr);
		r->watch = (int)t->idx;
		if (evloop_run(co, t->ops->handle, w)) {
			co = NULL;   /* the loop's now; it ends it */
			continue;
		}
		http_req_free(r);
		serve_finish(fr, t->local);
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
	}
	if (co)
		FCGX_Finish_r(evloop_request(co));
	evloop_co_free(co);
}

static void *serve_worker(void *p)
{
	struct serve_thread *t = p;
	const struct serve_ops *ops = t->ops;
	void *w = ops->worker_new ? ops->worker_new(t->app, t->idx) : t->app;
	if (events_mode) {
		serve_worker_events(t, w);
		if (ops->worker_free)
			ops->worker_free(w);
		__atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	FCGX_Request fr;
	FCGX_InitRequest(&fr, t->sock, 0);
	for (;;) {
		admit_enter();   /* a no-op while this thread holds its slot */
		if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) || FCGX_Accept_r(&fr) != 0)
			break;
		struct http_req r;
		__atomic_add_fetch(&accepted, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		http_req_init(&r, &fr);
		r.watch = (int)t->idx;
		ops->handle(w, &r);
		http_req_free(&r);
		serve_finish(&fr, t->local);
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
	}
	if (ops->worker_free)
		ops->worker_free(w);
	__atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* After SIGTERM/SIGINT: take nothing new, let running requests finish (up
 * to SERVE_DRAIN_S), shut down, end. */
static void serve_stop(const struct serve_ops *ops, void *app)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	FCGX_ShutdownPending();
	for (int i = 0; i < SERVE_DRAIN_S * 10 && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) > 0; i++) {
		struct timespec t100 = { 0, 100 * 1000000L };
		nanosleep(&t100, NULL);
	}
	if (ops->shutdown)
		ops->shutdown(app);
	log_info("stopped");
	_exit(0);
}

/* The main thread once the workers run: take the stop signals, tick,
 * return when every worker has ended. */
static void serve_wait(const struct serve_ops *ops, void *app, const sigset_t *stop_signals, int sock)
{
	int64_t last_tick = 0;
	while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) > 0) {
		struct timespec ts = { 0, SERVE_TICK_MS * 1000000L };
		int sig = sigtimedwait(stop_signals, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			serve_stop(ops, app);
		int64_t now = pool_now_ms();
		if (!ops->tick || now - last_tick < SERVE_TICK_MS)
			continue;
		last_tick = now;
		struct serve_state st = {
			sock, __atomic_load_n(&inflight, __ATOMIC_SEQ_CST),
			__atomic_load_n(&served, __ATOMIC_SEQ_CST),
			__atomic_load_n(&accepted, __ATOMIC_RELAXED),
		};
		ops->tick(app, &st);
	}
}

/* FastCGI: start the workers on sock and wait for them. */
static int serve_fastcgi(const struct serve_ops *ops, void *app, const sigset_t *stop_signals, int sock)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int local = getsockname(sock, (struct sockaddr *)&sa, &salen) == 0 && sa.ss_family == AF_UNIX;
	int n = ops->threads(app, sock);
	if (events_mode && evloop_start(serve_parked_done) != 0) {
		log_err("cannot start the event loop of [server] streams = events");
		return 1;
	}
	pthread_t *tids = xcalloc((size_t)n, sizeof(*tids));
	struct serve_thread *args = xcalloc((size_t)n, sizeof(*args));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SERVE_STACK_SIZE);
	for (int i = 0; i < n; i++) {
		args[i] = (struct serve_thread){ ops, app, sock, local, (unsigned)i };
		__atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
		if (pthread_create(&tids[i], &attr, serve_worker, &args[i]) != 0) {
			log_err("cannot start worker thread %d", i);
			return 1;
		}
	}
	pthread_attr_destroy(&attr);
	serve_wait(ops, app, stop_signals, sock);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	free(args);
	ops->free(app);
	return 0;
}

/* CGI: one request per process; a signal may simply end it. */
static int serve_cgi(const struct serve_ops *ops, void *app, const sigset_t *stop_signals)
{
	pthread_sigmask(SIG_UNBLOCK, stop_signals, NULL);
	void *w = ops->worker_new ? ops->worker_new(app, 0) : app;
	struct http_req r;
	http_req_init(&r, NULL);
	ops->handle(w, &r);
	fflush(stdout);
	http_req_free(&r);
	if (ops->worker_free)
		ops->worker_free(w);
	ops->free(app);
	return 0;
}

static void serve_usage(const struct serve_ops *ops)
{
	fputs(ops->usage, stderr);
}

int serve_main(int argc, char **argv, const struct serve_ops *ops, void *app)
{
	const char *config_path = NULL;
	const char *listen_on = getenv("LLMGATE_LISTEN");
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen_on = argv[++i];
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s %s\n", ops->name, PACKAGE_VERSION);
			return 0;
		} else {
			serve_usage(ops);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	/* before libfcgi installs handlers of its own, and before any thread:
	 * libfcgi's handler only marks a shutdown that workers blocked in
	 * accept never see */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
#if HAVE_DECL_M_ARENA_MAX
	if (ops->malloc_arenas)
		mallopt(M_ARENA_MAX, ops->malloc_arenas);
#endif
	log_init(ops->name, LOG_INFO);
	if (ops->init(app, config_path, err, sizeof(err)) != 0) {
		log_err("%s", err);
		if (FCGX_IsCGI() && !listen_on) {
			printf("Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n%s",
			       ops->cgi_error);
			fflush(stdout);
		}
		return 1;
	}
	if (!listen_on && FCGX_IsCGI())
		return serve_cgi(ops, app, &stop_signals);
	FCGX_Init();
	int sock = 0;
	if (listen_on) {
		sock = FCGX_OpenSocket(listen_on, ops->backlog);
		if (sock < 0) {
			log_err("cannot listen on %s", listen_on);
			ops->free(app);
			return 1;
		}
	}
	return serve_fastcgi(ops, app, &stop_signals, sock);
}
