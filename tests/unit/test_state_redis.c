/* test_state_redis.c — the merge rule of the fleet's shared records (state_redis.h). */
#include "autoconf.h"
#include "state_redis.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static int wins(const char *a, const char *b)
{
	return state_redis_wins(a, strlen(a), b, strlen(b));
}

int main(void)
{
	const char *old = "{\"id\":\"k_1\",\"changed\":100}";
	const char *newer = "{\"id\":\"k_1\",\"changed\":200,\"name\":\"x\"}";
	const char *revoked_old = "{\"id\":\"k_1\",\"changed\":50,\"revoked\":true}";
	const char *unstamped = "{\"id\":\"k_1\"}";
	ok(wins(old, newer), "the later change wins");
	ok(!wins(newer, old), "an earlier change does not");
	ok(!wins(old, old), "a tie keeps what is there");
	ok(wins(old, revoked_old), "a revocation wins whatever its time");
	ok(!wins(revoked_old, newer), "a revoked record is final");
	ok(!wins(revoked_old, "{\"removed\":true,\"changed\":900}"), "final against final keeps what is there");
	ok(wins(unstamped, old), "a stamped record wins over one written before stamps");
	ok(!wins(old, "not json"), "garbage never wins");
	ok(wins("not json", old), "a record wins over garbage");
	ok(!wins(old, "[1,2]"), "a record is an object");
	ok(state_redis_shared_key("gwkey:k_1") && state_redis_shared_key("upkey:openai:u_1") &&
	   state_redis_shared_key("settings"), "keys, upstream keys and settings are shared");
	ok(!state_redis_shared_key("settings.changed"), "the settings' stamp travels inside their record");
	char *st = state_redis_settings_stamp();
	cJSON *sj = cJSON_Parse(st);
	ok(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(sj, "changed")), "the settings' stamp: %s", st);
	ok(wins("{\"changed\":1,\"settings\":{}}", "{\"changed\":2,\"settings\":{\"aliases\":{}}}"),
	   "the later settings document wins whole");
	cJSON_Delete(sj);
	free(st);
	ok(!state_redis_shared_key("admin:password") && !state_redis_shared_key("gwkey:") &&
	   !state_redis_shared_key("admin:session:ab"), "the admin's records are not");
	cJSON *r = cJSON_Parse("{\"changed\":1}");
	state_redis_stamp(r);
	state_redis_stamp(r);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "changed");
	ok(cJSON_IsNumber(c) && c->valuedouble > 1e12 && cJSON_GetArraySize(r) == 1, "the stamp is the time in ms, once");
	cJSON_Delete(r);
	return done_testing();
}
