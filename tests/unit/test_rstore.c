/* test_rstore.c — stored responses: kept per owner, read back, deleted,
 * another key's id reads as absent, old records expire and are swept, a
 * record cut short reads as absent and is replaced. */
#include "autoconf.h"
#include "log.h"
#include "rstore.h"
#include "xmalloc.h"
#include "tap.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cJSON *response(const char *id)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(r, "object", "response");
	cJSON_AddArrayToObject(r, "output");
	return r;
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-rstore-XXXXXX";
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	long ttl = 30L * 86400;
	errno = 0;
	ok(!rstore_get(dir, "k_a", "resp_1", ttl) && errno == ENOENT, "no store yet: absent");

	cJSON *in = cJSON_Parse("[{\"type\":\"message\",\"role\":\"user\",\"content\":\"hi\"}]");
	cJSON *r1 = response("resp_1"), *r2 = response("resp_2");
	is_int(rstore_put(dir, "k_a", r1, in, "be brief", ttl), 0, "kept resp_1 for k_a");
	is_int(rstore_put(dir, "k_b", r2, in, NULL, ttl), 0, "kept resp_2 for k_b");

	cJSON *rec = rstore_get(dir, "k_a", "resp_1", ttl);
	ok(rec != NULL, "the owner reads it back");
	const cJSON *rid = cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "response"), "id");
	is_str(cJSON_IsString(rid) ? rid->valuestring : "", "resp_1", "its response object");
	const cJSON *ins = cJSON_GetObjectItem(rec, "instructions");
	is_str(cJSON_IsString(ins) ? ins->valuestring : "", "be brief", "its instructions");
	is_int(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "input")), 1, "its input items");
	cJSON_Delete(rec);

	errno = 0;
	ok(!rstore_get(dir, "k_b", "resp_1", ttl) && errno == ENOENT, "another key: absent");
	errno = 0;
	ok(rstore_delete(dir, "k_b", "resp_1") == -1 && errno == ENOENT, "another key cannot delete it");
	rec = rstore_get(dir, "k_a", "resp_1", ttl);
	ok(rec != NULL, "still there after the other key's delete");
	cJSON_Delete(rec);

	is_int(rstore_delete(dir, "k_a", "resp_1"), 0, "the owner deletes it");
	errno = 0;
	ok(!rstore_get(dir, "k_a", "resp_1", ttl) && errno == ENOENT, "gone after the delete");
	errno = 0;
	ok(rstore_delete(dir, "k_a", "resp_1") == -1 && errno == ENOENT, "a second delete: absent");

	/* a TTL of -1 s makes every record old: resp_2 is not returned and is
	 * dropped by the next write */
	errno = 0;
	ok(!rstore_get(dir, "k_b", "resp_2", -1) && errno == ENOENT, "an expired record is not returned");
	cJSON *r3 = response("resp_3");
	/* expired records are dropped at most hourly: make the last sweep old */
	char *path = rstore_path(dir);
	char *stamp = xasprintf("%s/.swept", path);
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	ok(utimensat(AT_FDCWD, stamp, old, 0) == 0, "the last sweep set long ago");
	free(stamp);
	is_int(rstore_put(dir, "k_b", r3, NULL, NULL, -1), 0, "a write with everything expired");
	ok(!rstore_get(dir, "k_b", "resp_2", ttl), "the expired record was dropped by the write");
	rec = rstore_get(dir, "k_b", "resp_3", ttl);
	ok(rec != NULL, "the new one is there");
	cJSON_Delete(rec);

	/* a record cut short (a disk that lost a write): absent, and replaced
	 * by the next write; the others are untouched */
	cJSON *r4 = response("resp_4");
	is_int(rstore_put(dir, "k_b", r4, NULL, NULL, ttl), 0, "resp_4 kept");
	char *find = xasprintf("find %s -name '*.r' | head -1", path);   /* resp_3 or resp_4 */
	FILE *p = popen(find, "r");
	char file[512] = "";
	if (p && fgets(file, sizeof(file), p))
		file[strcspn(file, "\n")] = '\0';
	if (p)
		pclose(p);
	free(find);
	ok(*file && truncate(file, 10) == 0, "one record file cut short");
	int whole = 0;
	for (int i = 3; i <= 4; i++) {
		char id[16];
		snprintf(id, sizeof(id), "resp_%d", i);
		cJSON *g = rstore_get(dir, "k_b", id, ttl);
		whole += g != NULL;
		cJSON_Delete(g);
	}
	is_int(whole, 1, "it reads as absent, the other as it was");
	is_int(rstore_put(dir, "k_b", r4, NULL, NULL, ttl), 0, "a write after the damage");
	rec = rstore_get(dir, "k_b", "resp_4", ttl);
	ok(rec != NULL, "answers again");
	cJSON_Delete(rec);
	cJSON_Delete(r4);
	free(path);

	cJSON *bad = cJSON_CreateObject();
	errno = 0;
	ok(rstore_put(dir, "k_a", bad, NULL, NULL, ttl) == -1 && errno == EINVAL, "a response without an id is refused");

	cJSON_Delete(bad);
	cJSON_Delete(r1);
	cJSON_Delete(r2);
	cJSON_Delete(r3);
	cJSON_Delete(in);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
