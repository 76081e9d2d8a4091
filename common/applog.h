/* applog.h — the prompt apps' call log: one file per app,
 * state_dir/apps/<name>.log, one JSON object a line, each under the key
 * "<client id>:<ISO time>" (the pip-aide deployment's machine_id:timestamp).
 * Appends are whole lines under an exclusive lock (several router
 * processes may write); retention and the size cap are enforced by
 * applog_trim on the housekeeping tick; the admin reads with
 * applog_query. What is stored is scrubbed of secrets first (log_scrub). */
#ifndef LLMGATE_APPLOG_H
#define LLMGATE_APPLOG_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define APPLOG_PAGE_MAX 200

/* One call, as logged. */
struct applog_entry {
	const char *client;      /* the client id (the app's client_field), or the address */
	const char *request_id;
	const char *address;     /* the caller's address, or NULL */
	const char *key_id;      /* the gateway key or app identity charged */
	const cJSON *input;      /* the request's fields */
	const char *answer;      /* what the client got (text or JSON text), or NULL */
	const char *error;       /* or the error it got */
	int status;
	int64_t ts_ms;
};

/* Append e to app's log: 0, or -1 (logged; the call's answer stands). */
int applog_append(const char *state_dir, const char *app, const struct applog_entry *e);
/* Drop entries older than days (0: all) and then the oldest until the file
 * is at most max_bytes; nothing is rewritten when nothing is dropped. 0,
 * or -1 (logged). */
int applog_trim(const char *state_dir, const char *app, long days, long long max_bytes, int64_t now_ms);
/* Entries of app's log, newest first: those whose client is client (NULL:
 * any) and whose line contains q (NULL: any), from the offset-th match,
 * at most limit. {"entries":[...], "total":N, "next_offset":N|null}; a
 * missing log is empty. NULL with err when it cannot be read. */
cJSON *applog_query(const char *state_dir, const char *app, const char *client, const char *q, long offset,
		    long limit, char *err, size_t errlen);
/* The log's size in bytes (0 when there is none). */
long long applog_size(const char *state_dir, const char *app);
#endif
