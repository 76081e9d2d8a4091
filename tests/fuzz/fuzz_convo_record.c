/* fuzz_convo_record.c — what parses stored conversations: the input as a
 * record file (recstore_parse, and its data through convo_record_parse,
 * convo_public and convo_trim), and the input as a record's data alone.
 * Properties: a record file parses only when its lengths add up to the
 * input's size exactly and its checksum matches, and the id and data lie
 * inside the input; an accepted record's messages are all user or
 * assistant with text or parts; trimming never leaves more characters
 * than the budget nor a history that starts with an assistant, and says
 * how many messages it dropped. */
#include "fuzz_common.h"
#include "convo.h"
#include "recstore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_record(const char *data, size_t len, long budget)
{
	cJSON *rec = convo_record_parse(data, len);
	if (!rec)
		return;
	cJSON *pub = convo_public(rec, 1, 1);
	FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pub, "id")), "public form without an id");
	cJSON_Delete(pub);
	cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	long before = cJSON_GetArraySize(ms);
	long dropped = convo_trim(ms, budget);
	FUZZ_ASSERT(dropped >= 0 && before - dropped == cJSON_GetArraySize(ms), "trim miscounted");
	long total = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, ms)
		total += convo_message_chars(m);
	FUZZ_ASSERT(total <= budget, "trimmed history over the budget");
	const cJSON *first = cJSON_GetArrayItem(ms, 0);
	if (first && dropped) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");
		FUZZ_ASSERT(!strcmp(role->valuestring, "user"), "trimmed history starts with %s", role->valuestring);
	}
	cJSON_Delete(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *id, *d;
	size_t il, dl;
	long budget = size ? (long)(data[0] % 64) : 0;
	if (recstore_parse(in, size, &id, &il, &d, &dl) == 0) {
		FUZZ_ASSERT(id > in && id + il <= in + size && d == id + il && d + dl == in + size, "spans outside the input");
		FUZZ_ASSERT(il >= 1 && il <= RECSTORE_ID_MAX, "id length %zu", il);
		check_record(d, dl, budget);
	}
	check_record(in, size, budget);
	return 0;
}
