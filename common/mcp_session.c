/* mcp_session.c — the MCP sessions of a router process (mcp_session.h). */
#include "autoconf.h"
#include "mcp_session.h"
#include "auth.h"
#include "buf.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "xmalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX (8u << 20)   /* answers waiting for a stream */

struct session {
	char id[MCP_SESSION_ID_LEN + 1];
	char key_id[AUTH_ID_MAX];
	char version[MCP_VERSION_MAX];
	int stream;               /* HTTP+SSE: a thread holds its stream */
	int ended;
	int64_t used_ms;
	struct buf queue;         /* SSE events for the stream */
};

struct mcp_sessions {
	char *dir;                /* state_dir/run/mcp: Streamable HTTP sessions, a file each */
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* a queue got something, or a session ended */
	struct session **v;
	size_t n;
};

struct mcp_sessions *mcp_sessions_new(const char *state_dir)
{
	struct mcp_sessions *t = xcalloc(1, sizeof(*t));
	char *run = xasprintf("%s/run", state_dir);
	t->dir = xasprintf("%s/mcp", run);
	if ((mkdir(run, 0700) != 0 && errno != EEXIST) || (mkdir(t->dir, 0700) != 0 && errno != EEXIST))
		log_err("MCP sessions: cannot create %s: %s", t->dir, strerror(errno));
	free(run);
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	return t;
}

static void session_free(struct session *s)
{
	buf_free(&s->queue);
	free(s);
}

void mcp_sessions_free(struct mcp_sessions *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		session_free(t->v[i]);
	free(t->v);
	free(t->dir);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* With mu held: the live session id (of key_id, when not NULL). */
static struct session *find(struct mcp_sessions *t, const char *id, const char *key_id)
{
	for (size_t i = 0; i < t->n; i++) {
		struct session *s = t->v[i];
		if (!s->ended && !strcmp(s->id, id))
			return !key_id || !strcmp(s->key_id, key_id) ? s : NULL;
	}
	return NULL;
}

/* With mu held: drop ended sessions nobody waits on. */
static void sweep(struct mcp_sessions *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i]->ended && !t->v[i]->stream)
			session_free(t->v[i]);
		else
			t->v[k++] = t->v[i];
	}
	t->n = k;
}

/* ------------------------------------------------ the file of a session */

