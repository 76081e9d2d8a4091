/* admin.c — the admin API behind www/: setup, login, settings, keys, upstream keys, usage. */
#include "autoconf.h"
#include "admin.h"
#include "auth.h"
#include "ini.h"
#include "log.h"
#include "pool.h"
#include "pwhash.h"
#include "settings.h"
#include "settle.h"
#include "sha256.h"
#include "spool.h"
#include "store.h"
#include "upkey.h"
#include "xmalloc.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* limits of what the API takes */
#define LABEL_LEN 64                /* an upstream key label, with the NUL (as upkey.c) */
#define UPKEY_MIN_LEN 8             /* shorter is surely not a provider's key */
#define LIMIT_MAX 1e15
#define POOLS_FILE_MAX (4u << 20)
#define POOLS_STALE_S 120           /* a pools file older than this is ignored */
#define LEDGER_PART_LEN 200         /* as ledger.c keeps key ids and models */
#define COUNT_MAX 1000000000000000LL
#define HEADERS_MAX 1536            /* extra response headers */

#define SESSION_PREFIX "admin:session:"
#define PASSWORD_KEY "admin:password"
#define THROTTLE_KEY "admin:throttle"         /* all addresses */
#define THROTTLE_ADDR_PREFIX "admin:throttle:" /* one address (admin_client_addr) */
#define SETTINGS_KEY "settings"
#define UPKEY_PREFIX "upkey:"
#define GWKEY_PREFIX "gwkey:"

static const char *const JSON_TYPE = "application/json; charset=utf-8";
/* every answer: never cached, never sniffed, never framed (clickjacking) */
static const char *const BASE_HEADERS = "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
					"Content-Security-Policy: frame-ancestors 'none'\r\nX-Frame-Options: DENY\r\n";

/* ================================================================ pure pieces */

const char *admin_api_path(const char *path, const char *path_info)
{
	const char *m = path ? strstr(path, ADMIN_API_MOUNT) : NULL;
	if (m)
		return m + strlen(ADMIN_API_MOUNT);
	if (path_info && path_info[0] == '/')
		return path_info + 1;
	return NULL;
}

int admin_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	if (!header)
		return 0;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nl && !strncmp(p, name, nl)) {
			const char *v = eq + 1, *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= outlen)
				return 0;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

int admin_csv_field(struct buf *b, const char *s)
{
	/* "-" alone is harmless (the key id of unauthenticated records) */
	int lead = s[0] && s[1] && strchr("=+-@\t\r", s[0]) != NULL;
	if (!lead && !strpbrk(s, ",\"\r\n"))
		return buf_puts(b, s);
	if (buf_puts(b, lead ? "\"'" : "\"") != 0)
		return -1;
	for (const char *p = s; *p; p++) {
		if (buf_append(b, p, 1) != 0 || (*p == '"' && buf_append(b, "\"", 1) != 0))
			return -1;
	}
	return buf_puts(b, "\"");
}

/* When t's failures are forgotten (admin.h: until is the lock's end
 * from ADMIN_THROTTLE_FAILURES on). */
static int64_t throttle_forget(const struct admin_throttle *t)
{
	return t->failures >= ADMIN_THROTTLE_FAILURES ? t->until + ADMIN_THROTTLE_WINDOW_S : t->until;
}

long admin_throttle_wait(const struct admin_throttle *t, int64_t now)
{
	if (t->failures < ADMIN_THROTTLE_FAILURES || t->until <= now)
		return 0;
	return (long)(t->until - now);
}

void admin_throttle_fail(struct admin_throttle *t, int64_t now)
{
	if (t->failures <= 0 || now >= throttle_forget(t))
		t->failures = 0;
	if (t->failures < LONG_MAX)
		t->failures++;
	if (t->failures < ADMIN_THROTTLE_FAILURES) {
		t->until = now + ADMIN_THROTTLE_WINDOW_S;
		return;
	}
	int64_t lock = ADMIN_THROTTLE_BASE_S;
	for (long i = ADMIN_THROTTLE_FAILURES; i < t->failures && lock < ADMIN_THROTTLE_MAX_S; i++)
		lock *= 2;
	if (lock > ADMIN_THROTTLE_MAX_S)
		lock = ADMIN_THROTTLE_MAX_S;
	t->until = now + lock;
}

void admin_throttle_global_fail(struct admin_throttle *g, int64_t now)
{
	if (g->failures <= 0 || now >= g->until)
		g->failures = 0;
	if (g->failures < LONG_MAX)
		g->failures++;
	g->until = now + ADMIN_THROTTLE_WINDOW_S;
}

long admin_login_wait(const struct admin_throttle *a, const struct admin_throttle *g, int64_t now)
{
	long own = admin_throttle_wait(a, now);
	if (own > 0)
		return own;
	int ceiling = g->failures >= ADMIN_THROTTLE_GLOBAL_FAILURES && g->until > now;
	int failed_recently = a->failures > 0 && throttle_forget(a) > now;
	return ceiling && failed_recently ? (long)(g->until - now) : 0;
}

void admin_client_addr(const char *remote_addr, char *out, size_t outlen)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	const char *name = "unknown";
	if (remote_addr && inet_pton(AF_INET, remote_addr, a) == 1) {
		name = inet_ntop(AF_INET, a, text, sizeof(text));
	} else if (remote_addr && inet_pton(AF_INET6, remote_addr, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(a, mapped, sizeof(mapped))) {
			name = inet_ntop(AF_INET, a + 12, text, sizeof(text));
		} else {
			memset(a + 8, 0, 8);
			if (inet_ntop(AF_INET6, a, text, sizeof(text) - 4)) {
				strcat(text, "/64");
				name = text;
			}
		}
	}
	snprintf(out, outlen, "%s", name ? name : "unknown");
}

/* ------------------------------------------------------------ validation */

#define VFAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int admin_settings_validate(const cJSON *doc, char *err, size_t errlen)
{
	return settings_check_state(doc, err, errlen);
}

int admin_limits_validate(const cJSON *limits, char *err, size_t errlen)
{
	static const char *const ints[] = { "rpm", "tpm", "tokens", "tokens_month", NULL };
	static const char *const nums[] = { "cost", "cost_month", NULL };
	static const char *const known[] = { "rpm", "tpm", "tokens", "tokens_month", "cost", "cost_month", "models",
					     NULL };
	const cJSON *v;
	if (!cJSON_IsObject(limits))
		VFAIL("limits must be an object {rpm, tpm, tokens, tokens_month, cost, cost_month, models}");
	if (settings_members_known(limits, known, "limits", err, errlen))
		return -1;
	for (const char *const *n = ints; *n; n++) {
		if ((v = cJSON_GetObjectItemCaseSensitive(limits, *n)) && !settings_int_in(v, 0, LIMIT_MAX))
			VFAIL("limits.%s must be a whole number, 0 for none", *n);
	}
	for (const char *const *n = nums; *n; n++) {
		v = cJSON_GetObjectItemCaseSensitive(limits, *n);
		if (v && (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= LIMIT_MAX)))
			VFAIL("limits.%s must be a number, 0 for none", *n);
	}
	v = cJSON_GetObjectItemCaseSensitive(limits, "models");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= AUTH_MODELS_MAX ||
		  (*v->valuestring && !settings_text_ok(v->valuestring, AUTH_MODELS_MAX, 0))))
		VFAIL("limits.models must be a comma-separated list of models under %d characters (\"\" = all)",
		      AUTH_MODELS_MAX);
	return 0;
}

#undef VFAIL

/* ================================================================ usage table */

/* string -> index, open addressing */
struct smap {
	char **k;
	size_t *v;
	size_t cap;   /* a power of two, or 0 */
	size_t n;
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

static size_t smap_slot(char **k, size_t cap, const char *key)
{
	size_t i = (size_t)fnv1a(key) & (cap - 1);
	while (k[i] && strcmp(k[i], key))
		i = (i + 1) & (cap - 1);
	return i;
}

static int smap_get(const struct smap *m, const char *key, size_t *out)
{
	if (!m->cap)
		return 0;
	size_t i = smap_slot(m->k, m->cap, key);
	if (!m->k[i])
		return 0;
	*out = m->v[i];
	return 1;
}

static void smap_put(struct smap *m, const char *key, size_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		char **k = xcalloc(cap, sizeof(*k));
		size_t *v = xcalloc(cap, sizeof(*v));
		for (size_t i = 0; i < m->cap; i++) {
			if (m->k[i]) {
				size_t j = smap_slot(k, cap, m->k[i]);
				k[j] = m->k[i];
				v[j] = m->v[i];
			}
		}
		free(m->k);
		free(m->v);
		m->k = k;
		m->v = v;
		m->cap = cap;
	}
	size_t i = smap_slot(m->k, m->cap, key);
	if (!m->k[i]) {
		m->k[i] = xstrdup(key);
		m->n++;
	}
	m->v[i] = val;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->k[i]);
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

struct urow {
	char *day;
	char *key_id;
	char *model;
	struct ledger_totals t;
};

struct ukey {
	char *id;
	char *name;
	struct ledger_totals settled, settled_month, unsettled, unsettled_month;
	int64_t last_ms;
	char last_day[LEDGER_DAY_LEN];
};

struct admin_usage {
	char from[LEDGER_DAY_LEN];
	char to[LEDGER_DAY_LEN];
	char month[LEDGER_MONTH_LEN];
	struct urow *rows;
	size_t nrows;
	struct smap rmap;
	struct ukey *keys;
	size_t nkeys;
	struct smap kmap;
	long records;
};

struct admin_usage *admin_usage_new(const char *from_day, const char *to_day, const char *month)
{
	struct admin_usage *u = xcalloc(1, sizeof(*u));
	snprintf(u->from, sizeof(u->from), "%s", from_day ? from_day : "");
	snprintf(u->to, sizeof(u->to), "%s", to_day ? to_day : "");
	snprintf(u->month, sizeof(u->month), "%s", month ? month : "");
	return u;
}

void admin_usage_free(struct admin_usage *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nrows; i++) {
		free(u->rows[i].day);
		free(u->rows[i].key_id);
		free(u->rows[i].model);
	}
	for (size_t i = 0; i < u->nkeys; i++) {
		free(u->keys[i].id);
		free(u->keys[i].name);
	}
	free(u->rows);
	free(u->keys);
	smap_free(&u->rmap);
	smap_free(&u->kmap);
	free(u);
}

static struct ukey *key_slot(struct admin_usage *u, const char *id)
{
	size_t i;
	if (smap_get(&u->kmap, id, &i))
		return &u->keys[i];
	u->keys = xrealloc(u->keys, (u->nkeys + 1) * sizeof(*u->keys));
	struct ukey *k = &u->keys[u->nkeys];
	memset(k, 0, sizeof(*k));
	k->id = xstrdup(id);
	smap_put(&u->kmap, id, u->nkeys++);
	return k;
}

