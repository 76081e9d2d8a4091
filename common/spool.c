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
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_PAGE 4096u
#define SPOOL_FREE_MARGIN (1u << 20)   /* kept free where space can only be checked */
#define SPOOL_PROBE_BYTES (64u << 10)  /* free space that ends "no space": a few pages freed do not */

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
	pthread_mutex_init(&s->space_mu, NULL);
	pthread_mutex_init(&s->kept_mu, NULL);
	pthread_mutex_init(&s->retry_mu, NULL);
	s->fd = -1;
	s->prealloc = 1;
	s->dir = xasprintf("%s/spool", state_dir);
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create usage spool %s: %s", s->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void set_err(struct spool *s, int err)
{
	__atomic_store_n(&s->last_err, err, __ATOMIC_RELAXED);
}

/* Make sure the current segment has room up to offset end: pre-allocate
 * (rounded up to a page), or where the file system cannot, check that the
 * free space exceeds it by a margin. With space_mu held, or the lock
 * exclusive. 0, or -1 (s->last_err). */
static int grow(struct spool *s, size_t end)
{
	if (end <= s->alloc_end)
		return 0;
	size_t to = (end + SPOOL_PAGE - 1) / SPOOL_PAGE * SPOOL_PAGE;
	if (s->prealloc) {
		int rc;
		do {
			rc = fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)s->alloc_end, (off_t)(to - s->alloc_end));
		} while (rc != 0 && errno == EINTR);
		if (rc == 0) {
			s->alloc_end = to;
			set_err(s, 0);
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != ENOSYS) {
			set_err(s, errno);
			return -1;
		}
		s->prealloc = 0;
		log_info("%s cannot pre-allocate; the free space is checked instead", s->dir);
	}
	struct statvfs vf;
	if (fstatvfs(s->fd, &vf) != 0) {
		set_err(s, errno);
		return -1;
	}
	if ((unsigned long long)vf.f_bavail * vf.f_frsize < (unsigned long long)(to - s->alloc_end) + SPOOL_FREE_MARGIN) {
		set_err(s, ENOSPC);
		return -1;
	}
	s->alloc_end = to;
	set_err(s, 0);
	return 0;
}

/* Open a fresh segment as the current one. With s->lock held for writing
 * and no current segment. */
static int new_segment(struct spool *s)
{
	uint32_t rnd = 0;
	random_bytes(&rnd, sizeof(rnd));
	int64_t now = pool_now_ms();
	snprintf(s->name, sizeof(s->name), "seg-%013lld-%d-%08x", (long long)now, (int)getpid(), rnd);
	char *path = xasprintf("%s/%s.open", s->dir, s->name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(s, errno);
		free(path);
		return -1;
	}
	/* blocking: a claimer may hold this new, empty file's lock for a
	 * moment while it looks at it (and leaves empty ones alone) */
	if (flock(fd, LOCK_EX) != 0) {
		set_err(s, errno);
		close(fd);
		unlink(path);
		free(path);
		return -1;
	}
	free(path);
	s->fd = fd;
	s->opened_ms = now;
	s->bytes = 0;
	s->alloc_end = 0;
	__atomic_store_n(&s->records, 0, __ATOMIC_RELAXED);
	return 0;
}

/* A segment taken off the writer, to be closed without holding its lock. */
struct retired {
	int fd;
	unsigned long records;
	size_t bytes, alloc_end;
	int64_t opened_ms;
	char name[SPOOL_NAME_MAX];
};

/* with s->lock held for writing: no appender holds the fd any more */
static void retire_segment(struct spool *s, struct retired *r)
{
	r->fd = s->fd;
	r->records = s->records;
	r->bytes = s->bytes;
	r->alloc_end = s->alloc_end;
	r->opened_ms = s->opened_ms;
	memcpy(r->name, s->name, sizeof(r->name));
	s->fd = -1;
}

