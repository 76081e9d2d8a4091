/* api.c — what the front-ends share: the JSON body, its model, a JSON
 * answer (see api.h). */
#include "autoconf.h"
#include "api.h"
#include "anthropic.h"
#include "oai.h"
#include "reqbody.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_respond_json(struct http_req *r, int status, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	http_respond(r, status, "application/json", NULL, s, strlen(s));
	free(s);
}


int api_read_body(struct http_req *r, const struct config *c)
{
	int rb = http_read_body(r, c->max_body);
	if (rb == -1) {
		oai_error(r, 413, "invalid_request_error", "request_too_large", NULL, NULL,
			  "Request body is larger than this gateway accepts (%zu bytes).", c->max_body);
		return -1;
	} else if (rb == -3) {
		oai_error(r, 408, "invalid_request_error", "request_timeout", NULL, NULL,
			  "The request body did not arrive within %d ms.", c->body_timeout_ms);
		return -1;
	} else if (rb != 0) {
		oai_error(r, 400, "invalid_request_error", "invalid_body", NULL, NULL,
			  "The request body could not be read completely.");
		return -1;
	}
	return 0;
}

cJSON *api_read_json_body(struct http_req *r, const struct config *c)
{
	if (api_read_body(r, c) != 0)
		return NULL;
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

int api_request_model(struct http_req *r, const cJSON *req, const char **model)
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

int api_header_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

size_t api_anthropic_headers(const struct http_req *r, struct api_anthropic_hdrs *h, int fallback,
			     const char **hdrs, size_t n)
{
	const char *v;
	if ((v = http_header(r, "anthropic-version")) && api_header_value_ok(v) &&
	    snprintf(h->version, sizeof(h->version), "anthropic-version: %s", v) < (int)sizeof(h->version))
		hdrs[n++] = h->version;
	else if (fallback)
		hdrs[n++] = "anthropic-version: " ANTHROPIC_VERSION;
	if ((v = http_header(r, "anthropic-beta")) && api_header_value_ok(v) &&
	    snprintf(h->beta, sizeof(h->beta), "anthropic-beta: %s", v) < (int)sizeof(h->beta))
		hdrs[n++] = h->beta;
	return n;
}

int api_chat_internal(const struct api_call *call, const struct auth_entry *who, const char *endpoint, cJSON *req,
		      struct buf *out)
{
	char *text = cJSON_PrintUnformatted(req);
	struct http_req inner;
	http_req_internal(&inner, "POST", text, strlen(text), out);
	free(text);
	/* its own id, for its usage record: "<request id>.<n>" */
	char id[sizeof(inner.request_id)];
	snprintf(id, sizeof(id), "%.*s.%u", (int)sizeof(id) - 12, call->req_id, ++call->r->inner_seq);
	memcpy(inner.request_id, id, sizeof(inner.request_id));
	struct api_call c2 = *call;
	c2.r = &inner;
	c2.req_id = id;
	c2.internal = 1;
	c2.who = who;
	c2.endpoint = endpoint;
	api_chat_run(&c2, req, NULL, DIALECT_OPENAI);
	int status = inner.status ? inner.status : 500;
	if (inner.recorded)
		call->r->recorded = 1;
	if (inner.reason[0])
		memcpy(call->r->reason, inner.reason, sizeof(call->r->reason));
	http_req_free(&inner);
	return status;
}

char *api_chat_answer_text(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	const cJSON *ch = j ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0) : NULL;
	const cJSON *m = ch ? cJSON_GetObjectItemCaseSensitive(ch, "message") : NULL;
	const cJSON *c = m ? cJSON_GetObjectItemCaseSensitive(m, "content") : NULL;
	char *text = cJSON_IsString(c) ? xstrdup(c->valuestring) : NULL;
	cJSON_Delete(j);
	return text;
}

char *api_error_message(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
	char *text = xstrdup(cJSON_IsString(m) ? m->valuestring : "the request failed");
	cJSON_Delete(j);
	return text;
}
