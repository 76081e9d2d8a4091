/* mcp_tools.c — the MCP server's tools (mcp_tools.h). */
#include "autoconf.h"
#include "mcp_tools.h"
#include "kb_embed.h"
#include "kb_index.h"
#include "kb_store.h"
#include "provider.h"
#include "quota.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A result of one text item (isError when err). */
static void result_text(cJSON *result, const char *text, int err)
{
	cJSON *content = cJSON_AddArrayToObject(result, "content");
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", "text");
	cJSON_AddStringToObject(t, "text", text);
	cJSON_AddItemToArray(content, t);
	if (err)
		cJSON_AddTrueToObject(result, "isError");
}

/* The same for a JSON value (consumed): as text, and as structuredContent. */
static void result_json(cJSON *result, cJSON *v)
{
	char *text = cJSON_PrintUnformatted(v);
	result_text(result, text, 0);
	free(text);
	cJSON_AddItemToObject(result, "structuredContent", v);
}

/* ask_model: one chat turn, routed, quota-checked and recorded like any
 * chat (endpoint "mcp"). */
static void tool_ask(void *ctx, const cJSON *args, cJSON *result)
{
	const struct mcp_tool_ctx *c = ctx;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "model", cJSON_GetObjectItemCaseSensitive(args, "model")->valuestring);
	cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(args, "system");
	const char *roles[] = { "system", "user" };
	const cJSON *texts[] = { sys, cJSON_GetObjectItemCaseSensitive(args, "prompt") };
	for (int i = sys ? 0 : 1; i < 2; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", roles[i]);
		cJSON_AddStringToObject(m, "content", texts[i]->valuestring);
		cJSON_AddItemToArray(msgs, m);
	}
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(args, "max_tokens");
	if (mt)
		cJSON_AddNumberToObject(req, "max_tokens", mt->valuedouble);
	struct buf out;
	buf_init(&out, BUF_CAP_DEFAULT * 4);
	int st = api_chat_internal(c->call, c->who, "mcp", req, &out);
	cJSON_Delete(req);
	char *text = st == 200 ? api_chat_answer_text(buf_str(&out)) : NULL;
	if (text) {
		result_text(result, text, 0);
	} else {
		char *m = st == 200 ? xstrdup("the model's answer held no text") : api_error_message(buf_str(&out));
		char *msg = xasprintf("The model could not be asked (HTTP %d): %s", st, m);
		result_text(result, msg, 1);
		free(msg);
		free(m);
	}
	free(text);
	buf_free(&out);
}

struct models_ctx {
	cJSON *list;
	const char *allowed;
};

static void add_model(const char *model, const char *owner, void *user)
{
	struct models_ctx *m = user;
	if (!quota_model_allowed(m->allowed, model))
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", model);
	cJSON_AddStringToObject(o, "owned_by", owner);
	cJSON_AddItemToArray(m->list, o);
}

/* list_models: what the gateway routes that the key may use. */
static void tool_models(void *ctx, const cJSON *args, cJSON *result)
{
	(void)args;
	const struct mcp_tool_ctx *c = ctx;
	cJSON *v = cJSON_CreateObject();
	struct models_ctx m = { cJSON_AddArrayToObject(v, "models"), c->who->models };
	provider_each_model(&c->call->snap->cfg, add_model, &m);
	result_json(result, v);
}

/* One limit, what is spent of it and what remains (null: no limit). */
static void add_budget(cJSON *o, const char *name, double limit, double spent)
{
	cJSON *b = cJSON_AddObjectToObject(o, name);
	cJSON_AddNumberToObject(b, "spent", spent);
	if (limit > 0) {
		cJSON_AddNumberToObject(b, "limit", limit);
		cJSON_AddNumberToObject(b, "remaining", limit > spent ? limit - spent : 0);
	} else {
		cJSON_AddNullToObject(b, "limit");
		cJSON_AddNullToObject(b, "remaining");
	}
}

/* my_usage: the calling key's spending and what its budgets leave. */
static void tool_usage(void *ctx, const cJSON *args, cJSON *result)
{
	(void)args;
	const struct mcp_tool_ctx *c = ctx;
	const struct auth_entry *who = c->who;
	struct quota_spent sp;
	int ok = quota_spent(&c->call->w->gw->quota, who, pool_now_ms(), &sp) == 0;
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "key_id", who->id);
	cJSON_AddStringToObject(v, "key_name", who->name);
	cJSON_AddStringToObject(v, "month", sp.month);
	cJSON_AddStringToObject(v, "currency", c->call->snap->cfg.currency);
	if (!ok)
		cJSON_AddStringToObject(v, "note", "the settled usage cannot be read now: only unsettled usage is counted");
	add_budget(v, "tokens", (double)who->tokens, (double)sp.tokens);
	add_budget(v, "tokens_month", (double)who->tokens_month, (double)sp.tokens_month);
	add_budget(v, "cost", who->cost, sp.cost);
	add_budget(v, "cost_month", who->cost_month, sp.cost_month);
	cJSON *rate = cJSON_AddObjectToObject(v, "rate_limits");
	if (who->rpm)
		cJSON_AddNumberToObject(rate, "requests_per_minute", (double)who->rpm);
	if (who->tpm)
		cJSON_AddNumberToObject(rate, "tokens_per_minute", (double)who->tpm);
	cJSON_AddStringToObject(v, "models_allowed", who->models[0] ? who->models : "*");
	result_json(result, v);
}

