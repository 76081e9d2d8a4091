/* logsys.h — log lines to syslog: RFC 3164 messages ("<PRI>Mmm dd
 * hh:mm:ss ident[pid]: text", what syslog(3) sends) over the local
 * datagram socket (/dev/log, or another path: a chroot, a test). Kept apart
 * from log.c, whose level names are those of <syslog.h>. */
#ifndef LLMGATE_LOGSYS_H
#define LLMGATE_LOGSYS_H
#include <stddef.h>

/* Severities (RFC 5424 numbers). */
#define LOGSYS_ERR 3
#define LOGSYS_WARNING 4
#define LOGSYS_INFO 6
#define LOGSYS_DEBUG 7

/* The facility code of a name (kern 0 ... local7 23: "daemon", "user",
 * "local0" ... "local7", "auth", "syslog", ...), or -1. */
int logsys_facility(const char *name);
/* Send lines from now on to the syslog socket at path, as ident with
 * facility. 0, or -1 with err (the socket cannot be reached now: later
 * lines try again). Thread-safe. */
int logsys_open(const char *ident, int facility, const char *path, char *err, size_t errlen);
/* 1 once logsys_open was called. */
int logsys_active(void);
/* Send one line (no newline) of severity; 0, or -1 when the socket
 * cannot take it (the caller writes it elsewhere). Thread-safe. */
int logsys_send(int severity, const char *line);
#endif
