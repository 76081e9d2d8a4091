/* metrics.c — the shared counters behind GET /metrics (see metrics.h). */
#include "autoconf.h"
#include "metrics.h"
#include "filter.h"
#include "shmfile.h"
#include "xmalloc.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS_MAGIC "LGMETR01"

const double metrics_bucket_s[METRICS_BUCKETS] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320 };

struct ms_file {
	char magic[8];
	uint32_t size;
	uint32_t pad;
	uint64_t dropped;
	struct metrics_series series[METRICS_SERIES];
	struct metrics_fail fails[METRICS_FAILS];
	struct metrics_key keys[METRICS_KEYS];
};

static struct shmfile seg;
static struct ms_file *mf;
static int opened = 0;          /* 0: not yet, 1: mapped, -1: failed */
static char open_err[256];

/* This thread's request, as the tap saw it. */
static __thread struct {
	char provider[METRICS_PROVIDER_MAX];
	char model[METRICS_MODEL_MAX];
	long tokens_in, tokens_out, ttfb_ms;
	int cache_hit;
} cur;

static void tap_end(const struct filter_ctx *fc, int status, const struct usage *u)
{
	(void)status;
	const struct usage_record *rec = fc->rec;
	metrics_request_relayed(rec ? rec->provider : NULL, rec && rec->model && *rec->model ? rec->model : fc->model,
				u ? u->prompt : 0, u ? u->completion : 0,
				rec ? rec->ttfb_ms : 0, rec ? rec->cache_hit : 0);
}

static const struct tap metrics_tap = { "metrics", NULL, tap_end };

int metrics_open(const char *state_dir, char *err, size_t errlen)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&once);
	if (!opened) {
		if (shmfile_open(&seg, state_dir, "metrics.shm", MS_MAGIC, sizeof(struct ms_file), 1, open_err,
				 sizeof(open_err)) == 0) {
			mf = seg.map;
			opened = 1;
			filter_add_tap(&metrics_tap);
		} else {
			opened = -1;
		}
	}
	int r = opened == 1 ? 0 : -1;
	if (r)
		snprintf(err, errlen, "%s", open_err);
	pthread_mutex_unlock(&once);
	return r;
}

static void copy_label(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src && *src ? src : "-");
}

void metrics_request_begin(void)
{
	memset(&cur, 0, sizeof(cur));
}

void metrics_request_relayed(const char *provider, const char *model, long tokens_in, long tokens_out,
			     long ttfb_ms, int cache_hit)
{
	copy_label(cur.provider, sizeof(cur.provider), provider);
	copy_label(cur.model, sizeof(cur.model), model);
	cur.tokens_in += tokens_in > 0 ? tokens_in : 0;
	cur.tokens_out += tokens_out > 0 ? tokens_out : 0;
	if (ttfb_ms > 0)
		cur.ttfb_ms = ttfb_ms;
	cur.cache_hit |= cache_hit;
}

static uint32_t hash(const char *a, const char *b, const char *c, int n)
{
	uint32_t h = 2166136261u ^ (uint32_t)n;
	for (const char *s[] = { a, b, c }, **p = s; p < s + 3; p++)
		for (const unsigned char *q = (const unsigned char *)*p; *q; q++)
			h = (h ^ *q) * 16777619u;
	return h;
}

/* The series of these labels (made when missing), or NULL when the table
 * is full. Locked. */
static struct metrics_series *series_get(const char *route, const char *prov, const char *model, int status)
{
	uint32_t h = hash(route, prov, model, status);
	for (size_t i = 0; i < METRICS_SERIES; i++) {
		struct metrics_series *s = &mf->series[(h + i) % METRICS_SERIES];
		if (!s->used) {
			s->used = 1;
			s->status = status;
			snprintf(s->route, sizeof(s->route), "%s", route);
			snprintf(s->provider, sizeof(s->provider), "%s", prov);
			snprintf(s->model, sizeof(s->model), "%s", model);
			return s;
		}
		if (s->status == status && !strcmp(s->route, route) && !strcmp(s->provider, prov) &&
		    !strcmp(s->model, model))
			return s;
	}
	return NULL;
}

static unsigned bucket_of(long ms)
{
	unsigned b = 0;
	while (b < METRICS_BUCKETS && (double)ms / 1000.0 > metrics_bucket_s[b])
		b++;
	return b;
}

void metrics_request_end(const char *route, int status, long total_ms)
{
	if (opened != 1)
		return;
	char r[METRICS_ROUTE_MAX], p[METRICS_PROVIDER_MAX], m[METRICS_MODEL_MAX];
	copy_label(r, sizeof(r), route);
	copy_label(p, sizeof(p), cur.provider);
	copy_label(m, sizeof(m), cur.model);
	if (total_ms < 0)
		total_ms = 0;
	shmfile_lock(&seg);
	struct metrics_series *s = series_get(r, p, m, status);
	if (s) {
		s->requests++;
		s->tokens_in += (uint64_t)cur.tokens_in;
		s->tokens_out += (uint64_t)cur.tokens_out;
		s->cache_hits += cur.cache_hit != 0;
		s->lat[bucket_of(total_ms)]++;
		s->lat_sum_ms += (uint64_t)total_ms;
		if (cur.ttfb_ms > 0) {
			s->ttfb[bucket_of(cur.ttfb_ms)]++;
			s->ttfb_sum_ms += (uint64_t)cur.ttfb_ms;
		}
	} else {
		mf->dropped++;
	}
	shmfile_unlock(&seg);
	metrics_request_begin();
}

