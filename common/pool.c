/* pool.c — upstream key pools: spreading, cool-down after 429, blocking. */
#include "autoconf.h"
#include "pool.h"
#include "sha256.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_WINDOW_MS (10 * 60 * 1000)   /* recent_429 counts over this */

int64_t pool_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pool_key_id(const char *provider, size_t i, const char *secret, char *out, size_t outlen)
{
	char hex[65];
	sha256_hex(secret ? secret : "", secret ? strlen(secret) : 0, hex);
	hex[8] = '\0';
	if (snprintf(out, outlen, "%.24s#%zu-%.8s", provider, i, hex) >= (int)outlen)
		out[outlen - 1] = '\0';
}

struct pool *pool_create_all(const struct config *c)
{
	struct pool *pools = xcalloc(c->nproviders ? c->nproviders : 1, sizeof(*pools));
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *pc = &c->providers[i];
		struct pool *p = &pools[i];
		pthread_mutex_init(&p->mu, NULL);
		snprintf(p->provider, sizeof(p->provider), "%s", pc->name);
		p->n = pc->no_auth ? 1 : pc->nkeys;
		p->keys = xcalloc(p->n ? p->n : 1, sizeof(*p->keys));
		for (size_t k = 0; k < p->n; k++) {
			p->keys[k].secret = pc->no_auth ? NULL : pc->keys[k];
			pool_key_id(pc->name, k + 1, p->keys[k].secret, p->keys[k].id, sizeof(p->keys[k].id));
		}
	}
	return pools;
}

void pool_free_all(struct pool *pools, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_destroy(&pools[i].mu);
		free(pools[i].keys);
	}
	free(pools);
}

static int tried_has(const struct pool_tried *t, size_t i)
{
	return i < 64 && (t->bits >> i) & 1;
}

int pool_pick(struct pool *p, struct pool_tried *tried, int64_t now_ms, int64_t *retry_after_ms)
{
	int result = -1;
	int64_t soonest = 0;
	pthread_mutex_lock(&p->mu);
	for (size_t step = 0; step < p->n; step++) {
		size_t i = (p->rr + step) % p->n;
		struct pool_key *k = &p->keys[i];
		if (k->blocked || tried_has(tried, i))
			continue;
		if (k->cool_until_ms > now_ms) {
			int64_t wait = k->cool_until_ms - now_ms;
			if (!soonest || wait < soonest)
				soonest = wait;
			continue;
		}
		result = (int)i;
		p->rr = (unsigned)(i + 1);
		k->last_used_ms = now_ms;
		k->uses++;
		if (i < 64)
			tried->bits |= (uint64_t)1 << i;
		break;
	}
	pthread_mutex_unlock(&p->mu);
	if (retry_after_ms)
		*retry_after_ms = result < 0 ? soonest : 0;
	return result;
}

void pool_report(struct pool *p, int idx, enum pool_outcome o, long retry_after_s,
		 const struct config *c, int64_t now_ms)
{
	if (idx < 0 || (size_t)idx >= p->n)
		return;
	pthread_mutex_lock(&p->mu);
	struct pool_key *k = &p->keys[idx];
	switch (o) {
	case POOL_OK:
		k->consecutive_429 = 0;
		k->cool_until_ms = 0;
		break;
	case POOL_RATE_LIMITED: {
		if (now_ms - k->window_start_ms > POOL_WINDOW_MS) {
			k->window_start_ms = now_ms;
			k->recent_429 = 0;
		}
		k->recent_429++;
		k->consecutive_429++;
		long s = retry_after_s >= 0 ? retry_after_s : c->cooldown_s;
		if (k->consecutive_429 >= c->cooldown_long_after && s < c->cooldown_long_s)
			s = c->cooldown_long_s;
		k->cool_until_ms = now_ms + (int64_t)s * 1000;
		break;
	}
	case POOL_AUTH_FAILED:
		k->blocked = 1;
		snprintf(k->block_reason, sizeof(k->block_reason), "upstream refused the key (401/403)");
		break;
	case POOL_FAILED:
		break;
	}
	pthread_mutex_unlock(&p->mu);
}

void pool_note_error(struct pool *p, int idx, const char *why, int64_t now_ms)
{
	if (!p || idx < 0 || (size_t)idx >= p->n)
		return;
	pthread_mutex_lock(&p->mu);
	snprintf(p->keys[idx].last_error, sizeof(p->keys[idx].last_error), "%s", why);
	p->keys[idx].last_error_ms = now_ms;
	pthread_mutex_unlock(&p->mu);
}

const char *pool_key_json(cJSON *ko, const struct pool_key *pk, int64_t now)
{
	const char *state = pk->blocked ? "blocked" : pk->cool_until_ms > now ? "cooling" : "active";
	cJSON_AddStringToObject(ko, "state", state);
	if (pk->cool_until_ms > now)
		cJSON_AddNumberToObject(ko, "cooldown_until", (double)(pk->cool_until_ms / 1000));
	if (pk->blocked)
		cJSON_AddStringToObject(ko, "reason", pk->block_reason);
	cJSON_AddNumberToObject(ko, "recent_429", pk->recent_429);
	cJSON_AddNumberToObject(ko, "uses", (double)pk->uses);
	if (pk->last_used_ms)
		cJSON_AddNumberToObject(ko, "last_used", (double)(pk->last_used_ms / 1000));
	if (pk->last_error_ms) {
		cJSON_AddStringToObject(ko, "last_error", pk->last_error);
		cJSON_AddNumberToObject(ko, "last_error_at", (double)(pk->last_error_ms / 1000));
	}
	return state;
}
