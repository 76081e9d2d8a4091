/* metrics.h — the counters behind GET /metrics, shared by every router
 * process of a state folder (FastCGI processes, CGI processes, threads).
 *
 * They live in $STATE_DIR/run/metrics.shm (shmfile.h), beside the quota's
 * quota.shm: one table of request series (route, provider, model, status:
 * requests, tokens in and out, cache hits, latency and time-to-first-byte
 * histograms), one of upstream failures (provider, kind) and one of key
 * pool states as each process last published them. Every change happens
 * under the file's lock, so any process's scrape sees the sum of all.
 * Counters only grow while the file lives (a new layout or a removed file
 * starts them from zero, which Prometheus reads as a counter reset).
 *
 * A request is observed once, at its end, by the router (gateway.c):
 * metrics_request_begin() when it starts, the response tap (filter.h) adds
 * what the relay knew (provider, model, tokens, first byte, cache hit), and
 * metrics_request_end() writes the series. Per thread: one request at a
 * time. */
#ifndef LLMGATE_METRICS_H
#define LLMGATE_METRICS_H
#include "buf.h"
#include <stddef.h>
#include <stdint.h>

#define METRICS_ROUTE_MAX 48
#define METRICS_PROVIDER_MAX 64
#define METRICS_MODEL_MAX 128      /* longer model names are cut */
#define METRICS_KIND_MAX 24
#define METRICS_KEY_MAX 64
#define METRICS_BUCKETS 12          /* finite histogram buckets; +Inf is one more */
#define METRICS_SERIES 1024
#define METRICS_FAILS 256
#define METRICS_KEYS 1024
#define METRICS_KEYS_FRESH_MS 10000
#define METRICS_TEXT_CAP (32u << 20) /* the exposition of full tables fits */ /* a published key state older than this is stale */

/* The bucket bounds, in seconds (ascending). */
extern const double metrics_bucket_s[METRICS_BUCKETS];

struct metrics_series {
	uint32_t used;
	int32_t status;
	char route[METRICS_ROUTE_MAX];
	char provider[METRICS_PROVIDER_MAX];
	char model[METRICS_MODEL_MAX];
	uint64_t requests, tokens_in, tokens_out, cache_hits;
	uint64_t lat[METRICS_BUCKETS + 1];   /* per bucket, not cumulative; last: +Inf */
	uint64_t lat_sum_ms;
	uint64_t ttfb[METRICS_BUCKETS + 1];
	uint64_t ttfb_sum_ms;
};

struct metrics_fail {
	uint32_t used;
	char provider[METRICS_PROVIDER_MAX];
	char kind[METRICS_KIND_MAX];
	uint64_t count;
};

enum metrics_key_state { METRICS_KEY_ACTIVE = 0, METRICS_KEY_COOLING, METRICS_KEY_BLOCKED, METRICS_KEY_STATES };

struct metrics_key {
	int32_t pid;                /* 0: free */
	int32_t state;              /* enum metrics_key_state */
	int64_t written_ms;
	char provider[METRICS_PROVIDER_MAX];
	char key[METRICS_KEY_MAX];  /* the pool's key id, never the key */
};

/* What a scrape reads: copies, taken under the lock. */
struct metrics_snapshot {
	struct metrics_series *series;
	size_t nseries;
	struct metrics_fail *fails;
	size_t nfails;
	uint64_t dropped;           /* observations that found no room */
	/* key states merged over live processes: per provider, keys in each
	 * state (a key cooling or blocked in any process counts so) */
	struct metrics_pool {
		char provider[METRICS_PROVIDER_MAX];
		unsigned n[METRICS_KEY_STATES];
	} *pools;
	size_t npools;
};

/* Map the shared counters of state_dir (made when missing) and register
 * the response tap; 0, or -1 with err (metrics are then off in this
 * process: nothing counted, metrics_snapshot fails). Once per process;
 * later calls return the first call's result. */
int metrics_open(const char *state_dir, char *err, size_t errlen);

/* A request starts on this thread: forget the previous one's details. */
void metrics_request_begin(void);
/* What the relay knew of this thread's request (the tap calls this; a
 * request relayed more than once adds its tokens, keeps the last names). */
void metrics_request_relayed(const char *provider, const char *model, long tokens_in, long tokens_out,
			     long ttfb_ms, int cache_hit);
/* This thread's request ended with status after total_ms: one observation
 * of its series (route, and what metrics_request_relayed said). */
void metrics_request_end(const char *route, int status, long total_ms);
/* An upstream attempt failed: kind is "timeout", "deadline", "transfer",
 * "rate_limited", "auth", "server_error" or "invalid_answer". */
void metrics_upstream_failure(const char *provider, const char *kind);

/* Replace this process's published key states: n keys (provider, key id,
 * state) as of now_ms. */
struct metrics_key_in {
	const char *provider, *key;
	enum metrics_key_state state;
};
void metrics_publish_keys(const struct metrics_key_in *keys, size_t n, int64_t now_ms);

/* Copy the counters and merge the key states (live processes, fresh within
 * METRICS_KEYS_FRESH_MS of now_ms). 0, or -1 when metrics are off. */
int metrics_snapshot(struct metrics_snapshot *s, int64_t now_ms);
void metrics_snapshot_free(struct metrics_snapshot *s);

/* The Prometheus text exposition (version 0.0.4) of s, appended to out
 * (metrics_text.c); the gauges the caller gathered come with it. */
struct metrics_gauges {
	const char *version;
	double start_time_s;
	long long spool_backlog_bytes;
	int settle_known;               /* the settle figures below were read */
	long settle_backlog_records;
	double settle_last_success_s;   /* 0: never */
	double settle_last_run_s;
	double settle_oldest_unsettled_s;  /* 0: none */
};
void metrics_text(struct buf *out, const struct metrics_snapshot *s, const struct metrics_gauges *g);
/* Append v as a label value (backslash, double quote and newline escaped). */
void metrics_text_label(struct buf *out, const char *v);
#endif