void metrics_upstream_failure(const char *provider, const char *kind)
{
	if (opened != 1)
		return;
	char p[METRICS_PROVIDER_MAX];
	copy_label(p, sizeof(p), provider);
	shmfile_lock(&seg);
	struct metrics_fail *hit = NULL;
	for (size_t i = 0; i < METRICS_FAILS && !hit; i++) {
		struct metrics_fail *f = &mf->fails[i];
		if (!f->used) {
			f->used = 1;
			snprintf(f->provider, sizeof(f->provider), "%s", p);
			snprintf(f->kind, sizeof(f->kind), "%s", kind);
		}
		if (!strcmp(f->provider, p) && !strcmp(f->kind, kind))
			hit = f;
	}
	if (hit)
		hit->count++;
	else
		mf->dropped++;
	shmfile_unlock(&seg);
}

static int pid_gone(int32_t pid)
{
	return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

void metrics_publish_keys(const struct metrics_key_in *keys, size_t n, int64_t now_ms)
{
	if (opened != 1)
		return;
	int32_t me = (int32_t)getpid();
	size_t k = 0;
	shmfile_lock(&seg);
	for (size_t i = 0; i < METRICS_KEYS; i++) {
		struct metrics_key *e = &mf->keys[i];
		/* this process's old states, and those of processes gone or
		 * silent, make room */
		if (e->pid == me || (e->pid && (now_ms - e->written_ms > METRICS_KEYS_FRESH_MS || pid_gone(e->pid))))
			e->pid = 0;
		if (e->pid || k >= n)
			continue;
		e->pid = me;
		e->state = (int32_t)keys[k].state;
		e->written_ms = now_ms;
		copy_label(e->provider, sizeof(e->provider), keys[k].provider);
		copy_label(e->key, sizeof(e->key), keys[k].key);
		k++;
	}
	shmfile_unlock(&seg);
}

/* Merge the fresh key states: per provider and key the worst state of any
 * process, then counted per provider. */
static void merge_keys(struct metrics_snapshot *s, const struct metrics_key *keys, size_t n, int64_t now_ms)
{
	struct metrics_key *uniq = xcalloc(n ? n : 1, sizeof(*uniq));
	size_t nu = 0;
	for (size_t i = 0; i < n; i++) {
		const struct metrics_key *e = &keys[i];
		if (!e->pid || now_ms - e->written_ms > METRICS_KEYS_FRESH_MS || pid_gone(e->pid))
			continue;
		size_t j = 0;
		while (j < nu && (strcmp(uniq[j].provider, e->provider) || strcmp(uniq[j].key, e->key)))
			j++;
		if (j == nu)
			uniq[nu++] = *e;
		else if (e->state > uniq[j].state)
			uniq[j].state = e->state;
	}
	s->pools = xcalloc(nu ? nu : 1, sizeof(*s->pools));
	for (size_t i = 0; i < nu; i++) {
		size_t j = 0;
		while (j < s->npools && strcmp(s->pools[j].provider, uniq[i].provider))
			j++;
		if (j == s->npools)
			snprintf(s->pools[s->npools++].provider, METRICS_PROVIDER_MAX, "%s", uniq[i].provider);
		if (uniq[i].state >= 0 && uniq[i].state < METRICS_KEY_STATES)
			s->pools[j].n[uniq[i].state]++;
	}
	free(uniq);
}

int metrics_snapshot(struct metrics_snapshot *s, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	if (opened != 1)
		return -1;
	s->series = xmalloc(sizeof(mf->series));
	s->fails = xmalloc(sizeof(mf->fails));
	struct metrics_key *keys = xmalloc(sizeof(mf->keys));
	shmfile_lock(&seg);
	for (size_t i = 0; i < METRICS_SERIES; i++)
		if (mf->series[i].used)
			s->series[s->nseries++] = mf->series[i];
	for (size_t i = 0; i < METRICS_FAILS; i++)
		if (mf->fails[i].used)
			s->fails[s->nfails++] = mf->fails[i];
	memcpy(keys, mf->keys, sizeof(mf->keys));
	s->dropped = mf->dropped;
	shmfile_unlock(&seg);
	merge_keys(s, keys, METRICS_KEYS, now_ms);
	free(keys);
	return 0;
}

void metrics_snapshot_free(struct metrics_snapshot *s)
{
	free(s->series);
	free(s->fails);
	free(s->pools);
	memset(s, 0, sizeof(*s));
}
