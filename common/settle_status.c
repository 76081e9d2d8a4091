/* settle_status.c — settlement, read only: status, ledger dump, verify (settle.h). */
#include "autoconf.h"
#include "settle_base.h"
#include "ledger.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int settle_status(const struct settle_opts *o, struct settle_status *st, char *err, size_t errlen)
{
	struct settle_ctx x;
	struct settle_result r;
	struct settle_runstate rs;
	int result = -1;
	memset(st, 0, sizeof(*st));
	settle_ctx_init(&x, o, &r);
	st->backend = settle_is_set(o->backend_url);
	if (settle_read_last(x.ledger, &st->ledger_seq, &st->ledger_commit_ms, NULL, NULL) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", x.ledger, strerror(errno));
		goto out;
	}
	settle_count_state(&x, ".open", 0, &st->open, NULL, &st->oldest_ms);
	settle_count_state(&x, ".ready", 0, &st->ready, NULL, &st->oldest_ms);
	settle_count_state(&x, ".settled", 1, &st->settled, &st->settled_accepted, &st->oldest_ms);
	st->backlog_records = st->ready.records + st->settled.records - st->settled_accepted;
	settle_read_state(x.spool_dir, &rs);
	st->last_push_ok_ms = rs.last_push_ok;
	st->last_run_ms = rs.last_run;
	st->last_error_ms = rs.last_error_at;
	snprintf(st->last_error, sizeof(st->last_error), "%s", rs.last_error);
	result = 0;
out:
	free(x.spool_dir);
	free(x.ledger);
	free(x.tmp);
	return result;
}

struct dump_row {
	char *key;
	char *val;
};

struct dump_ctx {
	struct dump_row *rows;
	size_t n;
};

static int dump_cb(const char *key, const char *val, size_t vlen, void *user)
{
	struct dump_ctx *d = user;
	d->rows = xrealloc(d->rows, (d->n + 1) * sizeof(*d->rows));
	d->rows[d->n].key = xstrdup(key);
	d->rows[d->n].val = xstrndup(val, vlen);
	d->n++;
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct dump_row *)a)->key, ((const struct dump_row *)b)->key);
}

int settle_dump_ledger(const char *state_dir, int fleet, FILE *out, char *err, size_t errlen)
{
	struct dump_ctx d = { NULL, 0 };
	char *path = fleet ? xasprintf("%s/%s", state_dir, SETTLE_FLEET_FILE) : ledger_path(state_dir);
	int result = -1;
	GDBM_FILE db = store_open(path, 0, SETTLE_STORE_WAIT_MS);
	if (!db) {
		if (errno == ENOENT)
			result = 0;
		else
			snprintf(err, errlen, "cannot open %s: %s", path, store_strerror(errno));
		goto out;
	}
	if (store_each(db, "", dump_cb, &d) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		store_close(db);
		goto out;
	}
	store_close(db);
	if (d.n)
		qsort(d.rows, d.n, sizeof(*d.rows), cmp_row);
	for (size_t i = 0; i < d.n; i++) {
		cJSON *k = cJSON_CreateString(d.rows[i].key);
		char *ks = cJSON_PrintUnformatted(k);
		cJSON_Delete(k);
		const char *v = d.rows[i].val;
		while (*v == ' ')
			v++;
		if (*v == '{') {
			v++;
			while (*v == ' ')
				v++;
			fprintf(out, "{\"key\":%s%s%s\n", ks, *v == '}' ? "" : ",", v);
		} else {
			fprintf(out, "{\"key\":%s,\"value\":null}\n", ks);
		}
		free(ks);
	}
	result = 0;
out:
	for (size_t i = 0; i < d.n; i++) {
		free(d.rows[i].key);
		free(d.rows[i].val);
	}
	free(d.rows);
	free(path);
	return result;
}

static int verify_value(const char *key, const char *val, size_t vlen, void *user)
{
	struct ledger_totals t;
	if (strncmp(key, "meta:", 5) && ledger_parse(val, vlen, &t) != 0) {
		snprintf(user, 300, "the value of %.200s is not a totals object", key);
		return 1;
	}
	return 0;
}

/* One line about one store; 0 healthy or absent, -1 damaged. */
static int verify_one(FILE *out, const char *path, int ledger)
{
	char why[400];
	long n = 0;
	int r = store_check(path, &n, why, sizeof(why));
	if (r == 1) {
		fprintf(out, "%s: absent\n", path);
		return 0;
	}
	if (r == 0 && ledger) {
		char bad[300] = "";
		GDBM_FILE db = store_open(path, STORE_READ, SETTLE_STORE_WAIT_MS);
		if (!db || store_each(db, "", verify_value, bad) < 0) {
			snprintf(why, sizeof(why), "cannot read %s: %s", path, store_strerror(errno));
			r = -1;
		} else if (bad[0]) {
			snprintf(why, sizeof(why), "%s", bad);
			r = -1;
		}
		store_close(db);
	}
	if (r < 0) {
		fprintf(out, "%s: DAMAGED: %s\n", path, why);
		return -1;
	}
	fprintf(out, "%s: ok, %ld keys\n", path, n);
	return 0;
}

int settle_verify(const char *state_dir, FILE *out)
{
	char *ledger = ledger_path(state_dir);
	char *state = xasprintf("%s/state.db", state_dir);
	int bad = verify_one(out, ledger, 1) != 0;
	bad |= verify_one(out, state, 0) != 0;
	free(ledger);
	free(state);
	return bad ? SETTLE_EXIT_DAMAGED : SETTLE_EXIT_OK;
}
