/* promptlog.h — prompts kept for the keys whose operator asked for it.
 *
 * By default no prompt is ever written anywhere. A gateway key with
 * "log_prompts": true (the admin API's PATCH keys/{id}, or llmgate-keys
 * set ID --log-prompts on) has the last user message of each of its chat
 * requests that run through the engine's filters (chat completions,
 * messages, translated responses, Gemini; not the native passthrough)
 * appended to
 * $STATE_DIR/prompts/<key id>.log as one JSON line {"id" (the request id),
 * "ts" (ms), "model", "prompt"}, before anything is added to it (system
 * prompt, history, knowledge), cut to PROMPTLOG_TEXT_MAX bytes and
 * scrubbed of every secret the gateway knows (log.h). A file over
 * PROMPTLOG_FILE_MAX is renamed <key id>.log.1 (the one before is dropped),
 * so a key keeps at most twice that. The admin's request log shows a
 * request's prompt beside it. */
#ifndef LLMGATE_PROMPTLOG_H
#define LLMGATE_PROMPTLOG_H
#include "filter.h"
#include <cjson/cJSON.h>

#define PROMPTLOG_TEXT_MAX 8192
#define PROMPTLOG_FILE_MAX (1L << 20)
#define PROMPTLOG_DIR "prompts"

/* The request filter: writes the prompt of a key that asked for it;
 * never changes the request (0). */
int promptlog_filter(cJSON *req, const struct filter_ctx *fc);
/* The prompts kept for key_id, as an object request id -> prompt (new;
 * empty when none are kept). */
cJSON *promptlog_read(const char *state_dir, const char *key_id);
#endif
