/* cors.h — cross-origin requests from browsers: which origins may call the
 * gateway ([server] cors_origins, CORS_ORIGINS: comma-separated origins, or
 * "*" for any; none by default), the headers an answer to such an origin
 * carries (http.c adds them to every answer, errors included, when the
 * request's cors_origin is set) and the preflight (OPTIONS) answer. */
#ifndef LLMGATE_CORS_H
#define LLMGATE_CORS_H
#include "http.h"

/* Request headers a preflight may ask for: the API keys' headers, those
 * of the providers' APIs and of MCP's Streamable HTTP transport. */
#define CORS_ALLOW_HEADERS \
	"Authorization, Content-Type, x-api-key, x-goog-api-key, anthropic-version, anthropic-beta, " \
	"anthropic-dangerous-direct-browser-access, openai-beta, openai-organization, openai-project, " \
	"Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
/* Answer headers a page may read. */
#define CORS_EXPOSE_HEADERS "X-Request-Id, Retry-After, X-Llmgate-Cache, Age, Mcp-Session-Id"
#define CORS_MAX_AGE_S 600

/* The value of Access-Control-Allow-Origin for a request from origin:
 * origin itself when origins lists it (scheme and host compared without
 * regard to case; a listed entry's trailing '/' ignored), "*" when origins
 * holds "*", NULL when it is not allowed (or origin is NULL, empty, or
 * holds a space or control character). */
const char *cors_allowed(const char *origins, const char *origin);

/* Answer a preflight (OPTIONS with Origin and Access-Control-Request-
 * Method) for a route that takes methods (", "-separated, without
 * OPTIONS): 204 with the CORS headers when r->cors_origin is set, else a
 * 403 JSON error naming the setting. A plain OPTIONS (no Origin) gets 204
 * with Allow. */
void cors_preflight(struct http_req *r, const char *methods);
#endif
