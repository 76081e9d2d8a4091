/* admin.h — the admin API behind www/: setup, login, settings, keys, upstream keys, usage.
 *
 * llmgate-admin answers JSON under a prefix the web server mounts
 * (ADMIN_API_MOUNT by default) and routes on the part after it; see
 * docs/admin.md for every call. It writes state.db (docs/state.md) with one
 * short writer open per change and only reads ledger.db and the spool. */
#ifndef LLMGATE_ADMIN_H
#define LLMGATE_ADMIN_H
#include "buf.h"
#include "config.h"
#include "http.h"
#include "ledger.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_API_MOUNT "/admin/api/"
#define ADMIN_BODY_MAX (256u << 10)       /* request bodies: larger is 413 */
#define ADMIN_SESSION_COOKIE "llmgate_session"
#define ADMIN_SESSION_TTL_S 43200         /* 12 hours */
#define ADMIN_SESSIONS_MAX 64             /* oldest sessions beyond this are dropped */
#define ADMIN_TOKEN_BYTES 32              /* session id and CSRF token: random bytes */
#define ADMIN_TOKEN_HEX (2 * ADMIN_TOKEN_BYTES + 1)
#define ADMIN_PASSWORD_MIN 10             /* characters (UTF-8 code points) */
#define ADMIN_THROTTLE_FAILURES 5         /* failed logins before a lock */
#define ADMIN_THROTTLE_WINDOW_S 900       /* failures are forgotten after this */
#define ADMIN_THROTTLE_BASE_S 60          /* first lock; doubles with each further failure */
#define ADMIN_THROTTLE_MAX_S 3600         /* longest lock */
#define ADMIN_THROTTLE_GLOBAL_FAILURES 20 /* from all addresses within the window: the ceiling is on */
#define ADMIN_THROTTLE_ADDRS_MAX 1024     /* address records kept; the most recent */
#define ADMIN_ADDR_MAX 48                 /* admin_client_addr's answer, with its NUL */
#define ADMIN_USAGE_DAYS_DEFAULT 30
#define ADMIN_USAGE_DAYS_MAX 366
#define ADMIN_STORE_WAIT_MS 3000          /* how long to wait for state.db's lock */
#define ADMIN_ID_MAX 64                   /* an id in a path (keys/<id>) */

struct admin {
	struct config cfg;   /* the file and the environment, as at start */
	char *config_path;   /* file to re-read per request (NULL: the default) */
	char *state_path;    /* state_dir/state.db */
	char *ledger_path;   /* state_dir/ledger.db */
	char *fleet_path;    /* state_dir/fleet.db with [settle] database, else NULL */
	char *spool_dir;     /* state_dir/spool */
	char *run_dir;       /* state_dir/run (routers' pools-<pid>.json) */
};

/* Load the configuration (config_path NULL: LLMGATE_CONFIG or the
 * default). 0, or -1 with a one-line reason in err. Free with admin_free. */
int admin_init(struct admin *a, const char *config_path, char *err, size_t errlen);
void admin_free(struct admin *a);
/* Answer one request completely (status, headers, JSON body). Safe to call
 * from several threads at once with the same admin. */
void admin_handle(struct admin *a, struct http_req *r);

/* ------------------------------------------------------------------
 * Pieces without I/O, exposed for the unit tests. */

/* The API path of a request: the part after ADMIN_API_MOUNT in path, else
 * PATH_INFO without its leading '/' (a CGI server that maps a script name).
 * Returns a pointer into path or path_info, or NULL when neither applies. */
const char *admin_api_path(const char *path, const char *path_info);

/* Check a settings document against docs/state.md: types, ranges, http(s)
 * URLs, provider names [a-z0-9._-], lengths; unknown members are refused.
 * The rules are the settings schema's (settings_check_state), which the
 * config file is read with too. 0, or -1 with a message naming the member
 * in err. */
int admin_settings_validate(const cJSON *doc, char *err, size_t errlen);

/* Check a gateway key's limits object (rpm, tpm, tokens, tokens_month,
 * cost, cost_month, models) the way auth_key_update takes it. 0 or -1. */
int admin_limits_validate(const cJSON *limits, char *err, size_t errlen);

/* The login throttle, as stored in admin:throttle. While failures is below
 * ADMIN_THROTTLE_FAILURES, until is when they are forgotten; from then on it
 * is the end of the lock. */
