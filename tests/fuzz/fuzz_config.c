/* fuzz_config.c — config_load on a config file holding the input, then the
 * routing table built from it (provider_resolve, prices, model list).
 *
 * Linked with -Wl,--wrap=log_add_secret: config_load registers every key
 * it reads with the log, a list that only grows; the wrapper keeps the
 * fuzzer's memory and speed flat. */
// FUZZ_LDFLAGS: -Wl,--wrap=log_add_secret
#include "fuzz_common.h"
#include "config.h"
#include "provider.h"

void __wrap_log_add_secret(const char *secret);
void __wrap_log_add_secret(const char *secret)
{
	/* touch it as the real one would */
	if (secret)
		(void)strlen(secret);
}

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the environment must not add to what the file says */
	static const char *vars[] = { "AUTH_KEY", "BACKEND_URL", "INTERNAL_SECRET", "LLMGATE_CONFIG",
				      "LLMGATE_STATE_DIR", "DEEPSEEK_API_KEY", "MOONSHOT_API_KEY",
				      "ZAI_API_KEY", "OPENAI_API_KEY", "SILICONFLOW_API_KEY",
				      "OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", NULL };
	for (size_t i = 0; vars[i]; i++)
		unsetenv(vars[i]);
	/* one env key, so that env-over-file merging is exercised */
	setenv("MY_HOST_API_KEY", "sk-fuzz-env-key-0123456789", 1);
	snprintf(path, sizeof(path), "/tmp/llmgate-fuzz-config-%d.conf", (int)getpid());
	return 0;
}

static void each_model(const char *model, const char *owner, void *user)
{
	unsigned *n = user;
	FUZZ_ASSERT(model && owner, "NULL model or owner");
	(void)strlen(model);
	(void)strlen(owner);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	if (size > (1u << 20))
		return 0;
	if (fuzz_write_file(path, data, size) != 0)
		abort();
	err[0] = '\0';
	if (config_load(&c, path, err, sizeof(err)) != 0) {
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) && err[0], "config_load failed without a reason");
		config_free(&c);   /* documented as harmless after a failure */
		return 0;
	}
	FUZZ_ASSERT(c.nproviders <= CONFIG_MAX_PROVIDERS, "%zu providers", c.nproviders);
	for (size_t i = 0; i < c.nproviders; i++) {
		const struct provider_conf *p = &c.providers[i];
		FUZZ_ASSERT(p->name && p->base_url && *p->base_url, "provider without name or base_url");
		FUZZ_ASSERT(config_provider(&c, p->name) != NULL, "provider %s not found by name", p->name);
	}
	/* routing over the loaded table */
	static const char *models[] = { "deepseek-chat", "gpt-4o", "claude-sonnet-4", "gemini-2.5-flash",
					"my-host/some/model", "fast", "x", "", "a/b/c", "kimi-k2.5", NULL };
	struct route rt;
	for (size_t i = 0; models[i]; i++) {
		if (provider_resolve(&c, models[i], &rt) == 0) {
			FUZZ_ASSERT(rt.n >= 1 && rt.n <= ROUTE_MAX_TARGETS, "route with %zu targets", rt.n);
			for (size_t k = 0; k < rt.n; k++)
				FUZZ_ASSERT(rt.t[k].prov && memchr(rt.t[k].model, '\0', sizeof(rt.t[k].model)),
					    "bad route target");
		}
		(void)config_price(&c, models[i], models[i]);
	}
	/* names from the file itself: every alias and fallback model */
	for (size_t i = 0; i < c.naliases; i++)
		(void)provider_resolve(&c, c.aliases[i].name, &rt);
	for (size_t i = 0; i < c.nfallbacks; i++)
		(void)provider_resolve(&c, c.fallbacks[i].model, &rt);
	unsigned n = 0;
	provider_each_model(&c, each_model, &n);
	char prefix[CONFIG_NAME_MAX + 1];
	for (size_t i = 0; i < c.nproviders; i++)
		config_env_prefix(c.providers[i].name, prefix, sizeof(prefix));
	config_free(&c);
	return 0;
}
