/* admin_apps.c — the prompt apps in the admin API: GET apps (each app as
 * configured, and its log's size), GET apps/<name>/log (its call log,
 * newest first, by client and text, a page at a time: applog.h). */
#include "autoconf.h"
#include "admin_impl.h"
#include "app.h"
#include "applog.h"
#include "ini.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define APPS_PAGE_DEFAULT 50

static cJSON *app_json(const struct admin_ctx *x, const struct app_conf *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddTrueToObject(o, "configured");
	cJSON_AddStringToObject(o, "path", a->path);
	cJSON_AddStringToObject(o, "model", a->model ? a->model : "");
	cJSON_AddStringToObject(o, "auth", a->auth == APP_AUTH_OPEN ? "open" : "key");
	cJSON_AddStringToObject(o, "answer", a->answer == APP_ANSWER_JSON ? "json" : "text");
	cJSON *f = cJSON_AddArrayToObject(o, "fields");
	for (size_t i = 0; i < a->nfields; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", a->fields[i].name);
		cJSON_AddNumberToObject(e, "max_bytes", (double)a->fields[i].cap);
		cJSON_AddItemToArray(f, e);
	}
	if (a->client_field)
		cJSON_AddStringToObject(o, "client_field", a->client_field);
	if (a->auth == APP_AUTH_OPEN)
		cJSON_AddNumberToObject(o, "rate_limit", (double)a->rate_limit);
	cJSON_AddNumberToObject(o, "log_days", (double)a->log_days);
	cJSON_AddNumberToObject(o, "log_max_bytes", (double)a->log_max_bytes);
	cJSON_AddNumberToObject(o, "log_bytes", (double)applog_size(x->a->cfg.state_dir, a->name));
	return o;
}

/* Apps with a log but not in the admin's config (the pip-aide app made by
 * API_KEY in the router's environment only): {"name", "log_bytes",
 * "configured": false} each. */
static void add_logged_only(struct admin_ctx *x, const struct config *c, cJSON *list)
{
	char *dir = xasprintf("%s/apps", x->a->cfg.state_dir);
	DIR *d = opendir(dir);
	free(dir);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		size_t n = strlen(e->d_name);
		if (n <= 4 || n - 4 >= APP_NAME_MAX || strcmp(e->d_name + n - 4, ".log"))
			continue;
		char name[APP_NAME_MAX];
		memcpy(name, e->d_name, n - 4);
		name[n - 4] = '\0';
		if (app_by_name(c, name) || !app_name_ok(name))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddFalseToObject(o, "configured");
		cJSON_AddNumberToObject(o, "log_bytes", (double)applog_size(x->a->cfg.state_dir, name));
		cJSON_AddItemToArray(list, o);
	}
	if (d)
		closedir(d);
}

void admin_apps_get(struct admin_ctx *x)
{
	struct config c;
	char err[512];
	if (admin_load_config(x, &c, 0, err, sizeof(err)) != 0) {
		admin_reply_error(x, 500, "config_error", NULL, "%s", err);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(j, "apps");
	for (size_t i = 0; i < c.napps; i++)
		cJSON_AddItemToArray(list, app_json(x, &c.apps[i]));
	add_logged_only(x, &c, list);
	config_free(&c);
	admin_reply_ok(x, 200, j);
}

/* A whole number query parameter in [min, max] (dflt when absent): 0, or
 * -1 after a 400. */
static int query_long(struct admin_ctx *x, const char *name, long min, long max, long dflt, long *out)
{
	char v[32];
	*out = dflt;
	if (admin_query_get(x->r->query, name, v, sizeof(v)) && v[0] && ini_parse_long(v, min, max, out) != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "%s must be a whole number from %ld to %ld", name, min,
				  max);
		return -1;
	}
	return 0;
}

void admin_apps_log(struct admin_ctx *x)
{
	struct config c;
	char err[512], client[256], q[256];
	if (admin_load_config(x, &c, 0, err, sizeof(err)) != 0) {
		admin_reply_error(x, 500, "config_error", NULL, "%s", err);
		return;
	}
	int known = app_name_ok(x->id) && (app_by_name(&c, x->id) || applog_size(x->a->cfg.state_dir, x->id) > 0);
	config_free(&c);
	if (!known) {
		admin_reply_error(x, 404, "not_found", NULL, "no prompt app named %s", x->id);
		return;
	}
	long offset, limit;
	if (query_long(x, "offset", 0, 100000000L, 0, &offset) != 0 ||
	    query_long(x, "limit", 1, APPLOG_PAGE_MAX, APPS_PAGE_DEFAULT, &limit) != 0)
		return;
	int by_client = admin_query_get(x->r->query, "client", client, sizeof(client)) && client[0];
	admin_query_get(x->r->query, "q", q, sizeof(q));
	cJSON *j = applog_query(x->a->cfg.state_dir, x->id, by_client ? client : NULL, q, offset, limit, err,
				sizeof(err));
	if (!j) {
		admin_reply_error(x, 500, "log_unreadable", NULL, "%s", err);
		return;
	}
	admin_reply_ok(x, 200, j);
}
