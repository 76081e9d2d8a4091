/* fuzz_common.h — shared helpers of the libFuzzer targets in tests/fuzz/.
 *
 * Every target is linked with -Wl,--wrap=log_msg (see build.sh): log lines
 * are still formatted and scrubbed, so format bugs and scrubbing are
 * exercised, but nothing is printed. */
#ifndef LLMGATE_FUZZ_COMMON_H
#define LLMGATE_FUZZ_COMMON_H
#include "anthropic.h"
#include "buf.h"
#include "chunk.h"
#include "log.h"
#include "sse.h"
#include "usage.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
void __wrap_log_msg(enum log_level lvl, const char *fmt, ...);

/* Report a broken property: print why and abort, so libFuzzer saves the
 * input as a crash. */
#define FUZZ_ASSERT(cond, ...)                                                  \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "FUZZ PROPERTY VIOLATED (%s:%d): %s\n  ", \
				__FILE__, __LINE__, #cond);                     \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

/* Checks for bugs that are known and not fixed yet can be switched off by
 * name with LLMGATE_FUZZ_IGNORE="name,name" (run.sh reads known-bugs.txt),
 * so that fuzzing goes on looking for new ones. Run a crash-* input
 * without the variable to reproduce. */
static inline int fuzz_check_on(const char *name)
{
	const char *ig = getenv("LLMGATE_FUZZ_IGNORE");
	if (!ig || !*ig)
		return 1;
	size_t n = strlen(name);
	for (const char *p = ig; (p = strstr(p, name)) != NULL; p += n) {
		if ((p == ig || p[-1] == ',' || p[-1] == ' ') && (!p[n] || p[n] == ',' || p[n] == ' '))
			return 0;
	}
	return 1;
}

/* Does JSON text hold a member "index" whose number is outside int? (a
 * known unfixed float-to-int cast in the stream translators: with the
 * check off, such events are not fed, so fuzzing goes on past it) */
static inline int fuzz_json_huge_index_in(const cJSON *j)
{
	for (; j; j = j->next) {
		if (j->string && !strcmp(j->string, "index") && cJSON_IsNumber(j) &&
		    !(j->valuedouble > -2147483648.0 && j->valuedouble < 2147483647.0))
			return 1;
		if (j->child && fuzz_json_huge_index_in(j->child))
			return 1;
	}
	return 0;
}

static inline int fuzz_skip_huge_index(const char *data, size_t len)
{
	if (fuzz_check_on("stream-index-float-cast"))
		return 0;
	cJSON *j = cJSON_ParseWithLength(data, len);
	int huge = j && fuzz_json_huge_index_in(j);
	cJSON_Delete(j);
	return huge;
}

/* A NUL-terminated copy of the input (free()). */
/* Do two usage values hold the same counts (padding aside)? */
static inline int fuzz_same_usage(const struct usage *a, const struct usage *b)
{
	return a->prompt == b->prompt && a->completion == b->completion && a->cached == b->cached &&
	       a->reasoning == b->reasoning && a->reported == b->reported;
}

static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Write data to path (truncating). 0 or -1. */
static inline int fuzz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = size == 0 || fwrite(data, 1, size, f) == size;
	ok &= fclose(f) == 0;
	return ok ? 0 : -1;
}

/* Is s[0..n) valid JSON (any value)? */
static inline int fuzz_is_json(const char *s, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(s, n);
	int ok = j != NULL;
	cJSON_Delete(j);
	return ok;
}

/* Every event of an SSE text must carry JSON data (or "[DONE]"), and the
 * text must end at an event boundary. Used on what the translators emit. */
struct fuzz_sse_check {
	const char *what;
	unsigned events;
};

static inline int fuzz_sse_check_cb(const struct sse_event *ev, void *user)
{
	struct fuzz_sse_check *c = user;
	c->events++;
	if (!ev->data_len)
		return 0;
	if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6))
		return 0;
	FUZZ_ASSERT(fuzz_is_json(ev->data, ev->data_len), "%s emitted an event whose data is not JSON: %.*s",
		    c->what, (int)(ev->data_len > 300 ? 300 : ev->data_len), ev->data);
	return 0;
}

static inline void fuzz_check_sse_text(const char *what, const char *text, size_t n)
{
	struct sse_parser p;
	struct fuzz_sse_check c = { what, 0 };
	if (!n)
		return;
	sse_init(&p, (size_t)1 << 26);
	int rc = sse_feed(&p, text, n, fuzz_sse_check_cb, &c);
	FUZZ_ASSERT(rc == 0, "%s: its own output does not parse as SSE (rc %d)", what, rc);
	FUZZ_ASSERT(sse_pending(&p) == 0, "%s emitted a partial event: %.*s", what,
		    (int)(n > 300 ? 300 : n), text);
	sse_free(&p);
}

/* Silent log: format and scrub like the real one, print nothing. */
void __wrap_log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	(void)lvl;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_scrub(line);
}
/* One event a translator handed on (chunk.h), checked: complete SSE with
 * JSON data, one data event, its object its text, none after the end or
 * an error (*ended). Then fed to the Anthropic encoder both ways, as a
 * structured value (o2a) and as text (o2a_text), which must write the same
 * bytes (into out and out2); the first's return value. */
static inline int fuzz_check_chunk(const char *what, const struct chunk *c, int *ended,
				   struct anthropic_from_oai *o2a, struct anthropic_from_oai *o2a_text,
				   struct buf *out, struct buf *out2)
{
	FUZZ_ASSERT(!*ended, "%s: an event after the end or an error: %.200s", what, c->json);
	*ended = (c->flags & (CHUNK_DONE | CHUNK_ERROR)) != 0;
	fuzz_check_sse_text(what, c->sse, c->sse_len);
	FUZZ_ASSERT(c->sse_len == c->json_len + 8 && c->json == c->sse + 6, "%s: a chunk is not one data event", what);
	if (c->obj) {
		char *p = cJSON_PrintUnformatted(c->obj);
		FUZZ_ASSERT(p && strlen(p) == c->json_len && !memcmp(p, c->json, c->json_len),
			    "%s: a chunk's object is not its text: %.200s", what, c->json);
		free(p);
	} else {
		FUZZ_ASSERT((c->flags & CHUNK_DONE) && c->json_len == 6, "%s: a chunk without its object", what);
	}
	if (fuzz_skip_huge_index(c->json, c->json_len))
		return 0;
	buf_reset(out);
	int rc = anthropic_from_oai_chunk(o2a, c, out);
	FUZZ_ASSERT(rc >= -1 && rc <= 1, "anthropic_from_oai_chunk returned %d", rc);
	fuzz_check_sse_text("anthropic_from_oai_chunk", out->data, out->len);
	buf_reset(out2);
	int rc2 = anthropic_from_oai_feed(o2a_text, c->json, c->json_len, out2);
	FUZZ_ASSERT(rc2 == rc && out->len == out2->len && !memcmp(buf_str(out), buf_str(out2), out->len),
		    "the Anthropic encoder wrote other bytes from the object (%d) than from the text (%d)", rc, rc2);
	return rc;
}

#endif
