/* gemini.c — translation between OpenAI chat and Gemini generateContent. */
#include "autoconf.h"
#include "gemini.h"
#include "log.h"
#include "reasoning.h"
#include "translate.h"
#include "xmalloc.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Text gathered while translating one request or response. Inputs are
 * capped by the router well below this. */
#define TEXT_CAP ((size_t)64 << 20)

/* ------------------------------------------------------------ helpers */

/* A token count: a number in 0..1e15, or 0. */
static long jcount(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > USAGE_COUNT_MAX)
		return 0;
	return (long)v->valuedouble;
}

/* a when it is an array, else NULL (for cJSON_ArrayForEach). */
static const cJSON *array_or_null(const cJSON *a)
{
	return cJSON_IsArray(a) ? a : NULL;
}

static int is_int_in(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
	       v->valuedouble == (double)(long)v->valuedouble;
}

/* FNV-1a, for short stable tool call ids. */
static uint32_t fnv1a(const char *s, uint32_t h)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* A tool call id for call k of a candidate: Gemini's own id when it gave
 * one, else "call_<k>_<hash>"; with GEMINI_SIG_SEP + signature appended
 * when the part carries a thoughtSignature. A new string (free()). */
static char *call_id(const cJSON *part, const char *salt, int cand, int k)
{
	const cJSON *fc = cJSON_GetObjectItemCaseSensitive(part, "functionCall");
	const char *gid = tr_jstr(fc, "id"), *sig = tr_jstr(part, "thoughtSignature");
	char base[64];
	if (gid && *gid && strlen(gid) < sizeof(base))
		snprintf(base, sizeof(base), "%s", gid);
	else
		snprintf(base, sizeof(base), "call_%d_%08x", k, fnv1a(salt, 2166136261u) ^ (uint32_t)cand);
	return sig && *sig ? xasprintf("%s%s%s", base, GEMINI_SIG_SEP, sig) : xstrdup(base);
}

/* ------------------------------------------------------------ finish */

static const char *finish_from_reason(const char *r, int has_tools)
{
	static const char *const filtered[] = { "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
		"SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE" };
	if (!r)
		return has_tools ? "tool_calls" : "stop";
	if (!strcmp(r, "MAX_TOKENS"))
		return "length";
	for (size_t i = 0; i < sizeof(filtered) / sizeof(filtered[0]); i++)
		if (!strcmp(r, filtered[i]))
			return "content_filter";
	return has_tools ? "tool_calls" : "stop";   /* STOP, OTHER, MALFORMED_FUNCTION_CALL, ... */
}

/* ------------------------------------------------------------ usage */

/* usageMetadata → u; 1 when there was one. */
static int read_usage(const cJSON *um, struct usage *u)
{
	if (!cJSON_IsObject(um))
		return 0;
	memset(u, 0, sizeof(*u));
	u->prompt = jcount(um, "promptTokenCount") + jcount(um, "toolUsePromptTokenCount");
	u->reasoning = jcount(um, "thoughtsTokenCount");
	u->completion = jcount(um, "candidatesTokenCount") + u->reasoning;
	u->cached = jcount(um, "cachedContentTokenCount");
	u->reported = 1;
	return 1;
}

static cJSON *oai_usage_json(const struct usage *u)
{
	cJSON *uj = cJSON_CreateObject();
	cJSON_AddNumberToObject(uj, "prompt_tokens", (double)u->prompt);
	cJSON_AddNumberToObject(uj, "completion_tokens", (double)u->completion);
	cJSON_AddNumberToObject(uj, "total_tokens", (double)usage_total(u));
	cJSON *pd = cJSON_AddObjectToObject(uj, "prompt_tokens_details");
	cJSON_AddNumberToObject(pd, "cached_tokens", (double)u->cached);
	cJSON *cd = cJSON_AddObjectToObject(uj, "completion_tokens_details");
	cJSON_AddNumberToObject(cd, "reasoning_tokens", (double)u->reasoning);
	return uj;
}

/* ------------------------------------------------------------ path */

