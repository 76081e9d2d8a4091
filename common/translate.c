/* translate.c — small pieces the dialect translators (anthropic.c,
 * gemini.c) share. */
#include "autoconf.h"
#include "translate.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tr_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *tr_jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tr_blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

/* System/developer message text appended to sys. */
int tr_system_text(const cJSON *content, struct buf *sys, int mi, char *err, size_t errlen)
{
	const cJSON *part;
	if (cJSON_IsString(content)) {
		if (!tr_blank(content->valuestring)) {
			if (sys->len)
				buf_puts(sys, "\n\n");
			buf_puts(sys, content->valuestring);
		}
		return 0;
	}
	if (!cJSON_IsArray(content)) {
		tr_seterr(err, errlen, "messages[%d].content must be a string or an array of text parts", mi);
		return -1;
	}
	cJSON_ArrayForEach(part, content) {
		const char *type = tr_jstr(part, "type"), *t = tr_jstr(part, "text");
		if (!type || strcmp(type, "text") || !t) {
			tr_seterr(err, errlen, "messages[%d]: a system message may hold only text parts", mi);
			return -1;
		}
		if (tr_blank(t))
			continue;
		if (sys->len)
			buf_puts(sys, "\n\n");
		buf_puts(sys, t);
	}
	return 0;
}

void tr_add_turn(cJSON *list, const char *role, cJSON *items, const char *member)
{
	int n = cJSON_GetArraySize(list);
	cJSON *last = n ? cJSON_GetArrayItem(list, n - 1) : NULL;
	if (cJSON_GetArraySize(items) == 0) {
		cJSON_Delete(items);
		return;
	}
	const char *lr = last ? tr_jstr(last, "role") : NULL;
	if (lr && !strcmp(lr, role)) {
		cJSON *dst = cJSON_GetObjectItemCaseSensitive(last, member);
		while (items->child)
			cJSON_AddItemToArray(dst, cJSON_DetachItemViaPointer(items, items->child));
		cJSON_Delete(items);
		return;
	}
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddItemToObject(m, member, items);
	cJSON_AddItemToArray(list, m);
}

const char *tr_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 429: return "rate_limit_error";
	case 500: return "server_error";
	case 502: case 503: case 504: case 529: return "upstream_error";
	default: return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

cJSON *tr_oai_error_obj(const char *message, const char *type, const char *code)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "message", message ? message : "");
	cJSON_AddStringToObject(e, "type", type ? type : "upstream_error");
	cJSON_AddNullToObject(e, "param");
	if (code)
		cJSON_AddStringToObject(e, "code", code);
	else
		cJSON_AddNullToObject(e, "code");
	return root;
}

cJSON *tr_chunk_head(const char *id, long created, const char *model)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "object", "chat.completion.chunk");
	cJSON_AddNumberToObject(c, "created", (double)created);
	cJSON_AddStringToObject(c, "model", model);
	return c;
}

cJSON *tr_chunk(const char *id, long created, const char *model, int index, cJSON *delta, const char *finish)
{
	cJSON *c = tr_chunk_head(id, created, model);
	cJSON *choices = cJSON_AddArrayToObject(c, "choices");
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddItemToArray(choices, ch);
	cJSON_AddNumberToObject(ch, "index", index);
	cJSON_AddItemToObject(ch, "delta", delta);
	cJSON_AddNullToObject(ch, "logprobs");
	if (finish)
		cJSON_AddStringToObject(ch, "finish_reason", finish);
	else
		cJSON_AddNullToObject(ch, "finish_reason");
	return c;
}

const char *tr_tool_choice(const cJSON *tc, const char *const words[4], const char **name, char *err,
			   size_t errlen)
{
	const char *w = NULL;
	*name = NULL;
	if (cJSON_IsString(tc)) {
		if (!strcmp(tc->valuestring, "auto"))
			w = words[0];
		else if (!strcmp(tc->valuestring, "none"))
			w = words[1];
		else if (!strcmp(tc->valuestring, "required"))
			w = words[2];
	} else if (cJSON_IsObject(tc)) {
		*name = tr_jstr(cJSON_GetObjectItemCaseSensitive(tc, "function"), "name");
		if (*name)
			w = words[3];
	}
	if (!w)
		tr_seterr(err, errlen, "tool_choice must be \"auto\", \"none\", \"required\" or "
			  "{\"type\":\"function\",\"function\":{\"name\":...}}");
	return w;
}

size_t tr_string_bytes(const cJSON *j)
{
	if (cJSON_IsString(j))
		return strlen(j->valuestring);
	size_t n = 0;
	for (const cJSON *c = (cJSON_IsArray(j) || cJSON_IsObject(j)) ? j->child : NULL; c; c = c->next)
		n += tr_string_bytes(c);
	return n;
}
