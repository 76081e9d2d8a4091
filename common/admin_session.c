/* admin_session.c — the admin API's setup, login, logout, sessions, CSRF and the login throttle. */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include "pwhash.h"
#include "settings.h"
#include "xmalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int admin_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	if (!header)
		return 0;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nl && !strncmp(p, name, nl)) {
			const char *v = eq + 1, *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= outlen)
				return 0;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

/* When t's failures are forgotten (admin.h: until is the lock's end
 * from ADMIN_THROTTLE_FAILURES on). */
static int64_t throttle_forget(const struct admin_throttle *t)
{
	return t->failures >= ADMIN_THROTTLE_FAILURES ? t->until + ADMIN_THROTTLE_WINDOW_S : t->until;
}

long admin_throttle_wait(const struct admin_throttle *t, int64_t now)
{
	if (t->failures < ADMIN_THROTTLE_FAILURES || t->until <= now)
		return 0;
	return (long)(t->until - now);
}

void admin_throttle_fail(struct admin_throttle *t, int64_t now)
{
	if (t->failures <= 0 || now >= throttle_forget(t))
		t->failures = 0;
	if (t->failures < LONG_MAX)
		t->failures++;
	if (t->failures < ADMIN_THROTTLE_FAILURES) {
		t->until = now + ADMIN_THROTTLE_WINDOW_S;
		return;
	}
	int64_t lock = ADMIN_THROTTLE_BASE_S;
	for (long i = ADMIN_THROTTLE_FAILURES; i < t->failures && lock < ADMIN_THROTTLE_MAX_S; i++)
		lock *= 2;
	if (lock > ADMIN_THROTTLE_MAX_S)
		lock = ADMIN_THROTTLE_MAX_S;
	t->until = now + lock;
}

void admin_throttle_global_fail(struct admin_throttle *g, int64_t now)
{
	if (g->failures <= 0 || now >= g->until)
		g->failures = 0;
	if (g->failures < LONG_MAX)
		g->failures++;
	g->until = now + ADMIN_THROTTLE_WINDOW_S;
}

long admin_login_wait(const struct admin_throttle *a, const struct admin_throttle *g, int64_t now)
{
	long own = admin_throttle_wait(a, now);
	if (own > 0)
		return own;
	int ceiling = g->failures >= ADMIN_THROTTLE_GLOBAL_FAILURES && g->until > now;
	int failed_recently = a->failures > 0 && throttle_forget(a) > now;
	return ceiling && failed_recently ? (long)(g->until - now) : 0;
}

void admin_client_addr(const char *remote_addr, char *out, size_t outlen)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	const char *name = "unknown";
	if (remote_addr && inet_pton(AF_INET, remote_addr, a) == 1) {
		name = inet_ntop(AF_INET, a, text, sizeof(text));
	} else if (remote_addr && inet_pton(AF_INET6, remote_addr, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(a, mapped, sizeof(mapped))) {
			name = inet_ntop(AF_INET, a + 12, text, sizeof(text));
		} else {
			memset(a + 8, 0, 8);
			if (inet_ntop(AF_INET6, a, text, sizeof(text) - 4)) {
				strcat(text, "/64");
				name = text;
			}
		}
	}
	snprintf(out, outlen, "%s", name ? name : "unknown");
}

