/* responses.c — the OpenAI Responses API over the internal chat form (see
 * responses.h): requests in, answers and streams out. */
#include "autoconf.h"
#include "responses.h"
#include "filter.h"
#include "reasoning.h"
#include "rtools.h"
#include "sha256.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* ------------------------------------------------ requests */

/* The text of a content part list (input_text / output_text parts joined),
 * or of a string; NULL (err set) for anything else. New string. */
static char *parts_text(const cJSON *c, const char *what, char *err, size_t errlen)
{
	if (cJSON_IsString(c))
		return xstrdup(c->valuestring);
	if (!cJSON_IsArray(c)) {
		snprintf(err, errlen, "%s must be a string or an array of content parts", what);
		return NULL;
	}
	struct buf b;
	buf_init(&b, RESPONSES_TEXT_CAP);
	buf_puts(&b, "");
	const cJSON *p;
	cJSON_ArrayForEach(p, c) {
		const cJSON *t = GET(p, "type"), *tx = GET(p, "text");
		if (!cJSON_IsString(t) || (strcmp(t->valuestring, "input_text") && strcmp(t->valuestring, "output_text") &&
					   strcmp(t->valuestring, "text")) || !cJSON_IsString(tx)) {
			snprintf(err, errlen, "%s: only text parts are accepted here", what);
			buf_free(&b);
			return NULL;
		}
		if (buf_puts(&b, tx->valuestring) != 0) {
			snprintf(err, errlen, "%s is too long", what);
			buf_free(&b);
			return NULL;
		}
	}
	return buf_steal(&b);
}

/* A user/system/developer message's content as chat content (new value):
 * a string stays a string; parts become text and image_url parts. */
static cJSON *user_content(const cJSON *c, const char *what, char *err, size_t errlen)
{
	if (cJSON_IsString(c))
		return cJSON_CreateString(c->valuestring);
	if (!cJSON_IsArray(c)) {
		snprintf(err, errlen, "%s must be a string or an array of content parts", what);
		return NULL;
	}
	cJSON *out = cJSON_CreateArray();
	const cJSON *p;
	int i = 0;
	cJSON_ArrayForEach(p, c) {
		const cJSON *t = GET(p, "type");
		const char *ty = cJSON_IsString(t) ? t->valuestring : "";
		cJSON *q = cJSON_CreateObject();
		if (!strcmp(ty, "input_text") || !strcmp(ty, "output_text")) {
			const cJSON *tx = GET(p, "text");
			if (!cJSON_IsString(tx))
				goto bad;
			cJSON_AddStringToObject(q, "type", "text");
			cJSON_AddStringToObject(q, "text", tx->valuestring);
		} else if (!strcmp(ty, "input_image")) {
			const cJSON *u = GET(p, "image_url");
			if (!cJSON_IsString(u))
				goto bad;
			cJSON_AddStringToObject(q, "type", "image_url");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(q, "image_url"), "url", u->valuestring);
		} else {
			goto bad;
		}
		cJSON_AddItemToArray(out, q);
		i++;
		continue;
bad:
		snprintf(err, errlen, "%s[%d]: content part type '%.40s' is not supported (input_text, input_image with "
			 "image_url, output_text)", what, i, ty);
		cJSON_Delete(q);
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* The last message of msgs when it is an assistant's (tool calls join it),
 * else a new empty assistant message appended. */
static cJSON *assistant_for_call(cJSON *msgs)
{
	int n = cJSON_GetArraySize(msgs);
	cJSON *last = n ? cJSON_GetArrayItem(msgs, n - 1) : NULL;
	const cJSON *role = last ? GET(last, "role") : NULL;
	if (cJSON_IsString(role) && !strcmp(role->valuestring, "assistant"))
		return last;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddNullToObject(m, "content");
	cJSON_AddItemToArray(msgs, m);
	return m;
}

/* A reasoning item of the input: with encrypted_content (a signature this
 * gateway gave, RESPONSES_KIND_ENCRYPTED), a signed thinking block of the
 * assistant turn it opens, its summary the text; without, nothing (the
 * upstream's own reasoning is not carried over chat). 0. */
static int reasoning_in(const cJSON *it, cJSON *msgs)
{
	const char *sig = cJSON_GetStringValue(GET(it, "encrypted_content"));
	if (!sig || !*sig)
		return 0;
	struct buf text;
	buf_init(&text, RESPONSES_TEXT_CAP);
	const cJSON *p;
	cJSON_ArrayForEach(p, GET(it, "summary")) {
		const char *t = cJSON_GetStringValue(GET(p, "text"));
		if (t && (text.len == 0 || buf_puts(&text, "\n\n") == 0))
			buf_puts(&text, t);
	}
	cJSON *a = assistant_for_call(msgs), *tb = GET(a, "thinking_blocks");
	if (!tb)
		tb = cJSON_AddArrayToObject(a, "thinking_blocks");
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "thinking");
	cJSON_AddStringToObject(b, "thinking", buf_str(&text));
	cJSON_AddStringToObject(b, "signature", sig);
	cJSON_AddItemToArray(tb, b);
	buf_free(&text);
	return 0;
}

