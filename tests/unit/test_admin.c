/* test_admin.c — the admin API's pure parts: paths, cookies, CSV, throttle, settings, usage table; and
 * that the config file, the admin API and the state.db overlay take the same settings. */
#include "autoconf.h"
#include "admin.h"
#include "ledger.h"
#include "log.h"
#include "settings.h"
#include "settings_refs.h"
#include "store.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int settings_ok(const char *json, char *err, size_t errlen)
{
	cJSON *j = cJSON_Parse(json);
	err[0] = '\0';
	if (!j) {
		snprintf(err, errlen, "test JSON does not parse");
		return -2;
	}
	int r = admin_settings_validate(j, err, errlen);
	cJSON_Delete(j);
	return r;
}

static int limits_ok(const char *json)
{
	char err[256];
	cJSON *j = cJSON_Parse(json);
	int r = admin_limits_validate(j, err, sizeof(err));
	cJSON_Delete(j);
	return r;
}

static void test_paths(void)
{
	is_str(admin_api_path("/admin/api/keys", NULL), "keys", "path after the mount");
	is_str(admin_api_path("/llm/admin/api/keys/k_1/revoke", NULL), "keys/k_1/revoke", "mount under a prefix");
	is_str(admin_api_path("/admin/api/", NULL), "", "the mount itself");
	ok(admin_api_path("/admin/apix", NULL) == NULL, "no mount, no PATH_INFO: NULL");
	is_str(admin_api_path("/cgi-bin/llmgate-admin/usage", "/usage"), "usage", "PATH_INFO for a CGI script name");
	ok(admin_api_path(NULL, "usage") == NULL, "PATH_INFO must start with '/'");
}

static void test_cookies(void)
{
	char v[80];
	is_int(admin_cookie_get("llmgate_session=abc", "llmgate_session", v, sizeof(v)), 1, "single cookie");
	is_str(v, "abc", "its value");
	is_int(admin_cookie_get("a=1; llmgate_session=def ; b=2", "llmgate_session", v, sizeof(v)), 1, "among others");
	is_str(v, "def", "trimmed value");
	is_int(admin_cookie_get("xllmgate_session=1; llmgate_sessionx=2", "llmgate_session", v, sizeof(v)), 0,
	       "names must match whole");
	is_str(v, "", "out is empty when absent");
	is_int(admin_cookie_get(NULL, "a", v, sizeof(v)), 0, "no header");
	is_int(admin_cookie_get("a=0123456789", "a", v, 5), 0, "a value too long for out is refused");
	is_int(admin_cookie_get("a=", "a", v, sizeof(v)), 1, "empty value found");
	is_str(v, "", "empty");
}

static void test_csv_field(void)
{
	struct buf b;
	buf_init(&b, 1024);
	admin_csv_field(&b, "plain");
	buf_puts(&b, "|");
	admin_csv_field(&b, "a,b");
	buf_puts(&b, "|");
	admin_csv_field(&b, "say \"hi\"");
	buf_puts(&b, "|");
	admin_csv_field(&b, "line\nbreak");
	buf_puts(&b, "|");
	admin_csv_field(&b, "=HYPERLINK(\"x\")");
	buf_puts(&b, "|");
	admin_csv_field(&b, "-");
	buf_puts(&b, "|");
	admin_csv_field(&b, "@SUM(A1)");
	buf_puts(&b, "|");
	admin_csv_field(&b, "");
	is_str(buf_str(&b),
	       "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"line\nbreak\"|\"'=HYPERLINK(\"\"x\"\")\"|-|\"'@SUM(A1)\"|",
	       "quoting and formula neutralising");
	buf_free(&b);
	buf_init(&b, 4);
	is_int(admin_csv_field(&b, "toolong"), -1, "a full buffer fails");
	buf_free(&b);
}

