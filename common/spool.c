/* spool.c — the usage spool: append-only segment files, one writer each. */
#include "autoconf.h"
#include "spool.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "xmalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int spool_open(struct spool *s, const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
	/* appenders come without pause under load: let a rotation in */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	pthread_rwlock_init(&s->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	s->fd = -1;
	s->dir = xasprintf("%s/spool", state_dir);
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create usage spool %s: %s", s->dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* with s->lock held for writing */
static int new_segment(struct spool *s)
{
	uint32_t rnd = 0;
	random_bytes(&rnd, sizeof(rnd));
	int64_t now = pool_now_ms();
	snprintf(s->name, sizeof(s->name), "seg-%013lld-%d-%08x", (long long)now, (int)getpid(), rnd);
	char *path = xasprintf("%s/%s.open", s->dir, s->name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_err("cannot create spool segment %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* blocking: a claimer may hold this new, empty file's lock for a
	 * moment while it looks at it (and leaves empty ones alone) */
	if (flock(fd, LOCK_EX) != 0) {
		log_err("cannot lock spool segment %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(path);
		return -1;
	}
	free(path);
	s->fd = fd;
	s->opened_ms = now;
	__atomic_store_n(&s->bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->records, 0, __ATOMIC_RELAXED);
	return 0;
}

/* A segment taken off the writer, to be closed without holding its lock. */
struct retired {
	int fd;
	unsigned long records;
	char name[SPOOL_NAME_MAX];
};

/* with s->lock held for writing: no appender holds the fd any more */
static void retire_segment(struct spool *s, struct retired *r)
{
	r->fd = s->fd;
	r->records = s->records;
	memcpy(r->name, s->name, sizeof(r->name));
	s->fd = -1;
}

/* Close a retired segment: fsync, rename .open -> .ready (or remove an
 * empty one), then close, which releases its flock after the rename. Done
 * outside s->lock, so requests are not held up by the disk. */
static void finish_segment(const struct spool *s, struct retired *r)
{
	if (r->fd < 0)
		return;
	char *from = xasprintf("%s/%s.open", s->dir, r->name);
	if (r->records == 0) {
		unlink(from);
	} else {
		char *to = xasprintf("%s/%s.ready", s->dir, r->name);
		fsync(r->fd);
		if (rename(from, to) != 0)
			log_err("cannot close spool segment %s: %s", from, strerror(errno));
		free(to);
	}
	free(from);
	close(r->fd);
	r->fd = -1;
}

/* Appenders share the lock: each record goes out in one writev to the
 * O_APPEND file, and the kernel appends one write at a time (the inode's
 * lock), so records never interleave and no appender waits on another in
 * user space. Opening, closing and mending a segment take it alone. */
int spool_append(struct spool *s, const char *json, size_t len, char seg_out[SPOOL_NAME_MAX])
{
	if (len + 1 > SPOOL_RECORD_MAX) {
		log_err("usage record of %zu bytes over the limit; not written", len);
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
		return -1;
	}
	/* the record and its newline in one system call */
	struct iovec iov[2] = { { (void *)json, len }, { (void *)"\n", 1 } };
	int exclusive = 0;
	struct retired full_seg = { .fd = -1 };
	pthread_rwlock_rdlock(&s->lock);
	for (;;) {
		int full = s->fd >= 0 && __atomic_load_n(&s->bytes, __ATOMIC_RELAXED) + len + 1 > SPOOL_ROTATE_BYTES;
		if (s->fd >= 0 && !full)
			break;
		if (!exclusive) {
			pthread_rwlock_unlock(&s->lock);
			pthread_rwlock_wrlock(&s->lock);
			exclusive = 1;
			continue;   /* another may have done it meanwhile */
		}
		if (full)
			retire_segment(s, &full_seg);
		if (new_segment(s) != 0) {
			__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
			pthread_rwlock_unlock(&s->lock);
			finish_segment(s, &full_seg);
			return -1;
		}
	}
	ssize_t w;
	do {
		w = writev(s->fd, iov, 2);
	} while (w < 0 && errno == EINTR);
	if (w == (ssize_t)(len + 1)) {
		__atomic_add_fetch(&s->bytes, len + 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->records, 1, __ATOMIC_RELAXED);
		if (seg_out)
			memcpy(seg_out, s->name, SPOOL_NAME_MAX);
		pthread_rwlock_unlock(&s->lock);
		finish_segment(s, &full_seg);
		return 0;
	}
	int err = errno;
	char wrote_to[SPOOL_NAME_MAX];
	memcpy(wrote_to, s->name, sizeof(wrote_to));
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &full_seg);
	log_err("usage spool write failed: %s", w < 0 ? strerror(err) : "short write");
	__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
	/* a short write left a partial line: end it and start a fresh segment */
	struct retired bad = { .fd = -1 };
	pthread_rwlock_wrlock(&s->lock);
	if (s->fd >= 0 && !strcmp(s->name, wrote_to)) {   /* not mended by another meanwhile */
		if (w > 0) {
			ssize_t nl = write(s->fd, "\n", 1);
			(void)nl;
		}
		retire_segment(s, &bad);
	}
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &bad);
	return -1;
}

static int rotation_due(struct spool *s, int force)
{
	return s->fd >= 0 && __atomic_load_n(&s->records, __ATOMIC_RELAXED) > 0 &&
	       (force || pool_now_ms() - s->opened_ms >= SPOOL_ROTATE_MS);
}

void spool_rotate(struct spool *s, int force)
{
	/* called every second: a look that does not stop the appenders first */
	pthread_rwlock_rdlock(&s->lock);
	int due = rotation_due(s, force);
	pthread_rwlock_unlock(&s->lock);
	if (!due)
		return;
	struct retired r = { .fd = -1 };
	pthread_rwlock_wrlock(&s->lock);
	if (rotation_due(s, force))
		retire_segment(s, &r);
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &r);
}

void spool_close(struct spool *s)
{
	if (!s->dir)
		return;
	struct retired r = { .fd = -1 };
	pthread_rwlock_wrlock(&s->lock);
	if (s->fd >= 0)
		retire_segment(s, &r);
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &r);
	pthread_rwlock_destroy(&s->lock);
	free(s->dir);
	s->dir = NULL;
}

