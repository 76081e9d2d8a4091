/* api_info.c — the information routes: /health (the gateway's and its key
 * pools' state), /v1/models (OpenAI's model list) and /api/compat/models
 * (the same list in the drop-in "provider/model" form), and .../api/hello
 * (the connectivity probe Claude Code makes as it starts). */
#include "autoconf.h"
#include "api.h"
#include "durable.h"
#include "oai.h"
#include "pool.h"
#include "provider.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ /health */

void api_info_health(const struct api_call *call)
{
	struct http_req *r = call->r;
	struct runtime *snap = call->snap;
	struct gateway *gw = call->w->gw;
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
			const char *state = pool_key_json(ko, pk, now);
			if (!strcmp(state, "active"))
				available++;
			cJSON_AddItemToArray(keys, ko);
		}
		pthread_mutex_unlock(&p->mu);
		cJSON_AddNumberToObject(po, "available", available);
		cJSON_AddItemToArray(provs, po);
	}
	api_respond_json(r, 200, root);
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

/* The name the replaced deployments (Cloudflare AI Gateway style) gave a
 * provider in "provider/model"; config_provider takes it back. */
static const char *compat_provider_name(const char *name)
{
	return !strcmp(name, "gemini") ? "google-ai-studio" : name;
}

/* Each listed model of each usable provider as "{provider}/{model}". */
static void add_compat_models(const struct config *c, cJSON *data)
{
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		if (!provider_usable(p))
			continue;
		for (size_t j = 0; j < p->nmodels; j++) {
			char id[CONFIG_NAME_MAX + MODEL_NAME_MAX + 2];
			snprintf(id, sizeof(id), "%s/%s", compat_provider_name(p->name), p->models[j]);
			add_model(id, p->name, data);
		}
	}
}

/* The public model names (state.db public_models) that route, each owned
 * by the provider serving it. */
static void add_public_models(const struct config *c, cJSON *data)
{
	for (size_t i = 0; i < c->npublic_models; i++) {
		struct route rt;
		if (provider_resolve(c, c->public_models[i], &rt) == 0)
			add_model(c->public_models[i], rt.t[0].prov->name, data);
	}
}

/* Each id once, where it first appears (a public name is also a provider's
 * model or an alias). */
static void drop_repeats(cJSON *data)
{
	for (cJSON *m = data->child; m; m = m->next) {
		const char *id = cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring;
		cJSON *n = m->next;
		while (n) {
			cJSON *next = n->next;
			if (!strcmp(cJSON_GetObjectItemCaseSensitive(n, "id")->valuestring, id))
				cJSON_Delete(cJSON_DetachItemViaPointer(data, n));
			n = next;
		}
	}
}

/* A model of the OpenAI list as Anthropic's Models API gives it (new). */
static cJSON *anthropic_model(const cJSON *m)
{
	const char *id = cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring;
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "type", "model");
	cJSON_AddStringToObject(a, "id", id);
	cJSON_AddStringToObject(a, "display_name", id);
	cJSON_AddStringToObject(a, "created_at", "2023-11-14T22:13:20Z");   /* the list's "created" */
	return a;
}

/* The answer to an Anthropic client (it sent anthropic-version: Claude
 * Code's models.list and .retrieve): its list form (has_more, first_id,
 * last_id) or the one model; m is the OpenAI list or one of its models. */
static void anthropic_models(struct http_req *r, const cJSON *m, int one)
{
	cJSON *out;
	if (one) {
		out = anthropic_model(m);
	} else {
		out = cJSON_CreateObject();
		cJSON *data = cJSON_AddArrayToObject(out, "data");
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "data"))
			cJSON_AddItemToArray(data, anthropic_model(it));
		int n = cJSON_GetArraySize(data);
		cJSON_AddFalseToObject(out, "has_more");
		const cJSON *f = n ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, 0), "id") : NULL;
		const cJSON *l = n ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, n - 1), "id") : NULL;
		cJSON_AddItemToObject(out, "first_id", f ? cJSON_CreateString(f->valuestring) : cJSON_CreateNull());
		cJSON_AddItemToObject(out, "last_id", l ? cJSON_CreateString(l->valuestring) : cJSON_CreateNull());
	}
	api_respond_json(r, 200, out);
	cJSON_Delete(out);
}

/* Answer with one model m (or the list when !one), in the client's form. */
static void models_send(struct http_req *r, const cJSON *m, int one)
{
	if (r->anthropic_errors)
		anthropic_models(r, m, one);
	else
		api_respond_json(r, 200, (cJSON *)m);
}

/* GET models[/{model}] (call->path): the list, compat names first when
 * compat, or the one model; in Anthropic's form (and its errors) for a
 * client that sent anthropic-version (r->anthropic_errors, set by the
 * routes table's dispatch). */
static void models_answer(const struct api_call *call, int compat)
{
	struct http_req *r = call->r;
	struct runtime *snap = call->snap;
	const char *which = call->path[6] == '/' ? call->path + 7 : NULL;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "object", "list");
	cJSON *data = cJSON_AddArrayToObject(root, "data");
	if (compat)
		add_compat_models(&snap->cfg, data);
	add_public_models(&snap->cfg, data);
	provider_each_model(&snap->cfg, add_model, data);
	drop_repeats(data);
	if (which) {
		const cJSON *m;
		cJSON_ArrayForEach(m, data) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
			if (!strcmp(id->valuestring, which)) {
				models_send(r, m, 1);
				goto out;
			}
		}
		struct route rt;
		if (provider_resolve(&snap->cfg, which, &rt) == 0) {
			cJSON *one = cJSON_CreateObject();
			add_model(which, rt.t[0].prov->name, one);
			models_send(r, cJSON_GetArrayItem(one, 0), 1);
			cJSON_Delete(one);
			goto out;
		}
		oai_error(r, 404, "invalid_request_error", "model_not_found", "model", NULL,
			  "The model '%s' does not exist or you do not have access to it.", which);
		goto out;
	}
	models_send(r, root, 0);
out:
	cJSON_Delete(root);
}

void api_info_models(const struct api_call *call)
{
	models_answer(call, 0);
}

void api_info_compat_models(const struct api_call *call)
{
	models_answer(call, 1);
}

void api_info_hello(const struct api_call *call)
{
	static const char body[] = "{\"message\":\"hello\"}";
	http_respond(call->r, 200, "application/json", NULL, body, sizeof(body) - 1);
}
