/* settle.c — llmgate-settle: fold usage into ledger.db and push it to the billing backend (cron or CGI). */
#include "autoconf.h"
#include "config.h"
#include "ini.h"
#include "log.h"
#include "settle.h"
#include "sha256.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define CGI_BODY_DRAIN_MAX (64L << 10)

static void usage_text(FILE *f)
{
	fprintf(f,
		"usage: llmgate-settle [--config FILE] [--state-dir DIR] [--dry-run] [--quiet] [--verbose]\n"
		"       llmgate-settle --status [--json]    what waits where (ready, settled, pushed)\n"
		"       llmgate-settle --dump-ledger        every ledger key as one JSON line\n"
		"       llmgate-settle --dump-fleet         the same of fleet.db (the database's totals)\n"
		"       llmgate-settle --init-db            create or migrate the PostgreSQL schema\n"
		"       llmgate-settle --verify             read ledger.db and state.db whole; exit 65 if damaged\n"
		"       llmgate-settle --rebuild-ledger [--force]  a new ledger from the segments on disk\n"
		"Folds closed usage spool segments into ledger.db and pushes them to the billing\n"
		"backend (BACKEND_URL, signed with INTERNAL_SECRET) and PostgreSQL (DATABASE_URL).\n"
		"Exit: 0 done, 1 error,\n"
		"65 ledger.db (or, with --verify, state.db) damaged: nothing done (see --verify),\n"
		"75 the backend did not take everything (kept for the next run).\n");
}

static const char *plural(long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The one line for cron mail. */
static void print_summary(FILE *f, const struct settle_opts *o, const struct settle_result *r, int rc)
{
	const char *would = o->dry_run ? "would " : "";
	if (r->busy) {
		fprintf(f, "settle: another settle run is in progress; nothing done\n");
		return;
	}
	fprintf(f, "settle: %s%sfold%s %ld %s (%ld %s) into the ledger", o->dry_run ? "dry run: " : "", would,
		o->dry_run ? "" : "ed", r->folded_segments, plural(r->folded_segments, "segment", "segments"),
		r->folded_records, plural(r->folded_records, "record", "records"));
	if (r->claimed)
		fprintf(f, " (%ld orphaned %s closed)", r->claimed, plural(r->claimed, "segment", "segments"));
	if (o->backend_url && *o->backend_url) {
		fprintf(f, "; %spush%s %ld %s (%ld %s)", would, o->dry_run ? "" : "ed", r->pushed_batches,
			plural(r->pushed_batches, "batch", "batches"), r->pushed_records,
			plural(r->pushed_records, "record", "records"));
		long st = r->push_status;
		if (r->push_failed && (st == 0 || st >= 500 || st == 408 || st == 425 || st == 429))
			fprintf(f, "; backend unreachable, records kept for the next run");
		else if (r->push_failed)
			fprintf(f, "; backend refused a batch (HTTP %ld), records kept for the next run", st);
	} else {
		fprintf(f, "; no billing backend");
		if (r->no_backend_waiting)
			fprintf(f, " (settled records wait for BACKEND_URL)");
	}
	if (o->database && *o->database) {
		fprintf(f, "; %swrote %ld %s to the database", would, r->db_records,
			plural(r->db_records, "record", "records"));
		if (r->db_failed)
			fprintf(f, " (database unavailable, records kept for the next run)");
	}
	fprintf(f, "; backlog %ld %s", r->backlog_records, plural(r->backlog_records, "record", "records"));
	if (r->bad_lines)
		fprintf(f, "; %ld malformed %s skipped", r->bad_lines, plural(r->bad_lines, "line", "lines"));
	if ((rc == SETTLE_EXIT_ERROR || rc == SETTLE_EXIT_DAMAGED) && r->error[0])
		fprintf(f, "; failed: %s", r->error);
	fputc('\n', f);
}

static void format_time(int64_t ms, char *out, size_t outlen)
{
	if (!ms) {
		snprintf(out, outlen, "never");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_status(const struct settle_status *st, int as_json)
{
	int64_t now = (int64_t)time(NULL) * 1000;
	long long age = st->oldest_ms ? (now - st->oldest_ms) / 1000 : -1;
	if (age < -1)
		age = 0;
	if (as_json) {
		cJSON *j = cJSON_CreateObject();
		const struct { const char *name; const struct settle_count *c; } states[] = {
			{ "open", &st->open }, { "ready", &st->ready }, { "settled", &st->settled },
		};
		for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
			cJSON *s = cJSON_AddObjectToObject(j, states[i].name);
			cJSON_AddNumberToObject(s, "segments", (double)states[i].c->segments);
			cJSON_AddNumberToObject(s, "records", (double)states[i].c->records);
			if (states[i].c == &st->settled)
				cJSON_AddNumberToObject(s, "accepted", (double)st->settled_accepted);
		}
		cJSON_AddNumberToObject(j, "backlog_records", (double)st->backlog_records);
		if (st->oldest_ms) {
			cJSON_AddNumberToObject(j, "oldest_record_ts", (double)st->oldest_ms);
			cJSON_AddNumberToObject(j, "oldest_record_age_s", (double)age);
		} else {
			cJSON_AddNullToObject(j, "oldest_record_ts");
			cJSON_AddNullToObject(j, "oldest_record_age_s");
		}
		cJSON_AddBoolToObject(j, "backend", st->backend);
		if (st->last_push_ok_ms)
			cJSON_AddNumberToObject(j, "last_push_ok", (double)st->last_push_ok_ms);
		else
			cJSON_AddNullToObject(j, "last_push_ok");
		if (st->last_run_ms)
			cJSON_AddNumberToObject(j, "last_run", (double)st->last_run_ms);
		else
			cJSON_AddNullToObject(j, "last_run");
		if (st->last_error[0]) {
			cJSON_AddStringToObject(j, "last_error", st->last_error);
			cJSON_AddNumberToObject(j, "last_error_at", (double)st->last_error_ms);
		}
		cJSON_AddNumberToObject(j, "ledger_seq", (double)st->ledger_seq);
		if (st->ledger_commit_ms)
			cJSON_AddNumberToObject(j, "ledger_commit", (double)st->ledger_commit_ms);
		char *s = cJSON_PrintUnformatted(j);
		printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
		return;
	}
	char t1[32], t2[32], t3[32];
	printf("open     %6ld segments %9ld records  (being written by the router)\n", st->open.segments,
	       st->open.records);
	printf("ready    %6ld segments %9ld records  (closed, not in the ledger yet)\n", st->ready.segments,
	       st->ready.records);
	printf("settled  %6ld segments %9ld records  (in the ledger, waiting for the backend; %ld of them accepted)\n",
	       st->settled.segments, st->settled.records, st->settled_accepted);
	printf("backlog  %ld records\n", st->backlog_records);
	format_time(st->oldest_ms, t1, sizeof(t1));
	if (st->oldest_ms)
		printf("oldest record not settled: %s (%lld s ago)\n", t1, age);
	else
		printf("oldest record not settled: none\n");
	format_time(st->ledger_commit_ms, t2, sizeof(t2));
	printf("ledger: commit %lld at %s\n", st->ledger_seq, t2);
	format_time(st->last_push_ok_ms, t3, sizeof(t3));
	printf("billing backend: %s; last successful push: %s\n", st->backend ? "configured" : "not configured", t3);
	format_time(st->last_run_ms, t1, sizeof(t1));
	printf("last run: %s\n", t1);
	if (st->last_error[0]) {
		format_time(st->last_error_ms, t2, sizeof(t2));
		printf("last push error: %s (%s)\n", st->last_error, t2);
	}
}

/* ------------------------------------------------------------ CGI */

static void cgi_reply(int status, const char *reason, const char *extra_headers, const char *body)
{
	printf("Status: %d %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n%s\r\n%s\n", status,
	       reason, extra_headers ? extra_headers : "", body);
	fflush(stdout);
}

static void cgi_error(int status, const char *reason, const char *extra, const char *code, const char *message)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "message", message);
	cJSON_AddStringToObject(e, "type", "settle_error");
	cJSON_AddStringToObject(e, "code", code);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	cgi_reply(status, reason, extra, s);
	free(s);
}

