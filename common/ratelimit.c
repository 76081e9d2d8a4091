/* ratelimit.c — per-client call counts in one-minute windows (ratelimit.h). */
#include "autoconf.h"
#include "ratelimit.h"
#include "hmap.h"
#include "xmalloc.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_MS 60000
#define RATELIMIT_KEYS_MAX 100000   /* past this, ended windows are dropped at once */

struct window {
	int64_t start_ms;
	long n;
	char key[];      /* the map's key */
};

struct ratelimit {
	pthread_mutex_t mu;
	struct hmap m;   /* key -> struct window */
};

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	pthread_mutex_init(&rl->mu, NULL);
	hmap_init(&rl->m, 0);
	return rl;
}

static void drop_ended(struct ratelimit *rl, int64_t before_ms)
{
	for (size_t i = 0; i < rl->m.cap;) {
		struct hmap_slot *s = &rl->m.slots[i];
		struct window *w = s->val;
		if (s->key && w->start_ms < before_ms) {
			hmap_del(&rl->m, w->key, s->len);   /* shifts the next entry here */
			free(w);
			continue;
		}
		i++;
	}
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	drop_ended(rl, INT64_MAX);
	hmap_free(&rl->m);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

int ratelimit_take(struct ratelimit *rl, const char *key, long limit, int64_t now_ms, long *retry_s)
{
	size_t len = strlen(key);
	pthread_mutex_lock(&rl->mu);
	struct window *w = NULL;
	if (!hmap_get(&rl->m, key, len, (void **)&w)) {
		if (hmap_count(&rl->m) >= RATELIMIT_KEYS_MAX)
			drop_ended(rl, now_ms - WINDOW_MS);
		w = xcalloc(1, sizeof(*w) + len + 1);
		memcpy(w->key, key, len);
		w->start_ms = now_ms;
		hmap_put(&rl->m, w->key, len, w);
	}
	if (now_ms - w->start_ms >= WINDOW_MS) {
		w->start_ms = now_ms;
		w->n = 0;
	}
	int ok = w->n < limit;
	if (ok)
		w->n++;
	else
		*retry_s = (long)((w->start_ms + WINDOW_MS - now_ms + 999) / 1000);
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

void ratelimit_prune(struct ratelimit *rl, int64_t now_ms)
{
	pthread_mutex_lock(&rl->mu);
	drop_ended(rl, now_ms - WINDOW_MS);
	pthread_mutex_unlock(&rl->mu);
}
