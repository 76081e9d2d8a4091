/* settings.h — the settings schema: one table of every plain setting (its
 * INI section and key, its member of state.db's "settings" document, type,
 * range, default and place in struct config) and the rules for the
 * settings that are lists or maps (providers, aliases, fallback, prices,
 * system_prompt).
 *
 * The INI parser (config.c), the state.db overlay (config_apply_state), the
 * admin API's validation (admin_settings_validate) and the defaults all
 * read this table and call these checks, so the config file and the admin
 * API take exactly the same values.
 *
 * Sections of a name, like [provider.NAME] (config.c), are read by their
 * own parser with these checks: [app.NAME], a prompt app, by app_conf_set
 * (app.c: its keys, ranges and defaults, the pip-aide preset); they are
 * file-only. */
#ifndef LLMGATE_SETTINGS_H
#define LLMGATE_SETTINGS_H
#include "config.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* limits of what the settings take */
#define SETTINGS_MODEL_LEN 256          /* a model name, an alias */
#define SETTINGS_TARGET_LEN 512         /* "provider/model" */
#define SETTINGS_URL_LEN 2048
#define SETTINGS_ITEMS_MAX 1024         /* entries of a list or an object */
#define SETTINGS_FALLBACK_MAX 7         /* ROUTE_MAX_TARGETS - 1 */
#define SETTINGS_PROMPT_LEN (64u << 10) /* the system prompt */
#define SETTINGS_PRICE_MAX 1e6          /* per million tokens */
#define SETTINGS_GROUP_MAX 32           /* a state.db group name ("cache"), with its NUL */

enum settings_type {
	SETTINGS_INT,       /* int: a whole number in [min, max] */
	SETTINGS_LONG,      /* long: the same */
	SETTINGS_SIZE,      /* size_t: the same */
	SETTINGS_LLONG,     /* long long: the same */
	SETTINGS_BOOL,      /* int 0/1; INI true/yes/1/on or false/no/0/off, JSON true/false */
	SETTINGS_LOG_LEVEL, /* int: error, warn, info or debug (LOG_ERR ... LOG_DEBUG) */
	SETTINGS_STR,       /* char *: text of min to max bytes (max 0: any length) */
	SETTINGS_SECRET,    /* char *: any text, registered with the log (never logged) */
	SETTINGS_URL,       /* char *: settings_url_ok, trailing '/' dropped; "" too when min is 0 */
	SETTINGS_PATH,      /* char *: starts with '/' */
};

#define SETTINGS_NO_FIELD ((size_t)-1)

struct settings_def {
	const char *section;  /* INI [section], or NULL: only in state.db */
	const char *key;      /* INI key (and the member's last part) */
	const char *state;    /* "group.member" of state.db "settings" the admin
			       * API may set at run time, or NULL: the file only */
	enum settings_type type;
	long long min, max;   /* numbers: the range; SETTINGS_STR: lengths */
	long long def;        /* numbers, bools, log level: the default */
	const char *def_str;  /* texts: the default (NULL: none) */
	size_t offset;        /* in struct config, or SETTINGS_NO_FIELD (kept in
			       * state.db for the programs that use it) */
};

/* The table, settings_count rows. */
extern const struct settings_def settings_table[];
extern const size_t settings_count;

/* The row of INI [section] key, or NULL. */
const struct settings_def *settings_find(const char *section, const char *key);
/* The row of state.db member group.member ("cache", "ttl_s"), or NULL. */
const struct settings_def *settings_find_state(const char *group, const char *member);

/* The state.db member of d: its group ("cache") into group (at least
 * SETTINGS_GROUP_MAX bytes) and the member's name ("ttl_s") returned; NULL
 * when d is not in state.db. */
const char *settings_member(const struct settings_def *d, char *group);

/* The largest value d takes on this machine: its max, or less where its
 * field is narrower (a size_t or long of 32 bits). */
long long settings_max(const struct settings_def *d);
/* Every row's default into c (texts as new strings; c's old texts are not
 * freed: call on a zeroed config). */
void settings_defaults(struct config *c);
/* Check an INI value for d and, when c is not NULL, store it in c (texts
 * replace and free the old one; secrets are registered with the log). 0,
 * or -1 with "[section] key must be ..." in err (never the value). */
int settings_parse_ini(const struct settings_def *d, const char *val, struct config *c, char *err, size_t errlen);
/* Check a JSON value for d (a state.db member): 0, or -1 with
 * "group.member must be ..." in err. */
int settings_check_json(const struct settings_def *d, const cJSON *v, char *err, size_t errlen);
/* Store a JSON value that settings_check_json accepted into c. */
void settings_set_json(const struct settings_def *d, const cJSON *v, struct config *c);
/* The value of a number, bool or log level row d (with a field) in c. */
long long settings_get_num(const struct settings_def *d, const struct config *c);

/* ---- the rules shared by the file, the overlay and the admin API */

/* An http:// or https:// URL with a host, no spaces or control characters,
 * up to SETTINGS_URL_LEN bytes. */
int settings_url_ok(const char *s);
/* A provider name: 1 to CONFIG_NAME_MAX - 1 of [a-z0-9._-], not "compat"
 * (reserved: /api/compat/... are the drop-in OpenAI routes). */
int settings_provider_name_ok(const char *s);
/* Text of 1..max bytes without control characters (newline, tab and CR
 * allowed when multiline). */
int settings_text_ok(const char *s, size_t max, int multiline);
/* A model name or routing target: settings_text_ok and no spaces. */
int settings_name_ok(const char *s, size_t max);
/* A price per million tokens: a number from 0 to SETTINGS_PRICE_MAX. */
int settings_price_ok(double v);
/* A JSON whole number in [min, max] (both within long long's range). */
int settings_int_in(const cJSON *v, double min, double max);
/* Refuse members of obj not in names (NULL-terminated): 0, or -1 with
 * "what: unknown member 'x'" in err. */
int settings_members_known(const cJSON *obj, const char *const *names, const char *what, char *err,
			   size_t errlen);

/* Check a state.db settings document (docs/state.md): types, ranges, URLs,
 * names, lengths; unknown and repeated members are refused. 0, or -1 with
 * a message naming the member in err. */
int settings_check_state(const cJSON *doc, char *err, size_t errlen);
/* Check one member of it (name, value), as settings_check_state does. */
int settings_check_member(const char *name, const cJSON *v, char *err, size_t errlen);
#endif
