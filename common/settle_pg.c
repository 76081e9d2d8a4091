/* settle_pg.c — settlement into PostgreSQL: settled segments written as
 * rows keyed by record id, the totals moved in the same transaction, the
 * fleet's totals copied back into fleet.db (settle.h, settle_base.h).
 *
 * Exactly once: a segment's records and the totals they add are one
 * transaction; records are keyed by their id and inserted with ON CONFLICT
 * DO NOTHING, and the totals move only by the rows actually inserted. A
 * run killed after the commit and before "<segment>.pg" was written sends
 * the segment again: nothing is inserted, nothing is added. Several
 * gateways settle into one database at once: row locks on the totals are
 * taken in key order, and a transaction that fails (a deadlock, the server
 * gone) leaves the segment for the next run. */
#include "autoconf.h"
#include "settle_base.h"
#include "ledger.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int settle_pg_done(const struct settle_ctx *x, const char *seg)
{
	if (!settle_is_set(x->o->database))
		return 1;
	char *side = settle_seg_path(x, seg, ".pg");
	struct stat st;
	int done = stat(side, &st) == 0;
	free(side);
	return done;
}

#ifdef HAVE_LIBPQ
#include <cjson/cJSON.h>
#include <libpq-fe.h>

/* Schema versions, applied in order by settle_pg_migrate; the number of
 * the last one applied is kept in llmgate_schema. Only ever append. */
static const char *const migrations[] = {
	/* 1: records, totals keyed like ledger.db, a daily view */
	"CREATE TABLE llmgate_usage ("
	" id text PRIMARY KEY, ts timestamptz NOT NULL, key_id text NOT NULL, model text NOT NULL,"
	" provider text, upstream_model text, endpoint text, status integer,"
	" prompt_tokens bigint NOT NULL, completion_tokens bigint NOT NULL,"
	" cached_tokens bigint NOT NULL, reasoning_tokens bigint NOT NULL,"
	" cost_units bigint NOT NULL, error boolean NOT NULL, cache_hit boolean NOT NULL,"
	" estimated boolean NOT NULL, node text NOT NULL, segment text NOT NULL,"
	" record jsonb NOT NULL, settled_at timestamptz NOT NULL DEFAULT now());"
	"COMMENT ON COLUMN llmgate_usage.cost_units IS 'cost in 1e-12 currency units';"
	"CREATE INDEX llmgate_usage_ts ON llmgate_usage (ts);"
	"CREATE INDEX llmgate_usage_key_ts ON llmgate_usage (key_id, ts);"
	"CREATE TABLE llmgate_totals ("
	" k text PRIMARY KEY, requests bigint NOT NULL, prompt bigint NOT NULL,"
	" completion bigint NOT NULL, cached bigint NOT NULL, reasoning bigint NOT NULL,"
	" cost_units numeric NOT NULL, errors bigint NOT NULL, cache_hits bigint NOT NULL,"
	" estimated bigint NOT NULL, updated_at timestamptz NOT NULL);"
	"COMMENT ON TABLE llmgate_totals IS 'totals keyed as in ledger.db: day:, month:, key:, model:';"
	"CREATE VIEW llmgate_usage_daily AS SELECT key_id, model,"
	" (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS requests,"
	" sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,"
	" sum(cost_units) / 1e12 AS cost, count(*) FILTER (WHERE error) AS errors"
	" FROM llmgate_usage GROUP BY 1, 2, 3;",
};
#define MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* A segment's records and the totals they add, in one statement: $1 the
 * rows (JSON), $2 this node, $3 the segment. */
static const char insert_sql[] =
	"WITH r AS (SELECT DISTINCT ON (id) * FROM jsonb_to_recordset($1::jsonb) AS x("
	" id text, ts bigint, key_id text, model text, provider text, upstream_model text,"
	" endpoint text, status integer, p bigint, c bigint, ca bigint, rs bigint, cu bigint,"
	" e bigint, h bigint, x bigint, dk text, mk text, kk text, ok text, rec jsonb)),"
	" ins AS (INSERT INTO llmgate_usage (id, ts, key_id, model, provider, upstream_model,"
	" endpoint, status, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,"
	" cost_units, error, cache_hit, estimated, node, segment, record)"
	" SELECT id, to_timestamp(ts / 1000.0), key_id, model, provider, upstream_model, endpoint,"
	" status, p, c, ca, rs, cu, e > 0, h > 0, x > 0, $2, $3, rec FROM r"
	" ON CONFLICT (id) DO NOTHING RETURNING id),"
	" d AS (SELECT r.* FROM r JOIN ins USING (id)),"
	" k AS (SELECT dk AS k, d.* FROM d UNION ALL SELECT mk, d.* FROM d"
	" UNION ALL SELECT kk, d.* FROM d UNION ALL SELECT ok, d.* FROM d)"
	" INSERT INTO llmgate_totals AS t (k, requests, prompt, completion, cached, reasoning,"
	" cost_units, errors, cache_hits, estimated, updated_at)"
	" SELECT k, count(*), sum(p), sum(c), sum(ca), sum(rs), sum(cu), sum(e), sum(h), sum(x), now()"
	" FROM k GROUP BY k ORDER BY k"
	" ON CONFLICT (k) DO UPDATE SET requests = t.requests + EXCLUDED.requests,"
	" prompt = t.prompt + EXCLUDED.prompt, completion = t.completion + EXCLUDED.completion,"
	" cached = t.cached + EXCLUDED.cached, reasoning = t.reasoning + EXCLUDED.reasoning,"
	" cost_units = t.cost_units + EXCLUDED.cost_units, errors = t.errors + EXCLUDED.errors,"
	" cache_hits = t.cache_hits + EXCLUDED.cache_hits, estimated = t.estimated + EXCLUDED.estimated,"
	" updated_at = now()";

