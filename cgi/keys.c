/* keys.c — llmgate-keys: create, list and revoke gateway keys in state.db. */
#include "autoconf.h"
#include "auth.h"
#include "upkey.h"
#include "config.h"
#include "ini.h"
#include "log.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage_text(FILE *f)
{
	fprintf(f,
		"usage: llmgate-keys [--config FILE] [--state-dir DIR] COMMAND\n"
		"  create --name NAME [LIMITS]   make a key; prints it once\n"
		"  set ID [--name NAME] [LIMITS] change a key's name or limits (0 removes a limit)\n"
		"  list [--json]                 show keys (never the key itself)\n"
		"  revoke ID                     refuse a key from now on\n"
		"  upstream add PROVIDER [--label L]   add an upstream key, read from stdin\n"
		"  upstream list [--json]              list upstream keys added this way\n"
		"  upstream disable|enable|remove ID\n"
		"LIMITS:\n"
		"  --expires-days N   expire N days from now (0: never)\n"
		"  --expires-at T     expire at unix time T (0: never)\n"
		"  --rpm N            requests per minute\n"
		"  --tpm N            tokens per minute\n"
		"  --tokens N         token budget, all time\n"
		"  --tokens-month N   token budget per calendar month (UTC)\n"
		"  --cost X           cost budget, all time (in the [prices] currency)\n"
		"  --cost-month X     cost budget per month\n"
		"  --models LIST      allowed models, comma-separated, 'prefix*' allowed\n"
		"  --log-prompts on|off  keep this key's prompts for the admin's request log\n"
		"                     (off by default: no prompt is written anywhere)\n");
}

static void print_row(const char *json, void *user)
{
	int as_json = *(int *)user;
	if (as_json) {
		printf("%s\n", json);
		return;
	}
	cJSON *j = cJSON_Parse(json);
	if (!j)
		return;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(j, "prefix");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(j, "created");
	const cJSON *expires = cJSON_GetObjectItemCaseSensitive(j, "expires");
	const cJSON *revoked = cJSON_GetObjectItemCaseSensitive(j, "revoked");
	char when[32] = "-";
	if (cJSON_IsNumber(created)) {
		time_t t = (time_t)created->valuedouble;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	const char *state = cJSON_IsTrue(revoked) ? "revoked" : "active";
	if (!cJSON_IsTrue(revoked) && cJSON_IsNumber(expires) && expires->valuedouble > 0 &&
	    expires->valuedouble <= (double)time(NULL))
		state = "expired";
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j, "limits");
	char *limits = cJSON_IsObject(lim) && lim->child ? cJSON_PrintUnformatted(lim) : NULL;
	printf("%-12s %-24s %-12s %-20s %-8s %s\n", cJSON_IsString(id) ? id->valuestring : "?",
	       cJSON_IsString(name) ? name->valuestring : "", cJSON_IsString(prefix) ? prefix->valuestring : "",
	       when, state, limits ? limits : "-");
	free(limits);
	cJSON_Delete(j);
}

/* Parse the LIMITS options (and --name) from argv[*i] on into patch.
 * Returns 0, or -1 after printing what is wrong. */
