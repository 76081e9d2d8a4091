/* test_anthropic.c — OpenAI chat <-> Anthropic Messages, both directions. */
#include "autoconf.h"
#include "anthropic.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

/* JSON text without "created" (time-dependent), re-printed compactly. */
static char *norm(const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	if (!j)
		return json ? strdup(json) : NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(j, "created");
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static int contains(const char *hay, const char *needle)
{
	return hay && needle && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------ OpenAI → Anthropic request */

#define TOOL_OAI "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Get the weather\"," \
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}"
#define TOOL_ANT "{\"name\":\"get_weather\",\"description\":\"Get the weather\"," \
	"\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}"
#define HI "[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define HI_ANT "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}]"

struct req_case {
	const char *name;
	const char *in;
	const char *model;      /* NULL: keep the request's */
	const char *want;       /* exact output, or NULL when an error is expected */
	const char *want_err;   /* substring of the error */
};

static const struct req_case req_cases[] = {
	{ "plain user message, model replaced, max_tokens defaulted",
	  "{\"model\":\"claude\",\"messages\":" HI "}", "claude-sonnet-4-5",
	  "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4096,\"messages\":" HI_ANT "}", NULL },
	{ "one system prompt, temperature, stream",
	  "{\"model\":\"c\",\"max_tokens\":100,\"temperature\":0.5,\"stream\":true,\"messages\":["
	  "{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":100,\"system\":\"Be brief.\",\"messages\":" HI_ANT
	  ",\"temperature\":0.5,\"stream\":true}", NULL },
	{ "several system prompts and developer role joined, wherever they are",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"system\",\"content\":\"A\"},"
	  "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"B\"}]},"
	  "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"system\",\"content\":\"C\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"system\":\"A\\n\\nB\\n\\nC\",\"messages\":" HI_ANT "}", NULL },
	{ "multi-part content with a data: URL image",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is\"},"
	  "{\"type\":\"text\",\"text\":\"this?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]}]}",
	  NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is\"},"
	  "{\"type\":\"text\",\"text\":\"this?\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
	  "\"data\":\"iVBORw0KGgo=\"}}]}]}", NULL },
	{ "http image URL becomes a url source",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
	  "\"image_url\":{\"url\":\"https://example.com/cat.jpg\",\"detail\":\"high\"}}]}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
	  "\"source\":{\"type\":\"url\",\"url\":\"https://example.com/cat.jpg\"}}]}]}", NULL },
	{ "tool calls across turns: tool_use, tool_result merged with the next user turn",
	  "{\"model\":\"c\",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"auto\",\"messages\":["
	  "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
	  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	  "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":18}\"},"
	  "{\"role\":\"user\",\"content\":\"And tomorrow?\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":["
	  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris?\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":\"{\\\"temp\\\":18}\"},"
	  "{\"type\":\"text\",\"text\":\"And tomorrow?\"}]}],"
	  "\"tools\":[" TOOL_ANT "],\"tool_choice\":{\"type\":\"auto\"}}", NULL },
	{ "assistant text with two parallel tool calls, two tool results in one user turn",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"Paris and Rome?\"},"
	  "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
	  "{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"c\\\":\\\"Paris\\\"}\"}},"
	  "{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":[{\"type\":\"text\",\"text\":\"18C\"}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"b\",\"content\":\"\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":["
	  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Paris and Rome?\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
	  "{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"w\",\"input\":{\"c\":\"Paris\"}},"
	  "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"w\",\"input\":{}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"a\",\"content\":[{\"type\":\"text\",\"text\":\"18C\"}]},"
	  "{\"type\":\"tool_result\",\"tool_use_id\":\"b\"}]}],"
	  "\"tools\":[{\"name\":\"w\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"none\"}}", NULL },
	{ "tool call ids made by another provider are made acceptable, in pairs",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	  "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_0_1a2b__thought__Ci+Q/x==\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"call_0_1a2b__thought__Ci+Q/x==\",\"content\":\"ok\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_0_1a2b__thought__Ci_Q_x__\",\"name\":\"f\",\"input\":{}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_0_1a2b__thought__Ci_Q_x__\",\"content\":\"ok\"}]}],"
	  "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"none\"}}", NULL },
	{ "tool calls in the history but no tools: the names are declared, tool_choice none",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	  "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
	  "{\"id\":\"y\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"1\"},{\"role\":\"tool\",\"tool_call_id\":\"y\",\"content\":\"2\"},"
	  "{\"role\":\"user\",\"content\":\"sum up\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"f\",\"input\":{}},"
	  "{\"type\":\"tool_use\",\"id\":\"y\",\"name\":\"f\",\"input\":{}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"x\",\"content\":\"1\"},"
	  "{\"type\":\"tool_result\",\"tool_use_id\":\"y\",\"content\":\"2\"},{\"type\":\"text\",\"text\":\"sum up\"}]}],"
	  "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"none\"}}", NULL },
	{ "tool_choice none",
	  "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"none\"}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"tools\":[" TOOL_ANT "],\"tool_choice\":{\"type\":\"none\"}}", NULL },
	{ "tool_choice required becomes any",
	  "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"required\"}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"tools\":[" TOOL_ANT "],\"tool_choice\":{\"type\":\"any\"}}", NULL },
	{ "tool_choice naming a function becomes tool",
	  "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[" TOOL_OAI "],"
	  "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"tools\":[" TOOL_ANT "],"
	  "\"tool_choice\":{\"type\":\"tool\",\"name\":\"get_weather\"}}", NULL },
	{ "parallel_tool_calls false without tool_choice",
	  "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"parallel_tool_calls\":false}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"tools\":[" TOOL_ANT "],"
	  "\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":true}}", NULL },
	{ "a tool without parameters gets an empty object schema",
	  "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"now\"}}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"tools\":[{\"name\":\"now\","
	  "\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]}", NULL },
	{ "max_completion_tokens wins, stop string, top_p alone, user",
	  "{\"model\":\"c\",\"messages\":" HI ",\"max_tokens\":50,\"max_completion_tokens\":70,\"stop\":\"END\","
	  "\"top_p\":0.9,\"user\":\"u-42\"}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":70,\"messages\":" HI_ANT ",\"stop_sequences\":[\"END\"],\"top_p\":0.9,"
	  "\"metadata\":{\"user_id\":\"u-42\"}}", NULL },
	{ "stop array; temperature clamped to 1 and top_p dropped beside it",
	  "{\"model\":\"c\",\"messages\":" HI ",\"stop\":[\"a\",\"\",\"b\"],\"temperature\":1.5,\"top_p\":0.5,"
	  "\"stream\":false,\"n\":1}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":" HI_ANT ",\"stop_sequences\":[\"a\",\"b\"],\"temperature\":1}", NULL },
	{ "consecutive same-role turns merged, empty text skipped",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
	  "{\"role\":\"assistant\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"\"},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"d\"}]},{\"role\":\"user\",\"content\":\" \"},"
	  "{\"role\":\"user\",\"content\":\"e\"}]}", NULL,
	  "{\"model\":\"c\",\"max_tokens\":4096,\"messages\":["
	  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"c\"},{\"type\":\"text\",\"text\":\"d\"}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"e\"}]}]}", NULL },
	/* malformed input */
	{ "not an object", "[1,2]", "m", NULL, "must be a JSON object" },
	{ "messages missing", "{\"model\":\"c\"}", NULL, NULL, "'messages' must be a non-empty array" },
	{ "messages empty", "{\"model\":\"c\",\"messages\":[]}", NULL, NULL, "'messages' must be a non-empty array" },
	{ "no model at all", "{\"messages\":" HI "}", NULL, NULL, "'model' is required" },
	{ "message not an object", "{\"model\":\"c\",\"messages\":[\"hi\"]}", NULL, NULL, "messages[0] must be an object" },
	{ "bad arguments JSON",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{city: Paris\"}}]}]}", NULL, NULL,
	  "messages[0].tool_calls[0].function.arguments is not a JSON object" },
	{ "arguments JSON that is not an object",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}", NULL, NULL, "is not a JSON object" },
	{ "tool call without id",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}", NULL, NULL, "needs an id and function.name" },
	{ "unknown role", "{\"model\":\"c\",\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", NULL, NULL,
	  "messages[0].role 'function' is not supported" },
	{ "unsupported part type",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]}",
	  NULL, NULL, "content part type 'input_audio' is not supported" },
	{ "image URL of another scheme",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
	  NULL, NULL, "must be a data: or http(s) URL" },
	{ "data: URL without base64",
	  "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
	  NULL, NULL, "only base64 data: URLs" },
	{ "content of a wrong type", "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", NULL, NULL,
	  "messages[0].content must be a string or an array" },
	{ "tool message without tool_call_id", "{\"model\":\"c\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
	  NULL, NULL, "messages[0].tool_call_id is missing" },
	{ "only a system prompt", "{\"model\":\"c\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", NULL, NULL,
	  "no user or assistant content" },
	{ "n > 1", "{\"model\":\"c\",\"n\":2,\"messages\":" HI "}", NULL, NULL, "n other than 1" },
	{ "negative max_tokens", "{\"model\":\"c\",\"max_tokens\":-1,\"messages\":" HI "}", NULL, NULL,
	  "max_tokens must be a positive integer" },
	{ "fractional max_tokens", "{\"model\":\"c\",\"max_tokens\":1.5,\"messages\":" HI "}", NULL, NULL,
	  "max_tokens must be a positive integer" },
	{ "bad tool_choice", "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"sometimes\"}",
	  NULL, NULL, "tool_choice must be" },
	{ "bad tool", "{\"model\":\"c\",\"messages\":" HI ",\"tools\":[{\"type\":\"function\"}]}", NULL, NULL,
	  "tools[0] must be" },
	{ "bad stop", "{\"model\":\"c\",\"messages\":" HI ",\"stop\":[1]}", NULL, NULL, "stop must be a string" },
};

static void test_request_from_oai(void)
{
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		char err[256] = "";
		cJSON *in = cJSON_Parse(c->in);
		ok(in != NULL, "input parses: %s", c->name);
		char *got = anthropic_request_from_oai(in, c->model, err, sizeof(err));
		if (c->want) {
			is_str(got, c->want, c->name);
		} else {
			ok(got == NULL, "NULL for: %s", c->name);
			if (!ok(contains(err, c->want_err), "message for: %s", c->name))
				diag("  err: %s", err);
		}
		free(got);
		cJSON_Delete(in);
	}
	char *got = anthropic_request_from_oai(NULL, "m", NULL, 0);
	ok(got == NULL, "NULL request with no err buffer is safe");
}

/* ------------------------------------------------ Anthropic → OpenAI response */

struct resp_case {
	const char *name;
	const char *in;
	const char *want;        /* normalised (no "created"), or NULL */
	const char *want_err;
	struct usage u;
};

static const struct resp_case resp_cases[] = {
	{ "text answer (the docs' example)",
	  "{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
	  "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\",\"text\":\"Hi! My name is Claude.\"}],"
	  "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,\"output_tokens\":503}}",
	  "{\"id\":\"chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"object\":\"chat.completion\",\"model\":\"my-claude\","
	  "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi! My name is Claude.\"},"
	  "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2095,\"completion_tokens\":503,"
	  "\"total_tokens\":2598,\"prompt_tokens_details\":{\"cached_tokens\":0}}}", NULL,
	  { 2095, 503, 0, 0, 1 } },
	{ "text and tool_use; cache read and write in usage",
	  "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"x\",\"content\":["
	  "{\"type\":\"text\",\"text\":\"I'll check.\"},{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\","
	  "\"input\":{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}}],\"stop_reason\":\"tool_use\","
	  "\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":2000,\"output_tokens\":50}}",
	  "{\"id\":\"chatcmpl-msg_1\",\"object\":\"chat.completion\",\"model\":\"my-claude\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"I'll check.\",\"tool_calls\":[{\"id\":\"toolu_01A\",\"type\":\"function\","
	  "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"San Francisco, CA\\\",\\\"unit\\\":\\\"celsius\\\"}\"}}]},"
	  "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":2400,\"completion_tokens\":50,"
	  "\"total_tokens\":2450,\"prompt_tokens_details\":{\"cached_tokens\":2000}}}", NULL,
	  { 2400, 50, 2000, 0, 1 } },
	{ "tool_use alone: content null",
	  "{\"id\":\"msg_2\",\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}],"
	  "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
	  "{\"id\":\"chatcmpl-msg_2\",\"object\":\"chat.completion\",\"model\":\"my-claude\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
	  "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
	  NULL, { 1, 2, 0, 0, 1 } },
	{ "thinking becomes reasoning_content, signed blocks thinking_blocks; max_tokens → length",
	  "{\"id\":\"msg_3\",\"type\":\"message\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"sig\"},"
	  "{\"type\":\"redacted_thinking\",\"data\":\"xx\"},{\"type\":\"text\",\"text\":\"A\"},{\"type\":\"text\",\"text\":\"B\"}],"
	  "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}",
	  "{\"id\":\"chatcmpl-msg_3\",\"object\":\"chat.completion\",\"model\":\"my-claude\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"AB\",\"reasoning_content\":\"Hmm.\",\"thinking_blocks\":["
	  "{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"sig\"},{\"type\":\"redacted_thinking\",\"data\":\"xx\"}]},"
	  "\"logprobs\":null,"
	  "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12,"
	  "\"prompt_tokens_details\":{\"cached_tokens\":0}}}", NULL, { 5, 7, 0, 0, 1 } },
	{ "stop_sequence → stop, no usage → zeros, unreported",
	  "{\"id\":\"msg_4\",\"type\":\"message\",\"content\":[],\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"}",
	  "{\"id\":\"chatcmpl-msg_4\",\"object\":\"chat.completion\",\"model\":\"my-claude\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
	  "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0,\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
	  NULL, { 0, 0, 0, 0, 0 } },
	{ "refusal → content_filter",
	  "{\"id\":\"msg_5\",\"type\":\"message\",\"content\":[],\"stop_reason\":\"refusal\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}",
	  "{\"id\":\"chatcmpl-msg_5\",\"object\":\"chat.completion\",\"model\":\"my-claude\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
	  "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0,\"total_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
	  NULL, { 3, 0, 0, 0, 1 } },
	{ "an error body", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
	  NULL, "upstream error: overloaded_error: Overloaded", { 0, 0, 0, 0, 0 } },
	{ "not JSON", "<html>502</html>", NULL, "not a JSON object", { 0, 0, 0, 0, 0 } },
	{ "no content", "{\"id\":\"msg_6\",\"type\":\"message\"}", NULL, "no content array", { 0, 0, 0, 0, 0 } },
};

