/* usage.c — token usage as upstreams report it. */
#include "autoconf.h"
#include "usage.h"
#include "config.h"
#include "buf.h"
#include "jscan.h"
#include <string.h>

long long usage_total(const struct usage *u)
{
	return (long long)u->prompt + (long long)u->completion;
}

static long num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > USAGE_COUNT_MAX)
		return -1;
	return (long)v->valuedouble;
}

/* num() of the member name of o's object member obj; -1 when either is
 * missing or not what it should be. */
static long detail(const cJSON *o, const char *obj, const char *name)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, obj);
	return cJSON_IsObject(d) ? num(d, name) : -1;
}

static int from_usage_obj(const cJSON *uo, struct usage *u)
{
	if (!cJSON_IsObject(uo))
		return 0;
	long p = num(uo, "prompt_tokens");
	long c = num(uo, "completion_tokens");
	if (p < 0 && c < 0) {
		/* OpenAI's image and Responses usage, Anthropic's */
		p = num(uo, "input_tokens");
		c = num(uo, "output_tokens");
	}
	if (p < 0 && c < 0)
		return 0;
	memset(u, 0, sizeof(*u));
	u->prompt = p < 0 ? 0 : p;
	u->completion = c < 0 ? 0 : c;
	long cached = num(uo, "prompt_cache_hit_tokens");          /* DeepSeek */
	if (cached < 0)
		cached = detail(uo, "prompt_tokens_details", "cached_tokens");   /* OpenAI, GLM */
	if (cached < 0)
		cached = detail(uo, "input_tokens_details", "cached_tokens");    /* Responses */
	if (cached < 0)
		cached = num(uo, "cached_tokens");                   /* Moonshot */
	u->cached = cached < 0 ? 0 : cached;
	long r = detail(uo, "completion_tokens_details", "reasoning_tokens");
	if (r < 0)
		r = detail(uo, "output_tokens_details", "reasoning_tokens");      /* Responses */
	u->reasoning = r < 0 ? 0 : r;
	u->reported = 1;
	return 1;
}

int usage_from_json(const cJSON *root, struct usage *u)
{
	if (from_usage_obj(cJSON_GetObjectItemCaseSensitive(root, "usage"), u))
		return 1;
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (c0 && from_usage_obj(cJSON_GetObjectItemCaseSensitive(c0, "usage"), u))
		return 1;
	/* a Responses API stream event: response.completed (or .incomplete,
	 * .failed) carries the response object, its usage inside */
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
	if (cJSON_IsObject(resp) && from_usage_obj(cJSON_GetObjectItemCaseSensitive(resp, "usage"), u))
		return 1;
	return 0;
}

/* Fast reading of a usage object's text, with from_usage_obj's rules,
 * without building a tree: on every request, so it counts. */
#define NUM_UNSET (-2)
#define NUM_ODD (-3)   /* a number the fast path leaves to cJSON */

/* A member's value as num() would see it: -1 when not a number or out of
 * range; NUM_ODD for fractions, exponents and long digit strings. */
static long text_num(const char *v, size_t n)
{
	size_t i = 0;
	int neg = 0;
	if (!n || !((v[0] >= '0' && v[0] <= '9') || v[0] == '-'))
		return -1;   /* a string, object, literal...: not a number */
	if (v[0] == '-') {
		neg = 1;
		i++;
	}
	if (n - i > 15)
		return NUM_ODD;
	long long x = 0;   /* 15 digits fit; a long may not (32-bit systems) */
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return NUM_ODD;
		x = x * 10 + (v[i] - '0');
	}
	if (neg && x)
		return -1;   /* -0 is 0, as (long)-0.0 */
	return (double)x > USAGE_COUNT_MAX ? -1 : (long)x;
}

static int key_is(const struct jscan_member *m, const char *name)
{
	return strlen(name) == m->key_len && !memcmp(m->key, name, m->key_len);
}

/* The first "key": number of the object text o (first, as cJSON's lookup):
 * sets *out unless already set. NUM_ODD stops the fast path. */
