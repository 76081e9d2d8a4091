/* gateway.c — the router's request handling: dispatch, auth, chat proxy. */
#include "autoconf.h"
#include "gateway.h"
#include "anthropic.h"
#include "buf.h"
#include "durable.h"
#include "estimate.h"
#include "gemini.h"
#include "jscan.h"
#include "upkey.h"
#include "log.h"
#include "oai.h"
#include "provider.h"
#include "reqbody.h"
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
#define URL_MAX 2048
#define EXTRA_HDR_MAX 512
/* Each route's handler keeps its own locals: inlined into gateway_handle
 * they would all be on every request's stack (see chat_run). */
#define NOINLINE __attribute__((noinline))
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
	open_cache_if_needed(gw, &gw->rt->cfg);
	gw->started_ms = pool_now_ms();
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
			cJSON_AddStringToObject(ko, "state", pk->blocked ? "blocked" : pk->cool_until_ms > now ? "cooling" : "active");
			if (pk->cool_until_ms > now)
				cJSON_AddNumberToObject(ko, "cooldown_until", (double)(pk->cool_until_ms / 1000));
			if (pk->blocked)
				cJSON_AddStringToObject(ko, "reason", pk->block_reason);
			cJSON_AddNumberToObject(ko, "recent_429", pk->recent_429);
			cJSON_AddNumberToObject(ko, "uses", (double)pk->uses);
			if (pk->last_used_ms)
				cJSON_AddNumberToObject(ko, "last_used", (double)(pk->last_used_ms / 1000));
			cJSON_AddItemToArray(keys, ko);
		}
		pthread_mutex_unlock(&p->mu);
		cJSON_AddItemToArray(provs, po);
	}
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

void gateway_tick(struct gateway *gw)
{
	if (gw->spool_ok)
		spool_rotate(&gw->spool, 0);
	struct runtime *cur = runtime_get(gw);
	durable_tick(gw, &cur->cfg);
	runtime_put(gw, cur);
	quota_tick(&gw->quota);
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
}

void gateway_shutdown(struct gateway *gw)
{
	durable_shutdown(gw);
}

