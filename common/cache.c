/* cache.c — exact-match response cache for chat completions (cache.db). */
#include "autoconf.h"
#include "cache.h"
#include "cache_redis.h"
#include "log.h"
#include "sha256.h"
#include "hmap.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <gdbm.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_FILE "cache.db"
#define CACHE_PREFIX "c:"
#define CACHE_DBKEY_LEN (2 + 2 * SHA256_DIGEST_LEN)   /* "c:" + hex */
#define CACHE_MAGIC "LGc1"
#define CACHE_HDR_LEN 16                               /* magic, int64 time, uint32 length */
#define CACHE_SORT_STACK 16                            /* object members sorted without malloc */
#define CACHE_RETRY_MS 5

/* One entry of the in-memory index. */
struct entry {
	unsigned char id[SHA256_DIGEST_LEN];
	int64_t stored;              /* unix seconds */
	size_t size;                 /* body bytes */
	struct entry *prev, *next;   /* LRU list: head is the most recently used */
};

struct cache {
	pthread_mutex_t mu;          /* guards everything below, and the GDBM handle */
	GDBM_FILE db;
	char *path;
	long ttl_s;
	size_t max_bytes;
	time_t (*now)(void);
	struct hmap index;           /* id -> struct entry (keys are the entries' ids) */
	struct entry *head, *tail;
	struct cache_stats st;       /* entries and bytes kept current */
	unsigned long deletes;       /* since the last file size check */
	uint64_t reorg_floor;        /* file size after the last rewrite */
	struct redis *redis;         /* the fleet's cache behind this one (cache_share), or NULL */
};

/* Top-level request members that do not change the answer (see cache.h). */
static const char *const cache_ignored[] = {
	"model", "stream", "stream_options", "user", "safety_identifier", "metadata",
	"store", "prompt_cache_key", "service_tier",
};

/* ------------------------------------------------------------ the key */

/* A length-prefixed, tagged string: unambiguous without escaping. */
static void hash_bytes(struct sha256_ctx *h, char tag, const char *p, size_t n)
{
	char pre[32];
	int k = snprintf(pre, sizeof(pre), "%c%zu:", tag, n);
	if (k > 0 && (size_t)k < sizeof(pre))
		sha256_update(h, pre, (size_t)k);
	sha256_update(h, p, n);
}

static void hash_str(struct sha256_ctx *h, char tag, const char *s)
{
	if (!s)
		s = "";
	hash_bytes(h, tag, s, strlen(s));
}

static int is_ignored(const char *name)
{
	for (size_t i = 0; i < sizeof(cache_ignored) / sizeof(cache_ignored[0]); i++) {
		if (!strcmp(name, cache_ignored[i]))
			return 1;
	}
	return 0;
}

struct member {
	const char *name;
	const cJSON *v;
	size_t pos;              /* ties (duplicate names) keep their order */
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	if (r)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void hash_value(struct sha256_ctx *h, const cJSON *v, int top);

static void hash_object(struct sha256_ctx *h, const cJSON *o, int top)
{
	struct member stack[CACHE_SORT_STACK];
	struct member *m = stack;
	size_t n = 0, i = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, o)
		n++;
	if (n > CACHE_SORT_STACK)
		m = xmalloc(n * sizeof(*m));
	cJSON_ArrayForEach(it, o) {
		const char *name = it->string ? it->string : "";
		if (top && is_ignored(name))
			continue;
		m[i].name = name;
		m[i].v = it;
		m[i].pos = i;
		i++;
	}
	n = i;
	qsort(m, n, sizeof(*m), member_cmp);
	sha256_update(h, "{", 1);
	for (i = 0; i < n; i++) {
		hash_str(h, 'k', m[i].name);
		hash_value(h, m[i].v, 0);
	}
	sha256_update(h, "}", 1);
	if (m != stack)
		free(m);
}

