/* config.c — settings: the INI file, the environment, built-in defaults. */
#include "autoconf.h"
#include "config.h"
#include "ini.h"
#include "log.h"
#include "logsys.h"
#include "secrets.h"
#include "settings.h"
#include "app.h"
#include "store.h"
#include <cjson/cJSON.h>
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CONFIG_FILE_MAX (1u << 20)

struct builtin {
	const char *name;
	const char *base_url;
	const char *models;
	const char *prefixes;
	enum dialect dialect;
};

static const struct builtin builtins[] = {
	{ "deepseek", "https://api.deepseek.com", "deepseek-chat,deepseek-reasoner", "deepseek-", DIALECT_OPENAI },
	{ "moonshot", "https://api.moonshot.cn/v1",
	  "kimi-k2.5,kimi-k2-0905-preview,kimi-k2-thinking", "kimi-,moonshot-", DIALECT_OPENAI },
	{ "zai", "https://open.bigmodel.cn/api/paas/v4", "glm-5", "glm-", DIALECT_OPENAI },
	{ "openai", "https://api.openai.com/v1", "gpt-4o,gpt-4o-mini,gpt-4.1,gpt-4.1-mini,o3,o4-mini",
	  "gpt-,o1,o3,o4,chatgpt-,text-embedding-,dall-e-", DIALECT_OPENAI },
	{ "siliconflow", "https://api.siliconflow.cn/v1",
	  "BAAI/bge-large-zh-v1.5,BAAI/bge-m3,Kwai-Kolors/Kolors", "", DIALECT_OPENAI },
	{ "openrouter", "https://openrouter.ai/api/v1", "", "", DIALECT_OPENAI },
	{ "anthropic", "https://api.anthropic.com/v1",
	  "claude-sonnet-4-5,claude-opus-4-1,claude-haiku-4-5,claude-3-5-haiku-latest", "claude-",
	  DIALECT_ANTHROPIC },
	{ "gemini", "https://generativelanguage.googleapis.com/v1beta",
	  "gemini-2.5-pro,gemini-2.5-flash,gemini-2.0-flash", "gemini-", DIALECT_GEMINI },
};

/* Default prices, USD per million tokens (input, cached input, output):
 * the providers' list prices at the time of writing, converted at 7.1
 * CNY/USD where they publish CNY. Set your own in [prices]. */
struct builtin_price {
	const char *model;
	double input, cached, output;
};

static const struct builtin_price builtin_prices[] = {
	{ "deepseek-chat", 0.28, 0.028, 0.42 },
	{ "deepseek-reasoner", 0.28, 0.028, 0.42 },
	{ "kimi-k2.5", 0.60, 0.10, 3.00 },
	{ "kimi-k2-0905-preview", 0.56, 0.14, 2.25 },
	{ "kimi-k2-thinking", 0.56, 0.14, 2.25 },
	{ "glm-5", 1.00, 0.20, 3.20 },
	{ "gpt-4o", 2.50, 1.25, 10.00 },
	{ "gpt-4o-mini", 0.15, 0.075, 0.60 },
	{ "gpt-4.1", 2.00, 0.50, 8.00 },
	{ "gpt-4.1-mini", 0.40, 0.10, 1.60 },
	{ "o3", 2.00, 0.50, 8.00 },
	{ "o4-mini", 1.10, 0.275, 4.40 },
	{ "claude-sonnet-4-5", 3.00, 0.30, 15.00 },
	{ "claude-opus-4-1", 15.00, 1.50, 75.00 },
	{ "claude-haiku-4-5", 1.00, 0.10, 5.00 },
	{ "gemini-2.5-pro", 1.25, 0.31, 10.00 },
	{ "gemini-2.5-flash", 0.30, 0.075, 2.50 },
	{ "gemini-2.0-flash", 0.10, 0.025, 0.40 },
	{ "text-embedding-3-small", 0.02, 0.02, 0 },
	{ "text-embedding-3-large", 0.13, 0.13, 0 },
};

const struct price_conf *config_price(const struct config *c, const char *upstream_model,
				      const char *requested_model)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *m = pass ? requested_model : upstream_model;
		if (!m)
			continue;
		for (size_t i = 0; i < c->nprices; i++) {
			if (!strcmp(c->prices[i].model, m))
				return &c->prices[i];
		}
	}
	return NULL;
}

static void set_price(struct config *c, const char *model, double in, double cached, double out)
{
	struct price_conf *p = NULL;
	for (size_t i = 0; i < c->nprices; i++) {
		if (!strcmp(c->prices[i].model, model))
			p = &c->prices[i];
	}
	if (!p) {
		c->prices = xrealloc(c->prices, (c->nprices + 1) * sizeof(*c->prices));
		p = &c->prices[c->nprices++];
		p->model = xstrdup(model);
	}
	p->input = in;
	p->cached_input = cached;
	p->output = out;
}

