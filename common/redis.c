/* redis.c — the shared-state server: URL, a connection per thread, commands with deadlines (redis.h). */
#include "autoconf.h"
#include "redis.h"
#include "log.h"
#include "pool.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy n bytes of s into out (cap bytes); -1 if it does not fit. */
static int take(char *out, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* "%xx" decoded in place (user and password may hold reserved characters). */
static int unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == '%') {
			if (!isxdigit((unsigned char)r[1]) || !isxdigit((unsigned char)r[2]))
				return -1;
			char hex[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* A database number 0..15 (Redis' default count; more is the server's
 * business, so up to 9999 is taken). */
static int parse_db(const char *s, size_t n, int *db)
{
	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	*db = atoi(s);
	return 0;
}

static int parse_unix(const char *rest, struct redis_addr *a, char *err, size_t errlen)
{
	const char *q = strchr(rest, '?');
	size_t plen = q ? (size_t)(q - rest) : strlen(rest);
	if (plen == 0 || rest[0] != '/' || take(a->path, sizeof(a->path), rest, plen) != 0) {
		snprintf(err, errlen, "a unix:// Redis URL needs an absolute socket path");
		return -1;
	}
	if (q) {
		if (strncmp(q + 1, "db=", 3) != 0 || parse_db(q + 4, strlen(q + 4), &a->db) != 0) {
			snprintf(err, errlen, "a unix:// Redis URL takes only ?db=N");
			return -1;
		}
	}
	return 0;
}

/* user:password@ of a redis:// URL, if any; *rest moves past it. */
static int parse_userinfo(const char **rest, struct redis_addr *a, char *err, size_t errlen)
{
	const char *at = strrchr(*rest, '@');
	const char *slash = strchr(*rest, '/');
	if (!at || (slash && slash < at))
		return 0;
	const char *colon = memchr(*rest, ':', (size_t)(at - *rest));
	if (!colon) {
		snprintf(err, errlen, "a Redis URL's credentials are user:password@ (or :password@)");
		return -1;
	}
	if (take(a->user, sizeof(a->user), *rest, (size_t)(colon - *rest)) != 0 ||
	    take(a->password, sizeof(a->password), colon + 1, (size_t)(at - colon - 1)) != 0 ||
	    unescape(a->user) != 0 || unescape(a->password) != 0) {
		snprintf(err, errlen, "a Redis URL's user or password is too long or badly escaped");
		return -1;
	}
	*rest = at + 1;
	return 0;
}

int redis_parse_url(const char *url, struct redis_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (!url || strlen(url) >= REDIS_URL_MAX) {
		snprintf(err, errlen, "no Redis URL, or one too long");
		return -1;
	}
	if (!strncmp(url, "unix://", 7))
		return parse_unix(url + 7, a, err, errlen);
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "a Redis URL starts with redis:// or unix:// (TLS is not supported: use a local socket or a trusted network)");
		return -1;
	}
	const char *rest = url + 8;
	if (parse_userinfo(&rest, a, err, errlen) != 0)
		return -1;
	size_t hlen = strcspn(rest, ":/");
	if (rest[0] == '[') {   /* [v6] */
		const char *close = strchr(rest, ']');
		if (!close || take(a->host, sizeof(a->host), rest + 1, (size_t)(close - rest - 1)) != 0) {
			snprintf(err, errlen, "a Redis URL's [IPv6] host is not closed");
			return -1;
		}
		hlen = (size_t)(close - rest + 1);
	} else if (hlen == 0 || take(a->host, sizeof(a->host), rest, hlen) != 0) {
		snprintf(err, errlen, "a Redis URL needs a host");
		return -1;
	}
	rest += hlen;
	if (*rest == ':') {
		char *end;
		long port = strtol(rest + 1, &end, 10);
		if (end == rest + 1 || port < 1 || port > 65535) {
			snprintf(err, errlen, "a Redis URL's port is from 1 to 65535");
			return -1;
		}
		a->port = (int)port;
		rest = end;
	}
	if (*rest == '/' && rest[1] && parse_db(rest + 1, strlen(rest + 1), &a->db) != 0) {
		snprintf(err, errlen, "a Redis URL's path is its database number");
		return -1;
	}
	if (*rest && *rest != '/') {
		snprintf(err, errlen, "a Redis URL has something after its host it cannot read");
		return -1;
	}
	return 0;
}