static void add_row(struct admin_usage *u, const char *day, const char *key_id, const char *model,
		    const struct ledger_totals *t)
{
	if ((u->from[0] && strcmp(day, u->from) < 0) || (u->to[0] && strcmp(day, u->to) > 0))
		return;
	/* \x1f cannot occur in a day, and the parts are compared whole below */
	char *composite = xasprintf("%s\x1f%s\x1f%s", day, key_id, model);
	size_t i;
	if (!smap_get(&u->rmap, composite, &i)) {
		u->rows = xrealloc(u->rows, (u->nrows + 1) * sizeof(*u->rows));
		struct urow *r = &u->rows[u->nrows];
		memset(r, 0, sizeof(*r));
		r->day = xstrdup(day);
		r->key_id = xstrdup(key_id);
		r->model = xstrdup(model);
		i = u->nrows++;
		smap_put(&u->rmap, composite, i);
	}
	free(composite);
	ledger_add(&u->rows[i].t, t);
}

static int day_ok(const char *s, size_t n)
{
	if (n != LEDGER_DAY_LEN - 1 || s[4] != '-' || s[7] != '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

void admin_usage_add_ledger(struct admin_usage *u, const char *ledger_key, const struct ledger_totals *t)
{
	if (!strncmp(ledger_key, "day:", 4)) {
		const char *rest = ledger_key + 4;
		const char *bar1 = strchr(rest, '|');
		const char *bar2 = strrchr(rest, '|');
		if (!bar1 || bar2 == bar1 || !day_ok(bar2 + 1, strlen(bar2 + 1)))
			return;
		char *key_id = xstrndup(rest, (size_t)(bar1 - rest));
		char *model = xstrndup(bar1 + 1, (size_t)(bar2 - bar1 - 1));
		add_row(u, bar2 + 1, key_id, model, t);
		struct ukey *k = key_slot(u, key_id);
		if (strcmp(bar2 + 1, k->last_day) > 0)
			snprintf(k->last_day, sizeof(k->last_day), "%s", bar2 + 1);
		free(key_id);
		free(model);
	} else if (!strncmp(ledger_key, "key:", 4)) {
		ledger_add(&key_slot(u, ledger_key + 4)->settled, t);
	} else if (!strncmp(ledger_key, "month:", 6)) {
		const char *rest = ledger_key + 6;
		const char *bar = strrchr(rest, '|');
		if (!bar || !u->month[0] || strcmp(bar + 1, u->month))
			return;
		char *key_id = xstrndup(rest, (size_t)(bar - rest));
		ledger_add(&key_slot(u, key_id)->settled_month, t);
		free(key_id);
	}
}

/* As ledger.c reads a record: a string member cut to LEDGER_PART_LEN bytes,
 * "-" when missing or empty; counts >= 0, capped. */
static void record_part(const cJSON *j, const char *name, char out[LEDGER_PART_LEN + 1])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	const char *s = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : "-";
	size_t n = strlen(s);
	if (n > LEDGER_PART_LEN)
		n = LEDGER_PART_LEN;
	memcpy(out, s, n);
	out[n] = '\0';
}

static long long record_count(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble || v->valuedouble < 0)
		return 0;
	if (v->valuedouble > (double)COUNT_MAX)
		return COUNT_MAX;
	return (long long)v->valuedouble;
}

static long long cost_units(double v)
{
	if (v != v)
		return 0;
	double x = v * (double)LEDGER_COST_SCALE;
	if (x >= 9.2e18)
		return LLONG_MAX;
	if (x <= -9.2e18)
		return LLONG_MIN;
	return (long long)(x < 0 ? x - 0.5 : x + 0.5);   /* half away from zero, as llround */
}

int admin_usage_add_record(struct admin_usage *u, const char *line, size_t len)
{
	char key_id[LEDGER_PART_LEN + 1], model[LEDGER_PART_LEN + 1];
	char day[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN];
	struct ledger_totals d;
	cJSON *j = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	record_part(j, "key_id", key_id);
	record_part(j, "model", model);
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
	int64_t ts_ms = cJSON_IsNumber(ts) && ts->valuedouble >= 0 && ts->valuedouble < 1e15 ? (int64_t)ts->valuedouble
											       : 0;
	d.requests = 1;
	d.prompt = record_count(j, "prompt");
	d.completion = record_count(j, "completion");
	d.cached = record_count(j, "cached");
	d.reasoning = record_count(j, "reasoning");
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(j, "cost");
	d.cost_units = cJSON_IsNumber(cost) ? cost_units(cost->valuedouble) : 0;
	d.cost = (double)d.cost_units / (double)LEDGER_COST_SCALE;
	d.errors = record_count(j, "status") >= 400;
	d.cache_hits = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "cache_hit"));
	d.estimated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "estimated"));
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "key_name");

	ledger_day(ts_ms, day);
	ledger_month(ts_ms, month);
	add_row(u, day, key_id, model, &d);
	struct ukey *k = key_slot(u, key_id);
	ledger_add(&k->unsettled, &d);
	if (u->month[0] && !strcmp(month, u->month))
		ledger_add(&k->unsettled_month, &d);
	if (ts_ms > k->last_ms)
		k->last_ms = ts_ms;
	if (!k->name && cJSON_IsString(name) && name->valuestring[0])
		k->name = xstrdup(name->valuestring);
	u->records++;
	cJSON_Delete(j);
	return 0;
}

void admin_usage_set_name(struct admin_usage *u, const char *key_id, const char *name)
{
	struct ukey *k = key_slot(u, key_id);
	free(k->name);
	k->name = xstrdup(name);
}

int admin_usage_key(const struct admin_usage *u, const char *key_id, struct ledger_totals *total,
		    struct ledger_totals *month, int64_t *last_ms, char *last_day)
{
	size_t i;
	memset(total, 0, sizeof(*total));
	memset(month, 0, sizeof(*month));
	*last_ms = 0;
	last_day[0] = '\0';
	if (!smap_get(&u->kmap, key_id, &i))
		return 0;
	const struct ukey *k = &u->keys[i];
	ledger_add(total, &k->settled);
	ledger_add(total, &k->unsettled);
	ledger_add(month, &k->settled_month);
	ledger_add(month, &k->unsettled_month);
	*last_ms = k->last_ms;
	memcpy(last_day, k->last_day, LEDGER_DAY_LEN);
	return 1;
}

long admin_usage_records(const struct admin_usage *u)
{
	return u->records;
}

cJSON *admin_totals_json(const struct ledger_totals *t)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "requests", (double)t->requests);
	cJSON_AddNumberToObject(j, "prompt", (double)t->prompt);
	cJSON_AddNumberToObject(j, "completion", (double)t->completion);
	cJSON_AddNumberToObject(j, "cached", (double)t->cached);
	cJSON_AddNumberToObject(j, "reasoning", (double)t->reasoning);
	cJSON_AddNumberToObject(j, "cost", (double)t->cost_units / (double)LEDGER_COST_SCALE);
	cJSON_AddNumberToObject(j, "errors", (double)t->errors);
	cJSON_AddNumberToObject(j, "cache_hits", (double)t->cache_hits);
	cJSON_AddNumberToObject(j, "estimated", (double)t->estimated);
	return j;
}

static const char *key_name(const struct admin_usage *u, const char *key_id)
{
	size_t i;
	if (smap_get(&u->kmap, key_id, &i) && u->keys[i].name)
		return u->keys[i].name;
	return "";
}

/* sorting rows through an index array */
enum row_field { BY_DAY, BY_KEY, BY_MODEL, BY_ALL };

struct row_sort {
	const struct urow *rows;
	enum row_field f;
};

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct row_sort *rs = arg;
	const struct urow *x = &rs->rows[*(const size_t *)a];
	const struct urow *y = &rs->rows[*(const size_t *)b];
	int c = 0;
	switch (rs->f) {
	case BY_DAY:
		return strcmp(x->day, y->day);
	case BY_KEY:
		return strcmp(x->key_id, y->key_id);
	case BY_MODEL:
		return strcmp(x->model, y->model);
	case BY_ALL:
		if (!(c = strcmp(x->day, y->day)) && !(c = strcmp(x->key_id, y->key_id)))
			c = strcmp(x->model, y->model);
		return c;
	}
	return 0;
}

static size_t *sorted_rows(const struct admin_usage *u, enum row_field f)
{
	size_t *idx = xcalloc(u->nrows ? u->nrows : 1, sizeof(*idx));
	for (size_t i = 0; i < u->nrows; i++)
		idx[i] = i;
	struct row_sort rs = { u->rows, f };
	qsort_r(idx, u->nrows, sizeof(*idx), cmp_rows, &rs);
	return idx;
}

static const char *row_field(const struct urow *r, enum row_field f)
{
	return f == BY_DAY ? r->day : f == BY_KEY ? r->key_id : r->model;
}

struct group {
	const char *name;
	struct ledger_totals t;
};

static int cmp_groups_by_tokens(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	long long tx = x->t.prompt + x->t.completion, ty = y->t.prompt + y->t.completion;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sum the rows per value of field f. Returns the groups (free()), sorted by
 * name, or by tokens when by_tokens. */
static struct group *group_rows(const struct admin_usage *u, enum row_field f, int by_tokens, size_t *n)
{
	size_t *idx = sorted_rows(u, f);
	struct group *g = xcalloc(u->nrows ? u->nrows : 1, sizeof(*g));
	*n = 0;
	for (size_t i = 0; i < u->nrows; i++) {
		const struct urow *r = &u->rows[idx[i]];
		const char *name = row_field(r, f);
		if (!*n || strcmp(g[*n - 1].name, name)) {
			g[*n].name = name;
			(*n)++;
		}
		ledger_add(&g[*n - 1].t, &r->t);
	}
	free(idx);
	if (by_tokens)
		qsort(g, *n, sizeof(*g), cmp_groups_by_tokens);
	return g;
}

static int parse_day(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!day_ok(s, strlen(s)))
		return -1;
	tm.tm_year = (int)strtol(s, NULL, 10) - 1900;
	tm.tm_mon = (int)strtol(s + 5, NULL, 10) - 1;
	tm.tm_mday = (int)strtol(s + 8, NULL, 10);
	tm.tm_hour = 12;
	*out = timegm(&tm);
	return 0;
}

