/* test_responses.c — the Responses API dialect (responses.c): requests to
 * the internal chat form (exact output, and refusals with their reasons),
 * chat answers to Responses objects, and the stream encoder's events. */
#include "autoconf.h"
#include "responses.h"
#include "filter.h"
#include "tap.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

struct req_case {
	const char *name;
	const char *in;
	const char *want;       /* exact output, or NULL when refused */
	const char *why;        /* a word of the refusal */
};

static const struct req_case req_cases[] = {
	{ "string input with instructions",
	  "{\"model\":\"m\",\"instructions\":\"Be brief.\",\"input\":\"Hi\",\"max_output_tokens\":50,\"temperature\":0.5,"
	  "\"store\":false,\"metadata\":{\"a\":\"b\"},\"include\":[]}",
	  "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],"
	  "\"model\":\"m\",\"temperature\":0.5,\"max_completion_tokens\":50}", NULL },
	{ "items: parts, developer, assistant text, a tool round trip, reasoning dropped",
	  "{\"model\":\"m\",\"input\":[{\"role\":\"developer\",\"content\":\"Rules\"},"
	  "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Look\"},"
	  "{\"type\":\"input_image\",\"image_url\":\"https://i/x.png\"}]},"
	  "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Checking.\"}]},"
	  "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"},"
	  "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"ok\"}],"
	  "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":{\"type\":\"object\"},\"strict\":true}],"
	  "\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},\"parallel_tool_calls\":false,"
	  "\"reasoning\":{\"effort\":\"high\",\"summary\":\"auto\"},\"stream\":true}",
	  "{\"messages\":[{\"role\":\"system\",\"content\":\"Rules\"},{\"role\":\"user\",\"content\":["
	  "{\"type\":\"text\",\"text\":\"Look\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://i/x.png\"}}]},"
	  "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
	  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"},\"strict\":true}}],"
	  "\"model\":\"m\",\"parallel_tool_calls\":false,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
	  "\"reasoning_effort\":\"high\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}", NULL },
	{ "text.format json_schema",
	  "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"w\",\"schema\":{},\"strict\":true}}}",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":\"m\",\"response_format\":{\"type\":\"json_schema\","
	  "\"json_schema\":{\"name\":\"w\",\"schema\":{},\"strict\":true}}}", NULL },
	{ "text.format json_object",
	  "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_object\"}}}",
	  "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":\"m\",\"response_format\":{\"type\":\"json_object\"}}", NULL },
	{ "unknown item type", "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}", NULL, "item_reference" },
	{ "tool output without its call",
	  "{\"model\":\"m\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"zz\",\"output\":\"x\"}]}", NULL, "zz" },
	{ "built-in tool", "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"file_search\"}]}", NULL, "file_search" },
	{ "previous_response_id", "{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":\"resp_1\"}", NULL, "resolved before translation" },
	{ "empty input", "{\"model\":\"m\",\"input\":[]}", NULL, "input" },
	{ "bad role", "{\"model\":\"m\",\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}", NULL, "role" },
	{ "bad part", "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\"}]}]}", NULL, "input_file" },
	{ "bad stream", "{\"model\":\"m\",\"input\":\"x\",\"stream\":1}", NULL, "stream" },
	{ "bad max_output_tokens", "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":0}", NULL, "max_output_tokens" },
};

static void test_requests(void)
{
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		char err[256] = "";
		cJSON *in = cJSON_Parse(c->in);
		cJSON *out = responses_request_to_oai(in, NULL, err, sizeof(err));
		if (c->want) {
			char *s = out ? cJSON_PrintUnformatted(out) : NULL;
			is_str(s, c->want, c->name);
			if (!out)
				diag("error: %s", err);
			free(s);
		} else {
			ok(!out && strstr(err, c->why), "%s: refused (%s)", c->name, err);
		}
		cJSON_Delete(out);
		cJSON_Delete(in);
	}
}

