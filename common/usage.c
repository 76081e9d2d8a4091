/* usage.c — token usage as upstreams report it. */
#include "autoconf.h"
#include "usage.h"
#include "config.h"
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

double usage_cost(const struct usage *u, const struct price_conf *p)
{
	if (!p)
		return 0;
	long cached = u->cached > u->prompt ? u->prompt : u->cached;
	double c = (double)(u->prompt - cached) * p->input + (double)cached * p->cached_input +
		   (double)u->completion * p->output;
	return c / 1e6;
}

char *usage_record_json(const struct usage_record *r)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", r->id);
	cJSON_AddNumberToObject(j, "ts", (double)r->ts_ms);
	cJSON_AddStringToObject(j, "key_id", r->key_id ? r->key_id : "-");
	cJSON_AddStringToObject(j, "key_name", r->key_name ? r->key_name : "");
	cJSON_AddStringToObject(j, "provider", r->provider ? r->provider : "-");
	cJSON_AddStringToObject(j, "upstream_key", r->upstream_key ? r->upstream_key : "-");
	cJSON_AddStringToObject(j, "model", r->model ? r->model : "");
	cJSON_AddStringToObject(j, "upstream_model", r->upstream_model ? r->upstream_model : "");
	cJSON_AddStringToObject(j, "endpoint", r->endpoint ? r->endpoint : "chat");
	cJSON_AddNumberToObject(j, "prompt", (double)r->u.prompt);
	cJSON_AddNumberToObject(j, "completion", (double)r->u.completion);
	cJSON_AddNumberToObject(j, "cached", (double)r->u.cached);
	cJSON_AddNumberToObject(j, "reasoning", (double)r->u.reasoning);
	cJSON_AddBoolToObject(j, "estimated", r->estimated);
	cJSON_AddNumberToObject(j, "cost", r->cost);
	cJSON_AddStringToObject(j, "currency", r->currency ? r->currency : "USD");
	cJSON_AddNumberToObject(j, "ttfb_ms", (double)r->ttfb_ms);
	cJSON_AddNumberToObject(j, "ms", (double)r->total_ms);
	cJSON_AddNumberToObject(j, "status", r->status);
	cJSON_AddBoolToObject(j, "stream", r->stream);
	cJSON_AddBoolToObject(j, "cache_hit", r->cache_hit);
	cJSON_AddBoolToObject(j, "client_gone", r->client_gone);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}
