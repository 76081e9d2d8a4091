/* jscan.h — small scans over JSON text that is already known to be valid. */
#ifndef LLMGATE_JSCAN_H
#define LLMGATE_JSCAN_H
#include <stddef.h>

/* In the JSON object text s (n bytes), find the top-level member name:
 * *vs and *ve get the byte span of its value. 1 if found, 0 if not, -1 if
 * s is not an object. Keys with escapes never match. */
int jscan_member(const char *s, size_t n, const char *name, size_t *vs, size_t *ve);

/* The span of the last "usage": {...} object anywhere in s (a response
 * body or event), skipping string contents. 1 if found. */
int jscan_last_object(const char *s, size_t n, const char *name, size_t *vs, size_t *ve);

/* Does s look like a whole JSON object: '{' first and '}' last, ignoring
 * white space? (A cheap check for answers that are not JSON at all.) */
int jscan_is_object(const char *s, size_t n);
/* Is s (n bytes) exactly one valid JSON value (RFC 8259, no raw control
 * characters in strings), surrounding white space aside, nested no deeper
 * than max_depth arrays/objects? 1 if so. */
int jscan_valid(const char *s, size_t n, int max_depth);
/* jscan_valid, and no string (member name or value) holds the escape
 * \u0000, a NUL no C string carries (cJSON cuts the string there, the
 * next parser does not). 1 if so, 0 if s is not valid JSON, -1 if it is
 * but holds \u0000. */
int jscan_strict(const char *s, size_t n, int max_depth);

/* The members of the object s, one by one: start with *i = 0; each call
 * fills m and returns 1, or 0 at the end (or at anything unexpected). For
 * text jscan_valid accepted. */
struct jscan_member {
	const char *key;        /* not NUL-terminated; escapes not decoded */
	size_t key_len;
	int escaped;            /* the key has escapes */
	const char *value;      /* the value's text */
	size_t value_len;
};
int jscan_next_member(const char *s, size_t n, size_t *i, struct jscan_member *m);
#endif