/* search_knowledge: a knowledge base the key may read (its own, or one
 * the admin shares), searched as POST /v1/vector_stores/{id}/search does;
 * the query's embedding is recorded against the key. */
static void tool_search(void *ctx, const cJSON *args, cJSON *result)
{
	const struct mcp_tool_ctx *c = ctx;
	const struct config *cfg = &c->call->snap->cfg;
	const char *vs = cJSON_GetObjectItemCaseSensitive(args, "vector_store_id")->valuestring;
	const char *query = cJSON_GetObjectItemCaseSensitive(args, "query")->valuestring;
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(args, "max_num_results");
	cJSON *store = kb_store_id_ok(vs, "vs_") ? kb_store_vs_get(cfg, vs) : NULL;
	int visible = store && kb_store_vs_visible(store, c->who->id);
	cJSON_Delete(store);
	if (!visible) {
		result_text(result, "No such knowledge base for this key (see its id in /v1/vector_stores).", 1);
		return;
	}
	/* a refusal of the embedding call is kept, not written to the client */
	struct buf refusal;
	struct http_req inner;
	buf_init(&refusal, BUF_CAP_DEFAULT);
	http_req_internal(&inner, "POST", "", 0, &refusal);
	struct kb_embed_ctx ec = { .w = c->call->w, .snap = c->call->snap, .r = &inner, .who = c->who,
				   .req_id = c->call->req_id };
	struct kb_embedder e;
	struct kb_top top;
	char err[300];
	kb_top_init(&top, max ? (size_t)max->valueint : 5);
	const char *list[1] = { vs };
	int rc = kb_embed_init(&e, &ec, err, sizeof(err));
	if (rc == 0)
		rc = kb_index_search(cfg, &e, list, 1, query, (float)cfg->rag_min_score / 100, &top, err, sizeof(err));
	if (rc == 0) {
		cJSON *v = cJSON_CreateObject();   /* structured content is an object */
		cJSON_AddStringToObject(v, "vector_store_id", vs);
		cJSON_AddItemToObject(v, "data", kb_index_hits_json(cfg, &top));
		result_json(result, v);
	} else {
		char *m = rc == -2 ? api_error_message(buf_str(&refusal)) : NULL;
		result_text(result, m ? m : err, 1);
		free(m);
	}
	if (inner.recorded)
		c->call->r->recorded = 1;
	kb_top_free(&top);
	http_req_free(&inner);
	buf_free(&refusal);
}

const struct mcp_tool mcp_tools[] = {
	{ "ask_model", "Ask a model",
	  "Send a prompt to one of the models this gateway routes and get its answer. Charged to your key like "
	  "any chat request.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"model\":{\"type\":\"string\",\"description\":\"a model name from list_models\",\"maxLength\":255},"
	  "\"prompt\":{\"type\":\"string\",\"description\":\"the user message\"},"
	  "\"system\":{\"type\":\"string\",\"description\":\"an optional system prompt\"},"
	  "\"max_tokens\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000,"
	  "\"description\":\"the most output tokens\"}},"
	  "\"required\":[\"model\",\"prompt\"],\"additionalProperties\":false}",
	  tool_ask },
	{ "list_models", "List models",
	  "The models this gateway routes that your key may use.",
	  "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	  tool_models },
	{ "my_usage", "My usage and quota",
	  "Your gateway key's usage (all time and this month, tokens and cost) and what its budgets and rate limits "
	  "leave.",
	  "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
	  tool_usage },
	{ "search_knowledge", "Search a knowledge base",
	  "Find the passages of a knowledge base (a vector store your key made, or one the admin shares) closest "
	  "to a question. The question's embedding is charged to your key.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"vector_store_id\":{\"type\":\"string\",\"description\":\"a vector store id (vs_...)\",\"maxLength\":64},"
	  "\"query\":{\"type\":\"string\",\"description\":\"the question\",\"maxLength\":8000},"
	  "\"max_num_results\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,"
	  "\"description\":\"how many passages, 5 unless said\"}},"
	  "\"required\":[\"vector_store_id\",\"query\"],\"additionalProperties\":false}",
	  tool_search },
};

const size_t mcp_tools_count = sizeof(mcp_tools) / sizeof(mcp_tools[0]);
