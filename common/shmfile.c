/* shmfile.c — a fixed-layout file mapped by every process (see shmfile.h). */
#include "autoconf.h"
#include "shmfile.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_ready(int fd, const char *magic_want, size_t want)
{
	struct stat st;
	char magic[8];
	uint32_t size;
	if (fstat(fd, &st) != 0 || st.st_size != (off_t)want)
		return 0;
	if (pread(fd, magic, 8, 0) != 8 || memcmp(magic, magic_want, 8))
		return 0;
	return pread(fd, &size, 4, 8) == 4 && size == (uint32_t)want;
}

/* Allocate the file's space and write its header last (zeroed tables are
 * empty ones). 0, or an errno. */
static int file_init(int fd, const char *magic, size_t want)
{
	if (ftruncate(fd, 0) != 0)
		return errno;
	int e = posix_fallocate(fd, 0, (off_t)want);
	if (e)
		return e;
	uint32_t size = (uint32_t)want;
	if (pwrite(fd, &size, 4, 8) != 4 || pwrite(fd, magic, 8, 0) != 8)
		return errno ? errno : EIO;
	return 0;
}

static void lock_fd(int fd, int op)
{
	while (flock(fd, op) != 0 && errno == EINTR)
		;
}

/* Open path with a file of this layout under it: one of another layout
 * (or a torn one) is replaced by a new file renamed over it. fd, or -1. */
static int open_file(const char *path, const char *magic, size_t want, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	lock_fd(fd, LOCK_EX);
	struct stat st;
	int e = 0;
	if (!file_ready(fd, magic, want)) {
		/* empty: ours to fill; else made by another layout: replace it,
		 * so that nobody maps a file while it changes size */
		if (fstat(fd, &st) == 0 && st.st_size == 0) {
			e = file_init(fd, magic, want);
		} else {
			char *tmp = xasprintf("%s.%d", path, (int)getpid());
			int nfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			e = nfd < 0 ? errno : file_init(nfd, magic, want);
			if (!e && rename(tmp, path) != 0)
				e = errno;
			if (e)
				unlink(tmp);
			free(tmp);
			lock_fd(fd, LOCK_UN);
			close(fd);
			fd = nfd;
			if (fd >= 0)
				lock_fd(fd, LOCK_EX);
		}
	}
	if (e) {
		snprintf(err, errlen, "cannot prepare %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	lock_fd(fd, LOCK_UN);
	return fd;
}

int shmfile_open(struct shmfile *m, const char *state_dir, const char *name, const char *magic, size_t size,
		 int create, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	char *dir = xasprintf("%s/run", state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	char *path = xasprintf("%s/%s", dir, name);
	free(dir);
	struct stat st;
	int fd = create || stat(path, &st) == 0 ? open_file(path, magic, size, err, errlen) : -1;
	if (fd < 0 && !create)
		snprintf(err, errlen, "%s not made yet", path);
	void *map = MAP_FAILED;
	if (fd >= 0) {
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
			close(fd);
		}
	}
	free(path);
	if (map == MAP_FAILED)
		return -1;
	pthread_mutex_init(&m->mu, NULL);
	m->fd = fd;
	m->map = map;
	m->size = size;
	return 0;
}

void shmfile_close(struct shmfile *m)
{
	if (!m->map)
		return;
	munmap(m->map, m->size);
	close(m->fd);
	pthread_mutex_destroy(&m->mu);
	m->map = NULL;
	m->fd = -1;
}

void shmfile_lock(struct shmfile *m)
{
	pthread_mutex_lock(&m->mu);
	lock_fd(m->fd, LOCK_EX);
}

void shmfile_unlock(struct shmfile *m)
{
	lock_fd(m->fd, LOCK_UN);
	pthread_mutex_unlock(&m->mu);
}
