/* settings.c — the settings schema: the table of plain settings and the
 * rules of every setting, shared by the config file and the admin API. */
#include "autoconf.h"
#include "settings.h"
#include "ini.h"
#include "log.h"
#include "xmalloc.h"
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define F(field) offsetof(struct config, field)
#define N(sec, key, state, type, min, max, def, field) \
	{ sec, key, state, type, min, max, def, NULL, F(field) }
#define S(sec, key, type, min, max, def_str, field) \
	{ sec, key, NULL, type, min, max, 0, def_str, F(field) }

const struct settings_def settings_table[] = {
	N("server", "threads", NULL, SETTINGS_INT, 1, 1024, 16, threads),
	N("server", "hot_threads", NULL, SETTINGS_INT, 0, 1024, 0, hot_threads),
	S("server", "streams", SETTINGS_STR, 0, 0, "events", streams),
	N("server", "max_streams", NULL, SETTINGS_INT, 0, 1000000, 0, max_streams),
	N("server", "body_timeout_ms", NULL, SETTINGS_INT, 0, 3600000, 30000, body_timeout_ms),
	N("server", "stream_ping_s", NULL, SETTINGS_LONG, 0, 3600, 15, stream_ping_s),
	N("server", "max_body", NULL, SETTINGS_SIZE, 1024, 1LL << 30, 4LL << 20, max_body),
	N("server", "max_response", NULL, SETTINGS_SIZE, 4096, 1LL << 30, 32LL << 20, max_response),
	S("server", "state_dir", SETTINGS_STR, 0, 0, LOCALSTATEDIR "/lib/llmgate", state_dir),
	S("server", "mount", SETTINGS_STR, 0, 0, "/", mount),
	N("server", "log_level", NULL, SETTINGS_LOG_LEVEL, LOG_ERR, LOG_DEBUG, LOG_INFO, log_level),
	S("server", "log", SETTINGS_STR, 1, 0, "stderr", log_target),
	S("server", "log_facility", SETTINGS_STR, 1, 0, "daemon", log_facility),
	S("server", "syslog_socket", SETTINGS_STR, 1, 0, "/dev/log", syslog_socket),
	S("server", "cors_origins", SETTINGS_STR, 0, 0, "", cors_origins),
	S("server", "secrets_file", SETTINGS_STR, 0, 0, "", secrets_file),
	S("metrics", "token", SETTINGS_SECRET, 0, 0, "", metrics_token),
	S("metrics", "allow", SETTINGS_STR, 0, 0, "127.0.0.0/8, ::1", metrics_allow),
	N("quota", "default_max_tokens", NULL, SETTINGS_LONG, 0, 10000000, 4096, default_max_tokens),
	N("upstream", "connect_timeout_ms", NULL, SETTINGS_LONG, 1, 600000, 5000, connect_timeout_ms),
	N("upstream", "first_byte_timeout_ms", NULL, SETTINGS_LONG, 1, 3600000, 120000, first_byte_timeout_ms),
	N("upstream", "idle_timeout_ms", NULL, SETTINGS_LONG, 1, 3600000, 120000, idle_timeout_ms),
	N("upstream", "head_timeout_ms", NULL, SETTINGS_LONG, 0, 3600000, 300000, head_timeout_ms),
	N("upstream", "total_timeout_ms", NULL, SETTINGS_LONG, 0, 7200000, 600000, total_timeout_ms),
	N("upstream", "stream_max_s", NULL, SETTINGS_LONG, 0, 86400, 1800, stream_max_s),
	N("upstream", "stream_max_bytes", NULL, SETTINGS_SIZE, 0, 1LL << 30, 64LL << 20, stream_max_bytes),
	S("upstream", "ca_file", SETTINGS_STR, 0, 0, NULL, ca_file),
	N("upstream", "max_attempts", NULL, SETTINGS_INT, 1, 20, 3, max_attempts),
	N("upstream", "cooldown_s", NULL, SETTINGS_INT, 1, 86400, 60, cooldown_s),
	N("upstream", "cooldown_long_after", NULL, SETTINGS_INT, 1, 1000, 5, cooldown_long_after),
	N("upstream", "cooldown_long_s", NULL, SETTINGS_INT, 1, 7 * 86400, 900, cooldown_long_s),
	S("prices", "currency", SETTINGS_STR, 1, 8, "USD", currency),
	N("cache", "enabled", "cache.enabled", SETTINGS_BOOL, 0, 1, 0, cache_enabled),
	N("cache", "per_key", NULL, SETTINGS_BOOL, 0, 1, 0, cache_per_key),
	N("cache", "ttl_s", "cache.ttl_s", SETTINGS_LONG, 1, 365L * 86400, 3600, cache_ttl_s),
	N("responses", "ttl_days", NULL, SETTINGS_LONG, 1, 3650, 30, responses_ttl_days),
	N("cache", "max_bytes", "cache.max_bytes", SETTINGS_SIZE, 4096, 1LL << 40, 64LL << 20, cache_max_bytes),
	S("settle", "backend_url", SETTINGS_URL, 0, 0, "", settle_backend_url),
	S("settle", "backend_path", SETTINGS_PATH, 0, 0, "/internal/usage", settle_backend_path),
	S("settle", "secret", SETTINGS_SECRET, 0, 0, "", settle_secret),
	S("settle", "database", SETTINGS_SECRET, 0, 0, "", settle_database),
	S("shared", "redis", SETTINGS_SECRET, 0, 0, "", shared_redis),
	N("shared", "timeout_ms", NULL, SETTINGS_LONG, 1, 60000, 200, shared_timeout_ms),
	N("shared", "lease_s", NULL, SETTINGS_LONG, 1, 86400, 900, shared_lease_s),
	N("shared", "fail_closed", NULL, SETTINGS_BOOL, 0, 1, 0, shared_fail_closed),
	N("settle", "batch", NULL, SETTINGS_INT, 1, 10000, 100, settle_batch),
	N("settle", "retries", NULL, SETTINGS_INT, 0, 100, 3, settle_retries),
	N("settle", "archive", NULL, SETTINGS_BOOL, 0, 1, 0, settle_archive),
	N("settle", "spool_max_bytes", NULL, SETTINGS_LLONG, 4096, 1LL << 50, 256LL << 20, spool_max_bytes),
	N("settle", "spool_warn_percent", NULL, SETTINGS_INT, 1, 100, 80, spool_warn_percent),
	N("mcp", "enabled", NULL, SETTINGS_BOOL, 0, 1, 1, mcp_enabled),
	N("mcp", "session_idle_s", NULL, SETTINGS_LONG, 10, 7 * 86400, 3600, mcp_session_idle_s),
	N("mcp", "sse_idle_s", NULL, SETTINGS_LONG, 5, 86400, 300, mcp_sse_idle_s),
	N("mcp", "sse_per_key", NULL, SETTINGS_INT, 0, 1024, 2, mcp_sse_per_key),
	N("mcp", "sse_max", NULL, SETTINGS_INT, 0, 1024, 0, mcp_sse_max),
	N("conversations", "max_per_key", "conversations.max_per_key", SETTINGS_INT, 0, 1000000, 50, conv_max_per_key),
	N("conversations", "retention_days", "conversations.retention_days", SETTINGS_LONG, 1, 3650, 30, conv_retention_days),
	N("conversations", "history_chars", "conversations.history_chars", SETTINGS_LONG, 256, 10000000, 24000,
	  conv_history_chars),
	N("drawing", "enabled", "drawing.enabled", SETTINGS_BOOL, 0, 1, 0, drawing_enabled),
	{ "drawing", "model", "drawing.model", SETTINGS_STR, 0, 256, 0, "", F(drawing_model) },
	{ "rag", "model", "rag.model", SETTINGS_STR, 0, 0, 0, "", F(rag_model) },
	N("rag", "chunk_size", "rag.chunk_size", SETTINGS_INT, 100, 8000, 600, rag_chunk_size),
	N("rag", "chunk_overlap", "rag.chunk_overlap", SETTINGS_INT, 0, 2000, 80, rag_chunk_overlap),
	N("rag", "top_k", "rag.top_k", SETTINGS_INT, 1, 50, 4, rag_top_k),
	N("rag", "min_score", "rag.min_score", SETTINGS_INT, 0, 100, 20, rag_min_score),
	{ "rag", "stores", "rag.stores", SETTINGS_STR, 0, 0, 0, "", F(rag_stores) },
	{ "rag", "models", "rag.models", SETTINGS_STR, 0, 0, 0, "", F(rag_models) },
	{ "rag", "keys", "rag.keys", SETTINGS_STR, 0, 0, 0, "", F(rag_keys) },
	N("rag", "max_file_bytes", NULL, SETTINGS_SIZE, 1024, 1LL << 30, 4LL << 20, rag_max_file_bytes),
};

