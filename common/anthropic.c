/* anthropic.c — translation between OpenAI chat and Anthropic Messages. */
#include "autoconf.h"
#include "anthropic.h"
#include "log.h"
#include "reasoning.h"
#include "translate.h"
#include "xmalloc.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Text gathered while translating one request or response (system prompts,
 * joined content). Inputs are capped by the router well below this. */
#define TEXT_CAP ((size_t)64 << 20)

enum block_kind { BLK_NONE = 0, BLK_TEXT, BLK_THINKING, BLK_TOOL, BLK_OTHER };

/* ------------------------------------------------------------ helpers */

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* A token count: a number in 0..1e15, or -1. */
static long jcount(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > USAGE_COUNT_MAX)
		return -1;
	return (long)v->valuedouble;
}

/* Append j as "event: NAME\ndata: JSON\n\n" and delete it; -1 if over cap. */
static int emit_event(struct buf *out, const char *name, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	int rc = s ? buf_printf(out, "event: %s\ndata: %s\n\n", name, s) : -1;
	free(s);
	cJSON_Delete(j);
	return rc;
}

static cJSON *anthropic_error_obj(const char *type, const char *message)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "type", "error");
	cJSON *e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "type", type ? type : "api_error");
	cJSON_AddStringToObject(e, "message", message ? message : "");
	return root;
}

/* ------------------------------------------------------------ stop reasons */

static const char *finish_from_stop(const char *stop)
{
	if (!stop)
		return "stop";
	if (!strcmp(stop, "max_tokens") || !strcmp(stop, "model_context_window_exceeded"))
		return "length";
	if (!strcmp(stop, "tool_use"))
		return "tool_calls";
	if (!strcmp(stop, "refusal"))
		return "content_filter";
	return "stop";   /* end_turn, stop_sequence, pause_turn */
}

static const char *stop_from_finish(const char *finish)
{
	if (!finish)
		return "end_turn";
	if (!strcmp(finish, "length"))
		return "max_tokens";
	if (!strcmp(finish, "tool_calls") || !strcmp(finish, "function_call"))
		return "tool_use";
	if (!strcmp(finish, "content_filter"))
		return "refusal";
	return "end_turn";
}

/* ------------------------------------------------------------ usage */

/* Read Anthropic usage fields present in uo into v[4] = {input, output,
 * cache_read, cache_creation}; 1 if the object had any. */
static int read_usage(const cJSON *uo, long v[4])
{
	static const char *const names[4] = { "input_tokens", "output_tokens",
		"cache_read_input_tokens", "cache_creation_input_tokens" };
	int any = 0;
	if (!cJSON_IsObject(uo))
		return 0;
	for (int i = 0; i < 4; i++) {
		long n = jcount(uo, names[i]);
		if (n >= 0) {
			v[i] = n;
			any = 1;
		}
	}
	return any;
}

static void usage_set(struct usage *u, const long v[4], int reported)
{
	memset(u, 0, sizeof(*u));
	u->prompt = v[0] + v[2] + v[3];
	u->completion = v[1];
	u->cached = v[2];
	u->reported = reported;
}

static cJSON *oai_usage_json(const struct usage *u)
{
	cJSON *uj = cJSON_CreateObject();
	cJSON_AddNumberToObject(uj, "prompt_tokens", (double)u->prompt);
	cJSON_AddNumberToObject(uj, "completion_tokens", (double)u->completion);
	cJSON_AddNumberToObject(uj, "total_tokens", (double)usage_total(u));
	cJSON *pd = cJSON_AddObjectToObject(uj, "prompt_tokens_details");
	cJSON_AddNumberToObject(pd, "cached_tokens", (double)u->cached);
	if (u->reasoning) {
		cJSON *cd = cJSON_AddObjectToObject(uj, "completion_tokens_details");
		cJSON_AddNumberToObject(cd, "reasoning_tokens", (double)u->reasoning);
	}
	return uj;
}

/* ======================================================= OpenAI → Anthropic */

/* An image block from an OpenAI image URL: data: → base64, http(s) → url. */
static cJSON *image_block(const char *url, const char *where, char *err, size_t errlen)
{
	cJSON *blk = NULL;
	if (!strncmp(url, "data:", 5)) {
		const char *b64 = strstr(url, ";base64,");
		const char *comma = strchr(url, ',');
		if (!b64 || comma < b64 + 7) {
			tr_seterr(err, errlen, "%s: only base64 data: URLs are supported for images", where);
			goto out;
		}
		const char *mt = url + 5;
		size_t mtlen = strcspn(mt, ";,");
		if (mtlen == 0) {
			tr_seterr(err, errlen, "%s: the data: URL has no media type", where);
			goto out;
		}
		char *media = xstrndup(mt, mtlen);
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "image");
		cJSON *src = cJSON_AddObjectToObject(blk, "source");
		cJSON_AddStringToObject(src, "type", "base64");
		cJSON_AddStringToObject(src, "media_type", media);
		cJSON_AddStringToObject(src, "data", b64 + 8);
		free(media);
	} else if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7)) {
		blk = cJSON_CreateObject();
		cJSON_AddStringToObject(blk, "type", "image");
		cJSON *src = cJSON_AddObjectToObject(blk, "source");
		cJSON_AddStringToObject(src, "type", "url");
		cJSON_AddStringToObject(src, "url", url);
	} else {
		tr_seterr(err, errlen, "%s: image_url must be a data: or http(s) URL", where);
	}
out:
	return blk;
}

static void add_text_block(cJSON *blocks, const char *text)
{
	if (tr_blank(text))
		return;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "text");
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddItemToArray(blocks, b);
}

/* OpenAI message content (string, parts array or null) → Anthropic blocks
 * appended to blocks. 0, or -1 with err. */
static int content_to_blocks(const cJSON *content, cJSON *blocks, int mi, char *err, size_t errlen)
{
	int result = -1;
	char where[64];
	if (!content || cJSON_IsNull(content)) {
		result = 0;
		goto out;
	}
	if (cJSON_IsString(content)) {
		add_text_block(blocks, content->valuestring);
		result = 0;
		goto out;
	}
	if (!cJSON_IsArray(content)) {
		tr_seterr(err, errlen, "messages[%d].content must be a string or an array of parts", mi);
		goto out;
	}
	int k = 0;
	const cJSON *part;
	cJSON_ArrayForEach(part, content) {
		snprintf(where, sizeof(where), "messages[%d].content[%d]", mi, k);
		const char *type = tr_jstr(part, "type");
		if (!cJSON_IsObject(part) || !type) {
			tr_seterr(err, errlen, "%s must be an object with a type", where);
			goto out;
		}
		if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
			const char *t = tr_jstr(part, type);
			if (!t) {
				tr_seterr(err, errlen, "%s.%s must be a string", where, type);
				goto out;
			}
			add_text_block(blocks, t);
		} else if (!strcmp(type, "image_url")) {
			const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
			const char *url = cJSON_IsString(iu) ? iu->valuestring : tr_jstr(iu, "url");
			if (!url) {
				tr_seterr(err, errlen, "%s.image_url.url must be a string", where);
				goto out;
			}
			cJSON *img = image_block(url, where, err, errlen);
			if (!img)
				goto out;
			cJSON_AddItemToArray(blocks, img);
		} else {
			tr_seterr(err, errlen, "%s: content part type '%s' is not supported for this model", where, type);
			goto out;
		}
		k++;
	}
	result = 0;
out:
	return result;
}

/* A tool call id as Anthropic accepts it (^[a-zA-Z0-9_-]+$): other bytes
 * become '_', the same way for tool_use and tool_result, so ids made by
 * another provider (Gemini's carry base64 signatures) still pair up. A new
 * string (free()). */
static char *tool_id(const char *id)
{
	char *s = xstrdup(*id ? id : "_");
	for (char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = '_';
	return s;
}

/* Assistant tool_calls → tool_use blocks appended to blocks. */
static int tool_calls_to_blocks(const cJSON *tcs, cJSON *blocks, int mi, char *err, size_t errlen)
{
	int result = -1, k = 0;
	const cJSON *tc;
	if (!tcs || cJSON_IsNull(tcs))
		return 0;
	if (!cJSON_IsArray(tcs)) {
		tr_seterr(err, errlen, "messages[%d].tool_calls must be an array", mi);
		goto out;
	}
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const char *id = tr_jstr(tc, "id"), *name = tr_jstr(fn, "name");
		if (!id || !name) {
			tr_seterr(err, errlen, "messages[%d].tool_calls[%d] needs an id and function.name", mi, k);
			goto out;
		}
		const char *args = tr_jstr(fn, "arguments");
		cJSON *input = NULL;
		if (!args || tr_blank(args)) {
			input = cJSON_CreateObject();
		} else {
			input = cJSON_Parse(args);
			if (!cJSON_IsObject(input)) {
				cJSON_Delete(input);
				tr_seterr(err, errlen, "messages[%d].tool_calls[%d].function.arguments is not a JSON object", mi, k);
				goto out;
			}
		}
		char *tid = tool_id(id);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "tool_use");
		cJSON_AddStringToObject(b, "id", tid);
		cJSON_AddStringToObject(b, "name", name);
		cJSON_AddItemToObject(b, "input", input);
		free(tid);
		cJSON_AddItemToArray(blocks, b);
		k++;
	}
	result = 0;
