/* gateway.c — the router's entry point and what lives as long as it:
 * runtime snapshots and their reload, workers, usage spool and quota
 * upkeep; per request: the id, the snapshot, the routes table, the gateway
 * key; the handlers are the front-ends (api.h). */
#include "autoconf.h"
#include "gateway.h"
#include "api.h"
#include "anthropic.h"
#include "app.h"
#include "applog.h"
#include "buf.h"
#include "convo.h"
#include "cors.h"
#include "filter.h"
#include "durable.h"
#include "estimate.h"
#include "gemini.h"
#include "jscan.h"
#include "upkey.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "mcp_session.h"
#include "state_redis.h"
#include "pool_redis.h"
#include "oai.h"
#include "provider.h"
#include "ratelimit.h"
#include "reqbody.h"
#include "reqlog.h"
#include "sha256.h"
#include "sse.h"
#include "upstream.h"
#include "usage.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQ_ID_MAX 48
/* a model name the gateway takes is echoed whole by the translators */
_Static_assert(ANTHROPIC_MODEL_MAX >= MODEL_NAME_MAX && GEMINI_MODEL_MAX >= MODEL_NAME_MAX,
	       "translators must hold any model name the gateway takes");

static void runtime_free(struct runtime *rt)
{
	pool_free_all(rt->pools, rt->cfg.nproviders);
	config_free(&rt->cfg);
	free(rt);
}

struct runtime *runtime_get(struct gateway *gw)
{
	pthread_mutex_lock(&gw->rt_mu);
	struct runtime *rt = gw->rt;
	rt->refs++;
	pthread_mutex_unlock(&gw->rt_mu);
	return rt;
}

void runtime_put(struct gateway *gw, struct runtime *rt)
{
	pthread_mutex_lock(&gw->rt_mu);
	int last = --rt->refs == 0;
	pthread_mutex_unlock(&gw->rt_mu);
	if (last)
		runtime_free(rt);
}

/* Carry cool-downs, blocks and counters over to a new snapshot's pools:
 * the same secret of the same provider is the same key. */
static void carry_pool_state(struct runtime *to, struct runtime *from)
{
	for (size_t i = 0; i < to->cfg.nproviders; i++) {
		struct pool *np = &to->pools[i];
		struct pool *op = NULL;
		for (size_t j = 0; j < from->cfg.nproviders && !op; j++) {
			if (!strcmp(from->pools[j].provider, np->provider))
				op = &from->pools[j];
		}
		if (!op)
			continue;
		pthread_mutex_lock(&op->mu);
		for (size_t k = 0; k < np->n; k++) {
			struct pool_key *nk = &np->keys[k];
			for (size_t m = 0; m < op->n; m++) {
				const struct pool_key *ok = &op->keys[m];
				if ((ok->secret && nk->secret && !strcmp(ok->secret, nk->secret)) || (!ok->secret && !nk->secret)) {
					nk->cool_until_ms = ok->cool_until_ms;
					nk->consecutive_429 = ok->consecutive_429;
					nk->recent_429 = ok->recent_429;
					nk->window_start_ms = ok->window_start_ms;
					nk->blocked = ok->blocked;
					memcpy(nk->block_reason, ok->block_reason, sizeof(nk->block_reason));
					memcpy(nk->last_error, ok->last_error, sizeof(nk->last_error));
					nk->last_error_ms = ok->last_error_ms;
					nk->last_used_ms = ok->last_used_ms;
					nk->uses = ok->uses;
					break;
				}
			}
		}
		np->rr = op->rr;
		pthread_mutex_unlock(&op->mu);
	}
}

/* A new snapshot from the file, the environment and state.db; NULL with err
 * if the file is wrong or state.db cannot be read now. */
