/* test_log.c — secrets never reach a log line or a scrubbed message. */
#include "autoconf.h"
#include "log.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	log_init("test", LOG_DEBUG);
	log_add_secret("my-upstream-secret-42");
	log_add_secret("short");   /* too short to treat as a secret */
	char s[256];
	snprintf(s, sizeof(s), "key my-upstream-secret-42 refused; again my-upstream-secret-42.");
	log_scrub(s);
	ok(!strstr(s, "my-upstream-secret-42"), "registered secret removed: %s", s);
	ok(strstr(s, "[redacted]") != NULL, "marked redacted");
	snprintf(s, sizeof(s), "Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz123. See docs.");
	log_scrub(s);
	ok(!strstr(s, "abcdefghijklmnop"), "sk- shaped key cut: %s", s);
	ok(strstr(s, "See docs.") != NULL, "rest of the message kept");
	snprintf(s, sizeof(s), "header Authorization: Bearer abcdefghijklmnopqrstuvwxyz");
	log_scrub(s);
	ok(!strstr(s, "abcdefghijklmnop"), "bearer token cut: %s", s);
	snprintf(s, sizeof(s), "You exceeded your quota for organization org-AbCdEf0123456789xyz in project proj_0123456789abcdefXY.");
	log_scrub(s);
	ok(!strstr(s, "AbCdEf0123456789") && !strstr(s, "0123456789abcdefXY"), "account ids cut: %s", s);
	snprintf(s, sizeof(s), "task-sk-1 and sk-12 stay");
	log_scrub(s);
	is_str(s, "task-sk-1 and sk-12 stay", "short or embedded sk- not touched");
	snprintf(s, sizeof(s), "index https://alice:hunter2pass@pypi.example/simple and http://bob:x@h/ and https://host:8443/p");
	log_scrub(s);
	is_str(s, "index https://alice:***@pypi.example/simple and http://bob:*@h/ and https://host:8443/p",
	       "URL passwords cut, never longer; a port is no password");
	snprintf(s, sizeof(s), "token pypi-AgEIcHlwaS5vcmcABCDEFGH and ghp_0123456789abcdefXYZ and github_pat_11ABCDEFG0123456789");
	log_scrub(s);
	ok(!strstr(s, "AgEIcHlwaS5vcmcABCDEFGH") && !strstr(s, "0123456789abcdefXYZ") && !strstr(s, "11ABCDEFG0123456789"),
	   "package index and code host tokens cut: %s", s);
	snprintf(s, sizeof(s), "short words stay short");
	log_scrub(s);
	is_str(s, "short words stay short", "short strings are not secrets");

	/* log lines go to stderr: capture them */
	FILE *tmp = tmpfile();
	int saved = dup(2);
	dup2(fileno(tmp), 2);
	log_info("upstream said: my-upstream-secret-42\nsecond line");
	log_debug("visible debug");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char line[1024] = "";
	rewind(tmp);
	size_t n = fread(line, 1, sizeof(line) - 1, tmp);
	line[n] = '\0';
	fclose(tmp);
	ok(!strstr(line, "my-upstream-secret-42"), "log line scrubbed");
	ok(strstr(line, "[info]") && strstr(line, "second line"), "line written: %s", line);
	char *nl = strchr(line, '\n');
	ok(nl && strstr(nl + 1, "visible debug") == nl + 1 + (strstr(nl + 1, "visible debug") - (nl + 1)),
	   "newlines inside a message do not split the line");
	ok(strstr(line, "upstream said") < strchr(line, '\n'), "one record per line");
	return done_testing();
}
