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

	/* read directly when strictly valid, through cJSON otherwise: the same */
	static const struct { const char *text; int found; long p, c, cached, reasoning; const char *what; } uc[] = {
		{ "{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"prompt_cache_hit_tokens\":5}}", 1, 12, 7, 5, 0, "DeepSeek's cache hits" },
		{ "{\"usage\":{\"input_tokens\":25,\"output_tokens\":3}}", 1, 25, 3, 0, 0, "Anthropic's names" },
		{ "{\"usage\":{\"prompt_tokens\":9,\"completion_tokens_details\":{\"reasoning_tokens\":4},\"completion_tokens\":5}}", 1, 9, 5, 0, 4, "reasoning tokens" },
		{ "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2,\"completion_tokens\":1}}", 1, 1, 1, 0, 0, "the first of two members, as cJSON" },
		{ "{\"usage\":{\"prompt_tokens\":1.5e2,\"completion_tokens\":2.9}}", 1, 150, 2, 0, 0, "fractions and exponents (through cJSON)" },
		{ "{\"usage\":{\"prompt\\u005ftokens\":3,\"completion_tokens\":1}}", 1, 3, 1, 0, 0, "escaped names (through cJSON)" },
		{ "{\"usage\":{\"prompt_tokens\":-0,\"completion_tokens\":-4}}", 1, 0, 0, 0, 0, "-0 is 0, negatives are none" },
		{ "{\"usage\":{\"prompt_tokens\":\"7\",\"completion_tokens\":true}}", 0, 0, 0, 0, 0, "strings and literals are not numbers" },
		{ "{\"usage\":{\"prompt_tokens\":7,\"prompt_tokens_details\":null,\"cached_tokens\":2}}", 1, 7, 0, 2, 0, "Moonshot's cached_tokens" },
		{ "{\"usage\":{\"prompt_tokens\":7,\\u0001}}", 0, 0, 0, 0, 0, "broken JSON is no usage" },
		{ "{\"usage\":{\"prompt_tokens\":1000000000000001,\"completion_tokens\":1}}", 1, 0, 1, 0, 0, "over 1e15 is none" },
	};
	for (size_t i = 0; i < sizeof(uc) / sizeof(uc[0]); i++) {
		struct usage t;
		memset(&t, 0, sizeof(t));
		int f = usage_from_text(uc[i].text, strlen(uc[i].text), &t);
		size_t s0, s1;
		struct usage t2;
		memset(&t2, 0, sizeof(t2));
		int f2 = jscan_last_object(uc[i].text, strlen(uc[i].text), "usage", &s0, &s1) ?
			 usage_from_text_tree(uc[i].text + s0, s1 - s0, &t2) : 0;
		ok(f == uc[i].found && (!f || (t.prompt == uc[i].p && t.completion == uc[i].c && t.cached == uc[i].cached &&
					      t.reasoning == uc[i].reasoning)), "usage: %s", uc[i].what);
		ok(f == f2 && t.prompt == t2.prompt && t.completion == t2.completion && t.cached == t2.cached &&
		   t.reasoning == t2.reasoning, "usage: %s: the same through cJSON", uc[i].what);
	}

	static const struct { const char *text; int valid; } vj[] = {
		{ "{}", 1 }, { " [1, -0.5e+3, \"a\\u00e9\\n\", true, false, null, {\"k\": []}] ", 1 },
		{ "{\"a\":01}", 0 }, { "{\"a\":1,}", 0 }, { "[1 2]", 0 }, { "\"\t\"", 0 }, { "\"\\x\"", 0 },
		{ "{\"a\"}", 0 }, { "[1.]", 0 }, { "[1e]", 0 }, { "tru", 0 }, { "{} {}", 0 }, { "\"\\u12\"", 0 },
		{ "[[[[[[[[[1]]]]]]]]]", 0 },   /* deeper than 8 */
		{ "[[[[[[[[1]]]]]]]]", 1 },
	};
	for (size_t i = 0; i < sizeof(vj) / sizeof(vj[0]); i++)
		ok(jscan_valid(vj[i].text, strlen(vj[i].text), 8) == vj[i].valid, "jscan_valid %s", vj[i].text);

	ok(jscan_is_object(" {\"a\":1}\n", 9), "an object");
	ok(!jscan_is_object("<html>502</html>", 16), "HTML is not");
	ok(!jscan_is_object("{\"a\":", 5), "a truncated object is not");
	ok(!jscan_is_object("", 0), "empty is not");
	return done_testing();
}