const size_t settings_count = sizeof(settings_table) / sizeof(settings_table[0]);

static const char *const log_levels[] = { "error", "warn", "info", "debug" };

const struct settings_def *settings_find(const char *section, const char *key)
{
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		if (d->section && !strcmp(d->section, section) && !strcmp(d->key, key))
			return d;
	}
	return NULL;
}

/* Does d's state name read group.member? */
static int state_is(const struct settings_def *d, const char *group, const char *member)
{
	size_t n = strlen(group);
	return d->state && !strncmp(d->state, group, n) && d->state[n] == '.' &&
	       (!member || !strcmp(d->state + n + 1, member));
}

const struct settings_def *settings_find_state(const char *group, const char *member)
{
	for (size_t i = 0; i < settings_count; i++) {
		if (state_is(&settings_table[i], group, member))
			return &settings_table[i];
	}
	return NULL;
}

const char *settings_member(const struct settings_def *d, char *group)
{
	const char *dot = d->state ? strchr(d->state, '.') : NULL;
	if (!dot || (size_t)(dot - d->state) >= SETTINGS_GROUP_MAX)
		return NULL;
	memcpy(group, d->state, (size_t)(dot - d->state));
	group[dot - d->state] = '\0';
	return dot + 1;
}

/* ------------------------------------------------------------ storing */

