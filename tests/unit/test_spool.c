/* test_spool.c — the usage spool: append, rotate, orphans, partial lines. */
#include "autoconf.h"
#include "spool.h"
#include "log.h"
#include "tap.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <signal.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* readdir failing on demand (linked with --wrap=readdir, and readdir64:
 * what a 32-bit glibc build with large files calls): the EOVERFLOW a 32-bit
 * build without large files meets on a 64-bit inode */
#include <dirent.h>
static int readdir_fails;
static int failing_now(void)
{
	if (readdir_fails)
		errno = EOVERFLOW;
	return readdir_fails;
}
struct dirent *__real_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d)
{
	return failing_now() ? NULL : __real_readdir(d);
}
#ifdef __GLIBC__
struct dirent64 *__real_readdir64(DIR *d);
struct dirent64 *__wrap_readdir64(DIR *d);
struct dirent64 *__wrap_readdir64(DIR *d)
{
	return failing_now() ? NULL : __real_readdir64(d);
}
#endif

static int count_line(const char *line, size_t len, void *user)
{
	int *n = user;
	(*n)++;
	(void)line;
	(void)len;
	return 0;
}

/* many threads appending to one spool while it is rotated under them */
#define W_THREADS 8
#define W_RECORDS 2000
struct writer {
	struct spool *s;
	int idx, failed;
};

static void *append_many(void *p)
{
	struct writer *w = p;
	char rec[600];
	for (int i = 0; i < W_RECORDS; i++) {
		/* records of different lengths, long enough to span a page now and then */
		int pad = (i * 37 + w->idx * 101) % 500;
		int n = snprintf(rec, sizeof(rec), "{\"w\":%d,\"i\":%d,\"pad\":\"%*s\"}", w->idx, i, pad, "");
		if (spool_append(w->s, rec, (size_t)n, 0, NULL) != 0)
			w->failed++;
	}
	return NULL;
}

static void *rotate_often(void *p)
{
	struct spool *s = p;
	for (int i = 0; i < 200; i++) {
		spool_rotate(s, 1);
		usleep(200);
	}
	return NULL;
}

struct tally {
	int seen[W_THREADS][W_RECORDS];
	int bad;
};

static int tally_line(const char *line, size_t len, void *user)
{
	struct tally *t = user;
	int w, i, used = 0;
	if (sscanf(line, "{\"w\":%d,\"i\":%d,\"pad\":\"%*[ ]\"}%n", &w, &i, &used) != 2 || w < 0 ||
	    w >= W_THREADS || i < 0 || i >= W_RECORDS || (size_t)used != len) {
		/* an empty pad leaves %*[ ] unmatched: check that case by hand */
		char want[64];
		int n = (w >= 0 && w < W_THREADS && i >= 0 && i < W_RECORDS)
			? snprintf(want, sizeof(want), "{\"w\":%d,\"i\":%d,\"pad\":\"\"}", w, i) : -1;
		if (n < 0 || (size_t)n != len || memcmp(want, line, len)) {
			t->bad++;
			return 0;
		}
	}
	t->seen[w][i]++;
	return 0;
}

static void concurrent_appends(void)
{
	char dir[] = "/tmp/llmgate-test-spool-mt-XXXXXX";
	char sdir[128], path[256];
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct spool s;
	char **list;
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	is_int(spool_open(&s, dir), 0, "open for the threads");
	pthread_t t[W_THREADS], rot;
	struct writer w[W_THREADS];
	for (int i = 0; i < W_THREADS; i++) {
		w[i] = (struct writer){ &s, i, 0 };
		pthread_create(&t[i], NULL, append_many, &w[i]);
	}
	pthread_create(&rot, NULL, rotate_often, &s);
	int failed = 0;
	for (int i = 0; i < W_THREADS; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].failed;
	}
	pthread_join(rot, NULL);
	spool_close(&s);
	is_int(failed, 0, "every append by 8 threads succeeded");
	size_t n = spool_list(sdir, ".ready", &list);
	ok(n > 1, "segments were rotated while the threads wrote (%zu)", n);
	struct tally *tl = calloc(1, sizeof(*tl));
	int partial = 0, total = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s.ready", sdir, list[i]);
		int p = 0;
		total += (int)spool_read(path, tally_line, tl, &p);
		partial += p;
		unlink(path);
	}
	spool_free_list(list, n);
	is_int(total, W_THREADS * W_RECORDS, "as many lines as records appended");
	is_int(tl->bad, 0, "no line mixes two records");
	is_int(partial, 0, "no partial line");
	int once = 1;
	for (int i = 0; i < W_THREADS; i++)
		for (int j = 0; j < W_RECORDS; j++)
			once &= tl->seen[i][j] == 1;
	ok(once, "each record exactly once");
	free(tl);
	is_int(spool_list(sdir, ".open", &list), 0, "nothing left open");
	spool_free_list(list, 0);
	rmdir(sdir);
	rmdir(dir);
}

static int written_calls;
static char written_seg[SPOOL_NAME_MAX];
static long written_meta;

