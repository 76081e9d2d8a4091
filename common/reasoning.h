/* reasoning.h — how much a model may think, in each dialect's words, and
 * the one table between them (docs/reasoning.md).
 *
 * The internal (OpenAI chat) form says it with OpenAI's "reasoning_effort"
 * and, when the client gave more than a word holds (an exact budget, the
 * model deciding, whether thoughts are shown), with the gateway's own
 * member REASONING_MEMBER: {"budget_tokens": N (-1: the model decides),
 * "include_thoughts": true|false}. The Anthropic and Gemini translators
 * read both (anthropic.c, gemini.c); the member never reaches an
 * OpenAI-compatible upstream (dialect.c takes it out). Pure functions. */
#ifndef LLMGATE_REASONING_H
#define LLMGATE_REASONING_H
#include <cjson/cJSON.h>

#define REASONING_MEMBER "llmgate_reasoning"

enum reasoning_effort {
	REASONING_UNSET = -1,   /* the client did not say */
	REASONING_NONE = 0,
	REASONING_MINIMAL,
	REASONING_LOW,
	REASONING_MEDIUM,
	REASONING_HIGH,
	REASONING_XHIGH,
};

#define REASONING_DYNAMIC  (-1L)   /* budget: the model decides (Gemini -1, Anthropic adaptive) */
#define REASONING_NOBUDGET (-2L)   /* budget: not given */

/* What a request asks for. */
struct reasoning {
	int effort;       /* enum reasoning_effort */
	long budget;      /* tokens, REASONING_DYNAMIC or REASONING_NOBUDGET */
	int include;      /* thoughts shown: 1, 0, or -1 not said */
};

/* Nothing asked: effort unset, no budget, include not said. */
void reasoning_clear(struct reasoning *r);
/* Is anything asked? */
int reasoning_given(const struct reasoning *r);

/* OpenAI's words ("none", "minimal", "low", "medium", "high", "xhigh";
 * also Anthropic's "max" as xhigh) → effort; REASONING_UNSET for others. */
int reasoning_effort_parse(const char *word);
/* The OpenAI word for effort (NULL for REASONING_UNSET). */
const char *reasoning_effort_word(int effort);
/* Gemini's thinkingLevel (MINIMAL, LOW, MEDIUM, HIGH, any case) → effort;
 * REASONING_UNSET for others. */
int reasoning_level_effort(const char *level);
/* effort → Gemini's thinkingLevel word ("MINIMAL" ... "HIGH"; xhigh is
 * HIGH), NULL for none and unset. */
const char *reasoning_effort_level(int effort);

/* The table: effort → budget tokens (none 0, minimal 512, low 1024, medium
 * 8192, high 24576, xhigh 32768; unset: REASONING_NOBUDGET). */
long reasoning_effort_budget(int effort);
/* budget tokens → effort: 0 none, 1..1023 minimal, ..4095 low, ..16383
 * medium, ..32767 high, more xhigh; REASONING_DYNAMIC medium. */
int reasoning_budget_effort(long budget);
/* The budget to send: the exact one when given (REASONING_DYNAMIC stays),
 * else the table's for the effort (REASONING_NOBUDGET when unset). */
long reasoning_budget(const struct reasoning *r);

/* Read r from an internal request: reasoning_effort and REASONING_MEMBER
 * (members of the wrong type are ignored). */
void reasoning_read(const cJSON *req, struct reasoning *r);
/* Write r into an internal request: reasoning_effort (the effort, or the
 * budget's) and REASONING_MEMBER when a budget or include was given
 * (members already there are replaced). */
void reasoning_write(cJSON *req, const struct reasoning *r);

/* The signature of the last signed thinking block of thinking_blocks (the
 * internal carrier of Anthropic's thinking on an assistant message or a
 * stream delta: [{"type":"thinking","thinking","signature"}, ...]), or
 * NULL. */
const char *reasoning_signature(const cJSON *thinking_blocks);
#endif
