/* provider.h — routing: which provider and upstream model serve a model name. */
#ifndef LLMGATE_PROVIDER_H
#define LLMGATE_PROVIDER_H
#include "config.h"
#include <stddef.h>

#define ROUTE_MAX_TARGETS 8
#define MODEL_NAME_MAX 256

struct route_target {
	const struct provider_conf *prov;   /* owned by the config */
	char model[MODEL_NAME_MAX];         /* upstream model name */
};

struct route {
	struct route_target t[ROUTE_MAX_TARGETS];   /* t[0] primary, then fallbacks */
	size_t n;
};

/* A provider is routable when it has keys (or keys = none). */
int provider_usable(const struct provider_conf *p);

/* Resolve a requested model name: alias, then "provider/model", then a
 * provider's model list, then the longest matching prefix; then append the
 * [fallback] chain of the requested or resolved name. Returns 0 and fills
 * r, or -1 when no usable provider serves the model. */
int provider_resolve(const struct config *c, const char *model, struct route *r);
/* provider_resolve keeping only the targets of one upstream dialect (the
 * image and embedding calls speak OpenAI's). 0; -1 when no usable
 * provider serves the model; -2 when none of its targets speaks it. */
int provider_resolve_dialect(const struct config *c, const char *model, int dialect, struct route *r);

/* Call fn for each model name the gateway can route (listed models of
 * usable providers, then aliases), once each. */
void provider_each_model(const struct config *c,
			 void (*fn)(const char *model, const char *owner, void *user), void *user);
#endif
