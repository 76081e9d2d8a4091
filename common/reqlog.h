/* reqlog.h — the log line of a refused request: one that was answered
 * with an error before any usage record was written (bad JSON, unknown
 * route, wrong method, bad key, too large, over a limit, no usage store).
 * Requests that reached an upstream are logged with their usage record
 * (relay.c) instead. */
#ifndef LLMGATE_REQLOG_H
#define LLMGATE_REQLOG_H
#include "http.h"

/* When r was answered with a status >= 400 and no usage record was
 * written, log one info line: req_id, method, route, status, reason (the
 * error code sent, "-" for none). route names the route taken (NULL: none
 * matched; then the request path is logged, cut to 120 bytes, every run of
 * 16 or more letters, digits, '-' or '_' masked as "*" since a key could
 * be one, registered secrets scrubbed). Never a header, the query or the
 * body. Otherwise nothing. */
void reqlog_refusal(const struct http_req *r, const char *req_id, const char *route);

/* The masking reqlog_refusal applies to an unknown path: src into out
 * (outlen > 0), NUL-terminated; non-printable bytes become '?'. */
void reqlog_safe_path(const char *src, char *out, size_t outlen);
#endif
