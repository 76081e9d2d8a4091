/* test_jscan.c — top-level members, the last usage object, object checks. */
#include "autoconf.h"
#include "jscan.h"
#include "usage.h"
#include "tap.h"
#include <string.h>

static const char *member(const char *s, const char *name, char *out, size_t outlen)
{
	size_t vs, ve;
	int r = jscan_member(s, strlen(s), name, &vs, &ve);
	if (r != 1)
		return r == 0 ? "(none)" : "(not an object)";
	snprintf(out, outlen, "%.*s", (int)(ve - vs), s + vs);
	return out;
}

int main(void)
{
	char buf[256];
	const char *req = "{ \"messages\": [{\"role\":\"user\",\"content\":\"say \\\"model\\\": 1\"}],"
			  " \"tools\": [{\"function\": {\"parameters\": {\"properties\": {\"model\": {\"type\":\"string\"}}}}}],"
			  " \"model\" : \"deepseek-chat\", \"stream\":true, \"n\": 2 }";
	is_str(member(req, "model", buf, sizeof(buf)), "\"deepseek-chat\"", "top-level model, not the nested ones");
	is_str(member(req, "stream", buf, sizeof(buf)), "true", "a literal");
	is_str(member(req, "n", buf, sizeof(buf)), "2", "the last member");
	ok(!strncmp(member(req, "messages", buf, sizeof(buf)), "[{", 2), "an array value");
	is_str(member(req, "temperature", buf, sizeof(buf)), "(none)", "absent member");
	is_str(member("[1,2]", "model", buf, sizeof(buf)), "(not an object)", "not an object");
	is_str(member("{\"mo\\u0064el\":\"x\"}", "model", buf, sizeof(buf)), "(none)", "escaped keys never match");
	is_str(member("{\"a\":\"}\",\"model\":\"m\"}", "model", buf, sizeof(buf)), "\"m\"", "braces inside strings");

	size_t vs, ve;
	const char *body = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"the \\\"usage\\\": {\\\"prompt_tokens\\\": 99}\"}}],"
			   "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":4}}}";
	ok(jscan_last_object(body, strlen(body), "usage", &vs, &ve), "usage found");
	ok(!strncmp(body + vs, "{\"prompt_tokens\":12", 19) && body[ve - 1] == '}', "the real one, not the quoted one");
	struct usage u;
	is_int(usage_from_text(body, strlen(body), &u), 1, "usage_from_text");
	is_int(u.prompt, 12, "prompt");
	is_int(u.completion, 3, "completion");
	is_int(u.cached, 4, "cached");
	const char *chunk = "{\"choices\":[],\"usage\":null}";
	is_int(usage_from_text(chunk, strlen(chunk), &u), 0, "usage null is no usage");
	const char *kimi = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}]}";
	is_int(usage_from_text(kimi, strlen(kimi), &u), 1, "Moonshot's usage inside choices[0]");
	is_int(u.prompt, 7, "its prompt tokens");

	ok(jscan_is_object(" {\"a\":1}\n", 9), "an object");
	ok(!jscan_is_object("<html>502</html>", 16), "HTML is not");
	ok(!jscan_is_object("{\"a\":", 5), "a truncated object is not");
	ok(!jscan_is_object("", 0), "empty is not");
	return done_testing();
}
