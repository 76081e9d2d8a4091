/* recstore.c — records kept one file each, committed by rename (see
 * recstore.h). */
#include "autoconf.h"
#include "recstore.h"
#include "log.h"
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
#include <unistd.h>

#define MAGIC "LGR1 "
#define SUM_HEX 16

/* The first 128 bits of SHA-256 of s (n bytes) in hex. */
static void hash_name(const void *s, size_t n, char out[RECSTORE_HASH_HEX])
{
	unsigned char d[SHA256_DIGEST_LEN];
	sha256(s, n, d);
	hex_encode(d, 16, out);
}

static void checksum(const char *id, size_t idlen, const char *data, size_t len, char out[SUM_HEX + 1])
{
	struct sha256_ctx c;
	unsigned char d[SHA256_DIGEST_LEN];
	sha256_init(&c);
	sha256_update(&c, id, idlen);
	sha256_update(&c, "\n", 1);
	sha256_update(&c, data, len);
	sha256_final(&c, d);
	hex_encode(d, SUM_HEX / 2, out);
}

/* A decimal number of up to 10 digits at *p, ended by a space. */
static int parse_len(const char **p, const char *end, size_t *out)
{
	size_t v = 0, digits = 0;
	while (*p < end && **p >= '0' && **p <= '9' && digits < 10) {
		v = v * 10 + (size_t)(**p - '0');
		(*p)++;
		digits++;
	}
	if (!digits || *p >= end || **p != ' ')
		return -1;
	(*p)++;
	*out = v;
	return 0;
}

int recstore_parse(const char *buf, size_t n, const char **id, size_t *idlen, const char **data, size_t *datalen)
{
	const char *p = buf, *end = buf + n;
	size_t il, dl;
	char sum[SUM_HEX + 1];
	if (n < sizeof(MAGIC) - 1 || memcmp(buf, MAGIC, sizeof(MAGIC) - 1))
		return -1;
	p += sizeof(MAGIC) - 1;
	if (parse_len(&p, end, &il) || parse_len(&p, end, &dl))
		return -1;
	if ((size_t)(end - p) < SUM_HEX + 1 || p[SUM_HEX] != '\n')
		return -1;
	const char *s = p;
	p += SUM_HEX + 1;
	if (il == 0 || il > RECSTORE_ID_MAX || (size_t)(end - p) != il + dl)
		return -1;
	checksum(p, il, p + il, dl, sum);
	if (memcmp(sum, s, SUM_HEX))
		return -1;
	*id = p;
	*idlen = il;
	*data = p + il;
	*datalen = dl;
	return 0;
}

static char *owner_dir(const char *root, const char *owner)
{
	char h[RECSTORE_HASH_HEX];
	hash_name(owner, strlen(owner), h);
	return xasprintf("%s/%s", root, h);
}

static char *record_path(const char *dir, const char *id)
{
	char h[RECSTORE_HASH_HEX];
	hash_name(id, strlen(id), h);
	return xasprintf("%s/%s.r", dir, h);
}

static int args_ok(const char *owner, const char *id)
{
	if (!owner || !*owner || (id && (!*id || strlen(id) > RECSTORE_ID_MAX))) {
		errno = EINVAL;
		return 0;
	}
	return 1;
}

/* The whole file at path (new, NUL-terminated), or NULL with errno. */
static char *read_whole(const char *path, size_t *n, time_t *mtime)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *b = NULL;
	if (fstat(fd, &st) == 0 && st.st_size >= 0 && st.st_size < (1 << 30)) {
		b = xmalloc((size_t)st.st_size + 1);
		ssize_t got = read(fd, b, (size_t)st.st_size);
		if (got < 0) {
			free(b);
			b = NULL;
		} else {
			b[got] = '\0';
			*n = (size_t)got;
			if (mtime)
				*mtime = st.st_mtime;
		}
	}
	int e = errno;
	close(fd);
	errno = e;
	return b;
}

/* The data of the record file at path (new string) if it is whole, holds
 * id (or any, id NULL) and is younger than max_age_s; else NULL, ENOENT. */
