/* health.c — why the gateway is degraded: reasons set and cleared in one place. */
#include "autoconf.h"
#include "health.h"
#include "log.h"
#include <stdarg.h>
#include <stdio.h>

static const char *const names[HEALTH_NREASONS] = {
	"usage_store_unavailable", "spool_backlog_warning", "spool_backlog_full", "usage_records_pending",
	"store_unreadable", "shared_state_unavailable",
};

void health_init(struct health *h)
{
	pthread_mutex_init(&h->mu, NULL);
	h->bits = 0;
}

void health_free(struct health *h)
{
	pthread_mutex_destroy(&h->mu);
}

const char *health_name(enum health_reason reason)
{
	for (int i = 0; i < HEALTH_NREASONS; i++) {
		if (reason == 1u << i)
			return names[i];
	}
	return "unknown";
}

void health_set(struct health *h, enum health_reason reason, int on, const char *fmt, ...)
{
	/* a look without the lock first: this is called per request */
	unsigned was = __atomic_load_n(&h->bits, __ATOMIC_RELAXED);
	if (!!(was & reason) == !!on)
		return;
	pthread_mutex_lock(&h->mu);
	was = h->bits;
	int changed = !!(was & reason) != !!on;
	if (changed)
		__atomic_store_n(&h->bits, on ? was | reason : was & ~(unsigned)reason, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->mu);
	if (!changed)
		return;
	if (!on) {
		log_warn("health: %s cleared", health_name(reason));
		return;
	}
	char detail[300] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	log_err("health: degraded, %s%s%s", health_name(reason), detail[0] ? ": " : "", detail);
}

unsigned health_bits(struct health *h)
{
	return __atomic_load_n(&h->bits, __ATOMIC_RELAXED);
}

void health_reasons_json(struct health *h, cJSON *array)
{
	unsigned bits = health_bits(h);
	for (int i = 0; i < HEALTH_NREASONS; i++) {
		if (bits & (1u << i))
			cJSON_AddItemToArray(array, cJSON_CreateString(names[i]));
	}
}
