/* reqbody.c — a client's JSON request body as the gateway reads it and as
 * it goes upstream (see reqbody.h). */
#include "autoconf.h"
#include "reqbody.h"
#include "jscan.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAMES_ON_STACK 16   /* objects this small are sorted without malloc */
#define NAME_QUOTED 64      /* bytes of a member name quoted in a message */

/* How much of name a message quotes: NAME_QUOTED bytes at most, never
 * ending inside a UTF-8 character. */
static int quoted_len(const char *name)
{
	size_t n = strnlen(name, NAME_QUOTED);
	while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int name_casecmp(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name of the object o found twice (sorted, so neighbours), or
 * NULL. icase: ignoring ASCII case. */
static const char *object_duplicate(const cJSON *o, int icase)
{
	const char *stack[NAMES_ON_STACK];
	const char **names = stack;
	const char *dup = NULL;
	size_t n = 0, i = 0;
	const cJSON *c;

	cJSON_ArrayForEach(c, o)
		n++;
	if (n < 2)
		return NULL;
	if (n > NAMES_ON_STACK)
		names = xmalloc(n * sizeof(*names));
	cJSON_ArrayForEach(c, o)
		names[i++] = c->string ? c->string : "";
	int (*cmp)(const void *, const void *) = icase ? name_casecmp : name_cmp;
	qsort(names, n, sizeof(*names), cmp);
	for (i = 1; i < n && !dup; i++) {
		if (cmp(&names[i - 1], &names[i]) == 0)
			dup = names[i];
	}
	if (names != stack)
		free(names);
	return dup;
}

static const char *walk(const cJSON *j, int top)
{
	if (cJSON_IsObject(j)) {
		const char *d = object_duplicate(j, top);
		if (d)
			return d;
	}
	for (const cJSON *c = j->child; c; c = c->next) {
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			const char *d = walk(c, 0);
			if (d)
				return d;
		}
	}
	return NULL;
}

/* A member of the object j named like one of names (n of them) but in
 * another letter case ("Model"), or NULL. */
static const char *names_case_variant(const cJSON *j, const char *const *names, size_t n)
{
	const cJSON *c;
	if (!cJSON_IsObject(j))
		return NULL;
	cJSON_ArrayForEach(c, j) {
		for (size_t k = 0; c->string && k < n; k++) {
			if (!strcasecmp(c->string, names[k]) && strcmp(c->string, names[k]))
				return c->string;
		}
	}
	return NULL;
}

/* A member the gateway reads (model, stream, stream_options and its
 * include_usage, which decides whether usage is reported) written in
 * another letter case, or NULL. */
static const char *case_variant(const cJSON *j)
{
	static const char *const top[] = { "model", "stream", "stream_options" };
	static const char *const so[] = { "include_usage" };
	const char *odd = names_case_variant(j, top, sizeof(top) / sizeof(top[0]));
	if (!odd)
		odd = names_case_variant(cJSON_GetObjectItemCaseSensitive(j, "stream_options"), so, 1);
	return odd;
}

const char *reqbody_duplicate(const cJSON *j)
{
	return j && (cJSON_IsObject(j) || cJSON_IsArray(j)) ? walk(j, 1) : NULL;
}

enum reqbody_verdict reqbody_parse(const char *s, size_t n, int want_object, cJSON **out, char *msg,
				   size_t msglen)
{
	const char *what = want_object ? "a JSON object" : "valid JSON";
	cJSON *j = NULL;
	*out = NULL;
	int v = jscan_strict(s ? s : "", s ? n : 0, REQBODY_MAX_DEPTH);
	if (v < 0) {
		snprintf(msg, msglen, "The request body holds the escape \\u0000 (a NUL character), "
			 "which this gateway does not accept.");
		return REQBODY_NUL;
	}
	if (v == 0 || !(j = cJSON_ParseWithLength(s, n))) {
		snprintf(msg, msglen, "We could not parse the JSON body of your request. The body must be %s "
			 "(RFC 8259, nothing after it).", what);
		return REQBODY_NOT_JSON;
	}
	if (want_object && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		snprintf(msg, msglen, "We could not parse the JSON body of your request. The body must be %s.", what);
		return REQBODY_NOT_OBJECT;
	}
	const char *dup = reqbody_duplicate(j);
	if (dup) {
		snprintf(msg, msglen, "The request body has the member '%.*s' more than once in one object "
			 "(top-level names count as the same in any letter case). Send each member once.",
			 quoted_len(dup), dup);
		cJSON_Delete(j);
		return REQBODY_DUPLICATE;
	}
	const char *odd = case_variant(j);
	if (odd) {
		snprintf(msg, msglen, "The request body has the member '%.*s'; write it in lower case.", quoted_len(odd),
			 odd);
		cJSON_Delete(j);
		return REQBODY_CASE;
	}
	*out = j;
	return REQBODY_OK;
}

enum reqbody_model_verdict reqbody_model(const cJSON *req, const char **model)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");
	*model = NULL;
	if (!cJSON_IsString(m) || !m->valuestring || !*m->valuestring)
		return REQBODY_MODEL_MISSING;
	if (strlen(m->valuestring) > REQBODY_MODEL_LEN)
		return REQBODY_MODEL_TOO_LONG;
	*model = m->valuestring;
	return REQBODY_MODEL_OK;
}

