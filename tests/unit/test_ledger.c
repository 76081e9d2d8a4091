/* test_ledger.c — ledger keys, values, exact cost sums, folding records, idempotent apply. */
#include "autoconf.h"
#include "ledger.h"
#include "log.h"
#include "store.h"
#include "usage.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JAN31_LAST_MS 1801439999999LL   /* 2027-01-31T23:59:59.999Z */

static const char *rec(char *buf, size_t len, const char *id, const char *key_id, const char *model, long long ts,
		       long prompt, long completion, double cost, int status, int cache_hit, int estimated)
{
	snprintf(buf, len,
		 "{\"id\":\"%s\",\"ts\":%lld,\"key_id\":\"%s\",\"key_name\":\"team\",\"provider\":\"deepseek\","
		 "\"model\":\"%s\",\"prompt\":%ld,\"completion\":%ld,\"cached\":2,\"reasoning\":1,"
		 "\"estimated\":%s,\"cost\":%.17g,\"currency\":\"USD\",\"status\":%d,\"stream\":false,"
		 "\"cache_hit\":%s,\"client_gone\":false}",
		 id, ts, key_id, model, prompt, completion, estimated ? "true" : "false", cost, status,
		 cache_hit ? "true" : "false");
	return buf;
}

static int count_cb(const char *key, const struct ledger_totals *t, void *user)
{
	(void)key;
	(void)t;
	(*(int *)user)++;
	return 0;
}

