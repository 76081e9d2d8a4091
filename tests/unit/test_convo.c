/* test_convo.c — conversations: ids, trimming to the budget (characters,
 * whole turns, oldest first), stored records checked, and a turn through
 * the filter and the tap: history added after the system messages, the
 * answer kept once complete (streamed or buffered), a cut or failed answer
 * keeping nothing, another key seeing nothing. */
#include "autoconf.h"
#include "convo.h"
#include "log.h"
#include "xmalloc.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_ids(void)
{
	char longest[CONVO_ID_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	longest[CONVO_ID_MAX] = '\0';
	ok(convo_id_ok("trip"), "a word");
	ok(convo_id_ok("a b/c?d%e"), "printable ASCII with spaces inside");
	ok(convo_id_ok(longest), "128 characters");
	longest[CONVO_ID_MAX] = 'a';
	longest[CONVO_ID_MAX + 1] = '\0';
	ok(!convo_id_ok(longest), "129: too long");
	ok(!convo_id_ok(""), "empty");
	ok(!convo_id_ok(" x") && !convo_id_ok("x "), "a space at either end");
	ok(!convo_id_ok("a\tb") && !convo_id_ok("a\x7f") && !convo_id_ok("caf\xc3\xa9"), "control or non-ASCII");
}

static cJSON *msgs(const char *json)
{
	return cJSON_Parse(json);
}

static void test_trim(void)
{
	cJSON *m = msgs("[{\"role\":\"user\",\"content\":\"\xe4\xbd\xa0\xe5\xa5\xbd\"},"   /* 你好: 2 characters */
			"{\"role\":\"assistant\",\"content\":\"abcd\"},"
			"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"xyz\"}]},"
			"{\"role\":\"assistant\",\"content\":\"12\"}]");
	is_int(convo_message_chars(cJSON_GetArrayItem(m, 0)), 2, "Chinese counted in characters");
	is_int(convo_message_chars(cJSON_GetArrayItem(m, 2)), 7, "content parts: their strings");
	is_int(convo_trim(m, 100), 0, "within the budget: nothing dropped");
	is_int(convo_trim(m, 10), 2, "over it: the oldest turn goes whole");
	is_int(cJSON_GetArraySize(m), 2, "two left");
	is_int(convo_trim(m, 3), 2, "a turn over the budget goes too");
	is_int(cJSON_GetArraySize(m), 0, "nothing left");
	cJSON_Delete(m);
	m = msgs("[{\"role\":\"assistant\",\"content\":\"orphan\"},{\"role\":\"user\",\"content\":\"q\"},"
		 "{\"role\":\"assistant\",\"content\":\"a\"}]");
	is_int(convo_trim(m, 3), 1, "history starts with a user message");
	cJSON_Delete(m);
}

static void test_records(void)
{
	static const char *const bad[] = { "", "[]", "{\"id\":\"x\",\"created\":1}", "{\"id\":1,\"created\":1,\"messages\":[]}",
					   "{\"id\":\"x\",\"created\":1,\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}",
					   "{\"id\":\"x\",\"created\":1,\"messages\":[{\"role\":\"user\",\"content\":5}]}",
					   "{\"id\":\"x\",\"created\":1,\"messages\":[{\"role\":\"user\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *r = convo_record_parse(bad[i], strlen(bad[i]));
		ok(!r, "bad record %zu refused", i);
		cJSON_Delete(r);
	}
	const char *good = "{\"id\":\"x\",\"created\":1,\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
			   "{\"role\":\"assistant\",\"content\":\"a\"}]}";
	cJSON *r = convo_record_parse(good, strlen(good));
	ok(r != NULL, "a good record");
	cJSON *p = convo_public(r, 42, 0);
	char *t = cJSON_PrintUnformatted(p);
	is_str(t, "{\"id\":\"x\",\"object\":\"conversation\",\"created\":1,\"last_used\":42,\"turns\":1}", "its public form");
	free(t);
	cJSON_Delete(p);
	cJSON_Delete(r);
}

/* One request of key who on conversation id: the filter on req, then the
 * answer's events (NULL-ended), then its end with status. The upstream
 * request as the filter left it (text). */
static char *turn(struct config *c, const char *who, const char *id, const char *req, const char *const *events,
		  int status)
{
	struct auth_entry a;
	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", who);
	struct filter_ctx fc = { .c = c, .who = &a, .req_id = "r1", .model = "m", .convo = convo_begin(id) };
	cJSON *r = cJSON_Parse(req);
	filter_request(r, &fc);   /* the system prompt's filter, then the conversation's */
	for (size_t i = 0; events && events[i]; i++)
		convo_tap.data(&fc, events[i], strlen(events[i]));
	struct usage u = { 0 };
	convo_tap.end(&fc, status, &u);
	convo_free(fc.convo);
	char *out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "messages"));
	cJSON_Delete(r);
	return out;
}

static void test_turns(void)
{
	char dir[] = "/tmp/llmgate-test-convo-XXXXXX";
	if (!mkdtemp(dir))
		return;
	struct config c;
	memset(&c, 0, sizeof(c));
	c.state_dir = dir;
	c.conv_max_per_key = 10;
	c.conv_retention_days = 30;
	c.conv_history_chars = 1000;
	const char *const buffered[] = { "{\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
					 "{\"role\":\"assistant\",\"content\":\"Hi Ada\"},\"finish_reason\":\"stop\"}]}", NULL };
	char *up = turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"I am Ada\"}]}", buffered, 200);
	is_str(up, "[{\"role\":\"user\",\"content\":\"I am Ada\"}]", "the first turn goes as it is");
	free(up);
	const char *const streamed[] = {
		"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"You are \"}}]}",
		"{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"OTHER\"}}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Ada\"},\"finish_reason\":null}]}",
		"{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":3}}", NULL };
	up = turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Who?\"}]}",
		  streamed, 200);
	is_str(up, "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"I am Ada\"},"
		   "{\"role\":\"assistant\",\"content\":\"Hi Ada\"},{\"role\":\"user\",\"content\":\"Who?\"}]",
	       "history after the system message, before the new one");
	free(up);
	up = turn(&c, "k_b", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"Me?\"}]}", NULL, 200);
	is_str(up, "[{\"role\":\"user\",\"content\":\"Me?\"}]", "another key: no history");
	free(up);
	const char *const cut[] = { "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}", NULL };
	free(turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"cut\"}]}", cut, 200));
	free(turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"failed\"}]}", buffered, 502));
	up = turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"again\"}]}", NULL, 200);
	c.system_prompt = "Configured.";
	free(up);
	up = turn(&c, "k_a", "t", "{\"messages\":[{\"role\":\"user\",\"content\":\"last\"}]}", NULL, 200);
	c.system_prompt = NULL;
	ok(!strncmp(up, "[{\"role\":\"system\",\"content\":\"Configured.\"},{\"role\":\"user\",\"content\":\"I am Ada\"}", 78) &&
	   strstr(up, "{\"role\":\"user\",\"content\":\"last\"}]"), "the configured system prompt first, the history, the new message last: %s", up);
	ok(strstr(up, "You are Ada") && !strstr(up, "OTHER") && !strstr(up, "half") && !strstr(up, "cut") && !strstr(up, "failed"),
	   "the streamed answer was kept (choice 0 alone); a cut or failed one was not");
	free(up);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	free(cmd);
}

int main(void)
{
	log_init("test", LOG_ERR);
	test_ids();
	test_trim();
	test_records();
	test_turns();
	return done_testing();
}
