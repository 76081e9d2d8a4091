/* gemini_in.c — Gemini's generateContent API as a client dialect: its
 * request to the internal form, the internal answer and stream back to
 * GenerateContentResponse (see gemini_in.h). */
#include "autoconf.h"
#include "gemini_in.h"
#include "gemini.h"
#include "reasoning.h"
#include "translate.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEXT_CAP ((size_t)64 << 20)

/* o's member by its camelCase or its snake_case name. */
static const cJSON *gm(const cJSON *o, const char *camel, const char *snake)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, camel);
	return v || !snake ? v : cJSON_GetObjectItemCaseSensitive(o, snake);
}

static const char *gs(const cJSON *o, const char *camel, const char *snake)
{
	const cJSON *v = gm(o, camel, snake);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ======================================================= request */

static const char *const top_members[] = {
	"contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config",
	"generationConfig", "generation_config", "safetySettings", "safety_settings", "labels",
};

static int top_member_ok(const char *name)
{
	for (size_t i = 0; i < sizeof(top_members) / sizeof(top_members[0]); i++)
		if (!strcmp(name, top_members[i]))
			return 1;
	return 0;
}

/* A Gemini Schema (upper-case types, nullable) → JSON Schema (new). */
static cJSON *schema_to_json(const cJSON *s)
{
	if (cJSON_IsArray(s)) {
		cJSON *a = cJSON_CreateArray();
		const cJSON *e;
		cJSON_ArrayForEach(e, s)
			cJSON_AddItemToArray(a, schema_to_json(e));
		return a;
	}
	if (!cJSON_IsObject(s))
		return cJSON_Duplicate(s, 1);
	cJSON *o = cJSON_CreateObject();
	const cJSON *m;
	int nullable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "nullable"));
	cJSON_ArrayForEach(m, s) {
		if (!strcmp(m->string, "nullable") || !strcmp(m->string, "propertyOrdering"))
			continue;
		if (!strcmp(m->string, "type") && cJSON_IsString(m)) {
			char t[32];
			size_t n = strlen(m->valuestring);
			if (n >= sizeof(t))
				n = sizeof(t) - 1;
			for (size_t i = 0; i < n; i++)
				t[i] = (char)(m->valuestring[i] >= 'A' && m->valuestring[i] <= 'Z' ? m->valuestring[i] + 32
												     : m->valuestring[i]);
			t[n] = '\0';
			if (nullable) {
				cJSON *ta = cJSON_AddArrayToObject(o, "type");
				cJSON_AddItemToArray(ta, cJSON_CreateString(t));
				cJSON_AddItemToArray(ta, cJSON_CreateString("null"));
			} else {
				cJSON_AddStringToObject(o, "type", t);
			}
			continue;
		}
		int nested = !strcmp(m->string, "properties") || !strcmp(m->string, "items") ||
			     !strcmp(m->string, "anyOf") || !strcmp(m->string, "any_of");
		cJSON *v;
		if (nested && !strcmp(m->string, "properties") && cJSON_IsObject(m)) {
			v = cJSON_CreateObject();
			const cJSON *p;
			cJSON_ArrayForEach(p, m)
				cJSON_AddItemToObject(v, p->string, schema_to_json(p));
		} else {
			v = nested ? schema_to_json(m) : cJSON_Duplicate(m, 1);
		}
		cJSON_AddItemToObject(o, !strcmp(m->string, "any_of") ? "anyOf" : m->string, v);
	}
	return o;
}

/* Gemini's generationConfig.thinkingConfig → the internal reasoning. */
static int thinking_to_oai(const cJSON *tc, cJSON *out, char *err, size_t errlen)
{
	struct reasoning r;
	reasoning_clear(&r);
	if (!tc || cJSON_IsNull(tc))
		return 0;
	if (!cJSON_IsObject(tc)) {
		tr_seterr(err, errlen, "generationConfig.thinkingConfig must be an object");
		return -1;
	}
	const cJSON *b = gm(tc, "thinkingBudget", "thinking_budget");
	const cJSON *l = gm(tc, "thinkingLevel", "thinking_level");
	const cJSON *inc = gm(tc, "includeThoughts", "include_thoughts");
	if (b && !(cJSON_IsNumber(b) && b->valuedouble >= -1 && b->valuedouble <= 1e7 &&
		   b->valuedouble == (double)(long)b->valuedouble)) {
		tr_seterr(err, errlen, "thinkingConfig.thinkingBudget must be an integer from -1 up");
		return -1;
	}
	if (l && (!cJSON_IsString(l) || (reasoning_level_effort(l->valuestring) == REASONING_UNSET &&
					  strcasecmp(l->valuestring, "THINKING_LEVEL_UNSPECIFIED")))) {
		tr_seterr(err, errlen, "thinkingConfig.thinkingLevel must be MINIMAL, LOW, MEDIUM or HIGH");
		return -1;
	}
	if (inc && !cJSON_IsBool(inc)) {
		tr_seterr(err, errlen, "thinkingConfig.includeThoughts must be a boolean");
		return -1;
	}
	if (b)
		r.budget = (long)b->valuedouble;
	if (l)
		r.effort = reasoning_level_effort(l->valuestring);
	if (inc)
		r.include = cJSON_IsTrue(inc);
	reasoning_write(out, &r);
	return 0;
}

