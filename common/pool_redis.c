/* pool_redis.c — upstream keys' cool-downs and blocks shared by a fleet through Redis (pool_redis.h). */
#include "autoconf.h"
#include "pool_redis.h"
#include "hmap.h"
#include "log.h"
#include "sha256.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX (CONFIG_NAME_MAX + 20)
#define SEND_MAX 12            /* entries per tick (redis_script's argument cap) */

/* ARGV: the hash, now_ms, then field / "until blocked reason" pairs.
 * Returns the hash's live entries as field, value, ... */
static const char cool_lua[] =
	"local h, now = ARGV[1], tonumber(ARGV[2])\n"
	"local function untl(v) return tonumber(string.match(v or '', '^(%d+)')) or 0 end\n"
	"for i = 3, #ARGV, 2 do\n"
	"  if untl(ARGV[i + 1]) > untl(redis.call('HGET', h, ARGV[i])) then redis.call('HSET', h, ARGV[i], ARGV[i + 1]) end\n"
	"end\n"
	"local all = redis.call('HGETALL', h)\n"
	"local out, last = {}, 0\n"
	"for i = 1, #all, 2 do\n"
	"  local u = untl(all[i + 1])\n"
	"  if u < now then redis.call('HDEL', h, all[i]) else\n"
	"    out[#out + 1] = all[i]; out[#out + 1] = all[i + 1]\n"
	"    if u > last then last = u end\n"
	"  end\n"
	"end\n"
	"if last > 0 then redis.call('PEXPIREAT', h, last) end\n"
	"return out\n";

struct pool_redis {
	struct redis *r;
	char hkey[64];
	struct hmap sent;          /* field -> int64_t until as sent or taken */
};

struct pool_redis *pool_redis_new(struct redis *r)
{
	struct pool_redis *s = xcalloc(1, sizeof(*s));
	s->r = r;
	snprintf(s->hkey, sizeof(s->hkey), "%scool", redis_prefix(r));
	hmap_init(&s->sent, 1);
	return s;
}

void pool_redis_free(struct pool_redis *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->sent.cap; i++)
		if (s->sent.slots[i].key)
			free(s->sent.slots[i].val);
	hmap_free(&s->sent);
	free(s);
}

static void field_of(const char *provider, const char *secret, char out[FIELD_MAX])
{
	char hex[SHA256_HEX_LEN];
	sha256_hex(secret, strlen(secret), hex);
	snprintf(out, FIELD_MAX, "%s:%.16s", provider, hex);
}

static int64_t sent_until(const struct pool_redis *s, const char *field)
{
	void *v = NULL;
	return hmap_get(&s->sent, field, strlen(field), &v) ? *(int64_t *)v : 0;
}

static void set_sent(struct pool_redis *s, const char *field, int64_t until)
{
	void *v = NULL;
	if (!hmap_get(&s->sent, field, strlen(field), &v)) {
		v = xmalloc(sizeof(int64_t));
		hmap_put(&s->sent, field, strlen(field), v);
	}
	*(int64_t *)v = until;
}

/* What a key has to say to the fleet: its expiry (0: nothing). */
static int64_t key_until(const struct pool_key *k, int64_t now_ms)
{
	if (k->blocked)
		return now_ms + POOL_REDIS_BLOCK_MS;
	return k->cool_until_ms > now_ms ? k->cool_until_ms : 0;
}

/* A fleet entry "until blocked reason" onto the local key it names. */
static void take(struct pool_redis *s, struct pool *pools, size_t n, const char *field, const char *val)
{
	long long until = 0;
	int blocked = 0, used = 0;
	if (sscanf(val, "%lld %d %n", &until, &blocked, &used) < 2)
		return;
	for (size_t i = 0; i < n; i++) {
		struct pool *p = &pools[i];
		size_t pl = strlen(p->provider);
		if (strncmp(field, p->provider, pl) || field[pl] != ':')
			continue;
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n; k++) {
			struct pool_key *pk = &p->keys[k];
			char f[FIELD_MAX];
			if (!pk->secret)
				continue;
			field_of(p->provider, pk->secret, f);
			if (strcmp(f, field))
				continue;
			if (blocked && !pk->blocked) {
				pk->blocked = 1;
				snprintf(pk->block_reason, sizeof(pk->block_reason), "%s", used ? val + used : "blocked on another gateway");
			} else if (!blocked && until > pk->cool_until_ms) {
				pk->cool_until_ms = until;
			}
		}
		pthread_mutex_unlock(&p->mu);
	}
	if (until > sent_until(s, field))
		set_sent(s, field, until);
}

int pool_redis_tick(struct pool_redis *s, struct pool *pools, size_t n, int64_t now_ms)
{
	char fields[SEND_MAX][FIELD_MAX], vals[SEND_MAX][96], now[24];
	int64_t untils[SEND_MAX];
	const char *args[2 + 2 * SEND_MAX];
	size_t ns = 0;
	for (size_t i = 0; i < n && ns < SEND_MAX; i++) {
		struct pool *p = &pools[i];
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n && ns < SEND_MAX; k++) {
			const struct pool_key *pk = &p->keys[k];
			int64_t u = key_until(pk, now_ms);
			if (!pk->secret || !u)
				continue;
			field_of(p->provider, pk->secret, fields[ns]);
			int64_t had = sent_until(s, fields[ns]);
			if (pk->blocked ? had >= now_ms : u <= had)
				continue;
			snprintf(vals[ns], sizeof(vals[ns]), "%lld %d %s", (long long)u, pk->blocked,
				 pk->blocked ? pk->block_reason : "");
			untils[ns++] = u;
		}
		pthread_mutex_unlock(&p->mu);
	}
	snprintf(now, sizeof(now), "%lld", (long long)now_ms);
	args[0] = s->hkey;
	args[1] = now;
	for (size_t i = 0; i < ns; i++) {
		args[2 + 2 * i] = fields[i];
		args[3 + 2 * i] = vals[i];
	}
	struct redis_reply x;
	char err[256];
	if (redis_script(s->r, cool_lua, (int)(2 + 2 * ns), args, &x, err, sizeof(err)) != 0)
		return -1;
	if (x.type != RR_ARRAY) {
		log_warn("upstream key cool-downs not shared: %.100s", x.type == RR_ERR ? x.s : "an odd answer");
		redis_reply_free(&x);
		return -1;
	}
	for (size_t i = 0; i < ns; i++)
		set_sent(s, fields[i], untils[i]);
	for (size_t i = 0; i + 1 < x.n; i += 2)
		if (x.v[i].type == RR_STR && x.v[i + 1].type == RR_STR)
			take(s, pools, n, x.v[i].s, x.v[i + 1].s);
	redis_reply_free(&x);
	return 0;
}
