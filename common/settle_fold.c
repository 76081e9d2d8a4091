/* settle_fold.c — settlement: spool segments into ledger.db, and the rebuild of a damaged ledger (settle.h, settle_base.h). */
#include "autoconf.h"
#include "settle_base.h"
#include "ledger.h"
#include "log.h"
#include "pool.h"
#include "spool.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A segment done with (in the ledger, and accepted by the backend when there
 * is one) at path: moved to spool/archive/NAME.settled when [settle] archive
 * is on (the records a rebuild of the ledger reads), else deleted. 0, or -1
 * (errno; ENOENT: already gone). */
int settle_segment_done(struct settle_ctx *x, const char *path, const char *name)
{
	if (!x->o->archive)
		return unlink(path);
	char *dir = xasprintf("%s/%s", x->spool_dir, SETTLE_ARCHIVE_DIR);
	char *to = xasprintf("%s/%s.settled", dir, name);
	int r = -1;
	if ((mkdir(dir, 0700) == 0 || errno == EEXIST) && (r = rename(path, to)) == 0 &&
	    store_fsync_path(dir, 1) != 0)
		log_warn("cannot sync %s: %s", dir, strerror(errno));
	int saved = errno;
	free(dir);
	free(to);
	errno = saved;
	return r;
}

/* Segments of the last commit (or of this one) are in the ledger: take
 * them out of .ready. */
static int mark_folded(struct settle_ctx *x, char **segs, size_t n)
{
	int result = -1;
	for (size_t i = 0; i < n; i++) {
		char *from = settle_seg_path(x, segs[i], ".ready");
		char *to = settle_seg_path(x, segs[i], ".settled");
		int e = (x->keep_settled ? rename(from, to) : settle_segment_done(x, from, segs[i])) == 0 ? 0 : errno;
		if (e && e != ENOENT)
			settle_fail(x, "cannot %s segment %s: %s", x->keep_settled ? "rename" : "delete", from, strerror(e));
		free(from);
		free(to);
		if (e && e != ENOENT)
			goto out;
		if (i == 0)
			SETTLE_STOP_AT(x, SETTLE_STEP_MARKED_ONE);
	}
	if (n && store_fsync_path(x->spool_dir, 1) != 0)
		log_warn("cannot sync %s: %s", x->spool_dir, strerror(errno));
	SETTLE_STOP_AT(x, SETTLE_STEP_MARKED);
	result = 0;
out:
	return result;
}

struct fold_src {
	struct ledger_fold *f;
	int64_t fallback_ms;
	long bad;
};

static int fold_cb(const char *line, size_t len, void *user)
{
	struct fold_src *s = user;
	if (ledger_fold_line(s->f, line, len, s->fallback_ms) != 0)
		s->bad++;
	return 0;
}