cJSON *admin_usage_json(const struct admin_usage *u)
{
	cJSON *j = cJSON_CreateObject();
	struct ledger_totals all;
	size_t n;
	memset(&all, 0, sizeof(all));
	cJSON_AddStringToObject(j, "from", u->from);
	cJSON_AddStringToObject(j, "to", u->to);
	for (size_t i = 0; i < u->nrows; i++)
		ledger_add(&all, &u->rows[i].t);
	cJSON_AddItemToObject(j, "totals", admin_totals_json(&all));

	/* every day of the range, so that a chart has no holes */
	cJSON *days = cJSON_AddArrayToObject(j, "by_day");
	struct group *g = group_rows(u, BY_DAY, 0, &n);
	time_t from, to;
	if (parse_day(u->from, &from) == 0 && parse_day(u->to, &to) == 0 && to >= from &&
	    (to - from) / 86400 <= 4 * ADMIN_USAGE_DAYS_MAX) {
		size_t gi = 0;
		for (time_t t = from; t <= to; t += 86400) {
			char day[LEDGER_DAY_LEN];
			struct ledger_totals zero;
			memset(&zero, 0, sizeof(zero));
			ledger_day((int64_t)t * 1000, day);
			while (gi < n && strcmp(g[gi].name, day) < 0)
				gi++;
			int hit = gi < n && !strcmp(g[gi].name, day);
			cJSON *o = admin_totals_json(hit ? &g[gi].t : &zero);
			cJSON_AddStringToObject(o, "day", day);
			cJSON_AddItemToArray(days, o);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			cJSON *o = admin_totals_json(&g[i].t);
			cJSON_AddStringToObject(o, "day", g[i].name);
			cJSON_AddItemToArray(days, o);
		}
	}
	free(g);

	cJSON *models = cJSON_AddArrayToObject(j, "by_model");
	g = group_rows(u, BY_MODEL, 1, &n);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = admin_totals_json(&g[i].t);
		cJSON_AddStringToObject(o, "model", g[i].name);
		cJSON_AddItemToArray(models, o);
	}
	free(g);

	cJSON *keys = cJSON_AddArrayToObject(j, "by_key");
	g = group_rows(u, BY_KEY, 1, &n);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = admin_totals_json(&g[i].t);
		cJSON_AddStringToObject(o, "key_id", g[i].name);
		cJSON_AddStringToObject(o, "name", key_name(u, g[i].name));
		cJSON_AddItemToArray(keys, o);
	}
	free(g);

	cJSON *rows = cJSON_AddArrayToObject(j, "rows");
	size_t *idx = sorted_rows(u, BY_ALL);
	for (size_t i = 0; i < u->nrows; i++) {
		const struct urow *r = &u->rows[idx[i]];
		cJSON *o = admin_totals_json(&r->t);
		cJSON_AddStringToObject(o, "day", r->day);
		cJSON_AddStringToObject(o, "key_id", r->key_id);
		cJSON_AddStringToObject(o, "model", r->model);
		cJSON_AddItemToArray(rows, o);
	}
	free(idx);
	return j;
}

/* A cost as a plain decimal without trailing zeros ("0.00042", "3"). */
static void cost_text(long long units, char *out, size_t outlen)
{
	const char *sign = "";
	if (units < 0) {
		sign = "-";
		units = units == LLONG_MIN ? LLONG_MAX : -units;
	}
	snprintf(out, outlen, "%s%lld.%012lld", sign, units / LEDGER_COST_SCALE, units % LEDGER_COST_SCALE);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

char *admin_usage_csv(const struct admin_usage *u)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_puts(&b, "day,key_id,key_name,model,requests,prompt_tokens,completion_tokens,cached_tokens,"
		     "reasoning_tokens,cost,errors,cache_hits\r\n");
	size_t *idx = sorted_rows(u, BY_ALL);
	for (size_t i = 0; i < u->nrows; i++) {
		const struct urow *r = &u->rows[idx[i]];
		char cost[64];
		cost_text(r->t.cost_units, cost, sizeof(cost));
		admin_csv_field(&b, r->day);
		buf_puts(&b, ",");
		admin_csv_field(&b, r->key_id);
		buf_puts(&b, ",");
		admin_csv_field(&b, key_name(u, r->key_id));
		buf_puts(&b, ",");
		admin_csv_field(&b, r->model);
		buf_printf(&b, ",%lld,%lld,%lld,%lld,%lld,%s,%lld,%lld\r\n", r->t.requests, r->t.prompt,
			   r->t.completion, r->t.cached, r->t.reasoning, cost, r->t.errors, r->t.cache_hits);
	}
	free(idx);
	return buf_steal(&b);
}

/* ================================================================ requests */

struct ctx {
	struct admin *a;
	struct http_req *r;
	char id[ADMIN_ID_MAX];   /* the <id> of keys/<id>, upstream-keys/<id> */
	cJSON *body;             /* the request's JSON object, or NULL */
	int64_t now;             /* unix seconds */
	char sess_key[sizeof(SESSION_PREFIX) + SHA256_HEX_LEN];
	char csrf[ADMIN_TOKEN_HEX];
	int64_t sess_expires;
};

static void reply_raw(struct ctx *x, int status, const char *type, const char *extra, const char *body, size_t len)
{
	char headers[HEADERS_MAX];
	int n = snprintf(headers, sizeof(headers), "%s%s", BASE_HEADERS, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(headers))
		snprintf(headers, sizeof(headers), "%s", BASE_HEADERS);
	http_respond(x->r, status, type, headers, body, len);
}

/* Answer with j (consumed). */
static void reply(struct ctx *x, int status, cJSON *j, const char *extra)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!text) {
		static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"code\":\"server_error\"}}";
		reply_raw(x, 500, JSON_TYPE, NULL, oom, sizeof(oom) - 1);
		return;
	}
	reply_raw(x, status, JSON_TYPE, extra, text, strlen(text));
	free(text);
}

__attribute__((format(printf, 5, 6)))
static void reply_error(struct ctx *x, int status, const char *code, const char *extra, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_scrub(msg);
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "code", code);
	reply(x, status, j, extra);
}

static void reply_ok(struct ctx *x, int status, cJSON *j)
{
	reply(x, status, j, NULL);
}

/* ------------------------------------------------------------ state.db */

static GDBM_FILE state_open(struct ctx *x, int writer)
{
	if (writer && mkdir(x->a->cfg.state_dir, 0700) != 0 && errno != EEXIST)
		log_err("cannot create %s: %s", x->a->cfg.state_dir, strerror(errno));
	return store_open(x->a->state_path, writer, ADMIN_STORE_WAIT_MS);
}

/* state.db could not be opened (errno from store_open). */
static void reply_store_error(struct ctx *x)
{
	if (errno == EAGAIN) {
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
	} else {
		log_err("cannot open %s: %s", x->a->state_path, store_strerror(errno));
		reply_error(x, 500, "store_error", NULL, "cannot open state.db (see the server log)");
	}
}

static void reply_write_error(struct ctx *x)
{
	log_err("cannot write %s: %s", x->a->state_path, gdbm_strerror(gdbm_errno));
	reply_error(x, 500, "store_error", NULL, "cannot write state.db (see the server log)");
}

static cJSON *get_json(GDBM_FILE db, const char *key)
{
	size_t len;
	char *v = store_get(db, key, &len);
	if (!v)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(v, len);
	free(v);
	return j;
}

static int put_json(GDBM_FILE db, const char *key, const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	int r = text && store_put(db, key, text, strlen(text)) == 0 ? 0 : -1;
	free(text);
	return r;
}

static double num_of(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The configuration as the router sees it: file and environment, and with
 * state the settings and upstream keys of state.db. 0, or -1 with err. */
static int load_config(struct ctx *x, struct config *c, int with_state, char *err, size_t errlen)
{
	if (config_load(c, x->a->config_path, err, errlen) != 0)
		return -1;
	if (with_state && config_apply_state(c, err, errlen) != 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

static int hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	}
	return 1;
}

static int new_token(char out[ADMIN_TOKEN_HEX])
{
	unsigned char rnd[ADMIN_TOKEN_BYTES];
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		return -1;
	hex_encode(rnd, sizeof(rnd), out);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

/* ------------------------------------------------------------ sessions */

/* The caller's session from its cookie: 0 (x->csrf, x->sess_key set), 401
 * when there is none or it expired, -1 when state.db cannot be read. */
static int session_load(struct ctx *x)
{
	char sid[ADMIN_TOKEN_HEX + 1], hash[SHA256_HEX_LEN];
	int result = 401;
	cJSON *j = NULL;
	if (!admin_cookie_get(http_header(x->r, "Cookie"), ADMIN_SESSION_COOKIE, sid, sizeof(sid)) ||
	    !hex_ok(sid, ADMIN_TOKEN_HEX - 1))
		goto out;
	sha256_hex(sid, strlen(sid), hash);
	snprintf(x->sess_key, sizeof(x->sess_key), SESSION_PREFIX "%s", hash);
	GDBM_FILE db = state_open(x, 0);
	if (!db) {
		if (errno != ENOENT)
			result = -1;
		goto out;
	}
	j = get_json(db, x->sess_key);
	store_close(db);
	const char *csrf = str_of(j, "csrf");
	int64_t expires = (int64_t)num_of(j, "expires", 0);
	if (!csrf || !hex_ok(csrf, ADMIN_TOKEN_HEX - 1) || expires <= x->now)
		goto out;
	memcpy(x->csrf, csrf, ADMIN_TOKEN_HEX);
	x->sess_expires = expires;
	result = 0;
out:
	explicit_bzero(sid, sizeof(sid));
	cJSON_Delete(j);
	return result;
}

static int csrf_ok(struct ctx *x)
{
	const char *t = http_header(x->r, "X-CSRF-Token");
	size_t n = ADMIN_TOKEN_HEX - 1;
	return t && strlen(t) == n && x->csrf[0] && ct_equal(t, x->csrf, n);
}

/* Records of one kind under a prefix (sessions, throttle addresses), for
 * pruning: newest first by created, live until expires. */
struct prune_row {
	char *key;
	int64_t created, expires;
};

struct prune_list {
	struct prune_row *v;
	size_t n;
};

static void prune_add(struct prune_list *l, const char *key, int64_t created, int64_t expires)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].created = created;
	l->v[l->n].expires = expires;
	l->n++;
}

static int sess_collect(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	prune_add(user, key, (int64_t)num_of(j, "created", 0), (int64_t)num_of(j, "expires", 0));
	cJSON_Delete(j);
	return 0;
}

static int cmp_row_newest(const void *a, const void *b)
{
	const struct prune_row *x = a, *y = b;
	return x->created == y->created ? 0 : x->created > y->created ? -1 : 1;
}

/* Drop the records under prefix that expired, and the oldest beyond keep
 * (db opened as writer); collect reads one into a prune_list. */
static void prune_prefix(GDBM_FILE db, const char *prefix, int (*collect)(const char *, const char *, size_t, void *),
			 int64_t now, size_t keep)
{
	struct prune_list l = { NULL, 0 };
	store_each(db, prefix, collect, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_row_newest);
	size_t live = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].expires > now && live < keep)
			live++;
		else
			store_delete(db, l.v[i].key);
		free(l.v[i].key);
	}
	free(l.v);
}