/* Close a retired segment: give back its unused pre-allocated space, fsync,
 * rename .open -> .ready (or remove an empty one), then close, which
 * releases its flock after the rename. Done outside s->lock, so requests
 * are not held up by the disk. */
static void finish_segment(const struct spool *s, struct retired *r)
{
	if (r->fd < 0)
		return;
	char *from = xasprintf("%s/%s.open", s->dir, r->name);
	if (r->records == 0) {
		unlink(from);
	} else {
		char *to = xasprintf("%s/%s.ready", s->dir, r->name);
		struct stat st;
		if (fstat(r->fd, &st) == 0 && ftruncate(r->fd, st.st_size) != 0)
			log_warn("cannot trim spool segment %s: %s", from, strerror(errno));
		fsync(r->fd);
		if (rename(from, to) != 0)
			log_err("cannot close spool segment %s: %s", from, strerror(errno));
		free(to);
	}
	free(from);
	close(r->fd);
	r->fd = -1;
}

/* Replace the current segment by a fresh one that holds the outstanding
 * reservations; the old one goes to old (to be finished). Without
 * reservations the next record opens the next segment. If the fresh one
 * cannot be made, the current one stays. With s->lock held for writing.
 * 0 or -1. */
static int switch_segment(struct spool *s, struct retired *old)
{
	retire_segment(s, old);
	if (s->reserved == 0)
		return 0;
	if (new_segment(s) == 0 && grow(s, s->reserved) == 0)
		return 0;
	if (s->fd >= 0) {
		char *path = xasprintf("%s/%s.open", s->dir, s->name);
		unlink(path);
		free(path);
		close(s->fd);
	}
	s->fd = old->fd;
	s->bytes = old->bytes;
	s->alloc_end = old->alloc_end;
	s->opened_ms = old->opened_ms;
	__atomic_store_n(&s->records, old->records, __ATOMIC_RELAXED);
	memcpy(s->name, old->name, sizeof(s->name));
	old->fd = -1;
	return -1;
}

int spool_reserve(struct spool *s)
{
	int rc = -1;
	pthread_rwlock_rdlock(&s->lock);
	if (s->fd >= 0) {
		pthread_mutex_lock(&s->space_mu);
		rc = grow(s, s->bytes + s->reserved + SPOOL_RESERVE_BYTES);
		if (rc == 0)
			s->reserved += SPOOL_RESERVE_BYTES;
		pthread_mutex_unlock(&s->space_mu);
		pthread_rwlock_unlock(&s->lock);
		return rc;
	}
	pthread_rwlock_unlock(&s->lock);
	pthread_rwlock_wrlock(&s->lock);   /* to open a segment */
	if (s->fd >= 0 || new_segment(s) == 0)
		rc = grow(s, s->bytes + s->reserved + SPOOL_RESERVE_BYTES);
	if (rc == 0)
		s->reserved += SPOOL_RESERVE_BYTES;
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

int spool_probe(struct spool *s)
{
	int rc = -1;
	pthread_rwlock_wrlock(&s->lock);
	if (s->fd >= 0 || new_segment(s) == 0) {
		size_t held = s->bytes + s->reserved;
		rc = grow(s, (held > s->alloc_end ? held : s->alloc_end) + SPOOL_PROBE_BYTES);
	}
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

void spool_unreserve(struct spool *s)
{
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->space_mu);
	s->reserved -= SPOOL_RESERVE_BYTES;
	pthread_mutex_unlock(&s->space_mu);
	pthread_rwlock_unlock(&s->lock);
}

/* Account a record of need bytes in the current segment: it goes into the
 * caller's reservation (held), or into space allocated for it, never into
 * another request's. With s->lock held (either way). 0 or -1. */
static int take_space(struct spool *s, size_t need, int held)
{
	pthread_mutex_lock(&s->space_mu);
	size_t others = s->reserved - (held ? SPOOL_RESERVE_BYTES : 0);
	int rc = grow(s, s->bytes + need + others);
	if (held)
		s->reserved -= SPOOL_RESERVE_BYTES;
	if (rc == 0)
		__atomic_add_fetch(&s->bytes, need, __ATOMIC_RELAXED);   /* read by appenders without space_mu */
	pthread_mutex_unlock(&s->space_mu);
	return rc;
}

/* End a segment a write failed on: a short write left a partial line, so
 * end it and start a fresh segment. */
static void mend_after_failure(struct spool *s, const char *wrote_to, ssize_t w)
{
	struct retired bad = { .fd = -1 };
	pthread_rwlock_wrlock(&s->lock);
	if (s->fd >= 0 && !strcmp(s->name, wrote_to)) {   /* not mended by another meanwhile */
		if (w > 0 && write(s->fd, "\n", 1) != 1)
			set_err(s, errno);   /* what cut the record short, likely */
		retire_segment(s, &bad);
	}
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &bad);
}