/* req changed and printed: model set, include_usage on when asked. */
static char *forward_printed(cJSON *req, const char *model, int add_usage)
{
	cJSON *ms = cJSON_CreateString(model);
	if (!cJSON_ReplaceItemInObjectCaseSensitive(req, "model", ms))
		cJSON_AddItemToObject(req, "model", ms);
	if (add_usage) {
		cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
		if (!cJSON_IsObject(so)) {
			cJSON_DeleteItemFromObjectCaseSensitive(req, "stream_options");
			so = cJSON_AddObjectToObject(req, "stream_options");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
		cJSON_AddTrueToObject(so, "include_usage");
	}
	return cJSON_PrintUnformatted(req);
}

/* The client's own text with only the model's value replaced and, when
 * usage is wanted and the client sent no stream_options, those added.
 * NULL when that is not enough (no plain "model" member in the text, or
 * the client's stream_options would need changing). */
static char *forward_spliced(const char *raw, size_t n, const cJSON *req, const char *model, int add_usage)
{
	size_t vs, ve;
	int add_so = 0;
	if (jscan_member(raw, n, "model", &vs, &ve) != 1)
		return NULL;
	if (add_usage) {
		const cJSON *so = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
		if (!so)
			add_so = 1;
		else if (!cJSON_IsObject(so) || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage")))
			return NULL;
	}
	size_t close = n;
	while (close > ve && raw[close - 1] != '}')
		close--;
	if (close <= ve)
		return NULL;
	close--;   /* the object's closing brace */
	cJSON *ms = cJSON_CreateString(model);
	char *mj = cJSON_PrintUnformatted(ms);
	cJSON_Delete(ms);
	static const char so_text[] = ",\"stream_options\":{\"include_usage\":true}";
	size_t ml = strlen(mj);
	size_t total = vs + ml + (close - ve) + (add_so ? sizeof(so_text) - 1 : 0) + (n - close);
	char *out = xmalloc(total + 1);
	char *p = out;
	memcpy(p, raw, vs);
	p += vs;
	memcpy(p, mj, ml);
	p += ml;
	memcpy(p, raw + ve, close - ve);
	p += close - ve;
	if (add_so) {
		memcpy(p, so_text, sizeof(so_text) - 1);
		p += sizeof(so_text) - 1;
	}
	memcpy(p, raw + close, n - close);
	p += n - close;
	*p = '\0';
	free(mj);
	return out;
}

char *reqbody_forward(cJSON *req, const char *raw, size_t n, const char *model, int add_usage)
{
	char *body = raw ? forward_spliced(raw, n, req, model, add_usage) : NULL;
	return body ? body : forward_printed(req, model, add_usage);
}
