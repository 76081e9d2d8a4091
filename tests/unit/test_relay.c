/* test_relay.c — the relay's attempt loop (relay_run) against a fake
 * upstream: a perform function that answers each call from a script and
 * notes which target and key it was sent to, under a front-end of the
 * test's own (relay_ops). A real gateway (gateway_init on a temporary
 * config and state folder) holds the key pools and records usage.
 * Checked: attempt order across keys and targets, the cool-down of a
 * 429'd key (a later request skips it), fallback to the next target, a
 * refused key blocked, max_attempts, and nothing retried once the first
 * byte reached the client. No timing is asserted. */
#include "autoconf.h"
#include "relay.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CALLS 16

/* What the fake upstream does with one call. */
enum act { ANSWER, STREAM_THEN_CUT };
struct step {
	enum act act;
	int status;
	const char *body;
};

static struct {
	const struct step *script;
	size_t nscript;
	size_t ncalls;
	char url[MAX_CALLS][256];
	char auth[MAX_CALLS][128];
} fake;

/* The test front-end's view of what happened. */
static struct {
	int answered;              /* status of a buffered answer sent */
	int failed;                /* 1: ops.fail was called */
	enum fail_kind fail;
	int attempts;
	int streamed;              /* 1: ops.streamed was called */
	int streamed_ok;
} seen;

static int fake_perform(struct upstream_call *uc)
{
	size_t i = fake.ncalls++;
	memset(uc->content_type, 0, sizeof(uc->content_type));
	uc->retry_after_s = -1;
	uc->t_start_ms = pool_now_ms();
	if (i < MAX_CALLS) {
		snprintf(fake.url[i], sizeof(fake.url[i]), "%s", uc->url);
		snprintf(fake.auth[i], sizeof(fake.auth[i]), "%s", uc->auth_header ? uc->auth_header : "");
	}
	if (i >= fake.nscript) {   /* past the script: no connection */
		uc->err = UPSTREAM_ERR_CONNECT;
		snprintf(uc->errmsg, sizeof(uc->errmsg), "connection refused");
		return -1;
	}
	const struct step *s = &fake.script[i];
	int stream = s->act == STREAM_THEN_CUT;
	uc->status = s->status;
	uc->t_first_byte_ms = uc->t_start_ms;
	uc->on_head(uc->user, s->status, stream ? "text/event-stream" : "application/json", -1);
	if (uc->on_data(uc->user, s->body, strlen(s->body)) != 0) {
		uc->aborted = 1;
		uc->err = UPSTREAM_ERR_ABORTED;
		return -1;
	}
	if (stream) {             /* the connection drops mid-stream */
		uc->err = UPSTREAM_ERR_RECV;
		snprintf(uc->errmsg, sizeof(uc->errmsg), "connection reset");
		return -1;
	}
	return 0;
}

static int t_prepare(struct relay *x, const struct route_target *t, struct relay_send *s, char *err, size_t errlen)
{
	(void)x;
	(void)err;
	(void)errlen;
	s->url = xasprintf("%s/test", t->prov->base_url);
	s->body = "{}";
	s->body_len = 2;
	s->accept = "*/*";
	return 0;
}

static void t_unsendable(struct relay *x, const struct route_target *t, const char *err)
{
	(void)t;
	(void)err;
	relay_record(x, 400);
}

static int t_on_head(void *user, int status, const char *ctype, long retry_after)
{
	struct relay *x = user;
	(void)retry_after;
	x->status = status;
	buf_reset(&x->body);
	x->mode = status == 200 && !strcmp(ctype, "text/event-stream") ? RELAY_STREAM : RELAY_BUFFER;
	return 0;
}

static int t_on_data(void *user, const char *p, size_t n)
{
	struct relay *x = user;
	if (x->mode == RELAY_STREAM)
		x->committed = 1;  /* as if the bytes went to the client */
	else
		buf_append(&x->body, p, n);
	return 0;
}

static void t_streamed(struct relay *x, const struct route_target *t, const struct upstream_call *uc, int ok)
{
	(void)x;
	(void)t;
	(void)uc;
	seen.streamed = 1;
	seen.streamed_ok = ok;
}

static void t_answer(struct relay *x)
{
	relay_record(x, x->status);
	seen.answered = x->status;
}

static void t_fail(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms)
{
	(void)x;
	(void)detail;
	(void)retry_ms;
	seen.failed = 1;
	seen.fail = fail;
	seen.attempts = attempts;
}

static const struct relay_ops test_ops = {
	.prepare = t_prepare, .unsendable = t_unsendable, .on_head = t_on_head, .on_data = t_on_data,
	.streamed = t_streamed, .answer = t_answer, .fail = t_fail,
};