out:
	return result;
}

/* A role "tool" message → one tool_result block. */
static cJSON *tool_result_block(const cJSON *m, int mi, char *err, size_t errlen)
{
	cJSON *b = NULL, *inner = NULL;
	const char *id = tr_jstr(m, "tool_call_id");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (!id) {
		tr_seterr(err, errlen, "messages[%d].tool_call_id is missing", mi);
		goto out;
	}
	char *tid = tool_id(id);
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "tool_result");
	cJSON_AddStringToObject(b, "tool_use_id", tid);
	free(tid);
	if (cJSON_IsString(content)) {
		if (*content->valuestring)
			cJSON_AddStringToObject(b, "content", content->valuestring);
	} else if (cJSON_IsArray(content)) {
		inner = cJSON_CreateArray();
		if (content_to_blocks(content, inner, mi, err, errlen) != 0) {
			cJSON_Delete(b);
			b = NULL;
			goto out;
		}
		cJSON_AddItemToObject(b, "content", inner);
		inner = NULL;
	} else if (content && !cJSON_IsNull(content)) {
		tr_seterr(err, errlen, "messages[%d].content must be a string or an array of parts", mi);
		cJSON_Delete(b);
		b = NULL;
	}
out:
	cJSON_Delete(inner);
	return b;
}

static cJSON *tools_from_oai(const cJSON *tools, char *err, size_t errlen)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *t;
	int k = 0;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const char *type = tr_jstr(t, "type"), *name = tr_jstr(fn, "name");
		if ((type && strcmp(type, "function")) || !name) {
			tr_seterr(err, errlen, "tools[%d] must be {\"type\":\"function\",\"function\":{\"name\":...}}", k);
			cJSON_Delete(out);
			return NULL;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", name);
		const char *desc = tr_jstr(fn, "description");
		if (desc)
			cJSON_AddStringToObject(o, "description", desc);
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
		if (cJSON_IsObject(params)) {
			cJSON_AddItemToObject(o, "input_schema", cJSON_Duplicate(params, 1));
		} else {
			cJSON *s = cJSON_AddObjectToObject(o, "input_schema");
			cJSON_AddStringToObject(s, "type", "object");
			cJSON_AddObjectToObject(s, "properties");
		}
		cJSON_AddItemToArray(out, o);
		k++;
	}
	return out;
}

/* OpenAI tool_choice (may be NULL) → Anthropic's tool_choice object.
 * NULL with *bad set on a malformed value; NULL alone: nothing to send. */
static cJSON *tool_choice_from_oai(const cJSON *tc, int no_parallel, int *bad, char *err, size_t errlen)
{
	cJSON *o = NULL;
	const char *type = NULL, *name = NULL;
	*bad = 0;
	if (!tc || cJSON_IsNull(tc)) {
		type = "auto";
		if (!no_parallel)
			return NULL;
	} else {
		static const char *const words[4] = { "auto", "none", "any", "tool" };
		type = tr_tool_choice(tc, words, &name, err, errlen);
	}
	if (!type) {
		*bad = 1;
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	if (no_parallel && strcmp(type, "none"))
		cJSON_AddTrueToObject(o, "disable_parallel_tool_use");
	return o;
}

static cJSON *stop_from_oai(const cJSON *stop, int *bad, char *err, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *s;
	*bad = 0;
	if (cJSON_IsString(stop)) {
		if (*stop->valuestring)
			cJSON_AddItemToArray(arr, cJSON_CreateString(stop->valuestring));
	} else if (cJSON_IsArray(stop)) {
		cJSON_ArrayForEach(s, stop) {
			if (!cJSON_IsString(s)) {
				*bad = 1;
				break;
			}
			if (*s->valuestring)
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->valuestring));
		}
	} else if (stop && !cJSON_IsNull(stop)) {
		*bad = 1;
	}
	if (*bad)
		tr_seterr(err, errlen, "stop must be a string or an array of strings");
	if (*bad || cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

/* Tools declared only so that a history holding tool_use blocks is
 * accepted when the client sent no tools (Anthropic refuses such a history
 * without them): each name used, with an open schema. NULL when the
 * history calls no tool. */
static cJSON *tools_of_history(const cJSON *msgs)
{
	cJSON *tools = NULL;
	const cJSON *m, *b, *t;
	cJSON_ArrayForEach(m, msgs) {
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(m, "content")) {
			const char *bt = tr_jstr(b, "type"), *name = tr_jstr(b, "name");
			int known = 0;
			if (!bt || strcmp(bt, "tool_use") || !name)
				continue;
			if (!tools)
				tools = cJSON_CreateArray();
			cJSON_ArrayForEach(t, tools)
				known |= !strcmp(tr_jstr(t, "name"), name);
			if (known)
				continue;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", name);
			cJSON *sc = cJSON_AddObjectToObject(o, "input_schema");
			cJSON_AddStringToObject(sc, "type", "object");
			cJSON_AddItemToArray(tools, o);
		}
	}
	return tools;
}

/* The messages of an OpenAI request as Anthropic turns (system and
 * developer text into sys), or NULL with err. */
/* Does m carry a signed thinking block (thinking_blocks, as
 * anthropic_response_to_oai and the stream give them)? */
static int has_signed_thinking(const cJSON *m)
{
	const cJSON *b;
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(m, "thinking_blocks"))
		if (tr_jstr(b, "signature") || tr_jstr(b, "data"))
			return 1;
	return 0;
}

/* An assistant message's thinking_blocks → Anthropic's thinking (with its
 * signature) and redacted_thinking blocks, appended to blocks (they come
 * first in the turn); a thinking block without its text (a stream's)
 * takes the message's reasoning_content when it is the only one. */
static void thinking_blocks_to_anthropic(const cJSON *m, cJSON *blocks)
{
	const cJSON *tb = cJSON_GetObjectItemCaseSensitive(m, "thinking_blocks"), *b;
	const char *rc = tr_jstr(m, "reasoning_content");
	int n = cJSON_GetArraySize(tb);
	if (!cJSON_IsArray(tb))
		return;
	cJSON_ArrayForEach(b, tb) {
		const char *t = tr_jstr(b, "type"), *sig = tr_jstr(b, "signature"), *data = tr_jstr(b, "data");
		cJSON *o = cJSON_CreateObject();
		if (t && !strcmp(t, "thinking") && sig) {
			const char *text = tr_jstr(b, "thinking");
			cJSON_AddStringToObject(o, "type", "thinking");
			cJSON_AddStringToObject(o, "thinking", text && *text ? text : n == 1 && rc ? rc : "");
			cJSON_AddStringToObject(o, "signature", sig);
		} else if (t && !strcmp(t, "redacted_thinking") && data) {
			cJSON_AddStringToObject(o, "type", "redacted_thinking");
			cJSON_AddStringToObject(o, "data", data);
		} else {
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddItemToArray(blocks, o);
	}
}

static cJSON *messages_from_oai(const cJSON *messages, struct buf *sys, char *err, size_t errlen)
{
	cJSON *msgs = cJSON_CreateArray();
	const cJSON *m;
	int mi = 0;
	cJSON_ArrayForEach(m, messages) {
		const char *role = tr_jstr(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		cJSON *blocks;
		if (!cJSON_IsObject(m) || !role) {
			tr_seterr(err, errlen, "messages[%d] must be an object with a role", mi);
			goto bad;
		}
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			if (tr_system_text(content, sys, mi, err, errlen) != 0)
				goto bad;
		} else if (!strcmp(role, "user") || !strcmp(role, "assistant")) {
			blocks = cJSON_CreateArray();
			if (!strcmp(role, "assistant"))
				thinking_blocks_to_anthropic(m, blocks);
			if (content_to_blocks(content, blocks, mi, err, errlen) != 0 ||
			    (!strcmp(role, "assistant") &&
			     tool_calls_to_blocks(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), blocks, mi,
						  err, errlen) != 0)) {
				cJSON_Delete(blocks);
				goto bad;
			}
			tr_add_turn(msgs, role, blocks, "content");
		} else if (!strcmp(role, "tool")) {
			cJSON *b = tool_result_block(m, mi, err, errlen);
			if (!b)
				goto bad;
			blocks = cJSON_CreateArray();
			cJSON_AddItemToArray(blocks, b);
			tr_add_turn(msgs, "user", blocks, "content");
		} else {
			tr_seterr(err, errlen, "messages[%d].role '%s' is not supported", mi, role);
			goto bad;
		}
		mi++;
	}
	if (cJSON_GetArraySize(msgs) > 0)
		return msgs;
	tr_seterr(err, errlen, "'messages' holds no user or assistant content");
bad:
	cJSON_Delete(msgs);
	return NULL;
}

/* temperature (Anthropic's range 0..1) or else top_p (neither while
 * thinking: Anthropic refuses them then), stream, and the user as
 * metadata.user_id. */
