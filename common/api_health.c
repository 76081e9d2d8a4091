/* api_health.c — per-route health: GET /health (the gateway as a whole,
 * api_info.c) and GET {route}/health for each route registered below
 * (/v1/chat/health, ...): what the route depends on, and whether it can be
 * used now. 200 when it can, 503 when it cannot (a balancer may take that
 * route's instance out), both with the JSON. */
#include "autoconf.h"
#include "api.h"
#include "durable.h"
#include "oai.h"
#include "pool.h"
#include "provider.h"
#include "settings.h"
#include <stdio.h>
#include <string.h>

void api_health_dep(cJSON *deps, const char *name, int ok, const char *detail)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddBoolToObject(d, "ok", ok);
	if (detail)
		cJSON_AddStringToObject(d, "detail", detail);
	cJSON_AddItemToArray(deps, d);
}

/* Providers with a key, and of those the ones with a key not cooling nor
 * blocked now. */
static void count_providers(struct runtime *snap, int *usable, int *ready)
{
	int64_t now = pool_now_ms();
	*usable = *ready = 0;
	for (size_t i = 0; i < snap->cfg.nproviders; i++) {
		if (!provider_usable(&snap->cfg.providers[i]))
			continue;
		(*usable)++;
		struct pool *p = &snap->pools[i];
		int any = 0;
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n && !any; k++)
			any = !p->keys[k].blocked && p->keys[k].cool_until_ms <= now;
		pthread_mutex_unlock(&p->mu);
		*ready += any;
	}
}

int api_health_relayed(const struct api_call *call, cJSON *deps)
{
	struct gateway *gw = call->w->gw;
	char d[128];
	int keys = gw->auth.n > 0 || call->snap->cfg.nauth_keys > 0;
	api_health_dep(deps, "gateway_keys", keys, keys ? "gateway keys exist" : "no gateway key: create one (llmgate-keys create)");
	int usable, ready;
	count_providers(call->snap, &usable, &ready);
	snprintf(d, sizeof(d), "%d provider(s) with a key, %d with a key usable now", usable, ready);
	api_health_dep(deps, "upstream_providers", ready > 0, d);
	unsigned bits = health_bits(&gw->health);
	int store = !(bits & (HEALTH_USAGE_STORE | HEALTH_SPOOL_FULL));
	api_health_dep(deps, "usage_store", store,
		       store ? "usage records can be written" : "usage records cannot be written: requests are refused");
	api_health_dep(deps, "settings_store", !(bits & HEALTH_STORE_UNREADABLE),
		       bits & HEALTH_STORE_UNREADABLE ? "state.db cannot be read: the settings read before stay in use"
						      : "state.db readable");
	return keys && ready > 0 && store;
}

/* The knowledge bases (/v1/files, /v1/vector_stores, retrieval in chats):
 * what a relayed route needs, and an embedding model ([rag] model,
 * RAG_MODEL) the gateway can route. */
static int health_rag(const struct api_call *call, cJSON *deps)
{
	int ok = api_health_relayed(call, deps);
	const char *m = call->snap->cfg.rag_model;
	struct route rt;
	int routed = m && *m && provider_resolve(&call->snap->cfg, m, &rt) == 0 && provider_usable(rt.t[0].prov);
	char d[SETTINGS_MODEL_LEN + 64];
	if (!m || !*m)
		snprintf(d, sizeof(d), "no embedding model: set [rag] model (RAG_MODEL)");
	else
		snprintf(d, sizeof(d), "%s %s", m, routed ? "routes to a provider with a key" : "routes to no provider with a key");
	api_health_dep(deps, "embedding_model", routed, d);
	return ok && routed;
}

/* The MCP endpoint (/mcp, /sse): enabled ([mcp] enabled), and what a
 * relayed route needs (its ask_model tool is a chat). */
static int health_mcp(const struct api_call *call, cJSON *deps)
{
	int on = call->snap->cfg.mcp_enabled;
	api_health_dep(deps, "mcp_enabled", on, on ? "[mcp] enabled" : "[mcp] enabled = false: /mcp and /sse answer 404");
	return api_health_relayed(call, deps) && on;
}

/* The routes with a health entry of their own: {name}/health, the name as
 * its path is written after the mount and "/v1/" ("chat" for
 * /v1/chat/health, "mcp" for /mcp/health). A front-end adds a line here. */
static const struct api_health_route {
	const char *name;
	const char *route;      /* what the entry is about, shown */
	int (*check)(const struct api_call *call, cJSON *deps);
} health_routes[] = {
	{ "chat", "/v1/chat/completions", api_health_relayed },
	{ "rag", "/v1/vector_stores", health_rag },
	{ "mcp", "/mcp", health_mcp },
};

void api_health_handle(const struct api_call *call)
{
	const char *p = call->path;
	size_t n = strlen(p);
	if (n >= 6 && !strcmp(p + n - 6, "health"))
		n -= 6;
	while (n && p[n - 1] == '/')
		n--;
	if (!n) {
		api_info_health(call);
		return;
	}
	for (size_t i = 0; i < sizeof(health_routes) / sizeof(health_routes[0]); i++) {
		const struct api_health_route *h = &health_routes[i];
		if (strlen(h->name) != n || strncmp(h->name, p, n))
			continue;
		cJSON *root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "route", h->route);
		cJSON *deps = cJSON_CreateArray();
		int ok = h->check(call, deps);
		cJSON_AddStringToObject(root, "status", ok ? "ok" : "unusable");
		cJSON_AddBoolToObject(root, "usable", ok);
		cJSON_AddItemToObject(root, "depends_on", deps);
		api_respond_json(call->r, ok ? 200 : 503, root);
		cJSON_Delete(root);
		return;
	}
	oai_error(call->r, 404, "invalid_request_error", "unknown_url", NULL, NULL,
		  "No health entry for %.*s: try /health or /v1/chat/health.", (int)n, p);
}