/* The server's message, one line, no secrets. */
static void pg_why(PGconn *c, char *out, size_t outlen)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	snprintf(out, outlen, "%.180s", m && *m ? m : "unknown error");
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = *(p + 1) ? ' ' : '\0';
	log_scrub(out);
}

/* Run sql (no parameters); 0, or -1 with the reason in why. */
static int pg_exec(PGconn *c, const char *sql, char *why, size_t whylen)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(res);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
	if (!ok) {
		const char *m = PQresultErrorMessage(res);
		snprintf(why, whylen, "%.180s", m && *m ? m : PQresStatus(s));
		why[strcspn(why, "\n")] = '\0';
		log_scrub(why);
	}
	PQclear(res);
	return ok ? 0 : -1;
}

/* The server's notices ("already exists, skipping") are not news. */
static void pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connect to the database named by conninfo (a libpq string or URL). NULL
 * with the reason in why. */
static PGconn *pg_connect(const char *conninfo, char *why, size_t whylen)
{
	/* the password inside the string is a secret of its own */
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *p = opts; p && p->keyword; p++)
		if (!strcmp(p->keyword, "password") && p->val)
			log_add_secret(p->val);
	PQconninfoFree(opts);
	log_add_secret(conninfo);
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { conninfo, "10", "llmgate-settle", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		pg_why(c, why, whylen);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_quiet, NULL);
	return c;
}

/* Bring the schema to the newest version, under an advisory lock so that
 * several gateways starting at once migrate it once. 0, or -1 (why). */
static int pg_migrate(PGconn *c, int *applied, char *why, size_t whylen)
{
	*applied = 0;
	if (pg_exec(c, "BEGIN; SELECT pg_advisory_xact_lock(7365726);"
		       "CREATE TABLE IF NOT EXISTS llmgate_schema (version integer NOT NULL)", why, whylen) != 0)
		goto fail;
	PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0) FROM llmgate_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		pg_why(c, why, whylen);
		goto fail;
	}
	long have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (have > (long)MIGRATIONS) {
		snprintf(why, whylen, "the database's llmgate schema is version %ld, newer than this settle (%zu)", have,
			 MIGRATIONS);
		goto fail;
	}
	for (size_t v = (size_t)have; v < MIGRATIONS; v++) {
		char set[96];
		snprintf(set, sizeof(set), "DELETE FROM llmgate_schema; INSERT INTO llmgate_schema VALUES (%zu)", v + 1);
		if (pg_exec(c, migrations[v], why, whylen) != 0 || pg_exec(c, set, why, whylen) != 0)
			goto fail;
		(*applied)++;
	}
	return pg_exec(c, "COMMIT", why, whylen);
fail:
	pg_exec(c, "ROLLBACK", why + strlen(why), 0);
	return -1;
}

static void add_str(cJSON *o, const char *name, const cJSON *rec, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, field);
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(o, name, v->valuestring);
}

/* Integers written exactly (cJSON's doubles would round past 2^53). */
static void add_int(cJSON *o, const char *name, long long v)
{
	char n[24];
	snprintf(n, sizeof(n), "%lld", v);
	cJSON_AddRawToObject(o, name, n);
}

/* One row of the insert for a record, or NULL if the line is not one. The
 * counts are read as the ledger's fold reads them (ledger_record_parse), so
 * the database's totals and ledger.db agree; a record without an id gets
 * "<segment>:<index>", stable across replays. */
