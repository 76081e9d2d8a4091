/* fuzz_chat_request.c — the request side of a chat: the client's JSON
 * parsed, then every translation the router may apply to it
 * (anthropic_request_from_oai, gemini_request_from_oai,
 * anthropic_request_to_oai and back, after anthropic_request_hoist_system
 * too), api_messages_estimate, the cache key, usage_from_json, and
 * routing of its "model" (provider_resolve, gemini_path,
 * quota_model_allowed). Every translation that succeeds must produce
 * valid JSON; every failure must say why. */
#include "fuzz_common.h"
#include "anthropic.h"
#include "api.h"
#include "cache.h"
#include "config.h"
#include "gemini.h"
#include "provider.h"
#include "quota.h"
#include "usage.h"

static struct config cfg;
static int cfg_ok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[256];
	/* a routing table with every built-in provider usable */
	setenv("DEEPSEEK_API_KEY", "sk-fuzz-ds-000000000000", 1);
	setenv("OPENAI_API_KEY", "sk-fuzz-oa-000000000000", 1);
	setenv("ANTHROPIC_API_KEY", "sk-fuzz-an-000000000000", 1);
	setenv("GEMINI_API_KEY", "fuzz-gemini-000000000000", 1);
	setenv("MOONSHOT_API_KEY", "sk-fuzz-ms-000000000000", 1);
	char path[128];
	snprintf(path, sizeof(path), "/tmp/llmgate-fuzz-chat-%d.conf", (int)getpid());
	static const char conf[] = "[aliases]\nfast = deepseek/deepseek-chat\n"
				   "[fallback]\ndeepseek-chat = moonshot/kimi-k2.5, gemini/gemini-2.5-flash\n";
	if (fuzz_write_file(path, conf, sizeof(conf) - 1) != 0)
		abort();
	cfg_ok = config_load(&cfg, path, err, sizeof(err)) == 0;
	unlink(path);
	if (!cfg_ok) {
		fprintf(stderr, "fuzz_chat_request: config: %s\n", err);
		abort();
	}
	return 0;
}

static void check_json_string(const char *what, char *s, const char *err)
{
	if (!s) {
		FUZZ_ASSERT(err[0] != '\0', "%s failed without a reason", what);
		return;
	}
	FUZZ_ASSERT(fuzz_is_json(s, strlen(s)), "%s produced invalid JSON: %.300s", what, s);
	free(s);
}

static void translate(const cJSON *req)
{
	char err[256];

	err[0] = '\0';
	check_json_string("anthropic_request_from_oai", anthropic_request_from_oai(req, "claude-sonnet-4", err, sizeof(err)), err);
	err[0] = '\0';
	check_json_string("anthropic_request_from_oai(NULL model)", anthropic_request_from_oai(req, NULL, err, sizeof(err)), err);
	err[0] = '\0';
	check_json_string("gemini_request_from_oai", gemini_request_from_oai(req, err, sizeof(err)), err);

	char key[CACHE_KEY_HEX];
	cache_key(req, "deepseek", "deepseek-chat", "", key);
	FUZZ_ASSERT(strlen(key) == 64 && strspn(key, "0123456789abcdef") == 64, "bad cache key %s", key);
	char key2[CACHE_KEY_HEX];
	cJSON *dup = cJSON_Duplicate(req, 1);
	if (dup) {
		cache_key(dup, "deepseek", "deepseek-chat", "", key2);
		FUZZ_ASSERT(!strcmp(key, key2), "cache_key differs for a copy of the same request");
		cJSON_Delete(dup);
	}
	cache_key(req, NULL, NULL, "k_1a2b3c4d", key2);

	struct usage u;
	memset(&u, 0, sizeof(u));
	(void)usage_from_json(req, &u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	cJSON *req = cJSON_ParseWithLength((const char *)data, size);
	if (!req) {
		/* not JSON: still a model name (routing sees raw strings too) */
		char *s = fuzz_strndup(data, size > 300 ? 300 : size);
		struct route rt;
		(void)provider_resolve(&cfg, s, &rt);
		free(s);
		return 0;
	}
	translate(req);

	/* an Anthropic client's request, translated to OpenAI, then on to each
	 * dialect as the router does for /v1/messages */
	char err[256] = "";
	cJSON *oai = anthropic_request_to_oai(req, NULL, err, sizeof(err));
	if (oai) {
		char *text = cJSON_PrintUnformatted(oai);
		FUZZ_ASSERT(text && fuzz_is_json(text, strlen(text)), "anthropic_request_to_oai printed invalid JSON");
		free(text);
		translate(oai);
		cJSON_Delete(oai);
	} else {
		FUZZ_ASSERT(err[0], "anthropic_request_to_oai failed without a reason");
	}
	cJSON *oai2 = anthropic_request_to_oai(req, "gpt-4o", err, sizeof(err));
	cJSON_Delete(oai2);

	/* Claude Code's system-role messages moved into system (/v1/messages
	 * and count_tokens): none left, the result still translates or says
	 * why; the count_tokens estimate is never negative */
	FUZZ_ASSERT(api_messages_estimate(req) >= 0, "negative estimate");
	cJSON *hoisted = cJSON_Duplicate(req, 1);
	err[0] = '\0';
	if (anthropic_request_hoist_system(hoisted, err, sizeof(err)) == 0) {
		const cJSON *m;
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(hoisted, "messages")) {
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
			FUZZ_ASSERT(!cJSON_IsString(role) || strcmp(role->valuestring, "system"), "a system message left");
		}
		char *text = cJSON_PrintUnformatted(hoisted);
		FUZZ_ASSERT(text && fuzz_is_json(text, strlen(text)), "hoisting made invalid JSON");
		free(text);
		cJSON *oai3 = anthropic_request_to_oai(hoisted, NULL, err, sizeof(err));
		cJSON_Delete(oai3);
	} else {
		FUZZ_ASSERT(err[0], "anthropic_request_hoist_system failed without a reason");
	}
	cJSON_Delete(hoisted);

	/* routing of its model name */
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
	if (cJSON_IsString(model)) {
		struct route rt;
		char path[MODEL_NAME_MAX + 64];
		if (provider_resolve(&cfg, model->valuestring, &rt) == 0) {
			for (size_t i = 0; i < rt.n; i++) {
				if (gemini_path(path, sizeof(path), rt.t[i].model, (int)(i & 1)) == 0)
					FUZZ_ASSERT(!strpbrk(path + 1, "# ") && !strstr(path, "/../"),
						    "gemini_path made %s", path);
			}
		}
		(void)quota_model_allowed("deepseek-*,glm-5, gpt-4o*", model->valuestring);
		(void)quota_model_allowed(model->valuestring, "deepseek-chat");
	}
	cJSON_Delete(req);
	return 0;
}
