/* test_dialect.c — the upstream dialects' ops table (dialect.h): each
 * dialect's key header, chat path, error and retry helpers, and that the
 * OpenAI-compatible dialect has nothing to translate. */
#include "autoconf.h"
#include "dialect.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void test_auth_lines(void)
{
	char *l = dialect_auth_line(dialect_ops(DIALECT_OPENAI), "sk-1");
	is_str(l, "Authorization: Bearer sk-1", "OpenAI: a bearer token");
	dialect_auth_free(l);
	l = dialect_auth_line(dialect_ops(DIALECT_ANTHROPIC), "sk-ant-1");
	is_str(l, "x-api-key: sk-ant-1", "Anthropic: x-api-key");
	dialect_auth_free(l);
	l = dialect_auth_line(dialect_ops(DIALECT_GEMINI), "AIza1");
	is_str(l, "x-goog-api-key: AIza1", "Gemini: x-goog-api-key");
	dialect_auth_free(l);
	ok(dialect_auth_line(dialect_ops(DIALECT_OPENAI), NULL) == NULL, "no key (keys = none): no line");
	dialect_auth_free(NULL);
}

static void test_chat_paths(void)
{
	char path[128], err[64] = "";
	is_int(dialect_chat_path(dialect_ops(DIALECT_OPENAI), path, sizeof(path), "gpt-4o", 1, err, sizeof(err)), 0,
	       "OpenAI path");
	is_str(path, "/chat/completions", "is the chat completions endpoint");
	dialect_chat_path(dialect_ops(DIALECT_ANTHROPIC), path, sizeof(path), "claude", 0, err, sizeof(err));
	is_str(path, "/messages", "Anthropic: messages");
	dialect_chat_path(dialect_ops(DIALECT_GEMINI), path, sizeof(path), "models/gemini-2.5-flash", 1, err,
			  sizeof(err));
	is_str(path, "/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "Gemini: the model in the path, streamed");
	is_int(dialect_chat_path(dialect_ops(DIALECT_GEMINI), path, sizeof(path), "a/b", 0, err, sizeof(err)), -1,
	       "Gemini: a model with a slash is refused");
	ok(err[0] != '\0', "with a reason");
	is_int(dialect_chat_path(dialect_ops(DIALECT_OPENAI), path, 4, "m", 0, err, sizeof(err)), -1,
	       "a path that does not fit is refused");
}

static void test_ops(void)
{
	const struct dialect_ops *o = dialect_ops(DIALECT_OPENAI), *a = dialect_ops(DIALECT_ANTHROPIC),
				 *g = dialect_ops(DIALECT_GEMINI);
	ok(!o->response_to_oai && !o->error_to_oai && !o->stream_feed && !o->error_json,
	   "OpenAI's form is the internal one: nothing to translate");
	ok(a->stream_feed && g->stream_feed && g->stream_finish && !a->stream_finish, "stream translators");
	is_str(a->keepalive_event, "ping", "Anthropic's keep-alive event");
	ok(dialect_ops((enum dialect)99) == o, "an unknown dialect gets OpenAI's ops");
	static const char body[] = "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\",\"message\":\"API key not valid.\","
				   "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\"}]}}";
	is_int(g->key_invalid(400, body, strlen(body)), 1, "Gemini: a 400 API_KEY_INVALID is a refused key");
	is_int(g->key_invalid(404, body, strlen(body)), 0, "only as a 400");
	static const char rl[] = "{\"error\":{\"code\":429,\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
				 "\"retryDelay\":\"7s\"}]}}";
	is_int(g->retry_after(rl, strlen(rl)), 7, "Gemini: retry-after from the body");
	char *e = a->error_json(429, "slow");
	ok(e && strstr(e, "rate_limit_error") && strstr(e, "slow"), "Anthropic's error shape");
	free(e);
}

int main(void)
{
	test_auth_lines();
	test_chat_paths();
	test_ops();
	return done_testing();
}