/* generationConfig → the internal sampling members. */
static int generation_to_oai(const cJSON *g, cJSON *out, char *err, size_t errlen)
{
	const cJSON *v;
	if (!g || cJSON_IsNull(g))
		return 0;
	if (!cJSON_IsObject(g)) {
		tr_seterr(err, errlen, "generationConfig must be an object");
		return -1;
	}
	static const struct { const char *camel, *snake, *oai; } nums[] = {
		{ "temperature", NULL, "temperature" }, { "topP", "top_p", "top_p" },
		{ "presencePenalty", "presence_penalty", "presence_penalty" },
		{ "frequencyPenalty", "frequency_penalty", "frequency_penalty" }, { "seed", NULL, "seed" },
		{ "maxOutputTokens", "max_output_tokens", "max_completion_tokens" },
		{ "candidateCount", "candidate_count", "n" },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		v = gm(g, nums[i].camel, nums[i].snake);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsNumber(v)) {
			tr_seterr(err, errlen, "generationConfig.%s must be a number", nums[i].camel);
			return -1;
		}
		cJSON_AddNumberToObject(out, nums[i].oai, v->valuedouble);
	}
	v = gm(g, "stopSequences", "stop_sequences");
	if (v && !cJSON_IsNull(v)) {
		const cJSON *s;
		if (!cJSON_IsArray(v)) {
			tr_seterr(err, errlen, "generationConfig.stopSequences must be an array of strings");
			return -1;
		}
		cJSON_ArrayForEach(s, v) {
			if (!cJSON_IsString(s)) {
				tr_seterr(err, errlen, "generationConfig.stopSequences must be an array of strings");
				return -1;
			}
		}
		if (cJSON_GetArraySize(v))
			cJSON_AddItemToObject(out, "stop", cJSON_Duplicate(v, 1));
	}
	const char *mime = gs(g, "responseMimeType", "response_mime_type");
	if (mime && !strcmp(mime, "application/json")) {
		const cJSON *js = gm(g, "responseJsonSchema", "response_json_schema");
		const cJSON *sch = gm(g, "responseSchema", "response_schema");
		cJSON *rf = cJSON_AddObjectToObject(out, "response_format");
		if (cJSON_IsObject(js) || cJSON_IsObject(sch)) {
			cJSON_AddStringToObject(rf, "type", "json_schema");
			cJSON *j = cJSON_AddObjectToObject(rf, "json_schema");
			cJSON_AddStringToObject(j, "name", "response");
			cJSON_AddItemToObject(j, "schema", cJSON_IsObject(js) ? cJSON_Duplicate(js, 1) : schema_to_json(sch));
		} else {
			cJSON_AddStringToObject(rf, "type", "json_object");
		}
	}
	return thinking_to_oai(gm(g, "thinkingConfig", "thinking_config"), out, err, errlen);
}

/* tools[].functionDeclarations → OpenAI function tools. */
static int tools_to_oai(const cJSON *tools, cJSON *out, char *err, size_t errlen)
{
	const cJSON *t, *d;
	int k = 0;
	if (!tools || cJSON_IsNull(tools))
		return 0;
	if (!cJSON_IsArray(tools)) {
		tr_seterr(err, errlen, "tools must be an array");
		return -1;
	}
	cJSON *ot = cJSON_CreateArray();
	cJSON_ArrayForEach(t, tools) {
		if (!cJSON_IsObject(t)) {
			tr_seterr(err, errlen, "tools[%d] must be an object", k);
			goto bad;
		}
		for (const cJSON *m = t->child; m; m = m->next) {
			if (strcmp(m->string, "functionDeclarations") && strcmp(m->string, "function_declarations")) {
				tr_seterr(err, errlen, "tools[%d].%.40s: built-in tools are not available through this "
					  "gateway for this model; declare functions instead", k, m->string);
				goto bad;
			}
			if (!cJSON_IsArray(m)) {
				tr_seterr(err, errlen, "tools[%d].functionDeclarations must be an array", k);
				goto bad;
			}
			cJSON_ArrayForEach(d, m) {
				const char *name = gs(d, "name", NULL), *desc = gs(d, "description", NULL);
				if (!name || !*name) {
					tr_seterr(err, errlen, "tools[%d].functionDeclarations: every function needs a name", k);
					goto bad;
				}
				cJSON *tool = cJSON_CreateObject();
				cJSON_AddStringToObject(tool, "type", "function");
				cJSON *fn = cJSON_AddObjectToObject(tool, "function");
				cJSON_AddStringToObject(fn, "name", name);
				if (desc)
					cJSON_AddStringToObject(fn, "description", desc);
				const cJSON *js = gm(d, "parametersJsonSchema", "parameters_json_schema");
				const cJSON *ps = gm(d, "parameters", NULL);
				cJSON *params = cJSON_IsObject(js) ? cJSON_Duplicate(js, 1)
					      : cJSON_IsObject(ps) ? schema_to_json(ps) : NULL;
				if (!params) {
					params = cJSON_CreateObject();
					cJSON_AddStringToObject(params, "type", "object");
					cJSON_AddObjectToObject(params, "properties");
				}
				cJSON_AddItemToObject(fn, "parameters", params);
				cJSON_AddItemToArray(ot, tool);
			}
		}
		k++;
	}
	if (cJSON_GetArraySize(ot))
		cJSON_AddItemToObject(out, "tools", ot);
	else
		cJSON_Delete(ot);
	return 0;
bad:
	cJSON_Delete(ot);
	return -1;
}