static struct runtime *runtime_build(struct gateway *gw, int with_state, char *err, size_t errlen)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	if (config_load(&rt->cfg, gw->config_path, err, errlen) != 0 ||
	    (with_state && config_apply_state(&rt->cfg, err, errlen) != 0)) {
		config_free(&rt->cfg);
		free(rt);
		return NULL;
	}
	rt->pools = pool_create_all(&rt->cfg);
	rt->refs = 1;
	return rt;
}

static void file_sig(const char *path, struct timespec *mt, ino_t *ino)
{
	struct stat st;
	if (path && stat(path, &st) == 0) {
		*mt = st.st_mtim;
		if (ino)
			*ino = st.st_ino;
	} else {
		memset(mt, 0, sizeof(*mt));
		if (ino)
			*ino = 0;
	}
}

static void open_cache_if_needed(struct gateway *gw, const struct config *c)
{
	if (c->cache_enabled && !__atomic_load_n(&gw->cache, __ATOMIC_ACQUIRE)) {
		struct cache *cc = cache_open(gw->cfg.state_dir, c->cache_ttl_s, c->cache_max_bytes);
		cache_share(cc, gw->redis);
		__atomic_store_n(&gw->cache, cc, __ATOMIC_RELEASE);
	}
}

/* Undo what gateway_init made before it failed (with_auth: auth_init ran). */
static int init_failed(struct gateway *gw, int with_auth)
{
	if (with_auth)
		auth_free(&gw->auth);
	if (gw->rt)
		runtime_put(gw, gw->rt);
	gw->rt = NULL;
	config_free(&gw->cfg);
	free(gw->config_path);
	gw->config_path = NULL;
	health_free(&gw->health);
	pthread_mutex_destroy(&gw->rt_mu);
	return -1;
}

/* With REDIS_URL / [shared] redis: the limits of keys are the fleet's. A
 * URL that cannot be used is said once and this node runs alone. */
static void share_state(struct gateway *gw)
{
	const struct config *c = &gw->cfg;
	if (!c->shared_redis || !*c->shared_redis)
		return;
	char err[300];
	gw->redis = redis_open(c->shared_redis, c->shared_timeout_ms, err, sizeof(err));
	if (!gw->redis) {
		log_err("shared state off: %s", err);
		health_set(&gw->health, HEALTH_SHARED, 1, "%s", err);
		return;
	}
	quota_share(&gw->quota, gw->redis, c->shared_fail_closed, c->shared_lease_s * 1000);
	gw->shared_recs = state_redis_new(gw->redis, c->state_dir);
	gw->shared_pools = pool_redis_new(gw->redis);
}

int gateway_init(struct gateway *gw, const char *config_path, char *err, size_t errlen)
{
	memset(gw, 0, sizeof(*gw));
	pthread_mutex_init(&gw->rt_mu, NULL);
	health_init(&gw->health);
	gw->config_path = config_path ? xstrdup(config_path) : NULL;
	if (config_load(&gw->cfg, config_path, err, errlen) != 0)
		return init_failed(gw, 0);
	upstream_set_ca_file(gw->cfg.ca_file);
	if (!gw->config_path && gw->cfg.path)
		gw->config_path = xstrdup(gw->cfg.path);
	if (mkdir(gw->cfg.state_dir, 0700) != 0 && errno != EEXIST)
		log_err("cannot create state directory %s: %s", gw->cfg.state_dir, strerror(errno));
	char *state_path = auth_state_path(gw->cfg.state_dir);
	file_sig(state_path, &gw->state_mtime, &gw->state_ino);
	file_sig(gw->config_path, &gw->conf_mtime, NULL);
	free(state_path);
	/* a state.db that exists but cannot be read is not an empty one: no
	 * start without its settings and keys (writers never lock readers out) */
	gw->rt = runtime_build(gw, 1, err, errlen);
	if (!gw->rt)
		return init_failed(gw, 0);
	if (auth_init(&gw->auth, &gw->cfg, err, errlen) != 0)
		return init_failed(gw, 1);
	gw->spool_ok = spool_open(&gw->spool, gw->cfg.state_dir) == 0;
	durable_measure(gw, &gw->rt->cfg);
	quota_init(&gw->quota, gw->cfg.state_dir);
	share_state(gw);
	open_cache_if_needed(gw, &gw->rt->cfg);
	static int taps_added;   /* once per process, whatever the number of gateways */
	if (!taps_added++)
		filter_add_tap(&convo_tap);
	char merr[300];
	if (metrics_open(gw->cfg.state_dir, merr, sizeof(merr)) != 0)
		log_warn("metrics are off in this process: %s", merr);
	gw->started_ms = pool_now_ms();
	gw->app_rates = ratelimit_new();
	gw->mcp = mcp_sessions_new(gw->cfg.state_dir);
	if (random_bytes(&gw->boot_id, sizeof(gw->boot_id)) != 0)
		gw->boot_id = (uint32_t)getpid() ^ (uint32_t)gw->started_ms;
	return 0;
}

