/* app.c — prompt apps: their config, input checks, templates and answer
 * shapes (app.h). */
#include "autoconf.h"
#include "app.h"
#include "ini.h"
#include "log.h"
#include "settings.h"
#include "xmalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APP_MAX 32
#define APP_LOG_CAP_DEFAULT (16LL << 20)

/* The pip-aide deployment's prompts, as it sent them. */
static const char pip_system[] =
	"You are an expert Python package installation troubleshooter focused ONLY on pip command solutions.";
static const char pip_prompt[] =
	"\nYou are an expert Python package installation troubleshooter.\n"
	"The user encountered an error trying to install a Python package using pip.\n"
	"The information below includes both the error log AND system information.\n\n"
	"{{error_context}}\n\n"
	"Please analyze this error carefully, considering the Python version, system information, and pip version.\n"
	"Pay special attention to:\n"
	"1. Version compatibility issues between the package and Python version\n"
	"2. Architecture compatibility issues (32-bit vs 64-bit)\n"
	"3. Operating system specific requirements\n"
	"4. Missing system dependencies that might be indicated by the error\n\n"
	"Focus ONLY on `pip install ...` commands or `python -m pip install ...` commands. For example, suggest:\n"
	"- Upgrading pip/setuptools/wheel\n"
	"- Installing specific versions compatible with the user's Python version\n"
	"- Using appropriate flags (--no-cache-dir, --no-binary, etc.)\n"
	"- Installing missing Python dependencies available on PyPI\n\n"
	"Do NOT suggest system package manager commands (apt, yum, brew, etc.) or commands requiring sudo.\n"
	"Do NOT suggest commands that modify files or environment variables.\n\n"
	"Format EACH suggested command clearly on its own line, enclosed in triple backticks. Example:\n"
	"```\npip install --upgrade setuptools wheel\n```\n```\npip install some-package==1.2.3\n```\n\n"
	"If you are absolutely certain no simple `pip` command can fix this (e.g., it's clearly a compiler issue "
	"needing system libraries, or a typo in a requirements file like `requirments.txt: misspelled-package==1.0`), "
	"respond ONLY with the word \"UNCERTAIN\".\n";

