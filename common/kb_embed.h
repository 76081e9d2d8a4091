/* kb_embed.h — embeddings for knowledge bases through the router's own
 * routing: the configured embedding model ([rag] model, or RAG_MODEL) is
 * resolved like any model, and each call runs through the relay, so key
 * pools, retries, quotas and usage records apply as for a client's
 * /v1/embeddings; each call is recorded (endpoint "embeddings") against
 * the key given: the uploader's, or the admin's identity (kb_embed_admin)
 * for the admin's files. Nothing is written to the client unless the
 * gateway itself refuses the call (no room for usage records, the key's
 * limits): then the refusal is the client's answer and -2 is returned. */
#ifndef LLMGATE_KB_EMBED_H
#define LLMGATE_KB_EMBED_H
#include "auth.h"
#include "gateway.h"
#include "kb_index.h"

struct kb_embed_ctx {
	struct worker *w;
	struct runtime *snap;
	struct http_req *r;              /* the request that needs the embeddings */
	const struct auth_entry *who;    /* recorded against */
	const char *req_id;              /* each call's record id: <req_id>.e<n> */
	int seq;
};

/* The identity the admin's uploads are recorded against: id "admin",
 * name "admin (knowledge base)", no limits. */
const struct auth_entry *kb_embed_admin(void);

/* kb_embedder.fn over the relay (user: struct kb_embed_ctx). */
int kb_embed_relay(void *user, int as_admin, const char *const *texts, size_t n, float **out, int *dim, char *err,
		   size_t errlen);

/* An embedder for ctx with the configured model; -1 with err when no
 * embedding model is configured. */
int kb_embed_init(struct kb_embedder *e, struct kb_embed_ctx *ctx, char *err, size_t errlen);

/* The vectors of an OpenAI embeddings answer (body), n of them, in index
 * order: n * *dim floats (new), or NULL. */
float *kb_embed_parse(const char *body, size_t len, size_t n, int *dim);
#endif