static char *load(const char *path, const char *id, long max_age_s, size_t *len, time_t *mtime)
{
	size_t n, il, dl;
	time_t mt;
	const char *pid, *pd;
	char *b = read_whole(path, &n, &mt);
	if (!b)
		return NULL;
	char *out = NULL;
	if (recstore_parse(b, n, &pid, &il, &pd, &dl) != 0)
		log_warn("%s is not a whole record; it reads as absent", path);
	else if ((!id || (strlen(id) == il && !memcmp(id, pid, il))) &&
		 (max_age_s <= 0 || time(NULL) - mt <= max_age_s)) {
		out = xmalloc(dl + 1);
		memcpy(out, pd, dl);
		out[dl] = '\0';
		if (len)
			*len = dl;
		if (mtime)
			*mtime = mt;
	}
	free(b);
	if (!out)
		errno = ENOENT;
	return out;
}

char *recstore_get(const char *root, const char *owner, const char *id, long max_age_s, size_t *len, time_t *mtime)
{
	if (!args_ok(owner, id))
		return NULL;
	char *dir = owner_dir(root, owner);
	char *path = record_path(dir, id);
	char *d = load(path, id, max_age_s, len, mtime);
	int e = errno;
	free(path);
	free(dir);
	errno = e;
	return d;
}

/* The owner's folder made (and root), its lock taken: the lock's fd, or
 * -1 (errno EAGAIN when held longer than RECSTORE_WAIT_MS). */