int gemini_path(char *out, size_t n, const char *model, int stream)
{
	if (!model)
		return -1;
	if (!strncmp(model, "models/", 7))
		model += 7;
	if (!*model || strpbrk(model, "/?# "))
		return -1;
	int len = snprintf(out, n, "/models/%s:%s", model, stream ? "streamGenerateContent?alt=sse" : "generateContent");
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ======================================================= request */

/* Split a "data:MIME;base64,DATA" URL into an inlineData part. */
static cJSON *inline_part(const char *url, const char *where, char *err, size_t errlen)
{
	/* the prefix first: a URL shorter than it has no media type to read */
	int data = !strncmp(url, "data:", 5);
	const char *b64 = data ? strstr(url, ";base64,") : NULL;
	const char *mt = data ? url + 5 : "";
	size_t mtlen = strcspn(mt, ";,");
	if (!data || !b64 || mtlen == 0) {
		tr_seterr(err, errlen, "%s: only base64 data: URLs with a media type can be sent inline", where);
		return NULL;
	}
	char *media = xstrndup(mt, mtlen);
	cJSON *p = cJSON_CreateObject();
	cJSON *d = cJSON_AddObjectToObject(p, "inlineData");
	cJSON_AddStringToObject(d, "mimeType", media);
	cJSON_AddStringToObject(d, "data", b64 + 8);
	free(media);
	return p;
}

/* A media type from a URL's file extension (query ignored). */
static const char *mime_of_url(const char *url)
{
	static const struct { const char *ext, *mime; } map[] = {
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
		{ ".gif", "image/gif" }, { ".webp", "image/webp" }, { ".heic", "image/heic" },
		{ ".heif", "image/heif" }, { ".pdf", "application/pdf" },
	};
	size_t end = strcspn(url, "?#");
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t el = strlen(map[i].ext);
		if (end > el && !strncasecmp(url + end - el, map[i].ext, el))
			return map[i].mime;
	}
	return "image/jpeg";
}

static void add_text_part(cJSON *parts, const char *text)
{
	if (!text || !*text)
		return;
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddItemToArray(parts, p);
}

/* OpenAI content (string, parts or null) → Gemini parts. */
static int content_to_parts(const cJSON *content, cJSON *parts, int mi, char *err, size_t errlen)
{
	char where[64];
	const cJSON *part;
	int k = 0;
	if (!content || cJSON_IsNull(content))
		return 0;
	if (cJSON_IsString(content)) {
		add_text_part(parts, content->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(content)) {
		tr_seterr(err, errlen, "messages[%d].content must be a string or an array of parts", mi);
		return -1;
	}
	cJSON_ArrayForEach(part, content) {
		const char *type = tr_jstr(part, "type");
		cJSON *p = NULL;
		snprintf(where, sizeof(where), "messages[%d].content[%d]", mi, k++);
		if (!type) {
			tr_seterr(err, errlen, "%s must be an object with a type", where);
			return -1;
		}
		if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
			if (!tr_jstr(part, type)) {
				tr_seterr(err, errlen, "%s.%s must be a string", where, type);
				return -1;
			}
			add_text_part(parts, tr_jstr(part, type));
			continue;
		}
		if (!strcmp(type, "image_url")) {
			const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
			const char *url = cJSON_IsString(iu) ? iu->valuestring : tr_jstr(iu, "url");
			if (!url) {
				tr_seterr(err, errlen, "%s.image_url.url must be a string", where);
				return -1;
			}
			if (!strncmp(url, "data:", 5)) {
				p = inline_part(url, where, err, errlen);
			} else if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7)) {
				p = cJSON_CreateObject();
				cJSON *fd = cJSON_AddObjectToObject(p, "fileData");
				cJSON_AddStringToObject(fd, "mimeType", mime_of_url(url));
				cJSON_AddStringToObject(fd, "fileUri", url);
			} else {
				tr_seterr(err, errlen, "%s: image_url must be a data: or http(s) URL", where);
			}
		} else if (!strcmp(type, "input_audio")) {
			const cJSON *ia = cJSON_GetObjectItemCaseSensitive(part, "input_audio");
			const char *data = tr_jstr(ia, "data"), *fmt = tr_jstr(ia, "format");
			if (!data || !fmt) {
				tr_seterr(err, errlen, "%s.input_audio needs data and format", where);
				return -1;
			}
			char *mime = xasprintf("audio/%s", fmt);
			p = cJSON_CreateObject();
			cJSON *d = cJSON_AddObjectToObject(p, "inlineData");
			cJSON_AddStringToObject(d, "mimeType", mime);
			cJSON_AddStringToObject(d, "data", data);
			free(mime);
		} else if (!strcmp(type, "file")) {
			const char *fdata = tr_jstr(cJSON_GetObjectItemCaseSensitive(part, "file"), "file_data");
			if (!fdata) {
				tr_seterr(err, errlen, "%s: only files sent as file_data data: URLs are supported", where);
				return -1;
			}
			p = inline_part(fdata, where, err, errlen);
		} else {
			tr_seterr(err, errlen, "%s: content part type '%s' is not supported for this model", where, type);
			return -1;
		}
		if (!p)
			return -1;
		cJSON_AddItemToArray(parts, p);
	}
	return 0;
}