void gateway_free(struct gateway *gw)
{
	durable_shutdown(gw);
	quota_free(&gw->quota);
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

static struct pool *pool_of(struct runtime *snap, const struct provider_conf *p)
{
	return &snap->pools[p - snap->cfg.providers];
}

/* ------------------------------------------------------------ small bits */

static void respond_json(struct http_req *r, int status, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	http_respond(r, status, "application/json", NULL, s, strlen(s));
	free(s);
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
	if (r->passthrough) {
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

static int authenticate(struct worker *w, struct http_req *r, struct auth_entry *who)
{
	const char *key = presented_key(r);
	if (!key) {
		oai_error(r, 401, "invalid_request_error", "invalid_api_key", NULL, NULL,
			  "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' or 'x-api-key: YOUR_KEY'.");
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

/* A native passthrough path, /api/{provider}/{rest} (or /{provider}/{rest}
 * when the router is mounted at /api): the provider, and *rest. */
static const struct provider_conf *passthrough_target(const struct config *c, const char *path, const char **rest)
{
	const char *p = strip_mount(c, path);
	size_t ml = strlen(c->mount);
	while (ml && c->mount[ml - 1] == '/')
		ml--;
	int mounted_api = ml >= 4 && !strncmp(c->mount + ml - 4, "/api", 4);
	if (!strncmp(p, "/api/", 5))
		p += 4;
	else if (!mounted_api)
		return NULL;
	if (*p != '/')
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

/* ------------------------------------------------------------ /health */

NOINLINE static void handle_health(struct worker *w, struct http_req *r, struct runtime *snap)
{
	struct gateway *gw = w->gw;
	int64_t now = pool_now_ms();
	cJSON *root = cJSON_CreateObject();
	/* degraded is still 200: the gateway answers, and every instance
	 * shares the state folder, so taking one out of a balancer helps
	 * nobody; monitors read "status" and "reasons" */
	int degraded = health_bits(&gw->health) != 0;
	cJSON_AddStringToObject(root, "status", degraded ? "degraded" : "ok");
	if (degraded)
		health_reasons_json(&gw->health, cJSON_AddArrayToObject(root, "reasons"));
	cJSON_AddStringToObject(root, "version", PACKAGE_VERSION);
	cJSON_AddItemToObject(root, "usage_spool", durable_health_json(gw, &snap->cfg));
	cJSON_AddNumberToObject(root, "uptime_s", (double)((now - gw->started_ms) / 1000));
	cJSON *provs = cJSON_AddArrayToObject(root, "providers");
	for (size_t i = 0; i < snap->cfg.nproviders; i++) {
		const struct provider_conf *pc = &snap->cfg.providers[i];
		if (!provider_usable(pc))
			continue;
		struct pool *p = &snap->pools[i];
		cJSON *po = cJSON_CreateObject();
		cJSON_AddStringToObject(po, "name", pc->name);
		cJSON *keys = cJSON_AddArrayToObject(po, "keys");
		int available = 0;
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n; k++) {
			const struct pool_key *pk = &p->keys[k];
			cJSON *ko = cJSON_CreateObject();
			cJSON_AddStringToObject(ko, "id", pk->id);
			const char *state = pk->blocked ? "blocked" : pk->cool_until_ms > now ? "cooling" : "active";
			cJSON_AddStringToObject(ko, "state", state);
			if (pk->cool_until_ms > now)
				cJSON_AddNumberToObject(ko, "cooldown_until", (double)(pk->cool_until_ms / 1000));
			if (pk->blocked)
				cJSON_AddStringToObject(ko, "reason", pk->block_reason);
			cJSON_AddNumberToObject(ko, "recent_429", pk->recent_429);
			cJSON_AddNumberToObject(ko, "uses", (double)pk->uses);
			if (pk->last_used_ms)
				cJSON_AddNumberToObject(ko, "last_used", (double)(pk->last_used_ms / 1000));
			if (!strcmp(state, "active"))
				available++;
			cJSON_AddItemToArray(keys, ko);
		}
		pthread_mutex_unlock(&p->mu);
		cJSON_AddNumberToObject(po, "available", available);
		cJSON_AddItemToArray(provs, po);
	}
	respond_json(r, 200, root);
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ /v1/models */

static void add_model(const char *model, const char *owner, void *user)
{
	cJSON *data = user;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", model);
	cJSON_AddStringToObject(m, "object", "model");
	cJSON_AddNumberToObject(m, "created", 1700000000);
	cJSON_AddStringToObject(m, "owned_by", owner);
	cJSON_AddItemToArray(data, m);
}

NOINLINE static void handle_models(struct http_req *r, struct runtime *snap, const char *which)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "object", "list");
	cJSON *data = cJSON_AddArrayToObject(root, "data");
	provider_each_model(&snap->cfg, add_model, data);
	if (which) {
		const cJSON *m;
		cJSON_ArrayForEach(m, data) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
			if (!strcmp(id->valuestring, which)) {
				respond_json(r, 200, (cJSON *)m);
				goto out;
			}
		}
		struct route rt;
		if (provider_resolve(&snap->cfg, which, &rt) == 0) {
			cJSON *one = cJSON_CreateObject();
			add_model(which, rt.t[0].prov->name, one);
			respond_json(r, 200, cJSON_GetArrayItem(one, 0));
			cJSON_Delete(one);
			goto out;
		}
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%s' does not exist or you do not have access to it.", which);
		goto out;
	}
	respond_json(r, 200, root);
out:
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ chat
 *
 * The chat engine speaks OpenAI's format inside. A request arrives in the
 * client's dialect (OpenAI /v1/chat/completions, or Anthropic /v1/messages,
 * translated to OpenAI first); each attempt translates it to the upstream's
 * dialect (OpenAI-compatible, Anthropic, Gemini); the answer comes back to
 * OpenAI form and then to the client's dialect. An Anthropic client talking
 * to an Anthropic upstream is passed through untouched, both ways. */

enum chat_mode { MODE_BUFFER = 0, MODE_STREAM };

struct chat_ctx {
	struct http_req *r;
	const char *provider;
	const char *req_id;
	enum dialect client;       /* OPENAI or ANTHROPIC */
	enum dialect up;           /* this attempt's upstream */
	int passthrough;           /* Anthropic to Anthropic: bytes as they are */
	int client_stream;
	int client_usage;          /* forward the usage chunk (OpenAI side) */
	enum chat_mode mode;
	int committed;             /* response head sent to the client */
	int status;
	struct buf body;           /* buffered body (non-stream or error) */
	int body_truncated;
	struct sse_parser sse;     /* upstream events */
	struct sse_parser oai_sse; /* OpenAI events translated from another dialect */
	struct buf tx;             /* translated OpenAI events */
	struct buf cout;           /* events for an Anthropic client */
	struct anthropic_to_oai a2o;
	struct gemini_to_oai g2o;
	struct anthropic_from_oai o2a;
	struct usage usage;
	int saw_done;
	unsigned events;
	const char *cache_state;   /* "hit", "miss", "bypass", or NULL (no cache) */
	char ctype[128];           /* the upstream's Content-Type (passthrough) */
	int raw_body_ok;           /* the client's JSON text is the request as it stands */
	/* for the usage record */
	struct gateway *gw;
	const struct config *c;
	const struct auth_entry *who;
	char requested[MODEL_NAME_MAX];
	const char *endpoint;
	const char *used_provider;
	const char *used_key;
	const char *used_model;
	int64_t t0;
	long ttfb_ms;
	int cache_hit;
	int recorded;
	int held;                  /* space for the usage record is reserved */
	struct quota_hold hold;    /* the key's reservation while the request runs */
};

static void record_usage(struct gateway *gw, const struct auth_entry *who, const struct usage_record *rec,
			 int held, struct quota_hold *hold);

/* Write the request's usage record, once. It is called before the last
 * byte of an answer goes out (before the body, before a stream's end), so
 * that no request a client saw complete is ever missing from the spool,
 * even if the process is killed right after. */
static void record_now(struct chat_ctx *x, int status)
{
	if (x->recorded)
		return;
	x->recorded = 1;
	struct usage_record rec = {
		.ts_ms = x->t0, .key_id = x->who->id, .key_name = x->who->name, .provider = x->used_provider,
		.upstream_key = x->used_key, .model = x->requested, .upstream_model = x->used_model,
		.endpoint = x->endpoint, .u = x->usage, .currency = x->c->currency, .ttfb_ms = x->ttfb_ms,
		.total_ms = (long)(pool_now_ms() - x->t0), .status = status, .stream = x->client_stream,
		.client_gone = x->r->client_gone, .cache_hit = x->cache_hit,
	};
	snprintf(rec.id, sizeof(rec.id), "%s", x->req_id);
	if (x->cache_hit) {
		/* nothing was spent upstream */
		memset(&rec.u, 0, sizeof(rec.u));
	} else if (!x->usage.reported && status == 200) {
		/* no usage from the upstream (a cut stream): estimate, and say so */
		rec.estimated = 1;
		rec.u.prompt = (long)(x->r->body.len / 4);
		rec.u.completion = x->client_stream ? (x->events > 1 ? (long)x->events - 1 : 0) : (long)(x->body.len / 4);
	}
	rec.cost = usage_cost(&rec.u, config_price(x->c, x->used_model, x->requested));
	record_usage(x->gw, x->who, &rec, x->held, &x->hold);
	x->held = 0;
}

/* Before anything goes upstream: hold space for the usage record (see
 * durable.h). 0, or -1 after a 503 in the client's dialect (native: the
 * provider's for a passthrough): nothing sent upstream, nothing recorded
 * (nothing was spent). */
static int usage_space(struct chat_ctx *x, enum dialect native)
{
	const char *why;
	if (durable_admit(x->gw, x->c, &why) == 0) {
		x->held = 1;
		return 0;
	}
	x->recorded = 1;
	log_debug("%s refused: %s", x->req_id, why);
	char msg[300];
	snprintf(msg, sizeof(msg),
		 "The gateway cannot record usage right now (%s), so the request was not sent upstream. Retry later.", why);
	if (native == DIALECT_GEMINI) {
		char *b = gemini_error_json(503, msg);
		http_respond(x->r, 503, "application/json", "Retry-After: 5\r\n", b, strlen(b));
		free(b);
		return -1;
	}
	if (native == DIALECT_ANTHROPIC)
		x->r->anthropic_errors = 1;
	oai_error(x->r, 503, NULL, "usage_store_unavailable", NULL, "Retry-After: 5\r\n", "%s", msg);
	return -1;
}

/* The header line that carries an upstream key in a dialect's own way;
 * "" when there is no key (keys = none) or it does not fit. */
/* The header line that carries an upstream key in the dialect's own way
 * (new string, to be wiped and freed with auth_line_free), or NULL for none. */
static char *auth_line(enum dialect d, const char *secret)
{
	if (!secret)
		return NULL;
	if (d == DIALECT_ANTHROPIC)
		return xasprintf("x-api-key: %s", secret);
	if (d == DIALECT_GEMINI)
		return xasprintf("x-goog-api-key: %s", secret);
	return xasprintf("Authorization: Bearer %s", secret);
}

static void auth_line_free(char *line)
{
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
}

/* The response headers every answer from an upstream carries. */
static void answer_headers(const struct chat_ctx *x, const char *first, char *out, size_t n)
{
	int len = snprintf(out, n, "%sX-Llmgate-Provider: %s\r\n", first ? first : "", x->provider);
	if (x->cache_state && len > 0 && (size_t)len < n)
		snprintf(out + len, n - (size_t)len, "X-Llmgate-Cache: %s\r\n", x->cache_state);
}

static int chat_on_head(void *user, int status, const char *ctype, long retry_after)
{
	struct chat_ctx *x = user;
	(void)retry_after;
	x->status = status;
	x->mode = MODE_BUFFER;
	buf_reset(&x->body);
	x->body_truncated = 0;
	if (status >= 200 && status < 300 && x->client_stream && !strncasecmp(ctype, "text/event-stream", 17))
		x->mode = MODE_STREAM;
	return 0;
}

/* Does this event's JSON hold a "usage" object (not null)? A quick look at
 * what follows each "usage" key, without scanning the event as JSON. */
static int carries_usage(const char *d, size_t n)
{
	const char *end = d + n;
	for (const char *u = memmem(d, n, "\"usage\"", 7); u; u = memmem(u + 7, (size_t)(end - u - 7), "\"usage\"", 7)) {
		const char *p = u + 7;
		while (p < end && (*p == ' ' || *p == ':' || *p == '\t'))
			p++;
		if (p < end && *p == '{')
			return 1;
		if (end - u <= 7)
			break;
	}
	return 0;
}

/* One OpenAI-format event, on its way to the client. */
static int oai_event(const struct sse_event *ev, void *user)
{
	struct chat_ctx *x = user;
	int forward = 1;
	x->events++;
	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
		x->saw_done = 1;
		record_now(x, 200);
	} else if (ev->data_len && carries_usage(ev->data, ev->data_len)) {
		/* only the events that carry usage (every OpenAI chunk may say
		 * "usage":null) are looked at, and never parsed whole */
		if (x->up == DIALECT_OPENAI)
			usage_from_text(ev->data, ev->data_len, &x->usage);
		size_t vs, ve;
		if (!x->client_usage && jscan_member(ev->data, ev->data_len, "choices", &vs, &ve) == 1) {
			size_t i = vs + 1;
			while (i < ve && (ev->data[i] == ' ' || ev->data[i] == '\n'))
				i++;
			if (ev->data[vs] == '[' && i < ve && ev->data[i] == ']')
				forward = 0;   /* the usage-only chunk the client did not ask for */
		}
	}
	if (!ev->data_len)   /* a comment or keep-alive: every SSE client ignores it,
			      * and writing it tells whether the client is still there */
		return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	if (!forward)
		return 0;
	if (x->client == DIALECT_OPENAI)
		return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
	buf_reset(&x->cout);
	anthropic_from_oai_feed(&x->o2a, ev->data, ev->data_len, &x->cout);
	return http_write(x->r, x->cout.data, x->cout.len) == 0 ? 0 : -1;
}

/* One event from the upstream, in its own dialect. */
static int up_event(const struct sse_event *ev, void *user)
{
	struct chat_ctx *x = user;
	if (x->up == DIALECT_OPENAI)
		return oai_event(ev, x);
	buf_reset(&x->tx);
	if (x->up == DIALECT_ANTHROPIC) {
		if (!x->passthrough && !strcmp(ev->event, "ping"))
			/* a keep-alive: passed on as an SSE comment, which also finds
			 * out whether the client is still there */
			return http_write(x->r, ": ping\n\n", 8) == 0 ? 0 : -1;
		anthropic_to_oai_feed(&x->a2o, ev->event, ev->data, ev->data_len, &x->tx);
		if (x->a2o.usage.reported)
			x->usage = x->a2o.usage;
		if (x->passthrough) {
			x->events++;
			if (!strcmp(ev->event, "message_stop") ||
			    (ev->data_len && memmem(ev->data, ev->data_len, "\"message_stop\"", 14))) {
				x->saw_done = 1;
				record_now(x, 200);
			}
			return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
		}
	} else {
		if (!ev->data_len)
			return 0;
		gemini_to_oai_feed(&x->g2o, ev->data, ev->data_len, &x->tx);
		if (x->g2o.usage.reported)
			x->usage = x->g2o.usage;
	}
	return sse_feed(&x->oai_sse, x->tx.data ? x->tx.data : "", x->tx.len, oai_event, x) == 0 ? 0 : -1;
}

static int chat_on_data(void *user, const char *p, size_t n)
{
	struct chat_ctx *x = user;
	if (x->mode == MODE_BUFFER) {
		if (buf_append(&x->body, p, n) != 0) {
			if (x->status >= 200 && x->status < 300)
				return -1;          /* a success body over the cap */
			x->body_truncated = 1;  /* error bodies: keep the head */
		}
		return 0;
	}
	if (!x->committed) {
		char extra[EXTRA_HDR_MAX];
		answer_headers(x, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", extra, sizeof(extra));
		http_begin(x->r, 200, "text/event-stream; charset=utf-8", extra);
		x->committed = 1;
	}
	if (sse_feed(&x->sse, p, n, up_event, x) != 0)
		return -1;
	return http_flush(x->r) == 0 ? 0 : -1;
}

/* What one attempt sends: body, URL and headers for the target's dialect.
 * Returns the body (free()), or NULL with a reason in err (a request this
 * dialect cannot carry: the client's fault). */
static char *attempt_request(struct chat_ctx *x, cJSON *req, cJSON *areq, const struct route_target *t,
			     char **url, char *err, size_t errlen)
{
	const char *base = t->prov->base_url;
	char *body = NULL;
	*url = NULL;
	x->up = t->prov->dialect;
	x->passthrough = x->client == DIALECT_ANTHROPIC && x->up == DIALECT_ANTHROPIC && areq;
	switch (x->up) {
	case DIALECT_OPENAI:
		body = reqbody_forward(req, x->raw_body_ok ? x->r->body.data : NULL, x->r->body.len, t->model,
				       x->client_stream);
		*url = xasprintf("%s/chat/completions", base);
		break;
	case DIALECT_ANTHROPIC:
		if (x->passthrough) {
			body = reqbody_forward(areq, NULL, 0, t->model, 0);
		} else {
			body = anthropic_request_from_oai(req, t->model, err, errlen);
		}
		*url = xasprintf("%s/messages", base);
		break;
	case DIALECT_GEMINI: {
		char path[MODEL_NAME_MAX + 64];
		if (gemini_path(path, sizeof(path), t->model, x->client_stream) != 0) {
			snprintf(err, errlen, "model name not usable with Gemini");
			return NULL;
		}
		body = gemini_request_from_oai(req, err, errlen);
		*url = xasprintf("%s%s", base, path);
		break;
	}
	}
	if (!body) {
		free(*url);
		*url = NULL;
	}
	return body;
}

/* The upstream's error body in OpenAI's shape (new string). */
static char *error_as_oai(struct chat_ctx *x)
{
	const char *b = buf_str(&x->body);
	if (x->up == DIALECT_ANTHROPIC)
		return anthropic_error_to_oai(b, x->body.len, x->status);
	if (x->up == DIALECT_GEMINI)
		return gemini_error_to_oai(b, x->body.len, x->status);
	return xstrdup(b);
}

static void scrub_tree(cJSON *j)
{
	for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring) {
			log_scrub(c->valuestring);
		} else {
			scrub_tree(c);
		}
	}
}

/* An upstream body for the client with every secret removed: JSON is
 * parsed first, so that a key written with escapes (\u0073k-, \/) is seen
 * as the client will see it; other text is scrubbed as it is. New string. */
static char *scrubbed_body(const char *b, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(b, n);
	char *out;
	if (j) {
		scrub_tree(j);
		out = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	} else {
		out = xstrndup(b, n);
	}
	log_scrub(out);
	return out;
}

/* Pass an upstream 4xx to the client, scrubbed, in the client's dialect. */
static void relay_client_error(struct chat_ctx *x)
{
	char extra[EXTRA_HDR_MAX];
	answer_headers(x, NULL, extra, sizeof(extra));
	record_now(x, x->status);
	if (x->passthrough && !x->body_truncated) {
		char *raw = scrubbed_body(buf_str(&x->body), x->body.len);
		http_respond(x->r, x->status, "application/json", extra, raw, strlen(raw));
		free(raw);
		return;
	}
	char *oai = error_as_oai(x);
	char *body = scrubbed_body(oai, strlen(oai));
	free(oai);
	cJSON *j = cJSON_Parse(body);
	const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	if (cJSON_IsObject(e) && !x->body_truncated) {
		if (x->client == DIALECT_ANTHROPIC) {
			char *ab = anthropic_error_from_oai(body, strlen(body), x->status);
			http_respond(x->r, x->status, "application/json", extra, ab, strlen(ab));
			free(ab);
		} else {
			http_respond(x->r, x->status, "application/json", extra, body, strlen(body));
		}
	} else {
		const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
		oai_error(x->r, x->status, NULL, "upstream_error", NULL, NULL, "upstream %s answered HTTP %d: %.300s",
			  x->provider, x->status, cJSON_IsString(m) ? m->valuestring : body);
	}
	cJSON_Delete(j);
	free(body);
}

static const char *upstream_message(struct chat_ctx *x, char *out, size_t outlen)
{
	char *oai = error_as_oai(x);
	cJSON *j = cJSON_Parse(oai);
	const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	if (cJSON_IsString(m))
		snprintf(out, outlen, "%.200s", m->valuestring);
	else
		snprintf(out, outlen, "%.120s", buf_str(&x->body));
	cJSON_Delete(j);
	free(oai);
	log_scrub(out);
	for (char *p = out; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	return out;
}

/* Answer from the cache if it holds the request; 1 if it did. */
static int serve_from_cache(struct cache *cache, struct chat_ctx *x, const char *ckey, const char *provider)
{
	size_t len;
	long age;
	char *body = cache_get(cache, ckey, &len, &age);
	if (!body)
		return 0;
	int served = 0;
	char first[96], extra[EXTRA_HDR_MAX];
	x->provider = provider;
	x->cache_state = "hit";
	if (x->client_stream) {
		struct buf sse;
		buf_init(&sse, BUF_CAP_DEFAULT * 32);
		if (cache_to_sse(body, len, x->client_usage, &sse) == 0) {
			x->cache_hit = 1;
			record_now(x, 200);
			snprintf(first, sizeof(first), "Cache-Control: no-cache\r\nAge: %ld\r\n", age);
			answer_headers(x, first, extra, sizeof(extra));
			http_begin(x->r, 200, "text/event-stream; charset=utf-8", extra);
			http_write(x->r, sse.data, sse.len);
			http_flush(x->r);
			served = 1;
		}
		buf_free(&sse);
	} else {
		x->cache_hit = 1;
		record_now(x, 200);
		snprintf(first, sizeof(first), "Age: %ld\r\n", age);
		answer_headers(x, first, extra, sizeof(extra));
		http_respond(x->r, 200, "application/json", extra, body, len);
		served = 1;
	}
	if (!served)
		x->cache_state = "miss";
	free(body);
	return served;
}

/* Write the usage record (spool, or kept in memory until it can be; quota
 * counters: it replaces the request's reservation) and the access log line. */
static void record_usage(struct gateway *gw, const struct auth_entry *who, const struct usage_record *rec,
			 int held, struct quota_hold *hold)
{
	char seg[SPOOL_NAME_MAX];
	durable_record(gw, rec, held, seg);
	quota_record(&gw->quota, who, rec->ts_ms, rec->u.prompt + rec->u.completion, rec->cost, seg, hold);
	log_info("%s key=%s %s model=%s provider=%s upkey=%s status=%d stream=%d prompt=%ld completion=%ld "
		 "cached=%ld reasoning=%ld%s cost=%.6f client_gone=%d ttfb=%ld ms=%ld",
		 rec->id, rec->key_id, rec->endpoint, rec->model, rec->provider, rec->upstream_key, rec->status,
		 rec->stream, rec->u.prompt, rec->u.completion, rec->u.cached, rec->u.reasoning,
		 rec->estimated ? " estimated" : "", rec->cost, rec->client_gone, rec->ttfb_ms, rec->total_ms);
}

/* FAIL_DEADLINE: an answer that kept coming past a limit of the gateway's
 * own (upstream_gateway_limit): 504, no retry, the key not blamed */
enum fail_kind { FAIL_NONE = 0, FAIL_COOLING, FAIL_RATE_LIMITED, FAIL_AUTH, FAIL_TIMEOUT, FAIL_UPSTREAM, FAIL_DEADLINE };

/* Add the configured system prompt to a chat that has no system message;
 * 1 if it did. */
static int add_system_prompt(cJSON *req, const char *text)
{
	cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	const cJSON *m;
	cJSON_ArrayForEach(m, messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (cJSON_IsString(role) && (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")))
			return 0;
	}
	cJSON *sm = cJSON_CreateObject();
	cJSON_AddStringToObject(sm, "role", "system");
	cJSON_AddStringToObject(sm, "content", text);
	cJSON_InsertItemInArray(messages, 0, sm);
	return 1;
}

/* The 2xx body of a buffered answer, in OpenAI's format (new string), with
 * usage read; NULL if it is not a valid answer. */
static char *success_as_oai(struct chat_ctx *x)
{
	char err[256];
	const char *b = buf_str(&x->body);
	if (x->up == DIALECT_ANTHROPIC)
		return anthropic_response_to_oai(b, x->body.len, x->requested, &x->usage, err, sizeof(err));
	if (x->up == DIALECT_GEMINI)
		return gemini_response_to_oai(b, x->body.len, x->requested, &x->usage, err, sizeof(err));
	/* OpenAI's format goes to the client as it came: a cheap check that it
	 * is an object at all (not an HTML error page), and usage read alone */
	if (!jscan_is_object(b, x->body.len))
		return NULL;
	usage_from_text(b, x->body.len, &x->usage);
	return xstrdup(b);
}

/* End a stream that reached the client: the closing events a translated
 * stream still owes, or an error event when it was cut short. */
static void finish_stream(struct chat_ctx *x, int ok)
{
	if (ok && x->up == DIALECT_GEMINI && !x->saw_done) {
		buf_reset(&x->tx);
		gemini_to_oai_finish(&x->g2o, &x->tx);
		sse_feed(&x->oai_sse, x->tx.data ? x->tx.data : "", x->tx.len, oai_event, x);
	}
	if (x->r->client_gone)
		return;
	if (x->client == DIALECT_ANTHROPIC && !x->passthrough) {
		buf_reset(&x->cout);
		anthropic_from_oai_finish(&x->o2a, &x->cout);
		http_write(x->r, x->cout.data, x->cout.len);
		http_flush(x->r);
		return;
	}
	if (!x->saw_done) {
		log_warn("%s upstream %s stream ended early", x->req_id, x->provider);
		oai_error(x->r, 502, "upstream_error", "stream_interrupted", NULL, NULL,
			  "The upstream stream ended before it was complete.");
	}
}

/* Read and parse a request body; answers the client and returns NULL when
 * it is too large, unreadable or not a strict JSON object (reqbody.h: no
 * duplicate member anywhere, nothing after it, no \u0000). */
static cJSON *read_json_body(struct http_req *r, const struct config *c)
{
	int rb = http_read_body(r, c->max_body);
	if (rb == -1) {
		oai_error(r, 413, "invalid_request_error", "request_too_large", NULL, NULL,
			  "Request body is larger than this gateway accepts (%zu bytes).", c->max_body);
		return NULL;
	} else if (rb == -3) {
		oai_error(r, 408, "invalid_request_error", "request_timeout", NULL, NULL,
			  "The request body did not arrive within %d ms.", c->body_timeout_ms);
		return NULL;
	} else if (rb != 0) {
		oai_error(r, 400, "invalid_request_error", "invalid_body", NULL, NULL,
			  "The request body could not be read completely.");
		return NULL;
	}
	cJSON *j;
	char msg[256];
	enum reqbody_verdict v = reqbody_parse(r->body.data, r->body.len, 1, &j, msg, sizeof(msg));
	if (v != REQBODY_OK) {
		oai_error(r, 400, "invalid_request_error", v == REQBODY_DUPLICATE ? "duplicate_member" :
			  v == REQBODY_CASE ? "invalid_member_name" : "invalid_json", NULL, NULL, "%s", msg);
		return NULL;
	}
	return j;
}

/* The request's "model" in *model, or an answer to the client (400: no
 * model, or one longer than the gateway holds, which is never cut) and
 * -1. */
static int request_model(struct http_req *r, const cJSON *req, const char **model)
{
	enum reqbody_model_verdict v = reqbody_model(req, model);
	if (v == REQBODY_MODEL_TOO_LONG)
		oai_error(r, 400, "invalid_request_error", "string_above_max_length", "model", NULL,
			  "'model' is longer than %d bytes, the longest model name this gateway takes.",
			  REQBODY_MODEL_LEN);
	else if (v != REQBODY_MODEL_OK)
		oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "model", NULL,
			  "You must provide a model parameter.");
	return v == REQBODY_MODEL_OK ? 0 : -1;
}

/* The next key of a target's pool to try, or -1 when none is left; when
 * all that are left are cooling down, *fail and *retry_ms say so. */
static int next_key(struct pool *pool, struct pool_tried *tried, enum fail_kind *fail, int64_t *retry_ms)
{
	int64_t wait = 0;
	int ki = pool_pick(pool, tried, pool_now_ms(), &wait);
	if (ki < 0 && wait > 0 && (*fail == FAIL_NONE || *fail == FAIL_COOLING || *fail == FAIL_RATE_LIMITED)) {
		*fail = *fail == FAIL_NONE ? FAIL_COOLING : *fail;
		if (!*retry_ms || wait < *retry_ms)
			*retry_ms = wait;
	}
	return ki;
}

/* A new attempt with key ki of target t: what the last one left is reset,
 * and the translator of the upstream's dialect is started. */
static void attempt_begin(struct chat_ctx *x, const struct route_target *t, struct pool *pool, int ki,
			  int include_usage)
{
	x->provider = t->prov->name;
	x->used_provider = t->prov->name;
	x->used_key = pool->keys[ki].id;
	x->used_model = t->model;
	x->mode = MODE_BUFFER;
	x->status = 0;
	x->saw_done = 0;
	x->events = 0;
	buf_reset(&x->body);
	sse_reset(&x->sse);
	sse_reset(&x->oai_sse);
	memset(&x->usage, 0, sizeof(x->usage));
	if (x->up == DIALECT_ANTHROPIC)
		anthropic_to_oai_init(&x->a2o, x->requested, include_usage);
	else if (x->up == DIALECT_GEMINI)
		gemini_to_oai_init(&x->g2o, x->requested, include_usage);
}

/* An attempt that did not reach the client: 1 when it failed in a way
 * another key or target may not (transport error or timeout, 429, a
 * refused key, 5xx/408): the key's pool learns of it, and *fail, *retry_ms
 * and detail say what happened. 0: the answer is for the client. */
static int attempt_failed(struct chat_ctx *x, const struct upstream_call *uc, int ok, const struct route_target *t,
			  struct pool *pool, int ki, int attempt, int64_t now, enum fail_kind *fail,
			  int64_t *retry_ms, char *detail, size_t dl)
{
	const struct config *c = x->c;
	const char *name = t->prov->name, *key = pool->keys[ki].id;
	char m[220];
	if (!ok && upstream_gateway_limit(uc)) {
		/* the upstream was answering, only too slowly or too long: not the
		 * key's fault, and another try would make the client wait as long
		 * again */
		*fail = FAIL_DEADLINE;
		snprintf(detail, dl, "upstream %s: %s", name, uc->errmsg);
		log_warn("%s attempt %d on %s key %s ended by the gateway's limit: %s", x->req_id, attempt, name, key,
			 detail);
		return 1;
	}
	if (!ok) {
		*fail = uc->timeout != UPSTREAM_TIMEOUT_NONE || uc->err == UPSTREAM_ERR_TIMEOUT ? FAIL_TIMEOUT
												     : FAIL_UPSTREAM;
		if (uc->status >= 200 && uc->status < 300 && uc->aborted)
			snprintf(detail, dl, "upstream %s response larger than %zu bytes", name, c->max_response);
		else
			snprintf(detail, dl, "upstream %s: %s", name,
				 uc->timeout == UPSTREAM_TIMEOUT_FIRST_BYTE ? "no response in time" :
				 uc->timeout == UPSTREAM_TIMEOUT_IDLE ? "response stalled" :
				 uc->errmsg[0] ? uc->errmsg : "transfer failed");
		pool_report(pool, ki, POOL_FAILED, -1, c, now);
		log_warn("%s attempt %d on %s key %s failed: %s", x->req_id, attempt, name, key, detail);
		return 1;
	}
	if (uc->status == 429) {
		long ra = uc->retry_after_s;
		if (ra < 0 && x->up == DIALECT_GEMINI)
			ra = gemini_error_retry_after(buf_str(&x->body), x->body.len);
		pool_report(pool, ki, POOL_RATE_LIMITED, ra, c, now);
		*fail = FAIL_RATE_LIMITED;
		if (ra < 0)
			ra = c->cooldown_s;
		if (!*retry_ms || ra * 1000 < *retry_ms)
			*retry_ms = ra * 1000;
		snprintf(detail, dl, "upstream %s rate limited: %s", name, upstream_message(x, m, sizeof(m)));
		log_info("%s key %s of %s answered 429; cooling down", x->req_id, key, name);
		return 1;
	}
	if (uc->status == 401 || uc->status == 403 ||
	    (uc->status == 400 && x->up == DIALECT_GEMINI && gemini_error_key_invalid(buf_str(&x->body), x->body.len))) {
		pool_report(pool, ki, POOL_AUTH_FAILED, -1, c, now);
		*fail = FAIL_AUTH;
		snprintf(detail, dl, "upstream %s refused its key (HTTP %d)", name, uc->status);
		log_warn("%s key %s of %s refused by upstream (HTTP %d); blocked", x->req_id, key, name, uc->status);
		return 1;
	}
	if (uc->status >= 500 || uc->status == 408 || uc->status < 200) {
		pool_report(pool, ki, POOL_FAILED, -1, c, now);
		*fail = FAIL_UPSTREAM;
		snprintf(detail, dl, "upstream %s answered HTTP %d: %s", name, uc->status,
			 upstream_message(x, m, sizeof(m)));
		log_warn("%s attempt %d: %s", x->req_id, attempt, detail);
		return 1;
	}
	return 0;
}

/* The dearest price among a route's targets (a reservation must cover
 * whichever of them answers), or NULL when none has one. */
static const struct price_conf *dearest_price(const struct config *c, const struct route *rt, const char *requested)
{
	const struct price_conf *best = NULL;
	for (size_t i = 0; i < rt->n; i++) {
		const struct price_conf *p = config_price(c, rt->t[i].model, requested);
		if (p && (!best || p->input + p->output > best->input + best->output))
			best = p;
	}
	return best;
}

/* The key's allow-list, rate limits and budgets for this request, its
 * worst case (output: it may produce output tokens) reserved in x->hold.
 * 1: go on; 0: refused, answered and recorded. */
static int quota_admit(struct chat_ctx *x, const struct route *rt, int output)
{
	struct quota_ask ask = { 0, 0 };
	struct quota_refusal why;
	if (quota_has_limits(x->who))
		estimate_ask(x->r->body.data, x->r->body.len, output, x->c->default_max_tokens,
			     dearest_price(x->c, rt, x->requested), &ask);
	enum quota_verdict qv = quota_check(&x->gw->quota, x->who, x->requested, &ask, x->t0, &why, &x->hold);
	if (qv == QUOTA_OK)
		return 1;
	char extra[64] = "";
	if (why.retry_after_s > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", why.retry_after_s);
	record_now(x, (int)qv);
	oai_error(x->r, (int)qv, qv == QUOTA_MODEL ? "permission_error" : qv == QUOTA_UNAVAILABLE ? "api_error" :
		  "rate_limit_error", why.code, qv == QUOTA_MODEL ? "model" : NULL, extra[0] ? extra : NULL, "%s",
		  why.message);
	return 0;
}

/* A request's state for the chat engine; translate: the answer may be
 * turned from one dialect's stream into another's, which needs buffers. */
static void chat_ctx_init(struct chat_ctx *x, struct gateway *gw, const struct config *c, struct http_req *r,
			  const struct auth_entry *who, const char *req_id, enum dialect client,
			  const char *endpoint, int64_t t0, int translate)
{
	memset(x, 0, sizeof(*x));
	buf_init(&x->body, c->max_response);
	buf_init(&x->tx, BUF_CAP_SSE_EVENT * 4);
	buf_init(&x->cout, translate ? BUF_CAP_SSE_EVENT * 4 : 0);
	sse_init(&x->sse, BUF_CAP_SSE_EVENT);
	sse_init(&x->oai_sse, translate ? BUF_CAP_SSE_EVENT : 0);
	x->r = r;
	x->req_id = req_id;
	x->client = client;
	x->gw = gw;
	x->c = c;
	x->who = who;
	x->t0 = t0;
	x->endpoint = endpoint;
	x->used_provider = "-";
	x->used_key = "-";
	x->used_model = "";
}

static void chat_ctx_free(struct chat_ctx *x)
{
	quota_release(&x->gw->quota, x->who, &x->hold);
	sse_free(&x->sse);
	sse_free(&x->oai_sse);
	buf_free(&x->body);
	buf_free(&x->tx);
	buf_free(&x->cout);
}

/* The engine: route req (OpenAI format; areq the Anthropic original for an
 * Anthropic client, else NULL), try upstreams, answer in the client's
 * dialect, record usage. */
static void chat_run(struct worker *w, struct http_req *r, struct runtime *snap, const struct auth_entry *who,
		     const char *req_id, cJSON *req, cJSON *areq, enum dialect client)
{
	struct gateway *gw = w->gw;
	const struct config *c = &snap->cfg;
	struct cache *cache = c->cache_enabled && client == DIALECT_OPENAI ?
		__atomic_load_n(&gw->cache, __ATOMIC_ACQUIRE) : NULL;
	/* The request's state on the heap, not the stack: a worker thread
	 * keeps the deepest stack it ever used resident, and a router may run
	 * hundreds of them. */
	struct chat_mem {
		struct chat_ctx x;
		struct route rt;
	} *mem = xmalloc(sizeof(*mem));
	struct chat_ctx *const x = &mem->x;
	struct route *const rt = &mem->rt;
	char detail[300] = "";
	int attempts = 0;
	enum fail_kind fail = FAIL_NONE;
	int64_t retry_ms = 0;
	int64_t t0 = pool_now_ms();
	int routed = 0;
	char ckey[CACHE_KEY_HEX];
	int cache_store = 0;

	chat_ctx_init(x, gw, c, r, who, req_id, client, client == DIALECT_ANTHROPIC ? "messages" : "chat", t0, 1);
	char *requested = x->requested;

	const char *model;
	if (request_model(r, req, &model) != 0)
		goto out;
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
		oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "messages", NULL,
			  "'messages' must be a non-empty array.");
		goto out;
	}
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(req, "stream");
	if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
		oai_error(r, 400, "invalid_request_error", "invalid_type", "stream", NULL, "'stream' must be a boolean.");
		goto out;
	}
	x->client_stream = cJSON_IsTrue(stream);
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
	x->client_usage = client == DIALECT_ANTHROPIC ||
			 (cJSON_IsObject(so) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage")));

	memcpy(x->requested, model, strlen(model) + 1);   /* fits: request_model */
	if (provider_resolve(c, requested, rt) != 0) {
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%.200s' does not exist or you do not have access to it.", requested);
		goto out;
	}
	if (usage_space(x, DIALECT_OPENAI) != 0)
		goto out;
	routed = 1;
	if (client == DIALECT_ANTHROPIC)
		anthropic_from_oai_init(&x->o2a, requested);
	if (!quota_admit(x, rt, 1))
		goto done;

	x->raw_body_ok = client == DIALECT_OPENAI && r->body.data;
	if (c->system_prompt && add_system_prompt(req, c->system_prompt))
		x->raw_body_ok = 0;
	if (cache) {
		const char *cc = http_header(r, "Cache-Control");
		const char *lc = http_header(r, "X-Llmgate-Cache");
		int no_read = (cc && (strstr(cc, "no-cache") || strstr(cc, "no-store"))) || (lc && !strcmp(lc, "bypass"));
		int no_write = (cc && strstr(cc, "no-store")) || (lc && !strcmp(lc, "bypass"));
		cache_key(req, rt->t[0].prov->name, rt->t[0].model, c->cache_per_key ? who->id : "", ckey);
		x->cache_state = no_read ? "bypass" : "miss";
		cache_store = !no_write && !x->client_stream;
		x->used_provider = rt->t[0].prov->name;
		x->used_model = rt->t[0].model;
		if (!no_read && serve_from_cache(cache, x, ckey, rt->t[0].prov->name))
			goto done;
	}

	for (size_t ti = 0; ti < rt->n && attempts < c->max_attempts && !x->committed && fail != FAIL_DEADLINE; ti++) {
		const struct route_target *t = &rt->t[ti];
		struct pool *pool = pool_of(snap, t->prov);
		struct pool_tried tried = { 0 };
		char err[256];
		char *url;
		char *body = attempt_request(x, req, areq, t, &url, err, sizeof(err));
		if (!body) {
			if (ti + 1 < rt->n)
				continue;
			oai_error(r, 400, "invalid_request_error", "unsupported_request", NULL, NULL,
				  "This request cannot be sent to %s: %s", t->prov->name, err);
			x->committed = 1;
			record_now(x, 400);
			break;
		}
		while (attempts < c->max_attempts) {
			int ki = next_key(pool, &tried, &fail, &retry_ms);
			if (ki < 0)
				break;
			attempts++;
			attempt_begin(x, t, pool, ki, x->client_usage);

			const char *const anthropic_hdrs[] = { "anthropic-version: " ANTHROPIC_VERSION, NULL };
			const char *secret = pool->keys[ki].secret;
			char *auth = auth_line(x->up, secret);
			struct upstream_call uc = {
				.conns = w->conns, .url = url, .auth_header = auth,
				.extra_headers = x->up == DIALECT_ANTHROPIC ? anthropic_hdrs : NULL,
				.body = body, .body_len = strlen(body),
				.accept = x->client_stream ? "text/event-stream" : "application/json",
				.connect_timeout_ms = c->connect_timeout_ms,
				.first_byte_timeout_ms = c->first_byte_timeout_ms,
				.idle_timeout_ms = c->idle_timeout_ms,
				.head_timeout_ms = c->head_timeout_ms,
				.total_timeout_ms = c->total_timeout_ms,
				.stream_max_ms = c->stream_max_s * 1000,
				.stream_max_bytes = c->stream_max_bytes,
				.request_id = req_id,
				.on_head = chat_on_head, .on_data = chat_on_data, .user = x,
			};
			int ok = upstream_perform(&uc) == 0;
			auth_line_free(auth);
			/* the status the handler saw in a whole response head */
			uc.status = x->status;
			int64_t now = pool_now_ms();
			x->ttfb_ms = uc.t_first_byte_ms ? (long)(uc.t_first_byte_ms - uc.t_start_ms) : 0;
			if (x->committed) {
				/* the stream reached the client: no retry whatever happens */
				pool_report(pool, ki, POOL_OK, -1, c, now);
				if (!ok && !r->client_gone)
					log_warn("%s upstream %s stream %s: %s", req_id, t->prov->name,
						 upstream_gateway_limit(&uc) ? "ended by the gateway's limit" : "failed",
						 uc.timeout == UPSTREAM_TIMEOUT_IDLE ? "idle timeout" : uc.errmsg);
				finish_stream(x, ok);
				fail = FAIL_NONE;
				break;
			}
			if (attempt_failed(x, &uc, ok, t, pool, ki, attempts, now, &fail, &retry_ms, detail, sizeof(detail))) {
				if (fail == FAIL_DEADLINE)
					break;
				continue;
			}
			if (uc.status >= 400) {
				pool_report(pool, ki, POOL_OK, -1, c, now);
				relay_client_error(x);
				fail = FAIL_NONE;
				x->committed = 1;
				break;
			}
			/* 2xx, buffered (non-stream, or the upstream did not stream) */
			char *oai = success_as_oai(x);
			if (!oai) {
				pool_report(pool, ki, POOL_FAILED, -1, c, now);
				fail = FAIL_UPSTREAM;
				snprintf(detail, sizeof(detail), "upstream %s answered with a body that is not a valid answer",
					 t->prov->name);
				log_warn("%s attempt %d: %s", req_id, attempts, detail);
				continue;
			}
			pool_report(pool, ki, POOL_OK, -1, c, now);
			char *out = oai;
			if (x->passthrough) {
				out = xstrdup(buf_str(&x->body));
			} else if (client == DIALECT_ANTHROPIC) {
				char e2[128];
				out = anthropic_response_from_oai(oai, strlen(oai), requested, NULL, e2, sizeof(e2));
				if (!out)
					out = anthropic_error_json("api_error", "the upstream answer could not be translated");
			}
			char extra[EXTRA_HDR_MAX];
			answer_headers(x, NULL, extra, sizeof(extra));
			record_now(x, 200);
			http_respond(r, 200, "application/json", extra, out, strlen(out));
			if (cache_store)
				cache_put(cache, ckey, oai, strlen(oai));
			if (out != oai)
				free(out);
			free(oai);
			x->committed = 1;
			fail = FAIL_NONE;
			break;
		}
		free(body);
		free(url);
	}

	if (!x->committed) {
		char extra[64];
		long ra_s = (long)((retry_ms + 999) / 1000);
		if (ra_s < 1)
			ra_s = 1;
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", ra_s);
		record_now(x, fail == FAIL_COOLING || fail == FAIL_RATE_LIMITED ? 429 :
			       fail == FAIL_TIMEOUT || fail == FAIL_DEADLINE ? 504 : fail == FAIL_NONE ? 503 : 502);
		switch (fail) {
		case FAIL_COOLING:
		case FAIL_RATE_LIMITED:
			oai_error(r, 429, "rate_limit_error", "upstream_rate_limited", NULL, extra,
				  "Every upstream key for model '%.100s' is rate limited; retry after %ld s.%s%s",
				  requested, ra_s, detail[0] ? " Last: " : "", detail);
			break;
		case FAIL_TIMEOUT:
			oai_error(r, 504, "upstream_error", "upstream_timeout", NULL, NULL,
				  "The upstream did not answer in time (%s).", detail);
			break;
		case FAIL_DEADLINE:
			oai_error(r, 504, "upstream_error", "upstream_timeout", NULL, NULL,
				  "The upstream answer did not complete within this gateway's limit (%s).", detail);
			break;
		case FAIL_AUTH:
			oai_error(r, 502, "upstream_error", "upstream_auth_failed", NULL, NULL,
				  "No upstream key was accepted (%s).", detail);
			break;
		case FAIL_UPSTREAM:
			oai_error(r, 502, "upstream_error", "upstream_error", NULL, NULL,
				  "The upstream failed after %d attempt%s (%s).", attempts, attempts == 1 ? "" : "s", detail);
			break;
		case FAIL_NONE:
			oai_error(r, 503, "upstream_error", "no_upstream_key", NULL, NULL,
				  "No upstream key is available for model '%.100s' (all blocked).", requested);
			break;
		}
	}
done:
	/* what was not recorded before its answer ended: a stream cut short or
	 * left by its client */
	if (routed)
		record_now(x, r->status);
out:
	chat_ctx_free(x);
	free(mem);
}

/* POST /v1/chat/completions */
static void handle_chat(struct worker *w, struct http_req *r, struct runtime *snap, const struct auth_entry *who,
			const char *req_id)
{
	cJSON *req = read_json_body(r, &snap->cfg);
	if (req)
		chat_run(w, r, snap, who, req_id, req, NULL, DIALECT_OPENAI);
	cJSON_Delete(req);
}

/* POST /v1/messages: Anthropic's format in and out, any provider behind. */
NOINLINE static void handle_messages(struct worker *w, struct http_req *r, struct runtime *snap, const struct auth_entry *who,
			    const char *req_id)
{
	char err[256];
	cJSON *areq = read_json_body(r, &snap->cfg);
	if (!areq)
		return;
	cJSON *req = anthropic_request_to_oai(areq, NULL, err, sizeof(err));
	if (!req)
		oai_error(r, 400, "invalid_request_error", NULL, NULL, NULL, "%s", err);
	else
		chat_run(w, r, snap, who, req_id, req, areq, DIALECT_ANTHROPIC);
	cJSON_Delete(req);
	cJSON_Delete(areq);
}

/* ------------------------------------------------------------ proxied endpoints
 *
 * Native passthrough (/api/{provider}/...), /v1/embeddings and
 * /v1/images/generations: the body goes to the upstream as the client sent
 * it (only model and auth change), the answer comes back as the upstream
 * sent it. Key rotation, retries, quotas and usage records apply as for
 * chats. Streams go through event by event; other answers are buffered
 * (capped) so that usage is read and recorded before the answer ends. */

struct proxy_spec {
	const char *endpoint;        /* for the usage record */
	const char *method;          /* upstream method */
	const char *url;             /* whole upstream URL, or NULL: base_url + suffix */
	const char *suffix;          /* "/embeddings" */
	const char *body;            /* as sent upstream */
	size_t body_len;
	const char *content_type;    /* the client's, for passthrough */
	const char *const *pass_headers;  /* client headers forwarded as they are */
};

static int proxy_on_head(void *user, int status, const char *ctype, long retry_after)
{
	struct chat_ctx *x = user;
	(void)retry_after;
	x->status = status;
	x->mode = MODE_BUFFER;
	buf_reset(&x->body);
	x->body_truncated = 0;
	/* the upstream's Content-Type goes into our answer's head: printable
	 * ASCII only, or a neutral type */
	int clean = *ctype != '\0';
	for (const char *q = ctype; *q && clean; q++)
		clean = (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f;
	snprintf(x->ctype, sizeof(x->ctype), "%s", clean ? ctype : "application/octet-stream");
	log_scrub(x->ctype);
	if (status >= 200 && status < 300 && !strncasecmp(ctype, "text/event-stream", 17))
		x->mode = MODE_STREAM;
	return 0;
}

/* One upstream event of a passed-through stream: read usage, record before
 * the stream's last event, forward it as it is. */
static int proxy_event(const struct sse_event *ev, void *user)
{
	struct chat_ctx *x = user;
	int last = 0;
	x->events++;
	if (x->up == DIALECT_ANTHROPIC) {
		buf_reset(&x->tx);
		anthropic_to_oai_feed(&x->a2o, ev->event, ev->data, ev->data_len, &x->tx);
		if (x->a2o.usage.reported)
			x->usage = x->a2o.usage;
		last = x->a2o.done;
	} else if (x->up == DIALECT_GEMINI) {
		if (ev->data_len) {
			buf_reset(&x->tx);
			gemini_to_oai_feed(&x->g2o, ev->data, ev->data_len, &x->tx);
			if (x->g2o.usage.reported)
				x->usage = x->g2o.usage;
			last = memmem(ev->data, ev->data_len, "\"finishReason\"", 14) != NULL;
		}
	} else if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
		last = 1;
	} else if (ev->data_len && memmem(ev->data, ev->data_len, "\"usage\"", 7)) {
		cJSON *j = cJSON_ParseWithLength(ev->data, ev->data_len);
		if (j)
			usage_from_json(j, &x->usage);
		cJSON_Delete(j);
	}
	if (last) {
		x->saw_done = 1;
		record_now(x, 200);
	}
	return http_write(x->r, ev->raw, ev->raw_len) == 0 ? 0 : -1;
}

static int proxy_on_data(void *user, const char *p, size_t n)
{
	struct chat_ctx *x = user;
	if (x->mode == MODE_BUFFER) {
		if (buf_append(&x->body, p, n) != 0) {
			if (x->status >= 200 && x->status < 300)
				return -1;
			x->body_truncated = 1;
		}
		return 0;
	}
	if (!x->committed) {
		char extra[EXTRA_HDR_MAX];
		answer_headers(x, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n", extra, sizeof(extra));
		http_begin(x->r, 200, x->ctype, extra);
		x->committed = 1;
	}
	if (sse_feed(&x->sse, p, n, proxy_event, x) != 0)
		return -1;
	return http_flush(x->r) == 0 ? 0 : -1;
}

/* Usage from a buffered answer, by the upstream's dialect. */
static void proxy_body_usage(struct chat_ctx *x)
{
	char err[64];
	const char *b = buf_str(&x->body);
	char *oai = NULL;
	if (x->up == DIALECT_ANTHROPIC) {
		oai = anthropic_response_to_oai(b, x->body.len, x->requested, &x->usage, err, sizeof(err));
	} else if (x->up == DIALECT_GEMINI) {
		oai = gemini_response_to_oai(b, x->body.len, x->requested, &x->usage, err, sizeof(err));
	} else {
		cJSON *j = cJSON_ParseWithLength(b, x->body.len);
		if (cJSON_IsObject(j))
			usage_from_json(j, &x->usage);
		cJSON_Delete(j);
	}
	free(oai);
}

/* Answer a proxied request no attempt of which reached the client, by how
 * the last one failed; a native (passthrough) call in its provider's own
 * error shape. */
static void proxy_fail(struct chat_ctx *x, const struct proxy_spec *spec, enum fail_kind fail, int attempts,
		       const char *detail, int64_t retry_ms)
{
	struct http_req *r = x->r;
	char extra[64];
	long ra_s = (long)((retry_ms + 999) / 1000);
	if (ra_s < 1)
		ra_s = 1;
	snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", ra_s);
	int st = fail == FAIL_COOLING || fail == FAIL_RATE_LIMITED ? 429 :
		 fail == FAIL_TIMEOUT || fail == FAIL_DEADLINE ? 504 : fail == FAIL_NONE ? 503 : 502;
	record_now(x, st);
	enum dialect shape = !strcmp(spec->endpoint, "passthrough") ? x->up : DIALECT_OPENAI;
	if (shape == DIALECT_ANTHROPIC)
		r->anthropic_errors = 1;
	char msg[512];
	snprintf(msg, sizeof(msg), "The upstream request failed after %d attempt%s%s%s%s", attempts,
		 attempts == 1 ? "" : "s", detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	if (shape == DIALECT_GEMINI) {
		log_scrub(msg);
		char *b = gemini_error_json(st, msg);
		http_respond(r, st, "application/json", st == 429 ? extra : NULL, b, strlen(b));
		free(b);
		return;
	}
	oai_error(r, st, st == 429 ? "rate_limit_error" : "upstream_error",
		  st == 429 ? "upstream_rate_limited" : st == 504 ? "upstream_timeout" :
		  fail == FAIL_AUTH ? "upstream_auth_failed" : st == 503 ? "no_upstream_key" : "upstream_error",
		  NULL, st == 429 ? extra : NULL, "%s", msg);
}

/* Try the targets of rt with the request of spec; answer the client. */
static void proxy_run(struct worker *w, struct http_req *r, struct runtime *snap, const struct auth_entry *who,
		      const char *req_id, const struct route *rt, const char *model, const struct proxy_spec *spec)
{
	struct gateway *gw = w->gw;
	const struct config *c = &snap->cfg;
	struct proxy_mem {         /* not on the stack: see chat_run */
		struct chat_ctx x;
	} *mem = xmalloc(sizeof(*mem));
	struct chat_ctx *const x = &mem->x;
	char *url = NULL;
	char detail[300] = "";
	int attempts = 0;
	enum fail_kind fail = FAIL_NONE;
	int64_t retry_ms = 0;

	chat_ctx_init(x, gw, c, r, who, req_id, DIALECT_OPENAI, spec->endpoint, pool_now_ms(), 0);
	snprintf(x->requested, sizeof(x->requested), "%s", model && *model ? model : "-");
	if (usage_space(x, r->passthrough && rt->n ? rt->t[0].prov->dialect : DIALECT_OPENAI) != 0)
		goto out;

	/* output: not for embeddings, nor for a request without a body (GET) */
	if (!quota_admit(x, rt, strcmp(spec->endpoint, "embeddings") != 0 && spec->body_len > 0))
		goto out;

	for (size_t ti = 0; ti < rt->n && attempts < c->max_attempts && !x->committed && fail != FAIL_DEADLINE; ti++) {
		const struct route_target *t = &rt->t[ti];
		struct pool *pool = pool_of(snap, t->prov);
		struct pool_tried tried = { 0 };
		free(url);
		url = spec->url ? xstrdup(spec->url) : xasprintf("%s%s", t->prov->base_url, spec->suffix);
		x->up = t->prov->dialect;
		while (attempts < c->max_attempts) {
			int ki = next_key(pool, &tried, &fail, &retry_ms);
			if (ki < 0)
				break;
			attempts++;
			attempt_begin(x, t, pool, ki, 1);
			const char *secret = pool->keys[ki].secret;
			char *auth = auth_line(x->up, secret);
			const char *defaults[] = { "anthropic-version: " ANTHROPIC_VERSION, NULL };
			struct upstream_call uc = {
				.conns = w->conns, .url = url, .method = spec->method,
				.auth_header = auth,
				.extra_headers = spec->pass_headers ? spec->pass_headers :
						 x->up == DIALECT_ANTHROPIC ? defaults : NULL,
				.no_content_type = spec->content_type != NULL,
				.body = spec->body, .body_len = spec->body_len,
				.accept = "*/*",
				.connect_timeout_ms = c->connect_timeout_ms,
				.first_byte_timeout_ms = c->first_byte_timeout_ms,
				.idle_timeout_ms = c->idle_timeout_ms,
				.head_timeout_ms = c->head_timeout_ms,
				.total_timeout_ms = c->total_timeout_ms,
				.stream_max_ms = c->stream_max_s * 1000,
				.stream_max_bytes = c->stream_max_bytes,
				.request_id = req_id,
				.on_head = proxy_on_head, .on_data = proxy_on_data, .user = x,
			};
			int ok = upstream_perform(&uc) == 0;
			auth_line_free(auth);
			/* the status the handler saw in a whole response head */
			uc.status = x->status;
			int64_t now = pool_now_ms();
			x->ttfb_ms = uc.t_first_byte_ms ? (long)(uc.t_first_byte_ms - uc.t_start_ms) : 0;
			if (x->committed) {
				pool_report(pool, ki, POOL_OK, -1, c, now);
				if (!ok && !r->client_gone)
					log_warn("%s passthrough stream from %s %s: %s", req_id, t->prov->name,
						 upstream_gateway_limit(&uc) ? "ended by the gateway's limit" : "failed", uc.errmsg);
				break;
			}
			if (attempt_failed(x, &uc, ok, t, pool, ki, attempts, now, &fail, &retry_ms, detail, sizeof(detail))) {
				if (fail == FAIL_DEADLINE)
					break;
				continue;
			}
			/* an answer for the client, buffered: its own status, scrubbed */
			pool_report(pool, ki, POOL_OK, -1, c, now);
			if (uc.status >= 200 && uc.status < 300)
				proxy_body_usage(x);
			char extra[EXTRA_HDR_MAX];
			answer_headers(x, NULL, extra, sizeof(extra));
			record_now(x, uc.status);
			if (uc.status >= 400) {
				char *b = scrubbed_body(buf_str(&x->body), x->body.len);
				http_respond(r, uc.status, x->ctype, extra, b, strlen(b));
				free(b);
			} else {
				http_respond(r, uc.status, x->ctype, extra, x->body.data ? x->body.data : "", x->body.len);
			}
			x->committed = 1;
			fail = FAIL_NONE;
			break;
		}
	}
	if (!x->committed)
		proxy_fail(x, spec, fail, attempts, detail, retry_ms);
	record_now(x, r->status);
out:
	free(url);
	chat_ctx_free(x);
	free(mem);
}

/* POST /v1/embeddings and /v1/images/generations: OpenAI's format, routed
 * by model to OpenAI-compatible providers. */
NOINLINE static void handle_openai_endpoint(struct worker *w, struct http_req *r, struct runtime *snap,
				   const struct auth_entry *who, const char *req_id, const char *suffix,
				   const char *endpoint)
{
	const struct config *c = &snap->cfg;
	cJSON *req = read_json_body(r, c);
	char *body = NULL;
	if (!req)
		return;
	struct route *rt = xmalloc(sizeof(*rt));   /* not on the stack: see chat_run */
	const char *model;
	if (request_model(r, req, &model) != 0)
		goto out;
	if (provider_resolve(c, model, rt) != 0) {
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%.200s' does not exist or you do not have access to it.", model);
		goto out;
	}
	size_t usable = 0;   /* the targets that speak OpenAI's format */
	for (size_t i = 0; i < rt->n; i++)
		if (rt->t[i].prov->dialect == DIALECT_OPENAI)
			rt->t[usable++] = rt->t[i];
	rt->n = usable;
	if (!usable) {
		oai_error(r, 400, "invalid_request_error", "unsupported_model", "model", NULL,
			  "%s is not offered for model '%.200s' through this gateway.", endpoint, model);
		goto out;
	}
	char requested[MODEL_NAME_MAX];
	memcpy(requested, model, strlen(model) + 1);   /* fits: request_model */
	/* the upstream model name is the same for every target of one route
	 * but for aliases: rewrite per first target */
	body = reqbody_forward(req, r->body.data, r->body.len, rt->t[0].model, 0);
	struct proxy_spec spec = { .endpoint = endpoint, .suffix = suffix, .body = body, .body_len = strlen(body) };
	proxy_run(w, r, snap, who, req_id, rt, requested, &spec);
out:
	free(rt);
	free(body);
	cJSON_Delete(req);
}

/* Is this passthrough path safe to put behind a provider's base URL? The
 * path is REQUEST_URI's, still %-encoded: no "..", no "." segments, no
 * encoded slashes or dots or percent signs, no empty segments, no
 * backslashes, '#', '?' or '@', nothing but printable ASCII, nothing that
 * could name another host. */
int gateway_passthrough_path_ok(const char *rest)
{
	if (rest[0] != '/' || !rest[1])
		return 0;
	for (const char *p = rest; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '@' || ch == '#' || ch == '?')
			return 0;
		if (ch == '.' && p[1] == '.')
			return 0;   /* no "..", dot segment or not */
		if (ch == '%') {
			/* two hex digits must follow; read the second only if the
			 * first is there */
			if (!p[1] || !p[2])
				return 0;
			char a = p[1], b = p[2];
			if ((a == '2' && (b == 'e' || b == 'E' || b == 'f' || b == 'F')) ||
			    (a == '5' && (b == 'c' || b == 'C')) || (a == '2' && b == '5') || (a == '0' || a == '1'))
				return 0;
		}
		if (ch == '/') {
			if (p[1] == '/')
				return 0;
			if (p[1] == '.' && (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))))
				return 0;
		}
		if (ch == ':' && p[1] == '/' && p[2] == '/')
			return 0;
	}
	return 1;
}

/* May a client's header value go on to an upstream? Printable ASCII only
 * (no CR or LF to end the header early). */
static int header_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* The query string without a client's "key=" parameter (Gemini's way of
 * sending a key), into out. */
