/* ledger.h — settled usage totals in ledger.db: key names, values, folding records.
 *
 * ledger.db (GDBM) maps a key to a JSON value of totals:
 *   day:<key_id>|<model>|<YYYY-MM-DD>   per gateway key, model and UTC day
 *   month:<key_id>|<YYYY-MM>            per gateway key and UTC month
 *   key:<key_id>                        per gateway key, all time
 *   model:<model>|<YYYY-MM-DD>          per model and UTC day
 *   meta:...                            settle's own bookkeeping (not totals)
 * Each totals value is one JSON object:
 *   {"requests":n,"prompt":n,"completion":n,"cached":n,"reasoning":n,
 *    "cost":x,"errors":n,"cache_hits":n,"estimated":n,"seq":n}
 * "cost" is written as a plain decimal with 12 fractional digits; sums are
 * kept as integers of 1e-12 currency units, so they are exact and do not
 * depend on the order of the records. "errors" counts records with status
 * >= 400, "estimated" those whose usage the upstream did not report, "seq"
 * is the settle commit that last changed the value.
 *
 * Only llmgate-settle writes ledger.db, and it never writes it in place: it
 * builds the next version in a copy and renames it over the old one (see
 * settle.h). Readers open it with store_open(path, 0, ...) for a moment;
 * they never have to wait for settle. */
#ifndef LLMGATE_LEDGER_H
#define LLMGATE_LEDGER_H
#include <gdbm.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_FILE "ledger.db"
#define LEDGER_KEY_MAX 600            /* longest ledger key, with the NUL */
#define LEDGER_DAY_LEN 11             /* "YYYY-MM-DD" and the NUL */
#define LEDGER_MONTH_LEN 8            /* "YYYY-MM" and the NUL */
#define LEDGER_COST_SCALE 1000000000000LL  /* cost units per currency unit */
#define LEDGER_META_LAST "meta:last"  /* settle's last commit */

struct ledger_totals {
	long long requests;
	long long prompt;
	long long completion;
	long long cached;
	long long reasoning;
	double cost;           /* cost_units / LEDGER_COST_SCALE, for display */
	long long cost_units;  /* the exact sum, in 1e-12 currency units */
	long long errors;      /* records with status >= 400 */
	long long cache_hits;  /* records answered from the gateway's cache */
	long long estimated;   /* records without upstream-reported usage */
	long long seq;         /* settle commit that last changed the value */
};

/* "YYYY-MM-DD" / "YYYY-MM" of a time in ms since the epoch (UTC; negative
 * times count as 0). */
void ledger_day(int64_t ts_ms, char out[LEDGER_DAY_LEN]);
void ledger_month(int64_t ts_ms, char out[LEDGER_MONTH_LEN]);

/* Format a key name into out (outlen bytes). Return 0, or -1 if it does not
 * fit (out is then ""). day/month are strings from ledger_day/ledger_month. */
int ledger_key_day(char *out, size_t outlen, const char *key_id, const char *model, const char *day);
int ledger_key_month(char *out, size_t outlen, const char *key_id, const char *month);
int ledger_key_key(char *out, size_t outlen, const char *key_id);
int ledger_key_model(char *out, size_t outlen, const char *model, const char *day);

/* Path of ledger.db in state_dir; a new string (free()). */
char *ledger_path(const char *state_dir);

/* Parse a totals value (len bytes, need not be NUL-terminated). Returns 0,
 * or -1 if it is not a JSON object (out is then zeroed). Missing fields
 * are 0. */
int ledger_parse(const char *json, size_t len, struct ledger_totals *out);
/* The JSON value of t (cost taken from t->cost_units); a new string
 * (free()). */
char *ledger_format(const struct ledger_totals *t);

/* Read the totals of key. Returns 1 if found, 0 if absent (a healthy file
 * without the key), -1 if the value is malformed or could not be read (a
 * damaged file: never to be taken for 0); out is zeroed unless 1 is
 * returned. db is any open
 * ledger.db (reader or writer); nothing is kept after the call. */
int ledger_get(GDBM_FILE db, const char *key, struct ledger_totals *out);
/* Store t under key (db opened as a writer). 0 or -1. */
int ledger_put(GDBM_FILE db, const char *key, const struct ledger_totals *t);
/* Call cb for every totals key starting with prefix ("" = all; meta: keys
 * are skipped unless the prefix asks for them), in no particular order.
 * The arguments are valid during the call only. Stops when cb returns
 * non-zero (positive) and returns that value; else 0; -1 when the file
 * could not be read to the end. */
int ledger_each(GDBM_FILE db, const char *prefix,
		int (*cb)(const char *key, const struct ledger_totals *t, void *user), void *user);

/* Saturating sum: into += d, field by field (seq untouched). */
void ledger_add(struct ledger_totals *into, const struct ledger_totals *d);

/* ------------------------------------------------------------ folding */

/* The deltas of a set of usage records, per ledger key, in memory. */
struct ledger_fold;

/* A new, empty fold; free with ledger_fold_free. Never NULL. */
struct ledger_fold *ledger_fold_new(void);
void ledger_fold_free(struct ledger_fold *f);
/* Add one usage record (a JSON object, len bytes) to its four keys.
 * fallback_ts_ms is used when the record has no valid "ts". Returns 0, or
 * -1 if the line is not a JSON object (nothing is added). */
int ledger_fold_line(struct ledger_fold *f, const char *line, size_t len, int64_t fallback_ts_ms);
/* Key id and model bytes kept from a record: a whole model name (the
 * router refuses longer ones). */
#define LEDGER_PART_MAX 255
/* Parse one usage record (a JSON object, len bytes) as the fold reads it:
 * the totals it adds (one request, counts >= 0 and capped, cost in units),
 * its key id and model (cut to LEDGER_PART_MAX bytes, "-" when missing)
 * and its time (fallback_ts_ms when it has no valid "ts"). The admin's view
 * of unsettled usage reads records with it too, so both agree. key_name,
 * when not NULL, gets the record's key_name (new string, or NULL). 0, or
 * -1 if the line is not a JSON object. */
int ledger_record_parse(const char *line, size_t len, int64_t fallback_ts_ms, struct ledger_totals *d,
			char key_id[LEDGER_PART_MAX + 1], char model[LEDGER_PART_MAX + 1], int64_t *ts_ms,
			char **key_name);
/* Records added so far / distinct keys they touch. */
long ledger_fold_records(const struct ledger_fold *f);
size_t ledger_fold_keys(const struct ledger_fold *f);
/* The delta of one key. 1 if present (out filled), 0 if not (out zeroed). */
int ledger_fold_get(const struct ledger_fold *f, const char *key, struct ledger_totals *out);
/* Add every delta to db (opened as a writer) as commit seq. A value whose
 * seq is already >= seq holds this commit and is left alone, so applying
 * the same fold twice with the same seq counts it once. Returns the number
 * of keys changed, or -1 on a write error or a value it cannot read (db
 * may then hold part of the fold: discard it). */
long ledger_fold_apply(const struct ledger_fold *f, GDBM_FILE db, long long seq);
#endif
