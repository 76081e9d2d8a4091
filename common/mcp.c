/* mcp.c — the MCP server's messages (mcp.h). */
#include "autoconf.h"
#include "mcp.h"
#include "reqbody.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MCP_BATCH_MAX 64

/* newest first */
static const char *const versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

int mcp_version_ok(const char *v)
{
	for (size_t i = 0; v && i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(v, versions[i]))
			return 1;
	return 0;
}

const char *mcp_negotiate(const char *v)
{
	for (size_t i = 0; v && i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(v, versions[i]))
			return versions[i];
	return versions[0];
}

/* {"jsonrpc":"2.0","id":id,"error":{"code","message"}}; id NULL: null. */
static cJSON *error_response(const cJSON *id, int code, const char *msg)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "jsonrpc", "2.0");
	cJSON_AddItemToObject(r, "id", id ? cJSON_Duplicate(id, 0) : cJSON_CreateNull());
	cJSON *e = cJSON_AddObjectToObject(r, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return r;
}

static cJSON *result_response(const cJSON *id, cJSON *result)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "jsonrpc", "2.0");
	cJSON_AddItemToObject(r, "id", cJSON_Duplicate(id, 0));
	cJSON_AddItemToObject(r, "result", result);
	return r;
}

/* ------------------------------------------------------------ arguments */

static int type_ok(const char *t, const cJSON *v)
{
	if (!strcmp(t, "string"))
		return cJSON_IsString(v);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(t, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(t, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15;
	return cJSON_IsNumber(v);
}

static int prop_ok(const char *name, const cJSON *p, const cJSON *v, char *why, size_t whylen)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
	if (cJSON_IsString(t) && !type_ok(t->valuestring, v)) {
		snprintf(why, whylen, "'%s' must be %s %s", name, t->valuestring[0] == 'i' || t->valuestring[0] == 'o' ||
			 t->valuestring[0] == 'a' ? "an" : "a", t->valuestring);
		return 0;
	}
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(p, "minimum");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(p, "maximum");
	if ((cJSON_IsNumber(min) && v->valuedouble < min->valuedouble) ||
	    (cJSON_IsNumber(max) && v->valuedouble > max->valuedouble)) {
		snprintf(why, whylen, "'%s' is out of its range", name);
		return 0;
	}
	const cJSON *maxlen = cJSON_GetObjectItemCaseSensitive(p, "maxLength");
	if (cJSON_IsString(v) && cJSON_IsNumber(maxlen) && strlen(v->valuestring) > (size_t)maxlen->valuedouble) {
		snprintf(why, whylen, "'%s' is longer than %d bytes", name, maxlen->valueint);
		return 0;
	}
	return 1;
}

int mcp_args_ok(const char *schema, const cJSON *args, char *why, size_t whylen)
{
	cJSON *s = cJSON_Parse(schema);
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
	int closed = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "additionalProperties"));
	int ok = cJSON_IsObject(args);
	if (!ok)
		snprintf(why, whylen, "'arguments' must be an object");
	const cJSON *e;
	cJSON_ArrayForEach(e, req) {
		if (ok && cJSON_IsString(e) && !cJSON_GetObjectItemCaseSensitive(args, e->valuestring)) {
			snprintf(why, whylen, "'%s' is required", e->valuestring);
			ok = 0;
		}
	}
	for (const cJSON *a = ok ? args->child : NULL; a && ok; a = a->next) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, a->string);
		if (!p && closed) {
			snprintf(why, whylen, "unknown argument '%.64s'", a->string);
			ok = 0;
		} else if (p) {
			ok = prop_ok(a->string, p, a, why, whylen);
		}
	}
	cJSON_Delete(s);
	return ok;
}

/* ------------------------------------------------------------ methods */

static cJSON *do_initialize(const cJSON *id, const cJSON *params, struct mcp_outcome *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
	if (!cJSON_IsString(v))
		return error_response(id, MCP_INVALID_PARAMS, "initialize needs params.protocolVersion (a string)");
	const char *agreed = mcp_negotiate(v->valuestring);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "protocolVersion", agreed);
	cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
	cJSON *tools = cJSON_AddObjectToObject(caps, "tools");
	cJSON_AddFalseToObject(tools, "listChanged");
	cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", "llmgate");
	cJSON_AddStringToObject(info, "version", PACKAGE_VERSION);
	cJSON_AddStringToObject(r, "instructions",
				"llmgate: ask the models this gateway routes, list them, and see your key's usage and quota.");
	out->initialize = 1;
	snprintf(out->version, sizeof(out->version), "%s", agreed);
	return result_response(id, r);
}

static cJSON *do_tools_list(const struct mcp_server *s, const cJSON *id)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(r, "tools");
	for (size_t i = 0; i < s->ntools; i++) {
		const struct mcp_tool *t = &s->tools[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", t->name);
		cJSON_AddStringToObject(o, "title", t->title);
		cJSON_AddStringToObject(o, "description", t->description);
		cJSON_AddItemToObject(o, "inputSchema", cJSON_Parse(t->input_schema));
		cJSON_AddItemToArray(list, o);
	}
	return result_response(id, r);
}