static void test_response_to_oai(void)
{
	for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		const struct resp_case *c = &resp_cases[i];
		char err[256] = "";
		struct usage u = { -1, -1, -1, -1, -1 };
		char *got = anthropic_response_to_oai(c->in, strlen(c->in), "my-claude", &u, err, sizeof(err));
		if (c->want) {
			char *n = norm(got);
			is_str(n, c->want, c->name);
			ok(contains(got, "\"created\":"), "created present: %s", c->name);
			ok(u.prompt == c->u.prompt && u.completion == c->u.completion && u.cached == c->u.cached &&
			   u.reasoning == 0 && u.reported == c->u.reported, "struct usage: %s", c->name);
			free(n);
		} else {
			ok(got == NULL, "NULL for: %s", c->name);
			if (!ok(contains(err, c->want_err), "message for: %s", c->name))
				diag("  err: %s", err);
		}
		free(got);
	}
}

/* ------------------------------------------------ Anthropic stream → OpenAI */

struct ev {
	const char *event;
	const char *data;
};

/* Feed events; returns the last feed's result; out collects everything. */
static int run_a2o(struct anthropic_to_oai *s, const struct ev *evs, size_t n, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		rc = anthropic_to_oai_feed(s, evs[i].event, evs[i].data, strlen(evs[i].data), out);
	return rc;
}