/* Write run/pools-<pid>.json (see docs/state.md) for the admin. */
static void publish_pools(struct gateway *gw)
{
	struct runtime *rt = runtime_get(gw);
	int64_t now = pool_now_ms();
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "pid", (double)getpid());
	cJSON_AddNumberToObject(root, "written", (double)(now / 1000));
	cJSON *provs = cJSON_AddArrayToObject(root, "providers");
	for (size_t i = 0; i < rt->cfg.nproviders; i++) {
		const struct provider_conf *pc = &rt->cfg.providers[i];
		struct pool *p = &rt->pools[i];
		cJSON *po = cJSON_CreateObject();
		cJSON_AddStringToObject(po, "name", pc->name);
		cJSON_AddBoolToObject(po, "usable", provider_usable(pc));
		cJSON *keys = cJSON_AddArrayToObject(po, "keys");
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n; k++) {
			const struct pool_key *pk = &p->keys[k];
			const char *sid = pc->key_ids && k < pc->nkeys ? pc->key_ids[k] : NULL;
			cJSON *ko = cJSON_CreateObject();
			cJSON_AddStringToObject(ko, "id", sid ? sid : pk->id);
			cJSON_AddStringToObject(ko, "source", sid ? "state" : "config");
			pool_key_json(ko, pk, now);
			cJSON_AddItemToArray(keys, ko);
		}
		pthread_mutex_unlock(&p->mu);
		cJSON_AddItemToArray(provs, po);
	}
	api_metrics_publish_keys(rt, now);
	runtime_put(gw, rt);
	char *json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	char *dir = xasprintf("%s/run", gw->cfg.state_dir);
	char *tmp = xasprintf("%s/.pools-%d.tmp", dir, (int)getpid());
	char *dst = xasprintf("%s/pools-%d.json", dir, (int)getpid());
	if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
		FILE *f = fopen(tmp, "w");
		if (f) {
			int ok = fputs(json, f) >= 0;
			ok &= fclose(f) == 0;
			if (!ok || rename(tmp, dst) != 0)
				unlink(tmp);
		}
	}
	free(json);
	free(dir);
	free(tmp);
	free(dst);
}

/* The prompt apps' log retention and size caps, their rate windows, and
 * MCP sessions unused too long (once a minute). */
static void trim_app_logs(struct gateway *gw, int64_t now)
{
	struct runtime *rt = runtime_get(gw);
	for (size_t i = 0; i < rt->cfg.napps; i++) {
		const struct app_conf *a = &rt->cfg.apps[i];
		applog_trim(gw->cfg.state_dir, a->name, a->log_days, a->log_max_bytes, now);
	}
	ratelimit_prune(gw->app_rates, now);
	mcp_sessions_expire(gw->mcp, now, rt->cfg.mcp_session_idle_s * 1000);
	runtime_put(gw, rt);
}

