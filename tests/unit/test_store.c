/* test_store.c — copy-and-rename changes, the lock, and damaged files read as errors. */
#include "autoconf.h"
#include "log.h"
#include "store.h"
#include "tap.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NKEYS 300

static char path[256], tmp[300], lockp[300];

/* A store of NKEYS keys "k<i>" with values long enough to fill several blocks. */
static int fill(void)
{
	unlink(path);
	GDBM_FILE db = store_open(path, STORE_WRITE, 100);
	if (!db)
		return -1;
	char k[32], v[200];
	for (int i = 0; i < NKEYS; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		memset(v, 'a' + i % 26, sizeof(v));
		if (store_put(db, k, v, sizeof(v)) != 0)
			return -1;
	}
	int r = store_sync(db);
	store_close(db);
	return r;
}

static int count_cb(const char *key, const char *val, size_t vlen, void *user)
{
	(void)key; (void)val; (void)vlen;
	++*(int *)user;
	return 0;
}

static void damage(off_t at, size_t n, off_t truncate_to)
{
	int fd = open(path, O_WRONLY);
	if (truncate_to >= 0) {
		if (ftruncate(fd, truncate_to) != 0)
			diag("ftruncate: %s", strerror(errno));
	} else {
		char *z = calloc(1, n);
		if (pwrite(fd, z, n, at) != (ssize_t)n)
			diag("pwrite: %s", strerror(errno));
		free(z);
	}
	close(fd);
}

static void damaged_reads(const char *what)
{
	char why[256] = "";
	int r = store_check(path, NULL, why, sizeof(why));
	is_int(r, -1, what);
	ok(errno == STORE_EDAMAGED && strstr(why, path), "%s: reason given: %s", what, why);
	GDBM_FILE db = store_open(path, STORE_WRITE, 100);
	ok(!db && errno == STORE_EDAMAGED, "%s: a change is refused (errno %d)", what, errno);
	store_close(db);
	ok(access(tmp, F_OK) != 0, "%s: no copy left behind", what);
	db = store_open(path, STORE_READ, 100);
	if (db) {
		int n = 0;
		int e = store_each(db, "", count_cb, &n);
		ok(e == -1, "%s: a traversal reports the error (saw %d keys)", what, n);
		store_close(db);
	} else {
		ok(errno == STORE_EDAMAGED, "%s: open refused as damaged", what);
	}
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-store-XXXXXX";
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(lockp, sizeof(lockp), "%s.lock", path);

	/* absent */
	char why[256];
	is_int(store_check(path, NULL, why, sizeof(why)), 1, "no file: check says absent");
	ok(!store_open(path, STORE_READ, 0) && errno == ENOENT, "no file: reader gets ENOENT");

	is_int(fill(), 0, "a change creates the store");
	long n = 0;
	is_int(store_check(path, &n, why, sizeof(why)), 0, "healthy store checks");
	is_int(n, NKEYS, "every key counted");
	ok(access(tmp, F_OK) != 0, "no copy left after a commit");

	/* an uncommitted change is discarded, and the file is not touched */
	struct store_sig s1, s2;
	store_sig_path(path, &s1);
	GDBM_FILE db = store_open(path, STORE_WRITE, 100);
	ok(db && store_put(db, "extra", "x", 1) == 0, "change begun");
	store_sig_path(path, &s2);
	ok(store_sig_eq(&s1, &s2), "the store is untouched while a change is open");
	store_close(db);
	db = store_open(path, STORE_READ, 0);
	ok(db && !store_get(db, "extra", NULL) && errno == ENOENT, "closed without commit: discarded, absent = ENOENT");
	char *v = store_get(db, "k7", NULL);
	ok(v && v[0] == 'h', "other values still there");
	free(v);
	store_close(db);

	/* a commit replaces the file (new inode); no change after a commit */
	db = store_open(path, STORE_WRITE, 100);
	store_put(db, "extra", "x", 1);
	is_int(store_sync(db), 0, "commit");
	is_int(store_put(db, "late", "y", 1), -1, "no change accepted after the commit");
	GDBM_FILE rd = store_open(path, STORE_READ, 0);
	ok(rd != NULL, "a reader opens the committed store at once, before its writer closes");
	store_close(rd);
	store_close(db);
	store_sig_path(path, &s2);
	ok(!store_sig_eq(&s1, &s2), "the signature changed with the commit");

	/* the lock: a second writer waits, then times out with EAGAIN */
	int fd = open(lockp, O_RDWR);
	ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "lock held from outside");
	db = store_open(path, STORE_WRITE, 30);
	ok(!db && errno == EAGAIN, "writer refused with EAGAIN while the lock is held");
	db = store_open(path, STORE_READ, 0);
	ok(db != NULL, "readers never wait for the lock");
	store_close(db);
	close(fd);

	/* concurrent writers lose nothing */
	for (int p = 0; p < 4; p++) {
		if (fork() == 0) {
			for (int i = 0; i < 10; i++) {
				char k[32];
				snprintf(k, sizeof(k), "w%d-%d", p, i);
				GDBM_FILE w = store_open(path, STORE_WRITE, 5000);
				if (!w || store_put(w, k, "1", 1) != 0 || store_sync(w) != 0)
					_exit(1);
				store_close(w);
			}
			_exit(0);
		}
	}
	int bad = 0, st;
	while (wait(&st) > 0)
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	is_int(bad, 0, "4 writers x 10 changes all succeeded");
	is_int(store_check(path, &n, why, sizeof(why)), 0, "store healthy after them");
	is_int(n, NKEYS + 1 + 40, "no change lost");

	/* damage */
	fill();
	damage(0, 4096, -1);
	damaged_reads("first 4 KiB zeroed");
	fill();
	struct stat sb;
	stat(path, &sb);
	damage(0, 0, sb.st_size / 2);
	damaged_reads("cut in half");
	fill();
	stat(path, &sb);
	damage(sb.st_size / 2, 4096, -1);
	damaged_reads("a block in the middle zeroed");

	unlink(path);
	unlink(tmp);
	unlink(lockp);
	rmdir(dir);
	return done_testing();
}
