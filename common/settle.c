/* settle.c — a settlement run: claim orphans, fold closed spool segments into ledger.db, push them to the billing backend; the dry run (settle.h). */
#include "autoconf.h"
#include "settle_base.h"
#include "ledger.h"
#include "log.h"
#include "pool.h"
#include "spool.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Leftovers of a killed run: .push files whose segment is gone (killed
 * between the two unlinks) and half-written .tmp files. With the lock held. */
static void drop_leftovers(struct settle_ctx *x)
{
	char **list;
	size_t n = spool_list(x->spool_dir, ".push.tmp", &list);
	for (size_t i = 0; i < n; i++) {
		char *tmp = settle_seg_path(x, list[i], ".push.tmp");
		unlink(tmp);
		free(tmp);
	}
	spool_free_list(list, n);
	char *state_tmp = xasprintf("%s/%s.tmp", x->spool_dir, SETTLE_STATE_FILE);
	unlink(state_tmp);
	free(state_tmp);
	static const char *const sides[] = { ".push", ".pg", ".pg.tmp" };
	for (size_t k = 0; k < sizeof(sides) / sizeof(sides[0]); k++) {
		n = spool_list(x->spool_dir, sides[k], &list);
		for (size_t i = 0; i < n; i++) {
			char *settled = settle_seg_path(x, list[i], ".settled");
			char *side = settle_seg_path(x, list[i], sides[k]);
			struct stat st;
			if (!strcmp(sides[k], ".pg.tmp") || (stat(settled, &st) != 0 && errno == ENOENT))
				unlink(side);
			free(settled);
			free(side);
		}
		spool_free_list(list, n);
	}
}

static void backlog(struct settle_ctx *x)
{
	struct settle_count ready, settled;
	long accepted = 0;
	int64_t oldest = 0;
	settle_count_state(x, ".ready", 0, &ready, NULL, &oldest);
	settle_count_state(x, ".settled", 1, &settled, &accepted, &oldest);
	x->r->backlog_segments = ready.segments + settled.segments;
	x->r->backlog_records = ready.records + settled.records - accepted;
	if (!x->keep_settled && settled.segments)
		x->r->no_backend_waiting = 1;
}

static int dry_run(struct settle_ctx *x)
{
	const struct settle_opts *o = x->o;
	char **ready;
	size_t nready = spool_list(x->spool_dir, ".ready", &ready);
	long push_batches = 0, push_records = 0;
	for (size_t i = 0; i < nready; i++) {
		if (settle_in_list(x->last_segs, x->nlast, ready[i]))
			continue;   /* in the ledger already */
		struct ledger_fold *f = ledger_fold_new();
		long bad = 0;
		if (settle_fold_read(x, x->spool_dir, ".ready", &ready[i], 1, f, &bad) == 0) {
			long n = ledger_fold_records(f);
			x->r->folded_segments++;
			x->r->folded_records += n;
			x->r->bad_lines += bad;
			push_batches += (n + o->batch - 1) / o->batch;
			push_records += n;
		}
		ledger_fold_free(f);
	}
	spool_free_list(ready, nready);
	char **settled;
	size_t ns = spool_list(x->spool_dir, ".settled", &settled);
	for (size_t i = 0; i < ns; i++) {
		char *path = settle_seg_path(x, settled[i], ".settled");
		char *side = settle_seg_path(x, settled[i], ".push");
		struct settle_count_ctx cc = { 0, -1, 0 };
		long batch = o->batch, acked = 0;
		spool_read(path, settle_count_cb, &cc, NULL);
		if (settle_read_push_file(side, &batch, &acked) != 1)
			acked = 0;
		long nb = (cc.n + batch - 1) / batch;
		if (nb > acked) {
			push_batches += nb - acked;
			push_records += cc.n - (acked * batch < cc.n ? acked * batch : cc.n);
		}
		free(path);
		free(side);
	}
	spool_free_list(settled, ns);
	if (x->keep_settled) {
		x->r->pushed_batches = push_batches;
		x->r->pushed_records = push_records;
	}
	backlog(x);
	return SETTLE_EXIT_OK;
}

/* What this run did, into settle.state: its time, the last accepted
 * batch, the push error (cleared by a run that pushed without one). */
static void record_run(const struct settle_ctx *x)
{
	struct settle_runstate rs;
	settle_read_state(x->spool_dir, &rs);
	rs.last_run = pool_now_ms();
	if (x->push_ok_ms)
		rs.last_push_ok = x->push_ok_ms;
	if (x->r->push_failed) {
		snprintf(rs.last_error, sizeof(rs.last_error), "%s", x->push_error);
		rs.last_error_at = rs.last_run;
	} else if (x->push_ok_ms) {
		rs.last_error[0] = '\0';
		rs.last_error_at = 0;
	}
	settle_write_state(x->spool_dir, &rs);
}

