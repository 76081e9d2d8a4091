/* qshare.c — quota counters shared by the router processes of a state folder. */
#include "autoconf.h"
#include "qshare.h"
#include "auth.h"
#include "shmfile.h"
#include "spool.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define QS_MAGIC "LGQSHM01"
#define QS_KEYS 512
#define QS_RES 1024
#define QS_UN 4096

struct qs_key {                 /* a key's last minute, one bucket a second */
	char id[AUTH_ID_MAX];
	uint32_t last_s;            /* newest second counted */
	uint32_t sec[QSHARE_WINDOW_S];
	uint32_t req[QSHARE_WINDOW_S];
	uint32_t tok[QSHARE_WINDOW_S];
};

struct qs_res {                 /* a request in flight */
	int32_t pid;
	int32_t used;
	char key[AUTH_ID_MAX];
	char month[8];
	int64_t tokens;
	double cost;
	int64_t t_ms;
};

struct qs_un {                  /* usage in a segment settle has not taken */
	int32_t pid;
	int32_t used;
	char seg[SPOOL_NAME_MAX];
	char key[AUTH_ID_MAX];
	char month[8];
	int64_t tokens;
	double cost;
};

struct qs_file {
	char magic[8];
	uint32_t size;
	uint32_t pad;
	int64_t next_prune_ms;
	struct qs_key keys[QS_KEYS];
	struct qs_res res[QS_RES];
	struct qs_un un[QS_UN];
};

struct qshare {
	struct shmfile m;
	struct qs_file *f;      /* m's map */
};

struct qshare *qshare_open(const char *state_dir, int create, char *err, size_t errlen)
{
	struct qshare *s = xcalloc(1, sizeof(*s));
	if (shmfile_open(&s->m, state_dir, "quota.shm", QS_MAGIC, sizeof(struct qs_file), create, err, errlen) != 0) {
		free(s);
		return NULL;
	}
	s->f = s->m.map;
	return s;
}

void qshare_close(struct qshare *s)
{
	if (!s)
		return;
	shmfile_close(&s->m);
	free(s);
}

void qshare_lock(struct qshare *s)
{
	shmfile_lock(&s->m);
}

void qshare_unlock(struct qshare *s)
{
	shmfile_unlock(&s->m);
}

static int pid_gone(int32_t pid)
{
	return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

void qshare_prune(struct qshare *s, const char *spool_dir, int64_t now_ms, int force)
{
	struct qs_file *f = s->f;
	/* (a next time over a second ahead: the clock went back) */
	if (!force && now_ms < f->next_prune_ms && f->next_prune_ms - now_ms <= 1000)
		return;
	f->next_prune_ms = now_ms + 1000;
	for (int i = 0; i < QS_RES; i++) {
		struct qs_res *r = &f->res[i];
		if (r->used && (pid_gone(r->pid) || now_ms - r->t_ms > QSHARE_RESERVE_MAX_MS))
			r->used = 0;
	}
	/* entries of one segment usually stand together: one look for them */
	const char *last = NULL;
	int last_pending = 1;
	for (int i = 0; i < QS_UN; i++) {
		struct qs_un *u = &f->un[i];
		if (!u->used)
			continue;
		int pending;
		if (!u->seg[0])
			pending = !pid_gone(u->pid);
		else if (last && !strcmp(last, u->seg))
			pending = last_pending;
		else
			pending = spool_pending(spool_dir, u->seg), last = u->seg, last_pending = pending;
		if (!pending)
			u->used = 0;
	}
}

static struct qs_key *key_find(struct qs_file *f, const char *key)
{
	for (int i = 0; i < QS_KEYS; i++) {
		if (f->keys[i].id[0] && !strcmp(f->keys[i].id, key))
			return &f->keys[i];
	}
	return NULL;
}

/* The key's window, made when missing in a free slot or one idle for a
 * minute; NULL when every slot is busy. */
static struct qs_key *key_get(struct qs_file *f, const char *key, int64_t now_s)
{
	struct qs_key *k = key_find(f, key);
	for (int i = 0; !k && i < QS_KEYS; i++) {
		if (!f->keys[i].id[0] || (int64_t)f->keys[i].last_s + QSHARE_WINDOW_S < now_s) {
			k = &f->keys[i];
			memset(k, 0, sizeof(*k));
			snprintf(k->id, sizeof(k->id), "%s", key);
		}
	}
	return k;
}

static void bucket_add(struct qs_key *k, int64_t now_s, uint32_t reqs, long long toks)
{
	int i = (int)(now_s % QSHARE_WINDOW_S);
	if (k->sec[i] != (uint32_t)now_s) {
		k->sec[i] = (uint32_t)now_s;
		k->req[i] = 0;
		k->tok[i] = 0;
	}
	k->req[i] += reqs;
	long long t = (long long)k->tok[i] + toks;
	k->tok[i] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	if ((uint32_t)now_s > k->last_s)
		k->last_s = (uint32_t)now_s;
}

void qshare_window(struct qshare *s, const char *key, int64_t now_s, unsigned *reqs, long long *toks,
		   long *reset_s)
{
	struct qs_file *f = s->f;
	const struct qs_key *k = key_find(f, key);
	int64_t oldest = now_s;
	*reqs = 0;
	*toks = 0;
	for (int i = 0; k && i < QSHARE_WINDOW_S; i++) {
		int64_t sec = k->sec[i];
		/* (usage recorded a moment after now_s counts too) */
		if (sec > now_s - QSHARE_WINDOW_S && sec <= now_s + 2 && (k->req[i] || k->tok[i])) {
			*reqs += k->req[i];
			*toks += k->tok[i];
			if (sec < oldest)
				oldest = sec;
		}
	}
	for (int i = 0; i < QS_RES; i++) {
		if (f->res[i].used && !strcmp(f->res[i].key, key))
			*toks += f->res[i].tokens;
	}
	*reset_s = (long)(oldest + QSHARE_WINDOW_S - now_s);
	if (*reset_s < 1)
		*reset_s = 1;
}

static void spent_add(struct qshare_spent *o, const char *month, const char *m, long long tokens, double cost)
{
	o->tokens += tokens;
	o->cost += cost;
	if (!strcmp(month, m)) {
		o->tokens_month += tokens;
		o->cost_month += cost;
	}
}

void qshare_spent(struct qshare *s, const char *key, const char *month, struct qshare_spent *out)
{
	struct qs_file *f = s->f;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < QS_UN; i++) {
		const struct qs_un *u = &f->un[i];
		if (u->used && !strcmp(u->key, key))
			spent_add(out, month, u->month, u->tokens, u->cost);
	}
	for (int i = 0; i < QS_RES; i++) {
		const struct qs_res *r = &f->res[i];
		if (r->used && !strcmp(r->key, key))
			spent_add(out, month, r->month, r->tokens, r->cost);
	}
}

