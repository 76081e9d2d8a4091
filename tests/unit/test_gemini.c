/* test_gemini.c — OpenAI chat <-> Gemini generateContent. */
#include "autoconf.h"
#include "gemini.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------ path */

static void test_path(void)
{
	char p[128];
	ok(gemini_path(p, sizeof(p), "gemini-2.5-flash", 0) == 0 && !strcmp(p, "/models/gemini-2.5-flash:generateContent"),
	   "path: generateContent");
	ok(gemini_path(p, sizeof(p), "models/gemini-2.5-pro", 1) == 0 &&
	   !strcmp(p, "/models/gemini-2.5-pro:streamGenerateContent?alt=sse"), "path: stream, models/ prefix dropped");
	is_int(gemini_path(p, sizeof(p), "../x", 0), -1, "path: '/' refused");
	is_int(gemini_path(p, sizeof(p), "a?b", 0), -1, "path: '?' refused");
	is_int(gemini_path(p, sizeof(p), "", 0), -1, "path: empty refused");
	is_int(gemini_path(p, 10, "gemini-2.5-flash", 0), -1, "path: too long for the buffer");
}

/* ------------------------------------------------------------ request */

#define TOOL_OAI "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Get the weather\"," \
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]," \
	"\"additionalProperties\":false}}}"
#define TOOL_GEM "[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Get the weather\"," \
	"\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]," \
	"\"additionalProperties\":false}}]}]"
#define HI "[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define HI_GEM "[{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"}]}]"
#define CALL1 "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\"," \
	"\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}"

struct req_case {
	const char *name;
	const char *in;
	const char *want;
	const char *want_err;
};

