/* admin_providers.c — the admin API's providers: configured and run-time providers with their key pools and the routers' live key state. */
#include "autoconf.h"
#include "admin_impl.h"
#include "buf.h"
#include "ini.h"
#include "log.h"
#include "pool.h"
#include "upkey.h"
#include "xmalloc.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOLS_FILE_MAX (4u << 20)
#define POOLS_STALE_S 120           /* a pools file older than this is ignored */

/* ------------------------------------------------------------ providers */

static int pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The whole file at path, up to cap bytes; a new string (free()) or NULL. */
static char *read_small_file(const char *path, size_t cap, size_t *len)
{
	char *result = NULL;
	struct buf b;
	char chunk[8192];
	buf_init(&b, cap);
	FILE *f = fopen(path, "rb");
	if (!f)
		goto out;
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) != 0)
			goto out;
	}
	if (ferror(f))
		goto out;
	*len = b.len;
	result = buf_steal(&b);
out:
	if (f)
		fclose(f);
	buf_free(&b);
	return result;
}

static int state_rank(const char *s)
{
	return !s ? 0 : !strcmp(s, "blocked") ? 2 : !strcmp(s, "cooling") ? 1 : 0;
}

static void set_num(cJSON *o, const char *name, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddNumberToObject(o, name, v);
}

/* Fold one router's view of a key into live (key id -> merged state). */
static void merge_key(cJSON *live, const cJSON *k)
{
	const char *id = admin_str_of(k, "id");
	if (!id || !*id)
		return;
	cJSON *m = cJSON_GetObjectItemCaseSensitive(live, id);
	if (!m) {
		m = cJSON_AddObjectToObject(live, id);
		cJSON_AddStringToObject(m, "state", "active");
		cJSON_AddNumberToObject(m, "recent_429", 0);
		cJSON_AddNumberToObject(m, "uses", 0);
	}
	const char *st = admin_str_of(k, "state");
	if (state_rank(st) > state_rank(admin_str_of(m, "state"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "state");
		cJSON_AddStringToObject(m, "state", st);
	}
	if (admin_num_of(k, "cooldown_until", 0) > admin_num_of(m, "cooldown_until", 0))
		set_num(m, "cooldown_until", admin_num_of(k, "cooldown_until", 0));
	if (admin_num_of(k, "last_used", 0) > admin_num_of(m, "last_used", 0))
		set_num(m, "last_used", admin_num_of(k, "last_used", 0));
	set_num(m, "uses", admin_num_of(m, "uses", 0) + admin_num_of(k, "uses", 0));
	set_num(m, "recent_429", admin_num_of(m, "recent_429", 0) + admin_num_of(k, "recent_429", 0));
	const char *reason = admin_str_of(k, "reason");
	if (reason && *reason && !admin_str_of(m, "reason"))
		cJSON_AddStringToObject(m, "reason", reason);
	const char *le = admin_str_of(k, "last_error");
	if (le && admin_num_of(k, "last_error_at", 0) > admin_num_of(m, "last_error_at", 0)) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "last_error");
		cJSON_AddStringToObject(m, "last_error", le);
		set_num(m, "last_error_at", admin_num_of(k, "last_error_at", 0));
	}
}

/* Does the provider route now: usable, and (with live state) some key is
 * neither blocked, cooling nor disabled? A key no router has reported yet
 * ("unknown") counts as routing. */
static int provider_routing(const cJSON *o)
{
	const cJSON *k;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "usable")))
		return 0;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "no_auth")))
		return 1;
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(o, "keys")) {
		const char *st = admin_str_of(k, "state");
		if (st && (!strcmp(st, "active") || !strcmp(st, "unknown")))
			return 1;
	}
	return 0;
}

/* Merge run/pools-<pid>.json of live routers: key id -> state. */
static cJSON *read_live(struct admin_ctx *x, int *routers)
{
	cJSON *live = cJSON_CreateObject();
	*routers = 0;
	DIR *d = opendir(x->a->run_dir);
	if (!d)
		return live;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		char num[24];
		long pid;
		size_t nl = strlen(name);
		if (strncmp(name, "pools-", 6) || nl < 12 || strcmp(name + nl - 5, ".json") || nl - 11 >= sizeof(num))
			continue;
		memcpy(num, name + 6, nl - 11);
		num[nl - 11] = '\0';
		if (ini_parse_long(num, 1, INT_MAX, &pid) != 0 || !pid_alive(pid))
			continue;
		char *path = xasprintf("%s/%s", x->a->run_dir, name);
		size_t len = 0;
		char *text = read_small_file(path, POOLS_FILE_MAX, &len);
		free(path);
		cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
		free(text);
		double written = admin_num_of(j, "written", 0);
		if (written > 1e11)
			written /= 1000;   /* given in ms */
		if (cJSON_IsObject(j) && written >= (double)(x->now - POOLS_STALE_S)) {
			const cJSON *p, *k;
			(*routers)++;
			cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "providers")) {
				cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(p, "keys"))
					merge_key(live, k);
			}
		}
		cJSON_Delete(j);
	}
	closedir(d);
	return live;
}