static void *field(const struct settings_def *d, struct config *c)
{
	return (char *)c + d->offset;
}

static void set_number(const struct settings_def *d, struct config *c, long long v)
{
	if (d->offset == SETTINGS_NO_FIELD)
		return;
	switch (d->type) {
	case SETTINGS_INT:
	case SETTINGS_BOOL:
	case SETTINGS_LOG_LEVEL:
		*(int *)field(d, c) = (int)v;
		break;
	case SETTINGS_LONG:
		*(long *)field(d, c) = (long)v;
		break;
	case SETTINGS_SIZE:
		*(size_t *)field(d, c) = (size_t)v;
		break;
	case SETTINGS_LLONG:
		*(long long *)field(d, c) = v;
		break;
	default:
		break;
	}
}

long long settings_get_num(const struct settings_def *d, const struct config *c)
{
	const void *f = (const char *)c + d->offset;
	switch (d->type) {
	case SETTINGS_LONG:
		return *(const long *)f;
	case SETTINGS_SIZE:
		return (long long)*(const size_t *)f;
	case SETTINGS_LLONG:
		return *(const long long *)f;
	default:
		return *(const int *)f;
	}
}

static int is_text(const struct settings_def *d)
{
	return d->type == SETTINGS_STR || d->type == SETTINGS_SECRET || d->type == SETTINGS_URL ||
	       d->type == SETTINGS_PATH;
}

/* Replace a text setting (a URL loses its trailing '/'). */
static void set_text(const struct settings_def *d, struct config *c, const char *v)
{
	if (d->offset == SETTINGS_NO_FIELD)
		return;
	char **dst = field(d, c);
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
	if (*dst && d->type == SETTINGS_URL) {
		size_t n = strlen(*dst);
		while (n > 0 && (*dst)[n - 1] == '/')
			(*dst)[--n] = '\0';
	}
	if (*dst && d->type == SETTINGS_SECRET && **dst)
		log_add_secret(*dst);
}