static int new_token(char out[ADMIN_TOKEN_HEX])
{
	unsigned char rnd[ADMIN_TOKEN_BYTES];
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		return -1;
	hex_encode(rnd, sizeof(rnd), out);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

/* ------------------------------------------------------------ sessions */

/* The caller's session from its cookie: 0 (x->csrf, x->sess_key set), 401
 * when there is none or it expired, -1 when state.db cannot be read. */
int admin_session_load(struct admin_ctx *x)
{
	char sid[ADMIN_TOKEN_HEX + 1], hash[SHA256_HEX_LEN];
	int result = 401;
	cJSON *j = NULL;
	if (!admin_cookie_get(http_header(x->r, "Cookie"), ADMIN_SESSION_COOKIE, sid, sizeof(sid)) ||
	    !admin_hex_ok(sid, ADMIN_TOKEN_HEX - 1))
		goto out;
	sha256_hex(sid, strlen(sid), hash);
	snprintf(x->sess_key, sizeof(x->sess_key), SESSION_PREFIX "%s", hash);
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db) {
		if (errno != ENOENT)
			result = -1;
		goto out;
	}
	j = admin_get_json(db, x->sess_key);
	store_close(db);
	const char *csrf = admin_str_of(j, "csrf");
	int64_t expires = (int64_t)admin_num_of(j, "expires", 0);
	if (!csrf || !admin_hex_ok(csrf, ADMIN_TOKEN_HEX - 1) || expires <= x->now)
		goto out;
	memcpy(x->csrf, csrf, ADMIN_TOKEN_HEX);
	x->sess_expires = expires;
	const char *who = admin_str_of(j, "name");
	snprintf(x->who, sizeof(x->who), "%s", who && admin_name_ok(who) ? who : ADMIN_OWNER);
	result = 0;
out:
	explicit_bzero(sid, sizeof(sid));
	cJSON_Delete(j);
	return result;
}

int admin_session_csrf_ok(struct admin_ctx *x)
{
	const char *t = http_header(x->r, "X-CSRF-Token");
	size_t n = ADMIN_TOKEN_HEX - 1;
	return t && strlen(t) == n && x->csrf[0] && ct_equal(t, x->csrf, n);
}

/* Records of one kind under a prefix (sessions, throttle addresses), for
 * pruning: newest first by created, live until expires. */
struct prune_row {
	char *key;
	int64_t created, expires;
};

struct prune_list {
	struct prune_row *v;
	size_t n;
};

static void prune_add(struct prune_list *l, const char *key, int64_t created, int64_t expires)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].created = created;
	l->v[l->n].expires = expires;
	l->n++;
}

static int sess_collect(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	prune_add(user, key, (int64_t)admin_num_of(j, "created", 0), (int64_t)admin_num_of(j, "expires", 0));
	cJSON_Delete(j);
	return 0;
}

static int cmp_row_newest(const void *a, const void *b)
{
	const struct prune_row *x = a, *y = b;
	return x->created == y->created ? 0 : x->created > y->created ? -1 : 1;
}

/* Drop the records under prefix that expired, and the oldest beyond keep
 * (db opened as writer); collect reads one into a prune_list. */
static void prune_prefix(GDBM_FILE db, const char *prefix, int (*collect)(const char *, const char *, size_t, void *),
			 int64_t now, size_t keep)
{
	struct prune_list l = { NULL, 0 };
	store_each(db, prefix, collect, &l);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_row_newest);
	size_t live = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].expires > now && live < keep)
			live++;
		else
			store_delete(db, l.v[i].key);
		free(l.v[i].key);
	}
	free(l.v);
}

struct ending {
	const char *name, *keep;
	char **keys;
	size_t n;
};

static int ending_collect(const char *key, const char *val, size_t vlen, void *user)
{
	struct ending *e = user;
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	const char *who = admin_str_of(j, "name");
	if (!strcmp(who ? who : ADMIN_OWNER, e->name) && (!e->keep || strcmp(key, e->keep)) &&
	    e->n < ADMIN_SESSIONS_MAX + 8)
		e->keys[e->n++] = xstrdup(key);
	cJSON_Delete(j);
	return 0;
}

void admin_sessions_end(GDBM_FILE db, const char *name, const char *keep)
{
	char *keys[ADMIN_SESSIONS_MAX + 8];
	struct ending e = { name, keep, keys, 0 };
	store_each(db, SESSION_PREFIX, ending_collect, &e);
	for (size_t i = 0; i < e.n; i++) {
		store_delete(db, keys[i]);
		free(keys[i]);
	}
}

/* ------------------------------------------------------------ setup, login */

char *admin_password_hash(struct admin_ctx *x, const char *pw)
{
	char *hash = pwhash_make(pw);
	if (!hash) {
		log_err("cannot hash the admin password with yescrypt: %s", strerror(errno));
		admin_reply_error(x, 500, "server_error", NULL, "cannot hash the password (see the server log)");
	}
	return hash;
}

int admin_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > ADMIN_NAME_MAX)
		return 0;
	for (const char *p = s; *p; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '.' && *p != '_' && *p != '-')
			return 0;
	}
	return 1;
}

