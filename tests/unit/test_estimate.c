/* test_estimate.c — the worst case a quota reservation holds for a request. */
#include "autoconf.h"
#include "config.h"
#include "estimate.h"
#include "quota.h"
#include "tap.h"
#include <string.h>

static long long out_of(const char *body, int output)
{
	struct quota_ask a;
	estimate_ask(body, strlen(body), output, 4096, NULL, &a);
	return a.tokens - (long long)strlen(body);
}

int main(void)
{
	is_int(out_of("{\"max_tokens\":20}", 1), 20, "max_tokens");
	is_int(out_of("{\"max_completion_tokens\":30}", 1), 30, "max_completion_tokens");
	is_int(out_of("{\"max_output_tokens\":40}", 1), 40, "max_output_tokens (Responses)");
	is_int(out_of("{\"generationConfig\":{\"maxOutputTokens\":50}}", 1), 50, "Gemini's maxOutputTokens");
	is_int(out_of("{\"max_tok\\u0065ns\":100000}", 1), 100000, "an escaped name is read as the upstream reads it");
	is_int(out_of("{\"MAX_TOKENS\":7000}", 1), 7000, "another letter case counts (lenient upstream parsers)");
	is_int(out_of("{\"max_tokens\":-5}", 1), 4096, "not a positive number: the default");
	is_int(out_of("{\"max_tokens\":\"20\"}", 1), 4096, "a string: the default");
	is_int(out_of("{\"max_tokens\":20", 1), 4096, "not JSON: the default");
	is_int(out_of("{\"messages\":[{\"max_tokens\":1}]}", 1), 4096, "only a top-level member counts");
	is_int(out_of("{\"max_tokens\":20}", 0), 0, "no output asked for (embeddings)");
	struct price_conf p = { "m", 2.0, 4.0, 10.0 };
	struct quota_ask a;
	estimate_ask("{\"max_tokens\":1000}", 19, 1, 4096, &p, &a);
	ok(a.tokens == 1019 && a.cost > 0.0100 && a.cost < 0.0101, "cost at the dearer input price: %f", a.cost);
	return done_testing();
}