static const struct req_case req_cases[] = {
	{ "plain user message", "{\"model\":\"g\",\"messages\":" HI "}", "{\"contents\":" HI_GEM "}", NULL },
	{ "one system prompt and generationConfig",
	  "{\"model\":\"g\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
	  "\"temperature\":0.7,\"top_p\":0.9,\"max_tokens\":100,\"stop\":\"END\",\"n\":2,\"stream\":true}",
	  "{\"contents\":" HI_GEM ",\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},"
	  "\"generationConfig\":{\"temperature\":0.7,\"topP\":0.9,\"maxOutputTokens\":100,\"stopSequences\":[\"END\"],"
	  "\"candidateCount\":2}}", NULL },
	{ "several system prompts and developer role joined",
	  "{\"messages\":[{\"role\":\"system\",\"content\":\"A\"},{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"B\"}]},"
	  "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"system\",\"content\":\"C\"}]}",
	  "{\"contents\":" HI_GEM ",\"systemInstruction\":{\"parts\":[{\"text\":\"A\\n\\nB\\n\\nC\"}]}}", NULL },
	{ "multi-part content: data: image inline, http image as fileData",
	  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Compare\"},"
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
	  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/b.PNG?size=2\"}},"
	  "{\"type\":\"image_url\",\"image_url\":\"http://example.com/c\"}]}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Compare\"},"
	  "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
	  "{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":\"https://example.com/b.PNG?size=2\"}},"
	  "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":\"http://example.com/c\"}}]}]}", NULL },
	{ "audio and file parts inline",
	  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGR\",\"format\":\"wav\"}},"
	  "{\"type\":\"file\",\"file\":{\"filename\":\"a.pdf\",\"file_data\":\"data:application/pdf;base64,JVBERi0\"}}]}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"UklGR\"}},"
	  "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBERi0\"}}]}]}", NULL },
	{ "tool calls across turns: functionCall, functionResponse merged with the next user turn",
	  "{\"tools\":[" TOOL_OAI "],\"tool_choice\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
	  CALL1 ",{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"temp\\\":18}\"},"
	  "{\"role\":\"user\",\"content\":\"And tomorrow?\"}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Paris?\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"temp\":18}}},"
	  "{\"text\":\"And tomorrow?\"}]}],\"tools\":" TOOL_GEM ",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}}", NULL },
	{ "a tool result that is not a JSON object goes under output; text parts joined",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"w?\"}," CALL1 ","
	  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":[{\"type\":\"text\",\"text\":\"sunny, \"},{\"type\":\"text\",\"text\":\"18C\"}]}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"w?\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"output\":\"sunny, 18C\"}}}]}]}", NULL },
	{ "the name comes from the nearest earlier call with that id; two calls, two responses",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	  "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"function\",\"function\":{\"name\":\"old\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"1\"},{\"role\":\"user\",\"content\":\"b\"},"
	  "{\"role\":\"assistant\",\"content\":\"Two.\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"function\",\"function\":{\"name\":\"new\",\"arguments\":\"\"}},"
	  "{\"id\":\"y\",\"type\":\"function\",\"function\":{\"name\":\"other\",\"arguments\":\"{\\\"k\\\":[1,2]}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"2\"},{\"role\":\"tool\",\"tool_call_id\":\"y\",\"content\":\"3\"}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"old\",\"args\":{}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"old\",\"response\":{\"output\":\"1\"}}},{\"text\":\"b\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"text\":\"Two.\"},{\"functionCall\":{\"name\":\"new\",\"args\":{}}},"
	  "{\"functionCall\":{\"name\":\"other\",\"args\":{\"k\":[1,2]}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"new\",\"response\":{\"output\":\"2\"}}},"
	  "{\"functionResponse\":{\"name\":\"other\",\"response\":{\"output\":\"3\"}}}]}]}", NULL },
	{ "a thought signature carried in the tool call id goes back on the part",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_0_1a2b3c4d"
	  GEMINI_SIG_SEP "CiQBjz1rX2sig==\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"call_0_1a2b3c4d" GEMINI_SIG_SEP "CiQBjz1rX2sig==\",\"content\":\"{}\"}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}},\"thoughtSignature\":\"CiQBjz1rX2sig==\"}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{}}}]}]}", NULL },
	{ "tool_choice none", "{\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"none\"}",
	  "{\"contents\":" HI_GEM ",\"tools\":" TOOL_GEM ",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"NONE\"}}}", NULL },
	{ "tool_choice required", "{\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":\"required\"}",
	  "{\"contents\":" HI_GEM ",\"tools\":" TOOL_GEM ",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\"}}}", NULL },
	{ "tool_choice naming a function",
	  "{\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}",
	  "{\"contents\":" HI_GEM ",\"tools\":" TOOL_GEM ",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\","
	  "\"allowedFunctionNames\":[\"get_weather\"]}}}", NULL },
	{ "tool without parameters",
	  "{\"messages\":" HI ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"now\"}}]}",
	  "{\"contents\":" HI_GEM ",\"tools\":[{\"functionDeclarations\":[{\"name\":\"now\"}]}]}", NULL },
	{ "consecutive same-role turns merged, empty text skipped",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
	  "{\"role\":\"assistant\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"d\"}]}",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"},{\"text\":\"b\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"text\":\"c\"},{\"text\":\"d\"}]}]}", NULL },
	{ "max_completion_tokens wins; stop array; penalties, seed, json_schema",
	  "{\"messages\":" HI ",\"max_tokens\":5,\"max_completion_tokens\":64,\"stop\":[\"x\",\"\",\"y\"],"
	  "\"presence_penalty\":0.5,\"frequency_penalty\":0.25,\"seed\":42,\"n\":1,"
	  "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":{\"type\":\"object\"}}}}",
	  "{\"contents\":" HI_GEM ",\"generationConfig\":{\"maxOutputTokens\":64,\"stopSequences\":[\"x\",\"y\"],"
	  "\"presencePenalty\":0.5,\"frequencyPenalty\":0.25,\"seed\":42,\"responseMimeType\":\"application/json\","
	  "\"responseJsonSchema\":{\"type\":\"object\"}}}", NULL },
	{ "json_object", "{\"messages\":" HI ",\"response_format\":{\"type\":\"json_object\"}}",
	  "{\"contents\":" HI_GEM ",\"generationConfig\":{\"responseMimeType\":\"application/json\"}}", NULL },
	/* malformed */
	{ "not an object", "[]", NULL, "must be a JSON object" },
	{ "messages missing", "{\"model\":\"g\"}", NULL, "'messages' must be a non-empty array" },
	{ "messages empty", "{\"messages\":[]}", NULL, "'messages' must be a non-empty array" },
	{ "bad arguments JSON",
	  "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	  "\"arguments\":\"{oops\"}}]}]}", NULL, "messages[0].tool_calls[0].function.arguments is not a JSON object" },
	{ "tool result for an unknown call",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"1\"}]}",
	  NULL, "messages[1].tool_call_id 'nope' matches no earlier tool call" },
	{ "tool message without tool_call_id", "{\"messages\":[{\"role\":\"tool\",\"content\":\"1\"}]}", NULL,
	  "tool_call_id is missing" },
	{ "unknown role", "{\"messages\":[{\"role\":\"function\",\"content\":\"1\"}]}", NULL, "role 'function' is not supported" },
	{ "unsupported part", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video_url\"}]}]}", NULL,
	  "content part type 'video_url' is not supported" },
	{ "file by id", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_id\":\"f1\"}}]}]}", NULL,
	  "only files sent as file_data" },
	{ "image of another scheme",
	  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://a/b.png\"}}]}]}", NULL,
	  "must be a data: or http(s) URL" },
	{ "data: URL without base64",
	  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,xx\"}}]}]}",
	  NULL, "only base64 data: URLs" },
	{ "file_data shorter than \"data:\" (read past its end before)",
	  "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\",\"file\":{\"file_data\":\"dat\"}}]}]}", NULL,
	  "only base64 data: URLs with a media type" },
	{ "only a system prompt", "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", NULL, "no user or assistant content" },
	{ "n too large", "{\"messages\":" HI ",\"n\":9}", NULL, "n must be an integer from 1 to 8" },
	{ "max_tokens zero", "{\"messages\":" HI ",\"max_tokens\":0}", NULL, "max_tokens must be a positive integer" },
	{ "bad tool_choice", "{\"messages\":" HI ",\"tools\":[" TOOL_OAI "],\"tool_choice\":5}", NULL, "tool_choice must be" },
	{ "bad stop", "{\"messages\":" HI ",\"stop\":{}}", NULL, "stop must be a string or an array of strings" },
	{ "bad tools", "{\"messages\":" HI ",\"tools\":{}}", NULL, "tools must be an array" },
};

static void test_request(void)
{
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		char err[256] = "";
		cJSON *in = cJSON_Parse(c->in);
		ok(in != NULL, "input parses: %s", c->name);
		char *got = gemini_request_from_oai(in, err, sizeof(err));
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
}

/* ------------------------------------------------------------ response */

struct resp_case {
	const char *name;
	const char *in;
	const char *want;
	const char *want_err;
	struct usage u;
};

static const struct resp_case resp_cases[] = {
	{ "text answer",
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The old \"},{\"text\":\"lighthouse.\"}],\"role\":\"model\"},"
	  "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":12,"
	  "\"totalTokenCount\":20},\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"rid1\"}",
	  "{\"id\":\"chatcmpl-rid1\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"The old lighthouse.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
	  "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":12,\"total_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL, { 8, 12, 0, 0, 1 } },
	{ "thoughts, cached content, thoughts tokens",
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me think.\",\"thought\":true},{\"text\":\"42\",\"thoughtSignature\":\"s\"}],"
	  "\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":50,\"candidatesTokenCount\":10,"
	  "\"thoughtsTokenCount\":30,\"cachedContentTokenCount\":5,\"totalTokenCount\":90},\"responseId\":\"rid2\"}",
	  "{\"id\":\"chatcmpl-rid2\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"42\",\"reasoning_content\":\"Let me think.\"},\"logprobs\":null,"
	  "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":40,\"total_tokens\":90,"
	  "\"prompt_tokens_details\":{\"cached_tokens\":5},\"completion_tokens_details\":{\"reasoning_tokens\":30}}}", NULL,
	  { 50, 40, 5, 30, 1 } },
	{ "functionCall with Gemini's own id → tool_calls, content null",
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"id\":\"fc_1\",\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}],"
	  "\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":20,\"candidatesTokenCount\":5,"
	  "\"toolUsePromptTokenCount\":3},\"responseId\":\"rid3\"}",
	  "{\"id\":\"chatcmpl-rid3\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"fc_1\",\"type\":\"function\","
	  "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"logprobs\":null,"
	  "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":23,\"completion_tokens\":5,\"total_tokens\":28,"
	  "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL,
	  { 23, 5, 0, 0, 1 } },
	{ "MAX_TOKENS → length",
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"cut\"}]},\"finishReason\":\"MAX_TOKENS\"}],\"responseId\":\"r\"}",
	  "{\"id\":\"chatcmpl-r\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"cut\"},\"logprobs\":null,\"finish_reason\":\"length\"}],"
	  "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL, { 0, 0, 0, 0, 0 } },
	{ "SAFETY with no content → content_filter",
	  "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0,\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
	  "\"probability\":\"HIGH\",\"blocked\":true}]}],\"usageMetadata\":{\"promptTokenCount\":7,\"totalTokenCount\":7},\"responseId\":\"r\"}",
	  "{\"id\":\"chatcmpl-r\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
	  "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":0,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL, { 7, 0, 0, 0, 1 } },
	{ "blocked prompt: promptFeedback.blockReason, no candidates → content_filter, not an error",
	  "{\"promptFeedback\":{\"blockReason\":\"SAFETY\",\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\","
	  "\"probability\":\"HIGH\"}]},\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9},\"responseId\":\"rb\"}",
	  "{\"id\":\"chatcmpl-rb\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
	  "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":0,\"total_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL, { 9, 0, 0, 0, 1 } },
	{ "two candidates → two choices",
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]},\"finishReason\":\"STOP\",\"index\":0},"
	  "{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"finishReason\":\"RECITATION\",\"index\":1}],\"responseId\":\"r2\"}",
	  "{\"id\":\"chatcmpl-r2\",\"object\":\"chat.completion\",\"model\":\"my-gemini\",\"choices\":[{\"index\":0,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"A\"},\"logprobs\":null,\"finish_reason\":\"stop\"},{\"index\":1,"
	  "\"message\":{\"role\":\"assistant\",\"content\":\"B\"},\"logprobs\":null,\"finish_reason\":\"content_filter\"}],"
	  "\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0,\"prompt_tokens_details\":{\"cached_tokens\":0},"
	  "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", NULL, { 0, 0, 0, 0, 0 } },
	{ "an error body",
	  "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
	  NULL, "upstream error: RESOURCE_EXHAUSTED: Resource has been exhausted", { 0, 0, 0, 0, 0 } },
	{ "not JSON", "Bad Gateway", NULL, "not a JSON object", { 0, 0, 0, 0, 0 } },
};

static void test_response(void)
{
	for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		const struct resp_case *c = &resp_cases[i];
		char err[256] = "";
		struct usage u = { -1, -1, -1, -1, -1 };
		char *got = gemini_response_to_oai(c->in, strlen(c->in), "my-gemini", &u, err, sizeof(err));
		if (c->want) {
			char *n = norm(got);
			is_str(n, c->want, c->name);
			ok(u.prompt == c->u.prompt && u.completion == c->u.completion && u.cached == c->u.cached &&
			   u.reasoning == c->u.reasoning && u.reported == c->u.reported, "struct usage: %s", c->name);
			free(n);
		} else {
			ok(got == NULL, "NULL for: %s", c->name);
			if (!ok(contains(err, c->want_err), "message for: %s", c->name))
				diag("  err: %s", err);
		}
		free(got);
	}

	/* generated ids: distinct per call, stable for the same response, signature carried */
	const char *in = "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{}}},"
			 "{\"functionCall\":{\"name\":\"b\",\"args\":{\"x\":1}},\"thoughtSignature\":\"SIG/+=\"}]},"
			 "\"finishReason\":\"STOP\"}],\"responseId\":\"zz\"}";
	char *got = gemini_response_to_oai(in, strlen(in), "g", NULL, NULL, 0);
	char *again = gemini_response_to_oai(in, strlen(in), "g", NULL, NULL, 0);
	cJSON *j = cJSON_Parse(got);
	const cJSON *tcs = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0),
								   "message"), "tool_calls");
	const char *id0 = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(tcs, 0), "id"));
	const char *id1 = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(tcs, 1), "id"));
	ok(id0 && !strncmp(id0, "call_0_", 7) && !strstr(id0, GEMINI_SIG_SEP), "generated id call_0_...");
	ok(id1 && !strncmp(id1, "call_1_", 7) && contains(id1, GEMINI_SIG_SEP "SIG/+="), "signature carried in the id");
	ok(got && again && !strcmp(strstr(got, "\"choices\""), strstr(again, "\"choices\"")), "ids stable for one response");
	cJSON_Delete(j);
	free(got);
	free(again);
}