/* Constant-time check of "Bearer <secret>" (hashes compared, so the
 * lengths do not show either). */
static void drain_body(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	char chunk[4096];
	long left = 0;
	if (!cl || ini_parse_long(cl, 0, CGI_BODY_DRAIN_MAX, &left) != 0)
		left = cl && *cl ? CGI_BODY_DRAIN_MAX : 0;
	while (left > 0) {
		size_t n = fread(chunk, 1, left < (long)sizeof(chunk) ? (size_t)left : sizeof(chunk), stdin);
		if (n == 0)
			break;
		left -= (long)n;
	}
}

static int cgi_main(const char *config_path)
{
	struct config c;
	struct settle_opts o;
	struct settle_result r;
	char err[512];
	const char *method = getenv("REQUEST_METHOD");

	log_init("llmgate-settle", LOG_WARN);
	if (config_load(&c, config_path, err, sizeof(err)) != 0) {
		log_err("%s", err);
		cgi_error(500, "Internal Server Error", NULL, "config_error", "The gateway's configuration cannot be read.");
		config_free(&c);
		return 0;
	}
	if (config_apply_log(&c, err, sizeof(err)) != 0)
		log_warn("%s", err);
	settle_opts_from_config(&o, &c);
	if (!o.secret || !*o.secret) {
		cgi_error(403, "Forbidden", NULL, "settle_disabled",
			  "Settlement over HTTP is disabled: no INTERNAL_SECRET is configured.");
		goto out;
	}
	if (strcmp(method, "POST")) {
		cgi_error(405, "Method Not Allowed", "Allow: POST\r\n", "method_not_allowed", "Use POST.");
		goto out;
	}
	if (!bearer_ok(getenv("HTTP_AUTHORIZATION"), o.secret)) {
		cgi_error(401, "Unauthorized", "WWW-Authenticate: Bearer\r\n", "invalid_secret",
			  "Missing or wrong internal secret (Authorization: Bearer ...).");
		goto out;
	}
	drain_body();
	int rc = settle_run(&o, &r);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "folded_records", (double)r.folded_records);
	cJSON_AddNumberToObject(j, "folded_segments", (double)r.folded_segments);
	cJSON_AddNumberToObject(j, "pushed_records", (double)r.pushed_records);
	cJSON_AddNumberToObject(j, "pushed_batches", (double)r.pushed_batches);
	cJSON_AddNumberToObject(j, "backlog", (double)r.backlog_records);
	if (r.busy)
		cJSON_AddBoolToObject(j, "busy", 1);
	if (rc != SETTLE_EXIT_OK)
		cJSON_AddStringToObject(j, "error", r.error[0] ? r.error : "settlement failed");
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (rc == SETTLE_EXIT_OK)
		cgi_reply(200, "OK", NULL, s);
	else if (rc == SETTLE_EXIT_TEMPFAIL)
		cgi_reply(503, "Service Unavailable", "Retry-After: 60\r\n", s);
	else
		cgi_reply(500, "Internal Server Error", NULL, s);
	free(s);