static int feed1(struct anthropic_to_oai *s, const char *event, const char *data, struct buf *out)
{
	return anthropic_to_oai_feed(s, event, data, strlen(data), out);
}

#define CH(delta, finish) "data: {\"id\":\"chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\"," \
	"\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"my-claude\",\"choices\":[{\"index\":0," \
	"\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

/* The docs' basic streaming example. */
static const struct ev basic_stream[] = {
	{ "message_start", "{\"type\": \"message_start\", \"message\": {\"id\": \"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", "
	  "\"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-5-20250929\", "
	  "\"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1}}}" },
	{ "content_block_start", "{\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}" },
	{ "ping", "{\"type\": \"ping\"}" },
	{ "content_block_delta", "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}" },
	{ "content_block_delta", "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"!\"}}" },
	{ "content_block_stop", "{\"type\": \"content_block_stop\", \"index\": 0}" },
	{ "message_delta", "{\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, "
	  "\"usage\": {\"output_tokens\": 15}}" },
	{ "message_stop", "{\"type\": \"message_stop\"}" },
};

static const char basic_want[] =
	CH("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	CH("{\"content\":\"Hello\"}", "null")
	CH("{\"content\":\"!\"}", "null")
	CH("{}", "\"stop\"")
	"data: {\"id\":\"chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\",\"object\":\"chat.completion.chunk\","
	"\"created\":1700000000,\"model\":\"my-claude\",\"choices\":[],\"usage\":{\"prompt_tokens\":25,"
	"\"completion_tokens\":15,\"total_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n"
	"data: [DONE]\n\n";

#undef CH
#define CH(delta, finish) "data: {\"id\":\"chatcmpl-msg_014p7gG3wDgGV9EUtLvnow3U\"," \
	"\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"my-claude\",\"choices\":[{\"index\":0," \
	"\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

/* The docs' tool use example (the text deltas shortened). */
static const struct ev tool_stream[] = {
	{ "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\","
	  "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,"
	  "\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}" },
	{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}" },
	{ "ping", "{\"type\": \"ping\"}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay\"}}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\", let's check.\"}}" },
	{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}" },
	{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
	  "\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"\"}}" },
	{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\", \\\"unit\\\": \\\"fahrenheit\\\"}\"}}" },
	{ "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}" },
	{ "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}" },
	{ "message_stop", "{\"type\":\"message_stop\"}" },
};

static const char tool_want[] =
	CH("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	CH("{\"content\":\"Okay\"}", "null")
	CH("{\"content\":\", let's check.\"}", "null")
	CH("{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"type\":\"function\","
	   "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}", "null")
	CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"location\\\":\"}}]}", "null")
	CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" \\\"San Francisco, CA\\\"\"}}]}", "null")
	CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\", \\\"unit\\\": \\\"fahrenheit\\\"}\"}}]}", "null")
	CH("{}", "\"tool_calls\"")
	"data: [DONE]\n\n";