static void strip_key_param(const char *q, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		if (!(n >= 4 && !strncmp(q, "key=", 4)) && n && o + n + 2 < outlen) {
			if (o)
				out[o++] = '&';
			memcpy(out + o, q, n);
			o += n;
			out[o] = '\0';
		}
		q += n;
		if (*q == '&')
			q++;
	}
}

/* A passthrough request refused in its provider's own error shape. */
static void native_error(struct http_req *r, const struct provider_conf *prov, int status, const char *code,
			 const char *param, const char *msg)
{
	char clean[512];
	snprintf(clean, sizeof(clean), "%s", msg);
	log_scrub(clean);
	char *body = prov->dialect == DIALECT_ANTHROPIC ? anthropic_error_json(anthropic_error_type(status), clean) :
		     prov->dialect == DIALECT_GEMINI ? gemini_error_json(status, clean) : NULL;
	if (body)
		http_respond(r, status, "application/json", NULL, body, strlen(body));
	else
		oai_error(r, status, "invalid_request_error", code, param, NULL, "%s", clean);
	free(body);
}

/* Does the passthrough body read as JSON: a JSON Content-Type, or text
 * that starts like an object or array? */
static int body_is_json(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	if (ct && strcasestr(ct, "json"))
		return 1;
	size_t i = 0;
	while (i < r->body.len && strchr(" \t\r\n", r->body.data[i]))
		i++;
	return i < r->body.len && (r->body.data[i] == '{' || r->body.data[i] == '[');
}