static void test_answer(void)
{
	char err[128];
	const char *chat = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":7,\"choices\":[{\"index\":0,"
			   "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\",\"reasoning_content\":\"hm\","
			   "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
			   "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
			   "\"completion_tokens\":3,\"total_tokens\":8,\"prompt_tokens_details\":{\"cached_tokens\":2},"
			   "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}";
	char *r = responses_from_oai_answer(chat, strlen(chat), "my-model", NULL, err, sizeof(err));
	/* the response id is random (it names a stored response): checked, then masked */
	ok(r && strlen(r) > 30 && !strncmp(r, "{\"id\":\"resp_", 12) && strspn(r + 12, "0123456789abcdef") == 16 &&
	   r[28] == '"', "a random response id");
	if (r && strlen(r) > 30)
		memset(r + 12, 'x', 16);
	is_str(r, "{\"id\":\"resp_xxxxxxxxxxxxxxxx\",\"object\":\"response\",\"created_at\":7,\"status\":\"completed\","
	       "\"incomplete_details\":null,\"error\":null,\"model\":\"my-model\",\"output\":["
	       "{\"type\":\"reasoning\",\"id\":\"rs_chatcmpl-1_0\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"hm\"}]},"
	       "{\"type\":\"message\",\"id\":\"msg_chatcmpl-1_1\",\"status\":\"completed\",\"role\":\"assistant\","
	       "\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\",\"annotations\":[]}]},"
	       "{\"type\":\"function_call\",\"id\":\"fc_chatcmpl-1_2\",\"call_id\":\"call_1\",\"name\":\"f\","
	       "\"arguments\":\"{}\",\"status\":\"completed\"}],\"usage\":{\"input_tokens\":5,\"input_tokens_details\":"
	       "{\"cached_tokens\":2},\"output_tokens\":3,\"output_tokens_details\":{\"reasoning_tokens\":1},"
	       "\"total_tokens\":8}}", "chat answer with reasoning, text and a call");
	free(r);
	const char *len = "{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"He\"},"
			  "\"finish_reason\":\"length\"}]}";
	r = responses_from_oai_answer(len, strlen(len), "m", NULL, err, sizeof(err));
	ok(r && strstr(r, "\"status\":\"incomplete\"") && strstr(r, "\"reason\":\"max_output_tokens\"") &&
	   strstr(r, "\"usage\":null"), "finish_reason length: incomplete");
	free(r);
	ok(!responses_from_oai_answer("{\"error\":{}}", 12, "m", NULL, err, sizeof(err)) && err[0], "not an answer: refused");
}

/* The event types of s->out, space separated, into t (reset). */
static void types(struct responses_stream *s, char *t, size_t n)
{
	t[0] = 0;
	for (const char *p = buf_str(&s->out); (p = strstr(p, "event: ")); p++) {
		size_t l = strcspn(p + 7, "\n");
		snprintf(t + strlen(t), n - strlen(t), "%s%.*s", t[0] ? " " : "", (int)l, p + 7);
	}
	buf_reset(&s->out);
}

static void feed(struct responses_stream *s, const char *json)
{
	responses_stream_feed(s, NULL, json, strlen(json));
}

static void test_stream(void)
{
	struct responses_stream s;
	char t[2048];
	responses_stream_init(&s, "m", NULL);
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"He\"}}]}");
	types(&s, t, sizeof(t));
	is_str(t, "response.created response.in_progress response.output_item.added response.content_part.added "
	       "response.output_text.delta", "text: start");
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
		 "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}");
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
		 "{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
	types(&s, t, sizeof(t));
	is_str(t, "response.output_text.done response.content_part.done response.output_item.done "
	       "response.output_item.added response.function_call_arguments.delta response.function_call_arguments.delta",
	       "a tool call closes the text");
	feed(&s, "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}");
	is_int(s.out.len, 0, "the usage chunk adds no event");
	is_int(responses_stream_feed(&s, NULL, "[DONE]", 6), 1, "[DONE] completes");
	ok(strstr(buf_str(&s.out), "\"arguments\":\"{\\\"a\\\":1}\"") && strstr(buf_str(&s.out), "\"input_tokens\":4") &&
	   strstr(buf_str(&s.out), "\"sequence_number\":11,"), "completed carries the call's whole arguments and usage");
	types(&s, t, sizeof(t));
	is_str(t, "response.function_call_arguments.done response.output_item.done response.completed", "the end");
	is_int(responses_stream_finish(&s, "x"), 1, "finish after the end: complete");
	is_int(s.out.len, 0, "nothing after the end");
	responses_stream_free(&s);

	responses_stream_init(&s, "m", NULL);
	feed(&s, "{\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}");
	buf_reset(&s.out);
	is_int(responses_stream_finish(&s, "cut"), -1, "a cut stream fails");
	ok(strstr(buf_str(&s.out), "event: response.failed") && strstr(buf_str(&s.out), "\"message\":\"cut\""),
	   "response.failed with the reason");
	responses_stream_free(&s);

	responses_stream_init(&s, "m", NULL);
	feed(&s, "{\"error\":{\"message\":\"boom\"}}");
	types(&s, t, sizeof(t));
	is_str(t, "response.created response.in_progress response.failed", "an error event before anything: failed");
	responses_stream_free(&s);
}

/* The gateway's own file_search: the item first, buffered and streamed;
 * include asks for its results through the private member. */
