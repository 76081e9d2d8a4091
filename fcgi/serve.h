/* serve.h — the start-up shared by the FastCGI programs (llmgate-router,
 * llmgate-admin): arguments, signals, CGI or FastCGI, the worker threads,
 * housekeeping and the graceful stop.
 *
 * serve_main promises, in this order:
 *   - arguments: --config FILE, --listen SOCKET (default: $LLMGATE_LISTEN),
 *     --version (prints "<name> <version>", exit 0), --help (usage, exit
 *     0); anything else prints the usage and exits 2;
 *   - SIGTERM and SIGINT are blocked before any thread (and before libfcgi
 *     installs handlers of its own) and taken by the main thread only, so
 *     a signal at any moment, even during start-up, ends the process
 *     cleanly; SIGPIPE and SIGXFSZ are ignored (a file-size limit fails the
 *     write with EFBIG instead of killing the process); umask 077;
 *   - logging starts as "<name>" at LOG_INFO, then ops->init runs; when it
 *     fails the reason is logged, a CGI request gets "Status: 500" with
 *     ops->cgi_error as its JSON body, and the exit status is 1;
 *   - run as CGI (no --listen and FastCGI not detected): one request is
 *     answered with the signals unblocked, then the exit status is 0;
 *   - run as FastCGI: ops->threads worker threads (512 KiB stacks) accept
 *     requests on the web server's socket, or on --listen with a queue of
 *     ops->backlog; a thread takes an admission slot (admit.h) before each
 *     accept; the main thread calls ops->tick about four times a second;
 *   - on SIGTERM/SIGINT no new request is taken, running ones get up to
 *     SERVE_DRAIN_S seconds to finish, then ops->shutdown runs, "stopped"
 *     is logged and the process exits 0;
 *   - if every worker thread ends (the socket failed), ops->free runs and
 *     serve_main returns 0. */
#ifndef LLMGATE_SERVE_H
#define LLMGATE_SERVE_H
#include "http.h"
#include <stddef.h>

#define SERVE_STACK_SIZE (512u << 10)
#define SERVE_DRAIN_S 10

/* What the housekeeping tick may look at. */
struct serve_state {
	int listen_fd;            /* the socket requests are accepted on */
	int inflight;             /* requests being handled now */
	unsigned long served;     /* requests finished so far */
	unsigned long accepted;   /* requests taken so far */
};

struct serve_ops {
	const char *name;         /* program name: log tag and --version */
	const char *usage;        /* printed by --help and on a bad argument */
	const char *cgi_error;    /* JSON body of the 500 a CGI request gets when init fails */
	int backlog;              /* listen queue of a --listen socket */
	int malloc_arenas;        /* M_ARENA_MAX before anything runs; 0: malloc's default */
	/* Read the configuration into app (config_path NULL: the default) and
	 * set the log level; 0, or -1 with a one-line reason in err. */
	int (*init)(void *app, const char *config_path, char *err, size_t errlen);
	/* FastCGI only, before the workers start: how many worker threads
	 * (at least 1); may prepare what they share (admission slots, ...). */
	int (*threads)(void *app, int listen_fd);
	/* Per-thread state for worker idx, freed by worker_free; NULL
	 * callbacks: handle gets app itself. */
	void *(*worker_new)(void *app, unsigned idx);
	void (*worker_free)(void *worker);
	/* Answer one request. */
	void (*handle)(void *worker, struct http_req *r);
	/* Housekeeping about four times a second (FastCGI only); NULL: none. */
	void (*tick)(void *app, const struct serve_state *st);
	/* After a stop signal and the drain, before the exit; NULL: none. */
	void (*shutdown)(void *app);
	/* Release app (after CGI request, or when the workers ended). */
	void (*free)(void *app);
};

/* [server] streams = events: from ops->threads on, requests run on
 * coroutines and streams under way park on one event-loop thread
 * (evloop.h); 0 (the default): each request holds its worker thread. */
void serve_streams_events(int on);

/* Run the program described by ops on app; returns main's exit status
 * (or does not return: see above). */
int serve_main(int argc, char **argv, const struct serve_ops *ops, void *app);
#endif
