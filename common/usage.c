/* usage.c — token usage as upstreams report it. */
#include "autoconf.h"
#include "usage.h"
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