/* ----------------------------------------------------------- reader side */

static int has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);
	return n > m && !strcmp(name + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t spool_list(const char *spool_dir, const char *suffix, char ***out)
{
	size_t n = 0;
	char **list = NULL;
	DIR *d = opendir(spool_dir);
	*out = NULL;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) || !has_suffix(e->d_name, suffix))
			continue;
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n++] = xstrndup(e->d_name, strlen(e->d_name) - strlen(suffix));
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_str);
	*out = list;
	return n;
}

void spool_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int spool_claim_orphans(const char *spool_dir)
{
	char **list;
	int claimed = 0;
	size_t n = spool_list(spool_dir, ".open", &list);
	for (size_t i = 0; i < n; i++) {
		char *from = xasprintf("%s/%s.open", spool_dir, list[i]);
		int fd = open(from, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* the writer is gone (its lock died with it) */
			char *to = xasprintf("%s/%s.ready", spool_dir, list[i]);
			struct stat st;
			if (fstat(fd, &st) != 0) {
				/* leave it */
			} else if (st.st_size == 0) {
				/* a writer may be between open and flock: only drop
				 * empty segments that are clearly old */
				if (time(NULL) - st.st_mtime > 60)
					unlink(from);
			} else if (rename(from, to) == 0) {
				claimed++;
			}
			free(to);
		}
		if (fd >= 0)
			close(fd);
		free(from);
	}
	spool_free_list(list, n);
	return claimed;
}

long spool_read(const char *path, int (*fn)(const char *line, size_t len, void *user), void *user,
		int *partial)
{
	FILE *f = fopen(path, "re");
	if (partial)
		*partial = 0;
	if (!f)
		return -1;
	long count = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			if (partial)
				(*partial)++;
			break;
		}
		line[n - 1] = '\0';
		if (n == 1)
			continue;   /* an empty line (after a repaired short write) */
		count++;
		if (fn && fn(line, (size_t)(n - 1), user) != 0)
			break;
	}
	free(line);
	fclose(f);
	return count;
}

int spool_pending(const char *spool_dir, const char *seg)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s.open", spool_dir, seg);
	if (stat(path, &st) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s.ready", spool_dir, seg);
	return stat(path, &st) == 0;
}
