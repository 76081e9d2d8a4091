/* state_redis.h — the records of state.db that every gateway of a fleet
 * shares through Redis (redis.h): gateway keys (gwkey:), upstream keys
 * (upkey:) and the settings the admin page edits, so that a key created,
 * changed or revoked, or a setting changed, on any node is honoured on
 * every node within a second. The settings document has no stamp of its
 * own (its members are the schema's, settings.h): its writer stamps
 * STATE_REDIS_SETTINGS_STAMP beside it, and the fleet holds the two as one
 * record {"changed", "settings"}.
 *
 * Each router's housekeeping tick (four times a second) asks the fleet's
 * version counter (one GET). When its own state.db changed since it last
 * looked, it sends the records that differ from what it knows of the
 * fleet to one Lua script, which keeps the winner (state_redis_wins) in
 * the hash <prefix>rec (field = the state.db key) and moves the counter
 * <prefix>rec:v when anything changed. When the counter moved, it reads
 * the hash (HGETALL) and writes each record it lacks, or whose fleet copy
 * wins, into its own state.db (store.c's copy-and-rename), so the key
 * table, the runtime snapshot, the admin page and llmgate-keys of every
 * node see the fleet's records. A Redis that lost its data (restarted
 * empty) is filled again by every node from its state.db.
 *
 * The merge rule, the same on the server and here: a final record
 * (a revoked gateway key, a removed upstream key) is never replaced;
 * otherwise a final record wins; otherwise the later "changed" stamp
 * (milliseconds, state_redis_stamp; 0 when absent) wins, a tie keeping
 * what is there. Writers stamp every change.
 *
 * Upstream keys' secrets are in these records: Redis must be reached on
 * a trusted network or a local socket, with a password (docs). */
#ifndef LLMGATE_STATE_REDIS_H
#define LLMGATE_STATE_REDIS_H
#include "redis.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define STATE_REDIS_SETTINGS "settings"
#define STATE_REDIS_SETTINGS_STAMP "settings.changed"   /* {"changed": ms} */

struct state_redis;

/* The sync of state_dir/state.db through r (not owned). */
struct state_redis *state_redis_new(struct redis *r, const char *state_dir);
void state_redis_free(struct state_redis *s);
/* One housekeeping round as above. Returns 1 when it changed state.db,
 * 0 when not, -1 when Redis or state.db could not be used (tried again
 * next time; nothing half-done is remembered as done). */
int state_redis_tick(struct state_redis *s);

/* 1 when record b (JSON text) replaces record a of the same key by the
 * rule above, 0 when a stays. A record that is not JSON loses. */
int state_redis_wins(const char *a, size_t alen, const char *b, size_t blen);
/* Stamp rec's "changed" member with the time now in ms (every writer of
 * a shared record calls this on each change). */
void state_redis_stamp(cJSON *rec);
/* The stamp of a new settings document, written beside it as
 * STATE_REDIS_SETTINGS_STAMP in the same change: a new string. */
char *state_redis_settings_stamp(void);
/* 1 when key is a shared record's state.db key (gwkey:, upkey:,
 * settings). */
int state_redis_shared_key(const char *key);
#endif
