/* rtools.c — the Responses API's tools over chat function tools (see
 * rtools.h). */
#include "autoconf.h"
#include "rtools.h"
#include "buf.h"
#include "sha256.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))
#define NS_SEP "__"
#define NAME_MAX_CHAT 64   /* what OpenAI's and Anthropic's tool names may hold */

/* The chat name of tool name in namespace ns (or NULL) into out[256]:
 * "<ns>__<name>", or when that is longer than NAME_MAX_CHAT its first 55
 * characters, "_" and 8 hex digits of its SHA-256 (the same every time, so
 * a call item in a later input maps to the same name). */
static void chat_name(const char *ns, const char *name, char out[256])
{
	char whole[512];
	snprintf(whole, sizeof(whole), "%s%s%s", ns ? ns : "", ns ? NS_SEP : "", name);
	if (strlen(whole) <= NAME_MAX_CHAT || !ns) {
		snprintf(out, 256, "%s", whole);
		return;
	}
	char hex[SHA256_HEX_LEN];
	sha256_hex(whole, strlen(whole), hex);
	snprintf(out, 256, "%.55s_%.8s", whole, hex);
}

/* ------------------------------------------------ tools */

/* A chat function tool appended to arr: name, then description and
 * parameters (taken; NULL: none), strict copied from t when it has it. */
static void add_function(cJSON *arr, const char *name, cJSON *desc, cJSON *params, const cJSON *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "function");
	cJSON *fn = cJSON_AddObjectToObject(o, "function");
	cJSON_AddStringToObject(fn, "name", name);
	if (desc)
		cJSON_AddItemToObject(fn, "description", desc);
	if (params)
		cJSON_AddItemToObject(fn, "parameters", params);
	const cJSON *strict = t ? GET(t, "strict") : NULL;
	if (cJSON_IsBool(strict))
		cJSON_AddItemToObject(fn, "strict", cJSON_Duplicate(strict, 1));
	cJSON_AddItemToArray(arr, o);
}

static cJSON *copy_or_null(const cJSON *v)
{
	return v && !cJSON_IsNull(v) ? cJSON_Duplicate(v, 1) : NULL;
}

/* A custom tool's function: its description, and how its one string
 * parameter is to be written (the grammar, when it has one). */
static void add_custom(cJSON *arr, const char *chat_name, const cJSON *t)
{
	const cJSON *d = GET(t, "description"), *fmt = GET(t, "format");
	const cJSON *syntax = fmt ? GET(fmt, "syntax") : NULL, *def = fmt ? GET(fmt, "definition") : NULL;
	struct buf b;
	buf_init(&b, 1u << 20);
	buf_puts(&b, cJSON_IsString(d) ? d->valuestring : "");
	buf_puts(&b, b.len ? "\n\n" : "");
	buf_puts(&b, "Put the tool's whole input, as free-form text, in the string parameter \"input\".");
	if (cJSON_IsString(def))
		buf_printf(&b, " The input must follow this %s grammar:\n%s",
			   cJSON_IsString(syntax) ? syntax->valuestring : "", def->valuestring);
	cJSON *params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "type", "object");
	cJSON *in = cJSON_AddObjectToObject(cJSON_AddObjectToObject(params, "properties"), "input");
	cJSON_AddStringToObject(in, "type", "string");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(params, "required"), cJSON_CreateString("input"));
	cJSON_AddFalseToObject(params, "additionalProperties");
	add_function(arr, chat_name, cJSON_CreateString(buf_str(&b)), params, NULL);
	buf_free(&b);
}

/* The local_shell tool's function: the documented exec action. */
static void add_local_shell(cJSON *arr)
{
	static const char schema[] =
		"{\"type\":\"object\",\"properties\":{\"action\":{\"type\":\"object\",\"properties\":{"
		"\"type\":{\"type\":\"string\",\"enum\":[\"exec\"]},"
		"\"command\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
		"\"timeout_ms\":{\"type\":\"integer\"},\"working_directory\":{\"type\":\"string\"},"
		"\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}},"
		"\"user\":{\"type\":\"string\"}},\"required\":[\"type\",\"command\"]}},\"required\":[\"action\"]}";
	add_function(arr, "local_shell",
		     cJSON_CreateString("Run a command on the user's machine: action.command is the argument vector."),
		     cJSON_Parse(schema), NULL);
}

static void add_kind(cJSON **kinds, const char *chat_name, const char *type, const char *name, const char *ns)
{
	if (!*kinds)
		*kinds = cJSON_CreateObject();
	if (GET(*kinds, chat_name))
		return;
	cJSON *k = cJSON_AddObjectToObject(*kinds, chat_name);
	cJSON_AddStringToObject(k, "type", type);
	if (name)
		cJSON_AddStringToObject(k, "name", name);
	if (ns)
		cJSON_AddStringToObject(k, "namespace", ns);
}

