/* fuzz_secrets.c — secrets_parse (the .dev.vars format) on any bytes.
 * Checks: a refusal says which line and leaves nothing; an accepted file
 * has distinct names of [A-Za-z_][A-Za-z0-9_]*, each value no longer than
 * its line, and parsing the same bytes again gives the same result. */
#include "fuzz_common.h"
#include "secrets.h"
#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secrets s, t;
	char err[200], err2[200];
	int r = secrets_parse((const char *)data, size, &s, err, sizeof(err));
	if (r != 0) {
		FUZZ_ASSERT(r == -1, "secrets_parse returned %d", r);
		FUZZ_ASSERT(s.n == 0, "a refusal left %zu assignments", s.n);
		FUZZ_ASSERT(!strncmp(err, "line ", 5) || strstr(err, "NUL"), "a refusal without its line: %s", err);
		return 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		const char *n = s.names[i];
		FUZZ_ASSERT(isalpha((unsigned char)n[0]) || n[0] == '_', "a name starts badly");
		for (const char *p = n; *p; p++)
			FUZZ_ASSERT(isalnum((unsigned char)*p) || *p == '_', "a name holds 0x%02x", (unsigned char)*p);
		FUZZ_ASSERT(strlen(s.values[i]) <= SECRETS_LINE_MAX, "a value longer than a line");
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(s.names[j], n), "name %s twice", n);
		FUZZ_ASSERT(secrets_get(&s, n) == s.values[i], "secrets_get finds another value");
	}
	FUZZ_ASSERT(secrets_parse((const char *)data, size, &t, err2, sizeof(err2)) == 0 && t.n == s.n, "not stable");
	for (size_t i = 0; i < s.n; i++)
		FUZZ_ASSERT(!strcmp(s.values[i], t.values[i]), "a value differs on a second parse");
	secrets_free(&t);
	secrets_free(&s);
	return 0;
}
