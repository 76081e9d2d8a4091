/* test_rtools.c — the Responses API's custom, local_shell and namespaced
 * tools over chat function tools (rtools.c): the tools and their kinds,
 * refusals of built-in tools, call items of the input to chat tool calls,
 * chat calls back to the items of their kind, and the same through
 * responses.c (a request, an answer, a stream). */
#include "autoconf.h"
#include "responses.h"
#include "rtools.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static char *print(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

static void test_tools(void)
{
	char err[256] = "", *s;
	cJSON *tools = cJSON_Parse(
		"[{\"type\":\"custom\",\"name\":\"apply_patch\",\"description\":\"Patch files.\",\"format\":{\"type\":"
		"\"grammar\",\"syntax\":\"lark\",\"definition\":\"start: /.+/\"}},{\"type\":\"local_shell\"},"
		"{\"type\":\"namespace\",\"name\":\"agents\",\"description\":\"d\",\"tools\":[{\"type\":\"function\","
		"\"name\":\"spawn\",\"parameters\":{\"type\":\"object\"},\"strict\":false}]},"
		"{\"type\":\"function\",\"name\":\"plain\"}]");
	cJSON *out = cJSON_CreateArray(), *kinds = NULL;
	is_int(rtools_to_oai(tools, out, &kinds, err, sizeof(err)), 0, "custom, local_shell, namespace, function: taken");
	s = print(kinds);
	is_str(s, "{\"apply_patch\":{\"type\":\"custom\",\"name\":\"apply_patch\"},\"local_shell\":{\"type\":\"local_shell\"},"
	       "\"agents__spawn\":{\"type\":\"function\",\"name\":\"spawn\",\"namespace\":\"agents\"}}", "the kinds");
	free(s);
	const cJSON *custom = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "function");
	s = print(cJSON_GetObjectItem(custom, "parameters"));
	is_str(s, "{\"type\":\"object\",\"properties\":{\"input\":{\"type\":\"string\"}},\"required\":[\"input\"],"
	       "\"additionalProperties\":false}", "a custom tool: one string parameter");
	free(s);
	const char *desc = cJSON_GetObjectItem(custom, "description")->valuestring;
	ok(!strncmp(desc, "Patch files.", 12) && strstr(desc, "lark grammar:\nstart: /.+/"), "its description keeps the grammar");
	const cJSON *shell = cJSON_GetObjectItem(cJSON_GetArrayItem(out, 1), "function");
	is_str(cJSON_GetObjectItem(shell, "name")->valuestring, "local_shell", "local_shell is a function");
	ok(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(shell, "parameters"), "properties"), "action") != NULL,
	   "with the action parameter");
	s = print(cJSON_GetArrayItem(out, 2));
	is_str(s, "{\"type\":\"function\",\"function\":{\"name\":\"agents__spawn\",\"parameters\":{\"type\":\"object\"},"
	       "\"strict\":false}}", "a namespaced function");
	free(s);
	is_int(cJSON_GetArraySize(out), 4, "four chat tools");
	cJSON_Delete(out);
	cJSON_Delete(kinds);
	cJSON_Delete(tools);

	static const char *const refused[][2] = {
		{ "[{\"type\":\"web_search\"}]", "built-in tool 'web_search'" },
		{ "[{\"type\":\"code_interpreter\",\"container\":{}}]", "'code_interpreter' is not available" },
		{ "[{\"type\":\"custom\"}]", "needs a string 'name'" },
		{ "[{\"type\":\"namespace\",\"name\":\"n\"}]", "array 'tools'" },
		{ "[{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{\"type\":\"file_search\"}]}]", "function and custom tools only" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		tools = cJSON_Parse(refused[i][0]);
		out = cJSON_CreateArray();
		kinds = NULL;
		err[0] = 0;
		ok(rtools_to_oai(tools, out, &kinds, err, sizeof(err)) == -1 && strstr(err, refused[i][1]), "refused: %s", err);
		cJSON_Delete(kinds);
		cJSON_Delete(out);
		cJSON_Delete(tools);
	}
}

/* A namespaced name over 64 characters: shortened the same way for the
 * tool and for a call item, and mapped back. */