void redis_reply_free(struct redis_reply *x)
{
	if (!x)
		return;
	free(x->s);
	for (size_t i = 0; i < x->n; i++)
		redis_reply_free(&x->v[i]);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>

#define REDIS_SCRIPTS_MAX 16

struct redis {
	struct redis_addr addr;
	long timeout_ms;
	pthread_mutex_t mu;          /* guards down_until, scripts */
	int64_t down_until;
	int up;
	struct { const char *text; char sha[41]; } scripts[REDIS_SCRIPTS_MAX];
	size_t nscripts;
};

/* This thread's connection (to one server per process). */
static _Thread_local struct { const struct redis *owner; redisContext *c; } tls;

static void mark(struct redis *r, int ok)
{
	pthread_mutex_lock(&r->mu);
	if (!ok && r->up)
		log_warn("shared state (Redis) unreachable; limits kept locally until it is back");
	else if (ok && !r->up)
		log_info("shared state (Redis) reachable again");
	r->up = ok;
	r->down_until = ok ? 0 : pool_now_ms() + REDIS_RETRY_MS;
	pthread_mutex_unlock(&r->mu);
}

static void drop(void)
{
	if (tls.c)
		redisFree(tls.c);
	tls.c = NULL;
	tls.owner = NULL;
}

/* The command's reply as ours. */
static void convert(const redisReply *in, struct redis_reply *out)
{
	memset(out, 0, sizeof(*out));
	switch (in->type) {
	case REDIS_REPLY_INTEGER:
		out->type = RR_INT;
		out->i = in->integer;
		break;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		out->type = in->type == REDIS_REPLY_ERROR ? RR_ERR : RR_STR;
		out->s = xmalloc(in->len + 1);
		memcpy(out->s, in->str, in->len);
		out->s[in->len] = '\0';
		out->len = in->len;
		break;
	case REDIS_REPLY_ARRAY:
		out->type = RR_ARRAY;
		out->n = in->elements;
		out->v = out->n ? xcalloc(out->n, sizeof(*out->v)) : NULL;
		for (size_t i = 0; i < out->n; i++)
			convert(in->element[i], &out->v[i]);
		break;
	default:
		out->type = RR_NIL;
	}
}

/* Run argv on c; a new hiredis reply or NULL (c->errstr). */
static redisReply *run(redisContext *c, int argc, const char **argv, const size_t *lens)
{
	return redisCommandArgv(c, argc, argv, lens);
}

/* Connect this thread, authenticate, pick the database. 0 or -1 (err). */
static int connect_thread(struct redis *r, char *err, size_t errlen)
{
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	redisContext *c = r->addr.path[0] ? redisConnectUnixWithTimeout(r->addr.path, tv)
					  : redisConnectWithTimeout(r->addr.host, r->addr.port, tv);
	if (!c || c->err) {
		snprintf(err, errlen, "cannot connect to Redis: %s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return -1;
	}
	redisSetTimeout(c, tv);
	tls.c = c;
	tls.owner = r;
	char db[8];
	snprintf(db, sizeof(db), "%d", r->addr.db);
	/* AUTH [user] password, then SELECT db, each when asked for */
	const char *argv[3];
	size_t lens[3];
	for (int step = 0; step < 2; step++) {
		int argc = 0;
		if (step == 0 && r->addr.password[0]) {
			argv[argc++] = "AUTH";
			if (r->addr.user[0])
				argv[argc++] = r->addr.user;
			argv[argc++] = r->addr.password;
		} else if (step == 1 && r->addr.db) {
			argv[argc++] = "SELECT";
			argv[argc++] = db;
		}
		if (!argc)
			continue;
		for (int i = 0; i < argc; i++)
			lens[i] = strlen(argv[i]);
		redisReply *x = run(c, argc, argv, lens);
		int bad = !x || x->type == REDIS_REPLY_ERROR;
		if (bad) {
			snprintf(err, errlen, "Redis refused %s: %.120s", step == 0 ? "the password" : "the database number",
				 x ? x->str : c->errstr);
			log_scrub(err);
		}
		if (x)
			freeReplyObject(x);
		if (bad) {
			drop();
			return -1;
		}
	}
	return 0;
}

int redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens, struct redis_reply *out,
	      char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (tls.owner != r)
		drop();
	if (!tls.c) {
		pthread_mutex_lock(&r->mu);
		int64_t wait = r->down_until;
		pthread_mutex_unlock(&r->mu);
		if (wait && pool_now_ms() < wait) {
			snprintf(err, errlen, "Redis is marked down (retried within %d ms)", REDIS_RETRY_MS);
			return -1;
		}
		if (connect_thread(r, err, errlen) != 0) {
			mark(r, 0);
			return -1;
		}
	}
	redisReply *x = run(tls.c, argc, argv, lens);
	if (!x) {
		snprintf(err, errlen, "Redis: %s", tls.c->errstr[0] ? tls.c->errstr : "no answer");
		drop();
		mark(r, 0);
		return -1;
	}
	convert(x, out);
	freeReplyObject(x);
	if (!r->up)
		mark(r, 1);
	return 0;
}

/* The cached SHA-1 of script, or NULL. */
static const char *sha_of(struct redis *r, const char *script)
{
	const char *sha = NULL;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nscripts; i++)
		if (r->scripts[i].text == script)
			sha = r->scripts[i].sha;
	pthread_mutex_unlock(&r->mu);
	return sha;
}