static void add_sampling(cJSON *out, const cJSON *req, int thinking)
{
	const cJSON *v = thinking ? NULL : cJSON_GetObjectItemCaseSensitive(req, "temperature");
	int has_temp = cJSON_IsNumber(v) || thinking;
	if (cJSON_IsNumber(v)) {
		double t = v->valuedouble < 0 ? 0 : v->valuedouble > 1 ? 1 : v->valuedouble;
		cJSON_AddNumberToObject(out, "temperature", t);
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "top_p");
	if (!has_temp && cJSON_IsNumber(v))
		cJSON_AddNumberToObject(out, "top_p", v->valuedouble);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream")))
		cJSON_AddTrueToObject(out, "stream");
	const char *user = tr_jstr(req, "user");
	if (user && *user) {
		cJSON *md = cJSON_AddObjectToObject(out, "metadata");
		cJSON_AddStringToObject(md, "user_id", user);
	}
}

/* The thinking budget to ask Anthropic for from the internal request's
 * reasoning (reasoning.h; the model deciding is the effort's, else
 * medium's, budget), or 0 for none: none asked, "none", a turn that
 * answers tool calls whose calling turn has no signed thinking_blocks
 * (Anthropic wants them back then), or a forced tool choice (Anthropic
 * refuses it with thinking). At least 1024 (Anthropic's
 * floor) and below max_tokens: without a client limit *max_tokens becomes
 * the budget + ANTHROPIC_DEFAULT_MAX_TOKENS; with one, the budget shrinks
 * below it (none under 1024). */
static long thinking_budget(const cJSON *req, double *max_tokens, int max_given)
{
	struct reasoning r;
	reasoning_read(req, &r);
	long b = reasoning_budget(&r);
	if (b == REASONING_DYNAMIC)
		b = reasoning_effort_budget(r.effort > REASONING_NONE ? r.effort : REASONING_MEDIUM);
	if (b <= 0)
		return 0;
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages"), *m, *asst = NULL;
	const char *last = NULL;
	cJSON_ArrayForEach(m, msgs) {
		last = tr_jstr(m, "role");
		if (last && !strcmp(last, "assistant"))
			asst = m;
	}
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
	if (cJSON_IsObject(tc) || (cJSON_IsString(tc) && !strcmp(tc->valuestring, "required")))
		return 0;
	/* a tool loop: the calling turn's signed thinking must go back */
	if (last && !strcmp(last, "tool") && !has_signed_thinking(asst))
		return 0;
	if (b < 1024)
		b = 1024;
	if (!max_given)
		*max_tokens = (double)b + ANTHROPIC_DEFAULT_MAX_TOKENS;
	else if (*max_tokens <= (double)b)
		b = (long)*max_tokens - 1;
	return b < 1024 ? 0 : b;
}

char *anthropic_request_from_oai(const cJSON *req, const char *model, char *err, size_t errlen)
{
	char *result = NULL;
	cJSON *out = NULL, *msgs = NULL, *tools = NULL, *choice = NULL, *stop = NULL;
	struct buf sys;
	double max_tokens = ANTHROPIC_DEFAULT_MAX_TOKENS;
	int bad, max_given = 0;
	const cJSON *v;

	buf_init(&sys, TEXT_CAP);
	if (!cJSON_IsObject(req)) {
		tr_seterr(err, errlen, "the request body must be a JSON object");
		goto out;
	}
	if (!model)
		model = tr_jstr(req, "model");
	if (!model) {
		tr_seterr(err, errlen, "'model' is required");
		goto out;
	}
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
		tr_seterr(err, errlen, "'messages' must be a non-empty array");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "n");
	if (cJSON_IsNumber(v) && v->valuedouble != 1) {
		tr_seterr(err, errlen, "n other than 1 is not supported for this model");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "max_completion_tokens");
	if (!v || cJSON_IsNull(v))
		v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(long)v->valuedouble) {
			tr_seterr(err, errlen, "max_tokens must be a positive integer");
			goto out;
		}
		max_tokens = v->valuedouble;
		max_given = 1;
	}

	msgs = messages_from_oai(messages, &sys, err, errlen);
	if (!msgs)
		goto out;

	v = cJSON_GetObjectItemCaseSensitive(req, "tools");
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
		tools = tools_from_oai(v, err, errlen);
		if (!tools)
			goto out;
		const cJSON *ptc = cJSON_GetObjectItemCaseSensitive(req, "parallel_tool_calls");
		choice = tool_choice_from_oai(cJSON_GetObjectItemCaseSensitive(req, "tool_choice"),
					      cJSON_IsFalse(ptc), &bad, err, errlen);
		if (bad)
			goto out;
	} else if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v)) {
		tr_seterr(err, errlen, "tools must be an array");
		goto out;
	} else if ((tools = tools_of_history(msgs)) != NULL) {
		choice = cJSON_CreateObject();
		cJSON_AddStringToObject(choice, "type", "none");
	}
	stop = stop_from_oai(cJSON_GetObjectItemCaseSensitive(req, "stop"), &bad, err, errlen);
	if (bad)
		goto out;

	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "model", model);
	cJSON_AddNumberToObject(out, "max_tokens", max_tokens);
	if (sys.len)
		cJSON_AddStringToObject(out, "system", buf_str(&sys));
	cJSON_AddItemToObject(out, "messages", msgs);
	msgs = NULL;
	if (tools) {
		cJSON_AddItemToObject(out, "tools", tools);
		tools = NULL;
	}
	if (choice) {
		cJSON_AddItemToObject(out, "tool_choice", choice);
		choice = NULL;
	}
	if (stop) {
		cJSON_AddItemToObject(out, "stop_sequences", stop);
		stop = NULL;
	}
	long budget = thinking_budget(req, &max_tokens, max_given);
	cJSON_ReplaceItemInObjectCaseSensitive(out, "max_tokens", cJSON_CreateNumber(max_tokens));
	if (budget) {
		cJSON *th = cJSON_AddObjectToObject(out, "thinking");
		cJSON_AddStringToObject(th, "type", "enabled");
		cJSON_AddNumberToObject(th, "budget_tokens", (double)budget);
	}
	add_sampling(out, req, budget != 0);
	result = cJSON_PrintUnformatted(out);
	if (!result)
		tr_seterr(err, errlen, "cannot encode the request");
out:
	cJSON_Delete(out);
	cJSON_Delete(msgs);
	cJSON_Delete(tools);
	cJSON_Delete(choice);
	cJSON_Delete(stop);
	buf_free(&sys);
	return result;
}

char *anthropic_response_to_oai(const char *body, size_t len, const char *model,
				struct usage *u, char *err, size_t errlen)
{
	char *result = NULL;
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	cJSON *out = NULL, *tcs = NULL, *blocks = NULL;
	struct buf text, think;
	long uv[4] = { 0, 0, 0, 0 };
	struct usage us;
	const cJSON *b;

	buf_init(&text, TEXT_CAP);
	buf_init(&think, TEXT_CAP);
	if (!cJSON_IsObject(j)) {
		tr_seterr(err, errlen, "the upstream response is not a JSON object");
		goto out;
	}
	const char *type = tr_jstr(j, "type");
	if (type && !strcmp(type, "error")) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		tr_seterr(err, errlen, "upstream error: %s: %s", tr_jstr(e, "type") ? tr_jstr(e, "type") : "error",
		       tr_jstr(e, "message") ? tr_jstr(e, "message") : "");
		goto out;
	}
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
	if (!cJSON_IsArray(content)) {
		tr_seterr(err, errlen, "the upstream response has no content array");
		goto out;
	}
	tcs = cJSON_CreateArray();
	blocks = cJSON_CreateArray();
	cJSON_ArrayForEach(b, content) {
		const char *bt = tr_jstr(b, "type");
		if (!bt)
			continue;
		if (!strcmp(bt, "text") && tr_jstr(b, "text")) {
			buf_puts(&text, tr_jstr(b, "text"));
		} else if (!strcmp(bt, "thinking") || !strcmp(bt, "redacted_thinking")) {
			if (tr_jstr(b, "thinking"))
				buf_puts(&think, tr_jstr(b, "thinking"));
			if (tr_jstr(b, "signature") || tr_jstr(b, "data"))
				cJSON_AddItemToArray(blocks, cJSON_Duplicate(b, 1));
		} else if (!strcmp(bt, "tool_use")) {
			const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
			char *args = input ? cJSON_PrintUnformatted(input) : xstrdup("{}");
			cJSON *tc = cJSON_CreateObject();
			cJSON_AddStringToObject(tc, "id", tr_jstr(b, "id") ? tr_jstr(b, "id") : "");
			cJSON_AddStringToObject(tc, "type", "function");
			cJSON *fn = cJSON_AddObjectToObject(tc, "function");
			cJSON_AddStringToObject(fn, "name", tr_jstr(b, "name") ? tr_jstr(b, "name") : "");
			cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
			free(args);
			cJSON_AddItemToArray(tcs, tc);
		}
	}
	int reported = read_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), uv);
	usage_set(&us, uv, reported);
	if (u)
		*u = us;

	out = cJSON_CreateObject();
	const char *id = tr_jstr(j, "id");
	char *oid = xasprintf("chatcmpl-%s", id ? id : "anthropic");
	cJSON_AddStringToObject(out, "id", oid);
	free(oid);
	cJSON_AddStringToObject(out, "object", "chat.completion");
	cJSON_AddNumberToObject(out, "created", (double)time(NULL));
	cJSON_AddStringToObject(out, "model", model ? model : tr_jstr(j, "model") ? tr_jstr(j, "model") : "");
	cJSON *choices = cJSON_AddArrayToObject(out, "choices");
	cJSON *ch = cJSON_CreateObject();
	cJSON_AddItemToArray(choices, ch);
	cJSON_AddNumberToObject(ch, "index", 0);
	cJSON *msg = cJSON_AddObjectToObject(ch, "message");
	cJSON_AddStringToObject(msg, "role", "assistant");
	int ntc = cJSON_GetArraySize(tcs);
	if (text.len || !ntc)
		cJSON_AddStringToObject(msg, "content", buf_str(&text));
	else
		cJSON_AddNullToObject(msg, "content");
	if (think.len)
		cJSON_AddStringToObject(msg, "reasoning_content", buf_str(&think));
	if (cJSON_GetArraySize(blocks)) {   /* signed: they go back to Anthropic with the turn */
		cJSON_AddItemToObject(msg, "thinking_blocks", blocks);
		blocks = NULL;
	}
	if (ntc) {
		cJSON_AddItemToObject(msg, "tool_calls", tcs);
		tcs = NULL;
	}
	cJSON_AddNullToObject(ch, "logprobs");
	cJSON_AddStringToObject(ch, "finish_reason", finish_from_stop(tr_jstr(j, "stop_reason")));
	cJSON_AddItemToObject(out, "usage", oai_usage_json(&us));
	result = cJSON_PrintUnformatted(out);
