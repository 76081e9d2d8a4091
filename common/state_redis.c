/* state_redis.c — state.db's gateway keys, upstream keys and settings shared by the fleet through Redis (state_redis.h). */
#include "autoconf.h"
#include "state_redis.h"
#include "auth.h"
#include "hmap.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_PAIRS 17          /* records per merge script call (redis_script's argument cap) */
#define RECORD_MAX 65536        /* a shared record larger than this is not one of ours */
#define STORE_WAIT_MS 2000

static const char *const shared_prefixes[] = { "gwkey:", "upkey:" };
#define NPREFIXES (sizeof(shared_prefixes) / sizeof(shared_prefixes[0]))

/* ARGV: the hash, the version counter, then field/record pairs. Keeps the
 * winner of each (the rule of state_redis_wins); the new version when
 * anything changed, else 0. */
static const char merge_lua[] =
	"local h, vk = ARGV[1], ARGV[2]\n"
	"local function final(x) return x.revoked == true or x.removed == true end\n"
	"local function wins(a, b)\n"
	"  local okb, y = pcall(cjson.decode, b)\n"
	"  if not okb or type(y) ~= 'table' then return false end\n"
	"  local oka, x = pcall(cjson.decode, a)\n"
	"  if not oka or type(x) ~= 'table' then return true end\n"
	"  if final(x) then return false end\n"
	"  if final(y) then return true end\n"
	"  return (tonumber(y.changed) or 0) > (tonumber(x.changed) or 0)\n"
	"end\n"
	"local n = 0\n"
	"for i = 3, #ARGV, 2 do\n"
	"  local old = redis.call('HGET', h, ARGV[i])\n"
	"  if not old or wins(old, ARGV[i + 1]) then redis.call('HSET', h, ARGV[i], ARGV[i + 1]); n = n + 1 end\n"
	"end\n"
	"if n > 0 then return redis.call('INCR', vk) end\n"
	"return 0\n";

struct state_redis {
	struct redis *r;
	char *path;                  /* state.db */
	char hkey[64], vkey[64];     /* <prefix>rec, <prefix>rec:v */
	struct hmap known;           /* state.db key -> SHA-256 of the fleet's copy as last seen or sent */
	struct store_sig sent_sig;   /* state.db as last published */
	int republish;               /* publish every record that differs, whatever the signature */
	long long seen_v;            /* the fleet's version merged last; -1: none yet */
};

/* A record as read: its state.db key and value. */
struct rec {
	char *key, *val;
	size_t len;
};
struct recs {
	struct rec *v;
	size_t n;
};

static void recs_free(struct recs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		if (l->v[i].val)
			memset(l->v[i].val, 0, l->v[i].len);   /* upstream secrets */
		free(l->v[i].val);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void recs_add(struct recs *l, const char *key, const char *val, size_t len)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].val = xstrndup(val, len);
	l->v[l->n].len = len;
	l->n++;
}

int state_redis_shared_key(const char *key)
{
	if (!strcmp(key, STATE_REDIS_SETTINGS))
		return 1;
	for (size_t i = 0; i < NPREFIXES; i++)
		if (!strncmp(key, shared_prefixes[i], strlen(shared_prefixes[i])) && key[strlen(shared_prefixes[i])])
			return 1;
	return 0;
}

static int is_final(const cJSON *x)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "revoked")) ||
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "removed"));
}

static double changed_of(const cJSON *x)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(x, "changed");
	return cJSON_IsNumber(c) ? c->valuedouble : 0;
}

int state_redis_wins(const char *a, size_t alen, const char *b, size_t blen)
{
	cJSON *y = cJSON_ParseWithLength(b, blen);
	if (!cJSON_IsObject(y)) {
		cJSON_Delete(y);
		return 0;
	}
	cJSON *x = cJSON_ParseWithLength(a, alen);
	int w = !cJSON_IsObject(x) ? 1 : is_final(x) ? 0 : is_final(y) ? 1 : changed_of(y) > changed_of(x);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return w;
}