static void test_throttle(void)
{
	struct admin_throttle t = { 0, 0 };
	int64_t now = 1000000;
	for (int i = 1; i < ADMIN_THROTTLE_FAILURES; i++) {
		admin_throttle_fail(&t, now + i);
		is_int(admin_throttle_wait(&t, now + i), 0, "below the limit: no wait");
	}
	admin_throttle_fail(&t, now + 10);
	is_int(t.failures, ADMIN_THROTTLE_FAILURES, "the limit reached");
	is_int(admin_throttle_wait(&t, now + 10), ADMIN_THROTTLE_BASE_S, "first lock: the base period");
	is_int(admin_throttle_wait(&t, now + 10 + ADMIN_THROTTLE_BASE_S), 0, "lock over");
	admin_throttle_fail(&t, now + 10 + ADMIN_THROTTLE_BASE_S);
	is_int(admin_throttle_wait(&t, now + 10 + ADMIN_THROTTLE_BASE_S), 2 * ADMIN_THROTTLE_BASE_S,
	       "next failure: twice as long");
	int64_t at = 0;
	for (int i = 0; i < 20; i++) {
		at = t.until;   /* each failure right when the last lock ends */
		admin_throttle_fail(&t, at);
	}
	is_int(t.until - at, ADMIN_THROTTLE_MAX_S, "the lock grows up to its cap");
	struct admin_throttle t2 = t;
	admin_throttle_fail(&t2, t.until + ADMIN_THROTTLE_WINDOW_S);
	is_int(t2.failures, 1, "failures are forgotten a window after the lock");
	struct admin_throttle t3 = { 3, now + ADMIN_THROTTLE_WINDOW_S };
	admin_throttle_fail(&t3, now + ADMIN_THROTTLE_WINDOW_S + 1);
	is_int(t3.failures, 1, "a few old failures are forgotten after the window");
	struct admin_throttle t4 = { 3, now + ADMIN_THROTTLE_WINDOW_S };
	admin_throttle_fail(&t4, now + 5);
	is_int(t4.failures, 4, "recent failures count on");
}