static void test_long_names(void)
{
	char err[256] = "";
	const char *ns = "mcp_server_with_a_rather_long_name", *name = "and_a_tool_whose_name_is_long_too";
	char spec[512];
	snprintf(spec, sizeof(spec), "[{\"type\":\"namespace\",\"name\":\"%s\",\"tools\":[{\"type\":\"function\","
		 "\"name\":\"%s\"}]}]", ns, name);
	cJSON *tools = cJSON_Parse(spec), *out = cJSON_CreateArray(), *kinds = NULL;
	is_int(rtools_to_oai(tools, out, &kinds, err, sizeof(err)), 0, "a long namespaced name is taken");
	const char *chat = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(out, 0), "function"), "name")->valuestring;
	is_int((long)strlen(chat), 64, "its chat name is 64 characters");
	ok(!strncmp(chat, "mcp_server_with_a_rather_long_name__and_a_tool_whose_na_", 56), "a prefix of the whole: %s", chat);
	const char *back, *bns;
	rtools_kind_of(kinds, chat, &back, &bns);
	ok(!strcmp(back, name) && bns && !strcmp(bns, ns), "and maps back to its name and namespace");
	snprintf(spec, sizeof(spec), "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"%s\",\"namespace\":"
		 "\"%s\",\"arguments\":\"{}\"}", name, ns);
	cJSON *it = cJSON_Parse(spec);
	const char *id;
	cJSON *tc = rtools_call_to_oai(it, &id, err, sizeof(err));
	is_str(tc ? cJSON_GetObjectItem(cJSON_GetObjectItem(tc, "function"), "name")->valuestring : NULL, chat,
	       "a call item of it gets the same chat name");
	cJSON_Delete(tc);
	cJSON_Delete(it);
	cJSON_Delete(kinds);
	cJSON_Delete(out);
	cJSON_Delete(tools);
}

static void test_calls(void)
{
	static const char *const cases[][2] = {
		{ "{\"type\":\"custom_tool_call\",\"call_id\":\"c1\",\"name\":\"apply_patch\",\"input\":\"*** Begin\"}",
		  "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"apply_patch\",\"arguments\":\"{\\\"input\\\":\\\"*** Begin\\\"}\"}}" },
		{ "{\"type\":\"local_shell_call\",\"id\":\"lsh_1\",\"call_id\":\"c2\",\"status\":\"completed\",\"action\":"
		  "{\"type\":\"exec\",\"command\":[\"ls\",\"-l\"]}}",
		  "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"local_shell\",\"arguments\":"
		  "\"{\\\"action\\\":{\\\"type\\\":\\\"exec\\\",\\\"command\\\":[\\\"ls\\\",\\\"-l\\\"]}}\"}}" },
		{ "{\"type\":\"function_call\",\"call_id\":\"c3\",\"name\":\"spawn\",\"namespace\":\"agents\",\"arguments\":\"{}\"}",
		  "{\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"agents__spawn\",\"arguments\":\"{}\"}}" },
		{ "{\"type\":\"custom_tool_call\",\"call_id\":\"c4\",\"name\":\"x\"}", NULL },
		{ "{\"type\":\"local_shell_call\",\"call_id\":\"c5\",\"action\":\"ls\"}", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[160] = "";
		const char *id = NULL;
		cJSON *it = cJSON_Parse(cases[i][0]);
		cJSON *tc = rtools_call_to_oai(it, &id, err, sizeof(err));
		char *s = print(tc);
		if (cases[i][1])
			ok(s && !strcmp(s, cases[i][1]), "call item %zu to a chat call: %s", i, s ? s : "(null)");
		else
			ok(!tc && err[0], "call item %zu refused: %s", i, err);
		free(s);
		cJSON_Delete(tc);
		cJSON_Delete(it);
	}
	cJSON *out = cJSON_Parse("{\"type\":\"local_shell_call_output\",\"id\":\"c2\",\"output\":\"x\"}");
	is_str(rtools_output_call_id(out), "c2", "a local_shell_call_output answers its id");
	cJSON_Delete(out);
}

static const char KINDS[] = "{\"apply_patch\":{\"type\":\"custom\",\"name\":\"apply_patch\"},\"local_shell\":{\"type\":"
			    "\"local_shell\"},\"agents__spawn\":{\"type\":\"function\",\"name\":\"spawn\",\"namespace\":\"agents\"}}";

static void test_items(void)
{
	static const char *const cases[][4] = {   /* chat name, arguments, the item, what */
		{ "apply_patch", "{\"input\":\"*** Begin\"}",
		  "{\"type\":\"custom_tool_call\",\"id\":\"fc_1\",\"call_id\":\"c1\",\"name\":\"apply_patch\",\"input\":"
		  "\"*** Begin\",\"status\":\"completed\"}", "a custom tool's call" },
		{ "local_shell", "{\"action\":{\"type\":\"exec\",\"command\":[\"ls\"]}}",
		  "{\"type\":\"local_shell_call\",\"id\":\"fc_1\",\"call_id\":\"c1\",\"status\":\"completed\",\"action\":"
		  "{\"type\":\"exec\",\"command\":[\"ls\"]}}", "a local_shell call" },
		{ "agents__spawn", "{}",
		  "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"c1\",\"name\":\"spawn\",\"arguments\":\"{}\","
		  "\"status\":\"completed\",\"namespace\":\"agents\"}", "a namespaced function's call" },
	};
	cJSON *kinds = cJSON_Parse(KINDS), *it;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		it = rtools_item(kinds, "fc_1", "c1", cases[i][0], cases[i][1], "completed");
		char *s = print(it);
		ok(s && !strcmp(s, cases[i][2]), "%s: %s", cases[i][3], s ? s : "(null)");
		free(s);
		cJSON_Delete(it);
	}
	it = rtools_item(NULL, "fc_4", "c4", "apply_patch", "not json", "completed");
	is_str(cJSON_GetObjectItem(it, "type")->valuestring, "function_call", "without kinds: a function call");
	cJSON_Delete(it);
	char *in = rtools_custom_input("not json");
	is_str(in, "not json", "a custom input that is not {\"input\":...}: the arguments as they are");
	free(in);
	cJSON_Delete(kinds);
}

