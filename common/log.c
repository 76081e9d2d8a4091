/* log.c — one-line log messages to stderr, with secret scrubbing. */
#include "autoconf.h"
#include "log.h"
#include "logsys.h"
#include "xmalloc.h"
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>
#include <time.h>

#define LOG_LINE_MAX 2048
#define LOG_SECRET_MIN 6   /* shorter strings are not treated as secrets */

static const char *log_prog = "llmgate";
static enum log_level log_max = LOG_INFO;
static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static char **log_secrets;
static size_t log_nsecrets;

void log_init(const char *prog, enum log_level max)
{
	log_prog = prog;
	log_max = max;
	const char *lv = getenv("LLMGATE_LOG_LEVEL");
	if (lv) {
		if (!strcmp(lv, "debug"))
			log_max = LOG_DEBUG;
		else if (!strcmp(lv, "info"))
			log_max = LOG_INFO;
		else if (!strcmp(lv, "warn"))
			log_max = LOG_WARN;
		else if (!strcmp(lv, "error"))
			log_max = LOG_ERR;
	}
}

void log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < LOG_SECRET_MIN)
		return;
	pthread_rwlock_wrlock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++) {
		if (!strcmp(log_secrets[i], secret))
			goto out;
	}
	log_secrets = xrealloc(log_secrets, (log_nsecrets + 1) * sizeof(*log_secrets));
	log_secrets[log_nsecrets++] = xstrdup(secret);
out:
	pthread_rwlock_unlock(&log_lock);
}

static void scrub_one(char *s, const char *secret)
{
	static const char red[] = "[redacted]";
	size_t sl = strlen(secret);
	char *p;
	while ((p = strstr(s, secret)) != NULL) {
		/* the replacement is never longer than the secret (>= 6 chars)
		 * except for 6..9 char secrets: then cut the secret to '*'. */
		if (sl >= sizeof(red) - 1) {
			memcpy(p, red, sizeof(red) - 1);
			memmove(p + sizeof(red) - 1, p + sl, strlen(p + sl) + 1);
		} else {
			memset(p, '*', sl);
		}
	}
}

/* Anything shaped like a provider key or account id: sk-..., org-...,
 * proj_..., a package index or code host token (pypi-..., ghp_...,
 * github_pat_...), or a long token after "Bearer ", is cut to its prefix. */
static void scrub_shapes(char *s)
{
	/* one pass; only a few letters can start a shape */
	for (char *p = s; *p; p++) {
		int start = 0;
		switch (*p) {
		case 's':
			if (p[1] == 'k' && p[2] == '-' && (p == s || !isalnum((unsigned char)p[-1])))
				start = 3;
			break;
		case 'o':
			if (p[1] == 'r' && p[2] == 'g' && p[3] == '-' && (p == s || !isalnum((unsigned char)p[-1])))
				start = 4;
			break;
		case 'p':
			if ((!strncmp(p, "proj_", 5) || !strncmp(p, "pypi-", 5)) && (p == s || !isalnum((unsigned char)p[-1])))
				start = 5;
			break;
		case 'g':
			if (p == s || !isalnum((unsigned char)p[-1]))
				start = !strncmp(p, "github_pat_", 11) ? 11 :
					p[1] == 'h' && strchr("pousr", p[2] ? p[2] : 'x') && p[3] == '_' ? 4 : 0;
			break;
		case 'B':
			if (!strncmp(p, "Bearer ", 7))
				start = 7;
			break;
		default:
			break;
		}
		if (!start)
			continue;
		char *q = p + start;
		size_t n = 0;
		while (q[n] && (isalnum((unsigned char)q[n]) || q[n] == '-' || q[n] == '_' || q[n] == '.'))
			n++;
		if (n >= 12) {
			memcpy(q, "***", 3);
			memmove(q + 3, q + n, strlen(q + n) + 1);
		}
		p = q;
		if (!*p)
			break;
	}
}

/* The password of a URL's user part (scheme://user:password@host) is cut
 * to "***". */
static void scrub_url_passwords(char *s)
{
	for (char *p = strstr(s, "://"); p; p = strstr(p, "://")) {
		p += 3;
		size_t n = strcspn(p, "/@ \t\r\n\"'<>");
		char *colon = memchr(p, ':', n);
		if (p[n] != '@' || !colon || colon + 1 == p + n)
			continue;
		size_t pw = (size_t)(p + n - colon - 1);
		if (pw > 3) {   /* never longer than it was */
			memmove(colon + 4, p + n, strlen(p + n) + 1);
			pw = 3;
		}
		memset(colon + 1, '*', pw);
	}
}

void log_scrub(char *s)
{
	if (!s)
		return;
	pthread_rwlock_rdlock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++)
		scrub_one(s, log_secrets[i]);
	pthread_rwlock_unlock(&log_lock);
	scrub_shapes(s);
	scrub_url_passwords(s);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	if (lvl > log_max)
		return;
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	for (char *p = line; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	log_scrub(line);
	if (logsys_active()) {
		static const int sev[] = { LOGSYS_ERR, LOGSYS_WARNING, LOGSYS_INFO, LOGSYS_DEBUG };
		if (logsys_send(sev[lvl], line) == 0)
			return;
		/* syslog cannot take it now: the line goes to stderr */
	}
	/* the time stamp changes once a second: made once a second per thread */
	static __thread time_t when_s = -1;
	static __thread char when[32];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != when_s) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		when_s = ts.tv_sec;
	}
	/* the whole line in one writev(2): lines of several threads and
	 * processes sharing the error log do not interleave */
	const char *parts[] = { when, " ", log_prog, "[", names[lvl], "] ", line,
				(size_t)n >= sizeof(line) ? " [truncated]" : "", "\n" };
	struct iovec iov[sizeof(parts) / sizeof(parts[0])];
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		iov[i].iov_base = (void *)parts[i];
		iov[i].iov_len = strlen(parts[i]);
	}
	ssize_t w;
	do {
		w = writev(STDERR_FILENO, iov, (int)(sizeof(iov) / sizeof(iov[0])));
	} while (w < 0 && errno == EINTR);
}

int log_to_syslog(const char *facility, const char *socket_path, char *err, size_t errlen)
{
	int fac = logsys_facility(facility);
	if (fac < 0) {
		snprintf(err, errlen, "unknown syslog facility %.32s (daemon, user, local0 ... local7)", facility);
		return -1;
	}
	return logsys_open(log_prog, fac, socket_path, err, errlen);
}