/* The creation time in a segment name "seg-<ms:13>-...", or 0. */
static int64_t segment_ms(const char *name)
{
	int64_t v = 0;
	if (strncmp(name, "seg-", 4))
		return 0;
	for (const char *p = name + 4; *p >= '0' && *p <= '9' && v < 100000000000000LL; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/* Sum the segments dir/segs[i]suffix into f. 0, or -1 (r->error). */
int settle_fold_read(struct settle_ctx *x, const char *dir, const char *suffix, char **segs, size_t n,
		     struct ledger_fold *f, long *bad)
{
	for (size_t i = 0; i < n; i++) {
		struct fold_src s = { f, segment_ms(segs[i]), 0 };
		int partial = 0;
		char *path = xasprintf("%s/%s%s", dir, segs[i], suffix);
		long got = spool_read(path, fold_cb, &s, &partial);
		if (got < 0) {
			settle_fail(x, "cannot read segment %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		if (partial)
			log_warn("segment %s: its writer died mid-line; the partial last line is skipped", segs[i]);
		if (s.bad)
			log_warn("segment %s: %ld lines that are not usage records skipped", segs[i], s.bad);
		*bad += s.bad;
		free(path);
	}
	return 0;
}

static char *meta_last_json(long long seq, char **segs, size_t n, long records)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "seq", (double)seq);
	cJSON_AddNumberToObject(j, "at", (double)pool_now_ms());
	cJSON_AddNumberToObject(j, "records", (double)records);
	cJSON *list = cJSON_AddArrayToObject(j, "segments");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(segs[i]));
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

/* Write meta into the ledger copy db, sync and close it (db is closed in
 * any case), fsync the file. 0, or -1 (r->error). */
static int seal_copy(struct settle_ctx *x, GDBM_FILE db, const char *meta)
{
	int r = store_put(db, LEDGER_META_LAST, meta, strlen(meta)) == 0 && store_sync(db) == 0 ? 0 : -1;
	if (r != 0)
		settle_fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
	store_close(db);
	if (r == 0 && store_fsync_path(x->tmp, 0) != 0) {
		settle_fail(x, "cannot sync %s: %s", x->tmp, strerror(errno));
		r = -1;
	}
	return r;
}

/* The commit: the sealed copy becomes ledger.db. 0, or -1 (r->error). */
static int commit_copy(struct settle_ctx *x)
{
	if (rename(x->tmp, x->ledger) != 0) {
		settle_fail(x, "cannot rename %s: %s", x->tmp, strerror(errno));
		return -1;
	}
	if (store_fsync_path(x->o->state_dir, 1) != 0)
		log_warn("cannot sync %s: %s", x->o->state_dir, strerror(errno));
	return 0;
}

/* Fold segs[0..n) into the ledger as one commit, then mark them. 0, -1
 * (r->error), or SETTLE_STOPPED. */
static int fold_commit(struct settle_ctx *x, char **segs, size_t n)
{
	int result = -1;
	struct ledger_fold *f = ledger_fold_new();
	GDBM_FILE db = NULL;
	char *meta = NULL;
	long long seq = x->last_seq + 1;
	long bad = 0;

	if (settle_fold_read(x, x->spool_dir, ".ready", segs, n, f, &bad) != 0)
		goto out;
	if (store_copy_file(x->ledger, x->tmp) < 0) {
		settle_fail(x, "cannot copy %s: %s", x->ledger, strerror(errno));
		goto out;
	}
	SETTLE_STOP_AT(x, SETTLE_STEP_COPIED);
	db = store_open(x->tmp, STORE_PRIVATE, 0);
	if (!db) {
		settle_fail(x, "cannot open %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
		goto out;
	}
	if (ledger_fold_apply(f, db, seq) < 0) {
		settle_fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
		goto out;
	}
	SETTLE_STOP_AT(x, SETTLE_STEP_APPLIED);
	meta = meta_last_json(seq, segs, n, ledger_fold_records(f));
	int sealed = seal_copy(x, db, meta);
	db = NULL;
	if (sealed != 0)
		goto out;
	SETTLE_STOP_AT(x, SETTLE_STEP_SYNCED);
	if (commit_copy(x) != 0)
		goto out;
	settle_free_last(x);
	x->last_seq = seq;
	x->last_segs = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		x->last_segs[i] = xstrdup(segs[i]);
	x->nlast = n;
	x->r->folded_segments += (long)n;
	x->r->folded_records += ledger_fold_records(f);
	x->r->bad_lines += bad;
	log_info("ledger commit %lld: %zu segments, %ld records, %zu keys", seq, n, ledger_fold_records(f),
		 ledger_fold_keys(f));
	SETTLE_STOP_AT(x, SETTLE_STEP_COMMITTED);
	result = mark_folded(x, segs, n);
out:
	if (db)
		store_close(db);
	free(meta);
	ledger_fold_free(f);
	return result;
}

/* Fold every .ready segment. 0, -1, or SETTLE_STOPPED. */
int settle_fold_all(struct settle_ctx *x)
{
	int result = 0;
	char **ready;
	size_t nready;
	if (spool_scan(x->spool_dir, ".ready", &ready, &nready) != 0) {
		settle_fail(x, "cannot read spool folder %s: %s", x->spool_dir, strerror(errno));
		return -1;
	}
	char **todo = xcalloc(nready ? nready : 1, sizeof(char *));
	char **done = xcalloc(nready ? nready : 1, sizeof(char *));
	size_t ntodo = 0, ndone = 0;
	for (size_t i = 0; i < nready; i++) {
		if (settle_in_list(x->last_segs, x->nlast, ready[i]))
			done[ndone++] = ready[i];
		else
			todo[ntodo++] = ready[i];
	}
	/* the last commit holds these already: finish it */
	if (ndone) {
		log_info("%zu segments of ledger commit %lld were not marked yet", ndone, x->last_seq);
		result = mark_folded(x, done, ndone);
	}
	for (size_t i = 0; result == 0 && i < ntodo; i += SETTLE_FOLD_SEGMENTS) {
		size_t n = ntodo - i < SETTLE_FOLD_SEGMENTS ? ntodo - i : SETTLE_FOLD_SEGMENTS;
		result = fold_commit(x, todo + i, n);
	}
	free(todo);
	free(done);
	spool_free_list(ready, nready);
	return result;
}

/* Fold dir/names[i].settled into db, SETTLE_FOLD_SEGMENTS at a time, one
 * seq each. 0 or -1 (r->error). */
static int rebuild_fold(struct settle_ctx *x, GDBM_FILE db, const char *dir, char **names, size_t n, long long *seq,
			long *records)
{
	for (size_t i = 0; i < n; i += SETTLE_FOLD_SEGMENTS) {
		size_t k = n - i < SETTLE_FOLD_SEGMENTS ? n - i : SETTLE_FOLD_SEGMENTS;
		struct ledger_fold *f = ledger_fold_new();
		long bad = 0;
		int r = settle_fold_read(x, dir, ".settled", names + i, k, f, &bad);
		if (r == 0 && ledger_fold_apply(f, db, ++*seq) < 0) {
			settle_fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
			r = -1;
		}
		*records += ledger_fold_records(f);
		ledger_fold_free(f);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* Build the new ledger in x->tmp from the archived and the .settled
 * segments; commit it over x->ledger, keeping the old file beside it.
 * 0 or -1 (r->error). */
static int rebuild_commit(struct settle_ctx *x, FILE *out)
{
	int result = -1;
	char *adir = xasprintf("%s/%s", x->spool_dir, SETTLE_ARCHIVE_DIR);
	char **arch = NULL, **sett = NULL;
	size_t na = spool_list(adir, ".settled", &arch), ns = spool_list(x->spool_dir, ".settled", &sett);
	long long seq = 0;
	long records = 0;
	char *meta = NULL, *kept = NULL;
	unlink(x->tmp);
	GDBM_FILE db = store_open(x->tmp, STORE_PRIVATE, 0);
	if (!db) {
		settle_fail(x, "cannot create %s: %s", x->tmp, store_strerror(errno));
		goto out;
	}
	if (rebuild_fold(x, db, adir, arch, na, &seq, &records) != 0 ||
	    rebuild_fold(x, db, x->spool_dir, sett, ns, &seq, &records) != 0)
		goto out;
	/* no segment named: every .ready one is folded by the next run */
	meta = meta_last_json(seq, NULL, 0, records);
	int sealed = seal_copy(x, db, meta);
	db = NULL;
	if (sealed != 0)
		goto out;
	kept = xasprintf("%s.damaged-%lld", x->ledger, (long long)pool_now_ms());
	if (link(x->ledger, kept) != 0 && errno != ENOENT) {
		settle_fail(x, "cannot keep the old ledger as %s: %s", kept, strerror(errno));
		goto out;
	}
	if (commit_copy(x) != 0)
		goto out;
	fprintf(out, "settle: rebuilt %s from %zu archived and %zu settled segments (%ld records); the old file is %s\n",
		x->ledger, na, ns, records, access(kept, F_OK) == 0 ? kept : "gone (there was none)");
	if (!x->o->archive)
		fprintf(out, "settle: [settle] archive is off: segments deleted after settling are not on disk, and "
			     "their records are not in the rebuilt ledger\n");
	result = 0;
out:
	if (db)
		store_close(db);
	if (result != 0)
		unlink(x->tmp);
	spool_free_list(arch, na);
	spool_free_list(sett, ns);
	free(adir);
	free(meta);
	free(kept);
	return result;
}

int settle_rebuild_ledger(const struct settle_opts *o, int force, FILE *out, char *err, size_t errlen)
{
	int result = SETTLE_EXIT_ERROR, lock_fd = -1;
	struct settle_ctx x;
	struct settle_result r;
	char why[400];
	settle_ctx_init(&x, o, &r);
	if (mkdir(x.spool_dir, 0700) != 0 && errno != EEXIST) {
		settle_fail(&x, "cannot create %s: %s", x.spool_dir, strerror(errno));
		goto out;
	}
	int rc = settle_take_lock(&x, &lock_fd);
	if (rc != 0) {
		if (rc > 0)
			settle_fail(&x, "another settle run is in progress; try again when it is done");
		goto out;
	}
	if (store_check(x.ledger, NULL, why, sizeof(why)) == 0 && !force) {
		settle_fail(&x, "%s reads whole: a rebuild would keep only the records still on disk (--force to rebuild anyway)",
		     x.ledger);
		goto out;
	}
	if (rebuild_commit(&x, out) == 0)
		result = SETTLE_EXIT_OK;
out:
	if (result != SETTLE_EXIT_OK)
		snprintf(err, errlen, "%s", r.error);
	if (lock_fd >= 0)
		close(lock_fd);
	free(x.spool_dir);
	free(x.ledger);
	free(x.tmp);
	return result;
}