static struct gateway gw;
static struct worker wk;
static struct auth_entry who = { .id = "gk-test", .name = "test" };

/* Run one request over targets (provider/model pairs) with script as the
 * upstream's answers. */
static void run(const char *const *targets, size_t ntargets, const struct step *script, size_t nscript)
{
	struct runtime *snap = runtime_get(&gw);
	struct http_req r;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 1024);
	struct route *rt = xmalloc(sizeof(*rt));
	memset(rt, 0, sizeof(*rt));
	for (size_t i = 0; i < ntargets; i++) {
		rt->t[i].prov = config_provider(&snap->cfg, targets[2 * i]);
		snprintf(rt->t[i].model, sizeof(rt->t[i].model), "%s", targets[2 * i + 1]);
	}
	rt->n = ntargets;
	memset(&fake, 0, sizeof(fake));
	memset(&seen, 0, sizeof(seen));
	fake.script = script;
	fake.nscript = nscript;
	struct relay *x = xmalloc(sizeof(*x));
	relay_init(x, &test_ops, &wk, snap, &r, &who, "req_test", DIALECT_OPENAI, "chat", pool_now_ms(), 0);
	x->perform = fake_perform;
	snprintf(x->requested, sizeof(x->requested), "%s", targets[1]);
	relay_run(x, rt);
	ok(x->recorded, "the usage record was written");
	relay_free(x);
	free(x);
	free(rt);
	buf_free(&r.body);
	runtime_put(&gw, snap);
}

static int cooling(const char *provider, size_t k)
{
	struct runtime *snap = runtime_get(&gw);
	const struct provider_conf *p = config_provider(&snap->cfg, provider);
	struct pool *pool = &snap->pools[p - snap->cfg.providers];
	int c = pool->keys[k].cool_until_ms > pool_now_ms();
	runtime_put(&gw, snap);
	return c;
}

static int blocked(const char *provider, size_t k)
{
	struct runtime *snap = runtime_get(&gw);
	const struct provider_conf *p = config_provider(&snap->cfg, provider);
	struct pool *pool = &snap->pools[p - snap->cfg.providers];
	int b = pool->keys[k].blocked;
	runtime_put(&gw, snap);
	return b;
}

static const char ok_body[] = "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
static const char err_body[] = "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}";

static void test_fallback_after_429s(void)
{
	static const char *const targets[] = { "openai", "gpt-4o", "deepseek", "deepseek-chat" };
	static const struct step script[] = {
		{ ANSWER, 429, err_body }, { ANSWER, 429, err_body }, { ANSWER, 200, ok_body },
	};
	run(targets, 2, script, 3);
	is_int(fake.ncalls, 3, "three attempts: both keys of the first target, then the fallback");
	ok(strstr(fake.url[0], "/openai/") && strstr(fake.url[1], "/openai/"), "the first target first, twice");
	ok(strcmp(fake.auth[0], fake.auth[1]) != 0, "with two different keys");
	ok(!strncmp(fake.auth[0], "Authorization: Bearer sk-test-openai-", 37) &&
	   !strncmp(fake.auth[1], "Authorization: Bearer sk-test-openai-", 37), "each in OpenAI's header");
	ok(strstr(fake.url[2], "/deepseek/") != NULL, "then the next target");
	is_int(seen.answered, 200, "its answer went to the client");
	is_int(seen.failed, 0, "no failure answer");
	ok(cooling("openai", 0) && cooling("openai", 1), "both 429'd keys cool down");
	ok(!cooling("deepseek", 0), "the key that answered does not");
}

static void test_cooling_keys_skipped(void)
{
	static const char *const targets[] = { "openai", "gpt-4o", "deepseek", "deepseek-chat" };
	static const struct step script[] = { { ANSWER, 200, ok_body } };
	run(targets, 2, script, 1);
	is_int(fake.ncalls, 1, "a later request: one attempt");
	ok(strstr(fake.url[0], "/deepseek/") != NULL, "the cooling keys were not tried, the fallback was");
	is_int(seen.answered, 200, "answered");
}

static void test_all_cooling(void)
{
	static const char *const targets[] = { "openai", "gpt-4o" };
	run(targets, 1, NULL, 0);
	is_int(fake.ncalls, 0, "every key cooling: nothing sent upstream");
	ok(seen.failed && seen.fail == FAIL_COOLING, "the failure says cooling (429 with Retry-After)");
	is_int(relay_fail_status(seen.fail), 429, "status 429");
}