/* The last message of msgs when it is an assistant turn opened by its
 * thinking alone (reasoning_in: no content, no tool calls yet), else NULL. */
static cJSON *thinking_turn(cJSON *msgs)
{
	cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
	const char *role = cJSON_GetStringValue(GET(last, "role"));
	return role && !strcmp(role, "assistant") && GET(last, "thinking_blocks") && cJSON_IsNull(GET(last, "content")) &&
	       !GET(last, "tool_calls") ? last : NULL;
}

/* One input item appended to msgs (calls: the call_ids seen so far). 0, or
 * -1 with err. */
static int input_item(const cJSON *it, int i, cJSON *msgs, cJSON *calls, char *err, size_t errlen)
{
	char what[48];
	snprintf(what, sizeof(what), "input[%d].content", i);
	const cJSON *t = GET(it, "type"), *role = GET(it, "role");
	const char *ty = cJSON_IsString(t) ? t->valuestring : (t ? "" : "message");
	if (!cJSON_IsObject(it) || (t && !cJSON_IsString(t))) {
		snprintf(err, errlen, "input[%d] must be an object with a string 'type'", i);
		return -1;
	}
	if (!strcmp(ty, "message")) {
		const char *r = cJSON_IsString(role) ? role->valuestring : "";
		cJSON *m = cJSON_CreateObject(), *c;
		if (!strcmp(r, "assistant")) {
			char *s = parts_text(GET(it, "content"), what, err, errlen);
			if (!s) {
				cJSON_Delete(m);
				return -1;
			}
			cJSON *turn = thinking_turn(msgs);
			if (turn) {   /* the text of the turn its thinking opened */
				cJSON_ReplaceItemInObjectCaseSensitive(turn, "content", cJSON_CreateString(s));
				free(s);
				cJSON_Delete(m);
				return 0;
			}
			cJSON_AddStringToObject(m, "role", "assistant");
			cJSON_AddStringToObject(m, "content", s);
			free(s);
		} else if (!strcmp(r, "user") || !strcmp(r, "system") || !strcmp(r, "developer")) {
			if (!(c = user_content(GET(it, "content"), what, err, errlen))) {
				cJSON_Delete(m);
				return -1;
			}
			cJSON_AddStringToObject(m, "role", !strcmp(r, "user") ? "user" : "system");
			cJSON_AddItemToObject(m, "content", c);
		} else {
			snprintf(err, errlen, "input[%d].role must be \"user\", \"assistant\", \"system\" or \"developer\"", i);
			cJSON_Delete(m);
			return -1;
		}
		cJSON_AddItemToArray(msgs, m);
		return 0;
	}
	if (rtools_is_call(ty)) {
		const char *call_id;
		char why[160];
		cJSON *tc = rtools_call_to_oai(it, &call_id, why, sizeof(why));
		if (!tc) {
			snprintf(err, errlen, "input[%d]: %s", i, why);
			return -1;
		}
		cJSON *a = assistant_for_call(msgs);
		cJSON *tcs = GET(a, "tool_calls");
		if (!tcs)
			tcs = cJSON_AddArrayToObject(a, "tool_calls");
		cJSON_AddItemToArray(tcs, tc);
		cJSON_AddItemToArray(calls, cJSON_CreateString(call_id));
		return 0;
	}
	if (rtools_is_output(ty)) {
		const char *id = rtools_output_call_id(it);
		const cJSON *c;
		int seen = 0;
		if (!id) {
			snprintf(err, errlen, "input[%d]: a %s needs a string 'call_id'", i, ty);
			return -1;
		}
		cJSON_ArrayForEach(c, calls) seen |= !strcmp(c->valuestring, id);
		if (!seen) {
			snprintf(err, errlen, "input[%d]: no call with call_id '%.80s' precedes this %s", i, id, ty);
			return -1;
		}
		snprintf(what, sizeof(what), "input[%d].output", i);
		char *s = parts_text(GET(it, "output"), what, err, errlen);
		if (!s)
			return -1;
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "tool");
		cJSON_AddStringToObject(m, "tool_call_id", id);
		cJSON_AddStringToObject(m, "content", s);
		free(s);
		cJSON_AddItemToArray(msgs, m);
		return 0;
	}
	if (!strcmp(ty, "reasoning"))
		return reasoning_in(it, msgs);
	if (!strcmp(ty, "file_search_call"))
		return 0;   /* the gateway's own search (kb_retrieve.c): the context went with that turn */
	snprintf(err, errlen, "input[%d]: item type '%.40s' is not supported (message, function_call, "
		 "custom_tool_call, local_shell_call, their outputs, reasoning, file_search_call)", i, ty);
	return -1;
}

