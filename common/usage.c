/* usage.c — token usage as upstreams report it. */
#include "autoconf.h"
#include "usage.h"
#include "config.h"
#include "buf.h"
#include "jscan.h"
#include <string.h>

static long num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return -1;
	return (long)v->valuedouble;
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
	const cJSON *pd = cJSON_GetObjectItemCaseSensitive(uo, "prompt_tokens_details");
	if (cached < 0 && cJSON_IsObject(pd))
		cached = num(pd, "cached_tokens");                   /* OpenAI, GLM */
	if (cached < 0)
		cached = num(uo, "cached_tokens");                   /* Moonshot */
	u->cached = cached < 0 ? 0 : cached;
	const cJSON *cd = cJSON_GetObjectItemCaseSensitive(uo, "completion_tokens_details");
	long r = cJSON_IsObject(cd) ? num(cd, "reasoning_tokens") : -1;
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
	return 0;
}

int usage_from_text(const char *s, size_t n, struct usage *u)
{
	size_t vs, ve;
	if (!jscan_last_object(s, n, "usage", &vs, &ve))
		return 0;
	cJSON *j = cJSON_ParseWithLength(s + vs, ve - vs);
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

char *usage_record_json(const struct usage_record *r)
{
	/* written by hand: this runs once per request, and a cJSON tree plus
	 * its printer cost ten times as much */
	struct buf b;
	buf_init(&b, 1u << 16);
	buf_puts(&b, "{\"id\":");
	json_str(&b, r->id);
	buf_printf(&b, ",\"ts\":%lld,\"key_id\":", (long long)r->ts_ms);
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
	buf_printf(&b, ",\"prompt\":%ld,\"completion\":%ld,\"cached\":%ld,\"reasoning\":%ld,\"estimated\":%s",
		   r->u.prompt, r->u.completion, r->u.cached, r->u.reasoning, r->estimated ? "true" : "false");
	/* cost: as many digits as a double holds */
	buf_printf(&b, ",\"cost\":%.17g,\"currency\":", r->cost);
	json_str(&b, r->currency ? r->currency : "USD");
	buf_printf(&b, ",\"ttfb_ms\":%ld,\"ms\":%ld,\"status\":%d,\"stream\":%s,\"cache_hit\":%s,\"client_gone\":%s}",
		   r->ttfb_ms, r->total_ms, r->status, r->stream ? "true" : "false", r->cache_hit ? "true" : "false",
		   r->client_gone ? "true" : "false");
	return buf_steal(&b);
}
