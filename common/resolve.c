/* resolve.c — a host name looked up on a helper thread (resolve.h). */
#include "autoconf.h"
#include "resolve.h"
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One lookup, shared by the waiting request and the helper thread: the
 * last of the two to let go frees it. */
struct resolve_job {
	char *host, *port;
	struct addrinfo hints;
	struct addrinfo *res;
	int rc, err;
	int wfd;     /* the helper's end of a socket pair, written to when done */
	int refs;
};

static void job_drop(struct resolve_job *j)
{
	if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (j->res)
		freeaddrinfo(j->res);
	free(j->host);
	free(j->port);
	free(j);
}

static void *resolve_thread(void *p)
{
	struct resolve_job *j = p;
	j->rc = getaddrinfo(j->host, j->port, &j->hints, &j->res);
	j->err = errno;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	char one = 1;
	ssize_t w = send(j->wfd, &one, 1, MSG_NOSIGNAL);   /* EPIPE when the request gave up */
	(void)w;
	close(j->wfd);
	job_drop(j);
	return NULL;
}

static int is_literal(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The helper thread for j; 0, or -1 when none could start. */
static int start_thread(struct resolve_job *j)
{
	pthread_attr_t attr;
	pthread_t t;
	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, resolve_thread, j);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

int resolve_waiting(const char *host, const char *port, const struct addrinfo *hints, struct addrinfo **res,
		    int (*wait)(int fd, short ev, int64_t deadline), void (*forget)(int fd), int64_t deadline)
{
	int fd[2];
	struct resolve_job *j = is_literal(host) ? NULL : calloc(1, sizeof(*j));
	if (!j || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fd) != 0) {
		free(j);
		return getaddrinfo(host, port, hints, res);   /* at once, or no way around it */
	}
	j->host = strdup(host);
	j->port = strdup(port);
	j->hints = *hints;
	j->wfd = fd[1];
	j->refs = 2;
	if (!j->host || !j->port || start_thread(j) != 0) {
		close(fd[0]);
		close(fd[1]);
		free(j->host);
		free(j->port);
		free(j);
		return getaddrinfo(host, port, hints, res);
	}
	int w = wait(fd[0], POLLIN, deadline);
	/* closed before anything else: the helper's late write goes nowhere,
	 * and the loop forgets the descriptor */
	if (forget)
		forget(fd[0]);
	close(fd[0]);
	int rc = EAI_SYSTEM, err = w == 0 ? ETIMEDOUT : ECONNABORTED;
	if (w == 1) {
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		rc = j->rc;
		err = j->err;
		*res = j->res;
		j->res = NULL;
	}
	job_drop(j);
	errno = err;
	return rc;
}
