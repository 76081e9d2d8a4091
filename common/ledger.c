/* ledger.c — settled usage totals in ledger.db: key names, values, folding records. */
#include "autoconf.h"
#include "ledger.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEDGER_COUNT_MAX 1000000000000000LL  /* a token count above this is garbage */
#define LEDGER_COST_DIGITS 12        /* fractional digits of LEDGER_COST_SCALE */
#define FOLD_MIN_CAP 64

/* ------------------------------------------------------------ key names */

static void utc_tm(int64_t ts_ms, struct tm *tm)
{
	time_t t = (time_t)(ts_ms > 0 ? ts_ms / 1000 : 0);
	gmtime_r(&t, tm);
}

void ledger_day(int64_t ts_ms, char out[LEDGER_DAY_LEN])
{
	struct tm tm;
	utc_tm(ts_ms, &tm);
	snprintf(out, LEDGER_DAY_LEN, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

void ledger_month(int64_t ts_ms, char out[LEDGER_MONTH_LEN])
{
	struct tm tm;
	utc_tm(ts_ms, &tm);
	snprintf(out, LEDGER_MONTH_LEN, "%04u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u);
}

__attribute__((format(printf, 3, 4)))
static int key_printf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	if (!out || outlen == 0)
		return -1;
	va_start(ap, fmt);
	int n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int ledger_key_day(char *out, size_t outlen, const char *key_id, const char *model, const char *day)
{
	return key_printf(out, outlen, "day:%s|%s|%s", key_id, model, day);
}

int ledger_key_month(char *out, size_t outlen, const char *key_id, const char *month)
{
	return key_printf(out, outlen, "month:%s|%s", key_id, month);
}

int ledger_key_key(char *out, size_t outlen, const char *key_id)
{
	return key_printf(out, outlen, "key:%s", key_id);
}

int ledger_key_model(char *out, size_t outlen, const char *model, const char *day)
{
	return key_printf(out, outlen, "model:%s|%s", model, day);
}

char *ledger_path(const char *state_dir)
{
	return xasprintf("%s/%s", state_dir, LEDGER_FILE);
}

/* ------------------------------------------------------------ values */

static long long sat_add(long long a, long long b)
{
	long long r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? LLONG_MAX : -LLONG_MAX;   /* symmetric: -x never overflows */
	return r;
}

void ledger_add(struct ledger_totals *into, const struct ledger_totals *d)
{
	into->requests = sat_add(into->requests, d->requests);
	into->prompt = sat_add(into->prompt, d->prompt);
	into->completion = sat_add(into->completion, d->completion);
	into->cached = sat_add(into->cached, d->cached);
	into->reasoning = sat_add(into->reasoning, d->reasoning);
	into->cost_units = sat_add(into->cost_units, d->cost_units);
	into->cost = (double)into->cost_units / (double)LEDGER_COST_SCALE;
	into->errors = sat_add(into->errors, d->errors);
	into->cache_hits = sat_add(into->cache_hits, d->cache_hits);
	into->estimated = sat_add(into->estimated, d->estimated);
}

/* A currency amount as exact units, rounded half away from zero (like
 * llround, without libm); saturates, NaN is 0. */
static long long cost_to_units(double v)
{
	if (v != v)
		return 0;
	double u = v * (double)LEDGER_COST_SCALE;
	if (u >= 9.2e18)
		return LLONG_MAX;
	if (u <= -9.2e18)
		return -LLONG_MAX;
	long long i = (long long)u;          /* toward zero */
	double frac = u - (double)i;         /* exact: both are close doubles */
	if (frac >= 0.5)
		i++;
	else if (frac <= -0.5)
		i--;
	return i;
}

/* The decimal text at p ("-12.345", no exponent) as exact units. Returns 0,
 * or -1 if it is not such a number or does not fit. */
static int decimal_to_units(const char *p, const char *end, long long *out)
{
	int neg = 0;
	long long ip = 0, fp = 0;
	int fdigits = 0, idigits = 0, round_up = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *p - '0', &ip))
			return -1;
		p++;
		idigits++;
	}
	if (!idigits)
		return -1;
	if (p < end && *p == '.') {
		p++;
		while (p < end && *p >= '0' && *p <= '9') {
			if (fdigits < LEDGER_COST_DIGITS) {
				fp = fp * 10 + (*p - '0');
				fdigits++;
			} else if (fdigits == LEDGER_COST_DIGITS) {
				round_up = *p >= '5';
				fdigits++;
			}
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E'))
		return -1;
	for (int i = fdigits; i < LEDGER_COST_DIGITS; i++)
		fp *= 10;
	long long u;
	if (__builtin_mul_overflow(ip, LEDGER_COST_SCALE, &u) || __builtin_add_overflow(u, fp + round_up, &u))
		return -1;
	*out = neg ? -u : u;
	return 0;
}

/* The "cost" member of a ledger value, read from its text so that no digit
 * is lost to a double. -1 if it is not there in plain decimal form. */
static int raw_cost(const char *json, size_t len, long long *out)
{
	static const char name[] = "\"cost\"";
	const char *end = json + len;
	const char *p = memmem(json, len, name, sizeof(name) - 1);
	if (!p)
		return -1;
	p += sizeof(name) - 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (p >= end || *p != ':')
		return -1;
	p++;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return decimal_to_units(p, end, out);
}

static long long count_of(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble || v->valuedouble < 0)
		return 0;
	if (v->valuedouble > (double)LEDGER_COUNT_MAX)
		return LEDGER_COUNT_MAX;
	return (long long)v->valuedouble;
}

int ledger_parse(const char *json, size_t len, struct ledger_totals *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	out->requests = count_of(j, "requests");
	out->prompt = count_of(j, "prompt");
	out->completion = count_of(j, "completion");
	out->cached = count_of(j, "cached");
	out->reasoning = count_of(j, "reasoning");
	out->errors = count_of(j, "errors");
	out->cache_hits = count_of(j, "cache_hits");
	out->estimated = count_of(j, "estimated");
	out->seq = count_of(j, "seq");
	if (raw_cost(json, len, &out->cost_units) != 0) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cost");
		out->cost_units = cJSON_IsNumber(c) ? cost_to_units(c->valuedouble) : 0;
	}
	out->cost = (double)out->cost_units / (double)LEDGER_COST_SCALE;
	cJSON_Delete(j);
	return 0;
}

