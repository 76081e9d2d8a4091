/* kb_chunk.c — chunking by characters and boundaries (see kb_chunk.h). */
#include "autoconf.h"
#include "kb_chunk.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

/* boundary strengths: what a cut after this character would respect */
enum { B_NONE, B_SPACE, B_CLAUSE, B_SENTENCE, B_PARA, B_LEVELS };

/* Bytes of the UTF-8 character that starts with c (1 for a stray byte). */
static size_t char_len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

size_t kb_chunk_chars(const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; k++)
		i += char_len((unsigned char)p[i]);
	return k;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The boundary after the character at t[i] (cl bytes). */
static int boundary(const char *t, size_t len, size_t i, size_t cl)
{
	const unsigned char *u = (const unsigned char *)t + i;
	size_t after = i + cl;
	int next_space = after >= len || is_space((unsigned char)t[after]);
	if (cl == 1) {
		if (*u == '\n')
			return after < len && (t[after] == '\n' || (t[after] == '\r' && after + 1 < len && t[after + 1] == '\n'))
				? B_PARA : B_CLAUSE;
		if ((*u == '.' || *u == '!' || *u == '?') && next_space)
			return B_SENTENCE;
		if ((*u == ';' || *u == ',' || *u == ':') && next_space)
			return B_CLAUSE;
		return *u == ' ' || *u == '\t' ? B_SPACE : B_NONE;
	}
	if (cl == 3) {
		/* 。 E3 80 82, ！ EF BC 81, ？ EF BC 9F; ， EF BC 8C, ； EF BC 9B, 、 E3 80 81, ： EF BC 9A */
		if ((u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x82) ||
		    (u[0] == 0xef && u[1] == 0xbc && (u[2] == 0x81 || u[2] == 0x9f)))
			return B_SENTENCE;
		if ((u[0] == 0xef && u[1] == 0xbc && (u[2] == 0x8c || u[2] == 0x9b || u[2] == 0x9a)) ||
		    (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x81))
			return B_CLAUSE;
	}
	return B_NONE;
}

/* Emit t[a..b) trimmed; 0, 1 when empty (nothing emitted), -1 stopped. */
static int emit(const char *t, size_t a, size_t b, kb_chunk_cb cb, void *user)
{
	while (a < b && is_space((unsigned char)t[a]))
		a++;
	while (b > a && is_space((unsigned char)t[b - 1]))
		b--;
	if (a == b)
		return 1;
	return cb(t + a, b - a, user) ? -1 : 0;
}

long kb_chunk_split(const char *text, size_t len, int size, int overlap, kb_chunk_cb cb, void *user)
{
	if (size < 16)
		size = 16;
	if (overlap < 0)
		overlap = 0;
	if (overlap > size / 2)
		overlap = size / 2;
	size_t *offs = xmalloc(((size_t)size + 1) * sizeof(size_t));   /* char index -> byte offset */
	long count = 0;
	size_t pos = 0;
	while (pos < len) {
		size_t best[B_LEVELS] = { 0 }, bestc[B_LEVELS] = { 0 };
		size_t i = pos, k = 0;
		while (i < len && k < (size_t)size) {
			offs[k] = i;
			size_t cl = char_len((unsigned char)text[i]);
			if (i + cl > len)
				cl = len - i;
			int b = boundary(text, len, i, cl);
			i += cl;
			k++;
			/* a paragraph may end a chunk from a quarter of the size
			 * on, a sentence from a third, the rest from half */
			if (b != B_NONE && k >= (size_t)size / (b == B_PARA ? 4 : b == B_SENTENCE ? 3 : 2)) {
				best[b] = i;
				bestc[b] = k;
			}
		}
		offs[k] = i;
		size_t end = i, endc = k;
		if (i < len) {   /* cut at the strongest boundary seen */
			for (int b = B_PARA; b > B_NONE; b--)
				if (best[b]) {
					end = best[b];
					endc = bestc[b];
					break;
				}
		}
		int rc = emit(text, pos, end, cb, user);
		if (rc < 0) {
			free(offs);
			return -1;
		}
		count += rc == 0;
		if (end >= len)
			break;
		/* the next chunk starts overlap characters back, at a boundary
		 * when there is one before the cut */
		size_t next = end;
		if (overlap && endc > (size_t)overlap) {
			size_t from = offs[endc - (size_t)overlap];
			next = from;
			for (size_t j = from; j < end;) {
				size_t cl = char_len((unsigned char)text[j]);
				if (j + cl > end)
					break;
				if (boundary(text, len, j, cl) >= B_SPACE) {
					next = j + cl;
					break;
				}
				j += cl;
			}
		}
		pos = next > pos ? next : end;
	}
	free(offs);
	return count;
}
