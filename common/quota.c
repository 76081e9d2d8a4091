/* quota.c — per gateway key: budgets, rate limits and model allow-lists. */
#include "autoconf.h"
#include "quota.h"
#include "ledger.h"
#include "log.h"
#include "pool.h"
#include "qshare.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define QUOTA_CHECK_MS 250

static void flush_shared(struct quota *q);

struct quota_key {
	char id[AUTH_ID_MAX];
	/* settled totals from the ledger, as of ledger_gen */
	unsigned long gen;
	char month[8];
	long long led_tokens, led_tokens_month;
	double led_cost, led_cost_month;
	int loaded;
};

void quota_init(struct quota *q, const char *state_dir)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	q->state_dir = xstrdup(state_dir);
	q->ledger_path = ledger_path(state_dir);
	q->spool_dir = xasprintf("%s/spool", state_dir);
	q->ledger_gen = 1;
}

void quota_free(struct quota *q)
{
	quota_tick(q);
	free(q->keys);
	free(q->un);
	if (q->npend)
		log_warn("%zu usage records not taken by Redis; its counters miss them until they expire", q->npend);
	free(q->pend);
	qshare_close(q->shared);
	free(q->ledger_path);
	free(q->state_dir);
	free(q->spool_dir);
	pthread_mutex_destroy(&q->mu);
}

void quota_share(struct quota *q, struct redis *r, int closed, long lease_ms)
{
	q->redis = r;
	q->redis_closed = closed;
	q->lease_ms = lease_ms > 0 ? lease_ms : 900000;
}

int quota_model_allowed(const char *list, const char *model)
{
	if (!list || !*list)
		return 1;
	const char *p = list;
	size_t ml = strlen(model);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && t[-1] == ' ')
			t--;
		size_t n = (size_t)(t - p);
		if (n) {
			if (p[n - 1] == '*') {
				if (ml >= n - 1 && !strncmp(p, model, n - 1))
					return 1;
			} else if (n == ml && !strncmp(p, model, n)) {
				return 1;
			}
		}
		p = e;
	}
	return 0;
}

static void month_of(int64_t ms, char out[8])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, 8, "%Y-%m", &tm) == 0)
		memcpy(out, "0000-00", 8);
}

static long seconds_to_next_month(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mon += 1;
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	time_t next = timegm(&tm);
	return (long)(next - t);
}

/* with q->mu held */
static struct quota_key *key_slot(struct quota *q, const char *id)
{
	for (size_t i = 0; i < q->nkeys; i++) {
		if (!strcmp(q->keys[i].id, id))
			return &q->keys[i];
	}
	q->keys = xrealloc(q->keys, (q->nkeys + 1) * sizeof(*q->keys));
	struct quota_key *k = &q->keys[q->nkeys++];
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	return k;
}

/* Forget usage of this process's list whose segment settle has taken (it
 * renames a segment only after the ledger holds it). Our segments are
 * taken oldest first, so only the oldest ones need a look. With q->mu
 * held. */
static void forget_settled(struct quota *q)
{
	size_t drop = 0;
	while (drop < q->nun) {
		const char *seg = q->un[drop].seg;
		if (!*seg && !q->un[drop].tokens && q->un[drop].cost == 0) {
			drop++;   /* a kept record's usage, moved to its segment since */
			continue;
		}
		if (!*seg || spool_pending(q->spool_dir, seg))
			break;
		while (drop < q->nun && !strcmp(q->un[drop].seg, seg))
			drop++;
	}
	if (drop) {
		memmove(q->un, q->un + drop, (q->nun - drop) * sizeof(*q->un));
		q->nun -= drop;
	}
}

/* Notice a changed ledger. With q->mu held. */
static void check_ledger(struct quota *q, int64_t now)
{
	if (now < q->next_check_ms)
		return;
	q->next_check_ms = now + QUOTA_CHECK_MS;
	struct stat st;
	if (stat(q->ledger_path, &st) == 0 &&
	    (st.st_mtim.tv_sec != q->ledger_mtime.tv_sec || st.st_mtim.tv_nsec != q->ledger_mtime.tv_nsec ||
	     st.st_ino != q->ledger_ino)) {
		q->ledger_mtime = st.st_mtim;
		q->ledger_ino = st.st_ino;
		q->ledger_gen++;
	} else if (q->ledger_ino && errno == ENOENT && stat(q->ledger_path, &st) != 0) {
		/* removed (a damaged one, say): a new version too */
		q->ledger_ino = 0;
		q->ledger_gen++;
	}
}

