/* health.h — why the gateway is degraded: a set of reasons, each set and
 * cleared in one place, logged once when it starts and once when it
 * clears (never per request), and shown by /health. */
#ifndef LLMGATE_HEALTH_H
#define LLMGATE_HEALTH_H
#include <cjson/cJSON.h>
#include <pthread.h>

enum health_reason {
	HEALTH_USAGE_STORE = 1u << 0,    /* usage records cannot be made durable (disk full, spool not writable) */
	HEALTH_SPOOL_WARN = 1u << 1,     /* the unsettled spool is over its warning level */
	HEALTH_SPOOL_FULL = 1u << 2,     /* the unsettled spool reached its cap: requests refused */
	HEALTH_PENDING = 1u << 3,        /* usage records kept in memory, waiting to be written */
	HEALTH_STORE_UNREADABLE = 1u << 4, /* state.db or ledger.db cannot be read */
	HEALTH_SHARED = 1u << 5,         /* the fleet's shared state (Redis) cannot be reached */
};
#define HEALTH_NREASONS 6

struct health {
	pthread_mutex_t mu;
	unsigned bits;
};

void health_init(struct health *h);
void health_free(struct health *h);
/* Set (on) or clear a reason. On a change, one log line: the reason's name
 * and detail (printf format; no secrets) when it starts, its name when it
 * clears. Thread-safe. */
void health_set(struct health *h, enum health_reason reason, int on, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The reasons set now (bitmask). */
unsigned health_bits(struct health *h);
/* The stable name of a reason ("usage_store_unavailable", ...). */
const char *health_name(enum health_reason reason);
/* Add the names of the reasons set now to array. */
void health_reasons_json(struct health *h, cJSON *array);
#endif
