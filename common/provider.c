/* provider.c — routing: which provider and upstream model serve a model name. */
#include "autoconf.h"
#include "provider.h"
#include <stdio.h>
#include <string.h>

int provider_usable(const struct provider_conf *p)
{
	return p && !p->disabled && (p->nkeys > 0 || p->no_auth);
}

/* Resolve without aliases or fallbacks. */
static int resolve_plain(const struct config *c, const char *model, struct route_target *t)
{
	const char *slash = strchr(model, '/');
	if (slash && slash != model) {
		size_t n = (size_t)(slash - model);
		char pname[CONFIG_NAME_MAX];
		snprintf(pname, sizeof(pname), "%.*s", (int)(n < sizeof(pname) ? n : 0), model);
		const struct provider_conf *named = n < sizeof(pname) ? config_provider(c, pname) : NULL;
		for (size_t i = 0; i < c->nproviders; i++) {
			const struct provider_conf *p = &c->providers[i];
			if (p == named && slash[1]) {
				if (!provider_usable(p))
					return -1;
				t->prov = p;
				snprintf(t->model, sizeof(t->model), "%s", slash + 1);
				return 0;
			}
		}
	}
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		if (!provider_usable(p))
			continue;
		for (size_t j = 0; j < p->nmodels; j++) {
			if (!strcmp(p->models[j], model)) {
				t->prov = p;
				snprintf(t->model, sizeof(t->model), "%s", model);
				return 0;
			}
		}
	}
	const struct provider_conf *best = NULL;
	size_t bestlen = 0;
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		if (!provider_usable(p))
			continue;
		for (size_t j = 0; j < p->nprefixes; j++) {
			size_t pl = strlen(p->prefixes[j]);
			if (pl > bestlen && !strncmp(p->prefixes[j], model, pl) && model[pl]) {
				best = p;
				bestlen = pl;
			}
		}
	}
	if (!best)
		return -1;
	t->prov = best;
	snprintf(t->model, sizeof(t->model), "%s", model);
	return 0;
}

static int resolve_target(const struct config *c, const struct target *tg, struct route_target *t)
{
	if (tg->provider) {
		const struct provider_conf *p = config_provider(c, tg->provider);
		if (!provider_usable(p))
			return -1;
		t->prov = p;
		snprintf(t->model, sizeof(t->model), "%s", tg->model);
		return 0;
	}
	return resolve_plain(c, tg->model, t);
}

static void add_fallbacks(const struct config *c, const char *name, struct route *r)
{
	for (size_t i = 0; i < c->nfallbacks; i++) {
		const struct fallback_conf *f = &c->fallbacks[i];
		if (strcmp(f->model, name))
			continue;
		for (size_t j = 0; j < f->n && r->n < ROUTE_MAX_TARGETS; j++) {
			if (resolve_target(c, &f->chain[j], &r->t[r->n]) == 0)
				r->n++;
		}
		return;
	}
}

int provider_resolve(const struct config *c, const char *model, struct route *r)
{
	r->n = 0;
	if (!*model || strlen(model) >= MODEL_NAME_MAX)
		return -1;
	int found = 0;
	for (size_t i = 0; i < c->naliases; i++) {
		if (!strcmp(c->aliases[i].name, model)) {
			if (resolve_target(c, &c->aliases[i].to, &r->t[0]) != 0)
				return -1;
			found = 1;
			break;
		}
	}
	if (!found && resolve_plain(c, model, &r->t[0]) != 0)
		return -1;
	r->n = 1;
	size_t before = r->n;
	add_fallbacks(c, model, r);
	if (r->n == before && strcmp(model, r->t[0].model))
		add_fallbacks(c, r->t[0].model, r);
	return 0;
}

void provider_each_model(const struct config *c,
			 void (*fn)(const char *model, const char *owner, void *user), void *user)
{
	for (size_t i = 0; i < c->nproviders; i++) {
		const struct provider_conf *p = &c->providers[i];
		if (!provider_usable(p))
			continue;
		for (size_t j = 0; j < p->nmodels; j++) {
			int dup = 0;
			for (size_t k = 0; k < i && !dup; k++) {
				const struct provider_conf *q = &c->providers[k];
				if (!provider_usable(q))
					continue;
				for (size_t m = 0; m < q->nmodels; m++)
					if (!strcmp(q->models[m], p->models[j]))
						dup = 1;
			}
			if (!dup)
				fn(p->models[j], p->name, user);
		}
	}
	for (size_t i = 0; i < c->naliases; i++) {
		struct route_target t;
		if (resolve_target(c, &c->aliases[i].to, &t) == 0)
			fn(c->aliases[i].name, t.prov->name, user);
	}
}

int provider_resolve_dialect(const struct config *c, const char *model, int dialect, struct route *r)
{
	if (provider_resolve(c, model, r) != 0)
		return -1;
	size_t usable = 0;
	for (size_t i = 0; i < r->n; i++)
		if ((int)r->t[i].prov->dialect == dialect)
			r->t[usable++] = r->t[i];
	r->n = usable;
	return usable ? 0 : -2;
}
