/* cache.h — exact-match response cache for chat completions (cache.db).
 *
 * One router process keeps state_dir/cache.db open as the GDBM writer for
 * its whole life; another process that finds the file held runs without a
 * cache. Each entry is stored under "c:<64 hex>" as a 16-byte header
 * ("LGc1", stored time as int64 unix seconds little-endian, body length as
 * uint32 little-endian) followed by the body. An in-memory index (rebuilt
 * at open by reading the file once) holds, per key, the stored time, the
 * body size and its place in an LRU list, so misses and evictions never
 * touch the disk. "bytes" is the sum of stored body lengths and is kept at
 * or under max_bytes by evicting the least recently used entries. After a
 * reopen, recency is approximated by stored time (uses are not written).
 *
 * File size: the file never shrinks by itself. With GDBM's default free
 * space handling (free blocks kept per bucket) a churning cache grows the
 * file without bound, so the cache turns on GDBM's central free list with
 * block coalescing, which keeps it near 1.6 times the live data. As a
 * backstop, every CACHE_REORG_EVERY deletions the file size is checked, and
 * when it exceeds 2 * max_bytes + CACHE_REORG_SLACK (or twice its size
 * after the last rewrite, if larger) the file is rewritten with
 * gdbm_reorganize (same check at open). A rewrite holds the cache lock
 * while it copies the live data (at most about max_bytes). */
#ifndef LLMGATE_CACHE_H
#define LLMGATE_CACHE_H
#include "buf.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <time.h>

#define CACHE_KEY_HEX 65                  /* 64 hex digits and the NUL */
#define CACHE_OPEN_WAIT_MS 200            /* wait this long for a lock held briefly */
#define CACHE_REORG_EVERY 256             /* deletions between file size checks */
#define CACHE_REORG_SLACK (1u << 20)      /* file size allowed over 2 * max_bytes */

struct cache;   /* opaque */

struct cache_stats {
	unsigned long entries;    /* entries stored now */
	unsigned long hits;       /* since open */
	unsigned long misses;     /* since open, expired ones included */
	unsigned long evictions;  /* removed to keep bytes under max_bytes */
	unsigned long expired;    /* removed because older than ttl_s */
	unsigned long compactions;  /* file rewrites (cache_reorganize) */
	size_t bytes;             /* sum of stored body lengths */
};

/* Open state_dir/cache.db (created 0600) as a GDBM writer for the process's
 * lifetime, and load its index; entries older than ttl_s are dropped, and
 * entries are evicted down to max_bytes. ttl_s <= 0: entries never expire.
 * A file GDBM reports as damaged is recovered or, failing that, replaced by
 * an empty one. Returns a new cache (cache_close), or NULL after logging
 * one line saying why: the file is held by another process (after waiting
 * CACHE_OPEN_WAIT_MS), or it cannot be created. The caller then runs
 * without a cache; every function below accepts c == NULL as "no cache". */
struct cache *cache_open(const char *state_dir, long ttl_s, size_t max_bytes);
/* Flush, close the file (releasing the lock) and free. NULL is a no-op. */
void cache_close(struct cache *c);

/* The cache key of a request, as 64 lowercase hex digits + NUL in out:
 * SHA-256 of a canonical encoding of scope, provider, upstream_model (NULL
 * is taken as "") and req, where req is the client's chat request object
 * after routing. Object keys are sorted (recursively), so key order does
 * not matter; array order does; numbers compare by value (1 == 1.0).
 * Top-level members left out, because they do not change the answer:
 *   "model"              replaced by provider + upstream_model
 *   "stream", "stream_options"
 *                        delivery only: a hit is replayed with cache_to_sse
 *   "user", "safety_identifier", "metadata", "store", "prompt_cache_key",
 *   "service_tier"       end-user ids, storage, provider-side cache hints,
 *                        latency tier
 * Everything else counts, "parallel_tool_calls", "n", "seed", "tools",
 * "tool_choice", "response_format", "logprobs" and sampling parameters
 * included. scope is "" for a cache shared by all keys, or the gateway key
 * id for a per-key cache. Never fails. */
void cache_key(const cJSON *req, const char *provider, const char *upstream_model,
	       const char *scope, char out[CACHE_KEY_HEX]);

/* Look up key (as made by cache_key). On a hit returns a new NUL-terminated
 * copy of the stored body (free()), sets *len to its length and *age_s to
 * its age in seconds (either pointer may be NULL), and marks the entry
 * recently used. Returns NULL on a miss, on an expired entry (which is
 * deleted), on a malformed key or on a read error (logged). Thread-safe. */
char *cache_get(struct cache *c, const char key[CACHE_KEY_HEX], size_t *len, long *age_s);

/* Store body under key, replacing any entry there, evicting least recently
 * used entries as needed. Meant for 2xx non-streaming chat.completion
 * bodies; the body is not checked. Returns 0 when stored; -1 when not:
 * the body is larger than max_bytes / 8 (not an error, not logged), the key
 * is malformed, or the write failed (logged). Thread-safe. */
int cache_put(struct cache *c, const char key[CACHE_KEY_HEX], const char *body, size_t len);

/* With r (not owned; NULL: none), a miss of this file asks the fleet's
 * cache in Redis and a store is shared there too (cache_redis.h). Call
 * before other threads use c. */
struct redis;
void cache_share(struct cache *c, struct redis *r);

/* Counters as of now into out (all zero for NULL). Thread-safe. */
void cache_stats(struct cache *c, struct cache_stats *out);

/* Rewrite the file without its free space (gdbm_reorganize) now; the cache
 * also does this itself as described above. 0, or -1 (logged; the cache
 * stays usable). Thread-safe. */
int cache_reorganize(struct cache *c);

/* Replay a stored chat.completion (body, len bytes) as the OpenAI stream a
 * streaming upstream would have sent, appending to out: for each choice in
 * order, with its "index": a role chunk ({"role","content":""}), then one
 * delta each for non-empty "reasoning_content" (or "reasoning"),
 * "content" (carrying the choice's "logprobs"), "refusal", each entry of
 * "tool_calls" ({"index","id","type","function":{"name","arguments"}}) and
 * a legacy "function_call", then a chunk with an empty delta and the
 * choice's "finish_reason". If include_usage: every chunk carries
 * "usage":null and a last chunk has "choices":[] and the stored "usage".
 * Then "data: [DONE]\n\n". Each event is "data: <chunk>\n\n"; chunks keep
 * the stored "id", "created", "model", "system_fingerprint" and
 * "service_tier" (those present). Returns 0, or -1 (out unchanged) if body
 * is not a chat.completion object with a "choices" array or out's cap is
 * reached. */
int cache_to_sse(const char *body, size_t len, int include_usage, struct buf *out);

/* For tests: take "now" from fn instead of time(); NULL restores time().
 * Set it before other threads use c. */
void cache_set_clock(struct cache *c, time_t (*fn)(void));
#endif