void settings_defaults(struct config *c)
{
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		if (d->offset == SETTINGS_NO_FIELD)
			continue;
		if (is_text(d))
			*(char **)field(d, c) = d->def_str ? xstrdup(d->def_str) : NULL;
		else
			set_number(d, c, d->def);
	}
}

/* ------------------------------------------------------------ checking */

long long settings_max(const struct settings_def *d)
{
	long long cap;
	switch (d->type) {
	case SETTINGS_LONG:
		cap = LONG_MAX;
		break;
	case SETTINGS_SIZE:
		cap = SIZE_MAX > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)SIZE_MAX;
		break;
	case SETTINGS_LLONG:
		cap = LLONG_MAX;
		break;
	default:
		cap = INT_MAX;
		break;
	}
	return d->max < cap ? d->max : cap;
}

/* What d takes, for messages: "a number from 1 to 1024". */
static void describe(const struct settings_def *d, int json, char *out, size_t outlen)
{
	switch (d->type) {
	case SETTINGS_BOOL:
		snprintf(out, outlen, "true or false");
		break;
	case SETTINGS_LOG_LEVEL:
		snprintf(out, outlen, "error, warn, info or debug");
		break;
	case SETTINGS_STR:
		if (d->max)
			snprintf(out, outlen, "text of %lld to %lld characters", d->min, d->max);
		else
			snprintf(out, outlen, "text");
		break;
	case SETTINGS_SECRET:
		snprintf(out, outlen, "text");
		break;
	case SETTINGS_URL:
		snprintf(out, outlen, "an http:// or https:// URL with a host%s", d->min ? "" : " (or empty)");
		break;
	case SETTINGS_PATH:
		snprintf(out, outlen, "a path that starts with /");
		break;
	default:
		snprintf(out, outlen, "a %snumber from %lld to %lld", json ? "whole " : "", d->min, settings_max(d));
		break;
	}
}

/* "true"/"yes"/"1"/"on" or "false"/"no"/"0"/"off" into *on; 0, or -1 if
 * val is neither. */
static int parse_bool(const char *val, int *on)
{
	int t = !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1") || !strcmp(val, "on");
	int f = !strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0") || !strcmp(val, "off");
	if (!t && !f)
		return -1;
	*on = t;
	return 0;
}

/* Does text value v fit d? */
static int text_fits(const struct settings_def *d, const char *v)
{
	size_t n = strlen(v);
	switch (d->type) {
	case SETTINGS_URL:
		return (!*v && !d->min) || settings_url_ok(v);
	case SETTINGS_PATH:
		return *v == '/';
	case SETTINGS_STR:
		return !d->max || (n >= (size_t)d->min && n <= (size_t)d->max);
	default:
		return 1;
	}
}

int settings_parse_ini(const struct settings_def *d, const char *val, struct config *c, char *err, size_t errlen)
{
	long long v = 0;
	int ok = 1, on = 0;
	if (is_text(d)) {
		ok = text_fits(d, val);
		if (ok && c)
			set_text(d, c, val);
	} else if (d->type == SETTINGS_BOOL) {
		ok = parse_bool(val, &on) == 0;
		if (ok && c)
			set_number(d, c, on);
	} else if (d->type == SETTINGS_LOG_LEVEL) {
		size_t i = 0;
		while (i < sizeof(log_levels) / sizeof(log_levels[0]) && strcmp(val, log_levels[i]))
			i++;
		ok = i < sizeof(log_levels) / sizeof(log_levels[0]);
		if (ok && c)
			set_number(d, c, (long long)i);
	} else {
		ok = ini_parse_llong(val, d->min, settings_max(d), &v) == 0;
		if (ok && c)
			set_number(d, c, v);
	}
	if (!ok) {
		char what[96];
		describe(d, 0, what, sizeof(what));
		snprintf(err, errlen, "[%s] %s must be %s", d->section, d->key, what);
		return -1;
	}
	return 0;
}

