/* test_auth.c — gateway keys: create, look up, revoke, expire, reload. */
#include "autoconf.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "tap.h"
#include "xmalloc.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void count_row(const char *json, void *user)
{
	(void)json;
	++*(int *)user;
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-auth-XXXXXX";
	char err[256], id[AUTH_ID_MAX], id2[AUTH_ID_MAX];
	struct config c;
	struct auth a;
	struct auth_entry e;
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	setenv("LLMGATE_CONFIG", "/dev/null", 1);
	setenv("LLMGATE_STATE_DIR", dir, 1);
	setenv("AUTH_KEY", "env-gateway-key-1", 1);
	if (config_load(&c, NULL, err, sizeof(err)) != 0)
		return 1;

	is_int(auth_init(&a, &c, err, sizeof(err)), 0, "no state.db: table of the AUTH_KEY alone");
	is_int(auth_lookup(&a, "env-gateway-key-1", &e), 1, "AUTH_KEY accepted with no state.db");
	ok(!strncmp(e.id, "env-", 4) && !strstr(e.id, "gateway"), "env key id is not the key: %s", e.id);
	is_int(auth_lookup(&a, "env-gateway-key-2", &e), 0, "other key refused");
	is_int(auth_lookup(&a, "", &e), 0, "empty key refused");
	is_int(auth_lookup(&a, NULL, &e), 0, "no key refused");

	char *key = auth_key_create(dir, "team one", 0, NULL, id, err, sizeof(err));
	ok(key != NULL, "key created: %s", key ? "" : err);
	ok(!strncmp(key, AUTH_KEY_PREFIX, strlen(AUTH_KEY_PREFIX)) && strlen(key) == 6 + 48, "key shape");
	ok(!strncmp(id, "k_", 2), "id shape: %s", id);
	char *dbpath = auth_state_path(dir);
	struct stat st;
	ok(stat(dbpath, &st) == 0 && (st.st_mode & 077) == 0, "state.db is private (mode %o)", st.st_mode & 0777);
	FILE *f = fopen(dbpath, "rb");
	char blob[65536];
	size_t n = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	ok(!memmem(blob, n, key, strlen(key)), "the key itself is not stored");

	/* a key not in the table while state.db changed: read again at once */
	is_int(auth_lookup(&a, key, &e), 1, "new key accepted at its first lookup, without a refresh");
	is_str(e.id, id, "lookup gives its id");
	is_str(e.name, "team one", "and name");

	/* expiries past 2038 (a 32-bit time_t ends there), checked before a
	 * key is made */
	cJSON *chg = cJSON_Parse("{\"expires\":-1}");
	ok(auth_key_check(chg, err, sizeof(err)) == -1 && strstr(err, "expires"), "a negative expiry refused: %s", err);
	cJSON_Delete(chg);
	chg = cJSON_Parse("{\"expires\":4102444800,\"limits\":{\"rpm\":5}}");
	is_int(auth_key_check(chg, err, sizeof(err)), 0, "an expiry in 2100 taken");
	cJSON_Delete(chg);
	chg = cJSON_Parse("{\"limits\":{\"speed\":5}}");
	is_int(auth_key_check(chg, err, sizeof(err)), -1, "an unknown limit refused by the check alone");
	cJSON_Delete(chg);
	/* limits written with the key itself: the first lookup already has them */
	char idl[AUTH_ID_MAX];
	chg = cJSON_Parse("{\"limits\":{\"tokens\":700,\"rpm\":3,\"models\":\"deepseek-*\"}}");
	char *keyl = auth_key_create(dir, "limited", 0, chg, idl, err, sizeof(err));
	cJSON_Delete(chg);
	ok(keyl != NULL, "a key created with its limits: %s", keyl ? "" : err);
	is_int(auth_lookup(&a, keyl, &e), 1, "found at once");
	ok(e.tokens == 700 && e.rpm == 3 && !strcmp(e.models, "deepseek-*"), "with its limits at the first lookup");
	free(keyl);
	chg = cJSON_Parse("{\"limits\":{\"speed\":5}}");
	char *keyb = auth_key_create(dir, "bad", 0, chg, idl, err, sizeof(err));
	cJSON_Delete(chg);
	ok(keyb == NULL && strstr(err, "speed"), "a bad limit: no key made: %s", err);
	char id2100[AUTH_ID_MAX];
	char *key2100 = auth_key_create(dir, "century", 4102444800LL, NULL, id2100, err, sizeof(err));
	ok(key2100 != NULL, "a key expiring in 2100 created");
	is_int(auth_lookup(&a, key2100, &e), 1, "and taken now (not wrapped into the past)");
	is_int(e.expires, 4102444800LL, "its expiry read back whole");
	free(key2100);

	char *key2 = auth_key_create(dir, "expiring", (int64_t)time(NULL) - 1, NULL, id2, err, sizeof(err));
	is_int(auth_lookup(&a, key2, &e), 0, "expired key refused");
	is_int(auth_lookup(&a, key, &e), 1, "first key still fine");

	is_int(auth_key_revoke(dir, id, err, sizeof(err)), 0, "revoke");
	int gone = 0;
	is_int(auth_lookup(&a, key, &e), 1, "a known key is served from the table until a refresh");
	for (int i = 0; i < 40 && !gone; i++) {
		auth_refresh(&a);
		gone = !auth_lookup(&a, key, &e);
		if (!gone)
			sleep_ms(50);
	}
	is_int(gone, 1, "revoked key refused after the housekeeping refresh");
	is_int(auth_key_revoke(dir, "k_nothere", err, sizeof(err)), -1, "revoking an unknown id fails");
	ok(strstr(err, "k_nothere") != NULL, "and says which: %s", err);
	is_int(auth_lookup(&a, "env-gateway-key-1", &e), 1, "env key survives reloads");


	/* damage: the table read before stays; a fresh start is refused; the
	 * key store's readers and writers fail loudly */
	char id3[AUTH_ID_MAX];
	char *key3 = auth_key_create(dir, "third", 0, NULL, id3, err, sizeof(err));
	auth_refresh(&a);
	is_int(auth_lookup(&a, key3, &e), 1, "third key in the table");
	int fd = open(dbpath, O_WRONLY);
	char zero[4096] = { 0 };
	ok(fd >= 0 && pwrite(fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero), "state.db: first 4 KiB zeroed in place");
	close(fd);
	auth_refresh(&a);
	is_int(auth_lookup(&a, key3, &e), 1, "damaged state.db: the last good table stays");
	is_int(auth_lookup(&a, "sk-lg-unknown", &e), 0, "an unknown key is still refused");
	is_int(auth_lookup(&a, "env-gateway-key-1", &e), 1, "env key still fine");
	struct auth b;
	err[0] = '\0';
	is_int(auth_init(&b, &c, err, sizeof(err)), -1, "a fresh start refuses a damaged state.db");
	ok(strstr(err, "damaged") != NULL, "and says why: %s", err);
	auth_free(&b);
	int rows = 0;
	is_int(auth_key_each(dir, count_row, &rows, err, sizeof(err)), -1, "listing keys fails");
	is_int(rows, 0, "and lists nothing");
	char id4[AUTH_ID_MAX];
	char *key4 = auth_key_create(dir, "fourth", 0, NULL, id4, err, sizeof(err));
	ok(key4 == NULL && strstr(err, "damaged"), "creating a key fails: %s", err);
	is_int(auth_key_revoke(dir, id3, err, sizeof(err)), -1, "revoking fails");

	auth_free(&a);
	free(key3);
	char *p2 = xasprintf("%s.lock", dbpath);
	unlink(p2);
	free(p2);
	config_free(&c);
	free(key);
	free(key2);
	unlink(dbpath);
	free(dbpath);
	rmdir(dir);
	return done_testing();
}