/* Appenders share the lock: each record goes out in one writev to the
 * O_APPEND file, and the kernel appends one write at a time (the inode's
 * lock), so records never interleave and no appender waits on another in
 * user space. Opening, closing and mending a segment take it alone. */
int spool_append(struct spool *s, const char *json, size_t len, int held, char seg_out[SPOOL_NAME_MAX])
{
	if (len + 1 > SPOOL_RECORD_MAX) {
		log_err("usage record of %zu bytes over the limit; not written", len);
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
		if (held)
			spool_unreserve(s);
		set_err(s, EFBIG);
		return -1;
	}
	/* the record and its newline in one system call */
	struct iovec iov[2] = { { (void *)json, len }, { (void *)"\n", 1 } };
	int exclusive = 0, switched = 0;
	struct retired full_seg = { .fd = -1 };
	pthread_rwlock_rdlock(&s->lock);
	for (;;) {
		if (s->fd >= 0 && (switched || __atomic_load_n(&s->bytes, __ATOMIC_RELAXED) + len + 1 <= SPOOL_ROTATE_BYTES))
			break;
		if (!exclusive) {
			pthread_rwlock_unlock(&s->lock);
			pthread_rwlock_wrlock(&s->lock);
			exclusive = 1;
			continue;   /* another may have done it meanwhile */
		}
		if (s->fd >= 0) {
			switch_segment(s, &full_seg);   /* if it cannot, the full one goes on */
			switched = 1;
			continue;
		}
		if (new_segment(s) != 0)
			break;
	}
	if (s->fd < 0 || take_space(s, len + 1, held) != 0) {
		if (s->fd < 0 && held)
			s->reserved -= SPOOL_RESERVE_BYTES;   /* exclusive here */
		__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&s->lock);
		finish_segment(s, &full_seg);
		return -1;
	}
	ssize_t w;
	do {
		w = writev(s->fd, iov, 2);
	} while (w < 0 && errno == EINTR);
	if (w == (ssize_t)(len + 1)) {
		__atomic_add_fetch(&s->records, 1, __ATOMIC_RELAXED);
		if (seg_out)
			memcpy(seg_out, s->name, SPOOL_NAME_MAX);
		pthread_rwlock_unlock(&s->lock);
		finish_segment(s, &full_seg);
		return 0;
	}
	set_err(s, w < 0 ? errno : ENOSPC);
	char wrote_to[SPOOL_NAME_MAX];
	memcpy(wrote_to, s->name, sizeof(wrote_to));
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &full_seg);
	__atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
	mend_after_failure(s, wrote_to, w);
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
		switch_segment(s, &r);   /* if it cannot, the next tick tries again */
	pthread_rwlock_unlock(&s->lock);
	finish_segment(s, &r);
}

/* ----------------------------------------------------------- kept records */

