/* config.h — settings: the INI file, the environment, built-in defaults. */
#ifndef LLMGATE_CONFIG_H
#define LLMGATE_CONFIG_H
#include <stddef.h>

struct secrets;

#define CONFIG_MAX_PROVIDERS 64
#define CONFIG_NAME_MAX 64

enum dialect {
	DIALECT_OPENAI = 0,   /* OpenAI chat completions, Bearer key */
	DIALECT_ANTHROPIC,    /* Anthropic Messages, x-api-key */
	DIALECT_GEMINI,       /* Gemini generateContent, x-goog-api-key */
};

struct provider_conf {
	char *name;            /* "deepseek"; [a-z0-9_-] */
	char *base_url;        /* no trailing slash */
	char **keys;           /* upstream key pool (secrets) */
	char **key_ids;        /* parallel to keys: the state.db id, or NULL
				* for keys from the file or environment */
	size_t nkeys;
	int disabled;          /* taken out of routing (settings) */
	int no_auth;           /* keys = none: send no Authorization */
	char **models;         /* exact model names routed here */
	size_t nmodels;
	char **prefixes;       /* model name prefixes routed here */
	size_t nprefixes;
	enum dialect dialect;
	int builtin;
	int responses_native;  /* responses = native: POST /v1/responses goes to the
				* upstream's own /responses as sent (default: the
				* built-in openai provider only); 0: translated */
};

struct target {
	char *provider;        /* NULL: resolve model by the routing rules */
	char *model;
};

struct alias_conf {
	char *name;            /* public model name */
	struct target to;
};

struct fallback_conf {
	char *model;           /* requested (public) or upstream model name */
	struct target *chain;
	size_t n;
};

struct price_conf {
	char *model;           /* requested or upstream model name */
	double input;          /* per million prompt tokens (not cached) */
	double cached_input;   /* per million cached prompt tokens */
	double output;         /* per million completion tokens */
};

struct app_conf;   /* app.h */

struct config {
	char *path;            /* file read, or NULL */
	/* [server] */
	int threads;
	int hot_threads;   /* of those, taking new requests at once (admit.h); 0: two per core */
	char *streams;         /* "threads" or "events": where open streams are held (fcgi/evloop.h) */
	int max_streams;       /* streams one process holds open at once, more get 503 (streamcap.h); 0: no cap */
	int body_timeout_ms;   /* a request body must be in by then (http_watch_init); 0: no limit */
	long stream_ping_s;    /* a stream to a client whose upstream is this long silent gets an SSE
				* comment, and again as often (proxies' idle timeouts); 0: never */
	size_t max_body;
	size_t max_response;
	char *state_dir;
	char *mount;
	int log_level;
	char *log_target;      /* "stderr" or "syslog" (log.h) */
	char *log_facility;    /* syslog facility: daemon, user, local0 ... local7 */
	char *syslog_socket;   /* where syslog listens, "/dev/log" */
	char *cors_origins;    /* CORS_ORIGINS: comma-separated origins, "*", or "" (none) */
	char *secrets_file;    /* LLMGATE_SECRETS_FILE: NAME="value" lines (secrets.h), or "" */
	/* [metrics] */
	char *metrics_token;   /* METRICS_TOKEN: a bearer token for /metrics from elsewhere, or "" */
	char *metrics_allow;   /* addresses or CIDR ranges that may read /metrics without it */
	struct secrets *secrets;  /* the secrets file's values (secrets.h), or NULL */
	/* [upstream] */
	long connect_timeout_ms;
	long first_byte_timeout_ms;
	long idle_timeout_ms;
	/* limits on an answer that keeps coming, from the request's start
	 * (upstream.h); 0: none */
	long head_timeout_ms;      /* the whole response head */
	long total_timeout_ms;     /* a whole answer that is not a stream */
	long stream_max_s;         /* a stream's duration */
	size_t stream_max_bytes;   /* a stream's size */
	char *ca_file;            /* CA certificates for https upstreams, or NULL */
	int max_attempts;
	int cooldown_s;
	int cooldown_long_after;
	int cooldown_long_s;
	/* [quota] */
	long default_max_tokens;  /* output reserved for a request that sets no limit of its own */
	/* [auth] + AUTH_KEY */
	char **auth_keys;
	size_t nauth_keys;
	char **public_models;      /* state.db public_models: GET /v1/models lists these first */
	size_t npublic_models;
	struct provider_conf *providers;
	size_t nproviders;
	struct alias_conf *aliases;
	size_t naliases;
	struct fallback_conf *fallbacks;
	size_t nfallbacks;
	/* [prices]: built-in defaults, then the file */
	char *currency;
	struct price_conf *prices;
	size_t nprices;
	/* [cache] */
	int cache_enabled;
	long cache_ttl_s;
	long responses_ttl_days;   /* [responses] ttl_days: stored responses kept this long */
	size_t cache_max_bytes;
	int cache_per_key;
	/* [rag] knowledge bases (kb_*.c) */
	char *rag_model;           /* the embedding model ("" : none); RAG_MODEL */
	int rag_chunk_size;        /* characters per chunk */
	int rag_chunk_overlap;     /* characters repeated from the chunk before */
	int rag_top_k;             /* chunks added to a chat */
	int rag_min_score;         /* per cent: cosine similarity a chunk needs */
	char *rag_stores;          /* stores chats search ("vs_a,vs_b"; "" : none) */
	char *rag_models;          /* ... chats to these public models ... */
	char *rag_keys;            /* ... or by these gateway keys (ids or names; both "" : every chat) */
	size_t rag_max_file_bytes; /* an uploaded file's size limit */
	/* [conversations] (convo.h) */
	int conv_max_per_key;      /* conversations kept per gateway key; 0: conversations off */
	long conv_retention_days;  /* a conversation unused this long is dropped */
	long conv_history_chars;   /* history added to a request, in characters of text */
	/* [drawing] (draw.h) */
	int drawing_enabled;
	char *drawing_model;       /* "" : none */
	/* settings from state.db */
	char *system_prompt;   /* added to chats without one; NULL: off */
	/* [settle] (BACKEND_URL, INTERNAL_SECRET) */
	char *settle_backend_url;
	char *settle_backend_path;
	char *settle_secret;
	char *settle_database;     /* [settle] database, DATABASE_URL: libpq connection string */
	/* [shared] (REDIS_URL): the fleet's shared state, redis.h */
	char *shared_redis;
	long shared_timeout_ms;    /* per Redis command */
	long shared_lease_s;       /* a reservation of a node that died lasts this long */
	int shared_fail_closed;    /* Redis away: refuse keys with limits (else keep them locally) */
	int settle_batch;
	int settle_retries;
	int settle_archive;        /* keep settled segments in spool/archive/ */
	long long spool_max_bytes;  /* unsettled spool (.open + .ready) at which requests are refused */
	int spool_warn_percent;     /* of spool_max_bytes: /health degraded from here */
	/* [mcp] (api_mcp.c) */
	int mcp_enabled;
	long mcp_session_idle_s;    /* a session unused this long ends */
	long mcp_sse_idle_s;        /* a /sse stream with no message this long ends */
	int mcp_sse_per_key;        /* /sse streams open at once per key (each holds a worker thread) */
	int mcp_sse_max;            /* in all; 0: a quarter of [server] threads (at least 1); never all threads */
	/* [app.NAME] sections and the pip-aide environment (app.h) */
	struct app_conf *apps;
	size_t napps;
};

