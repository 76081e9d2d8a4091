/* api_gemini.c — Gemini's API as a client dialect (gemini-cli, the
 * @google/genai SDK): POST /v1beta/models/{model}:generateContent and
 * :streamGenerateContent go through the chat engine to any provider (the
 * request turned into the internal form by gemini_in.c; to a Gemini
 * upstream the client's own body goes, and its answer comes back as it
 * is); :countTokens is forwarded to a Gemini target or estimated; GET
 * /v1beta/models[/{model}] lists what the gateway routes. Errors are
 * Gemini's shape (the routes table sets r->gemini_errors). */
#include "autoconf.h"
#include "api.h"
#include "gemini_in.h"
#include "log.h"
#include "oai.h"
#include "quota.h"
#include "reasoning.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* call->path "models[/NAME[:VERB]]": the model into model[MODEL_NAME_MAX]
 * ("" for the list) and *verb (NULL: none). 0, or -1 when the name is
 * not one the gateway takes (empty, too long, %-escaped, a '/'). */
static int parse_path(const char *path, char *model, const char **verb)
{
	*verb = NULL;
	model[0] = '\0';
	if (!path[6])
		return 0;
	const char *name = path + 7;
	size_t n = strcspn(name, ":");
	if (!n || n >= MODEL_NAME_MAX || memchr(name, '%', n) || memchr(name, '/', n))
		return -1;
	memcpy(model, name, n);
	model[n] = '\0';
	if (name[n] == ':')
		*verb = name + n + 1;
	return 0;
}

/* Does the query hold alt=sse? */
static int alt_sse(const char *q)
{
	while (q && *q) {
		size_t n = strcspn(q, "&");
		if (n == 7 && !strncmp(q, "alt=sse", 7))
			return 1;
		q += n;
		if (*q)
			q++;
	}
	return 0;
}

static void not_found(struct http_req *r, const char *model)
{
	oai_error(r, 404, NULL, "model_not_found", NULL, NULL,
		  "models/%.200s is not found for API version v1beta, or is not supported for generateContent.", model);
}

/* :generateContent and :streamGenerateContent. */
static void generate(const struct api_call *call, const char *model, int stream)
{
	struct http_req *r = call->r;
	char err[256];
	cJSON *greq = api_read_json_body(r, &call->snap->cfg);
	if (!greq)
		return;
	cJSON *req = gemini_in_request_to_oai(greq, model, stream, err, sizeof(err));
	if (!req) {
		oai_error(r, 400, NULL, "invalid_argument", NULL, NULL, "%s", err);
	} else {
		struct reasoning rs;
		reasoning_read(req, &rs);
		struct api_gemini_opts g = { .array = stream && !alt_sse(r->query), .thoughts = rs.include == 1 };
		api_chat_run_gemini(call, req, &g);
	}
	cJSON_Delete(req);
	cJSON_Delete(greq);
}

/* :countTokens for a model no Gemini target serves: the estimate, sent
 * nowhere, recorded nowhere (one log line). */
static void count_estimate(const struct api_call *call, const cJSON *greq, const char *model)
{
	struct quota_refusal why;
	if (quota_check_model(call->who, model, &why) != QUOTA_OK) {
		oai_error(call->r, 403, NULL, why.code, NULL, NULL, "%s", why.message);
		return;
	}
	long n = gemini_in_estimate(greq);
	log_info("%s key=%s countTokens model=%s estimated totalTokens=%ld (nothing sent, not recorded)", call->req_id,
		 call->who->id, model, n);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "totalTokens", (double)n);
	api_respond_json(call->r, 200, j);
	cJSON_Delete(j);
}

/* :countTokens: to the route's first Gemini target (the model is in its
 * URL; a generateContentRequest's own model is set to it), uncharged. */