out:
	cJSON_Delete(j);
	cJSON_Delete(out);
	cJSON_Delete(tcs);
	cJSON_Delete(blocks);
	buf_free(&text);
	buf_free(&think);
	return result;
}

/* ------------------------------------------------ stream: Anthropic → OpenAI */

void anthropic_to_oai_init(struct anthropic_to_oai *s, const char *model, int include_usage)
{
	memset(s, 0, sizeof(*s));
	copy_str(s->id, sizeof(s->id), "chatcmpl-anthropic");
	copy_str(s->model, sizeof(s->model), model);
	s->created = (long)time(NULL);
	s->include_usage = include_usage;
}

/* One chunk with choices[0] = {index 0, delta (taken), finish_reason}. */
static int a2o_chunk(const struct anthropic_to_oai *s, struct chunk_sink *out, cJSON *delta, const char *finish)
{
	return chunk_emit(out, tr_chunk(s->id, s->created, s->model, 0, delta, finish), 0);
}

static int a2o_text(const struct anthropic_to_oai *s, struct chunk_sink *out, const char *field, const char *text)
{
	if (!text || !*text)
		return 0;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, field, text);
	return a2o_chunk(s, out, d, NULL);
}

static int a2o_start(struct anthropic_to_oai *s, struct chunk_sink *out)
{
	if (s->started)
		return 0;
	s->started = 1;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	return a2o_chunk(s, out, d, NULL);
}

/* tool_calls delta: [{index, (id, type, function.name,) function.arguments}] */
static int a2o_tool(const struct anthropic_to_oai *s, struct chunk_sink *out, const char *id,
		    const char *name, const char *args)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(d, "tool_calls");
	cJSON *tc = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, tc);
	cJSON_AddNumberToObject(tc, "index", s->tool_index);
	if (id) {
		cJSON_AddStringToObject(tc, "id", id);
		cJSON_AddStringToObject(tc, "type", "function");
	}
	cJSON *fn = cJSON_AddObjectToObject(tc, "function");
	if (name)
		cJSON_AddStringToObject(fn, "name", name);
	cJSON_AddStringToObject(fn, "arguments", args ? args : "");
	return a2o_chunk(s, out, d, NULL);
}

static void a2o_usage(struct anthropic_to_oai *s, const cJSON *uo)
{
	long v[4] = { s->in, s->out, s->cache_read, s->cache_write };
	if (!read_usage(uo, v))
		return;
	s->in = v[0];
	s->out = v[1];
	s->cache_read = v[2];
	s->cache_write = v[3];
	usage_set(&s->usage, v, 1);
}

static int a2o_fail(struct anthropic_to_oai *s, struct chunk_sink *out, const char *message, const char *code)
{
	s->failed = 1;
	copy_str(s->error, sizeof(s->error), message);
	char *msg = xstrdup(message);
	log_scrub(msg);
	chunk_emit(out, tr_oai_error_obj(msg, "upstream_error", code), CHUNK_ERROR);
	free(msg);
	return -1;
}

/* A delta {"thinking_blocks":[{"type": type, member: value}]}: a thinking
 * block's signature (its text went before as reasoning_content), or a
 * redacted block whole. */
static int a2o_thinking_block(struct anthropic_to_oai *s, struct chunk_sink *out, const char *type,
			      const char *member, const char *value)
{
	if (a2o_start(s, out) != 0)
		return -1;
	cJSON *d = cJSON_CreateObject();
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", type);
	cJSON_AddStringToObject(b, member, value);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "thinking_blocks"), b);
	return a2o_chunk(s, out, d, NULL);
}

static int a2o_block_start(struct anthropic_to_oai *s, struct chunk_sink *out, const cJSON *cb)
{
	const char *t = tr_jstr(cb, "type");
	if (!t) {
		s->block = BLK_OTHER;
		return 0;
	}
	if (!strcmp(t, "text")) {
		s->block = BLK_TEXT;
		return a2o_text(s, out, "content", tr_jstr(cb, "text"));
	}
	if (!strcmp(t, "thinking")) {
		s->block = BLK_THINKING;
		return a2o_text(s, out, "reasoning_content", tr_jstr(cb, "thinking"));
	}
	if (!strcmp(t, "redacted_thinking") && tr_jstr(cb, "data")) {
		s->block = BLK_OTHER;
		return a2o_thinking_block(s, out, "redacted_thinking", "data", tr_jstr(cb, "data"));
	}
	if (!strcmp(t, "tool_use")) {
		int rc;
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(cb, "input");
		char *args = cJSON_IsObject(input) && input->child ? cJSON_PrintUnformatted(input) : NULL;
		s->block = BLK_TOOL;
		s->tool_index = s->ntools++;
		rc = a2o_tool(s, out, tr_jstr(cb, "id") ? tr_jstr(cb, "id") : "", tr_jstr(cb, "name") ? tr_jstr(cb, "name") : "",
			      args ? args : "");
		free(args);
		return rc;
	}
	s->block = BLK_OTHER;
	return 0;
}

static int a2o_block_delta(struct anthropic_to_oai *s, struct chunk_sink *out, const cJSON *d)
{
	const char *t = tr_jstr(d, "type");
	if (!t)
		return 0;
	if (!strcmp(t, "text_delta"))
		return a2o_text(s, out, "content", tr_jstr(d, "text"));
	if (!strcmp(t, "thinking_delta"))
		return a2o_text(s, out, "reasoning_content", tr_jstr(d, "thinking"));
	if (!strcmp(t, "input_json_delta") && s->block == BLK_TOOL) {
		const char *pj = tr_jstr(d, "partial_json");
		return pj && *pj ? a2o_tool(s, out, NULL, NULL, pj) : 0;
	}
	if (!strcmp(t, "signature_delta") && s->block == BLK_THINKING && tr_jstr(d, "signature"))
		return a2o_thinking_block(s, out, "thinking", "signature", tr_jstr(d, "signature"));
	return 0;   /* citations_delta, ... */
}

static int a2o_stop(struct anthropic_to_oai *s, struct chunk_sink *out)
{
	if (!s->finished) {
		s->finished = 1;
		if (a2o_chunk(s, out, cJSON_CreateObject(), "stop") != 0)
			return -1;
	}
	if (s->include_usage) {
		cJSON *c = tr_chunk_head(s->id, s->created, s->model);
		cJSON_AddArrayToObject(c, "choices");
		cJSON_AddItemToObject(c, "usage", oai_usage_json(&s->usage));
		if (chunk_emit(out, c, CHUNK_USAGE) != 0)
			return -1;
	}
	return chunk_emit_done(out);
}

int anthropic_to_oai_feed(struct anthropic_to_oai *s, const char *event, const char *data,
			  size_t len, struct buf *out)
{
	struct chunk_sink k = { .buf = out };
	return anthropic_to_oai_feed_to(s, event, data, len, &k);
}