int app_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n >= APP_NAME_MAX)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static void set_s(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

static void add_field(struct app_conf *a, const char *name, size_t cap)
{
	struct app_field *f = &a->fields[a->nfields++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->cap = cap;
}

static struct app_conf *app_add(struct config *c, const char *name)
{
	c->apps = xrealloc(c->apps, (c->napps + 1) * sizeof(*c->apps));
	struct app_conf *a = &c->apps[c->napps++];
	memset(a, 0, sizeof(*a));
	a->name = xstrdup(name);
	a->path = xasprintf("/%s", name);
	a->answer_field = xstrdup("answer");
	a->rate_limit = 10;
	a->max_tokens = 1024;
	a->temperature = -1;
	a->log_days = 30;
	a->log_max_bytes = APP_LOG_CAP_DEFAULT;
	if (!strcmp(name, "analyze_error")) {   /* the pip-aide preset */
		a->builtin = 1;
		set_s(&a->system, pip_system);
		set_s(&a->prompt, pip_prompt);
		add_field(a, "machine_id", 256);
		add_field(a, "error_context", 64u << 10);
		set_s(&a->client_field, "machine_id");
		set_s(&a->answer_field, "suggestion");
		a->auth = APP_AUTH_OPEN;
		a->max_tokens = 150;
		a->temperature = 0.6;
	}
	return a;
}

static struct app_conf *app_named(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->napps; i++)
		if (!strcmp(c->apps[i].name, name))
			return &c->apps[i];
	return NULL;
}

/* A template from the file: "\n" stands for a new line, "\\" for "\". */
static char *unescape(const char *v)
{
	char *out = xmalloc(strlen(v) + 1), *o = out;
	for (const char *p = v; *p; p++) {
		if (*p == '\\' && (p[1] == 'n' || p[1] == 't' || p[1] == '\\')) {
			p++;
			*o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : '\\';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* "name:cap, name:cap" into a's fields; 0 or -1. */
static int set_fields(struct app_conf *a, const char *v)
{
	char **list;
	size_t n = ini_split_list(v, &list);
	int bad = n == 0 || n > APP_FIELDS_MAX;
	a->nfields = 0;
	for (size_t i = 0; i < n && !bad; i++) {
		char *colon = strchr(list[i], ':');
		long cap = 4096;
		if (colon) {
			*colon = '\0';
			bad = ini_parse_long(colon + 1, 1, APP_FIELD_CAP_MAX, &cap) != 0;
		}
		bad = bad || !app_name_ok(list[i]) || strlen(list[i]) >= APP_FIELD_NAME_MAX;
		if (!bad)
			add_field(a, list[i], (size_t)cap);
	}
	ini_free_list(list, n);
	return bad ? -1 : 0;
}

static int set_shape(struct app_conf *a, const char *v)
{
	cJSON *s = cJSON_Parse(v);
	if (!s || !app_shape_ok(s)) {
		cJSON_Delete(s);
		return -1;
	}
	cJSON_Delete(a->shape);
	a->shape = s;
	set_s(&a->shape_text, v);
	return 0;
}

static int set_number(const char *key, const char *val, struct app_conf *a)
{
	long v;
	if (!strcmp(key, "rate_limit") && !ini_parse_long(val, 0, 1000000, &v))
		a->rate_limit = v;
	else if (!strcmp(key, "rpm") && !ini_parse_long(val, 0, 1000000, &v))
		a->rpm = v;
	else if (!strcmp(key, "tokens_month") && !ini_parse_long(val, 0, 0x7fffffffL, &v))
		a->tokens_month = v;
	else if (!strcmp(key, "max_tokens") && !ini_parse_long(val, 1, 1000000, &v))
		a->max_tokens = v;
	else if (!strcmp(key, "log_days") && !ini_parse_long(val, 0, 3650, &v))
		a->log_days = v;
	else if (!strcmp(key, "log_max_bytes") && !ini_parse_long(val, 4096, 0x7fffffffL, &v))
		a->log_max_bytes = v;
	else if (!strcmp(key, "temperature") || !strcmp(key, "cost_month")) {
		char *end;
		double d = strtod(val, &end);
		if (*end || !isfinite(d) || d < 0 || d > (key[0] == 't' ? 2 : 1e9))
			return -1;
		if (key[0] == 't')
			a->temperature = d;
		else
			a->cost_month = d;
	} else
		return -1;
	return 0;
}

#define FAILN(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static const char *const number_keys[] = { "rate_limit", "rpm", "tokens_month", "max_tokens", "log_days",
					   "log_max_bytes", "temperature", "cost_month", NULL };

static int is_number_key(const char *key)
{
	for (size_t i = 0; number_keys[i]; i++)
		if (!strcmp(key, number_keys[i]))
			return 1;
	return 0;
}

/* One key of a text kind; 1 if key is one, with *bad set when val is wrong. */
static int set_text_key(struct app_conf *a, const char *key, const char *val, int *bad)
{
	*bad = 0;
	if (!strcmp(key, "path")) {
		*bad = val[0] != '/' || !settings_text_ok(val, 200, 0) || strchr(val, ' ') || strchr(val, '?');
		if (!*bad)
			set_s(&a->path, val);
	} else if (!strcmp(key, "model")) {
		*bad = !settings_name_ok(val, SETTINGS_TARGET_LEN);
		if (!*bad)
			set_s(&a->model, val);
	} else if (!strcmp(key, "system") || !strcmp(key, "prompt")) {
		char *t = unescape(val);
		*bad = !settings_text_ok(t, APP_TEMPLATE_MAX, 1);
		if (!*bad) {
			free(key[0] == 's' ? a->system : a->prompt);
			*(key[0] == 's' ? &a->system : &a->prompt) = t;
		} else {
			free(t);
		}
	} else if (!strcmp(key, "client_field") || !strcmp(key, "answer_field")) {
		*bad = !app_name_ok(val) || strlen(val) >= APP_FIELD_NAME_MAX;
		if (!*bad)
			set_s(key[0] == 'c' ? &a->client_field : &a->answer_field, val);
	} else {
		return 0;
	}
	return 1;
}

/* One key of a choice kind; 1 if key is one, with *bad set when val is wrong. */
static int set_choice_key(struct app_conf *a, const char *key, const char *val, int *bad)
{
	*bad = 0;
	if (!strcmp(key, "answer")) {
		*bad = strcmp(val, "text") && strcmp(val, "json");
		a->answer = !strcmp(val, "json") ? APP_ANSWER_JSON : APP_ANSWER_TEXT;
	} else if (!strcmp(key, "auth")) {
		*bad = strcmp(val, "key") && strcmp(val, "open");
		a->auth = !strcmp(val, "open") ? APP_AUTH_OPEN : APP_AUTH_KEY;
	} else if (!strcmp(key, "rate_by")) {
		*bad = strcmp(val, "both") && strcmp(val, "address") && strcmp(val, "client");
		a->rate_by = !strcmp(val, "address") ? APP_RATE_ADDRESS : !strcmp(val, "client") ? APP_RATE_CLIENT
											      : APP_RATE_BOTH;
	} else if (!strcmp(key, "fields")) {
		*bad = set_fields(a, val) != 0;
	} else if (!strcmp(key, "shape")) {
		*bad = set_shape(a, val) != 0;
	} else {
		return 0;
	}
	return 1;
}

int app_conf_set(struct config *c, const char *sec, const char *key, const char *val, int lineno, char *err,
		 size_t errlen)
{
	const char *name = sec + 4;
	if (!app_name_ok(name))
		FAILN("line %d: app name '%s' must be 1 to %d of a-z, 0-9, '_' or '-'", lineno, name, APP_NAME_MAX - 1);
	struct app_conf *a = app_named(c, name);
	if (!a) {
		if (c->napps >= APP_MAX)
			FAILN("line %d: too many apps (at most %d)", lineno, APP_MAX);
		a = app_add(c, name);
	}
	int bad = 0;
	if (set_text_key(a, key, val, &bad) || set_choice_key(a, key, val, &bad)) {
		if (bad)
			FAILN("line %d: [%s] %s: not a valid value (see the README, Prompt apps)", lineno, sec, key);
	} else if (is_number_key(key)) {
		if (set_number(key, val, a) != 0)
			FAILN("line %d: [%s] %s: not a number in its range (see the README, Prompt apps)", lineno, sec, key);
	} else {
		FAILN("line %d: unknown setting [%s] %s", lineno, sec, key);
	}
	return 0;
}

void app_conf_env(struct config *c)
{
	const char *key = config_env(c, "API_KEY");
	if (!key || !*key)
		return;
	struct app_conf *a = app_named(c, "analyze_error");
	if (!a)
		a = app_add(c, "analyze_error");
	if (a->model || config_provider(c, "pip-aide"))
		return;
	const char *base = config_env(c, "API_BASE");
	const char *model = config_env(c, "MODEL");
	if (!base || !*base || !settings_url_ok(base)) {
		if (base && *base)
			log_warn("API_BASE ignored: it must be an http:// or https:// URL with a host");
		base = "https://api.deepseek.com/v1";
	}
	if (!model || !*model || !settings_name_ok(model, SETTINGS_MODEL_LEN))
		model = "deepseek-chat";
	config_add_provider(c, "pip-aide", base, key);
	a->model = xasprintf("pip-aide/%s", model);
}

/* Paths the gateway answers itself. */
static int path_reserved(const char *p)
{
	return !strncmp(p, "/v1/", 4) || !strcmp(p, "/v1") || !strncmp(p, "/api/", 5) || !strcmp(p, "/mcp") ||
	       !strncmp(p, "/sse", 4) || !strcmp(p, "/messages") || !strcmp(p, "/health") || !strcmp(p, "/metrics") ||
	       (strlen(p) >= 7 && !strcmp(p + strlen(p) - 7, "/health"));
}

int app_conf_finish(const struct config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->napps; i++) {
		const struct app_conf *a = &c->apps[i];
		if (!a->model)
			FAILN("[app.%s] needs a model", a->name);
		if (!a->prompt || !a->nfields)
			FAILN("[app.%s] needs a prompt and its fields", a->name);
		if (a->answer == APP_ANSWER_JSON && !a->shape)
			FAILN("[app.%s] answer = json needs a shape", a->name);
		if (path_reserved(a->path))
			FAILN("[app.%s] path %s is one of the gateway's own routes", a->name, a->path);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->apps[j].path, a->path))
				FAILN("[app.%s] path %s is [app.%s]'s too", a->name, a->path, c->apps[j].name);
	}
	return 0;
}

