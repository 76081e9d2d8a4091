/* api_responses.c — the OpenAI Responses API front-end (POST /v1/responses):
 * the Responses request is read strictly, turned into the internal chat
 * form (responses.c) and run by the chat engine (api_chat_run_responses),
 * which answers in the Responses form, streamed or not, for any provider.
 * Errors are OpenAI's shape. Stored responses are not kept yet. */
#include "autoconf.h"
#include "api.h"
#include "oai.h"
#include "responses.h"

void api_responses_handle(const struct api_call *call)
{
	char err[256];
	cJSON *rreq = api_read_json_body(call->r, &call->snap->cfg);
	if (!rreq)
		return;
	cJSON *req = responses_request_to_oai(rreq, err, sizeof(err));
	if (!req)
		oai_error(call->r, 400, "invalid_request_error", NULL, NULL, NULL, "%s", err);
	else
		api_chat_run_responses(call, req);
	cJSON_Delete(req);
	cJSON_Delete(rreq);
}
