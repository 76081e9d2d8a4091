/* test_quota.c — allow-lists, rate limits and budgets with unsettled usage and reservations. */
#include "autoconf.h"
#include "quota.h"
#include "log.h"
#include "store.h"
#include "tap.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A child process reserves ask for who and waits to be killed. */
static pid_t reserve_in_child(const char *dir, struct auth_entry *who, long long tokens, int64_t now)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct quota q;
		struct quota_refusal why;
		struct quota_hold hold;
		struct quota_ask ask = { tokens, 0 };
		quota_init(&q, dir);
		char c = quota_check(&q, who, "m", &ask, now, &why, &hold) == QUOTA_OK ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c = 0;
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'y')
		pid = -1;
	close(p[0]);
	return pid;
}

/* Requests in flight hold their worst case; records replace it; a killed
 * process's reservations go with it. */
static void reservations(struct quota *q, struct auth_entry *who, int64_t now)
{
	struct quota_refusal why;
	struct quota_hold h1, h2, h3;
	struct quota_ask ask = { 40, 0 };
	snprintf(who->id, sizeof(who->id), "k_resv");
	who->tokens = 100;
	is_int(quota_check(q, who, "m", &ask, now, &why, &h1), QUOTA_OK, "first 40 of 100 reserved");
	ok(h1.slot > 0, "a reservation is held");
	is_int(quota_check(q, who, "m", &ask, now, &why, &h2), QUOTA_OK, "second 40: 80 of 100 reserved");
	is_int(quota_check(q, who, "m", &ask, now, &why, &h3), QUOTA_LIMITED, "third 40 does not fit while two run");
	is_str(why.code, "insufficient_quota", "budget code for a reservation that does not fit");
	ok(strstr(why.message, "up to 40 tokens") && strstr(why.message, "20 of its"), "message: %s", why.message);
	ok(h3.slot == 0, "nothing held when refused");
	quota_record(q, who, now, 10, 0, "", &h1);
	ok(h1.slot == 0, "recording ends the reservation");
	is_int(quota_check(q, who, "m", &ask, now, &why, &h3), QUOTA_OK, "10 used + 40 + 40 reserved: fits");
	quota_release(q, who, &h2);
	quota_release(q, who, &h3);
	struct quota_ask big = { 91, 0 };
	is_int(quota_check(q, who, "m", &big, now, &why, &h1), QUOTA_LIMITED, "91 more than the 90 left");
	quota_release(q, who, &h1);

	/* tokens per minute: reservations count, an idle key admits one */
	who->tokens = 0;
	who->tpm = 50;
	snprintf(who->id, sizeof(who->id), "k_tpm");
	struct quota_ask huge = { 500, 0 };
	is_int(quota_check(q, who, "m", &huge, now, &why, &h1), QUOTA_OK, "an idle key admits a request over its tpm");
	struct quota_ask small = { 1, 0 };
	is_int(quota_check(q, who, "m", &small, now, &why, &h2), QUOTA_LIMITED, "while it runs, nothing else");
	is_str(why.code, "rate_limit_exceeded", "tpm code");
	quota_record(q, who, now, 30, 0, "", &h1);
	is_int(quota_check(q, who, "m", &small, now, &why, &h2), QUOTA_OK, "30 used of 50: one more token fits");
	struct quota_ask twenty = { 20, 0 };
	is_int(quota_check(q, who, "m", &twenty, now, &why, &h3), QUOTA_LIMITED, "30 + 1 + 20 > 50");
	quota_release(q, who, &h2);
	who->tpm = 0;

	/* another process's reservation counts until that process dies */
	snprintf(who->id, sizeof(who->id), "k_proc");
	who->tokens = 100;
	pid_t child = reserve_in_child(q->state_dir, who, 80, now);
	ok(child > 0, "a child process reserved 80");
	is_int(quota_check(q, who, "m", &ask, now, &why, &h1), QUOTA_LIMITED, "its reservation counts here");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	is_int(quota_check(q, who, "m", &ask, now + 1100, &why, &h1), QUOTA_OK, "killed: its reservation is gone");
	quota_release(q, who, &h1);
	who->tokens = 0;
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-quota-XXXXXX";
	struct quota q;
	struct quota_refusal why;
	struct auth_entry who;
	struct quota_hold hold;
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
	is_int(quota_check(&q, &who, "m", NULL, now, &why, &hold), QUOTA_OK, "no limits: ok");

	snprintf(who.models, sizeof(who.models), "deepseek-*");
	is_int(quota_check(&q, &who, "glm-5", NULL, now, &why, &hold), QUOTA_MODEL, "model outside the allow-list");
	is_str(why.code, "model_not_allowed", "code");
	who.models[0] = '\0';

	who.rpm = 3;
	for (int i = 0; i < 3; i++)
		is_int(quota_check(&q, &who, "m", NULL, now, &why, &hold), QUOTA_OK, "within rpm");
	is_int(quota_check(&q, &who, "m", NULL, now + 500, &why, &hold), QUOTA_LIMITED, "4th in the minute refused");
	is_str(why.code, "rate_limit_exceeded", "rate limit code");
	ok(why.retry_after_s >= 59 && why.retry_after_s <= 60, "resets in about a minute: %ld", why.retry_after_s);
	ok(strstr(why.message, "requests per minute") != NULL, "message names the limit: %s", why.message);
	is_int(quota_check(&q, &who, "m", NULL, now + 61000, &why, &hold), QUOTA_OK, "window passed: ok again");
	who.rpm = 0;
	now += 120000;   /* time only goes forward */

	/* budgets: unsettled usage counts until the segment is settled */
	who.tokens = 100;
	char seg[] = "seg-0000000000001-1-aaaaaaaa";
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.open", sdir, seg);
	fclose(fopen(path, "w"));
	quota_record(&q, &who, now, 60, 0.5, seg, NULL);
	is_int(quota_check(&q, &who, "m", NULL, now, &why, &hold), QUOTA_OK, "60 of 100 tokens: ok");
	quota_record(&q, &who, now, 50, 0.5, seg, NULL);
	is_int(quota_check(&q, &who, "m", NULL, now + 1, &why, &hold), QUOTA_LIMITED, "110 of 100 tokens: refused");
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
	is_int(quota_check(&q, &who, "m", NULL, now + 1000, &why, &hold), QUOTA_LIMITED, "after settling: still 110 (ledger), not 220");
	ok(strstr(why.message, "110 of 100") != NULL, "counted once: %s", why.message);
	who.tokens = 200;
	is_int(quota_check(&q, &who, "m", NULL, now + 1500, &why, &hold), QUOTA_OK, "a larger budget admits it");
	who.tokens = 0;

	/* monthly cost budget */
	who.cost_month = 0.9;
	ok(quota_check(&q, &who, "m", NULL, now + 2000, &why, &hold) == QUOTA_OK, "no month record in the ledger: 0 spent %s", why.message);
	quota_record(&q, &who, now, 1, 1.0, "seg-0000000000002-1-bbbbbbbb", NULL);
	/* that segment file does not exist: settle already took it, so the
	 * ledger is the truth (usage is pruned at most a second later) */
	is_int(quota_check(&q, &who, "m", NULL, now + 3100, &why, &hold), QUOTA_OK, "usage whose segment is gone is not double counted");
	char seg3[] = "seg-0000000000003-1-cccccccc";
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, seg3);
	fclose(fopen(path, "w"));
	quota_record(&q, &who, now, 1, 1.0, seg3, NULL);
	is_int(quota_check(&q, &who, "m", NULL, now + 3200, &why, &hold), QUOTA_LIMITED, "month budget exceeded by unsettled cost");
	ok(why.retry_after_s > 0 && strstr(why.message, "monthly"), "resets next month: %s", why.message);
	unlink(path);

	/* a record that could not be written (kept in memory: segment "")
	 * counts until it is written, then as its segment's, once */
	struct auth_entry kept = who;
	snprintf(kept.id, sizeof(kept.id), "k_kept");
	kept.cost_month = 0;
	kept.tokens = 40;
	is_int(quota_check(&q, &kept, "m", NULL, now + 4000, &why, &hold), QUOTA_OK, "k_kept: nothing spent");
	quota_record(&q, &kept, now, 50, 0, "", &hold);
	is_int(quota_check(&q, &kept, "m", NULL, now + 6000, &why, &hold), QUOTA_LIMITED, "a kept record counts against the budget");
	ok(strstr(why.message, "50 of 40") != NULL, "50 of 40: %s", why.message);
	char seg4[] = "seg-0000000000004-1-dddddddd";
	snprintf(path, sizeof(path), "%s/%s.open", sdir, seg4);
	fclose(fopen(path, "w"));
	quota_kept_written(&q, "k_kept", now, 50, 0, seg4);
	is_int(quota_check(&q, &kept, "m", NULL, now + 8000, &why, &hold), QUOTA_LIMITED, "written: still counted");
	ok(strstr(why.message, "50 of 40") != NULL, "once, not twice: %s", why.message);
	unlink(path);   /* settle took the segment (this test's ledger is not updated) */
	is_int(quota_check(&q, &kept, "m", NULL, now + 10000, &why, &hold), QUOTA_OK, "then the ledger is the truth");
	quota_release(&q, &kept, &hold);
	who.cost_month = 0;

	/* usage is counted in the window when it is recorded: now */
	reservations(&q, &who, (int64_t)time(NULL) * 1000);

	/* a damaged ledger: totals read before stay, keys with budgets and no
	 * totals yet are refused, none is read as "nothing spent" */
	int64_t late = (int64_t)time(NULL) * 1000 + 3600000;   /* after every check above */
	memset(&who, 0, sizeof(who));
	snprintf(who.id, sizeof(who.id), "k_test");
	who.tokens = 100;
	is_int(quota_check(&q, &who, "m", NULL, late, &why, &hold), QUOTA_LIMITED, "k_test: 110 settled of 100, refused");
	int fd = open(q.ledger_path, O_WRONLY);
	char zero[4096] = { 0 };
	ok(fd >= 0 && pwrite(fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero), "ledger: first 4 KiB zeroed");
	close(fd);
	is_int(quota_check(&q, &who, "m", NULL, late + 1000, &why, &hold), QUOTA_LIMITED, "damaged ledger: spent key still refused");
	ok(strstr(why.message, "110 of 100") != NULL, "from the totals read before: %s", why.message);
	struct auth_entry other = who;
	snprintf(other.id, sizeof(other.id), "k_other");
	is_int(quota_check(&q, &other, "m", NULL, late + 1000, &why, &hold), QUOTA_UNAVAILABLE, "a key with a budget and no totals: 503");
	is_str(why.code, "ledger_unavailable", "code");
	other.tokens = 0;
	is_int(quota_check(&q, &other, "m", NULL, late + 1000, &why, &hold), QUOTA_OK, "a key without budgets is served");
	unlink(q.ledger_path);
	who.tokens = 0;
	quota_free(&q);
	return done_testing();
}
