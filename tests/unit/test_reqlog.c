/* test_reqlog.c — the path of an unknown route as a refusal's log line
 * shows it: key-like runs masked, cut, printable. */
#include "autoconf.h"
#include "reqlog.h"
#include "tap.h"
#include <string.h>

static const char *safe(const char *in)
{
	static char out[256];
	reqlog_safe_path(in, out, sizeof(out));
	return out;
}

int main(void)
{
	is_str(safe("/v1/nothing-here"), "/v1/nothing-here", "a plain path is kept");
	is_str(safe("/v1/x/sk-0123456789abcdefghij/y"), "/v1/x/*/y", "a key-like run is masked");
	is_str(safe("/v1/aaaaaaaaaaaaaaa"), "/v1/aaaaaaaaaaaaaaa", "15 token characters are kept");
	is_str(safe("/v1/aaaaaaaaaaaaaaaa"), "/v1/*", "16 are masked");
	is_str(safe("/a\x01\x7f" "b"), "/a??b", "control bytes shown as ?");
	char longp[400];
	memset(longp, '/', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ok(strlen(safe(longp)) == 120, "cut to 120 bytes");
	char small[4];
	reqlog_safe_path("/abcdef", small, sizeof(small));
	is_str(small, "/ab", "never past the buffer");
	return done_testing();
}