/* The model a passthrough request names, into model (MODEL_NAME_MAX):
 * the body's "model", or the path's /models/NAME (Gemini's way); "" for
 * none. Whatever the gateway reads must be what the upstream reads: a JSON
 * body must be strict (reqbody.h), a name is never cut, one in the path is
 * taken only as written (no %-escapes), and body and path may not name two
 * models. Otherwise the client is answered (400) and -1 returned. */
static int passthrough_model(struct http_req *r, const struct provider_conf *prov, const char *rest, char *model)
{
	char msg[320];
	const char *bm = NULL, *pm = NULL;
	size_t pl = 0;
	cJSON *j = NULL;
	if (r->body.len && body_is_json(r)) {
		enum reqbody_verdict v = reqbody_parse(r->body.data, r->body.len, 0, &j, msg, sizeof(msg));
		if (v != REQBODY_OK) {
			native_error(r, prov, 400, v == REQBODY_DUPLICATE ? "duplicate_member" :
				     v == REQBODY_CASE ? "invalid_member_name" : "invalid_json", NULL, msg);
			return -1;
		}
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model");
		if (cJSON_IsString(m) && reqbody_model(j, &bm) == REQBODY_MODEL_TOO_LONG) {
			snprintf(msg, sizeof(msg), "'model' is longer than %d bytes, the longest model name this gateway takes.",
				 REQBODY_MODEL_LEN);
			goto refuse;
		}
	}
	const char *mp = strstr(rest, "/models/");
	if (mp) {
		pm = mp + 8;
		pl = strcspn(pm, ":/?");
		if (pl > REQBODY_MODEL_LEN || memchr(pm, '%', pl) || strstr(pm, "/models/")) {
			snprintf(msg, sizeof(msg), "The model in the path is longer than %d bytes, %%-encoded, or not the "
				 "only one; name one model, plainly.", REQBODY_MODEL_LEN);
			goto refuse;
		}
		/* the body may name the same model, also as "models/NAME" */
		const char *b = bm && !strncmp(bm, "models/", 7) ? bm + 7 : bm;
		if (pl && b && (strlen(b) != pl || memcmp(b, pm, pl))) {
			snprintf(msg, sizeof(msg), "The path and the body's 'model' name two different models.");
			goto refuse;
		}
	}
	if (pm && pl) {            /* the name the upstream runs; the body's agrees */
		memcpy(model, pm, pl);
		model[pl] = '\0';
	} else if (bm) {
		memcpy(model, bm, strlen(bm) + 1);
	}
	cJSON_Delete(j);
	return 0;
refuse:
	cJSON_Delete(j);
	native_error(r, prov, 400, "invalid_value", "model", msg);
	return -1;
}

