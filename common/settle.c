/* settle.c — settlement: fold closed spool segments into ledger.db, push them to the billing backend. */
#include "autoconf.h"
#include "settle.h"
#include "buf.h"
#include "ledger.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "spool.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_BODY_MAX (64u << 20)        /* one batch body */
#define SETTLE_SEGMENT_MAX (256L << 20)    /* a segment read whole for pushing */
#define SETTLE_RESPONSE_MAX (64u << 10)    /* backend answer bytes looked at */
#define SETTLE_STORE_WAIT_MS 2000

/* One run's context. */
struct run {
	const struct settle_opts *o;
	struct settle_result *r;
	char *spool_dir;
	char *ledger;              /* ledger.db */
	char *tmp;                 /* ledger.db.tmp */
	char *url;                 /* backend_url + backend_path, or NULL */
	int keep_settled;          /* a backend is configured: keep .settled */
	long long last_seq;        /* meta:last */
	char **last_segs;
	size_t nlast;
	CURL *curl;
	int64_t push_ok_ms;        /* last accepted batch in this run */
	char push_error[200];
};

/* Stop here if a test asked to (as if the process had been killed). */
#define STEP(x, s)                                           \
	do {                                                 \
		if ((x)->o->stop_after == (s)) {             \
			result = SETTLE_STOPPED;             \
			goto out;                            \
		}                                            \
	} while (0)

__attribute__((format(printf, 2, 3)))
static void fail(struct run *x, const char *fmt, ...)
{
	va_list ap;
	if (x->r->error[0])
		return;   /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(x->r->error, sizeof(x->r->error), fmt, ap);
	va_end(ap);
	log_scrub(x->r->error);
}

static int is_set(const char *s)
{
	return s && *s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------ files */

/* Write data to dir/name through dir/name.tmp and a rename; durable: fsync
 * the file and the directory. 0 or -1 (errno). */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len, int durable)
{
	int result = -1, fd = -1;
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (durable && fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	if (durable && store_fsync_path(dir, 1) != 0)
		goto out;
	result = 0;
out:
	if (fd >= 0)
		close(fd);
	if (result != 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(path);
	free(tmp);
	return result;
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

static char *seg_path(const struct run *x, const char *name, const char *suffix)
{
	return xasprintf("%s/%s%s", x->spool_dir, name, suffix);
}

/* Is line a usage record? (cheap: for counting; folding parses it) */
static int looks_like_record(const char *line, size_t len)
{
	return len >= 2 && line[0] == '{' && line[len - 1] == '}';
}

static int64_t record_ts(const char *line, size_t len)
{
	int64_t ts = 0;
	cJSON *j = cJSON_ParseWithLength(line, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "ts");
	if (cJSON_IsNumber(t) && t->valuedouble > 0 && t->valuedouble < 1e15)
		ts = (int64_t)t->valuedouble;
	cJSON_Delete(j);
	return ts;
}

struct count_ctx {
	long n;
	long want;       /* record index whose ts to take */
	int64_t ts;
};

static int count_cb(const char *line, size_t len, void *user)
{
	struct count_ctx *c = user;
	if (!looks_like_record(line, len))
		return 0;
	if (c->n == c->want)
		c->ts = record_ts(line, len);
	c->n++;
	return 0;
}

/* ------------------------------------------------------------ the push file */

/* "<segment>.push": {"batch":B,"acked":A}. 1 read, 0 none, -1 malformed. */
static int read_push_file(const char *path, long *batch, long *acked)
{
	char text[256];
	int result = -1;
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cJSON *j = cJSON_Parse(text);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "batch");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "acked");
	if (cJSON_IsNumber(b) && cJSON_IsNumber(a) && b->valuedouble >= 1 && b->valuedouble <= 1e6 &&
	    a->valuedouble >= 0 && a->valuedouble <= 1e9) {
		*batch = (long)b->valuedouble;
		*acked = (long)a->valuedouble;
		result = 1;
	}
	cJSON_Delete(j);
	return result;
}

static int write_push_file(const struct run *x, const char *seg, long batch, long acked)
{
	char text[96];
	char *name = xasprintf("%s.push", seg);
	int n = snprintf(text, sizeof(text), "{\"batch\":%ld,\"acked\":%ld}\n", batch, acked);
	int r = write_atomic(x->spool_dir, name, text, (size_t)n, 1);
	free(name);
	return r;
}

/* Records of a .settled segment the backend already has. */
static long accepted_records(const struct run *x, const char *seg, long total)
{
	long batch, acked;
	char *path = seg_path(x, seg, ".push");
	int r = read_push_file(path, &batch, &acked);
	free(path);
	if (r != 1)
		return 0;
	long n = batch * acked;
	return n < total ? n : total;
}

/* ------------------------------------------------------------ settle.state */

struct run_state {
	int64_t last_run, last_push_ok, last_error_at;
	char last_error[200];
};

/* A JSON number from one of our own files as an integer, when it is one an
 * int64_t holds (NaN, infinities and anything past +-9.2e18 are not: a
 * damaged file must not become undefined behaviour). 1 if so. */
static int num_i64(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
		return 0;
	*out = (int64_t)v->valuedouble;
	return 1;
}

static void read_state(const char *spool_dir, struct run_state *s)
{
	memset(s, 0, sizeof(*s));
	char *path = xasprintf("%s/%s", spool_dir, SETTLE_STATE_FILE);
	char text[1024];
	FILE *f = fopen(path, "re");
	free(path);
	if (!f)
		return;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cJSON *j = cJSON_Parse(text);
	const cJSON *v;
	num_i64(cJSON_GetObjectItemCaseSensitive(j, "last_run"), &s->last_run);
	num_i64(cJSON_GetObjectItemCaseSensitive(j, "last_push_ok"), &s->last_push_ok);
	num_i64(cJSON_GetObjectItemCaseSensitive(j, "last_error_at"), &s->last_error_at);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "last_error")) && cJSON_IsString(v))
		snprintf(s->last_error, sizeof(s->last_error), "%s", v->valuestring);
	cJSON_Delete(j);
}

