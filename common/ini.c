/* ini.c — a small INI reader: [section] and key = value lines. */
#include "autoconf.h"
#include "ini.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INI_LINE_MAX 8192

static char *trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int ini_parse(const char *text, size_t len, ini_cb cb, void *user, int *errline)
{
	char section[256] = "";
	char line[INI_LINE_MAX];
	size_t pos = 0;
	int lineno = 0;
	int result = 0;

	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		size_t n = end - pos;
		if (n >= sizeof(line)) {
			result = -1;
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close || close[1] != '\0') {
				result = -1;
				goto out;
			}
			*close = '\0';
			char *name = trim(s + 1);
			size_t nl = strlen(name);
			if (!nl || nl >= sizeof(section)) {
				result = -1;
				goto out;
			}
			memcpy(section, name, nl + 1);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			result = -1;
			goto out;
		}
		*eq = '\0';
		char *key = trim(s);
		char *val = trim(eq + 1);
		if (!*key) {
			result = -1;
			goto out;
		}
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		int r = cb(section, key, val, lineno, user);
		if (r != 0) {
			result = r;
			goto out;
		}
	}
out:
	if (result == -1 && errline)
		*errline = lineno;
	return result;
}

size_t ini_split_list(const char *s, char ***out)
{
	size_t n = 0;
	char **list = NULL;
	const char *p = s;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *item = xstrndup(p, len);
		char *t = trim(item);
		if (*t) {
			list = xrealloc(list, (n + 1) * sizeof(*list));
			list[n++] = xstrdup(t);
		}
		free(item);
		p = comma ? comma + 1 : NULL;
	}
	*out = list;
	return n;
}

void ini_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int ini_parse_llong(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int ini_parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (*end && isspace((unsigned char)*end))
		end++;
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