static void count_tokens(const struct api_call *call, const char *model)
{
	struct http_req *r = call->r;
	struct route *rt = xmalloc(sizeof(*rt));   /* not on the stack: see api_chat_run */
	char *body = NULL, *suffix = NULL;
	cJSON *greq = api_read_json_body(r, &call->snap->cfg);
	if (!greq)
		goto out;
	if (provider_resolve(&call->snap->cfg, model, rt) != 0) {
		not_found(r, model);
		goto out;
	}
	size_t i = 0;
	while (i < rt->n && rt->t[i].prov->dialect != DIALECT_GEMINI)
		i++;
	if (i == rt->n) {
		count_estimate(call, greq, model);
		goto out;
	}
	rt->t[0] = rt->t[i];
	rt->n = 1;
	cJSON *g = cJSON_GetObjectItemCaseSensitive(greq, "generateContentRequest");
	if (cJSON_IsObject(g) && cJSON_GetObjectItemCaseSensitive(g, "model")) {
		char *m = xasprintf("models/%s", rt->t[0].model);
		cJSON_ReplaceItemInObjectCaseSensitive(g, "model", cJSON_CreateString(m));
		free(m);
		body = cJSON_PrintUnformatted(greq);
	} else {
		body = xstrndup(r->body.data, r->body.len);
	}
	suffix = xasprintf("/models/%s:countTokens", rt->t[0].model);
	struct api_proxy_spec spec = { .endpoint = "count_tokens", .suffix = suffix, .body = body,
				       .body_len = strlen(body), .uncharged = 1 };
	api_proxy_run(call, rt, model, &spec);
out:
	free(suffix);
	free(body);
	free(rt);
	cJSON_Delete(greq);
}

static void add_model(const char *model, const char *owner, void *user)
{
	cJSON *m = cJSON_CreateObject();
	char *name = xasprintf("models/%s", model);
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "displayName", model);
	char *desc = xasprintf("%s, served through llmgate by %s", model, owner);
	cJSON_AddStringToObject(m, "description", desc);
	cJSON *methods = cJSON_AddArrayToObject(m, "supportedGenerationMethods");
	cJSON_AddItemToArray(methods, cJSON_CreateString("generateContent"));
	cJSON_AddItemToArray(methods, cJSON_CreateString("streamGenerateContent"));
	cJSON_AddItemToArray(methods, cJSON_CreateString("countTokens"));
	cJSON_AddItemToArray(user, m);
	free(name);
	free(desc);
}

/* GET models (every model the gateway routes) or models/{model}. */
static void models(const struct api_call *call, const char *model)
{
	struct runtime *snap = call->snap;
	cJSON *list = cJSON_CreateArray();
	if (!model[0]) {
		provider_each_model(&snap->cfg, add_model, list);
		cJSON *root = cJSON_CreateObject();
		cJSON_AddItemToObject(root, "models", list);
		api_respond_json(call->r, 200, root);
		cJSON_Delete(root);
		return;
	}
	struct route *rt = xmalloc(sizeof(*rt));
	if (provider_resolve(&snap->cfg, model, rt) == 0) {
		add_model(model, rt->t[0].prov->name, list);
		api_respond_json(call->r, 200, cJSON_GetArrayItem(list, 0));
	} else {
		not_found(call->r, model);
	}
	free(rt);
	cJSON_Delete(list);
}

static void wrong_method(struct http_req *r, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	oai_error(r, 405, NULL, "method_not_allowed", NULL, extra, "Method %s is not allowed here; use %s.", r->method,
		  allow);
}

void api_gemini_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	char model[MODEL_NAME_MAX];
	const char *verb;
	if (parse_path(call->path, model, &verb) != 0) {
		oai_error(r, 400, NULL, "invalid_argument", NULL, NULL,
			  "The model name in the path must be written plainly, without '/' or %%-escapes, and at most %d bytes.",
			  MODEL_NAME_MAX - 1);
		return;
	}
	if (!verb) {
		if (strcmp(r->method, "GET"))
			wrong_method(r, "GET");
		else
			models(call, model);
		return;
	}
	int gen = !strcmp(verb, "generateContent"), sgen = !strcmp(verb, "streamGenerateContent");
	if (!gen && !sgen && strcmp(verb, "countTokens")) {
		oai_error(r, 404, NULL, "unknown_url", NULL, NULL,
			  "The method '%.60s' is not served by this gateway (generateContent, streamGenerateContent and "
			  "countTokens are).", verb);
		return;
	}
	if (strcmp(r->method, "POST")) {
		wrong_method(r, "POST");
		return;
	}
	if (gen || sgen)
		generate(call, model, sgen);
	else
		count_tokens(call, model);
}
