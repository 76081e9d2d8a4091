/* test_recstore.c — the record store: records per owner, read back and
 * changed whole; another owner's read as absent; torn and damaged writes
 * (a killed writer's temporary file, a record cut short, a flipped byte)
 * never break the next read or change; the per-owner limit drops the least
 * recently changed; expiry and the sweep; concurrent changes lose nothing;
 * the file format's parser. */
#include "autoconf.h"
#include "log.h"
#include "recstore.h"
#include "sha256.h"
#include "xmalloc.h"
#include "tap.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static char *file_of(const char *owner, const char *id)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char ho[33], hi[33];
	sha256(owner, strlen(owner), d);
	hex_encode(d, 16, ho);
	sha256(id, strlen(id), d);
	hex_encode(d, 16, hi);
	return xasprintf("%s/%s/%s.r", root, ho, hi);
}

static void age(const char *path, long seconds)
{
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= seconds;
	t[1] = t[0];
	utimensat(AT_FDCWD, path, t, 0);
}

static char *set_to(const char *old, size_t oldlen, void *user)
{
	(void)old;
	(void)oldlen;
	return user ? xstrdup(user) : NULL;
}

/* Appends one "x" to the record (a counter of changes). */
static char *append_x(const char *old, size_t oldlen, void *user)
{
	(void)user;
	char *n = xmalloc(oldlen + 2);
	memcpy(n, old ? old : "", oldlen);
	n[oldlen] = 'x';
	n[oldlen + 1] = '\0';
	return n;
}

static char *get(const char *owner, const char *id)
{
	return recstore_get(root, owner, id, 0, NULL, NULL);
}

static void test_basics(void)
{
	errno = 0;
	ok(!get("k_a", "c1") && errno == ENOENT, "nothing yet: absent");
	is_int(recstore_update(root, "k_a", "c1", 0, 0, set_to, "one"), 1, "created");
	char *v = get("k_a", "c1");
	is_str(v, "one", "read back");
	free(v);
	errno = 0;
	ok(!get("k_b", "c1") && errno == ENOENT, "another owner's id reads as absent");
	is_int(recstore_update(root, "k_a", "c1", 0, 0, set_to, NULL), 0, "a change that keeps it");
	v = get("k_a", "c1");
	is_str(v, "one", "unchanged");
	free(v);
	errno = 0;
	ok(recstore_delete(root, "k_b", "c1") == -1 && errno == ENOENT, "another owner cannot delete it");
	is_int(recstore_each(root, "k_a", 0, NULL, NULL), 1, "one record of k_a");
	is_int(recstore_each(root, "k_b", 0, NULL, NULL), 0, "none of k_b");
	char longid[RECSTORE_ID_MAX + 2];
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ok(recstore_update(root, "k_a", longid, 0, 0, set_to, "x") == -1 && errno == EINVAL, "an id too long");
	is_int(recstore_update(root, "k_a", "a/../../b\n", 0, 0, set_to, "odd"), 1, "any id makes a safe name");
	v = get("k_a", "a/../../b\n");
	is_str(v, "odd", "and reads back");
	free(v);
	is_int(recstore_delete(root, "k_a", "a/../../b\n"), 0, "deleted");
}