void gateway_tick(struct gateway *gw)
{
	if (gw->spool_ok)
		spool_rotate(&gw->spool, 0);
	struct runtime *cur = runtime_get(gw);
	durable_tick(gw, &cur->cfg);
	if (gw->shared_pools)
		pool_redis_tick(gw->shared_pools, cur->pools, cur->cfg.nproviders, pool_now_ms());
	runtime_put(gw, cur);
	quota_tick(&gw->quota);
	if (gw->shared_recs)
		state_redis_tick(gw->shared_recs);   /* before the state.db check: the fleet's keys reload now */
	if (gw->redis)
		health_set(&gw->health, HEALTH_SHARED, !redis_up(gw->redis),
			   "the shared state (Redis) cannot be reached; limits are %s meanwhile",
			   gw->cfg.shared_fail_closed ? "refused" : "kept by this node");
	/* state.db or the config file changed: a new snapshot */
	struct timespec smt, cmt;
	ino_t sino;
	char *state_path = auth_state_path(gw->cfg.state_dir);
	file_sig(state_path, &smt, &sino);
	free(state_path);
	file_sig(gw->config_path, &cmt, NULL);
	int conf_changed = cmt.tv_sec != gw->conf_mtime.tv_sec || cmt.tv_nsec != gw->conf_mtime.tv_nsec;
	if (conf_changed || smt.tv_sec != gw->state_mtime.tv_sec || smt.tv_nsec != gw->state_mtime.tv_nsec ||
	    sino != gw->state_ino) {
		char err[512];
		struct runtime *nrt = runtime_build(gw, 1, err, sizeof(err));
		if (nrt) {
			pthread_mutex_lock(&gw->rt_mu);
			struct runtime *old = gw->rt;
			gw->rt = nrt;
			pthread_mutex_unlock(&gw->rt_mu);
			carry_pool_state(nrt, old);
			runtime_put(gw, old);
			open_cache_if_needed(gw, &nrt->cfg);
			gw->state_mtime = smt;
			gw->state_ino = sino;
			gw->conf_mtime = cmt;
			if (gw->state_failing)
				log_info("state.db can be read again");
			gw->state_failing = 0;
			health_set(&gw->health, HEALTH_STORE_UNREADABLE, 0, NULL);
			log_info("settings reloaded");
		} else if (conf_changed) {
			/* a broken config file: keep serving with what we have */
			log_err("config not reloaded: %s", err);
			gw->conf_mtime = cmt;
		} else {
			/* state.db cannot be read: keep the last good snapshot, say
			 * so once, and try again at the next tick */
			if (!gw->state_failing)
				log_err("settings not reloaded, the settings read before stay in use: %s", err);
			gw->state_failing = 1;
			health_set(&gw->health, HEALTH_STORE_UNREADABLE, 1, "state.db cannot be read");
		}
	}
	auth_refresh(&gw->auth);
	int64_t now = pool_now_ms();
	if (now >= gw->next_publish_ms) {
		gw->next_publish_ms = now + 1000;
		publish_pools(gw);
	}
	if (now >= gw->next_app_trim_ms) {
		gw->next_app_trim_ms = now + 60000;
		trim_app_logs(gw, now);
	}
}

void gateway_shutdown(struct gateway *gw)
{
	durable_shutdown(gw);
}

void gateway_free(struct gateway *gw)
{
	durable_shutdown(gw);
	ratelimit_free(gw->app_rates);
	gw->app_rates = NULL;
	mcp_sessions_free(gw->mcp);
	gw->mcp = NULL;
	quota_free(&gw->quota);
	state_redis_free(gw->shared_recs);
	pool_redis_free(gw->shared_pools);
	redis_close(gw->redis);
	if (gw->cache)
		cache_close(gw->cache);
	auth_free(&gw->auth);
	if (gw->rt)
		runtime_put(gw, gw->rt);
	char *dst = xasprintf("%s/run/pools-%d.json", gw->cfg.state_dir, (int)getpid());
	unlink(dst);
	free(dst);
	config_free(&gw->cfg);
	free(gw->config_path);
	health_free(&gw->health);
	pthread_mutex_destroy(&gw->rt_mu);
}

