/* admin_requests.c — the request log: one row per usage record, newest
 * first, filtered and paged, read from the spool segments settle has not
 * folded yet (.open, .ready), those waiting for the billing backend
 * (.settled) and the archive (spool/archive/, with [settle] archive). The
 * router is not involved: its records are read from disk. Rows carry what
 * the records hold (times, key id and name, route, provider, models,
 * status, tokens, cost, time to first byte, duration, cache hit, the error
 * in plain words) and never a prompt or a secret: records hold none. */
#include "autoconf.h"
#include "admin_impl.h"
#include "promptlog.h"
#include "ini.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_LIMIT_MAX 200
#define REQ_OFFSET_MAX 5000

struct req_filter {
	char key[128], model[256], provider[64], status[16];
	long long from_ms, to_ms;
};

struct req_row {
	int64_t ts;
	cJSON *rec;
};

struct req_scan {
	const struct req_filter *f;
	struct req_row *rows;   /* min-heap on ts: the newest keep rows */
	size_t n, keep;
	long total;
};

static int status_matches(const char *want, const cJSON *rec)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "status");
	int st = cJSON_IsNumber(s) ? s->valueint : 0;
	if (!*want)
		return 1;
	if (!strcmp(want, "error"))
		return st >= 400 || st == 0;
	if (!strcmp(want, "ok"))
		return st > 0 && st < 400;
	return atoi(want) == st;
}

static int text_is(const char *want, const cJSON *rec, const char *name)
{
	const char *v = admin_str_of(rec, name);
	return !*want || (v && !strcmp(v, want));
}

static int matches(const struct req_filter *f, const cJSON *rec, int64_t ts)
{
	if ((f->from_ms && ts < f->from_ms) || (f->to_ms && ts >= f->to_ms))
		return 0;
	if (*f->key && !text_is(f->key, rec, "key_id") && !text_is(f->key, rec, "key_name"))
		return 0;
	return text_is(f->model, rec, "model") && text_is(f->provider, rec, "provider") &&
	       status_matches(f->status, rec);
}

static void heap_swap(struct req_row *a, struct req_row *b)
{
	struct req_row t = *a;
	*a = *b;
	*b = t;
}

static void heap_down(struct req_row *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && h[l].ts < h[m].ts)
			m = l;
		if (l + 1 < n && h[l + 1].ts < h[m].ts)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(&h[i], &h[m]);
		i = m;
	}
}