/* Per address, with a global ceiling that never refuses a fresh address. */
static void test_throttle_addresses(void)
{
	const int64_t now = 1700000000;
	struct admin_throttle a = { 0, 0 }, b = { 0, 0 }, fresh = { 0, 0 }, g = { 0, 0 };
	for (int i = 0; i < ADMIN_THROTTLE_FAILURES; i++) {
		admin_throttle_fail(&a, now);
		admin_throttle_global_fail(&g, now);
	}
	ok(admin_login_wait(&a, &g, now) > 0, "the failing address is locked");
	is_int(admin_login_wait(&b, &g, now), 0, "another address is not");
	/* a guesser with many addresses: past the ceiling */
	for (int i = 0; i < ADMIN_THROTTLE_GLOBAL_FAILURES; i++)
		admin_throttle_global_fail(&g, now + 1);
	admin_throttle_fail(&b, now + 1);
	is_int(admin_login_wait(&b, &g, now + 2), ADMIN_THROTTLE_WINDOW_S - 1,
	       "past the ceiling, an address that failed once waits for it to go off");
	is_int(admin_login_wait(&fresh, &g, now + 2), 0, "an address without failures may always try");
	is_int(admin_login_wait(&b, &g, now + 1 + ADMIN_THROTTLE_WINDOW_S), 0, "the ceiling goes off after the window");
	struct admin_throttle g2 = g;
	admin_throttle_global_fail(&g2, g.until);
	is_int(g2.failures, 1, "global failures are forgotten a window after the last");
	struct admin_throttle old = { 1, now - 1 };
	is_int(admin_login_wait(&old, &g, now + 2), 0, "a failure already forgotten does not count");

	char out[ADMIN_ADDR_MAX];
	static const char *const cases[][2] = {
		{ "127.0.0.2", "127.0.0.2" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64" },
		{ "2001:DB8:1:2::1", "2001:db8:1:2::/64" },
		{ "::ffff:10.1.2.3", "10.1.2.3" },
		{ "::1", "::/64" },
		{ "", "unknown" },
		{ "10.0.0.1 ", "unknown" },
		{ "10.0.0.1;x", "unknown" },
		{ "admin:throttle", "unknown" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		admin_client_addr(cases[i][0], out, sizeof(out));
		is_str(out, cases[i][1], cases[i][0]);
	}
	admin_client_addr(NULL, out, sizeof(out));
	is_str(out, "unknown", "no REMOTE_ADDR");
}

static void test_settings(void)
{
	char err[512];
	is_int(settings_ok("{}", err, sizeof(err)), 0, "empty settings");
	int r = settings_ok("{\"public_models\":[\"gpt-4o-mini\"],"
			    "\"aliases\":{\"gpt-4o-mini\":\"deepseek/deepseek-chat\",\"fast\":\"glm-5\"},"
			    "\"fallback\":{\"deepseek-chat\":[\"moonshot/kimi-k2.5\",\"zai/glm-5\"]},"
			    "\"providers\":{\"deepseek\":{\"base_url\":\"https://api.deepseek.com\",\"models\":[\"deepseek-chat\"],"
			    "\"prefixes\":[\"deepseek-\"],\"disabled\":false},"
			    "\"my-host\":{\"base_url\":\"http://10.0.0.5:8000/v1\",\"models\":[\"qwen\"]}},"
			    "\"system_prompt\":{\"enabled\":true,\"text\":\"You are a helpful assistant.\\nBe brief.\"},"
			    "\"cache\":{\"enabled\":true,\"ttl_s\":3600,\"max_bytes\":67108864},"
			    "\"prices\":{\"deepseek-chat\":[0.28,0.028,0.42]},"
			    "\"conversations\":{\"max_per_key\":0},\"drawing\":{\"enabled\":false}}",
			    err, sizeof(err));
	is_int(r, 0, "the example of docs/state.md");
	if (r)
		diag("%s", err);

	static const struct {
		const char *json;
		const char *needle;
		const char *name;
	} bad[] = {
		{ "[]", "object", "not an object" },
		{ "{\"bogus\":1}", "bogus", "unknown member" },
		{ "{\"aliases\":{\"a\":\"b\"},\"aliases\":{}}", "twice", "a member given twice" },
		{ "{\"public_models\":\"gpt\"}", "public_models", "public_models not a list" },
		{ "{\"public_models\":[\"a b\"]}", "public_models", "a model name with a space" },
		{ "{\"aliases\":[]}", "aliases", "aliases not an object" },
		{ "{\"aliases\":{\"x\":1}}", "aliases.x", "alias target not a string" },
		{ "{\"aliases\":{\"x\":\"\"}}", "aliases.x", "empty alias target" },
		{ "{\"fallback\":{\"m\":\"a\"}}", "fallback.m", "fallback not a list" },
		{ "{\"fallback\":{\"m\":[]}}", "fallback.m", "empty fallback chain" },
		{ "{\"fallback\":{\"m\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}}", "fallback.m", "too long a chain" },
		{ "{\"providers\":{\"Bad\":{}}}", "Bad", "provider name with a capital" },
		{ "{\"providers\":{\"a/b\":{}}}", "a/b", "provider name with a slash" },
		{ "{\"providers\":{\"p\":{\"base_url\":\"ftp://x\"}}}", "base_url", "ftp URL" },
		{ "{\"providers\":{\"p\":{\"base_url\":\"https://\"}}}", "base_url", "URL without host" },
		{ "{\"providers\":{\"p\":{\"base_url\":\"https://a b\"}}}", "base_url", "URL with a space" },
		{ "{\"providers\":{\"p\":{\"base_url\":\"javascript:alert(1)\"}}}", "base_url", "javascript URL" },
		{ "{\"providers\":{\"p\":{\"keys\":[\"sk-x\"]}}}", "keys", "unknown provider member" },
		{ "{\"providers\":{\"p\":{\"disabled\":1}}}", "disabled", "disabled not a boolean" },
		{ "{\"providers\":{\"p\":{\"models\":[1]}}}", "models", "model not a string" },
		{ "{\"providers\":[]}", "providers", "providers not an object" },
		{ "{\"system_prompt\":\"hi\"}", "system_prompt", "system_prompt not an object" },
		{ "{\"system_prompt\":{\"enabled\":\"yes\",\"text\":\"x\"}}", "enabled", "enabled not a boolean" },
		{ "{\"system_prompt\":{\"enabled\":true,\"text\":\"\"}}", "text", "enabled with no text" },
		{ "{\"system_prompt\":{\"enabled\":false,\"text\":\"a\\u0001b\"}}", "text", "control character in text" },
		{ "{\"system_prompt\":{\"on\":true}}", "on", "unknown system_prompt member" },
		{ "{\"cache\":{\"ttl_s\":0}}", "ttl_s", "ttl 0" },
		{ "{\"cache\":{\"ttl_s\":1.5}}", "ttl_s", "fractional ttl" },
		{ "{\"cache\":{\"max_bytes\":10}}", "max_bytes", "tiny cache" },
		{ "{\"cache\":{\"max_bytes\":1e13}}", "max_bytes", "huge cache" },
		{ "{\"prices\":{\"m\":[1,2]}}", "prices.m", "two prices" },
		{ "{\"prices\":{\"m\":[1,-2,3]}}", "prices.m", "negative price" },
		{ "{\"prices\":{\"m\":[1,\"2\",3]}}", "prices.m", "price as a string" },
		{ "{\"conversations\":{\"max_per_key\":-1}}", "max_per_key", "negative max_per_key" },
		{ "{\"drawing\":{\"enabled\":null}}", "enabled", "drawing.enabled null" },
		{ "{\"providers\":{\"demo\":{\"base_url\":\"http://a\"},\"demo\":{\"base_url\":\"http://b\"}}}", "providers.demo is given twice",
		  "a provider named twice" },
		{ "{\"aliases\":{\"a\":\"x\",\"a\":\"y\"}}", "aliases.a is given twice", "an alias named twice" },
		{ "{\"fallback\":{\"m\":[\"x\"],\"m\":[\"y\"]}}", "fallback.m is given twice", "a chain named twice" },
		{ "{\"prices\":{\"m\":[1,2,3],\"m\":[1,2,3]}}", "prices.m is given twice", "a price named twice" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = settings_ok(bad[i].json, err, sizeof(err));
		ok(r == -1 && strstr(err, bad[i].needle), "refused: %s", bad[i].name);
		if (r != -1 || !strstr(err, bad[i].needle))
			diag("  got %d: %s", r, err);
	}
	/* long text */
	size_t n = 60000;
	char *big = malloc(n + 64);
	memcpy(big, "{\"system_prompt\":{\"text\":\"", 26);
	memset(big + 26, 'a', n - 40);
	memcpy(big + 26 + n - 40, "\"}}", 4);
	is_int(settings_ok(big, err, sizeof(err)), 0, "a long system prompt within the limit");
	free(big);
}

static void test_limits(void)
{
	is_int(limits_ok("{}"), 0, "no limits");
	is_int(limits_ok("{\"rpm\":60,\"tpm\":100000,\"tokens\":0,\"tokens_month\":5000000,\"cost\":12.5,"
			 "\"cost_month\":3,\"models\":\"deepseek-*,glm-5\"}"),
	       0, "every limit");
	is_int(limits_ok("{\"rpm\":1.5}"), -1, "fractional rpm");
	is_int(limits_ok("{\"rpm\":-1}"), -1, "negative rpm");
	is_int(limits_ok("{\"cost\":\"5\"}"), -1, "cost as a string");
	is_int(limits_ok("{\"models\":5}"), -1, "models not a string");
	is_int(limits_ok("{\"burst\":5}"), -1, "unknown limit");
	is_int(limits_ok("[]"), -1, "not an object");
	is_int(limits_ok("{\"tokens\":1e16}"), -1, "absurd budget");
}

static struct ledger_totals totals(long long req, long long p, long long c, double cost)
{
	struct ledger_totals t;
	memset(&t, 0, sizeof(t));
	t.requests = req;
	t.prompt = p;
	t.completion = c;
	t.cost_units = (long long)(cost * (double)LEDGER_COST_SCALE + 0.5);
	t.cost = cost;
	return t;
}

static const cJSON *find(const cJSON *arr, const char *member, const char *value)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, member);
		if (cJSON_IsString(v) && !strcmp(v->valuestring, value))
			return e;
	}
	return NULL;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_usage(void)
{
	struct admin_usage *u = admin_usage_new("2026-03-01", "2026-03-03", "2026-03");
	struct ledger_totals t;
	t = totals(2, 100, 50, 0.001);
	admin_usage_add_ledger(u, "day:k_1|deepseek-chat|2026-03-01", &t);
	t = totals(1, 10, 5, 0.0001);
	admin_usage_add_ledger(u, "day:k_1|glm-5|2026-03-02", &t);
	t = totals(9, 900, 900, 1);
	admin_usage_add_ledger(u, "day:k_1|deepseek-chat|2026-02-28", &t);   /* before the range */
	t = totals(1, 1, 1, 0);
	admin_usage_add_ledger(u, "day:k_2|a|b|2026-03-03", &t);             /* a model with '|' */
	admin_usage_add_ledger(u, "day:broken", &t);
	admin_usage_add_ledger(u, "meta:last", &t);
	t = totals(12, 1010, 955, 1.0011);
	admin_usage_add_ledger(u, "key:k_1", &t);
	t = totals(3, 110, 55, 0.0011);
	admin_usage_add_ledger(u, "month:k_1|2026-03", &t);
	t = totals(9, 900, 900, 1);
	admin_usage_add_ledger(u, "month:k_1|2026-02", &t);

	/* 2026-03-02T10:00:00Z = 1772445600000 ms */
	const char *rec1 = "{\"id\":\"r1\",\"ts\":1772445600000,\"key_id\":\"k_1\",\"key_name\":\"team a\","
			   "\"model\":\"deepseek-chat\",\"prompt\":7,\"completion\":3,\"cached\":2,\"reasoning\":1,"
			   "\"cost\":0.000002,\"status\":200,\"cache_hit\":false,\"estimated\":false}";
	const char *rec2 = "{\"id\":\"r2\",\"ts\":1772445601000,\"key_id\":\"k_3\",\"key_name\":\"=evil\","
			   "\"model\":\"glm-5\",\"prompt\":1,\"completion\":0,\"cost\":0,\"status\":502}";
	is_int(admin_usage_add_record(u, rec1, strlen(rec1)), 0, "record added");
	is_int(admin_usage_add_record(u, rec2, strlen(rec2)), 0, "error record added");
	is_int(admin_usage_add_record(u, "{broken", 7), -1, "a broken line is refused");
	is_int(admin_usage_records(u), 2, "two records counted");
	admin_usage_set_name(u, "k_1", "team-a");

	struct ledger_totals tot, mon;
	int64_t last_ms;
	char last_day[LEDGER_DAY_LEN];
	is_int(admin_usage_key(u, "k_1", &tot, &mon, &last_ms, last_day), 1, "k_1 known");
	is_int(tot.requests, 13, "total = ledger key: + unsettled");
	is_int(tot.prompt, 1017, "total prompt");
	is_int(mon.requests, 4, "month = ledger month: (this month only) + unsettled");
	is_int(last_ms, 1772445600000LL, "last used from the spool");
	is_str(last_day, "2026-03-02", "last ledger day (any range)");
	is_int(admin_usage_key(u, "k_9", &tot, &mon, &last_ms, last_day), 0, "unknown key");

	cJSON *j = admin_usage_json(u);
	const cJSON *days = cJSON_GetObjectItemCaseSensitive(j, "by_day");
	is_int(cJSON_GetArraySize(days), 3, "every day of the range, zeros included");
	const cJSON *d2 = find(days, "day", "2026-03-02");
	is_int(num(d2, "requests"), 3, "day 2: ledger 1 + 2 records");
	is_int(num(d2, "errors"), 1, "day 2: one error");
	is_int(num(find(days, "day", "2026-03-01"), "prompt"), 100, "day 1 prompt");
	is_int(num(find(days, "day", "2026-03-03"), "requests"), 1, "day 3");
	ok(!find(days, "day", "2026-02-28"), "a day before the range is not kept");
	const cJSON *models = cJSON_GetObjectItemCaseSensitive(j, "by_model");
	is_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(models, 0), "model")->valuestring, "deepseek-chat",
	       "models by tokens, largest first");
	is_int(num(find(models, "model", "deepseek-chat"), "prompt"), 107, "deepseek-chat prompt");
	ok(find(models, "model", "a|b") != NULL, "a model with '|' survives the key parse");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(j, "by_key");
	is_str(cJSON_GetObjectItemCaseSensitive(find(keys, "key_id", "k_1"), "name")->valuestring, "team-a",
	       "a set name wins over the record's");
	is_str(cJSON_GetObjectItemCaseSensitive(find(keys, "key_id", "k_3"), "name")->valuestring, "=evil",
	       "the record's key_name otherwise");
	const cJSON *totals_j = cJSON_GetObjectItemCaseSensitive(j, "totals");
	is_int(num(totals_j, "requests"), 6, "totals over the range");
	ok(num(totals_j, "cost") > 0.0011 && num(totals_j, "cost") < 0.0012, "cost total");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "rows")), 5, "five day x key x model rows");
	cJSON_Delete(j);

	char *csv = admin_usage_csv(u);
	const char *want =
		"day,key_id,key_name,model,requests,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost,errors,cache_hits\r\n"
		"2026-03-01,k_1,team-a,deepseek-chat,2,100,50,0,0,0.001,0,0\r\n"
		"2026-03-02,k_1,team-a,deepseek-chat,1,7,3,2,1,0.000002,0,0\r\n"
		"2026-03-02,k_1,team-a,glm-5,1,10,5,0,0,0.0001,0,0\r\n"
		"2026-03-02,k_3,\"'=evil\",glm-5,1,1,0,0,0,0,1,0\r\n"
		"2026-03-03,k_2,,a|b,1,1,1,0,0,0,0,0\r\n";
	is_str(csv, want, "CSV rows sorted by day, key, model; names neutralised");
	free(csv);
	admin_usage_free(u);

	/* no range: every day seen, in order */
	u = admin_usage_new("", "", "");
	t = totals(1, 1, 1, 0);
	admin_usage_add_ledger(u, "day:k|m|2026-01-05", &t);
	admin_usage_add_ledger(u, "day:k|m|2025-12-31", &t);
	j = admin_usage_json(u);
	days = cJSON_GetObjectItemCaseSensitive(j, "by_day");
	is_int(cJSON_GetArraySize(days), 2, "unbounded: only the days seen");
	is_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(days, 0), "day")->valuestring, "2025-12-31",
	       "in order");
	cJSON_Delete(j);
	admin_usage_free(u);

	/* many rows: the hash table grows */
	u = admin_usage_new("", "", "");
	for (int i = 0; i < 500; i++) {
		char line[256];
		snprintf(line, sizeof(line), "{\"ts\":1772445600000,\"key_id\":\"k_%d\",\"model\":\"m%d\",\"prompt\":1}",
			 i % 50, i % 7);
		admin_usage_add_record(u, line, strlen(line));
	}
	j = admin_usage_json(u);
	is_int(num(cJSON_GetObjectItemCaseSensitive(j, "totals"), "requests"), 500, "500 records summed");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "by_key")), 50, "50 keys");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "rows")), 350, "50 x 7 rows");
	cJSON_Delete(j);
	admin_usage_free(u);
}