int anthropic_to_oai_feed_to(struct anthropic_to_oai *s, const char *event, const char *data,
			     size_t len, struct chunk_sink *out)
{
	int rc = 0;
	cJSON *j = NULL;

	if (s->done)
		return 1;
	if (s->failed)
		return -1;
	j = cJSON_ParseWithLength(data ? data : "", len);
	if (!cJSON_IsObject(j)) {
		rc = a2o_fail(s, out, "the upstream sent an event that is not JSON", "bad_upstream_event");
		goto out;
	}
	const char *type = tr_jstr(j, "type");
	if (!type)
		type = event;
	if (!type)
		goto out;
	if (!strcmp(type, "message_start")) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
		const char *id = tr_jstr(msg, "id");
		if (id && !s->started)
			snprintf(s->id, sizeof(s->id), "chatcmpl-%s", id);
		a2o_usage(s, cJSON_GetObjectItemCaseSensitive(msg, "usage"));
		rc = a2o_start(s, out);
	} else if (!strcmp(type, "content_block_start")) {
		rc = a2o_start(s, out);
		if (rc == 0)
			rc = a2o_block_start(s, out, cJSON_GetObjectItemCaseSensitive(j, "content_block"));
	} else if (!strcmp(type, "content_block_delta")) {
		rc = a2o_start(s, out);
		if (rc == 0)
			rc = a2o_block_delta(s, out, cJSON_GetObjectItemCaseSensitive(j, "delta"));
	} else if (!strcmp(type, "content_block_stop")) {
		s->block = BLK_NONE;
	} else if (!strcmp(type, "message_delta")) {
		a2o_usage(s, cJSON_GetObjectItemCaseSensitive(j, "usage"));
		const char *sr = tr_jstr(cJSON_GetObjectItemCaseSensitive(j, "delta"), "stop_reason");
		if (sr && !s->finished) {
			rc = a2o_start(s, out);
			s->finished = 1;
			if (rc == 0)
				rc = a2o_chunk(s, out, cJSON_CreateObject(), finish_from_stop(sr));
		}
	} else if (!strcmp(type, "message_stop")) {
		rc = a2o_start(s, out);
		if (rc == 0)
			rc = a2o_stop(s, out);
		if (rc == 0) {
			s->done = 1;
			rc = 1;
		}
	} else if (!strcmp(type, "error")) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const char *m = tr_jstr(e, "message");
		rc = a2o_fail(s, out, m ? m : "the upstream reported an error", tr_jstr(e, "type"));
		goto out;
	}
	/* ping and unknown events: nothing */
	if (rc < 0 && !s->failed) {
		s->failed = 1;
		copy_str(s->error, sizeof(s->error), "the translated stream exceeds its buffer");
	}
out:
	cJSON_Delete(j);
	return rc;
}

/* ------------------------------------------------ usage alone */

int anthropic_usage_from_event(struct anthropic_usage_scan *s, const char *event, const char *data,
			       size_t len, struct usage *u)
{
	if (s->done || s->failed)
		return 0;
	cJSON *j = cJSON_ParseWithLength(data ? data : "", len);
	int last = 0;
	const char *type = cJSON_IsObject(j) ? tr_jstr(j, "type") : NULL;
	if (!type)
		type = event;
	if (!cJSON_IsObject(j) || (type && !strcmp(type, "error"))) {
		s->failed = 1;
	} else if (type && !strcmp(type, "message_start")) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
		s->reported |= read_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), s->v);
	} else if (type && !strcmp(type, "message_delta")) {
		s->reported |= read_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), s->v);
	} else if (type && !strcmp(type, "message_stop")) {
		s->done = last = 1;
	}
	cJSON_Delete(j);
	if (s->reported)
		usage_set(u, s->v, 1);
	return last;
}

int anthropic_usage_from_body(const char *body, size_t len, struct usage *u)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const char *type = tr_jstr(j, "type");
	int ok = cJSON_IsObject(j) && !(type && !strcmp(type, "error")) &&
		 cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "content"));
	if (ok) {
		long uv[4] = { 0, 0, 0, 0 };
		int reported = read_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), uv);
		usage_set(u, uv, reported);
	}
	cJSON_Delete(j);
	return ok;
}

/* ======================================================= Anthropic → OpenAI */

/* Anthropic image block → OpenAI image_url part. */
static cJSON *image_part(const cJSON *blk, const char *where, char *err, size_t errlen)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(blk, "source");
	const char *st = tr_jstr(src, "type");
	char *url = NULL;
	cJSON *part = NULL;
	if (st && !strcmp(st, "base64") && tr_jstr(src, "media_type") && tr_jstr(src, "data"))
		url = xasprintf("data:%s;base64,%s", tr_jstr(src, "media_type"), tr_jstr(src, "data"));
	else if (st && !strcmp(st, "url") && tr_jstr(src, "url"))
		url = xstrdup(tr_jstr(src, "url"));
	if (!url) {
		tr_seterr(err, errlen, "%s: an image needs a base64 or url source", where);
		goto out;
	}
	part = cJSON_CreateObject();
	cJSON_AddStringToObject(part, "type", "image_url");
	cJSON *iu = cJSON_AddObjectToObject(part, "image_url");
	cJSON_AddStringToObject(iu, "url", url);
out:
	free(url);
	return part;
}

static cJSON *text_part(const char *text)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "text");
	cJSON_AddStringToObject(p, "text", text);
	return p;
}

/* tool_result content → text for a tool message; images go to parts. */
static int tool_result_text(const cJSON *content, struct buf *text, cJSON *parts, const char *where,
			    char *err, size_t errlen)
{
	const cJSON *b;
	if (!content || cJSON_IsNull(content))
		return 0;
	if (cJSON_IsString(content)) {
		buf_puts(text, content->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(content)) {
		tr_seterr(err, errlen, "%s.content must be a string or an array of blocks", where);
		return -1;
	}
	cJSON_ArrayForEach(b, content) {
		const char *bt = tr_jstr(b, "type");
		if (bt && !strcmp(bt, "text") && tr_jstr(b, "text")) {
			if (text->len)
				buf_puts(text, "\n");
			buf_puts(text, tr_jstr(b, "text"));
		} else if (bt && !strcmp(bt, "image")) {
			cJSON *p = image_part(b, where, err, errlen);
			if (!p)
				return -1;
			cJSON_AddItemToArray(parts, p);
		} else {
			tr_seterr(err, errlen, "%s: block type '%s' is not supported in a tool_result", where,
			       bt ? bt : "?");
			return -1;
		}
	}
	return 0;
}

/* A user turn with blocks → tool messages (first) then one user message. */
static int user_blocks_to_oai(const cJSON *content, cJSON *msgs, int mi, char *err, size_t errlen)
{
	int result = -1, k = 0, only_text = 1;
	cJSON *parts = cJSON_CreateArray();
	struct buf text;
	char where[64];
	const cJSON *b;

	buf_init(&text, TEXT_CAP);
	cJSON_ArrayForEach(b, content) {
		const char *bt = tr_jstr(b, "type");
		snprintf(where, sizeof(where), "messages[%d].content[%d]", mi, k++);
		if (!bt) {
			tr_seterr(err, errlen, "%s must be an object with a type", where);
			goto out;
		}
		if (!strcmp(bt, "text")) {
			if (!tr_jstr(b, "text")) {
				tr_seterr(err, errlen, "%s.text must be a string", where);
				goto out;
			}
			cJSON_AddItemToArray(parts, text_part(tr_jstr(b, "text")));
		} else if (!strcmp(bt, "image")) {
			cJSON *p = image_part(b, where, err, errlen);
			if (!p)
				goto out;
			cJSON_AddItemToArray(parts, p);
			only_text = 0;
		} else if (!strcmp(bt, "tool_result")) {
			const char *id = tr_jstr(b, "tool_use_id");
			int before = cJSON_GetArraySize(parts);
			if (!id) {
				tr_seterr(err, errlen, "%s.tool_use_id is missing", where);
				goto out;
			}
			buf_reset(&text);
			if (tool_result_text(cJSON_GetObjectItemCaseSensitive(b, "content"), &text, parts, where,
					     err, errlen) != 0)
				goto out;
			if (cJSON_GetArraySize(parts) > before)
				only_text = 0;
			cJSON *tm = cJSON_CreateObject();
			cJSON_AddStringToObject(tm, "role", "tool");
			cJSON_AddStringToObject(tm, "tool_call_id", id);
			cJSON_AddStringToObject(tm, "content", buf_str(&text));
			cJSON_AddItemToArray(msgs, tm);
		} else {
			tr_seterr(err, errlen, "%s: block type '%s' is not supported for this model", where, bt);
			goto out;
		}
	}
	if (cJSON_GetArraySize(parts) > 0) {
		cJSON *um = cJSON_CreateObject();
		cJSON_AddStringToObject(um, "role", "user");
		if (only_text) {
			const cJSON *p;
			buf_reset(&text);
			cJSON_ArrayForEach(p, parts) {
				if (text.len)
					buf_puts(&text, "\n");
				buf_puts(&text, tr_jstr(p, "text"));
			}
			cJSON_AddStringToObject(um, "content", buf_str(&text));
		} else {
			cJSON_AddItemToObject(um, "content", parts);
			parts = NULL;
		}
		cJSON_AddItemToArray(msgs, um);
	}
	result = 0;
out:
	cJSON_Delete(parts);
	buf_free(&text);
	return result;
}

static int assistant_blocks_to_oai(const cJSON *content, cJSON *msgs, int mi, char *err, size_t errlen)
{
	int result = -1, k = 0;
	cJSON *tcs = cJSON_CreateArray();
	struct buf text;
	const cJSON *b;

	buf_init(&text, TEXT_CAP);
	cJSON_ArrayForEach(b, content) {
		const char *bt = tr_jstr(b, "type");
		if (!bt) {
			tr_seterr(err, errlen, "messages[%d].content[%d] must be an object with a type", mi, k);
			goto out;
		}
		if (!strcmp(bt, "text")) {
			if (tr_jstr(b, "text"))
				buf_puts(&text, tr_jstr(b, "text"));
		} else if (!strcmp(bt, "tool_use")) {
			const char *id = tr_jstr(b, "id"), *name = tr_jstr(b, "name");
			const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
			if (!id || !name) {
				tr_seterr(err, errlen, "messages[%d].content[%d]: tool_use needs an id and a name", mi, k);
				goto out;
			}
			char *args = input ? cJSON_PrintUnformatted(input) : xstrdup("{}");
			cJSON *tc = cJSON_CreateObject();
			cJSON_AddStringToObject(tc, "id", id);
			cJSON_AddStringToObject(tc, "type", "function");
			cJSON *fn = cJSON_AddObjectToObject(tc, "function");
			cJSON_AddStringToObject(fn, "name", name);
			cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
			free(args);
			cJSON_AddItemToArray(tcs, tc);
		} else if (strcmp(bt, "thinking") && strcmp(bt, "redacted_thinking")) {
			tr_seterr(err, errlen, "messages[%d].content[%d]: block type '%s' is not supported for this model",
			       mi, k, bt);
			goto out;
		}
		k++;
	}
	cJSON *am = cJSON_CreateObject();
	cJSON_AddStringToObject(am, "role", "assistant");
	if (text.len || cJSON_GetArraySize(tcs) == 0)
		cJSON_AddStringToObject(am, "content", buf_str(&text));
	else
		cJSON_AddNullToObject(am, "content");
	if (cJSON_GetArraySize(tcs) > 0) {
		cJSON_AddItemToObject(am, "tool_calls", tcs);
		tcs = NULL;
	}
	cJSON_AddItemToArray(msgs, am);
	result = 0;
out:
	cJSON_Delete(tcs);
	buf_free(&text);
	return result;
}

static int system_to_oai(const cJSON *sys, cJSON *msgs, char *err, size_t errlen)
{
	struct buf text;
	const cJSON *b;
	int result = -1;

	buf_init(&text, TEXT_CAP);
	if (cJSON_IsString(sys)) {
		buf_puts(&text, sys->valuestring);
	} else if (cJSON_IsArray(sys)) {
		cJSON_ArrayForEach(b, sys) {
			const char *bt = tr_jstr(b, "type"), *t = tr_jstr(b, "text");
			if (!bt || strcmp(bt, "text") || !t) {
				tr_seterr(err, errlen, "system must be a string or an array of text blocks");
				goto out;
			}
			if (text.len)
				buf_puts(&text, "\n\n");
			buf_puts(&text, t);
		}
	} else if (sys && !cJSON_IsNull(sys)) {
		tr_seterr(err, errlen, "system must be a string or an array of text blocks");
		goto out;
	}
	if (text.len) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", buf_str(&text));
		cJSON_AddItemToArray(msgs, m);
	}
	result = 0;
out:
	buf_free(&text);
	return result;
}

