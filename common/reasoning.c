/* reasoning.c — the reasoning table between dialects (see reasoning.h). */
#include "autoconf.h"
#include "reasoning.h"
#include <string.h>
#include <strings.h>

static const struct {
	const char *word, *level;
	long budget;
} table[] = {
	[REASONING_NONE] = { "none", NULL, 0 },
	[REASONING_MINIMAL] = { "minimal", "MINIMAL", 512 },
	[REASONING_LOW] = { "low", "LOW", 1024 },
	[REASONING_MEDIUM] = { "medium", "MEDIUM", 8192 },
	[REASONING_HIGH] = { "high", "HIGH", 24576 },
	[REASONING_XHIGH] = { "xhigh", "HIGH", 32768 },
};
#define NEFFORTS ((int)(sizeof(table) / sizeof(table[0])))

void reasoning_clear(struct reasoning *r)
{
	r->effort = REASONING_UNSET;
	r->budget = REASONING_NOBUDGET;
	r->include = -1;
}

int reasoning_given(const struct reasoning *r)
{
	return r->effort != REASONING_UNSET || r->budget != REASONING_NOBUDGET || r->include >= 0;
}

int reasoning_effort_parse(const char *word)
{
	if (!word)
		return REASONING_UNSET;
	if (!strcmp(word, "max"))
		return REASONING_XHIGH;
	for (int e = 0; e < NEFFORTS; e++)
		if (!strcmp(word, table[e].word))
			return e;
	return REASONING_UNSET;
}

const char *reasoning_effort_word(int effort)
{
	return effort >= 0 && effort < NEFFORTS ? table[effort].word : NULL;
}

int reasoning_level_effort(const char *level)
{
	if (!level)
		return REASONING_UNSET;
	for (int e = REASONING_MINIMAL; e <= REASONING_HIGH; e++)
		if (!strcasecmp(level, table[e].level))
			return e;
	return REASONING_UNSET;
}

const char *reasoning_effort_level(int effort)
{
	return effort > 0 && effort < NEFFORTS ? table[effort].level : NULL;
}

long reasoning_effort_budget(int effort)
{
	return effort >= 0 && effort < NEFFORTS ? table[effort].budget : REASONING_NOBUDGET;
}

int reasoning_budget_effort(long budget)
{
	if (budget == REASONING_DYNAMIC)
		return REASONING_MEDIUM;
	if (budget <= 0)
		return budget == 0 ? REASONING_NONE : REASONING_UNSET;
	return budget < 1024 ? REASONING_MINIMAL : budget < 4096 ? REASONING_LOW : budget < 16384 ? REASONING_MEDIUM
		: budget < 32768 ? REASONING_HIGH : REASONING_XHIGH;
}

long reasoning_budget(const struct reasoning *r)
{
	return r->budget != REASONING_NOBUDGET ? r->budget : reasoning_effort_budget(r->effort);
}

void reasoning_read(const cJSON *req, struct reasoning *r)
{
	reasoning_clear(r);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, "reasoning_effort");
	if (cJSON_IsString(e))
		r->effort = reasoning_effort_parse(e->valuestring);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, REASONING_MEMBER);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "budget_tokens");
	if (cJSON_IsNumber(b) && b->valuedouble >= -1 && b->valuedouble <= 1e9)
		r->budget = (long)b->valuedouble;
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(m, "include_thoughts");
	if (cJSON_IsBool(inc))
		r->include = cJSON_IsTrue(inc);
}

void reasoning_write(cJSON *req, const struct reasoning *r)
{
	int effort = r->effort != REASONING_UNSET ? r->effort : reasoning_budget_effort(r->budget);
	cJSON_DeleteItemFromObjectCaseSensitive(req, "reasoning_effort");
	cJSON_DeleteItemFromObjectCaseSensitive(req, REASONING_MEMBER);
	if (reasoning_effort_word(effort))
		cJSON_AddStringToObject(req, "reasoning_effort", reasoning_effort_word(effort));
	if (r->budget == REASONING_NOBUDGET && r->include < 0)
		return;
	cJSON *m = cJSON_AddObjectToObject(req, REASONING_MEMBER);
	if (r->budget != REASONING_NOBUDGET)
		cJSON_AddNumberToObject(m, "budget_tokens", (double)r->budget);
	if (r->include >= 0)
		cJSON_AddBoolToObject(m, "include_thoughts", r->include);
}

const char *reasoning_signature(const cJSON *thinking_blocks)
{
	const cJSON *b;
	const char *sig = NULL;
	cJSON_ArrayForEach(b, thinking_blocks) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "type"));
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "signature"));
		if (t && !strcmp(t, "thinking") && s)
			sig = s;
	}
	return sig;
}
