/* kb_retrieve.c — the knowledge-base request filter: when the request
 * names vector stores (the header X-Llmgate-Vector-Stores: vs_1,vs_2 on
 * any chat route; the Responses API's file_search tool, which
 * responses.c turns into the internal member KB_RETRIEVE_MEMBER) or the
 * configuration does ([rag] stores, for every chat or, with [rag] models
 * and/or [rag] keys, for chats to those public models or by those gateway
 * keys, named by id or name), the last user
 * message is embedded, the stores searched ([rag] top_k chunks of at least
 * [rag] min_score) and the chunks put before that message as a system
 * message naming their sources. Whatever the upstream's dialect: the
 * context is part of the internal request every translator reads. For the
 * file_search tool the search itself (query, and results when asked) is
 * left in fc->file_search, for the Responses answer's file_search_call.
 *
 * A store the request names that the key may not see is a 404; an
 * embedding that fails for stores the request named is a 502 (both in the
 * client's dialect); for the configured stores it is logged and the chat
 * goes on without context. */
#include "autoconf.h"
#include "filter.h"
#include "gateway.h"
#include "http.h"
#include "kb_embed.h"
#include "kb_index.h"
#include "kb_store.h"
#include "log.h"
#include "oai.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_RETRIEVE_STORES_MAX 16

struct stores {
	char id[KB_RETRIEVE_STORES_MAX][KB_ID_MAX];
	const char *list[KB_RETRIEVE_STORES_MAX];
	size_t n;
	size_t asked;   /* the first ones, named by the request (the rest: the configuration's) */
	int tool;       /* named by a file_search tool (KB_RETRIEVE_MEMBER) */
	int results;    /* ... whose results the client wants (KB_RETRIEVE_RESULTS_MEMBER) */
};

static void add_store(struct stores *s, const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (!n || n >= KB_ID_MAX || s->n >= KB_RETRIEVE_STORES_MAX)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->id[i]) == n && !memcmp(s->id[i], p, n))
			return;
	memcpy(s->id[s->n], p, n);
	s->id[s->n][n] = '\0';
	s->list[s->n] = s->id[s->n];
	s->n++;
}

static void add_list(struct stores *s, const char *csv)
{
	while (csv && *csv) {
		size_t n = strcspn(csv, ",");
		add_store(s, csv, n);
		csv += n + (csv[n] == ',');
	}
}

/* Is name (a model, a key's id or name) in the comma-separated list (an
 * empty or absent list: every name)? */
static int model_listed(const char *list, const char *model)
{
	if (!list || !*list)
		return 1;
	size_t ml = model ? strlen(model) : 0;
	while (*list) {
		while (*list == ' ' || *list == ',')
			list++;
		size_t n = strcspn(list, ",");
		size_t t = n;
		while (t && list[t - 1] == ' ')
			t--;
		if (t && t == ml && !memcmp(list, model, ml))
			return 1;
		list += n;
	}
	return 0;
}

/* Does the configuration ask for its stores on this chat: neither [rag]
 * models nor [rag] keys set, or the model or the key (id or name) in one? */
static int config_asks(const struct filter_ctx *fc)
{
	const char *models = fc->c->rag_models, *keys = fc->c->rag_keys;
	int by_model = models && *models, by_key = keys && *keys;
	if (!by_model && !by_key)
		return 1;
	return (by_model && model_listed(models, fc->model)) ||
	       (by_key && fc->who && (model_listed(keys, fc->who->id) || model_listed(keys, fc->who->name)));
}

/* The stores of the request (its member taken out of req), then the
 * configuration's for its model. */
static void stores_of(cJSON *req, const struct filter_ctx *fc, struct stores *s)
{
	cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(req, KB_RETRIEVE_MEMBER);
	cJSON *want = cJSON_DetachItemFromObjectCaseSensitive(req, KB_RETRIEVE_RESULTS_MEMBER);
	s->tool = m != NULL;
	s->results = cJSON_IsTrue(want);
	cJSON_Delete(want);
	const cJSON *v;
	cJSON_ArrayForEach(v, m)
		if (cJSON_IsString(v))
			add_store(s, v->valuestring, strlen(v->valuestring));
	cJSON_Delete(m);
	if (fc->r)
		add_list(s, http_header(fc->r, "X-Llmgate-Vector-Stores"));
	s->asked = s->n;
	if (config_asks(fc))
		add_list(s, fc->c->rag_stores);
}

/* The last user message's text (new string) and its index, or NULL. */
static char *last_user_text(const cJSON *messages, int *at)
{
	int i = cJSON_GetArraySize(messages);
	while (--i >= 0) {
		const cJSON *m = cJSON_GetArrayItem(messages, i);
		const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
		if (!role || strcmp(role, "user"))
			continue;
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		*at = i;
		if (cJSON_IsString(c))
			return *c->valuestring ? xstrdup(c->valuestring) : NULL;
		struct buf b;
		buf_init(&b, 1u << 20);
		const cJSON *p;
		cJSON_ArrayForEach(p, c) {
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "text"));
			if (t && (b.len == 0 || buf_append(&b, "\n", 1) == 0))
				buf_puts(&b, t);
		}
		return b.len ? buf_steal(&b) : (buf_free(&b), NULL);
	}
	return NULL;
}