void admin_user_key(const char *name, char out[ADMIN_USER_KEY_MAX])
{
	if (!strcmp(name, ADMIN_OWNER))
		snprintf(out, ADMIN_USER_KEY_MAX, "%s", PASSWORD_KEY);
	else
		snprintf(out, ADMIN_USER_KEY_MAX, ADMIN_USER_PREFIX "%.*s", ADMIN_NAME_MAX, name);
}

int admin_new_password_weak(struct admin_ctx *x, const char *pw)
{
	char err[160];
	if (pw && strlen(pw) <= PWHASH_PASSWORD_MAX && admin_utf8_chars(pw) >= ADMIN_PASSWORD_MIN)
		return 0;
	snprintf(err, sizeof(err), "the password needs at least %d characters (at most %d bytes)", ADMIN_PASSWORD_MIN,
		 PWHASH_PASSWORD_MAX);
	admin_reply_invalid(x, "weak_password", "password", err);
	return 1;
}

size_t admin_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

void admin_session_setup_get(struct admin_ctx *x)
{
	int done = 0;
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db && errno != ENOENT) {
		admin_reply_store_error(x);
		return;
	}
	if (db) {
		char *v = store_get(db, PASSWORD_KEY, NULL);
		done = v != NULL;
		free(v);
		store_close(db);
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "setup_done", done);
	admin_reply_ok(x, 200, j);
}

/* The body's password member, checked; NULL after an error answer. */
static const char *body_password(struct admin_ctx *x, int for_setup)
{
	static const char *const known_setup[] = { "password", NULL };
	static const char *const known_login[] = { "password", "name", NULL };
	const char *const *known = for_setup ? known_setup : known_login;
	char err[256];
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(x->body, "password");
	if (settings_members_known(x->body, known, "the body", err, sizeof(err)) != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "%s", err);
		return NULL;
	}
	if (!cJSON_IsString(pw) || !*pw->valuestring) {
		admin_reply_error(x, 400, "invalid_request", NULL, "a \"password\" string is needed");
		return NULL;
	}
	if (strlen(pw->valuestring) > PWHASH_PASSWORD_MAX) {
		admin_reply_error(x, 400, "invalid_request", NULL, "the password is longer than %d bytes", PWHASH_PASSWORD_MAX);
		return NULL;
	}
	if (for_setup && admin_utf8_chars(pw->valuestring) < ADMIN_PASSWORD_MIN) {
		admin_reply_error(x, 400, "weak_password", NULL, "the password needs at least %d characters",
			    ADMIN_PASSWORD_MIN);
		return NULL;
	}
	return pw->valuestring;
}

void admin_session_setup_post(struct admin_ctx *x)
{
	char *hash = NULL, *v = NULL;
	cJSON *rec = NULL;
	GDBM_FILE db = NULL;
	const char *pw = body_password(x, 1);
	if (!pw)
		goto out;
	/* cheap look first: no hashing once a password is set */
	if ((db = admin_state_open(x, 0)) != NULL) {
		v = store_get(db, PASSWORD_KEY, NULL);
		store_close(db);
		db = NULL;
	} else if (errno != ENOENT) {
		admin_reply_store_error(x);
		goto out;
	}
	if (v) {
		admin_reply_error(x, 409, "already_set", NULL, "the admin password is already set; log in instead");
		goto out;
	}
	if (!(hash = admin_password_hash(x, pw)))
		goto out;
	if (!(db = admin_state_open(x, 1))) {
		admin_reply_store_error(x);
		goto out;
	}
	if ((v = store_get(db, PASSWORD_KEY, NULL)) != NULL) {
		admin_reply_error(x, 409, "already_set", NULL, "the admin password is already set; log in instead");
		goto out;
	}
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "hash", hash);
	cJSON_AddNumberToObject(rec, "set", (double)x->now);
	if (admin_put_json(db, PASSWORD_KEY, rec) != 0 || store_sync(db) != 0) {
		admin_reply_write_error(x);
		goto out;
	}
	log_info("admin password set");
	store_close(db); /* the audit note takes the writer lock */
	db = NULL;
	admin_audit_note(x, "setup", "the admin password was set");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "setup_done", 1);
	admin_reply_ok(x, 201, j);