static void test_torn(void)
{
	char *path = file_of("k_a", "c1");
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	/* a writer killed in the middle of its temporary file */
	char *tmp = xasprintf("%s/.tmp.99999.1", dir);
	FILE *f = fopen(tmp, "w");
	fputs("LGR1 2 100 0123456789abcdef\nc1{\"half", f);
	fclose(f);
	char *v = get("k_a", "c1");
	is_str(v, "one", "a killed writer's temporary file: the record as it was");
	free(v);
	is_int(recstore_each(root, "k_a", 0, NULL, NULL), 1, "and it is no record");
	age(tmp, RECSTORE_TMP_AGE_S + 5);
	recstore_sweep(root, 86400, 0);
	ok(access(tmp, F_OK) != 0, "the sweep removes it");
	/* the record itself cut short (a disk that lost a write) */
	struct stat st;
	stat(path, &st);
	ok(truncate(path, st.st_size / 2) == 0, "record cut to half");
	errno = 0;
	ok(!get("k_a", "c1") && errno == ENOENT, "a cut record reads as absent");
	is_int(recstore_each(root, "k_a", 0, NULL, NULL), 0, "and is not listed");
	is_int(recstore_update(root, "k_a", "c1", 0, 0, set_to, "two"), 1, "the next change replaces it");
	v = get("k_a", "c1");
	is_str(v, "two", "whole again");
	free(v);
	/* a flipped byte in the data */
	int fd = open(path, O_RDWR);
	lseek(fd, -1, SEEK_END);
	ok(write(fd, "X", 1) == 1, "flip the last byte");
	close(fd);
	ok(!get("k_a", "c1"), "a record that fails its checksum reads as absent");
	is_int(recstore_update(root, "k_a", "c1", 0, 0, set_to, "three"), 1, "and is replaced");
	free(tmp);
	free(dir);
	free(path);
}

static void test_limit_and_age(void)
{
	const char *ids[] = { "l1", "l2", "l3" };
	for (int i = 0; i < 3; i++) {
		is_int(recstore_update(root, "k_l", ids[i], 0, 2, set_to, "v"), 1, ids[i]);
		char *p = file_of("k_l", ids[i]);
		age(p, 100 - i * 10);   /* l1 oldest */
		free(p);
	}
	is_int(recstore_each(root, "k_l", 0, NULL, NULL), 2, "at most two kept");
	errno = 0;
	ok(!recstore_get(root, "k_l", "l1", 0, NULL, NULL) && errno == ENOENT, "the least recently changed went");
	char *l2 = get("k_l", "l2"), *l3 = get("k_l", "l3");
	ok(l2 && l3, "the others stay");
	free(l2);
	free(l3);
	char *p = file_of("k_l", "l2");
	age(p, 5000);
	free(p);
	ok(!recstore_get(root, "k_l", "l2", 1000, NULL, NULL), "older than the age: absent");
	is_int(recstore_each(root, "k_l", 1000, NULL, NULL), 1, "and not listed");
	is_int(recstore_sweep(root, 1000, 0), 1, "the sweep deletes it");
	is_int(recstore_sweep(root, 1000, 3600), 0, "and does not run again within its interval");
	is_int(recstore_each(root, "k_l", 0, NULL, NULL), 1, "one left");
}

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		recstore_update(root, "k_c", "n", 0, 0, append_x, NULL);
	return NULL;
}

static void test_concurrent(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	size_t n = 0;
	char *v = recstore_get(root, "k_c", "n", 0, &n, NULL);
	is_int(n, 40, "two writers, 20 changes each: none lost");
	free(v);
}

static void test_parse(void)
{
	const char *id, *data;
	size_t il, dl;
	static const char *const bad[] = { "", "LGR1", "LGR1 2 3 0123456789abcdef\nidabc", "LGR2 2 3 x\n",
					   "LGR1 0 0 0123456789abcdef\n", "LGR1 99999999999 1 0123456789abcdef\nx" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(recstore_parse(bad[i], strlen(bad[i]), &id, &il, &data, &dl) == -1, "bad record %zu refused", i);
	char *path = file_of("k_a", "c1");
	size_t n = 0;
	FILE *f = fopen(path, "r");
	char buf[256];
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ok(recstore_parse(buf, n, &id, &il, &data, &dl) == 0 && il == 2 && !memcmp(id, "c1", 2) && dl == 5 &&
	   !memcmp(data, "three", 5), "a written record parses");
	ok(recstore_parse(buf, n - 1, &id, &il, &data, &dl) == -1, "one byte short: refused");
	free(path);
}

int main(void)
{
	log_init("test", LOG_ERR);
	snprintf(root, sizeof(root), "/tmp/llmgate-test-recstore-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_basics();
	test_torn();
	test_limit_and_age();
	test_concurrent();
	test_parse();
	char *cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("could not remove %s", root);
	free(cmd);
	return done_testing();
}