static int tool_calls_to_parts(const cJSON *tcs, cJSON *parts, int mi, char *err, size_t errlen)
{
	const cJSON *tc;
	int k = 0;
	if (!tcs || cJSON_IsNull(tcs))
		return 0;
	if (!cJSON_IsArray(tcs)) {
		tr_seterr(err, errlen, "messages[%d].tool_calls must be an array", mi);
		return -1;
	}
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const char *name = tr_jstr(fn, "name"), *args = tr_jstr(fn, "arguments"), *id = tr_jstr(tc, "id");
		if (!name) {
			tr_seterr(err, errlen, "messages[%d].tool_calls[%d] needs function.name", mi, k);
			return -1;
		}
		cJSON *a = !args || tr_blank(args) ? cJSON_CreateObject() : cJSON_Parse(args);
		if (!cJSON_IsObject(a)) {
			cJSON_Delete(a);
			tr_seterr(err, errlen, "messages[%d].tool_calls[%d].function.arguments is not a JSON object", mi, k);
			return -1;
		}
		cJSON *p = cJSON_CreateObject();
		cJSON *fc = cJSON_AddObjectToObject(p, "functionCall");
		cJSON_AddStringToObject(fc, "name", name);
		cJSON_AddItemToObject(fc, "args", a);
		const char *sig = id ? strstr(id, GEMINI_SIG_SEP) : NULL;
		if (sig && sig[strlen(GEMINI_SIG_SEP)])
			cJSON_AddStringToObject(p, "thoughtSignature", sig + strlen(GEMINI_SIG_SEP));
		cJSON_AddItemToArray(parts, p);
		k++;
	}
	return 0;
}

/* The function name of the tool call with id, searched backwards from
 * message mi; NULL if none. */
static const char *tool_name_for(const cJSON *messages, int mi, const char *id)
{
	for (int i = mi - 1; i >= 0; i--) {
		const cJSON *m = cJSON_GetArrayItem(messages, i), *tc;
		const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
		if (!cJSON_IsArray(tcs))
			continue;
		cJSON_ArrayForEach(tc, tcs) {
			const char *tid = tr_jstr(tc, "id");
			if (tid && !strcmp(tid, id))
				return tr_jstr(cJSON_GetObjectItemCaseSensitive(tc, "function"), "name");
		}
	}
	return NULL;
}

static cJSON *function_response_part(const cJSON *messages, const cJSON *m, int mi, char *err, size_t errlen)
{
	cJSON *p = NULL, *resp = NULL;
	struct buf text;
	const char *id = tr_jstr(m, "tool_call_id");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");

	buf_init(&text, TEXT_CAP);
	if (!id) {
		tr_seterr(err, errlen, "messages[%d].tool_call_id is missing", mi);
		goto out;
	}
	const char *name = tool_name_for(messages, mi, id);
	if (!name)
		name = tr_jstr(m, "name");
	if (!name) {
		tr_seterr(err, errlen, "messages[%d].tool_call_id '%.64s' matches no earlier tool call", mi, id);
		goto out;
	}
	if (cJSON_IsString(content)) {
		buf_puts(&text, content->valuestring);
	} else if (cJSON_IsArray(content)) {
		const cJSON *part;
		cJSON_ArrayForEach(part, content)
			if (tr_jstr(part, "text"))
				buf_puts(&text, tr_jstr(part, "text"));
	} else if (content && !cJSON_IsNull(content)) {
		tr_seterr(err, errlen, "messages[%d].content must be a string or an array of parts", mi);
		goto out;
	}
	resp = cJSON_Parse(buf_str(&text));
	if (!cJSON_IsObject(resp)) {
		cJSON_Delete(resp);
		resp = cJSON_CreateObject();
		cJSON_AddStringToObject(resp, "output", buf_str(&text));
	}
	p = cJSON_CreateObject();
	cJSON *fr = cJSON_AddObjectToObject(p, "functionResponse");
	cJSON_AddStringToObject(fr, "name", name);
	cJSON_AddItemToObject(fr, "response", resp);
out:
	buf_free(&text);
	return p;
}

static cJSON *tools_from_oai(const cJSON *tools, char *err, size_t errlen)
{
	cJSON *out = cJSON_CreateArray();
	cJSON *decls = cJSON_CreateArray();
	const cJSON *t;
	int k = 0;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const char *type = tr_jstr(t, "type"), *name = tr_jstr(fn, "name");
		if ((type && strcmp(type, "function")) || !name) {
			tr_seterr(err, errlen, "tools[%d] must be {\"type\":\"function\",\"function\":{\"name\":...}}", k);
			cJSON_Delete(out);
			cJSON_Delete(decls);
			return NULL;
		}
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "name", name);
		if (tr_jstr(fn, "description"))
			cJSON_AddStringToObject(d, "description", tr_jstr(fn, "description"));
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
		if (cJSON_IsObject(params))
			cJSON_AddItemToObject(d, "parametersJsonSchema", cJSON_Duplicate(params, 1));
		cJSON_AddItemToArray(decls, d);
		k++;
	}
	cJSON *tool = cJSON_CreateObject();
	cJSON_AddItemToObject(tool, "functionDeclarations", decls);
	cJSON_AddItemToArray(out, tool);
	return out;
}