void app_conf_free_all(struct config *c)
{
	for (size_t i = 0; i < c->napps; i++) {
		struct app_conf *a = &c->apps[i];
		free(a->name);
		free(a->path);
		free(a->model);
		free(a->system);
		free(a->prompt);
		free(a->client_field);
		free(a->answer_field);
		free(a->shape_text);
		cJSON_Delete(a->shape);
	}
	free(c->apps);
	c->apps = NULL;
	c->napps = 0;
}

const struct app_conf *app_find(const struct config *c, const char *path)
{
	for (size_t i = 0; i < c->napps; i++)
		if (!strcmp(c->apps[i].path, path))
			return &c->apps[i];
	return NULL;
}

const struct app_conf *app_by_name(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->napps; i++)
		if (!strcmp(c->apps[i].name, name))
			return &c->apps[i];
	return NULL;
}

/* ------------------------------------------------------------ one call */

static const struct app_field *field_of(const struct app_conf *a, const char *name)
{
	for (size_t i = 0; i < a->nfields; i++)
		if (!strcmp(a->fields[i].name, name))
			return &a->fields[i];
	return NULL;
}

int app_check_input(const struct app_conf *a, const cJSON *req, int *status, char *err, size_t errlen)
{
	*status = 400;
	for (size_t i = 0; i < a->nfields; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, a->fields[i].name);
		if (!cJSON_IsString(v) || !v->valuestring[0])
			FAILN("Missing required fields: '%s' must be a non-empty string", a->fields[i].name);
		if (strlen(v->valuestring) > a->fields[i].cap) {
			*status = 413;
			FAILN("'%s' is too long: at most %zu bytes", a->fields[i].name, a->fields[i].cap);
		}
	}
	for (const cJSON *m = req->child; m; m = m->next)
		if (!m->string || !field_of(a, m->string))
			FAILN("Unknown field '%.64s': this endpoint takes only its declared fields", m->string ? m->string : "");
	return 0;
}

