/* keys.c — llmgate-keys: create, list and revoke gateway keys in state.db. */
#include "autoconf.h"
#include "auth.h"
#include "config.h"
#include "ini.h"
#include "log.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void usage_text(FILE *f)
{
	fprintf(f,
		"usage: llmgate-keys [--config FILE] [--state-dir DIR] COMMAND\n"
		"  create --name NAME [--expires-days N]   make a key; prints it once\n"
		"  list [--json]                           show keys (never the key itself)\n"
		"  revoke ID                               refuse a key from now on\n");
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
	printf("%-12s %-24s %-12s %-20s %s\n", cJSON_IsString(id) ? id->valuestring : "?",
	       cJSON_IsString(name) ? name->valuestring : "", cJSON_IsString(prefix) ? prefix->valuestring : "",
	       when, state);
	cJSON_Delete(j);
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
		const char *name = NULL;
		long days = 0;
		for (; i < argc; i++) {
			if (!strcmp(argv[i], "--name") && i + 1 < argc) {
				name = argv[++i];
			} else if (!strcmp(argv[i], "--expires-days") && i + 1 < argc) {
				if (ini_parse_long(argv[++i], 1, 36500, &days) != 0) {
					fprintf(stderr, "llmgate-keys: --expires-days takes a number of days from 1 to 36500\n");
					goto out;
				}
			} else {
				usage_text(stderr);
				result = 2;
				goto out;
			}
		}
		if (!name || !*name) {
			fprintf(stderr, "llmgate-keys: create needs --name NAME\n");
			result = 2;
			goto out;
		}
		if (ensure_state_dir(dir) != 0) {
			fprintf(stderr, "llmgate-keys: cannot use state directory %s: %s\n", dir, strerror(errno));
			goto out;
		}
		char id[AUTH_ID_MAX];
		int64_t expires = days ? (int64_t)time(NULL) + days * 86400 : 0;
		char *key = auth_key_create(dir, name, expires, id, err, sizeof(err));
		if (!key) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		printf("%s\n", key);
		fprintf(stderr, "created key %s (%s); it is shown only now\n", id, name);
		free(key);
		result = 0;
	} else if (!strcmp(cmd, "list")) {
		int as_json = i < argc && !strcmp(argv[i], "--json");
		if (!as_json)
			printf("%-12s %-24s %-12s %-20s %s\n", "ID", "NAME", "PREFIX", "CREATED", "STATE");
		if (auth_key_each(dir, print_row, &as_json, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmgate-keys: %s\n", err);
			goto out;
		}
		result = 0;
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