/* 0 (absent counts as none spent), or -1 when the value cannot be read. */
static int read_totals(GDBM_FILE db, const char *key, long long *tokens, double *cost)
{
	struct ledger_totals t;
	*tokens = 0;
	*cost = 0;
	int r = ledger_get(db, key, &t);
	if (r == 1) {
		*tokens = t.prompt + t.completion;
		*cost = t.cost;
	}
	return r < 0 ? -1 : 0;
}

/* Settled totals of a key, refreshed when the ledger changed. With q->mu
 * held; the ledger is opened as a reader for a moment. Returns 0, or -1
 * when the ledger cannot be read and the key has no totals of this month
 * read before (its budgets cannot be checked). A read error never zeroes
 * totals: those read before stay, the error is logged once per version of
 * the ledger, and the next version is read again. */
static int load_ledger(struct quota *q, struct quota_key *k, const char *month)
{
	int have = k->loaded && !strcmp(k->month, month);
	if (have && k->gen == q->ledger_gen)
		return 0;
	if (q->bad_gen == q->ledger_gen)
		return have ? 0 : -1;
	long long t = 0, tm = 0;
	double c = 0, cm = 0;
	int cause = 0;
	char why[400];
	/* a version is read whole once before any value of it is believed: a
	 * file cut short can still answer "absent" for a key it lost */
	if (q->checked_gen != q->ledger_gen) {
		if (store_check(q->ledger_path, NULL, why, sizeof(why)) < 0)
			cause = errno;
		else
			q->checked_gen = q->ledger_gen;
	}
	GDBM_FILE db = cause ? NULL : store_open(q->ledger_path, STORE_READ, 20);
	if (db) {
		char key[160];
		ledger_key_key(key, sizeof(key), k->id);
		if (read_totals(db, key, &t, &c) != 0)
			cause = errno;
		ledger_key_month(key, sizeof(key), k->id, month);
		if (!cause && read_totals(db, key, &tm, &cm) != 0)
			cause = errno;
		store_close(db);
	} else if (!cause && errno != ENOENT) {
		cause = errno;
	}
	if (cause) {
		if (cause != EAGAIN) {
			log_err("%s cannot be read (%s): budgets are checked against the totals read before; keys with "
				"budgets and none read yet are refused until it can be read (llmgate-settle --verify)",
				q->ledger_path, store_strerror(cause == ENOENT ? STORE_EDAMAGED : cause));
			q->bad_gen = q->ledger_gen;
		}
		return have ? 0 : -1;
	}
	k->led_tokens = t;
	k->led_cost = c;
	k->led_tokens_month = tm;
	k->led_cost_month = cm;
	k->loaded = 1;
	k->gen = q->ledger_gen;
	snprintf(k->month, sizeof(k->month), "%s", month);
	return 0;
}


static struct qshare *shared_of(struct quota *q, const char *state_dir, int create);

/* Usage of a key without limits, in this process's list. */
static void keep_unsettled(struct quota *q, const char *key, const char *month, long long tokens, double cost,
			   const char *seg)
{
	if (!seg)
		seg = "";
	pthread_mutex_lock(&q->mu);
	struct quota_unsettled *u = NULL;
	for (size_t i = q->nun; i > 0 && i + 64 > q->nun; i--) {
		struct quota_unsettled *c = &q->un[i - 1];
		if (!strcmp(c->seg, seg) && !strcmp(c->key_id, key) && !strcmp(c->month, month)) {
			u = c;
			break;
		}
	}
	if (!u) {
		q->un = xrealloc(q->un, (q->nun + 1) * sizeof(*q->un));
		u = &q->un[q->nun++];
		memset(u, 0, sizeof(*u));
		snprintf(u->seg, sizeof(u->seg), "%s", seg);
		snprintf(u->key_id, sizeof(u->key_id), "%s", key);
		memcpy(u->month, month, sizeof(u->month));
	}
	u->tokens += tokens;
	u->cost += cost;
	pthread_mutex_unlock(&q->mu);
}

/* This process's list into the shared counters (what does not fit stays).
 * With q->mu and s locked. */
static void move_unsettled(struct quota *q, struct qshare *s)
{
	size_t kept = 0;
	for (size_t i = 0; i < q->nun; i++) {
		const struct quota_unsettled *u = &q->un[i];
		if (qshare_unsettled(s, u->key_id, u->month, u->tokens, u->cost, u->seg) != 0)
			q->un[kept++] = *u;
	}
	q->nun = kept;
}