/* toolConfig.functionCallingConfig → tool_choice. */
static int tool_config_to_oai(const cJSON *tc, cJSON *out, char *err, size_t errlen)
{
	const cJSON *fcc = gm(tc, "functionCallingConfig", "function_calling_config");
	if (!fcc)
		return 0;
	const char *mode = gs(fcc, "mode", NULL);
	const cJSON *names = gm(fcc, "allowedFunctionNames", "allowed_function_names");
	if (!mode || !strcmp(mode, "MODE_UNSPECIFIED"))
		return 0;
	if (!strcmp(mode, "AUTO") || !strcmp(mode, "VALIDATED")) {
		cJSON_AddStringToObject(out, "tool_choice", "auto");
	} else if (!strcmp(mode, "NONE")) {
		cJSON_AddStringToObject(out, "tool_choice", "none");
	} else if (!strcmp(mode, "ANY")) {
		const cJSON *one = cJSON_IsArray(names) && cJSON_GetArraySize(names) == 1 ? names->child : NULL;
		if (cJSON_IsString(one)) {
			cJSON *c = cJSON_AddObjectToObject(out, "tool_choice");
			cJSON_AddStringToObject(c, "type", "function");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "function"), "name", one->valuestring);
		} else {
			cJSON_AddStringToObject(out, "tool_choice", "required");
		}
	} else {
		tr_seterr(err, errlen, "toolConfig.functionCallingConfig.mode must be AUTO, ANY, NONE or VALIDATED");
		return -1;
	}
	return 0;
}

/* One inlineData / fileData part → an OpenAI content part (new). */
static cJSON *media_part(const cJSON *p, int ci, int pi, char *err, size_t errlen)
{
	const cJSON *in = gm(p, "inlineData", "inline_data"), *fd = gm(p, "fileData", "file_data");
	const char *mime = gs(in ? in : fd, "mimeType", "mime_type");
	cJSON *o = cJSON_CreateObject();
	if (in) {
		const char *data = gs(in, "data", NULL);
		if (!mime || !data) {
			tr_seterr(err, errlen, "contents[%d].parts[%d].inlineData needs mimeType and data", ci, pi);
			goto bad;
		}
		char *url = xasprintf("data:%s;base64,%s", mime, data);
		if (!strncmp(mime, "audio/", 6) && (!strcmp(mime + 6, "wav") || !strcmp(mime + 6, "mp3") ||
						     !strcmp(mime + 6, "mpeg"))) {
			cJSON_AddStringToObject(o, "type", "input_audio");
			cJSON *a = cJSON_AddObjectToObject(o, "input_audio");
			cJSON_AddStringToObject(a, "data", data);
			cJSON_AddStringToObject(a, "format", strcmp(mime + 6, "wav") ? "mp3" : "wav");
		} else if (!strncmp(mime, "image/", 6)) {
			cJSON_AddStringToObject(o, "type", "image_url");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "image_url"), "url", url);
		} else {
			cJSON_AddStringToObject(o, "type", "file");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "file"), "file_data", url);
		}
		free(url);
		return o;
	}
	const char *uri = gs(fd, "fileUri", "file_uri");
	if (!uri || (strncmp(uri, "https://", 8) && strncmp(uri, "http://", 7))) {
		tr_seterr(err, errlen, "contents[%d].parts[%d].fileData: only http(s) URIs can be sent to this model", ci, pi);
		goto bad;
	}
	cJSON_AddStringToObject(o, "type", "image_url");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "image_url"), "url", uri);
	return o;
bad:
	cJSON_Delete(o);
	return NULL;
}

/* The calls of model turns not answered yet, pending ([{"id","name"}]):
 * the one with id, else the oldest of that name, taken out; its id (new
 * string), or NULL when none is. */
static char *answer_call(cJSON *pending, const char *id, const char *name)
{
	const cJSON *c;
	int i = 0, hit = -1, by_name = -1;
	cJSON_ArrayForEach(c, pending) {
		if (id && !strcmp(tr_jstr(c, "id"), id)) {
			hit = i;
			break;
		}
		if (by_name < 0 && name && !strcmp(tr_jstr(c, "name"), name))
			by_name = i;
		i++;
	}
	if (hit < 0)
		hit = by_name;
	if (hit < 0)
		return NULL;
	cJSON *taken = cJSON_DetachItemFromArray(pending, hit);
	char *tid = xstrdup(tr_jstr(taken, "id"));
	cJSON_Delete(taken);
	return tid;
}