int qshare_reserve(struct qshare *s, const char *key, const char *month, long long tokens, double cost,
		   int64_t now_ms)
{
	struct qs_file *f = s->f;
	struct qs_key *k = key_get(f, key, now_ms / 1000);
	if (!k)
		return -1;
	for (int i = 0; i < QS_RES; i++) {
		struct qs_res *r = &f->res[i];
		if (r->used)
			continue;
		r->pid = (int32_t)getpid();
		snprintf(r->key, sizeof(r->key), "%s", key);
		snprintf(r->month, sizeof(r->month), "%s", month);
		r->tokens = tokens;
		r->cost = cost;
		r->t_ms = now_ms;
		r->used = 1;
		bucket_add(k, now_ms / 1000, 1, 0);
		return i;
	}
	return -1;
}

/* The unsettled entry of (seg, key, month), made when missing; NULL when
 * the table is full. */
static struct qs_un *un_get(struct qs_file *f, const char *seg, const char *key, const char *month)
{
	int32_t pid = (int32_t)getpid();
	struct qs_un *free_slot = NULL;
	for (int i = 0; i < QS_UN; i++) {
		struct qs_un *u = &f->un[i];
		if (!u->used) {
			if (!free_slot)
				free_slot = u;
			continue;
		}
		if (!strcmp(u->seg, seg) && !strcmp(u->key, key) && !strcmp(u->month, month) && (seg[0] || u->pid == pid))
			return u;
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->pid = pid;
		snprintf(free_slot->seg, sizeof(free_slot->seg), "%s", seg);
		snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
		snprintf(free_slot->month, sizeof(free_slot->month), "%s", month);
		free_slot->used = 1;
	}
	return free_slot;
}

int qshare_settle(struct qshare *s, int hold, const char *key, const char *month, long long tokens,
		  double cost, const char *seg, int64_t now_ms)
{
	struct qs_file *f = s->f;
	if (hold >= 0 && hold < QS_RES && f->res[hold].pid == (int32_t)getpid())
		f->res[hold].used = 0;
	if (!tokens && cost <= 0)
		return 0;
	struct qs_key *k = key_get(f, key, now_ms / 1000);
	if (k)
		bucket_add(k, now_ms / 1000, 0, tokens);
	return qshare_unsettled(s, key, month, tokens, cost, seg);
}

int qshare_unsettled(struct qshare *s, const char *key, const char *month, long long tokens, double cost,
		     const char *seg)
{
	struct qs_un *u = un_get(s->f, seg ? seg : "", key, month);
	if (!u)
		return -1;
	u->tokens += tokens;
	u->cost += cost;
	return 0;
}
