/* fuzz_admin_query.c — admin_query_get, the admin API's query string
 * reader (the request log's filters, usage's days). The first input byte
 * picks the name's length, the rest is the query. Properties: the answer
 * is NUL-terminated within the buffer, stable, "" when absent; for a value
 * without '%' or '+' it is the bytes after "name=" up to the next '&' (cut
 * to the buffer); decoding never makes the answer longer than the raw
 * value. */
#include "fuzz_common.h"
#include "admin_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	size_t nl = data[0] % 8 + 1;
	if (size - 1 < nl)
		return 0;
	char name[16], out[64], again[64];
	memcpy(name, data + 1, nl);
	name[nl] = '\0';
	if (strchr(name, '&') || strchr(name, '=') || strlen(name) != nl)
		return 0;
	char *q = malloc(size);
	if (!q)
		abort();
	memcpy(q, data + 1, size - 1);
	q[size - 1] = '\0';
	int got = admin_query_get(q, name, out, sizeof(out));
	int got2 = admin_query_get(q, name, again, sizeof(again));
	FUZZ_ASSERT(got == got2 && !strcmp(out, again), "not stable");
	FUZZ_ASSERT(strlen(out) < sizeof(out), "not terminated");
	FUZZ_ASSERT(got || !out[0], "absent but %s", out);
	if (got) {
		/* the raw value: the first "name=" at a parameter's start */
		const char *p = q, *raw = NULL;
		while (p && *p && !raw) {
			if (!strncmp(p, name, nl) && p[nl] == '=')
				raw = p + nl + 1;
			p = strchr(p, '&');
			if (p)
				p++;
		}
		FUZZ_ASSERT(raw != NULL, "found a value the raw scan does not");
		size_t rl = strcspn(raw, "&");
		FUZZ_ASSERT(strlen(out) <= rl, "decoded longer than raw");
		if (!memchr(raw, '%', rl) && !memchr(raw, '+', rl)) {
			size_t want = rl < sizeof(out) - 1 ? rl : sizeof(out) - 1;
			FUZZ_ASSERT(strlen(out) == want && !memcmp(out, raw, want), "plain value changed");
		}
	}
	free(q);
	return 0;
}