/* One function or custom tool (inside namespace ns, or NULL). */
static int one_tool(const cJSON *t, const char *ns, const char *where, cJSON *arr, cJSON **kinds, char *err,
		    size_t errlen)
{
	const cJSON *ty = GET(t, "type"), *name = GET(t, "name");
	const char *type = cJSON_IsString(ty) ? ty->valuestring : "";
	if (!cJSON_IsString(name) || !name->valuestring[0]) {
		snprintf(err, errlen, "%s: a %s tool needs a string 'name'", where, type);
		return -1;
	}
	char chat[256];
	if (strlen(name->valuestring) >= sizeof(chat)) {
		snprintf(err, errlen, "%s: the tool's name is too long", where);
		return -1;
	}
	chat_name(ns, name->valuestring, chat);
	if (!strcmp(type, "custom")) {
		add_custom(arr, chat, t);
		add_kind(kinds, chat, "custom", name->valuestring, ns);
	} else {
		add_function(arr, chat, copy_or_null(GET(t, "description")), copy_or_null(GET(t, "parameters")), t);
		if (ns)
			add_kind(kinds, chat, "function", name->valuestring, ns);
	}
	return 0;
}

int rtools_to_oai(const cJSON *tools, cJSON *out_tools, cJSON **kinds, char *err, size_t errlen)
{
	const cJSON *t;
	int i = 0;
	cJSON_ArrayForEach(t, tools) {
		char where[32];
		snprintf(where, sizeof(where), "tools[%d]", i++);
		const cJSON *ty = GET(t, "type"), *name = GET(t, "name");
		const char *type = cJSON_IsString(ty) ? ty->valuestring : "";
		if (!strcmp(type, "function") || !strcmp(type, "custom")) {
			if (one_tool(t, NULL, where, out_tools, kinds, err, errlen) != 0)
				return -1;
		} else if (!strcmp(type, "local_shell")) {
			add_local_shell(out_tools);
			add_kind(kinds, "local_shell", "local_shell", NULL, NULL);
		} else if (!strcmp(type, "namespace")) {
			const cJSON *inner = GET(t, "tools"), *u;
			if (!cJSON_IsString(name) || !name->valuestring[0] || !cJSON_IsArray(inner)) {
				snprintf(err, errlen, "%s: a namespace tool needs a string 'name' and an array 'tools'", where);
				return -1;
			}
			int k = 0;
			cJSON_ArrayForEach(u, inner) {
				const cJSON *uty = GET(u, "type");
				char w2[64];
				snprintf(w2, sizeof(w2), "%s.tools[%d]", where, k++);
				if (!cJSON_IsString(uty) || (strcmp(uty->valuestring, "function") && strcmp(uty->valuestring, "custom"))) {
					snprintf(err, errlen, "%s: a namespace holds function and custom tools only", w2);
					return -1;
				}
				if (one_tool(u, name->valuestring, w2, out_tools, kinds, err, errlen) != 0)
					return -1;
			}
		} else {
			snprintf(err, errlen, "%s: the built-in tool '%.40s' is not available for this model through this "
				 "gateway (its provider does not run it); function, custom, local_shell and namespace tools are",
				 where, type);
			return -1;
		}
	}
	return 0;
}

cJSON *rtools_choice_to_oai(const cJSON *choice)
{
	const cJSON *ty = GET(choice, "type"), *name = GET(choice, "name");
	if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "custom") || !cJSON_IsString(name))
		return NULL;
	cJSON *tc = cJSON_CreateObject();
	cJSON_AddStringToObject(tc, "type", "function");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(tc, "function"), "name", name->valuestring);
	return tc;
}

/* ------------------------------------------------ input items */

int rtools_is_call(const char *type)
{
	return !strcmp(type, "function_call") || !strcmp(type, "custom_tool_call") || !strcmp(type, "local_shell_call");
}

int rtools_is_output(const char *type)
{
	return !strcmp(type, "function_call_output") || !strcmp(type, "custom_tool_call_output") ||
	       !strcmp(type, "local_shell_call_output");
}

const char *rtools_output_call_id(const cJSON *it)
{
	const cJSON *id = GET(it, "call_id"), *ty = GET(it, "type");
	if (!id && cJSON_IsString(ty) && !strcmp(ty->valuestring, "local_shell_call_output"))
		id = GET(it, "id");
	return cJSON_IsString(id) ? id->valuestring : NULL;
}