void quota_tick(struct quota *q)
{
	if (q->redis && q->npend)
		flush_shared(q);
	pthread_mutex_lock(&q->mu);
	forget_settled(q);
	struct qshare *s = q->nun ? shared_of(q, q->state_dir, 0) : NULL;
	if (s) {
		qshare_lock(s);
		move_unsettled(q, s);
		qshare_unlock(s);
	}
	pthread_mutex_unlock(&q->mu);
}

int quota_has_limits(const struct auth_entry *who)
{
	return who->rpm || who->tpm || who->tokens || who->tokens_month || who->cost > 0 || who->cost_month > 0;
}

/* The shared counters, opened on first use; NULL (said once) when they
 * cannot be. With q->mu held. */
static struct qshare *shared_of(struct quota *q, const char *state_dir, int create)
{
	if (!q->shared) {
		char err[300];
		q->shared = qshare_open(state_dir, create, err, sizeof(err));
		if (!q->shared && create && !q->shared_err_logged) {
			q->shared_err_logged = 1;
			log_err("quota counters unavailable, keys with limits are refused: %s", err);
		} else if (q->shared && q->shared_err_logged) {
			q->shared_err_logged = 0;
			log_info("quota counters available again");
		}
	}
	return q->shared;
}

static enum quota_verdict refuse(struct quota_refusal *why, const char *code, long retry_after_s)
{
	why->code = code;
	why->retry_after_s = retry_after_s;
	return QUOTA_LIMITED;
}

/* Requests and tokens per minute. Locked. */
static enum quota_verdict check_window(struct qshare *s, const struct auth_entry *who, int64_t now_s,
				       const struct quota_ask *ask, struct quota_refusal *why)
{
	unsigned reqs;
	long long toks;
	long reset;
	qshare_window(s, who->id, now_s, &reqs, &toks, &reset);
	if (who->rpm && reqs >= (unsigned long)who->rpm) {
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld requests per minute for this key. It resets in %ld s.", who->rpm, reset);
		return refuse(why, "rate_limit_exceeded", reset);
	}
	if (who->tpm && toks > 0 && (toks >= who->tpm || toks + ask->tokens > who->tpm)) {
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld tokens per minute for this key (used or reserved %lld, this request "
			 "up to %lld). It resets in %ld s.", who->tpm, toks, ask->tokens, reset);
		return refuse(why, "rate_limit_exceeded", reset);
	}
	return QUOTA_OK;
}

/* One budget: spent (settled, unsettled and reserved) plus ask against
 * limit. 1 with why's message written when it does not fit. */
static int over_tokens(long long spent, long long ask, long long limit, const char *what, const char *resets,
		       struct quota_refusal *why)
{
	if (!limit || spent + ask <= limit)
		return 0;
	if (spent >= limit)
		snprintf(why->message, sizeof(why->message), "This key has used its %stoken budget (%lld of %lld tokens). %s",
			 what, spent, limit, resets);
	else
		snprintf(why->message, sizeof(why->message),
			 "This request may use up to %lld tokens (prompt estimate plus max_tokens) and this key has %lld "
			 "of its %stoken budget left (%lld used or reserved of %lld). Ask for fewer output tokens. %s",
			 ask, limit - spent, what, spent, limit, resets);
	return 1;
}

static int over_cost(double spent, double ask, double limit, const char *what, const char *resets,
		     struct quota_refusal *why)
{
	if (limit <= 0 || spent + ask <= limit)
		return 0;
	if (spent >= limit)
		snprintf(why->message, sizeof(why->message), "This key has used its %scost budget (%.4f of %.4f). %s", what,
			 spent, limit, resets);
	else
		snprintf(why->message, sizeof(why->message),
			 "This request may cost up to %.4f and this key has %.4f of its %scost budget left. %s", ask,
			 limit - spent, what, resets);
	return 1;
}

