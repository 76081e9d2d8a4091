/* admin.c — llmgate-admin: the JSON admin API behind www/, as FastCGI (threads) or CGI. */
#include "autoconf.h"
#include "admin.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_THREADS 4
#define ADMIN_STACK_SIZE (512u << 10)
#define ADMIN_DRAIN_S 10

struct thread_arg {
	struct admin *a;
	int sock;
};

static int inflight;

static void *serve(void *p)
{
	struct thread_arg *ta = p;
	FCGX_Request fr;
	FCGX_InitRequest(&fr, ta->sock, 0);
	while (FCGX_Accept_r(&fr) == 0) {
		struct http_req r;
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		http_req_init(&r, &fr);
		admin_handle(ta->a, &r);
		http_req_free(&r);
		FCGX_Finish_r(&fr);
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: llmgate-admin [--config FILE] [--listen SOCKET]\n"
		"  The JSON API behind the admin page, mounted by the web server at\n"
		"  /admin/api/ (it routes on the part after \"/admin/api/\", or on PATH_INFO).\n"
		"  Run by a FastCGI web server it serves requests with a few threads; run as\n"
		"  CGI it answers one request.\n"
		"  --listen PATH|:PORT|HOST:PORT  open a FastCGI socket itself (nginx).\n"
		"Environment: LLMGATE_CONFIG, LLMGATE_STATE_DIR, LLMGATE_LISTEN.\n");
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	const char *listen_on = getenv("LLMGATE_LISTEN");
	char err[512];
	struct admin a;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen_on = argv[++i];
		} else if (!strcmp(argv[i], "--version")) {
			printf("llmgate-admin %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage();
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	/* SIGTERM and SIGINT are blocked in every thread and taken by the
	 * main thread once the workers run (sigwait below): libfcgi's own
	 * handler only marks a shutdown that workers blocked in accept never
	 * see, so a web server stopping the admin left it running */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("llmgate-admin", LOG_INFO);
	if (admin_init(&a, config_path, err, sizeof(err)) != 0) {
		log_err("%s", err);
		if (FCGX_IsCGI() && !listen_on) {
			printf("Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n"
			       "{\"error\":{\"message\":\"admin misconfigured; see the server log\","
			       "\"code\":\"config_error\"}}");
		}
		return 1;
	}
	log_init("llmgate-admin", (enum log_level)a.cfg.log_level);

	FCGX_Init();
	if (!listen_on && FCGX_IsCGI()) {
		/* one request per process: a signal may simply end it */
		pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
		struct http_req r;
		http_req_init(&r, NULL);
		admin_handle(&a, &r);
		fflush(stdout);
		http_req_free(&r);
		admin_free(&a);
		return 0;
	}
	int sock = 0;
	if (listen_on) {
		sock = FCGX_OpenSocket(listen_on, 128);
		if (sock < 0) {
			log_err("cannot listen on %s", listen_on);
			admin_free(&a);
			return 1;
		}
	}
	pthread_t tids[ADMIN_THREADS];
	struct thread_arg arg = { &a, sock };
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, ADMIN_STACK_SIZE);
	int started = 0;
	for (int i = 0; i < ADMIN_THREADS; i++) {
		if (pthread_create(&tids[i], &attr, serve, &arg) != 0) {
			log_err("cannot start worker thread %d", i);
			break;
		}
		started++;
	}
	pthread_attr_destroy(&attr);
	if (!started)
		return 1;
	/* on SIGTERM/SIGINT: let running requests finish (up to
	 * ADMIN_DRAIN_S), then end; a store write under way is completed */
	int sig = 0;
	while (sigwait(&stop_signals, &sig) != 0)
		;
	for (int i = 0; i < ADMIN_DRAIN_S * 10 && __atomic_load_n(&inflight, __ATOMIC_SEQ_CST) > 0; i++) {
		struct timespec t100 = { 0, 100 * 1000000L };
		nanosleep(&t100, NULL);
	}
	log_info("stopped");
	_exit(0);
}