static int lock_owner(const char *root, const char *dir)
{
	if ((mkdir(root, 0700) != 0 && errno != EEXIST) || (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return -1;
	char *lp = xasprintf("%s/.lock", dir);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lp);
	if (fd < 0)
		return -1;
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 5) {
		if (errno != EWOULDBLOCK || waited >= RECSTORE_WAIT_MS) {
			close(fd);
			errno = EAGAIN;
			return -1;
		}
		usleep(5000);
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the record (id, data) to path by a temporary file in dir, fsync,
 * rename, fsync of dir. 0 or -1 (errno; path unchanged). */
static int commit(const char *dir, const char *path, const char *id, const char *data, size_t len)
{
	static unsigned long seq;
	char sum[SUM_HEX + 1], head[64];
	size_t il = strlen(id);
	checksum(id, il, data, len, sum);
	int hl = snprintf(head, sizeof(head), MAGIC "%zu %zu %s\n", il, len, sum);
	char *tmp = xasprintf("%s/.tmp.%ld.%lu", dir, (long)getpid(), __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd >= 0) {
		rc = write_all(fd, head, (size_t)hl) || write_all(fd, id, il) || write_all(fd, data, len) || fsync(fd) ? -1 : 0;
		int e = errno;
		if (close(fd) != 0 && rc == 0)
			rc = -1;
		if (rc == 0)
			rc = rename(tmp, path);
		else
			errno = e;
		if (rc != 0) {
			e = errno;
			unlink(tmp);
			errno = e;
		}
	}
	if (rc == 0) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(tmp);
	return rc;
}

struct entry {
	char name[RECSTORE_HASH_HEX + 2];
	struct timespec mt;
};

static int entry_older(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->mt.tv_sec != y->mt.tv_sec)
		return x->mt.tv_sec < y->mt.tv_sec ? -1 : 1;
	if (x->mt.tv_nsec != y->mt.tv_nsec)
		return x->mt.tv_nsec < y->mt.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The record files of dir (names "<hash>.r") with their mtimes; *n set. */
static struct entry *entries(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct entry *v = NULL;
	size_t cap = 0;
	*n = 0;
	if (!d)
		return NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l != RECSTORE_HASH_HEX + 1 || strcmp(de->d_name + l - 2, ".r") ||
		    fstatat(dirfd(d), de->d_name, &st, 0) != 0)
			continue;
		if (*n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
		memcpy(v[*n].name, de->d_name, l + 1);
		v[*n].mt = st.st_mtim;
		(*n)++;
	}
	closedir(d);
	return v;
}

/* Keep at most max record files in dir: the least recently changed go. */
static void enforce_limit(const char *dir, size_t max)
{
	size_t n;
	struct entry *v = entries(dir, &n);
	if (n > max) {
		qsort(v, n, sizeof(*v), entry_older);
		for (size_t i = 0; i < n - max; i++) {
			char *p = xasprintf("%s/%s", dir, v[i].name);
			unlink(p);
			free(p);
		}
	}
	free(v);
}

/* Where the record of (owner, id) lives, its owner's lock taken: the
 * lock's fd, or -1 (errno). Release with place_free, in every case. */
struct place {
	char *dir, *path;
};

static int place_lock(const char *root, const char *owner, const char *id, struct place *p)
{
	*p = (struct place){ 0 };
	if (!args_ok(owner, id))
		return -1;
	p->dir = owner_dir(root, owner);
	p->path = record_path(p->dir, id);
	return lock_owner(root, p->dir);
}

static void place_free(struct place *p, int lk)
{
	int e = errno;
	if (lk >= 0)
		close(lk);
	free(p->path);
	free(p->dir);
	errno = e;
}

int recstore_update(const char *root, const char *owner, const char *id, long max_age_s, size_t max_records,
		    recstore_update_fn fn, void *user)
{
	struct place p;
	int rc = -1, lk = place_lock(root, owner, id, &p);
	if (lk >= 0) {
		size_t oldlen = 0;
		char *old = load(p.path, id, max_age_s, &oldlen, NULL);
		char *nd = fn(old, oldlen, user);
		rc = 0;
		if (nd) {
			rc = commit(p.dir, p.path, id, nd, strlen(nd)) == 0 ? 1 : -1;
			if (rc == 1 && !old && max_records)
				enforce_limit(p.dir, max_records);
		}
		int e = errno;
		free(nd);
		free(old);
		errno = e;
	}
	place_free(&p, lk);
	return rc;
}

int recstore_delete(const char *root, const char *owner, const char *id)
{
	struct place p;
	int rc = -1, lk = place_lock(root, owner, id, &p);
	if (lk >= 0) {
		char *old = load(p.path, id, 0, NULL, NULL);
		rc = old ? unlink(p.path) : -1;
		if (!old)
			errno = ENOENT;
		free(old);
	}
	place_free(&p, lk);
	return rc;
}

static long each_in(const char *dir, long max_age_s, recstore_each_fn fn, void *user)
{
	size_t n, il, dl;
	struct entry *v = entries(dir, &n);
	long seen = 0;
	int stop = 0;
	for (size_t i = 0; i < n && !stop; i++) {
		char *p = xasprintf("%s/%s", dir, v[i].name);
		size_t bl;
		time_t mt;
		const char *id, *data;
		char *b = read_whole(p, &bl, &mt);
		if (b && recstore_parse(b, bl, &id, &il, &data, &dl) == 0 &&
		    (max_age_s <= 0 || time(NULL) - mt <= max_age_s)) {
			seen++;
			stop = fn ? fn(id, il, data, dl, mt, user) : 0;
		}
		free(b);
		free(p);
	}
	free(v);
	return seen;
}

long recstore_each(const char *root, const char *owner, long max_age_s, recstore_each_fn fn, void *user)
{
	if (!args_ok(owner, NULL))
		return -1;
	char *dir = owner_dir(root, owner);
	long n = each_in(dir, max_age_s, fn, user);
	free(dir);
	return n;
}

/* Sweep one owner's folder under its lock; the records deleted. */
static long sweep_owner(const char *root, const char *dir, long max_age_s)
{
	int lk = lock_owner(root, dir);
	if (lk < 0)
		return 0;
	long gone = 0;
	time_t now = time(NULL);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat st;
		int tmp = !strncmp(de->d_name, ".tmp.", 5);
		size_t l = strlen(de->d_name);
		int rec = l > 2 && !strcmp(de->d_name + l - 2, ".r");
		if ((!tmp && !rec) || fstatat(dirfd(d), de->d_name, &st, 0) != 0)
			continue;
		if ((tmp && now - st.st_mtime > RECSTORE_TMP_AGE_S) || (rec && now - st.st_mtime > max_age_s)) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0 && rec)
				gone++;
		}
	}
	if (d)
		closedir(d);
	close(lk);
	return gone;
}

long recstore_sweep(const char *root, long max_age_s, long interval_s)
{
	char *stamp = xasprintf("%s/.swept", root);
	struct stat st;
	time_t now = time(NULL);
	long gone = 0;
	if (stat(stamp, &st) == 0 && now - st.st_mtime < interval_s && st.st_mtime <= now) {
		free(stamp);
		return 0;
	}
	int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	DIR *d = opendir(root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strlen(de->d_name) != RECSTORE_HASH_HEX - 1)
			continue;
		char *dir = xasprintf("%s/%s", root, de->d_name);
		gone += sweep_owner(root, dir, max_age_s);
		free(dir);
	}
	if (d)
		closedir(d);
	free(stamp);
	return d ? gone : -1;
}