/* One price per million tokens (settings_price_ok); 0 or -1. */
static int parse_price(const char *s, double *out)
{
	char *end;
	errno = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -1;
	double v = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || *end || !settings_price_ok(v))
		return -1;
	*out = v;
	return 0;
}

const char *config_default_path(void)
{
	return SYSCONFDIR "/llmgate/llmgate.conf";
}

const char *config_default_state_dir(void)
{
	return settings_find("server", "state_dir")->def_str;
}

void config_env_prefix(const char *name, char *out, size_t outlen)
{
	size_t i = 0;
	for (; name[i] && i + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)name[i];
		out[i] = isalnum(ch) ? (char)toupper(ch) : '_';
	}
	out[i] = '\0';
}

struct provider_conf *config_provider(const struct config *c, const char *name)
{
	if (!strcmp(name, "google-ai-studio") || !strcmp(name, "google"))
		name = "gemini";
	for (size_t i = 0; i < c->nproviders; i++) {
		if (!strcmp(c->providers[i].name, name))
			return &c->providers[i];
	}
	return NULL;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void set_url(char **dst, const char *v)
{
	set_str(dst, v);
	size_t n = strlen(*dst);
	while (n > 0 && (*dst)[n - 1] == '/')
		(*dst)[--n] = '\0';
}

static void free_key_ids(struct provider_conf *p)
{
	if (p->key_ids) {
		for (size_t i = 0; i < p->nkeys; i++)
			free(p->key_ids[i]);
		free(p->key_ids);
		p->key_ids = NULL;
	}
}

static void set_keys(struct provider_conf *p, const char *v)
{
	free_key_ids(p);
	ini_free_list(p->keys, p->nkeys);
	p->keys = NULL;
	p->nkeys = 0;
	p->no_auth = 0;
	if (!strcmp(v, "none")) {
		p->no_auth = 1;
		return;
	}
	p->nkeys = ini_split_list(v, &p->keys);
	for (size_t i = 0; i < p->nkeys; i++)
		log_add_secret(p->keys[i]);
}

/* Add the gateway keys of a comma-separated list (secrets: registered
 * with the log). */
static void add_auth_keys(struct config *c, const char *v)
{
	char **list;
	size_t n = ini_split_list(v, &list);
	for (size_t i = 0; i < n; i++) {
		log_add_secret(list[i]);
		c->auth_keys = xrealloc(c->auth_keys, (c->nauth_keys + 1) * sizeof(char *));
		c->auth_keys[c->nauth_keys++] = list[i];
	}
	free(list);
}

static struct provider_conf *add_provider(struct config *c, const char *name)
{
	c->providers = xrealloc(c->providers, (c->nproviders + 1) * sizeof(*c->providers));
	struct provider_conf *p = &c->providers[c->nproviders++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	p->base_url = xstrdup("");
	p->dialect = DIALECT_OPENAI;
	return p;
}

struct provider_conf *config_add_provider(struct config *c, const char *name, const char *base_url, const char *keys)
{
	struct provider_conf *p = add_provider(c, name);
	set_url(&p->base_url, base_url);
	set_keys(p, keys);
	return p;
}

static int parse_target(const char *s, const struct config *c, struct target *t)
{
	const char *slash = strchr(s, '/');
	t->provider = NULL;
	if (!settings_name_ok(s, SETTINGS_TARGET_LEN)) {
		t->model = xstrdup(s);
		return -1;
	}
	if (slash) {
		char *pname = xstrndup(s, (size_t)(slash - s));
		if (config_provider(c, pname)) {
			t->provider = pname;
			t->model = xstrdup(slash + 1);
			return *t->model ? 0 : -1;
		}
		free(pname);
	}
	t->model = xstrdup(s);
	return *s ? 0 : -1;
}

struct parse_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	/* aliases and fallbacks are resolved after all providers are known */
	char **pending_kv;
	size_t npending;
	/* the lines of the [env.NAME] section LLMGATE_ENV selects, applied
	 * after the rest of the file */
	const char *env;
	char **env_kv;
	size_t nenv;
};

#define FAIL(...) do { snprintf(x->err, x->errlen, __VA_ARGS__); return 1; } while (0)

/* Is sec a section of the table, or [auth]? */
static int known_section(const char *sec)
{
	if (!strcmp(sec, "auth"))
		return 1;
	for (size_t i = 0; i < settings_count; i++) {
		if (settings_table[i].section && !strcmp(settings_table[i].section, sec))
			return 1;
	}
	return 0;
}

/* A list of model names or prefixes, each settings_name_ok. */
static int set_names(char ***list, size_t *n, const char *val)
{
	char **v;
	size_t k = ini_split_list(val, &v);
	for (size_t i = 0; i < k; i++) {
		if (!settings_name_ok(v[i], SETTINGS_MODEL_LEN)) {
			ini_free_list(v, k);
			return -1;
		}
	}
	ini_free_list(*list, *n);
	*list = v;
	*n = k;
	return 0;
}

static int on_provider(struct parse_ctx *x, const char *sec, const char *key, const char *val, int lineno)
{
	struct config *c = x->c;
	const char *name = sec + 9;
	if (!strcmp(name, "compat"))
		FAIL("line %d: provider name 'compat' is reserved: /api/compat/... are the gateway's drop-in OpenAI routes", lineno);
	if (!settings_provider_name_ok(name))
		FAIL("line %d: provider name '%s' must be lower-case letters, digits, '-', '_' or '.'", lineno, name);
	struct provider_conf *p = config_provider(c, name);
	if (!p) {
		if (c->nproviders >= CONFIG_MAX_PROVIDERS)
			FAIL("line %d: too many providers (at most %d)", lineno, CONFIG_MAX_PROVIDERS);
		p = add_provider(c, name);
	}
	if (!strcmp(key, "base_url")) {
		if (!settings_url_ok(val))
			FAIL("line %d: [%s] base_url must be an http:// or https:// URL with a host", lineno, sec);
		set_url(&p->base_url, val);
	} else if (!strcmp(key, "keys")) {
		set_keys(p, val);
	} else if (!strcmp(key, "models") || !strcmp(key, "prefixes")) {
		int bad = !strcmp(key, "models") ? set_names(&p->models, &p->nmodels, val)
						 : set_names(&p->prefixes, &p->nprefixes, val);
		if (bad)
			FAIL("line %d: [%s] %s: each entry must be a name of 1 to %d characters without spaces", lineno,
			     sec, key, SETTINGS_MODEL_LEN);
	} else if (!strcmp(key, "dialect")) {
		if (!strcmp(val, "openai"))
			p->dialect = DIALECT_OPENAI;
		else if (!strcmp(val, "anthropic"))
			p->dialect = DIALECT_ANTHROPIC;
		else if (!strcmp(val, "gemini"))
			p->dialect = DIALECT_GEMINI;
		else
			FAIL("line %d: [%s] dialect must be openai, anthropic or gemini", lineno, sec);
	} else if (!strcmp(key, "responses")) {
		if (strcmp(val, "native") && strcmp(val, "translate"))
			FAIL("line %d: [%s] responses must be native or translate", lineno, sec);
		p->responses_native = !strcmp(val, "native");
	} else {
		FAIL("line %d: unknown setting [%s] %s", lineno, sec, key);
	}
	return 0;
}

static int on_kv(const char *sec, const char *key, const char *val, int lineno, void *user)
{
	struct parse_ctx *x = user;
	struct config *c = x->c;
	const struct settings_def *d = settings_find(sec, key);
	char why[256];

	if (!strncmp(sec, "env.", 4)) {
		if (!strchr(key, '.'))
			FAIL("line %d: [%s] keys are section.key (settle.backend_url = ...)", lineno, sec);
		if (x->env && !strcmp(sec + 4, x->env)) {
			x->env_kv = xrealloc(x->env_kv, (x->nenv + 1) * sizeof(char *));
			x->env_kv[x->nenv++] = xasprintf("%s\n%s\n%d", key, val, lineno);
		}
		return 0;
	}
	if (d) {
		if (settings_parse_ini(d, val, c, why, sizeof(why)) != 0)
			FAIL("line %d: %s", lineno, why);
	} else if (!strcmp(sec, "auth") && !strcmp(key, "keys")) {
		add_auth_keys(c, val);
	} else if (!strncmp(sec, "provider.", 9)) {
		return on_provider(x, sec, key, val, lineno);
	} else if (!strncmp(sec, "app.", 4)) {
		return app_conf_set(c, sec, key, val, lineno, x->err, x->errlen) ? 1 : 0;
	} else if (!strcmp(sec, "prices")) {
		char **parts;
		size_t n = ini_split_list(val, &parts);
		double in = 0, cached = 0, out = 0;
		int bad = n != 3 || !settings_name_ok(key, SETTINGS_MODEL_LEN) || parse_price(parts[0], &in) ||
			  parse_price(parts[1], &cached) || parse_price(parts[2], &out);
		ini_free_list(parts, n);
		if (bad)
			FAIL("line %d: [prices] %s must be 'input, cached_input, output' per million tokens", lineno, key);
		set_price(c, key, in, cached, out);
	} else if (!strcmp(sec, "aliases") || !strcmp(sec, "fallback")) {
		/* kept for after the providers are known */
		x->pending_kv = xrealloc(x->pending_kv, (x->npending + 1) * sizeof(char *));
		x->pending_kv[x->npending++] = xasprintf("%s\n%s\n%s\n%d", sec, key, val, lineno);
	} else if (known_section(sec)) {
		FAIL("line %d: unknown setting [%s] %s", lineno, sec, key);
	} else {
		FAIL("line %d: unknown section [%s]", lineno, sec);
	}
	return 0;
}

static int finish_pending(struct parse_ctx *x)
{
	struct config *c = x->c;
	for (size_t i = 0; i < x->npending; i++) {
		char *sec = x->pending_kv[i];
		char *key = strchr(sec, '\n');
		*key++ = '\0';
		char *val = strchr(key, '\n');
		*val++ = '\0';
		char *ln = strchr(val, '\n');
		*ln++ = '\0';
		if (!strcmp(sec, "aliases")) {
			c->aliases = xrealloc(c->aliases, (c->naliases + 1) * sizeof(*c->aliases));
			struct alias_conf *a = &c->aliases[c->naliases++];
			a->name = xstrdup(key);
			a->to.provider = a->to.model = NULL;
			if (!settings_name_ok(key, SETTINGS_MODEL_LEN))
				FAIL("line %s: [aliases] '%s' is not a model name", ln, key);
			if (parse_target(val, c, &a->to) != 0)
				FAIL("line %s: [aliases] %s needs a model or provider/model without spaces", ln, key);
		} else {
			c->fallbacks = xrealloc(c->fallbacks, (c->nfallbacks + 1) * sizeof(*c->fallbacks));
			struct fallback_conf *f = &c->fallbacks[c->nfallbacks++];
			f->model = xstrdup(key);
			f->chain = NULL;
			f->n = 0;
			if (!settings_name_ok(key, SETTINGS_MODEL_LEN))
				FAIL("line %s: [fallback] '%s' is not a model name", ln, key);
			char **list;
			f->n = ini_split_list(val, &list);
			f->chain = xcalloc(f->n ? f->n : 1, sizeof(*f->chain));
			if (f->n < 1 || f->n > SETTINGS_FALLBACK_MAX) {
				ini_free_list(list, f->n);
				f->n = 0;
				FAIL("line %s: [fallback] %s must be a list of 1 to %d targets", ln, key, SETTINGS_FALLBACK_MAX);
			}
			for (size_t j = 0; j < f->n; j++) {
				if (parse_target(list[j], c, &f->chain[j]) != 0) {
					ini_free_list(list, f->n);
					FAIL("line %s: [fallback] %s: bad entry", ln, key);
				}
			}
			ini_free_list(list, f->n);
		}
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *len, int *missing)
{
	int result = -1;
	FILE *f = fopen(path, "r");
	*missing = 0;
	if (!f) {
		*missing = (errno == ENOENT);
		return -1;
	}
	char *data = xmalloc(CONFIG_FILE_MAX + 1);
	size_t n = fread(data, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || n > CONFIG_FILE_MAX) {
		free(data);
		goto out;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	result = 0;
out:
	fclose(f);
	return result;
}

const char *config_env(const struct config *c, const char *name)
{
	const char *v = getenv(name);
	if (!v && c->secrets)
		v = secrets_get(c->secrets, name);
	return v;
}

/* The selected environment's lines, as if they were at the file's end. */
static int apply_env_section(struct parse_ctx *x)
{
	if (x->env && *x->env && !x->nenv) {
		snprintf(x->err, x->errlen, "LLMGATE_ENV is %.64s but the config has no [env.%.64s] section with settings",
			 x->env, x->env);
		return -1;
	}
	for (size_t i = 0; i < x->nenv; i++) {
		char *key = x->env_kv[i];
		char *val = strchr(key, '\n');
		*val++ = '\0';
		char *ln = strchr(val, '\n');
		*ln++ = '\0';
		char *dot = strrchr(key, '.');
		*dot = '\0';
		if (!strncmp(key, "env.", 4) || !strcmp(key, "env")) {
			snprintf(x->err, x->errlen, "line %s: an [env.*] section cannot set another environment's keys", ln);
			return -1;
		}
		if (on_kv(key, dot + 1, val, atoi(ln), x) != 0)
			return -1;
	}
	return 0;
}

/* The secrets file named by LLMGATE_SECRETS_FILE or [server] secrets_file,
 * if any, into c->secrets; its values are secrets to the log. */
static int load_secrets(struct config *c, char *err, size_t errlen)
{
	const char *path = getenv("LLMGATE_SECRETS_FILE");
	if (!path || !*path)
		path = c->secrets_file;
	if (!path || !*path)
		return 0;
	c->secrets = xcalloc(1, sizeof(*c->secrets));
	if (secrets_load(path, c->secrets, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < c->secrets->n; i++)
		log_add_secret(c->secrets->values[i]);
	return 0;
}

/* RAG_BASE_URL, RAG_API_KEY and RAG_MODEL: the embedding provider "rag"
 * (OpenAI's format) routing RAG_MODEL, and [rag] model, with no other
 * configuration. Its URL and keys are read with every provider's below. */
static void apply_env_rag(struct config *c)
{
	const char *url = config_env(c, "RAG_BASE_URL"), *model = config_env(c, "RAG_MODEL");
	if (!url || !*url || !model || !*model || !settings_name_ok(model, SETTINGS_MODEL_LEN))
		return;
	struct provider_conf *p = config_provider(c, "rag");
	if (!p && c->nproviders < CONFIG_MAX_PROVIDERS)
		p = add_provider(c, "rag");
	if (!p)
		return;
	p->models = xrealloc(p->models, (p->nmodels + 1) * sizeof(char *));
	p->models[p->nmodels++] = xstrdup(model);
	set_str(&c->rag_model, model);
}

static void apply_env(struct config *c)
{
	char prefix[CONFIG_NAME_MAX + 1], name[CONFIG_NAME_MAX + 16];
	apply_env_rag(c);
	for (size_t i = 0; i < c->nproviders; i++) {
		struct provider_conf *p = &c->providers[i];
		config_env_prefix(p->name, prefix, sizeof(prefix));
		snprintf(name, sizeof(name), "%s_API_KEY", prefix);
		const char *v = config_env(c, name);
		if (v && *v)
			set_keys(p, v);
		snprintf(name, sizeof(name), "%s_BASE_URL", prefix);
		v = config_env(c, name);
		if (v && *v) {
			if (settings_url_ok(v))
				set_url(&p->base_url, v);
			else
				log_warn("%s ignored: it must be an http:// or https:// URL with a host", name);
		}
	}
	const char *ak = config_env(c, "AUTH_KEY");
	if (ak && *ak) {
		add_auth_keys(c, ak);
	}
	const char *bu = config_env(c, "BACKEND_URL");
	if (bu && *bu) {
		if (settings_url_ok(bu))
			set_url(&c->settle_backend_url, bu);
		else
			log_warn("BACKEND_URL ignored: it must be an http:// or https:// URL with a host");
	}
	const char *is = config_env(c, "INTERNAL_SECRET");
	if (is && *is) {
		log_add_secret(is);
		set_str(&c->settle_secret, is);
	}
	const char *ru = config_env(c, "REDIS_URL");
	if (ru && *ru) {
		log_add_secret(ru);
		set_str(&c->shared_redis, ru);
	}
	const char *du = config_env(c, "DATABASE_URL");
	if (du && *du) {
		log_add_secret(du);
		set_str(&c->settle_database, du);
	}
	app_conf_env(c);
	const char *co = config_env(c, "CORS_ORIGINS");
	if (co)
		set_str(&c->cors_origins, co);
	const char *mt = config_env(c, "METRICS_TOKEN");
	if (mt && *mt) {
		log_add_secret(mt);
		set_str(&c->metrics_token, mt);
	}
	const char *sd = config_env(c, "LLMGATE_STATE_DIR");
	if (sd && *sd)
		set_str(&c->state_dir, sd);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	int result = -1;
	char *text = NULL;
	size_t len = 0;
	struct parse_ctx x = { c, err, errlen, NULL, 0, getenv("LLMGATE_ENV"), NULL, 0 };

	memset(c, 0, sizeof(*c));
	settings_defaults(c);
	for (size_t i = 0; i < sizeof(builtin_prices) / sizeof(builtin_prices[0]); i++)
		set_price(c, builtin_prices[i].model, builtin_prices[i].input, builtin_prices[i].cached,
			  builtin_prices[i].output);
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		struct provider_conf *p = add_provider(c, builtins[i].name);
		set_url(&p->base_url, builtins[i].base_url);
		p->nmodels = ini_split_list(builtins[i].models, &p->models);
		p->nprefixes = ini_split_list(builtins[i].prefixes, &p->prefixes);
		p->dialect = builtins[i].dialect;
		p->builtin = 1;
		p->responses_native = !strcmp(p->name, "openai");   /* the one upstream known to serve /responses */
	}

	int explicit = path != NULL;
	if (!path) {
		path = getenv("LLMGATE_CONFIG");
		explicit = path && *path;
		if (!explicit)
			path = config_default_path();
	}
	int missing = 0;
	if (read_file(path, &text, &len, &missing) == 0) {
		c->path = xstrdup(path);
		int errline = 0;
		int r = ini_parse(text, len, on_kv, &x, &errline);
		if (r == -1) {
			snprintf(err, errlen, "%s: line %d: not a [section] or key = value line", path, errline);
			goto out;
		} else if (r != 0) {
			char tmp[512];
			snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
			snprintf(err, errlen, "%s", tmp);
			goto out;
		}
	} else if (explicit || !missing) {
		snprintf(err, errlen, "cannot read config file %s: %s", path,
			 missing ? "no such file" : strerror(errno));
		goto out;
	}
	if (apply_env_section(&x) != 0) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
		goto out;
	}
	if (strcmp(c->log_target, "stderr") && strcmp(c->log_target, "syslog")) {
		snprintf(err, errlen, "%s: [server] log must be stderr or syslog", path);
		goto out;
	}
	if (logsys_facility(c->log_facility) < 0) {
		snprintf(err, errlen, "%s: [server] log_facility must be a syslog facility (daemon, user, local0 ... local7)", path);
		goto out;
	}
	if (load_secrets(c, err, errlen) != 0)
		goto out;
	apply_env(c);
	if (finish_pending(&x) != 0)
		goto out;
	if (c->streams && strcmp(c->streams, "threads") && strcmp(c->streams, "events")) {
		snprintf(err, errlen, "[server] streams must be threads or events, not '%.40s'", c->streams);
		goto out;
	}
	struct stat st;
	if (stat(c->state_dir, &st) == 0) {
		/* keys, sessions and usage live here: nobody else may write it */
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "state directory %s is not a directory", c->state_dir);
			goto out;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			snprintf(err, errlen, "state directory %s can be written by others (mode %03o); "
				 "refusing to use it: chmod 700 %s", c->state_dir, (unsigned)(st.st_mode & 0777), c->state_dir);
			goto out;
		}
	}
	if (app_conf_finish(c, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < c->nproviders; i++) {
		if (!*c->providers[i].base_url) {
			snprintf(err, errlen, "provider %s has no base_url", c->providers[i].name);
			goto out;
		}
	}
	result = 0;
out:
	for (size_t i = 0; i < x.npending; i++)
		free(x.pending_kv[i]);
	free(x.pending_kv);
	for (size_t i = 0; i < x.nenv; i++)
		free(x.env_kv[i]);
	free(x.env_kv);
	free(text);
	if (result != 0)
		config_free(c);
	return result;
}

int config_apply_log(const struct config *c, char *err, size_t errlen)
{
	if (strcmp(c->log_target, "syslog"))
		return 0;
	return log_to_syslog(c->log_facility, c->syslog_socket, err, errlen);
}

void config_free(struct config *c)
{
	free(c->path);
	free(c->state_dir);
	free(c->ca_file);
	free(c->mount);
	free(c->streams);
	ini_free_list(c->auth_keys, c->nauth_keys);
	app_conf_free_all(c);
	for (size_t i = 0; i < c->nproviders; i++) {
		struct provider_conf *p = &c->providers[i];
		free(p->name);
		free(p->base_url);
		free_key_ids(p);
		ini_free_list(p->keys, p->nkeys);
		ini_free_list(p->models, p->nmodels);
		ini_free_list(p->prefixes, p->nprefixes);
	}
	free(c->providers);
	for (size_t i = 0; i < c->naliases; i++) {
		free(c->aliases[i].name);
		free(c->aliases[i].to.provider);
		free(c->aliases[i].to.model);
	}
	free(c->aliases);
	for (size_t i = 0; i < c->nfallbacks; i++) {
		for (size_t j = 0; j < c->fallbacks[i].n; j++) {
			free(c->fallbacks[i].chain[j].provider);
			free(c->fallbacks[i].chain[j].model);
		}
		free(c->fallbacks[i].chain);
		free(c->fallbacks[i].model);
	}
	free(c->fallbacks);
	for (size_t i = 0; i < c->nprices; i++)
		free(c->prices[i].model);
	free(c->prices);
	free(c->currency);
	free(c->settle_backend_url);
	free(c->settle_backend_path);
	free(c->settle_secret);
	free(c->settle_database);
	free(c->shared_redis);
	free(c->system_prompt);
	free(c->rag_model);
	free(c->rag_stores);
	free(c->rag_models);
	free(c->rag_keys);
	ini_free_list(c->public_models, c->npublic_models);
	free(c->drawing_model);
	free(c->log_target);
	free(c->log_facility);
	free(c->syslog_socket);
	free(c->cors_origins);
	free(c->secrets_file);
	free(c->metrics_token);
	free(c->metrics_allow);
	if (c->secrets) {
		secrets_free(c->secrets);
		free(c->secrets);
	}
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------ state.db overlay */

static void add_state_key(struct provider_conf *p, const char *secret, const char *id)
{
	if (!p->key_ids && p->nkeys)
		p->key_ids = xcalloc(p->nkeys, sizeof(char *));
	p->keys = xrealloc(p->keys, (p->nkeys + 1) * sizeof(char *));
	p->key_ids = xrealloc(p->key_ids, (p->nkeys + 1) * sizeof(char *));
	p->keys[p->nkeys] = xstrdup(secret);
	p->key_ids[p->nkeys] = xstrdup(id);
	p->nkeys++;
	p->no_auth = 0;
	log_add_secret(secret);
}

static int upkey_one(const char *key, const char *val, size_t vlen, void *user)
{
	struct config *c = user;
	cJSON *j = cJSON_ParseWithLength(val, vlen);
	const cJSON *prov = j ? cJSON_GetObjectItemCaseSensitive(j, "provider") : NULL;
	const cJSON *secret = j ? cJSON_GetObjectItemCaseSensitive(j, "key") : NULL;
	const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "removed"))) {
		/* a removed key, kept for the fleet (state_redis.h) */
	} else if (!cJSON_IsString(prov) || !cJSON_IsString(secret) || !cJSON_IsString(id) || !*secret->valuestring) {
		log_warn("state.db: %.60s is not a valid upstream key record; skipped", key);
	} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disabled"))) {
		struct provider_conf *p = config_provider(c, prov->valuestring);
		if (p)
			add_state_key(p, secret->valuestring, id->valuestring);
		else
			log_warn("state.db: upstream key %.40s names unknown provider %.40s", id->valuestring,
				 prov->valuestring);
	}
	cJSON_Delete(j);
	return 0;
}

