/* translate.h — small pieces the dialect translators (anthropic.c,
 * gemini.c) share. */
#ifndef LLMGATE_TRANSLATE_H
#define LLMGATE_TRANSLATE_H
#include "buf.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* printf into err (errlen bytes) when err is given. */
void tr_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* o's member name when it is a string, else NULL. */
const char *tr_jstr(const cJSON *o, const char *name);
/* Append a turn {role, member: items} to list, or merge items into the
 * last turn when it has the same role (both dialects want alternating
 * roles); empty items are dropped. Takes items. */
void tr_add_turn(cJSON *list, const char *role, cJSON *items, const char *member);
/* The OpenAI error type for an upstream's HTTP status. */
const char *tr_error_type(int status);
/* {"error":{"message","type","param":null,"code"}} (type NULL:
 * upstream_error, code NULL: null) as a new cJSON object. */
cJSON *tr_oai_error_obj(const char *message, const char *type, const char *code);
/* An OpenAI chat.completion.chunk's head {id, object, created, model}. */
cJSON *tr_chunk_head(const char *id, long created, const char *model);
/* A chunk whose choices[0] is {index, delta (taken), logprobs: null,
 * finish_reason (NULL: null)}. */
cJSON *tr_chunk(const char *id, long created, const char *model, int index, cJSON *delta, const char *finish);
/* OpenAI's tool_choice tc (given, not null: "auto", "none", "required" or
 * {"type":"function","function":{"name"}}) in a dialect's words: words[0..3]
 * stand for auto, none, required and a named function (*name set, else
 * NULL). NULL with err when tc is none of these. */
const char *tr_tool_choice(const cJSON *tc, const char *const words[4], const char **name, char *err,
			   size_t errlen);
/* Is s NULL, empty or only white space? */
int tr_blank(const char *s);
/* An OpenAI system/developer message's content (a string or text parts)
 * appended to sys, paragraphs apart; -1 with a reason in err for anything
 * else (mi: the message's index, for the reason). */
int tr_system_text(const cJSON *content, struct buf *sys, int mi, char *err, size_t errlen);
/* The bytes of every string value in j (member names not counted). */
size_t tr_string_bytes(const cJSON *j);
#endif
