/* test_gemini_in.c — Gemini's API as a client dialect (gemini_in.c):
 * requests to the internal chat form (exact output, and refusals with
 * their reasons), chat answers to GenerateContentResponse, the stream
 * encoder (SSE and JSON-array forms, gathered tool calls, usage, errors)
 * and the countTokens estimate. */
#include "autoconf.h"
#include "gemini_in.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

struct req_case {
	const char *name;
	const char *in;
	int stream;
	const char *want;       /* exact output, or NULL when refused */
	const char *why;        /* a word of the refusal */
};

static const struct req_case req_cases[] = {
	{ "text, system, generation config",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"ctx\"},{\"text\":\"Hi\"}]}],"
	  "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"}]},\"safetySettings\":[],"
	  "\"generationConfig\":{\"temperature\":0.5,\"topP\":0.9,\"topK\":40,\"maxOutputTokens\":64,"
	  "\"stopSequences\":[\"END\"],\"candidateCount\":2,\"seed\":7}}", 1,
	  "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"ctx\\n\\nHi\"}],"
	  "\"temperature\":0.5,\"top_p\":0.9,\"seed\":7,\"max_completion_tokens\":64,\"n\":2,\"stop\":[\"END\"],"
	  "\"stream\":true,\"stream_options\":{\"include_usage\":true}}", NULL },
	{ "a tool round trip as gemini-cli sends it (ids, thought signature, thoughts dropped)",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"write\"}]},"
	  "{\"role\":\"model\",\"parts\":[{\"text\":\"hmm\",\"thought\":true},{\"functionCall\":{\"id\":\"w_1\",\"name\":\"write_file\","
	  "\"args\":{\"file_path\":\"/t/a\"}},\"thoughtSignature\":\"skip_thought_signature_validator\"}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"id\":\"w_1\",\"name\":\"write_file\",\"response\":{\"output\":\"done\"}}}]}],"
	  "\"tools\":[{\"functionDeclarations\":[{\"name\":\"write_file\",\"description\":\"Writes\","
	  "\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"}}}}]}],"
	  "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"write_file\"]}}}", 0,
	  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"write\"},{\"role\":\"assistant\",\"content\":null,"
	  "\"tool_calls\":[{\"id\":\"w_1\",\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"arguments\":"
	  "\"{\\\"file_path\\\":\\\"/t/a\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"w_1\",\"content\":\"done\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"description\":\"Writes\",\"parameters\":"
	  "{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"}}}}}],"
	  "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"write_file\"}}}", NULL },
	{ "calls without ids matched by name; Schema types lowered; snake_case names; media",
	  "{\"contents\":[{\"parts\":[{\"text\":\"see\"},{\"inline_data\":{\"mime_type\":\"image/png\",\"data\":\"QUJD\"}}]},"
	  "{\"role\":\"model\",\"parts\":[{\"function_call\":{\"name\":\"f\",\"args\":{}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{\"a\":1}}},{\"text\":\"and?\"}]}],"
	  "\"tools\":[{\"function_declarations\":[{\"name\":\"f\",\"parameters\":{\"type\":\"OBJECT\",\"properties\":"
	  "{\"n\":{\"type\":\"INTEGER\",\"nullable\":true}}}}]}],\"tool_config\":{\"function_calling_config\":{\"mode\":\"NONE\"}},"
	  "\"generation_config\":{\"response_mime_type\":\"application/json\"}}", 0,
	  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"image_url\","
	  "\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}}]},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
	  "[{\"id\":\"call_1_0\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\","
	  "\"tool_call_id\":\"call_1_0\",\"content\":\"{\\\"a\\\":1}\"},{\"role\":\"user\",\"content\":\"and?\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":"
	  "{\"n\":{\"type\":[\"integer\",\"null\"]}}}}}],\"tool_choice\":\"none\",\"response_format\":{\"type\":\"json_object\"}}", NULL },
	{ "signed thoughts (from Anthropic, through the gateway) go back as thinking_blocks",
	  "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"q\"}]},{\"role\":\"model\",\"parts\":["
	  "{\"text\":\"Let me\",\"thought\":true},{\"text\":\" think.\",\"thought\":true},{\"text\":\"\",\"thought\":true,"
	  "\"thoughtSignature\":\"SIG\"},{\"functionCall\":{\"id\":\"c1\",\"name\":\"f\",\"args\":{}}}]},"
	  "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"id\":\"c1\",\"name\":\"f\",\"response\":{\"output\":\"r\"}}}]}]}", 0,
	  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null,"
	  "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}],"
	  "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"SIG\"}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}]}", NULL },
	{ "responseSchema to a JSON schema",
	  "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"responseMimeType\":\"application/json\","
	  "\"responseSchema\":{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\"}}}}", 0,
	  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
	  "\"json_schema\":{\"name\":\"response\",\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}", NULL },
	{ "unknown member", "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"bogus\":1}", 0, NULL, "bogus" },
	{ "no contents", "{\"contents\":[]}", 0, NULL, "contents" },
	{ "a built-in tool", "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{\"googleSearch\":{}}]}", 0, NULL,
	  "googleSearch" },
	{ "cachedContent", "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"cachedContent\":\"c/1\"}", 0, NULL, "cachedContent" },
	{ "a response nobody asked for",
	  "{\"contents\":[{\"parts\":[{\"functionResponse\":{\"name\":\"f\",\"response\":{}}}]}]}", 0, NULL, "functionResponse" },
	{ "an unknown role", "{\"contents\":[{\"role\":\"system\",\"parts\":[{\"text\":\"x\"}]}]}", 0, NULL, "role" },
	{ "an unknown part", "{\"contents\":[{\"parts\":[{\"executableCode\":{}}]}]}", 0, NULL, "part" },
	{ "args not an object",
	  "{\"contents\":[{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":[1]}}]}]}", 0, NULL, "args" },
	{ "a wrong type in generationConfig",
	  "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"temperature\":\"hot\"}}", 0, NULL, "temperature" },
	{ "a bad mode", "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"SOMETIMES\"}}}",
	  0, NULL, "mode" },
	{ "not an object", "[1]", 0, NULL, "object" },
};