/* A functionResponse part → a "tool" message answering its call. */
static int tool_message(const cJSON *fr, cJSON *msgs, cJSON *pending, int ci, int pi, char *err, size_t errlen)
{
	const cJSON *resp = gm(fr, "response", NULL);
	char *tid = answer_call(pending, gs(fr, "id", NULL), gs(fr, "name", NULL));
	if (!tid) {
		tr_seterr(err, errlen, "contents[%d].parts[%d].functionResponse answers no earlier functionCall", ci, pi);
		return -1;
	}
	const cJSON *output = cJSON_IsObject(resp) && resp->child && !resp->child->next ?
		cJSON_GetObjectItemCaseSensitive(resp, "output") : NULL;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "tool");
	cJSON_AddStringToObject(m, "tool_call_id", tid);
	if (cJSON_IsString(output)) {
		cJSON_AddStringToObject(m, "content", output->valuestring);
	} else {
		char *t = resp ? cJSON_PrintUnformatted(resp) : xstrdup("{}");
		cJSON_AddStringToObject(m, "content", t ? t : "{}");
		free(t);
	}
	cJSON_AddItemToArray(msgs, m);
	free(tid);
	return 0;
}

/* A part's text when it is a text part; *thought when it is a thought. */
static const char *part_text(const cJSON *p, int *thought)
{
	*thought = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "thought"));
	return gs(p, "text", NULL);
}

/* A user turn: its functionResponses as tool messages, then the rest as
 * one user message (a string when it is all text). */
static int user_turn(const cJSON *parts, cJSON *msgs, cJSON *pending, int ci, char *err, size_t errlen)
{
	cJSON *content = cJSON_CreateArray();
	struct buf text;
	const cJSON *p;
	int pi = 0, only_text = 1, thought, rc = -1;
	buf_init(&text, TEXT_CAP);
	cJSON_ArrayForEach(p, parts) {
		const cJSON *fr = gm(p, "functionResponse", "function_response");
		const char *t = part_text(p, &thought);
		if (!cJSON_IsObject(p)) {
			tr_seterr(err, errlen, "contents[%d].parts[%d] must be an object", ci, pi);
			goto out;
		}
		if (cJSON_IsObject(fr)) {
			if (tool_message(fr, msgs, pending, ci, pi, err, errlen) != 0)
				goto out;
		} else if (t) {
			if (!thought) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "type", "text");
				cJSON_AddStringToObject(o, "text", t);
				cJSON_AddItemToArray(content, o);
				if (text.len)
					buf_puts(&text, "\n\n");
				buf_puts(&text, t);
			}
		} else if (gm(p, "inlineData", "inline_data") || gm(p, "fileData", "file_data")) {
			cJSON *o = media_part(p, ci, pi, err, errlen);
			if (!o)
				goto out;
			cJSON_AddItemToArray(content, o);
			only_text = 0;
		} else {
			tr_seterr(err, errlen, "contents[%d].parts[%d]: this kind of part is not supported", ci, pi);
			goto out;
		}
		pi++;
	}
	if (cJSON_GetArraySize(content)) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		if (only_text)
			cJSON_AddStringToObject(m, "content", buf_str(&text));
		else
			cJSON_AddItemToObject(m, "content", cJSON_Duplicate(content, 1));
		cJSON_AddItemToArray(msgs, m);
	}
	rc = 0;
out:
	cJSON_Delete(content);
	buf_free(&text);
	return rc;
}

/* A thought part of a model turn: its text gathered in think; with a
 * thoughtSignature (the gateway gave it, from Anthropic's thinking) the
 * thinking so far becomes a signed block of blocks (the internal
 * thinking_blocks, for Anthropic to get back). */
static void thought_block(const cJSON *p, const char *t, struct buf *think, cJSON *blocks)
{
	const char *sig = gs(p, "thoughtSignature", "thought_signature");
	buf_puts(think, t);
	if (!sig || !*sig)
		return;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "thinking");
	cJSON_AddStringToObject(b, "thinking", buf_str(think));
	cJSON_AddStringToObject(b, "signature", sig);
	cJSON_AddItemToArray(blocks, b);
	buf_reset(think);
}

/* A model turn: one assistant message (text, tool_calls, and the signed
 * thoughts as thinking_blocks); thought text itself is not sent back. */
