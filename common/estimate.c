/* estimate.c — a request's worst case for quota reservations. */
#include "autoconf.h"
#include "estimate.h"
#include "config.h"
#include "jscan.h"
#include "quota.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ESTIMATE_MAX_OUT 100000000L

/* A member name as a reader that decodes escapes would see it, into out
 * (ASCII only: a name with anything else is not one of ours). 1 if it fits. */
static int decoded_name(const struct jscan_member *m, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < m->key_len; i++) {
		unsigned c = (unsigned char)m->key[i];
		if (c == '\\' && i + 1 < m->key_len) {
			c = (unsigned char)m->key[++i];
			if (c == 'u' && i + 4 < m->key_len) {
				char hex[5] = { m->key[i + 1], m->key[i + 2], m->key[i + 3], m->key[i + 4], 0 };
				char *end;
				c = (unsigned)strtoul(hex, &end, 16);
				if (*end)
					return 0;
				i += 4;
			}
		}
		if (c == 0 || c >= 0x80 || o + 1 >= outlen)
			return 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

/* The value of member name of the object text s (valid JSON), its name
 * compared after decoding escapes and ignoring letter case, as the most
 * lenient upstream parser would read it. 1 if found. */
static int member(const char *s, size_t n, const char *name, const char **v, size_t *vlen)
{
	struct jscan_member m;
	size_t i = 0;
	char key[40];
	while (jscan_next_member(s, n, &i, &m)) {
		int same = m.escaped ? decoded_name(&m, key, sizeof(key)) && !strcasecmp(key, name)
				     : m.key_len == strlen(name) && !strncasecmp(m.key, name, m.key_len);
		if (same) {
			*v = m.value;
			*vlen = m.value_len;
			return 1;
		}
	}
	return 0;
}

/* The positive integer value of member name of the object text s, or 0. */
static long int_member(const char *s, size_t n, const char *name)
{
	const char *v;
	size_t len;
	if (!member(s, n, name, &v, &len) || !len || len > 12)
		return 0;
	char num[16];
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		num[i] = v[i];
	}
	num[len] = '\0';
	long val = strtol(num, NULL, 10);
	return val > 0 && val <= ESTIMATE_MAX_OUT ? val : 0;
}

static long asked_output(const char *body, size_t n)
{
	static const char *const names[] = { "max_tokens", "max_completion_tokens", "max_output_tokens" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long v = int_member(body, n, names[i]);
		if (v)
			return v;
	}
	const char *gc;
	size_t gl;
	if (member(body, n, "generationConfig", &gc, &gl))
		return int_member(gc, gl, "maxOutputTokens");
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
