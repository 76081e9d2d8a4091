/* auth.h — gateway keys: the router's in-memory table and the key store. */
#ifndef LLMGATE_AUTH_H
#define LLMGATE_AUTH_H
#include "config.h"
#include "store.h"
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#define AUTH_ID_MAX 32
#define AUTH_NAME_MAX 64
#define AUTH_KEY_PREFIX "sk-lg-"
#define AUTH_MODELS_MAX 512

struct auth_entry {
	unsigned char hash[32];       /* SHA-256 of the key */
	char id[AUTH_ID_MAX];         /* "k_1a2b3c4d" or "env-1a2b3c4d" */
	char name[AUTH_NAME_MAX];
	int64_t expires;              /* unix seconds, 0 = never */
	int revoked;
	int log_prompts;              /* the operator keeps this key's prompts (promptlog.h) */
	/* limits; 0 = none */
	long rpm;                     /* requests per minute */
	long tpm;                     /* tokens per minute */
	long long tokens;             /* token budget, all time */
	long long tokens_month;       /* token budget per calendar month (UTC) */
	double cost;                  /* cost budget, all time */
	double cost_month;
	char models[AUTH_MODELS_MAX]; /* allow-list: "a,b,glm-*"; "" = all */
};

struct auth {
	pthread_rwlock_t lock;        /* guards v, n, sig */
	struct auth_entry *v;         /* sorted by hash */
	size_t n;
	struct store_sig sig;         /* state.db as read into v (zero: none) */
	pthread_mutex_t reload_mu;    /* one reload at a time; guards bad_sig, failing */
	struct store_sig bad_sig;     /* a state.db that could not be read */
	int failing;                  /* the last reload failed (logged once) */
	char *db_path;                /* state.db */
	struct auth_entry *env;       /* from AUTH_KEY / [auth] keys */
	size_t nenv;
};

/* Build the table from the config's keys and state_dir/state.db. 0, or -1
 * with a reason in err when state.db exists but cannot be read whole (the
 * router must not start without its keys). */
int auth_init(struct auth *a, const struct config *c, char *err, size_t errlen);
void auth_free(struct auth *a);
/* Reload the table if state.db changed since it was read (the router's
 * housekeeping thread calls this a few times a second). The new table
 * replaces the old one in one step; when state.db cannot be read the old
 * table stays, the reason is logged once, and the next call tries again. */
void auth_refresh(struct auth *a);
/* Look a presented key up. Returns 1 and copies the entry when the key is
 * known, not revoked and not expired; 0 otherwise. A key not in the table
 * while state.db differs from the table's version makes it reload once and
 * look again, so a key committed before the request is always seen.
 * Thread-safe. */
int auth_lookup(struct auth *a, const char *key, struct auth_entry *out);

/* --- the key store (state.db), used by llmgate-keys and the admin --- */

/* The latest expiry taken: the end of year 9999, a unix time past 2038. */
#define AUTH_EXPIRES_MAX 253402300799LL

/* Create a key: writes its record, with patch (NULL, or as
 * auth_key_update takes it: name, expires, limits) applied in the same
 * write, and returns the new key (free()) and its id; NULL with a message
 * in err on failure (nothing written). */
char *auth_key_create(const char *state_dir, const char *name, int64_t expires, const cJSON *patch,
		      char id_out[AUTH_ID_MAX], char *err, size_t errlen);
/* Change a key's settings: every member of patch (a JSON object with any of
 * name, expires, limits{rpm,tpm,tokens,tokens_month,cost,cost_month,models})
 * replaces the stored one; a limit of 0 or "" removes it. 0, or -1 with err. */
int auth_key_update(const char *state_dir, const char *id, const cJSON *patch, char *err, size_t errlen);
/* Check a change as auth_key_update would, without any store: 0, or -1
 * with the same err. */
int auth_key_check(const cJSON *patch, char *err, size_t errlen);
/* Mark a key revoked; 0, or -1 with err (unknown id, store locked). */
int auth_key_revoke(const char *state_dir, const char *id, char *err, size_t errlen);
/* Call fn with each stored key's record (JSON text), only once the whole
 * store was read. 0 (also when there is no store), or -1 with err (damaged
 * or unreadable store: fn is not called). */
int auth_key_each(const char *state_dir, void (*fn)(const char *json, void *user), void *user,
		  char *err, size_t errlen);
/* state_dir + "/state.db" (new string). */
char *auth_state_path(const char *state_dir);
#endif