static void on_written(const void *meta, const char *seg, void *user)
{
	(void)user;
	written_calls++;
	memcpy(&written_meta, meta, sizeof(written_meta));
	snprintf(written_seg, sizeof(written_seg), "%s", seg);
}

/* A write that fails after its space was held (here: the file-size limit,
 * as EIO would): the record is kept in memory, retried, and written once
 * writing works again; never dropped. */
static void kept_and_retried(void)
{
	char dir[] = "/tmp/llmgate-test-kept-XXXXXX";
	char sdir[128], path[256];
	struct spool s;
	struct rlimit old, lim;
	if (!mkdtemp(dir))
		return;
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	spool_open(&s, dir);
	is_int(spool_reserve(&s), 0, "space held for a record");
	is_int(s.reserved, SPOOL_RESERVE_BYTES, "one reservation");
	ok(s.alloc_end >= SPOOL_RESERVE_BYTES, "pre-allocated in the segment");
	/* while the limit holds, nothing is printed: this test's own output
	 * may be a file (make check) */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 0;
	fflush(stdout);
	setrlimit(RLIMIT_FSIZE, &lim);
	const char *rec = "{\"id\":\"kept\"}";
	int appended = spool_append(&s, rec, strlen(rec), 1, NULL);
	size_t reserved_after = s.reserved;
	int err = s.last_err;
	long meta = 42;
	spool_keep(&s, rec, strlen(rec), &meta, sizeof(meta));
	size_t kept = spool_kept_count(&s);
	size_t still = spool_retry(&s, on_written, NULL);
	setrlimit(RLIMIT_FSIZE, &old);
	is_int(appended, -1, "the write fails");
	is_int(reserved_after, 0, "its reservation is given back anyway");
	ok(err != 0, "the error is kept for the caller");
	is_int(kept, 1, "kept in memory");
	is_int(still, 1, "a retry while writing still fails keeps it");
	is_int(written_calls, 0, "nothing reported written");
	is_int(spool_retry(&s, on_written, NULL), 0, "written once writing works again");
	is_int(written_calls, 1, "reported written once");
	is_int(written_meta, 42, "with its meta");
	ok(written_seg[0] != '\0', "and its segment");
	spool_rotate(&s, 1);
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, written_seg);
	int n = 0, partial;
	is_int(spool_read(path, count_line, &n, &partial), 1, "the kept record is in its segment");
	spool_close(&s);
	char **list;
	size_t k = spool_list(sdir, ".ready", &list);
	for (size_t i = 0; i < k; i++) {
		snprintf(path, sizeof(path), "%s/%s.ready", sdir, list[i]);
		unlink(path);
	}
	spool_free_list(list, k);
	rmdir(sdir);
	rmdir(dir);
}

/* Fill the file system of dir; returns the filler's path (to remove). */
static void fill_up(const char *dir, char *path, size_t n)
{
	snprintf(path, n, "%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static char chunk[65536];
	for (size_t size = sizeof(chunk); size >= 1; size /= 8) {
		while (write(fd, chunk, size) > 0)
			;
	}
	close(fd);
}

/* On a small tmpfs (root only): reservations are real space. Once the
 * disk is full, new reservations fail, the held ones are still written,
 * an append without one cannot take theirs, a rotation keeps them. */
static void reservations_on_a_full_disk(void)
{
	char dir[] = "/tmp/llmgate-test-full-XXXXXX";
	char sdir[128], filler[256];
	struct spool s;
	char rec[460];
	if (!mkdtemp(dir))
		return;
	if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
		ok(1, "# SKIP no tmpfs mount here (%s): reservations on a full disk not tested", strerror(errno));
		rmdir(dir);
		return;
	}
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	spool_open(&s, dir);
	memset(rec, 'r', sizeof(rec));
	memcpy(rec, "{\"id\":\"", 7);
	memcpy(rec + sizeof(rec) - 3, "\"}", 3);
	size_t len = strlen(rec);
	is_int(spool_append(&s, rec, len, 0, NULL), 0, "a first record");
	int held = 0;
	for (int i = 0; i < 5; i++)
		held += spool_reserve(&s) == 0;
	is_int(held, 5, "five reservations");
	fill_up(dir, filler, sizeof(filler));
	int refused = 0;
	for (int i = 0; i < 8; i++) {
		if (spool_reserve(&s) == 0)
			held++;
		else
			refused++;
	}
	ok(refused > 0, "reservations refused once the disk is full");
	is_int(s.last_err, ENOSPC, "for want of space");
	is_int(spool_probe(&s), -1, "the probe sees no space");
	char before[SPOOL_NAME_MAX];
	memcpy(before, s.name, sizeof(before));
	spool_rotate(&s, 1);
	ok(s.fd >= 0 && !strcmp(s.name, before), "a rotation that cannot move the reservations keeps the segment");
	/* the unreserved append fills whatever slack is left, then fails */
	int unheld_failed = 0;
	for (int i = 0; i < 20 && !unheld_failed; i++)
		unheld_failed = spool_append(&s, rec, len, 0, NULL) != 0;
	ok(unheld_failed, "an append without a reservation does not take the held space");
	int written = 0;
	for (int i = 0; i < held; i++)
		written += spool_append(&s, rec, len, 1, NULL) == 0;
	is_int(written, held, "every held record is written on the full disk");
	is_int(s.reserved, 0, "no reservation left");
	unlink(filler);
	is_int(spool_probe(&s), 0, "the probe sees space again");
	is_int(spool_reserve(&s), 0, "and reservations are made again");
	spool_unreserve(&s);
	spool_close(&s);
	umount(dir);
	rmdir(dir);
}