char *ledger_format(const struct ledger_totals *t)
{
	long long u = t->cost_units;
	const char *sign = "";
	if (u < 0) {
		sign = "-";
		u = u == LLONG_MIN ? LLONG_MAX : -u;
	}
	return xasprintf("{\"requests\":%lld,\"prompt\":%lld,\"completion\":%lld,\"cached\":%lld,"
			 "\"reasoning\":%lld,\"cost\":%s%lld.%012lld,\"errors\":%lld,\"cache_hits\":%lld,"
			 "\"estimated\":%lld,\"seq\":%lld}",
			 t->requests, t->prompt, t->completion, t->cached, t->reasoning, sign,
			 u / LEDGER_COST_SCALE, u % LEDGER_COST_SCALE, t->errors, t->cache_hits, t->estimated,
			 t->seq);
}

int ledger_get(GDBM_FILE db, const char *key, struct ledger_totals *out)
{
	size_t len;
	char *v = store_get(db, key, &len);
	if (!v) {
		memset(out, 0, sizeof(*out));
		return errno == ENOENT ? 0 : -1;
	}
	int r = ledger_parse(v, len, out) == 0 ? 1 : -1;
	free(v);
	return r;
}

int ledger_put(GDBM_FILE db, const char *key, const struct ledger_totals *t)
{
	char *v = ledger_format(t);
	int r = store_put(db, key, v, strlen(v));
	free(v);
	return r;
}

struct each_ctx {
	int (*cb)(const char *key, const struct ledger_totals *t, void *user);
	void *user;
	int with_meta;
};

static int each_one(const char *key, const char *val, size_t vlen, void *user)
{
	struct each_ctx *x = user;
	struct ledger_totals t;
	if (!x->with_meta && !strncmp(key, "meta:", 5))
		return 0;
	if (ledger_parse(val, vlen, &t) != 0)
		return 0;
	return x->cb(key, &t, x->user);
}

int ledger_each(GDBM_FILE db, const char *prefix,
		int (*cb)(const char *key, const struct ledger_totals *t, void *user), void *user)
{
	struct each_ctx x = { cb, user, !strncmp(prefix, "meta:", 5) };
	return store_each(db, prefix, each_one, &x);
}

/* ------------------------------------------------------------ folding */

struct fold_entry {
	char *key;             /* NULL: free slot */
	struct ledger_totals t;
};

struct ledger_fold {
	struct fold_entry *tab;
	size_t cap;            /* a power of two */
	size_t n;
	long records;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct ledger_fold *ledger_fold_new(void)
{
	struct ledger_fold *f = xcalloc(1, sizeof(*f));
	f->cap = FOLD_MIN_CAP;
	f->tab = xcalloc(f->cap, sizeof(*f->tab));
	return f;
}

void ledger_fold_free(struct ledger_fold *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->cap; i++)
		free(f->tab[i].key);
	free(f->tab);
	free(f);
}

