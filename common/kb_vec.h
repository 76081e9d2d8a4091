/* kb_vec.h — one document's chunks and their vectors in one file, read
 * by mmap: a search scans the records in place, so the router's heap does
 * not grow with the corpus (only the best hits' texts are copied).
 *
 * Layout (little-endian, as the machine writes it): a 256-byte head
 * ("LGKBVEC1", dimensions, record count, text offset, the embedding model),
 * then count fixed-size records (text offset and length, scale, norm, and
 * the vector quantised to int8: v[i] = q[i] * scale), then the chunks'
 * texts. A file is written whole under a temporary name and renamed, so a
 * reader sees all of it or none. */
#ifndef LLMGATE_KB_VEC_H
#define LLMGATE_KB_VEC_H
#include <stddef.h>
#include <stdint.h>

#define KB_VEC_MODEL_MAX 224
#define KB_VEC_DIM_MAX 8192

/* One search hit: the chunk's text (new string), its score and where it
 * came from. */
struct kb_hit {
	float score;
	char *text;
	size_t text_len;
	uint32_t chunk;
	char source[64];      /* the caller's name for the file searched (a file id) */
};

/* The best k hits so far, best first (kb_top_init / kb_top_free). */
struct kb_top {
	size_t k, n;
	struct kb_hit *v;
};
void kb_top_init(struct kb_top *t, size_t k);
void kb_top_free(struct kb_top *t);

/* A query: the vector quantised like the records (kb_vec_query_init). */
struct kb_query {
	int dim;
	int8_t *q;
	float scale, norm;
};
/* From v[0..dim) (any length); 0, or -1 for a zero vector. */
int kb_vec_query_init(struct kb_query *q, const float *v, int dim);
void kb_vec_query_free(struct kb_query *q);

/* Write path: model, n chunks of dim dimensions (vecs: n * dim floats,
 * row by row), texts[i] of lens[i] bytes. 0, or -1 with errno. */
int kb_vec_write(const char *path, const char *model, int dim, size_t n, const float *vecs, const char *const *texts,
		 const size_t *lens);

/* What a file holds: its model and dimensions and its record count. 0, or
 * -1 when it cannot be read or is not a vector file. */
int kb_vec_info(const char *path, char *model, size_t mlen, int *dim, size_t *count);

/* Score every record of path against q (cosine similarity, from the
 * quantised vectors) and keep those of at least min_score in top, source
 * naming them. 0; 1 when the file's model or dimensions are not model/q's
 * (nothing scored: the file needs indexing again); -1 when it cannot be
 * read. */
int kb_vec_search(const char *path, const char *model, const struct kb_query *q, float min_score, const char *source,
		  struct kb_top *top);

/* The texts of path's chunks, each passed to fn in order (for re-indexing
 * and listing). 0 or -1. */
int kb_vec_each_text(const char *path, void (*fn)(const char *text, size_t len, void *user), void *user);
#endif
