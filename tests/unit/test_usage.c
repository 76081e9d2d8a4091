/* test_usage.c — usage as each provider reports it. */
#include "autoconf.h"
#include "usage.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

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
	/* the most a count may be here (a 32-bit long's end on 32-bit
	 * machines): two of them still add up */
	struct usage big = { 0 };
	big.prompt = (long)USAGE_COUNT_MAX;
	big.completion = (long)USAGE_COUNT_MAX;
	is_int(usage_total(&big), 2 * (long long)USAGE_COUNT_MAX, "the total of two counts at their limit does not wrap");
	is_int(usage_total(&u), 42, "usage_total");
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
	/* the Responses API: an object, and its response.completed event */
	const char *ru = "\"usage\":{\"input_tokens\":37,\"input_tokens_details\":{\"cached_tokens\":11},"
			 "\"output_tokens\":25,\"output_tokens_details\":{\"reasoning_tokens\":9},\"total_tokens\":62}";
	char body[512], event[600];
	snprintf(body, sizeof(body), "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",%s}", ru);
	snprintf(event, sizeof(event), "{\"type\":\"response.completed\",\"sequence_number\":9,\"response\":%s}", body);
	const char *texts[] = { body, event };
	for (int k = 0; k < 2; k++) {
		u = parse(texts[k], &f);
		is_int(f, 1, k ? "Responses event: usage found in response" : "Responses object: usage found");
		ok(u.prompt == 37 && u.completion == 25 && u.cached == 11 && u.reasoning == 9,
		   "Responses usage exact (%ld/%ld/%ld/%ld)", u.prompt, u.completion, u.cached, u.reasoning);
		struct usage t = { 0 };
		f = usage_from_text(texts[k], strlen(texts[k]), &t);
		ok(f == 1 && t.prompt == 37 && t.completion == 25 && t.cached == 11 && t.reasoning == 9,
		   "Responses usage exact from text (%ld/%ld/%ld/%ld)", t.prompt, t.completion, t.cached, t.reasoning);
	}
	u = parse("{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"usage\":null}}", &f);
	is_int(f, 0, "response.created's usage null is no usage");
	/* chat completions' details come first when both are there */
	u = parse("{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,\"prompt_tokens_details\":{\"cached_tokens\":1},"
		  "\"input_tokens_details\":{\"cached_tokens\":2},\"output_tokens_details\":{\"reasoning_tokens\":3}}}", &f);
	ok(u.cached == 1 && u.reasoning == 3, "prompt_tokens_details first, output_tokens_details as fallback");
	return done_testing();
}
