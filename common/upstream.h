/* upstream.h — one upstream HTTP request over a worker's connection cache. */
#ifndef LLMGATE_UPSTREAM_H
#define LLMGATE_UPSTREAM_H
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

enum upstream_timeout { UPSTREAM_TIMEOUT_NONE = 0, UPSTREAM_TIMEOUT_CONNECT,
			UPSTREAM_TIMEOUT_FIRST_BYTE, UPSTREAM_TIMEOUT_IDLE };

struct upstream_call {
	/* in */
	CURLM *conns;               /* the worker's connection cache (NULL:
				     * a connection for this call only) */
	const char *url;
	const char *method;         /* NULL: POST with body; "GET", "DELETE"... */
	const char *auth_header;    /* whole header line with the upstream key
				     * ("Authorization: Bearer K"), or NULL */
	const char *const *extra_headers;  /* more header lines, NULL-terminated, or NULL */
	const char *body;
	size_t body_len;
	const char *accept;         /* Accept header value */
	int no_content_type;        /* extra_headers carry Content-Type */
	const char *request_id;     /* sent as X-Request-Id, or NULL */
	long connect_timeout_ms;
	long first_byte_timeout_ms;
	long idle_timeout_ms;
	/* Called once when the response head is complete (before any body).
	 * Return 0 to go on, non-zero to abort the transfer. */
	int (*on_head)(void *user, int status, const char *content_type, long retry_after_s);
	/* Called with body bytes as they arrive; non-zero aborts. */
	int (*on_data)(void *user, const char *p, size_t n);
	void *user;
	/* out */
	CURL *easy;                 /* the call's handle while it runs */
	int status;                 /* HTTP status, 0 if none came */
	CURLcode rc;
	enum upstream_timeout timeout;
	int aborted;                /* a callback asked to stop */
	long retry_after_s;         /* -1: none */
	char content_type[128];
	int64_t t_start_ms;
	int64_t t_first_byte_ms;    /* 0 if no byte came */
	int64_t t_end_ms;
	int64_t t_last_rx_ms;
	char errmsg[CURL_ERROR_SIZE];
};

/* A worker's connection cache: a libcurl multi handle, in which upstream
 * connections (and resolved names) stay from one call to the next. Each
 * call runs a fresh easy handle on it (libcurl 7.88 can use freed memory
 * when a reused handle met a folded header line). One thread only. Free
 * with upstream_conns_free. */
CURLM *upstream_conns(void);
void upstream_conns_free(CURLM *m);
/* Run the call. Returns 0 when a complete response arrived (any status),
 * -1 on a transport failure, timeout or abort (see the out fields). */
int upstream_perform(struct upstream_call *c);
/* Parse a Retry-After value (seconds or an HTTP date); -1 if invalid. */
long upstream_parse_retry_after(const char *v);
#endif