/* Anthropic tools → OpenAI function tools (server tools dropped). */
static cJSON *tools_to_oai(const cJSON *tools, char *err, size_t errlen)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *t;
	int k = 0;
	cJSON_ArrayForEach(t, tools) {
		const char *name = tr_jstr(t, "name"), *type = tr_jstr(t, "type");
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "input_schema");
		if (type && strcmp(type, "custom") && !schema) {
			k++;
			continue;   /* a server tool (web_search_..., bash_...): not ours to run */
		}
		if (!name || !cJSON_IsObject(schema)) {
			tr_seterr(err, errlen, "tools[%d] needs a name and an input_schema object", k);
			cJSON_Delete(out);
			return NULL;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "function");
		cJSON *fn = cJSON_AddObjectToObject(o, "function");
		cJSON_AddStringToObject(fn, "name", name);
		if (tr_jstr(t, "description"))
			cJSON_AddStringToObject(fn, "description", tr_jstr(t, "description"));
		cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(schema, 1));
		cJSON_AddItemToArray(out, o);
		k++;
	}
	return out;
}

/* thinking ({type: enabled, budget_tokens}, adaptive, disabled) and
 * output_config.effort → the internal reasoning (reasoning.h): a budget
 * as it is, adaptive as the model deciding, thoughts shown. */
static int thinking_to_oai(const cJSON *req, cJSON *out, char *err, size_t errlen)
{
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(req, "thinking");
	const char *type = tr_jstr(th, "type");
	const cJSON *bt = cJSON_GetObjectItemCaseSensitive(th, "budget_tokens");
	struct reasoning r;
	reasoning_clear(&r);
	if (th && !cJSON_IsNull(th)) {
		if (type && !strcmp(type, "enabled") && cJSON_IsNumber(bt) && bt->valuedouble >= 1 && bt->valuedouble <= 1e9) {
			r.budget = (long)bt->valuedouble;
			r.include = 1;
		} else if (type && !strcmp(type, "adaptive")) {
			r.budget = REASONING_DYNAMIC;
			r.include = 1;
		} else if (!type || strcmp(type, "disabled")) {
			tr_seterr(err, errlen, "thinking: must be {\"type\":\"enabled\",\"budget_tokens\":N}, "
				  "{\"type\":\"adaptive\"} or {\"type\":\"disabled\"}");
			return -1;
		}
	}
	r.effort = reasoning_effort_parse(tr_jstr(cJSON_GetObjectItemCaseSensitive(req, "output_config"), "effort"));
	if (reasoning_given(&r))
		reasoning_write(out, &r);
	return 0;
}

cJSON *anthropic_request_to_oai(const cJSON *req, const char *model, char *err, size_t errlen)
{
	cJSON *out = NULL, *msgs = NULL, *result = NULL;
	const cJSON *m, *v;
	int mi = 0;

	if (!cJSON_IsObject(req)) {
		tr_seterr(err, errlen, "the request body must be a JSON object");
		goto out;
	}
	if (!model)
		model = tr_jstr(req, "model");
	if (!model) {
		tr_seterr(err, errlen, "model: Field required");
		goto out;
	}
	const cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0) {
		tr_seterr(err, errlen, "messages: must be a non-empty array");
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "model", model);
	msgs = cJSON_AddArrayToObject(out, "messages");
	if (system_to_oai(cJSON_GetObjectItemCaseSensitive(req, "system"), msgs, err, errlen) != 0)
		goto out;
	cJSON_ArrayForEach(m, messages) {
		const char *role = tr_jstr(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
			tr_seterr(err, errlen, "messages[%d].role must be \"user\" or \"assistant\"", mi);
			goto out;
		}
		if (cJSON_IsString(content)) {
			cJSON *om = cJSON_CreateObject();
			cJSON_AddStringToObject(om, "role", role);
			cJSON_AddStringToObject(om, "content", content->valuestring);
			cJSON_AddItemToArray(msgs, om);
		} else if (cJSON_IsArray(content)) {
			int rc = !strcmp(role, "user") ? user_blocks_to_oai(content, msgs, mi, err, errlen)
						       : assistant_blocks_to_oai(content, msgs, mi, err, errlen);
			if (rc != 0)
				goto out;
		} else {
			tr_seterr(err, errlen, "messages[%d].content must be a string or an array of blocks", mi);
			goto out;
		}
		mi++;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "tools");
	int ntools = 0;
	if (cJSON_IsArray(v)) {
		cJSON *tools = tools_to_oai(v, err, errlen);
		if (!tools)
			goto out;
		ntools = cJSON_GetArraySize(tools);
		if (ntools)
			cJSON_AddItemToObject(out, "tools", tools);
		else
			cJSON_Delete(tools);
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "tool_choice");
	if (ntools && cJSON_IsObject(v)) {
		const char *t = tr_jstr(v, "type");
		if (t && !strcmp(t, "auto")) {
			cJSON_AddStringToObject(out, "tool_choice", "auto");
		} else if (t && !strcmp(t, "any")) {
			cJSON_AddStringToObject(out, "tool_choice", "required");
		} else if (t && !strcmp(t, "none")) {
			cJSON_AddStringToObject(out, "tool_choice", "none");
		} else if (t && !strcmp(t, "tool") && tr_jstr(v, "name")) {
			cJSON *tc = cJSON_AddObjectToObject(out, "tool_choice");
			cJSON_AddStringToObject(tc, "type", "function");
			cJSON *fn = cJSON_AddObjectToObject(tc, "function");
			cJSON_AddStringToObject(fn, "name", tr_jstr(v, "name"));
		} else {
			tr_seterr(err, errlen, "tool_choice.type must be auto, any, tool (with a name) or none");
			goto out;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "disable_parallel_tool_use")))
			cJSON_AddFalseToObject(out, "parallel_tool_calls");
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(out, "max_tokens", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "stop_sequences");
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0)
		cJSON_AddItemToObject(out, "stop", cJSON_Duplicate(v, 1));
	v = cJSON_GetObjectItemCaseSensitive(req, "temperature");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(out, "temperature", v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(req, "top_p");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(out, "top_p", v->valuedouble);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"))) {
		cJSON_AddTrueToObject(out, "stream");
		cJSON *so = cJSON_AddObjectToObject(out, "stream_options");
		cJSON_AddTrueToObject(so, "include_usage");
	}
	const char *user = tr_jstr(cJSON_GetObjectItemCaseSensitive(req, "metadata"), "user_id");
	if (user && *user)
		cJSON_AddStringToObject(out, "user", user);
	if (thinking_to_oai(req, out, err, errlen) != 0)
		goto out;
	result = out;
	out = NULL;
out:
	cJSON_Delete(out);
	return result;
}