int main(void)
{
	char day[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN], key[LEDGER_KEY_MAX], line[2048];
	struct ledger_totals t, u;
	log_init("test", LOG_ERR);

	/* ---- days and months, UTC */
	ledger_day(JAN31_LAST_MS, day);
	is_str(day, "2027-01-31", "last ms of a day");
	ledger_day(JAN31_LAST_MS + 1, day);
	is_str(day, "2027-02-01", "first ms of the next day");
	ledger_month(JAN31_LAST_MS, month);
	is_str(month, "2027-01", "month");
	ledger_month(JAN31_LAST_MS + 1, month);
	is_str(month, "2027-02", "next month");
	ledger_day(-5, day);
	is_str(day, "1970-01-01", "negative times count as 0");

	/* ---- key names */
	is_int(ledger_key_day(key, sizeof(key), "k_1a2b3c4d", "deepseek-chat", "2027-01-31"), 0, "day key");
	is_str(key, "day:k_1a2b3c4d|deepseek-chat|2027-01-31", "day key text");
	ledger_key_month(key, sizeof(key), "k_1a2b3c4d", "2027-01");
	is_str(key, "month:k_1a2b3c4d|2027-01", "month key text");
	ledger_key_key(key, sizeof(key), "k_1a2b3c4d");
	is_str(key, "key:k_1a2b3c4d", "key key text");
	ledger_key_model(key, sizeof(key), "kimi-k2.5", "2027-01-31");
	is_str(key, "model:kimi-k2.5|2027-01-31", "model key text");
	char small[12];
	is_int(ledger_key_key(small, sizeof(small), "k_1a2b3c4d"), -1, "truncation is an error");
	is_str(small, "", "and leaves an empty string");
	char *p = ledger_path("/var/lib/llmgate");
	is_str(p, "/var/lib/llmgate/ledger.db", "ledger path");
	free(p);

	/* ---- values: format and parse, exact cost */
	memset(&t, 0, sizeof(t));
	t.requests = 3;
	t.prompt = 30;
	t.completion = 18;
	t.cached = 4;
	t.reasoning = 2;
	t.cost_units = 36900000;   /* 0.0000369 */
	t.errors = 1;
	t.cache_hits = 1;
	t.estimated = 2;
	t.seq = 7;
	char *v = ledger_format(&t);
	is_str(v, "{\"requests\":3,\"prompt\":30,\"completion\":18,\"cached\":4,\"reasoning\":2,\"cost\":0.000036900000,"
		  "\"errors\":1,\"cache_hits\":1,\"estimated\":2,\"seq\":7}", "value format");
	is_int(ledger_parse(v, strlen(v), &u), 0, "parses");
	ok(!memcmp(&t.requests, &u.requests, sizeof(long long) * 5) && u.cost_units == t.cost_units &&
	   u.errors == 1 && u.cache_hits == 1 && u.estimated == 2 && u.seq == 7, "round trip");
	ok(u.cost > 0.0000368999 && u.cost < 0.0000369001, "cost as a double: %.12f", u.cost);
	free(v);
	t.cost_units = 9007199254740993LL;   /* 9007.199254740993: more digits than a double holds */
	v = ledger_format(&t);
	ok(strstr(v, "\"cost\":9007.199254740993,") != NULL, "big cost written exactly");
	ledger_parse(v, strlen(v), &u);
	is_int(u.cost_units, 9007199254740993LL, "and read back exactly");
	free(v);
	t.cost_units = -1500000000000LL;
	v = ledger_format(&t);
	ok(strstr(v, "\"cost\":-1.500000000000,") != NULL, "negative cost");
	ledger_parse(v, strlen(v), &u);
	is_int(u.cost_units, -1500000000000LL, "negative read back");
	free(v);
	const char *foreign = "{\"requests\":1,\"cost\":1.5e-3}";
	is_int(ledger_parse(foreign, strlen(foreign), &u), 0, "a value with an exponent");
	is_int(u.cost_units, 1500000000LL, "cost read through a double");
	is_int(u.prompt, 0, "missing fields are 0");
	is_int(ledger_parse("[1]", 3, &u), -1, "not an object");
	is_int(ledger_parse("{\"cost\":", 8, &u), -1, "not JSON");

	/* ---- folding */
	struct ledger_fold *f = ledger_fold_new();
	rec(line, sizeof(line), "r1", "k_a", "deepseek-chat", JAN31_LAST_MS, 10, 6, 0.1, 200, 0, 0);
	is_int(ledger_fold_line(f, line, strlen(line), 0), 0, "record 1");
	rec(line, sizeof(line), "r2", "k_a", "deepseek-chat", JAN31_LAST_MS + 1, 20, 7, 0.2, 502, 1, 1);
	is_int(ledger_fold_line(f, line, strlen(line), 0), 0, "record 2 (next day, error, cache hit, estimated)");
	rec(line, sizeof(line), "r3", "k_b", "glm-5", JAN31_LAST_MS, 5, 1, 0.0000123, 429, 0, 0);
	is_int(ledger_fold_line(f, line, strlen(line), 0), 0, "record 3");
	is_int(ledger_fold_line(f, "not json", 8, 0), -1, "a malformed line is refused");
	is_int(ledger_fold_line(f, "[]", 2, 0), -1, "an array is refused");
	is_int(ledger_fold_records(f), 3, "3 records");
	/* k_a: 2 day keys, 1 month... (2 months: 01 and 02), 1 key; k_b: 1+1+1;
	 * models: deepseek-chat x2 days, glm-5 x1 */
	is_int(ledger_fold_keys(f), 2 + 2 + 1 + 1 + 1 + 1 + 2 + 1, "distinct keys");
	is_int(ledger_fold_get(f, "key:k_a", &t), 1, "key:k_a");
	is_int(t.requests, 2, "requests");
	is_int(t.prompt, 30, "prompt");
	is_int(t.completion, 13, "completion");
	is_int(t.cached, 4, "cached");
	is_int(t.reasoning, 2, "reasoning");
	is_int(t.cost_units, 300000000000LL, "0.1 + 0.2 is exactly 0.3 in the ledger");
	is_int(t.errors, 1, "errors: status >= 400");
	is_int(t.cache_hits, 1, "cache hits");
	is_int(t.estimated, 1, "estimated");
	is_int(ledger_fold_get(f, "day:k_a|deepseek-chat|2027-01-31", &t), 1, "day key of the first day");
	is_int(t.requests, 1, "one record that day");
	is_int(ledger_fold_get(f, "month:k_a|2027-02", &t), 1, "month of the second record");
	is_int(t.prompt, 20, "its prompt");
	is_int(ledger_fold_get(f, "model:glm-5|2027-01-31", &t), 1, "model key");
	is_int(t.errors, 1, "429 is an error");
	is_int(t.cost_units, 12300000LL, "small cost exact");
	is_int(ledger_fold_get(f, "key:k_c", &t), 0, "absent key");

	/* records without key_id/model/ts, and absurdly long names */
	struct ledger_fold *g = ledger_fold_new();
	const char *bare = "{\"id\":\"r9\",\"prompt\":1}";
	is_int(ledger_fold_line(g, bare, strlen(bare), JAN31_LAST_MS), 0, "a bare record");
	is_int(ledger_fold_get(g, "day:-|-|2027-01-31", &t), 1, "missing names are '-', missing ts the fallback");
	char longm[1200];
	memset(longm, 'm', sizeof(longm) - 1);
	longm[sizeof(longm) - 1] = '\0';
	rec(line, sizeof(line), "r10", "k_a", longm, JAN31_LAST_MS, 1, 1, 0, 200, 0, 0);
	is_int(ledger_fold_line(g, line, strlen(line), 0), 0, "a huge model name still counts");
	is_int(ledger_fold_get(g, "key:k_a", &t), 1, "in its key total");
	for (int i = 0; i < 500; i++) {   /* grow the table */
		char kid[32];
		snprintf(kid, sizeof(kid), "k_%d", i);
		rec(line, sizeof(line), "rx", kid, "m", JAN31_LAST_MS, 1, 0, 0, 200, 0, 0);
		ledger_fold_line(g, line, strlen(line), 0);
	}
	is_int(ledger_fold_get(g, "key:k_499", &t), 1, "many keys");
	is_int(ledger_fold_records(g), 502, "all counted");

	/* ---- applying to a GDBM file, twice */
	char dir[] = "/tmp/llmgate-test-ledger-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *path = ledger_path(dir);
	GDBM_FILE db = store_open(path, STORE_PRIVATE, 0);
	ok(db != NULL, "ledger opened");
	is_int(ledger_get(db, "key:k_a", &t), 0, "absent before");
	is_int(ledger_fold_apply(f, db, 1), (long)ledger_fold_keys(f), "fold applied as commit 1");
	is_int(ledger_get(db, "key:k_a", &t), 1, "present after");
	is_int(t.requests, 2, "requests");
	is_int(t.seq, 1, "seq of the commit");
	is_int(ledger_fold_apply(f, db, 1), 0, "applying commit 1 again changes nothing");
	is_int(ledger_get(db, "key:k_a", &t), 1, "still there");
	is_int(t.requests, 2, "still counted once");
	is_int(t.cost_units, 300000000000LL, "cost counted once");
	is_int(ledger_fold_apply(f, db, 2), (long)ledger_fold_keys(f), "commit 2 adds again");
	ledger_get(db, "key:k_a", &t);
	is_int(t.requests, 4, "now twice");
	is_int(t.seq, 2, "seq 2");
	store_put(db, "key:bad", "nope", 4);
	is_int(ledger_get(db, "key:bad", &t), -1, "malformed value");
	is_int(t.requests, 0, "zeroed");
	store_put(db, LEDGER_META_LAST, "{\"seq\":2,\"segments\":[]}", 24);
	int n = 0;
	ledger_each(db, "", count_cb, &n);
	is_int(n, 11, "ledger_each skips meta: and malformed values");
	n = 0;
	ledger_each(db, "key:", count_cb, &n);
	is_int(n, 2, "by prefix");
	n = 0;
	ledger_each(db, "meta:", count_cb, &n);
	is_int(n, 1, "meta: when asked for");
	is_int(ledger_fold_apply(g, db, 3), (long)ledger_fold_keys(g), "commit 3 writes every key of another fold");
	ledger_get(db, "key:k_a", &t);
	is_int(t.requests, 5, "k_a: 4 + 1");
	is_int(t.seq, 3, "seq 3");
	is_int(ledger_get(db, "key:k_499", &t), 1, "new keys");
	struct ledger_fold *h = ledger_fold_new();
	const char *onto_bad = "{\"ts\":1801439999000,\"key_id\":\"bad\",\"model\":\"m\",\"prompt\":1,\"completion\":1}";
	is_int(ledger_fold_line(h, onto_bad, strlen(onto_bad), 0), 0, "a record of key 'bad'");
	is_int(ledger_fold_apply(h, db, 4), -1, "a fold onto a malformed value is refused, never restarted from zero");
	ledger_fold_free(h);
	store_close(db);

	/* readers see the same */
	db = store_open(path, 0, 0);
	ok(db != NULL, "opened as a reader");
	is_int(ledger_get(db, "model:deepseek-chat|2027-02-01", &t), 1, "reader gets totals");
	is_int(t.requests, 2, "requests");
	store_close(db);

	/* a failed request's record carries its reason; the fold counts it once,
	 * as one error, whatever the reason says */
	{
		struct usage_record r = { .ts_ms = 1801439999000, .key_id = "k_e", .key_name = "n", .provider = "p",
					  .upstream_key = "p#1", .model = "m", .upstream_model = "m", .status = 502,
					  .error = "upstream p: connection refused \"quoted\"" };
		snprintf(r.id, sizeof(r.id), "req_e");
		char *rline = usage_record_json(&r);
		ok(strstr(rline, ",\"error\":\"upstream p: connection refused \\\"quoted\\\"\"") != NULL, "the error is in the record");
		struct ledger_totals d;
		char kid[LEDGER_PART_MAX + 1], model[LEDGER_PART_MAX + 1];
		int64_t ts;
		is_int(ledger_record_parse(rline, strlen(rline), 0, &d, kid, model, &ts, NULL), 0, "the record parses");
		ok(d.requests == 1 && d.errors == 1, "one request, one error");
		free(rline);
		r.status = 200;
		r.error = NULL;
		rline = usage_record_json(&r);
		ok(strstr(rline, "\"error\"") == NULL, "no error member on success");
		free(rline);
	}

	ledger_fold_free(f);
	ledger_fold_free(g);
	unlink(path);
	free(path);
	rmdir(dir);
	return done_testing();
}
