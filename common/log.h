/* log.h — one-line log messages to stderr (the web server's error log) or
 * syslog. */
#ifndef LLMGATE_LOG_H
#define LLMGATE_LOG_H
#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set the program name and the most verbose level printed. */
void log_init(const char *prog, enum log_level max);
/* Register a secret (copied) that must never appear in a log line: any
 * occurrence is replaced by "[redacted]". Thread-safe. */
void log_add_secret(const char *secret);
/* Replace every registered secret in s (in place, NUL-terminated, may
 * shorten). Used on upstream error bodies too. */
void log_scrub(char *s);
/* From now on, send log lines to syslog (logsys.h) as the program named
 * by log_init, with facility ("daemon", "local0", ...), at the datagram
 * socket socket_path; a line syslog cannot take goes to stderr. 0, or -1
 * with err (an unknown facility: nothing changed; the socket cannot be
 * reached now: syslog is still tried for each line). */
int log_to_syslog(const char *facility, const char *socket_path, char *err, size_t errlen);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#endif