/* Budgets: ledger + the shared counters + ask. Locked. */
static enum quota_verdict check_budgets(struct quota *q, struct qshare *s, const struct auth_entry *who,
					const char *month, int64_t now_ms, const struct quota_ask *ask,
					struct quota_refusal *why)
{
	if (!who->tokens && !who->tokens_month && who->cost <= 0 && who->cost_month <= 0)
		return QUOTA_OK;
	struct quota_key *k = key_slot(q, who->id);
	if (load_ledger(q, k, month) != 0) {
		why->code = "ledger_unavailable";
		why->retry_after_s = 60;
		snprintf(why->message, sizeof(why->message),
			 "This key has a budget and its usage cannot be checked now (the usage ledger cannot be read). Try again later.");
		return QUOTA_UNAVAILABLE;
	}
	struct qshare_spent sp;
	qshare_spent(s, who->id, month, &sp);
	long to_month = seconds_to_next_month(now_ms);
	char monthly[96];
	snprintf(monthly, sizeof(monthly), "It resets on the 1st of next month (UTC), in %ld s.", to_month);
	if (over_tokens(k->led_tokens + sp.tokens, ask->tokens, who->tokens, "", "It does not reset.", why) ||
	    over_cost(k->led_cost + sp.cost, ask->cost, who->cost, "", "It does not reset.", why))
		return refuse(why, "insufficient_quota", 0);
	if (over_tokens(k->led_tokens_month + sp.tokens_month, ask->tokens, who->tokens_month, "monthly ", monthly, why) ||
	    over_cost(k->led_cost_month + sp.cost_month, ask->cost, who->cost_month, "monthly ", monthly, why))
		return refuse(why, "insufficient_quota", to_month);
	return QUOTA_OK;
}

static enum quota_verdict unavailable(struct quota_refusal *why, const char *what)
{
	why->code = "quota_unavailable";
	snprintf(why->message, sizeof(why->message),
		 "This key's limits cannot be checked right now (%s); the request was not sent.", what);
	return QUOTA_UNAVAILABLE;
}

/* The fleet's answer (quota_redis.h) as a verdict with its message. */
static enum quota_verdict shared_verdict(const struct auth_entry *who, const struct quota_ask *ask,
					 const struct quota_redis_answer *a, int64_t now_ms, struct quota_refusal *why)
{
	long to_month = seconds_to_next_month(now_ms);
	char monthly[96];
	snprintf(monthly, sizeof(monthly), "It resets on the 1st of next month (UTC), in %ld s.", to_month);
	double used_cost = (double)a->used / QUOTA_COST_NANO;
	switch (a->code) {
	case QR_OK:
		return QUOTA_OK;
	case QR_RPM:
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld requests per minute for this key. It resets in %ld s.", who->rpm, a->reset_s);
		return refuse(why, "rate_limit_exceeded", a->reset_s);
	case QR_TPM:
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld tokens per minute for this key (used or reserved %lld, this request "
			 "up to %lld). It resets in %ld s.", who->tpm, a->used, ask->tokens, a->reset_s);
		return refuse(why, "rate_limit_exceeded", a->reset_s);
	case QR_TOKENS:
		over_tokens(a->used, ask->tokens, who->tokens, "", "It does not reset.", why);
		return refuse(why, "insufficient_quota", 0);
	case QR_COST:
		over_cost(used_cost, ask->cost, who->cost, "", "It does not reset.", why);
		return refuse(why, "insufficient_quota", 0);
	case QR_TOKENS_MONTH:
		over_tokens(a->used, ask->tokens, who->tokens_month, "monthly ", monthly, why);
		return refuse(why, "insufficient_quota", to_month);
	case QR_COST_MONTH:
		over_cost(used_cost, ask->cost, who->cost_month, "monthly ", monthly, why);
		return refuse(why, "insufficient_quota", to_month);
	}
	return unavailable(why, "the shared counters gave an answer this gateway does not know");
}

/* The key's limits in Redis. 0 with *v, or -1 when Redis cannot be used
 * (nothing reserved). */
static int check_shared(struct quota *q, const struct auth_entry *who, const char *month, const struct quota_ask *ask,
			int64_t now_ms, struct quota_refusal *why, struct quota_hold *hold, enum quota_verdict *v)
{
	struct quota_redis_seed seed = { 0, 0, 0, 0 };
	if (who->tokens || who->tokens_month || who->cost > 0 || who->cost_month > 0) {
		/* what the key spent before Redis knew it: this node's ledger */
		pthread_mutex_lock(&q->mu);
		check_ledger(q, now_ms);
		struct quota_key *k = key_slot(q, who->id);
		if (load_ledger(q, k, month) == 0) {
			seed.tokens = k->led_tokens;
			seed.tokens_month = k->led_tokens_month;
			seed.cost = k->led_cost;
			seed.cost_month = k->led_cost_month;
		}
		pthread_mutex_unlock(&q->mu);
	}
	struct quota_redis_answer a;
	char err[200];
	if (quota_redis_reserve(q->redis, who, month, now_ms, q->lease_ms, ask->tokens, ask->cost, &seed, hold->rid, &a,
				err, sizeof(err)) != 0) {
		hold->rid[0] = '\0';
		log_debug("shared limits of key %s not checked: %s", who->id, err);
		return -1;
	}
	*v = shared_verdict(who, ask, &a, now_ms, why);
	if (*v != QUOTA_OK)
		hold->rid[0] = '\0';
	return 0;
}