void worker_init(struct worker *w, struct gateway *gw, unsigned idx)
{
	memset(w, 0, sizeof(*w));
	w->gw = gw;
	w->idx = idx;
	w->conns = upstream_conns();
}

void worker_free(struct worker *w)
{
	upstream_conns_free(w->conns);
	w->conns = NULL;
}


/* The gateway key from Authorization: Bearer or x-api-key. */
static const char *presented_key(struct http_req *r)
{
	const char *a = http_header(r, "Authorization");
	if (a && *a) {
		if (!strncasecmp(a, "Bearer ", 7)) {
			a += 7;
			while (*a == ' ')
				a++;
			return a;
		}
		return a;
	}
	const char *x = http_header(r, "x-api-key");
	if (x && *x)
		return x;
	x = http_header(r, "x-goog-api-key");
	if (x && *x)
		return x;
	/* Gemini clients may put the key in the query: ?key=... */
	if (r->passthrough || r->gemini_errors) {
		for (const char *q = r->query; q && *q;) {
			if (!strncmp(q, "key=", 4)) {
				size_t n = strcspn(q + 4, "&");
				if (n && n < sizeof(r->query_key)) {
					memcpy(r->query_key, q + 4, n);
					r->query_key[n] = '\0';
					return r->query_key;
				}
			}
			q = strchr(q, '&');
			if (q)
				q++;
		}
	}
	return NULL;
}

int gateway_key_lookup(struct worker *w, struct http_req *r, struct auth_entry *who)
{
	const char *key = presented_key(r);
	if (!key)
		return 0;
	return auth_lookup(&w->gw->auth, key, who) ? 1 : -1;
}

static int authenticate(struct worker *w, struct http_req *r, struct auth_entry *who)
{
	const char *key = presented_key(r);
	if (!key) {
		oai_error(r, 401, "invalid_request_error", "invalid_api_key", NULL, NULL,
			  "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' or 'x-api-key: YOUR_KEY'"
			  " (Gemini clients: 'x-goog-api-key: YOUR_KEY').");
		return -1;
	}
	if (!auth_lookup(&w->gw->auth, key, who)) {
		oai_error(r, 401, "invalid_request_error", "invalid_api_key", NULL, NULL,
			  "Incorrect API key provided. Use a key issued by this gateway.");
		return -1;
	}
	return 0;
}

/* Strip the mount prefix and locate the API path ("chat/completions",
 * "models", ...) after its "/v1/". *rest gets the part after "/v1/", or the
 * whole path when there is no "/v1/". */
static const char *strip_mount(const struct config *c, const char *path)
{
	size_t ml = strlen(c->mount);
	while (ml && c->mount[ml - 1] == '/')
		ml--;
	if (ml && !strncmp(path, c->mount, ml) && (path[ml] == '/' || !path[ml]))
		return path + ml;
	return path;
}

/* The path under /api, from its '/' ("/{provider}/{rest}"), when the path
 * is /api/... after the mount, or the router is mounted at /api; else NULL. */
static const char *under_api(const struct config *c, const char *path)
{
	const char *p = strip_mount(c, path);
	size_t ml = strlen(c->mount);
	while (ml && c->mount[ml - 1] == '/')
		ml--;
	int mounted_api = ml >= 4 && !strncmp(c->mount + ml - 4, "/api", 4);
	if (!strncmp(p, "/api/", 5))
		return p + 4;
	return mounted_api && *p == '/' ? p : NULL;
}

/* A drop-in path of the key-rotating deployments llmgate replaces,
 * /api/compat/{sub} under the same mount rules as passthrough: {sub}, else
 * NULL. "compat" is a reserved provider name (config.c), so this shadows
 * no provider. */
static const char *compat_path(const struct config *c, const char *path)
{
	const char *p = under_api(c, path);
	return p && !strncmp(p, "/compat/", 8) ? p + 8 : NULL;
}

