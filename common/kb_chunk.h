/* kb_chunk.h — text cut into chunks for a knowledge base: sizes counted in
 * characters (UTF-8 code points, so Chinese and English text get chunks of
 * the same length to a reader), cut at the strongest boundary near the
 * size: a paragraph, a sentence end (. ! ? and 。！？), a line or clause
 * (， ； ,), a space; a run with none of them (a long Chinese sentence) is
 * cut at the size. Each chunk after the first starts up to `overlap`
 * characters before the previous one ended (at a space or sentence end
 * when one is there). */
#ifndef LLMGATE_KB_CHUNK_H
#define LLMGATE_KB_CHUNK_H
#include <stddef.h>

/* Called with each chunk (trimmed of white space, never empty); non-zero
 * stops the split. */
typedef int (*kb_chunk_cb)(const char *p, size_t n, void *user);

/* Split text (len bytes of UTF-8) into chunks of at most size characters
 * (size >= 16; overlap < size / 2, larger values are clamped). Returns the
 * number of chunks, or -1 when cb stopped it. */
long kb_chunk_split(const char *text, size_t len, int size, int overlap, kb_chunk_cb cb, void *user);
/* The number of characters (UTF-8 code points) of p[0..n). */
size_t kb_chunk_chars(const char *p, size_t n);
#endif