struct admin_throttle {
	long failures;
	int64_t until;       /* unix seconds */
};
/* Seconds a login must still wait at now (0: allowed). */
long admin_throttle_wait(const struct admin_throttle *t, int64_t now);
/* Count one failed login at now: forget old failures, then lock for
 * ADMIN_THROTTLE_BASE_S doubled per failure past the limit (capped). */
void admin_throttle_fail(struct admin_throttle *t, int64_t now);

/* The login throttle's records: one per client address
 * (admin:throttle:<addr>, the schedule above) and one for all of them
 * (admin:throttle: failures, and until = the last failure + the window).
 * The global record only counts; admin_login_wait decides. */
/* Count one failed login from any address at now in the global record:
 * failures older than ADMIN_THROTTLE_WINDOW_S before it are forgotten. */
void admin_throttle_global_fail(struct admin_throttle *g, int64_t now);
/* Seconds a login from an address must wait at now (0: it may try), given
 * its record a and the global record g. Its own lock first; then, while
 * the global ceiling is on (ADMIN_THROTTLE_GLOBAL_FAILURES failures within
 * the window), an address that failed recently waits for the ceiling to
 * go off. An address without recent failures may always try: a guesser
 * with many addresses cannot lock the administrator out. */
long admin_login_wait(const struct admin_throttle *a, const struct admin_throttle *g, int64_t now);
/* The throttle's name for a client address (REMOTE_ADDR) in out (at least
 * ADMIN_ADDR_MAX): an IPv4 address as it is, the IPv4 of a v4-mapped IPv6
 * address, an IPv6 address's /64 ("2001:db8:1:2::/64", as one host gets
 * a whole /64), "unknown" for anything else (NULL, empty, not an address). */
void admin_client_addr(const char *remote_addr, char *out, size_t outlen);

/* Copy the value of cookie name from a Cookie header into out. 1 if found
 * and it fits, else 0 (out is then ""). */
int admin_cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* Append s to b as one CSV field: quoted when it holds a comma, quote or
 * line break; a leading = + - @ or tab is neutralised with a quote mark so
 * that spreadsheets do not run it. -1 if b is full. */
int admin_csv_field(struct buf *b, const char *s);

/* Usage totals per UTC day x gateway key x model, and per key, gathered from
 * ledger.db values and unsettled spool records. */
struct admin_usage;

/* A new table for the days from from_day to to_day ("YYYY-MM-DD"; rows
 * outside are not kept; "" = no bound); month ("YYYY-MM") is the month whose
 * per-key totals are kept. Never NULL; free with admin_usage_free. */
struct admin_usage *admin_usage_new(const char *from_day, const char *to_day, const char *month);
void admin_usage_free(struct admin_usage *u);
/* A settled value: "day:<key>|<model>|<day>" adds a row, "key:<key>" the
 * key's all-time total, "month:<key>|<month>" its month total; other keys
 * are ignored. */
void admin_usage_add_ledger(struct admin_usage *u, const char *ledger_key, const struct ledger_totals *t);
/* An unsettled spool record (one JSON line). 0, or -1 if it is not a JSON
 * object (nothing added). */
int admin_usage_add_record(struct admin_usage *u, const char *line, size_t len);
/* Name a key (later names replace earlier ones). */
void admin_usage_set_name(struct admin_usage *u, const char *key_id, const char *name);
/* Per-key figures: 1 and filled when anything is known of key_id, else 0
 * (outputs zeroed). total and month are settled + unsettled; last_ms is the
 * newest unsettled record (0: none), last_day the newest ledger day ("" if
 * none; holds LEDGER_DAY_LEN). */
int admin_usage_key(const struct admin_usage *u, const char *key_id, struct ledger_totals *total,
		    struct ledger_totals *month, int64_t *last_ms, char *last_day);
/* Unsettled records added so far. */
long admin_usage_records(const struct admin_usage *u);
/* The table as JSON: {"from","to","totals","by_day" (every day of the
 * range, zeros included),"by_model","by_key","rows"}. A new object
 * (cJSON_Delete). */
cJSON *admin_usage_json(const struct admin_usage *u);
/* The rows as CSV (one per day x key x model, sorted, with a header line).
 * A new string (free()). */
char *admin_usage_csv(const struct admin_usage *u);
/* The totals' fields as a new JSON object (cost as a number). */
cJSON *admin_totals_json(const struct ledger_totals *t);
#endif