static cJSON *tool_config(const cJSON *tc, int *bad, char *err, size_t errlen)
{
	const char *mode = NULL, *name = NULL;
	*bad = 0;
	if (!tc || cJSON_IsNull(tc))
		return NULL;
	static const char *const words[4] = { "AUTO", "NONE", "ANY", "ANY" };
	mode = tr_tool_choice(tc, words, &name, err, errlen);
	if (!mode) {
		*bad = 1;
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *fcc = cJSON_AddObjectToObject(o, "functionCallingConfig");
	cJSON_AddStringToObject(fcc, "mode", mode);
	if (name) {
		cJSON *names = cJSON_AddArrayToObject(fcc, "allowedFunctionNames");
		cJSON_AddItemToArray(names, cJSON_CreateString(name));
	}
	return o;
}

/* The internal reasoning (reasoning.h) → generationConfig.thinkingConfig:
 * thinkingBudget (the exact one, -1 for the model deciding, else the
 * effort's), includeThoughts (as asked, else on unless the budget is 0,
 * so that the thoughts come back as reasoning_content). */
static void add_thinking(cJSON *g, const cJSON *req)
{
	struct reasoning r;
	reasoning_read(req, &r);
	if (!reasoning_given(&r))
		return;
	long b = reasoning_budget(&r);
	cJSON *tc = cJSON_AddObjectToObject(g, "thinkingConfig");
	if (b != REASONING_NOBUDGET)
		cJSON_AddNumberToObject(tc, "thinkingBudget", (double)b);
	cJSON_AddBoolToObject(tc, "includeThoughts", r.include >= 0 ? r.include : b != 0);
}

/* generationConfig from the OpenAI sampling fields; NULL with *bad set on
 * a bad value, NULL alone when there is nothing to send. */
static cJSON *generation_config(const cJSON *req, int *bad, char *err, size_t errlen)
{
	cJSON *g = cJSON_CreateObject();
	const cJSON *v;
	*bad = 0;
	v = cJSON_GetObjectItemCaseSensitive(req, "temperature");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(g, "temperature", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "top_p");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(g, "topP", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "max_completion_tokens");
	if (!v || cJSON_IsNull(v))
		v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
	if (v && !cJSON_IsNull(v)) {
		if (!is_int_in(v, 1, 1e9)) {
			tr_seterr(err, errlen, "max_tokens must be a positive integer");
			goto bad;
		}
		cJSON_AddNumberToObject(g, "maxOutputTokens", v->valuedouble);
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "stop");
	if (cJSON_IsString(v) || cJSON_IsArray(v)) {
		cJSON *arr = cJSON_CreateArray();
		const cJSON *s;
		if (cJSON_IsString(v) && *v->valuestring)
			cJSON_AddItemToArray(arr, cJSON_CreateString(v->valuestring));
		cJSON_ArrayForEach(s, array_or_null(v)) {
			if (!cJSON_IsString(s)) {
				cJSON_Delete(arr);
				tr_seterr(err, errlen, "stop must be a string or an array of strings");
				goto bad;
			}
			if (*s->valuestring)
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->valuestring));
		}
		if (cJSON_GetArraySize(arr))
			cJSON_AddItemToObject(g, "stopSequences", arr);
		else
			cJSON_Delete(arr);
	} else if (v && !cJSON_IsNull(v)) {
		tr_seterr(err, errlen, "stop must be a string or an array of strings");
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "n");
	if (v && !cJSON_IsNull(v)) {
		if (!is_int_in(v, 1, GEMINI_MAX_CANDIDATES)) {
			tr_seterr(err, errlen, "n must be an integer from 1 to %d", GEMINI_MAX_CANDIDATES);
			goto bad;
		}
		if (v->valuedouble > 1)
			cJSON_AddNumberToObject(g, "candidateCount", v->valuedouble);
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "presence_penalty");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(g, "presencePenalty", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "frequency_penalty");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(g, "frequencyPenalty", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "seed");
	if (is_int_in(v, -2147483648.0, 2147483647.0))
		cJSON_AddNumberToObject(g, "seed", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "response_format");
	const char *rf = tr_jstr(v, "type");
	if (rf && (!strcmp(rf, "json_object") || !strcmp(rf, "json_schema"))) {
		cJSON_AddStringToObject(g, "responseMimeType", "application/json");
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "json_schema"),
								       "schema");
		if (!strcmp(rf, "json_schema") && cJSON_IsObject(schema))
			cJSON_AddItemToObject(g, "responseJsonSchema", cJSON_Duplicate(schema, 1));
	}
	add_thinking(g, req);
	if (!g->child) {
		cJSON_Delete(g);
		return NULL;
	}
	return g;
bad:
	*bad = 1;
	cJSON_Delete(g);
	return NULL;
}

