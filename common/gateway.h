/* gateway.h — the router: process state (config and key pool snapshots, spool, quota, cache), workers, and the entry point of every request. */
#ifndef LLMGATE_GATEWAY_H
#define LLMGATE_GATEWAY_H
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "health.h"
#include "http.h"
#include "pool.h"
#include "quota.h"
#include "spool.h"
#include "upstream.h"
#include <stdint.h>

struct state_redis;
struct pool_redis;

/* What routing needs, as one immutable snapshot: the config (file,
 * environment, state.db settings) and the key pools built from it. Rebuilt
 * when state.db or the config file changes; requests hold a reference. */
struct runtime {
	struct config cfg;
	struct pool *pools;      /* parallel to cfg.providers */
	int refs;
};

struct ratelimit;
struct mcp_sessions;

struct gateway {
	char *config_path;       /* as given, or NULL */
	struct config cfg;       /* as at start: process-wide settings */
	struct auth auth;
	struct runtime *rt;      /* current snapshot (rt_mu) */
	pthread_mutex_t rt_mu;
	struct timespec state_mtime, conf_mtime;
	ino_t state_ino;
	int state_failing;       /* state.db could not be read at the last change (logged) */
	int64_t next_publish_ms;
	struct spool spool;      /* usage records */
	int spool_ok;
	long long spool_backlog; /* unsettled spool bytes, as last measured (durable.c) */
	int64_t next_measure_ms;
	struct health health;    /* why /health says degraded */
	struct quota quota;
	struct redis *redis;     /* the fleet's shared state; NULL: this node alone */
	struct state_redis *shared_recs;  /* state.db's keys shared with the fleet (with redis) */
	struct pool_redis *shared_pools;  /* upstream keys' cool-downs shared with the fleet */
	struct cache *cache;     /* NULL: no response cache */
	int64_t started_ms;
	uint32_t boot_id;        /* random per process: makes request ids unique */
	struct ratelimit *app_rates;   /* open prompt apps' per-client windows */
	int64_t next_app_trim_ms;      /* the app logs' retention, next due */
	struct mcp_sessions *mcp;      /* MCP sessions of this process */
};

struct worker {
	struct gateway *gw;
	struct upstream_conns *conns;  /* keeps upstream connections alive */
	unsigned idx;
	unsigned long seq;
};

/* Load config (path NULL: LLMGATE_CONFIG or the default), keys, pools.
 * -1 with a one-line reason in err (also when state.db exists but cannot
 * be read whole). */
int gateway_init(struct gateway *gw, const char *config_path, char *err, size_t errlen);
void gateway_free(struct gateway *gw);
/* On SIGTERM, after the requests in flight are done: write what usage is
 * still kept in memory (or log loudly what could not be), close the spool. */
void gateway_shutdown(struct gateway *gw);
/* Periodic work (call a few times a second): close the usage segment when
 * it is due, so that settle can take it; rebuild the runtime snapshot when
 * state.db or the config file changed (keeping the last good one when
 * state.db cannot be read); reload the gateway keys (auth_refresh);
 * publish key pool state. */
void gateway_tick(struct gateway *gw);
void worker_init(struct worker *w, struct gateway *gw, unsigned idx);
void worker_free(struct worker *w);
/* Answer one request completely (reads its body, writes the response). */
void gateway_handle(struct worker *w, struct http_req *r);
/* The gateway key the request presents (Authorization: Bearer, x-api-key):
 * 1 and *who when it is valid, 0 when none is presented, -1 when it is not
 * one of ours (revoked, expired, unknown). Answers nothing: for the
 * front-ends that check keys themselves, in their own format. */
int gateway_key_lookup(struct worker *w, struct http_req *r, struct auth_entry *who);
/* The current snapshot, referenced (release with runtime_put). */
struct runtime *runtime_get(struct gateway *gw);
void runtime_put(struct gateway *gw, struct runtime *rt);
#endif
