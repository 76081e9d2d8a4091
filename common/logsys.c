/* logsys.c — log lines to a syslog socket (see logsys.h). */
#include "autoconf.h"
#include "logsys.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int active;
static int fd = -1;
static int facility;
static char ident[64];
static struct sockaddr_un addr;

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 }, { "syslog", 5 },
	{ "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 }, { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
	{ "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

int logsys_facility(const char *name)
{
	for (size_t i = 0; name && i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (!strcmp(facilities[i].name, name))
			return facilities[i].code;
	return -1;
}

/* Connect the socket (locked); 0, or an errno. */
static int connect_locked(void)
{
	if (fd >= 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int e = errno;
		close(fd);
		fd = -1;
		return e;
	}
	return 0;
}

int logsys_open(const char *id, int fac, const char *path, char *err, size_t errlen)
{
	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "syslog socket path too long: %s", path);
		return -1;
	}
	pthread_mutex_lock(&mu);
	if (fd >= 0)
		close(fd);
	fd = -1;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	snprintf(ident, sizeof(ident), "%s", id);
	facility = fac;
	active = 1;
	int e = connect_locked();
	pthread_mutex_unlock(&mu);
	if (e) {
		snprintf(err, errlen, "cannot reach syslog at %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

int logsys_active(void)
{
	return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

int logsys_send(int severity, const char *line)
{
	char msg[2400];
	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
	pthread_mutex_lock(&mu);
	int n = snprintf(msg, sizeof(msg), "<%d>%s %s[%d]: %s", facility * 8 + severity, when, ident, (int)getpid(), line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	int ok = 0;
	/* a syslog daemon that restarted leaves the old socket dead: one
	 * reconnect */
	for (int tries = 0; tries < 2 && !ok; tries++) {
		if (connect_locked() != 0)
			break;
		ssize_t w;
		do {
			w = send(fd, msg, (size_t)n, MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		ok = w == n;
		if (!ok) {
			close(fd);
			fd = -1;
		}
	}
	pthread_mutex_unlock(&mu);
	return ok ? 0 : -1;
}
