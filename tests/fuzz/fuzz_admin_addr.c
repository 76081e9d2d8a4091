/* fuzz_admin_addr.c — admin_client_addr, the name the admin login
 * throttle gives a client's REMOTE_ADDR (it becomes part of a state.db
 * key). Properties: the answer is never empty, fits ADMIN_ADDR_MAX, holds
 * only hex digits, dots, colons and one "/64" (or is "unknown"), is the
 * same for the same input, and is "unknown" for what is no address. */
#include "fuzz_common.h"
#include "admin.h"
#include <arpa/inet.h>
#include <ctype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	char out[ADMIN_ADDR_MAX], again[ADMIN_ADDR_MAX];
	admin_client_addr(s, out, sizeof(out));
	admin_client_addr(s, again, sizeof(again));
	FUZZ_ASSERT(!strcmp(out, again), "not stable: %s / %s", out, again);
	size_t n = strlen(out);
	FUZZ_ASSERT(n > 0 && n < ADMIN_ADDR_MAX, "length %zu", n);
	if (strcmp(out, "unknown")) {
		const char *slash = strchr(out, '/');
		FUZZ_ASSERT(!slash || !strcmp(slash, "/64"), "a suffix other than /64: %s", out);
		for (const char *p = out; *p && p != slash; p++)
			FUZZ_ASSERT(isxdigit((unsigned char)*p) || *p == '.' || *p == ':', "byte 0x%02x in %s",
				    (unsigned char)*p, out);
		unsigned char a[16];
		FUZZ_ASSERT(inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1,
			    "a name for what is no address: %s", out);
	}
	free(s);
	return 0;
}