/* ---- the config file and the admin API take the same values */

static char conf_path[128], state_dir[64];

/* Does the config file text load? */
static int ini_takes(const char *text)
{
	struct config c;
	char err[512];
	FILE *f = fopen(conf_path, "w");
	fputs(text, f);
	fclose(f);
	int r = config_load(&c, conf_path, err, sizeof(err));
	config_free(&c);
	return r == 0;
}

/* Does the admin API take the settings document json? */
static int admin_takes(const char *json)
{
	char err[512];
	return settings_ok(json, err, sizeof(err)) == 0;
}

/* Store json as state.db's settings, then load an empty config file with
 * the overlay; the value of d in it. */
static long long overlay_gives(const struct settings_def *d, const char *json)
{
	char path[128], err[512];
	struct config c;
	long long v = -12345;
	snprintf(path, sizeof(path), "%s/state.db", state_dir);
	GDBM_FILE db = store_open(path, STORE_WRITE, 1000);
	if (!db || store_put(db, "settings", json, strlen(json)) != 0 || store_sync(db) != 0) {
		store_close(db);
		return v;
	}
	store_close(db);
	FILE *f = fopen(conf_path, "w");
	fclose(f);
	if (config_load(&c, conf_path, err, sizeof(err)) == 0 && config_apply_state(&c, err, sizeof(err)) == 0) {
		v = settings_get_num(d, &c);
	}
	config_free(&c);
	return v;
}