void state_redis_stamp(cJSON *rec)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, "changed");
	cJSON_AddNumberToObject(rec, "changed", (double)pool_now_ms());
}

char *state_redis_settings_stamp(void)
{
	return xasprintf("{\"changed\":%lld}", (long long)pool_now_ms());
}

struct state_redis *state_redis_new(struct redis *r, const char *state_dir)
{
	struct state_redis *s = xcalloc(1, sizeof(*s));
	s->r = r;
	s->path = auth_state_path(state_dir);
	snprintf(s->hkey, sizeof(s->hkey), "%srec", redis_prefix(r));
	snprintf(s->vkey, sizeof(s->vkey), "%srec:v", redis_prefix(r));
	hmap_init(&s->known, 1);
	s->republish = 1;
	s->seen_v = -1;
	return s;
}

static void forget_all(struct state_redis *s)
{
	for (size_t i = 0; i < s->known.cap; i++)
		if (s->known.slots[i].key)
			free(s->known.slots[i].val);
	hmap_clear(&s->known);
}

void state_redis_free(struct state_redis *s)
{
	if (!s)
		return;
	forget_all(s);
	hmap_free(&s->known);
	free(s->path);
	free(s);
}

/* Remember that the fleet holds val for key. */
static void know(struct state_redis *s, const char *key, const char *val, size_t len)
{
	unsigned char *d = xmalloc(SHA256_DIGEST_LEN);
	sha256(val, len, d);
	void *old = NULL;
	if (hmap_get(&s->known, key, strlen(key), &old))
		free(old);
	hmap_put(&s->known, key, strlen(key), d);
}

static int known_same(const struct state_redis *s, const char *key, const char *val, size_t len)
{
	void *d = NULL;
	unsigned char now[SHA256_DIGEST_LEN];
	if (!hmap_get(&s->known, key, strlen(key), &d))
		return 0;
	sha256(val, len, now);
	return !memcmp(d, now, SHA256_DIGEST_LEN);
}

static int collect(const char *key, const char *val, size_t vlen, void *user)
{
	if (vlen < RECORD_MAX)
		recs_add(user, key, val, vlen);
	return 0;
}

/* The settings of db as the fleet holds them: {"changed", "settings"}
 * (new string), NULL when there are none; *bad when db failed. */
static char *settings_envelope(GDBM_FILE db, int *bad)
{
	size_t len, slen;
	char *doc = store_get(db, STATE_REDIS_SETTINGS, &len);
	if (!doc) {
		*bad |= errno != ENOENT;
		return NULL;
	}
	char *stamp = store_get(db, STATE_REDIS_SETTINGS_STAMP, &slen);
	*bad |= !stamp && errno != ENOENT;
	cJSON *d = cJSON_ParseWithLength(doc, len);
	cJSON *st = stamp ? cJSON_ParseWithLength(stamp, slen) : NULL;
	char *out = NULL;
	if (cJSON_IsObject(d)) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "changed", changed_of(st));
		cJSON_AddItemToObject(e, "settings", d);
		d = NULL;
		out = cJSON_PrintUnformatted(e);
		cJSON_Delete(e);
	}
	cJSON_Delete(d);
	cJSON_Delete(st);
	free(doc);
	free(stamp);
	return out;
}

/* Write the fleet's settings envelope into db: the document and its stamp. */
static int settings_put(GDBM_FILE db, const char *env, size_t len)
{
	cJSON *e = cJSON_ParseWithLength(env, len);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "settings");
	int rc = -1;
	if (cJSON_IsObject(d)) {
		char *doc = cJSON_PrintUnformatted(d);
		char stamp[48];
		snprintf(stamp, sizeof(stamp), "{\"changed\":%.0f}", changed_of(e));
		rc = store_put(db, STATE_REDIS_SETTINGS, doc, strlen(doc)) == 0 &&
		     store_put(db, STATE_REDIS_SETTINGS_STAMP, stamp, strlen(stamp)) == 0 ? 0 : -1;
		free(doc);
	}
	cJSON_Delete(e);
	return rc;
}