/* Apply the run-time settings and upstream keys of state.db (see
 * docs/state.md) over a loaded config. A missing state.db is fine (0).
 * Returns -1 with err when state.db is locked or unreadable (the caller
 * keeps what it had), 0 otherwise; invalid entries are skipped and logged. */
int config_apply_state(struct config *c, char *err, size_t errlen);
/* Apply a settings document (settings_check_state accepted it) over c, as
 * config_apply_state does with the one in state.db. */
struct cJSON;
void config_apply_settings(struct config *c, const struct cJSON *s);

/* The price of a model (by upstream name first, then requested), or NULL. */
const struct price_conf *config_price(const struct config *c, const char *upstream_model,
				      const char *requested_model);

/* Load settings: built-in defaults, then the INI file at path (NULL: the
 * LLMGATE_CONFIG variable, else the default under sysconfdir; a missing
 * default file is fine), then the environment. On error returns -1 and
 * writes a one-line reason (no secrets) to err. The config owns all its
 * strings; free with config_free (on failure it holds nothing, and
 * config_free is harmless). Registers every secret with the log. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
void config_free(struct config *c);
/* An environment variable the config reads (PROVIDER_API_KEY, AUTH_KEY,
 * BACKEND_URL, API_KEY, ...): the process environment's value, else the
 * secrets file's (secrets.h), else NULL. */
const char *config_env(const struct config *c, const char *name);
/* Send this program's log lines where c says ([server] log = syslog:
 * log_facility, syslog_socket; stderr: nothing to do). Call after
 * log_init. 0, or -1 with err (syslog cannot be reached now; it is tried
 * again for each line, which meanwhile go to stderr). */
int config_apply_log(const struct config *c, char *err, size_t errlen);

/* Default paths (from configure's sysconfdir/localstatedir). */
const char *config_default_path(void);
const char *config_default_state_dir(void);

/* Look up a provider by name ("google-ai-studio" names gemini); NULL if none. */
struct provider_conf *config_provider(const struct config *c, const char *name);
/* Add a provider (name new, base_url a checked URL, keys as the keys
 * setting takes them: registered as secrets); the new entry. */
struct provider_conf *config_add_provider(struct config *c, const char *name, const char *base_url, const char *keys);
/* Environment variable prefix for a provider: "my-host" -> "MY_HOST". */
void config_env_prefix(const char *name, char *out, size_t outlen);
#endif