static void hash_value(struct sha256_ctx *h, const cJSON *v, int top)
{
	char num[40];
	const cJSON *it;
	int k;

	if (!v) {
		sha256_update(h, "n", 1);
		return;
	}
	switch (v->type & 0xff) {
	case cJSON_False:
		sha256_update(h, "f", 1);
		break;
	case cJSON_True:
		sha256_update(h, "t", 1);
		break;
	case cJSON_NULL:
		sha256_update(h, "n", 1);
		break;
	case cJSON_Number:
		k = snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		hash_bytes(h, 'd', num, k > 0 && (size_t)k < sizeof(num) ? (size_t)k : 0);
		break;
	case cJSON_String:
		hash_str(h, 's', v->valuestring);
		break;
	case cJSON_Raw:
		hash_str(h, 'r', v->valuestring);
		break;
	case cJSON_Array:
		sha256_update(h, "[", 1);
		cJSON_ArrayForEach(it, v)
			hash_value(h, it, 0);
		sha256_update(h, "]", 1);
		break;
	case cJSON_Object:
		hash_object(h, v, top);
		break;
	default:
		sha256_update(h, "?", 1);
		break;
	}
}

void cache_key(const cJSON *req, const char *provider, const char *upstream_model,
	       const char *scope, char out[CACHE_KEY_HEX])
{
	struct sha256_ctx h;
	unsigned char d[SHA256_DIGEST_LEN];

	sha256_init(&h);
	hash_str(&h, 'v', "llmgate-cache-1");
	hash_str(&h, 'S', scope);
	hash_str(&h, 'P', provider);
	hash_str(&h, 'M', upstream_model);
	hash_value(&h, req, 1);
	sha256_final(&h, d);
	hex_encode(d, sizeof(d), out);
}

