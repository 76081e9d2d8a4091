/* test_provider.c — routing by model name, aliases, fallbacks, listing. */
#include "autoconf.h"
#include "config.h"
#include "log.h"
#include "provider.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *route_of(const struct config *c, const char *model, char *out, size_t n)
{
	struct route r;
	if (provider_resolve(c, model, &r) != 0)
		return "none";
	snprintf(out, n, "%s:%s", r.t[0].prov->name, r.t[0].model);
	for (size_t i = 1; i < r.n; i++) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, ">%s:%s", r.t[i].prov->name, r.t[i].model);
	}
	return out;
}

static void count(const char *model, const char *owner, void *user)
{
	(void)owner;
	int *n = user;
	(*n)++;
	(void)model;
}

int main(void)
{
	struct config c;
	char err[256], out[512];
	char path[64];
	log_init("test", LOG_ERR);
	snprintf(path, sizeof(path), "/tmp/llmgate-test-provider-%d.conf", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("[provider.local]\nbase_url = http://127.0.0.1:1/v1\nkeys = none\nmodels = qwen-7b\nprefixes = deepseek-r\n"
	      "[aliases]\ngpt-4o-mini = deepseek/deepseek-chat\nfast = glm-5\nbroken = nowhere/x\n"
	      "[fallback]\ndeepseek-chat = moonshot/kimi-k2.5, zai/glm-5, openai/gpt-4o\n"
	      "gpt-4o-mini = zai/glm-5\n", f);
	fclose(f);
	const char *keyed[] = { "DEEPSEEK_API_KEY", "MOONSHOT_API_KEY", "ZAI_API_KEY", "SILICONFLOW_API_KEY" };
	for (size_t i = 0; i < 4; i++)
		setenv(keyed[i], "sk-test-key-000000", 1);
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENROUTER_API_KEY");
	unsetenv("AUTH_KEY");
	if (config_load(&c, path, err, sizeof(err)) != 0) {
		diag("config: %s", err);
		return 1;
	}
	is_str(route_of(&c, "kimi-k2.5", out, sizeof(out)), "moonshot:kimi-k2.5", "built-in kimi");
	is_str(route_of(&c, "kimi-k2-thinking", out, sizeof(out)), "moonshot:kimi-k2-thinking", "kimi thinking");
	is_str(route_of(&c, "moonshot-v1-8k", out, sizeof(out)), "moonshot:moonshot-v1-8k", "moonshot- prefix");
	is_str(route_of(&c, "deepseek-reasoner", out, sizeof(out)), "deepseek:deepseek-reasoner", "listed model beats longer prefix");
	is_str(route_of(&c, "deepseek-v4", out, sizeof(out)), "deepseek:deepseek-v4", "deepseek- prefix");
	is_str(route_of(&c, "deepseek-r2", out, sizeof(out)), "local:deepseek-r2", "longest prefix wins");
	is_str(route_of(&c, "glm-4.6", out, sizeof(out)), "zai:glm-4.6", "glm- prefix");
	is_str(route_of(&c, "gpt-4o", out, sizeof(out)), "none", "openai without keys is not routable");
	is_str(route_of(&c, "siliconflow/Qwen/QwQ-32B", out, sizeof(out)), "siliconflow:Qwen/QwQ-32B",
	       "explicit provider/model keeps the rest of the name");
	is_str(route_of(&c, "Qwen/QwQ-32B", out, sizeof(out)), "none", "a slash that is not a provider is no route");
	is_str(route_of(&c, "openrouter/x", out, sizeof(out)), "none", "explicit provider without keys");
	is_str(route_of(&c, "qwen-7b", out, sizeof(out)), "local:qwen-7b", "keys = none provider is routable");
	is_str(route_of(&c, "deepseek-", out, sizeof(out)), "none", "a bare prefix is not a model");
	is_str(route_of(&c, "", out, sizeof(out)), "none", "empty model");
	is_str(route_of(&c, "gpt-4o-mini", out, sizeof(out)), "deepseek:deepseek-chat>zai:glm-5",
	       "alias to provider/model, with the alias's fallback");
	is_str(route_of(&c, "fast", out, sizeof(out)), "zai:glm-5", "alias by rules");
	is_str(route_of(&c, "broken", out, sizeof(out)), "none", "alias to an unknown provider");
	is_str(route_of(&c, "deepseek-chat", out, sizeof(out)), "deepseek:deepseek-chat>moonshot:kimi-k2.5>zai:glm-5",
	       "fallback chain skips providers without keys");
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_str(route_of(&c, longname, out, sizeof(out)), "none", "over-long name");

	int n = 0;
	provider_each_model(&c, count, &n);
	/* deepseek 2 + moonshot 3 + zai 1 + siliconflow 3 (embeddings, images)
	 * + local 1 + aliases gpt-4o-mini, fast */
	is_int(n, 12, "models listed: usable providers' models and aliases");
	config_free(&c);
	unlink(path);
	return done_testing();
}