/* Through responses.c: the request's kinds, then a streamed custom tool
 * call and a local_shell call, and the same calls in a buffered answer. */
static void test_through_responses(void)
{
	char err[256] = "";
	cJSON *rq = cJSON_Parse("{\"model\":\"m\",\"input\":\"go\",\"tools\":[{\"type\":\"custom\",\"name\":\"apply_patch\"},"
				"{\"type\":\"local_shell\"}],\"tool_choice\":{\"type\":\"custom\",\"name\":\"apply_patch\"}}");
	cJSON *kinds = NULL, *req = responses_request_to_oai(rq, &kinds, err, sizeof(err));
	ok(req && kinds, "a request with custom and local_shell tools translates: %s", err);
	char *s = print(cJSON_GetObjectItem(req, "tool_choice"));
	is_str(s, "{\"type\":\"function\",\"function\":{\"name\":\"apply_patch\"}}", "tool_choice custom: its function");
	free(s);

	struct responses_stream st;
	responses_stream_init(&st, "m", kinds);
	const char *evs[] = {
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"k1\",\"function\":"
		"{\"name\":\"apply_patch\",\"arguments\":\"{\\\"inp\"}}]}}]}",
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
		"\"ut\\\":\\\"*** Begin\\\"}\"}}]}}]}",
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"k2\",\"function\":"
		"{\"name\":\"local_shell\",\"arguments\":\"{\\\"action\\\":{\\\"type\\\":\\\"exec\\\",\\\"command\\\":[\\\"ls\\\"]}}\"}}]},"
		"\"finish_reason\":\"tool_calls\"}]}",
		"[DONE]",
	};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		responses_stream_feed(&st, NULL, evs[i], strlen(evs[i]));
	const char *o = buf_str(&st.out);
	ok(!strstr(o, "function_call_arguments"), "no function-argument events for them");
	const char *d = strstr(o, "event: response.custom_tool_call_input.delta\ndata: ");
	ok(d && strstr(d, "\"output_index\":0,\"delta\":\"*** Begin\"}\n") && !strstr(d + 10, "event: response.custom_tool_call_input.delta"),
	   "the custom input as one delta");
	ok(strstr(o, "\"type\":\"response.custom_tool_call_input.done\"") && strstr(o, "\"input\":\"*** Begin\""), "and done");
	ok(strstr(o, "\"call_id\":\"k2\",\"status\":\"completed\",\"action\":{\"type\":\"exec\",\"command\":[\"ls\"]}}")
	   != NULL, "the local_shell call item");
	char *res = responses_stream_result(&st);
	ok(res && strstr(res, "\"type\":\"custom_tool_call\"") && strstr(res, "\"type\":\"local_shell_call\""),
	   "the finished response holds both items");
	free(res);
	responses_stream_free(&st);

	const char *chat = "{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
			   "{\"id\":\"k1\",\"type\":\"function\",\"function\":{\"name\":\"apply_patch\",\"arguments\":"
			   "\"{\\\"input\\\":\\\"p\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
	char *a = responses_from_oai_answer(chat, strlen(chat), "m", kinds, err, sizeof(err));
	ok(a && strstr(a, "{\"type\":\"custom_tool_call\",\"id\":\"fc_x_0\",\"call_id\":\"k1\",\"name\":\"apply_patch\","
			  "\"input\":\"p\",\"status\":\"completed\"}"), "a buffered answer's custom call");
	free(a);
	cJSON_Delete(kinds);
	cJSON_Delete(req);
	cJSON_Delete(rq);
}

int main(void)
{
	test_tools();
	test_long_names();
	test_calls();
	test_items();
	test_through_responses();
	return done_testing();
}