/* ------------------------------------------------------------ setup, login */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void h_setup_get(struct ctx *x)
{
	int done = 0;
	GDBM_FILE db = state_open(x, 0);
	if (!db && errno != ENOENT) {
		reply_store_error(x);
		return;
	}
	if (db) {
		char *v = store_get(db, PASSWORD_KEY, NULL);
		done = v != NULL;
		free(v);
		store_close(db);
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "setup_done", done);
	reply_ok(x, 200, j);
}

/* The body's password member, checked; NULL after an error answer. */
static const char *body_password(struct ctx *x, int for_setup)
{
	static const char *const known[] = { "password", NULL };
	char err[256];
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(x->body, "password");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		reply_error(x, 400, "invalid_request", NULL, "%s", err);
		return NULL;
	}
	if (!cJSON_IsString(pw) || !*pw->valuestring) {
		reply_error(x, 400, "invalid_request", NULL, "a \"password\" string is needed");
		return NULL;
	}
	if (strlen(pw->valuestring) > PWHASH_PASSWORD_MAX) {
		reply_error(x, 400, "invalid_request", NULL, "the password is longer than %d bytes", PWHASH_PASSWORD_MAX);
		return NULL;
	}
	if (for_setup && utf8_chars(pw->valuestring) < ADMIN_PASSWORD_MIN) {
		reply_error(x, 400, "weak_password", NULL, "the password needs at least %d characters",
			    ADMIN_PASSWORD_MIN);
		return NULL;
	}
	return pw->valuestring;
}

static void h_setup_post(struct ctx *x)
{
	char *hash = NULL, *v = NULL;
	cJSON *rec = NULL;
	GDBM_FILE db = NULL;
	const char *pw = body_password(x, 1);
	if (!pw)
		goto out;
	/* cheap look first: no hashing once a password is set */
	if ((db = state_open(x, 0)) != NULL) {
		v = store_get(db, PASSWORD_KEY, NULL);
		store_close(db);
		db = NULL;
	} else if (errno != ENOENT) {
		reply_store_error(x);
		goto out;
	}
	if (v) {
		reply_error(x, 409, "already_set", NULL, "the admin password is already set; log in instead");
		goto out;
	}
	if (!(hash = pwhash_make(pw))) {
		log_err("cannot hash the admin password with yescrypt: %s", strerror(errno));
		reply_error(x, 500, "server_error", NULL, "cannot hash the password (see the server log)");
		goto out;
	}
	if (!(db = state_open(x, 1))) {
		reply_store_error(x);
		goto out;
	}
	if ((v = store_get(db, PASSWORD_KEY, NULL)) != NULL) {
		reply_error(x, 409, "already_set", NULL, "the admin password is already set; log in instead");
		goto out;
	}
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddNumberToObject(rec, "set", (double)x->now);
	if (put_json(db, PASSWORD_KEY, rec) != 0 || store_sync(db) != 0) {
		reply_write_error(x);
		goto out;
	}
	log_info("admin password set");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "setup_done", 1);
	reply_ok(x, 201, j);
out:
	store_close(db);
	cJSON_Delete(rec);
	free(hash);
	free(v);
}

static void throttle_read(GDBM_FILE db, const char *key, struct admin_throttle *t)
{
	cJSON *j = get_json(db, key);
	t->failures = (long)num_of(j, "failures", 0);
	t->until = (int64_t)num_of(j, "until", 0);
	cJSON_Delete(j);
}

static int throttle_write(GDBM_FILE db, const char *key, const struct admin_throttle *t)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "failures", (double)t->failures);
	cJSON_AddNumberToObject(j, "until", (double)t->until);
	int r = put_json(db, key, j);
	cJSON_Delete(j);
	return r;
}

/* An address's throttle record, for pruning: live until forgotten. */
static int throttle_collect(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	struct admin_throttle t = { (long)num_of(j, "failures", 0), (int64_t)num_of(j, "until", 0) };
	prune_add(user, key, throttle_forget(&t), throttle_forget(&t));
	cJSON_Delete(j);
	return 0;
}

static int https_on(struct ctx *x)
{
	const char *h = http_param(x->r, "HTTPS");
	return h && !strcasecmp(h, "on");
}

/* Every attempt is counted as a failure (of its address and of all)
 * before the (slow) check and taken back when it succeeds, so that
 * parallel guesses cannot slip past the limit while hashes are being
 * computed. */
static void h_login(struct ctx *x)
{
	char *hash = NULL;
	cJSON *pwrec = NULL, *sess = NULL;
	char sid[ADMIN_TOKEN_HEX], csrf[ADMIN_TOKEN_HEX], key_hash[SHA256_HEX_LEN];
	char sess_key[sizeof(SESSION_PREFIX) + SHA256_HEX_LEN], extra[512];
	char addr[ADMIN_ADDR_MAX], tkey[sizeof(THROTTLE_ADDR_PREFIX) + ADMIN_ADDR_MAX];
	struct admin_throttle t, g;
	GDBM_FILE db = NULL;
	sid[0] = '\0';
	admin_client_addr(http_param(x->r, "REMOTE_ADDR"), addr, sizeof(addr));
	snprintf(tkey, sizeof(tkey), THROTTLE_ADDR_PREFIX "%s", addr);
	const char *pw = body_password(x, 0);
	if (!pw)
		goto out;
	if (!(db = state_open(x, 1))) {
		reply_store_error(x);
		goto out;
	}
	pwrec = get_json(db, PASSWORD_KEY);
	const char *stored = str_of(pwrec, "hash");
	if (!stored) {
		reply_error(x, 409, "setup_required", NULL, "no admin password is set yet: set one first");
		goto out;
	}
	hash = xstrdup(stored);
	throttle_read(db, tkey, &t);
	throttle_read(db, THROTTLE_KEY, &g);
	long wait = admin_login_wait(&t, &g, x->now);
	if (wait > 0) {
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", wait);
		reply_error(x, 429, "too_many_attempts", extra,
			    "too many failed logins: try again in %ld seconds", wait);
		goto out;
	}
	admin_throttle_fail(&t, x->now);
	admin_throttle_global_fail(&g, x->now);
	prune_prefix(db, THROTTLE_ADDR_PREFIX, throttle_collect, x->now, ADMIN_THROTTLE_ADDRS_MAX - 1);
	if (throttle_write(db, tkey, &t) != 0 || throttle_write(db, THROTTLE_KEY, &g) != 0 || store_sync(db) != 0) {
		reply_write_error(x);
		goto out;
	}
	store_close(db);
	db = NULL;

	if (!pwhash_verify(pw, hash)) {
		log_warn("admin login from %s failed (%ld in a row from there, %ld from all)", addr, t.failures,
			 g.failures);
		if (g.failures == ADMIN_THROTTLE_GLOBAL_FAILURES)
			log_warn("admin login: %d failures from all addresses within %d s; an address that failed "
				 "waits until they stop", ADMIN_THROTTLE_GLOBAL_FAILURES, ADMIN_THROTTLE_WINDOW_S);
		reply_error(x, 401, "wrong_password", NULL, "wrong password");
		goto out;
	}
	if (new_token(sid) != 0 || new_token(csrf) != 0) {
		reply_error(x, 500, "server_error", NULL, "no randomness available");
		goto out;
	}
	sha256_hex(sid, strlen(sid), key_hash);
	snprintf(sess_key, sizeof(sess_key), SESSION_PREFIX "%s", key_hash);
	sess = cJSON_CreateObject();
	cJSON_AddNumberToObject(sess, "expires", (double)(x->now + ADMIN_SESSION_TTL_S));
	cJSON_AddStringToObject(sess, "csrf", csrf);
	cJSON_AddNumberToObject(sess, "created", (double)x->now);
	if (!(db = state_open(x, 1))) {
		reply_store_error(x);
		goto out;
	}
	/* this attempt was no failure: taken back from the counts */
	store_delete(db, tkey);
	throttle_read(db, THROTTLE_KEY, &g);
	if (g.failures > 0) {
		g.failures--;
		throttle_write(db, THROTTLE_KEY, &g);
	}
	prune_prefix(db, SESSION_PREFIX, sess_collect, x->now, ADMIN_SESSIONS_MAX - 1);
	if (put_json(db, sess_key, sess) != 0 || store_sync(db) != 0) {
		reply_write_error(x);
		goto out;
	}
	snprintf(extra, sizeof(extra),
		 "Set-Cookie: " ADMIN_SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s\r\n", sid,
		 ADMIN_SESSION_TTL_S, https_on(x) ? "; Secure" : "");
	log_info("admin logged in from %s", addr);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "csrf", csrf);
	cJSON_AddNumberToObject(j, "expires", (double)(x->now + ADMIN_SESSION_TTL_S));
	reply(x, 200, j, extra);
out:
	store_close(db);
	cJSON_Delete(pwrec);
	cJSON_Delete(sess);
	free(hash);
	explicit_bzero(sid, sizeof(sid));
}

static void h_logout(struct ctx *x)
{
	char extra[256];
	GDBM_FILE db = state_open(x, 1);
	if (!db) {
		reply_store_error(x);
		return;
	}
	store_delete(db, x->sess_key);
	int r = store_sync(db);
	store_close(db);
	if (r != 0) {
		reply_write_error(x);
		return;
	}
	snprintf(extra, sizeof(extra),
		 "Set-Cookie: " ADMIN_SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s\r\n",
		 https_on(x) ? "; Secure" : "");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	reply(x, 200, j, extra);
}

static void h_session(struct ctx *x)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "csrf", x->csrf);
	cJSON_AddNumberToObject(j, "expires", (double)x->sess_expires);
	reply_ok(x, 200, j);
}

/* ------------------------------------------------------------ settings */

/* The stored settings document ({} when none); NULL when state.db cannot
 * be read (errno set). */
static cJSON *settings_read(struct ctx *x)
{
	cJSON *s = NULL;
	GDBM_FILE db = state_open(x, 0);
	if (!db)
		return errno == ENOENT ? cJSON_CreateObject() : NULL;
	s = get_json(db, SETTINGS_KEY);
	store_close(db);
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		s = cJSON_CreateObject();
	}
	return s;
}

