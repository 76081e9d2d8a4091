/* fuzz_usage.c — usage_from_text reads a usage object's text directly
 * (jscan) when it is strictly valid JSON, and through cJSON otherwise: both
 * ways must give the same answer and the same tokens for any input.
 * jscan_last_object must find the same span as a plain byte-by-byte scan
 * (the reference below: jscan's finds quotes with memchr).
 *
 * A Responses API stream event's usage (response.completed's
 * response.usage) is read from the event as from its own text.
 *
 * Input: the bytes are a response body or event. */
#include "fuzz_common.h"
#include "jscan.h"
#include "usage.h"

/* byte by byte: a backslash takes the next byte, a quote ends the string */
static size_t ref_skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static int ref_last_usage(const char *s, size_t n, size_t *vs)
{
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		size_t end = ref_skip_string(s, n, i);
		if (end - i == 7 && !memcmp(s + i + 1, "usage", 5)) {
			size_t j = end;
			while (j < n && strchr(" \t\r\n", s[j]) && s[j])
				j++;
			if (j < n && s[j] == ':') {
				for (j++; j < n && strchr(" \t\r\n", s[j]) && s[j]; j++)
					;
				if (j < n && s[j] == '{') {
					*vs = j;
					found = 1;
				}
			}
		}
		i = end - 1;
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct usage fast, tree;
	memset(&fast, 0x5a, sizeof(fast));
	memset(&tree, 0x5a, sizeof(tree));
	int a = usage_from_text(s, size, &fast);
	size_t vs, ve;
	int found = jscan_last_object(s, size, "usage", &vs, &ve);
	size_t rvs = 0;
	int rfound = ref_last_usage(s, size, &rvs);
	FUZZ_ASSERT(found == rfound && (!found || vs == rvs), "last usage object: jscan %d at %zu, byte scan %d at %zu",
		    found, found ? vs : 0, rfound, rvs);
	int b = found ? usage_from_text_tree(s + vs, ve - vs, &tree) : 0;
	FUZZ_ASSERT(a == b, "usage_from_text %d, through cJSON %d", a, b);
	if (a) {
		FUZZ_ASSERT(fast.prompt == tree.prompt && fast.completion == tree.completion &&
			    fast.cached == tree.cached && fast.reasoning == tree.reasoning &&
			    fast.reported == tree.reported,
			    "fast %ld/%ld/%ld/%ld, cJSON %ld/%ld/%ld/%ld", fast.prompt, fast.completion, fast.cached,
			    fast.reasoning, tree.prompt, tree.completion, tree.cached, tree.reasoning);
	}
	/* a Responses API stream event (response.completed: no top-level usage
	 * or choices, the usage in "response"): the tree reader finds what the
	 * text reader finds in that usage object's own text */
	cJSON *root = cJSON_ParseWithLength(s, size);
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
	const cJSON *ru = cJSON_GetObjectItemCaseSensitive(resp, "usage");
	if (cJSON_IsObject(root) && !cJSON_HasObjectItem(root, "usage") && !cJSON_HasObjectItem(root, "choices") &&
	    cJSON_IsObject(resp) && cJSON_IsObject(ru)) {
		struct usage ev, txt;
		memset(&ev, 0x5a, sizeof(ev));
		memset(&txt, 0x5a, sizeof(txt));
		char *ut = cJSON_PrintUnformatted(ru);
		int e = usage_from_json(root, &ev);
		int t = ut ? usage_from_text_tree(ut, strlen(ut), &txt) : 0;
		FUZZ_ASSERT(e == t, "response.usage: from the event %d, from its text %d", e, t);
		if (e) {
			FUZZ_ASSERT(ev.prompt == txt.prompt && ev.completion == txt.completion &&
				    ev.cached == txt.cached && ev.reasoning == txt.reasoning,
				    "response.usage: event %ld/%ld/%ld/%ld, text %ld/%ld/%ld/%ld", ev.prompt,
				    ev.completion, ev.cached, ev.reasoning, txt.prompt, txt.completion, txt.cached,
				    txt.reasoning);
			FUZZ_ASSERT(ev.prompt >= 0 && ev.completion >= 0 && ev.cached >= 0 && ev.reasoning >= 0,
				    "response.usage: negative count");
		}
		free(ut);
	}
	cJSON_Delete(root);
	/* jscan_valid never accepts what cJSON refuses */
	if (size && jscan_valid(s, size, 16)) {
		cJSON *j = cJSON_ParseWithLength(s, size);
		FUZZ_ASSERT(j != NULL, "jscan_valid accepted what cJSON refuses");
		cJSON_Delete(j);
	}
	return 0;
}