/* A native passthrough path, /api/{provider}/{rest} (or /{provider}/{rest}
 * when the router is mounted at /api): the provider, and *rest. */
static const struct provider_conf *passthrough_target(const struct config *c, const char *path, const char **rest)
{
	const char *p = under_api(c, path);
	if (!p)
		return NULL;
	p++;
	size_t n = strcspn(p, "/");
	char name[CONFIG_NAME_MAX];
	if (!n || n >= sizeof(name) || p[n] != '/')
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	if (!strcmp(name, "v1"))
		return NULL;
	const struct provider_conf *prov = config_provider(c, name);
	if (prov)
		*rest = p + n;
	return prov;
}

static const char *api_path(const struct config *c, const char *path)
{
	const char *p = strip_mount(c, path);
	const char *v1 = strstr(p, "/v1/");
	if (v1)
		return v1 + 4;
	while (*p == '/')
		p++;
	return p;
}


/* ------------------------------------------------------------ routes */

static void method_not_allowed(struct http_req *r, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	oai_error(r, 405, "invalid_request_error", "method_not_allowed", NULL, extra,
		  "Method %s is not allowed here; use %s.", r->method, allow);
}

enum route_match {
	MATCH_PASSTHROUGH,   /* /api/{provider}/{rest} (passthrough_target) */
	MATCH_SUFFIX,        /* the whole path ends with path */
	MATCH_EXACT,         /* the API path is path */
	MATCH_TREE,          /* the API path is path, or path + "/" + more */
	MATCH_COMPAT,        /* /api/compat/{path} (compat_path); call->path = {path} */
	MATCH_COMPAT_TREE,   /* /api/compat/{path}[/more]; call->path = {path}[/more] */
	MATCH_APP,           /* a prompt app's path (after the mount); call->app */
	MATCH_PATH,          /* the path after the mount is path */
	MATCH_GEMINI,        /* Gemini's API (gemini_api_path); call->path = "models..." */
};

enum { ERRORS_OPENAI = 0, ERRORS_ANTHROPIC, ERRORS_GEMINI };

/* Gemini's API after the mount: /v1beta/models[/...], or one of its model
 * verbs under /v1/ (/v1/models/{model}:generateContent,
 * :streamGenerateContent, :countTokens; anything else under /v1/models is
 * OpenAI's, fine-tuned ids with colons included). The part from "models",
 * else NULL. */
static const char *gemini_api_path(const struct config *c, const char *path)
{
	static const char *const verbs[] = { ":generateContent", ":streamGenerateContent", ":countTokens" };
	const char *p = strip_mount(c, path);
	const char *b = strstr(p, "/v1beta/models");
	if (b && (!b[14] || b[14] == '/'))
		return b + 8;
	b = strstr(p, "/v1/models/");
	const char *v = b ? strrchr(b + 11, ':') : NULL;
	for (size_t i = 0; v && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(v, verbs[i]))
			return b + 4;
	return NULL;
}

