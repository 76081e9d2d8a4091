/* pool_redis.h — upstream keys' cool-downs and blocks shared by the
 * gateways of a fleet through Redis (redis.h): a 429 learned on one node
 * is avoided on every node, with no round trip on the request path.
 *
 * On the housekeeping tick a router sends the cool-downs and blocks its
 * pools learned since the last tick, and takes the fleet's, in one Lua
 * script: the hash <prefix>cool holds, per key (field = provider ":" and
 * 16 hex of the SHA-256 of its secret: never the secret), "until_ms
 * blocked reason"; a later expiry replaces an earlier one, an expired
 * entry is dropped, and what is left comes back. Each local key whose
 * fleet entry is later than its own cool-down takes it; a key blocked on
 * another node is blocked here too (a block is shared for POOL_REDIS_BLOCK_MS). */
#ifndef LLMGATE_POOL_REDIS_H
#define LLMGATE_POOL_REDIS_H
#include "pool.h"
#include "redis.h"

#define POOL_REDIS_BLOCK_MS (3600 * 1000)

struct pool_redis;

struct pool_redis *pool_redis_new(struct redis *r);
void pool_redis_free(struct pool_redis *s);
/* One round for the pools of a runtime snapshot (pools[i] is provider
 * i): publish, take the fleet's. 0, or -1 when Redis cannot be used
 * (nothing is remembered as sent; tried again next tick). */
int pool_redis_tick(struct pool_redis *s, struct pool *pools, size_t n, int64_t now_ms);
#endif