static int model_turn(const cJSON *parts, cJSON *msgs, cJSON *pending, int ci, char *err, size_t errlen)
{
	cJSON *tcs = cJSON_CreateArray(), *blocks = cJSON_CreateArray();
	struct buf text, think;
	const cJSON *p;
	int pi = 0, thought, rc = -1;
	buf_init(&text, TEXT_CAP);
	buf_init(&think, TEXT_CAP);
	cJSON_ArrayForEach(p, parts) {
		const cJSON *fc = gm(p, "functionCall", "function_call");
		const char *t = part_text(p, &thought);
		if (cJSON_IsObject(fc)) {
			const char *name = gs(fc, "name", NULL), *id = gs(fc, "id", NULL);
			const cJSON *args = gm(fc, "args", NULL);
			if (!name || !*name || (args && !cJSON_IsObject(args))) {
				tr_seterr(err, errlen, "contents[%d].parts[%d].functionCall needs a name and object args", ci, pi);
				goto out;
			}
			char gen[48];
			snprintf(gen, sizeof(gen), "call_%d_%d", ci, pi);
			cJSON *tc = cJSON_CreateObject();
			cJSON_AddStringToObject(tc, "id", id && *id ? id : gen);
			cJSON_AddStringToObject(tc, "type", "function");
			cJSON *fn = cJSON_AddObjectToObject(tc, "function");
			cJSON_AddStringToObject(fn, "name", name);
			char *a = args ? cJSON_PrintUnformatted(args) : NULL;
			cJSON_AddStringToObject(fn, "arguments", a ? a : "{}");
			free(a);
			cJSON_AddItemToArray(tcs, tc);
			cJSON *pc = cJSON_CreateObject();
			cJSON_AddStringToObject(pc, "id", id && *id ? id : gen);
			cJSON_AddStringToObject(pc, "name", name);
			cJSON_AddItemToArray(pending, pc);
		} else if (t) {
			if (!thought)
				buf_puts(&text, t);
			else
				thought_block(p, t, &think, blocks);
		} else if (!cJSON_IsObject(p) || gm(p, "functionResponse", "function_response") ||
			   !(gm(p, "inlineData", "inline_data") || gm(p, "fileData", "file_data") ||
			     gm(p, "thoughtSignature", "thought_signature"))) {
			tr_seterr(err, errlen, "contents[%d].parts[%d]: this kind of part is not supported in a model turn",
				  ci, pi);
			goto out;
		}
		pi++;
	}
	if (text.len || cJSON_GetArraySize(tcs)) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "assistant");
		if (text.len)
			cJSON_AddStringToObject(m, "content", buf_str(&text));
		else
			cJSON_AddNullToObject(m, "content");
		if (cJSON_GetArraySize(tcs)) {
			cJSON_AddItemToObject(m, "tool_calls", tcs);
			tcs = NULL;
		}
		if (cJSON_GetArraySize(blocks)) {
			cJSON_AddItemToObject(m, "thinking_blocks", blocks);
			blocks = NULL;
		}
		cJSON_AddItemToArray(msgs, m);
	}
	rc = 0;
out:
	cJSON_Delete(tcs);
	cJSON_Delete(blocks);
	buf_free(&text);
	buf_free(&think);
	return rc;
}

/* systemInstruction (a Content, or a plain string) → a system message. */
static int system_to_oai(const cJSON *si, cJSON *msgs, char *err, size_t errlen)
{
	struct buf text;
	const cJSON *p;
	if (!si || cJSON_IsNull(si))
		return 0;
	buf_init(&text, TEXT_CAP);
	if (cJSON_IsString(si)) {
		buf_puts(&text, si->valuestring);
	} else if (cJSON_IsObject(si) && cJSON_IsArray(gm(si, "parts", NULL))) {
		cJSON_ArrayForEach(p, gm(si, "parts", NULL)) {
			const char *t = gs(p, "text", NULL);
			if (!t) {
				tr_seterr(err, errlen, "systemInstruction.parts may hold text only");
				buf_free(&text);
				return -1;
			}
			if (text.len && *t)
				buf_puts(&text, "\n\n");
			buf_puts(&text, t);
		}
	} else {
		tr_seterr(err, errlen, "systemInstruction must be a Content with parts");
		buf_free(&text);
		return -1;
	}
	if (text.len) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", buf_str(&text));
		cJSON_AddItemToArray(msgs, m);
	}
	buf_free(&text);
	return 0;
}

static int contents_to_oai(const cJSON *contents, cJSON *msgs, char *err, size_t errlen)
{
	cJSON *pending = cJSON_CreateArray();
	const cJSON *c;
	int ci = 0, rc = -1;
	cJSON_ArrayForEach(c, contents) {
		const char *role = gs(c, "role", NULL);
		const cJSON *parts = gm(c, "parts", NULL);
		if (!cJSON_IsObject(c) || !cJSON_IsArray(parts)) {
			tr_seterr(err, errlen, "contents[%d] must be an object with parts", ci);
			goto out;
		}
		if (!role || !*role || !strcmp(role, "user") || !strcmp(role, "function")) {
			if (user_turn(parts, msgs, pending, ci, err, errlen) != 0)
				goto out;
		} else if (!strcmp(role, "model")) {
			if (model_turn(parts, msgs, pending, ci, err, errlen) != 0)
				goto out;
		} else {
			tr_seterr(err, errlen, "contents[%d].role must be \"user\" or \"model\"", ci);
			goto out;
		}
		ci++;
	}
	rc = 0;
out:
	cJSON_Delete(pending);
	return rc;
}

