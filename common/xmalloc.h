/* xmalloc.h — allocation wrappers that never return NULL (abort on OOM). */
#ifndef LLMGATE_XMALLOC_H
#define LLMGATE_XMALLOC_H
#include <stddef.h>

/* All return memory owned by the caller (free()); on exhaustion they log
 * and abort, so callers never check for NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; aborts on OOM or encoding error. */
/* a followed by b, as one new string (cheaper than xasprintf("%s%s")) */
char *xstrcat2(const char *a, const char *b);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