static void set_list_from_json(char ***list, size_t *n, const cJSON *arr)
{
	ini_free_list(*list, *n);
	*list = NULL;
	*n = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v) || !settings_name_ok(v->valuestring, SETTINGS_MODEL_LEN))
			continue;
		*list = xrealloc(*list, (*n + 1) * sizeof(char *));
		(*list)[(*n)++] = xstrdup(v->valuestring);
	}
}

static void apply_providers(struct config *c, const cJSON *provs)
{
	const cJSON *po;
	cJSON_ArrayForEach(po, provs) {
		const char *name = po->string;
		if (!cJSON_IsObject(po) || !settings_provider_name_ok(name)) {
			log_warn("state.db settings: provider '%.40s' skipped", name);
			continue;
		}
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(po, "base_url");
		struct provider_conf *p = config_provider(c, name);
		if (!p) {
			if (!cJSON_IsString(url) || !settings_url_ok(url->valuestring) || c->nproviders >= CONFIG_MAX_PROVIDERS) {
				log_warn("state.db settings: new provider '%.40s' needs an http(s) base_url", name);
				continue;
			}
			p = add_provider(c, name);
			/* keys for a provider added at run time come from state.db or
			 * its environment variable */
			char prefix[CONFIG_NAME_MAX + 1], var[CONFIG_NAME_MAX + 16];
			config_env_prefix(name, prefix, sizeof(prefix));
			snprintf(var, sizeof(var), "%s_API_KEY", prefix);
			const char *ek = config_env(c, var);
			if (ek && *ek)
				set_keys(p, ek);
		}
		if (cJSON_IsString(url) && settings_url_ok(url->valuestring))
			set_url(&p->base_url, url->valuestring);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(po, "models");
		if (cJSON_IsArray(m))
			set_list_from_json(&p->models, &p->nmodels, m);
		const cJSON *pf = cJSON_GetObjectItemCaseSensitive(po, "prefixes");
		if (cJSON_IsArray(pf))
			set_list_from_json(&p->prefixes, &p->nprefixes, pf);
		p->disabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(po, "disabled"));
		const char *rs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(po, "responses"));
		if (rs)
			p->responses_native = !strcmp(rs, "native");
	}
}