static void write_state(const char *spool_dir, const struct run_state *s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "last_run", (double)s->last_run);
	cJSON_AddNumberToObject(j, "last_push_ok", (double)s->last_push_ok);
	cJSON_AddStringToObject(j, "last_error", s->last_error);
	cJSON_AddNumberToObject(j, "last_error_at", (double)s->last_error_at);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (write_atomic(spool_dir, SETTLE_STATE_FILE, text, strlen(text), 0) != 0)
		log_warn("cannot write %s/%s: %s", spool_dir, SETTLE_STATE_FILE, strerror(errno));
	free(text);
}

/* ------------------------------------------------------------ meta:last */

static void free_last(struct run *x)
{
	spool_free_list(x->last_segs, x->nlast);
	x->last_segs = NULL;
	x->nlast = 0;
}

/* Read meta:last from ledger.db. 0 (also when there is no ledger), -1. */
static int read_last(const char *ledger, long long *seq, int64_t *at, char ***segs, size_t *nsegs)
{
	*seq = 0;
	if (at)
		*at = 0;
	if (segs) {
		*segs = NULL;
		*nsegs = 0;
	}
	GDBM_FILE db = store_open(ledger, 0, SETTLE_STORE_WAIT_MS);
	if (!db)
		return errno == ENOENT ? 0 : -1;
	size_t len;
	char *v = store_get(db, LEDGER_META_LAST, &len);
	int cause = errno;
	store_close(db);
	if (!v) {
		errno = cause;
		return cause == ENOENT ? 0 : -1;
	}
	int result = -1;
	cJSON *j = cJSON_ParseWithLength(v, len);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seq");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "at");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "segments");
	int64_t sv;
	if (!num_i64(s, &sv) || !cJSON_IsArray(list))
		goto out;
	*seq = (long long)sv;
	if (at)
		num_i64(a, at);
	if (segs) {
		const cJSON *e;
		cJSON_ArrayForEach(e, list) {
			if (!cJSON_IsString(e))
				continue;
			*segs = xrealloc(*segs, (*nsegs + 1) * sizeof(**segs));
			(*segs)[(*nsegs)++] = xstrdup(e->valuestring);
		}
	}
	result = 0;
out:
	cJSON_Delete(j);
	free(v);
	return result;
}

static int in_list(char **list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(list[i], name))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ folding */

