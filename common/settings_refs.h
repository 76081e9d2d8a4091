/* settings_refs.h — the references of a settings document (aliases and
 * fallback chains naming providers and models) checked against the
 * configuration they apply to, so that nothing is saved that routes
 * nowhere. */
#ifndef LLMGATE_SETTINGS_REFS_H
#define LLMGATE_SETTINGS_REFS_H
#include "config.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* c is the configuration with doc already applied (config_apply_settings).
 * Refused, with a message that starts with the member's path
 * ("aliases.fast: ...", "fallback.m: ..."):
 *  - an alias or fallback target "p/m" whose p is no provider and which no
 *    provider serves as a model name either, or a plain target no provider
 *    lists or matches by prefix (keys and "disabled" are not considered:
 *    a provider may get its key later);
 *  - a fallback chain for a model nothing routes (no alias, no provider
 *    serves it): the chain could never be used;
 *  - a public model name (public_models) that is no alias and that no
 *    provider serves ("public_models: ...").
 * 0, or -1 with the message in err. */
int settings_refs_check(const cJSON *doc, const struct config *c, char *err, size_t errlen);
#endif
