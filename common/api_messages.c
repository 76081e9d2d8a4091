/* api_messages.c — the Anthropic messages front-end (POST /v1/messages):
 * Anthropic's format in and out, any provider behind. The request is read
 * in Anthropic's form, turned into the internal (OpenAI) form and run by
 * the chat engine (api_chat_run) with the client's dialect (to an Anthropic
 * upstream the client's own request goes, with its anthropic-version and
 * anthropic-beta headers; elsewhere fields only Anthropic's betas know are
 * dropped by the translation); errors are
 * Anthropic's shape (the routes table sets r->anthropic_errors). */
#include "autoconf.h"
#include "api.h"
#include "anthropic.h"
#include "log.h"
#include "oai.h"
#include "quota.h"
#include "reqbody.h"
#include "translate.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

void api_messages_handle(const struct api_call *call)
{
	char err[256];
	cJSON *areq = api_read_json_body(call->r, &call->snap->cfg);
	if (!areq)
		return;
	/* system-role messages (Claude Code's environment block) move into
	 * "system", for an Anthropic upstream and the translation alike */
	cJSON *req = anthropic_request_hoist_system(areq, err, sizeof(err)) == 0 ?
		anthropic_request_to_oai(areq, NULL, err, sizeof(err)) : NULL;
	if (!req)
		oai_error(call->r, 400, "invalid_request_error", NULL, NULL, NULL, "%s", err);
	else
		api_chat_run(call, req, areq, DIALECT_ANTHROPIC);
	cJSON_Delete(req);
	cJSON_Delete(areq);
}

long api_messages_estimate(const cJSON *req)
{
	static const char *const members[] = { "system", "messages", "tools" };
	size_t n = 0;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		n += tr_string_bytes(cJSON_GetObjectItemCaseSensitive(req, members[i]));
	return (long)((n + 3) / 4);
}

/* Answer a count for a model no Anthropic target serves: the estimate. */
static void count_estimate(const struct api_call *call, const cJSON *areq, const char *model)
{
	struct quota_refusal why;
	if (quota_check_model(call->who, model, &why) != QUOTA_OK) {
		oai_error(call->r, 403, "permission_error", why.code, "model", NULL, "%s", why.message);
		return;
	}
	long n = api_messages_estimate(areq);
	log_info("%s key=%s count_tokens model=%s estimated input_tokens=%ld (nothing sent, not recorded)",
		 call->req_id, call->who->id, model, n);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "input_tokens", (double)n);
	api_respond_json(call->r, 200, j);
	cJSON_Delete(j);
}

void api_messages_count_tokens(const struct api_call *call)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	char err[256];
	char *body = NULL;
	struct route *rt = xmalloc(sizeof(*rt));   /* not on the stack: see api_chat_run */
	const char *model;
	cJSON *areq = api_read_json_body(r, c);
	if (!areq)
		goto out;
	if (api_request_model(r, areq, &model) != 0)
		goto out;
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(areq, "messages"))) {
		oai_error(r, 400, "invalid_request_error", NULL, NULL, NULL, "messages: must be an array");
		goto out;
	}
	if (provider_resolve(c, model, rt) != 0) {
		oai_error(r, 404, "not_found_error", "model_not_found", "model", NULL,
			  "The model '%.200s' does not exist or you do not have access to it.", model);
		goto out;
	}
	size_t usable = 0;   /* the targets that count natively */
	for (size_t i = 0; i < rt->n; i++)
		if (rt->t[i].prov->dialect == DIALECT_ANTHROPIC)
			rt->t[usable++] = rt->t[i];
	rt->n = usable;
	if (!usable) {
		count_estimate(call, areq, model);
		goto out;
	}
	char requested[MODEL_NAME_MAX];
	memcpy(requested, model, strlen(model) + 1);   /* fits: api_request_model */
	if (anthropic_request_hoist_system(areq, err, sizeof(err)) != 0) {
		oai_error(r, 400, "invalid_request_error", NULL, NULL, NULL, "%s", err);
		goto out;
	}
	body = reqbody_forward(areq, NULL, 0, rt->t[0].model, 0);
	struct api_anthropic_hdrs *ah = xmalloc(sizeof(*ah));
	const char *hdrs[3];
	hdrs[api_anthropic_headers(r, ah, 1, hdrs, 0)] = NULL;
	struct api_proxy_spec spec = { .endpoint = "count_tokens", .suffix = "/messages/count_tokens", .body = body,
				       .body_len = strlen(body), .pass_headers = hdrs, .uncharged = 1 };
	api_proxy_run(call, rt, requested, &spec);
	free(ah);
out:
	free(body);
	free(rt);
	cJSON_Delete(areq);
}