static cJSON *record_row(const char *seg, long index, const char *line, size_t len)
{
	struct ledger_totals d;
	char key_id[LEDGER_PART_MAX + 1], model[LEDGER_PART_MAX + 1], k[LEDGER_KEY_MAX];
	char day[LEDGER_DAY_LEN], month[LEDGER_MONTH_LEN];
	int64_t ts;
	cJSON *rec = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(rec) || ledger_record_parse(line, len, 0, &d, key_id, model, &ts, NULL) != 0) {
		cJSON_Delete(rec);
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (cJSON_IsString(id) && id->valuestring[0]) {
		cJSON_AddStringToObject(o, "id", id->valuestring);
	} else {
		char gen[SPOOL_NAME_MAX + 32];
		snprintf(gen, sizeof(gen), "%s:%ld", seg, index);
		cJSON_AddStringToObject(o, "id", gen);
	}
	add_int(o, "ts", ts);
	cJSON_AddStringToObject(o, "key_id", key_id);
	cJSON_AddStringToObject(o, "model", model);
	add_str(o, "provider", rec, "provider");
	add_str(o, "upstream_model", rec, "upstream_model");
	add_str(o, "endpoint", rec, "endpoint");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(rec, "status");
	if (cJSON_IsNumber(st))
		cJSON_AddNumberToObject(o, "status", st->valueint);
	const struct { const char *name; long long v; } nums[] = {
		{ "p", d.prompt }, { "c", d.completion }, { "ca", d.cached }, { "rs", d.reasoning },
		{ "cu", d.cost_units }, { "e", d.errors }, { "h", d.cache_hits }, { "x", d.estimated },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		add_int(o, nums[i].name, nums[i].v);
	ledger_day(ts, day);
	ledger_month(ts, month);
	ledger_key_day(k, sizeof(k), key_id, model, day);
	cJSON_AddStringToObject(o, "dk", k);
	ledger_key_month(k, sizeof(k), key_id, month);
	cJSON_AddStringToObject(o, "mk", k);
	ledger_key_key(k, sizeof(k), key_id);
	cJSON_AddStringToObject(o, "kk", k);
	ledger_key_model(k, sizeof(k), model, day);
	cJSON_AddStringToObject(o, "ok", k);
	cJSON_AddItemToObject(o, "rec", rec);
	return o;
}

/* This gateway's name in the rows it writes. */
static void node_name(char out[128])
{
	if (gethostname(out, 127) != 0)
		snprintf(out, 128, "unknown");
	out[127] = '\0';
}

/* A segment in the database, with no billing backend to wait for, is
 * done with (deleted or archived), then its mark. */
static void pg_finish(struct settle_ctx *x, const char *seg)
{
	if (settle_is_set(x->o->backend_url))
		return;
	char *path = settle_seg_path(x, seg, ".settled");
	if (settle_segment_done(x, path, seg) == 0 || errno == ENOENT) {
		char *side = settle_seg_path(x, seg, ".pg");
		unlink(side);
		free(side);
	}
	free(path);
}

/* Write one .settled segment in one transaction and mark it. 0 written
 * (or already), 1 the database did not take it, -1 error,
 * SETTLE_STOPPED. */
static int pg_write_segment(struct settle_ctx *x, const char *seg)
{
	int result = -1;
	char *path = settle_seg_path(x, seg, ".settled");
	struct settle_line *lines = NULL;
	long n = 0;
	char *json = NULL, why[200] = "", node[128], *name = NULL;
	char *data = settle_load_records(path, &lines, &n);
	if (!data) {
		result = errno == ENOENT ? 0 : -1;
		if (result)
			settle_fail(x, "cannot read segment %s: %s", path, strerror(errno));
		goto out;
	}
	cJSON *rows = cJSON_CreateArray();
	for (long i = 0; i < n; i++) {
		cJSON *row = record_row(seg, i, data + lines[i].off, lines[i].len);
		if (row)
			cJSON_AddItemToArray(rows, row);
	}
	json = cJSON_PrintUnformatted(rows);
	cJSON_Delete(rows);
	node_name(node);
	const char *params[3] = { json, node, seg };
	PGconn *c = x->pg;
	PGresult *res = NULL;
	if (pg_exec(c, "BEGIN", why, sizeof(why)) == 0) {
		res = PQexecParams(c, insert_sql, 3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_why(c, why, sizeof(why));
			pg_exec(c, "ROLLBACK", why + strlen(why), 0);
		} else {
			pg_exec(c, "COMMIT", why, sizeof(why));
		}
	}
	PQclear(res);
	if (why[0]) {
		snprintf(x->push_error, sizeof(x->push_error), "database: segment %.64s: %.100s", seg, why);
		log_warn("segment %s not written to the database: %s", seg, why);
		result = 1;
		goto out;
	}
	SETTLE_STOP_AT(x, SETTLE_STEP_PG_COMMITTED);
	name = xasprintf("%s.pg", seg);
	if (settle_write_atomic(x->spool_dir, name, "1\n", 2, 1) != 0) {
		settle_fail(x, "cannot write %s/%s: %s", x->spool_dir, name, strerror(errno));
		goto out;
	}
	x->r->db_records += n;
	log_info("segment %s written to the database (%ld records)", seg, n);
	result = 0;
	pg_finish(x, seg);
out:
	free(name);
	free(json);
	free(data);
	free(lines);
	free(path);
	return result;
}

/* Copy the totals table into fleet.db (a new file renamed over the old),
 * for the admin page of every gateway. 0, or -1 (logged: the records are
 * in the database, only the copy is late). */
static int pg_refresh_fleet(struct settle_ctx *x)
{
	char why[200] = "";
	char *path = xasprintf("%s/%s", x->o->state_dir, SETTLE_FLEET_FILE);
	char *tmp = xasprintf("%s.tmp", path);
	int result = -1;
	GDBM_FILE db = NULL;
	PGresult *res = PQexec(x->pg, "SELECT k, requests, prompt, completion, cached, reasoning, cost_units::text,"
				      " errors, cache_hits, estimated FROM llmgate_totals");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_why(x->pg, why, sizeof(why));
		goto out;
	}
	unlink(tmp);
	db = store_open(tmp, STORE_PRIVATE, 0);
	if (!db) {
		snprintf(why, sizeof(why), "cannot create %s: %s", tmp, store_strerror(errno));
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct ledger_totals t = { 0 };
		long long *f[] = { &t.requests, &t.prompt, &t.completion, &t.cached, &t.reasoning,
				   &t.cost_units, &t.errors, &t.cache_hits, &t.estimated };
		for (int j = 0; j < 9; j++)
			*f[j] = strtoll(PQgetvalue(res, i, j + 1), NULL, 10);   /* saturates */
		t.cost = (double)t.cost_units / LEDGER_COST_SCALE;
		if (ledger_put(db, PQgetvalue(res, i, 0), &t) != 0) {
			snprintf(why, sizeof(why), "cannot write %s", tmp);
			goto out;
		}
	}
	gdbm_sync(db);
	store_close(db);
	db = NULL;
	if (store_fsync_path(tmp, 0) != 0 || rename(tmp, path) != 0) {
		snprintf(why, sizeof(why), "cannot replace %s: %s", path, strerror(errno));
		goto out;
	}
	result = 0;
out:
	if (db)
		store_close(db);
	if (result)
		log_warn("fleet totals not refreshed: %s", why);
	PQclear(res);
	free(path);
	free(tmp);
	return result;
}

