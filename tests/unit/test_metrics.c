/* test_metrics.c — the shared metrics counters (two mappings of one file
 * see the same counts), the text exposition (label escaping, cumulative
 * buckets), /metrics' address allow list, and CORS origin matching. */
#include "autoconf.h"
#include "api.h"
#include "cors.h"
#include "metrics.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_allow(void)
{
	const char *def = "127.0.0.0/8, ::1";
	ok(api_metrics_addr_allowed(def, "127.0.0.1"), "loopback v4");
	ok(api_metrics_addr_allowed(def, "127.9.9.9"), "127/8");
	ok(api_metrics_addr_allowed(def, "::1"), "loopback v6");
	ok(api_metrics_addr_allowed(def, "::ffff:127.0.0.1"), "v4-mapped loopback");
	ok(!api_metrics_addr_allowed(def, "10.0.0.1"), "elsewhere refused");
	ok(!api_metrics_addr_allowed("", "127.0.0.1"), "an empty list: nobody");
	ok(api_metrics_addr_allowed("10.1.0.0/16, 2001:db8::/32", "10.1.200.3"), "a v4 range");
	ok(!api_metrics_addr_allowed("10.1.0.0/16", "10.2.0.1"), "outside a v4 range");
	ok(api_metrics_addr_allowed("10.1.0.0/16, 2001:db8::/32", "2001:db8:1::5"), "a v6 range");
	ok(api_metrics_addr_allowed("192.0.2.7", "192.0.2.7") && !api_metrics_addr_allowed("192.0.2.7", "192.0.2.8"),
	   "one address");
	ok(!api_metrics_addr_allowed("10.0.0.0/33, junk, 10.0.0.0/x", "10.0.0.1"), "bad entries match nothing");
	ok(!api_metrics_addr_allowed(def, "localhost") && !api_metrics_addr_allowed(def, NULL) &&
	   !api_metrics_addr_allowed(def, ""), "no address: refused");
}

static void test_cors(void)
{
	const char *list = " https://app.example.com/ ,http://localhost:5173";
	is_str(cors_allowed(list, "https://app.example.com"), "https://app.example.com", "a listed origin (trailing / ignored)");
	is_str(cors_allowed(list, "HTTPS://APP.example.com"), "HTTPS://APP.example.com", "case of scheme and host");
	is_str(cors_allowed(list, "http://localhost:5173"), "http://localhost:5173", "with a port");
	ok(cors_allowed(list, "http://localhost:5174") == NULL, "another port refused");
	ok(cors_allowed(list, "https://app.example.com.evil") == NULL, "a longer origin refused");
	ok(cors_allowed(list, "https://app.example.co") == NULL, "a shorter origin refused");
	ok(cors_allowed("", "https://a.example") == NULL && cors_allowed(NULL, "https://a.example") == NULL, "none by default");
	is_str(cors_allowed("https://x.example, *", "https://a.example"), "*", "* when listed");
	ok(cors_allowed("http://a.example\r", "http://a.example\r") == NULL && cors_allowed("*", "http://a b") == NULL,
	   "an origin with a control character or space is never allowed");
	ok(cors_allowed("*", "") == NULL && cors_allowed("*", NULL) == NULL, "no Origin: no CORS");
}

static char dir[] = "/tmp/llmgate-metrics-XXXXXX";

static void test_counters(void)
{
	char err[256];
	ok(metrics_open(dir, err, sizeof(err)) == 0, "metrics.shm made: %s", err);
	metrics_request_begin();
	metrics_request_relayed("deepseek", "deep\"seek\\chat\n", 10, 5, 250, 0);
	metrics_request_end("chat/completions", 200, 1200);
	metrics_request_begin();
	metrics_request_end("models", 401, 3);
	metrics_upstream_failure("deepseek", "timeout");
	metrics_upstream_failure("deepseek", "timeout");
	struct metrics_key_in keys[] = { { "deepseek", "deepseek#1-aa", METRICS_KEY_ACTIVE },
					 { "deepseek", "deepseek#2-bb", METRICS_KEY_COOLING } };
	metrics_publish_keys(keys, 2, 1000000);
	struct metrics_snapshot s;
	ok(metrics_snapshot(&s, 1000500) == 0, "a snapshot");
	is_int(s.nseries, 2, "two series");
	is_int(s.nfails, 1, "one failure series");
	ok(s.npools == 1 && s.pools[0].n[METRICS_KEY_ACTIVE] == 1 && s.pools[0].n[METRICS_KEY_COOLING] == 1, "key states");
	struct metrics_gauges g = { .version = "1.2.3", .start_time_s = 1 };
	struct buf out;
	buf_init(&out, METRICS_TEXT_CAP);
	metrics_text(&out, &s, &g);
	const char *t = buf_str(&out);
	ok(strstr(t, "llmgate_requests_total{route=\"chat/completions\",provider=\"deepseek\",model=\"deep\\\"seek\\\\chat\\n\",status=\"200\"} 1\n") != NULL,
	   "labels escaped");
	ok(strstr(t, "llmgate_requests_total{route=\"models\",provider=\"-\",model=\"-\",status=\"401\"} 1\n") != NULL,
	   "a request not relayed");
	ok(strstr(t, "status=\"200\",le=\"1\"} 0\n") && strstr(t, "status=\"200\",le=\"2.5\"} 1\n") &&
	   strstr(t, "status=\"200\",le=\"+Inf\"} 1\n"), "latency buckets cumulative");
	ok(strstr(t, "llmgate_time_to_first_byte_seconds_sum{route=\"chat/completions\"") && strstr(t, "} 0.250\n"), "ttfb sum in seconds");
	ok(strstr(t, "llmgate_upstream_failures_total{provider=\"deepseek\",kind=\"timeout\"} 2\n") != NULL, "failures");
	ok(strstr(t, "llmgate_upstream_keys{provider=\"deepseek\",state=\"cooling\"} 1\n") != NULL, "key gauge");
	ok(strstr(t, "llmgate_build_info{version=\"1.2.3\"} 1\n") != NULL, "build info");
	ok(strstr(t, "llmgate_settle_backlog_records") == NULL, "no settle figures when they were not read");
	buf_free(&out);
	metrics_snapshot_free(&s);
	ok(metrics_snapshot(&s, 1000000 + METRICS_KEYS_FRESH_MS + 1) == 0 && s.npools == 0, "stale key states dropped");
	metrics_snapshot_free(&s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_allow();
	test_cors();
	test_counters();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
