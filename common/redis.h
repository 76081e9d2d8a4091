/* redis.h — the shared-state server of several gateways: its address, one
 * connection per thread, commands with deadlines, and whether it is up.
 *
 * REDIS_URL or [shared] redis names it: redis://[user:password@]host[:port][/db]
 * or unix:///path/to/socket[?db=N] (rediss:// is refused: Redis is reached
 * on a trusted network or a local socket). Without it nothing here runs and
 * every limit is kept by this machine alone (qshare.h).
 *
 * Each thread that asks opens its own connection on first use and keeps
 * it. A failure (refused, timed out, a protocol error) drops that
 * connection and marks the server down for everybody for REDIS_RETRY_MS:
 * callers then fall back at once instead of waiting on a dead server each
 * request. redis_up says whether the last attempt worked, for /health.
 *
 * Built without hiredis (configure found no libhiredis), redis_open
 * refuses a configured URL with a clear reason and the gateway runs on
 * local state. */
#ifndef LLMGATE_REDIS_H
#define LLMGATE_REDIS_H
#include <stddef.h>
#include <stdint.h>

#define REDIS_RETRY_MS 1000      /* after a failure, no new attempt for this long */
#define REDIS_URL_MAX 1024

struct redis_addr {
	char host[256];          /* "" with a socket path */
	int port;
	char path[256];          /* unix socket, or "" */
	int db;
	char user[128];
	char password[256];
};

/* Parse a URL as above into a (zeroed first). 0, or -1 with a reason (no
 * secret in it) in err. */
int redis_parse_url(const char *url, struct redis_addr *a, char *err, size_t errlen);

struct redis;

/* The server of url, with per-command and connect timeouts in ms. Nothing
 * is connected yet. NULL with err when the URL is wrong or this build has
 * no Redis client. The password is registered as a secret (log.h). */
struct redis *redis_open(const char *url, long timeout_ms, char *err, size_t errlen);
void redis_close(struct redis *r);

/* One reply, simplified: an integer, a string (bulk or status), an
 * array of them (one level of nesting kept as strings), nil, or an error. */
enum redis_type { RR_NIL, RR_INT, RR_STR, RR_ARRAY, RR_ERR };
struct redis_reply {
	enum redis_type type;
	long long i;
	char *s;                 /* RR_STR, RR_ERR: NUL-terminated */
	size_t len;
	struct redis_reply *v;   /* RR_ARRAY */
	size_t n;
};
void redis_reply_free(struct redis_reply *x);

/* Run one command (argv with lengths, no quoting) on this thread's
 * connection. 0 with *out filled (free it; an error reply is RR_ERR,
 * not a failure), or -1 when the server cannot be reached or answered
 * garbage (the server is then marked down; err says why, no secrets). */
int redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens, struct redis_reply *out,
	      char *err, size_t errlen);
/* redis_cmd of a command word and one key ("GET", "HGETALL"...). */
int redis_cmd_key(struct redis *r, const char *verb, const char *key, struct redis_reply *out, char *err,
		  size_t errlen);
/* Run a Lua script by its SHA-1 (loading it on NOSCRIPT): EVALSHA with
 * nkeys=0 and args (at most REDIS_SCRIPT_ARGS_MAX). As redis_cmd. */
#define REDIS_SCRIPT_ARGS_MAX 1024
int redis_script(struct redis *r, const char *script, int nargs, const char **args, struct redis_reply *out,
		 char *err, size_t errlen);

/* 1 when the last attempt worked (or none was made yet), 0 when the
 * server is marked down. */
int redis_up(struct redis *r);
/* The key prefix every shared key starts with ("llmgate:"). */
const char *redis_prefix(const struct redis *r);
/* Drop this thread's connection (a worker that ends). */
void redis_thread_end(struct redis *r);
#endif