static int parse_limits(int argc, char **argv, int *i, cJSON *patch)
{
	static const struct { const char *opt, *field; int is_double; } nums[] = {
		{ "--rpm", "rpm", 0 }, { "--tpm", "tpm", 0 }, { "--tokens", "tokens", 0 },
		{ "--tokens-month", "tokens_month", 0 }, { "--cost", "cost", 1 }, { "--cost-month", "cost_month", 1 },
	};
	cJSON *lim = cJSON_AddObjectToObject(patch, "limits");
	for (; *i < argc; (*i)++) {
		const char *o = argv[*i];
		if (*i + 1 >= argc) {
			fprintf(stderr, "llmgate-keys: %s needs a value\n", o);
			return -1;
		}
		const char *v = argv[*i + 1];
		int done = 0;
		for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]) && !done; k++) {
			if (strcmp(o, nums[k].opt))
				continue;
			char *end;
			double d = strtod(v, &end);
			long n;
			if (nums[k].is_double ? (*end || d < 0 || d > 1e12 || d != d)
					      : ini_parse_long(v, 0, LONG_MAX, &n) != 0) {
				fprintf(stderr, "llmgate-keys: %s takes a number from 0 up\n", o);
				return -1;
			}
			cJSON_AddNumberToObject(lim, nums[k].field, nums[k].is_double ? d : (double)n);
			done = 1;
		}
		if (done) {
			(*i)++;
			continue;
		}
		if (!strcmp(o, "--models")) {
			cJSON_AddStringToObject(lim, "models", v);
		} else if (!strcmp(o, "--name")) {
			cJSON_DeleteItemFromObjectCaseSensitive(patch, "name");
			cJSON_AddStringToObject(patch, "name", v);
		} else if (!strcmp(o, "--log-prompts")) {
			if (strcmp(v, "on") && strcmp(v, "off")) {
				fprintf(stderr, "llmgate-keys: --log-prompts takes on or off\n");
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(patch, "log_prompts");
			cJSON_AddBoolToObject(patch, "log_prompts", !strcmp(v, "on"));
		} else if (!strcmp(o, "--expires-at")) {
			long long at;   /* past 2038 too, whatever the width of long */
			if (ini_parse_llong(v, 0, AUTH_EXPIRES_MAX, &at) != 0) {
				fprintf(stderr, "llmgate-keys: --expires-at takes a unix time (0: never)\n");
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(patch, "expires");
			cJSON_AddNumberToObject(patch, "expires", (double)at);
		} else if (!strcmp(o, "--expires-days")) {
			long days;
			if (ini_parse_long(v, 0, 36500, &days) != 0) {
				fprintf(stderr, "llmgate-keys: --expires-days takes a number of days from 0 to 36500\n");
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(patch, "expires");
			cJSON_AddNumberToObject(patch, "expires", days ? (double)((int64_t)time(NULL) + (int64_t)days * 86400) : 0);
		} else {
			fprintf(stderr, "llmgate-keys: unknown option %s\n", o);
			return -1;
		}
		(*i)++;
	}
	return 0;
}

/* llmgate-keys upstream ...: argv[0] is the subcommand. */
static int upstream_cmd(const char *dir, int argc, char **argv)
{
	char err[512];
	if (argc < 1) {
		usage_text(stderr);
		return 2;
	}
	if (!strcmp(argv[0], "add")) {
		const char *label = "";
		if (argc < 2) {
			fprintf(stderr, "llmgate-keys: upstream add needs a provider name\n");
			return 2;
		}
		if (argc == 4 && !strcmp(argv[2], "--label")) {
			label = argv[3];
		} else if (argc != 2) {
			usage_text(stderr);
			return 2;
		}
		/* the key comes on stdin, so that it is not in ps or the shell history */
		char secret[UPKEY_SECRET_MAX + 2];
		if (!fgets(secret, sizeof(secret), stdin)) {
			fprintf(stderr, "llmgate-keys: give the key on standard input\n");
			return 2;
		}
		secret[strcspn(secret, "\r\n")] = '\0';
		char id[UPKEY_ID_MAX];
		mkdir(dir, 0700);
		int r = upkey_add(dir, argv[1], secret, label, id, err, sizeof(err));
		memset(secret, 0, sizeof(secret));
		if (r != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			return 1;
		}
		printf("%s\n", id);
		fprintf(stderr, "added upstream key %s for %s\n", id, argv[1]);
		return 0;
	}
	if (!strcmp(argv[0], "list")) {
		cJSON *list = upkey_list(dir, err, sizeof(err));
		if (!list) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			return 1;
		}
		int as_json = argc > 1 && !strcmp(argv[1], "--json");
		if (!as_json)
			printf("%-12s %-14s %-12s %-8s %s\n", "ID", "PROVIDER", "KEY", "STATE", "LABEL");
		const cJSON *o;
		cJSON_ArrayForEach(o, list) {
			if (as_json) {
				char *js = cJSON_PrintUnformatted(o);
				printf("%s\n", js);
				free(js);
				continue;
			}
			printf("%-12s %-14s %-12s %-8s %s\n", cJSON_GetObjectItem(o, "id")->valuestring,
			       cJSON_GetObjectItem(o, "provider")->valuestring, cJSON_GetObjectItem(o, "hint")->valuestring,
			       cJSON_IsTrue(cJSON_GetObjectItem(o, "disabled")) ? "disabled" : "enabled",
			       cJSON_GetObjectItem(o, "label")->valuestring);
		}
		cJSON_Delete(list);
		return 0;
	}
	if (argc != 2) {
		usage_text(stderr);
		return 2;
	}
	int r;
	if (!strcmp(argv[0], "disable"))
		r = upkey_set_disabled(dir, argv[1], 1, err, sizeof(err));
	else if (!strcmp(argv[0], "enable"))
		r = upkey_set_disabled(dir, argv[1], 0, err, sizeof(err));
	else if (!strcmp(argv[0], "remove"))
		r = upkey_remove(dir, argv[1], err, sizeof(err));
	else {
		usage_text(stderr);
		return 2;
	}
	if (r != 0) {
		fprintf(stderr, "llmgate-keys: %s\n", err);
		return 1;
	}
	fprintf(stderr, "%s: upstream key %s\n", argv[0], argv[1]);
	return 0;
}