static cJSON *string_array(char **v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *target_json(const struct target *t)
{
	char *s = t->provider ? xasprintf("%s/%s", t->provider, t->model) : xstrdup(t->model);
	cJSON *j = cJSON_CreateString(s);
	free(s);
	return j;
}

/* What applies where the settings say nothing: the file and environment. */
static cJSON *config_defaults(const struct config *c)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *al = cJSON_AddObjectToObject(d, "aliases");
	for (size_t i = 0; i < c->naliases; i++)
		cJSON_AddItemToObject(al, c->aliases[i].name, target_json(&c->aliases[i].to));
	cJSON *fb = cJSON_AddObjectToObject(d, "fallback");
	for (size_t i = 0; i < c->nfallbacks; i++) {
		cJSON *chain = cJSON_AddArrayToObject(fb, c->fallbacks[i].model);
		for (size_t k = 0; k < c->fallbacks[i].n; k++)
			cJSON_AddItemToArray(chain, target_json(&c->fallbacks[i].chain[k]));
	}
	cJSON *pr = cJSON_AddObjectToObject(d, "providers");
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		cJSON *o = cJSON_AddObjectToObject(pr, p->name);
		cJSON_AddStringToObject(o, "base_url", p->base_url ? p->base_url : "");
		cJSON_AddItemToObject(o, "models", string_array(p->models, p->nmodels));
		cJSON_AddItemToObject(o, "prefixes", string_array(p->prefixes, p->nprefixes));
		cJSON_AddBoolToObject(o, "builtin", p->builtin);
		cJSON_AddBoolToObject(o, "has_keys", p->nkeys > 0 || p->no_auth);
	}
	cJSON *ca = cJSON_AddObjectToObject(d, "cache");
	cJSON_AddBoolToObject(ca, "enabled", c->cache_enabled);
	cJSON_AddNumberToObject(ca, "ttl_s", (double)c->cache_ttl_s);
	cJSON_AddNumberToObject(ca, "max_bytes", (double)c->cache_max_bytes);
	cJSON *pc = cJSON_AddObjectToObject(d, "prices");
	for (size_t i = 0; i < c->nprices; i++) {
		const struct price_conf *p = &c->prices[i];
		const double v[3] = { p->input, p->cached_input, p->output };
		cJSON_AddItemToObject(pc, p->model, cJSON_CreateDoubleArray(v, 3));
	}
	cJSON_AddStringToObject(d, "currency", c->currency ? c->currency : "USD");
	return d;
}

static void h_settings_get(struct ctx *x)
{
	char err[512];
	struct config c;
	cJSON *s = settings_read(x);
	if (!s) {
		reply_store_error(x);
		return;
	}
	if (load_config(x, &c, 0, err, sizeof(err)) != 0) {
		cJSON_Delete(s);
		log_err("%s", err);
		reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "settings", s);
	cJSON_AddItemToObject(j, "defaults", config_defaults(&c));
	config_free(&c);
	reply_ok(x, 200, j);
}

static void h_settings_put(struct ctx *x)
{
	char err[512];
	struct config c;
	int have_config = 0;
	GDBM_FILE db = NULL;
	if (admin_settings_validate(x->body, err, sizeof(err)) != 0) {
		reply_error(x, 400, "invalid_settings", NULL, "%s", err);
		goto out;
	}
	if (load_config(x, &c, 0, err, sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		goto out;
	}
	have_config = 1;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(x->body, "providers")) {
		if (!config_provider(&c, p->string) && !cJSON_GetObjectItemCaseSensitive(p, "base_url")) {
			reply_error(x, 400, "invalid_settings", NULL,
				    "providers.%s is a new provider: it needs a base_url", p->string);
			goto out;
		}
	}
	if (!(db = state_open(x, 1))) {
		reply_store_error(x);
		goto out;
	}
	if (put_json(db, SETTINGS_KEY, x->body) != 0 || store_sync(db) != 0) {
		reply_write_error(x);
		goto out;
	}
	log_info("settings changed");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "settings", cJSON_Duplicate(x->body, 1));
	reply_ok(x, 200, j);
out:
	store_close(db);
	if (have_config)
		config_free(&c);
}

/* ------------------------------------------------------------ providers */

static int pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The whole file at path, up to cap bytes; a new string (free()) or NULL. */
static char *read_small_file(const char *path, size_t cap, size_t *len)
{
	char *result = NULL;
	struct buf b;
	char chunk[8192];
	buf_init(&b, cap);
	FILE *f = fopen(path, "rb");
	if (!f)
		goto out;
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) != 0)
			goto out;
	}
	if (ferror(f))
		goto out;
	*len = b.len;
	result = buf_steal(&b);
out:
	if (f)
		fclose(f);
	buf_free(&b);
	return result;
}

static int state_rank(const char *s)
{
	return !s ? 0 : !strcmp(s, "blocked") ? 2 : !strcmp(s, "cooling") ? 1 : 0;
}

static void set_num(cJSON *o, const char *name, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddNumberToObject(o, name, v);
}

/* Fold one router's view of a key into live (key id -> merged state). */
static void merge_key(cJSON *live, const cJSON *k)
{
	const char *id = str_of(k, "id");
	if (!id || !*id)
		return;
	cJSON *m = cJSON_GetObjectItemCaseSensitive(live, id);
	if (!m) {
		m = cJSON_AddObjectToObject(live, id);
		cJSON_AddStringToObject(m, "state", "active");
		cJSON_AddNumberToObject(m, "recent_429", 0);
		cJSON_AddNumberToObject(m, "uses", 0);
	}
	const char *st = str_of(k, "state");
	if (state_rank(st) > state_rank(str_of(m, "state"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "state");
		cJSON_AddStringToObject(m, "state", st);
	}
	if (num_of(k, "cooldown_until", 0) > num_of(m, "cooldown_until", 0))
		set_num(m, "cooldown_until", num_of(k, "cooldown_until", 0));
	if (num_of(k, "last_used", 0) > num_of(m, "last_used", 0))
		set_num(m, "last_used", num_of(k, "last_used", 0));
	set_num(m, "uses", num_of(m, "uses", 0) + num_of(k, "uses", 0));
	set_num(m, "recent_429", num_of(m, "recent_429", 0) + num_of(k, "recent_429", 0));
	const char *reason = str_of(k, "reason");
	if (reason && *reason && !str_of(m, "reason"))
		cJSON_AddStringToObject(m, "reason", reason);
}

/* Merge run/pools-<pid>.json of live routers: key id -> state. */
static cJSON *read_live(struct ctx *x, int *routers)
{
	cJSON *live = cJSON_CreateObject();
	*routers = 0;
	DIR *d = opendir(x->a->run_dir);
	if (!d)
		return live;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		char num[24];
		long pid;
		size_t nl = strlen(name);
		if (strncmp(name, "pools-", 6) || nl < 12 || strcmp(name + nl - 5, ".json") || nl - 11 >= sizeof(num))
			continue;
		memcpy(num, name + 6, nl - 11);
		num[nl - 11] = '\0';
		if (ini_parse_long(num, 1, INT_MAX, &pid) != 0 || !pid_alive(pid))
			continue;
		char *path = xasprintf("%s/%s", x->a->run_dir, name);
		size_t len = 0;
		char *text = read_small_file(path, POOLS_FILE_MAX, &len);
		free(path);
		cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
		free(text);
		double written = num_of(j, "written", 0);
		if (written > 1e11)
			written /= 1000;   /* given in ms */
		if (cJSON_IsObject(j) && written >= (double)(x->now - POOLS_STALE_S)) {
			const cJSON *p, *k;
			(*routers)++;
			cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "providers")) {
				cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(p, "keys"))
					merge_key(live, k);
			}
		}
		cJSON_Delete(j);
	}
	closedir(d);
	return live;
}

/* Every upkey: record of state.db, as upkey_list gives them (no secrets). */
static cJSON *upkeys_read(struct ctx *x)
{
	char err[256];
	cJSON *arr = upkey_list(x->a->cfg.state_dir, err, sizeof(err));
	if (!arr)
		log_warn("%s", err);
	return arr;
}

static void add_live(cJSON *o, const cJSON *live, const char *id, const char *fallback_state)
{
	static const char *const nums[] = { "cooldown_until", "recent_429", "uses", "last_used", NULL };
	const cJSON *m = live ? cJSON_GetObjectItemCaseSensitive(live, id) : NULL;
	if (fallback_state || !m) {
		cJSON_AddStringToObject(o, "state", fallback_state ? fallback_state : "unknown");
		return;
	}
	cJSON_AddStringToObject(o, "state", str_of(m, "state") ? str_of(m, "state") : "unknown");
	for (const char *const *n = nums; *n; n++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, *n);
		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(o, *n, v->valuedouble);
	}
	if (str_of(m, "reason"))
		cJSON_AddStringToObject(o, "reason", str_of(m, "reason"));
}

/* An upstream key as shown, from an upkey_list entry (which holds no
 * secret, only its hint). */
static cJSON *upkey_public(const cJSON *rec, const cJSON *live)
{
	const char *id = str_of(rec, "id");
	int disabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "disabled"));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id ? id : "");
	cJSON_AddStringToObject(o, "source", "state");
	cJSON_AddStringToObject(o, "provider", str_of(rec, "provider") ? str_of(rec, "provider") : "");
	cJSON_AddStringToObject(o, "masked", str_of(rec, "hint") ? str_of(rec, "hint") : "\xe2\x80\xa6");
	cJSON_AddStringToObject(o, "label", str_of(rec, "label") ? str_of(rec, "label") : "");
	cJSON_AddBoolToObject(o, "disabled", disabled);
	cJSON_AddNumberToObject(o, "added", num_of(rec, "added", 0));
	add_live(o, live, id ? id : "", disabled ? "disabled" : NULL);
	return o;
}

static cJSON *provider_entry(const char *name, const char *source)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "source", source);
	return o;
}

