/* test_config.c — defaults, the INI file, the environment, errors. */
#include "autoconf.h"
#include "config.h"
#include "log.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void clear_env(void)
{
	const char *names[] = { "DEEPSEEK_API_KEY", "MOONSHOT_API_KEY", "ZAI_API_KEY", "OPENAI_API_KEY",
				"SILICONFLOW_API_KEY", "OPENROUTER_API_KEY", "AUTH_KEY", "DEEPSEEK_BASE_URL",
				"LLMGATE_CONFIG", "LLMGATE_STATE_DIR", "MY_HOST_API_KEY", "MY_HOST_BASE_URL" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

int main(void)
{
	struct config c;
	char err[512];
	snprintf(path, sizeof(path), "/tmp/llmgate-test-config-%d.conf", (int)getpid());
	log_init("test", LOG_ERR);
	clear_env();

	/* no file at all: safe defaults, built-in providers without keys */
	setenv("LLMGATE_CONFIG", "/nonexistent/llmgate.conf", 1);
	is_int(config_load(&c, NULL, err, sizeof(err)), -1, "a named config file that is missing is an error");
	ok(strstr(err, "/nonexistent/llmgate.conf") != NULL, "the error names the file: %s", err);
	unsetenv("LLMGATE_CONFIG");

	write_conf("");
	is_int(config_load(&c, path, err, sizeof(err)), 0, "empty file loads");
	is_int(c.threads, 16, "default threads");
	is_int(c.max_attempts, 3, "default attempts");
	is_int(c.head_timeout_ms, 300000, "default head_timeout_ms");
	is_int(c.total_timeout_ms, 600000, "default total_timeout_ms");
	is_int(c.stream_max_s, 1800, "default stream_max_s");
	is_int(c.stream_max_bytes, 64 << 20, "default stream_max_bytes");
	struct provider_conf *p = config_provider(&c, "deepseek");
	ok(p != NULL, "deepseek is built in");
	is_str(p->base_url, "https://api.deepseek.com", "deepseek default base url");
	is_int(p->nkeys, 0, "no keys without environment");
	is_str(config_provider(&c, "moonshot")->base_url, "https://api.moonshot.cn/v1", "moonshot base");
	is_str(config_provider(&c, "zai")->base_url, "https://open.bigmodel.cn/api/paas/v4", "zai base");
	is_str(config_provider(&c, "openai")->base_url, "https://api.openai.com/v1", "openai base");
	is_str(config_provider(&c, "siliconflow")->base_url, "https://api.siliconflow.cn/v1", "siliconflow base");
	is_str(config_provider(&c, "openrouter")->base_url, "https://openrouter.ai/api/v1", "openrouter base");
	is_int(c.spool_max_bytes, 256LL << 20, "default spool cap 256 MiB");
	is_int(c.spool_warn_percent, 80, "default spool warning at 80%");
	config_free(&c);

	write_conf("[settle]\nspool_max_bytes = 8192\nspool_warn_percent = 50\n");
	is_int(config_load(&c, path, err, sizeof(err)), 0, "spool cap settings load");
	is_int(c.spool_max_bytes, 8192, "spool_max_bytes");
	is_int(c.spool_warn_percent, 50, "spool_warn_percent");
	config_free(&c);
	write_conf("[settle]\nspool_warn_percent = 101\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "a warning over 100% refused");
	ok(strstr(err, "spool_warn_percent") != NULL, "names the setting: %s", err);
	config_free(&c);
	write_conf("");

	/* environment: pools, base urls, gateway keys */
	setenv("DEEPSEEK_API_KEY", "sk-one-aaaaaaaa, sk-two-bbbbbbbb", 1);
	setenv("DEEPSEEK_BASE_URL", "http://127.0.0.1:9/ds/", 1);
	setenv("AUTH_KEY", "gw-key-1111,gw-key-2222", 1);
	setenv("LLMGATE_STATE_DIR", "/tmp/somewhere", 1);
	is_int(config_load(&c, path, err, sizeof(err)), 0, "loads with environment");
	p = config_provider(&c, "deepseek");
	is_int(p->nkeys, 2, "comma list is a key pool");
	is_str(p->keys[1], "sk-two-bbbbbbbb", "keys trimmed");
	is_str(p->base_url, "http://127.0.0.1:9/ds", "base url trailing slash dropped");
	is_int(c.nauth_keys, 2, "AUTH_KEY list");
	is_str(c.state_dir, "/tmp/somewhere", "LLMGATE_STATE_DIR");
	config_free(&c);
	clear_env();

	/* the file: sections, providers, aliases, fallbacks */
	write_conf("[server]\nthreads = 4\nmax_body = 2048\nmount = /api\n"
		   "[upstream]\nmax_attempts = 5\ncooldown_s = 7\nhead_timeout_ms = 1500\ntotal_timeout_ms = 0\n"
		   "stream_max_s = 2\nstream_max_bytes = 65536\n"
		   "[auth]\nkeys = file-key-123456\n"
		   "[provider.my-host]\nbase_url = http://127.0.0.1:1/v1\nkeys = none\nmodels = m1, m2\nprefixes = mh-\n"
		   "[aliases]\nfast = my-host/m1\nsmart = deepseek-chat\n"
		   "[fallback]\nfast = deepseek/deepseek-chat, m2\n");
	setenv("MY_HOST_API_KEY", "sk-from-env-zzzzzz", 1);
	ok(config_load(&c, path, err, sizeof(err)) == 0, "full file loads: %s", err);
	is_int(c.threads, 4, "threads");
	is_int(c.max_body, 2048, "max_body");
	is_str(c.mount, "/api", "mount");
	is_int(c.max_attempts, 5, "attempts");
	is_int(c.cooldown_s, 7, "cooldown");
	is_int(c.head_timeout_ms, 1500, "head_timeout_ms");
	is_int(c.total_timeout_ms, 0, "total_timeout_ms 0: no limit");
	is_int(c.stream_max_s, 2, "stream_max_s");
	is_int(c.stream_max_bytes, 65536, "stream_max_bytes");
	is_int(c.nauth_keys, 1, "auth keys from file");
	p = config_provider(&c, "my-host");
	ok(p && !p->builtin, "extra provider added");
	is_int(p->nkeys, 1, "env key for an extra provider (MY_HOST_API_KEY)");
	is_int(p->no_auth, 0, "env key replaces keys = none");
	is_int(p->nmodels, 2, "models");
	is_int(c.naliases, 2, "aliases");
	is_str(c.aliases[0].to.provider, "my-host", "alias provider");
	is_str(c.aliases[0].to.model, "m1", "alias model");
	ok(c.aliases[1].to.provider == NULL, "alias without provider resolves by rules");
	is_int(c.nfallbacks, 1, "fallback chain");
	is_int(c.fallbacks[0].n, 2, "two entries");
	is_str(c.fallbacks[0].chain[0].provider, "deepseek", "first fallback provider");
	config_free(&c);
	unsetenv("MY_HOST_API_KEY");

	/* errors are clear and name the line */
	write_conf("[server]\nthreads = lots\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "bad number refused");
	ok(strstr(err, "line 2") && strstr(err, "threads"), "names line and setting: %s", err);
	config_free(&c);
	write_conf("[upstream]\nstream_max_s = -1\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "a negative limit refused");
	ok(strstr(err, "stream_max_s") != NULL, "names the setting: %s", err);
	config_free(&c);
	write_conf("[server]\nthreds = 1\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "unknown setting refused");
	ok(strstr(err, "threds") != NULL, "names the setting: %s", err);
	config_free(&c);
	write_conf("[provider.Bad Name]\nbase_url = http://x\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "bad provider name refused");
	config_free(&c);
	write_conf("[provider.x]\nbase_url = ftp://x\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "non-http base url refused");
	config_free(&c);
	write_conf("[provider.nourl]\nkeys = a\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "provider without base_url refused");
	ok(strstr(err, "nourl") != NULL, "names the provider: %s", err);
	config_free(&c);
	write_conf("[provider.x]\nbase_url = http://h\nkeys = sk-secret-value-123\n[bogus]\na = 1\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "unknown section refused");
	ok(!strstr(err, "sk-secret-value-123"), "no secret in the error");
	config_free(&c);

	/* a state directory others can write is refused, with the fix */
	char sdir[] = "/tmp/llmgate-test-state-XXXXXX";
	if (mkdtemp(sdir)) {
		write_conf("");
		setenv("LLMGATE_STATE_DIR", sdir, 1);
		chmod(sdir, 0777);
		is_int(config_load(&c, path, err, sizeof(err)), -1, "world-writable state directory refused");
		ok(strstr(err, "chmod 700") != NULL, "the message says what to do: %s", err);
		config_free(&c);
		chmod(sdir, 0770);
		is_int(config_load(&c, path, err, sizeof(err)), -1, "group-writable state directory refused");
		config_free(&c);
		chmod(sdir, 0700);
		is_int(config_load(&c, path, err, sizeof(err)), 0, "a private state directory is fine");
		config_free(&c);
		rmdir(sdir);
		unsetenv("LLMGATE_STATE_DIR");
	}

	char pre[64];
	config_env_prefix("my-host.v2", pre, sizeof(pre));
	is_str(pre, "MY_HOST_V2", "env prefix");
	unlink(path);
	return done_testing();
}
