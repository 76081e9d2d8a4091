/* convo.h — server-side conversations per gateway key. A client that names
 * a conversation (header X-Conversation-Id) sends only its new message;
 * the request filter convo_filter puts the stored history (trimmed to
 * [conversations] history_chars, oldest turns first) after the request's
 * system messages, and the tap convo_tap keeps the new turn (the request's
 * own non-system messages and the answer's text) once the answer is
 * complete, streamed or not. Kept in STATE/conversations through
 * recstore.h with the gateway key's id as owner: one key never reads,
 * continues or deletes another's. A turn is committed whole or not at all
 * (a stream cut, a failed answer or a killed router leaves the
 * conversation as it was).
 *
 * A record (its data in recstore) is
 * {"id":"...","created":unix s,"messages":[{"role":"user"|"assistant","content":...}]}. */
#ifndef LLMGATE_CONVO_H
#define LLMGATE_CONVO_H
#include "config.h"
#include "filter.h"
#include <cjson/cJSON.h>
#include <time.h>

#define CONVO_ID_MAX 128
#define CONVO_SWEEP_S 3600   /* expired conversations swept at most this often */

/* Is s a conversation id: 1 to CONVO_ID_MAX bytes of printable ASCII
 * (space to '~'), neither starting nor ending with a space? */
int convo_id_ok(const char *s);
/* STATE/conversations as a new string (free()). */
char *convo_root(const struct config *c);
/* Retention in seconds. */
long convo_max_age(const struct config *c);

/* The state of one request that continues conversation id (valid, see
 * convo_id_ok): for filter_ctx.convo. Free with convo_free (NULL is fine). */
struct convo_turn *convo_begin(const char *id);
void convo_free(struct convo_turn *t);

/* The request filter (filter.h): with fc->convo, inserts the stored
 * history after the leading system/developer messages of req; 1 when it
 * added any. */
int convo_filter(cJSON *req, const struct filter_ctx *fc);
/* The response tap that keeps the turn (register with filter_add_tap). */
extern const struct tap convo_tap;

/* Code points of text in a message's content (strings, and the strings
 * of content parts). */
long convo_message_chars(const cJSON *m);
/* Drop whole turns from the front of messages (a turn: a user message and
 * what follows up to the next user message) until the text fits budget
 * characters. Returns the number of messages dropped. */
long convo_trim(cJSON *messages, long budget);

/* A stored record's data parsed and checked (an object with a string id
 * and messages, each with role "user" or "assistant" and a string or
 * array content), or NULL. New, cJSON_Delete. */
cJSON *convo_record_parse(const char *data, size_t len);
/* The record as the API shows it: {"id","object":"conversation","created",
 * "last_used","turns"} and, with messages, "messages". New. */
cJSON *convo_public(const cJSON *rec, time_t last_used, int messages);
#endif
