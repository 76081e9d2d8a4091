/* estimate.h — the most a request may spend, reserved against its key's
 * budgets while it runs (quota.h). */
#ifndef LLMGATE_ESTIMATE_H
#define LLMGATE_ESTIMATE_H
#include <stddef.h>

struct price_conf;
struct quota_ask;

/* The worst case of a request whose body is the n bytes at body (JSON or
 * not): its prompt counted as one token a byte of the whole body (no
 * tokenizer makes more tokens than bytes of text, and the body's framing
 * covers each message's few special tokens; images given by URL are the
 * exception, see the README), plus, when output is non-zero, the most
 * output it asks for: the first positive integer of max_tokens,
 * max_completion_tokens, max_output_tokens or
 * generationConfig.maxOutputTokens at the top of a JSON body (names read
 * as the most lenient upstream would: escapes decoded, letter case
 * ignored), else default_out. Cost at price p (the dearer of the input prices; NULL: 0). */
void estimate_ask(const char *body, size_t n, int output, long default_out, const struct price_conf *p,
		  struct quota_ask *out);
#endif
