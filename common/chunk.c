/* chunk.c — the internal stream's events handed on (see chunk.h). */
#include "autoconf.h"
#include "chunk.h"
#include <stdlib.h>
#include <string.h>

/* The event just appended at buf[from..] handed to fn, then dropped. */
static int hand_on(struct chunk_sink *k, const cJSON *obj, size_t from, unsigned flags)
{
	const char *sse = k->buf->data + from;
	size_t n = k->buf->len - from;
	struct chunk c = { .obj = obj, .sse = sse, .sse_len = n, .json = sse + 6, .json_len = n - 8,
			   .flags = flags };
	if (k->fn(&c, k->user) != 0)
		k->stopped = 1;
	buf_reset(k->buf);
	return k->stopped ? -1 : 0;
}

int chunk_emit(struct chunk_sink *k, cJSON *j, unsigned flags)
{
	if (k->stopped) {
		cJSON_Delete(j);
		return -1;
	}
	if (k->fn)
		buf_reset(k->buf);
	size_t from = k->buf->len;
	char *s = cJSON_PrintUnformatted(j);
	int rc = s ? buf_printf(k->buf, "data: %s\n\n", s) : -1;
	free(s);
	if (rc == 0 && k->fn)
		rc = hand_on(k, j, from, flags);
	cJSON_Delete(j);
	return rc;
}

int chunk_emit_done(struct chunk_sink *k)
{
	if (k->stopped)
		return -1;
	if (k->fn)
		buf_reset(k->buf);
	size_t from = k->buf->len;
	if (buf_puts(k->buf, "data: [DONE]\n\n") != 0)
		return -1;
	return k->fn ? hand_on(k, NULL, from, CHUNK_DONE) : 0;
}
