/* router.c — llmgate-router: the data plane, as FastCGI (threads) or CGI. */
#include "autoconf.h"
#include "admit.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "provider.h"
#include "spool.h"
#include "xmalloc.h"
#include <fcgiapp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUTER_STACK_SIZE (512u << 10)
#define ROUTER_DRAIN_S 10
#define ROUTER_MALLOC_ARENAS 16

struct thread_arg {
	struct gateway *gw;
	int sock;
	int local;   /* sock is a Unix-domain socket */
	unsigned idx;
};

static int stopping;
static int inflight;
static unsigned long served;   /* requests finished */
static unsigned long accepted; /* requests taken */
static int listen_sock;

/* SIGTERM and SIGINT are blocked in every thread (the mask is set before
 * any thread or libfcgi's own handlers exist) and taken here, so a signal
 * at any moment, even during start-up, ends the process cleanly. */
static sigset_t stop_signals;

/* Housekeeping about once a second; on SIGTERM/SIGINT, let running
 * requests finish (up to ROUTER_DRAIN_S), close the usage segment, exit. */
static void *housekeeping(void *p)
{
	struct gateway *gw = p;
	int64_t last_tick = 0;
	unsigned long trimmed_at = 0, seen = 0, taken_seen = 0;
	for (;;) {
		struct timespec ts = { 0, 250 * 1000000L };
		int sig = sigtimedwait(&stop_signals, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
			FCGX_ShutdownPending();
			for (int i = 0; i < ROUTER_DRAIN_S * 10 && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) > 0; i++) {
				struct timespec t100 = { 0, 100 * 1000000L };
				nanosleep(&t100, NULL);
			}
			gateway_shutdown(gw);
			log_info("stopped");
			_exit(0);
		}
		int64_t now = pool_now_ms();
		if (now - last_tick >= 250) {
			last_tick = now;
			gateway_tick(gw);
			http_watch_tick();
			/* when a burst is over (nothing running, nothing finished
			 * for a tick, something served since the last time), hand
			 * the pages malloc keeps free back to the system: hundreds
			 * of streams leave much of it. Not under load: the trim
			 * takes every arena's lock and the pages fault back in. */
			unsigned long done = __atomic_load_n(&served, __ATOMIC_SEQ_CST);
			if (done != trimmed_at && done == seen && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) == 0) {
				malloc_trim(0);
				trimmed_at = done;
			}
			seen = done;
			unsigned long taken = __atomic_load_n(&accepted, __ATOMIC_RELAXED);
			struct pollfd lp = { listen_sock, POLLIN, 0 };
			admit_tick(poll(&lp, 1, 0) > 0, taken != taken_seen);
			taken_seen = taken;
		}
	}
	return NULL;
}

static void *serve(void *p)
{
	struct thread_arg *ta = p;
	struct worker w;
	FCGX_Request fr;
	worker_init(&w, ta->gw, ta->idx);
	FCGX_InitRequest(&fr, ta->sock, 0);
	for (;;) {
		admit_enter();   /* a no-op while this thread holds its slot */
		if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) || FCGX_Accept_r(&fr) != 0)
			break;
		struct http_req r;
		__atomic_add_fetch(&accepted, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		http_req_init(&r, &fr);
		r.watch = (int)ta->idx;
		gateway_handle(&w, &r);
		http_req_free(&r);
		/* libfcgi ends a connection with shutdown, a wait (up to 2 s) for
		 * the server to close its end, a read and a close: three system
		 * calls and a wake-up more per request, there so that a TCP
		 * reset cannot destroy an answer the server has not read. On a
		 * Unix socket the answer is read before any error, so once the
		 * request has been read to its end the connection is simply
		 * closed (FCGX_Detach skips the shutdown). */
		if (ta->local && FCGX_HasSeenEOF(fr.in) == EOF)
			FCGX_Detach(&fr);
		FCGX_Finish_r(&fr);
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST);
	}
	worker_free(&w);
	return NULL;
}

/* A worker holds up to ROUTER_FDS_PER_WORKER descriptors at once (its
 * FastCGI connection, the upstream connections it keeps alive and one
 * being opened, and what name resolution opens for a moment): raise the soft limit
 * towards the hard one for that many, or say that it is short. */