/* Every shared record of state.db into l (none when there is no file).
 * 0, or -1 (unreadable: l is empty). */
static int read_local(const char *path, struct recs *l, struct store_sig *sig)
{
	memset(sig, 0, sizeof(*sig));
	GDBM_FILE db = store_open(path, STORE_READ, 50);
	if (!db)
		return errno == ENOENT ? 0 : -1;
	store_sig_of(db, sig);
	int bad = 0;
	for (size_t i = 0; i < NPREFIXES && !bad; i++)
		bad = store_each(db, shared_prefixes[i], collect, l) < 0;
	char *env = bad ? NULL : settings_envelope(db, &bad);
	if (env && strlen(env) < RECORD_MAX)
		recs_add(l, STATE_REDIS_SETTINGS, env, strlen(env));
	free(env);
	store_close(db);
	if (bad)
		recs_free(l);
	return bad ? -1 : 0;
}

/* Send n records to the merge script. 0 or -1. */
static int send_batch(struct state_redis *s, const struct rec **b, size_t n)
{
	const char *args[2 + 2 * BATCH_PAIRS];
	args[0] = s->hkey;
	args[1] = s->vkey;
	for (size_t i = 0; i < n; i++) {
		args[2 + 2 * i] = b[i]->key;
		args[3 + 2 * i] = b[i]->val;
	}
	struct redis_reply x;
	char err[256];
	if (redis_script(s->r, merge_lua, (int)(2 + 2 * n), args, &x, err, sizeof(err)) != 0)
		return -1;
	int ok = x.type == RR_INT;
	if (!ok)
		log_warn("shared keys not published: %.100s", x.type == RR_ERR ? x.s : "an odd answer");
	redis_reply_free(&x);
	return ok ? 0 : -1;
}

/* The records of state.db the fleet does not hold as they are here. */
static int publish(struct state_redis *s)
{
	struct store_sig now;
	if (!s->republish && store_sig_path(s->path, &now) == 0 && store_sig_eq(&now, &s->sent_sig))
		return 0;
	struct recs l = { 0 };
	if (read_local(s->path, &l, &now) != 0)
		return -1;
	const struct rec *batch[BATCH_PAIRS];
	size_t nb = 0;
	int rc = 0;
	for (size_t i = 0; i <= l.n && rc == 0; i++) {
		if (i < l.n && !known_same(s, l.v[i].key, l.v[i].val, l.v[i].len))
			batch[nb++] = &l.v[i];
		if (nb && (nb == BATCH_PAIRS || i == l.n)) {
			rc = send_batch(s, batch, nb);
			for (size_t k = 0; k < nb && rc == 0; k++)
				know(s, batch[k]->key, batch[k]->val, batch[k]->len);
			nb = 0;
		}
	}
	if (rc == 0) {
		s->sent_sig = now;
		s->republish = 0;
	}
	recs_free(&l);
	return rc;
}

/* Write the fleet's records that win over this node's into state.db
 * (checked again inside the change). 1 written, 0 nothing to, -1. */
static int write_local(struct state_redis *s, const struct recs *win)
{
	if (!win->n)
		return 0;
	GDBM_FILE db = store_open(s->path, STORE_WRITE, STORE_WAIT_MS);
	if (!db) {
		log_warn("shared keys not taken into %s: %s", s->path, store_strerror(errno));
		return -1;
	}
	size_t put = 0;
	int bad = 0;
	for (size_t i = 0; i < win->n && !bad; i++) {
		size_t len = 0;
		int settings = !strcmp(win->v[i].key, STATE_REDIS_SETTINGS);
		char *cur = settings ? settings_envelope(db, &bad) : store_get(db, win->v[i].key, &len);
		if (settings && cur)
			len = strlen(cur);
		if (bad || (!cur && !settings && errno != ENOENT)) {
			bad = 1;
			free(cur);
			break;
		}
		if (!cur || state_redis_wins(cur, len, win->v[i].val, win->v[i].len)) {
			bad = settings ? settings_put(db, win->v[i].val, win->v[i].len) != 0
				       : store_put(db, win->v[i].key, win->v[i].val, win->v[i].len) != 0;
			put++;
		}
		free(cur);
	}
	if (!bad && put && store_sync(db) != 0)
		bad = 1;
	store_close(db);
	if (bad)
		log_warn("shared keys not taken into %s: cannot write it", s->path);
	return bad ? -1 : put ? 1 : 0;
}