/* ------------------------------------------------------------ the index */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 64 hex digits then NUL into id; 0 or -1. */
static int parse_id(const char *hex, unsigned char id[SHA256_DIGEST_LEN])
{
	if (!hex)
		return -1;
	for (size_t i = 0; i < SHA256_DIGEST_LEN; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		id[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * SHA256_DIGEST_LEN] == '\0' ? 0 : -1;
}

static void db_key(const unsigned char *id, char out[CACHE_DBKEY_LEN + 1])
{
	memcpy(out, CACHE_PREFIX, 2);
	hex_encode(id, SHA256_DIGEST_LEN, out + 2);
}

static void put_hdr(unsigned char *p, int64_t stored, uint32_t len)
{
	uint64_t t = (uint64_t)stored;
	memcpy(p, CACHE_MAGIC, 4);
	for (int i = 0; i < 8; i++)
		p[4 + i] = (unsigned char)(t >> (8 * i));
	for (int i = 0; i < 4; i++)
		p[12 + i] = (unsigned char)(len >> (8 * i));
}

/* Check a stored value; 0 with its time and body length, or -1. */
static int get_hdr(const void *val, size_t vlen, int64_t *stored, size_t *len)
{
	const unsigned char *p = val;
	uint64_t t = 0;
	uint32_t n = 0;
	if (vlen < CACHE_HDR_LEN || memcmp(p, CACHE_MAGIC, 4) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		t |= (uint64_t)p[4 + i] << (8 * i);
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)p[12 + i] << (8 * i);
	if ((size_t)n != vlen - CACHE_HDR_LEN)
		return -1;
	*stored = (int64_t)t;
	*len = n;
	return 0;
}

static int64_t clock_now(const struct cache *c)
{
	return (int64_t)(c->now ? c->now() : time(NULL));
}

static int is_expired(const struct cache *c, int64_t stored, int64_t now)
{
	return c->ttl_s > 0 && now - stored >= (int64_t)c->ttl_s;
}

static struct entry *find(const struct cache *c, const unsigned char *id)
{
	void *e = NULL;
	hmap_get(&c->index, id, SHA256_DIGEST_LEN, &e);
	return e;
}

static void lru_unlink(struct cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

/* Add e (not yet indexed) as the most recently used. */
static void index_add(struct cache *c, struct entry *e)
{
	hmap_put(&c->index, e->id, SHA256_DIGEST_LEN, e);
	lru_push(c, e);
	c->st.entries++;
	c->st.bytes += e->size;
}

/* Take e out of the index and free it; the file is not touched. */
static void index_remove(struct cache *c, struct entry *e)
{
	hmap_del(&c->index, e->id, SHA256_DIGEST_LEN);
	lru_unlink(c, e);
	c->st.entries--;
	c->st.bytes -= e->size;
	free(e);
}

static void index_clear(struct cache *c)
{
	struct entry *e = c->head;
	while (e) {
		struct entry *next = e->next;
		free(e);
		e = next;
	}
	c->head = c->tail = NULL;
	hmap_clear(&c->index);
	c->st.entries = 0;
	c->st.bytes = 0;
}

/* Delete e from the file and the index. */
static void drop(struct cache *c, struct entry *e)
{
	char dk[CACHE_DBKEY_LEN + 1];
	db_key(e->id, dk);
	if (store_delete(c->db, dk) != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND)
		log_warn("response cache %s: cannot delete an entry: %s", c->path, gdbm_strerror(gdbm_errno));
	index_remove(c, e);
	c->deletes++;
}

/* ------------------------------------------------------------ loading */

struct load {
	struct cache *c;
	int64_t now;
	struct entry **v;        /* valid entries found */
	size_t n, alloc;
	char **bad;              /* keys to delete: malformed or expired */
	size_t nbad, badalloc;
};

static void load_bad(struct load *l, const char *key)
{
	if (l->nbad == l->badalloc) {
		l->badalloc = l->badalloc ? 2 * l->badalloc : 16;
		l->bad = xrealloc(l->bad, l->badalloc * sizeof(*l->bad));
	}
	l->bad[l->nbad++] = xstrdup(key);
}

static int load_cb(const char *key, const char *val, size_t vlen, void *user)
{
	struct load *l = user;
	unsigned char id[SHA256_DIGEST_LEN];
	int64_t stored;
	size_t len;

	if (strlen(key) != CACHE_DBKEY_LEN || parse_id(key + 2, id) != 0 ||
	    get_hdr(val, vlen, &stored, &len) != 0) {
		load_bad(l, key);
		return 0;
	}
	if (is_expired(l->c, stored, l->now)) {
		l->c->st.expired++;
		load_bad(l, key);
		return 0;
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 64;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	struct entry *e = xcalloc(1, sizeof(*e));
	memcpy(e->id, id, sizeof(id));
	e->stored = stored;
	e->size = len;
	l->v[l->n++] = e;
	return 0;
}

static int by_stored(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
	if (x->stored != y->stored)
		return x->stored < y->stored ? -1 : 1;
	return memcmp(x->id, y->id, SHA256_DIGEST_LEN);
}

/* Rebuild the index from the file: oldest stored first in LRU order,
 * expired and malformed records deleted, then evict down to max_bytes. */
static void load_index(struct cache *c)
{
	struct load l = { .c = c, .now = clock_now(c) };

	index_clear(c);
	store_each(c->db, CACHE_PREFIX, load_cb, &l);
	for (size_t i = 0; i < l.nbad; i++) {
		store_delete(c->db, l.bad[i]);
		free(l.bad[i]);
		c->deletes++;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_stored);
	for (size_t i = 0; i < l.n; i++)
		index_add(c, l.v[i]);
	while (c->tail && c->st.bytes > c->max_bytes) {
		drop(c, c->tail);
		c->st.evictions++;
	}
	free(l.v);
	free(l.bad);
}

/* Free space handling: by default GDBM keeps freed blocks in per-bucket
 * lists it seldom reuses, and under a cache's churn the file grows without
 * bound. A central free list with coalescing keeps it near 1.6 times the
 * live data. These settings are not stored in the file: set after every
 * open, recovery and rewrite. */
static void tune(struct cache *c)
{
	int one = 1;
	if (gdbm_setopt(c->db, GDBM_SETCENTFREE, &one, sizeof(one)) != 0 ||
	    gdbm_setopt(c->db, GDBM_SETCOALESCEBLKS, &one, sizeof(one)) != 0)
		log_warn("response cache %s: cannot tune free space handling: %s", c->path,
			 gdbm_strerror(gdbm_errno));
}

/* After a failed GDBM call: if GDBM says the file needs recovery, recover
 * it (dropping what cannot be read) and rebuild the index. */
static void check_recovery(struct cache *c)
{
	if (!gdbm_needs_recovery(c->db))
		return;
	log_warn("response cache %s is damaged; recovering it", c->path);
	if (gdbm_recover(c->db, NULL, 0) != 0) {
		log_err("response cache %s: recovery failed: %s", c->path, gdbm_strerror(gdbm_errno));
		return;
	}
	tune(c);
	load_index(c);
}

/* ------------------------------------------------------------ compaction */

static uint64_t reorg_limit(const struct cache *c)
{
	uint64_t m = (uint64_t)c->max_bytes;
	uint64_t lim = m > (UINT64_MAX - CACHE_REORG_SLACK) / 2 ? UINT64_MAX : 2 * m + CACHE_REORG_SLACK;
	if (c->reorg_floor <= UINT64_MAX / 2 && 2 * c->reorg_floor > lim)
		lim = 2 * c->reorg_floor;
	return lim;
}

static uint64_t file_size(const struct cache *c)
{
	struct stat sb;
	if (fstat(gdbm_fdesc(c->db), &sb) != 0 || sb.st_size < 0)
		return 0;
	return (uint64_t)sb.st_size;
}

static int reorganize_locked(struct cache *c)
{
	uint64_t before = file_size(c);
	c->deletes = 0;
	if (gdbm_reorganize(c->db) != 0) {
		log_err("response cache %s: cannot compact: %s", c->path, gdbm_strerror(gdbm_errno));
		check_recovery(c);
		return -1;
	}
	tune(c);
	c->st.compactions++;
	c->reorg_floor = file_size(c);
	log_info("response cache %s compacted from %llu to %llu bytes", c->path,
		 (unsigned long long)before, (unsigned long long)c->reorg_floor);
	return 0;
}

static void maybe_reorganize(struct cache *c)
{
	if (c->deletes < CACHE_REORG_EVERY)
		return;
	c->deletes = 0;
	if (file_size(c) > reorg_limit(c))
		reorganize_locked(c);
}

int cache_reorganize(struct cache *c)
{
	if (!c)
		return -1;
	pthread_mutex_lock(&c->mu);
	int result = reorganize_locked(c);
	pthread_mutex_unlock(&c->mu);
	return result;
}

/* ------------------------------------------------------------ open, close */

static int is_damage(int ge)
{
	switch (ge) {
	case GDBM_BAD_MAGIC_NUMBER:
	case GDBM_EMPTY_DATABASE:
	case GDBM_BYTE_SWAPPED:
	case GDBM_BAD_FILE_OFFSET:
	case GDBM_FILE_EOF:
	case GDBM_NEED_RECOVERY:
	case GDBM_BAD_BUCKET:
	case GDBM_BAD_HEADER:
	case GDBM_BAD_AVAIL:
	case GDBM_BAD_HASH_TABLE:
	case GDBM_BAD_DIR_ENTRY:
		return 1;
	default:
		return 0;
	}
}

/* Open path as the writer, waiting a little for a lock held briefly and
 * replacing a damaged file once. NULL after logging why. */
static GDBM_FILE open_db(const char *path)
{
	GDBM_FILE db = NULL;
	int waited = 0, replaced = 0;

	for (;;) {
		db = gdbm_open(path, 0, GDBM_WRCREAT | GDBM_CLOEXEC, 0600, NULL);
		if (db)
			break;
		int ge = gdbm_errno, se = errno;
		if (ge == GDBM_CANT_BE_WRITER || ge == GDBM_CANT_BE_READER) {
			if (waited < CACHE_OPEN_WAIT_MS) {
				struct timespec ts = { 0, CACHE_RETRY_MS * 1000000L };
				nanosleep(&ts, NULL);
				waited += CACHE_RETRY_MS;
				continue;
			}
			log_warn("response cache %s is held by another process; running without a cache", path);
			break;
		}
		if (is_damage(ge) && !replaced && unlink(path) == 0) {
			log_warn("response cache %s was damaged (%s); started afresh", path, gdbm_strerror(ge));
			replaced = 1;
			continue;
		}
		log_err("cannot open response cache %s: %s%s%s; running without a cache", path,
			gdbm_strerror(ge), se ? ": " : "", se ? strerror(se) : "");
		break;
	}
	return db;
}

struct cache *cache_open(const char *state_dir, long ttl_s, size_t max_bytes)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->path = xasprintf("%s/%s", state_dir, CACHE_FILE);
	c->ttl_s = ttl_s;
	c->max_bytes = max_bytes;
	hmap_init(&c->index, 0);
	c->db = open_db(c->path);
	if (!c->db) {
		cache_close(c);
		return NULL;
	}
	tune(c);
	load_index(c);
	check_recovery(c);
	c->deletes = 0;
	c->reorg_floor = 0;
	if (file_size(c) > reorg_limit(c))
		reorganize_locked(c);
	return c;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->db)
		gdbm_close(c->db);
	index_clear(c);
	hmap_free(&c->index);
	free(c->path);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void cache_set_clock(struct cache *c, time_t (*fn)(void))
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->now = fn;
	pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ get, put */

/* This file's entry (cache_get without the fleet). */
static char *local_get(struct cache *c, const char key[CACHE_KEY_HEX], size_t *len, long *age_s)
{
	char *result = NULL;
	unsigned char id[SHA256_DIGEST_LEN];
	char dk[CACHE_DBKEY_LEN + 1];
	int64_t stored, now;
	size_t blen;
	struct entry *e;
	datum k, v;

	if (!c || parse_id(key, id) != 0)
		return NULL;
	pthread_mutex_lock(&c->mu);
	now = clock_now(c);
	e = find(c, id);
	if (!e)
		goto out;
	if (is_expired(c, e->stored, now)) {
		drop(c, e);
		c->st.expired++;
		goto out;
	}
	db_key(id, dk);
	k.dptr = dk;
	k.dsize = CACHE_DBKEY_LEN;
	v = gdbm_fetch(c->db, k);
	if (!v.dptr || get_hdr(v.dptr, (size_t)v.dsize, &stored, &blen) != 0) {
		log_warn("response cache %s: entry %.12s... %s; dropped", c->path, key,
			 v.dptr ? "malformed" : gdbm_strerror(gdbm_errno));
		free(v.dptr);
		drop(c, e);
		check_recovery(c);
		goto out;
	}
	/* the body moves over the header, which leaves room for the NUL */
	memmove(v.dptr, v.dptr + CACHE_HDR_LEN, blen);
	v.dptr[blen] = '\0';
	result = v.dptr;
	lru_unlink(c, e);
	lru_push(c, e);
	if (len)
		*len = blen;
	if (age_s)
		*age_s = now > stored ? (long)(now - stored) : 0;
out:
	if (result)
		c->st.hits++;
	else
		c->st.misses++;
	maybe_reorganize(c);
	pthread_mutex_unlock(&c->mu);
	return result;
}

/* Store in this file, as stored at time at (0: now). */
static int local_put(struct cache *c, const char key[CACHE_KEY_HEX], const char *body, size_t len, int64_t at)
{
	int result = -1;
	unsigned char id[SHA256_DIGEST_LEN];
	char dk[CACHE_DBKEY_LEN + 1];
	unsigned char *val = NULL;
	int locked = 0;
	int64_t now;
	struct entry *e;

	if (!c || parse_id(key, id) != 0 || len > c->max_bytes / 8 ||
	    (uint64_t)len > (uint64_t)INT_MAX - CACHE_HDR_LEN)
		goto out;
	val = xmalloc(CACHE_HDR_LEN + len);
	if (len)
		memcpy(val + CACHE_HDR_LEN, body, len);
	db_key(id, dk);
	pthread_mutex_lock(&c->mu);
	locked = 1;
	now = at ? at : clock_now(c);
	put_hdr(val, now, (uint32_t)len);
	e = find(c, id);
	if (e)
		index_remove(c, e);   /* its record is replaced below */
	while (c->tail && is_expired(c, c->tail->stored, now)) {
		drop(c, c->tail);
		c->st.expired++;
	}
	while (c->tail && c->st.bytes + len > c->max_bytes) {
		drop(c, c->tail);
		c->st.evictions++;
	}
	if (store_put(c->db, dk, val, CACHE_HDR_LEN + len) != 0) {
		log_err("response cache %s: cannot store an entry: %s", c->path, gdbm_strerror(gdbm_errno));
		store_delete(c->db, dk);
		check_recovery(c);
		goto out;
	}
	e = xcalloc(1, sizeof(*e));
	memcpy(e->id, id, sizeof(id));
	e->stored = now;
	e->size = len;
	index_add(c, e);
	result = 0;
	maybe_reorganize(c);
out:
	if (locked)
		pthread_mutex_unlock(&c->mu);
	free(val);
	return result;
}

char *cache_get(struct cache *c, const char key[CACHE_KEY_HEX], size_t *len, long *age_s)
{
	char *body = local_get(c, key, len, age_s);
	if (body || !c || !c->redis)
		return body;
	/* the fleet's: one GET, then kept here too */
	size_t n;
	int64_t stored, now = clock_now(c);
	body = cache_redis_get(c->redis, key, c->ttl_s, now, &n, &stored);
	if (!body)
		return NULL;
	local_put(c, key, body, n, stored < now ? stored : now);
	pthread_mutex_lock(&c->mu);
	c->st.misses--;   /* counted by local_get: a hit after all */
	c->st.hits++;
	pthread_mutex_unlock(&c->mu);
	if (len)
		*len = n;
	if (age_s)
		*age_s = now > stored ? (long)(now - stored) : 0;
	return body;
}

int cache_put(struct cache *c, const char key[CACHE_KEY_HEX], const char *body, size_t len)
{
	int rc = local_put(c, key, body, len, 0);
	if (rc == 0 && c->redis)
		cache_redis_put(c->redis, key, c->ttl_s, clock_now(c), body, len);
	return rc;
}

void cache_share(struct cache *c, struct redis *r)
{
	if (c)
		c->redis = r;
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ replay as SSE */

/* The members every chunk repeats; pointers into the parsed body. */
struct sse_head {
	cJSON *id, *created, *model, *fingerprint, *tier;
	int include_usage;
};

static void add_ref(cJSON *o, const char *name, cJSON *item)
{
	if (item)
		cJSON_AddItemReferenceToObject(o, name, item);
}

static cJSON *str_ref(const cJSON *s)
{
	return cJSON_CreateStringReference(s->valuestring);
}

static int nonempty(const cJSON *s)
{
	return cJSON_IsString(s) && s->valuestring && s->valuestring[0];
}

/* Append "data: <chunk>\n\n" for one chunk of head with choices (taken;
 * NULL: "choices":[]) and, in the usage chunk, usage. 0 or -1. */
static int emit(struct buf *out, const struct sse_head *hd, cJSON *choice, cJSON *usage, int last)
{
	int result = -1;
	char *json = NULL;
	cJSON *ch = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();

	if (!ch || !arr) {
		cJSON_Delete(choice);
		cJSON_Delete(arr);
		goto out;
	}
	add_ref(ch, "id", hd->id);
	cJSON_AddStringToObject(ch, "object", "chat.completion.chunk");
	add_ref(ch, "created", hd->created);
	add_ref(ch, "model", hd->model);
	add_ref(ch, "service_tier", hd->tier);
	add_ref(ch, "system_fingerprint", hd->fingerprint);
	if (choice)
		cJSON_AddItemToArray(arr, choice);
	cJSON_AddItemToObject(ch, "choices", arr);
	if (hd->include_usage) {
		if (last && usage)
			add_ref(ch, "usage", usage);
		else
			cJSON_AddNullToObject(ch, "usage");
	}
	json = cJSON_PrintUnformatted(ch);
	if (!json)
		goto out;
	result = buf_printf(out, "data: %s\n\n", json);
out:
	free(json);
	cJSON_Delete(ch);
	return result;
}

/* A choice object for index with delta (taken), logprobs and finish_reason
 * (referenced, NULL: null). */
static cJSON *choice_new(double index, cJSON *delta, cJSON *logprobs, cJSON *finish)
{
	cJSON *c = cJSON_CreateObject();
	if (!c) {
		cJSON_Delete(delta);
		return NULL;
	}
	cJSON_AddNumberToObject(c, "index", index);
	cJSON_AddItemToObject(c, "delta", delta ? delta : cJSON_CreateObject());
	if (logprobs && !cJSON_IsNull(logprobs))
		cJSON_AddItemReferenceToObject(c, "logprobs", logprobs);
	else
		cJSON_AddNullToObject(c, "logprobs");
	if (finish && !cJSON_IsNull(finish))
		cJSON_AddItemReferenceToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	return c;
}

/* A delta with one string member referencing s. */
static cJSON *delta_str(const char *name, const cJSON *s)
{
	cJSON *d = cJSON_CreateObject();
	if (d)
		cJSON_AddItemToObject(d, name, str_ref(s));
	return d;
}

static int emit_delta(struct buf *out, const struct sse_head *hd, double index, cJSON *delta,
		      cJSON *logprobs)
{
	if (!delta)
		return -1;
	cJSON *choice = choice_new(index, delta, logprobs, NULL);
	return choice ? emit(out, hd, choice, NULL, 0) : -1;
}

static int emit_tool_call(struct buf *out, const struct sse_head *hd, double index, int pos, cJSON *tc)
{
	cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
	cJSON *d = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();
	cJSON *one = cJSON_CreateObject();
	cJSON *f = cJSON_CreateObject();
	cJSON *type = cJSON_GetObjectItemCaseSensitive(tc, "type");

	if (!d || !arr || !one || !f) {
		cJSON_Delete(d);
		cJSON_Delete(arr);
		cJSON_Delete(one);
		cJSON_Delete(f);
		return -1;
	}
	cJSON_AddNumberToObject(one, "index", pos);
	add_ref(one, "id", cJSON_GetObjectItemCaseSensitive(tc, "id"));
	if (type)
		add_ref(one, "type", type);
	else
		cJSON_AddStringToObject(one, "type", "function");
	if (cJSON_IsObject(fn)) {
		add_ref(f, "name", cJSON_GetObjectItemCaseSensitive(fn, "name"));
		add_ref(f, "arguments", cJSON_GetObjectItemCaseSensitive(fn, "arguments"));
	}
	cJSON_AddItemToObject(one, "function", f);
	cJSON_AddItemToArray(arr, one);
	cJSON_AddItemToObject(d, "tool_calls", arr);
	return emit_delta(out, hd, index, d, NULL);
}

static int emit_choice(struct buf *out, const struct sse_head *hd, cJSON *choice, int pos)
{
	cJSON *idx = cJSON_GetObjectItemCaseSensitive(choice, "index");
	double index = cJSON_IsNumber(idx) ? idx->valuedouble : pos;
	cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
	cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
	cJSON *reasoning = cJSON_GetObjectItemCaseSensitive(msg, "reasoning_content");
	const char *rname = "reasoning_content";
	cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
	cJSON *tools = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
	cJSON *tlist = cJSON_IsArray(tools) ? tools : NULL;
	cJSON *fcall = cJSON_GetObjectItemCaseSensitive(msg, "function_call");
	cJSON *logprobs = cJSON_GetObjectItemCaseSensitive(choice, "logprobs");
	cJSON *d, *tc;
	int n = 0;

	if (!nonempty(reasoning)) {
		reasoning = cJSON_GetObjectItemCaseSensitive(msg, "reasoning");
		rname = "reasoning";
	}
	d = cJSON_CreateObject();
	if (!d)
		return -1;
	if (nonempty(role))
		cJSON_AddItemToObject(d, "role", str_ref(role));
	else
		cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	if (emit_delta(out, hd, index, d, NULL) != 0)
		return -1;
	if (nonempty(reasoning) && emit_delta(out, hd, index, delta_str(rname, reasoning), NULL) != 0)
		return -1;
	if (nonempty(content) && emit_delta(out, hd, index, delta_str("content", content), logprobs) != 0)
		return -1;
	if (nonempty(refusal) && emit_delta(out, hd, index, delta_str("refusal", refusal), NULL) != 0)
		return -1;
	cJSON_ArrayForEach(tc, tlist) {
		if (cJSON_IsObject(tc) && emit_tool_call(out, hd, index, n, tc) != 0)
			return -1;
		n++;
	}
	if (cJSON_IsObject(fcall)) {
		d = cJSON_CreateObject();
		if (!d)
			return -1;
		cJSON_AddItemReferenceToObject(d, "function_call", fcall);
		if (emit_delta(out, hd, index, d, NULL) != 0)
			return -1;
	}
	cJSON *fin = choice_new(index, NULL, NULL, cJSON_GetObjectItemCaseSensitive(choice, "finish_reason"));
	return fin ? emit(out, hd, fin, NULL, 0) : -1;
}

int cache_to_sse(const char *body, size_t len, int include_usage, struct buf *out)
{
	int result = -1;
	size_t start = out->len;
	cJSON *root = cJSON_ParseWithLength(body, len);
	cJSON *obj, *choices, *choice;
	struct sse_head hd;
	int pos = 0;

	if (!cJSON_IsObject(root))
		goto out;
	obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (obj && !(cJSON_IsString(obj) && !strcmp(obj->valuestring, "chat.completion")))
		goto out;
	if (!cJSON_IsArray(choices))
		goto out;
	hd.id = cJSON_GetObjectItemCaseSensitive(root, "id");
	hd.created = cJSON_GetObjectItemCaseSensitive(root, "created");
	hd.model = cJSON_GetObjectItemCaseSensitive(root, "model");
	hd.fingerprint = cJSON_GetObjectItemCaseSensitive(root, "system_fingerprint");
	hd.tier = cJSON_GetObjectItemCaseSensitive(root, "service_tier");
	hd.include_usage = include_usage;
	cJSON_ArrayForEach(choice, choices) {
		if (!cJSON_IsObject(choice) || emit_choice(out, &hd, choice, pos) != 0)
			goto out;
		pos++;
	}
	if (include_usage) {
		cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
		if (emit(out, &hd, NULL, cJSON_IsObject(usage) ? usage : NULL, 1) != 0)
			goto out;
	}
	if (buf_puts(out, "data: [DONE]\n\n") != 0)
		goto out;
	result = 0;
out:
	if (result != 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	cJSON_Delete(root);
	return result;
}