#undef CH
#define CH(delta, finish) "data: {\"id\":\"chatcmpl-msg_01T\"," \
	"\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"my-claude\",\"choices\":[{\"index\":0," \
	"\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

/* The docs' extended thinking example: no usage in message_start or
 * message_delta, a signature_delta at the end of the thinking block. */
static const struct ev thinking_stream[] = {
	{ "message_start", "{\"type\": \"message_start\", \"message\": {\"id\": \"msg_01T\", \"type\": \"message\", "
	  "\"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-5-20250929\", \"stop_reason\": null, \"stop_sequence\": null}}" },
	{ "content_block_start", "{\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"thinking\", \"thinking\": \"\"}}" },
	{ "content_block_delta", "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"thinking_delta\", "
	  "\"thinking\": \"I need to find the GCD of 1071 and 462.\"}}" },
	{ "content_block_delta", "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"signature_delta\", "
	  "\"signature\": \"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...\"}}" },
	{ "content_block_stop", "{\"type\": \"content_block_stop\", \"index\": 0}" },
	{ "content_block_start", "{\"type\": \"content_block_start\", \"index\": 1, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}" },
	{ "content_block_delta", "{\"type\": \"content_block_delta\", \"index\": 1, \"delta\": {\"type\": \"text_delta\", "
	  "\"text\": \"The greatest common divisor of 1071 and 462 is **21**.\"}}" },
	{ "content_block_stop", "{\"type\": \"content_block_stop\", \"index\": 1}" },
	{ "message_delta", "{\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\": null}}" },
	{ "message_stop", "{\"type\": \"message_stop\"}" },
};

