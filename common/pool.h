/* pool.h — upstream key pools: spreading, cool-down after 429, blocking. */
#ifndef LLMGATE_POOL_H
#define LLMGATE_POOL_H
#include "config.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define POOL_KEY_ID_MAX 48

enum pool_outcome {
	POOL_OK = 0,       /* answered (2xx, or a 4xx that is the caller's fault) */
	POOL_RATE_LIMITED, /* 429 */
	POOL_AUTH_FAILED,  /* 401/403: the key is blocked */
	POOL_FAILED,       /* connect error, timeout, 5xx */
};

struct pool_key {
	const char *secret;     /* owned by the config; NULL for keys = none */
	char id[POOL_KEY_ID_MAX];  /* "deepseek#2-1a2b3c4d": never the key */
	int64_t cool_until_ms;  /* 0: not cooling */
	int consecutive_429;
	unsigned recent_429;    /* 429s in the current window */
	int64_t window_start_ms;
	int blocked;
	char block_reason[64];
	char last_error[128];   /* the last failed attempt's reason ("" : none) */
	int64_t last_error_ms;
	int64_t last_used_ms;
	unsigned long uses;
};

struct pool {
	pthread_mutex_t mu;
	char provider[CONFIG_NAME_MAX];
	struct pool_key *keys;
	size_t n;
	unsigned rr;            /* round-robin cursor */
};

/* Build one pool per provider of c (same order, same count). */
struct pool *pool_create_all(const struct config *c);
void pool_free_all(struct pool *pools, size_t n);

/* Tried-set for one request, so that a retry takes another key. */
struct pool_tried {
	uint64_t bits;
};

/* Pick the next usable key not in tried (round-robin); marks it tried.
 * Returns its index, or -1 if none: then *retry_after_ms says how long
 * until the soonest cooling key is back (0 if all are blocked or tried). */
int pool_pick(struct pool *p, struct pool_tried *tried, int64_t now_ms, int64_t *retry_after_ms);

/* Report how a key did. retry_after_s < 0: the upstream gave none. */
void pool_report(struct pool *p, int idx, enum pool_outcome o, long retry_after_s,
		 const struct config *c, int64_t now_ms);

/* Remember why an attempt on key idx failed (connect refused, DNS, 5xx,
 * 429, a refused key): shown with the key's state as "last_error" and
 * "last_error_at" until the next failure replaces it. */
void pool_note_error(struct pool *p, int idx, const char *why, int64_t now_ms);

/* Milliseconds since the epoch. */
int64_t pool_now_ms(void);

/* Make the pool's key id for key number i (1-based) with the given secret. */
void pool_key_id(const char *provider, size_t i, const char *secret, char *out, size_t outlen);

/* A key's state as /health and the published pool state show it, added to
 * the JSON object ko: "state" (blocked, cooling, active), then
 * "cooldown_until", "reason", "recent_429", "uses", "last_used",
 * "last_error" and "last_error_at" (unix seconds) as they apply. Call with the pool's lock held. Returns the state's name. */
struct cJSON;
const char *pool_key_json(struct cJSON *ko, const struct pool_key *pk, int64_t now);
#endif
