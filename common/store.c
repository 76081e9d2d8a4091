/* store.c — GDBM files opened briefly, changed by copy-and-rename. */
#include "autoconf.h"
#include "store.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#ifdef __linux__
#include <linux/fs.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_RETRY_MS 5
#define STORE_COPY_CHUNK (1L << 30)

/* An open change of a shared store (STORE_WRITE). */
struct store_tx {
	GDBM_FILE db;          /* the copy, PATH.tmp */
	char *path, *tmp;
	int lock_fd;           /* PATH.lock, flock'ed */
	int committed;
	struct store_tx *next;
};

static pthread_mutex_t tx_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store_tx *tx_list;

static struct store_tx *tx_find(GDBM_FILE db, int unlink_it)
{
	pthread_mutex_lock(&tx_mu);
	struct store_tx **pp = &tx_list;
	while (*pp && (*pp)->db != db)
		pp = &(*pp)->next;
	struct store_tx *t = *pp;
	if (t && unlink_it)
		*pp = t->next;
	pthread_mutex_unlock(&tx_mu);
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* errno for a failed gdbm call: the system's cause, or "damaged". */
static int gdbm_cause(int saved_errno)
{
	if (gdbm_errno == GDBM_ITEM_NOT_FOUND)
		return ENOENT;
	if (gdbm_check_syserr(gdbm_errno) && saved_errno)
		return saved_errno;
	return STORE_EDAMAGED;
}

static GDBM_FILE open_gdbm(const char *path, int flags, int wait_ms)
{
	int waited = 0;
	for (;;) {
		if ((flags & GDBM_OPENMASK) == GDBM_READER && access(path, F_OK) != 0) {
			errno = ENOENT;
			return NULL;
		}
		GDBM_FILE db = gdbm_open(path, 0, flags, 0600, NULL);
		if (db)
			return db;
		int saved = errno;
		int locked = gdbm_errno == GDBM_CANT_BE_READER || gdbm_errno == GDBM_CANT_BE_WRITER;
		if (!locked && gdbm_errno == GDBM_FILE_OPEN_ERROR && saved == ENOENT)
			return errno = ENOENT, NULL;
		if (!locked || waited >= wait_ms) {
			errno = locked ? EAGAIN : gdbm_cause(saved);
			return NULL;
		}
		sleep_ms(STORE_RETRY_MS);
		waited += STORE_RETRY_MS;
	}
}

static int take_lock(const char *path, int wait_ms)
{
	char *lp = xasprintf("%s.lock", path);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lp);
	if (fd < 0)
		return -1;
	for (int waited = 0;; waited += STORE_RETRY_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (waited >= wait_ms) {
			errno = EAGAIN;
			break;
		}
		sleep_ms(STORE_RETRY_MS);
	}
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Begin a change: lock, check, copy, open the copy. */
static GDBM_FILE tx_begin(const char *path, int wait_ms)
{
	int fd = take_lock(path, wait_ms);
	if (fd < 0)
		return NULL;
	char why[256];
	int st = store_check(path, NULL, why, sizeof(why));
	if (st < 0) {
		int saved = errno == EAGAIN ? EAGAIN : STORE_EDAMAGED;
		close(fd);
		errno = saved;
		return NULL;
	}
	char *tmp = xasprintf("%s.tmp", path);
	unlink(tmp);   /* a killed writer's copy: never committed */
	GDBM_FILE db = NULL;
	if (st == 1 || store_copy_file(path, tmp) == 0)
		/* no GDBM lock on the copy: state.db.lock keeps other writers
		 * out, and a lock still held when the copy is renamed over the
		 * store (the handle closes after the commit) would turn readers
		 * away for as long as this writer takes to close it */
		db = open_gdbm(tmp, (st == 1 ? GDBM_NEWDB : GDBM_WRITER) | GDBM_NOLOCK, 0);
	if (!db) {
		int saved = errno;
		unlink(tmp);
		free(tmp);
		close(fd);
		errno = saved;
		return NULL;
	}
	struct store_tx *t = xcalloc(1, sizeof(*t));
	t->db = db;
	t->path = xstrdup(path);
	t->tmp = tmp;
	t->lock_fd = fd;
	pthread_mutex_lock(&tx_mu);
	t->next = tx_list;
	tx_list = t;
	pthread_mutex_unlock(&tx_mu);
	return db;
}

GDBM_FILE store_open(const char *path, int mode, int wait_ms)
{
	if (mode == STORE_WRITE)
		return tx_begin(path, wait_ms);
	return open_gdbm(path, mode == STORE_PRIVATE ? GDBM_WRCREAT : GDBM_READER, wait_ms);
}

void store_close(GDBM_FILE db)
{
	if (!db)
		return;
	struct store_tx *t = tx_find(db, 1);
	gdbm_close(db);
	if (!t)
		return;
	if (!t->committed)
		unlink(t->tmp);
	close(t->lock_fd);
	free(t->path);
	free(t->tmp);
	free(t);
}

char *store_get(GDBM_FILE db, const char *key, size_t *len)
{
	datum k = { (char *)key, (int)strlen(key) };
	datum v = gdbm_fetch(db, k);
	if (!v.dptr) {
		errno = gdbm_cause(errno);
		return NULL;
	}
	char *s = xmalloc((size_t)v.dsize + 1);
	memcpy(s, v.dptr, (size_t)v.dsize);
	s[v.dsize] = '\0';
	free(v.dptr);
	if (len)
		*len = (size_t)v.dsize;
	return s;
}

static int tx_open_for_change(GDBM_FILE db)
{
	struct store_tx *t = tx_find(db, 0);
	if (t && t->committed) {
		errno = EINVAL;
		return 0;
	}
	return 1;
}

cJSON *store_get_json(GDBM_FILE db, const char *key)
{
	size_t len;
	char *v = store_get(db, key, &len);
	if (!v)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(v, len);
	free(v);
	return j;
}

int store_put(GDBM_FILE db, const char *key, const void *val, size_t len)
{
	if (!tx_open_for_change(db))
		return -1;
	datum k = { (char *)key, (int)strlen(key) };
	datum v = { (char *)val, (int)len };
	return gdbm_store(db, k, v, GDBM_REPLACE) == 0 ? 0 : -1;
}

int store_delete(GDBM_FILE db, const char *key)
{
	if (!tx_open_for_change(db))
		return -1;
	datum k = { (char *)key, (int)strlen(key) };
	if (gdbm_delete(db, k) == 0)
		return 0;
	errno = gdbm_cause(errno);
	return -1;
}

int store_each(GDBM_FILE db, const char *prefix,
	       int (*cb)(const char *key, const char *val, size_t vlen, void *user), void *user)
{
	int result = 0;
	size_t pl = strlen(prefix);
	datum k = gdbm_firstkey(db);
	while (k.dptr) {
		if ((size_t)k.dsize >= pl && !memcmp(k.dptr, prefix, pl)) {
			char *ks = xstrndup(k.dptr, (size_t)k.dsize);
			datum v = gdbm_fetch(db, k);
			if (!v.dptr) {
				/* a key the traversal just returned: unreadable */
				int cause = gdbm_cause(errno);
				free(ks);
				free(k.dptr);
				errno = cause == ENOENT ? STORE_EDAMAGED : cause;
				return -1;
			}
			char *vs = xmalloc((size_t)v.dsize + 1);
			memcpy(vs, v.dptr, (size_t)v.dsize);
			vs[v.dsize] = '\0';
			result = cb(ks, vs, (size_t)v.dsize, user);
			free(vs);
			free(v.dptr);
			free(ks);
			if (result)
				break;
		}
		datum next = gdbm_nextkey(db, k);
		free(k.dptr);
		k = next;
	}
	if (k.dptr) {
		free(k.dptr);
		return result;
	}
	if (gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR) {
		errno = gdbm_cause(errno);
		return -1;
	}
	return result;
}

/* Commit a change: the copy, synced, becomes the store. */
static int tx_commit(struct store_tx *t)
{
	if (t->committed) {
		errno = EINVAL;
		return -1;
	}
	if (gdbm_sync(t->db) != 0 || fsync(gdbm_fdesc(t->db)) != 0 || rename(t->tmp, t->path) != 0)
		return -1;
	t->committed = 1;
	char *dir = xstrdup(t->path);
	int r = store_fsync_path(dirname(dir), 1);
	free(dir);
	return r;
}

int store_sync(GDBM_FILE db)
{
	struct store_tx *t = tx_find(db, 0);
	if (t)
		return tx_commit(t);
	return gdbm_sync(db) == 0 ? 0 : -1;
}

static int count_key(const char *key, const char *val, size_t vlen, void *user)
{
	(void)key; (void)val; (void)vlen;
	++*(long *)user;
	return 0;
}

int store_check(const char *path, long *nkeys, char *why, size_t whylen)
{
	long n = 0;
	GDBM_FILE db = open_gdbm(path, GDBM_READER, 50);
	if (!db) {
		if (errno == ENOENT)
			return 1;
		int saved = errno;
		snprintf(why, whylen, "cannot read %s: %s", path,
			 saved == EAGAIN ? "another program holds a GDBM lock on it"
			 : saved == STORE_EDAMAGED ? gdbm_strerror(gdbm_errno) : strerror(saved));
		errno = saved;
		return -1;
	}
	int r = store_each(db, "", count_key, &n);
	int saved = errno, ge = gdbm_errno;
	store_close(db);
	if (r < 0) {
		snprintf(why, whylen, "%s is damaged after %ld readable keys: %s%s%s", path, n, gdbm_strerror(ge),
			 saved == STORE_EDAMAGED ? "" : ": ", saved == STORE_EDAMAGED ? "" : strerror(saved));
		errno = STORE_EDAMAGED;
		return -1;
	}
	if (nkeys)
		*nkeys = n;
	return 0;
}

static void sig_from(const struct stat *st, struct store_sig *out)
{
	out->ino = st->st_ino;
	out->size = st->st_size;
	out->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

int store_sig_of(GDBM_FILE db, struct store_sig *out)
{
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (fstat(gdbm_fdesc(db), &st) != 0)
		return -1;
	sig_from(&st, out);
	return 0;
}

int store_sig_path(const char *path, struct store_sig *out)
{
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0)
		return -1;
	sig_from(&st, out);
	return 0;
}

int store_sig_eq(const struct store_sig *a, const struct store_sig *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

const char *store_strerror(int e)
{
	if (e == EAGAIN)
		return "another program holds it";
	if (e == STORE_EDAMAGED)
		return "it is damaged and cannot be read whole (see docs/state.md, \"Damage\")";
	return strerror(e);
}

int store_fsync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int store_copy_file(const char *from, const char *to)
{
	int result = -1, in = -1, out = -1;
	char *chunk = NULL;
	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		result = errno == ENOENT ? 1 : -1;
		goto out;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		goto out;
#ifdef FICLONE
	if (ioctl(out, FICLONE, in) == 0) {
		result = 0;
		goto out;
	}
#endif
#ifdef __linux__
	off_t copied = 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, STORE_COPY_CHUNK, 0);
		if (n == 0) {
			result = 0;
			goto out;
		}
		if (n < 0) {
			if (copied == 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
					    errno == EOPNOTSUPP || errno == EPERM))
				break;   /* read and write instead */
			if (errno == EINTR)
				continue;
			goto out;
		}
		copied += n;
	}
#endif
	chunk = xmalloc(1 << 16);
	for (;;) {
		ssize_t n = read(in, chunk, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, chunk + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
	}
	result = 0;
out:
	free(chunk);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return result;
}
