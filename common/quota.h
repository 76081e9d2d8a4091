/* quota.h — per gateway key: budgets, rate limits and model allow-lists. */
#ifndef LLMGATE_QUOTA_H
#define LLMGATE_QUOTA_H
#include "auth.h"
#include "quota_redis.h"
#include "spool.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct quota_unsettled {
	char seg[SPOOL_NAME_MAX];    /* the spool segment the records are in */
	char key_id[AUTH_ID_MAX];
	char month[8];               /* "YYYY-MM" */
	long long tokens;
	double cost;
};

struct quota_key;
struct qshare;

struct quota {
	pthread_mutex_t mu;
	struct quota_key *keys;
	size_t nkeys;
	struct quota_unsettled *un;  /* usage of keys without limits this process recorded,
				      * until moved to the shared counters (or settled) */
	size_t nun;
	struct qshare *shared;       /* counters of every process (qshare.h), opened on first use */
	int shared_err_logged;
	unsigned long pruned_gen;    /* ledger_gen when the shared counters were last pruned */
	char *state_dir;
	char *ledger_path;
	char *spool_dir;
	unsigned long ledger_gen;    /* bumps when ledger.db changes */
	unsigned long bad_gen;       /* ledger_gen of a ledger.db that could not be read */
	unsigned long checked_gen;   /* ledger_gen of a ledger.db read whole */
	struct timespec ledger_mtime;
	ino_t ledger_ino;
	int64_t next_check_ms;
	/* shared by a fleet (quota_redis.h): NULL when this node is alone */
	struct redis *redis;
	int redis_closed;            /* Redis away: refuse keys with limits (else keep them locally) */
	long lease_ms;               /* a reservation in Redis lasts this long at most */
	struct quota_redis_usage *pend;  /* usage on its way to Redis: sent by quota_tick, off the request path */
	size_t npend;
	int pend_failed;             /* the last send failed (Redis away) */
};

#define QUOTA_PENDING_MAX 100000

enum quota_verdict { QUOTA_OK = 0, QUOTA_MODEL = 403, QUOTA_LIMITED = 429, QUOTA_UNAVAILABLE = 503 };

/* What a request may spend at most, reserved while it runs: its prompt
 * estimate plus the most output it asked for (estimate.h). */
struct quota_ask {
	long long tokens;
	double cost;
};

/* A request's reservation; zeroed means none. */
struct quota_hold {
	int slot;                    /* the shared table's handle + 1; 0: none */
	char rid[QUOTA_RID_LEN];     /* the reservation in Redis, or "" */
};

struct quota_refusal {
	const char *code;            /* "insufficient_quota", "rate_limit_exceeded", "model_not_allowed" */
	char message[384];
	long retry_after_s;          /* 0 if not applicable */
};

void quota_init(struct quota *q, const char *state_dir);
/* Keep limits in Redis, shared with the fleet (r stays the caller's).
 * closed: while Redis cannot be reached, keys with limits are refused
 * (503) instead of being checked against this node's own state. */
void quota_share(struct quota *q, struct redis *r, int closed, long lease_ms);
void quota_free(struct quota *q);
/* Before a request: the key's allow-list, rate limits and budgets. With
 * Redis (quota_share) they are the fleet's, checked and reserved in one
 * step on the server; when it cannot be reached, this node's own (below),
 * or a refusal when shared limits are to fail closed. What is
 * spent counts the ledger, the usage every process of this state folder
 * recorded and settle has not folded yet, and the reservations of every
 * request in flight; the request is admitted only when its own worst case
 * (ask) fits too, so a budget is never exceeded by requests whose output
 * is bounded by their ask. Tokens per minute: admitted when the window's
 * tokens plus reservations plus ask fit, or when the key has nothing in
 * its window (a lone request larger than the limit is not locked out).
 * On QUOTA_OK a key with limits has ask reserved in *hold and the request
 * counted in its requests-per-minute window; quota_record or
 * quota_release ends the reservation. QUOTA_UNAVAILABLE: the shared
 * counters cannot be used (no space, full tables), so a key with limits is
 * refused rather than served unchecked. Thread-safe. */
enum quota_verdict quota_check(struct quota *q, const struct auth_entry *who, const char *model,
			       const struct quota_ask *ask, int64_t now_ms, struct quota_refusal *why,
			       struct quota_hold *hold);
/* The key's allow-list alone (what quota_check checks first): QUOTA_OK,
 * or QUOTA_MODEL with why filled. Nothing is reserved or counted. */
enum quota_verdict quota_check_model(const struct auth_entry *who, const char *model, struct quota_refusal *why);
/* After a request: its tokens and cost replace its reservation, as usage
 * of the spool segment its record went to ("" if it could not be written:
 * then it counts while this process lives). hold may be NULL. A key
 * without limits and without a reservation is counted in this process
 * only (no shared lock per request), and moved to the shared counters by
 * quota_tick or by this process's next check of a key with limits, so a
 * limit set on a busy key counts what it spent before. */
void quota_record(struct quota *q, const struct auth_entry *who, int64_t ts_ms, long long tokens,
		  double cost, const char *seg, struct quota_hold *hold);
/* A record kept in memory (recorded with seg "") was written to segment
 * seg: its usage moves there, and goes once settle has taken seg. */
void quota_kept_written(struct quota *q, const char *key_id, int64_t ts_ms, long long tokens, double cost,
			const char *seg);
/* Housekeeping, about once a second and before exit: move this
 * process's usage of keys without limits to the shared counters when they
 * exist, and forget what settle has taken. */
void quota_tick(struct quota *q);
/* End a reservation without usage (the request ended before it was sent). */
void quota_release(struct quota *q, const struct auth_entry *who, struct quota_hold *hold);
/* What a key spent, as its budgets count it: the ledger, the usage every
 * process recorded that settle has not folded yet, and what requests in
 * flight hold reserved. */
struct quota_spent {
	long long tokens, tokens_month;
	double cost, cost_month;
	char month[8];               /* "YYYY-MM" (UTC) */
};
/* The key's spending now into out: 0, or -1 when the ledger cannot be
 * read (out then holds only what is not settled yet). Thread-safe. */
int quota_spent(struct quota *q, const struct auth_entry *who, int64_t now_ms, struct quota_spent *out);
/* Has the key any rate limit or budget (else quota_check only checks its
 * allow-list, and nothing is reserved or counted)? */
int quota_has_limits(const struct auth_entry *who);
/* Does the allow-list (comma-separated, "prefix*" allowed; "" = all) admit model? */
int quota_model_allowed(const char *list, const char *model);
#endif
