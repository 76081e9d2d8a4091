/* rstore.h — stored responses of the Responses API (POST /v1/responses
 * with store not false), kept in STATE/responses/ by the record store
 * (recstore.h: one file per response under its owner's folder, each
 * written whole and renamed into place, so a crash leaves every response
 * whole or absent). One record per response id:
 * {"owner","created","instructions","input":[items],"response":{...}}.
 * Records older than the TTL are never returned and are dropped by a
 * sweep (at most hourly, on a write). A record is only ever found for the
 * gateway key id that made it: another key's id reads as absent. */
#ifndef LLMGATE_RSTORE_H
#define LLMGATE_RSTORE_H
#include <cjson/cJSON.h>

/* STATE/responses (a folder) as a new string (free()). */
char *rstore_path(const char *state_dir);
/* Keep response (a Responses object; its "id" names the record) with the
 * input items and instructions (may be NULL) that made it, owned by owner;
 * records older than ttl_s are dropped in the same change. 0 or -1
 * (errno; nothing changed). */
int rstore_put(const char *state_dir, const char *owner, const cJSON *response,
	       const cJSON *input, const char *instructions, long ttl_s);
/* The record of id if owner made it and it is younger than ttl_s (a new
 * object, cJSON_Delete), else NULL: errno ENOENT (absent, another key's,
 * or expired) or the store's error. ttl_s 0: no age limit (a negative
 * ttl_s makes every record old). */
cJSON *rstore_get(const char *state_dir, const char *owner, const char *id, long ttl_s);
/* Delete the record of id if owner made it. 0, or -1 (errno ENOENT when
 * there was no such record of owner's). */
int rstore_delete(const char *state_dir, const char *owner, const char *id);
#endif
