/* kb_index.h — a store's files indexed (chunked, embedded, written as
 * vector files) and searched. The embedding call is the caller's
 * (kb_embed.h through the relay in the router; a fake in the unit tests).
 *
 * A file is indexed whole or not at all: its vector file appears by a
 * rename once every chunk is embedded. A store is brought up to date
 * (kb_index_sync) before it is searched: files marked pending (attached by
 * the admin, or to be indexed again) and files indexed with another
 * embedding model than the configured one are indexed now. One process
 * at a time indexes a store (a lock file). */
#ifndef LLMGATE_KB_INDEX_H
#define LLMGATE_KB_INDEX_H
#include "config.h"
#include "kb_vec.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define KB_EMBED_BATCH 32   /* texts per embedding call */

struct kb_embedder {
	/* Embed texts[0..n): n * *dim floats into *out (new). as_admin: on
	 * behalf of the admin (a document of a shared store), not of the
	 * caller. 0; -1 with a reason in err; -2 when the client was answered
	 * already (a refusal by the gateway: nothing more may be written). */
	int (*fn)(void *user, int as_admin, const char *const *texts, size_t n, float **out, int *dim, char *err,
		  size_t errlen);
	void *user;
	const char *model;   /* the embedding model: recorded in each vector file */
};

/* Index file_id into store vs (chunk size and overlap from c), embedded
 * as_admin or not. 0 (chunk count in *chunks); -1 / -2 as the embedder
 * (err). */
int kb_index_file(const struct config *c, const struct kb_embedder *e, int as_admin, const char *vs,
		  const char *file_id, long *chunks, char *err, size_t errlen);
/* Bring vs up to date (see above; a store of the admin's is embedded on
 * the admin's behalf). 0; -1 / -2 as the embedder. */
int kb_index_sync(const struct config *c, const struct kb_embedder *e, const char *vs, char *err, size_t errlen);
/* Search the stores vs[0..n) for query (embedded with e): the best top->k
 * chunks of at least min_score into top, each hit's source the file id.
 * 0; -1 / -2 as the embedder. */
int kb_index_search(const struct config *c, const struct kb_embedder *e, const char *const *vs, size_t n,
		    const char *query, float min_score, struct kb_top *top, char *err, size_t errlen);
/* The hits of top as a vector-store search answer's data (OpenAI's shape:
 * file_id, filename, score, attributes, content), a new array. */
cJSON *kb_index_hits_json(const struct config *c, const struct kb_top *top);
#endif
