/* fuzz_estimate.c — estimate_ask reads a request body from a client (JSON
 * or not) for the worst case a quota reservation holds: for any input it
 * must count at least one token a byte, never less than the default
 * output when the body names no limit of its own, a limit of its own
 * only from valid JSON, and a cost that is never negative.
 *
 * Input: the bytes are a request body. */
#include "fuzz_common.h"
#include "config.h"
#include "estimate.h"
#include "jscan.h"
#include "quota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const struct price_conf price = { "m", 2.0, 0.5, 8.0 };
	struct quota_ask none, with, priced;
	estimate_ask(body, size, 0, 4096, NULL, &none);
	FUZZ_ASSERT(none.tokens == (long long)size && none.cost == 0, "no output: the body's bytes");
	estimate_ask(body, size, 1, 4096, NULL, &with);
	long long out = with.tokens - (long long)size;
	FUZZ_ASSERT(out > 0 && out <= 100000000, "output counted: %lld", out);
	estimate_ask(body, size, 1, 4096, &price, &priced);
	FUZZ_ASSERT(priced.tokens == with.tokens && priced.cost >= 0, "cost");
	/* a limit of the body's own only from valid JSON */
	if (out != 4096)
		FUZZ_ASSERT(jscan_valid(body, size, 64), "a limit only from valid JSON");
	return 0;
}