int settings_check_json(const struct settings_def *d, const cJSON *v, char *err, size_t errlen)
{
	int ok;
	if (d->type == SETTINGS_BOOL)
		ok = cJSON_IsBool(v);
	else if (is_text(d))
		ok = cJSON_IsString(v) && text_fits(d, v->valuestring);
	else if (d->type == SETTINGS_LOG_LEVEL)
		ok = 0;   /* not taken as JSON */
	else
		ok = settings_int_in(v, (double)d->min, (double)settings_max(d));
	if (!ok) {
		char what[96];
		describe(d, 1, what, sizeof(what));
		snprintf(err, errlen, "%s must be %s", d->state ? d->state : d->key, what);
		return -1;
	}
	return 0;
}

void settings_set_json(const struct settings_def *d, const cJSON *v, struct config *c)
{
	if (d->type == SETTINGS_BOOL)
		set_number(d, c, cJSON_IsTrue(v));
	else if (is_text(d))
		set_text(d, c, v->valuestring);
	else
		set_number(d, c, (long long)v->valuedouble);
}

/* ------------------------------------------------------------ shared rules */

int settings_text_ok(const char *s, size_t max, int multiline)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x7f || (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r'))))
			return 0;
	}
	return 1;
}

int settings_name_ok(const char *s, size_t max)
{
	if (!settings_text_ok(s, max, 0))
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == ' ')
			return 0;
	}
	return 1;
}

int settings_provider_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= CONFIG_NAME_MAX || !strcmp(s, "compat"))
		return 0;
	for (; *s; s++) {
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	}
	return 1;
}

int settings_url_ok(const char *s)
{
	size_t skip;
	if (!strncmp(s, "http://", 7))
		skip = 7;
	else if (!strncmp(s, "https://", 8))
		skip = 8;
	else
		return 0;
	if (!settings_name_ok(s, SETTINGS_URL_LEN))
		return 0;
	/* a host must follow */
	return s[skip] && s[skip] != '/' && s[skip] != ':' && s[skip] != '?' && s[skip] != '#';
}

int settings_price_ok(double v)
{
	return v >= 0 && v <= SETTINGS_PRICE_MAX;   /* false for NaN */
}

int settings_int_in(const cJSON *v, double min, double max)
{
	/* min and max are within long long's range, so the cast is exact for
	 * whole numbers in range */
	return cJSON_IsNumber(v) && v->valuedouble >= min && v->valuedouble <= max &&
	       (double)(long long)v->valuedouble == v->valuedouble;
}

#define VFAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int settings_members_known(const cJSON *obj, const char *const *names, const char *what, char *err, size_t errlen)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, obj) {
		int known = 0;
		for (const char *const *n = names; *n && !known; n++)
			known = !strcmp(v->string, *n);
		if (!known)
			VFAIL("%s: unknown member '%.60s'", what, v->string);
	}
	return 0;
}

static int size_ok(const cJSON *v, const char *what, char *err, size_t errlen)
{
	const cJSON *e;
	if (cJSON_GetArraySize(v) > SETTINGS_ITEMS_MAX)
		VFAIL("%s: more than %d entries", what, SETTINGS_ITEMS_MAX);
	/* an object naming one entry twice: the later one would silently win */
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsObject(v) && e->string && cJSON_GetObjectItemCaseSensitive(v, e->string) != e)
			VFAIL("%s.%.60s is given twice", what, e->string);
	}
	return 0;
}

static int name_list_ok(const cJSON *v, const char *what, size_t maxlen, char *err, size_t errlen)
{
	const cJSON *e;
	if (!cJSON_IsArray(v))
		VFAIL("%s must be a list of names", what);
	if (size_ok(v, what, err, errlen))
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || !settings_name_ok(e->valuestring, maxlen))
			VFAIL("%s: each entry must be a name of 1 to %zu characters without spaces", what, maxlen);
	}
	return 0;
}

static int bool_member(const cJSON *obj, const char *name, const char *what, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (v && !cJSON_IsBool(v))
		VFAIL("%s.%s must be true or false", what, name);
	return 0;
}

static int v_public_models(const cJSON *v, char *err, size_t errlen)
{
	return name_list_ok(v, "public_models", SETTINGS_MODEL_LEN, err, errlen);
}

