/* test_reasoning.c — reasoning across dialects (reasoning.c and its users):
 * the table both ways, and each mapping through the translators: OpenAI
 * reasoning_effort and the gateway's exact budget to Anthropic's thinking
 * and Gemini's thinkingConfig, Anthropic's thinking and Gemini's
 * thinkingConfig to the internal form, the member kept from OpenAI-
 * compatible upstreams. */
#include "autoconf.h"
#include "anthropic.h"
#include "dialect.h"
#include "gemini.h"
#include "gemini_in.h"
#include "reasoning.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void table(void)
{
	static const char *const words[] = { "none", "minimal", "low", "medium", "high", "xhigh" };
	for (int e = REASONING_NONE; e <= REASONING_XHIGH; e++) {
		is_int(reasoning_effort_parse(words[e]), e, words[e]);
		is_int(reasoning_budget_effort(reasoning_effort_budget(e)), e, "effort -> budget -> the same effort");
	}
	is_int(reasoning_effort_parse("max"), REASONING_XHIGH, "Anthropic's max is xhigh");
	is_int(reasoning_effort_parse("huge"), REASONING_UNSET, "unknown word");
	is_int(reasoning_effort_budget(REASONING_MEDIUM), 8192, "medium is 8192");
	is_int(reasoning_budget_effort(0), REASONING_NONE, "0 is none");
	is_int(reasoning_budget_effort(31999), REASONING_HIGH, "Claude Code's 31999 is high");
	is_int(reasoning_budget_effort(REASONING_DYNAMIC), REASONING_MEDIUM, "dynamic is medium");
	is_int(reasoning_level_effort("high"), REASONING_HIGH, "thinkingLevel high");
	is_int(reasoning_level_effort("MINIMAL"), REASONING_MINIMAL, "thinkingLevel MINIMAL");
	ok(!reasoning_effort_level(REASONING_NONE), "none has no level");
}

/* The outbound request for j's internal form: Anthropic's or Gemini's. */
static char *out_of(const char *j, int gemini)
{
	char err[256] = "";
	cJSON *req = cJSON_Parse(j);
	char *b = gemini ? gemini_request_from_oai(req, err, sizeof(err)) : anthropic_request_from_oai(req, NULL, err, sizeof(err));
	cJSON_Delete(req);
	if (!b)
		diag("refused: %s", err);
	return b;
}

static void has(const char *body, const char *want, const char *name)
{
	ok(body && strstr(body, want), "%s", name);
	if (!body || !strstr(body, want))
		diag("want %s in %s", want, body ? body : "(null)");
}

static void hasnt(const char *body, const char *want, const char *name)
{
	ok(body && !strstr(body, want), "%s", name);
	if (!body || strstr(body, want))
		diag("do not want %s in %s", want, body ? body : "(null)");
}

#define MSG "\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void to_anthropic(void)
{
	char *b = out_of("{" MSG ",\"reasoning_effort\":\"high\",\"temperature\":0.2}", 0);
	has(b, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":24576}", "effort high: budget 24576");
	has(b, "\"max_tokens\":28672", "no client limit: max_tokens = budget + 4096");
	hasnt(b, "temperature", "temperature dropped while thinking");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"medium\",\"max_tokens\":3000}", 0);
	has(b, "\"budget_tokens\":2999", "a client limit below the budget shrinks it");
	has(b, "\"max_tokens\":3000", "the client's limit kept");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"low\",\"max_tokens\":500}", 0);
	hasnt(b, "thinking", "a limit below Anthropic's floor: no thinking");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"none\"}", 0);
	hasnt(b, "thinking", "none: no thinking");
	free(b);
	b = out_of("{" MSG ",\"llmgate_reasoning\":{\"budget_tokens\":5000}}", 0);
	has(b, "\"budget_tokens\":5000", "an exact budget as it is");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"high\",\"llmgate_reasoning\":{\"budget_tokens\":-1}}", 0);
	has(b, "\"budget_tokens\":24576", "the model deciding: the effort's budget");
	free(b);
	b = out_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,"
		   "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
		   "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}],\"reasoning_effort\":\"high\"}", 0);
	hasnt(b, "\"thinking\"", "answering tool calls: no thinking (no signed blocks to send back)");
	free(b);
	b = out_of("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,"
		   "\"reasoning_content\":\"Let me think.\",\"thinking_blocks\":[{\"type\":\"thinking\",\"signature\":\"SIG\"}],"
		   "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
		   "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}],\"reasoning_effort\":\"high\"}", 0);
	has(b, "\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"SIG\"},"
	    "{\"type\":\"tool_use\"", "a streamed turn's signed block goes back first, its text from reasoning_content");
	has(b, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":24576}", "... and thinking stays on in the tool loop");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"high\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
		   "\"tool_choice\":\"required\"}", 0);
	hasnt(b, "\"thinking\"", "a forced tool choice: no thinking");
	free(b);
}

