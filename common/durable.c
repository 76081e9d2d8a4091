/* durable.c — usage records made durable before a request goes upstream. */
#include "autoconf.h"
#include "durable.h"
#include "health.h"
#include "log.h"
#include "pool.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DURABLE_MEASURE_MS 1000

/* What quota needs of a kept record once it is written. */
struct kept_meta {
	char key_id[AUTH_ID_MAX];
	int64_t ts_ms;
	long long tokens;
	double cost;
};

static const char *errtext(int err)
{
	return err ? strerror(err) : "unknown error";
}

int durable_admit(struct gateway *gw, const struct config *c, const char **why)
{
	*why = NULL;
	if (!gw->spool_ok)
		*why = "the usage spool cannot be written";
	else if (spool_kept_count(&gw->spool) >= SPOOL_KEPT_MAX)
		*why = "usage records are waiting to be written to disk";
	else if (__atomic_load_n(&gw->spool_backlog, __ATOMIC_RELAXED) >= c->spool_max_bytes)
		*why = "the unsettled usage spool is at its cap until llmgate-settle catches up";
	else if (spool_reserve(&gw->spool) != 0) {
		int err = __atomic_load_n(&gw->spool.last_err, __ATOMIC_RELAXED);
		health_set(&gw->health, HEALTH_USAGE_STORE, 1, "no space for usage records in %s (%s); requests refused with 503",
			   gw->spool.dir, errtext(err));
		*why = err == ENOSPC || err == EDQUOT ? "the disk holding usage records is full" :
						       "usage records cannot be written to disk";
	}
	return *why ? -1 : 0;
}

void durable_record(struct gateway *gw, const struct usage_record *rec, int held, char seg[SPOOL_NAME_MAX])
{
	char *json = usage_record_json(rec);
	size_t len = strlen(json);
	seg[0] = '\0';
	if (!gw->spool_ok || spool_append(&gw->spool, json, len, held, seg) != 0) {
		struct kept_meta m = { .ts_ms = rec->ts_ms, .tokens = usage_total(&rec->u), .cost = rec->cost };
		snprintf(m.key_id, sizeof(m.key_id), "%s", rec->key_id);
		spool_keep(&gw->spool, json, len, &m, sizeof(m));
		seg[0] = '\0';
		health_set(&gw->health, HEALTH_PENDING, 1, "usage records kept in memory (%s), retried every tick",
			   errtext(__atomic_load_n(&gw->spool.last_err, __ATOMIC_RELAXED)));
	}
	free(json);
}

static void kept_written(const void *meta, const char *seg, void *user)
{
	const struct kept_meta *m = meta;
	struct gateway *gw = user;
	quota_kept_written(&gw->quota, m->key_id, m->ts_ms, m->tokens, m->cost, seg);
}

void durable_measure(struct gateway *gw, const struct config *c)
{
	long long backlog = spool_backlog_bytes(gw->spool.dir);
	__atomic_store_n(&gw->spool_backlog, backlog, __ATOMIC_RELAXED);
	long long warn = c->spool_max_bytes / 100 * c->spool_warn_percent;
	health_set(&gw->health, HEALTH_SPOOL_WARN, backlog >= warn,
		   "the unsettled usage spool holds %lld bytes, over %d%% of its cap of %lld ([settle] spool_max_bytes); is llmgate-settle running?",
		   backlog, c->spool_warn_percent, c->spool_max_bytes);
	health_set(&gw->health, HEALTH_SPOOL_FULL, backlog >= c->spool_max_bytes,
		   "the unsettled usage spool holds %lld bytes, at its cap of %lld: requests refused with 503 until llmgate-settle catches up",
		   backlog, c->spool_max_bytes);
}

void durable_tick(struct gateway *gw, const struct config *c)
{
	if (!gw->spool_ok)
		return;
	if (spool_kept_count(&gw->spool)) {
		size_t left = spool_retry(&gw->spool, kept_written, gw);
		health_set(&gw->health, HEALTH_PENDING, left > 0, NULL);
	}
	/* a full disk: is there space again? (a real allocation, not the
	 * space already held) */
	if (health_bits(&gw->health) & HEALTH_USAGE_STORE)
		health_set(&gw->health, HEALTH_USAGE_STORE, spool_probe(&gw->spool) != 0, NULL);
	int64_t now = pool_now_ms();
	if (now >= gw->next_measure_ms) {
		gw->next_measure_ms = now + DURABLE_MEASURE_MS;
		durable_measure(gw, c);
	}
}

cJSON *durable_health_json(struct gateway *gw, const struct config *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "backlog_bytes", (double)__atomic_load_n(&gw->spool_backlog, __ATOMIC_RELAXED));
	cJSON_AddNumberToObject(o, "max_bytes", (double)c->spool_max_bytes);
	cJSON_AddNumberToObject(o, "kept_records", (double)(gw->spool_ok ? spool_kept_count(&gw->spool) : 0));
	return o;
}

void durable_shutdown(struct gateway *gw)
{
	if (!gw->spool.dir)
		return;
	size_t left = spool_retry(&gw->spool, kept_written, gw);
	if (left) {
		long long tokens = 0;
		pthread_mutex_lock(&gw->spool.kept_mu);
		for (size_t i = 0; i < gw->spool.nkept; i++)
			tokens += ((const struct kept_meta *)gw->spool.kept[i].meta)->tokens;
		pthread_mutex_unlock(&gw->spool.kept_mu);
		log_err("USAGE LOST: %zu usage record%s (%lld tokens) could not be written to %s at shutdown (%s)",
			left, left == 1 ? "" : "s", tokens, gw->spool.dir,
			errtext(__atomic_load_n(&gw->spool.last_err, __ATOMIC_RELAXED)));
	}
	spool_close(&gw->spool);
}