/* The context message's text from the hits. */
static char *context_text(const struct config *c, const struct kb_top *top)
{
	struct buf b;
	buf_init(&b, 0x7fffffff);
	buf_puts(&b, "Answer with the help of these excerpts from the knowledge base when they are relevant, and "
		     "name the sources you used.\n");
	for (size_t i = 0; i < top->n; i++) {
		cJSON *m = kb_store_file_get(c, top->v[i].source);
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "filename"));
		buf_printf(&b, "\n[%zu] source: %s (%s)\n", i + 1, name ? name : top->v[i].source, top->v[i].source);
		buf_append(&b, top->v[i].text, top->v[i].text_len);
		buf_puts(&b, "\n");
		cJSON_Delete(m);
	}
	return buf_steal(&b);
}

/* Every store named visible to the key; else a 404 answered and -1. The
 * configuration's stores that are not are left out. */
static int check_stores(const struct filter_ctx *fc, struct stores *s, size_t asked)
{
	size_t keep = 0;
	for (size_t i = 0; i < s->n; i++) {
		cJSON *vs = kb_store_vs_get(fc->c, s->id[i]);
		int ok = kb_store_vs_visible(vs, fc->who->id);
		cJSON_Delete(vs);
		if (!ok && i < asked) {
			oai_error(fc->r, 404, "invalid_request_error", "vector_store_not_found", NULL, NULL,
				  "No vector store found with id '%.80s'.", s->id[i]);
			return -1;
		}
		if (ok) {
			if (keep != i)
				memcpy(s->id[keep], s->id[i], KB_ID_MAX);
			s->list[keep] = s->id[keep];
			keep++;
		}
	}
	s->n = keep;
	return 0;
}

/* The file_search tool's search for the Responses answer (new):
 * {"queries": [query], "results": [{file_id, filename, score, text,
 * attributes}]} (results only when asked). */
static cJSON *search_record(const struct config *c, const char *query, const struct kb_top *top, int results)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "queries"), cJSON_CreateString(query));
	if (!results)
		return o;
	cJSON *hits = kb_index_hits_json(c, top), *h;
	cJSON_ArrayForEach(h, hits) {
		cJSON *content = cJSON_DetachItemFromObjectCaseSensitive(h, "content");
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(content, 0), "text"));
		cJSON_AddStringToObject(h, "text", t ? t : "");
		cJSON_Delete(content);
	}
	cJSON_AddItemToObject(o, "results", hits);
	return o;
}

/* Search s for query; the context put before messages[at]. 1 added, 0
 * nothing found (or the configuration's stores failed: logged), -1
 * answered. */
static int retrieve(cJSON *messages, int at, const char *query, const struct filter_ctx *fc, struct stores *s)
{
	char err[512];
	struct kb_embed_ctx ctx = { .w = fc->w, .snap = fc->snap, .r = fc->r, .who = fc->who, .req_id = fc->req_id };
	struct kb_embedder e;
	struct kb_top top;
	int rc = 0;
	kb_top_init(&top, (size_t)fc->c->rag_top_k);
	int er = kb_embed_init(&e, &ctx, err, sizeof(err));
	if (er == 0)
		er = kb_index_search(fc->c, &e, s->list, s->n, query, (float)fc->c->rag_min_score / 100.0f, &top, err,
				     sizeof(err));
	if (er == -2 || (er != 0 && s->asked)) {
		if (er == -1)
			oai_error(fc->r, er == -1 && !strncmp(err, "no embedding", 12) ? 503 : 502, "upstream_error",
				  "embedding_failed", NULL, NULL, "The knowledge base could not be searched: %s", err);
		rc = -1;
	} else if (er != 0) {
		log_warn("%s knowledge base not searched: %s", fc->req_id, err);
	} else if (s->tool && fc->file_search && !*fc->file_search) {
		*fc->file_search = search_record(fc->c, query, &top, s->results);
	}
	if (er == 0 && top.n) {
		char *text = context_text(fc->c, &top);
		cJSON *sm = cJSON_CreateObject();
		cJSON_AddStringToObject(sm, "role", "system");
		cJSON_AddStringToObject(sm, "content", text);
		cJSON_InsertItemInArray(messages, at, sm);
		free(text);
		rc = 1;
	}
	kb_top_free(&top);
	return rc;
}

int kb_retrieve_filter(cJSON *req, const struct filter_ctx *fc)
{
	struct stores *s = xcalloc(1, sizeof(*s));
	int rc = 0, at = -1;
	stores_of(req, fc, s);
	cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	char *query = s->n && fc->r && fc->w ? last_user_text(messages, &at) : NULL;
	if (query) {
		if (check_stores(fc, s, s->asked) != 0)
			rc = -1;
		else if (s->n)
			rc = retrieve(messages, at, query, fc, s);
	}
	free(query);
	free(s);
	return rc;
}
