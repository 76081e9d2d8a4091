/* test_mcp.c — MCP sessions (owner, end, expiry, the HTTP+SSE streams'
 * caps and queues), version negotiation, tool arguments against their
 * schemas, and the open apps' per-client windows (ratelimit.c). */
#include "autoconf.h"
#include "mcp.h"
#include "mcp_session.h"
#include "ratelimit.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sessions(void)
{
	char dir[] = "/tmp/test_mcp_XXXXXX";
	ok(mkdtemp(dir) != NULL, "a state folder");
	struct mcp_sessions *t = mcp_sessions_new(dir);
	char a[MCP_SESSION_ID_LEN + 1], b[MCP_SESSION_ID_LEN + 1], s1[MCP_SESSION_ID_LEN + 1];
	char s2[MCP_SESSION_ID_LEN + 1], s3[MCP_SESSION_ID_LEN + 1], v[MCP_VERSION_MAX];
	is_int(mcp_session_new(t, "k1", "2025-06-18", 0, 0, 0, 1000, a), 0, "a session");
	is_int(strlen(a), MCP_SESSION_ID_LEN, "its id is 32 hex digits");
	is_int(mcp_session_new(t, "k1", "2025-03-26", 0, 0, 0, 1000, b), 0, "another");
	ok(strcmp(a, b) != 0, "ids differ");
	ok(mcp_session_get(t, a, "k1", 2000, v) && !strcmp(v, "2025-06-18"), "found by its owner, with its version");
	ok(!mcp_session_get(t, a, "k2", 2000, NULL), "not by another key");
	ok(!mcp_session_end(t, a, "k2"), "nor ended by it");
	ok(mcp_session_end(t, a, "k1"), "ended by its owner");
	ok(!mcp_session_get(t, a, "k1", 2000, NULL), "gone once ended");
	struct mcp_sessions *other = mcp_sessions_new(dir);
	ok(mcp_session_get(other, b, "k1", 2000, v) && !strcmp(v, "2025-03-26"), "known to another process");
	mcp_sessions_free(other);
	ok(!mcp_session_get(t, "../../etc/passwd", "k1", 2000, NULL), "an id that is not one is never a path");
	mcp_sessions_expire(t, 1000 + 3600000, 3600000);
	ok(!mcp_session_get(t, b, "k1", 3601000, NULL), "an unused session expires");
	/* streams: two per key, three in all */
	is_int(mcp_session_new(t, "k1", "", 1, 2, 3, 0, s1), 0, "a stream");
	is_int(mcp_session_new(t, "k1", "", 1, 2, 3, 0, s2), 0, "a second");
	is_int(mcp_session_new(t, "k1", "", 1, 2, 3, 0, s3), -1, "a third of one key refused");
	is_int(mcp_session_new(t, "k2", "", 1, 2, 3, 0, s3), 0, "another key's");
	is_int(mcp_session_new(t, "k3", "", 1, 2, 3, 0, b), -1, "over the total refused");
	is_int(mcp_session_push(t, s1, "k2", "{}"), -1, "no push to another key's stream");
	is_int(mcp_session_push(t, s1, "k1", "{\"id\":1}"), 0, "a message queued");
	int ended = 0;
	char *ev = mcp_session_wait(t, s1, 10, 60000, &ended);
	is_str(ev ? ev : "", "event: message\ndata: {\"id\":1}\n\n", "the stream gets it as an SSE event");
	free(ev);
	ev = mcp_session_wait(t, s1, 10, 60000, &ended);
	ok(!ev && !ended, "nothing more: a timeout, still open");
	ev = mcp_session_wait(t, s1, 10, 0, &ended);
	ok(!ev && ended, "idle past its limit: ended");
	mcp_session_stream_closed(t, s2);
	is_int(mcp_session_new(t, "k1", "", 1, 2, 3, 0, s3), 0, "closed streams free their places");
	is_int(mcp_session_push(t, s2, "k1", "{}"), -1, "a closed stream takes nothing");
	mcp_sessions_free(t);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleaned up");
}

static void test_protocol(void)
{
	is_str(mcp_negotiate("2025-06-18"), "2025-06-18", "a spoken version is agreed");
	is_str(mcp_negotiate("2099-01-01"), "2025-11-25", "else the newest");
	ok(mcp_version_ok("2025-03-26") && !mcp_version_ok("2025-03-27"), "versions spoken");
	static const char schema[] = "{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"string\",\"maxLength\":3},"
				     "\"n\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"m\"],"
				     "\"additionalProperties\":false}";
	static const struct { const char *args; int ok; const char *why; } cases[] = {
		{ "{\"m\":\"ab\",\"n\":2}", 1, "" },
		{ "{\"n\":2}", 0, "'m' is required" },
		{ "{\"m\":1}", 0, "'m' must be a string" },
		{ "{\"m\":\"abcd\"}", 0, "'m' is longer than 3 bytes" },
		{ "{\"m\":\"a\",\"n\":0}", 0, "'n' is out of its range" },
		{ "{\"m\":\"a\",\"n\":1.5}", 0, "'n' must be an integer" },
		{ "{\"m\":\"a\",\"x\":1}", 0, "unknown argument 'x'" },
		{ "[]", 0, "'arguments' must be an object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *a = cJSON_Parse(cases[i].args);
		char why[128] = "";
		is_int(mcp_args_ok(schema, a, why, sizeof(why)), cases[i].ok, cases[i].args);
		is_str(why, cases[i].why, "its reason");
		cJSON_Delete(a);
	}
}

static void test_ratelimit(void)
{
	struct ratelimit *rl = ratelimit_new();
	long retry = 0;
	ok(ratelimit_take(rl, "a", 2, 1000, &retry) && ratelimit_take(rl, "a", 2, 2000, &retry), "two calls taken");
	ok(!ratelimit_take(rl, "a", 2, 3000, &retry), "the third refused");
	is_int(retry, 58, "until the window ends");
	ok(ratelimit_take(rl, "b", 2, 3000, &retry), "another client has its own window");
	ok(ratelimit_take(rl, "a", 2, 61000, &retry), "a new window, a new count");
	ratelimit_prune(rl, 200000);
	ok(ratelimit_take(rl, "a", 1, 200000, &retry), "pruned windows start anew");
	ratelimit_free(rl);
}

int main(void)
{
	test_sessions();
	test_protocol();
	test_ratelimit();
	return done_testing();
}
