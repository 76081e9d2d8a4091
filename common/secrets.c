/* secrets.c — secrets files in the .dev.vars format (see secrets.h). */
#include "autoconf.h"
#include "secrets.h"
#include "xmalloc.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void secrets_free(struct secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->names[i]);
		/* a secret does not stay in freed memory */
		memset(s->values[i], 0, strlen(s->values[i]));
		free(s->values[i]);
	}
	free(s->names);
	free(s->values);
	memset(s, 0, sizeof(*s));
}

const char *secrets_get(const struct secrets *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return s->values[i];
	return NULL;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* After a quoted value: only spaces, or spaces and a comment. */
static int rest_ok(const char *p, const char *end)
{
	p = skip_space(p, end);
	return p == end || *p == '#';
}

/* The value at p (up to end, the line's end): a new string, or NULL with
 * why. */
static char *parse_value(const char *p, const char *end, const char **why)
{
	p = skip_space(p, end);
	if (p < end && (*p == '"' || *p == '\'')) {
		char q = *p++;
		char *out = xmalloc((size_t)(end - p) + 1), *o = out;
		while (p < end && *p != q) {
			if (q == '"' && *p == '\\' && p + 1 < end) {
				p++;
				*o++ = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
				p++;
			} else {
				*o++ = *p++;
			}
		}
		*o = '\0';
		if (p == end || !rest_ok(p + 1, end)) {
			free(out);
			*why = p == end ? "a quoted value does not end on its line"
					: "only a comment may follow a quoted value";
			return NULL;
		}
		return out;
	}
	const char *v = p;
	while (p < end && !(*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')))
		p++;
	while (p > v && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	char *out = xmalloc((size_t)(p - v) + 1);
	memcpy(out, v, (size_t)(p - v));
	out[p - v] = '\0';
	return out;
}

/* One line (without its end): 0 (an assignment added, or nothing), or -1
 * with why. */
static int parse_line(const char *p, const char *end, struct secrets *s, const char **why)
{
	p = skip_space(p, end);
	if (p == end || *p == '#')
		return 0;
	if (end - p > 7 && !strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
		p = skip_space(p + 7, end);
	const char *name = p;
	if (p < end && (isalpha((unsigned char)*p) || *p == '_'))
		while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
	size_t nl = (size_t)(p - name);
	p = skip_space(p, end);
	if (!nl || p == end || *p != '=') {
		*why = "not a NAME=value line (a name is letters, digits and '_')";
		return -1;
	}
	if (nl >= SECRETS_NAME_MAX) {
		*why = "name too long";
		return -1;
	}
	char nm[SECRETS_NAME_MAX];
	memcpy(nm, name, nl);
	nm[nl] = '\0';
	if (secrets_get(s, nm)) {
		*why = "this name is given twice";
		return -1;
	}
	if (s->n >= SECRETS_MAX) {
		*why = "too many assignments";
		return -1;
	}
	char *v = parse_value(p + 1, end, why);
	if (!v)
		return -1;
	s->names = xrealloc(s->names, (s->n + 1) * sizeof(char *));
	s->values = xrealloc(s->values, (s->n + 1) * sizeof(char *));
	s->names[s->n] = xstrdup(nm);
	s->values[s->n++] = v;
	return 0;
}

int secrets_parse(const char *text, size_t len, struct secrets *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	const char *p = text, *end = text + len;
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "holds a NUL byte: not a text file");
		return -1;
	}
	for (int lineno = 1; p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *why = NULL;
		if (le - p > SECRETS_LINE_MAX)
			why = "line too long";
		else if (parse_line(p, le > p && le[-1] == '\r' ? le - 1 : le, s, &why) != 0 && !why)
			why = "cannot be read";
		if (why) {
			snprintf(err, errlen, "line %d: %s", lineno, why);
			secrets_free(s);
			return -1;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int secrets_load(const char *path, struct secrets *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read secrets file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	const char *why = !S_ISREG(st.st_mode) ? "not a regular file" :
			  st.st_uid != geteuid() ? "not owned by the user running this program" :
			  st.st_mode & 077 ? "readable or writable by others: chmod 600 it" :
			  st.st_size > (off_t)SECRETS_FILE_MAX ? "larger than 256 KiB" : NULL;
	if (why) {
		snprintf(err, errlen, "secrets file %s refused: %s", path, why);
		close(fd);
		return -1;
	}
	char *text = xmalloc((size_t)st.st_size + 1);
	ssize_t got = read(fd, text, (size_t)st.st_size);
	close(fd);
	int r = -1;
	char why2[160];
	if (got != (ssize_t)st.st_size)
		snprintf(err, errlen, "cannot read secrets file %s", path);
	else if (secrets_parse(text, (size_t)got, s, why2, sizeof(why2)) != 0)
		snprintf(err, errlen, "secrets file %s: %s", path, why2);
	else
		r = 0;
	memset(text, 0, (size_t)st.st_size);
	free(text);
	return r;
}
