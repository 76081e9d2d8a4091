/* fuzz_settings.c — the settings schema on a state.db settings document
 * (what the admin API's PUT /settings takes and the router's overlay
 * reads): settings_check_state, then every plain member through its
 * table row. Properties: the answer is the same twice; a refusal says
 * why; in an accepted document every plain member passes its row's check,
 * is stored as given, and is taken by the INI parser written as the config
 * file would hold it (and a whole number the INI parser takes is taken as
 * JSON too): the file and the admin API take the same values. */
#include "fuzz_common.h"
#include "settings.h"
#include <cjson/cJSON.h>
#include <stdio.h>

static int is_text(const struct settings_def *d)
{
	return d->type == SETTINGS_STR || d->type == SETTINGS_SECRET || d->type == SETTINGS_URL || d->type == SETTINGS_PATH;
}

/* v for row d as a config file would hold it ("" when it has no such form).
 * A text row has none: in the file every value is text, while the admin
 * API takes only a JSON string for it (a number or true is refused). */
static void ini_form(const struct settings_def *d, const cJSON *v, char *out, size_t outlen)
{
	out[0] = '\0';
	if (is_text(d))
		return;
	if (cJSON_IsBool(v))
		snprintf(out, outlen, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v) && d->type != SETTINGS_BOOL && v->valuedouble > -1e15 && v->valuedouble < 1e15 &&
		 v->valuedouble == (double)(long long)v->valuedouble)
		snprintf(out, outlen, "%lld", (long long)v->valuedouble);
}

static void plain_members(const cJSON *doc, int accepted)
{
	struct config c;
	char err[256], err2[256], text[64], group[SETTINGS_GROUP_MAX];
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		const char *member = settings_member(d, group);
		if (!member)
			continue;
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(doc, group);
		const cJSON *v = cJSON_IsObject(g) ? cJSON_GetObjectItemCaseSensitive(g, member) : NULL;
		if (!v)
			continue;
		int json_ok = settings_check_json(d, v, err, sizeof(err)) == 0;
		FUZZ_ASSERT(json_ok || err[0], "%s refused without a reason", d->state);
		FUZZ_ASSERT(!accepted || json_ok, "document accepted but %s refused: %s", d->state, err);
		if (json_ok && d->offset != SETTINGS_NO_FIELD && !is_text(d)) {
			settings_set_json(d, v, &c);
			long long want = cJSON_IsBool(v) ? cJSON_IsTrue(v) : (long long)v->valuedouble;
			FUZZ_ASSERT(settings_get_num(d, &c) == want, "%s stored as %lld, given %lld", d->state, settings_get_num(d, &c), want);
		}
		ini_form(d, v, text, sizeof(text));
		if (d->section && text[0]) {
			int ini_ok = settings_parse_ini(d, text, NULL, err2, sizeof(err2)) == 0;
			FUZZ_ASSERT(ini_ok == json_ok, "%s = %s: INI %s, JSON %s", d->state, text, ini_ok ? "takes" : "refuses",
				    json_ok ? "takes" : "refuses");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
	if (!doc)
		return 0;
	char err[512], again[512];
	err[0] = again[0] = '\0';
	int r = settings_check_state(doc, err, sizeof(err));
	int r2 = settings_check_state(doc, again, sizeof(again));
	FUZZ_ASSERT(r == r2 && !strcmp(err, again), "not stable: %d %s / %d %s", r, err, r2, again);
	FUZZ_ASSERT(r == 0 || r == -1, "answer %d", r);
	FUZZ_ASSERT(r == 0 || err[0], "refused without a reason");
	if (cJSON_IsObject(doc))
		plain_members(doc, r == 0);
	cJSON_Delete(doc);
	return 0;
}