cJSON *gemini_in_request_to_oai(const cJSON *greq, const char *model, int stream, char *err, size_t errlen)
{
	if (!cJSON_IsObject(greq)) {
		tr_seterr(err, errlen, "Invalid JSON payload received. Expected an object.");
		return NULL;
	}
	for (const cJSON *m = greq->child; m; m = m->next) {
		if (!strcmp(m->string, "cachedContent") || !strcmp(m->string, "cached_content")) {
			tr_seterr(err, errlen, "cachedContent is not available through this gateway for this model");
			return NULL;
		}
		if (!top_member_ok(m->string)) {
			tr_seterr(err, errlen, "Invalid JSON payload received. Unknown name \"%.60s\": Cannot find field.",
				  m->string);
			return NULL;
		}
	}
	const cJSON *contents = gm(greq, "contents", NULL);
	if (!cJSON_IsArray(contents) || !cJSON_GetArraySize(contents)) {
		tr_seterr(err, errlen, "* GenerateContentRequest.contents: contents is not specified");
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "model", model);
	cJSON *msgs = cJSON_AddArrayToObject(out, "messages");
	const cJSON *tc = gm(greq, "toolConfig", "tool_config");
	if (system_to_oai(gm(greq, "systemInstruction", "system_instruction"), msgs, err, errlen) != 0 ||
	    contents_to_oai(contents, msgs, err, errlen) != 0 ||
	    tools_to_oai(gm(greq, "tools", NULL), out, err, errlen) != 0 ||
	    (cJSON_IsObject(tc) && tool_config_to_oai(tc, out, err, errlen) != 0) ||
	    generation_to_oai(gm(greq, "generationConfig", "generation_config"), out, err, errlen) != 0)
		goto bad;
	int turns = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		turns += strcmp(tr_jstr(m, "role"), "system") != 0;
	if (!turns) {
		tr_seterr(err, errlen, "contents holds no text, media or function parts");
		goto bad;
	}
	if (stream) {
		cJSON_AddTrueToObject(out, "stream");
		cJSON_AddTrueToObject(cJSON_AddObjectToObject(out, "stream_options"), "include_usage");
	}
	return out;
bad:
	cJSON_Delete(out);
	return NULL;
}

long gemini_in_estimate(const cJSON *greq)
{
	const cJSON *g = gm(greq, "generateContentRequest", "generate_content_request");
	if (cJSON_IsObject(g))
		greq = g;
	size_t n = tr_string_bytes(gm(greq, "contents", NULL)) + tr_string_bytes(gm(greq, "tools", NULL)) +
		   tr_string_bytes(gm(greq, "systemInstruction", "system_instruction"));
	return (long)((n + 3) / 4);
}

/* ======================================================= answers */

static const char *finish_to_gemini(const char *f)
{
	if (!f)
		return NULL;
	if (!strcmp(f, "length"))
		return "MAX_TOKENS";
	if (!strcmp(f, "content_filter"))
		return "SAFETY";
	return "STOP";
}

cJSON *gemini_in_usage_json(const struct usage *u)
{
	cJSON *um = cJSON_CreateObject();
	long thoughts = u->reasoning > 0 && u->reasoning <= u->completion ? u->reasoning : 0;
	cJSON_AddNumberToObject(um, "promptTokenCount", (double)u->prompt);
	cJSON_AddNumberToObject(um, "candidatesTokenCount", (double)(u->completion - thoughts));
	if (thoughts)
		cJSON_AddNumberToObject(um, "thoughtsTokenCount", (double)thoughts);
	if (u->cached)
		cJSON_AddNumberToObject(um, "cachedContentTokenCount", (double)u->cached);
	cJSON_AddNumberToObject(um, "totalTokenCount", (double)(u->prompt + u->completion));
	return um;
}

static void add_text(cJSON *parts, const char *text, int thought)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "text", text);
	if (thought)
		cJSON_AddTrueToObject(p, "thought");
	cJSON_AddItemToArray(parts, p);
}

/* A thought part, with thoughtSignature sig when given. */
static void add_thought(cJSON *parts, const char *text, const char *sig)
{
	add_text(parts, text, 1);
	if (sig)
		cJSON_AddStringToObject(cJSON_GetArrayItem(parts, cJSON_GetArraySize(parts) - 1), "thoughtSignature", sig);
}

/* A functionCall part {id, name, args} from OpenAI's arguments text. */
static void add_call(cJSON *parts, const char *id, const char *name, const char *args)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *fc = cJSON_AddObjectToObject(p, "functionCall");
	if (id && *id)
		cJSON_AddStringToObject(fc, "id", id);
	cJSON_AddStringToObject(fc, "name", name ? name : "");
	cJSON *a = args && !tr_blank(args) ? cJSON_Parse(args) : cJSON_CreateObject();
	if (!cJSON_IsObject(a)) {
		cJSON_Delete(a);
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "arguments", args);
	}
	cJSON_AddItemToObject(fc, "args", a);
	cJSON_AddItemToArray(parts, p);
}

/* A candidate {content: {role: model, parts}, finishReason, index}. */
static cJSON *candidate(cJSON *parts, const char *finish, int index)
{
	cJSON *c = cJSON_CreateObject();
	cJSON *content = cJSON_AddObjectToObject(c, "content");
	cJSON_AddStringToObject(content, "role", "model");
	if (!cJSON_GetArraySize(parts))
		add_text(parts, "", 0);
	cJSON_AddItemToObject(content, "parts", parts);
	if (finish)
		cJSON_AddStringToObject(c, "finishReason", finish);
	cJSON_AddNumberToObject(c, "index", index);
	return c;
}

