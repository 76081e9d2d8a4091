/* usage.h — token usage as upstreams report it. */
#ifndef LLMGATE_USAGE_H
#define LLMGATE_USAGE_H
#include <cjson/cJSON.h>
#include <stdint.h>

/* The largest token count taken from an upstream: 1e15, or what a long
 * holds where that is less (32-bit systems). */
#include <limits.h>
#define USAGE_COUNT_MAX ((double)LONG_MAX < 1e15 ? (double)LONG_MAX : 1e15)

struct usage {
	long prompt;       /* prompt/input tokens, cached ones included */
	long completion;   /* completion/output tokens, reasoning included */
	long cached;       /* prompt tokens served from the provider's cache */
	long reasoning;    /* completion tokens spent on reasoning */
	int reported;      /* the upstream reported usage */
};

struct price_conf;

/* One usage record: what a request cost, as written to the spool. */
struct usage_record {
	char id[48];                 /* request id */
	int64_t ts_ms;               /* when the request arrived */
	const char *key_id;          /* gateway key id, never the key */
	const char *key_name;
	const char *provider;        /* "-" when none was tried */
	const char *upstream_key;    /* upstream key id, never the key */
	const char *model;           /* as requested */
	const char *upstream_model;
	const char *endpoint;        /* "chat" */
	struct usage u;
	int estimated;               /* counts are an estimate (no usage reported) */
	double cost;
	const char *currency;
	long ttfb_ms;
	long total_ms;
	int status;
	int stream;
	int cache_hit;
	int client_gone;
	const char *error;           /* why it failed, in plain words (never a secret), or NULL */
};

/* prompt + completion, summed wider than long (two counts near a 32-bit
 * long's end do not overflow). */
long long usage_total(const struct usage *u);

/* Cost of u under price p (NULL: 0). Cached prompt tokens are charged at
 * the cached price, the rest of the prompt at the input price. */
double usage_cost(const struct usage *u, const struct price_conf *p);
/* The record as one line of JSON (no newline); a new string (free()). */
char *usage_record_json(const struct usage_record *r);

/* Read usage from a chat completion (or chunk) object: top-level "usage"
 * (OpenAI, DeepSeek's prompt_cache_hit_tokens, GLM) or choices[0].usage
 * (Moonshot streams); or from a Responses API object (input_tokens,
 * output_tokens, input_tokens_details.cached_tokens,
 * output_tokens_details.reasoning_tokens) or stream event
 * (response.completed: response.usage). Returns 1 when usage was found
 * (u is then overwritten), 0 otherwise. */
int usage_from_json(const cJSON *root, struct usage *u);
/* The same from JSON text without parsing all of it: the last "usage"
 * object in s (top level, or Moonshot's choices[0].usage) is parsed alone.
 * 1 when usage was found. */
int usage_from_text(const char *s, size_t n, struct usage *u);
/* The same for the text of one usage object, through a cJSON tree: what
 * usage_from_text falls back to (and is checked against by its fuzzer). */
int usage_from_text_tree(const char *o, size_t n, struct usage *u);
#endif