static void heap_push(struct req_scan *s, int64_t ts, cJSON *rec)
{
	if (s->n == s->keep) {
		if (ts <= s->rows[0].ts) {
			cJSON_Delete(rec);
			return;
		}
		cJSON_Delete(s->rows[0].rec);
		s->rows[0] = (struct req_row){ ts, rec };
		heap_down(s->rows, s->n, 0);
		return;
	}
	size_t i = s->n++;
	s->rows[i] = (struct req_row){ ts, rec };
	while (i && s->rows[(i - 1) / 2].ts > s->rows[i].ts) {
		heap_swap(&s->rows[i], &s->rows[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static int line_cb(const char *line, size_t len, void *user)
{
	struct req_scan *s = user;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	if (!cJSON_IsObject(rec) || !cJSON_IsNumber(ts) || !matches(s->f, rec, (int64_t)ts->valuedouble)) {
		cJSON_Delete(rec);
		return 0;
	}
	s->total++;
	heap_push(s, (int64_t)ts->valuedouble, rec);
	return 0;
}

static int cmp_newest(const void *a, const void *b)
{
	const struct req_row *x = a, *y = b;
	return x->ts < y->ts ? 1 : x->ts > y->ts ? -1 : 0;
}

/* The query's filter and page; 0, or -1 after an error answer. */
static int read_query(struct admin_ctx *x, struct req_filter *f, long *limit, long *offset)
{
	char v[32];
	const char *q = x->r->query;
	long long from = 0, to = 0;
	memset(f, 0, sizeof(*f));
	*limit = 50;
	*offset = 0;
	admin_query_get(q, "key", f->key, sizeof(f->key));
	admin_query_get(q, "model", f->model, sizeof(f->model));
	admin_query_get(q, "provider", f->provider, sizeof(f->provider));
	admin_query_get(q, "status", f->status, sizeof(f->status));
	if (*f->status && strcmp(f->status, "ok") && strcmp(f->status, "error") &&
	    (atoi(f->status) < 100 || atoi(f->status) > 599)) {
		admin_reply_invalid(x, "invalid_request", "status", "status must be ok, error or an HTTP status");
		return -1;
	}
	if ((admin_query_get(q, "limit", v, sizeof(v)) && ini_parse_long(v, 1, REQ_LIMIT_MAX, limit) != 0) ||
	    (admin_query_get(q, "offset", v, sizeof(v)) && ini_parse_long(v, 0, REQ_OFFSET_MAX, offset) != 0)) {
		admin_reply_invalid(x, "invalid_request", "limit", "limit is 1 to 200, offset 0 to 5000");
		return -1;
	}
	long t;
	if (admin_query_get(q, "from", v, sizeof(v))) {
		if (ini_parse_long(v, 0, 1L << 40, &t) != 0)
			goto bad_time;
		from = t;
	}
	if (admin_query_get(q, "to", v, sizeof(v))) {
		if (ini_parse_long(v, 0, 1L << 40, &t) != 0)
			goto bad_time;
		to = t;
	}
	f->from_ms = from * 1000;
	f->to_ms = to * 1000;
	return 0;
bad_time:
	admin_reply_invalid(x, "invalid_request", "from", "from and to are unix times in seconds");
	return -1;
}

/* The prompt kept for rec's request, when its key keeps them
 * (promptlog.h), as rec's "prompt_text" ("prompt" is its token count). */
static void add_prompt(struct admin_ctx *x, cJSON *prompts, cJSON *rec)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(rec, "key_id");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (!cJSON_IsString(key) || !cJSON_IsString(id))
		return;
	cJSON *kept = cJSON_GetObjectItemCaseSensitive(prompts, key->valuestring);
	if (!kept) {
		kept = promptlog_read(x->a->cfg.state_dir, key->valuestring);
		cJSON_AddItemToObject(prompts, key->valuestring, kept);
	}
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(kept, id->valuestring);
	if (cJSON_IsString(p))
		cJSON_AddStringToObject(rec, "prompt_text", p->valuestring);
}

void admin_requests_get(struct admin_ctx *x)
{
	struct req_filter f;
	long limit, offset;
	if (read_query(x, &f, &limit, &offset) != 0)
		return;
	struct req_scan s = { &f, NULL, 0, (size_t)(limit + offset), 0 };
	s.rows = xmalloc(s.keep * sizeof(*s.rows));
	admin_spool_each(x, 4, NULL, 0, line_cb, &s);
	qsort(s.rows, s.n, sizeof(*s.rows), cmp_newest);
	cJSON *j = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(j, "requests");
	cJSON *prompts = cJSON_CreateObject();   /* key id -> its kept prompts, read once */
	for (size_t i = (size_t)offset; i < s.n; i++) {
		add_prompt(x, prompts, s.rows[i].rec);
		cJSON_AddItemToArray(arr, s.rows[i].rec);
		s.rows[i].rec = NULL;
	}
	cJSON_Delete(prompts);
	for (size_t i = 0; i < s.n; i++)
		cJSON_Delete(s.rows[i].rec);
	free(s.rows);
	cJSON_AddNumberToObject(j, "total", (double)s.total);
	cJSON_AddNumberToObject(j, "offset", (double)offset);
	cJSON_AddNumberToObject(j, "limit", (double)limit);
	cJSON_AddBoolToObject(j, "archive", x->a->cfg.settle_archive);
	admin_reply_ok(x, 200, j);
}
