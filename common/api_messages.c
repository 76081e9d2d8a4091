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
#include "oai.h"

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
