/* filter.c — request filters and response taps (see filter.h). */
#include "autoconf.h"
#include "filter.h"
#include "promptlog.h"
#include "convo.h"
#include <string.h>

/* The request filters, in the order they run. */
static const struct filter filters[] = {
	{ "prompt_log", promptlog_filter },   /* first: the prompt as the client sent it */
	{ "system_prompt", filter_system_prompt },
	{ "conversation", convo_filter },   /* after the system prompt: history goes after it */
	{ "knowledge_base", kb_retrieve_filter },
};

static const struct tap *taps[FILTER_TAPS_MAX];
static size_t ntaps;

int filter_request(cJSON *req, const struct filter_ctx *fc)
{
	int changed = 0;
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		int rc = filters[i].request(req, fc);
		if (rc < 0)
			return -1;
		changed |= rc;
	}
	return changed;
}

int filter_has_taps(void)
{
	return ntaps != 0;
}

int filter_add_tap(const struct tap *t)
{
	if (ntaps >= FILTER_TAPS_MAX)
		return -1;
	taps[ntaps++] = t;
	return 0;
}

void filter_tap_data(const struct filter_ctx *fc, const char *data, size_t len)
{
	for (size_t i = 0; i < ntaps; i++)
		if (taps[i]->data)
			taps[i]->data(fc, data, len);
}

void filter_tap_end(const struct filter_ctx *fc, int status, const struct usage *u)
{
	for (size_t i = 0; i < ntaps; i++)
		if (taps[i]->end)
			taps[i]->end(fc, status, u);
}

int filter_system_prompt(cJSON *req, const struct filter_ctx *fc)
{
	const char *text = fc->c->system_prompt;
	if (!text)
		return 0;
	cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	const cJSON *m;
	cJSON_ArrayForEach(m, messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (cJSON_IsString(role) && (!strcmp(role->valuestring, "system") || !strcmp(role->valuestring, "developer")))
			return 0;
	}
	cJSON *sm = cJSON_CreateObject();
	cJSON_AddStringToObject(sm, "role", "system");
	cJSON_AddStringToObject(sm, "content", text);
	cJSON_InsertItemInArray(messages, 0, sm);
	return 1;
}
