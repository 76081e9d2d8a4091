/* router.c — llmgate-router: the data plane, as FastCGI (threads) or CGI. */
#include "autoconf.h"
#include "admit.h"
#include "gateway.h"
#include "http.h"
#include "log.h"
#include "provider.h"
#include "evloop.h"
#include "serve.h"
#include "xmalloc.h"
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ROUTER_MALLOC_ARENAS 16

struct router {
	struct gateway gw;
	size_t usable;                /* providers with a key */
	unsigned long trimmed_at;     /* served count at the last malloc_trim */
	unsigned long seen;           /* served count at the last tick */
	unsigned long taken_seen;     /* accepted count at the last tick */
};

static int router_init(void *app, const char *config_path, char *err, size_t errlen)
{
	struct router *ro = app;
	struct gateway *gw = &ro->gw;
	if (gateway_init(gw, config_path, err, errlen) != 0)
		return -1;
	log_init("llmgate-router", (enum log_level)gw->cfg.log_level);
	if (config_apply_log(&gw->cfg, err, errlen) != 0)
		log_warn("%s", err);
	for (size_t i = 0; i < gw->rt->cfg.nproviders; i++)
		ro->usable += provider_usable(&gw->rt->cfg.providers[i]);
	if (!ro->usable)
		log_warn("no provider has a key: set DEEPSEEK_API_KEY, MOONSHOT_API_KEY, ZAI_API_KEY, ... or [provider.*] keys");
	if (!gw->cfg.nauth_keys && gw->auth.n == 0)
		log_warn("no gateway key yet: set AUTH_KEY or create one with llmgate-keys create");
	return 0;
}

/* A worker holds up to ROUTER_FDS_PER_WORKER descriptors at once (its
 * FastCGI connection, the upstream connections it keeps alive and one
 * being opened, and what name resolution opens for a moment): raise the soft limit
 * towards the hard one for that many, or say that it is short. */
#define ROUTER_FDS_PER_WORKER 8
static void raise_fd_limit(int workers, int events)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)workers * ROUTER_FDS_PER_WORKER + 64;
	/* parked streams hold two each (their FastCGI and upstream
	 * connections), as many as the web server sends: all there is */
	if (events && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > want)
		want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
		log_warn("open-file limit %llu is short of the %llu that %d threads may use; raise it (ulimit -n) or lower [server] threads",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want, workers);
}

/* [server] threads workers, of which hot_threads (default: two per core)
 * take new requests while no upstream keeps them waiting. */
static int router_threads(void *app, int listen_fd)
{
	struct router *ro = app;
	(void)listen_fd;
	int n = ro->gw.cfg.threads;
	int hot = ro->gw.cfg.hot_threads;
	if (!hot) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		hot = 2 * (int)(cores > 0 ? cores : 1);
	}
	if (hot < n)
		admit_init(hot);
	else
		hot = n;
	const char *mode = ro->gw.cfg.streams ? ro->gw.cfg.streams : "events";
	if (!strcmp(mode, "events") && !evloop_available()) {
		log_info("[server] streams = events needs swapcontext and epoll, which this C library lacks: streams are held by threads");
		mode = "threads";
	} else if (strcmp(mode, "events") && strcmp(mode, "threads")) {
		log_warn("[server] streams = %s is neither threads nor events; threads it is", mode);
		mode = "threads";
	}
	if (!strcmp(mode, "events"))
		serve_streams_events(1);
	http_watch_init(n, ro->gw.cfg.body_timeout_ms);
	raise_fd_limit(n, !strcmp(mode, "events"));
	log_info("serving with %d threads (%d taking new requests while no upstream keeps them waiting), streams held by %s, %zu provider(s) usable",
		 n, hot, mode, ro->usable);
	return n;
}

static void *router_worker_new(void *app, unsigned idx)
{
	struct router *ro = app;
	struct worker *w = xmalloc(sizeof(*w));
	worker_init(w, &ro->gw, idx);
	return w;
}

static void router_worker_free(void *p)
{
	worker_free(p);
	free(p);
}

static void router_handle(void *w, struct http_req *r)
{
	gateway_handle(w, r);
}

static void router_tick(void *app, const struct serve_state *st)
{
	struct router *ro = app;
	gateway_tick(&ro->gw);
	http_watch_tick();
	/* when a burst is over (nothing running, nothing finished for a tick,
	 * something served since the last time), hand the pages malloc keeps
	 * free back to the system: hundreds of streams leave much of it. Not
	 * under load: the trim takes every arena's lock and the pages fault
	 * back in. */
	if (st->served != ro->trimmed_at && st->served == ro->seen && st->inflight == 0) {
#if HAVE_DECL_MALLOC_TRIM
		malloc_trim(0);
#endif
		ro->trimmed_at = st->served;
	}
	ro->seen = st->served;
	struct pollfd lp = { st->listen_fd, POLLIN, 0 };
	admit_tick(poll(&lp, 1, 0) > 0, st->accepted != ro->taken_seen);
	ro->taken_seen = st->accepted;
}

static void router_shutdown(void *app)
{
	gateway_shutdown(&((struct router *)app)->gw);
}

static void router_free(void *app)
{
	gateway_free(&((struct router *)app)->gw);
}

static const struct serve_ops router_ops = {
	.name = "llmgate-router",
	.usage =
		"usage: llmgate-router [--config FILE] [--listen SOCKET]\n"
		"  Run by a FastCGI web server (lighttpd bin-path, spawn-fcgi) it serves\n"
		"  requests with a pool of threads; run as CGI it answers one request.\n"
		"  --listen PATH|:PORT|HOST:PORT  open a FastCGI socket itself (nginx).\n"
		"Environment: LLMGATE_CONFIG, LLMGATE_STATE_DIR, LLMGATE_LISTEN, provider keys.\n",
	.cgi_error =
		"{\"error\":{\"message\":\"gateway misconfigured; see the server log\","
		"\"type\":\"server_error\",\"param\":null,\"code\":\"config_error\"}}",
	/* room for a burst of new streams (the kernel caps it at
	 * net.core.somaxconn, 4096 by default): over it the web server's
	 * connect fails and its client gets a 5xx (docs/performance.md) */
	.backlog = 65535,
	/* at most ROUTER_MALLOC_ARENAS malloc arenas, whatever the number of
	 * cores: with two, 16 threads queued on arena locks (two futex calls
	 * per request, 30% more CPU per request in make bench); with 16, the
	 * RSS of 256 threads holding streams is the same (docs/performance.md) */
	.malloc_arenas = ROUTER_MALLOC_ARENAS,
	.init = router_init,
	.threads = router_threads,
	.worker_new = router_worker_new,
	.worker_free = router_worker_free,
	.handle = router_handle,
	.tick = router_tick,
	.shutdown = router_shutdown,
	.free = router_free,
};

int main(int argc, char **argv)
{
	static struct router ro;
	return serve_main(argc, argv, &router_ops, &ro);
}
