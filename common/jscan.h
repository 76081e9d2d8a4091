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
#endif