static int v_aliases(const cJSON *v, char *err, size_t errlen)
{
	const cJSON *e;
	if (!cJSON_IsObject(v))
		VFAIL("aliases must be an object of name: \"provider/model\"");
	if (size_ok(v, "aliases", err, errlen))
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!settings_name_ok(e->string, SETTINGS_MODEL_LEN))
			VFAIL("aliases: '%.60s' is not a model name", e->string);
		if (!cJSON_IsString(e) || !settings_name_ok(e->valuestring, SETTINGS_TARGET_LEN))
			VFAIL("aliases.%.60s must be a model name or \"provider/model\"", e->string);
	}
	return 0;
}

static int v_fallback(const cJSON *v, char *err, size_t errlen)
{
	const cJSON *e, *t;
	if (!cJSON_IsObject(v))
		VFAIL("fallback must be an object of model: [\"provider/model\", ...]");
	if (size_ok(v, "fallback", err, errlen))
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!settings_name_ok(e->string, SETTINGS_MODEL_LEN))
			VFAIL("fallback: '%.60s' is not a model name", e->string);
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) < 1 || cJSON_GetArraySize(e) > SETTINGS_FALLBACK_MAX)
			VFAIL("fallback.%.60s must be a list of 1 to %d targets", e->string, SETTINGS_FALLBACK_MAX);
		cJSON_ArrayForEach(t, e) {
			if (!cJSON_IsString(t) || !settings_name_ok(t->valuestring, SETTINGS_TARGET_LEN))
				VFAIL("fallback.%.60s: each target must be a model name or \"provider/model\"", e->string);
		}
	}
	return 0;
}

static int v_providers(const cJSON *v, char *err, size_t errlen)
{
	static const char *const known[] = { "base_url", "models", "prefixes", "disabled", "responses", NULL };
	const cJSON *p, *m;
	char what[96];
	if (!cJSON_IsObject(v))
		VFAIL("providers must be an object of name: {base_url, models, prefixes, disabled, responses}");
	if (cJSON_GetArraySize(v) > CONFIG_MAX_PROVIDERS)
		VFAIL("providers: more than %d", CONFIG_MAX_PROVIDERS);
	if (size_ok(v, "providers", err, errlen))
		return -1;
	cJSON_ArrayForEach(p, v) {
		if (!settings_provider_name_ok(p->string))
			VFAIL("providers: '%.60s' is not a provider name (a-z, 0-9, '.', '_', '-'; up to %d; 'compat' is reserved)",
			      p->string, CONFIG_NAME_MAX - 1);
		snprintf(what, sizeof(what), "providers.%s", p->string);
		if (!cJSON_IsObject(p))
			VFAIL("%s must be an object", what);
		if (settings_members_known(p, known, what, err, errlen))
			return -1;
		m = cJSON_GetObjectItemCaseSensitive(p, "base_url");
		if (m && (!cJSON_IsString(m) || !settings_url_ok(m->valuestring)))
			VFAIL("%s.base_url must be an http:// or https:// URL", what);
		if ((m = cJSON_GetObjectItemCaseSensitive(p, "models")) &&
		    name_list_ok(m, "models", SETTINGS_MODEL_LEN, err, errlen))
			return -1;
		if ((m = cJSON_GetObjectItemCaseSensitive(p, "prefixes")) &&
		    name_list_ok(m, "prefixes", SETTINGS_MODEL_LEN, err, errlen))
			return -1;
		if (bool_member(p, "disabled", what, err, errlen))
			return -1;
		m = cJSON_GetObjectItemCaseSensitive(p, "responses");
		if (m && (!cJSON_IsString(m) || (strcmp(m->valuestring, "native") && strcmp(m->valuestring, "translate"))))
			VFAIL("%s.responses must be \"native\" or \"translate\"", what);
	}
	return 0;
}

