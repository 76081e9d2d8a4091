/* ratelimit.h — per-client call counts in one-minute windows, for the
 * open prompt apps (app.h: rate_limit). In the router process's memory:
 * with several router processes each counts its own share (see the
 * README, Prompt apps). Thread-safe. */
#ifndef LLMGATE_RATELIMIT_H
#define LLMGATE_RATELIMIT_H
#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);
/* Count one call of key against limit per minute: 1 taken, or 0 over the
 * limit (nothing counted) with *retry_s the seconds until the window
 * ends. */
int ratelimit_take(struct ratelimit *rl, const char *key, long limit, int64_t now_ms, long *retry_s);
/* Forget windows that ended (call now and then). */
void ratelimit_prune(struct ratelimit *rl, int64_t now_ms);
#endif