/* The file_search tool: answered by the gateway itself, whatever the
 * provider (kb_retrieve.c): its vector_store_ids go into out's
 * KB_RETRIEVE_MEMBER, nothing into the chat's tools. 0, or -1 with err. */
static int file_search_to_oai(const cJSON *t, cJSON *out, int i, char *err, size_t errlen)
{
	const cJSON *ids = GET(t, "vector_store_ids"), *v;
	if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0) {
		snprintf(err, errlen, "tools[%d]: a file_search tool needs a non-empty 'vector_store_ids' array", i);
		return -1;
	}
	cJSON *dst = cJSON_GetObjectItemCaseSensitive(out, KB_RETRIEVE_MEMBER);
	if (!dst)
		dst = cJSON_AddArrayToObject(out, KB_RETRIEVE_MEMBER);
	cJSON_ArrayForEach(v, ids) {
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "tools[%d]: 'vector_store_ids' must hold strings", i);
			return -1;
		}
		cJSON_AddItemToArray(dst, cJSON_CreateString(v->valuestring));
	}
	return 0;
}

/* tools → chat tools into out (rtools.h), the names standing for other
 * kinds into *kinds. 0, or -1 with err (built-in tools). */
static int tools_to_oai(const cJSON *tools, cJSON *out, cJSON **kinds, char *err, size_t errlen)
{
	if (!cJSON_IsArray(tools)) {
		snprintf(err, errlen, "'tools' must be an array");
		return -1;
	}
	cJSON *rest = cJSON_CreateArray();   /* file_search is the gateway's; the rest rtools' */
	const cJSON *t;
	int i = 0, rc = 0;
	cJSON_ArrayForEach(t, tools) {
		const cJSON *ty = GET(t, "type");
		if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "file_search"))
			rc = rc ? rc : file_search_to_oai(t, out, i, err, errlen);
		else
			cJSON_AddItemReferenceToArray(rest, (cJSON *)t);
		i++;
	}
	if (rc == 0)
		rc = rtools_to_oai(rest, cJSON_AddArrayToObject(out, "tools"), kinds, err, errlen);
	cJSON_Delete(rest);
	return rc;
}

/* The members other than input and tools. 0, or -1 with err. */
static int options_to_oai(const cJSON *rq, cJSON *out, char *err, size_t errlen)
{
	static const char *const same[] = { "model", "temperature", "top_p", "parallel_tool_calls", "user" };
	for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
		const cJSON *v = GET(rq, same[k]);
		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(out, same[k], cJSON_Duplicate(v, 1));
	}
	const cJSON *v = GET(rq, "previous_response_id");
	if (v && !cJSON_IsNull(v)) {
		snprintf(err, errlen, "'previous_response_id' must be resolved before translation");
		return -1;
	}
	if ((v = GET(rq, "max_output_tokens")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1) {
			snprintf(err, errlen, "'max_output_tokens' must be a positive integer");
			return -1;
		}
		cJSON_AddNumberToObject(out, "max_completion_tokens", v->valuedouble);
	}
	if ((v = GET(rq, "tool_choice")) && !cJSON_IsNull(v)) {
		const cJSON *ty = GET(v, "type"), *name = GET(v, "name");
		cJSON *custom = rtools_choice_to_oai(v);
		if (custom) {
			cJSON_AddItemToObject(out, "tool_choice", custom);
		} else if (cJSON_IsString(v)) {
			cJSON_AddStringToObject(out, "tool_choice", v->valuestring);
		} else if (cJSON_IsString(ty) && !strcmp(ty->valuestring, "function") && cJSON_IsString(name)) {
			cJSON *tc = cJSON_AddObjectToObject(out, "tool_choice");
			cJSON_AddStringToObject(tc, "type", "function");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(tc, "function"), "name", name->valuestring);
		} else {
			snprintf(err, errlen, "'tool_choice' must be \"auto\", \"none\", \"required\" or "
				 "{\"type\":\"function\" or \"custom\",\"name\":...}");
			return -1;
		}
	}
	const cJSON *rs = GET(rq, "reasoning"), *eff = rs ? GET(rs, "effort") : NULL;
	if (cJSON_IsString(eff))
		cJSON_AddStringToObject(out, "reasoning_effort", eff->valuestring);
	const cJSON *text = GET(rq, "text"), *fmt = text ? GET(text, "format") : NULL, *fty = fmt ? GET(fmt, "type") : NULL;
	if (fmt && !cJSON_IsNull(fmt)) {
		const char *f = cJSON_IsString(fty) ? fty->valuestring : "";
		if (!strcmp(f, "json_schema")) {
			cJSON *rf = cJSON_AddObjectToObject(out, "response_format");
			cJSON_AddStringToObject(rf, "type", "json_schema");
			cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
			static const char *const keep[] = { "name", "description", "schema", "strict" };
			for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
				if ((v = GET(fmt, keep[k])) && !cJSON_IsNull(v))
					cJSON_AddItemToObject(js, keep[k], cJSON_Duplicate(v, 1));
		} else if (!strcmp(f, "json_object")) {
			cJSON_AddStringToObject(cJSON_AddObjectToObject(out, "response_format"), "type", "json_object");
		} else if (strcmp(f, "text")) {
			snprintf(err, errlen, "text.format.type must be \"text\", \"json_object\" or \"json_schema\"");
			return -1;
		}
	}
	if ((v = GET(rq, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v)) {
			snprintf(err, errlen, "'stream' must be a boolean");
			return -1;
		}
		cJSON_AddBoolToObject(out, "stream", cJSON_IsTrue(v));
		if (cJSON_IsTrue(v))
			cJSON_AddBoolToObject(cJSON_AddObjectToObject(out, "stream_options"), "include_usage", 1);
	}
	return 0;
}

