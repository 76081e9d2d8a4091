/* test_config.c — defaults, the INI file, the environment, errors. */
#include "autoconf.h"
#include "config.h"
#include "log.h"
#include "settings.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>

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

static int is_text_type(enum settings_type t)
{
	return t == SETTINGS_STR || t == SETTINGS_SECRET || t == SETTINGS_URL || t == SETTINGS_PATH;
}

/* Load "[section]\nkey = val\n"; 0 or -1 (c freed either way, value in *got). */
static int load_one(const struct settings_def *d, const char *val, long long *got, char *err, size_t errlen)
{
	struct config c;
	char text[512];
	snprintf(text, sizeof(text), "[%s]\n%s = %s\n", d->section, d->key, val);
	write_conf(text);
	int r = config_load(&c, path, err, errlen);
	if (r == 0 && got && !is_text_type(d->type))
		*got = settings_get_num(d, &c);
	config_free(&c);
	return r;
}

/* Every row of the schema: its default is what config_load gives, the
 * ends of its range load and the values just past them are refused with
 * a message naming it; conf/llmgate.conf names it in its section. */
static void test_schema(void)
{
	struct config c;
	char err[512], v[64];
	long long got;
	write_conf("");
	is_int(config_load(&c, path, err, sizeof(err)), 0, "schema: an empty file loads");
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		if (d->offset == SETTINGS_NO_FIELD)
			continue;
		if (is_text_type(d->type)) {
			const char *f = *(char *const *)(const void *)((const char *)&c + d->offset);
			ok(d->def_str ? f && !strcmp(f, d->def_str) : f == NULL, "default of [%s] %s: %s", d->section,
			   d->key, d->def_str ? d->def_str : "(none)");
		} else {
			is_int(settings_get_num(d, &c), d->def, d->key);
		}
	}
	config_free(&c);

	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		if (!d->section)
			continue;
		if (d->type == SETTINGS_BOOL) {
			ok(load_one(d, "on", &got, err, sizeof(err)) == 0 && got == 1, "[%s] %s = on", d->section, d->key);
			ok(load_one(d, "no", &got, err, sizeof(err)) == 0 && got == 0, "[%s] %s = no", d->section, d->key);
			ok(load_one(d, "maybe", NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "[%s] %s = maybe refused: %s",
			   d->section, d->key, err);
		} else if (d->type == SETTINGS_LOG_LEVEL) {
			ok(load_one(d, "debug", &got, err, sizeof(err)) == 0 && got == LOG_DEBUG, "log_level = debug");
			ok(load_one(d, "loud", NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "log_level = loud refused");
		} else if (d->type == SETTINGS_URL) {
			ok(load_one(d, "https://billing.example.com/", NULL, err, sizeof(err)) == 0, "[%s] %s takes a URL", d->section, d->key);
			ok(load_one(d, "ftp://x", NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "[%s] %s: ftp refused", d->section, d->key);
			ok(load_one(d, "https://", NULL, err, sizeof(err)) == -1, "[%s] %s: no host refused", d->section, d->key);
		} else if (d->type == SETTINGS_PATH) {
			ok(load_one(d, "/x", NULL, err, sizeof(err)) == 0, "[%s] %s = /x", d->section, d->key);
			ok(load_one(d, "x", NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "[%s] %s = x refused", d->section, d->key);
		} else if (d->type == SETTINGS_STR && d->max && d->max < 1024) {
			char longer[1026];
			memset(longer, 'A', (size_t)d->max + 1);
			longer[d->max + 1] = '\0';
			ok(load_one(d, longer + 1, NULL, err, sizeof(err)) == 0, "[%s] %s: %lld characters", d->section, d->key, d->max);
			ok(load_one(d, longer, NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "[%s] %s: longer refused",
			   d->section, d->key);
		} else if (!is_text_type(d->type)) {
			snprintf(v, sizeof(v), "%lld", d->min);
			ok(load_one(d, v, &got, err, sizeof(err)) == 0 && got == d->min, "[%s] %s = %s (least)", d->section, d->key, v);
			/* the most this machine's field holds: [cache] max_bytes is a
			 * size_t, 4 GiB - 1 on a 32-bit machine, never below the least */
			long long most = settings_max(d);
			ok(most >= d->min && most >= d->def && most <= d->max, "[%s] %s: %lld to %lld here, default %lld",
			   d->section, d->key, d->min, most, d->def);
			snprintf(v, sizeof(v), "%lld", d->def);
			ok(load_one(d, v, &got, err, sizeof(err)) == 0 && got == d->def, "[%s] %s = %s (default, written)",
			   d->section, d->key, v);
			snprintf(v, sizeof(v), "%lld", most);
			ok(load_one(d, v, &got, err, sizeof(err)) == 0 && got == most, "[%s] %s = %s (most)", d->section, d->key, v);
			if (most < d->max) {
				snprintf(v, sizeof(v), "%lld", d->max);
				ok(load_one(d, v, NULL, err, sizeof(err)) == -1 && strstr(err, d->key),
				   "[%s] %s = %s is more than this machine holds: %s", d->section, d->key, v, err);
			}
			snprintf(v, sizeof(v), "%lld", d->min - 1);
			ok(load_one(d, v, NULL, err, sizeof(err)) == -1 && strstr(err, d->key) && strstr(err, "line 2"),
			   "[%s] %s = %s refused: %s", d->section, d->key, v, err);
			snprintf(v, sizeof(v), "%lld", most + 1);
			ok(load_one(d, v, NULL, err, sizeof(err)) == -1 && strstr(err, d->key), "[%s] %s = %s refused", d->section,
			   d->key, v);
		}
	}
}

/* conf/llmgate.conf (the documented example) names every setting of the
 * table in its section, and where it sets one, to its default. */
static void test_example_conf(void)
{
	static const char *const dirs[] = { "LLMGATE_SRCDIR", ".", "..", "../.." };
	char file[PATH_MAX], line[1024], sec[64] = "";
	FILE *f = NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !f; i++) {
		const char *dir = i == 0 ? getenv(dirs[0]) : dirs[i];
		if (!dir)
			continue;
		snprintf(file, sizeof(file), "%s/conf/llmgate.conf", dir);
		f = fopen(file, "r");
	}
	ok(f != NULL, "conf/llmgate.conf found (LLMGATE_SRCDIR or the working directory)");
	if (!f)
		return;
	char seen[64] = { 0 };
	while (fgets(line, sizeof(line), f)) {
		char *p = line, key[64], val[512];
		if (sscanf(p, "[%63[^]]]", sec) == 1)
			continue;
		int commented = *p == '#';
		while (*p == '#' || *p == ' ')
			p++;
		if (sscanf(p, "%63[a-z_] = %511[^\n]", key, val) != 2)
			continue;
		for (size_t i = 0; i < settings_count && i < sizeof(seen); i++) {
			const struct settings_def *d = &settings_table[i];
			if (!d->section || strcmp(d->section, sec) || strcmp(d->key, key))
				continue;
			seen[i] = 1;
			if (commented || d->type == SETTINGS_STR)
				continue;   /* an example, or a path of this installation */
			struct config c;
			memset(&c, 0, sizeof(c));
			settings_defaults(&c);
			long long def = settings_get_num(d, &c);
			char err[256];
			int r = settings_parse_ini(d, val, &c, err, sizeof(err));
			ok(r == 0 && (is_text_type(d->type) || settings_get_num(d, &c) == def), "conf: [%s] %s = %s is the default", sec,
			   key, val);
			config_free(&c);
		}
	}
	fclose(f);
	for (size_t i = 0; i < settings_count && i < sizeof(seen); i++) {
		if (settings_table[i].section)
			ok(seen[i], "conf/llmgate.conf documents [%s] %s", settings_table[i].section, settings_table[i].key);
	}
}

/* [provider.X] responses = native | translate */
static void test_responses_mode(void)
{
	struct config c;
	char err[512];
	write_conf("[provider.openai]\nresponses = translate\n[provider.azure]\nbase_url = https://a.example/v1\n"
		   "responses = native\n");
	is_int(config_load(&c, path, err, sizeof(err)), 0, "responses = translate / native load");
	is_int(config_provider(&c, "openai")->responses_native, 0, "openai forced to translation");
	is_int(config_provider(&c, "azure")->responses_native, 1, "another provider made native");
	config_free(&c);
	write_conf("[provider.openai]\nresponses = passthrough\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "an unknown responses mode is refused");
	ok(strstr(err, "responses must be native or translate") != NULL, "and said: %s", err);
}

/* conf/llmgate-small.conf (the small-device example) loads, with its
 * bounds: 4 threads, 1 MB cache, 4 MB spool. */
static void test_small_conf(void)
{
	const char *src = getenv("LLMGATE_SRCDIR");
	char file[512], err[512];
	struct config c;
	snprintf(file, sizeof(file), "%s/conf/llmgate-small.conf", src ? src : ".");
	if (access(file, R_OK) != 0)
		snprintf(file, sizeof(file), "../conf/llmgate-small.conf");
	int r = config_load(&c, file, err, sizeof(err));
	is_int(r, 0, "conf/llmgate-small.conf loads");
	if (r != 0) {
		diag("%s", err);
		return;
	}
	is_int(c.threads, 4, "small: 4 threads");
	is_int((long long)c.cache_max_bytes, 1048576, "small: a 1 MB cache");
	is_int(c.spool_max_bytes, 4194304, "small: a 4 MB spool");
	is_int((long long)c.stream_max_bytes, 8388608, "small: streams cut at 8 MB");
	config_free(&c);
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
	is_int(config_provider(&c, "openai")->responses_native, 1, "/v1/responses goes natively to openai");
	is_int(config_provider(&c, "deepseek")->responses_native, 0, "and is translated for deepseek");
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
	write_conf("[provider.compat]\nbase_url = http://x\n");
	is_int(config_load(&c, path, err, sizeof(err)), -1, "provider name compat refused (the drop-in routes)");
	ok(strstr(err, "reserved") != NULL && strstr(err, "/api/compat/") != NULL, "says why: %s", err);
	config_free(&c);
	ok(!settings_provider_name_ok("compat") && settings_provider_name_ok("compat2"), "compat is no provider name");
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

	test_schema();
	test_example_conf();
	test_responses_mode();
	test_small_conf();

	char pre[64];
	config_env_prefix("my-host.v2", pre, sizeof(pre));
	is_str(pre, "MY_HOST_V2", "env prefix");
	unlink(path);
	return done_testing();
}