static int ensure_state_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -1;
	return mkdir(dir, 0700);
}

int main(int argc, char **argv)
{
	const char *config_path = NULL, *state_dir = NULL;
	char err[512];
	struct config c;
	int i = 1;
	int result = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
			state_dir = argv[++i];
		} else if (!strcmp(argv[i], "--help")) {
			usage_text(stdout);
			return 0;
		} else {
			usage_text(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage_text(stderr);
		return 2;
	}
	umask(077);
	log_init("llmgate-keys", LOG_WARN);
	if (config_load(&c, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "llmgate-keys: %s\n", err);
		return 1;
	}
	const char *dir = state_dir ? state_dir : c.state_dir;
	const char *cmd = argv[i++];

	if (!strcmp(cmd, "create")) {
		cJSON *patch = cJSON_CreateObject();
		if (parse_limits(argc, argv, &i, patch) != 0) {
			cJSON_Delete(patch);
			result = 2;
			goto out;
		}
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(patch, "name");
		if (!cJSON_IsString(name) || !*name->valuestring) {
			fprintf(stderr, "llmgate-keys: create needs --name NAME\n");
			cJSON_Delete(patch);
			result = 2;
			goto out;
		}
		/* the whole change checked before the key exists: a refused one
		 * leaves no key behind */
		if (auth_key_check(patch, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			cJSON_Delete(patch);
			result = 2;
			goto out;
		}
		if (ensure_state_dir(dir) != 0) {
			fprintf(stderr, "llmgate-keys: cannot use state directory %s: %s\n", dir, strerror(errno));
			cJSON_Delete(patch);
			goto out;
		}
		char id[AUTH_ID_MAX];
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(patch, "expires");
		char *key = auth_key_create(dir, name->valuestring, cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0,
					    patch, id, err, sizeof(err));
		cJSON_Delete(patch);
		if (!key) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		printf("%s\n", key);
		fprintf(stderr, "created key %s; it is shown only now\n", id);
		free(key);
		result = 0;
	} else if (!strcmp(cmd, "set")) {
		if (i >= argc) {
			fprintf(stderr, "llmgate-keys: set needs a key id (see llmgate-keys list)\n");
			result = 2;
			goto out;
		}
		const char *id = argv[i++];
		cJSON *patch = cJSON_CreateObject();
		if (parse_limits(argc, argv, &i, patch) != 0) {
			cJSON_Delete(patch);
			result = 2;
			goto out;
		}
		int r = auth_key_update(dir, id, patch, err, sizeof(err));
		cJSON_Delete(patch);
		if (r != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		fprintf(stderr, "updated key %s\n", id);
		result = 0;
	} else if (!strcmp(cmd, "list")) {
		int as_json = i < argc && !strcmp(argv[i], "--json");
		if (!as_json)
			printf("%-12s %-24s %-12s %-20s %-8s %s\n", "ID", "NAME", "PREFIX", "CREATED", "STATE", "LIMITS");
		if (auth_key_each(dir, print_row, &as_json, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		result = 0;
	} else if (!strcmp(cmd, "upstream")) {
		result = upstream_cmd(dir, argc - i, argv + i);
	} else if (!strcmp(cmd, "revoke")) {
		if (i >= argc) {
			fprintf(stderr, "llmgate-keys: revoke needs a key id (see llmgate-keys list)\n");
			result = 2;
			goto out;
		}
		if (auth_key_revoke(dir, argv[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		fprintf(stderr, "revoked key %s\n", argv[i]);
		result = 0;
	} else {
		usage_text(stderr);
		result = 2;
	}
out:
	config_free(&c);
	return result;
}