int responses_includes(const cJSON *rq, const char *what)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, GET(rq, "include"))
		if (cJSON_IsString(v) && !strcmp(v->valuestring, what))
			return 1;
	return 0;
}

cJSON *responses_request_to_oai(const cJSON *rq, cJSON **kinds, char *err, size_t errlen)
{
	cJSON *k = NULL;
	if (!cJSON_IsObject(rq)) {
		snprintf(err, errlen, "the request body must be a JSON object");
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON *msgs = cJSON_AddArrayToObject(out, "messages");
	cJSON *calls = cJSON_CreateArray();
	const cJSON *ins = GET(rq, "instructions"), *input = GET(rq, "input"), *tools = GET(rq, "tools");
	if (ins && !cJSON_IsNull(ins)) {
		if (!cJSON_IsString(ins)) {
			snprintf(err, errlen, "'instructions' must be a string");
			goto bad;
		}
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", ins->valuestring);
		cJSON_AddItemToArray(msgs, m);
	}
	if (cJSON_IsString(input)) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", input->valuestring);
		cJSON_AddItemToArray(msgs, m);
	} else if (cJSON_IsArray(input) && cJSON_GetArraySize(input) > 0) {
		int i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, input) {
			if (input_item(it, i++, msgs, calls, err, errlen) != 0)
				goto bad;
		}
	} else {
		snprintf(err, errlen, "'input' must be a string or a non-empty array of items");
		goto bad;
	}
	if (tools && !cJSON_IsNull(tools) && tools_to_oai(tools, out, &k, err, errlen) != 0)
		goto bad;
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(out, "tools")) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(out, "tools");   /* none, or only file_search */
	if (options_to_oai(rq, out, err, errlen) != 0)
		goto bad;
	if (responses_includes(rq, "reasoning.encrypted_content")) {
		if (!k)
			k = cJSON_CreateObject();
		cJSON_AddTrueToObject(k, RESPONSES_KIND_ENCRYPTED);
	}
	if (GET(out, KB_RETRIEVE_MEMBER) && responses_includes(rq, "file_search_call.results"))
		cJSON_AddTrueToObject(out, KB_RETRIEVE_RESULTS_MEMBER);
	cJSON_Delete(calls);
	if (kinds)
		*kinds = k;
	else
		cJSON_Delete(k);
	return out;
bad:
	cJSON_Delete(k);
	cJSON_Delete(calls);
	cJSON_Delete(out);
	return NULL;
}

/* ------------------------------------------------ answers */

/* An id made of prefix, the upstream's id (or the time) and k; k < 0: a
 * response id, prefix and 16 random hex digits (unique, safe in a URL
 * path: it names a stored response). Into out[n]. */
static void make_id(char *out, size_t n, const char *prefix, const char *up, int k)
{
	if (k < 0) {
		unsigned char rnd[8];
		char hex[2 * sizeof(rnd) + 1];
		if (random_bytes(rnd, sizeof(rnd)) != 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			memcpy(rnd, &ts.tv_nsec, sizeof(rnd) < sizeof(ts.tv_nsec) ? sizeof(rnd) : sizeof(ts.tv_nsec));
		}
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(out, n, "%s%s", prefix, hex);
		return;
	}
	char base[112];
	if (up && *up)
		snprintf(base, sizeof(base), "%.100s", up);
	else
		snprintf(base, sizeof(base), "%lx", (unsigned long)time(NULL));
	snprintf(out, n, "%s%s_%d", prefix, base, k);
}

/* The usage object of a Responses answer. */
static cJSON *usage_json(const struct usage *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "input_tokens", (double)u->prompt);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "input_tokens_details"), "cached_tokens", (double)u->cached);
	cJSON_AddNumberToObject(o, "output_tokens", (double)u->completion);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(o, "output_tokens_details"), "reasoning_tokens",
				(double)u->reasoning);
	cJSON_AddNumberToObject(o, "total_tokens", (double)usage_total(u));
	return o;
}