char *gemini_in_response_from_oai(const char *oai, size_t len, const char *model, int thoughts, char *err,
				  size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(oai, len);
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices"), *ch;
	char *out = NULL;
	if (!cJSON_IsArray(choices)) {
		tr_seterr(err, errlen, "the upstream answer is not a chat completion");
		goto done;
	}
	cJSON *g = cJSON_CreateObject();
	cJSON *cands = cJSON_AddArrayToObject(g, "candidates");
	int k = 0;
	cJSON_ArrayForEach(ch, choices) {
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message"), *tc;
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ch, "index");
		cJSON *parts = cJSON_CreateArray();
		const char *rc = tr_jstr(msg, "reasoning_content"), *text = tr_jstr(msg, "content");
		const char *sig = reasoning_signature(cJSON_GetObjectItemCaseSensitive(msg, "thinking_blocks"));
		if (thoughts && ((rc && *rc) || sig))
			add_thought(parts, rc ? rc : "", sig);
		if (text && *text)
			add_text(parts, text, 0);
		cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")) {
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
			add_call(parts, tr_jstr(tc, "id"), tr_jstr(fn, "name"), tr_jstr(fn, "arguments"));
		}
		const char *f = tr_jstr(ch, "finish_reason");
		cJSON_AddItemToArray(cands, candidate(parts, finish_to_gemini(f ? f : "stop"),
						      cJSON_IsNumber(idx) ? idx->valueint : k));
		k++;
	}
	struct usage u;
	memset(&u, 0, sizeof(u));
	usage_from_json(j, &u);
	cJSON_AddItemToObject(g, "usageMetadata", gemini_in_usage_json(&u));
	cJSON_AddStringToObject(g, "modelVersion", model);
	const char *id = tr_jstr(j, "id");
	if (id)
		cJSON_AddStringToObject(g, "responseId", id);
	out = cJSON_PrintUnformatted(g);
	cJSON_Delete(g);
done:
	cJSON_Delete(j);
	return out;
}

/* ------------------------------------------------ the stream */

void gemini_in_stream_init(struct gemini_in_stream *s, const char *model, int thoughts, int array)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->model, sizeof(s->model), "%s", model);
	s->thoughts = thoughts;
	s->array = array;
}

void gemini_in_stream_free(struct gemini_in_stream *s)
{
	for (int i = 0; i < s->ncalls; i++) {
		free(s->calls[i].id);
		free(s->calls[i].name);
		buf_free(&s->calls[i].args);
	}
	s->ncalls = 0;
}

/* Append g (taken) as one event. */
static int put_event(struct gemini_in_stream *s, cJSON *g, struct buf *out)
{
	if (!cJSON_GetObjectItemCaseSensitive(g, "error")) {
		cJSON_AddStringToObject(g, "modelVersion", s->model);
		if (s->id[0])
			cJSON_AddStringToObject(g, "responseId", s->id);
	}
	char *t = cJSON_PrintUnformatted(g);
	cJSON_Delete(g);
	if (!t)
		return -1;
	int rc = 0;
	if (s->array)
		rc |= buf_puts(out, s->events ? ",\r\n" : "[");
	else
		rc |= buf_puts(out, "data: ");
	rc |= buf_puts(out, t);
	if (!s->array)
		rc |= buf_puts(out, "\r\n\r\n");
	free(t);
	s->events++;
	return rc ? -1 : 0;
}

static int fail(struct gemini_in_stream *s, const char *message, struct buf *out)
{
	char *e = gemini_error_json(500, message);
	cJSON *g = cJSON_Parse(e);
	free(e);
	s->failed = 1;
	put_event(s, g, out);
	if (s->array)
		buf_puts(out, "]");
	return -1;
}

static struct gemini_in_call *call_of(struct gemini_in_stream *s, int choice, int index)
{
	for (int i = 0; i < s->ncalls; i++)
		if (s->calls[i].choice == choice && s->calls[i].index == index)
			return &s->calls[i];
	if (s->ncalls >= GEMINI_IN_MAX_CALLS)
		return NULL;
	struct gemini_in_call *c = &s->calls[s->ncalls++];
	c->choice = choice;
	c->index = index;
	buf_init(&c->args, 16u << 20);
	return c;
}

/* One choice's delta: its text and thought parts for this event (into
 * parts), its tool call pieces gathered. -1: too many calls. */
static int choice_delta(struct gemini_in_stream *s, int ci, const cJSON *delta, cJSON *parts)
{
	const char *rc = tr_jstr(delta, "reasoning_content"), *text = tr_jstr(delta, "content");
	const char *sig = reasoning_signature(cJSON_GetObjectItemCaseSensitive(delta, "thinking_blocks"));
	const cJSON *tc;
	if (s->thoughts && ((rc && *rc) || sig))
		add_thought(parts, rc ? rc : "", sig);
	if (text && *text)
		add_text(parts, text, 0);
	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(delta, "tool_calls")) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(tc, "index");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		struct gemini_in_call *c = call_of(s, ci, cJSON_IsNumber(ix) ? ix->valueint : 0);
		if (!c)
			return -1;
		if (tr_jstr(tc, "id") && !c->id)
			c->id = xstrdup(tr_jstr(tc, "id"));
		if (tr_jstr(fn, "name") && !c->name)
			c->name = xstrdup(tr_jstr(fn, "name"));
		if (tr_jstr(fn, "arguments") && buf_puts(&c->args, tr_jstr(fn, "arguments")) != 0)
			return -1;
	}
	return 0;
}