static const char thinking_want[] =
	CH("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	CH("{\"reasoning_content\":\"I need to find the GCD of 1071 and 462.\"}", "null")
	CH("{\"thinking_blocks\":[{\"type\":\"thinking\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...\"}]}", "null")
	CH("{\"content\":\"The greatest common divisor of 1071 and 462 is **21**.\"}", "null")
	CH("{}", "\"stop\"")
	"data: {\"id\":\"chatcmpl-msg_01T\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"my-claude\","
	"\"choices\":[],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0,"
	"\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n"
	"data: [DONE]\n\n";

#undef CH

static void test_stream_to_oai(void)
{
	struct anthropic_to_oai s;
	struct buf out;
	int rc;

	buf_init(&out, BUF_CAP_DEFAULT);

	anthropic_to_oai_init(&s, "my-claude", 1);
	s.created = 1700000000;
	rc = run_a2o(&s, basic_stream, sizeof(basic_stream) / sizeof(basic_stream[0]), &out);
	is_int(rc, 1, "basic stream: message_stop completes it");
	is_str(buf_str(&out), basic_want, "basic stream: chunks, usage chunk, [DONE]");
	ok(s.usage.prompt == 25 && s.usage.completion == 15 && s.usage.cached == 0 && s.usage.reported,
	   "basic stream: usage input from message_start, output from message_delta");
	buf_reset(&out);
	rc = feed1(&s, "message_stop", "{\"type\":\"message_stop\"}", &out);
	ok(rc == 1 && out.len == 0, "after the end: nothing more");

	buf_reset(&out);
	anthropic_to_oai_init(&s, "my-claude", 0);
	s.created = 1700000000;
	rc = run_a2o(&s, tool_stream, sizeof(tool_stream) / sizeof(tool_stream[0]), &out);
	is_int(rc, 1, "tool stream completes");
	is_str(buf_str(&out), tool_want, "tool stream: tool_calls deltas, no usage chunk unasked");
	ok(s.usage.prompt == 472 && s.usage.completion == 89, "tool stream usage");

	buf_reset(&out);
	anthropic_to_oai_init(&s, "my-claude", 1);
	s.created = 1700000000;
	rc = run_a2o(&s, thinking_stream, sizeof(thinking_stream) / sizeof(thinking_stream[0]), &out);
	is_int(rc, 1, "thinking stream completes");
	is_str(buf_str(&out), thinking_want, "thinking stream: reasoning_content, then the signature as thinking_blocks");
	is_int(s.usage.reported, 0, "thinking stream: no usage reported");

	/* empty answer: no content blocks at all */
	static const struct ev empty[] = {
		{ "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_e\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}" },
		{ "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":0}}" },
		{ "message_stop", "{\"type\":\"message_stop\"}" },
	};
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 0);
	s.created = 1;
	rc = run_a2o(&s, empty, 3, &out);
	is_int(rc, 1, "empty stream completes");
	is_str(buf_str(&out),
	       "data: {\"id\":\"chatcmpl-msg_e\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
	       "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
	       "data: {\"id\":\"chatcmpl-msg_e\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
	       "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n"
	       "data: [DONE]\n\n", "empty stream: role, finish (length), [DONE]");

	/* nothing at all arrived: the router sees done == 0 */
	anthropic_to_oai_init(&s, "m", 0);
	ok(!s.done && !s.started && !s.failed, "no events: not done, not started");

	/* message_stop without a message_delta still finishes */
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 0);
	s.created = 1;
	rc = feed1(&s, NULL, "{\"type\":\"message_stop\"}", &out);
	ok(rc == 1 && contains(buf_str(&out), "\"finish_reason\":\"stop\"") &&
	   contains(buf_str(&out), "\"id\":\"chatcmpl-anthropic\""), "message_stop alone: role, finish stop, default id");

	/* event name used when data has no type; usage with cache */
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 0);
	rc = feed1(&s, "message_start",
				   "{\"message\":{\"id\":\"msg_c\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":1000,"
				   "\"cache_creation_input_tokens\":5,\"output_tokens\":1}}}", &out);
	is_int(rc, 0, "message_start by event name");
	rc = feed1(&s, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
				   "\"usage\":{\"output_tokens\":20}}", &out);
	ok(s.usage.prompt == 1015 && s.usage.completion == 20 && s.usage.cached == 1000,
	   "stream usage: prompt = input + cache read + cache write, cached = cache read");

	/* error event mid-stream */
	static const struct ev err_stream[] = {
		{ "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\"}}" },
		{ "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}" },
		{ "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}" },
		{ "error", "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}" },
	};
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 1);
	rc = run_a2o(&s, err_stream, 4, &out);
	is_int(rc, -1, "error event: -1");
	ok(contains(buf_str(&out), "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"upstream_error\",\"param\":null,"
		    "\"code\":\"overloaded_error\"}}\n\n"), "error event: OpenAI-shaped error event");
	ok(!contains(buf_str(&out), "[DONE]"), "error event: no [DONE]");
	is_str(s.error, "Overloaded", "error event: s->error");
	buf_reset(&out);
	rc = feed1(&s, "message_stop", "{\"type\":\"message_stop\"}", &out);
	ok(rc == -1 && out.len == 0, "after an error: nothing more");

	/* malformed data */
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 0);
	rc = feed1(&s, "content_block_delta", "{\"type\":", &out);
	ok(rc == -1 && contains(buf_str(&out), "\"code\":\"bad_upstream_event\""), "malformed data: -1 and an error event");

	/* out over its cap */
	struct buf tiny;
	buf_init(&tiny, 64);
	anthropic_to_oai_init(&s, "m", 0);
	rc = feed1(&s, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}", &tiny);
	ok(rc == -1 && s.failed, "out over its cap: -1");
	buf_free(&tiny);

	/* input_json_delta outside a tool block is ignored; unknown events too */
	buf_reset(&out);
	anthropic_to_oai_init(&s, "m", 0);
	s.started = 1;
	rc = feed1(&s, NULL, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
				   "\"partial_json\":\"{}\"}}", &out);
	rc |= feed1(&s, NULL, "{\"type\":\"future_event\"}", &out);
	ok(rc == 0 && out.len == 0, "stray input_json_delta and unknown events: nothing");

	buf_free(&out);
}

/* ------------------------------------------------ Anthropic → OpenAI request */

struct rev_case {
	const char *name;
	const char *in;
	const char *want;
	const char *want_err;
};