/* The Responses object around output (taken), status by finish. */
static cJSON *response_obj(const char *id, const char *model, long created, const char *status, const char *finish,
			   cJSON *output, const struct usage *u)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "response");
	cJSON_AddNumberToObject(o, "created_at", (double)created);
	int incomplete = finish && !strcmp(finish, "length") && !strcmp(status, "completed");
	cJSON_AddStringToObject(o, "status", incomplete ? "incomplete" : status);
	if (incomplete)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "incomplete_details"), "reason", "max_output_tokens");
	else
		cJSON_AddNullToObject(o, "incomplete_details");
	cJSON_AddNullToObject(o, "error");
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddItemToObject(o, "output", output ? output : cJSON_CreateArray());
	if (u)
		cJSON_AddItemToObject(o, "usage", usage_json(u));
	else
		cJSON_AddNullToObject(o, "usage");
	return o;
}

static cJSON *message_item(const char *id, const char *text, const char *status)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "message");
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "status", status);
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON *content = cJSON_AddArrayToObject(m, "content");
	if (text) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "type", "output_text");
		cJSON_AddStringToObject(p, "text", text);
		cJSON_AddArrayToObject(p, "annotations");
		cJSON_AddItemToArray(content, p);
	}
	return m;
}

/* A reasoning item; sig (or NULL): the thinking's signature, as
 * encrypted_content. */
static cJSON *reasoning_item(const char *id, const char *text, const char *sig)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "reasoning");
	cJSON_AddStringToObject(r, "id", id);
	if (sig)
		cJSON_AddStringToObject(r, "encrypted_content", sig);
	cJSON *sum = cJSON_AddArrayToObject(r, "summary");
	if (text) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "type", "summary_text");
		cJSON_AddStringToObject(p, "text", text);
		cJSON_AddItemToArray(sum, p);
	}
	return r;
}

char *responses_from_oai_answer(const char *oai, size_t len, const char *model, const cJSON *kinds, char *err,
				size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(oai, len);
	const cJSON *ch = j ? GET(j, "choices") : NULL, *c0 = cJSON_GetArrayItem(ch, 0);
	const cJSON *msg = c0 ? GET(c0, "message") : NULL;
	if (!cJSON_IsObject(msg)) {
		snprintf(err, errlen, "the upstream answer is not a chat completion");
		cJSON_Delete(j);
		return NULL;
	}
	const cJSON *up_id = GET(j, "id"), *cr = GET(j, "created"), *fin = GET(c0, "finish_reason");
	const char *uid = cJSON_IsString(up_id) ? up_id->valuestring : NULL;
	char id[RESPONSES_ID_MAX], iid[RESPONSES_ID_MAX];
	cJSON *output = cJSON_CreateArray();
	const cJSON *rc = GET(msg, "reasoning_content"), *content = GET(msg, "content"), *tcs = GET(msg, "tool_calls");
	if (cJSON_IsString(rc) && rc->valuestring[0]) {
		make_id(iid, sizeof(iid), "rs_", uid, cJSON_GetArraySize(output));
		const char *sig = cJSON_IsTrue(GET(kinds, RESPONSES_KIND_ENCRYPTED)) ?
			reasoning_signature(GET(msg, "thinking_blocks")) : NULL;
		cJSON_AddItemToArray(output, reasoning_item(iid, rc->valuestring, sig));
	}
	if (cJSON_IsString(content) && (content->valuestring[0] || !cJSON_GetArraySize(tcs))) {
		make_id(iid, sizeof(iid), "msg_", uid, cJSON_GetArraySize(output));
		cJSON_AddItemToArray(output, message_item(iid, content->valuestring, "completed"));
	}
	const cJSON *tc;
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *fn = GET(tc, "function"), *cid = GET(tc, "id");
		const cJSON *name = fn ? GET(fn, "name") : NULL, *args = fn ? GET(fn, "arguments") : NULL;
		make_id(iid, sizeof(iid), "fc_", uid, cJSON_GetArraySize(output));
		cJSON_AddItemToArray(output, rtools_item(kinds, iid, cJSON_IsString(cid) ? cid->valuestring : iid,
							 cJSON_IsString(name) ? name->valuestring : "",
							 cJSON_IsString(args) ? args->valuestring : "", "completed"));
	}
	struct usage u = { 0 };
	int have = usage_from_json(j, &u);
	make_id(id, sizeof(id), "resp_", uid, -1);
	int created_ok = cJSON_IsNumber(cr) && cr->valuedouble >= 0 && cr->valuedouble < 1e15;   /* fits a long */
	cJSON *o = response_obj(id, model, created_ok ? (long)cr->valuedouble : (long)time(NULL), "completed",
				cJSON_IsString(fin) ? fin->valuestring : NULL, output, have ? &u : NULL);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cJSON_Delete(j);
	return s;
}

/* The file_search_call item of the gateway's search fs, status st. */
static cJSON *file_search_item(const char *id, const cJSON *fs, const char *st)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "file_search_call");
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", st);
	const cJSON *q = GET(fs, "queries"), *r = GET(fs, "results");
	int done = !strcmp(st, "completed");
	cJSON_AddItemToObject(o, "queries", done && q ? cJSON_Duplicate(q, 1) : cJSON_CreateArray());
	cJSON_AddItemToObject(o, "results", done && r ? cJSON_Duplicate(r, 1) : cJSON_CreateNull());
	return o;
}