/* /api/{provider}/{rest}: the provider's own API, the gateway key swapped
 * for a pool key. */
NOINLINE static void handle_passthrough(struct worker *w, struct http_req *r, struct runtime *snap,
			       const struct auth_entry *who, const char *req_id, const struct provider_conf *prov,
			       const char *rest)
{
	const struct config *c = &snap->cfg;
	struct pt_mem {            /* not on the stack: see chat_run */
		char url[URL_MAX], query[1024];
		struct route rt;
		char model[MODEL_NAME_MAX];
	} *mem = xmalloc(sizeof(*mem));
	char *const url = mem->url, *const query = mem->query, *const model = mem->model;
	struct route *const rt = &mem->rt;
	model[0] = '\0';

	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
	int method_ok = 0;
	for (const char *const *mm = methods; *mm; mm++)
		method_ok |= !strcmp(r->method, *mm);
	if (!method_ok) {
		char extra[64];
		snprintf(extra, sizeof(extra), "Allow: GET, POST, PUT, PATCH, DELETE\r\n");
		oai_error(r, 405, "invalid_request_error", "method_not_allowed", NULL, extra,
			  "This method cannot be passed to a provider.");
		goto out;
	}
	if (!gateway_passthrough_path_ok(rest)) {
		oai_error(r, 400, "invalid_request_error", "invalid_path", NULL, NULL,
			  "This path cannot be passed to a provider.");
		goto out;
	}
	if (!provider_usable(prov)) {
		oai_error(r, 404, "invalid_request_error", "provider_not_found", NULL, NULL,
			  "Provider '%.60s' has no upstream key here.", prov->name);
		goto out;
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "DELETE")) {
		int rb = http_read_body(r, c->max_body);
		if (rb == -1) {
			oai_error(r, 413, "invalid_request_error", "request_too_large", NULL, NULL,
				  "Request body is larger than this gateway accepts (%zu bytes).", c->max_body);
			goto out;
		} else if (rb == -3) {
			oai_error(r, 408, "invalid_request_error", "request_timeout", NULL, NULL,
				  "The request body did not arrive within %d ms.", c->body_timeout_ms);
			goto out;
		} else if (rb != 0) {
			oai_error(r, 400, "invalid_request_error", "invalid_body", NULL, NULL,
				  "The request body could not be read completely.");
			goto out;
		}
	}
	/* the model, for quotas and the record: the body's, or Gemini's path */
	if (passthrough_model(r, prov, rest, model) != 0)
		goto out;

	/* base_url + rest, where the end of the base's path may be repeated at
	 * the start of rest (".../v1beta" and "/v1beta/models/..."): then only
	 * once */
	const char *base = prov->base_url;
	const char *bpath = strstr(base, "://");
	bpath = bpath ? strchr(bpath + 3, '/') : NULL;
	size_t keep = strlen(base);
	for (const char *sfx = bpath; sfx && *sfx; sfx = strchr(sfx + 1, '/')) {
		size_t sl = strlen(sfx);
		if (!strncmp(rest, sfx, sl) && (rest[sl] == '/' || !rest[sl])) {
			keep = (size_t)(sfx - base);
			break;
		}
	}
	strip_key_param(r->query, query, sizeof(mem->query));
	int un = snprintf(url, URL_MAX, "%.*s%s%s%s", (int)keep, base, rest, query[0] ? "?" : "", query);
	if (un < 0 || (size_t)un >= URL_MAX) {
		oai_error(r, 414, "invalid_request_error", "uri_too_long", NULL, NULL, "The path is too long.");
		goto out;
	}
	/* a few of the client's headers go along; its auth never does */
	char ctype[160] = "", av[96] = "", ab[256] = "", ob[96] = "";
	const char *hdrs[6];
	size_t nh = 0;
	const char *v;
	if ((v = http_header(r, "Content-Type")) && header_value_ok(v) && snprintf(ctype, sizeof(ctype), "Content-Type: %s", v) < (int)sizeof(ctype))
		hdrs[nh++] = ctype;
	if ((v = http_header(r, "anthropic-version")) && header_value_ok(v) && snprintf(av, sizeof(av), "anthropic-version: %s", v) < (int)sizeof(av))
		hdrs[nh++] = av;
	else if (prov->dialect == DIALECT_ANTHROPIC)
		hdrs[nh++] = "anthropic-version: " ANTHROPIC_VERSION;
	if ((v = http_header(r, "anthropic-beta")) && header_value_ok(v) && snprintf(ab, sizeof(ab), "anthropic-beta: %s", v) < (int)sizeof(ab))
		hdrs[nh++] = ab;
	if ((v = http_header(r, "OpenAI-Beta")) && header_value_ok(v) && snprintf(ob, sizeof(ob), "OpenAI-Beta: %s", v) < (int)sizeof(ob))
		hdrs[nh++] = ob;
	hdrs[nh] = NULL;

	rt->n = 1;
	rt->t[0].prov = prov;
	snprintf(rt->t[0].model, sizeof(rt->t[0].model), "%s", model[0] ? model : "-");
	struct proxy_spec spec = {
		.endpoint = "passthrough", .method = r->method, .url = url,
		.body = r->body.data, .body_len = r->body.len,
		.content_type = ctype[0] ? ctype : NULL, .pass_headers = hdrs,
	};
	proxy_run(w, r, snap, who, req_id, rt, model, &spec);