/* Append s to b without control characters other than newline and tab. */
static void put_clean(char **b, size_t *len, size_t *alloc, const char *s, size_t n)
{
	if (*len + n + 1 > *alloc) {
		*alloc = (*len + n + 1) * 2;
		*b = xrealloc(*b, *alloc);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0x7f || (ch < 0x20 && ch != '\n' && ch != '\t'))
			continue;
		(*b)[(*len)++] = (char)ch;
	}
	(*b)[*len] = '\0';
}

char *app_fill(const char *tpl, const cJSON *req)
{
	size_t len = 0, alloc = strlen(tpl) + 64;
	char *out = xmalloc(alloc);
	out[0] = '\0';
	const char *p = tpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *close = open ? strstr(open + 2, "}}") : NULL;
		if (!close) {
			put_clean(&out, &len, &alloc, p, strlen(p));
			break;
		}
		put_clean(&out, &len, &alloc, p, (size_t)(open - p));
		char name[APP_FIELD_NAME_MAX];
		size_t n = (size_t)(close - open - 2);
		const cJSON *v = NULL;
		if (n < sizeof(name)) {
			memcpy(name, open + 2, n);
			name[n] = '\0';
			v = cJSON_GetObjectItemCaseSensitive(req, name);
		}
		if (cJSON_IsString(v))
			put_clean(&out, &len, &alloc, v->valuestring, strlen(v->valuestring));
		else
			put_clean(&out, &len, &alloc, open, (size_t)(close + 2 - open));
		p = close + 2;
	}
	return out;
}