char *responses_answer_file_search(char *answer, const cJSON *fs)
{
	cJSON *o = cJSON_Parse(answer), *out = GET(o, "output");
	const cJSON *rid = GET(o, "id");
	if (!cJSON_IsArray(out) || !cJSON_IsString(rid) || strncmp(rid->valuestring, "resp_", 5)) {
		cJSON_Delete(o);
		return answer;
	}
	char id[RESPONSES_ID_MAX];
	make_id(id, sizeof(id), "fs_", rid->valuestring + 5, 0);
	cJSON_InsertItemInArray(out, 0, file_search_item(id, fs, "completed"));
	char *txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!txt)
		return answer;
	free(answer);
	return txt;
}

/* ------------------------------------------------ streams */

enum { OPEN_NONE, OPEN_REASONING, OPEN_TEXT, OPEN_CALL };

void responses_stream_init(struct responses_stream *s, const char *model, const cJSON *kinds)
{
	memset(s, 0, sizeof(*s));
	s->kinds = kinds;
	snprintf(s->model, sizeof(s->model), "%s", model);
	s->created = (long)time(NULL);
	s->tool_index = -1;
	buf_init(&s->text, RESPONSES_TEXT_CAP);
	buf_init(&s->out, RESPONSES_TEXT_CAP * 2);
	s->output = cJSON_CreateArray();
}

void responses_stream_free(struct responses_stream *s)
{
	free(s->signature);
	s->signature = NULL;
	buf_free(&s->text);
	buf_free(&s->out);
	cJSON_Delete(s->output);
	s->output = NULL;
}

/* Append one event: type, sequence_number, then the members of d (taken). */
static void emit(struct responses_stream *s, const char *type, cJSON *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddNumberToObject(o, "sequence_number", (double)s->seq++);
	cJSON *m = d ? d->child : NULL;
	while (m) {
		cJSON *next = m->next;
		cJSON_AddItemToObject(o, m->string, cJSON_DetachItemViaPointer(d, m));
		m = next;
	}
	cJSON_Delete(d);
	char *js = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (js)
		buf_printf(&s->out, "event: %s\ndata: %s\n\n", type, js);
	free(js);
}

/* The response so far (status), for created / completed / failed. */
static cJSON *stream_response(struct responses_stream *s, const char *status, int whole)
{
	return response_obj(s->id, s->model, s->created, status, s->finish,
			    whole ? cJSON_Duplicate(s->output, 1) : NULL, whole && s->have_usage ? &s->usage : NULL);
}

static cJSON *at(const struct responses_stream *s, int with_content)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "item_id", s->item_id);
	cJSON_AddNumberToObject(d, "output_index", cJSON_GetArraySize(s->output));
	if (with_content == 1)
		cJSON_AddNumberToObject(d, "content_index", 0);
	else if (with_content == 2)
		cJSON_AddNumberToObject(d, "summary_index", 0);
	return d;
}

static void start(struct responses_stream *s, const char *up_id)
{
	if (s->started)
		return;
	s->started = 1;
	make_id(s->id, sizeof(s->id), "resp_", up_id, -1);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "response", stream_response(s, "in_progress", 0));
	emit(s, "response.created", d);
	d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "response", stream_response(s, "in_progress", 0));
	emit(s, "response.in_progress", d);
}

/* The done events of the open call's input: the arguments of a function;
 * a custom tool's whole input, delta and done (its chat arguments are JSON
 * around it, so it is sent once complete); none for local_shell. */
static void call_done(struct responses_stream *s, const char *text)
{
	const char *name;
	enum rtools_kind kind = rtools_kind_of(s->kinds, s->name, &name, NULL);
	cJSON *d;
	if (kind == RTOOLS_FUNCTION) {
		d = at(s, 0);
		cJSON_AddStringToObject(d, "arguments", text);
		emit(s, "response.function_call_arguments.done", d);
	} else if (kind == RTOOLS_CUSTOM) {
		char *in = rtools_custom_input(text);
		d = at(s, 0);
		cJSON_AddStringToObject(d, "delta", in);
		emit(s, "response.custom_tool_call_input.delta", d);
		d = at(s, 0);
		cJSON_AddStringToObject(d, "input", in);
		emit(s, "response.custom_tool_call_input.done", d);
		free(in);
	}
}

