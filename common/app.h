/* app.h — prompt apps: single-purpose endpoints declared in the config
 * ([app.NAME] sections), each a fixed prompt template around a few bounded
 * request fields, answered by a model through the chat engine (api_app.c
 * is the front-end). This file holds what an app is and the pure steps of
 * one call: reading the config, checking the request's fields, filling the
 * templates, checking a JSON answer against its declared shape. */
#ifndef LLMGATE_APP_H
#define LLMGATE_APP_H
#include "config.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define APP_NAME_MAX 24          /* [a-z0-9_-], the app identity is "app-" + name */
#define APP_FIELDS_MAX 8
#define APP_FIELD_NAME_MAX 32
#define APP_FIELD_CAP_MAX (1u << 20)
#define APP_TEMPLATE_MAX (64u << 10)

enum app_answer { APP_ANSWER_TEXT = 0, APP_ANSWER_JSON };
enum app_auth { APP_AUTH_KEY = 0, APP_AUTH_OPEN };
/* what an open app's per-client rate limit counts by */
enum app_rate_by { APP_RATE_BOTH = 0, APP_RATE_ADDRESS, APP_RATE_CLIENT };

struct app_field {
	char name[APP_FIELD_NAME_MAX];
	size_t cap;                  /* most bytes taken */
};

struct app_conf {
	char *name;                  /* "analyze_error" */
	char *path;                  /* "/analyze_error" (after the mount) */
	char *model;                 /* a model or "provider/model" the gateway routes */
	char *system;                /* system prompt template ({{field}}), or NULL */
	char *prompt;                /* user message template */
	struct app_field fields[APP_FIELDS_MAX];   /* all required, strings */
	size_t nfields;
	char *client_field;          /* the field that names the client in the log, or NULL */
	enum app_answer answer;
	char *answer_field;          /* a text answer is {"<answer_field>": text} */
	cJSON *shape;                /* a JSON answer's declared shape (app_shape_check) */
	char *shape_text;
	enum app_auth auth;
	long rate_limit;             /* open apps: calls per minute per client; 0 none */
	enum app_rate_by rate_by;
	long rpm;                    /* the app identity's limits (open apps; 0 none) */
	long long tokens_month;
	double cost_month;
	long max_tokens;
	double temperature;          /* < 0: not sent */
	long log_days;               /* log retention; 0: no log kept */
	long long log_max_bytes;     /* the log's size cap */
	int builtin;                 /* the pip-aide preset (API_KEY / API_BASE / MODEL) */
};

/* Take one key of an [app.NAME] section (sec is "app.NAME"): 0, or -1 with
 * "line N: ..." in err (never a value). A first key of a new name adds the
 * app with its defaults (the pip-aide preset for "analyze_error"). */
int app_conf_set(struct config *c, const char *sec, const char *key, const char *val, int lineno, char *err,
		 size_t errlen);
/* The environment of the pip-aide deployment: with API_KEY set, the
 * "analyze_error" app exists (its preset unless the file declared it), and
 * when no model was declared for it, a provider "pip-aide" (API_BASE, else
 * https://api.deepseek.com/v1; key API_KEY, registered as a secret) serves
 * it MODEL (else deepseek-chat). */
void app_conf_env(struct config *c);
/* After the whole config is read: every app has a model and a prompt, its
 * path is its own and no route of the gateway's. 0, or -1 with err. */
int app_conf_finish(const struct config *c, char *err, size_t errlen);
void app_conf_free_all(struct config *c);

/* Is s an app (or field) name: 1 to APP_NAME_MAX - 1 of [a-z0-9_-]? */
int app_name_ok(const char *s);
/* The app served at path (after the mount), or NULL. */
const struct app_conf *app_find(const struct config *c, const char *path);
/* The app named name, or NULL. */
const struct app_conf *app_by_name(const struct config *c, const char *name);

/* Check a request object against the app's fields: 0, or -1 with a
 * message for the client in err and *status the HTTP status (400 missing
 * or not a string, 413 over its cap, 400 an unknown member). */
int app_check_input(const struct app_conf *a, const cJSON *req, int *status, char *err, size_t errlen);
/* tpl with each {{field}} replaced by that request field's value (control
 * characters other than newline and tab dropped; one pass: a value's own
 * braces are never expanded). A new string. */
char *app_fill(const char *tpl, const cJSON *req);
/* The chat request (OpenAI form, a new object) for a checked request. */
cJSON *app_chat_request(const struct app_conf *a, const cJSON *req);

/* Does v match shape? A shape is JSON: "string", "number", "integer",
 * "boolean" name a type; [S] an array of S; {"k": S, ...} an object with
 * each member k (all required; others refused). 1 or 0, with the first
 * mismatch's path in why. */
int app_shape_check(const cJSON *shape, const cJSON *v, char *why, size_t whylen);
/* Is shape a valid shape? */
int app_shape_ok(const cJSON *shape);
#endif
