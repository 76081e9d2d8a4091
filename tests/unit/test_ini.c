/* test_ini.c — the INI reader, list splitting and number parsing. */
#include "autoconf.h"
#include "ini.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

struct seen { char log[1024]; };

static int collect(const char *sec, const char *key, const char *val, int lineno, void *user)
{
	struct seen *s = user;
	size_t n = strlen(s->log);
	snprintf(s->log + n, sizeof(s->log) - n, "%s|%s|%s|%d;", sec, key, val, lineno);
	return 0;
}

static int stop_at_b(const char *sec, const char *key, const char *val, int lineno, void *user)
{
	(void)sec; (void)val; (void)lineno; (void)user;
	return strcmp(key, "b") ? 0 : 7;
}

int main(void)
{
	struct seen s = { "" };
	const char *text = "top = 1\n# comment\n; other\n\n[server]\r\n  threads =  8  \nname = \"a b\"\n[provider.x]\nkeys=a,b\n";
	int errline = 0;
	is_int(ini_parse(text, strlen(text), collect, &s, &errline), 0, "parses a valid file");
	is_str(s.log, "|top|1|1;server|threads|8|6;server|name|a b|7;provider.x|keys|a,b|9;",
	       "sections, trimming, quotes, CRLF, line numbers");

	errline = 0;
	const char *bad = "[ok]\nno equals here\n";
	is_int(ini_parse(bad, strlen(bad), collect, &s, &errline), -1, "a line without '=' is an error");
	is_int(errline, 2, "error names the line");
	const char *badsec = "[open\n";
	is_int(ini_parse(badsec, strlen(badsec), collect, &s, &errline), -1, "unclosed section is an error");
	const char *emptykey = " = v\n";
	is_int(ini_parse(emptykey, strlen(emptykey), collect, &s, &errline), -1, "empty key is an error");
	const char *abc = "a=1\nb=2\nc=3\n";
	is_int(ini_parse(abc, strlen(abc), stop_at_b, NULL, &errline), 7, "callback value stops the parse");
	/* not NUL-terminated: only len bytes are read */
	char raw[8] = { 'k', '=', 'v', '\n', 'x', 'x', 'x', 'x' };
	s.log[0] = '\0';
	is_int(ini_parse(raw, 4, collect, &s, &errline), 0, "reads only len bytes");
	is_str(s.log, "|k|v|1;", "value from the bounded text");

	char **list;
	size_t n = ini_split_list(" a , b,,c ,", &list);
	is_int(n, 3, "split drops empty items");
	is_str(list[0], "a", "item 0 trimmed");
	is_str(list[2], "c", "item 2 trimmed");
	ini_free_list(list, n);
	is_int(ini_split_list("", &list), 0, "empty list");
	ini_free_list(list, 0);

	long v = 0;
	is_int(ini_parse_long("42", 0, 100, &v), 0, "number in range");
	is_int(v, 42, "its value");
	is_int(ini_parse_long("101", 0, 100, &v), -1, "over max");
	is_int(ini_parse_long("-1", 0, 100, &v), -1, "under min");
	is_int(ini_parse_long("4x", 0, 100, &v), -1, "trailing junk");
	is_int(ini_parse_long("", 0, 100, &v), -1, "empty");
	is_int(ini_parse_long("99999999999999999999999", 0, 100, &v), -1, "overflow");
	return done_testing();
}
