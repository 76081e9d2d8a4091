/* dialect.c — the upstream dialects' ops table (see dialect.h). */
#include "autoconf.h"
#include "dialect.h"
#include "anthropic.h"
#include "gemini.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

static int gemini_key_invalid(int status, const char *body, size_t len)
{
	return status == 400 && gemini_error_key_invalid(body, len);
}

static char *anthropic_error_for(int status, const char *message)
{
	return anthropic_error_json(anthropic_error_type(status), message);
}

static const char *const anthropic_headers[] = { "anthropic-version: " ANTHROPIC_VERSION, NULL };

static const struct dialect_ops ops[] = {
	[DIALECT_OPENAI] = {
		.id = DIALECT_OPENAI, .auth_prefix = "Authorization: Bearer ", .chat_suffix = "/chat/completions",
	},
	[DIALECT_ANTHROPIC] = {
		.id = DIALECT_ANTHROPIC, .auth_prefix = "x-api-key: ", .headers = anthropic_headers,
		.chat_suffix = "/messages", .response_to_oai = anthropic_response_to_oai,
		.error_to_oai = anthropic_error_to_oai, .error_json = anthropic_error_for,
	},
	[DIALECT_GEMINI] = {
		.id = DIALECT_GEMINI, .auth_prefix = "x-goog-api-key: ", .response_to_oai = gemini_response_to_oai,
		.error_to_oai = gemini_error_to_oai, .retry_after = gemini_error_retry_after,
		.key_invalid = gemini_key_invalid, .error_json = gemini_error_json,
	},
};

const struct dialect_ops *dialect_ops(enum dialect d)
{
	if ((unsigned)d >= sizeof(ops) / sizeof(ops[0]))
		return &ops[DIALECT_OPENAI];
	return &ops[d];
}

char *dialect_auth_line(const struct dialect_ops *d, const char *secret)
{
	if (!secret)
		return NULL;
	return xasprintf("%s%s", d->auth_prefix, secret);
}

void dialect_auth_free(char *line)
{
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
}
