/* fuzz_usage.c — usage_from_text reads a usage object's text directly
 * (jscan) when it is strictly valid JSON, and through cJSON otherwise: both
 * ways must give the same answer and the same tokens for any input.
 *
 * Input: the bytes are a response body or event. */
#include "fuzz_common.h"
#include "jscan.h"
#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct usage fast, tree;
	memset(&fast, 0x5a, sizeof(fast));
	memset(&tree, 0x5a, sizeof(tree));
	int a = usage_from_text(s, size, &fast);
	size_t vs, ve;
	int b = jscan_last_object(s, size, "usage", &vs, &ve) ? usage_from_text_tree(s + vs, ve - vs, &tree) : 0;
	FUZZ_ASSERT(a == b, "usage_from_text %d, through cJSON %d", a, b);
	if (a) {
		FUZZ_ASSERT(fast.prompt == tree.prompt && fast.completion == tree.completion &&
			    fast.cached == tree.cached && fast.reasoning == tree.reasoning &&
			    fast.reported == tree.reported,
			    "fast %ld/%ld/%ld/%ld, cJSON %ld/%ld/%ld/%ld", fast.prompt, fast.completion, fast.cached,
			    fast.reasoning, tree.prompt, tree.completion, tree.cached, tree.reasoning);
	}
	/* jscan_valid never accepts what cJSON refuses */
	if (size && jscan_valid(s, size, 16)) {
		cJSON *j = cJSON_ParseWithLength(s, size);
		FUZZ_ASSERT(j != NULL, "jscan_valid accepted what cJSON refuses");
		cJSON_Delete(j);
	}
	return 0;
}
