/* admin_settings.c — the admin API's settings: the state.db settings document, checked by the schema (settings.h). */
#include "autoconf.h"
#include "admin_impl.h"
#include "log.h"
#include "settings.h"
#include "settings_refs.h"
#include "state_redis.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ validation */

int admin_settings_validate(const cJSON *doc, char *err, size_t errlen)
{
	return settings_check_state(doc, err, errlen);
}

/* The member a schema message names: its leading "group[.entry]" when the
 * group is a settings member ("aliases.fast: ..." -> "aliases.fast"), else
 * "" (an unknown setting). */
static void settings_param(const char *msg, char *out, size_t outlen)
{
	static const char *const groups[] = { "public_models", "aliases", "fallback", "providers", "system_prompt",
					      "cache", "prices", "conversations", "drawing", NULL };
	size_t n = strcspn(msg, ": '");
	size_t g = strcspn(msg, ".: '");
	out[0] = '\0';
	for (const char *const *k = groups; *k; k++) {
		if (strlen(*k) == g && !strncmp(msg, *k, g) && n < outlen) {
			memcpy(out, msg, n);
			out[n] = '\0';
			return;
		}
	}
}

static void settings_refuse(struct admin_ctx *x, const char *msg)
{
	char param[128];
	settings_param(msg, param, sizeof(param));
	admin_reply_invalid(x, "invalid_settings", param, msg);
}

/* The stored settings document ({} when none); NULL when state.db cannot
 * be read (errno set). */
static cJSON *settings_read(struct admin_ctx *x)
{
	cJSON *s = NULL;
	GDBM_FILE db = admin_state_open(x, 0);
	if (!db)
		return errno == ENOENT ? cJSON_CreateObject() : NULL;
	s = admin_get_json(db, SETTINGS_KEY);
	store_close(db);
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		s = cJSON_CreateObject();
	}
	return s;
}

static cJSON *target_json(const struct target *t)
{
	char *s = t->provider ? xasprintf("%s/%s", t->provider, t->model) : xstrdup(t->model);
	cJSON *j = cJSON_CreateString(s);
	free(s);
	return j;
}

/* The plain settings the admin API may change (the rows of the schema
 * with a state.db member and a field: cache.enabled, cache.ttl_s, ...),
 * as c holds them, into d's group objects. */
static void plain_defaults(cJSON *d, const struct config *c)
{
	char group[SETTINGS_GROUP_MAX];
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *s = &settings_table[i];
		const char *member = settings_member(s, group);
		if (!member || s->offset == SETTINGS_NO_FIELD)
			continue;
		cJSON *g = cJSON_GetObjectItemCaseSensitive(d, group);
		if (!g)
			g = cJSON_AddObjectToObject(d, group);
		long long v = settings_get_num(s, c);
		if (s->type == SETTINGS_BOOL)
			cJSON_AddBoolToObject(g, member, (int)v);
		else
			cJSON_AddNumberToObject(g, member, (double)v);
	}
}

/* What applies where the settings say nothing: the file and environment. */
static cJSON *config_defaults(const struct config *c)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *al = cJSON_AddObjectToObject(d, "aliases");
	for (size_t i = 0; i < c->naliases; i++)
		cJSON_AddItemToObject(al, c->aliases[i].name, target_json(&c->aliases[i].to));
	cJSON *fb = cJSON_AddObjectToObject(d, "fallback");
	for (size_t i = 0; i < c->nfallbacks; i++) {
		cJSON *chain = cJSON_AddArrayToObject(fb, c->fallbacks[i].model);
		for (size_t k = 0; k < c->fallbacks[i].n; k++)
			cJSON_AddItemToArray(chain, target_json(&c->fallbacks[i].chain[k]));
	}
	cJSON *pr = cJSON_AddObjectToObject(d, "providers");
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		cJSON *o = cJSON_AddObjectToObject(pr, p->name);
		cJSON_AddStringToObject(o, "base_url", p->base_url ? p->base_url : "");
		cJSON_AddItemToObject(o, "models", admin_string_array(p->models, p->nmodels));
		cJSON_AddItemToObject(o, "prefixes", admin_string_array(p->prefixes, p->nprefixes));
		cJSON_AddStringToObject(o, "responses", p->responses_native ? "native" : "translate");
		cJSON_AddBoolToObject(o, "builtin", p->builtin);
		cJSON_AddBoolToObject(o, "has_keys", p->nkeys > 0 || p->no_auth);
	}
	plain_defaults(d, c);
	cJSON *pc = cJSON_AddObjectToObject(d, "prices");
	for (size_t i = 0; i < c->nprices; i++) {
		const struct price_conf *p = &c->prices[i];
		const double v[3] = { p->input, p->cached_input, p->output };
		cJSON_AddItemToObject(pc, p->model, cJSON_CreateDoubleArray(v, 3));
	}
	cJSON_AddStringToObject(d, "currency", c->currency ? c->currency : "USD");
	return d;
}

void admin_settings_get(struct admin_ctx *x)
{
	char err[512];
	struct config c;
	cJSON *s = settings_read(x);
	if (!s) {
		admin_reply_store_error(x);
		return;
	}
	if (admin_load_config(x, &c, 0, err, sizeof(err)) != 0) {
		cJSON_Delete(s);
		log_err("%s", err);
		admin_reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "settings", s);
	cJSON_AddItemToObject(j, "defaults", config_defaults(&c));
	config_free(&c);
	admin_reply_ok(x, 200, j);
}

void admin_settings_put(struct admin_ctx *x)
{
	char err[512];
	struct config c;
	int have_config = 0;
	GDBM_FILE db = NULL;
	if (admin_settings_validate(x->body, err, sizeof(err)) != 0) {
		settings_refuse(x, err);
		goto out;
	}
	if (admin_load_config(x, &c, 0, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		goto out;
	}
	have_config = 1;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(x->body, "providers")) {
		if (!config_provider(&c, p->string) && !cJSON_GetObjectItemCaseSensitive(p, "base_url")) {
			snprintf(err, sizeof(err), "providers.%.60s is a new provider: it needs a base_url", p->string);
			settings_refuse(x, err);
			goto out;
		}
	}
	config_apply_settings(&c, x->body);
	if (settings_refs_check(x->body, &c, err, sizeof(err)) != 0) {
		settings_refuse(x, err);
		goto out;
	}
	if (!(db = admin_state_open(x, 1))) {
		admin_reply_store_error(x);
		goto out;
	}
	char *stamp = state_redis_settings_stamp();   /* for a fleet (state_redis.h) */
	int put = admin_put_json(db, SETTINGS_KEY, x->body) == 0 &&
		  store_put(db, STATE_REDIS_SETTINGS_STAMP, stamp, strlen(stamp)) == 0;
	free(stamp);
	if (!put || store_sync(db) != 0) {
		admin_reply_write_error(x);
		goto out;
	}
	log_info("settings changed");
	store_close(db); /* the audit note takes the writer lock */
	db = NULL;
	admin_audit_note(x, "settings", "settings saved");
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "settings", cJSON_Duplicate(x->body, 1));
	admin_reply_ok(x, 200, j);
out:
	store_close(db);
	if (have_config)
		config_free(&c);
}