/* Every row of the settings table the admin API may set: a value the INI
 * parser takes, the admin validation takes, and the other way round; the
 * router's overlay applies exactly the values the admin API takes. */
static void test_schema_agrees(void)
{
	char ini[256], json[256], group[SETTINGS_GROUP_MAX], v[64];
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		if (!d->state || d->type == SETTINGS_STR)
			continue;   /* numbers and switches here; texts below */
		const char *member = settings_member(d, group);
		const char *vals[8];
		char buf[8][32];
		size_t n = 0;
		if (d->type == SETTINGS_BOOL) {
			vals[n++] = "true";
			vals[n++] = "false";
			vals[n++] = "\"maybe\"";
		} else if (d->type == SETTINGS_STR) {   /* texts: taken alike; no number to compare */
			vals[n++] = "\"Kwai-Kolors/Kolors\"";
			vals[n++] = "\"\"";
		} else {
			long long most = settings_max(d);   /* what this machine's field holds */
			const long long nums[] = { d->min - 1, d->min, d->min + 1, (d->min + most) / 2, most - 1, most,
						   most + 1 };
			for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
				snprintf(buf[k], sizeof(buf[k]), "%lld", nums[k]);
				vals[n++] = buf[k];
			}
			vals[n++] = "1.5";
		}
		for (size_t k = 0; k < n; k++) {
			snprintf(json, sizeof(json), "{\"%s\":{\"%s\":%s}}", group, member, vals[k]);
			int by_admin = admin_takes(json);
			if (d->section) {
				snprintf(v, sizeof(v), "%s", vals[k][0] == '"' ? "maybe" : vals[k]);
				snprintf(ini, sizeof(ini), "[%s]\n%s = %s\n", d->section, d->key, v);
				is_int(ini_takes(ini), by_admin, json);
			}
			if (d->offset == SETTINGS_NO_FIELD || d->type == SETTINGS_STR)
				continue;
			long long dflt = d->def, got = overlay_gives(d, json);
			long long want = !by_admin ? dflt : d->type == SETTINGS_BOOL ? !strcmp(vals[k], "true") : atoll(vals[k]);
			is_int(got, want, "the router's overlay of a value the admin API takes (or not)");
		}
	}

	/* a text the admin API may set: taken as a string, nothing else */
	is_int(admin_takes("{\"rag\":{\"model\":\"BAAI/bge-m3\"}}"), 1, "rag.model: a string is taken");
	is_int(admin_takes("{\"rag\":{\"model\":5}}"), 0, "rag.model: a number is refused");
	is_int(admin_takes("{\"rag\":{\"keys\":\"k_1a2b3c4d,team-bot\"}}"), 1, "rag.keys: a list of keys is taken");

	/* the dedicated settings: URLs, names, prices */
	static const char *const urls[] = { "http://h", "https://api.example.com/v1", "http://127.0.0.1:8000/v1/",
					    "https://", "http:///x", "http://:80", "ftp://x", "http://a b",
					    "javascript:alert(1)", "HTTP://x", "http//x" };
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(ini, sizeof(ini), "[provider.p]\nbase_url = %s\n", urls[i]);
		snprintf(json, sizeof(json), "{\"providers\":{\"p\":{\"base_url\":\"%s\"}}}", urls[i]);
		is_int(ini_takes(ini), admin_takes(json), urls[i]);
	}
	static const char *const names[] = { "qwen", "a b", "gpt-4o", "deepseek/deepseek-chat" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(ini, sizeof(ini), "[provider.p]\nbase_url = http://h\nmodels = %s\nprefixes = %s\n", names[i], names[i]);
		snprintf(json, sizeof(json), "{\"providers\":{\"p\":{\"base_url\":\"http://h\",\"models\":[\"%s\"],\"prefixes\":[\"%s\"]}}}",
			 names[i], names[i]);
		is_int(ini_takes(ini), admin_takes(json), names[i]);
		snprintf(ini, sizeof(ini), "[aliases]\nfast = %s\n[fallback]\nfast = %s\n", names[i], names[i]);
		snprintf(json, sizeof(json), "{\"aliases\":{\"fast\":\"%s\"},\"fallback\":{\"fast\":[\"%s\"]}}", names[i], names[i]);
		is_int(ini_takes(ini), admin_takes(json), names[i]);
	}
	char longname[SETTINGS_MODEL_LEN + 2];
	memset(longname, 'm', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (int cut = 0; cut < 2; cut++) {
		const char *name = longname + cut;   /* 257, then 256 bytes */
		char big[1024], bigj[1024];
		snprintf(big, sizeof(big), "[provider.p]\nbase_url = http://h\nmodels = %s\n", name);
		snprintf(bigj, sizeof(bigj), "{\"providers\":{\"p\":{\"base_url\":\"http://h\",\"models\":[\"%s\"]}}}", name);
		is_int(ini_takes(big), admin_takes(bigj), cut ? "a model name of 256 bytes" : "of 257 bytes");
	}
	static const char *const chains[][2] = { { "a", "\"a\"" },
						 { "a, b, c, d, e, f, g", "\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"" },
						 { "a, b, c, d, e, f, g, h", "\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"" },
						 { "", "" } };
	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		snprintf(ini, sizeof(ini), "[fallback]\nfast = %s\n", chains[i][0]);
		snprintf(json, sizeof(json), "{\"fallback\":{\"fast\":[%s]}}", chains[i][1]);
		is_int(ini_takes(ini), admin_takes(json), json);
	}
	static const char *const prices[] = { "0", "0.5", "1000000", "1000001", "-1", "1e6", "1e7" };
	for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		snprintf(ini, sizeof(ini), "[prices]\nm = %s, 0, 0\n", prices[i]);
		snprintf(json, sizeof(json), "{\"prices\":{\"m\":[%s,0,0]}}", prices[i]);
		is_int(ini_takes(ini), admin_takes(json), prices[i]);
	}
}