/* A message of role with tpl filled from req, added to msgs. */
static void add_message(cJSON *msgs, const char *role, const char *tpl, const cJSON *req)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	char *text = app_fill(tpl, req);
	cJSON_AddStringToObject(m, "content", text);
	free(text);
	cJSON_AddItemToArray(msgs, m);
}

cJSON *app_chat_request(const struct app_conf *a, const cJSON *req)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", a->model);
	cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
	if (a->system)
		add_message(msgs, "system", a->system, req);
	add_message(msgs, "user", a->prompt, req);
	if (a->temperature >= 0)
		cJSON_AddNumberToObject(o, "temperature", a->temperature);
	cJSON_AddNumberToObject(o, "max_tokens", (double)a->max_tokens);
	if (a->answer == APP_ANSWER_JSON) {
		cJSON *rf = cJSON_AddObjectToObject(o, "response_format");
		cJSON_AddStringToObject(rf, "type", "json_object");
	}
	return o;
}

/* ------------------------------------------------------------ shapes */

static int type_name_ok(const char *s)
{
	return !strcmp(s, "string") || !strcmp(s, "number") || !strcmp(s, "integer") || !strcmp(s, "boolean");
}

static int shape_ok(const cJSON *s, int depth)
{
	if (depth > 8)
		return 0;
	if (cJSON_IsString(s))
		return type_name_ok(s->valuestring);
	if (cJSON_IsArray(s))
		return cJSON_GetArraySize(s) == 1 && shape_ok(s->child, depth + 1);
	if (cJSON_IsObject(s)) {
		for (const cJSON *m = s->child; m; m = m->next)
			if (!shape_ok(m, depth + 1))
				return 0;
		return s->child != NULL;
	}
	return 0;
}

int app_shape_ok(const cJSON *shape)
{
	return shape_ok(shape, 0);
}

static int type_matches(const char *t, const cJSON *v)
{
	if (!strcmp(t, "string"))
		return cJSON_IsString(v);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
	return cJSON_IsNumber(v);
}

static int check_at(const cJSON *s, const cJSON *v, char *path, size_t plen, char *why, size_t whylen)
{
	size_t at = strlen(path);
	if (cJSON_IsString(s)) {
		if (type_matches(s->valuestring, v))
			return 1;
		snprintf(why, whylen, "%s must be a%s %s", at ? path : "the answer",
			 s->valuestring[0] == 'i' ? "n" : "", s->valuestring);
		return 0;
	}
	if (cJSON_IsArray(s)) {
		if (!cJSON_IsArray(v)) {
			snprintf(why, whylen, "%s must be an array", at ? path : "the answer");
			return 0;
		}
		int i = 0;
		for (const cJSON *e = v->child; e; e = e->next, i++) {
			snprintf(path + at, plen - at, "[%d]", i);
			if (!check_at(s->child, e, path, plen, why, whylen))
				return 0;
		}
		path[at] = '\0';
		return 1;
	}
	if (!cJSON_IsObject(v)) {
		snprintf(why, whylen, "%s must be an object", at ? path : "the answer");
		return 0;
	}
	for (const cJSON *m = s->child; m; m = m->next) {
		snprintf(path + at, plen - at, "%s%s", at ? "." : "", m->string);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, m->string);
		if (!e) {
			snprintf(why, whylen, "%s is missing", path);
			return 0;
		}
		if (!check_at(m, e, path, plen, why, whylen))
			return 0;
		path[at] = '\0';
	}
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_GetObjectItemCaseSensitive(s, e->string)) {
			snprintf(why, whylen, "%s%s%.64s is not in the declared shape", path, at ? "." : "", e->string);
			return 0;
		}
	}
	return 1;
}

int app_shape_check(const cJSON *shape, const cJSON *v, char *why, size_t whylen)
{
	char path[256] = "";
	why[0] = '\0';
	return check_at(shape, v, path, sizeof(path), why, whylen);
}
