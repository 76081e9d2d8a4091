/* fuzz_mcp.c — the MCP server's messages (mcp.c) and the prompt apps'
 * checks of outside input (app.c). The input as an HTTP body →
 * mcp_handle_text with a stub tool table: the answer is NULL exactly when
 * nothing was asked (only notifications or responses), else a response
 * object or a non-empty array of them, each {"jsonrpc":"2.0", "id": a
 * string, number or null, exactly one of "result" and "error"}, an error's
 * code one of JSON-RPC's; a body that is not JSON gets -32700 with id
 * null; an initialize agrees a version this server speaks; a tool runs
 * only with arguments its schema takes; the answer prints as JSON. The
 * input as a request object → app_check_input (a refusal says why, with
 * 400 or 413) and, when taken, app_fill (no control characters but
 * newline and tab) and app_chat_request; the input as a model's answer →
 * app_shape_check (a mismatch says why; the same answer, the same
 * verdict). */
#include "fuzz_common.h"
#include "app.h"
#include "mcp.h"

static const char schema[] =
	"{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\",\"maxLength\":64},"
	"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},\"f\":{\"type\":\"boolean\"}},"
	"\"required\":[\"q\"],\"additionalProperties\":false}";

static void stub(void *ctx, const cJSON *args, cJSON *result)
{
	(void)ctx;
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(args, "q");
	FUZZ_ASSERT(cJSON_IsString(q) && strlen(q->valuestring) <= 64, "a tool ran with arguments its schema refuses");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(args, "n");
	FUZZ_ASSERT(!n || (cJSON_IsNumber(n) && n->valuedouble >= 1 && n->valuedouble <= 10), "n out of range");
	cJSON_AddArrayToObject(result, "content");
}

static const struct mcp_tool tools[] = { { "echo", "Echo", "echoes", schema, stub } };

static void check_response(const cJSON *r)
{
	FUZZ_ASSERT(cJSON_IsObject(r), "a response is not an object");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "jsonrpc");
	FUZZ_ASSERT(cJSON_IsString(v) && !strcmp(v->valuestring, "2.0"), "no jsonrpc 2.0");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
	FUZZ_ASSERT(cJSON_IsString(id) || cJSON_IsNumber(id) || cJSON_IsNull(id), "a bad id");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	FUZZ_ASSERT(!res != !err, "not exactly one of result and error");
	if (err) {
		int c = cJSON_GetObjectItemCaseSensitive(err, "code")->valueint;
		FUZZ_ASSERT(c == MCP_PARSE_ERROR || c == MCP_INVALID_REQUEST || c == MCP_METHOD_NOT_FOUND ||
			    c == MCP_INVALID_PARAMS, "an unexpected error code %d", c);
		FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "message")), "an error without a message");
	}
}

static void check_mcp(const char *data, size_t size)
{
	struct mcp_server s = { tools, 1, NULL };
	struct mcp_outcome out;
	cJSON *a = mcp_handle_text(&s, data, size, &out);
	FUZZ_ASSERT(!a == !out.requests, "an answer exactly when something was asked");
	if (!a)
		return;
	if (cJSON_IsArray(a)) {
		FUZZ_ASSERT(a->child != NULL, "an empty batch answer");
		for (const cJSON *r = a->child; r; r = r->next)
			check_response(r);
	} else {
		check_response(a);
	}
	cJSON *j = cJSON_ParseWithLength(data, size);
	if (!j) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");
		FUZZ_ASSERT(e && cJSON_GetObjectItemCaseSensitive(e, "code")->valueint == MCP_PARSE_ERROR,
			    "not JSON, yet no parse error");
	}
	cJSON_Delete(j);
	if (out.initialize)
		FUZZ_ASSERT(mcp_version_ok(out.version), "an initialize agreed a version not spoken");
	char *text = cJSON_PrintUnformatted(a);
	FUZZ_ASSERT(text && fuzz_is_json(text, strlen(text)), "the answer does not print as JSON");
	free(text);
	cJSON_Delete(a);
}

static void check_app(const char *data, size_t size)
{
	static struct app_conf app;
	static cJSON *shape;
	if (!shape) {
		shape = cJSON_Parse("{\"severity\":\"string\",\"n\":\"integer\",\"cmds\":[\"string\"],\"o\":{\"b\":\"boolean\"}}");
		app.name = "fz";
		app.model = "m";
		app.system = "S {{a}}";
		app.prompt = "P {{a}} {{b}} {{c}}";
		app.nfields = 2;
		snprintf(app.fields[0].name, sizeof(app.fields[0].name), "a");
		app.fields[0].cap = 16;
		snprintf(app.fields[1].name, sizeof(app.fields[1].name), "b");
		app.fields[1].cap = 4096;
		app.shape = shape;
		app.answer = APP_ANSWER_JSON;
	}
	cJSON *j = cJSON_ParseWithLength(data, size);
	if (!j)
		return;
	char why[256] = "";
	int status = 0;
	if (cJSON_IsObject(j)) {
		if (app_check_input(&app, j, &status, why, sizeof(why)) != 0) {
			FUZZ_ASSERT(why[0] && (status == 400 || status == 413), "a refusal without a reason or status");
		} else {
			char *f = app_fill(app.prompt, j);
			for (const unsigned char *p = (const unsigned char *)f; *p; p++)
				FUZZ_ASSERT(*p >= 0x20 || *p == '\n' || *p == '\t', "a control character in a filled template");
			free(f);
			cJSON *req = app_chat_request(&app, j);
			char *t = cJSON_PrintUnformatted(req);
			FUZZ_ASSERT(t && fuzz_is_json(t, strlen(t)), "the chat request does not print as JSON");
			free(t);
			cJSON_Delete(req);
		}
	}
	int ok1 = app_shape_check(shape, j, why, sizeof(why));
	FUZZ_ASSERT(ok1 || why[0], "a mismatch without a reason");
	char why2[256];
	FUZZ_ASSERT(app_shape_check(shape, j, why2, sizeof(why2)) == ok1, "the same answer, another verdict");
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	check_mcp((const char *)data, size);
	check_app((const char *)data, size);
	return 0;
}
