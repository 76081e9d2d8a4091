/* upstream.h — one upstream HTTP request over a worker's connections. */
#ifndef LLMGATE_UPSTREAM_H
#define LLMGATE_UPSTREAM_H
#include <stddef.h>
#include <stdint.h>

/* Which deadline passed. CONNECT, FIRST_BYTE and IDLE are the upstream's
 * silence; HEAD, TOTAL and STREAM (the last three, in this order) are
 * limits the gateway puts on an answer that keeps coming too slowly or too
 * long (upstream_gateway_limit). */
enum upstream_timeout { UPSTREAM_TIMEOUT_NONE = 0, UPSTREAM_TIMEOUT_CONNECT,
			UPSTREAM_TIMEOUT_FIRST_BYTE, UPSTREAM_TIMEOUT_IDLE,
			UPSTREAM_TIMEOUT_HEAD,     /* head_timeout_ms */
			UPSTREAM_TIMEOUT_TOTAL,    /* total_timeout_ms */
			UPSTREAM_TIMEOUT_STREAM }; /* stream_max_ms */

enum upstream_error {
	UPSTREAM_OK = 0,
	UPSTREAM_ERR_URL,          /* the URL or a header line cannot be sent */
	UPSTREAM_ERR_RESOLVE,      /* the host name has no address */
	UPSTREAM_ERR_CONNECT,      /* no TCP connection */
	UPSTREAM_ERR_TLS,          /* handshake or certificate refused */
	UPSTREAM_ERR_SEND,
	UPSTREAM_ERR_RECV,
	UPSTREAM_ERR_PROTOCOL,     /* the answer is not HTTP/1.x as it should be */
	UPSTREAM_ERR_TIMEOUT,      /* see the timeout field */
	UPSTREAM_ERR_ABORTED,      /* a callback asked to stop */
	UPSTREAM_ERR_NOMEM,
	UPSTREAM_ERR_TOO_LARGE,    /* an event stream passed stream_max_bytes */
};

struct upstream_conns;

/* On an event loop's thread: how this thread waits for fd (POLLIN or
 * POLLOUT) until deadline (monotonic ms): 1 ready, 0 deadline, -1 error
 * (errno); and forget(fd), called before a descriptor it may have waited
 * for is closed (the loop may keep it watched between two waits, and its
 * number is soon another socket's). NULL (every worker thread): poll(2). */
void upstream_set_wait_hook(int (*wait)(int fd, short ev, int64_t deadline), void (*forget)(int fd));

struct upstream_call {
	/* in */
	struct upstream_conns *conns;  /* the worker's kept connections (NULL:
					* a connection for this call only) */
	const char *url;            /* http:// or https:// */
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
	/* Limits on an answer that keeps coming (0: none), each counted from
	 * the start of the call, so that an upstream sending a byte now and
	 * then cannot hold the call for ever: */
	long head_timeout_ms;       /* the whole response head is in by then */
	long total_timeout_ms;      /* an answer that is not an event stream
				     * is complete by then */
	long stream_max_ms;         /* an event stream (Content-Type
				     * text/event-stream) ends by then */
	uint64_t stream_max_bytes;  /* an event stream's body bytes handed to
				     * on_data, at most; the call ends there */
	/* Called once when the response head is complete (before any body).
	 * Return 0 to go on, non-zero to abort the transfer. */
	int (*on_head)(void *user, int status, const char *content_type, long retry_after_s);
	/* Called with body bytes as they arrive; non-zero aborts. */
	int (*on_data)(void *user, const char *p, size_t n);
	/* Called when an event stream's body has been silent for quiet_ms
	 * (and again every quiet_ms while it stays silent), between two reads,
	 * so the caller may keep its own client's connection alive; non-zero
	 * aborts. quiet_ms 0 or on_quiet NULL: never. */
	long quiet_ms;
	int (*on_quiet)(void *user);
	/* Offered between two reads of an answer that is flowing, and when
	 * the call has waited a while for its upstream (PARK_WAIT_MS: before
	 * its first byte, or between two), over a plain connection or a TLS
	 * one that may change threads (tls_movable); non-zero: the call now
	 * runs on an event loop's thread (the worker it began on has gone on
	 * to other requests), so it no longer uses the worker's kept
	 * connections (its receive buffer is the loop's, a connection it
	 * opens or ends with is its own and closed at the end). NULL: never. */
	int (*park)(void *user);
	void *user;
	/* out */
	int status;                 /* HTTP status, 0 if none came */
	enum upstream_error err;
	enum upstream_timeout timeout;
	int aborted;                /* a callback asked to stop */
	int event_stream;           /* the answer is text/event-stream */
	uint64_t body_bytes;        /* body bytes handed to on_data */
	long retry_after_s;         /* -1: none */
	char content_type[128];
	int64_t t_start_ms;
	int64_t t_first_byte_ms;    /* 0 if no byte came */
	int64_t t_end_ms;
	int64_t t_last_rx_ms;
	int64_t t_head_ms;          /* when the head was complete; 0 if not */
	int64_t t_quiet_ms;         /* when on_quiet was last called; 0 if never */
	char errmsg[256];           /* what failed; for a deadline, which one */
};

/* A worker's kept connections: up to a few idle HTTP/1.1 connections
 * (plain or TLS) to upstreams, reused by the next call to the same scheme,
 * host and port. One thread only. Free with upstream_conns_free. */
struct upstream_conns *upstream_conns(void);
void upstream_conns_free(struct upstream_conns *m);
/* Idle connections a worker keeps at most. */
#define UPSTREAM_MAX_IDLE 4
/* Run the call. Returns 0 when a complete response arrived (any status),
 * -1 on a transport failure, timeout or abort (see the out fields). */
int upstream_perform(struct upstream_call *c);
/* 1 when the call failed on a limit the gateway puts on a slow or long
 * answer (head_timeout_ms, total_timeout_ms, stream_max_ms,
 * stream_max_bytes): the upstream was answering, so the key is not to
 * blame; errmsg names the limit. 0 otherwise. */
int upstream_gateway_limit(const struct upstream_call *c);
/* The CA certificates TLS connections trust (the config's [upstream]
 * ca_file); read once, at the first TLS connection. NULL: $SSL_CERT_FILE
 * or the system's bundle. */
void upstream_set_ca_file(const char *path);
#endif
