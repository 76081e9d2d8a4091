/* fuzz_ini.c — ini_parse, ini_split_list, ini_parse_long and
 * ini_parse_llong on any bytes. */
#include "fuzz_common.h"
#include "ini.h"

struct ctx {
	unsigned calls;
	int last_line;
};

static int on_kv(const char *section, const char *key, const char *value, int lineno, void *user)
{
	struct ctx *c = user;
	/* the strings are valid C strings for the call; keys are never empty */
	size_t sl = strlen(section), kl = strlen(key), vl = strlen(value);
	FUZZ_ASSERT(kl > 0, "empty key reported at line %d", lineno);
	FUZZ_ASSERT(sl < 256, "section name longer than its buffer");
	FUZZ_ASSERT(lineno > c->last_line, "line numbers go backwards (%d after %d)", lineno, c->last_line);
	c->last_line = lineno;
	c->calls++;
	(void)vl;
	/* a callback may stop the parse: its value comes back */
	if (kl == 4 && !memcmp(key, "stop", 4))
		return 7;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { 0, 0 };
	int errline = 0;
	int r = ini_parse((const char *)data, size, on_kv, &c, &errline);
	FUZZ_ASSERT(r == 0 || r == -1 || r == 7, "ini_parse returned %d", r);
	if (r == -1)
		FUZZ_ASSERT(errline >= 1, "an error without a line number");

	char *s = fuzz_strndup(data, size);
	char **list = NULL;
	size_t n = ini_split_list(s, &list);
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(list[i][0] != '\0', "empty item in a split list");
		FUZZ_ASSERT(!strchr(list[i], ','), "an item holds a comma");
	}
	ini_free_list(list, n);
	long v = 0;
	if (ini_parse_long(s, -1000, 1000, &v) == 0)
		FUZZ_ASSERT(v >= -1000 && v <= 1000, "ini_parse_long out of range: %ld", v);
	long long w = 0;
	if (ini_parse_llong(s, -1000, 253402300799LL, &w) == 0)
		FUZZ_ASSERT(w >= -1000 && w <= 253402300799LL, "ini_parse_llong out of range: %lld", w);
	free(s);
	return 0;
}
