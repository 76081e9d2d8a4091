/* shmfile.h — a file of one fixed layout under $STATE_DIR/run/ that every
 * process of a state folder maps (MAP_SHARED), and its lock: the shared
 * counters of the quota (qshare.c) and of the metrics (metrics.c).
 *
 * The layout begins with 8 bytes of magic and a uint32_t holding the
 * layout's size (then whatever the owner keeps). The file is made on first
 * use with its space allocated at once (no SIGBUS on a full disk later) and
 * its header written last (a zeroed layout is an empty one); a file of
 * another layout, or a torn one, is replaced by a new file renamed over it,
 * so that nobody maps a file while it changes size. */
#ifndef LLMGATE_SHMFILE_H
#define LLMGATE_SHMFILE_H
#include <pthread.h>
#include <stddef.h>

struct shmfile {
	pthread_mutex_t mu;
	int fd;
	void *map;
	size_t size;
};

/* Map state_dir/run/name (the run folder made when missing), a layout of
 * size bytes with magic (8 bytes); made when create is set, else it must
 * exist. 0, or -1 with the reason in err (nothing held). */
int shmfile_open(struct shmfile *m, const char *state_dir, const char *name, const char *magic, size_t size,
		 int create, char *err, size_t errlen);
void shmfile_close(struct shmfile *m);
/* Hold the file against threads of this process and other processes
 * (flock(2), let go by the kernel when a holder dies). */
void shmfile_lock(struct shmfile *m);
void shmfile_unlock(struct shmfile *m);
#endif
