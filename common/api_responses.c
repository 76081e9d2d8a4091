/* api_responses.c — the OpenAI Responses API front-end: POST /v1/responses
 * (passed on as it is to a provider that serves the Responses API itself,
 * native(); otherwise the request is read strictly, turned into the internal chat
 * form (responses.c) and run by the chat engine (api_chat_run_responses),
 * which answers in the Responses form, streamed or not, for any provider),
 * and the stored responses (rstore.h): a completed response is kept unless
 * the request says "store": false, previous_response_id continues a kept
 * one, and GET / DELETE /v1/responses/{id} and GET
 * /v1/responses/{id}/input_items read and delete them, each only for the
 * gateway key that made it. Errors are OpenAI's shape. */
#include "autoconf.h"
#include "api.h"
#include "auth.h"
#include "log.h"
#include "oai.h"
#include "provider.h"
#include "reqbody.h"
#include "responses.h"
#include "rstore.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* What a completed response is kept with. */
struct keep_ctx {
	const struct api_call *call;
	const cJSON *input;        /* the input items (previous turns included) */
	const char *instructions;  /* or NULL */
};

static long ttl_s(const struct api_call *call)
{
	return call->snap->cfg.responses_ttl_days * 86400L;
}

static void keep_response(void *user, const char *response_json)
{
	struct keep_ctx *k = user;
	cJSON *resp = cJSON_Parse(response_json);
	if (!resp || !cJSON_IsString(GET(resp, "id")) ||
	    rstore_put(k->call->snap->cfg.state_dir, k->call->who->id, resp, k->input, k->instructions,
		       ttl_s(k->call)) != 0)
		log_warn("%s responses: the response could not be stored: %s", k->call->req_id,
			 resp ? store_strerror(errno) : "not JSON");
	cJSON_Delete(resp);
}

/* The request's input as a list of items (new array): a string is one
 * user message. NULL when it is neither (responses_request_to_oai says
 * why). */
static cJSON *input_items(const cJSON *rreq)
{
	const cJSON *in = GET(rreq, "input");
	if (cJSON_IsArray(in))
		return cJSON_Duplicate(in, 1);
	if (!cJSON_IsString(in))
		return NULL;
	cJSON *items = cJSON_CreateArray(), *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", "user");
	cJSON *part = cJSON_CreateObject();
	cJSON_AddStringToObject(part, "type", "input_text");
	cJSON_AddStringToObject(part, "text", in->valuestring);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "content"), part);
	cJSON_AddItemToArray(items, m);
	return items;
}

/* An id as it may appear in a path and a message: [A-Za-z0-9_-], 1..159. */
static int id_ok(const char *id, size_t n)
{
	if (n == 0 || n >= RESPONSES_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", id[i]) || !id[i])
			return 0;
	return 1;
}

static void not_found(const struct api_call *call, const char *id, const char *param)
{
	oai_error(call->r, 404, "invalid_request_error", NULL, param, NULL, "Response with id '%s' not found.",
		  id_ok(id, strlen(id)) ? id : "(invalid)");
}

/* previous_response_id: the stored turns go before the request's input in
 * rreq (changed in place). 0, or -1 when answered (404). */
static int continue_previous(const struct api_call *call, cJSON *rreq)
{
	const cJSON *prev = GET(rreq, "previous_response_id");
	if (!prev || cJSON_IsNull(prev))
		return 0;
	cJSON *rec = cJSON_IsString(prev) && id_ok(prev->valuestring, strlen(prev->valuestring)) ?
		rstore_get(call->snap->cfg.state_dir, call->who->id, prev->valuestring, ttl_s(call)) : NULL;
	if (!rec) {
		not_found(call, cJSON_IsString(prev) ? prev->valuestring : "", "previous_response_id");
		return -1;
	}
	cJSON *all = cJSON_DetachItemFromObjectCaseSensitive(rec, "input");
	if (!cJSON_IsArray(all)) {
		cJSON_Delete(all);
		all = cJSON_CreateArray();
	}
	cJSON *out = GET(GET(rec, "response"), "output"), *it;
	cJSON_ArrayForEach(it, out)
		cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
	cJSON *now = input_items(rreq);
	if (now) {
		while (cJSON_GetArraySize(now) > 0)
			cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(now, 0));
		cJSON_Delete(now);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(rreq, "input", all);
	cJSON_DeleteItemFromObjectCaseSensitive(rreq, "previous_response_id");
	cJSON_Delete(rec);
	return 0;
}

/* Does the request search the gateway's knowledge bases (a file_search
 * tool, or X-Llmgate-Vector-Stores)? Then it is translated, whatever the
 * provider: the stores are the gateway's (kb_retrieve.c). */
static int asks_kb(const struct api_call *call, const cJSON *rreq)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, GET(rreq, "tools")) {
		const cJSON *ty = GET(t, "type");
		if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "file_search"))
			return 1;
	}
	return http_header(call->r, "X-Llmgate-Vector-Stores") != NULL;
}

/* A route whose first target serves the Responses API itself (a provider
 * with responses = native: the built-in openai one unless configured
 * otherwise): the body as the client sent it (only the model replaced by
 * the upstream's name) goes to the upstream's /responses and the answer
 * comes back as it was sent, usage read from it (response.completed on a
 * stream); targets that do not serve it are left out. Nothing is kept here:
 * store and previous_response_id are the upstream's. 1 when the request
 * was answered here, 0 when it is to be translated. */
