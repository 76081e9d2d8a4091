/* oai.c — OpenAI-dialect responses: errors and small JSON answers. */
#include "autoconf.h"
#include "oai.h"
#include "anthropic.h"
#include "gemini.h"
#include "log.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OAI_MSG_MAX 1024

const char *oai_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "invalid_request_error";
	case 429: return "rate_limit_error";
	case 500: return "server_error";
	case 502: case 503: case 504: return "upstream_error";
	default: return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

/* The error body (taken) as the answer, or inside a stream (the head went
 * out already) as an SSE event: pre, body, post. */
static void send_error(struct http_req *r, int status, const char *extra, char *body, const char *pre, const char *post)
{
	if (r->headers_sent) {
		http_write(r, pre, strlen(pre));
		http_write(r, body, strlen(body));
		http_write(r, post, strlen(post));
		http_flush(r);
	} else {
		http_respond(r, status, "application/json", extra, body, strlen(body));
	}
	free(body);
}

void oai_error(struct http_req *r, int status, const char *type, const char *code,
	       const char *param, const char *extra, const char *fmt, ...)
{
	char msg[OAI_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_scrub(msg);
	snprintf(r->reason, sizeof(r->reason), "%s", code ? code : type ? type : oai_error_type(status));
	if (r->gemini_errors) {
		send_error(r, status, extra, gemini_error_json(status, msg), "data: ", "\r\n\r\n");
		return;
	}
	if (r->anthropic_errors) {
		send_error(r, status, extra, anthropic_error_json(anthropic_error_type(status), msg), "event: error\ndata: ", "\n\n");
		return;
	}
	cJSON *root = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "type", type ? type : oai_error_type(status));
	if (param)
		cJSON_AddStringToObject(e, "param", param);
	else
		cJSON_AddNullToObject(e, "param");
	if (code)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	send_error(r, status, extra, cJSON_PrintUnformatted(root), "data: ", "\n\n");
	cJSON_Delete(root);
}