out:
	free(mem);
}

/* ------------------------------------------------------------ dispatch */

static void method_not_allowed(struct http_req *r, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	oai_error(r, 405, "invalid_request_error", "method_not_allowed", NULL, extra,
		  "Method %s is not allowed here; use %s.", r->method, allow);
}

void gateway_handle(struct worker *w, struct http_req *r)
{
	struct auth_entry who;
	char req_id[REQ_ID_MAX];
	snprintf(req_id, sizeof(req_id), "req_%llx%08x%02x%lx", (unsigned long long)pool_now_ms(),
		 w->gw->boot_id, w->idx & 0xff, ++w->seq);
	snprintf(r->request_id, sizeof(r->request_id), "%s", req_id);
	struct runtime *snap = runtime_get(w->gw);
	const char *p = api_path(&snap->cfg, r->path);
	size_t pl = strlen(r->path);

	const char *rest = NULL;
	const struct provider_conf *pt = passthrough_target(&snap->cfg, r->path, &rest);

	if (pt) {
		r->passthrough = 1;
		if (authenticate(w, r, &who) == 0)
			handle_passthrough(w, r, snap, &who, req_id, pt, rest);
	} else if (pl >= 7 && !strcmp(r->path + pl - 7, "/health")) {
		if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
			method_not_allowed(r, "GET");
		else
			handle_health(w, r, snap);
	} else if (!strcmp(p, "chat/completions")) {
		if (strcmp(r->method, "POST"))
			method_not_allowed(r, "POST");
		else if (authenticate(w, r, &who) == 0)
			handle_chat(w, r, snap, &who, req_id);
	} else if (!strcmp(p, "messages")) {
		r->anthropic_errors = 1;
		if (strcmp(r->method, "POST"))
			method_not_allowed(r, "POST");
		else if (authenticate(w, r, &who) == 0)
			handle_messages(w, r, snap, &who, req_id);
	} else if (!strcmp(p, "embeddings") || !strcmp(p, "images/generations")) {
		if (strcmp(r->method, "POST"))
			method_not_allowed(r, "POST");
		else if (authenticate(w, r, &who) == 0)
			handle_openai_endpoint(w, r, snap, &who, req_id, p[0] == 'e' ? "/embeddings" : "/images/generations",
					       p[0] == 'e' ? "embeddings" : "images");
	} else if (!strcmp(p, "models") || !strncmp(p, "models/", 7)) {
		if (strcmp(r->method, "GET"))
			method_not_allowed(r, "GET");
		else if (authenticate(w, r, &who) == 0)
			handle_models(r, snap, p[6] == '/' ? p + 7 : NULL);
	} else {
		oai_error(r, 404, "invalid_request_error", "unknown_url", NULL, NULL,
			  "Unknown request URL: %s %.200s. Please check the URL for typos.", r->method, r->path);
	}
	runtime_put(w->gw, snap);
}