/* The closing event: each finished choice's calls and finishReason, and
 * the usage. */
static int close_stream(struct gemini_in_stream *s, struct buf *out)
{
	cJSON *g = cJSON_CreateObject();
	cJSON *cands = cJSON_AddArrayToObject(g, "candidates");
	for (int ci = 0; ci < s->nfinish; ci++) {
		if (!s->finish[ci][0] && ci)
			continue;
		cJSON *parts = cJSON_CreateArray();
		for (int i = 0; i < s->ncalls; i++)
			if (s->calls[i].choice == ci)
				add_call(parts, s->calls[i].id, s->calls[i].name, buf_str(&s->calls[i].args));
		cJSON_AddItemToArray(cands, candidate(parts, s->finish[ci][0] ? s->finish[ci] : "STOP", ci));
	}
	if (s->have_usage)
		cJSON_AddItemToObject(g, "usageMetadata", gemini_in_usage_json(&s->usage));
	s->done = 1;
	int rc = put_event(s, g, out);
	if (s->array)
		rc |= buf_puts(out, "]");
	return rc ? -1 : 1;
}

int gemini_in_stream_feed(struct gemini_in_stream *s, const cJSON *obj, const char *json, size_t len,
			  struct buf *out)
{
	if (s->done || s->failed)
		return s->done ? 1 : -1;
	if (!obj && len == 6 && !memcmp(json, "[DONE]", 6))
		return close_stream(s, out);
	cJSON *own = obj ? NULL : cJSON_ParseWithLength(json, len);
	const cJSON *j = obj ? obj : own;
	int rc = 0;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices"), *ch;
	if (!cJSON_IsObject(j) || e) {
		const char *m = tr_jstr(e, "message");
		rc = fail(s, m ? m : "the upstream stream failed", out);
		goto done;
	}
	if (!s->id[0] && tr_jstr(j, "id"))
		snprintf(s->id, sizeof(s->id), "%s", tr_jstr(j, "id"));
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "usage"))) {
		usage_from_json(j, &s->usage);
		s->have_usage = 1;
	}
	cJSON *g = cJSON_CreateObject();
	cJSON *cands = cJSON_AddArrayToObject(g, "candidates");
	cJSON_ArrayForEach(ch, choices) {
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ch, "index");
		int ci = cJSON_IsNumber(ix) && ix->valueint >= 0 && ix->valueint < 8 ? ix->valueint : 0;
		cJSON *parts = cJSON_CreateArray();
		if (choice_delta(s, ci, cJSON_GetObjectItemCaseSensitive(ch, "delta"), parts) != 0) {
			cJSON_Delete(parts);
			cJSON_Delete(g);
			rc = fail(s, "the answer holds more tool calls or arguments than the gateway carries", out);
			goto done;
		}
		const char *f = finish_to_gemini(tr_jstr(ch, "finish_reason"));
		if (f) {
			snprintf(s->finish[ci], sizeof(s->finish[ci]), "%s", f);
			if (ci + 1 > s->nfinish)
				s->nfinish = ci + 1;
		}
		if (cJSON_GetArraySize(parts)) {
			cJSON *c = cJSON_CreateObject();
			cJSON *content = cJSON_AddObjectToObject(c, "content");
			cJSON_AddStringToObject(content, "role", "model");
			cJSON_AddItemToObject(content, "parts", parts);
			cJSON_AddNumberToObject(c, "index", ci);
			cJSON_AddItemToArray(cands, c);
		} else {
			cJSON_Delete(parts);
		}
	}
	if (cJSON_GetArraySize(cands))
		rc = put_event(s, g, out);
	else
		cJSON_Delete(g);
done:
	cJSON_Delete(own);
	return rc;
}

int gemini_in_stream_finish(struct gemini_in_stream *s, const char *message, struct buf *out)
{
	if (s->done || s->failed)
		return s->done ? 1 : -1;
	if (s->nfinish)
		return close_stream(s, out);
	return fail(s, message, out);
}

int gemini_in_stream_native(struct gemini_in_stream *s, const char *json, size_t len, struct buf *out)
{
	int rc = buf_puts(out, s->events ? ",\r\n" : "[");
	rc |= buf_append(out, json, len);
	s->events++;
	return rc ? -1 : 0;
}

int gemini_in_stream_native_end(struct gemini_in_stream *s, int complete, const char *message, struct buf *out)
{
	if (s->done || s->failed)
		return s->done ? 1 : -1;
	if (!complete)
		return fail(s, message, out);
	s->done = 1;
	if (s->array)
		buf_puts(out, s->events ? "]" : "[]");
	return 1;
}
