/* quota.c — per gateway key: budgets, rate limits and model allow-lists. */
#include "autoconf.h"
#include "quota.h"
#include "ledger.h"
#include "log.h"
#include "pool.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define QUOTA_CHECK_MS 250

struct quota_key {
	char id[AUTH_ID_MAX];
	/* per-second buckets of the last minute */
	int64_t sec[QUOTA_WINDOW_S];
	unsigned req[QUOTA_WINDOW_S];
	long long tok[QUOTA_WINDOW_S];
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
	q->ledger_path = ledger_path(state_dir);
	q->spool_dir = xasprintf("%s/spool", state_dir);
	q->ledger_gen = 1;
}

void quota_free(struct quota *q)
{
	free(q->keys);
	free(q->un);
	free(q->ledger_path);
	free(q->spool_dir);
	pthread_mutex_destroy(&q->mu);
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

static int segment_pending(const char *dir, const char *seg)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s.open", dir, seg);
	if (stat(path, &st) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s.ready", dir, seg);
	return stat(path, &st) == 0;
}

/* Notice a changed ledger, and forget unsettled usage whose segment
 * settle has taken (it renames a segment only after the ledger holds it).
 * Our segments are taken oldest first, so only the oldest ones need a
 * look: at most a stat or two per check. With q->mu held. */
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
	}
	size_t drop = 0;
	while (drop < q->nun) {
		const char *seg = q->un[drop].seg;
		if (segment_pending(q->spool_dir, seg))
			break;
		while (drop < q->nun && !strcmp(q->un[drop].seg, seg))
			drop++;
	}
	if (drop) {
		memmove(q->un, q->un + drop, (q->nun - drop) * sizeof(*q->un));
		q->nun -= drop;
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

static void window_totals(const struct quota_key *k, int64_t now_s, unsigned *reqs, long long *toks,
			  long *reset_s)
{
	*reqs = 0;
	*toks = 0;
	int64_t oldest = now_s;
	for (int i = 0; i < QUOTA_WINDOW_S; i++) {
		if (k->sec[i] > now_s - QUOTA_WINDOW_S && k->sec[i] <= now_s) {
			*reqs += k->req[i];
			*toks += k->tok[i];
			if (k->sec[i] < oldest && (k->req[i] || k->tok[i]))
				oldest = k->sec[i];
		}
	}
	*reset_s = (long)(oldest + QUOTA_WINDOW_S - now_s);
	if (*reset_s < 1)
		*reset_s = 1;
}

static void bucket_add(struct quota_key *k, int64_t now_s, unsigned reqs, long long toks)
{
	int i = (int)(now_s % QUOTA_WINDOW_S);
	if (k->sec[i] != now_s) {
		k->sec[i] = now_s;
		k->req[i] = 0;
		k->tok[i] = 0;
	}
	k->req[i] += reqs;
	k->tok[i] += toks;
}

enum quota_verdict quota_check(struct quota *q, const struct auth_entry *who, const char *model,
			       int64_t now_ms, struct quota_refusal *why)
{
	enum quota_verdict v = QUOTA_OK;
	memset(why, 0, sizeof(*why));
	if (!quota_model_allowed(who->models, model)) {
		why->code = "model_not_allowed";
		snprintf(why->message, sizeof(why->message), "This key may not use model '%.80s' (allowed: %.120s).",
			 model, who->models);
		return QUOTA_MODEL;
	}
	int limited = who->rpm || who->tpm || who->tokens || who->tokens_month || who->cost > 0 || who->cost_month > 0;
	if (!limited)
		return QUOTA_OK;
	int64_t now_s = now_ms / 1000;
	char month[8];
	month_of(now_ms, month);
	pthread_mutex_lock(&q->mu);
	check_ledger(q, now_ms);
	struct quota_key *k = key_slot(q, who->id);
	unsigned reqs;
	long long toks;
	long reset;
	window_totals(k, now_s, &reqs, &toks, &reset);
	if (who->rpm && reqs >= (unsigned long)who->rpm) {
		why->code = "rate_limit_exceeded";
		why->retry_after_s = reset;
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld requests per minute for this key. It resets in %ld s.", who->rpm, reset);
		v = QUOTA_LIMITED;
		goto out;
	}
	if (who->tpm && toks >= who->tpm) {
		why->code = "rate_limit_exceeded";
		why->retry_after_s = reset;
		snprintf(why->message, sizeof(why->message),
			 "Rate limit reached: %ld tokens per minute for this key (used %lld). It resets in %ld s.",
			 who->tpm, toks, reset);
		v = QUOTA_LIMITED;
		goto out;
	}
	if (who->tokens || who->tokens_month || who->cost > 0 || who->cost_month > 0) {
		if (load_ledger(q, k, month) != 0) {
			why->code = "ledger_unavailable";
			why->retry_after_s = 60;
			snprintf(why->message, sizeof(why->message),
				 "This key has a budget and its usage cannot be checked now (the usage ledger cannot be read). Try again later.");
			v = QUOTA_UNAVAILABLE;
			goto out;
		}
		long long ut = 0, utm = 0;
		double uc = 0, ucm = 0;
		for (size_t i = 0; i < q->nun; i++) {
			if (strcmp(q->un[i].key_id, who->id))
				continue;
			ut += q->un[i].tokens;
			uc += q->un[i].cost;
			if (!strcmp(q->un[i].month, month)) {
				utm += q->un[i].tokens;
				ucm += q->un[i].cost;
			}
		}
		long long used_t = k->led_tokens + ut, used_tm = k->led_tokens_month + utm;
		double used_c = k->led_cost + uc, used_cm = k->led_cost_month + ucm;
		long to_month = seconds_to_next_month(now_ms);
		if (who->tokens && used_t >= who->tokens) {
			snprintf(why->message, sizeof(why->message),
				 "This key has used its token budget (%lld of %lld tokens). It does not reset.", used_t,
				 who->tokens);
		} else if (who->tokens_month && used_tm >= who->tokens_month) {
			why->retry_after_s = to_month;
			snprintf(why->message, sizeof(why->message),
				 "This key has used its monthly token budget (%lld of %lld tokens). It resets on the 1st of next month (UTC), in %ld s.",
				 used_tm, who->tokens_month, to_month);
		} else if (who->cost > 0 && used_c >= who->cost) {
			snprintf(why->message, sizeof(why->message),
				 "This key has used its cost budget (%.4f of %.4f). It does not reset.", used_c, who->cost);
		} else if (who->cost_month > 0 && used_cm >= who->cost_month) {
			why->retry_after_s = to_month;
			snprintf(why->message, sizeof(why->message),
				 "This key has used its monthly cost budget (%.4f of %.4f). It resets on the 1st of next month (UTC), in %ld s.",
				 used_cm, who->cost_month, to_month);
		}
		if (why->message[0]) {
			why->code = "insufficient_quota";
			v = QUOTA_LIMITED;
			goto out;
		}
	}
	bucket_add(k, now_s, 1, 0);
out:
	pthread_mutex_unlock(&q->mu);
	return v;
}

void quota_record(struct quota *q, const struct auth_entry *who, int64_t ts_ms, long long tokens,
		  double cost, const char *seg)
{
	/* tracked whatever the key's limits are now: limits can be added later */
	if (!tokens && cost <= 0)
		return;
	pthread_mutex_lock(&q->mu);
	struct quota_key *k = key_slot(q, who->id);
	bucket_add(k, pool_now_ms() / 1000, 0, tokens);
	if (seg && *seg) {
		char month[8];
		month_of(ts_ms, month);
		struct quota_unsettled *u = NULL;
		for (size_t i = q->nun; i > 0 && i + 64 > q->nun; i--) {
			struct quota_unsettled *c = &q->un[i - 1];
			if (!strcmp(c->seg, seg) && !strcmp(c->key_id, who->id) && !strcmp(c->month, month)) {
				u = c;
				break;
			}
		}
		if (!u) {
			q->un = xrealloc(q->un, (q->nun + 1) * sizeof(*q->un));
			u = &q->un[q->nun++];
			memset(u, 0, sizeof(*u));
			snprintf(u->seg, sizeof(u->seg), "%s", seg);
			snprintf(u->key_id, sizeof(u->key_id), "%s", who->id);
			memcpy(u->month, month, sizeof(u->month));
		}
		u->tokens += tokens;
		u->cost += cost;
	}
	pthread_mutex_unlock(&q->mu);
}