static void h_providers(struct ctx *x)
{
	char err[512];
	struct config base, eff;
	int have_base = 0, have_eff = 0, routers = 0;
	cJSON *ups = NULL, *live = NULL, *out = NULL;
	if (load_config(x, &base, 0, err, sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		goto out;
	}
	have_base = 1;
	if (load_config(x, &eff, 1, err, sizeof(err)) != 0 || !(ups = upkeys_read(x))) {
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	have_eff = 1;
	live = read_live(x, &routers);
	out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "providers");
	for (size_t i = 0; i < eff.nproviders; i++) {
		const struct provider_conf *p = &eff.providers[i];
		const struct provider_conf *bp = config_provider(&base, p->name);
		cJSON *o = provider_entry(p->name, p->builtin ? "builtin" : bp ? "config" : "settings");
		cJSON_AddStringToObject(o, "base_url", p->base_url ? p->base_url : "");
		if (bp && bp->base_url)
			cJSON_AddStringToObject(o, "default_base_url", bp->base_url);
		cJSON_AddItemToObject(o, "models", string_array(p->models, p->nmodels));
		cJSON_AddItemToObject(o, "prefixes", string_array(p->prefixes, p->nprefixes));
		cJSON_AddBoolToObject(o, "disabled", p->disabled);
		cJSON_AddBoolToObject(o, "no_auth", p->no_auth);
		cJSON_AddBoolToObject(o, "usable", !p->disabled && (p->nkeys > 0 || p->no_auth));
		cJSON *keys = cJSON_AddArrayToObject(o, "keys");
		for (size_t k = 0; k < p->nkeys; k++) {
			if (p->key_ids && p->key_ids[k])
				continue;   /* a state key: listed from its record below */
			char id[POOL_KEY_ID_MAX], masked[32];
			pool_key_id(p->name, k + 1, p->keys[k], id, sizeof(id));
			upkey_hint(p->keys[k], masked, sizeof(masked));
			cJSON *ko = cJSON_CreateObject();
			cJSON_AddStringToObject(ko, "id", id);
			cJSON_AddStringToObject(ko, "source", "config");
			cJSON_AddStringToObject(ko, "masked", masked);
			add_live(ko, live, id, NULL);
			cJSON_AddItemToArray(keys, ko);
		}
		const cJSON *rec;
		cJSON_ArrayForEach(rec, ups) {
			if (!strcmp(str_of(rec, "provider"), p->name))
				cJSON_AddItemToArray(keys, upkey_public(rec, live));
		}
		cJSON_AddItemToArray(arr, o);
	}
	/* keys of providers that no longer exist: shown so they can be removed */
	const cJSON *rec;
	cJSON_ArrayForEach(rec, ups) {
		const char *pn = str_of(rec, "provider");
		if (config_provider(&eff, pn))
			continue;
		cJSON *o = NULL, *e;
		cJSON_ArrayForEach(e, arr) {
			if (!strcmp(str_of(e, "name"), pn))
				o = e;
		}
		if (!o) {
			o = provider_entry(pn, "unknown");
			cJSON_AddStringToObject(o, "base_url", "");
			cJSON_AddItemToObject(o, "models", cJSON_CreateArray());
			cJSON_AddItemToObject(o, "prefixes", cJSON_CreateArray());
			cJSON_AddBoolToObject(o, "disabled", 1);
			cJSON_AddBoolToObject(o, "no_auth", 0);
			cJSON_AddBoolToObject(o, "usable", 0);
			cJSON_AddArrayToObject(o, "keys");
			cJSON_AddItemToArray(arr, o);
		}
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o, "keys"), upkey_public(rec, live));
	}
	cJSON *lv = cJSON_AddObjectToObject(out, "live");
	cJSON_AddNumberToObject(lv, "routers", routers);
	cJSON_AddNumberToObject(lv, "now", (double)x->now);
	reply_ok(x, 200, out);
	out = NULL;
out:
	cJSON_Delete(out);
	cJSON_Delete(ups);
	cJSON_Delete(live);
	if (have_base)
		config_free(&base);
	if (have_eff)
		config_free(&eff);
}

/* ------------------------------------------------------------ usage reading */

static int usage_ledger_cb(const char *key, const struct ledger_totals *t, void *user)
{
	admin_usage_add_ledger(user, key, t);
	return 0;
}

static int usage_line_cb(const char *line, size_t len, void *user)
{
	admin_usage_add_record(user, line, len);
	return 0;
}

static int in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i], s))
			return 1;
	}
	return 0;
}

/* Segments of the ledger's last commit (meta:last), which settle may not
 * have renamed yet. */
static void ledger_last_segments(GDBM_FILE db, char ***out, size_t *n)
{
	cJSON *j = get_json(db, LEDGER_META_LAST);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "segments")) {
		if (!cJSON_IsString(e))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = xstrdup(e->valuestring);
	}
	cJSON_Delete(j);
}

/* Settled totals (ledger.db) plus the records of segments not in it yet.
 *
 * The ledger is read first, as one snapshot; then the spool is listed.
 * settle commits a fold (the ledger's rename) before it renames the
 * folded segments, and renames them before its next commit, so a segment
 * still ".open" or ".ready" after the snapshot is in it only if meta:last
 * names it. A segment that moves on while being looked at is read under
 * its next name. 0, or -1 with err when the ledger cannot be read. */
static int usage_load(struct ctx *x, struct admin_usage *u, char *err, size_t errlen)
{
	static const char *const states[] = { ".open", ".ready", ".settled" };
	char **last = NULL, **seen = NULL;
	size_t nlast = 0, nseen = 0;
	int result = -1;
	GDBM_FILE db = store_open(x->a->ledger_path, 0, ADMIN_STORE_WAIT_MS);
	if (!db && errno != ENOENT) {
		snprintf(err, errlen, "cannot read ledger.db: %s", store_strerror(errno));
		goto out;
	}
	if (db) {
		ledger_last_segments(db, &last, &nlast);
		int r = ledger_each(db, "", usage_ledger_cb, u);
		int cause = errno;
		store_close(db);
		if (r < 0) {
			/* never zeros for totals that cannot be read */
			snprintf(err, errlen, "cannot read ledger.db: %s", store_strerror(cause));
			goto out;
		}
	}
	for (size_t s = 0; s < 2; s++) {
		char **list = NULL;
		size_t n = spool_list(x->a->spool_dir, states[s], &list);
		for (size_t i = 0; i < n; i++) {
			if (in_list(last, nlast, list[i]) || in_list(seen, nseen, list[i]))
				continue;
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = xstrdup(list[i]);
			for (size_t t = s; t < 3; t++) {
				char *path = xasprintf("%s/%s%s", x->a->spool_dir, list[i], states[t]);
				int partial = 0;
				long got = spool_read(path, usage_line_cb, u, &partial);
				free(path);
				if (got >= 0)
					break;
			}
		}
		spool_free_list(list, n);
	}
	result = 0;
out:
	spool_free_list(last, nlast);
	spool_free_list(seen, nseen);
	return result;
}

static void key_record_cb(const char *json, void *user)
{
	cJSON *j = cJSON_Parse(json);
	if (cJSON_IsObject(j) && str_of(j, "id"))
		cJSON_AddItemToArray(user, j);
	else
		cJSON_Delete(j);
}

/* Every gateway key record (with its hash: strip it before sending), the
 * environment's keys included as {"id","name","source":"config"}. NULL
 * with err when state.db cannot be read. */
static cJSON *keys_read(struct ctx *x, char *err, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray();
	if (auth_key_each(x->a->cfg.state_dir, key_record_cb, arr, err, errlen) != 0) {
		cJSON_Delete(arr);
		return NULL;
	}
	for (size_t i = 0; i < x->a->cfg.nauth_keys; i++) {
		/* the id the router gives them (auth.c) */
		unsigned char h[SHA256_DIGEST_LEN];
		char hex[SHA256_HEX_LEN], id[AUTH_ID_MAX], name[AUTH_NAME_MAX];
		sha256(x->a->cfg.auth_keys[i], strlen(x->a->cfg.auth_keys[i]), h);
		hex_encode(h, 4, hex);
		snprintf(id, sizeof(id), "env-%.8s", hex);
		snprintf(name, sizeof(name), "AUTH_KEY #%zu", i + 1);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "source", "config");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void name_keys(struct admin_usage *u, const cJSON *keys)
{
	const cJSON *k;
	cJSON_ArrayForEach(k, keys) {
		if (str_of(k, "name"))
			admin_usage_set_name(u, str_of(k, "id"), str_of(k, "name"));
	}
}

/* ------------------------------------------------------------ gateway keys */

static int cmp_created_desc(const void *a, const void *b)
{
	double x = num_of(*(cJSON *const *)a, "created", 0), y = num_of(*(cJSON *const *)b, "created", 0);
	return x == y ? 0 : x > y ? -1 : 1;
}

/* A key record as shown: no hash; with its state and usage when u. */
static cJSON *key_public(const cJSON *rec, const struct admin_usage *u, int64_t now)
{
	static const char *const copy[] = { "id", "name", "prefix", "created", "expires", "revoked_at", "limits", NULL };
	cJSON *o = cJSON_CreateObject();
	for (const char *const *n = copy; *n; n++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, *n);
		if (v)
			cJSON_AddItemToObject(o, *n, cJSON_Duplicate(v, 1));
	}
	const char *source = str_of(rec, "source");
	int revoked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked"));
	double expires = num_of(rec, "expires", 0);
	cJSON_AddStringToObject(o, "source", source ? source : "state");
	cJSON_AddBoolToObject(o, "revoked", revoked);
	cJSON_AddStringToObject(o, "state", revoked ? "revoked" : expires > 0 && expires <= (double)now ? "expired" : "active");
	if (!cJSON_GetObjectItemCaseSensitive(o, "limits"))
		cJSON_AddObjectToObject(o, "limits");
	if (u) {
		struct ledger_totals total, month;
		int64_t last_ms;
		char last_day[LEDGER_DAY_LEN];
		admin_usage_key(u, str_of(rec, "id"), &total, &month, &last_ms, last_day);
		cJSON_AddItemToObject(o, "usage", admin_totals_json(&total));
		cJSON_AddItemToObject(o, "usage_month", admin_totals_json(&month));
		if (last_ms)
			cJSON_AddNumberToObject(o, "last_used", (double)last_ms);
		else
			cJSON_AddNullToObject(o, "last_used");
		if (last_day[0])
			cJSON_AddStringToObject(o, "last_day", last_day);
		else
			cJSON_AddNullToObject(o, "last_day");
	}
	return o;
}

static void this_month(int64_t now, char out[LEDGER_MONTH_LEN])
{
	ledger_month(now * 1000, out);
}

static void h_keys_get(struct ctx *x)
{
	char err[512], month[LEDGER_MONTH_LEN];
	cJSON *recs = NULL, *out = NULL;
	cJSON **v = NULL;
	this_month(x->now, month);
	struct admin_usage *u = admin_usage_new("", "", month);
	if (!(recs = keys_read(x, err, sizeof(err)))) {
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	name_keys(u, recs);
	if (usage_load(x, u, err, sizeof(err)) != 0) {
		log_warn("%s", err);
		reply_error(x, 503, "ledger_busy", "Retry-After: 1\r\n", "the usage ledger cannot be read now; try again");
		goto out;
	}
	size_t n = (size_t)cJSON_GetArraySize(recs), i = 0;
	v = xcalloc(n ? n : 1, sizeof(*v));
	const cJSON *rec;
	cJSON_ArrayForEach(rec, recs)
		v[i++] = (cJSON *)rec;
	qsort(v, n, sizeof(*v), cmp_created_desc);
	out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "keys");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, key_public(v[i], u, x->now));
	cJSON_AddStringToObject(out, "month", month);
	cJSON_AddStringToObject(out, "currency", x->a->cfg.currency ? x->a->cfg.currency : "USD");
	reply_ok(x, 200, out);
	out = NULL;
out:
	free(v);
	cJSON_Delete(recs);
	cJSON_Delete(out);
	admin_usage_free(u);
}

/* Check name / expires / limits members of a key body. 0, or -1 after a
 * 400 answer. */