char *gemini_request_from_oai(const cJSON *req, char *err, size_t errlen)
{
	char *result = NULL;
	cJSON *out = NULL, *contents = NULL, *tools = NULL, *tconf = NULL, *gen = NULL;
	struct buf sys;
	const cJSON *m, *v;
	int mi = 0, bad;

	buf_init(&sys, TEXT_CAP);
	if (!cJSON_IsObject(req)) {
		tr_seterr(err, errlen, "the request body must be a JSON object");
		goto out;
	}
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
		tr_seterr(err, errlen, "'messages' must be a non-empty array");
		goto out;
	}
	contents = cJSON_CreateArray();
	cJSON_ArrayForEach(m, messages) {
		const char *role = tr_jstr(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		cJSON *parts;
		if (!cJSON_IsObject(m) || !role) {
			tr_seterr(err, errlen, "messages[%d] must be an object with a role", mi);
			goto out;
		}
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (tr_system_text(content, &sys, mi, err, errlen) != 0)
				goto out;
		} else if (!strcmp(role, "user") || !strcmp(role, "assistant")) {
			int asst = !strcmp(role, "assistant");
			parts = cJSON_CreateArray();
			if (content_to_parts(content, parts, mi, err, errlen) != 0 ||
			    (asst && tool_calls_to_parts(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), parts, mi,
							 err, errlen) != 0)) {
				cJSON_Delete(parts);
				goto out;
			}
			tr_add_turn(contents, asst ? "model" : "user", parts, "parts");
		} else if (!strcmp(role, "tool")) {
			cJSON *p = function_response_part(messages, m, mi, err, errlen);
			if (!p)
				goto out;
			parts = cJSON_CreateArray();
			cJSON_AddItemToArray(parts, p);
			tr_add_turn(contents, "user", parts, "parts");
		} else {
			tr_seterr(err, errlen, "messages[%d].role '%s' is not supported", mi, role);
			goto out;
		}
		mi++;
	}
	if (cJSON_GetArraySize(contents) == 0) {
		tr_seterr(err, errlen, "'messages' holds no user or assistant content");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "tools");
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
		tools = tools_from_oai(v, err, errlen);
		if (!tools)
			goto out;
		tconf = tool_config(cJSON_GetObjectItemCaseSensitive(req, "tool_choice"), &bad, err, errlen);
		if (bad)
			goto out;
	} else if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v)) {
		tr_seterr(err, errlen, "tools must be an array");
		goto out;
	}
	gen = generation_config(req, &bad, err, errlen);
	if (bad)
		goto out;

	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "contents", contents);
	contents = NULL;
	if (sys.len) {
		cJSON *si = cJSON_AddObjectToObject(out, "systemInstruction");
		cJSON *parts = cJSON_AddArrayToObject(si, "parts");
		add_text_part(parts, buf_str(&sys));
	}
	if (tools) {
		cJSON_AddItemToObject(out, "tools", tools);
		tools = NULL;
	}
	if (tconf) {
		cJSON_AddItemToObject(out, "toolConfig", tconf);
		tconf = NULL;
	}
	if (gen) {
		cJSON_AddItemToObject(out, "generationConfig", gen);
		gen = NULL;
	}
	result = cJSON_PrintUnformatted(out);
	if (!result)
		tr_seterr(err, errlen, "cannot encode the request");
out:
	cJSON_Delete(out);
	cJSON_Delete(contents);
	cJSON_Delete(tools);
	cJSON_Delete(tconf);
	cJSON_Delete(gen);
	buf_free(&sys);
	return result;
}

/* ======================================================= response */

/* An OpenAI tool call for call k of candidate cand, a functionCall part
 * (a new object); with "index": k first when with_index (stream deltas). */
static cJSON *tool_call(const cJSON *part, const char *salt, int cand, int k, int with_index)
{
	const cJSON *fc = cJSON_GetObjectItemCaseSensitive(part, "functionCall");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
	char *id = call_id(part, salt, cand, k);
	char *a = cJSON_IsObject(args) ? cJSON_PrintUnformatted(args) : NULL;
	cJSON *tc = cJSON_CreateObject();
	if (with_index)
		cJSON_AddNumberToObject(tc, "index", k);
	cJSON_AddStringToObject(tc, "id", id);
	cJSON_AddStringToObject(tc, "type", "function");
	cJSON *fn = cJSON_AddObjectToObject(tc, "function");
	cJSON_AddStringToObject(fn, "name", tr_jstr(fc, "name") ? tr_jstr(fc, "name") : "");
	cJSON_AddStringToObject(fn, "arguments", a ? a : "{}");
	free(a);
	free(id);
	return tc;
}