static const struct rev_case rev_cases[] = {
	{ "a Claude Code style request",
	  "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":32000,\"stream\":true,"
	  "\"system\":[{\"type\":\"text\",\"text\":\"You are Claude Code.\",\"cache_control\":{\"type\":\"ephemeral\"}},"
	  "{\"type\":\"text\",\"text\":\"Be careful.\"}],"
	  "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"<reminder>\"},{\"type\":\"text\",\"text\":\"List files\"}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s\"},"
	  "{\"type\":\"text\",\"text\":\"Sure.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"a.c\\nb.c\"},"
	  "{\"type\":\"text\",\"text\":\"Thanks\"}]}],"
	  "\"tools\":[{\"name\":\"Bash\",\"description\":\"Run a command\",\"input_schema\":{\"type\":\"object\","
	  "\"properties\":{\"command\":{\"type\":\"string\"}}}},{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}],"
	  "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},\"temperature\":1,"
	  "\"metadata\":{\"user_id\":\"user_abc\"},\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}}",
	  "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"system\",\"content\":\"You are Claude Code.\\n\\nBe careful.\"},"
	  "{\"role\":\"user\",\"content\":\"<reminder>\\nList files\"},"
	  "{\"role\":\"assistant\",\"content\":\"Sure.\",\"tool_calls\":[{\"id\":\"toolu_1\",\"type\":\"function\","
	  "\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"a.c\\nb.c\"},"
	  "{\"role\":\"user\",\"content\":\"Thanks\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"description\":\"Run a command\","
	  "\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"}}}}}],"
	  "\"tool_choice\":\"required\",\"parallel_tool_calls\":false,\"max_tokens\":32000,\"temperature\":1,"
	  "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"user_abc\","
	  "\"reasoning_effort\":\"low\",\"llmgate_reasoning\":{\"budget_tokens\":1024,\"include_thoughts\":true}}", NULL },
	{ "string content, system string, stop_sequences, tool_choice tool, images",
	  "{\"model\":\"x\",\"max_tokens\":10,\"system\":\"S\",\"stop_sequences\":[\"##\"],\"top_p\":0.5,"
	  "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	  "\"media_type\":\"image/jpeg\",\"data\":\"/9j/4AAQ\"}},{\"type\":\"image\",\"source\":{\"type\":\"url\","
	  "\"url\":\"https://example.com/a.png\"}},{\"type\":\"text\",\"text\":\"Compare\"}]},"
	  "{\"role\":\"assistant\",\"content\":\"ok\"}],"
	  "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\"}}",
	  "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\"}},"
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}},{\"type\":\"text\",\"text\":\"Compare\"}]},"
	  "{\"role\":\"assistant\",\"content\":\"ok\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],"
	  "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}},\"max_tokens\":10,\"stop\":[\"##\"],\"top_p\":0.5}", NULL },
	{ "tool_result with text blocks and an image; assistant with only tool_use",
	  "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"shot\"},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"screenshot\",\"input\":{}}]},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"is_error\":false,\"content\":["
	  "{\"type\":\"text\",\"text\":\"taken\"},{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	  "\"media_type\":\"image/png\",\"data\":\"AAA\"}}]}]}],\"tool_choice\":{\"type\":\"auto\"}}",
	  "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"shot\"},"
	  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\","
	  "\"function\":{\"name\":\"screenshot\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"taken\\nok\"},"
	  "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAA\"}}]}]}", NULL },
	{ "not an object", "\"hi\"", NULL, "must be a JSON object" },
	{ "no messages", "{\"model\":\"x\",\"max_tokens\":1}", NULL, "messages: must be a non-empty array" },
	{ "system role inside messages", "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", NULL,
	  "messages[0].role must be \"user\" or \"assistant\"" },
	{ "document block", "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\","
	  "\"source\":{\"type\":\"base64\",\"media_type\":\"application/pdf\",\"data\":\"JVBERi0\"}}]}]}", NULL,
	  "block type 'document' is not supported" },
	{ "image without a source", "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]}",
	  NULL, "an image needs a base64 or url source" },
	{ "tool_result without tool_use_id", "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}]}",
	  NULL, "tool_use_id is missing" },
	{ "bad system", "{\"model\":\"x\",\"system\":5,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", NULL,
	  "system must be a string" },
	{ "bad tool_choice", "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],"
	  "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":\"sometimes\"}}", NULL,
	  "tool_choice.type must be" },
	{ "tool without schema", "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":[{\"name\":\"f\"}]}",
	  NULL, "tools[0] needs a name and an input_schema" },
};

static void test_request_to_oai(void)
{
	for (size_t i = 0; i < sizeof(rev_cases) / sizeof(rev_cases[0]); i++) {
		const struct rev_case *c = &rev_cases[i];
		char err[256] = "";
		cJSON *in = cJSON_Parse(c->in);
		cJSON *got = anthropic_request_to_oai(in, "deepseek-chat", err, sizeof(err));
		char *s = got ? cJSON_PrintUnformatted(got) : NULL;
		if (c->want) {
			is_str(s, c->want, c->name);
		} else {
			ok(got == NULL, "NULL for: %s", c->name);
			if (!ok(contains(err, c->want_err), "message for: %s", c->name))
				diag("  err: %s", err);
		}
		free(s);
		cJSON_Delete(got);
		cJSON_Delete(in);
	}
}

/* ------------------------------------------------ OpenAI → Anthropic response */

static void test_response_from_oai(void)
{
	char err[256] = "";
	struct usage u;
	const char *in =
		"{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"deepseek-chat\","
		"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\",\"reasoning_content\":\"think\"},"
		"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":9,\"total_tokens\":109,"
		"\"prompt_tokens_details\":{\"cached_tokens\":64}}}";
	char *got = anthropic_response_from_oai(in, strlen(in), "claude-sonnet-4-5", &u, err, sizeof(err));
	is_str(got, "{\"id\":\"msg_chatcmpl-abc\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
	       "\"content\":[{\"type\":\"thinking\",\"thinking\":\"think\",\"signature\":\"\"},{\"type\":\"text\",\"text\":\"Hello\"}],"
	       "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":36,\"cache_creation_input_tokens\":0,"
	       "\"cache_read_input_tokens\":64,\"output_tokens\":9}}", "chat.completion → message, cached tokens split out");
	ok(u.prompt == 100 && u.completion == 9 && u.cached == 64 && u.reported, "usage struct");
	free(got);

	in = "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	     "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}},"
	     "{\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"not json\"}}]},\"finish_reason\":\"tool_calls\"}]}";
	got = anthropic_response_from_oai(in, strlen(in), "c", &u, err, sizeof(err));
	is_str(got, "{\"id\":\"msg_x\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":["
	       "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"Bash\",\"input\":{\"command\":\"ls\"}},"
	       "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Read\",\"input\":{\"_raw_arguments\":\"not json\"}}],"
	       "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"cache_creation_input_tokens\":0,"
	       "\"cache_read_input_tokens\":0,\"output_tokens\":0}}", "tool_calls → tool_use; unparsable arguments kept visible");
	is_int(u.reported, 0, "no usage: unreported");
	free(got);

	in = "{\"id\":\"y\",\"choices\":[{\"message\":{\"content\":\"cut\"},\"finish_reason\":\"length\"}]}";
	got = anthropic_response_from_oai(in, strlen(in), "c", NULL, err, sizeof(err));
	ok(contains(got, "\"stop_reason\":\"max_tokens\""), "length → max_tokens");
	free(got);
	in = "{\"id\":\"y\",\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"content_filter\"}]}";
	got = anthropic_response_from_oai(in, strlen(in), "c", NULL, err, sizeof(err));
	ok(contains(got, "\"content\":[],\"stop_reason\":\"refusal\""), "content_filter → refusal, empty content");
	free(got);

	in = "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}";
	got = anthropic_response_from_oai(in, strlen(in), "c", NULL, err, sizeof(err));
	ok(got == NULL && contains(err, "upstream error: bad"), "error body: NULL");
	in = "{\"choices\":[]}";
	got = anthropic_response_from_oai(in, strlen(in), "c", NULL, err, sizeof(err));
	ok(got == NULL && contains(err, "no choices[0].message"), "no choices: NULL");
	got = anthropic_response_from_oai("nope", 4, "c", NULL, err, sizeof(err));
	ok(got == NULL && contains(err, "not a JSON object"), "not JSON: NULL");
}

