/* admin.c — llmgate-admin: the JSON admin API behind www/, as FastCGI (threads) or CGI.
 * The start-up, the threads and the stop are serve.c's: on SIGTERM a store
 * write under way is completed (running requests get the drain time). */
#include "autoconf.h"
#include "admin.h"
#include "http.h"
#include "log.h"
#include "serve.h"
#include <stddef.h>

#define ADMIN_THREADS 4

static int admin_serve_init(void *app, const char *config_path, char *err, size_t errlen)
{
	struct admin *a = app;
	if (admin_init(a, config_path, err, errlen) != 0)
		return -1;
	log_init("llmgate-admin", (enum log_level)a->cfg.log_level);
	if (config_apply_log(&a->cfg, err, errlen) != 0)
		log_warn("%s", err);
	return 0;
}

static int admin_serve_threads(void *app, int listen_fd)
{
	(void)app;
	(void)listen_fd;
	return ADMIN_THREADS;
}

static void admin_serve_handle(void *app, struct http_req *r)
{
	admin_handle(app, r);
}

static void admin_serve_free(void *app)
{
	admin_free(app);
}

static const struct serve_ops admin_ops = {
	.name = "llmgate-admin",
	.usage =
		"usage: llmgate-admin [--config FILE] [--listen SOCKET]\n"
		"  The JSON API behind the admin page, mounted by the web server at\n"
		"  /admin/api/ (it routes on the part after \"/admin/api/\", or on PATH_INFO).\n"
		"  Run by a FastCGI web server it serves requests with a few threads; run as\n"
		"  CGI it answers one request.\n"
		"  --listen PATH|:PORT|HOST:PORT  open a FastCGI socket itself (nginx).\n"
		"Environment: LLMGATE_CONFIG, LLMGATE_STATE_DIR, LLMGATE_LISTEN.\n",
	.cgi_error =
		"{\"error\":{\"message\":\"admin misconfigured; see the server log\","
		"\"code\":\"config_error\"}}",
	.backlog = 128,
	.init = admin_serve_init,
	.threads = admin_serve_threads,
	.handle = admin_serve_handle,
	.free = admin_serve_free,
};

int main(int argc, char **argv)
{
	static struct admin a;
	return serve_main(argc, argv, &admin_ops, &a);
}
