/* test_quota.c — allow-lists, rate limits and budgets with unsettled usage. */
#include "autoconf.h"
#include "quota.h"
#include "log.h"
#include "store.h"
#include "tap.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/llmgate-test-quota-XXXXXX";
	struct quota q;
	struct quota_refusal why;
	struct auth_entry who;
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	char sdir[128];
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	mkdir(sdir, 0700);

	ok(quota_model_allowed("", "anything"), "empty list allows all");
	ok(quota_model_allowed("a, glm-*", "glm-5"), "prefix* matches");
	ok(quota_model_allowed("a, glm-*", "a"), "exact matches");
	ok(!quota_model_allowed("a, glm-*", "ab"), "exact does not match longer");
	ok(!quota_model_allowed("a,glm-*", "deepseek-chat"), "others refused");

	quota_init(&q, dir);
	int64_t now = (int64_t)time(NULL) * 1000;
	memset(&who, 0, sizeof(who));
	snprintf(who.id, sizeof(who.id), "k_test");
	is_int(quota_check(&q, &who, "m", now, &why), QUOTA_OK, "no limits: ok");

	snprintf(who.models, sizeof(who.models), "deepseek-*");
	is_int(quota_check(&q, &who, "glm-5", now, &why), QUOTA_MODEL, "model outside the allow-list");
	is_str(why.code, "model_not_allowed", "code");
	who.models[0] = '\0';

	who.rpm = 3;
	for (int i = 0; i < 3; i++)
		is_int(quota_check(&q, &who, "m", now, &why), QUOTA_OK, "within rpm");
	is_int(quota_check(&q, &who, "m", now + 500, &why), QUOTA_LIMITED, "4th in the minute refused");
	is_str(why.code, "rate_limit_exceeded", "rate limit code");
	ok(why.retry_after_s >= 59 && why.retry_after_s <= 60, "resets in about a minute: %ld", why.retry_after_s);
	ok(strstr(why.message, "requests per minute") != NULL, "message names the limit: %s", why.message);
	is_int(quota_check(&q, &who, "m", now + 61000, &why), QUOTA_OK, "window passed: ok again");
	who.rpm = 0;
	now += 120000;   /* time only goes forward */

	/* budgets: unsettled usage counts until the segment is settled */
	who.tokens = 100;
	char seg[] = "seg-0000000000001-1-aaaaaaaa";
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.open", sdir, seg);
	fclose(fopen(path, "w"));
	quota_record(&q, &who, now, 60, 0.5, seg);
	is_int(quota_check(&q, &who, "m", now, &why), QUOTA_OK, "60 of 100 tokens: ok");
	quota_record(&q, &who, now, 50, 0.5, seg);
	is_int(quota_check(&q, &who, "m", now + 1, &why), QUOTA_LIMITED, "110 of 100 tokens: refused");
	is_str(why.code, "insufficient_quota", "budget code");
	ok(strstr(why.message, "110 of 100") != NULL, "message says how much: %s", why.message);

	/* settle folds the segment into the ledger, then renames it */
	GDBM_FILE db = store_open(q.ledger_path, 1, 1000);
	const char *tot = "{\"requests\":2,\"prompt\":70,\"completion\":40,\"cost\":1.0,\"seq\":1}";
	store_put(db, "key:k_test", tot, strlen(tot));
	store_sync(db);
	store_close(db);
	char ready[256];
	snprintf(ready, sizeof(ready), "%s/%s.settled", sdir, seg);
	rename(path, ready);
	is_int(quota_check(&q, &who, "m", now + 1000, &why), QUOTA_LIMITED, "after settling: still 110 (ledger), not 220");
	ok(strstr(why.message, "110 of 100") != NULL, "counted once: %s", why.message);
	who.tokens = 200;
	is_int(quota_check(&q, &who, "m", now + 1500, &why), QUOTA_OK, "a larger budget admits it");
	who.tokens = 0;

	/* monthly cost budget */
	who.cost_month = 0.9;
	ok(quota_check(&q, &who, "m", now + 2000, &why) == QUOTA_OK, "no month record in the ledger: 0 spent %s", why.message);
	quota_record(&q, &who, now, 1, 1.0, "seg-0000000000002-1-bbbbbbbb");
	/* that segment file does not exist: settle already took it, so the ledger is the truth */
	is_int(quota_check(&q, &who, "m", now + 2500, &why), QUOTA_OK, "usage whose segment is gone is not double counted");
	char seg3[] = "seg-0000000000003-1-cccccccc";
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, seg3);
	fclose(fopen(path, "w"));
	quota_record(&q, &who, now, 1, 1.0, seg3);
	is_int(quota_check(&q, &who, "m", now + 3000, &why), QUOTA_LIMITED, "month budget exceeded by unsettled cost");
	ok(why.retry_after_s > 0 && strstr(why.message, "monthly"), "resets next month: %s", why.message);
	unlink(path);
	who.cost_month = 0;

	/* a damaged ledger: totals read before stay, keys with budgets and no
	 * totals yet are refused, none is read as "nothing spent" */
	who.tokens = 100;
	is_int(quota_check(&q, &who, "m", now + 4000, &why), QUOTA_LIMITED, "k_test: 110 settled of 100, refused");
	int fd = open(q.ledger_path, O_WRONLY);
	char zero[4096] = { 0 };
	ok(fd >= 0 && pwrite(fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero), "ledger: first 4 KiB zeroed");
	close(fd);
	is_int(quota_check(&q, &who, "m", now + 5000, &why), QUOTA_LIMITED, "damaged ledger: spent key still refused");
	ok(strstr(why.message, "110 of 100") != NULL, "from the totals read before: %s", why.message);
	struct auth_entry other = who;
	snprintf(other.id, sizeof(other.id), "k_other");
	is_int(quota_check(&q, &other, "m", now + 5000, &why), QUOTA_UNAVAILABLE, "a key with a budget and no totals: 503");
	is_str(why.code, "ledger_unavailable", "code");
	other.tokens = 0;
	is_int(quota_check(&q, &other, "m", now + 5000, &why), QUOTA_OK, "a key without budgets is served");
	unlink(q.ledger_path);
	quota_free(&q);
	return done_testing();
}
