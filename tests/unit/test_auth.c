/* test_auth.c — gateway keys: create, look up, revoke, expire, reload. */
#include "autoconf.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "tap.h"
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

	auth_init(&a, &c);
	is_int(auth_lookup(&a, "env-gateway-key-1", &e), 1, "AUTH_KEY accepted with no state.db");
	ok(!strncmp(e.id, "env-", 4) && !strstr(e.id, "gateway"), "env key id is not the key: %s", e.id);
	is_int(auth_lookup(&a, "env-gateway-key-2", &e), 0, "other key refused");
	is_int(auth_lookup(&a, "", &e), 0, "empty key refused");
	is_int(auth_lookup(&a, NULL, &e), 0, "no key refused");

	char *key = auth_key_create(dir, "team one", 0, id, err, sizeof(err));
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

	/* the router notices within AUTH_RELOAD_MS */
	int seen = 0;
	for (int i = 0; i < 40 && !seen; i++) {
		seen = auth_lookup(&a, key, &e);
		if (!seen)
			sleep_ms(50);
	}
	is_int(seen, 1, "new key accepted without restart");
	is_str(e.id, id, "lookup gives its id");
	is_str(e.name, "team one", "and name");

	char *key2 = auth_key_create(dir, "expiring", (int64_t)time(NULL) - 1, id2, err, sizeof(err));
	sleep_ms(AUTH_RELOAD_MS + 50);
	is_int(auth_lookup(&a, key2, &e), 0, "expired key refused");
	is_int(auth_lookup(&a, key, &e), 1, "first key still fine");

	is_int(auth_key_revoke(dir, id, err, sizeof(err)), 0, "revoke");
	int gone = 0;
	for (int i = 0; i < 40 && !gone; i++) {
		gone = !auth_lookup(&a, key, &e);
		if (!gone)
			sleep_ms(50);
	}
	is_int(gone, 1, "revoked key refused without restart");
	is_int(auth_key_revoke(dir, "k_nothere", err, sizeof(err)), -1, "revoking an unknown id fails");
	ok(strstr(err, "k_nothere") != NULL, "and says which: %s", err);
	is_int(auth_lookup(&a, "env-gateway-key-1", &e), 1, "env key survives reloads");

	auth_free(&a);
	config_free(&c);
	free(key);
	free(key2);
	unlink(dbpath);
	free(dbpath);
	rmdir(dir);
	return done_testing();
}