/* Usage onto the list quota_tick sends to Redis (no round trip on the
 * request path; until then the request's reservation stands for it). */
static void record_shared(struct quota *q, const char *key_id, const char *month, int64_t ts_ms, const char *rid,
			  long long tokens, double cost)
{
	pthread_mutex_lock(&q->mu);
	if (q->npend < QUOTA_PENDING_MAX) {
		q->pend = xrealloc(q->pend, (q->npend + 1) * sizeof(*q->pend));
		struct quota_redis_usage *p = &q->pend[q->npend++];
		snprintf(p->key_id, sizeof(p->key_id), "%s", key_id);
		memcpy(p->month, month, sizeof(p->month));
		snprintf(p->rid, sizeof(p->rid), "%s", rid ? rid : "");
		if (rid && *rid)
			snprintf(p->tag, sizeof(p->tag), "%s", rid);
		else
			quota_redis_new_id(p->tag);
		p->tokens = tokens;
		p->cost = cost;
		p->ts_ms = ts_ms;
	} else {
		log_err("usage of key %s not taken by Redis and the list waiting for it is full", key_id);
	}
	pthread_mutex_unlock(&q->mu);
}

/* Send the waiting usage to Redis, QUOTA_REDIS_BATCH per round trip,
 * while it answers; what it did not take waits for the next tick. */
static void flush_shared(struct quota *q)
{
	pthread_mutex_lock(&q->mu);
	struct quota_redis_usage *p = q->pend;
	size_t n = q->npend;
	q->pend = NULL;
	q->npend = 0;
	pthread_mutex_unlock(&q->mu);
	size_t i = 0;
	char err[200];
	while (i < n) {
		size_t k = n - i < QUOTA_REDIS_BATCH ? n - i : QUOTA_REDIS_BATCH;
		if (quota_redis_record(q->redis, p + i, k, err, sizeof(err)) != 0)
			break;
		i += k;
	}
	if (i < n) {   /* put the rest back in front of what came meanwhile */
		pthread_mutex_lock(&q->mu);
		p = xrealloc(p, (n - i + q->npend) * sizeof(*p));
		memmove(p, p + i, (n - i) * sizeof(*p));
		if (q->npend)
			memcpy(p + (n - i), q->pend, q->npend * sizeof(*p));
		free(q->pend);
		q->pend = p;
		q->npend += n - i;
		q->pend_failed = 1;
		pthread_mutex_unlock(&q->mu);
	} else {
		if (n && q->pend_failed)
			log_info("%zu usage records waiting for Redis taken", n);
		q->pend_failed = 0;
		free(p);
	}
}

enum quota_verdict quota_check_model(const struct auth_entry *who, const char *model, struct quota_refusal *why)
{
	memset(why, 0, sizeof(*why));
	if (quota_model_allowed(who->models, model))
		return QUOTA_OK;
	why->code = "model_not_allowed";
	snprintf(why->message, sizeof(why->message), "This key may not use model '%.80s' (allowed: %.120s).",
		 model, who->models);
	return QUOTA_MODEL;
}

enum quota_verdict quota_check(struct quota *q, const struct auth_entry *who, const char *model,
			       const struct quota_ask *ask, int64_t now_ms, struct quota_refusal *why,
			       struct quota_hold *hold)
{
	static const struct quota_ask none = { 0, 0 };
	memset(why, 0, sizeof(*why));
	hold->slot = 0;
	if (!ask)
		ask = &none;
	if (quota_check_model(who, model, why) != QUOTA_OK)
		return QUOTA_MODEL;
	if (!quota_has_limits(who))
		return QUOTA_OK;
	char month[8];
	month_of(now_ms, month);
	enum quota_verdict v;
	if (q->redis) {
		if (check_shared(q, who, month, ask, now_ms, why, hold, &v) == 0)
			return v;
		if (q->redis_closed)
			return unavailable(why, "the shared state (Redis) cannot be reached");
	}
	pthread_mutex_lock(&q->mu);
	check_ledger(q, now_ms);
	struct qshare *s = shared_of(q, q->state_dir, 1);
	if (!s) {
		v = unavailable(why, "the shared counters could not be opened");
	} else {
		qshare_lock(s);
		move_unsettled(q, s);
		qshare_prune(s, q->spool_dir, now_ms, q->pruned_gen != q->ledger_gen);
		q->pruned_gen = q->ledger_gen;
		v = check_window(s, who, now_ms / 1000, ask, why);
		if (v == QUOTA_OK)
			v = check_budgets(q, s, who, month, now_ms, ask, why);
		if (v == QUOTA_OK) {
			int slot = qshare_reserve(s, who->id, month, ask->tokens, ask->cost, now_ms);
			if (slot < 0)
				v = unavailable(why, "too many requests in flight");
			else
				hold->slot = slot + 1;
		}
		qshare_unlock(s);
	}
	pthread_mutex_unlock(&q->mu);
	return v;
}

