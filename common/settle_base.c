/* settle_base.c — the run context, side files, meta:last, counting and the lock of settlement (settle_base.h). */
#include "autoconf.h"
#include "settle_base.h"
#include "ledger.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3)))
void settle_fail(struct settle_ctx *x, const char *fmt, ...)
{
	va_list ap;
	if (x->r->error[0])
		return;   /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(x->r->error, sizeof(x->r->error), fmt, ap);
	va_end(ap);
	log_scrub(x->r->error);
}

int settle_is_set(const char *s)
{
	return s && *s;
}

/* Write data to dir/name through dir/name.tmp and a rename; durable: fsync
 * the file and the directory. 0 or -1 (errno). */
int settle_write_atomic(const char *dir, const char *name, const char *data, size_t len, int durable)
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

char *settle_seg_path(const struct settle_ctx *x, const char *name, const char *suffix)
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

int settle_count_cb(const char *line, size_t len, void *user)
{
	struct settle_count_ctx *c = user;
	if (!looks_like_record(line, len))
		return 0;
	if (c->n == c->want)
		c->ts = record_ts(line, len);
	c->n++;
	return 0;
}

/* "<segment>.push": {"batch":B,"acked":A}. 1 read, 0 none, -1 malformed. */
int settle_read_push_file(const char *path, long *batch, long *acked)
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

/* Records of a .settled segment the backend already has. */
static long accepted_records(const struct settle_ctx *x, const char *seg, long total)
{
	long batch, acked;
	char *path = settle_seg_path(x, seg, ".push");
	int r = settle_read_push_file(path, &batch, &acked);
	free(path);
	if (r != 1)
		return 0;
	long n = batch * acked;
	return n < total ? n : total;
}

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

void settle_read_state(const char *spool_dir, struct settle_runstate *s)
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

void settle_write_state(const char *spool_dir, const struct settle_runstate *s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "last_run", (double)s->last_run);
	cJSON_AddNumberToObject(j, "last_push_ok", (double)s->last_push_ok);
	cJSON_AddStringToObject(j, "last_error", s->last_error);
	cJSON_AddNumberToObject(j, "last_error_at", (double)s->last_error_at);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (settle_write_atomic(spool_dir, SETTLE_STATE_FILE, text, strlen(text), 0) != 0)
		log_warn("cannot write %s/%s: %s", spool_dir, SETTLE_STATE_FILE, strerror(errno));
	free(text);
}

void settle_free_last(struct settle_ctx *x)
{
	spool_free_list(x->last_segs, x->nlast);
	x->last_segs = NULL;
	x->nlast = 0;
}

/* Read meta:last from ledger.db. 0 (also when there is no ledger), -1. */
int settle_read_last(const char *ledger, long long *seq, int64_t *at, char ***segs, size_t *nsegs)
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

int settle_in_list(char **list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(list[i], name))
			return 1;
	}
	return 0;
}

/* Count the records of each segment with suffix; with_push: subtract what
 * the backend accepted. Updates *oldest (0: none yet). */
void settle_count_state(const struct settle_ctx *x, const char *suffix, int with_push, struct settle_count *c,
			long *accepted, int64_t *oldest)
{
	char **list;
	size_t n = spool_list(x->spool_dir, suffix, &list);
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		char *path = settle_seg_path(x, list[i], suffix);
		struct settle_count_ctx cc = { 0, 0, 0 };
		long acc = 0;
		spool_read(path, settle_count_cb, &cc, NULL);
		if (with_push) {
			acc = accepted_records(x, list[i], cc.n);
			if (acc >= cc.n) {
				cc.ts = 0;   /* all accepted: nothing old here */
			} else if (acc > 0) {
				struct settle_count_ctx c2 = { 0, acc, 0 };
				spool_read(path, settle_count_cb, &c2, NULL);
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

void settle_opts_from_config(struct settle_opts *o, const struct config *c)
{
	memset(o, 0, sizeof(*o));
	o->state_dir = c->state_dir;
	o->backend_url = c->settle_backend_url;
	o->backend_path = c->settle_backend_path;
	o->secret = c->settle_secret;
	o->database = c->settle_database;
	o->batch = c->settle_batch > 0 ? c->settle_batch : 100;
	o->retries = c->settle_retries >= 0 ? c->settle_retries : 3;
	o->archive = c->settle_archive;
	o->retry_delay_ms = 200;
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 30000;
}

int settle_take_lock(struct settle_ctx *x, int *fd)
{
	char *path = xasprintf("%s/%s", x->spool_dir, SETTLE_LOCK_FILE);
	int result = -1;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		settle_fail(x, "cannot open %s: %s", path, strerror(errno));
	} else if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
		result = 0;
	} else if (errno == EWOULDBLOCK) {
		result = 1;
	} else {
		settle_fail(x, "cannot lock %s: %s", path, strerror(errno));
	}
	free(path);
	return result;
}

/* x for a run of o reporting into r (zeroed), with its paths. */
void settle_ctx_init(struct settle_ctx *x, const struct settle_opts *o, struct settle_result *r)
{
	memset(r, 0, sizeof(*r));
	memset(x, 0, sizeof(*x));
	x->o = o;
	x->r = r;
	x->spool_dir = xasprintf("%s/spool", o->state_dir);
	x->ledger = ledger_path(o->state_dir);
	x->tmp = xasprintf("%s.tmp", x->ledger);
}

char *settle_load_records(const char *path, struct settle_line **lines, long *n)
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