out:
	store_close(db);
	cJSON_Delete(rec);
	free(hash);
	free(v);
}

static void throttle_read(GDBM_FILE db, const char *key, struct admin_throttle *t)
{
	cJSON *j = admin_get_json(db, key);
	t->failures = (long)admin_num_of(j, "failures", 0);
	t->until = (int64_t)admin_num_of(j, "until", 0);
	cJSON_Delete(j);
}

static int throttle_write(GDBM_FILE db, const char *key, const struct admin_throttle *t)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "failures", (double)t->failures);
	cJSON_AddNumberToObject(j, "until", (double)t->until);
	int r = admin_put_json(db, key, j);
	cJSON_Delete(j);
	return r;
}

/* An address's throttle record, for pruning: live until forgotten. */
static int throttle_collect(const char *key, const char *val, size_t vlen, void *user)
{
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	struct admin_throttle t = { (long)admin_num_of(j, "failures", 0), (int64_t)admin_num_of(j, "until", 0) };
	prune_add(user, key, throttle_forget(&t), throttle_forget(&t));
	cJSON_Delete(j);
	return 0;
}

static int https_on(struct admin_ctx *x)
{
	const char *h = http_param(x->r, "HTTPS");
	return h && !strcasecmp(h, "on");
}

/* Every attempt is counted as a failure (of its address and of all)
 * before the (slow) check and taken back when it succeeds, so that
 * parallel guesses cannot slip past the limit while hashes are being
 * computed. */
