/* test_filter.c — request filters and response taps (filter.h): the
 * system prompt filter adds the configured prompt as the first message of
 * a chat without one, leaves a chat with a system or developer message
 * alone, does nothing without a prompt; filter_request reports a change;
 * a registered tap hears data and the end. */
#include "autoconf.h"
#include "filter.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static cJSON *chat(const char *json)
{
	return cJSON_Parse(json);
}

static const char *first_role(const cJSON *req, const char **content)
{
	const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(req, "messages"), 0);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	*content = cJSON_IsString(c) ? c->valuestring : NULL;
	return cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
}

static void test_system_prompt(void)
{
	struct config c;
	memset(&c, 0, sizeof(c));
	struct filter_ctx fc = { .c = &c, .model = "m" };
	const char *content;

	cJSON *req = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	is_int(filter_request(req, &fc), 0, "no prompt configured: unchanged");
	is_str(first_role(req, &content), "user", "the first message is still the user's");

	c.system_prompt = "Be brief.";
	is_int(filter_request(req, &fc), 1, "a prompt and no system message: changed");
	is_str(first_role(req, &content), "system", "a system message comes first");
	is_str(content, "Be brief.", "holding the prompt");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(req, "messages")), 2, "the user's message stays");
	is_int(filter_request(req, &fc), 0, "run again: the system message is there, unchanged");
	cJSON_Delete(req);

	req = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
		   "{\"role\":\"developer\",\"content\":\"mine\"}]}");
	is_int(filter_request(req, &fc), 0, "a developer message anywhere: unchanged");
	is_str(first_role(req, &content), "user", "the messages stay as they were");
	cJSON_Delete(req);
}

static int heard_data, heard_end, end_status;
static size_t data_len;

static void tap_data(const struct filter_ctx *fc, const char *data, size_t len)
{
	(void)fc;
	(void)data;
	heard_data++;
	data_len += len;
}

static void tap_end(const struct filter_ctx *fc, int status, const struct usage *u)
{
	(void)fc;
	(void)u;
	heard_end++;
	end_status = status;
}

static void test_taps(void)
{
	static const struct tap t = { "test", tap_data, tap_end };
	struct filter_ctx fc = { .model = "m" };
	struct usage u = { 0 };
	is_int(filter_has_taps(), 0, "no tap registered at first");
	is_int(filter_add_tap(&t), 0, "a tap registers");
	is_int(filter_has_taps(), 1, "and is there");
	filter_tap_data(&fc, "{\"a\":1}", 7);
	filter_tap_end(&fc, 200, &u);
	is_int(heard_data, 1, "it hears the data");
	is_int((long long)data_len, 7, "all of it");
	is_int(heard_end, 1, "and the end");
	is_int(end_status, 200, "with its status");
	int full = 0;
	for (int i = 0; i < FILTER_TAPS_MAX + 1; i++)
		full |= filter_add_tap(&t) != 0;
	ok(full, "the table has a limit");
}

int main(void)
{
	test_system_prompt();
	test_taps();
	return done_testing();
}