/* A segment done with (in the ledger, and accepted by the backend when there
 * is one) at path: moved to spool/archive/NAME.settled when [settle] archive
 * is on (the records a rebuild of the ledger reads), else deleted. 0, or -1
 * (errno; ENOENT: already gone). */
static int segment_done(struct run *x, const char *path, const char *name)
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
static int mark_folded(struct run *x, char **segs, size_t n)
{
	int result = -1;
	for (size_t i = 0; i < n; i++) {
		char *from = seg_path(x, segs[i], ".ready");
		char *to = seg_path(x, segs[i], ".settled");
		int e = (x->keep_settled ? rename(from, to) : segment_done(x, from, segs[i])) == 0 ? 0 : errno;
		if (e && e != ENOENT)
			fail(x, "cannot %s segment %s: %s", x->keep_settled ? "rename" : "delete", from, strerror(e));
		free(from);
		free(to);
		if (e && e != ENOENT)
			goto out;
		if (i == 0)
			STEP(x, SETTLE_STEP_MARKED_ONE);
	}
	if (n && store_fsync_path(x->spool_dir, 1) != 0)
		log_warn("cannot sync %s: %s", x->spool_dir, strerror(errno));
	STEP(x, SETTLE_STEP_MARKED);
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

/* Sum the segments dir/segs[i]suffix into f. 0, or -1 (r->error). */
static int fold_read(struct run *x, const char *dir, const char *suffix, char **segs, size_t n,
		     struct ledger_fold *f, long *bad)
{
	for (size_t i = 0; i < n; i++) {
		struct fold_src s = { f, segment_ms(segs[i]), 0 };
		int partial = 0;
		char *path = xasprintf("%s/%s%s", dir, segs[i], suffix);
		long got = spool_read(path, fold_cb, &s, &partial);
		if (got < 0) {
			fail(x, "cannot read segment %s: %s", path, strerror(errno));
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
static int seal_copy(struct run *x, GDBM_FILE db, const char *meta)
{
	int r = store_put(db, LEDGER_META_LAST, meta, strlen(meta)) == 0 && store_sync(db) == 0 ? 0 : -1;
	if (r != 0)
		fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
	store_close(db);
	if (r == 0 && store_fsync_path(x->tmp, 0) != 0) {
		fail(x, "cannot sync %s: %s", x->tmp, strerror(errno));
		r = -1;
	}
	return r;
}

/* The commit: the sealed copy becomes ledger.db. 0, or -1 (r->error). */
static int commit_copy(struct run *x)
{
	if (rename(x->tmp, x->ledger) != 0) {
		fail(x, "cannot rename %s: %s", x->tmp, strerror(errno));
		return -1;
	}
	if (store_fsync_path(x->o->state_dir, 1) != 0)
		log_warn("cannot sync %s: %s", x->o->state_dir, strerror(errno));
	return 0;
}

/* Fold segs[0..n) into the ledger as one commit, then mark them. 0, -1
 * (r->error), or SETTLE_STOPPED. */
static int fold_commit(struct run *x, char **segs, size_t n)
{
	int result = -1;
	struct ledger_fold *f = ledger_fold_new();
	GDBM_FILE db = NULL;
	char *meta = NULL;
	long long seq = x->last_seq + 1;
	long bad = 0;

	if (fold_read(x, x->spool_dir, ".ready", segs, n, f, &bad) != 0)
		goto out;
	if (store_copy_file(x->ledger, x->tmp) < 0) {
		fail(x, "cannot copy %s: %s", x->ledger, strerror(errno));
		goto out;
	}
	STEP(x, SETTLE_STEP_COPIED);
	db = store_open(x->tmp, STORE_PRIVATE, 0);
	if (!db) {
		fail(x, "cannot open %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
		goto out;
	}
	if (ledger_fold_apply(f, db, seq) < 0) {
		fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
		goto out;
	}
	STEP(x, SETTLE_STEP_APPLIED);
	meta = meta_last_json(seq, segs, n, ledger_fold_records(f));
	int sealed = seal_copy(x, db, meta);
	db = NULL;
	if (sealed != 0)
		goto out;
	STEP(x, SETTLE_STEP_SYNCED);
	if (commit_copy(x) != 0)
		goto out;
	free_last(x);
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
	STEP(x, SETTLE_STEP_COMMITTED);
	result = mark_folded(x, segs, n);
out:
	if (db)
		store_close(db);
	free(meta);
	ledger_fold_free(f);
	return result;
}

/* Fold every .ready segment. 0, -1, or SETTLE_STOPPED. */
static int fold_all(struct run *x)
{
	int result = 0;
	char **ready;
	size_t nready = spool_list(x->spool_dir, ".ready", &ready);
	char **todo = xcalloc(nready ? nready : 1, sizeof(char *));
	char **done = xcalloc(nready ? nready : 1, sizeof(char *));
	size_t ntodo = 0, ndone = 0;
	for (size_t i = 0; i < nready; i++) {
		if (in_list(x->last_segs, x->nlast, ready[i]))
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

/* ------------------------------------------------------------ pushing */

void settle_sign(const char *secret, const char *ts, const char *body, size_t len, char out[SETTLE_SIG_LEN])
{
	unsigned char mac[SHA256_DIGEST_LEN];
	size_t tl = strlen(ts);
	char *msg = xmalloc(tl + 1 + len);
	memcpy(msg, ts, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	hmac_sha256(secret, strlen(secret), msg, tl + 1 + len, mac);
	free(msg);
	memcpy(out, "sha256=", 7);
	hex_encode(mac, sizeof(mac), out + 7);
}

void settle_batch_id(const char *segment, long index, char out[SETTLE_BATCH_ID_MAX])
{
	snprintf(out, SETTLE_BATCH_ID_MAX, "%.*s.%ld", SPOOL_NAME_MAX, segment, index);
}

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *user)
{
	size_t *seen = user;
	(void)p;
	*seen += size * nmemb;
	return *seen > SETTLE_RESPONSE_MAX ? 0 : size * nmemb;
}

/* POST one batch once. Returns the HTTP status, or 0 with why filled in. */
static long post_once(struct run *x, const char *id, const char *body, size_t len, char *why, size_t whylen)
{
	const struct settle_opts *o = x->o;
	char ts[32], sig[SETTLE_SIG_LEN], h_ts[64], h_sig[SETTLE_SIG_LEN + 32], h_id[SETTLE_BATCH_ID_MAX + 32];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	size_t seen = 0;
	long status = 0;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	settle_sign(o->secret, ts, body, len, sig);
	snprintf(h_ts, sizeof(h_ts), "X-Llmgate-Timestamp: %s", ts);
	snprintf(h_sig, sizeof(h_sig), "X-Llmgate-Signature: %s", sig);
	snprintf(h_id, sizeof(h_id), "X-Llmgate-Batch-Id: %s", id);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, h_ts);
	hdrs = curl_slist_append(hdrs, h_sig);
	hdrs = curl_slist_append(hdrs, h_id);

	CURL *h = x->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "llmgate-settle/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status)) {
		snprintf(why, whylen, "%.150s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		status = 0;
	} else {
		snprintf(why, whylen, "HTTP %ld", status);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	log_scrub(why);
	return status;
}

/* POST one batch with retries. 0 accepted, 1 not. */
static int post_batch(struct run *x, const char *id, const char *body, size_t len)
{
	const struct settle_opts *o = x->o;
	long delay = o->retry_delay_ms;
	char why[200];
	for (int attempt = 0; attempt <= o->retries; attempt++) {
		if (attempt) {
			sleep_ms(delay);
			delay *= 2;
		}
		long status = post_once(x, id, body, len, why, sizeof(why));
		x->r->push_status = status;
		if (status >= 200 && status < 300) {
			x->push_ok_ms = pool_now_ms();
			return 0;
		}
		log_warn("batch %s not accepted: %s (try %d of %d)", id, why, attempt + 1, o->retries + 1);
		snprintf(x->push_error, sizeof(x->push_error), "batch %.80s: %.100s", id, why);
		/* the backend refuses it: asking again will not help this run */
		if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429)
			break;
	}
	return 1;
}

struct line_ref {
	size_t off, len;
};

/* Read a segment whole and find its records. The data is a new buffer. */
static char *load_records(const char *path, struct line_ref **lines, long *n)
{
	char *data = NULL;
	size_t len = 0;
	*lines = NULL;
	*n = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size > SETTLE_SEGMENT_MAX) {
		int e = fstat(fileno(f), &st) != 0 ? errno : EFBIG;
		fclose(f);
		errno = e;
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	len = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	data[len] = '\0';
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		size_t l = i - start;
		cJSON *j = l ? cJSON_ParseWithLength(data + start, l) : NULL;
		if (cJSON_IsObject(j)) {
			*lines = xrealloc(*lines, (size_t)(*n + 1) * sizeof(**lines));
			(*lines)[*n].off = start;
			(*lines)[*n].len = l;
			(*n)++;
		}
		cJSON_Delete(j);
		start = i + 1;
	}
	/* a last line without '\n' is not a record (see spool.h) */
	return data;
}

/* Push one .settled segment. 0 all accepted (segment deleted), 1 the
 * backend did not take a batch, -1 error, SETTLE_STOPPED. */
static int push_segment(struct run *x, const char *seg)
{
	const struct settle_opts *o = x->o;
	int result = -1;
	char *settled = seg_path(x, seg, ".settled");
	char *side = seg_path(x, seg, ".push");
	struct line_ref *lines = NULL;
	long n = 0, batch = o->batch, acked = 0;
	struct buf body;
	buf_init(&body, SETTLE_BODY_MAX);

	char *data = load_records(settled, &lines, &n);
	if (!data) {
		if (errno == ENOENT) {
			result = 0;
		} else {
			fail(x, "cannot read segment %s: %s", settled, strerror(errno));
		}
		goto out;
	}
	int pr = read_push_file(side, &batch, &acked);
	if (pr != 1) {
		if (pr < 0)
			log_warn("%s is unreadable; pushing segment %s from its start", side, seg);
		batch = o->batch;
		acked = 0;
		/* fix the batch size of this segment before its first batch
		 * leaves, so that a batch id always names the same records */
		if (write_push_file(x, seg, batch, 0) != 0) {
			fail(x, "cannot write %s: %s", side, strerror(errno));
			goto out;
		}
		STEP(x, SETTLE_STEP_PLANNED);
	}
	long nb = (n + batch - 1) / batch;
	for (long i = acked; i < nb; i++) {
		char id[SETTLE_BATCH_ID_MAX];
		long first = i * batch, count = n - first < batch ? n - first : batch;
		settle_batch_id(seg, i, id);
		buf_reset(&body);
		int bad = buf_printf(&body, "{\"batch_id\":\"%s\",\"source\":\"llmgate\",\"records\":[", id);
		for (long k = 0; k < count && !bad; k++) {
			const struct line_ref *l = &lines[first + k];
			bad = (k && buf_append(&body, ",", 1)) || buf_append(&body, data + l->off, l->len);
		}
		if (bad || buf_puts(&body, "]}")) {
			fail(x, "batch %s is over %u bytes; lower [settle] batch", id, SETTLE_BODY_MAX);
			goto out;
		}
		if (post_batch(x, id, body.data, body.len) != 0) {
			x->r->push_failed = 1;
			result = 1;
			goto out;
		}
		log_info("batch %s accepted (%ld records)", id, count);
		STEP(x, SETTLE_STEP_SENT);
		if (write_push_file(x, seg, batch, i + 1) != 0) {
			fail(x, "cannot write %s: %s", side, strerror(errno));
			goto out;
		}
		x->r->pushed_batches++;
		x->r->pushed_records += count;
		STEP(x, SETTLE_STEP_ACKED);
	}
	if (segment_done(x, settled, seg) != 0 && errno != ENOENT) {
		fail(x, "cannot %s %s: %s", o->archive ? "archive" : "delete", settled, strerror(errno));
		goto out;
	}
	STEP(x, SETTLE_STEP_DELETED);
	unlink(side);
	result = 0;
out:
	buf_free(&body);
	free(data);
	free(lines);
	free(settled);
	free(side);
	return result;
}

/* Push every .settled segment, oldest first, until one is not taken. */
static int push_all(struct run *x)
{
	int result = 0;
	char **list;
	size_t n = spool_list(x->spool_dir, ".settled", &list);
	if (n) {
		x->curl = curl_easy_init();
		if (!x->curl) {
			fail(x, "cannot start libcurl");
			result = -1;
		}
	}
	for (size_t i = 0; result == 0 && i < n; i++)
		result = push_segment(x, list[i]);
	spool_free_list(list, n);
	return result;
}

/* Leftovers of a killed run: .push files whose segment is gone (killed
 * between the two unlinks) and half-written .tmp files. With the lock held. */
static void drop_leftovers(struct run *x)
{
	char **list;
	size_t n = spool_list(x->spool_dir, ".push.tmp", &list);
	for (size_t i = 0; i < n; i++) {
		char *tmp = seg_path(x, list[i], ".push.tmp");
		unlink(tmp);
		free(tmp);
	}
	spool_free_list(list, n);
	char *state_tmp = xasprintf("%s/%s.tmp", x->spool_dir, SETTLE_STATE_FILE);
	unlink(state_tmp);
	free(state_tmp);
	n = spool_list(x->spool_dir, ".push", &list);
	for (size_t i = 0; i < n; i++) {
		char *settled = seg_path(x, list[i], ".settled");
		char *side = seg_path(x, list[i], ".push");
		struct stat st;
		if (stat(settled, &st) != 0 && errno == ENOENT)
			unlink(side);
		free(settled);
		free(side);
	}
	spool_free_list(list, n);
}

/* ------------------------------------------------------------ counting */

/* Count the records of each segment with suffix; with_push: subtract what
 * the backend accepted. Updates *oldest (0: none yet). */
static void count_state(const struct run *x, const char *suffix, int with_push, struct settle_count *c,
			long *accepted, int64_t *oldest)
{
	char **list;
	size_t n = spool_list(x->spool_dir, suffix, &list);
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		char *path = seg_path(x, list[i], suffix);
		struct count_ctx cc = { 0, 0, 0 };
		long acc = 0;
		spool_read(path, count_cb, &cc, NULL);
		if (with_push) {
			acc = accepted_records(x, list[i], cc.n);
			if (acc >= cc.n) {
				cc.ts = 0;   /* all accepted: nothing old here */
			} else if (acc > 0) {
				struct count_ctx c2 = { 0, acc, 0 };
				spool_read(path, count_cb, &c2, NULL);
				cc.ts = c2.ts;
			}
		}
		free(path);
		c->segments++;
		c->records += cc.n;
		if (accepted)
			*accepted += acc;
		if (cc.ts && (!*oldest || cc.ts < *oldest))
			*oldest = cc.ts;
	}
	spool_free_list(list, n);
}

static void backlog(struct run *x)
{
	struct settle_count ready, settled;
	long accepted = 0;
	int64_t oldest = 0;
	count_state(x, ".ready", 0, &ready, NULL, &oldest);
	count_state(x, ".settled", 1, &settled, &accepted, &oldest);
	x->r->backlog_segments = ready.segments + settled.segments;
	x->r->backlog_records = ready.records + settled.records - accepted;
	if (!x->keep_settled && settled.segments)
		x->r->no_backend_waiting = 1;
}

/* ------------------------------------------------------------ dry run */

static int dry_run(struct run *x)
{
	const struct settle_opts *o = x->o;
	char **ready;
	size_t nready = spool_list(x->spool_dir, ".ready", &ready);
	long push_batches = 0, push_records = 0;
	for (size_t i = 0; i < nready; i++) {
		if (in_list(x->last_segs, x->nlast, ready[i]))
			continue;   /* in the ledger already */
		struct ledger_fold *f = ledger_fold_new();
		long bad = 0;
		if (fold_read(x, x->spool_dir, ".ready", &ready[i], 1, f, &bad) == 0) {
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
		char *path = seg_path(x, settled[i], ".settled");
		char *side = seg_path(x, settled[i], ".push");
		struct count_ctx cc = { 0, -1, 0 };
		long batch = o->batch, acked = 0;
		spool_read(path, count_cb, &cc, NULL);
		if (read_push_file(side, &batch, &acked) != 1)
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

/* ------------------------------------------------------------ run */

void settle_opts_from_config(struct settle_opts *o, const struct config *c)
{
	memset(o, 0, sizeof(*o));
	o->state_dir = c->state_dir;
	o->backend_url = c->settle_backend_url;
	o->backend_path = c->settle_backend_path;
	o->secret = c->settle_secret;
	o->batch = c->settle_batch > 0 ? c->settle_batch : 100;
	o->retries = c->settle_retries >= 0 ? c->settle_retries : 3;
	o->archive = c->settle_archive;
	o->retry_delay_ms = 200;
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 30000;
}

static int take_lock(struct run *x, int *fd)
{
	char *path = xasprintf("%s/%s", x->spool_dir, SETTLE_LOCK_FILE);
	int result = -1;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		fail(x, "cannot open %s: %s", path, strerror(errno));
	} else if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
		result = 0;
	} else if (errno == EWOULDBLOCK) {
		result = 1;
	} else {
		fail(x, "cannot lock %s: %s", path, strerror(errno));
	}
	free(path);
	return result;
}

/* x for a run of o reporting into r (zeroed), with its paths. */
static void run_init(struct run *x, const struct settle_opts *o, struct settle_result *r)
{
	memset(r, 0, sizeof(*r));
	memset(x, 0, sizeof(*x));
	x->o = o;
	x->r = r;
	x->spool_dir = xasprintf("%s/spool", o->state_dir);
	x->ledger = ledger_path(o->state_dir);
	x->tmp = xasprintf("%s.tmp", x->ledger);
}

int settle_run(const struct settle_opts *o, struct settle_result *r)
{
	int result = SETTLE_EXIT_ERROR, lock_fd = -1, rc;
	struct run x;
	struct stat st;
	struct run_state rs;

	run_init(&x, o, r);
	x.keep_settled = is_set(o->backend_url);
	if (x.keep_settled)
		x.url = xasprintf("%s%s", o->backend_url, is_set(o->backend_path) ? o->backend_path : "");
	if (o->batch < 1) {
		fail(&x, "the batch size must be at least 1");
		goto out;
	}

	if (stat(o->state_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fail(&x, "state directory %s is not a directory", o->state_dir);
		goto out;
	}
	if (stat(o->state_dir, &st) != 0) {
		if (errno == ENOENT) {
			log_info("no state directory %s: nothing to settle", o->state_dir);
			result = SETTLE_EXIT_OK;
		} else {
			fail(&x, "cannot use state directory %s: %s", o->state_dir, strerror(errno));
		}
		goto out;
	}
	if (stat(x.spool_dir, &st) != 0) {
		if (errno != ENOENT) {
			fail(&x, "cannot use %s: %s", x.spool_dir, strerror(errno));
			goto out;
		}
		if (o->dry_run) {
			result = SETTLE_EXIT_OK;
			goto out;
		}
		if (mkdir(x.spool_dir, 0700) != 0 && errno != EEXIST) {
			fail(&x, "cannot create %s: %s", x.spool_dir, strerror(errno));
			goto out;
		}
	}
	if (!o->dry_run) {
		rc = take_lock(&x, &lock_fd);
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
	STEP(&x, SETTLE_STEP_CLAIMED);
	/* never fold onto (nor push away the segments of) a ledger that cannot
	 * be read whole: its totals would restart from zero */
	char why[400];
	if (store_check(x.ledger, NULL, why, sizeof(why)) < 0) {
		int locked = errno == EAGAIN;
		fail(&x, "%s; nothing folded or pushed (see llmgate-settle --verify)", why);
		result = locked ? SETTLE_EXIT_ERROR : SETTLE_EXIT_DAMAGED;
		goto out;
	}
	if (read_last(x.ledger, &x.last_seq, NULL, &x.last_segs, &x.nlast) != 0) {
		fail(&x, "cannot read %s: %s", x.ledger, store_strerror(errno));
		goto out;
	}
	if (o->dry_run) {
		result = dry_run(&x);
		goto out;
	}

	result = SETTLE_EXIT_OK;
	rc = fold_all(&x);
	if (rc == SETTLE_STOPPED) {
		result = rc;
		goto out;
	}
	if (rc != 0)
		result = SETTLE_EXIT_ERROR;   /* push what is settled all the same */
	if (x.keep_settled && !is_set(o->secret)) {
		fail(&x, "BACKEND_URL is set but INTERNAL_SECRET is not: batches cannot be signed; records kept");
		result = SETTLE_EXIT_ERROR;
	} else if (x.keep_settled) {
		rc = push_all(&x);
		if (rc == SETTLE_STOPPED) {
			result = rc;
			goto out;
		}
		if (rc < 0)
			result = SETTLE_EXIT_ERROR;
		else if (rc > 0 && result == SETTLE_EXIT_OK)
			result = SETTLE_EXIT_TEMPFAIL;
		if (rc > 0)
			fail(&x, "billing backend did not accept every batch (%s); records kept for the next run",
			     x.push_error);
	}
	backlog(&x);

	read_state(x.spool_dir, &rs);
	rs.last_run = pool_now_ms();
	if (x.push_ok_ms)
		rs.last_push_ok = x.push_ok_ms;
	if (r->push_failed) {
		snprintf(rs.last_error, sizeof(rs.last_error), "%s", x.push_error);
		rs.last_error_at = rs.last_run;
	} else if (x.push_ok_ms) {
		rs.last_error[0] = '\0';
		rs.last_error_at = 0;
	}
	write_state(x.spool_dir, &rs);
out:
	if (x.curl)
		curl_easy_cleanup(x.curl);
	if (lock_fd >= 0)
		close(lock_fd);   /* releases the lock */
	free_last(&x);
	free(x.spool_dir);
	free(x.ledger);
	free(x.tmp);
	free(x.url);
	return result;
}

/* ------------------------------------------------------------ status */

int settle_status(const struct settle_opts *o, struct settle_status *st, char *err, size_t errlen)
{
	struct run x;
	struct settle_result r;
	struct run_state rs;
	int result = -1;
	memset(st, 0, sizeof(*st));
	run_init(&x, o, &r);
	st->backend = is_set(o->backend_url);
	if (read_last(x.ledger, &st->ledger_seq, &st->ledger_commit_ms, NULL, NULL) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", x.ledger, strerror(errno));
		goto out;
	}
	count_state(&x, ".open", 0, &st->open, NULL, &st->oldest_ms);
	count_state(&x, ".ready", 0, &st->ready, NULL, &st->oldest_ms);
	count_state(&x, ".settled", 1, &st->settled, &st->settled_accepted, &st->oldest_ms);
	st->backlog_records = st->ready.records + st->settled.records - st->settled_accepted;
	read_state(x.spool_dir, &rs);
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

/* ------------------------------------------------------------ dump */

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

int settle_dump_ledger(const char *state_dir, FILE *out, char *err, size_t errlen)
{
	struct dump_ctx d = { NULL, 0 };
	char *path = ledger_path(state_dir);
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

/* ------------------------------------------------------------ verify */

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

/* ------------------------------------------------------------ rebuild */

/* Fold dir/names[i].settled into db, SETTLE_FOLD_SEGMENTS at a time, one
 * seq each. 0 or -1 (r->error). */
static int rebuild_fold(struct run *x, GDBM_FILE db, const char *dir, char **names, size_t n, long long *seq,
			long *records)
{
	for (size_t i = 0; i < n; i += SETTLE_FOLD_SEGMENTS) {
		size_t k = n - i < SETTLE_FOLD_SEGMENTS ? n - i : SETTLE_FOLD_SEGMENTS;
		struct ledger_fold *f = ledger_fold_new();
		long bad = 0;
		int r = fold_read(x, dir, ".settled", names + i, k, f, &bad);
		if (r == 0 && ledger_fold_apply(f, db, ++*seq) < 0) {
			fail(x, "cannot write %s: %s", x->tmp, gdbm_strerror(gdbm_errno));
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
static int rebuild_commit(struct run *x, FILE *out)
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
		fail(x, "cannot create %s: %s", x->tmp, store_strerror(errno));
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
		fail(x, "cannot keep the old ledger as %s: %s", kept, strerror(errno));
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
	struct run x;
	struct settle_result r;
	char why[400];
	run_init(&x, o, &r);
	if (mkdir(x.spool_dir, 0700) != 0 && errno != EEXIST) {
		fail(&x, "cannot create %s: %s", x.spool_dir, strerror(errno));
		goto out;
	}
	int rc = take_lock(&x, &lock_fd);
	if (rc != 0) {
		if (rc > 0)
			fail(&x, "another settle run is in progress; try again when it is done");
		goto out;
	}
	if (store_check(x.ledger, NULL, why, sizeof(why)) == 0 && !force) {
		fail(&x, "%s reads whole: a rebuild would keep only the records still on disk (--force to rebuild anyway)",
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