static void to_gemini(void)
{
	char *b = out_of("{" MSG ",\"reasoning_effort\":\"low\"}", 1);
	has(b, "\"thinkingConfig\":{\"thinkingBudget\":1024,\"includeThoughts\":true}", "effort low: budget 1024, thoughts shown");
	free(b);
	b = out_of("{" MSG ",\"reasoning_effort\":\"none\"}", 1);
	has(b, "\"thinkingConfig\":{\"thinkingBudget\":0,\"includeThoughts\":false}", "none: budget 0");
	free(b);
	b = out_of("{" MSG ",\"llmgate_reasoning\":{\"budget_tokens\":-1,\"include_thoughts\":false}}", 1);
	has(b, "\"thinkingConfig\":{\"thinkingBudget\":-1,\"includeThoughts\":false}", "dynamic, thoughts hidden as asked");
	free(b);
	b = out_of("{" MSG "}", 1);
	hasnt(b, "thinkingConfig", "nothing asked: nothing sent");
	free(b);
}

/* The internal form of an Anthropic or Gemini client's request. */
static char *in_of(const char *j, int gemini, char *err, size_t errlen)
{
	cJSON *req = cJSON_Parse(j);
	cJSON *o = gemini ? gemini_in_request_to_oai(req, "m", 0, err, errlen) : anthropic_request_to_oai(req, NULL, err, errlen);
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	cJSON_Delete(req);
	return s;
}

static void from_clients(void)
{
	char err[256] = "";
	const char *am = "{\"model\":\"m\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],";
	char j[512];
	snprintf(j, sizeof(j), "%s\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":31999}}", am);
	char *s = in_of(j, 0, err, sizeof(err));
	has(s, "\"reasoning_effort\":\"high\",\"llmgate_reasoning\":{\"budget_tokens\":31999,\"include_thoughts\":true}",
	    "Anthropic enabled 31999: high, the budget kept");
	free(s);
	snprintf(j, sizeof(j), "%s\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":\"low\"}}", am);
	s = in_of(j, 0, err, sizeof(err));
	has(s, "\"reasoning_effort\":\"low\",\"llmgate_reasoning\":{\"budget_tokens\":-1,", "Anthropic adaptive + effort low");
	free(s);
	snprintf(j, sizeof(j), "%s\"thinking\":{\"type\":\"disabled\"}}", am);
	s = in_of(j, 0, err, sizeof(err));
	hasnt(s, "reasoning", "Anthropic disabled: nothing");
	free(s);
	snprintf(j, sizeof(j), "%s\"thinking\":{\"type\":\"sometimes\"}}", am);
	s = in_of(j, 0, err, sizeof(err));
	ok(!s && strstr(err, "thinking"), "Anthropic thinking of an unknown type refused: %s", err);
	free(s);

	s = in_of("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"thinkingConfig\":"
		  "{\"thinkingBudget\":8192,\"includeThoughts\":true}}}", 1, err, sizeof(err));
	has(s, "\"reasoning_effort\":\"medium\",\"llmgate_reasoning\":{\"budget_tokens\":8192,\"include_thoughts\":true}",
	    "Gemini budget 8192 (gemini-cli's): medium, the budget kept");
	free(s);
	s = in_of("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"thinkingConfig\":"
		  "{\"thinkingLevel\":\"HIGH\"}}}", 1, err, sizeof(err));
	has(s, "\"reasoning_effort\":\"high\"", "Gemini thinkingLevel HIGH: high");
	hasnt(s, "llmgate_reasoning", "a level alone needs no member");
	free(s);
	s = in_of("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"thinkingConfig\":"
		  "{\"thinkingBudget\":0}}}", 1, err, sizeof(err));
	has(s, "\"reasoning_effort\":\"none\"", "Gemini budget 0: none");
	free(s);
	s = in_of("{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{\"thinkingConfig\":"
		  "{\"thinkingLevel\":\"LOUD\"}}}", 1, err, sizeof(err));
	ok(!s && strstr(err, "thinkingLevel"), "an unknown thinkingLevel refused: %s", err);
	free(s);
}

static void openai_upstream(void)
{
	char err[64];
	cJSON *req = cJSON_Parse("{" MSG ",\"reasoning_effort\":\"high\",\"llmgate_reasoning\":{\"budget_tokens\":31999}}");
	const struct dialect_ops *d = dialect_ops(DIALECT_OPENAI);
	char *b = d->chat_request(req, NULL, 0, "up", 0, err, sizeof(err));
	has(b, "\"reasoning_effort\":\"high\"", "OpenAI-compatible upstream: the effort");
	hasnt(b, "llmgate_reasoning", "... and never the gateway's member");
	ok(cJSON_GetObjectItemCaseSensitive(req, "llmgate_reasoning") != NULL, "the member kept for the next target");
	free(b);
	cJSON_Delete(req);
	req = cJSON_Parse("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"thinking_blocks\":"
			  "[{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"S\"}]},{\"role\":\"user\",\"content\":\"b\"}]}");
	b = d->chat_request(req, "{}", 2, "up", 0, err, sizeof(err));
	hasnt(b, "thinking_blocks", "thinking_blocks never reach an OpenAI-compatible upstream");
	has(b, "\"content\":\"a\"", "... the rest of the turn does");
	free(b);
	b = cJSON_PrintUnformatted(req);
	ok(strstr(b, "thinking_blocks") != NULL, "... and the request keeps them for the next target");
	free(b);
	cJSON_Delete(req);
}

int main(void)
{
	table();
	to_anthropic();
	to_gemini();
	from_clients();
	openai_upstream();
	return done_testing();
}