void admin_session_login(struct admin_ctx *x)
{
	char *hash = NULL;
	cJSON *pwrec = NULL, *sess = NULL;
	char sid[ADMIN_TOKEN_HEX], csrf[ADMIN_TOKEN_HEX], key_hash[SHA256_HEX_LEN];
	char sess_key[sizeof(SESSION_PREFIX) + SHA256_HEX_LEN], extra[512];
	char addr[ADMIN_ADDR_MAX], tkey[sizeof(THROTTLE_ADDR_PREFIX) + ADMIN_ADDR_MAX];
	struct admin_throttle t, g;
	GDBM_FILE db = NULL;
	sid[0] = '\0';
	admin_client_addr(http_param(x->r, "REMOTE_ADDR"), addr, sizeof(addr));
	snprintf(tkey, sizeof(tkey), THROTTLE_ADDR_PREFIX "%s", addr);
	const char *pw = body_password(x, 0);
	if (!pw)
		goto out;
	const char *name = admin_str_of(x->body, "name");
	if (!name || !*name)
		name = ADMIN_OWNER;
	if (!admin_name_ok(name)) {
		admin_reply_invalid(x, "invalid_request", "name", "name: 1 to 32 of a-z, 0-9, '.', '_', '-'");
		goto out;
	}
	int unknown = 0;
	if (!(db = admin_state_open(x, 1))) {
		admin_reply_store_error(x);
		goto out;
	}
	pwrec = admin_get_json(db, PASSWORD_KEY);
	const char *stored = admin_str_of(pwrec, "hash");
	if (!stored) {
		admin_reply_error(x, 409, "setup_required", NULL, "no admin password is set yet: set one first");
		goto out;
	}
	if (strcmp(name, ADMIN_OWNER)) {
		/* a named admin; an unknown name is checked against the owner's
		 * hash all the same (the same time) and fails */
		char ukey[ADMIN_USER_KEY_MAX];
		admin_user_key(name, ukey);
		cJSON *u = admin_get_json(db, ukey);
		const char *uh = admin_str_of(u, "hash");
		unknown = !uh;
		hash = xstrdup(uh ? uh : stored);
		cJSON_Delete(u);
	} else {
		hash = xstrdup(stored);
	}
	throttle_read(db, tkey, &t);
	throttle_read(db, THROTTLE_KEY, &g);
	long wait = admin_login_wait(&t, &g, x->now);
	if (wait > 0) {
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", wait);
		admin_reply_error(x, 429, "too_many_attempts", extra,
			    "too many failed logins: try again in %ld seconds", wait);
		goto out;
	}
	admin_throttle_fail(&t, x->now);
	admin_throttle_global_fail(&g, x->now);
	prune_prefix(db, THROTTLE_ADDR_PREFIX, throttle_collect, x->now, ADMIN_THROTTLE_ADDRS_MAX - 1);
	if (throttle_write(db, tkey, &t) != 0 || throttle_write(db, THROTTLE_KEY, &g) != 0 || store_sync(db) != 0) {
		admin_reply_write_error(x);
		goto out;
	}
	store_close(db);
	db = NULL;

	if (!pwhash_verify(pw, hash) || unknown) {
		log_warn("admin login from %s failed (%ld in a row from there, %ld from all)", addr, t.failures,
			 g.failures);
		if (g.failures == ADMIN_THROTTLE_GLOBAL_FAILURES)
			log_warn("admin login: %d failures from all addresses within %d s; an address that failed "
				 "waits until they stop", ADMIN_THROTTLE_GLOBAL_FAILURES, ADMIN_THROTTLE_WINDOW_S);
		admin_reply_error(x, 401, "wrong_password", NULL, "wrong password");
		goto out;
	}
	if (new_token(sid) != 0 || new_token(csrf) != 0) {
		admin_reply_error(x, 500, "server_error", NULL, "no randomness available");
		goto out;
	}
	sha256_hex(sid, strlen(sid), key_hash);
	snprintf(sess_key, sizeof(sess_key), SESSION_PREFIX "%s", key_hash);
	sess = cJSON_CreateObject();
	cJSON_AddNumberToObject(sess, "expires", (double)(x->now + ADMIN_SESSION_TTL_S));
	cJSON_AddStringToObject(sess, "csrf", csrf);
	cJSON_AddNumberToObject(sess, "created", (double)x->now);
	cJSON_AddStringToObject(sess, "name", name);
	snprintf(x->who, sizeof(x->who), "%s", name);
	if (!(db = admin_state_open(x, 1))) {
		admin_reply_store_error(x);
		goto out;
	}
	/* this attempt was no failure: taken back from the counts */
	store_delete(db, tkey);
	throttle_read(db, THROTTLE_KEY, &g);
	if (g.failures > 0) {
		g.failures--;
		throttle_write(db, THROTTLE_KEY, &g);
	}
	prune_prefix(db, SESSION_PREFIX, sess_collect, x->now, ADMIN_SESSIONS_MAX - 1);
	if (admin_put_json(db, sess_key, sess) != 0 || store_sync(db) != 0) {
		admin_reply_write_error(x);
		goto out;
	}
	snprintf(extra, sizeof(extra),
		 "Set-Cookie: " ADMIN_SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s\r\n", sid,
		 ADMIN_SESSION_TTL_S, https_on(x) ? "; Secure" : "");
	log_info("admin logged in from %s", addr);
	store_close(db); /* the audit note takes the writer lock */
	db = NULL;
	admin_audit_note(x, "login", "logged in");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "csrf", csrf);
	cJSON_AddNumberToObject(j, "expires", (double)(x->now + ADMIN_SESSION_TTL_S));
	cJSON_AddStringToObject(j, "name", name);
	admin_reply(x, 200, j, extra);
out:
	store_close(db);
	cJSON_Delete(pwrec);
	cJSON_Delete(sess);
	free(hash);
	explicit_bzero(sid, sizeof(sid));
}

void admin_session_logout(struct admin_ctx *x)
{
	char extra[256];
	GDBM_FILE db = admin_state_open(x, 1);
	if (!db) {
		admin_reply_store_error(x);
		return;
	}
	store_delete(db, x->sess_key);
	int r = store_sync(db);
	store_close(db);
	if (r != 0) {
		admin_reply_write_error(x);
		return;
	}
	snprintf(extra, sizeof(extra),
		 "Set-Cookie: " ADMIN_SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s\r\n",
		 https_on(x) ? "; Secure" : "");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	admin_reply(x, 200, j, extra);
}

void admin_session_get(struct admin_ctx *x)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "csrf", x->csrf);
	cJSON_AddNumberToObject(j, "expires", (double)x->sess_expires);
	cJSON_AddStringToObject(j, "name", x->who);
	admin_reply_ok(x, 200, j);
}