static cJSON *provider_entry(const char *name, const char *source)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "source", source);
	return o;
}

void admin_providers_get(struct admin_ctx *x)
{
	char err[512];
	struct config base, eff;
	int have_base = 0, have_eff = 0, routers = 0;
	cJSON *ups = NULL, *live = NULL, *out = NULL;
	if (admin_load_config(x, &base, 0, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 500, "config_error", NULL, "the configuration file cannot be read (see the server log)");
		goto out;
	}
	have_base = 1;
	if (admin_load_config(x, &eff, 1, err, sizeof(err)) != 0 || !(ups = admin_upkeys_read(x))) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		goto out;
	}
	have_eff = 1;
	live = read_live(x, &routers);
	out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "providers");
	for (size_t i = 0; i < eff.nproviders; i++) {
		const struct provider_conf *p = &eff.providers[i];
		const struct provider_conf *bp = config_provider(&base, p->name);
		cJSON *o = provider_entry(p->name, p->builtin ? "builtin" : bp ? "config" : "settings");
		cJSON_AddStringToObject(o, "base_url", p->base_url ? p->base_url : "");
		if (bp && bp->base_url)
			cJSON_AddStringToObject(o, "default_base_url", bp->base_url);
		cJSON_AddItemToObject(o, "models", admin_string_array(p->models, p->nmodels));
		cJSON_AddItemToObject(o, "prefixes", admin_string_array(p->prefixes, p->nprefixes));
		cJSON_AddStringToObject(o, "responses", p->responses_native ? "native" : "translate");
		cJSON_AddBoolToObject(o, "disabled", p->disabled);
		cJSON_AddBoolToObject(o, "no_auth", p->no_auth);
		cJSON_AddBoolToObject(o, "usable", !p->disabled && (p->nkeys > 0 || p->no_auth));
		cJSON *keys = cJSON_AddArrayToObject(o, "keys");
		for (size_t k = 0; k < p->nkeys; k++) {
			if (p->key_ids && p->key_ids[k])
				continue;   /* a state key: listed from its record below */
			char id[POOL_KEY_ID_MAX], masked[32];
			pool_key_id(p->name, k + 1, p->keys[k], id, sizeof(id));
			upkey_hint(p->keys[k], masked, sizeof(masked));
			cJSON *ko = cJSON_CreateObject();
			cJSON_AddStringToObject(ko, "id", id);
			cJSON_AddStringToObject(ko, "source", "config");
			cJSON_AddStringToObject(ko, "masked", masked);
			admin_upkeys_add_live(ko, live, id, NULL);
			cJSON_AddItemToArray(keys, ko);
		}
		const cJSON *rec;
		cJSON_ArrayForEach(rec, ups) {
			if (!strcmp(admin_str_of(rec, "provider"), p->name))
				cJSON_AddItemToArray(keys, admin_upkeys_public(rec, live));
		}
		cJSON_AddBoolToObject(o, "routing", provider_routing(o));
		cJSON_AddItemToArray(arr, o);
	}
	/* keys of providers that no longer exist: shown so they can be removed */
	const cJSON *rec;
	cJSON_ArrayForEach(rec, ups) {
		const char *pn = admin_str_of(rec, "provider");
		if (config_provider(&eff, pn))
			continue;
		cJSON *o = NULL, *e;
		cJSON_ArrayForEach(e, arr) {
			if (!strcmp(admin_str_of(e, "name"), pn))
				o = e;
		}
		if (!o) {
			o = provider_entry(pn, "unknown");
			cJSON_AddStringToObject(o, "base_url", "");
			cJSON_AddItemToObject(o, "models", cJSON_CreateArray());
			cJSON_AddItemToObject(o, "prefixes", cJSON_CreateArray());
			cJSON_AddBoolToObject(o, "disabled", 1);
			cJSON_AddBoolToObject(o, "no_auth", 0);
			cJSON_AddBoolToObject(o, "usable", 0);
			cJSON_AddBoolToObject(o, "routing", 0);
			cJSON_AddArrayToObject(o, "keys");
			cJSON_AddItemToArray(arr, o);
		}
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o, "keys"), admin_upkeys_public(rec, live));
	}
	cJSON *lv = cJSON_AddObjectToObject(out, "live");
	cJSON_AddNumberToObject(lv, "routers", routers);
	cJSON_AddNumberToObject(lv, "now", (double)x->now);
	admin_reply_ok(x, 200, out);
	out = NULL;
out:
	cJSON_Delete(out);
	cJSON_Delete(ups);
	cJSON_Delete(live);
	if (have_base)
		config_free(&base);
	if (have_eff)
		config_free(&eff);
}