static int key_fields_ok(struct ctx *x, int need_name)
{
	static const char *const known[] = { "name", "expires", "limits", NULL };
	char err[512];
	const cJSON *v;
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0)
		goto bad;
	v = cJSON_GetObjectItemCaseSensitive(x->body, "name");
	if ((v || need_name) && (!cJSON_IsString(v) || !settings_text_ok(v->valuestring, AUTH_NAME_MAX - 1, 0))) {
		snprintf(err, sizeof(err), "name must be text of 1 to %d characters", AUTH_NAME_MAX - 1);
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(x->body, "expires");
	if (v && (!settings_int_in(v, 0, 1e11) || (v->valuedouble != 0 && v->valuedouble <= (double)x->now))) {
		snprintf(err, sizeof(err), "expires must be a unix time in the future, or 0 for never");
		goto bad;
	}
	v = cJSON_GetObjectItemCaseSensitive(x->body, "limits");
	if (v && admin_limits_validate(v, err, sizeof(err)) != 0)
		goto bad;
	return 0;
bad:
	reply_error(x, 400, "invalid_request", NULL, "%s", err);
	return -1;
}

static void h_keys_post(struct ctx *x)
{
	char err[512], id[AUTH_ID_MAX], prefix[16];
	char *key = NULL;
	cJSON *patch = NULL;
	if (key_fields_ok(x, 1) != 0)
		goto out;
	const char *name = str_of(x->body, "name");
	const cJSON *limits = cJSON_GetObjectItemCaseSensitive(x->body, "limits");
	int64_t expires = (int64_t)num_of(x->body, "expires", 0);
	if (!(key = auth_key_create(x->a->cfg.state_dir, name, expires, id, err, sizeof(err)))) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot create the key now: %s", err);
		goto out;
	}
	if (cJSON_GetArraySize(limits) > 0) {
		patch = cJSON_CreateObject();
		cJSON_AddItemToObject(patch, "limits", cJSON_Duplicate(limits, 1));
		if (auth_key_update(x->a->cfg.state_dir, id, patch, err, sizeof(err)) != 0) {
			char err2[256];
			/* a key without the limits asked for must not stay usable */
			if (auth_key_revoke(x->a->cfg.state_dir, id, err2, sizeof(err2)) != 0)
				log_err("key %s made without its limits and not revoked: %s", id, err2);
			log_err("%s", err);
			reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot set the key's limits now: %s", err);
			goto out;
		}
	}
	snprintf(prefix, sizeof(prefix), "%.10s", key);
	log_info("gateway key %s created", id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "key", key);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "prefix", prefix);
	cJSON_AddNumberToObject(j, "expires", (double)expires);
	cJSON_AddItemToObject(j, "limits", limits ? cJSON_Duplicate(limits, 1) : cJSON_CreateObject());
	reply_ok(x, 201, j);
out:
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	cJSON_Delete(patch);
}

/* The stored record of gateway key x->id: a new object, or NULL after an
 * error answer (404, 503). */
static cJSON *gwkey_get(struct ctx *x)
{
	char dbkey[sizeof(GWKEY_PREFIX) + ADMIN_ID_MAX];
	cJSON *j = NULL;
	GDBM_FILE db = state_open(x, 0);
	if (!db && errno != ENOENT) {
		reply_store_error(x);
		return NULL;
	}
	if (db) {
		snprintf(dbkey, sizeof(dbkey), GWKEY_PREFIX "%s", x->id);
		j = get_json(db, dbkey);
		store_close(db);
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		reply_error(x, 404, "not_found", NULL, "no gateway key with id %s", x->id);
		return NULL;
	}
	return j;
}

static void h_keys_patch(struct ctx *x)
{
	char err[512];
	cJSON *rec = NULL;
	if (key_fields_ok(x, 0) != 0 || !(rec = gwkey_get(x)))
		goto out;
	if (cJSON_GetArraySize(x->body) == 0) {
		reply_error(x, 400, "invalid_request", NULL, "nothing to change: give name, expires or limits");
		goto out;
	}
	if (auth_key_update(x->a->cfg.state_dir, x->id, x->body, err, sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot change the key now: %s", err);
		goto out;
	}
	cJSON_Delete(rec);
	if (!(rec = gwkey_get(x)))
		goto out;
	log_info("gateway key %s changed", x->id);
	reply_ok(x, 200, key_public(rec, NULL, x->now));
out:
	cJSON_Delete(rec);
}

static void h_keys_revoke(struct ctx *x)
{
	char err[512];
	cJSON *rec = gwkey_get(x);
	if (!rec)
		return;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "revoked")) &&
	    auth_key_revoke(x->a->cfg.state_dir, x->id, err, sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot revoke the key now: %s", err);
		cJSON_Delete(rec);
		return;
	}
	cJSON_Delete(rec);
	log_info("gateway key %s revoked", x->id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", x->id);
	cJSON_AddBoolToObject(j, "revoked", 1);
	reply_ok(x, 200, j);
}

/* ------------------------------------------------------------ upstream keys */

/* An upstream key: printable ASCII without spaces, as upkey_add takes it. */
static int secret_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < UPKEY_MIN_LEN || n >= UPKEY_SECRET_MAX)
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

static int label_ok(const cJSON *v)
{
	return cJSON_IsString(v) && (!*v->valuestring || settings_text_ok(v->valuestring, LABEL_LEN - 1, 0));
}

static int same_secret_cb(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	const char *s = str_of(j, "key");
	int same = s && !strcmp(s, user);
	(void)key;
	cJSON_Delete(j);
	return same;
}

/* Does provider's pool in state.db hold secret already? 1, 0, or -1 when
 * state.db cannot be read. */
static int upkey_exists(struct ctx *x, const char *provider, const char *secret)
{
	char prefix[sizeof(UPKEY_PREFIX) + CONFIG_NAME_MAX + 1];
	GDBM_FILE db = state_open(x, 0);
	if (!db)
		return errno == ENOENT ? 0 : -1;
	snprintf(prefix, sizeof(prefix), UPKEY_PREFIX "%s:", provider);
	int r = store_each(db, prefix, same_secret_cb, (void *)secret);
	r = r < 0 ? -1 : r ? 1 : 0;
	store_close(db);
	return r;
}

/* The upkey_list entry of id (a new object), or NULL after an error answer
 * (404, 503). */
static cJSON *upkey_get(struct ctx *x, const char *id)
{
	cJSON *found = NULL, *list = NULL;
	const cJSON *e;
	if (strncmp(id, "u_", 2) || !hex_ok(id + 2, 8)) {
		reply_error(x, 404, "not_found", NULL, "no upstream key with id %s", id);
		return NULL;
	}
	if (!(list = upkeys_read(x))) {
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		return NULL;
	}
	cJSON_ArrayForEach(e, list) {
		if (!found && !strcmp(str_of(e, "id"), id))
			found = cJSON_Duplicate(e, 1);
	}
	cJSON_Delete(list);
	if (!found)
		reply_error(x, 404, "not_found", NULL, "no upstream key with id %s", id);
	return found;
}

static void h_upkeys_post(struct ctx *x)
{
	static const char *const known[] = { "provider", "key", "label", NULL };
	char err[512], id[UPKEY_ID_MAX];
	struct config eff;
	int have_eff = 0;
	cJSON *rec = NULL;
	const char *provider = str_of(x->body, "provider");
	const char *secret = str_of(x->body, "key");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(x->body, "label");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		reply_error(x, 400, "invalid_request", NULL, "%s", err);
		goto out;
	}
	if (!provider || !settings_provider_name_ok(provider)) {
		reply_error(x, 400, "invalid_request", NULL, "provider must be a provider name (a-z, 0-9, '.', '_', '-')");
		goto out;
	}
	if (!secret || !secret_ok(secret)) {
		reply_error(x, 400, "invalid_request", NULL,
			    "key must be the provider's API key: %d to %d printable characters without spaces",
			    UPKEY_MIN_LEN, UPKEY_SECRET_MAX - 1);
		goto out;
	}
	if (label && !label_ok(label)) {
		reply_error(x, 400, "invalid_request", NULL, "label must be text of up to %d characters", LABEL_LEN - 1);
		goto out;
	}
	if (load_config(x, &eff, 1, err, sizeof(err)) != 0) {
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	have_eff = 1;
	if (!config_provider(&eff, provider)) {
		reply_error(x, 400, "unknown_provider", NULL,
			    "there is no provider '%s': add it under Settings (providers) first", provider);
		goto out;
	}
	switch (upkey_exists(x, provider, secret)) {
	case 1:
		reply_error(x, 409, "duplicate", NULL, "this key is already in the pool of %s", provider);
		goto out;
	case -1:
		reply_store_error(x);
		goto out;
	}
	if (upkey_add(x->a->cfg.state_dir, provider, secret, label ? label->valuestring : "", id, err,
		      sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot add the key now: %s", err);
		goto out;
	}
	log_add_secret(secret);
	log_info("upstream key %s added to %s", id, provider);
	if ((rec = upkey_get(x, id)) != NULL)
		reply_ok(x, 201, upkey_public(rec, NULL));
out:
	cJSON_Delete(rec);
	if (have_eff)
		config_free(&eff);
}

static void h_upkeys_patch(struct ctx *x)
{
	static const char *const known[] = { "disabled", "label", NULL };
	char err[512];
	cJSON *rec = NULL;
	const cJSON *dis = cJSON_GetObjectItemCaseSensitive(x->body, "disabled");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(x->body, "label");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		reply_error(x, 400, "invalid_request", NULL, "%s", err);
		goto out;
	}
	if ((!dis && !label) || (dis && !cJSON_IsBool(dis)) || (label && !label_ok(label))) {
		reply_error(x, 400, "invalid_request", NULL,
			    "give disabled (true or false) and/or label (text of up to %d characters)", LABEL_LEN - 1);
		goto out;
	}
	if (!(rec = upkey_get(x, x->id)))
		goto out;
	if ((label && upkey_set_label(x->a->cfg.state_dir, x->id, label->valuestring, err, sizeof(err)) != 0) ||
	    (dis && upkey_set_disabled(x->a->cfg.state_dir, x->id, cJSON_IsTrue(dis), err, sizeof(err)) != 0)) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot change the key now: %s", err);
		goto out;
	}
	cJSON_Delete(rec);
	if (!(rec = upkey_get(x, x->id)))
		goto out;
	log_info("upstream key %s changed", x->id);
	reply_ok(x, 200, upkey_public(rec, NULL));
out:
	cJSON_Delete(rec);
}

static void h_upkeys_delete(struct ctx *x)
{
	char err[512];
	cJSON *rec = upkey_get(x, x->id);
	if (!rec)
		return;
	cJSON_Delete(rec);
	if (upkey_remove(x->a->cfg.state_dir, x->id, err, sizeof(err)) != 0) {
		log_err("%s", err);
		reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "cannot remove the key now: %s", err);
		return;
	}
	log_info("upstream key %s removed", x->id);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", x->id);
	cJSON_AddBoolToObject(j, "deleted", 1);
	reply_ok(x, 200, j);
}

/* ------------------------------------------------------------ usage */

