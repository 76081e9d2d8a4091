/* draw.h — the drawing trigger: with [drawing] enabled and a model, a chat
 * (POST /v1/chat/completions or /v1/messages) whose last user message
 * starts with "画" or "/draw " becomes a call to the image model through
 * the relay (POST {base_url}/images/generations, routed, key pools,
 * quotas, a usage record with endpoint "images" and the image model), and
 * is answered in the chat's own format: the picture as a Markdown image
 * in the assistant's message; a stream of one content chunk, the finish
 * and the usage chunk (for /v1/messages, Anthropic's message and events).
 * An empty prompt, or an image model that fails, is answered as an error
 * in the caller's dialect. The image upstream may answer in OpenAI's shape
 * (data:[{url}|{b64_json}]) or SiliconFlow's (images:[{url}]). */
#ifndef LLMGATE_DRAW_H
#define LLMGATE_DRAW_H
#include "api.h"
#include "config.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* Is drawing on (enabled, with a model) and does req's last user message
 * start with a trigger (after spaces)? 1 if so, even when nothing follows
 * it (draw_run answers that). */
int draw_wanted(const struct config *c, const cJSON *req);
/* The prompt after the trigger in the text s (spaces and one ':' or '：'
 * after it skipped, trailing spaces dropped), as a new string; NULL when s
 * does not start with a trigger. */
char *draw_prompt(const char *s);
/* The picture's address in an image answer (OpenAI's data[0].url, or
 * data[0].b64_json as a data: URL, or SiliconFlow's images[0].url), new
 * string, or NULL. */
char *draw_image_url(const char *body, size_t len);
/* Answer req (its chat in the client's dialect) with a picture. */
void draw_run(const struct api_call *call, const cJSON *req, enum dialect client);
#endif