static void apply_aliases(struct config *c, const cJSON *al)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, al) {
		if (!cJSON_IsString(v) || !settings_name_ok(v->string, SETTINGS_MODEL_LEN))
			continue;
		struct alias_conf *a = NULL;
		for (size_t i = 0; i < c->naliases; i++) {
			if (!strcmp(c->aliases[i].name, v->string))
				a = &c->aliases[i];
		}
		struct target t;
		if (parse_target(v->valuestring, c, &t) != 0) {
			free(t.provider);
			free(t.model);
			continue;
		}
		if (!a) {
			c->aliases = xrealloc(c->aliases, (c->naliases + 1) * sizeof(*c->aliases));
			a = &c->aliases[c->naliases++];
			a->name = xstrdup(v->string);
		} else {
			free(a->to.provider);
			free(a->to.model);
		}
		a->to = t;
	}
}

static void apply_fallbacks(struct config *c, const cJSON *fb)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, fb) {
		if (!cJSON_IsArray(v) || !settings_name_ok(v->string, SETTINGS_MODEL_LEN) || cJSON_GetArraySize(v) < 1 ||
		    cJSON_GetArraySize(v) > SETTINGS_FALLBACK_MAX)
			continue;
		struct fallback_conf *f = NULL;
		for (size_t i = 0; i < c->nfallbacks; i++) {
			if (!strcmp(c->fallbacks[i].model, v->string))
				f = &c->fallbacks[i];
		}
		if (!f) {
			c->fallbacks = xrealloc(c->fallbacks, (c->nfallbacks + 1) * sizeof(*c->fallbacks));
			f = &c->fallbacks[c->nfallbacks++];
			f->model = xstrdup(v->string);
		} else {
			for (size_t j = 0; j < f->n; j++) {
				free(f->chain[j].provider);
				free(f->chain[j].model);
			}
			free(f->chain);
		}
		f->n = 0;
		f->chain = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*f->chain));
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			if (cJSON_IsString(e) && parse_target(e->valuestring, c, &f->chain[f->n]) == 0) {
				f->n++;
			} else if (cJSON_IsString(e)) {
				free(f->chain[f->n].provider);
				free(f->chain[f->n].model);
			}
		}
	}
}

