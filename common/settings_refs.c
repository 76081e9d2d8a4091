/* settings_refs.c — a settings document's aliases and fallback chains
 * checked against the providers and models of the configuration. */
#include "autoconf.h"
#include "settings_refs.h"
#include <stdio.h>
#include <string.h>

/* Some provider lists the model or has a prefix it starts with. */
static int served(const struct config *c, const char *model)
{
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		for (size_t j = 0; j < p->nmodels; j++) {
			if (!strcmp(p->models[j], model))
				return 1;
		}
		for (size_t j = 0; j < p->nprefixes; j++) {
			size_t n = strlen(p->prefixes[j]);
			if (!strncmp(p->prefixes[j], model, n) && model[n])
				return 1;
		}
	}
	return 0;
}

/* "p/m" with a known provider p, or a model some provider serves. */
static int target_known(const struct config *c, const char *t)
{
	const char *slash = strchr(t, '/');
	if (slash && slash != t && slash[1] && (size_t)(slash - t) < CONFIG_NAME_MAX) {
		char name[CONFIG_NAME_MAX];
		snprintf(name, sizeof(name), "%.*s", (int)(slash - t), t);
		if (config_provider(c, name))
			return 1;
	}
	return served(c, t);
}

static void unknown_target(const char *what, const char *t, char *err, size_t errlen)
{
	const char *slash = strchr(t, '/');
	if (slash && slash != t)
		snprintf(err, errlen, "%s: '%.120s' names no known provider ('%.*s') and no provider serves it as a model",
			 what, t, (int)(slash - t > 60 ? 60 : slash - t), t);
	else
		snprintf(err, errlen, "%s: no provider serves the model '%.120s' (write \"provider/model\")", what, t);
}

static int is_alias(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->naliases; i++) {
		if (!strcmp(c->aliases[i].name, name))
			return 1;
	}
	return 0;
}

int settings_refs_check(const cJSON *doc, const struct config *c, char *err, size_t errlen)
{
	char what[96];
	const cJSON *e, *t;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "aliases")) {
		snprintf(what, sizeof(what), "aliases.%.60s", e->string);
		if (cJSON_IsString(e) && !target_known(c, e->valuestring)) {
			unknown_target(what, e->valuestring, err, errlen);
			return -1;
		}
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "public_models")) {
		if (cJSON_IsString(e) && !is_alias(c, e->valuestring) && !target_known(c, e->valuestring)) {
			snprintf(err, errlen, "public_models: '%.60s' routes to no provider; make it an alias (aliases) of a "
				 "provider's model, or use a model a provider serves", e->valuestring);
			return -1;
		}
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "fallback")) {
		snprintf(what, sizeof(what), "fallback.%.60s", e->string);
		if (!is_alias(c, e->string) && !target_known(c, e->string)) {
			snprintf(err, errlen, "%s: nothing routes the model '%.60s' (no alias, no provider serves it), "
				 "so this chain would never be used", what, e->string);
			return -1;
		}
		cJSON_ArrayForEach(t, e) {
			if (cJSON_IsString(t) && !target_known(c, t->valuestring)) {
				unknown_target(what, t->valuestring, err, errlen);
				return -1;
			}
		}
	}
	return 0;
}
