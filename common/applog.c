/* applog.c — the prompt apps' call log (applog.h). */
#include "autoconf.h"
#include "applog.h"
#include "buf.h"
#include "log.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define APPLOG_READ_MAX (1LL << 30)

static char *log_path(const char *state_dir, const char *app)
{
	return xasprintf("%s/apps/%s.log", state_dir, app);
}

/* The log opened and locked (exclusive or shared), the very file at its
 * path (a trim may have replaced it while we waited): fd, or -1. */
static int open_locked(const char *path, int flags, int how)
{
	for (int tries = 0; tries < 8; tries++) {
		int fd = open(path, flags | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		struct stat a, b;
		if (flock(fd, how) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

static void iso_time(int64_t ms, char *out, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char sec[32];
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", sec, (int)(ms % 1000));
}

/* The entry as one JSON line, scrubbed (a new string with its newline). */
static char *entry_line(const struct applog_entry *e)
{
	char when[48];
	iso_time(e->ts_ms, when, sizeof(when));
	cJSON *o = cJSON_CreateObject();
	char *key = xasprintf("%s:%s", e->client ? e->client : "-", when);
	cJSON_AddStringToObject(o, "key", key);
	free(key);
	cJSON_AddNumberToObject(o, "ts", (double)e->ts_ms);
	cJSON_AddStringToObject(o, "client", e->client ? e->client : "-");
	if (e->request_id)
		cJSON_AddStringToObject(o, "request_id", e->request_id);
	if (e->address)
		cJSON_AddStringToObject(o, "address", e->address);
	if (e->key_id)
		cJSON_AddStringToObject(o, "key_id", e->key_id);
	cJSON_AddNumberToObject(o, "status", e->status);
	if (e->input)
		cJSON_AddItemToObject(o, "input", cJSON_Duplicate(e->input, 1));
	if (e->answer)
		cJSON_AddStringToObject(o, "answer", e->answer);
	if (e->error)
		cJSON_AddStringToObject(o, "error", e->error);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* secrets in the JSON text: what the scrubber cuts never holds a quote
	 * or backslash, so the line stays valid JSON */
	log_scrub(text);
	char *line = xasprintf("%s\n", text);
	free(text);
	return line;
}

int applog_append(const char *state_dir, const char *app, const struct applog_entry *e)
{
	char *dir = xasprintf("%s/apps", state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		log_err("app log: cannot create %s: %s", dir, strerror(errno));
	free(dir);
	char *path = log_path(state_dir, app);
	char *line = entry_line(e);
	int rc = -1;
	int fd = open_locked(path, O_WRONLY | O_APPEND | O_CREAT, LOCK_EX);
	if (fd >= 0) {
		size_t n = strlen(line);
		rc = write(fd, line, n) == (ssize_t)n ? 0 : -1;
		close(fd);
	}
	if (rc != 0)
		log_err("app log %s: entry not written: %s", app, strerror(errno));
	free(line);
	free(path);
	return rc;
}

/* The whole file (NUL-terminated) from fd; NULL on error. */
static char *read_all(int fd, size_t *len)
{
	struct buf b;
	buf_init(&b, (size_t)APPLOG_READ_MAX);
	for (;;) {
		size_t room;
		char *at = buf_room(&b, 65536, &room);
		if (!at) {
			buf_free(&b);
			return NULL;
		}
		ssize_t n = read(fd, at, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_free(&b);
			return NULL;
		}
		if (n == 0)
			break;
		buf_added(&b, (size_t)n);
	}
	*len = b.len;
	return buf_steal(&b);
}

/* "ts" of a line, without parsing the whole line; -1 if none. */
static long long line_ts(const char *line)
{
	const char *t = strstr(line, "\"ts\":");
	return t ? strtoll(t + 5, NULL, 10) : -1;
}

/* Where the kept part of text starts: lines older than cutoff dropped,
 * then the oldest until what is left is at most max bytes. */
static size_t keep_from(const char *text, size_t len, long long cutoff, long long max)
{
	size_t at = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t next = nl ? (size_t)(nl - text) + 1 : len;
		if (line_ts(text + at) >= cutoff && (long long)(len - at) <= max)
			break;
		at = next;
	}
	return at;
}

int applog_trim(const char *state_dir, const char *app, long days, long long max_bytes, int64_t now_ms)
{
	char *path = log_path(state_dir, app);
	int fd = open_locked(path, O_RDONLY, LOCK_EX);
	if (fd < 0) {
		int missing = errno == ENOENT;
		free(path);
		return missing ? 0 : -1;
	}
	size_t len = 0;
	char *text = read_all(fd, &len);
	int rc = -1;
	if (text) {
		long long cutoff = days > 0 ? now_ms - (long long)days * 86400000LL : now_ms + 1;
		size_t from = keep_from(text, len, cutoff, max_bytes);
		rc = 0;
		if (from > 0) {
			char *tmp = xasprintf("%s.tmp", path);
			int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			rc = out >= 0 && write(out, text + from, len - from) == (ssize_t)(len - from) ? 0 : -1;
			if (out >= 0 && close(out) != 0)
				rc = -1;
			if (rc == 0 && rename(tmp, path) != 0)
				rc = -1;
			if (rc != 0) {
				log_err("app log %s: not trimmed: %s", app, strerror(errno));
				unlink(tmp);
			}
			free(tmp);
		}
	}
	free(text);
	close(fd);
	free(path);
	return rc;
}

static int line_matches(const cJSON *o, const char *line, const char *client, const char *q)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "client");
	if (client && (!cJSON_IsString(c) || strcmp(c->valuestring, client)))
		return 0;
	return !q || !*q || strstr(line, q) != NULL;
}

cJSON *applog_query(const char *state_dir, const char *app, const char *client, const char *q, long offset,
		    long limit, char *err, size_t errlen)
{
	char *path = log_path(state_dir, app);
	int fd = open_locked(path, O_RDONLY, LOCK_SH);
	free(path);
	cJSON *res = cJSON_CreateObject();
	cJSON *entries = cJSON_AddArrayToObject(res, "entries");
	if (fd < 0 && errno != ENOENT) {
		snprintf(err, errlen, "the log of %s cannot be read: %s", app, strerror(errno));
		cJSON_Delete(res);
		return NULL;
	}
	size_t len = 0;
	char *text = fd >= 0 ? read_all(fd, &len) : xstrdup("");
	if (fd >= 0)
		close(fd);
	if (!text) {
		snprintf(err, errlen, "the log of %s cannot be read", app);
		cJSON_Delete(res);
		return NULL;
	}
	long total = 0;
	/* newest first: the lines from the end */
	for (size_t end = len; end > 0;) {
		size_t start = end - 1;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		text[end - 1] = text[end - 1] == '\n' ? '\0' : text[end - 1];
		const char *line = text + start;
		cJSON *o = cJSON_Parse(line);
		if (o && line_matches(o, line, client, q)) {
			if (total >= offset && total < offset + limit) {
				cJSON_AddItemToArray(entries, o);
				o = NULL;
			}
			total++;
		}
		cJSON_Delete(o);
		end = start;
	}
	free(text);
	cJSON_AddNumberToObject(res, "total", (double)total);
	if (offset + limit < total)
		cJSON_AddNumberToObject(res, "next_offset", (double)(offset + limit));
	else
		cJSON_AddNullToObject(res, "next_offset");
	return res;
}

long long applog_size(const char *state_dir, const char *app)
{
	char *path = log_path(state_dir, app);
	struct stat st;
	long long n = stat(path, &st) == 0 ? (long long)st.st_size : 0;
	free(path);
	return n;
}