/* The router's routes, tried in order; the first that matches answers. */
static const struct route_entry {
	enum route_match match;
	const char *path;
	const char *methods[3];    /* allowed; none: the handler checks, after auth */
	const char *allow;         /* the 405's Allow */
	int errors;                /* errors in OpenAI's, Anthropic's or Gemini's shape (ERRORS_*) */
	int auth;                  /* a gateway key is needed */
	void (*handle)(const struct api_call *call);
} routes[] = {
	{ MATCH_COMPAT, "chat/completions", { "POST" }, "POST", 0, 1, api_chat_handle },
	{ MATCH_COMPAT_TREE, "models", { "GET" }, "GET", 0, 1, api_info_compat_models },
	{ MATCH_PASSTHROUGH, NULL, { NULL }, NULL, 0, 1, api_passthrough_handle },
	{ MATCH_APP, NULL, { NULL }, NULL, 0, 0, api_app_handle },   /* its own errors and auth */
	/* MCP: JSON-RPC errors, the key checked by the handler */
	{ MATCH_PATH, "/mcp", { NULL }, NULL, 0, 0, api_mcp_handle },
	{ MATCH_PATH, "/sse", { NULL }, NULL, 0, 0, api_mcp_sse },
	{ MATCH_PATH, "/sse/message", { NULL }, NULL, 0, 0, api_mcp_message },
	{ MATCH_SUFFIX, "/health", { "GET", "HEAD" }, "GET", 0, 0, api_health_handle },
	{ MATCH_PATH, "/metrics", { "GET", "HEAD" }, "GET", 0, 0, api_metrics_handle },
	{ MATCH_SUFFIX, "/api/hello", { "GET", "HEAD" }, "GET", 1, 0, api_info_hello },
	{ MATCH_EXACT, "chat/completions", { "POST" }, "POST", 0, 1, api_chat_handle },
	{ MATCH_EXACT, "messages", { "POST" }, "POST", 1, 1, api_messages_handle },
	{ MATCH_EXACT, "messages/count_tokens", { "POST" }, "POST", 1, 1, api_messages_count_tokens },
	{ MATCH_EXACT, "responses", { "POST" }, "POST", 0, 1, api_responses_handle },
	{ MATCH_TREE, "responses", { NULL }, NULL, 0, 1, api_responses_stored },
	{ MATCH_TREE, "conversations", { "GET", "DELETE" }, "GET, DELETE", 0, 1, api_convo_handle },
	{ MATCH_EXACT, "embeddings", { "POST" }, "POST", 0, 1, api_proxy_handle },
	{ MATCH_EXACT, "images/generations", { "POST" }, "POST", 0, 1, api_proxy_handle },
	{ MATCH_GEMINI, "v1beta/models", { NULL }, NULL, ERRORS_GEMINI, 1, api_gemini_handle },
	{ MATCH_TREE, "models", { "GET" }, "GET", 0, 1, api_info_models },
	{ MATCH_TREE, "files", { NULL }, NULL, 0, 1, api_kb_handle },
	{ MATCH_TREE, "vector_stores", { NULL }, NULL, 0, 1, api_kb_handle },
};

/* A plain CGI request (busybox httpd, uhttpd: /cgi-bin/llmgate-router/mcp)
 * names the program in SCRIPT_NAME and the route in PATH_INFO: that route,
 * when the request's path is exactly the two; else NULL. */
static const char *cgi_tail(const struct http_req *r)
{
	const char *sn = http_param(r, "SCRIPT_NAME"), *pi = http_param(r, "PATH_INFO");
	if (!sn || !pi || !*pi)
		return NULL;
	size_t n = strlen(sn);
	return !strncmp(r->path, sn, n) && !strcmp(r->path + n, pi) ? pi : NULL;
}

/* Does route e take this request? call->prov and call->rest are set for a
 * passthrough. */
static int route_matches(const struct route_entry *e, const struct config *c, struct api_call *call)
{
	size_t n;
	switch (e->match) {
	case MATCH_PASSTHROUGH:
		call->prov = passthrough_target(c, call->r->path, &call->rest);
		return call->prov != NULL;
	case MATCH_SUFFIX: {
		size_t pl = strlen(call->r->path);
		n = strlen(e->path);
		return pl >= n && !strcmp(call->r->path + pl - n, e->path);
	}
	case MATCH_EXACT:
		return !strcmp(call->path, e->path);
	case MATCH_APP:
		call->app = app_find(c, strip_mount(c, call->r->path));
		if (!call->app && cgi_tail(call->r))
			call->app = app_find(c, cgi_tail(call->r));
		return call->app != NULL;
	case MATCH_PATH:
		return !strcmp(strip_mount(c, call->r->path), e->path) ||
		       (cgi_tail(call->r) && !strcmp(cgi_tail(call->r), e->path));
	case MATCH_TREE:
		n = strlen(e->path);
		return !strncmp(call->path, e->path, n) && (!call->path[n] || call->path[n] == '/');
	case MATCH_GEMINI: {
		const char *g = gemini_api_path(c, call->r->path);
		if (g)
			call->path = g;
		return g != NULL;
	}
	case MATCH_COMPAT:
	case MATCH_COMPAT_TREE: {
		const char *sub = compat_path(c, call->r->path);
		n = strlen(e->path);
		if (!sub || strncmp(sub, e->path, n) || (sub[n] && (e->match == MATCH_COMPAT || sub[n] != '/')))
			return 0;
		call->path = sub;
		return 1;
	}
	}
	return 0;
}

