/* quota_redis.h — a gateway key's limits kept in Redis, shared by every
 * gateway of a fleet (redis.h): budgets (all time and per UTC month), the
 * requests and tokens of the last minute, and the reservations of
 * requests in flight, each changed in one atomic step on the server (a Lua
 * script), so a budget is never exceeded by more than the requests
 * already in flight when it ran out, whichever node they are on.
 *
 * Keys, under the prefix: q:<key id>:all and q:<key id>:m:<YYYY-MM>
 * (hashes t = tokens, c = cost in 1e-9 currency units), q:<key id>:res
 * (reservation id -> "tokens cost expires_ms month": a lease; one whose
 * node died goes when it expires), q:<key id>:rpm and :tpm (sorted sets of
 * the last minute), q:<key id>:d:<tag> (a recorded usage's tag, so a
 * record sent twice counts once).
 *
 * The totals start from the ledger of the first node that checks the key
 * (seed), so a gateway moving to Redis keeps what its keys have spent. */
#ifndef LLMGATE_QUOTA_REDIS_H
#define LLMGATE_QUOTA_REDIS_H
#include "auth.h"
#include "redis.h"
#include <stdint.h>

#define QUOTA_RID_LEN 24     /* a reservation id, with the NUL */
#define QUOTA_COST_NANO 1e9  /* cost units per currency unit in Redis */

/* What the fleet's counters said of a request. */
enum quota_redis_code {
	QR_OK = 0, QR_RPM = 1, QR_TPM = 2, QR_TOKENS = 3, QR_COST = 4, QR_TOKENS_MONTH = 5, QR_COST_MONTH = 6
};
struct quota_redis_answer {
	enum quota_redis_code code;
	long reset_s;            /* QR_RPM, QR_TPM: until the window frees */
	long long used;          /* the count that did not fit (cost: 1e-9 units) */
};

/* Spent before Redis knew the key (its ledger totals on this node). */
struct quota_redis_seed {
	long long tokens, tokens_month;
	double cost, cost_month;
};

/* Check who's limits for a request that may spend ask_tokens/ask_cost
 * and, when it fits, reserve that (a lease of lease_ms, id written to
 * rid) and count the request in its minute. 0 with *a filled, or -1 when
 * Redis cannot be used (err says why; nothing was reserved). */
int quota_redis_reserve(struct redis *r, const struct auth_entry *who, const char *month, int64_t now_ms,
			long lease_ms, long long ask_tokens, double ask_cost, const struct quota_redis_seed *seed,
			char rid[QUOTA_RID_LEN], struct quota_redis_answer *a, char *err, size_t errlen);
/* What a request spent: it replaces its reservation rid ("" for none),
 * goes into the totals and the tokens of the minute. tag names this usage
 * once (a retry with the same tag counts nothing). */
struct quota_redis_usage {
	char key_id[AUTH_ID_MAX];
	char month[8];
	char rid[QUOTA_RID_LEN];
	char tag[QUOTA_RID_LEN];
	long long tokens;
	double cost;
	int64_t ts_ms;
};
#define QUOTA_REDIS_BATCH 64   /* usages per round trip */

/* Send u[0..n) (n <= QUOTA_REDIS_BATCH) in one round trip (one Lua
 * script). 0, or -1 when Redis cannot be used (err; none of them or all
 * of them were taken: a retry counts each once by its tag). */
int quota_redis_record(struct redis *r, const struct quota_redis_usage *u, size_t n, char *err, size_t errlen);
/* A new random tag or reservation id ("r" + 16 hex). */
void quota_redis_new_id(char out[QUOTA_RID_LEN]);
#endif