char *anthropic_response_from_oai(const char *body, size_t len, const char *model,
				  struct usage *u, char *err, size_t errlen)
{
	char *result = NULL;
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	cJSON *out = NULL;
	struct usage us = { 0, 0, 0, 0, 0 };
	struct buf text;

	buf_init(&text, TEXT_CAP);
	if (!cJSON_IsObject(j)) {
		tr_seterr(err, errlen, "the upstream response is not a JSON object");
		goto out;
	}
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (e && !cJSON_IsNull(e)) {
		tr_seterr(err, errlen, "upstream error: %s", tr_jstr(e, "message") ? tr_jstr(e, "message") : "unknown");
		goto out;
	}
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c0, "message");
	if (!cJSON_IsObject(msg)) {
		tr_seterr(err, errlen, "the upstream response has no choices[0].message");
		goto out;
	}
	usage_from_json(j, &us);
	if (u)
		*u = us;

	out = cJSON_CreateObject();
	const char *id = tr_jstr(j, "id");
	char *aid = xasprintf("msg_%s", id ? id : "llmgate");
	cJSON_AddStringToObject(out, "id", aid);
	free(aid);
	cJSON_AddStringToObject(out, "type", "message");
	cJSON_AddStringToObject(out, "role", "assistant");
	cJSON_AddStringToObject(out, "model", model ? model : tr_jstr(j, "model") ? tr_jstr(j, "model") : "");
	cJSON *content = cJSON_AddArrayToObject(out, "content");
	const char *reasoning = tr_jstr(msg, "reasoning_content");
	if (!reasoning)
		reasoning = tr_jstr(msg, "reasoning");
	if (reasoning && *reasoning) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "thinking");
		cJSON_AddStringToObject(b, "thinking", reasoning);
		cJSON_AddStringToObject(b, "signature", "");
		cJSON_AddItemToArray(content, b);
	}
	const cJSON *mc = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (cJSON_IsString(mc)) {
		buf_puts(&text, mc->valuestring);
	} else if (cJSON_IsArray(mc)) {
		const cJSON *p;
		cJSON_ArrayForEach(p, mc)
			if (tr_jstr(p, "text"))
				buf_puts(&text, tr_jstr(p, "text"));
	}
	if (text.len) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "text");
		cJSON_AddStringToObject(b, "text", buf_str(&text));
		cJSON_AddItemToArray(content, b);
	}
	const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), *tc;
	int ntools = 0;
	if (!cJSON_IsArray(tcs))
		tcs = NULL;
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const char *args = tr_jstr(fn, "arguments");
		cJSON *input = args && !tr_blank(args) ? cJSON_Parse(args) : cJSON_CreateObject();
		if (!cJSON_IsObject(input)) {
			/* the model wrote arguments that are not an object: keep them visible */
			cJSON_Delete(input);
			input = cJSON_CreateObject();
			cJSON_AddStringToObject(input, "_raw_arguments", args);
		}
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "tool_use");
		char *tid = tr_jstr(tc, "id") ? NULL : xasprintf("toolu_%d", ntools);
		cJSON_AddStringToObject(b, "id", tid ? tid : tr_jstr(tc, "id"));
		free(tid);
		cJSON_AddStringToObject(b, "name", tr_jstr(fn, "name") ? tr_jstr(fn, "name") : "");
		cJSON_AddItemToObject(b, "input", input);
		cJSON_AddItemToArray(content, b);
		ntools++;
	}
	const char *fr = tr_jstr(c0, "finish_reason");
	const char *stop = stop_from_finish(fr);
	if (ntools && !strcmp(stop, "end_turn"))
		stop = "tool_use";
	cJSON_AddStringToObject(out, "stop_reason", stop);
	cJSON_AddNullToObject(out, "stop_sequence");
	cJSON *uo = cJSON_AddObjectToObject(out, "usage");
	long cached = us.cached > us.prompt ? us.prompt : us.cached;
	cJSON_AddNumberToObject(uo, "input_tokens", (double)(us.prompt - cached));
	cJSON_AddNumberToObject(uo, "cache_creation_input_tokens", 0);
	cJSON_AddNumberToObject(uo, "cache_read_input_tokens", (double)cached);
	cJSON_AddNumberToObject(uo, "output_tokens", (double)us.completion);
	result = cJSON_PrintUnformatted(out);
out:
	cJSON_Delete(j);
	cJSON_Delete(out);
	buf_free(&text);
	return result;
}

/* ------------------------------------------------ stream: OpenAI → Anthropic */

void anthropic_from_oai_init(struct anthropic_from_oai *s, const char *model)
{
	memset(s, 0, sizeof(*s));
	copy_str(s->id, sizeof(s->id), "msg_llmgate");
	copy_str(s->model, sizeof(s->model), model);
	s->tool_index = -1;
}

static int o2a_start(struct anthropic_from_oai *s, struct buf *out)
{
	if (s->started)
		return 0;
	s->started = 1;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "message_start");
	cJSON *m = cJSON_AddObjectToObject(j, "message");
	cJSON_AddStringToObject(m, "id", s->id);
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddArrayToObject(m, "content");
	cJSON_AddStringToObject(m, "model", s->model);
	cJSON_AddNullToObject(m, "stop_reason");
	cJSON_AddNullToObject(m, "stop_sequence");
	cJSON *u = cJSON_AddObjectToObject(m, "usage");
	cJSON_AddNumberToObject(u, "input_tokens", 0);
	cJSON_AddNumberToObject(u, "output_tokens", 0);
	return emit_event(out, "message_start", j);
}

static int o2a_close_block(struct anthropic_from_oai *s, struct buf *out)
{
	if (s->block == BLK_NONE)
		return 0;
	s->block = BLK_NONE;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "content_block_stop");
	cJSON_AddNumberToObject(j, "index", s->nblocks - 1);
	return emit_event(out, "content_block_stop", j);
}

/* Close the open block and open one of kind with content_block cb (taken). */
static int o2a_open_block(struct anthropic_from_oai *s, struct buf *out, int kind, cJSON *cb)
{
	if (o2a_close_block(s, out) != 0) {
		cJSON_Delete(cb);
		return -1;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "content_block_start");
	cJSON_AddNumberToObject(j, "index", s->nblocks);
	cJSON_AddItemToObject(j, "content_block", cb);
	s->nblocks++;
	s->block = kind;
	return emit_event(out, "content_block_start", j);
}

/* content_block_delta {type: dtype, field: value} on the open block. */
static int o2a_delta(struct anthropic_from_oai *s, struct buf *out, const char *dtype, const char *field,
		     const char *value)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "content_block_delta");
	cJSON_AddNumberToObject(j, "index", s->nblocks - 1);
	cJSON *d = cJSON_AddObjectToObject(j, "delta");
	cJSON_AddStringToObject(d, "type", dtype);
	cJSON_AddStringToObject(d, field, value);
	return emit_event(out, "content_block_delta", j);
}

static int o2a_text(struct anthropic_from_oai *s, struct buf *out, int kind, const char *text)
{
	if (!text || !*text)
		return 0;
	if (s->block != kind) {
		cJSON *cb = cJSON_CreateObject();
		cJSON_AddStringToObject(cb, "type", kind == BLK_TEXT ? "text" : "thinking");
		cJSON_AddStringToObject(cb, kind == BLK_TEXT ? "text" : "thinking", "");
		if (o2a_open_block(s, out, kind, cb) != 0)
			return -1;
	}
	return kind == BLK_TEXT ? o2a_delta(s, out, "text_delta", "text", text)
				: o2a_delta(s, out, "thinking_delta", "thinking", text);
}

static int o2a_tool_calls(struct anthropic_from_oai *s, struct buf *out, const cJSON *tcs)
{
	const cJSON *tc;
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(tc, "index");
		/* an upstream number: only a small whole one is an index */
		int idx = cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < 4096 ? (int)ix->valuedouble : 0;
		const char *id = tr_jstr(tc, "id"), *name = tr_jstr(fn, "name"), *args = tr_jstr(fn, "arguments");
		int in_tool = s->block == BLK_TOOL;
		int fresh = id && *id ? !in_tool || strcmp(id, s->tool_id)
				      : name && *name && (!in_tool || idx != s->tool_index);
		if (fresh) {
			char gen[32];
			if (!id || !*id) {
				snprintf(gen, sizeof(gen), "toolu_%d", s->nblocks);
				id = gen;
			}
			copy_str(s->tool_id, sizeof(s->tool_id), id);
			s->tool_index = idx;
			cJSON *cb = cJSON_CreateObject();
			cJSON_AddStringToObject(cb, "type", "tool_use");
			cJSON_AddStringToObject(cb, "id", id);
			cJSON_AddStringToObject(cb, "name", name ? name : "");
			cJSON_AddObjectToObject(cb, "input");
			if (o2a_open_block(s, out, BLK_TOOL, cb) != 0)
				return -1;
		} else if (!in_tool || idx != s->tool_index) {
			continue;   /* a delta for a tool call already closed: cannot be placed */
		}
		if (args && *args && o2a_delta(s, out, "input_json_delta", "partial_json", args) != 0)
			return -1;
	}
	return 0;
}

