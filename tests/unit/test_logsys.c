/* test_logsys.c — log lines to syslog: a datagram socket standing in for
 * /dev/log receives RFC 3164 messages with the facility, severity, program
 * name and pid, secrets scrubbed; the config's [server] log settings are
 * checked; lines go to stderr while syslog cannot take them. */
#include "config.h"
#include "log.h"
#include "logsys.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[] = "/tmp/llmgate-logsys-XXXXXX";

static int receive(int fd, char *out, size_t cap)
{
	ssize_t n = recv(fd, out, cap - 1, MSG_DONTWAIT);
	out[n > 0 ? n : 0] = '\0';
	return (int)n;
}

static void test_facilities(void)
{
	is_int(logsys_facility("daemon"), 3, "daemon");
	is_int(logsys_facility("user"), 1, "user");
	is_int(logsys_facility("local0"), 16, "local0");
	is_int(logsys_facility("local7"), 23, "local7");
	is_int(logsys_facility("local8"), -1, "local8 unknown");
	is_int(logsys_facility(NULL), -1, "NULL");
}

static void test_send(void)
{
	char path[100], msg[4096], err[256], expect[128];
	snprintf(path, sizeof(path), "%s/log.sock", dir);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "a stand-in syslog socket");
	log_init("llmgate-test", LOG_DEBUG);
	ok(log_to_syslog("local9", path, err, sizeof(err)) == -1 && strstr(err, "local9"), "an unknown facility refused: %s", err);
	ok(!logsys_active(), "nothing changed");
	ok(log_to_syslog("local3", path, err, sizeof(err)) == 0, "syslog at %s: %s", path, err);
	log_add_secret("sk-syslog-secret-0123456789");
	log_err("upstream refused key sk-syslog-secret-0123456789 (HTTP 401)");
	ok(receive(s, msg, sizeof(msg)) > 0, "a message arrived");
	snprintf(expect, sizeof(expect), " llmgate-test[%d]: upstream refused key [redacted] (HTTP 401)", (int)getpid());
	ok(!strncmp(msg, "<155>", 5), "facility local3, severity err: %s", msg);
	ok(strstr(msg, expect) != NULL, "program, pid, the line scrubbed: %s", msg);
	ok(strstr(msg, "sk-syslog") == NULL, "no secret");
	log_info("an info line");
	ok(receive(s, msg, sizeof(msg)) > 0 && !strncmp(msg, "<158>", 5), "info is severity 6: %.10s", msg);
	log_debug("a debug line");
	ok(receive(s, msg, sizeof(msg)) > 0 && !strncmp(msg, "<159>", 5), "debug is severity 7");
	close(s);
	unlink(path);
	/* syslog gone: the line goes to stderr, and the next syslog is
	 * reached again */
	ok(logsys_send(LOGSYS_INFO, "nobody listens") == -1, "no socket: the send says so");
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	ok(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "syslog back");
	log_warn("after a restart");
	ok(receive(s, msg, sizeof(msg)) > 0 && !strncmp(msg, "<156>", 5) && strstr(msg, "after a restart"), "reconnected: %s", msg);
	close(s);
	unlink(path);
}

static void test_config(void)
{
	char path[200], err[512];
	struct config c;
	snprintf(path, sizeof(path), "%s/llmgate.conf", dir);
	setenv("LLMGATE_STATE_DIR", dir, 1);
	static const struct {
		const char *text;
		int ok;
		const char *why;
	} cases[] = {
		{ "[server]\nlog = syslog\nlog_facility = local5\n", 1, NULL },
		{ "[server]\nlog = journal\n", 0, "[server] log must be stderr or syslog" },
		{ "[server]\nlog = syslog\nlog_facility = local12\n", 0, "[server] log_facility must be" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(cases[i].text, f);
		fclose(f);
		int r = config_load(&c, path, err, sizeof(err));
		ok(cases[i].ok ? r == 0 : r == -1 && strstr(err, cases[i].why), "%s", cases[i].ok ? "syslog settings taken" : err);
		if (r == 0) {
			is_str(c.log_target, "syslog", "log = syslog");
			is_str(c.syslog_socket, "/dev/log", "the default socket");
		}
		config_free(&c);
	}
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0700);
	test_facilities();
	test_send();
	test_config();
	rmdir(dir);
	return done_testing();
}