void quota_record(struct quota *q, const struct auth_entry *who, int64_t ts_ms, long long tokens,
		  double cost, const char *seg, struct quota_hold *hold)
{
	int slot = hold ? hold->slot : 0;
	if (hold)
		hold->slot = 0;
	char month[8];
	month_of(ts_ms, month);
	if (q->redis && ((hold && hold->rid[0]) || quota_has_limits(who))) {
		/* the fleet's counters; this node keeps its own as well, for
		 * the time Redis may be away */
		record_shared(q, who->id, month, ts_ms, hold ? hold->rid : "", tokens, cost);
		if (hold)
			hold->rid[0] = '\0';
		if (!slot) {
			if (tokens || cost > 0)
				keep_unsettled(q, who->id, month, tokens, cost, seg);
			return;
		}
	}
	if (!slot && !quota_has_limits(who)) {
		if (tokens || cost > 0)
			keep_unsettled(q, who->id, month, tokens, cost, seg);
		return;
	}
	pthread_mutex_lock(&q->mu);
	struct qshare *s = shared_of(q, q->state_dir, 1);
	if (s) {
		qshare_lock(s);
		if (qshare_settle(s, slot - 1, who->id, month, tokens, cost, seg, pool_now_ms()) != 0)
			log_err("quota counters full: usage of key %s counts only once settled", who->id);
		qshare_unlock(s);
	}
	pthread_mutex_unlock(&q->mu);
}

void quota_kept_written(struct quota *q, const char *key_id, int64_t ts_ms, long long tokens, double cost,
			const char *seg)
{
	if (!tokens && cost <= 0)
		return;
	char month[8];
	month_of(ts_ms, month);
	/* through this process's list, which goes to the shared counters
	 * (where the "" usage may be by now) before any check of a key with
	 * limits, so the two always meet */
	keep_unsettled(q, key_id, month, -tokens, -cost, "");
	keep_unsettled(q, key_id, month, tokens, cost, seg);
}

void quota_release(struct quota *q, const struct auth_entry *who, struct quota_hold *hold)
{
	if (hold && (hold->slot || hold->rid[0]))
		quota_record(q, who, pool_now_ms(), 0, 0, "", hold);
}

int quota_spent(struct quota *q, const struct auth_entry *who, int64_t now_ms, struct quota_spent *out)
{
	char month[8];
	month_of(now_ms, month);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&q->mu);
	check_ledger(q, now_ms);
	struct quota_key *k = key_slot(q, who->id);
	int rc = load_ledger(q, k, month);
	if (rc == 0) {
		out->tokens = k->led_tokens;
		out->cost = k->led_cost;
		out->tokens_month = k->led_tokens_month;
		out->cost_month = k->led_cost_month;
	}
	struct qshare *s = shared_of(q, q->state_dir, 0);
	if (s) {
		struct qshare_spent sp;
		qshare_lock(s);
		qshare_spent(s, who->id, month, &sp);
		qshare_unlock(s);
		out->tokens += sp.tokens;
		out->cost += sp.cost;
		out->tokens_month += sp.tokens_month;
		out->cost_month += sp.cost_month;
	}
	for (size_t i = 0; i < q->nun; i++) {
		const struct quota_unsettled *u = &q->un[i];
		if (strcmp(u->key_id, who->id))
			continue;
		out->tokens += u->tokens;
		out->cost += u->cost;
		if (!strcmp(u->month, month)) {
			out->tokens_month += u->tokens;
			out->cost_month += u->cost;
		}
	}
	snprintf(out->month, sizeof(out->month), "%s", month);
	pthread_mutex_unlock(&q->mu);
	return rc;
}