/* ------------------------------------------------------------ stream */

static int run(struct gemini_to_oai *s, const char *const *data, size_t n, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = gemini_to_oai_feed(s, data[i], strlen(data[i]), out);
	return rc;
}

#define CH(delta, finish) "data: {\"id\":\"chatcmpl-tTCwacuEBMvnitYP06qsgQY\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1700000000,\"model\":\"my-gemini\",\"choices\":[{\"index\":0,\"delta\":" delta \
	",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

/* A real-world stream: usage without counts until the end, and a last
 * event with an empty text part carrying only a thought signature. */
static const char *const text_stream[] = {
	"{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"Hello!\"}]}}],\"usageMetadata\": "
	"{\"trafficType\": \"ON_DEMAND\"},\"modelVersion\": \"gemini-3.1-flash-lite-preview\",\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	"{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \" How can I help you today\"}]}}],"
	"\"modelVersion\": \"gemini-3.1-flash-lite-preview\",\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	"{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"?\"}]}}],"
	"\"modelVersion\": \"gemini-3.1-flash-lite-preview\",\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	"{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"\",\"thoughtSignature\": \"AY89a18iOcFu\"}]},"
	"\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 1,\"candidatesTokenCount\": 9,\"totalTokenCount\": 10,"
	"\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 1}]},\"modelVersion\": \"gemini-3.1-flash-lite-preview\","
	"\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
};

static const char text_want[] =
	CH("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	CH("{\"content\":\"Hello!\"}", "null")
	CH("{\"content\":\" How can I help you today\"}", "null")
	CH("{\"content\":\"?\"}", "null")
	CH("{}", "\"stop\"")
	"data: {\"id\":\"chatcmpl-tTCwacuEBMvnitYP06qsgQY\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
	"\"model\":\"my-gemini\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":9,\"total_tokens\":10,"
	"\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
	"data: [DONE]\n\n";

#undef CH
#define CH(delta, finish) "data: {\"id\":\"chatcmpl-r9\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1,\"model\":\"g\",\"choices\":[{\"index\":0,\"delta\":" delta \
	",\"logprobs\":null,\"finish_reason\":" finish "}]}\n\n"

static const char *const tool_stream[] = {
	"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Considering the city.\",\"thought\":true}]}}],"
	"\"responseId\":\"r9\"}",
	"{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"id\":\"fc9\",\"name\":\"get_weather\","
	"\"args\":{\"city\":\"Paris\"}}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":30,"
	"\"candidatesTokenCount\":6,\"thoughtsTokenCount\":12,\"cachedContentTokenCount\":16,\"totalTokenCount\":48},\"responseId\":\"r9\"}",
};

static const char tool_want[] =
	CH("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	CH("{\"reasoning_content\":\"Considering the city.\"}", "null")
	CH("{\"tool_calls\":[{\"index\":0,\"id\":\"fc9\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	   "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}", "null")
	CH("{}", "\"tool_calls\"")
	"data: [DONE]\n\n";

#undef CH

static void test_stream(void)
{
	struct gemini_to_oai s;
	struct buf out;
	int rc;

	buf_init(&out, BUF_CAP_DEFAULT);
	gemini_to_oai_init(&s, "my-gemini", 1);
	s.created = 1700000000;
	rc = run(&s, text_stream, 4, &out);
	is_int(rc, 0, "text stream fed");
	is_int(gemini_to_oai_finish(&s, &out), 1, "text stream: finish completes");
	is_str(buf_str(&out), text_want, "text stream: role, content, finish, usage chunk, [DONE]");
	ok(s.usage.prompt == 1 && s.usage.completion == 9 && s.usage.reported, "text stream: usage from the last event");
	buf_reset(&out);
	ok(gemini_to_oai_finish(&s, &out) == 1 && out.len == 0, "finish twice: nothing more");

	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	s.created = 1;
	rc = run(&s, tool_stream, 2, &out);
	is_int(rc, 0, "tool stream fed");
	is_int(gemini_to_oai_finish(&s, &out), 1, "tool stream: finish completes");
	is_str(buf_str(&out), tool_want, "tool stream: thought → reasoning, functionCall → one tool_calls delta, tool_calls finish");
	ok(s.usage.prompt == 30 && s.usage.completion == 18 && s.usage.cached == 16 && s.usage.reasoning == 12,
	   "tool stream usage: thoughts counted as completion and reasoning, cached content");

	/* blocked prompt */
	static const char *const blocked[] = {
		"{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":4,\"totalTokenCount\":4},"
		"\"responseId\":\"rb\"}",
	};
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	s.created = 1;
	rc = run(&s, blocked, 1, &out);
	is_int(rc, 0, "blocked stream fed");
	is_int(gemini_to_oai_finish(&s, &out), 1, "blocked stream completes");
	is_str(buf_str(&out),
	       "data: {\"id\":\"chatcmpl-rb\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"g\",\"choices\":[{\"index\":0,"
	       "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
	       "data: {\"id\":\"chatcmpl-rb\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"g\",\"choices\":[{\"index\":0,"
	       "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"content_filter\"}]}\n\n"
	       "data: [DONE]\n\n", "blocked stream: role, content_filter, [DONE]");

	/* finishReason SAFETY after some text */
	static const char *const safety[] = {
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Well\"}]}}]}",
		"{\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":\"SAFETY\"}]}",
	};
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	rc = run(&s, safety, 2, &out);
	ok(rc == 0 && gemini_to_oai_finish(&s, &out) == 1 &&
	   contains(buf_str(&out), "\"finish_reason\":\"content_filter\"") && contains(buf_str(&out), "\"id\":\"chatcmpl-gemini\""),
	   "SAFETY mid-stream → content_filter; default id without responseId");

	/* two candidates */
	static const char *const two[] = {
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]},\"index\":0},{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"index\":1}]}",
		"{\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":\"STOP\",\"index\":0},"
		"{\"content\":{\"parts\":[]},\"finishReason\":\"MAX_TOKENS\",\"index\":1}]}",
	};
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	rc = run(&s, two, 2, &out);
	ok(rc == 0 && gemini_to_oai_finish(&s, &out) == 1 &&
	   contains(buf_str(&out), "\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}") &&
	   contains(buf_str(&out), "\"index\":1,\"delta\":{\"content\":\"B\"}") &&
	   contains(buf_str(&out), "\"index\":1,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\""),
	   "two candidates: a choice each");

	/* cut stream: text, no finishReason */
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	rc = run(&s, safety, 1, &out);
	buf_reset(&out);
	rc = gemini_to_oai_finish(&s, &out);
	ok(rc == -1 && contains(buf_str(&out), "\"code\":\"stream_interrupted\"") && !contains(buf_str(&out), "[DONE]"),
	   "cut stream: -1, error event, no [DONE]");

	/* empty stream */
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	rc = gemini_to_oai_finish(&s, &out);
	ok(rc == -1 && !s.started && contains(s.error, "without an answer"), "empty stream: -1, never started");

	/* error object in the stream */
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	const char *ev = "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}";
	rc = gemini_to_oai_feed(&s, ev, strlen(ev), &out);
	is_int(rc, -1, "error event: -1");
	is_str(buf_str(&out), "data: {\"error\":{\"message\":\"The model is overloaded. Please try again later.\","
	       "\"type\":\"upstream_error\",\"param\":null,\"code\":\"UNAVAILABLE\"}}\n\n", "error event: OpenAI error event");
	buf_reset(&out);
	ok(gemini_to_oai_feed(&s, "{}", 2, &out) == -1 && gemini_to_oai_finish(&s, &out) == -1 && out.len == 0,
	   "after an error: nothing more");

	/* not JSON */
	buf_reset(&out);
	gemini_to_oai_init(&s, "g", 0);
	rc = gemini_to_oai_feed(&s, "[{\"candidates\"", 14, &out);
	ok(rc == -1 && contains(buf_str(&out), "bad_upstream_event"), "not JSON: -1");

	/* out over its cap */
	struct buf tiny;
	buf_init(&tiny, 32);
	gemini_to_oai_init(&s, "g", 0);
	rc = gemini_to_oai_feed(&s, text_stream[0], strlen(text_stream[0]), &tiny);
	ok(rc == -1 && s.failed, "out over its cap: -1");
	buf_free(&tiny);

	buf_free(&out);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
	static const struct { int code; const char *status; } map[] = {
		{ 400, "INVALID_ARGUMENT" }, { 401, "UNAUTHENTICATED" }, { 403, "PERMISSION_DENIED" }, { 404, "NOT_FOUND" },
		{ 429, "RESOURCE_EXHAUSTED" }, { 500, "INTERNAL" }, { 503, "UNAVAILABLE" }, { 504, "DEADLINE_EXCEEDED" },
		{ 413, "INVALID_ARGUMENT" }, { 502, "INTERNAL" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		is_str(gemini_error_status(map[i].code), map[i].status, "gemini_error_status");

	char *s = gemini_error_json(404, "models/nope is not found for API version v1beta");
	is_str(s, "{\"error\":{\"code\":404,\"message\":\"models/nope is not found for API version v1beta\",\"status\":\"NOT_FOUND\"}}",
	       "gemini_error_json");
	free(s);

	const char *bad_key = "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
			      "\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
			      "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}";
	s = gemini_error_to_oai(bad_key, strlen(bad_key), 400);
	is_str(s, "{\"error\":{\"message\":\"API key not valid. Please pass a valid API key.\",\"type\":\"invalid_request_error\","
	       "\"param\":null,\"code\":\"INVALID_ARGUMENT\"}}", "Gemini error → OpenAI error");
	free(s);
	is_int(gemini_error_key_invalid(bad_key, strlen(bad_key)), 1, "API_KEY_INVALID recognised");
	const char *quota = "[{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":\"RESOURCE_EXHAUSTED\"}}]";
	is_int(gemini_error_key_invalid(quota, strlen(quota)), 0, "quota error is not a bad key");
	s = gemini_error_to_oai(quota, strlen(quota), 429);
	is_str(s, "{\"error\":{\"message\":\"Quota exceeded\",\"type\":\"rate_limit_error\",\"param\":null,"
	       "\"code\":\"RESOURCE_EXHAUSTED\"}}", "array-wrapped Gemini error → OpenAI error");
	free(s);
	s = gemini_error_to_oai("", 0, 500);
	is_str(s, "{\"error\":{\"message\":\"The upstream answered with HTTP status 500.\",\"type\":\"server_error\","
	       "\"param\":null,\"code\":null}}", "empty body → generic OpenAI error");
	free(s);
	is_int(gemini_error_key_invalid("x", 1), 0, "garbage is not a bad key");

	const char *retry = "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota\",\"status\":\"RESOURCE_EXHAUSTED\","
			    "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[]},"
			    "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"6.2s\"}]}}";
	is_int(gemini_error_retry_after(retry, strlen(retry)), 7, "RetryInfo 6.2s → 7");
	is_int(gemini_error_retry_after(quota, strlen(quota)), -1, "no RetryInfo → -1");
	const char *odd = "{\"error\":{\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"soon\"}]}}";
	is_int(gemini_error_retry_after(odd, strlen(odd)), -1, "unparsable retryDelay → -1");
}

int main(void)
{
	test_path();
	test_request();
	test_response();
	test_stream();
	test_errors();
	return done_testing();
}