static int method_allowed(const struct route_entry *e, const char *method)
{
	for (size_t i = 0; i < sizeof(e->methods) / sizeof(e->methods[0]) && e->methods[i]; i++)
		if (!strcmp(method, e->methods[i]))
			return 1;
	return 0;
}

void gateway_handle(struct worker *w, struct http_req *r)
{
	struct auth_entry who;
	char req_id[REQ_ID_MAX];
	snprintf(req_id, sizeof(req_id), "req_%llx%08x%02x%lx", (unsigned long long)pool_now_ms(),
		 w->gw->boot_id, w->idx & 0xff, ++w->seq);
	snprintf(r->request_id, sizeof(r->request_id), "%s", req_id);
	int64_t t0 = pool_now_ms();
	metrics_request_begin();
	struct runtime *snap = runtime_get(w->gw);
	struct api_call call = { .w = w, .r = r, .snap = snap, .req_id = req_id, .path = api_path(&snap->cfg, r->path) };
	const struct route_entry *e = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !e; i++)
		if (route_matches(&routes[i], &snap->cfg, &call))
			e = &routes[i];
	r->cors_origin = cors_allowed(snap->cfg.cors_origins, http_header(r, "Origin"));
	if (e && !strcmp(r->method, "OPTIONS")) {
		r->anthropic_errors = e->errors == ERRORS_ANTHROPIC;
		r->gemini_errors = e->errors == ERRORS_GEMINI;
		cors_preflight(r, e->allow ? e->allow : "GET, POST, DELETE");
	} else if (!e) {
		oai_error(r, 404, "invalid_request_error", "unknown_url", NULL, NULL,
			  "Unknown request URL: %s %.200s. Please check the URL for typos.", r->method, r->path);
	} else {
		/* the model list serves both dialects: an Anthropic client (it
		 * sends anthropic-version) gets Anthropic's shapes, refusals too */
		r->anthropic_errors = e->errors == ERRORS_ANTHROPIC ||
				      (e->handle == api_info_models && http_header(r, "anthropic-version"));
		r->gemini_errors = e->errors == ERRORS_GEMINI;
		r->passthrough = e->match == MATCH_PASSTHROUGH;
		if (e->methods[0] && !method_allowed(e, r->method)) {
			method_not_allowed(r, e->allow);
		} else if (!e->auth || authenticate(w, r, &who) == 0) {
			call.who = e->auth ? &who : NULL;
			e->handle(&call);
		}
	}
	/* a refusal leaves a log line too (the route by its name, never the
	 * client's path when one matched) */
	char route[CONFIG_NAME_MAX + 8];
	if (e && e->match == MATCH_PASSTHROUGH)
		snprintf(route, sizeof(route), "api/%s", call.prov->name);
	else if (e && e->match == MATCH_APP)
		snprintf(route, sizeof(route), "app/%s", call.app->name);
	else if (e)
		snprintf(route, sizeof(route), "%s", e->path[0] == '/' ? e->path + 1 : e->path);
	reqlog_refusal(r, req_id, e ? route : NULL);
	metrics_request_end(e ? route : "none", r->status, (long)(pool_now_ms() - t0));
	runtime_put(w->gw, snap);
}
