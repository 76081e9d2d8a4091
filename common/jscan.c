/* jscan.c — small scans over JSON text that is already known to be valid. */
#include "autoconf.h"
#include "jscan.h"
#include <string.h>

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* i at a '"': the index after the closing quote; *esc set if the string has
 * escapes. n if unterminated. A quote ends the string unless an odd number
 * of backslashes stands right before it; memchr finds the quotes. */
static size_t skip_string(const char *s, size_t n, size_t i, int *esc)
{
	size_t j = i + 1;
	for (;;) {
		const char *q = j < n ? memchr(s + j, '"', n - j) : NULL;
		if (!q)
			return n;
		size_t k = (size_t)(q - s), bs = 0;
		while (k - bs > i + 1 && s[k - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0) {
			if (esc && memchr(s + i + 1, '\\', k - i - 1))
				*esc = 1;
			return k + 1;
		}
		j = k + 1;
	}
}

/* i at a value: the index after it. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	if (i >= n)
		return n;
	if (s[i] == '"')
		return skip_string(s, n, i, NULL);
	if (s[i] == '{' || s[i] == '[') {
		int depth = 0;
		for (; i < n; i++) {
			if (s[i] == '"') {
				i = skip_string(s, n, i, NULL) - 1;
			} else if (s[i] == '{' || s[i] == '[') {
				depth++;
			} else if (s[i] == '}' || s[i] == ']') {
				if (--depth == 0)
					return i + 1;
			}
		}
		return n;
	}
	while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
	       s[i] != '\t')
		i++;
	return i;
}

int jscan_member(const char *s, size_t n, const char *name, size_t *vs, size_t *ve)
{
	size_t nl = strlen(name);
	size_t i = skip_ws(s, n, 0);
	if (i >= n || s[i] != '{')
		return -1;
	i++;
	for (;;) {
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != '"')
			return 0;
		int esc = 0;
		size_t ks = i + 1;
		i = skip_string(s, n, i, &esc);
		size_t kl = i - 1 - ks;
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != ':')
			return 0;
		i = skip_ws(s, n, i + 1);
		size_t v0 = i;
		i = skip_value(s, n, i);
		if (!esc && kl == nl && !memcmp(s + ks, name, nl)) {
			*vs = v0;
			*ve = i;
			return 1;
		}
		i = skip_ws(s, n, i);
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		return 0;
	}
}

int jscan_last_object(const char *s, size_t n, const char *name, size_t *vs, size_t *ve)
{
	size_t nl = strlen(name);
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		const char *q = memchr(s + i, '"', n - i);
		if (!q)
			break;
		i = (size_t)(q - s);
		size_t end = skip_string(s, n, i, NULL);
		if (end - i == nl + 2 && !memcmp(s + i + 1, name, nl)) {
			size_t j = skip_ws(s, n, end);
			if (j < n && s[j] == ':') {
				j = skip_ws(s, n, j + 1);
				if (j < n && s[j] == '{') {
					*vs = j;
					*ve = skip_value(s, n, j);
					found = 1;
				}
			}
		}
		i = end - 1;
	}
	return found;
}

int jscan_is_object(const char *s, size_t n)
{
	size_t i = skip_ws(s, n, 0);
	size_t e = n;
	while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
		e--;
	return e > i + 1 && s[i] == '{' && s[e - 1] == '}';
}

/* One JSON value at s[*i], strictly by RFC 8259 (raw control characters in
 * strings and leading zeros refused), nested at most depth deep; *i moves
 * past it. 0 if valid. *nul is set when a string holds the escape \u0000. */
static int valid_value(const char *s, size_t n, size_t *i, int depth, int *nul)
{
	size_t k = skip_ws(s, n, *i);
	if (k >= n)
		return -1;
	char ch = s[k];
	if (ch == '"') {
		for (k++; k < n; k++) {
			unsigned char c = (unsigned char)s[k];
			if (c == '"')
				break;
			if (c < 0x20)
				return -1;
			if (c == '\\') {
				if (++k >= n)
					return -1;
				if (s[k] == 'u') {
					if (n - k > 4 && !memcmp(s + k + 1, "0000", 4))
						*nul = 1;
					for (int h = 0; h < 4; h++) {
						if (++k >= n || !strchr("0123456789abcdefABCDEF", s[k]) || !s[k])
							return -1;
					}
				} else if (!strchr("\"\\/bfnrt", s[k]) || !s[k]) {
					return -1;
				}
			}
		}
		if (k >= n)
			return -1;
		*i = k + 1;
		return 0;
	}
	if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		if (depth <= 0)
			return -1;
		k = skip_ws(s, n, k + 1);
		if (k < n && s[k] == close) {
			*i = k + 1;
			return 0;
		}
		for (;;) {
			if (ch == '{') {
				k = skip_ws(s, n, k);
				if (k >= n || s[k] != '"' || valid_value(s, n, &k, depth - 1, nul) != 0)
					return -1;
				k = skip_ws(s, n, k);
				if (k >= n || s[k] != ':')
					return -1;
				k++;
			}
			if (valid_value(s, n, &k, depth - 1, nul) != 0)
				return -1;
			k = skip_ws(s, n, k);
			if (k < n && s[k] == ',') {
				k++;
				continue;
			}
			if (k < n && s[k] == close) {
				*i = k + 1;
				return 0;
			}
			return -1;
		}
	}
	if (ch == 't' || ch == 'f' || ch == 'n') {
		const char *lit = ch == 't' ? "true" : ch == 'f' ? "false" : "null";
		size_t ll = strlen(lit);
		if (n - k < ll || memcmp(s + k, lit, ll))
			return -1;
		*i = k + ll;
		return 0;
	}
	/* a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (s[k] == '-')
		k++;
	if (k >= n || s[k] < '0' || s[k] > '9')
		return -1;
	if (s[k] == '0')
		k++;
	else
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
	if (k < n && s[k] == '.') {
		if (++k >= n || s[k] < '0' || s[k] > '9')
			return -1;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
	}
	if (k < n && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k >= n || s[k] < '0' || s[k] > '9')
			return -1;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
	}
	*i = k;
	return 0;
}

int jscan_valid(const char *s, size_t n, int max_depth)
{
	size_t i = 0;
	int nul = 0;
	if (valid_value(s, n, &i, max_depth, &nul) != 0)
		return 0;
	return skip_ws(s, n, i) == n;
}

int jscan_strict(const char *s, size_t n, int max_depth)
{
	size_t i = 0;
	int nul = 0;
	if (valid_value(s, n, &i, max_depth, &nul) != 0 || skip_ws(s, n, i) != n)
		return 0;
	return nul ? -1 : 1;
}

int jscan_next_member(const char *s, size_t n, size_t *i, struct jscan_member *m)
{
	size_t k = skip_ws(s, n, *i);
	if (k < n && (s[k] == '{' || s[k] == ','))
		k = skip_ws(s, n, k + 1);
	if (k >= n || s[k] != '"')
		return 0;
	m->escaped = 0;
	m->key = s + k + 1;
	k = skip_string(s, n, k, &m->escaped);
	if (k > n || k < (size_t)(m->key - s) + 1)
		return 0;
	m->key_len = k - 1 - (size_t)(m->key - s);
	k = skip_ws(s, n, k);
	if (k >= n || s[k] != ':')
		return 0;
	k = skip_ws(s, n, k + 1);
	m->value = s + k;
	k = skip_value(s, n, k);
	m->value_len = k - (size_t)(m->value - s);
	*i = k;
	return 1;
}