/* Close the open output item: its done events, and the item kept. */
static void close_item(struct responses_stream *s)
{
	const char *text = buf_str(&s->text);
	cJSON *item = NULL, *d;
	switch (s->open) {
	case OPEN_REASONING:
		d = at(s, 2);
		cJSON_AddStringToObject(d, "text", text);
		emit(s, "response.reasoning_summary_text.done", d);
		d = at(s, 2);
		cJSON *part = cJSON_AddObjectToObject(d, "part");
		cJSON_AddStringToObject(part, "type", "summary_text");
		cJSON_AddStringToObject(part, "text", text);
		emit(s, "response.reasoning_summary_part.done", d);
		item = reasoning_item(s->item_id, text, s->signature);
		free(s->signature);
		s->signature = NULL;
		break;
	case OPEN_TEXT:
		d = at(s, 1);
		cJSON_AddStringToObject(d, "text", text);
		emit(s, "response.output_text.done", d);
		item = message_item(s->item_id, text, "completed");
		d = at(s, 1);
		cJSON_AddItemToObject(d, "part", cJSON_Duplicate(cJSON_GetArrayItem(GET(item, "content"), 0), 1));
		emit(s, "response.content_part.done", d);
		break;
	case OPEN_CALL:
		call_done(s, text);
		item = rtools_item(s->kinds, s->item_id, s->call_id, s->name, text, "completed");
		break;
	default:
		return;
	}
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "output_index", cJSON_GetArraySize(s->output));
	cJSON_AddItemToObject(d, "item", cJSON_Duplicate(item, 1));
	emit(s, "response.output_item.done", d);
	cJSON_AddItemToArray(s->output, item);
	s->open = OPEN_NONE;
	s->tool_index = -1;
	buf_reset(&s->text);
}

/* Open an output item of kind (the one open before closed). */
static void open_item(struct responses_stream *s, int kind, const char *call_id, const char *name)
{
	close_item(s);
	int k = cJSON_GetArraySize(s->output);
	const char *up = s->id + 5;
	cJSON *item, *d;
	s->open = kind;
	if (kind == OPEN_REASONING) {
		make_id(s->item_id, sizeof(s->item_id), "rs_", up, k);
		item = reasoning_item(s->item_id, NULL, NULL);
	} else if (kind == OPEN_TEXT) {
		make_id(s->item_id, sizeof(s->item_id), "msg_", up, k);
		item = message_item(s->item_id, NULL, "in_progress");
	} else {
		make_id(s->item_id, sizeof(s->item_id), "fc_", up, k);
		snprintf(s->call_id, sizeof(s->call_id), "%s", call_id && *call_id ? call_id : s->item_id);
		snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
		item = rtools_item(s->kinds, s->item_id, s->call_id, s->name, "", "in_progress");
	}
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "output_index", k);
	cJSON_AddItemToObject(d, "item", item);
	emit(s, "response.output_item.added", d);
	if (kind == OPEN_TEXT) {
		d = at(s, 1);
		cJSON *part = cJSON_AddObjectToObject(d, "part");
		cJSON_AddStringToObject(part, "type", "output_text");
		cJSON_AddStringToObject(part, "text", "");
		cJSON_AddArrayToObject(part, "annotations");
		emit(s, "response.content_part.added", d);
	} else if (kind == OPEN_REASONING) {
		d = at(s, 2);
		cJSON *part = cJSON_AddObjectToObject(d, "part");
		cJSON_AddStringToObject(part, "type", "summary_text");
		cJSON_AddStringToObject(part, "text", "");
		emit(s, "response.reasoning_summary_part.added", d);
	}
}

void responses_stream_file_search(struct responses_stream *s, const cJSON *fs)
{
	start(s, NULL);
	close_item(s);
	int k = cJSON_GetArraySize(s->output);
	make_id(s->item_id, sizeof(s->item_id), "fs_", s->id + 5, k);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "output_index", k);
	cJSON_AddItemToObject(d, "item", file_search_item(s->item_id, fs, "in_progress"));
	emit(s, "response.output_item.added", d);
	emit(s, "response.file_search_call.in_progress", at(s, 0));
	emit(s, "response.file_search_call.searching", at(s, 0));
	emit(s, "response.file_search_call.completed", at(s, 0));
	cJSON *item = file_search_item(s->item_id, fs, "completed");
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "output_index", k);
	cJSON_AddItemToObject(d, "item", cJSON_Duplicate(item, 1));
	emit(s, "response.output_item.done", d);
	cJSON_AddItemToArray(s->output, item);
}

/* A delta of the open item's text; -1 when it is over the cap. */
static int delta(struct responses_stream *s, const char *type, int with_content, const char *text)
{
	if (buf_puts(&s->text, text) != 0)
		return -1;
	cJSON *d = at(s, with_content);
	cJSON_AddStringToObject(d, "delta", text);
	emit(s, type, d);
	return 0;
}