static int take(const struct jscan_member *m, const char *name, long *out)
{
	if (*out != NUM_UNSET || !key_is(m, name))
		return 0;
	*out = text_num(m->value, m->value_len);
	return 1;
}

/* 1 found, 0 none, -1 leave it to cJSON. */
static int usage_text_fast(const char *o, size_t n, struct usage *u)
{
	long p = NUM_UNSET, c = NUM_UNSET, ip = NUM_UNSET, op = NUM_UNSET, hit = NUM_UNSET, mc = NUM_UNSET,
	     pdc = NUM_UNSET, rt = NUM_UNSET, idc = NUM_UNSET, ort = NUM_UNSET;
	/* the detail objects, each read at its first occurrence (as cJSON's
	 * lookup): chat completions' and the Responses API's */
	struct {
		const char *obj, *name;
		long *out;
		int seen;
	} det[] = {
		{ "prompt_tokens_details", "cached_tokens", &pdc, 0 },
		{ "completion_tokens_details", "reasoning_tokens", &rt, 0 },
		{ "input_tokens_details", "cached_tokens", &idc, 0 },
		{ "output_tokens_details", "reasoning_tokens", &ort, 0 },
	};
	struct jscan_member m;
	size_t i = 0;
	while (jscan_next_member(o, n, &i, &m)) {
		if (m.escaped)
			return -1;
		if (take(&m, "prompt_tokens", &p) || take(&m, "completion_tokens", &c) ||
		    take(&m, "input_tokens", &ip) || take(&m, "output_tokens", &op) ||
		    take(&m, "prompt_cache_hit_tokens", &hit) || take(&m, "cached_tokens", &mc))
			continue;
		size_t w = 0;
		while (w < sizeof(det) / sizeof(det[0]) && !key_is(&m, det[w].obj))
			w++;
		if (w == sizeof(det) / sizeof(det[0]) || det[w].seen++)
			continue;
		if (m.value[0] != '{')
			continue;   /* not an object: as cJSON_IsObject says no */
		struct jscan_member d;
		size_t k = 0;
		while (jscan_next_member(m.value, m.value_len, &k, &d)) {
			if (d.escaped)
				return -1;
			take(&d, det[w].name, det[w].out);
		}
	}
	long all[] = { p, c, ip, op, hit, mc, pdc, rt, idc, ort };
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
		if (all[k] == NUM_ODD)
			return -1;
#define OR_NONE(x) ((x) == NUM_UNSET ? -1 : (x))
	p = OR_NONE(p);
	c = OR_NONE(c);
	if (p < 0 && c < 0) {
		p = OR_NONE(ip);
		c = OR_NONE(op);
	}
	if (p < 0 && c < 0)
		return 0;
	memset(u, 0, sizeof(*u));
	u->prompt = p < 0 ? 0 : p;
	u->completion = c < 0 ? 0 : c;
	long cached = OR_NONE(hit);
	if (cached < 0)
		cached = OR_NONE(pdc);
	if (cached < 0)
		cached = OR_NONE(idc);
	if (cached < 0)
		cached = OR_NONE(mc);
	u->cached = cached < 0 ? 0 : cached;
	rt = OR_NONE(rt);
	if (rt < 0)
		rt = OR_NONE(ort);
	u->reasoning = rt < 0 ? 0 : rt;
	u->reported = 1;
#undef OR_NONE
	return 1;
}

int usage_from_text(const char *s, size_t n, struct usage *u)
{
	size_t vs, ve;
	if (!jscan_last_object(s, n, "usage", &vs, &ve))
		return 0;
	/* strictly valid JSON is read directly; anything else as before */
	if (jscan_valid(s + vs, ve - vs, 8)) {
		int r = usage_text_fast(s + vs, ve - vs, u);
		if (r >= 0)
			return r;
	}
	return usage_from_text_tree(s + vs, ve - vs, u);
}