/* The run's result after a delivery step (the database, the backend)
 * answered rc: 0 all taken, 1 not all (what), -1 error, SETTLE_STOPPED. */
static int delivered(struct settle_ctx *x, int rc, int result, const char *what)
{
	if (rc == SETTLE_STOPPED)
		return rc;
	if (rc > 0)
		settle_fail(x, "%s (%s); records kept for the next run", what, x->push_error);
	if (rc < 0)
		return SETTLE_EXIT_ERROR;
	return rc > 0 && result == SETTLE_EXIT_OK ? SETTLE_EXIT_TEMPFAIL : result;
}

int settle_run(const struct settle_opts *o, struct settle_result *r)
{
	int result = SETTLE_EXIT_ERROR, lock_fd = -1, rc;
	struct settle_ctx x;
	struct stat st;

	settle_ctx_init(&x, o, r);
	x.keep_settled = settle_is_set(o->backend_url) || settle_is_set(o->database);
	if (settle_is_set(o->backend_url))
		x.url = xasprintf("%s%s", o->backend_url, settle_is_set(o->backend_path) ? o->backend_path : "");
	if (o->batch < 1) {
		settle_fail(&x, "the batch size must be at least 1");
		goto out;
	}

	if (stat(o->state_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		settle_fail(&x, "state directory %s is not a directory", o->state_dir);
		goto out;
	}
	if (stat(o->state_dir, &st) != 0) {
		if (errno == ENOENT) {
			log_info("no state directory %s: nothing to settle", o->state_dir);
			result = SETTLE_EXIT_OK;
		} else {
			settle_fail(&x, "cannot use state directory %s: %s", o->state_dir, strerror(errno));
		}
		goto out;
	}
	if (stat(x.spool_dir, &st) != 0) {
		if (errno != ENOENT) {
			settle_fail(&x, "cannot use %s: %s", x.spool_dir, strerror(errno));
			goto out;
		}
		if (o->dry_run) {
			result = SETTLE_EXIT_OK;
			goto out;
		}
		if (mkdir(x.spool_dir, 0700) != 0 && errno != EEXIST) {
			settle_fail(&x, "cannot create %s: %s", x.spool_dir, strerror(errno));
			goto out;
		}
	}
	if (!o->dry_run) {
		rc = settle_take_lock(&x, &lock_fd);
		if (rc < 0)
			goto out;
		if (rc > 0) {
			r->busy = 1;
			result = SETTLE_EXIT_OK;
			goto out;
		}
		/* a run killed mid-commit left its copy: it was never committed */
		if (unlink(x.tmp) == 0)
			log_info("dropped %s of an interrupted run", x.tmp);
		drop_leftovers(&x);
		r->claimed = spool_claim_orphans(x.spool_dir);
		if (r->claimed)
			log_info("closed %ld orphaned segments", r->claimed);
	}
	SETTLE_STOP_AT(&x, SETTLE_STEP_CLAIMED);
	/* never fold onto (nor push away the segments of) a ledger that cannot
	 * be read whole: its totals would restart from zero */
	char why[400];
	if (store_check(x.ledger, NULL, why, sizeof(why)) < 0) {
		int locked = errno == EAGAIN;
		settle_fail(&x, "%s; nothing folded or pushed (see llmgate-settle --verify)", why);
		result = locked ? SETTLE_EXIT_ERROR : SETTLE_EXIT_DAMAGED;
		goto out;
	}
	if (settle_read_last(x.ledger, &x.last_seq, NULL, &x.last_segs, &x.nlast) != 0) {
		settle_fail(&x, "cannot read %s: %s", x.ledger, store_strerror(errno));
		goto out;
	}
	if (o->dry_run) {
		result = dry_run(&x);
		goto out;
	}

	result = SETTLE_EXIT_OK;
	rc = settle_fold_all(&x);
	if (rc == SETTLE_STOPPED) {
		result = rc;
		goto out;
	}
	if (rc != 0)
		result = SETTLE_EXIT_ERROR;   /* push what is settled all the same */
	if (settle_is_set(o->database)) {
		result = delivered(&x, settle_pg_all(&x), result, "the database did not take every segment");
		if (result == SETTLE_STOPPED)
			goto out;
	}
	if (x.url && !settle_is_set(o->secret)) {
		settle_fail(&x, "BACKEND_URL is set but INTERNAL_SECRET is not: batches cannot be signed; records kept");
		result = SETTLE_EXIT_ERROR;
	} else if (x.url) {
		result = delivered(&x, settle_push_all(&x), result, "billing backend did not accept every batch");
		if (result == SETTLE_STOPPED)
			goto out;
	}
	backlog(&x);
	record_run(&x);
out:
	settle_push_end(&x);
	settle_pg_end(&x);
	if (lock_fd >= 0)
		close(lock_fd);   /* releases the lock */
	settle_free_last(&x);
	free(x.spool_dir);
	free(x.ledger);
	free(x.tmp);
	free(x.url);
	return result;
}