int settle_pg_all(struct settle_ctx *x)
{
	char why[200] = "";
	int applied, result = 0;
	x->pg = pg_connect(x->o->database, why, sizeof(why));
	if (!x->pg || pg_migrate(x->pg, &applied, why, sizeof(why)) != 0) {
		snprintf(x->push_error, sizeof(x->push_error), "database: %.170s", why);
		log_warn("usage not written to the database: %s", why);
		x->r->db_failed = 1;
		return 1;
	}
	if (applied)
		log_info("database schema brought to version %zu", MIGRATIONS);
	char **list;
	size_t n = spool_list(x->spool_dir, ".settled", &list);
	for (size_t i = 0; result == 0 && i < n; i++) {
		if (!settle_pg_done(x, list[i]))
			result = pg_write_segment(x, list[i]);
		else
			pg_finish(x, list[i]);   /* a run killed between the mark and the delete */
	}
	spool_free_list(list, n);
	if (result == 1)
		x->r->db_failed = 1;
	if (result == 0 || result == 1)
		pg_refresh_fleet(x);
	return result;
}

void settle_pg_end(struct settle_ctx *x)
{
	PQfinish(x->pg);
	x->pg = NULL;
}

int settle_init_db(const struct settle_opts *o, FILE *out, char *err, size_t errlen)
{
	int applied = 0;
	PGconn *c = pg_connect(o->database, err, errlen);
	if (!c)
		return SETTLE_EXIT_ERROR;
	int rc = pg_migrate(c, &applied, err, errlen);
	PQfinish(c);
	if (rc != 0)
		return SETTLE_EXIT_ERROR;
	fprintf(out, "settle: database schema at version %zu (%d %s applied now)\n", MIGRATIONS, applied,
		applied == 1 ? "migration" : "migrations");
	return SETTLE_EXIT_OK;
}

#else /* !HAVE_LIBPQ */

int settle_pg_all(struct settle_ctx *x)
{
	settle_fail(x, "[settle] database is set, but this llmgate-settle was built without PostgreSQL "
		       "(install libpq-dev and run configure again); records kept");
	return -1;
}

void settle_pg_end(struct settle_ctx *x)
{
	(void)x;
}

int settle_init_db(const struct settle_opts *o, FILE *out, char *err, size_t errlen)
{
	(void)o;
	(void)out;
	snprintf(err, errlen, "this llmgate-settle was built without PostgreSQL (libpq)");
	return SETTLE_EXIT_ERROR;
}
#endif
