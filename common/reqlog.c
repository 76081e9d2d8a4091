/* reqlog.c — the log line of a refused request (see reqlog.h). */
#include "autoconf.h"
#include "reqlog.h"
#include "log.h"
#include <stdio.h>
#include <string.h>

#define PATH_LOG_MAX 120
#define TOKEN_RUN_MAX 16   /* a run this long could be a key: masked */

static int token_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
	       ch == '_';
}

void reqlog_safe_path(const char *src, char *out, size_t outlen)
{
	size_t o = 0, cap = outlen - 1 < PATH_LOG_MAX ? outlen - 1 : PATH_LOG_MAX;
	const unsigned char *p = (const unsigned char *)src;
	while (*p && o < cap) {
		size_t run = 0;
		while (token_char(p[run]))
			run++;
		if (run >= TOKEN_RUN_MAX) {
			out[o++] = '*';
			p += run;
			continue;
		}
		if (!run) {
			out[o++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
			p++;
			continue;
		}
		for (size_t k = 0; k < run && o < cap; k++)
			out[o++] = (char)p[k];
		p += run;
	}
	out[o] = '\0';
}

/* A short printable copy of a client's word (the method). */
static void safe_word(const char *src, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && o + 1 < outlen; p++)
		out[o++] = *p > 0x20 && *p < 0x7f ? (char)*p : '?';
	out[o] = '\0';
}

void reqlog_refusal(const struct http_req *r, const char *req_id, const char *route)
{
	if (r->status < 400 || r->recorded)
		return;
	/* no space for usage records: the condition is logged once when it
	 * starts and once when it ends (health.c), not once a request, on a
	 * disk that is full already */
	if (!strcmp(r->reason, "usage_store_unavailable"))
		return;
	char method[17], path[PATH_LOG_MAX + 1];
	safe_word(r->method, method, sizeof(method));
	if (route)
		snprintf(path, sizeof(path), "%s", route);
	else
		reqlog_safe_path(r->path, path, sizeof(path));
	log_scrub(path);
	log_info("%s refused %s %s status=%d reason=%s", req_id, method[0] ? method : "-", path, r->status,
		 r->reason[0] ? r->reason : "-");
}