out:
	config_free(&c);
	return 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	const char *config_path = NULL, *state_dir = NULL;
	int dry_run = 0, status = 0, as_json = 0, dump = 0, verbose = 0, quiet = 0, verify = 0, rebuild = 0, force = 0;
	int fleet = 0, init_db = 0;
	int result = SETTLE_EXIT_ERROR;
	char err[512];
	struct config c;
	struct settle_opts o;
	struct settle_result r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
			state_dir = argv[++i];
		} else if (!strcmp(argv[i], "--dry-run")) {
			dry_run = 1;
		} else if (!strcmp(argv[i], "--status")) {
			status = 1;
		} else if (!strcmp(argv[i], "--json")) {
			as_json = 1;
		} else if (!strcmp(argv[i], "--dump-ledger")) {
			dump = 1;
		} else if (!strcmp(argv[i], "--dump-fleet")) {
			dump = fleet = 1;
		} else if (!strcmp(argv[i], "--init-db")) {
			init_db = 1;
		} else if (!strcmp(argv[i], "--verify")) {
			verify = 1;
		} else if (!strcmp(argv[i], "--rebuild-ledger")) {
			rebuild = 1;
		} else if (!strcmp(argv[i], "--force")) {
			force = 1;
		} else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			verbose++;
		} else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage_text(stdout);
			return 0;
		} else {
			usage_text(stderr);
			return 2;
		}
	}
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "llmgate-settle: cannot start libcurl\n");
		return SETTLE_EXIT_ERROR;
	}
	if (getenv("REQUEST_METHOD")) {
		result = cgi_main(config_path);
		curl_global_cleanup();
		return result;
	}
	log_init("llmgate-settle", verbose > 1 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_WARN);
	if (config_load(&c, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "llmgate-settle: %s\n", err);
		printf("settle: failed: configuration error; nothing done\n");
		config_free(&c);
		curl_global_cleanup();
		return SETTLE_EXIT_ERROR;
	}
	if (config_apply_log(&c, err, sizeof(err)) != 0)
		log_warn("%s", err);
	settle_opts_from_config(&o, &c);
	if (state_dir)
		o.state_dir = state_dir;
	o.dry_run = dry_run;

	if (init_db) {
		if (!o.database || !*o.database) {
			fprintf(stderr, "llmgate-settle: --init-db needs DATABASE_URL or [settle] database\n");
			goto out;
		}
		result = settle_init_db(&o, stdout, err, sizeof(err));
		if (result != SETTLE_EXIT_OK)
			fprintf(stderr, "llmgate-settle: %s\n", err);
	} else if (verify) {
		result = settle_verify(o.state_dir, stdout);
	} else if (rebuild) {
		result = settle_rebuild_ledger(&o, force, stdout, err, sizeof(err));
		if (result != SETTLE_EXIT_OK)
			fprintf(stderr, "llmgate-settle: %s\n", err);
	} else if (dump) {
		if (settle_dump_ledger(o.state_dir, fleet, stdout, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-settle: %s\n", err);
			goto out;
		}
		result = SETTLE_EXIT_OK;
	} else if (status) {
		struct settle_status st;
		if (settle_status(&o, &st, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-settle: %s\n", err);
			goto out;
		}
		print_status(&st, as_json);
		result = SETTLE_EXIT_OK;
	} else {
		result = settle_run(&o, &r);
		if ((result == SETTLE_EXIT_ERROR || result == SETTLE_EXIT_DAMAGED) && r.error[0])
			fprintf(stderr, "llmgate-settle: %s\n", r.error);
		int idle = !r.folded_records && !r.folded_segments && !r.pushed_batches && !r.backlog_records &&
			   !r.claimed && !r.bad_lines && !r.no_backend_waiting && !r.db_records && !r.db_failed;
		if (!quiet || result != SETTLE_EXIT_OK || (!idle && !r.busy))
			print_summary(stdout, &o, &r, result);
	}
out:
	fflush(stdout);
	config_free(&c);
	curl_global_cleanup();
	return result;
}
