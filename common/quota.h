/* quota.h — per gateway key: budgets, rate limits and model allow-lists. */
#ifndef LLMGATE_QUOTA_H
#define LLMGATE_QUOTA_H
#include "auth.h"
#include "spool.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QUOTA_WINDOW_S 60

struct quota_unsettled {
	char seg[SPOOL_NAME_MAX];    /* the spool segment the records are in */
	char key_id[AUTH_ID_MAX];
	char month[8];               /* "YYYY-MM" */
	long long tokens;
	double cost;
};

struct quota_key;

struct quota {
	pthread_mutex_t mu;
	struct quota_key *keys;
	size_t nkeys;
	struct quota_unsettled *un;  /* usage this process recorded, not yet in the ledger */
	size_t nun;
	char *ledger_path;
	char *spool_dir;
	unsigned long ledger_gen;    /* bumps when ledger.db changes */
	unsigned long bad_gen;       /* ledger_gen of a ledger.db that could not be read */
	unsigned long checked_gen;   /* ledger_gen of a ledger.db read whole */
	struct timespec ledger_mtime;
	ino_t ledger_ino;
	int64_t next_check_ms;
};

/* QUOTA_UNAVAILABLE: the key has budgets and ledger.db cannot be read */
enum quota_verdict { QUOTA_OK = 0, QUOTA_MODEL = 403, QUOTA_LIMITED = 429, QUOTA_UNAVAILABLE = 503 };

struct quota_refusal {
	const char *code;            /* "insufficient_quota", "rate_limit_exceeded", "model_not_allowed" */
	char message[256];
	long retry_after_s;          /* 0 if not applicable */
};

void quota_init(struct quota *q, const char *state_dir);
void quota_free(struct quota *q);
/* Before a request: the key's allow-list, rate limits and budgets (ledger
 * plus what this process recorded and settle has not folded yet). On
 * QUOTA_OK the request is counted in the requests-per-minute window.
 * Thread-safe. */
enum quota_verdict quota_check(struct quota *q, const struct auth_entry *who, const char *model,
			       int64_t now_ms, struct quota_refusal *why);
/* After a request: its tokens and cost, and the spool segment its record
 * went to ("" if it could not be written). */
void quota_record(struct quota *q, const struct auth_entry *who, int64_t ts_ms, long long tokens,
		  double cost, const char *seg);
/* Does the allow-list (comma-separated, "prefix*" allowed; "" = all) admit model? */
int quota_model_allowed(const char *list, const char *model);
#endif
