/* oai.h — OpenAI-dialect responses: errors and small JSON answers. */
#ifndef LLMGATE_OAI_H
#define LLMGATE_OAI_H
#include "http.h"

/* Send {"error":{"message","type","param","code"}} with status. param and
 * code may be NULL (sent as null). extra: further header lines or NULL.
 * The message is scrubbed of secrets. In Anthropic's or Gemini's shape
 * when r->anthropic_errors or r->gemini_errors says so. */
void oai_error(struct http_req *r, int status, const char *type, const char *code,
	       const char *param, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* The error "type" OpenAI uses for a status. */
const char *oai_error_type(int status);
#endif