/* The value of name in a query string into out; 1 if present. */
static int query_get(const char *q, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	while (q && *q) {
		const char *end = strchr(q, '&');
		if (!end)
			end = q + strlen(q);
		if ((size_t)(end - q) > nl && !strncmp(q, name, nl) && q[nl] == '=') {
			size_t n = (size_t)(end - q - (ptrdiff_t)nl - 1);
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, q + nl + 1, n);
			out[n] = '\0';
			return 1;
		}
		q = *end ? end + 1 : end;
	}
	return 0;
}

static cJSON *backlog_json(struct ctx *x)
{
	struct settle_opts o;
	struct settle_status st;
	char err[256];
	cJSON *j = cJSON_CreateObject();
	settle_opts_from_config(&o, &x->a->cfg);
	if (settle_status(&o, &st, err, sizeof(err)) != 0) {
		cJSON_AddStringToObject(j, "error", err);
		return j;
	}
	const struct {
		const char *name;
		const struct settle_count *c;
	} parts[] = { { "open", &st.open }, { "ready", &st.ready }, { "settled", &st.settled } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		cJSON *c = cJSON_AddObjectToObject(j, parts[i].name);
		cJSON_AddNumberToObject(c, "segments", (double)parts[i].c->segments);
		cJSON_AddNumberToObject(c, "records", (double)parts[i].c->records);
	}
	cJSON_AddNumberToObject(j, "unsettled_records", (double)(st.open.records + st.ready.records));
	cJSON_AddNumberToObject(j, "unsettled_segments", (double)(st.open.segments + st.ready.segments));
	cJSON_AddNumberToObject(j, "backlog_records", (double)st.backlog_records);
	cJSON_AddNumberToObject(j, "oldest_ms", (double)st.oldest_ms);
	cJSON_AddNumberToObject(j, "oldest_age_s", st.oldest_ms ? (double)(x->now - st.oldest_ms / 1000) : 0);
	cJSON_AddNumberToObject(j, "last_run_ms", (double)st.last_run_ms);
	cJSON_AddNumberToObject(j, "last_push_ok_ms", (double)st.last_push_ok_ms);
	cJSON_AddNumberToObject(j, "ledger_seq", (double)st.ledger_seq);
	cJSON_AddNumberToObject(j, "ledger_commit_ms", (double)st.ledger_commit_ms);
	cJSON_AddBoolToObject(j, "backend", st.backend);
	if (st.last_error[0]) {
		cJSON_AddStringToObject(j, "last_error", st.last_error);
		cJSON_AddNumberToObject(j, "last_error_ms", (double)st.last_error_ms);
	}
	return j;
}

/* The usage table of ?days=N; NULL after an error answer. */
static struct admin_usage *usage_for_query(struct ctx *x, long *days)
{
	char v[32], err[512], from[LEDGER_DAY_LEN], to[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN];
	*days = ADMIN_USAGE_DAYS_DEFAULT;
	if (query_get(x->r->query, "days", v, sizeof(v)) && ini_parse_long(v, 1, ADMIN_USAGE_DAYS_MAX, days) != 0) {
		reply_error(x, 400, "invalid_request", NULL, "days must be a whole number from 1 to %d",
			    ADMIN_USAGE_DAYS_MAX);
		return NULL;
	}
	ledger_day(x->now * 1000, to);
	ledger_day((x->now - (*days - 1) * 86400) * 1000, from);
	this_month(x->now, month);
	struct admin_usage *u = admin_usage_new(from, to, month);
	cJSON *keys = keys_read(x, err, sizeof(err));
	if (keys)
		name_keys(u, keys);
	cJSON_Delete(keys);
	if (usage_load(x, u, err, sizeof(err)) != 0) {
		log_warn("%s", err);
		admin_usage_free(u);
		reply_error(x, 503, "ledger_busy", "Retry-After: 1\r\n", "the usage ledger cannot be read now; try again");
		return NULL;
	}
	return u;
}

static void h_usage(struct ctx *x)
{
	long days;
	struct admin_usage *u = usage_for_query(x, &days);
	if (!u)
		return;
	cJSON *j = admin_usage_json(u);
	cJSON_AddNumberToObject(j, "days", (double)days);
	cJSON_AddStringToObject(j, "currency", x->a->cfg.currency ? x->a->cfg.currency : "USD");
	cJSON_AddNumberToObject(j, "generated_ms", (double)x->now * 1000);
	cJSON_AddNumberToObject(j, "unsettled_read", (double)admin_usage_records(u));
	cJSON_AddItemToObject(j, "backlog", backlog_json(x));
	admin_usage_free(u);
	reply_ok(x, 200, j);
}

static void h_usage_csv(struct ctx *x)
{
	long days;
	char extra[256];
	struct admin_usage *u = usage_for_query(x, &days);
	if (!u)
		return;
	char *csv = admin_usage_csv(u);
	char from[LEDGER_DAY_LEN], to[LEDGER_DAY_LEN];
	ledger_day(x->now * 1000, to);
	ledger_day((x->now - (days - 1) * 86400) * 1000, from);
	snprintf(extra, sizeof(extra), "Content-Disposition: attachment; filename=\"llmgate-usage-%s-to-%s.csv\"\r\n",
		 from, to);
	reply_raw(x, 200, "text/csv; charset=utf-8", extra, csv, strlen(csv));
	free(csv);
	admin_usage_free(u);
}

/* ------------------------------------------------------------ dispatch */

#define R_PUBLIC 1u   /* no session needed */
#define R_BODY 2u     /* a JSON object body is required */

struct route {
	const char *method;
	const char *pattern;   /* '*' matches one path segment: an id */
	unsigned flags;
	void (*fn)(struct ctx *x);
};

static const struct route routes[] = {
	{ "GET", "setup", R_PUBLIC, h_setup_get },
	{ "POST", "setup", R_PUBLIC | R_BODY, h_setup_post },
	{ "POST", "login", R_PUBLIC | R_BODY, h_login },
	{ "POST", "logout", 0, h_logout },
	{ "GET", "session", 0, h_session },
	{ "GET", "settings", 0, h_settings_get },
	{ "PUT", "settings", R_BODY, h_settings_put },
	{ "GET", "providers", 0, h_providers },
	{ "GET", "keys", 0, h_keys_get },
	{ "POST", "keys", R_BODY, h_keys_post },
	{ "PATCH", "keys/*", R_BODY, h_keys_patch },
	{ "DELETE", "keys/*", 0, h_keys_revoke },
	{ "POST", "keys/*/revoke", 0, h_keys_revoke },
	{ "POST", "upstream-keys", R_BODY, h_upkeys_post },
	{ "PATCH", "upstream-keys/*", R_BODY, h_upkeys_patch },
	{ "DELETE", "upstream-keys/*", 0, h_upkeys_delete },
	{ "GET", "usage", 0, h_usage },
	{ "GET", "usage.csv", 0, h_usage_csv },
};

static int id_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static int route_match(const char *pattern, const char *path, char *id, size_t idlen)
{
	while (*pattern) {
		if (*pattern == '*') {
			size_t n = 0;
			while (path[n] && path[n] != '/') {
				if (!id_char(path[n]))
					return 0;
				n++;
			}
			if (!n || n >= idlen)
				return 0;
			memcpy(id, path, n);
			id[n] = '\0';
			path += n;
			pattern++;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return *path == '\0';
}

static int changes_state(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

/* Read and parse the body; 0, or -1 after an error answer. */
static int read_body(struct ctx *x, unsigned flags)
{
	int r = http_read_body(x->r, ADMIN_BODY_MAX);
	if (r == -1) {
		reply_error(x, 413, "too_large", NULL, "the request body is larger than %u KiB", ADMIN_BODY_MAX >> 10);
		return -1;
	}
	if (r != 0) {
		reply_error(x, 400, "invalid_request", NULL, "the request body could not be read");
		return -1;
	}
	if (x->r->body.len == 0) {
		if (!(flags & R_BODY))
			return 0;
		reply_error(x, 400, "invalid_json", NULL, "a JSON object body is needed");
		return -1;
	}
	const char *end = NULL, *stop = x->r->body.data + x->r->body.len;
	x->body = cJSON_ParseWithLengthOpts(x->r->body.data, x->r->body.len, &end, 0);
	while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(x->body) || end != stop) {
		reply_error(x, 400, "invalid_json", NULL, "the request body is not a JSON object");
		return -1;
	}
	return 0;
}

void admin_handle(struct admin *a, struct http_req *r)
{
	struct ctx x;
	char allow[96] = "";
	const struct route *rt = NULL;
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.r = r;
	x.now = (int64_t)time(NULL);
	const char *api = admin_api_path(r->path, http_param(r, "PATH_INFO"));
	for (size_t i = 0; api && i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].pattern, api, x.id, sizeof(x.id)))
			continue;
		if (!strcmp(routes[i].method, r->method)) {
			rt = &routes[i];
			break;
		}
		size_t n = strlen(allow);
		snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", routes[i].method);
	}
	if (!rt && !allow[0]) {
		reply_error(&x, 404, "not_found", NULL, "no such admin API call");
		goto out;
	}
	if (!rt) {
		char extra[160];
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
		reply_error(&x, 405, "method_not_allowed", extra, "use %s here", allow);
		goto out;
	}
	if (!(rt->flags & R_PUBLIC)) {
		int s = session_load(&x);
		if (s < 0) {
			reply_store_error(&x);
			goto out;
		}
		if (s) {
			reply_error(&x, 401, "unauthorized", NULL, "log in first (no valid session)");
			goto out;
		}
		if (changes_state(r->method) && !csrf_ok(&x)) {
			reply_error(&x, 403, "csrf_failed", NULL, "missing or wrong X-CSRF-Token header");
			goto out;
		}
	}
	if ((!strcmp(r->method, "POST") || !strcmp(r->method, "PUT") || !strcmp(r->method, "PATCH")) &&
	    read_body(&x, rt->flags) != 0)
		goto out;
	rt->fn(&x);
out:
	cJSON_Delete(x.body);
}

/* ------------------------------------------------------------ set-up */

int admin_init(struct admin *a, const char *config_path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (config_load(&a->cfg, config_path, err, errlen) != 0)
		return -1;
	if (config_path)
		a->config_path = xstrdup(config_path);
	else if (a->cfg.path)
		a->config_path = xstrdup(a->cfg.path);
	a->state_path = auth_state_path(a->cfg.state_dir);
	a->ledger_path = ledger_path(a->cfg.state_dir);
	a->spool_dir = xasprintf("%s/spool", a->cfg.state_dir);
	a->run_dir = xasprintf("%s/run", a->cfg.state_dir);
	return 0;
}

void admin_free(struct admin *a)
{
	config_free(&a->cfg);
	free(a->config_path);
	free(a->state_path);
	free(a->ledger_path);
	free(a->spool_dir);
	free(a->run_dir);
	memset(a, 0, sizeof(*a));
}