/* The tool call deltas of one chunk. 0, or -1 over the cap. */
static int tool_deltas(struct responses_stream *s, const cJSON *tcs)
{
	const cJSON *tc;
	cJSON_ArrayForEach(tc, tcs) {
		const cJSON *ix = GET(tc, "index"), *id = GET(tc, "id"), *fn = GET(tc, "function");
		const cJSON *name = fn ? GET(fn, "name") : NULL, *args = fn ? GET(fn, "arguments") : NULL;
		int index = cJSON_IsNumber(ix) ? ix->valueint : 0;
		if (s->open != OPEN_CALL || index != s->tool_index || (cJSON_IsString(id) && *id->valuestring &&
								       strcmp(id->valuestring, s->call_id))) {
			open_item(s, OPEN_CALL, cJSON_IsString(id) ? id->valuestring : NULL,
				  cJSON_IsString(name) ? name->valuestring : NULL);
			s->tool_index = index;
		}
		if (!cJSON_IsString(args) || !args->valuestring[0])
			continue;
		const char *plain;
		if (rtools_kind_of(s->kinds, s->name, &plain, NULL) != RTOOLS_FUNCTION) {
			if (buf_puts(&s->text, args->valuestring) != 0)   /* sent whole at the end: call_done */
				return -1;
		} else if (delta(s, "response.function_call_arguments.delta", 0, args->valuestring) != 0) {
			return -1;
		}
	}
	return 0;
}

/* One chunk object. 0, or -1 (s->out gets response.failed from the caller). */
static int chunk(struct responses_stream *s, const cJSON *j, const char **why)
{
	const cJSON *id = GET(j, "id"), *ch = GET(j, "choices"), *c0 = cJSON_GetArrayItem(ch, 0);
	if (GET(j, "error") || !cJSON_IsObject(j)) {
		*why = "the upstream stream reported an error";
		return -1;
	}
	start(s, cJSON_IsString(id) ? id->valuestring : NULL);
	struct usage u = { 0 };
	if (usage_from_json(j, &u)) {
		s->usage = u;
		s->have_usage = 1;
	}
	if (!c0)
		return 0;
	const cJSON *dl = GET(c0, "delta"), *fin = GET(c0, "finish_reason");
	const cJSON *rc = dl ? GET(dl, "reasoning_content") : NULL, *ct = dl ? GET(dl, "content") : NULL;
	*why = "the response is larger than this gateway holds";
	if (cJSON_IsString(rc) && rc->valuestring[0]) {
		if (s->open != OPEN_REASONING)
			open_item(s, OPEN_REASONING, NULL, NULL);
		if (delta(s, "response.reasoning_summary_text.delta", 2, rc->valuestring) != 0)
			return -1;
	}
	const char *sig = dl && s->open == OPEN_REASONING && cJSON_IsTrue(GET(s->kinds, RESPONSES_KIND_ENCRYPTED)) ?
		reasoning_signature(GET(dl, "thinking_blocks")) : NULL;
	if (sig) {   /* after the thinking's text, before its item closes */
		free(s->signature);
		s->signature = xstrdup(sig);
	}
	if (cJSON_IsString(ct) && ct->valuestring[0]) {
		if (s->open != OPEN_TEXT)
			open_item(s, OPEN_TEXT, NULL, NULL);
		if (delta(s, "response.output_text.delta", 1, ct->valuestring) != 0)
			return -1;
	}
	if (dl && tool_deltas(s, GET(dl, "tool_calls")) != 0)
		return -1;
	if (cJSON_IsString(fin))
		snprintf(s->finish, sizeof(s->finish), "%s", fin->valuestring);
	return 0;
}

int responses_stream_feed(struct responses_stream *s, const cJSON *obj, const char *json, size_t len)
{
	if (s->done)
		return s->done;
	if (len == 6 && !memcmp(json, "[DONE]", 6)) {
		start(s, NULL);
		close_item(s);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "response", stream_response(s, "completed", 1));
		const cJSON *st = GET(GET(d, "response"), "status");
		emit(s, !strcmp(st->valuestring, "incomplete") ? "response.incomplete" : "response.completed", d);
		return s->done = 1;
	}
	cJSON *parsed = obj ? NULL : cJSON_ParseWithLength(json, len);
	const char *why = "the upstream sent an event that is not a chat chunk";
	int rc = chunk(s, obj ? obj : parsed, &why);
	cJSON_Delete(parsed);
	if (rc != 0) {
		responses_stream_finish(s, why);
		return -1;
	}
	return 0;
}

char *responses_stream_result(struct responses_stream *s)
{
	cJSON *r = stream_response(s, "completed", 1);
	char *txt = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	return txt;
}

int responses_stream_finish(struct responses_stream *s, const char *message)
{
	if (s->done)
		return s->done;
	start(s, NULL);
	cJSON *d = cJSON_CreateObject();
	cJSON *r = stream_response(s, "failed", 1);
	cJSON_DeleteItemFromObjectCaseSensitive(r, "error");
	cJSON *e = cJSON_AddObjectToObject(r, "error");
	cJSON_AddStringToObject(e, "code", "server_error");
	cJSON_AddStringToObject(e, "message", message ? message : "the upstream stream ended early");
	cJSON_AddItemToObject(d, "response", r);
	emit(s, "response.failed", d);
	return s->done = -1;
}