void spool_keep(struct spool *s, const char *json, size_t len, const void *meta, size_t metalen)
{
	struct spool_kept k = { .json = xstrndup(json, len), .len = len, .meta = xmalloc(metalen ? metalen : 1),
				.metalen = metalen };
	if (metalen)
		memcpy(k.meta, meta, metalen);
	pthread_mutex_lock(&s->kept_mu);
	s->kept = xrealloc(s->kept, (s->nkept + 1) * sizeof(*s->kept));
	s->kept[s->nkept++] = k;
	pthread_mutex_unlock(&s->kept_mu);
}

size_t spool_kept_count(struct spool *s)
{
	pthread_mutex_lock(&s->kept_mu);
	size_t n = s->nkept;
	pthread_mutex_unlock(&s->kept_mu);
	return n;
}

size_t spool_retry(struct spool *s, void (*written)(const void *meta, const char *seg, void *user), void *user)
{
	pthread_mutex_lock(&s->retry_mu);
	pthread_mutex_lock(&s->kept_mu);
	struct spool_kept *k = s->kept;
	size_t n = s->nkept, i = 0;
	s->kept = NULL;
	s->nkept = 0;
	pthread_mutex_unlock(&s->kept_mu);
	for (; i < n; i++) {
		char seg[SPOOL_NAME_MAX];
		if (spool_append(s, k[i].json, k[i].len, 0, seg) != 0)
			break;
		if (written)
			written(k[i].meta, seg, user);
		free(k[i].json);
		free(k[i].meta);
	}
	/* what is left goes back before what was kept meanwhile */
	pthread_mutex_lock(&s->kept_mu);
	size_t left = n - i;
	if (left) {
		k = memmove(k, k + i, left * sizeof(*k));
		k = xrealloc(k, (left + s->nkept) * sizeof(*k));
		if (s->nkept)
			memcpy(k + left, s->kept, s->nkept * sizeof(*k));
		free(s->kept);
		s->kept = k;
		s->nkept += left;
	} else {
		free(k);
	}
	size_t still = s->nkept;
	pthread_mutex_unlock(&s->kept_mu);
	pthread_mutex_unlock(&s->retry_mu);
	return still;
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
	for (size_t i = 0; i < s->nkept; i++) {
		free(s->kept[i].json);
		free(s->kept[i].meta);
	}
	free(s->kept);
	s->kept = NULL;
	s->nkept = 0;
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->space_mu);
	pthread_mutex_destroy(&s->kept_mu);
	pthread_mutex_destroy(&s->retry_mu);
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

int spool_scan(const char *spool_dir, const char *suffix, char ***out, size_t *count)
{
	size_t n = 0;
	char **list = NULL;
	*out = NULL;
	*count = 0;
	DIR *d = opendir(spool_dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	/* readdir says end and error alike with NULL: only errno tells (an
	 * EOVERFLOW of a 32-bit build without large files is no empty folder) */
	for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
		if (strncmp(e->d_name, "seg-", 4) || !has_suffix(e->d_name, suffix))
			continue;
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n++] = xstrndup(e->d_name, strlen(e->d_name) - strlen(suffix));
	}
	int err = errno;
	closedir(d);
	if (err) {
		spool_free_list(list, n);
		errno = err;
		return -1;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_str);
	*out = list;
	*count = n;
	return 0;
}

size_t spool_list(const char *spool_dir, const char *suffix, char ***out)
{
	size_t n;
	if (spool_scan(spool_dir, suffix, out, &n) != 0) {
		log_err("cannot read spool folder %s: %s", spool_dir, strerror(errno));
		return 0;
	}
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

long long spool_backlog_bytes(const char *spool_dir)
{
	long long total = 0;
	DIR *d = opendir(spool_dir);
	if (!d)
		return 0;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "seg-", 4) || (!has_suffix(e->d_name, ".open") && !has_suffix(e->d_name, ".ready")))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) == 0)
			total += (long long)st.st_size;
	}
	closedir(d);
	return total;
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
