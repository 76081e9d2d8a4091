/* cache_redis.c — the response cache shared by a fleet through Redis: one GET on a miss, one SET on a store (cache_redis.h). */
#include "autoconf.h"
#include "cache_redis.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void redis_key(const struct redis *r, const char key[CACHE_KEY_HEX], char out[96])
{
	snprintf(out, 96, "%sc:%.64s", redis_prefix(r), key);
}

char *cache_redis_get(struct redis *r, const char key[CACHE_KEY_HEX], long ttl_s, int64_t now, size_t *len,
		      int64_t *stored)
{
	char k[96], err[256];
	redis_key(r, key, k);
	struct redis_reply x;
	if (redis_cmd_key(r, "GET", k, &x, err, sizeof(err)) != 0)
		return NULL;
	char *body = NULL;
	char *sp = x.type == RR_STR ? memchr(x.s, ' ', x.len) : NULL;
	if (sp) {
		*stored = strtoll(x.s, NULL, 10);
		if (ttl_s <= 0 || now - *stored < ttl_s) {
			*len = x.len - (size_t)(sp + 1 - x.s);
			body = xmalloc(*len + 1);
			memcpy(body, sp + 1, *len);
			body[*len] = '\0';
		}
	}
	redis_reply_free(&x);
	return body;
}

int cache_redis_put(struct redis *r, const char key[CACHE_KEY_HEX], long ttl_s, int64_t now, const char *body,
		    size_t len)
{
	if (len > CACHE_REDIS_MAX)
		return -1;
	char k[96], head[24], ex[24], err[256];
	redis_key(r, key, k);
	int hl = snprintf(head, sizeof(head), "%lld ", (long long)now);
	char *val = xmalloc((size_t)hl + len);
	memcpy(val, head, (size_t)hl);
	memcpy(val + hl, body, len);
	snprintf(ex, sizeof(ex), "%ld", ttl_s);
	const char *argv[5] = { "SET", k, val, "EX", ex };
	size_t lens[5] = { 3, strlen(k), (size_t)hl + len, 2, strlen(ex) };
	struct redis_reply x;
	int rc = redis_cmd(r, ttl_s > 0 ? 5 : 3, argv, lens, &x, err, sizeof(err));
	if (rc == 0 && x.type == RR_ERR)
		rc = -1;
	redis_reply_free(&x);
	free(val);
	return rc;
}
