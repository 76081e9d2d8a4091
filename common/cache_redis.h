/* cache_redis.h — the response cache shared by the gateways of a fleet
 * through Redis (redis.h): an answer stored on one node is a hit on every
 * node. cache.c asks it on a miss of its own file (one GET) and gives it
 * what it stores (one SET with the cache's TTL as the entry's expiry).
 *
 * Key <prefix>c:<64 hex of cache_key>, value "<stored unix seconds> "
 * followed by the body; bodies over CACHE_REDIS_MAX are not shared. With
 * ttl_s <= 0 an entry does not expire: give Redis a maxmemory with an
 * allkeys-lru policy then (docs). */
#ifndef LLMGATE_CACHE_REDIS_H
#define LLMGATE_CACHE_REDIS_H
#include "cache.h"
#include "redis.h"
#include <stdint.h>

#define CACHE_REDIS_MAX (1u << 20)

/* The fleet's body for key, NULL on a miss, an entry older than ttl_s
 * (when > 0), or when Redis cannot be used. *len and *stored (unix s)
 * are set on a hit. New NUL-terminated string (free()). */
char *cache_redis_get(struct redis *r, const char key[CACHE_KEY_HEX], long ttl_s, int64_t now, size_t *len,
		      int64_t *stored);
/* Share body under key, stored at now, expiring after ttl_s (when > 0).
 * 0, or -1 (too large, or Redis cannot be used: the local cache has it
 * anyway). */
int cache_redis_put(struct redis *r, const char key[CACHE_KEY_HEX], long ttl_s, int64_t now, const char *body,
		    size_t len);
#endif
