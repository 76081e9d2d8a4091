/* kb_embed.c — embedding calls through the relay (see kb_embed.h). */
#include "autoconf.h"
#include "kb_embed.h"
#include "kb_vec.h"
#include "log.h"
#include "relay.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One call's state (relay.front). */
struct embed_call {
	const char *body;
	float *vecs;
	int dim;
	size_t n;
	char *err;
	size_t errlen;
	int ok;
};

const struct auth_entry *kb_embed_admin(void)
{
	static const struct auth_entry admin = { .id = "admin", .name = "admin (knowledge base)" };
	return &admin;
}

float *kb_embed_parse(const char *body, size_t len, size_t n, int *dim)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	float *out = NULL;
	int d = 0;
	size_t got = 0;
	if (!cJSON_IsArray(data) || (size_t)cJSON_GetArraySize(data) != n)
		goto out;
	const cJSON *it;
	cJSON_ArrayForEach(it, data) {
		const cJSON *emb = cJSON_GetObjectItemCaseSensitive(it, "embedding");
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
		int len_e = cJSON_IsArray(emb) ? cJSON_GetArraySize(emb) : 0;
		size_t at = cJSON_IsNumber(ix) ? (size_t)ix->valuedouble : got;
		if (len_e <= 0 || len_e > KB_VEC_DIM_MAX || (d && len_e != d) || at >= n || (ix && ix->valuedouble < 0))
			goto bad;
		if (!d) {
			d = len_e;
			out = xcalloc(n * (size_t)d, sizeof(float));
		}
		int k = 0;
		const cJSON *v;
		cJSON_ArrayForEach(v, emb) {
			if (!cJSON_IsNumber(v))
				goto bad;
			out[at * (size_t)d + (size_t)k++] = (float)v->valuedouble;
		}
		got++;
	}
	*dim = d;
	goto out;
bad:
	free(out);
	out = NULL;
out:
	cJSON_Delete(j);
	return out;
}

static int e_prepare(struct relay *x, const struct route_target *t, struct relay_send *s, char *err, size_t errlen)
{
	struct embed_call *ec = x->front;
	(void)err;
	(void)errlen;
	s->url = xstrcat2(t->prov->base_url, "/embeddings");
	s->body = ec->body;
	s->body_len = strlen(ec->body);
	s->accept = "application/json";
	return 0;
}

static void e_unsendable(struct relay *x, const struct route_target *t, const char *err)
{
	struct embed_call *ec = x->front;
	snprintf(ec->err, ec->errlen, "the embedding model cannot be called at %s: %s", t->prov->name, err);
	relay_record(x, 400);
}

/* A 2xx that holds no vectors is no answer: the next key is tried. */
static int e_check(struct relay *x)
{
	struct embed_call *ec = x->front;
	if (x->status >= 300)
		return 0;
	free(ec->vecs);
	ec->vecs = kb_embed_parse(buf_str(&x->body), x->body.len, ec->n, &ec->dim);
	return ec->vecs ? 0 : -1;
}

static void e_answer(struct relay *x)
{
	struct embed_call *ec = x->front;
	if (x->status >= 200 && x->status < 300)
		x->dops->usage_from_body(buf_str(&x->body), x->body.len, &x->usage);
	relay_record(x, x->status);
	if (x->status >= 200 && x->status < 300 && ec->vecs) {
		ec->ok = 1;
		return;
	}
	char *b = relay_scrubbed_body(buf_str(&x->body), x->body.len);
	snprintf(ec->err, ec->errlen, "the embedding model's upstream answered HTTP %d: %.300s", x->status, b);
	free(b);
}

static void e_fail(struct relay *x, enum fail_kind fail, int attempts, const char *detail, int64_t retry_ms)
{
	struct embed_call *ec = x->front;
	(void)fail;
	(void)retry_ms;
	snprintf(ec->err, ec->errlen, "the embedding model failed after %d attempt%s%s%s", attempts,
		 attempts == 1 ? "" : "s", detail[0] ? ": " : "", detail);
}

static const struct relay_ops embed_ops = {
	.prepare = e_prepare, .unsendable = e_unsendable,
	.on_head = relay_buffered_head, .on_data = relay_buffered_data,
	.check = e_check, .answer = e_answer, .fail = e_fail,
};

/* The route of the embedding model: its OpenAI-format targets. 0 or -1. */
static int embed_route(const struct config *c, struct route *rt, char *err, size_t errlen)
{
	int rc = provider_resolve_dialect(c, c->rag_model, DIALECT_OPENAI, rt);
	if (rc != 0)
		snprintf(err, errlen, rc == -1 ? "the embedding model '%.200s' is not routed to any provider"
					       : "the embedding model '%.200s' has no OpenAI-compatible provider", c->rag_model);
	return rc ? -1 : 0;
}

int kb_embed_relay(void *user, int as_admin, const char *const *texts, size_t n, float **out, int *dim, char *err,
		   size_t errlen)
{
	struct kb_embed_ctx *ctx = user;
	const struct config *c = &ctx->snap->cfg;
	struct mem {   /* not on the stack: see api_chat_run */
		struct relay x;
		struct route rt;
		char id[80];
	} *m = xmalloc(sizeof(*m));
	int rc = -1;
	if (embed_route(c, &m->rt, err, errlen) != 0)
		goto out;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "model", m->rt.t[0].model);
	cJSON_AddItemToObject(b, "input", cJSON_CreateStringArray(texts, (int)n));
	cJSON_AddStringToObject(b, "encoding_format", "float");
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	struct embed_call ec = { .body = body, .n = n, .err = err, .errlen = errlen };
	snprintf(m->id, sizeof(m->id), "%.40s.e%d", ctx->req_id, ++ctx->seq);
	int was_recorded = ctx->r->recorded;
	struct relay *x = &m->x;
	relay_init(x, &embed_ops, ctx->w, ctx->snap, ctx->r, as_admin ? kb_embed_admin() : ctx->who, m->id,
		   DIALECT_OPENAI, "embeddings",
		   pool_now_ms(), 0);
	x->front = &ec;
	x->include_usage = 1;
	snprintf(x->requested, sizeof(x->requested), "%s", c->rag_model);
	if (relay_usage_space(x, DIALECT_OPENAI) != 0 || !relay_quota_admit(x, &m->rt, 0)) {
		rc = -2;
	} else {
		relay_run(x, &m->rt);
		rc = ec.ok ? 0 : -1;
	}
	relay_free(x);
	ctx->r->recorded = was_recorded;
	free(body);
	if (rc == 0) {
		*out = ec.vecs;
		*dim = ec.dim;
	} else {
		free(ec.vecs);
	}
out:
	free(m);
	return rc;
}

int kb_embed_init(struct kb_embedder *e, struct kb_embed_ctx *ctx, char *err, size_t errlen)
{
	const char *model = ctx->snap->cfg.rag_model;
	if (!model || !*model) {
		snprintf(err, errlen, "no embedding model is configured ([rag] model, or RAG_BASE_URL, RAG_API_KEY and "
			 "RAG_MODEL)");
		return -1;
	}
	*e = (struct kb_embedder){ .fn = kb_embed_relay, .user = ctx, .model = model };
	return 0;
}
