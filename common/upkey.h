/* upkey.h — upstream keys added at run time, kept in state.db. */
#ifndef LLMGATE_UPKEY_H
#define LLMGATE_UPKEY_H
#include <cjson/cJSON.h>
#include <stddef.h>

#define UPKEY_ID_MAX 16
#define UPKEY_SECRET_MAX 1024

/* Store a new key for provider (see docs/state.md: upkey:<provider>:<id>).
 * id_out gets its "u_" id. 0, or -1 with err. */
int upkey_add(const char *state_dir, const char *provider, const char *secret, const char *label,
	      char id_out[UPKEY_ID_MAX], char *err, size_t errlen);
/* Disable (1) or enable (0) a key. 0, or -1 with err (unknown id...). */
int upkey_set_disabled(const char *state_dir, const char *id, int disabled, char *err, size_t errlen);
/* Change a key's label. */
int upkey_set_label(const char *state_dir, const char *id, const char *label, char *err, size_t errlen);
int upkey_remove(const char *state_dir, const char *id, char *err, size_t errlen);
/* Every stored key as a JSON array of {"id","provider","label","disabled",
 * "added","hint"} — hint shows at most the first 3 and last 4 characters;
 * the secret itself is never included. New object (cJSON_Delete), or NULL
 * with err. */
cJSON *upkey_list(const char *state_dir, char *err, size_t errlen);
/* The displayable hint of a secret ("sk-…abcd"), into out. */
void upkey_hint(const char *secret, char *out, size_t outlen);
#endif