/* One OpenAI choice for a candidate. */
static cJSON *choice_of(const cJSON *cand, int index, const char *salt)
{
	struct buf text, think;
	cJSON *tcs = cJSON_CreateArray();
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
	const cJSON *p;

	buf_init(&text, TEXT_CAP);
	buf_init(&think, TEXT_CAP);
	cJSON_ArrayForEach(p, array_or_null(parts)) {
		const char *t = tr_jstr(p, "text");
		if (t)
			buf_puts(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought")) ? &think : &text, t);
		else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "functionCall")))
			cJSON_AddItemToArray(tcs, tool_call(p, salt, index, cJSON_GetArraySize(tcs), 0));
	}
	int ntc = cJSON_GetArraySize(tcs);
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddNumberToObject(ch, "index", index);
	cJSON *msg = cJSON_AddObjectToObject(ch, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	if (text.len || !ntc)
		cJSON_AddStringToObject(msg, "content", buf_str(&text));
	else
		cJSON_AddNullToObject(msg, "content");
	if (think.len)
		cJSON_AddStringToObject(msg, "reasoning_content", buf_str(&think));
	if (ntc)
		cJSON_AddItemToObject(msg, "tool_calls", tcs);
	else
		cJSON_Delete(tcs);
	cJSON_AddNullToObject(ch, "logprobs");
	cJSON_AddStringToObject(ch, "finish_reason", finish_from_reason(tr_jstr(cand, "finishReason"), ntc > 0));
	buf_free(&text);
	buf_free(&think);
	return ch;
}

char *gemini_response_to_oai(const char *body, size_t len, const char *model,
			     struct usage *u, char *err, size_t errlen)
{
	char *result = NULL, *oid = NULL;
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	cJSON *out = NULL;
	struct usage us = { 0, 0, 0, 0, 0 };
	char salt[64];

	if (!cJSON_IsObject(j)) {
		tr_seterr(err, errlen, "the upstream response is not a JSON object");
		goto out;
	}
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (e && !cJSON_IsNull(e)) {
		tr_seterr(err, errlen, "upstream error: %s: %s", tr_jstr(e, "status") ? tr_jstr(e, "status") : "error",
		       tr_jstr(e, "message") ? tr_jstr(e, "message") : "");
		goto out;
	}
	read_usage(cJSON_GetObjectItemCaseSensitive(j, "usageMetadata"), &us);
	if (u)
		*u = us;
	const char *rid = tr_jstr(j, "responseId");
	long created = (long)time(NULL);
	snprintf(salt, sizeof(salt), "%s", rid ? rid : "");
	if (!rid)
		snprintf(salt, sizeof(salt), "%ld", created);

	out = cJSON_CreateObject();
	oid = rid ? xasprintf("chatcmpl-%s", rid) : xasprintf("chatcmpl-gemini-%ld", created);
	cJSON_AddStringToObject(out, "id", oid);
	cJSON_AddStringToObject(out, "object", "chat.completion");
	cJSON_AddNumberToObject(out, "created", (double)created);
	cJSON_AddStringToObject(out, "model", model ? model : tr_jstr(j, "modelVersion") ? tr_jstr(j, "modelVersion") : "");
	cJSON *choices = cJSON_AddArrayToObject(out, "choices");
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(j, "candidates"), *c;
	int k = 0;
	cJSON_ArrayForEach(c, array_or_null(cands)) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(c, "index");
		int index = is_int_in(ix, 0, 1000) ? (int)ix->valuedouble : k;
		cJSON_AddItemToArray(choices, choice_of(c, index, salt));
		k++;
	}
	if (k == 0) {
		/* a blocked prompt: an empty, filtered answer rather than an error */
		const char *block = tr_jstr(cJSON_GetObjectItemCaseSensitive(j, "promptFeedback"), "blockReason");
		cJSON *ch = cJSON_CreateObject();
		cJSON_AddNumberToObject(ch, "index", 0);
		cJSON *msg = cJSON_AddObjectToObject(ch, "message");
		cJSON_AddStringToObject(msg, "role", "assistant");
		cJSON_AddStringToObject(msg, "content", "");
		cJSON_AddNullToObject(ch, "logprobs");
		cJSON_AddStringToObject(ch, "finish_reason", block ? "content_filter" : "stop");
		cJSON_AddItemToArray(choices, ch);
	}
	cJSON_AddItemToObject(out, "usage", oai_usage_json(&us));
	result = cJSON_PrintUnformatted(out);
out:
	free(oid);
	cJSON_Delete(j);
	cJSON_Delete(out);
	return result;
}

/* ======================================================= usage alone */

void gemini_usage_from_event(struct gemini_usage_scan *s, const char *data, size_t len, struct usage *u)
{
	if (s->failed)
		return;
	cJSON *j = cJSON_ParseWithLength(data ? data : "", len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsObject(j) || (e && !cJSON_IsNull(e)))
		s->failed = 1;
	else
		read_usage(cJSON_GetObjectItemCaseSensitive(j, "usageMetadata"), &s->usage);
	cJSON_Delete(j);
	if (s->usage.reported)
		*u = s->usage;
}