static void test_no_retry_after_first_byte(void)
{
	static const char *const targets[] = { "moonshot", "kimi-k2.5", "deepseek", "deepseek-chat" };
	static const struct step script[] = {
		{ STREAM_THEN_CUT, 200, "data: {\"choices\":[]}\n\n" }, { ANSWER, 200, ok_body },
	};
	run(targets, 2, script, 2);
	is_int(fake.ncalls, 1, "a stream cut after its first byte reached the client is not retried");
	ok(seen.streamed && !seen.streamed_ok, "the front-end closes the cut stream");
	is_int(seen.failed, 0, "and no failure answer follows it");
	ok(!cooling("moonshot", 0) && !blocked("moonshot", 0), "the key is not blamed");
}

static void test_refused_key_and_max_attempts(void)
{
	static const char *const targets[] = { "zai", "glm-4.6", "deepseek", "deepseek-chat", "moonshot", "kimi-k2.5",
					       "siliconflow", "qwen" };
	static const struct step script[] = {
		{ ANSWER, 401, "{\"error\":{\"message\":\"bad key\"}}" },
		{ ANSWER, 503, "{\"error\":{\"message\":\"down\"}}" },
		{ ANSWER, 503, "{\"error\":{\"message\":\"down\"}}" },
		{ ANSWER, 200, ok_body },
	};
	run(targets, 4, script, 4);
	ok(blocked("zai", 0), "a refused key (401) is blocked");
	ok(strstr(fake.url[1], "/deepseek/") != NULL, "and the next target is tried");
	is_int(fake.ncalls, 3, "max_attempts (3) bounds the attempts across targets");
	ok(seen.failed && seen.fail == FAIL_UPSTREAM, "the last failure (5xx) decides the answer");
	is_int(seen.attempts, 3, "it counts the attempts");
	is_int(seen.answered, 0, "no upstream answer went to the client");
}

static void test_client_error_passed_on(void)
{
	static const char *const targets[] = { "deepseek", "deepseek-chat", "moonshot", "kimi-k2.5" };
	static const struct step script[] = { { ANSWER, 400, "{\"error\":{\"message\":\"bad request\"}}" } };
	run(targets, 2, script, 1);
	is_int(fake.ncalls, 1, "a 400 is the client's: not retried elsewhere");
	is_int(seen.answered, 400, "it goes to the client");
}

static int setup(void)
{
	char dir[] = "/tmp/llmgate-test-relay-XXXXXX";
	char path[600], err[512];
	if (!mkdtemp(dir))
		return -1;
	static const char *const unset[] = { "AUTH_KEY", "LLMGATE_CONFIG", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
					     "OPENROUTER_API_KEY", NULL };
	for (size_t i = 0; unset[i]; i++)
		unsetenv(unset[i]);
	static const char *const provs[][2] = {
		{ "OPENAI", "sk-test-openai-a,sk-test-openai-b" }, { "DEEPSEEK", "sk-test-deepseek-a" },
		{ "MOONSHOT", "sk-test-moonshot-a" }, { "ZAI", "sk-test-zai-a" }, { "SILICONFLOW", "sk-test-sf-a" },
	};
	for (size_t i = 0; i < sizeof(provs) / sizeof(provs[0]); i++) {
		char var[64], url[128], lower[32];
		size_t j;
		for (j = 0; provs[i][0][j] && j + 1 < sizeof(lower); j++)
			lower[j] = (char)(provs[i][0][j] | 0x20);
		lower[j] = '\0';
		snprintf(var, sizeof(var), "%s_API_KEY", provs[i][0]);
		setenv(var, provs[i][1], 1);
		snprintf(var, sizeof(var), "%s_BASE_URL", provs[i][0]);
		snprintf(url, sizeof(url), "http://127.0.0.1:9/%s", lower);   /* never connected: fake_perform */
		setenv(var, url, 1);
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("LLMGATE_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/llmgate.conf", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("[server]\nthreads = 1\nlog_level = error\n[upstream]\nmax_attempts = 3\ncooldown_s = 600\n", f);
	fclose(f);
	log_init("test_relay", LOG_ERR);
	if (gateway_init(&gw, path, err, sizeof(err)) != 0) {
		diag("gateway_init: %s", err);
		return -1;
	}
	worker_init(&wk, &gw, 0);
	return 0;
}

int main(void)
{
	if (setup() != 0) {
		ok(0, "gateway set up");
		return done_testing();
	}
	test_fallback_after_429s();
	test_cooling_keys_skipped();
	test_all_cooling();
	test_no_retry_after_first_byte();
	test_refused_key_and_max_attempts();
	test_client_error_passed_on();
	worker_free(&wk);
	gateway_shutdown(&gw);
	gateway_free(&gw);
	return done_testing();
}