static int o2a_finish_msg(struct anthropic_from_oai *s, struct buf *out)
{
	if (o2a_start(s, out) != 0 || o2a_close_block(s, out) != 0)
		return -1;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "message_delta");
	cJSON *d = cJSON_AddObjectToObject(j, "delta");
	cJSON_AddStringToObject(d, "stop_reason", s->stop_reason[0] ? s->stop_reason : "end_turn");
	cJSON_AddNullToObject(d, "stop_sequence");
	cJSON *u = cJSON_AddObjectToObject(j, "usage");
	long cached = s->usage.cached > s->usage.prompt ? s->usage.prompt : s->usage.cached;
	cJSON_AddNumberToObject(u, "input_tokens", (double)(s->usage.prompt - cached));
	cJSON_AddNumberToObject(u, "cache_creation_input_tokens", 0);
	cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)cached);
	cJSON_AddNumberToObject(u, "output_tokens", (double)s->usage.completion);
	if (emit_event(out, "message_delta", j) != 0)
		return -1;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", "message_stop");
	if (emit_event(out, "message_stop", j) != 0)
		return -1;
	s->done = 1;
	return 1;
}

static int o2a_fail(struct anthropic_from_oai *s, struct buf *out, const char *type, const char *message)
{
	s->failed = 1;
	copy_str(s->error, sizeof(s->error), message);
	char *msg = xstrdup(message);
	log_scrub(msg);
	emit_event(out, "error", anthropic_error_obj(type, msg));
	free(msg);
	return -1;
}

static int o2a_feed_obj(struct anthropic_from_oai *s, const cJSON *j, struct buf *out);

int anthropic_from_oai_feed(struct anthropic_from_oai *s, const char *data, size_t len, struct buf *out)
{
	int rc = 0;
	cJSON *j = NULL;

	if (s->done)
		return 1;
	if (s->failed)
		return -1;
	while (len && (*data == ' ' || *data == '\t')) {
		data++;
		len--;
	}
	if (len >= 6 && !memcmp(data, "[DONE]", 6)) {
		rc = o2a_finish_msg(s, out);
		goto out;
	}
	j = cJSON_ParseWithLength(data ? data : "", len);
	if (!cJSON_IsObject(j)) {
		rc = o2a_fail(s, out, "api_error", "the upstream sent an event that is not JSON");
		goto out;
	}
	rc = o2a_feed_obj(s, j, out);
out:
	cJSON_Delete(j);
	return rc;
}

int anthropic_from_oai_chunk(struct anthropic_from_oai *s, const struct chunk *c, struct buf *out)
{
	if (!c->obj)
		return anthropic_from_oai_feed(s, c->json, c->json_len, out);
	if (s->done)
		return 1;
	if (s->failed)
		return -1;
	return o2a_feed_obj(s, c->obj, out);
}

/* One chunk (a JSON object) of an unfinished stream. */
static int o2a_feed_obj(struct anthropic_from_oai *s, const cJSON *j, struct buf *out)
{
	int rc = 0;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (e && !cJSON_IsNull(e)) {
		const char *m = cJSON_IsString(e) ? e->valuestring : tr_jstr(e, "message");
		return o2a_fail(s, out, "api_error", m ? m : "the upstream reported an error");
	}
	if (!s->started && tr_jstr(j, "id"))
		snprintf(s->id, sizeof(s->id), "msg_%s", tr_jstr(j, "id"));
	usage_from_json(j, &s->usage);
	rc = o2a_start(s, out);
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
	if (rc == 0 && cJSON_IsObject(delta)) {
		const char *r = tr_jstr(delta, "reasoning_content");
		if (!r)
			r = tr_jstr(delta, "reasoning");
		rc = o2a_text(s, out, BLK_THINKING, r);
		if (rc == 0)
			rc = o2a_text(s, out, BLK_TEXT, tr_jstr(delta, "content"));
		const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
		if (rc == 0 && cJSON_IsArray(tcs))
			rc = o2a_tool_calls(s, out, tcs);
	}
	const char *fr = tr_jstr(c0, "finish_reason");
	if (rc == 0 && fr && *fr && !s->stop_reason[0]) {
		copy_str(s->stop_reason, sizeof(s->stop_reason), stop_from_finish(fr));
		rc = o2a_close_block(s, out);
	}
	if (rc < 0) {
		s->failed = 1;
		copy_str(s->error, sizeof(s->error), "the translated stream exceeds its buffer");
	}
	return rc;
}

int anthropic_from_oai_finish(struct anthropic_from_oai *s, struct buf *out)
{
	if (s->done)
		return 1;
	if (s->failed)
		return -1;
	if (s->stop_reason[0])
		return o2a_finish_msg(s, out) == 1 ? 1 : -1;
	return o2a_fail(s, out, "api_error", "the upstream stream ended before the message was complete");
}

/* ------------------------------------------------------------ errors */

const char *anthropic_error_type(int status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 402: return "billing_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

char *anthropic_error_json(const char *type, const char *message)
{
	cJSON *j = anthropic_error_obj(type, message);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s ? s : xstrdup("{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"\"}}");
}

/* The error message of an upstream body in either dialect (a new string,
 * scrubbed), or a generic one; *type gets Anthropic's error.type if any. */
static char *error_message(const cJSON *j, int status, const char **type)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *m = cJSON_IsString(e) ? e->valuestring : tr_jstr(e, "message");
	char *msg = m && *m ? xstrdup(m) : xasprintf("The upstream answered with HTTP status %d.", status);
	*type = tr_jstr(e, "type");
	log_scrub(msg);
	return msg;
}

char *anthropic_error_to_oai(const char *body, size_t len, int status)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const char *atype = NULL;
	char *msg = error_message(j, status, &atype);
	cJSON *o = tr_oai_error_obj(msg, tr_error_type(status), atype);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cJSON_Delete(j);
	free(msg);
	return s ? s : xstrdup("{\"error\":{\"message\":\"upstream error\",\"type\":\"upstream_error\",\"param\":null,\"code\":null}}");
}

char *anthropic_error_from_oai(const char *body, size_t len, int status)
{
	cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
	const char *otype = NULL;
	char *msg = error_message(j, status, &otype);
	char *s = anthropic_error_json(anthropic_error_type(status), msg);
	cJSON_Delete(j);
	free(msg);
	return s;
}

/* One system message's content onto the blocks being gathered (strings
 * also onto text, for the all-strings case). */
static int hoist_one(const cJSON *content, cJSON *blocks, struct buf *text, int *all_str, int mi, char *err,
		     size_t errlen)
{
	if (cJSON_IsString(content)) {
		if (!content->valuestring[0])
			return 0;
		if (text->len)
			buf_puts(text, "\n\n");
		buf_puts(text, content->valuestring);
		add_text_block(blocks, content->valuestring);
		return 0;
	}
	const cJSON *b;
	if (!cJSON_IsArray(content))
		goto bad;
	*all_str = 0;
	cJSON_ArrayForEach(b, content) {
		const char *bt = tr_jstr(b, "type");
		if (!bt || strcmp(bt, "text") || !tr_jstr(b, "text"))
			goto bad;
		if (tr_jstr(b, "text")[0])
			cJSON_AddItemToArray(blocks, cJSON_Duplicate(b, 1));
	}
	return 0;
bad:
	tr_seterr(err, errlen, "messages[%d]: a system message holds a string or text blocks only", mi);
	return -1;
}

int anthropic_request_hoist_system(cJSON *req, char *err, size_t errlen)
{
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	cJSON *m, *next;
	int any = 0, all_str = 1, mi = 0, rc = -1;
	cJSON_ArrayForEach(m, msgs) {
		const char *role = tr_jstr(m, "role");
		any |= role && !strcmp(role, "system");
	}
	if (!cJSON_IsArray(msgs) || !any)
		return 0;
	cJSON *sys = cJSON_GetObjectItemCaseSensitive(req, "system");
	if (sys && !cJSON_IsNull(sys) && !cJSON_IsString(sys) && !cJSON_IsArray(sys)) {
		tr_seterr(err, errlen, "system must be a string or an array of text blocks");
		return -1;
	}
	struct buf text;
	buf_init(&text, TEXT_CAP);
	cJSON *blocks = cJSON_CreateArray();
	if (cJSON_IsArray(sys)) {
		all_str = 0;
		cJSON_ArrayForEach(m, sys)
			cJSON_AddItemToArray(blocks, cJSON_Duplicate(m, 1));
	} else if (cJSON_IsString(sys) && hoist_one(sys, blocks, &text, &all_str, 0, err, errlen) != 0) {
		goto out;
	}
	for (m = msgs->child; m; m = next, mi++) {
		next = m->next;
		const char *role = tr_jstr(m, "role");
		if (!role || strcmp(role, "system"))
			continue;
		if (hoist_one(cJSON_GetObjectItemCaseSensitive(m, "content"), blocks, &text, &all_str, mi, err,
			      errlen) != 0)
			goto out;
		cJSON_Delete(cJSON_DetachItemViaPointer(msgs, m));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(req, "system");
	if (all_str && text.len)
		cJSON_AddStringToObject(req, "system", buf_str(&text));
	else if (!all_str && cJSON_GetArraySize(blocks))
		cJSON_AddItemToObject(req, "system", blocks), blocks = NULL;
	rc = 0;
out:
	cJSON_Delete(blocks);
	buf_free(&text);
	return rc;
}
