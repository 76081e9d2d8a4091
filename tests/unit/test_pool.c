/* test_pool.c — key pools: round-robin, 429 cool-down, blocking. */
#include "autoconf.h"
#include "config.h"
#include "log.h"
#include "pool.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	struct config c;
	char err[256];
	log_init("test", LOG_ERR);
	setenv("DEEPSEEK_API_KEY", "sk-a-0000000000,sk-b-1111111111,sk-c-2222222222", 1);
	setenv("LLMGATE_CONFIG", "/dev/null", 1);
	if (config_load(&c, NULL, err, sizeof(err)) != 0) {
		diag("%s", err);
		return 1;
	}
	c.cooldown_s = 60;
	c.cooldown_long_after = 3;
	c.cooldown_long_s = 900;
	struct pool *pools = pool_create_all(&c);
	struct pool *p = &pools[0];
	is_str(p->provider, "deepseek", "first pool is deepseek");
	is_int(p->n, 3, "three keys");
	ok(strncmp(p->keys[0].id, "deepseek#1-", 11) == 0, "key id names provider and position: %s", p->keys[0].id);
	ok(!strstr(p->keys[0].id, "sk-a"), "key id does not contain the key");

	int64_t now = 1000000;
	struct pool_tried t = { 0 };
	int a = pool_pick(p, &t, now, NULL);
	int b = pool_pick(p, &t, now, NULL);
	int cc = pool_pick(p, &t, now, NULL);
	int64_t wait = -1;
	int d = pool_pick(p, &t, now, &wait);
	ok(a != b && b != cc && a != cc, "a request gets each key once");
	is_int(d, -1, "then none");
	is_int(wait, 0, "nothing cooling: no wait");

	/* spread: successive requests rotate */
	int counts[3] = { 0 };
	for (int i = 0; i < 30; i++) {
		struct pool_tried t2 = { 0 };
		counts[pool_pick(p, &t2, now, NULL)]++;
	}
	ok(counts[0] == 10 && counts[1] == 10 && counts[2] == 10, "round-robin spreads evenly");

	/* 429 with Retry-After cools just that key */
	pool_report(p, 1, POOL_RATE_LIMITED, 2, &c, now);
	int used1 = 0;
	for (int i = 0; i < 10; i++) {
		struct pool_tried t2 = { 0 };
		used1 += pool_pick(p, &t2, now + 1000, NULL) == 1;
	}
	is_int(used1, 0, "cooling key skipped");
	used1 = 0;
	for (int i = 0; i < 10; i++) {
		struct pool_tried t2 = { 0 };
		used1 += pool_pick(p, &t2, now + 2001, NULL) == 1;
	}
	ok(used1 > 0, "used again when its Retry-After is over");

	/* without Retry-After: cooldown_s */
	pool_report(p, 2, POOL_RATE_LIMITED, -1, &c, now);
	is_int(p->keys[2].cool_until_ms, now + 60000, "default cool-down");
	/* many 429s in a row: long cool-down */
	pool_report(p, 2, POOL_RATE_LIMITED, 1, &c, now);
	pool_report(p, 2, POOL_RATE_LIMITED, 1, &c, now);
	is_int(p->keys[2].cool_until_ms, now + 900000, "long cool-down after repeated 429s");
	is_int(p->keys[2].recent_429, 3, "recent 429s counted");
	pool_report(p, 2, POOL_OK, -1, &c, now);
	is_int(p->keys[2].consecutive_429, 0, "success resets the streak");

	/* all cooling: wait reports the soonest */
	pool_report(p, 0, POOL_RATE_LIMITED, 5, &c, now);
	pool_report(p, 1, POOL_RATE_LIMITED, 3, &c, now);
	pool_report(p, 2, POOL_RATE_LIMITED, 9, &c, now);
	struct pool_tried t3 = { 0 };
	is_int(pool_pick(p, &t3, now, &wait), -1, "all cooling: none");
	is_int(wait, 3000, "soonest back in 3 s");

	/* 401: blocked for good */
	pool_report(p, 0, POOL_AUTH_FAILED, -1, &c, now);
	int used0 = 0;
	for (int i = 0; i < 10; i++) {
		struct pool_tried t2 = { 0 };
		used0 += pool_pick(p, &t2, now + 10000000, NULL) == 0;
	}
	is_int(used0, 0, "blocked key never used");
	ok(p->keys[0].blocked && p->keys[0].block_reason[0], "blocked with a reason");
	pool_free_all(pools, c.nproviders);
	config_free(&c);
	return done_testing();
}