/* The fleet's records (HGETALL) against state.db's. */
static int merge_fleet(struct state_redis *s)
{
	struct redis_reply x;
	char err[256];
	if (redis_cmd_key(s->r, "HGETALL", s->hkey, &x, err, sizeof(err)) != 0)
		return -1;
	if (x.type != RR_ARRAY) {
		redis_reply_free(&x);
		return -1;
	}
	struct recs local = { 0 }, win = { 0 };
	struct store_sig sig;
	struct hmap mine_of, fleet_has;   /* state.db key -> its local record; the fleet's keys */
	hmap_init(&mine_of, 0);
	hmap_init(&fleet_has, 0);
	int rc = read_local(s->path, &local, &sig);
	for (size_t k = 0; k < local.n; k++)
		hmap_put(&mine_of, local.v[k].key, strlen(local.v[k].key), &local.v[k]);
	for (size_t i = 0; rc == 0 && i + 1 < x.n; i += 2) {
		const struct redis_reply *f = &x.v[i], *v = &x.v[i + 1];
		if (f->type != RR_STR || v->type != RR_STR || !state_redis_shared_key(f->s) || v->len >= RECORD_MAX)
			continue;
		void *m = NULL;
		hmap_get(&mine_of, f->s, f->len, &m);
		const struct rec *mine = m;
		hmap_put(&fleet_has, f->s, f->len, NULL);
		know(s, f->s, v->s, v->len);
		if (!mine || state_redis_wins(mine->val, mine->len, v->s, v->len))
			recs_add(&win, f->s, v->s, v->len);
		else if (mine->len != v->len || memcmp(mine->val, v->s, v->len))
			s->republish = 1;   /* ours wins: send it */
	}
	/* a record the fleet lacks (another node filled a Redis that lost its
	 * data before this one saw it empty): send it */
	for (size_t k = 0; rc == 0 && k < local.n; k++) {
		void *d = NULL;
		const char *key = local.v[k].key;
		if (hmap_get(&fleet_has, key, strlen(key), NULL))
			continue;
		if (hmap_get(&s->known, key, strlen(key), &d)) {
			hmap_del(&s->known, key, strlen(key));
			free(d);
		}
		s->republish = 1;
	}
	hmap_free(&mine_of);
	hmap_free(&fleet_has);
	if (rc == 0)
		rc = write_local(s, &win);
	recs_free(&local);
	recs_free(&win);
	redis_reply_free(&x);
	return rc;
}

int state_redis_tick(struct state_redis *s)
{
	struct redis_reply x;
	char err[256];
	if (redis_cmd_key(s->r, "GET", s->vkey, &x, err, sizeof(err)) != 0)
		return -1;
	long long v = x.type == RR_STR ? strtoll(x.s, NULL, 10) : 0;
	int empty = x.type == RR_NIL;
	redis_reply_free(&x);
	if ((empty && hmap_count(&s->known)) || (!empty && v < s->seen_v)) {
		/* the fleet's records are gone (Redis restarted empty, or filled
		 * again since by a node that saw it so): send ours again */
		forget_all(s);
		s->republish = 1;
		s->seen_v = -1;
	}
	if (publish(s) != 0)
		return -1;
	if (empty || v == s->seen_v)
		return 0;
	int rc = merge_fleet(s);
	if (rc >= 0)
		s->seen_v = v;
	return rc;
}