int gemini_usage_from_body(const char *body, size_t len, struct usage *u)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	int ok = cJSON_IsObject(j) && !(e && !cJSON_IsNull(e));
	if (ok) {
		struct usage us = { 0, 0, 0, 0, 0 };
		read_usage(cJSON_GetObjectItemCaseSensitive(j, "usageMetadata"), &us);
		*u = us;
	}
	cJSON_Delete(j);
	return ok;
}

/* ======================================================= stream */

void gemini_to_oai_init(struct gemini_to_oai *s, const char *model, int include_usage)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", "chatcmpl-gemini");
	snprintf(s->model, sizeof(s->model), "%s", model ? model : "");
	s->created = (long)time(NULL);
	s->include_usage = include_usage;
}

static int g2o_chunk(struct gemini_to_oai *s, struct chunk_sink *out, int index, cJSON *delta, const char *finish)
{
	s->started = 1;
	return chunk_emit(out, tr_chunk(s->id, s->created, s->model, index, delta, finish), 0);
}

static int g2o_choice(struct gemini_to_oai *s, struct chunk_sink *out, int index)
{
	if (s->seen[index])
		return 0;
	s->seen[index] = 1;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	return g2o_chunk(s, out, index, d, NULL);
}

static int g2o_fail(struct gemini_to_oai *s, struct chunk_sink *out, const char *message, const char *code)
{
	s->failed = 1;
	snprintf(s->error, sizeof(s->error), "%s", message);
	char *msg = xstrdup(message);
	log_scrub(msg);
	chunk_emit(out, tr_oai_error_obj(msg, "upstream_error", code), CHUNK_ERROR);
	free(msg);
	return -1;
}

static int g2o_candidate(struct gemini_to_oai *s, struct chunk_sink *out, const cJSON *cand, int index)
{
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
	const cJSON *p;
	if (g2o_choice(s, out, index) != 0)
		return -1;
	cJSON_ArrayForEach(p, array_or_null(parts)) {
		const char *t = tr_jstr(p, "text");
		cJSON *d = NULL;
		if (t && *t) {
			d = cJSON_CreateObject();
			cJSON_AddStringToObject(d, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought"))
						   ? "reasoning_content" : "content", t);
		} else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "functionCall"))) {
			int k = s->ntools[index]++;
			cJSON *tc = tool_call(p, s->id, index, k, 1);
			d = cJSON_CreateObject();
			cJSON *arr = cJSON_AddArrayToObject(d, "tool_calls");
			cJSON_AddItemToArray(arr, tc);
		}
		if (d && g2o_chunk(s, out, index, d, NULL) != 0)
			return -1;
	}
	const char *fr = tr_jstr(cand, "finishReason");
	if (fr && !s->finished[index]) {
		s->finished[index] = 1;
		return g2o_chunk(s, out, index, cJSON_CreateObject(), finish_from_reason(fr, s->ntools[index] > 0));
	}
	return 0;
}

int gemini_to_oai_feed(struct gemini_to_oai *s, const char *data, size_t len, struct buf *out)
{
	struct chunk_sink k = { .buf = out };
	return gemini_to_oai_feed_to(s, data, len, &k);
}

int gemini_to_oai_finish(struct gemini_to_oai *s, struct buf *out)
{
	struct chunk_sink k = { .buf = out };
	return gemini_to_oai_finish_to(s, &k);
}

int gemini_to_oai_feed_to(struct gemini_to_oai *s, const char *data, size_t len, struct chunk_sink *out)
{
	int rc = 0;
	cJSON *j = NULL;

	if (s->failed)
		return -1;
	if (s->done)
		return 0;
	j = cJSON_ParseWithLength(data ? data : "", len);
	if (!cJSON_IsObject(j)) {
		rc = g2o_fail(s, out, "the upstream sent an event that is not JSON", "bad_upstream_event");
		goto out;
	}
	s->events++;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (e && !cJSON_IsNull(e)) {
		const char *m = tr_jstr(e, "message");
		rc = g2o_fail(s, out, m ? m : "the upstream reported an error", tr_jstr(e, "status"));
		goto out;
	}
	const char *rid = tr_jstr(j, "responseId");
	if (rid && !s->started)
		snprintf(s->id, sizeof(s->id), "chatcmpl-%s", rid);
	read_usage(cJSON_GetObjectItemCaseSensitive(j, "usageMetadata"), &s->usage);
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(j, "candidates"), *c;
	int k = 0;
	cJSON_ArrayForEach(c, array_or_null(cands)) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(c, "index");
		int index = is_int_in(ix, 0, GEMINI_MAX_CANDIDATES - 1) ? (int)ix->valuedouble : k;
		k++;
		if (index < 0 || index >= GEMINI_MAX_CANDIDATES)
			continue;
		rc = g2o_candidate(s, out, c, index);
		if (rc != 0)
			break;
	}
	const char *block = tr_jstr(cJSON_GetObjectItemCaseSensitive(j, "promptFeedback"), "blockReason");
	if (rc == 0 && k == 0 && block && !s->finished[0]) {
		rc = g2o_choice(s, out, 0);
		s->finished[0] = 1;
		if (rc == 0)
			rc = g2o_chunk(s, out, 0, cJSON_CreateObject(), "content_filter");
	}
	if (rc != 0) {
		s->failed = 1;
		snprintf(s->error, sizeof(s->error), "%s", "the translated stream exceeds its buffer");
		rc = -1;
	}
