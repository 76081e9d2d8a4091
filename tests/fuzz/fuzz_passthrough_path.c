/* fuzz_passthrough_path.c — api_passthrough_path_ok, the gate that
 * decides whether a client's path may be appended to a provider's base
 * URL. Its safety property: when it says yes, the path has no "..", no
 * "//", no %2e / %2f / %5c (any case), no backslash, and no byte a URL
 * parser or the upstream could treat as the end of the path. */
#include "fuzz_common.h"
#include "api.h"
#include <strings.h>

static int has_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++)
		if (!strncasecmp(s, needle, n))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	/* the string ends at its NUL: reading past it is an error, unless the
	 * known over-read after a final '%' is switched off (then two more NULs
	 * follow, as in the router's zeroed path buffer) */
	char *s = malloc(size + 3);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	size_t alloc = fuzz_check_on("passthrough-percent-overread") ? size + 1 : size + 3;
	s = realloc(s, alloc);
	if (!s)
		abort();
	memset(s + size, 0, alloc - size);
	if (api_passthrough_path_ok(s)) {
		FUZZ_ASSERT(s[0] == '/', "accepted a path that does not start with '/': %s", s);
		FUZZ_ASSERT(!strstr(s, "//"), "accepted \"//\": %s", s);
		FUZZ_ASSERT(!strchr(s, '\\'), "accepted a backslash: %s", s);
		FUZZ_ASSERT(!has_ci(s, "%2e"), "accepted %%2e: %s", s);
		FUZZ_ASSERT(!has_ci(s, "%2f"), "accepted %%2f: %s", s);
		FUZZ_ASSERT(!has_ci(s, "%5c"), "accepted %%5c: %s", s);
		FUZZ_ASSERT(!has_ci(s, "%25"), "accepted %%25 (double encoding): %s", s);
		FUZZ_ASSERT(!strchr(s, '@'), "accepted '@': %s", s);
		for (const char *p = s; *p; p++)
			FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f, "accepted a control byte 0x%02x",
				    (unsigned char)*p);
		/* dot segments: "/./", "/../", a trailing "/." or "/.." */
		FUZZ_ASSERT(!strstr(s, "/./") && !strstr(s, "/../"), "accepted a dot segment: %s", s);
		size_t n = strlen(s);
		FUZZ_ASSERT(!(n >= 2 && !strcmp(s + n - 2, "/.")) && !(n >= 3 && !strcmp(s + n - 3, "/..")),
			    "accepted a trailing dot segment: %s", s);
		/* ".." anywhere, even inside a segment ("/v1..x"): not a dot
		 * segment, but the brief's property asks for none at all */
		if (fuzz_check_on("passthrough-dotdot-in-segment"))
			FUZZ_ASSERT(!strstr(s, ".."), "accepted \"..\" inside a segment: %s", s);
		/* '#' and '?' would end the path in the upstream URL */
		if (fuzz_check_on("passthrough-hash"))
			FUZZ_ASSERT(!strchr(s, '#'), "accepted '#': %s", s);
	}
	free(s);
	return 0;
}