static int id_ok(const char *id)
{
	size_t n = 0;
	while (n <= MCP_SESSION_ID_LEN && ((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
		n++;
	return n == MCP_SESSION_ID_LEN && !id[n];
}

static void set_used(const char *path, int64_t now_ms)
{
	struct timespec ts[2] = { { now_ms / 1000, (now_ms % 1000) * 1000000L }, { now_ms / 1000, (now_ms % 1000) * 1000000L } };
	utimensat(AT_FDCWD, path, ts, 0);
}

static int file_new(struct mcp_sessions *t, const char *id, const char *key_id, const char *version, int64_t now_ms)
{
	char *path = xasprintf("%s/%s", t->dir, id);
	char *text = xasprintf("%s\n%s\n", key_id, version ? version : "");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (rc == 0)
		set_used(path, now_ms);
	else if (fd >= 0)
		unlink(path);
	free(text);
	free(path);
	return rc;
}

/* 1 when id's file names key_id (its version into version; marked used
 * when now_ms is not 0, at most once a minute), else 0. */
static int file_get(struct mcp_sessions *t, const char *id, const char *key_id, int64_t now_ms,
		    char version[MCP_VERSION_MAX])
{
	if (!id_ok(id))
		return 0;
	char *path = xasprintf("%s/%s", t->dir, id);
	char text[AUTH_ID_MAX + MCP_VERSION_MAX + 4] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	struct stat st;
	int have_st = fd >= 0 && fstat(fd, &st) == 0;
	if (fd >= 0)
		close(fd);
	int found = 0;
	if (n > 0) {
		text[n] = '\0';
		char *nl = strchr(text, '\n');
		char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
		if (nl2) {
			*nl = *nl2 = '\0';
			found = !strcmp(text, key_id);
			if (found && version)
				snprintf(version, MCP_VERSION_MAX, "%s", nl + 1);
		}
	}
	if (found && now_ms && have_st && now_ms - ((int64_t)st.st_mtim.tv_sec * 1000) > 60000)
		set_used(path, now_ms);
	free(path);
	return found;
}

int mcp_session_new(struct mcp_sessions *t, const char *key_id, const char *version, int stream, int per_key,
		    int max, int64_t now_ms, char id[MCP_SESSION_ID_LEN + 1])
{
	unsigned char rnd[MCP_SESSION_ID_LEN / 2];
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (!stream)
		return file_new(t, id, key_id, version, now_ms);
	pthread_mutex_lock(&t->mu);
	sweep(t);
	int mine = 0, all = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i]->stream && !t->v[i]->ended) {
			all++;
			mine += !strcmp(t->v[i]->key_id, key_id);
		}
	}
	int rc = -1;
	if (t->n < MCP_SESSIONS_MAX && mine < per_key && all < max) {
		struct session *s = xcalloc(1, sizeof(*s));
		memcpy(s->id, id, MCP_SESSION_ID_LEN + 1);
		snprintf(s->key_id, sizeof(s->key_id), "%s", key_id);
		snprintf(s->version, sizeof(s->version), "%s", version ? version : "");
		s->stream = stream;
		s->used_ms = now_ms;
		buf_init(&s->queue, QUEUE_MAX);
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = s;
		rc = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int mcp_session_get(struct mcp_sessions *t, const char *id, const char *key_id, int64_t now_ms,
		    char version[MCP_VERSION_MAX])
{
	pthread_mutex_lock(&t->mu);
	struct session *s = find(t, id, key_id);
	if (s) {
		s->used_ms = now_ms;
		if (version)
			memcpy(version, s->version, MCP_VERSION_MAX);
	}
	pthread_mutex_unlock(&t->mu);
	return s != NULL || file_get(t, id, key_id, now_ms, version);
}

void mcp_session_set_version(struct mcp_sessions *t, const char *id, const char *version)
{
	pthread_mutex_lock(&t->mu);
	struct session *s = find(t, id, NULL);
	if (s)
		snprintf(s->version, sizeof(s->version), "%s", version);
	pthread_mutex_unlock(&t->mu);
}

int mcp_session_end(struct mcp_sessions *t, const char *id, const char *key_id)
{
	pthread_mutex_lock(&t->mu);
	struct session *s = find(t, id, key_id);
	if (s)
		s->ended = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	if (s)
		return 1;
	if (!file_get(t, id, key_id, 0, NULL))
		return 0;
	char *path = xasprintf("%s/%s", t->dir, id);
	int gone = unlink(path) == 0;
	free(path);
	return gone;
}

int mcp_session_push(struct mcp_sessions *t, const char *id, const char *key_id, const char *text)
{
	pthread_mutex_lock(&t->mu);
	struct session *s = find(t, id, key_id);
	int rc = s && s->stream && buf_printf(&s->queue, "event: message\ndata: %s\n\n", text) == 0 ? 0 : -1;
	if (rc == 0) {
		s->used_ms = pool_now_ms();
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

char *mcp_session_wait(struct mcp_sessions *t, const char *id, int wait_ms, long idle_ms, int *ended)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	char *out = NULL;
	*ended = 0;
	pthread_mutex_lock(&t->mu);
	struct session *s = NULL;
	for (size_t i = 0; i < t->n && !s; i++)
		if (!strcmp(t->v[i]->id, id))
			s = t->v[i];
	while (s && !s->ended && !s->queue.len) {
		if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT)
			break;
	}
	if (!s || s->ended || (!s->queue.len && pool_now_ms() - s->used_ms >= idle_ms)) {
		*ended = 1;
		if (s) {
			s->ended = 1;
			s->stream = 0;   /* the sweep may take it */
		}
	} else if (s->queue.len) {
		out = buf_steal(&s->queue);
		buf_init(&s->queue, QUEUE_MAX);
	}
	pthread_mutex_unlock(&t->mu);
	return out;
}

void mcp_session_stream_closed(struct mcp_sessions *t, const char *id)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		if (!strcmp(t->v[i]->id, id)) {
			t->v[i]->ended = 1;
			t->v[i]->stream = 0;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

void mcp_sessions_expire(struct mcp_sessions *t, int64_t now_ms, long idle_ms)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++) {
		struct session *s = t->v[i];
		if (!s->stream && now_ms - s->used_ms >= idle_ms)
			s->ended = 1;
	}
	sweep(t);
	pthread_mutex_unlock(&t->mu);
	DIR *d = opendir(t->dir);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		struct stat st;
		if (!id_ok(e->d_name) || fstatat(dirfd(d), e->d_name, &st, 0) != 0)
			continue;
		int64_t used = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		if (now_ms - used >= idle_ms)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
}