static cJSON *do_tools_call(const struct mcp_server *s, const cJSON *id, const cJSON *params)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	if (!cJSON_IsString(name))
		return error_response(id, MCP_INVALID_PARAMS, "tools/call needs params.name (a string)");
	const struct mcp_tool *t = NULL;
	for (size_t i = 0; i < s->ntools && !t; i++)
		if (!strcmp(s->tools[i].name, name->valuestring))
			t = &s->tools[i];
	char msg[200];
	if (!t) {
		snprintf(msg, sizeof(msg), "Unknown tool: %.64s", name->valuestring);
		return error_response(id, MCP_INVALID_PARAMS, msg);
	}
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	cJSON *empty = args ? NULL : cJSON_CreateObject();
	char why[160];
	if (!mcp_args_ok(t->input_schema, args ? args : empty, why, sizeof(why))) {
		cJSON_Delete(empty);
		snprintf(msg, sizeof(msg), "Invalid arguments for %s: %s", t->name, why);
		return error_response(id, MCP_INVALID_PARAMS, msg);
	}
	cJSON *result = cJSON_CreateObject();
	t->call(s->ctx, args ? args : empty, result);
	cJSON_Delete(empty);
	return result_response(id, result);
}

/* One message (any JSON value): its response, or NULL. */
static cJSON *handle_one(const struct mcp_server *s, const cJSON *m, struct mcp_outcome *out)
{
	if (!cJSON_IsObject(m))
		return error_response(NULL, MCP_INVALID_REQUEST, "A JSON-RPC message must be an object");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
	int id_ok = cJSON_IsString(id) || (cJSON_IsNumber(id) && isfinite(id->valuedouble));
	const cJSON *rpc = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(m, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
	if (id && !id_ok)
		return error_response(NULL, MCP_INVALID_REQUEST, "'id' must be a string or a number");
	if (!cJSON_IsString(rpc) || strcmp(rpc->valuestring, "2.0"))
		return error_response(id, MCP_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");
	if (!method) {
		/* a response to a request of ours (we send none): nothing to say */
		if (id && (cJSON_GetObjectItemCaseSensitive(m, "result") || cJSON_GetObjectItemCaseSensitive(m, "error")))
			return NULL;
		return error_response(id, MCP_INVALID_REQUEST, "A request needs a 'method'");
	}
	if (!cJSON_IsString(method))
		return error_response(id, MCP_INVALID_REQUEST, "'method' must be a string");
	if (!id)   /* a notification: initialized, cancelled, ... need no answer */
		return NULL;
	out->requests++;
	if (params && !cJSON_IsObject(params))
		return error_response(id, MCP_INVALID_PARAMS, "'params' must be an object");
	const char *name = method->valuestring;
	if (!strcmp(name, "initialize"))
		return do_initialize(id, params, out);
	if (!strcmp(name, "ping"))
		return result_response(id, cJSON_CreateObject());
	if (!strcmp(name, "tools/list"))
		return do_tools_list(s, id);
	if (!strcmp(name, "tools/call"))
		return do_tools_call(s, id, params);
	char msg[160];
	snprintf(msg, sizeof(msg), "Method not found: %.64s", name);
	return error_response(id, MCP_METHOD_NOT_FOUND, msg);
}

cJSON *mcp_handle_text(const struct mcp_server *s, const char *body, size_t n, struct mcp_outcome *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *j;
	char msg[256];
	enum reqbody_verdict v = reqbody_parse(body, n, 0, &j, msg, sizeof(msg));
	if (v == REQBODY_NOT_JSON || v == REQBODY_NUL) {
		out->requests = 1;
		return error_response(NULL, MCP_PARSE_ERROR, "Parse error: the body is not one JSON value");
	}
	if (v != REQBODY_OK) {
		out->requests = 1;
		return error_response(NULL, MCP_INVALID_REQUEST, msg);
	}
	cJSON *answer;
	if (!cJSON_IsArray(j)) {
		answer = handle_one(s, j, out);
	} else if (!j->child || cJSON_GetArraySize(j) > MCP_BATCH_MAX) {
		out->requests = 1;
		answer = error_response(NULL, MCP_INVALID_REQUEST, "A batch must hold 1 to 64 messages");
	} else {
		answer = cJSON_CreateArray();
		for (const cJSON *m = j->child; m; m = m->next) {
			cJSON *r = handle_one(s, m, out);
			if (r)
				cJSON_AddItemToArray(answer, r);
		}
		if (!answer->child) {
			cJSON_Delete(answer);
			answer = NULL;
		}
	}
	/* an answer to a message we could not read counts as one to send */
	if (answer && !out->requests)
		out->requests = 1;
	cJSON_Delete(j);
	return answer;
}

int mcp_is_initialize(const char *body, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(body, n);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
	int yes = cJSON_IsObject(j) && cJSON_IsString(m) && !strcmp(m->valuestring, "initialize");
	cJSON_Delete(j);
	return yes;
}
