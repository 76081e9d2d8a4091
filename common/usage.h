/* usage.h — token usage as upstreams report it. */
#ifndef LLMGATE_USAGE_H
#define LLMGATE_USAGE_H
#include <cjson/cJSON.h>

struct usage {
	long prompt;       /* prompt/input tokens, cached ones included */
	long completion;   /* completion/output tokens, reasoning included */
	long cached;       /* prompt tokens served from the provider's cache */
	long reasoning;    /* completion tokens spent on reasoning */
	int reported;      /* the upstream reported usage */
};

/* Read usage from a chat completion (or chunk) object: top-level "usage"
 * (OpenAI, DeepSeek's prompt_cache_hit_tokens, GLM) or choices[0].usage
 * (Moonshot streams). Returns 1 when usage was found (u is then
 * overwritten), 0 otherwise. */
int usage_from_json(const cJSON *root, struct usage *u);
#endif
