/* admin_usage.c — the admin API's usage: the usage table of ledger.db and the unsettled spool, its JSON and CSV views, and settle's status. */
#include "autoconf.h"
#include "admin_impl.h"
#include "buf.h"
#include "hmap.h"
#include "ini.h"
#include "ledger.h"
#include "log.h"
#include "settle.h"
#include "spool.h"
#include "xmalloc.h"
#include <unistd.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


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

/* ================================================================ usage table */

/* An index in a string-keyed hmap (hmap.h, keys copied). */
static int smap_get(const struct hmap *m, const char *key, size_t *out)
{
	void *v;
	if (!hmap_get(m, key, strlen(key), &v))
		return 0;
	*out = (size_t)(uintptr_t)v;
	return 1;
}

static void smap_put(struct hmap *m, const char *key, size_t val)
{
	hmap_put(m, key, strlen(key), (void *)(uintptr_t)val);
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
	struct hmap rmap;            /* "day\x1fkey\x1fmodel" -> index in rows */
	struct ukey *keys;
	size_t nkeys;
	struct hmap kmap;            /* key id -> index in keys */
	long records;
};

struct admin_usage *admin_usage_new(const char *from_day, const char *to_day, const char *month)
{
	struct admin_usage *u = xcalloc(1, sizeof(*u));
	snprintf(u->from, sizeof(u->from), "%s", from_day ? from_day : "");
	snprintf(u->to, sizeof(u->to), "%s", to_day ? to_day : "");
	snprintf(u->month, sizeof(u->month), "%s", month ? month : "");
	hmap_init(&u->rmap, 1);
	hmap_init(&u->kmap, 1);
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
	hmap_free(&u->rmap);
	hmap_free(&u->kmap);
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

int admin_usage_add_record(struct admin_usage *u, const char *line, size_t len)
{
	char key_id[LEDGER_PART_MAX + 1], model[LEDGER_PART_MAX + 1];
	char day[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN];
	struct ledger_totals d;
	int64_t ts_ms;
	char *name;
	/* read as the fold reads it: what settle will add is what is shown */
	if (ledger_record_parse(line, len, 0, &d, key_id, model, &ts_ms, &name) != 0)
		return -1;
	ledger_day(ts_ms, day);
	ledger_month(ts_ms, month);
	add_row(u, day, key_id, model, &d);
	struct ukey *k = key_slot(u, key_id);
	ledger_add(&k->unsettled, &d);
	if (u->month[0] && !strcmp(month, u->month))
		ledger_add(&k->unsettled_month, &d);
	if (ts_ms > k->last_ms)
		k->last_ms = ts_ms;
	if (!k->name && name && name[0]) {
		k->name = name;
		name = NULL;
	}
	free(name);
	u->records++;
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

/* ------------------------------------------------------------ usage reading */

void admin_usage_this_month(int64_t now, char out[LEDGER_MONTH_LEN])
{
	ledger_month(now * 1000, out);
}

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

/* Where a segment is, in the order it moves: spool/NAME.open, .ready,
 * .settled, then spool/archive/NAME.settled (or gone). */
static const char *const seg_states[] = { ".open", ".ready", ".settled", "archive" };

void admin_spool_each(struct admin_ctx *x, size_t nlist, char **skip, size_t nskip,
		      int (*fn)(const char *line, size_t len, void *user), void *user)
{
	char *archive = xasprintf("%s/archive", x->a->spool_dir);
	char **seen = NULL;
	size_t nseen = 0;
	for (size_t st = 0; st < nlist && st < 4; st++) {
		char **list = NULL;
		size_t n = st < 3 ? spool_list(x->a->spool_dir, seg_states[st], &list) : spool_list(archive, ".settled", &list);
		for (size_t i = 0; i < n; i++) {
			if (in_list(skip, nskip, list[i]) || in_list(seen, nseen, list[i]))
				continue;
			seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = xstrdup(list[i]);
			for (size_t t = st; t < 4; t++) {
				char *path = t < 3 ? xasprintf("%s/%s%s", x->a->spool_dir, list[i], seg_states[t])
						   : xasprintf("%s/%s.settled", archive, list[i]);
				int partial = 0;
				long got = spool_read(path, fn, user, &partial);
				free(path);
				if (got >= 0)
					break;
			}
		}
		spool_free_list(list, n);
	}
	spool_free_list(seen, nseen);
	free(archive);
}

/* Segments of the ledger's last commit (meta:last), which settle may not
 * have renamed yet. */
static void ledger_last_segments(GDBM_FILE db, char ***out, size_t *n)
{
	cJSON *j = admin_get_json(db, LEDGER_META_LAST);
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
int admin_usage_load(struct admin_ctx *x, struct admin_usage *u, char *err, size_t errlen)
{
	char **last = NULL;
	size_t nlast = 0;
	int result = -1;
	/* with a database, the fleet's totals settle copied from it */
	const char *totals = x->a->ledger_path;
	if (x->a->fleet_path && access(x->a->fleet_path, F_OK) == 0)
		totals = x->a->fleet_path;
	GDBM_FILE db = store_open(totals, 0, ADMIN_STORE_WAIT_MS);
	if (!db && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", strrchr(totals, '/') + 1, store_strerror(errno));
		goto out;
	}
	if (db) {
		ledger_last_segments(db, &last, &nlast);
		int r = ledger_each(db, "", usage_ledger_cb, u);
		int cause = errno;
		store_close(db);
		if (r < 0) {
			/* never zeros for totals that cannot be read */
			snprintf(err, errlen, "cannot read %s: %s", strrchr(totals, '/') + 1, store_strerror(cause));
			goto out;
		}
	}
	admin_spool_each(x, 2, last, nlast, usage_line_cb, u);
	result = 0;
out:
	spool_free_list(last, nlast);
	return result;
}

/* ------------------------------------------------------------ usage */


static cJSON *backlog_json(struct admin_ctx *x)
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
	admin_settle_schedule(x, j, st.last_run_ms);
	if (st.last_error[0]) {
		cJSON_AddStringToObject(j, "last_error", st.last_error);
		cJSON_AddNumberToObject(j, "last_error_ms", (double)st.last_error_ms);
	}
	return j;
}

/* The usage table of ?days=N; NULL after an error answer. */
static struct admin_usage *usage_for_query(struct admin_ctx *x, long *days)
{
	char v[32], err[512], from[LEDGER_DAY_LEN], to[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN];
	*days = ADMIN_USAGE_DAYS_DEFAULT;
	if (admin_query_get(x->r->query, "days", v, sizeof(v)) && ini_parse_long(v, 1, ADMIN_USAGE_DAYS_MAX, days) != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "days must be a whole number from 1 to %d",
			    ADMIN_USAGE_DAYS_MAX);
		return NULL;
	}
	ledger_day(x->now * 1000, to);
	ledger_day((x->now - (*days - 1) * 86400) * 1000, from);
	admin_usage_this_month(x->now, month);
	struct admin_usage *u = admin_usage_new(from, to, month);
	cJSON *keys = admin_gwkeys_read(x, err, sizeof(err));
	if (keys)
		admin_gwkeys_name(u, keys);
	cJSON_Delete(keys);
	if (admin_usage_load(x, u, err, sizeof(err)) != 0) {
		log_warn("%s", err);
		admin_usage_free(u);
		admin_reply_error(x, 503, "ledger_busy", "Retry-After: 1\r\n", "the usage ledger cannot be read now; try again");
		return NULL;
	}
	return u;
}

void admin_usage_get(struct admin_ctx *x)
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
	cJSON_AddStringToObject(j, "settled_from",
				x->a->fleet_path && access(x->a->fleet_path, F_OK) == 0 ? "fleet" : "ledger");
	cJSON_AddItemToObject(j, "backlog", backlog_json(x));
	admin_usage_free(u);
	admin_reply_ok(x, 200, j);
}

void admin_usage_get_csv(struct admin_ctx *x)
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
	admin_reply_raw(x, 200, "text/csv; charset=utf-8", extra, csv, strlen(csv));
	free(csv);
	admin_usage_free(u);
}