static void requests(void)
{
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		char err[256] = "";
		cJSON *in = cJSON_Parse(c->in);
		ok(in != NULL, "%s: test input parses", c->name);
		cJSON *o = gemini_in_request_to_oai(in, "m", c->stream, err, sizeof(err));
		char *got = o ? cJSON_PrintUnformatted(o) : NULL;
		if (c->want)
			is_str(got, c->want, c->name);
		else
			ok(!got && strstr(err, c->why), "%s refused: %s", c->name, err);
		free(got);
		cJSON_Delete(o);
		cJSON_Delete(in);
	}
}

static void answers(void)
{
	char err[128];
	const char *oai = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
			  "\"assistant\",\"content\":\"Hi\",\"reasoning_content\":\"think\",\"tool_calls\":[{\"id\":\"c1\",\"type\":"
			  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
			  "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":4},"
			  "\"completion_tokens_details\":{\"reasoning_tokens\":3}}}";
	char *g = gemini_in_response_from_oai(oai, strlen(oai), "deepseek-chat", 1, err, sizeof(err));
	is_str(g, "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"think\",\"thought\":true},{\"text\":\"Hi\"},"
		  "{\"functionCall\":{\"id\":\"c1\",\"name\":\"f\",\"args\":{\"a\":1}}}]},\"finishReason\":\"STOP\",\"index\":0}],"
		  "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":4,\"thoughtsTokenCount\":3,"
		  "\"cachedContentTokenCount\":4,\"totalTokenCount\":17},\"modelVersion\":\"deepseek-chat\",\"responseId\":\"chatcmpl-1\"}",
	       "a chat completion with thoughts, text and a call");
	free(g);
	g = gemini_in_response_from_oai(oai, strlen(oai), "m", 0, err, sizeof(err));
	ok(g && !strstr(g, "\"thought\""), "thoughts left out unless includeThoughts");
	free(g);
	const char *signed_ = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"A\",\"reasoning_content\":\"hm\","
			      "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"SIG\"}]},\"finish_reason\":\"stop\"}]}";
	g = gemini_in_response_from_oai(signed_, strlen(signed_), "m", 1, err, sizeof(err));
	ok(g && strstr(g, "{\"text\":\"hm\",\"thought\":true,\"thoughtSignature\":\"SIG\"}"), "Anthropic's signature on the thought part");
	free(g);
	const char *len = "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"cut\"},\"finish_reason\":\"length\"}]}";
	g = gemini_in_response_from_oai(len, strlen(len), "m", 0, err, sizeof(err));
	ok(g && strstr(g, "\"finishReason\":\"MAX_TOKENS\""), "length is MAX_TOKENS");
	free(g);
	ok(!gemini_in_response_from_oai("{\"error\":{}}", 12, "m", 0, err, sizeof(err)), "an error object is no answer");
}

