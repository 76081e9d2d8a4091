/* cors.c — cross-origin requests from browsers (see cors.h). */
#include "autoconf.h"
#include "cors.h"
#include "oai.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cors_allowed(const char *origins, const char *origin)
{
	if (!origins || !origin || !*origin)
		return NULL;
	size_t ol = strlen(origin);
	for (size_t i = 0; i < ol; i++)
		if ((unsigned char)origin[i] <= ' ' || origin[i] == 0x7f)
			return NULL;   /* no origin holds these; never echoed into a header */
	for (const char *p = origins; *p;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m && isspace((unsigned char)p[m - 1]))
			m--;
		if (m && p[m - 1] == '/' && !(m == 1))
			m--;
		if (m == 1 && *p == '*')
			return "*";
		if (m && m == ol && !strncasecmp(p, origin, m))
			return origin;
		p += n;
	}
	return NULL;
}

/* The x-stainless-* headers the OpenAI SDKs send, echoed when asked for
 * (names of token characters only), after the fixed list. */
static void sdk_headers(const char *asked, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = asked ? asked : ""; *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t n = strcspn(p, ", ");
		int ok = n > 12 && n < 64 && !strncasecmp(p, "x-stainless-", 12);
		for (size_t i = 0; ok && i < n; i++)
			ok = isalnum((unsigned char)p[i]) || p[i] == '-';
		if (ok && used + n + 3 < cap) {
			used += (size_t)snprintf(out + used, cap - used, ", %.*s", (int)n, p);
		}
		p += n;
	}
}

void cors_preflight(struct http_req *r, const char *methods)
{
	char head[1024];
	const char *origin = http_header(r, "Origin");
	if (!origin || !*origin || !http_header(r, "Access-Control-Request-Method")) {
		snprintf(head, sizeof(head), "Allow: %s, OPTIONS\r\n", methods);
		http_respond(r, 204, "text/plain", head, "", 0);
		return;
	}
	if (!r->cors_origin) {
		oai_error(r, 403, "invalid_request_error", "origin_not_allowed", NULL, NULL,
			  "Cross-origin requests from %.200s are not allowed: list the origin in [server] cors_origins "
			  "(CORS_ORIGINS).", origin);
		return;
	}
	char sdk[512];
	sdk_headers(http_header(r, "Access-Control-Request-Headers"), sdk, sizeof(sdk));
	snprintf(head, sizeof(head),
		 "Access-Control-Allow-Methods: %s, OPTIONS\r\nAccess-Control-Allow-Headers: " CORS_ALLOW_HEADERS
		 "%s\r\nAccess-Control-Max-Age: %d\r\n",
		 methods, sdk, CORS_MAX_AGE_S);
	http_respond(r, 204, "text/plain", head, "", 0);
}