static int v_system_prompt(const cJSON *v, char *err, size_t errlen)
{
	static const char *const known[] = { "enabled", "text", NULL };
	if (!cJSON_IsObject(v))
		VFAIL("system_prompt must be an object {enabled, text}");
	if (settings_members_known(v, known, "system_prompt", err, errlen) ||
	    bool_member(v, "enabled", "system_prompt", err, errlen))
		return -1;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "text");
	if (t && (!cJSON_IsString(t) || (*t->valuestring && !settings_text_ok(t->valuestring, SETTINGS_PROMPT_LEN, 1))))
		VFAIL("system_prompt.text must be text of up to %u bytes", SETTINGS_PROMPT_LEN);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "enabled")) && (!t || !*t->valuestring))
		VFAIL("system_prompt: enabled needs a text");
	return 0;
}

static int v_prices(const cJSON *v, char *err, size_t errlen)
{
	const cJSON *e, *n;
	if (!cJSON_IsObject(v))
		VFAIL("prices must be an object of model: [input, cached input, output]");
	if (size_ok(v, "prices", err, errlen))
		return -1;
	cJSON_ArrayForEach(e, v) {
		if (!settings_name_ok(e->string, SETTINGS_MODEL_LEN))
			VFAIL("prices: '%.60s' is not a model name", e->string);
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 3)
			VFAIL("prices.%.60s must be [input, cached input, output] per million tokens", e->string);
		cJSON_ArrayForEach(n, e) {
			if (!cJSON_IsNumber(n) || !settings_price_ok(n->valuedouble))
				VFAIL("prices.%.60s: prices must be numbers from 0 to %.0f", e->string, SETTINGS_PRICE_MAX);
		}
	}
	return 0;
}

/* An object of plain settings from the table (cache, conversations,
 * drawing): every member a row of the group, each checked by its row. */
static int v_group(const char *group, const cJSON *v, char *err, size_t errlen)
{
	const cJSON *m;
	if (!cJSON_IsObject(v)) {
		char names[160] = "";
		for (size_t i = 0; i < settings_count; i++) {
			size_t n = strlen(names);
			if (state_is(&settings_table[i], group, NULL))
				snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "", settings_table[i].key);
		}
		VFAIL("%s must be an object {%s}", group, names);
	}
	cJSON_ArrayForEach(m, v) {
		const struct settings_def *d = settings_find_state(group, m->string);
		if (!d)
			VFAIL("%s: unknown member '%.60s'", group, m->string);
		if (settings_check_json(d, m, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* The members of the settings document; check NULL: a group of the table. */
static const struct {
	const char *name;
	int (*check)(const cJSON *v, char *err, size_t errlen);
} members[] = {
	{ "public_models", v_public_models },
	{ "aliases", v_aliases },
	{ "fallback", v_fallback },
	{ "providers", v_providers },
	{ "system_prompt", v_system_prompt },
	{ "cache", NULL },
	{ "prices", v_prices },
	{ "conversations", NULL },
	{ "drawing", NULL },
	{ "rag", NULL },
};

static int member_index(const char *name)
{
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (!strcmp(members[i].name, name))
			return (int)i;
	}
	return -1;
}

static int unknown_member(const char *name, char *err, size_t errlen)
{
	VFAIL("unknown setting '%.60s' (known: public_models, aliases, fallback, providers, "
	      "system_prompt, cache, prices, conversations, drawing, rag)", name);
}

int settings_check_member(const char *name, const cJSON *v, char *err, size_t errlen)
{
	int i = member_index(name);
	if (i < 0)
		return unknown_member(name, err, errlen);
	return members[i].check ? members[i].check(v, err, errlen) : v_group(name, v, err, errlen);
}

int settings_check_state(const cJSON *doc, char *err, size_t errlen)
{
	const cJSON *v;
	if (!cJSON_IsObject(doc))
		VFAIL("the settings must be a JSON object");
	cJSON_ArrayForEach(v, doc) {
		if (member_index(v->string) < 0)
			return unknown_member(v->string, err, errlen);
		if (cJSON_GetObjectItemCaseSensitive(doc, v->string) != v)
			VFAIL("setting '%.60s' is given twice", v->string);
		if (settings_check_member(v->string, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}

#undef VFAIL
