/* test_usage.c — usage as each provider reports it. */
#include "autoconf.h"
#include "usage.h"
#include "tap.h"

static struct usage parse(const char *json, int *found)
{
	struct usage u = { -1, -1, -1, -1, 0 };
	cJSON *j = cJSON_Parse(json);
	*found = usage_from_json(j, &u);
	cJSON_Delete(j);
	return u;
}

int main(void)
{
	int f;
	struct usage u = parse("{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42,"
			       "\"prompt_tokens_details\":{\"cached_tokens\":8},"
			       "\"completion_tokens_details\":{\"reasoning_tokens\":20}}}", &f);
	is_int(f, 1, "OpenAI usage found");
	is_int(u.prompt, 12, "prompt");
	is_int(u.completion, 30, "completion");
	is_int(u.cached, 8, "cached from prompt_tokens_details");
	is_int(u.reasoning, 20, "reasoning");
	u = parse("{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":5,\"prompt_cache_hit_tokens\":64,"
		  "\"prompt_cache_miss_tokens\":36}}", &f);
	is_int(u.cached, 64, "DeepSeek prompt_cache_hit_tokens");
	u = parse("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\","
		  "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12,\"cached_tokens\":4}}]}", &f);
	is_int(f, 1, "Moonshot usage inside choices[0]");
	is_int(u.prompt, 9, "moonshot prompt");
	is_int(u.cached, 4, "moonshot cached_tokens");
	u = parse("{\"choices\":[],\"usage\":null}", &f);
	is_int(f, 0, "usage null is no usage");
	u = parse("{\"usage\":{\"prompt_tokens\":\"12\"}}", &f);
	is_int(f, 0, "strings are not numbers");
	u = parse("{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":2}}", &f);
	is_int(u.prompt, 0, "negative counts ignored");
	is_int(u.completion, 2, "the rest kept");
	return done_testing();
}