static struct fold_entry *slot_of(struct fold_entry *tab, size_t cap, const char *key)
{
	size_t i = (size_t)fnv1a(key) & (cap - 1);
	while (tab[i].key && strcmp(tab[i].key, key))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void grow(struct ledger_fold *f)
{
	size_t cap = f->cap * 2;
	struct fold_entry *tab = xcalloc(cap, sizeof(*tab));
	for (size_t i = 0; i < f->cap; i++) {
		if (f->tab[i].key)
			*slot_of(tab, cap, f->tab[i].key) = f->tab[i];
	}
	free(f->tab);
	f->tab = tab;
	f->cap = cap;
}

static void fold_add(struct ledger_fold *f, const char *key, const struct ledger_totals *d)
{
	if ((f->n + 1) * 2 > f->cap)
		grow(f);
	struct fold_entry *e = slot_of(f->tab, f->cap, key);
	if (!e->key) {
		e->key = xstrdup(key);
		memset(&e->t, 0, sizeof(e->t));
		f->n++;
	}
	ledger_add(&e->t, d);
}

/* A string member, cut to LEDGER_PART_MAX bytes; "-" when missing or empty. */
static void part_of(const cJSON *j, const char *name, char out[LEDGER_PART_MAX + 1])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	const char *s = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : "-";
	size_t n = strlen(s);
	if (n > LEDGER_PART_MAX)
		n = LEDGER_PART_MAX;
	memcpy(out, s, n);
	out[n] = '\0';
}

int ledger_record_parse(const char *line, size_t len, int64_t fallback_ts_ms, struct ledger_totals *d,
			char key_id[LEDGER_PART_MAX + 1], char model[LEDGER_PART_MAX + 1], int64_t *ts_ms,
			char **key_name)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	if (key_name)
		*key_name = NULL;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	part_of(j, "key_id", key_id);
	part_of(j, "model", model);
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
	*ts_ms = fallback_ts_ms;
	if (cJSON_IsNumber(ts) && ts->valuedouble >= 0 && ts->valuedouble < 1e15)
		*ts_ms = (int64_t)ts->valuedouble;
	d->requests = 1;
	d->prompt = count_of(j, "prompt");
	d->completion = count_of(j, "completion");
	d->cached = count_of(j, "cached");
	d->reasoning = count_of(j, "reasoning");
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(j, "cost");
	d->cost_units = cJSON_IsNumber(cost) ? cost_to_units(cost->valuedouble) : 0;
	d->cost = (double)d->cost_units / (double)LEDGER_COST_SCALE;
	d->errors = count_of(j, "status") >= 400;
	d->cache_hits = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "cache_hit"));
	d->estimated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "estimated"));
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "key_name");
	if (key_name && cJSON_IsString(name))
		*key_name = xstrdup(name->valuestring);
	cJSON_Delete(j);
	return 0;
}

int ledger_fold_line(struct ledger_fold *f, const char *line, size_t len, int64_t fallback_ts_ms)
{
	char key_id[LEDGER_PART_MAX + 1], model[LEDGER_PART_MAX + 1];
	char day[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN], key[LEDGER_KEY_MAX];
	struct ledger_totals d;
	int64_t ts_ms;
	if (ledger_record_parse(line, len, fallback_ts_ms, &d, key_id, model, &ts_ms, NULL) != 0)
		return -1;

	ledger_day(ts_ms, day);
	ledger_month(ts_ms, month);
	/* the parts are capped, so every key fits LEDGER_KEY_MAX */
	if (ledger_key_day(key, sizeof(key), key_id, model, day) == 0)
		fold_add(f, key, &d);
	if (ledger_key_month(key, sizeof(key), key_id, month) == 0)
		fold_add(f, key, &d);
	if (ledger_key_key(key, sizeof(key), key_id) == 0)
		fold_add(f, key, &d);
	if (ledger_key_model(key, sizeof(key), model, day) == 0)
		fold_add(f, key, &d);
	f->records++;
	return 0;
}

long ledger_fold_records(const struct ledger_fold *f)
{
	return f->records;
}

size_t ledger_fold_keys(const struct ledger_fold *f)
{
	return f->n;
}

int ledger_fold_get(const struct ledger_fold *f, const char *key, struct ledger_totals *out)
{
	const struct fold_entry *e = slot_of(f->tab, f->cap, key);
	if (!e->key) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	*out = e->t;
	return 1;
}

long ledger_fold_apply(const struct ledger_fold *f, GDBM_FILE db, long long seq)
{
	long changed = 0;
	for (size_t i = 0; i < f->cap; i++) {
		const struct fold_entry *e = &f->tab[i];
		if (!e->key)
			continue;
		struct ledger_totals t;
		int r = ledger_get(db, e->key, &t);
		if (r == 1 && t.seq >= seq)
			continue;   /* this commit is already in */
		if (r < 0) {
			/* never restart a total from zero: the fold is refused */
			log_err("ledger value of %s is malformed or unreadable; nothing folded", e->key);
			return -1;
		}
		ledger_add(&t, &e->t);
		t.seq = seq;
		if (ledger_put(db, e->key, &t) != 0) {
			log_err("cannot write %s to the ledger: %s", e->key, gdbm_strerror(gdbm_errno));
			return -1;
		}
		changed++;
	}
	return changed;
}
