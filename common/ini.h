/* ini.h — a small INI reader: [section] and key = value lines. */
#ifndef LLMGATE_INI_H
#define LLMGATE_INI_H
#include <stddef.h>

/* Called for each key = value; section is "" before the first header.
 * Strings are valid only during the call. Return 0 to go on, non-zero to
 * stop (ini_parse returns that value). */
typedef int (*ini_cb)(const char *section, const char *key, const char *value,
		      int lineno, void *user);

/* Parse text (len bytes, need not be NUL-terminated). Comments start with
 * '#' or ';' at the start of a line; whitespace around keys and values is
 * trimmed; values may be wrapped in double quotes. Returns 0, the callback's
 * value, or -1 with *errline set on a malformed line. */
int ini_parse(const char *text, size_t len, ini_cb cb, void *user, int *errline);

/* Split a comma-separated list into trimmed, non-empty items (each a new
 * string). Returns the count; *out is a new array (free each, then it). */
size_t ini_split_list(const char *s, char ***out);
void ini_free_list(char **list, size_t n);

/* Parse a whole decimal number in [min, max]; 0 on success, -1 otherwise. */
int ini_parse_long(const char *s, long min, long max, long *out);
/* The same for numbers beyond a 32-bit long (sizes, unix times after 2038). */
int ini_parse_llong(const char *s, long long min, long long max, long long *out);
#endif