static const char *const events[] = {
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}",
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}",
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":2}\"}}]}}]}",
	"{\"id\":\"c9\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
	"{\"id\":\"c9\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
	"[DONE]",
};

static void stream(int array)
{
	struct gemini_in_stream s;
	struct buf out;
	buf_init(&out, 1 << 20);
	gemini_in_stream_init(&s, "m", 0, array);
	int rc = 0;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		rc = gemini_in_stream_feed(&s, NULL, events[i], strlen(events[i]), &out);
	is_int(rc, 1, "[DONE] completes the stream");
	const char *sep = array ? ",\r\n" : "\r\n\r\ndata: ";
	char want[2048];
	snprintf(want, sizeof(want), "%s{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}],"
		 "\"modelVersion\":\"m\",\"responseId\":\"c9\"}%s{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
		 "[{\"functionCall\":{\"id\":\"c1\",\"name\":\"f\",\"args\":{\"a\":2}}}]},\"finishReason\":\"STOP\",\"index\":0}],"
		 "\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":2,\"totalTokenCount\":7},"
		 "\"modelVersion\":\"m\",\"responseId\":\"c9\"}%s",
		 array ? "[" : "data: ", sep, array ? "]" : "\r\n\r\n");
	is_str(buf_str(&out), want, array ? "the JSON-array form" : "the SSE form: text, then the gathered call with usage");
	is_int(gemini_in_stream_finish(&s, "x", &out), 1, "finish after completion: complete, nothing more");
	gemini_in_stream_free(&s);
	buf_free(&out);
}

static void stream_failures(void)
{
	struct gemini_in_stream s;
	struct buf out;
	buf_init(&out, 1 << 20);
	gemini_in_stream_init(&s, "m", 1, 0);
	gemini_in_stream_feed(&s, NULL, events[1], strlen(events[1]), &out);
	ok(strstr(buf_str(&out), "\"thought\":true") != NULL, "thoughts stream when asked for");
	const char *sig = "{\"choices\":[{\"index\":0,\"delta\":{\"thinking_blocks\":[{\"type\":\"thinking\",\"signature\":\"SIG\"}]}}]}";
	buf_reset(&out);
	gemini_in_stream_feed(&s, NULL, sig, strlen(sig), &out);
	ok(strstr(buf_str(&out), "{\"text\":\"\",\"thought\":true,\"thoughtSignature\":\"SIG\"}") != NULL,
	   "a streamed signature: an empty thought part carrying it");
	buf_reset(&out);
	is_int(gemini_in_stream_finish(&s, "cut short", &out), -1, "a stream cut before its finish fails");
	ok(strstr(buf_str(&out), "\"error\":{\"code\":500,\"message\":\"cut short\"") != NULL, "... with an error event");
	gemini_in_stream_free(&s);
	buf_reset(&out);
	gemini_in_stream_init(&s, "m", 0, 1);
	const char *e = "{\"error\":{\"message\":\"boom\"}}";
	is_int(gemini_in_stream_feed(&s, NULL, e, strlen(e), &out), -1, "an upstream error event fails");
	is_str(buf_str(&out), "[{\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}]", "... closing the array");
	gemini_in_stream_free(&s);
	buf_free(&out);
}

static void estimate(void)
{
	cJSON *j = cJSON_Parse("{\"contents\":[{\"parts\":[{\"text\":\"12345678\"}]}],\"systemInstruction\":{\"parts\":[{\"text\":\"1\"}]}}");
	is_int(gemini_in_estimate(j), 3, "9 bytes of text: 3 tokens");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"generateContentRequest\":{\"model\":\"models/x\",\"contents\":[{\"parts\":[{\"text\":\"1234\"}]}]}}");
	is_int(gemini_in_estimate(j), 1, "generateContentRequest's contents counted");
	cJSON_Delete(j);
}

int main(void)
{
	requests();
	answers();
	stream(0);
	stream(1);
	stream_failures();
	estimate();
	return done_testing();
}