cJSON *rtools_call_to_oai(const cJSON *it, const char **call_id, char *err, size_t errlen)
{
	const char *type = GET(it, "type")->valuestring;
	const cJSON *id = GET(it, "call_id"), *name = GET(it, "name"), *ns = GET(it, "namespace");
	char chat[256];
	char *args = NULL;
	if (!strcmp(type, "local_shell_call")) {
		const cJSON *action = GET(it, "action");
		if (!cJSON_IsString(id))
			id = GET(it, "id");
		if (!cJSON_IsString(id) || !id->valuestring[0] || !cJSON_IsObject(action)) {
			snprintf(err, errlen, "a local_shell_call needs a string 'call_id' and an object 'action'");
			return NULL;
		}
		snprintf(chat, sizeof(chat), "local_shell");
		cJSON *a = cJSON_CreateObject();
		cJSON_AddItemToObject(a, "action", cJSON_Duplicate(action, 1));
		args = cJSON_PrintUnformatted(a);
		cJSON_Delete(a);
	} else {
		int custom = !strcmp(type, "custom_tool_call");
		const cJSON *payload = GET(it, custom ? "input" : "arguments");
		if (!cJSON_IsString(id) || !id->valuestring[0] || !cJSON_IsString(name) || !cJSON_IsString(payload) ||
		    (ns && !cJSON_IsNull(ns) && !cJSON_IsString(ns))) {
			snprintf(err, errlen, "a %s needs string 'call_id', 'name' and '%s'", type, custom ? "input" : "arguments");
			return NULL;
		}
		chat_name(cJSON_IsString(ns) && ns->valuestring[0] ? ns->valuestring : NULL, name->valuestring, chat);
		if (custom) {
			cJSON *a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "input", payload->valuestring);
			args = cJSON_PrintUnformatted(a);
			cJSON_Delete(a);
		} else {
			args = xstrdup(payload->valuestring);
		}
	}
	cJSON *tc = cJSON_CreateObject();
	cJSON_AddStringToObject(tc, "id", id->valuestring);
	cJSON_AddStringToObject(tc, "type", "function");
	cJSON *fn = cJSON_AddObjectToObject(tc, "function");
	cJSON_AddStringToObject(fn, "name", chat);
	cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
	free(args);
	*call_id = id->valuestring;
	return tc;
}

/* ------------------------------------------------ calls back */

enum rtools_kind rtools_kind_of(const cJSON *kinds, const char *chat_name, const char **name, const char **ns)
{
	const cJSON *k = kinds ? GET(kinds, chat_name) : NULL;
	const cJSON *ty = GET(k, "type"), *n = GET(k, "name"), *s = GET(k, "namespace");
	*name = cJSON_IsString(n) ? n->valuestring : chat_name;
	if (ns)
		*ns = cJSON_IsString(s) ? s->valuestring : NULL;
	if (!cJSON_IsString(ty))
		return RTOOLS_FUNCTION;
	return !strcmp(ty->valuestring, "custom") ? RTOOLS_CUSTOM :
	       !strcmp(ty->valuestring, "local_shell") ? RTOOLS_SHELL : RTOOLS_FUNCTION;
}

char *rtools_custom_input(const char *args)
{
	cJSON *a = cJSON_Parse(args);
	const cJSON *in = GET(a, "input");
	char *s = xstrdup(cJSON_IsString(in) ? in->valuestring : args);
	cJSON_Delete(a);
	return s;
}

/* A local_shell call's action from its chat arguments {"action": {...}}
 * (new object; an empty exec action when they are not that). */
static cJSON *shell_action(const char *args)
{
	cJSON *a = cJSON_Parse(args);
	cJSON *act = cJSON_DetachItemFromObjectCaseSensitive(a, "action");
	cJSON_Delete(a);
	if (cJSON_IsObject(act))
		return act;
	cJSON_Delete(act);
	act = cJSON_CreateObject();
	cJSON_AddStringToObject(act, "type", "exec");
	cJSON_AddArrayToObject(act, "command");
	return act;
}

cJSON *rtools_item(const cJSON *kinds, const char *id, const char *call_id, const char *chat_name, const char *args,
		   const char *status)
{
	const char *name, *ns;
	enum rtools_kind kind = rtools_kind_of(kinds, chat_name, &name, &ns);
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "type", kind == RTOOLS_CUSTOM ? "custom_tool_call" :
				kind == RTOOLS_SHELL ? "local_shell_call" : "function_call");
	cJSON_AddStringToObject(f, "id", id);
	cJSON_AddStringToObject(f, "call_id", call_id);
	if (kind == RTOOLS_SHELL) {
		cJSON_AddStringToObject(f, "status", status);
		cJSON_AddItemToObject(f, "action", shell_action(args));
		return f;
	}
	cJSON_AddStringToObject(f, "name", name);
	if (kind == RTOOLS_CUSTOM) {
		char *in = *args ? rtools_custom_input(args) : xstrdup("");
		cJSON_AddStringToObject(f, "input", in);
		free(in);
	} else {
		cJSON_AddStringToObject(f, "arguments", args);
	}
	cJSON_AddStringToObject(f, "status", status);
	if (ns)
		cJSON_AddStringToObject(f, "namespace", ns);
	return f;
}