static int native(const struct api_call *call, cJSON *rreq)
{
	struct http_req *r = call->r;
	const cJSON *m = GET(rreq, "model");
	if (!cJSON_IsString(m) || asks_kb(call, rreq))
		return 0;   /* the translator's checks answer; the gateway's knowledge bases are searched here */
	struct route *rt = xmalloc(sizeof(*rt));   /* not on the stack: see api_chat_run */
	int done = 0;
	if (provider_resolve(&call->snap->cfg, m->valuestring, rt) == 0 && rt->n && rt->t[0].prov->responses_native) {
		const char *model;
		done = 1;
		if (api_request_model(r, rreq, &model) == 0) {
			size_t k = 0;
			for (size_t i = 0; i < rt->n; i++)
				if (rt->t[i].prov->responses_native)
					rt->t[k++] = rt->t[i];
			rt->n = k;
			char requested[MODEL_NAME_MAX];
			memcpy(requested, model, strlen(model) + 1);   /* fits: api_request_model */
			char *body = reqbody_forward(rreq, r->body.data, r->body.len, rt->t[0].model, 0);
			struct api_proxy_spec spec = { .endpoint = "responses", .suffix = "/responses", .body = body,
						       .body_len = strlen(body) };
			api_proxy_run(call, rt, requested, &spec);
			free(body);
		}
	}
	free(rt);
	return done;
}

void api_responses_handle(const struct api_call *call)
{
	char err[256];
	cJSON *rreq = api_read_json_body(call->r, &call->snap->cfg);
	if (!rreq)
		return;
	if (cJSON_IsObject(rreq) && native(call, rreq)) {
		cJSON_Delete(rreq);
		return;
	}
	if (!cJSON_IsObject(rreq) || continue_previous(call, rreq) == 0) {
		cJSON *kinds = NULL;
		cJSON *req = responses_request_to_oai(rreq, &kinds, err, sizeof(err));
		if (!req) {
			oai_error(call->r, 400, "invalid_request_error", NULL, NULL, NULL, "%s", err);
		} else {
			const cJSON *store = GET(rreq, "store"), *ins = GET(rreq, "instructions");
			cJSON *items = input_items(rreq);
			struct keep_ctx k = { call, items, cJSON_IsString(ins) ? ins->valuestring : NULL };
			struct api_responses_keep keep = { keep_response, &k };
			api_chat_run_responses(call, req, kinds, cJSON_IsFalse(store) || !call->who ? NULL : &keep);
			cJSON_Delete(items);
		}
		cJSON_Delete(kinds);
		cJSON_Delete(req);
	}
	cJSON_Delete(rreq);
}

/* GET /v1/responses/{id}/input_items: the list, newest first unless
 * ?order=asc. */
static void send_input_items(const struct api_call *call, cJSON *rec)
{
	cJSON *items = GET(rec, "input"), *data = cJSON_CreateArray(), *it;
	int asc = strstr(call->r->query, "order=asc") != NULL;
	cJSON_ArrayForEach(it, items) {
		cJSON *c = cJSON_Duplicate(it, 1);
		if (asc || !cJSON_GetArraySize(data))
			cJSON_AddItemToArray(data, c);
		else
			cJSON_InsertItemInArray(data, 0, c);
	}
	cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "object", "list");
	cJSON_AddItemToObject(list, "data", data);
	int n = cJSON_GetArraySize(data);
	const cJSON *first = n ? GET(cJSON_GetArrayItem(data, 0), "id") : NULL;
	const cJSON *last = n ? GET(cJSON_GetArrayItem(data, n - 1), "id") : NULL;
	cJSON_AddItemToObject(list, "first_id", cJSON_IsString(first) ? cJSON_CreateString(first->valuestring) : cJSON_CreateNull());
	cJSON_AddItemToObject(list, "last_id", cJSON_IsString(last) ? cJSON_CreateString(last->valuestring) : cJSON_CreateNull());
	cJSON_AddFalseToObject(list, "has_more");
	char *txt = cJSON_PrintUnformatted(list);
	http_respond(call->r, 200, "application/json", NULL, txt, strlen(txt));
	free(txt);
	cJSON_Delete(list);
}

void api_responses_stored(const struct api_call *call)
{
	const char *id = call->path + strlen("responses/");
	const char *slash = strchr(id, '/');
	size_t n = slash ? (size_t)(slash - id) : strlen(id);
	int items = slash && !strcmp(slash, "/input_items");
	const char *m = call->r->method;
	char idbuf[RESPONSES_ID_MAX];
	if (strncmp(call->path, "responses/", 10) || !id_ok(id, n) || (slash && !items) || !call->who) {
		oai_error(call->r, 404, "invalid_request_error", NULL, NULL, NULL, "Unknown stored response path.");
		return;
	}
	memcpy(idbuf, id, n);
	idbuf[n] = 0;
	int del = !strcmp(m, "DELETE");
	if (strcmp(m, "GET") && (!del || items)) {
		oai_error(call->r, 405, "invalid_request_error", NULL, NULL, items ? "Allow: GET\r\n" : "Allow: GET, DELETE\r\n",
			  "Method %.16s is not allowed here.", m);
		return;
	}
	const char *dir = call->snap->cfg.state_dir;
	if (del) {
		if (rstore_delete(dir, call->who->id, idbuf) != 0) {
			not_found(call, idbuf, NULL);
			return;
		}
		char body[RESPONSES_ID_MAX + 64];
		int len = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"object\":\"response\",\"deleted\":true}", idbuf);
		http_respond(call->r, 200, "application/json", NULL, body, (size_t)len);
		return;
	}
	cJSON *rec = rstore_get(dir, call->who->id, idbuf, ttl_s(call));
	if (!rec) {
		not_found(call, idbuf, NULL);
		return;
	}
	if (items) {
		send_input_items(call, rec);
	} else {
		char *txt = cJSON_PrintUnformatted(GET(rec, "response"));
		http_respond(call->r, 200, "application/json", NULL, txt, strlen(txt));
		free(txt);
	}
	cJSON_Delete(rec);
}