out:
	cJSON_Delete(j);
	return rc;
}

int gemini_to_oai_finish_to(struct gemini_to_oai *s, struct chunk_sink *out)
{
	int any = 0;
	if (s->done)
		return 1;
	if (s->failed)
		return -1;
	for (int i = 0; i < GEMINI_MAX_CANDIDATES; i++) {
		if (s->seen[i] && !s->finished[i])
			return g2o_fail(s, out, "the upstream stream ended before the answer was complete",
					"stream_interrupted");
		any |= s->seen[i];
	}
	if (!any)
		return g2o_fail(s, out, "the upstream stream ended without an answer", "stream_interrupted");
	if (s->include_usage) {
		cJSON *c = tr_chunk_head(s->id, s->created, s->model);
		cJSON_AddArrayToObject(c, "choices");
		cJSON_AddItemToObject(c, "usage", oai_usage_json(&s->usage));
		if (chunk_emit(out, c, CHUNK_USAGE) != 0)
			goto over;
	}
	if (chunk_emit_done(out) != 0)
		goto over;
	s->done = 1;
	return 1;
over:
	s->failed = 1;
	snprintf(s->error, sizeof(s->error), "%s", "the translated stream exceeds its buffer");
	return -1;
}

/* ======================================================= errors */

const char *gemini_error_status(int http_status)
{
	switch (http_status) {
	case 400: case 413: return "INVALID_ARGUMENT";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 409: return "ABORTED";
	case 429: return "RESOURCE_EXHAUSTED";
	case 499: return "CANCELLED";
	case 500: return "INTERNAL";
	case 501: return "UNIMPLEMENTED";
	case 503: return "UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return http_status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
	}
}

char *gemini_error_json(int http_status, const char *message)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddNumberToObject(e, "code", http_status);
	cJSON_AddStringToObject(e, "message", message ? message : "");
	cJSON_AddStringToObject(e, "status", gemini_error_status(http_status));
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s ? s : xstrdup("{\"error\":{\"code\":500,\"message\":\"\",\"status\":\"INTERNAL\"}}");
}

char *gemini_error_to_oai(const char *body, size_t len, int status)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	/* Gemini sometimes wraps the error in a one-element array */
	if (!e && cJSON_IsArray(j))
		e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "error");
	const char *m = tr_jstr(e, "message");
	char *msg = m && *m ? xstrdup(m) : xasprintf("The upstream answered with HTTP status %d.", status);
	log_scrub(msg);
	cJSON *o = tr_oai_error_obj(msg, tr_error_type(status), tr_jstr(e, "status"));
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cJSON_Delete(j);
	free(msg);
	return s ? s : xstrdup("{\"error\":{\"message\":\"upstream error\",\"type\":\"upstream_error\",\"param\":null,\"code\":null}}");
}

int gemini_error_key_invalid(const char *body, size_t len)
{
	int result = 0;
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!e && cJSON_IsArray(j))
		e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "error");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(e, "details"), *d;
	cJSON_ArrayForEach(d, array_or_null(details)) {
		const char *reason = tr_jstr(d, "reason");
		if (reason && (!strcmp(reason, "API_KEY_INVALID") || !strcmp(reason, "API_KEY_EXPIRED")))
			result = 1;
	}
	const char *m = tr_jstr(e, "message");
	if (m && strstr(m, "API key not valid"))
		result = 1;
	cJSON_Delete(j);
	return result;
}

long gemini_error_retry_after(const char *body, size_t len)
{
	long result = -1;
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!e && cJSON_IsArray(j))
		e = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), "error");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(e, "details"), *d;
	cJSON_ArrayForEach(d, array_or_null(details)) {
		const char *type = tr_jstr(d, "@type"), *delay = tr_jstr(d, "retryDelay");
		size_t tl = type ? strlen(type) : 0;
		if (!delay || tl < 9 || strcmp(type + tl - 9, "RetryInfo"))
			continue;
		char *end = NULL;
		double v = strtod(delay, &end);
		if (end == delay || strcmp(end, "s") || !(v >= 0) || v > 86400.0 * 7)
			continue;
		result = (long)v;
		if ((double)result < v)
			result++;   /* round up: never retry early */
		break;
	}
	cJSON_Delete(j);
	return result;
}