static int load_script(struct redis *r, const char *script, char *err, size_t errlen)
{
	const char *argv[3] = { "SCRIPT", "LOAD", script };
	size_t lens[3] = { 6, 4, strlen(script) };
	struct redis_reply x;
	if (redis_cmd(r, 3, argv, lens, &x, err, errlen) != 0)
		return -1;
	int ok = x.type == RR_STR && x.len == 40;
	if (ok) {
		pthread_mutex_lock(&r->mu);
		size_t i = 0;
		while (i < r->nscripts && r->scripts[i].text != script)
			i++;
		if (i < REDIS_SCRIPTS_MAX) {
			r->scripts[i].text = script;
			memcpy(r->scripts[i].sha, x.s, 41);
			if (i == r->nscripts)
				r->nscripts++;
		}
		pthread_mutex_unlock(&r->mu);
	} else {
		snprintf(err, errlen, "Redis did not load a script: %.120s", x.s ? x.s : "?");
	}
	redis_reply_free(&x);
	return ok ? 0 : -1;
}

static int script_try(struct redis *r, const char *script, int nargs, const char **args, const char **argv,
		      size_t *lens, struct redis_reply *out, char *err, size_t errlen);

int redis_script(struct redis *r, const char *script, int nargs, const char **args, struct redis_reply *out,
		 char *err, size_t errlen)
{
	if (nargs < 0 || nargs > REDIS_SCRIPT_ARGS_MAX) {
		snprintf(err, errlen, "too many script arguments");
		return -1;
	}
	const char **argv = xcalloc((size_t)nargs + 3, sizeof(*argv));
	size_t *lens = xcalloc((size_t)nargs + 3, sizeof(*lens));
	int rc = script_try(r, script, nargs, args, argv, lens, out, err, errlen);
	free(argv);
	free(lens);
	return rc;
}

/* redis_script with argument arrays of nargs + 3. */
static int script_try(struct redis *r, const char *script, int nargs, const char **args, const char **argv,
		      size_t *lens, struct redis_reply *out, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *sha = sha_of(r, script);
		if (!sha && load_script(r, script, err, errlen) != 0)
			return -1;
		sha = sha_of(r, script);
		if (!sha) {
			snprintf(err, errlen, "too many scripts");
			return -1;
		}
		argv[0] = "EVALSHA";
		argv[1] = sha;
		argv[2] = "0";
		for (int i = 0; i < nargs; i++)
			argv[3 + i] = args[i];
		for (int i = 0; i < 3 + nargs; i++)
			lens[i] = strlen(argv[i]);
		if (redis_cmd(r, 3 + nargs, argv, lens, out, err, errlen) != 0)
			return -1;
		if (out->type != RR_ERR || strncmp(out->s, "NOSCRIPT", 8) != 0)
			return 0;
		redis_reply_free(out);   /* the server restarted: load it again */
		pthread_mutex_lock(&r->mu);
		for (size_t i = 0; i < r->nscripts; i++)
			if (r->scripts[i].text == script)
				r->scripts[i].sha[0] = '\0';
		pthread_mutex_unlock(&r->mu);
		load_script(r, script, err, errlen);
	}
	snprintf(err, errlen, "Redis keeps forgetting the script");
	return -1;
}

struct redis *redis_open(const char *url, long timeout_ms, char *err, size_t errlen)
{
	struct redis *r = xcalloc(1, sizeof(*r));
	if (redis_parse_url(url, &r->addr, err, errlen) != 0) {
		free(r);
		return NULL;
	}
	log_add_secret(r->addr.password);
	log_add_secret(url);
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 200;
	r->up = 1;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void redis_close(struct redis *r)
{
	if (!r)
		return;
	if (tls.owner == r)
		drop();
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int redis_up(struct redis *r)
{
	pthread_mutex_lock(&r->mu);
	int up = r->up;
	pthread_mutex_unlock(&r->mu);
	return up;
}

void redis_thread_end(struct redis *r)
{
	if (tls.owner == r)
		drop();
}

#else /* !HAVE_HIREDIS */

struct redis *redis_open(const char *url, long timeout_ms, char *err, size_t errlen)
{
	(void)url;
	(void)timeout_ms;
	snprintf(err, errlen, "this build has no Redis client (install libhiredis-dev and run configure again)");
	return NULL;
}
void redis_close(struct redis *r)
{
	(void)r;
}
int redis_cmd(struct redis *r, int argc, const char **argv, const size_t *lens, struct redis_reply *out,
	      char *err, size_t errlen)
{
	(void)r, (void)argc, (void)argv, (void)lens;
	memset(out, 0, sizeof(*out));
	snprintf(err, errlen, "no Redis client");
	return -1;
}
int redis_script(struct redis *r, const char *script, int nargs, const char **args, struct redis_reply *out,
		 char *err, size_t errlen)
{
	(void)script, (void)nargs, (void)args;
	return redis_cmd(r, 0, NULL, NULL, out, err, errlen);
}
int redis_up(struct redis *r)
{
	(void)r;
	return 0;
}
void redis_thread_end(struct redis *r)
{
	(void)r;
}
#endif

int redis_cmd_key(struct redis *r, const char *verb, const char *key, struct redis_reply *out, char *err,
		  size_t errlen)
{
	const char *argv[2] = { verb, key };
	size_t lens[2] = { strlen(verb), strlen(key) };
	return redis_cmd(r, 2, argv, lens, out, err, errlen);
}

const char *redis_prefix(const struct redis *r)
{
	(void)r;
	return "llmgate:";
}
