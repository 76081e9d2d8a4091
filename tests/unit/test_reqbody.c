/* test_reqbody.c — strict request bodies (duplicates, trailing text, NUL
 * escapes), the model's checks, and the body forwarded upstream. */
#include "autoconf.h"
#include "reqbody.h"
#include "xmalloc.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum reqbody_verdict parse(const char *s, int want_object)
{
	cJSON *j;
	char msg[256] = "";
	enum reqbody_verdict v = reqbody_parse(s, strlen(s), want_object, &j, msg, sizeof(msg));
	if (v == REQBODY_OK)
		cJSON_Delete(j);
	else if (!msg[0] || j)
		return (enum reqbody_verdict)-1;   /* a refusal must say why and give no tree */
	return v;
}

/* How many top-level members named name s has, and the last one's string. */
static int count_model(const char *s, char *last, size_t lastlen)
{
	cJSON *j = cJSON_Parse(s);
	int n = 0;
	const cJSON *c;
	last[0] = '\0';
	cJSON_ArrayForEach(c, j) {
		if (c->string && !strcmp(c->string, "model")) {
			n++;
			snprintf(last, lastlen, "%s", cJSON_IsString(c) ? c->valuestring : "?");
		}
	}
	cJSON_Delete(j);
	return n;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* About 1 MB: one object of many members (distinct, or with one repeated
 * at the end), names sharing a long prefix when prefix > 0. */
static char *many_members(size_t target, size_t prefix, int dup_at_end, size_t *len)
{
	char *s = xmalloc(target + 4096);
	size_t n = 0, i = 0;
	s[n++] = '{';
	while (n < target) {
		n += (size_t)sprintf(s + n, "%s\"%.*s%zu\":1", i ? "," : "", (int)prefix,
				     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
				     i);
		i++;
	}
	if (dup_at_end)
		n += (size_t)sprintf(s + n, ",\"%.*s0\":2", (int)prefix,
				     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
	s[n++] = '}';
	s[n] = '\0';
	*len = n;
	return s;
}

static void timing(void)
{
	static const struct { size_t prefix; int dup; const char *what; } cases[] = {
		{ 0, 0, "1 MB, short distinct names" },
		{ 0, 1, "1 MB, short names, one repeated last" },
		{ 100, 0, "1 MB, names with a 100-byte common prefix" },
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len;
		char *s = many_members(1 << 20, cases[c].prefix, cases[c].dup, &len);
		cJSON *j;
		char msg[256];
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		enum reqbody_verdict v = reqbody_parse(s, len, 1, &j, msg, sizeof(msg));
		double all = ms_since(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cJSON *p = cJSON_ParseWithLength(s, len);
		double plain = ms_since(&t0);
		is_int(v, cases[c].dup ? REQBODY_DUPLICATE : REQBODY_OK, cases[c].what);
		diag("%s (%zu bytes): reqbody_parse %.1f ms, cJSON_Parse alone %.1f ms", cases[c].what, len, all, plain);
		if (v == REQBODY_OK)
			cJSON_Delete(j);
		cJSON_Delete(p);
		free(s);
	}
}

int main(void)
{
	/* strict JSON */
	is_int(parse("{\"model\":\"a\",\"messages\":[]}", 1), REQBODY_OK, "a plain body");
	is_int(parse(" {\"model\":\"a\"} \n", 1), REQBODY_OK, "white space around it");
	is_int(parse("{\"model\":\"a\",\"model\":\"b\"}", 1), REQBODY_DUPLICATE, "model twice");
	is_int(parse("{\"model\":\"a\",\"mod\\u0065l\":\"b\"}", 1), REQBODY_DUPLICATE, "twice, once with an escape");
	is_int(parse("{\"model\":\"a\",\"Model\":\"b\"}", 1), REQBODY_DUPLICATE, "top level: twice in two cases");
	is_int(parse("{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"role\":\"system\"}]}", 1),
	       REQBODY_DUPLICATE, "nested in messages[0]");
	is_int(parse("{\"a\":{\"b\":[[{\"c\":1,\"d\":{\"e\":1,\"e\":2}}]]}}", 1), REQBODY_DUPLICATE, "deep down");
	is_int(parse("{\"Model\":\"gpt-4o\",\"messages\":[]}", 1), REQBODY_CASE, "a lone top-level Model");
	is_int(parse("{\"model\":\"a\",\"Stream_Options\":{}}", 1), REQBODY_CASE, "Stream_Options");
	is_int(parse("{\"model\":\"a\",\"Temperature\":1}", 1), REQBODY_OK, "other names in any case");
	is_int(parse("{\"stream_options\":{\"include_usage\":true,\"Include_Usage\":false}}", 1), REQBODY_CASE,
	       "stream_options.Include_Usage beside include_usage");
	is_int(parse("{\"stream_options\":{\"Include_Usage\":true}}", 1), REQBODY_CASE, "Include_Usage alone");
	is_int(parse("{\"t\":{\"Model\":1}}", 1), REQBODY_OK, "Model deeper down is not the gateway's");
	is_int(parse("{\"t\":{\"properties\":{\"id\":1,\"ID\":2}}}", 1), REQBODY_OK,
	       "nested: names in two cases are two names");
	is_int(parse("{\"a\":{\"x\":1},\"b\":{\"x\":1}}", 1), REQBODY_OK, "one name in two objects");
	is_int(parse("{\"model\":\"a\"} {\"model\":\"b\"}", 1), REQBODY_NOT_JSON, "a second value after it");
	is_int(parse("{\"model\":\"a\"},\"model\":\"b\"}", 1), REQBODY_NOT_JSON, "trailing members");
	is_int(parse("{\"model\":\"a\x01\"}", 1), REQBODY_NOT_JSON, "a raw control character");
	is_int(parse("{\"model\\u0000x\":\"a\"}", 1), REQBODY_NUL, "\\u0000 in a name");
	is_int(parse("{\"model\":\"a\\u0000\"}", 1), REQBODY_NUL, "\\u0000 in a value");
	is_int(parse("{\"c\":\"say \\\\u0000\"}", 1), REQBODY_OK, "the text \\u0000 (escaped backslash) is fine");
	is_int(parse("[1,2]", 1), REQBODY_NOT_OBJECT, "an array where an object is wanted");
	is_int(parse("[{\"a\":1,\"a\":1}]", 0), REQBODY_DUPLICATE, "an array of objects, any JSON wanted");
	is_int(parse("", 1), REQBODY_NOT_JSON, "empty");
	is_int(parse("{\"a\":\"\\ud800\"}", 1), REQBODY_NOT_JSON, "what cJSON refuses (a lone surrogate)");
	ok(reqbody_duplicate(NULL) == NULL, "no tree, no duplicate");
	{
		/* a long name of two-byte characters: quoted whole characters only */
		char name[128] = "", body[512], msg[256];
		for (int i = 0; i < 40; i++)
			strcat(name, "\xc3\xa9");
		cJSON *t;
		snprintf(body, sizeof(body), "{\"%sx\":1,\"%sx\":2}", name, name);
		is_int(reqbody_parse(body, strlen(body), 1, &t, msg, sizeof(msg)), REQBODY_DUPLICATE, "a long UTF-8 name twice");
		char *q = strchr(msg, '\'');
		char *e = q ? strchr(q + 1, '\'') : NULL;
		ok(q && e && (e - q - 1) % 2 == 0 && (e - q - 1) <= 64, "quoted at a character boundary (%d bytes)",
		   q && e ? (int)(e - q - 1) : -1);
	}

	/* the model */
	char longname[REQBODY_MODEL_LEN + 2];
	memset(longname, 'm', sizeof(longname));
	longname[REQBODY_MODEL_LEN] = '\0';
	const char *m;
	cJSON *j = cJSON_CreateObject();
	is_int(reqbody_model(j, &m), REQBODY_MODEL_MISSING, "no model");
	cJSON_AddNumberToObject(j, "model", 4);
	is_int(reqbody_model(j, &m), REQBODY_MODEL_MISSING, "a number");
	cJSON_ReplaceItemInObjectCaseSensitive(j, "model", cJSON_CreateString(""));
	is_int(reqbody_model(j, &m), REQBODY_MODEL_MISSING, "empty");
	cJSON_ReplaceItemInObjectCaseSensitive(j, "model", cJSON_CreateString(longname));
	is_int(reqbody_model(j, &m), REQBODY_MODEL_OK, "the longest name");
	ok(m && strlen(m) == REQBODY_MODEL_LEN, "whole");
	longname[REQBODY_MODEL_LEN] = 'm';
	longname[REQBODY_MODEL_LEN + 1] = '\0';
	cJSON_ReplaceItemInObjectCaseSensitive(j, "model", cJSON_CreateString(longname));
	is_int(reqbody_model(j, &m), REQBODY_MODEL_TOO_LONG, "one byte more: refused, not cut");
	ok(m == NULL, "and no name");
	cJSON_Delete(j);

	/* the forwarded body */
	static const char *const bodies[] = {
		"{ \"model\" : \"mini\", \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}] }",
		"{\"mod\\u0065l\":\"mini\",\"messages\":[]}",
		"{\"messages\":[],\"stream_options\":{\"include_usage\":false},\"model\":\"mini\"}",
		"{\"messages\":[],\"stream_options\":{\"include_usage\":true},\"model\":\"mini\"}",
		"{\"messages\":[]}",
	};
	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		for (int raw = 0; raw < 2; raw++) {
			for (int usage = 0; usage < 2; usage++) {
				cJSON *req;
				char msg[256], last[64];
				const char *s = bodies[b];
				if (reqbody_parse(s, strlen(s), 1, &req, msg, sizeof(msg)) != REQBODY_OK) {
					ok(0, "body %zu parses", b);
					continue;
				}
				char *out = reqbody_forward(req, raw ? s : NULL, strlen(s), "gpt-\"x\"", usage);
				cJSON *o = cJSON_Parse(out);
				const cJSON *so = cJSON_GetObjectItemCaseSensitive(o, "stream_options");
				ok(count_model(out, last, sizeof(last)) == 1 && !strcmp(last, "gpt-\"x\""),
				   "body %zu raw=%d usage=%d: one model, the new one", b, raw, usage);
				ok(!usage || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage")),
				   "body %zu raw=%d usage=%d: include_usage when asked", b, raw, usage);
				ok(o && !reqbody_duplicate(o), "body %zu raw=%d usage=%d: strict JSON out", b, raw, usage);
				if (b == 0 && raw && !usage)
					is_str(out, "{ \"model\" : \"gpt-\\\"x\\\"\", \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}] }",
					       "spliced: the client's bytes but the model");
				cJSON_Delete(o);
				cJSON_Delete(req);
				free(out);
			}
		}
	}

	timing();
	return done_testing();
}