/* ------------------------------------------------ OpenAI stream → Anthropic */

static int run_o2a(struct anthropic_from_oai *s, const char *const *data, size_t n, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		rc = anthropic_from_oai_feed(s, data[i], strlen(data[i]), out);
	return rc;
}

#define OC(x) "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":" x "}"

static void test_stream_from_oai(void)
{
	struct anthropic_from_oai s;
	struct buf out;
	int rc;

	buf_init(&out, BUF_CAP_DEFAULT);
	static const char *const text_chunks[] = {
		OC("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]"),
		"{\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2,\"total_tokens\":22,"
		"\"prompt_tokens_details\":{\"cached_tokens\":16}}}",
		"[DONE]",
	};
	anthropic_from_oai_init(&s, "claude-sonnet-4-5");
	rc = run_o2a(&s, text_chunks, 6, &out);
	is_int(rc, 1, "text stream: [DONE] completes");
	is_str(buf_str(&out),
	       "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_chatcmpl-9\",\"type\":\"message\","
	       "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,"
	       "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
	       "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n"
	       "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	       "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	       "\"usage\":{\"input_tokens\":4,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":16,\"output_tokens\":2}}\n\n"
	       "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	       "text stream: Anthropic event sequence");
	ok(s.usage.prompt == 20 && s.usage.cached == 16 && s.usage.completion == 2, "text stream usage");

	/* reasoning, then a tool call streamed in pieces (as the mock upstream does) */
	static const char *const tool_chunks[] = {
		OC("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Let me\"},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"reasoning_content\":\" think.\"},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_mock_0\",\"type\":\"function\","
		   "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\","
		   "\"function\":{\"name\":\"now\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]"),
		OC("[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}]"),
	};
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = run_o2a(&s, tool_chunks, 7, &out);
	is_int(rc, 0, "tool stream without [DONE]: going on");
	rc = anthropic_from_oai_finish(&s, &out);
	is_int(rc, 1, "finish after a finish_reason: complete");
	is_str(buf_str(&out),
	       "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_chatcmpl-9\",\"type\":\"message\","
	       "\"role\":\"assistant\",\"content\":[],\"model\":\"c\",\"stop_reason\":null,\"stop_sequence\":null,"
	       "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
	       "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me\"}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\" think.\"}}\n\n"
	       "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	       "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
	       "\"id\":\"call_mock_0\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n"
	       "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	       "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\","
	       "\"id\":\"call_2\",\"name\":\"now\",\"input\":{}}}\n\n"
	       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
	       "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
	       "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
	       "\"usage\":{\"input_tokens\":7,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":3}}\n\n"
	       "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	       "tool stream: thinking block, two tool_use blocks, usage from Moonshot-style choices[0].usage");

	/* an error chunk */
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = anthropic_from_oai_feed(&s, OC("[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]"),
				     strlen(OC("[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]")), &out);
	buf_reset(&out);
	const char *ec = "{\"error\":{\"message\":\"stream_interrupted\",\"type\":\"upstream_error\"}}";
	rc = anthropic_from_oai_feed(&s, ec, strlen(ec), &out);
	is_int(rc, -1, "error chunk: -1");
	is_str(buf_str(&out), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
	       "\"message\":\"stream_interrupted\"}}\n\n", "error chunk: Anthropic error event");

	/* cut stream */
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = anthropic_from_oai_feed(&s, OC("[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]"),
				     strlen(OC("[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]")), &out);
	rc = anthropic_from_oai_finish(&s, &out);
	ok(rc == -1 && contains(buf_str(&out), "event: error\n") && contains(s.error, "ended before"),
	   "cut stream: finish gives -1 and an error event");

	/* empty stream: [DONE] right away still makes a well-formed message */
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = anthropic_from_oai_feed(&s, "[DONE]", 6, &out);
	ok(rc == 1 && contains(buf_str(&out), "event: message_start") &&
	   contains(buf_str(&out), "\"stop_reason\":\"end_turn\"") && contains(buf_str(&out), "event: message_stop"),
	   "[DONE] alone: message_start, message_delta, message_stop");
	buf_reset(&out);
	ok(anthropic_from_oai_finish(&s, &out) == 1 && out.len == 0, "finish after done: 1, nothing appended");

	/* nothing at all */
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = anthropic_from_oai_finish(&s, &out);
	ok(rc == -1 && !s.started, "no data: -1, never started");

	/* not JSON */
	buf_reset(&out);
	anthropic_from_oai_init(&s, "c");
	rc = anthropic_from_oai_feed(&s, "{oops", 5, &out);
	ok(rc == -1 && contains(buf_str(&out), "not JSON"), "not JSON: -1 with an error event");

	buf_free(&out);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
	static const struct { int status; const char *type; } map[] = {
		{ 400, "invalid_request_error" }, { 401, "authentication_error" }, { 403, "permission_error" },
		{ 404, "not_found_error" }, { 413, "request_too_large" }, { 429, "rate_limit_error" },
		{ 500, "api_error" }, { 529, "overloaded_error" }, { 502, "api_error" }, { 409, "invalid_request_error" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		is_str(anthropic_error_type(map[i].status), map[i].type, "anthropic_error_type");

	char *s = anthropic_error_json("not_found_error", "model: claude-x");
	is_str(s, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model: claude-x\"}}",
	       "anthropic_error_json");
	free(s);
	s = anthropic_error_json(NULL, NULL);
	is_str(s, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"\"}}", "anthropic_error_json defaults");
	free(s);

	const char *ab = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Number of requests has exceeded your rate limit\"},"
			 "\"request_id\":\"req_011\"}";
	s = anthropic_error_to_oai(ab, strlen(ab), 429);
	is_str(s, "{\"error\":{\"message\":\"Number of requests has exceeded your rate limit\",\"type\":\"rate_limit_error\","
	       "\"param\":null,\"code\":\"rate_limit_error\"}}", "Anthropic error → OpenAI error");
	free(s);
	s = anthropic_error_to_oai("<html>", 6, 502);
	is_str(s, "{\"error\":{\"message\":\"The upstream answered with HTTP status 502.\",\"type\":\"upstream_error\","
	       "\"param\":null,\"code\":null}}", "garbage error body → generic OpenAI error");
	free(s);
	const char *ob = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";
	s = anthropic_error_from_oai(ob, strlen(ob), 429);
	is_str(s, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Rate limit reached\"}}",
	       "OpenAI error → Anthropic error");
	free(s);
	s = anthropic_error_from_oai(NULL, 0, 529);
	is_str(s, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"The upstream answered with HTTP status 529.\"}}",
	       "no body → generic Anthropic error");
	free(s);
}

/* system-role messages moved into system (Claude Code's environment block) */
static void test_hoist_system(void)
{
	static const struct {
		const char *name, *in, *want, *want_err;
	} cases[] = {
		{ "nothing to move", "{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
		  "{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL },
		{ "strings stay a string, in order",
		  "{\"system\":\"S\",\"messages\":[{\"role\":\"system\",\"content\":\"A\"},{\"role\":\"user\",\"content\":\"hi\"},"
		  "{\"role\":\"system\",\"content\":\"B\"}]}",
		  "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"system\":\"S\\n\\nA\\n\\nB\"}", NULL },
		{ "no system before", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"E\"}]}",
		  "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"system\":\"E\"}", NULL },
		{ "blocks kept with cache_control",
		  "{\"system\":[{\"type\":\"text\",\"text\":\"S\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
		  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"E\"}]}",
		  "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"system\":[{\"type\":\"text\",\"text\":\"S\","
		  "\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"text\",\"text\":\"E\"}]}", NULL },
		{ "empty text dropped", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"\"}]}",
		  "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL },
		{ "an image is refused", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\",\"content\":"
		  "[{\"type\":\"image\"}]}]}", NULL, "messages[1]" },
		{ "a bad system is refused", "{\"system\":7,\"messages\":[{\"role\":\"system\",\"content\":\"E\"}]}", NULL,
		  "system must be" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		cJSON *in = cJSON_Parse(cases[i].in);
		int rc = anthropic_request_hoist_system(in, err, sizeof(err));
		if (cases[i].want) {
			char *s = cJSON_PrintUnformatted(in);
			is_int(rc, 0, cases[i].name);
			is_str(s, cases[i].want, cases[i].name);
			free(s);
		} else {
			is_int(rc, -1, cases[i].name);
			if (!ok(contains(err, cases[i].want_err), "message for: %s", cases[i].name))
				diag("  err: %s", err);
		}
		cJSON_Delete(in);
	}
}

int main(void)
{
	test_request_from_oai();
	test_response_to_oai();
	test_stream_to_oai();
	test_request_to_oai();
	test_hoist_system();
	test_response_from_oai();
	test_stream_from_oai();
	test_errors();
	return done_testing();
}