static void test_file_search(void)
{
	char err[256], t[2048];
	cJSON *rq = cJSON_Parse("{\"model\":\"m\",\"input\":\"q\",\"include\":[\"file_search_call.results\"],"
				"\"tools\":[{\"type\":\"file_search\",\"vector_store_ids\":[\"vs_1\"]}]}");
	cJSON *req = responses_request_to_oai(rq, NULL, err, sizeof(err));
	ok(req && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, KB_RETRIEVE_RESULTS_MEMBER)), "include: results asked");
	cJSON_Delete(req);
	cJSON_DeleteItemFromObjectCaseSensitive(rq, "include");
	req = responses_request_to_oai(rq, NULL, err, sizeof(err));
	ok(req && !cJSON_GetObjectItemCaseSensitive(req, KB_RETRIEVE_RESULTS_MEMBER), "no include: no results asked");
	cJSON_Delete(req);
	cJSON_Delete(rq);

	cJSON *fs = cJSON_Parse("{\"queries\":[\"q\"],\"results\":[{\"file_id\":\"file-1\",\"text\":\"x\"}]}");
	const char *chat = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"choices\":[{\"index\":0,"
			   "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}";
	char *a = responses_answer_file_search(responses_from_oai_answer(chat, strlen(chat), "m", NULL, err, sizeof(err)), fs);
	cJSON *o = cJSON_Parse(a), *out = cJSON_GetObjectItemCaseSensitive(o, "output");
	const cJSON *i0 = cJSON_GetArrayItem(out, 0);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(i0, "type")), "file_search_call", "buffered: the item first");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(i0, "status")), "completed", "... completed");
	ok(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(i0, "results")) == 1 && cJSON_GetArraySize(out) == 2,
	   "... with its results, then the message");
	cJSON_Delete(o);
	free(a);
	char *same = xstrdup("{\"error\":1}");
	ok(responses_answer_file_search(same, fs) == same, "not a response: left as it is");
	free(same);

	struct responses_stream s;
	responses_stream_init(&s, "m", NULL);
	responses_stream_file_search(&s, fs);
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}");
	types(&s, t, sizeof(t));
	is_str(t, "response.created response.in_progress response.output_item.added response.file_search_call.in_progress "
	       "response.file_search_call.searching response.file_search_call.completed response.output_item.done "
	       "response.output_item.added response.content_part.added response.output_text.delta",
	       "streamed: the search's events, then the message at output_index 1");
	responses_stream_free(&s);
	cJSON_Delete(fs);
}

/* Anthropic's signed thinking: out as encrypted_content when included,
 * back in as the thinking_blocks of the turn it opens. */
static void test_signatures(void)
{
	char err[256], t[4096];
	cJSON *rq = cJSON_Parse("{\"model\":\"m\",\"include\":[\"reasoning.encrypted_content\"],\"input\":["
				"{\"role\":\"user\",\"content\":\"q\"},"
				"{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"hm\"}],"
				"\"encrypted_content\":\"SIG\"},"
				"{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"I'll check.\"}]},"
				"{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"},"
				"{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"ok\"}]}");
	cJSON *kinds = NULL;
	cJSON *req = responses_request_to_oai(rq, &kinds, err, sizeof(err));
	ok(req != NULL, "a reasoning item with encrypted_content is taken");
	ok(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kinds, RESPONSES_KIND_ENCRYPTED)), "include: the kinds say so");
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	is_int(cJSON_GetArraySize(msgs), 3, "user, one assistant turn, tool");
	char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(msgs, 1));
	ok(strstr(a, "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"SIG\"}]") &&
	   strstr(a, "\"content\":\"I'll check.\"") && strstr(a, "\"tool_calls\""), "the turn: signed thinking, text, call");
	free(a);
	cJSON_Delete(req);

	const char *chat = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"choices\":[{\"index\":0,"
			   "\"message\":{\"role\":\"assistant\",\"content\":\"hi\",\"reasoning_content\":\"hm\","
			   "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"SIG\"}]},"
			   "\"finish_reason\":\"stop\"}]}";
	char *r = responses_from_oai_answer(chat, strlen(chat), "m", kinds, err, sizeof(err));
	ok(r && strstr(r, "\"type\":\"reasoning\",\"id\":\"rs_c1_0\",\"encrypted_content\":\"SIG\""), "buffered: encrypted_content");
	free(r);
	r = responses_from_oai_answer(chat, strlen(chat), "m", NULL, err, sizeof(err));
	ok(r && !strstr(r, "encrypted_content"), "not included: none");
	free(r);

	struct responses_stream s;
	responses_stream_init(&s, "m", kinds);
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}}]}");
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"thinking_blocks\":[{\"type\":\"thinking\","
		 "\"signature\":\"SIG\"}]}}]}");
	feed(&s, "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}");
	types(&s, t, sizeof(t));
	responses_stream_feed(&s, NULL, "[DONE]", 6);
	ok(strstr(buf_str(&s.out), "\"encrypted_content\":\"SIG\""), "streamed: the reasoning item carries it");
	responses_stream_free(&s);
	cJSON_Delete(kinds);
	cJSON_Delete(rq);
}

int main(void)
{
	test_requests();
	test_answer();
	test_stream();
	test_file_search();
	test_signatures();
	return done_testing();
}
