/* estimate.c — a request's worst case for quota reservations. */
#include "autoconf.h"
#include "estimate.h"
#include "config.h"
#include "jscan.h"
#include "quota.h"
#include <stdlib.h>

#define ESTIMATE_MAX_OUT 100000000L

/* The positive integer value of member name of the object text s, or 0. */
static long int_member(const char *s, size_t n, const char *name)
{
	size_t vs, ve;
	if (jscan_member(s, n, name, &vs, &ve) != 1 || ve <= vs || ve - vs > 12)
		return 0;
	char num[16];
	size_t len = ve - vs;
	for (size_t i = 0; i < len; i++) {
		if (s[vs + i] < '0' || s[vs + i] > '9')
			return 0;
		num[i] = s[vs + i];
	}
	num[len] = '\0';
	long v = strtol(num, NULL, 10);
	return v > 0 && v <= ESTIMATE_MAX_OUT ? v : 0;
}

static long asked_output(const char *body, size_t n)
{
	static const char *const names[] = { "max_tokens", "max_completion_tokens", "max_output_tokens" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long v = int_member(body, n, names[i]);
		if (v)
			return v;
	}
	size_t vs, ve;
	if (jscan_member(body, n, "generationConfig", &vs, &ve) == 1)
		return int_member(body + vs, ve - vs, "maxOutputTokens");
	return 0;
}

void estimate_ask(const char *body, size_t n, int output, long default_out, const struct price_conf *p,
		  struct quota_ask *out)
{
	long long prompt = (long long)n;
	long long gen = 0;
	if (output) {
		gen = body && jscan_valid(body, n, 64) ? asked_output(body, n) : 0;
		if (!gen)
			gen = default_out;
	}
	out->tokens = prompt + gen;
	out->cost = 0;
	if (p) {
		double in = p->input > p->cached_input ? p->input : p->cached_input;
		out->cost = ((double)prompt * in + (double)gen * p->output) / 1e6;
	}
}