int usage_from_text_tree(const char *o, size_t n, struct usage *u)
{
	cJSON *j = cJSON_ParseWithLength(o, n);
	int found = from_usage_obj(j, u);
	cJSON_Delete(j);
	return found;
}

double usage_cost(const struct usage *u, const struct price_conf *p)
{
	if (!p)
		return 0;
	long cached = u->cached > u->prompt ? u->prompt : u->cached;
	double c = (double)(u->prompt - cached) * p->input + (double)cached * p->cached_input +
		   (double)u->completion * p->output;
	return c / 1e6;
}

/* Append s as a JSON string (quoted, escaped). */
static void json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[256];
	size_t n = 0;
	buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (n + 6 >= sizeof(tmp)) {
			buf_append(b, tmp, n);
			n = 0;
		}
		if (*p == '"' || *p == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = (char)*p;
		} else if (*p < 0x20) {
			tmp[n++] = '\\';
			tmp[n++] = 'u';
			tmp[n++] = '0';
			tmp[n++] = '0';
			tmp[n++] = hex[*p >> 4];
			tmp[n++] = hex[*p & 15];
		} else {
			tmp[n++] = (char)*p;
		}
	}
	buf_append(b, tmp, n);
	buf_append(b, "\"", 1);
}

/* prefix, then v in decimal (printf's %lld, without printf) */
static void put_int(struct buf *b, const char *prefix, long long v)
{
	char t[24];
	size_t k = sizeof(t);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		t[--k] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		t[--k] = '-';
	buf_puts(b, prefix);
	buf_append(b, t + k, sizeof(t) - k);
}

static void put_bool(struct buf *b, const char *prefix, int v)
{
	buf_puts(b, prefix);
	buf_puts(b, v ? "true" : "false");
}

char *usage_record_json(const struct usage_record *r)
{
	/* written by hand: this runs once per request, and a cJSON tree plus
	 * its printer cost ten times as much */
	struct buf b;
	buf_init(&b, 1u << 16);
	buf_puts(&b, "{\"id\":");
	json_str(&b, r->id);
	put_int(&b, ",\"ts\":", r->ts_ms);
	buf_puts(&b, ",\"key_id\":");
	json_str(&b, r->key_id ? r->key_id : "-");
	buf_puts(&b, ",\"key_name\":");
	json_str(&b, r->key_name);
	buf_puts(&b, ",\"provider\":");
	json_str(&b, r->provider ? r->provider : "-");
	buf_puts(&b, ",\"upstream_key\":");
	json_str(&b, r->upstream_key ? r->upstream_key : "-");
	buf_puts(&b, ",\"model\":");
	json_str(&b, r->model);
	buf_puts(&b, ",\"upstream_model\":");
	json_str(&b, r->upstream_model);
	buf_puts(&b, ",\"endpoint\":");
	json_str(&b, r->endpoint ? r->endpoint : "chat");
	put_int(&b, ",\"prompt\":", r->u.prompt);
	put_int(&b, ",\"completion\":", r->u.completion);
	put_int(&b, ",\"cached\":", r->u.cached);
	put_int(&b, ",\"reasoning\":", r->u.reasoning);
	put_bool(&b, ",\"estimated\":", r->estimated);
	/* cost: as many digits as a double holds */
	buf_printf(&b, ",\"cost\":%.17g,\"currency\":", r->cost);
	json_str(&b, r->currency ? r->currency : "USD");
	put_int(&b, ",\"ttfb_ms\":", r->ttfb_ms);
	put_int(&b, ",\"ms\":", r->total_ms);
	put_int(&b, ",\"status\":", r->status);
	put_bool(&b, ",\"stream\":", r->stream);
	put_bool(&b, ",\"cache_hit\":", r->cache_hit);
	put_bool(&b, ",\"client_gone\":", r->client_gone);
	if (r->error && *r->error) {
		buf_puts(&b, ",\"error\":");
		json_str(&b, r->error);
	}
	buf_puts(&b, "}");
	return buf_steal(&b);
}