/* The plain settings of the table that state.db may set (cache.ttl_s, ...):
 * each member the table's check accepts replaces the file's value. */
static void apply_plain(struct config *c, const cJSON *s)
{
	char group[SETTINGS_GROUP_MAX], err[256];
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_def *d = &settings_table[i];
		const char *member = settings_member(d, group);
		if (!member || d->offset == SETTINGS_NO_FIELD)
			continue;
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(s, group);
		const cJSON *v = cJSON_IsObject(g) ? cJSON_GetObjectItemCaseSensitive(g, member) : NULL;
		if (v && settings_check_json(d, v, err, sizeof(err)) == 0)
			settings_set_json(d, v, c);
	}
}

void config_apply_settings(struct config *c, const cJSON *s)
{
	const cJSON *v;
	if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(s, "public_models")))
		set_list_from_json(&c->public_models, &c->npublic_models, v);
	if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(s, "providers")))
		apply_providers(c, v);
	if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(s, "aliases")))
		apply_aliases(c, v);
	if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(s, "fallback")))
		apply_fallbacks(c, v);
	if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(s, "system_prompt"))) {
		const cJSON *on = cJSON_GetObjectItemCaseSensitive(v, "enabled");
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(v, "text");
		free(c->system_prompt);
		c->system_prompt = NULL;
		if (cJSON_IsTrue(on) && cJSON_IsString(text) && *text->valuestring)
			c->system_prompt = xstrdup(text->valuestring);
	}
	apply_plain(c, s);
	if (cJSON_IsObject(v = cJSON_GetObjectItemCaseSensitive(s, "prices"))) {
		const cJSON *p;
		cJSON_ArrayForEach(p, v) {
			if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 3) {
				const cJSON *a = cJSON_GetArrayItem(p, 0), *b = cJSON_GetArrayItem(p, 1),
					    *d = cJSON_GetArrayItem(p, 2);
				if (cJSON_IsNumber(a) && cJSON_IsNumber(b) && cJSON_IsNumber(d) &&
				    settings_name_ok(p->string, SETTINGS_MODEL_LEN) && settings_price_ok(a->valuedouble) &&
				    settings_price_ok(b->valuedouble) && settings_price_ok(d->valuedouble))
					set_price(c, p->string, a->valuedouble, b->valuedouble, d->valuedouble);
			}
		}
	}
}

int config_apply_state(struct config *c, char *err, size_t errlen)
{
	int result = -1;
	char *path = xasprintf("%s/state.db", c->state_dir);
	char *val = NULL;
	cJSON *s = NULL;
	GDBM_FILE db = store_open(path, STORE_READ, 50);
	if (!db) {
		if (errno == ENOENT)
			result = 0;
		else
			snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		goto out;
	}
	size_t len;
	val = store_get(db, "settings", &len);
	if (!val && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
		store_close(db);
		goto out;
	}
	if (val) {
		s = cJSON_ParseWithLength(val, len);
		if (cJSON_IsObject(s))
			config_apply_settings(c, s);
		else
			log_warn("state.db: settings are not a JSON object; ignored");
	}
	/* after the providers, so that keys of new providers find them */
	if (store_each(db, "upkey:", upkey_one, c) < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, store_strerror(errno));
	else
		result = 0;
	store_close(db);
out:
	cJSON_Delete(s);
	free(val);
	free(path);
	return result;
}