int main(void)
{
	char dir[] = "/tmp/llmgate-test-spool-XXXXXX";
	char sdir[128], path[256], seg[SPOOL_NAME_MAX], seg2[SPOOL_NAME_MAX];
	struct spool s;
	char **list;
	int partial;
	log_init("test", LOG_ERR);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);

	is_int(spool_open(&s, dir), 0, "open creates the spool dir");
	struct stat st;
	ok(stat(sdir, &st) == 0 && (st.st_mode & 0777) == 0700, "spool dir is 0700");
	is_int(spool_append(&s, "{\"id\":\"a\"}", 10, 0, seg), 0, "append");
	is_int(spool_append(&s, "{\"id\":\"b\"}", 10, 0, seg2), 0, "append again");
	is_str(seg, seg2, "same segment");
	is_int(spool_list(sdir, ".open", &list), 1, "one open segment");
	is_str(list[0], seg, "named as reported");
	spool_free_list(list, 1);
	size_t nscan = 9;
	readdir_fails = 1;
	is_int(spool_scan(sdir, ".open", &list, &nscan), -1, "a folder that cannot be read is no empty folder");
	is_int(errno, EOVERFLOW, "the reason is kept in errno");
	ok(!list && nscan == 0, "and nothing is listed");
	is_int(spool_list(sdir, ".open", &list), 0, "spool_list says 0 segments (and logs why)");
	readdir_fails = 0;
	is_int(spool_scan(sdir, ".open", &list, &nscan), 0, "read again once it can be");
	is_int(nscan, 1, "the segment is there");
	spool_free_list(list, nscan);
	snprintf(path, sizeof(path), "%s/none", dir);
	is_int(spool_scan(path, ".open", &list, &nscan), 0, "a missing folder is empty");
	is_int(nscan, 0, "with nothing in it");
	is_int(spool_claim_orphans(sdir), 0, "a live writer's segment is not claimed");
	spool_rotate(&s, 0);
	is_int(spool_list(sdir, ".ready", &list), 0, "not rotated before its time");
	spool_free_list(list, 0);
	spool_rotate(&s, 1);
	is_int(spool_list(sdir, ".ready", &list), 1, "forced rotation closes it");
	spool_free_list(list, 1);
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, seg);
	int n = 0;
	is_int(spool_read(path, count_line, &n, &partial), 2, "two records read back");
	is_int(partial, 0, "no partial line");
	spool_rotate(&s, 1);
	is_int(spool_list(sdir, ".open", &list), 0, "an empty writer leaves no segment");
	spool_free_list(list, 0);

	/* too large a record is refused, nothing written */
	char *big = malloc(SPOOL_RECORD_MAX + 10);
	memset(big, 'x', SPOOL_RECORD_MAX + 9);
	big[SPOOL_RECORD_MAX + 9] = '\0';
	is_int(spool_append(&s, big, strlen(big), 0, NULL), -1, "oversized record refused");
	free(big);
	spool_close(&s);

	/* a writer killed with a segment open: its lock dies with it */
	pid_t pid = fork();
	if (pid == 0) {
		struct spool c;
		spool_open(&c, dir);
		spool_append(&c, "{\"id\":\"c\"}", 10, 0, NULL);
		/* a partial line, as a kill in the middle of a write would leave */
		int fd = c.fd;
		if (write(fd, "{\"id\":\"parti", 12) != 12)
			_exit(2);
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	int status;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status), "writer was killed");
	is_int(spool_list(sdir, ".open", &list), 1, "its segment is still .open");
	spool_free_list(list, 1);
	is_int(spool_claim_orphans(sdir), 1, "claimed as an orphan");
	is_int(spool_list(sdir, ".ready", &list), 2, "now two ready segments");
	snprintf(path, sizeof(path), "%s/%s.ready", sdir, list[1]);
	n = 0;
	is_int(spool_read(path, count_line, &n, &partial), 1, "the complete record is kept");
	is_int(partial, 1, "the partial line is skipped and counted");
	ok(strcmp(list[0], list[1]) < 0, "names sort by creation time");
	spool_free_list(list, 2);

	/* a fresh empty .open held by nobody is left alone (a writer may be about to lock it) */
	snprintf(path, sizeof(path), "%s/seg-9999999999999-1-00000000.open", sdir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	is_int(spool_claim_orphans(sdir), 0, "a new empty segment is not claimed");
	ok(access(path, F_OK) == 0, "and not removed");
	unlink(path);

	concurrent_appends();
	kept_and_retried();
	reservations_on_a_full_disk();
	return done_testing();
}