#define ROUTER_FDS_PER_WORKER 8
static void raise_fd_limit(int workers)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)workers * ROUTER_FDS_PER_WORKER + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		log_warn("open-file limit %llu is short of the %llu that %d threads may use; raise it (ulimit -n) or lower [server] threads",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want, workers);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: llmgate-router [--config FILE] [--listen SOCKET]\n"
		"  Run by a FastCGI web server (lighttpd bin-path, spawn-fcgi) it serves\n"
		"  requests with a pool of threads; run as CGI it answers one request.\n"
		"  --listen PATH|:PORT|HOST:PORT  open a FastCGI socket itself (nginx).\n"
		"Environment: LLMGATE_CONFIG, LLMGATE_STATE_DIR, LLMGATE_LISTEN, provider keys.\n");
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	const char *listen_on = getenv("LLMGATE_LISTEN");
	char err[512];
	struct gateway gw;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen_on = argv[++i];
		} else if (!strcmp(argv[i], "--version")) {
			printf("llmgate-router %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage();
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	/* before libfcgi installs handlers of its own, and before any thread */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	/* a file-size limit (ulimit -f) fails the write (EFBIG: the usage
	 * record is kept and retried) instead of killing the process */
	signal(SIGXFSZ, SIG_IGN);
	/* at most ROUTER_MALLOC_ARENAS malloc arenas, whatever the number of
	 * cores: with two, 16 threads queued on arena locks (two futex calls
	 * per request, 30% more CPU per request in make bench); with 16, the
	 * RSS of 256 threads holding streams is the same (docs/performance.md) */
	mallopt(M_ARENA_MAX, ROUTER_MALLOC_ARENAS);
	log_init("llmgate-router", LOG_INFO);
	if (gateway_init(&gw, config_path, err, sizeof(err)) != 0) {
		log_err("%s", err);
		if (FCGX_IsCGI() && !listen_on) {
			printf("Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
			       "{\"error\":{\"message\":\"gateway misconfigured; see the server log\","
			       "\"type\":\"server_error\",\"param\":null,\"code\":\"config_error\"}}");
			fflush(stdout);
		}
		return 1;
	}
	log_init("llmgate-router", (enum log_level)gw.cfg.log_level);
	size_t usable = 0;
	for (size_t i = 0; i < gw.rt->cfg.nproviders; i++)
		usable += provider_usable(&gw.rt->cfg.providers[i]);
	if (!usable)
		log_warn("no provider has a key: set DEEPSEEK_API_KEY, MOONSHOT_API_KEY, ZAI_API_KEY, ... or [provider.*] keys");
	if (!gw.cfg.nauth_keys && gw.auth.n == 0)
		log_warn("no gateway key yet: set AUTH_KEY or create one with llmgate-keys create");

	if (!listen_on && FCGX_IsCGI()) {
		/* one request per process: a signal may simply end it */
		pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
		struct worker w;
		struct http_req r;
		worker_init(&w, &gw, 0);
		http_req_init(&r, NULL);
		gateway_handle(&w, &r);
		fflush(stdout);
		http_req_free(&r);
		worker_free(&w);
		gateway_free(&gw);
		return 0;
	}
	FCGX_Init();
	int sock = 0;
	if (listen_on) {
		sock = FCGX_OpenSocket(listen_on, 1024);
		if (sock < 0) {
			log_err("cannot listen on %s", listen_on);
			return 1;
		}
	}
	listen_sock = sock;
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int local = getsockname(sock, (struct sockaddr *)&sa, &salen) == 0 && sa.ss_family == AF_UNIX;
	int n = gw.cfg.threads;
	int hot = gw.cfg.hot_threads;
	if (!hot) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		hot = 2 * (int)(cores > 0 ? cores : 1);
	}
	if (hot < n)
		admit_init(hot);
	else
		hot = n;
	http_watch_init(n, gw.cfg.body_timeout_ms);
	raise_fd_limit(n);
	pthread_t *tids = xcalloc((size_t)n, sizeof(*tids));
	struct thread_arg *args = xcalloc((size_t)n, sizeof(*args));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, ROUTER_STACK_SIZE);
	log_info("serving with %d threads (%d taking new requests while no upstream keeps them waiting), %zu provider(s) usable",
		 n, hot, usable);
	for (int i = 0; i < n; i++) {
		args[i] = (struct thread_arg){ &gw, sock, local, (unsigned)i };
		if (pthread_create(&tids[i], &attr, serve, &args[i]) != 0) {
			log_err("cannot start worker thread %d", i);
			return 1;
		}
	}
	pthread_t hk;
	if (pthread_create(&hk, &attr, housekeeping, &gw) != 0) {
		log_err("cannot start the housekeeping thread");
		return 1;
	}
	pthread_attr_destroy(&attr);
	for (int i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	free(args);
	gateway_free(&gw);
	return 0;
}