static void setup_schema_test(void)
{
	snprintf(conf_path, sizeof(conf_path), "/tmp/llmgate-test-admin-%d.conf", (int)getpid());
	snprintf(state_dir, sizeof(state_dir), "/tmp/llmgate-test-admin-XXXXXX");
	if (!mkdtemp(state_dir))
		state_dir[0] = '\0';
	setenv("LLMGATE_STATE_DIR", state_dir, 1);
	unsetenv("LLMGATE_CONFIG");
	log_init("test", LOG_ERR);
}

static void cleanup_schema_test(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/state.db", state_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db.lock", state_dir);
	unlink(path);
	rmdir(state_dir);
	unlink(conf_path);
}

/* Aliases and chains against a configuration of one provider "p" (model
 * "m", prefix "pre-") and the alias "al". */
static void test_refs(void)
{
	char *models[] = { "m" }, *prefixes[] = { "pre-" };
	struct provider_conf p = { .name = "p", .base_url = "http://h", .models = models, .nmodels = 1,
				   .prefixes = prefixes, .nprefixes = 1 };
	struct alias_conf al = { .name = "al", .to = { "p", "m" } };
	struct config c;
	memset(&c, 0, sizeof(c));
	c.providers = &p;
	c.nproviders = 1;
	c.aliases = &al;
	c.naliases = 1;
	static const struct {
		const char *json;
		const char *needle;   /* NULL: accepted */
		const char *name;
	} cases[] = {
		{ "{\"aliases\":{\"a\":\"p/anything\",\"b\":\"m\",\"c\":\"pre-x\"}}", NULL, "known provider, listed model, prefix" },
		{ "{\"aliases\":{\"a\":\"q/m\"}}", "aliases.a: 'q/m' names no known provider ('q')", "unknown provider" },
		{ "{\"aliases\":{\"a\":\"zzz\"}}", "aliases.a: no provider serves the model 'zzz'", "unknown model" },
		{ "{\"aliases\":{\"a\":\"pre-\"}}", "no provider serves", "a prefix alone is no model" },
		{ "{\"fallback\":{\"m\":[\"p/m2\"],\"al\":[\"m\"],\"pre-y\":[\"p/z\"]}}", NULL, "chains of a model, an alias, a prefix" },
		{ "{\"fallback\":{\"nobody\":[\"p/m\"]}}", "fallback.nobody: nothing routes", "a chain never used" },
		{ "{\"fallback\":{\"m\":[\"p/m\",\"ghost/x\"]}}", "fallback.m: 'ghost/x' names no known provider", "a chain's unknown target" },
		{ "{\"public_models\":[\"al\",\"m\",\"pre-z\"]}", NULL, "public names: an alias, a model, a prefix" },
		{ "{\"public_models\":[\"m\",\"team-chat\"]}", "public_models: 'team-chat' routes to no provider", "a public name routing nowhere" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		cJSON *j = cJSON_Parse(cases[i].json);
		int r = settings_refs_check(j, &c, err, sizeof(err));
		cJSON_Delete(j);
		if (!cases[i].needle)
			ok(r == 0, "refs accepted: %s", cases[i].name);
		else
			ok(r == -1 && strstr(err, cases[i].needle), "refs refused: %s", cases[i].name);
		if (cases[i].needle ? r != -1 || !strstr(err, cases[i].needle) : r != 0)
			diag("  got %d: %s", r, err);
	}
}

int main(void)
{
	test_refs();
	test_paths();
	test_cookies();
	test_csv_field();
	test_throttle();
	test_throttle_addresses();
	test_settings();
	test_limits();
	test_usage();
	setup_schema_test();
	test_schema_agrees();
	cleanup_schema_test();
	return done_testing();
}
