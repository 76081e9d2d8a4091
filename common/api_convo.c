/* api_convo.c — the calling key's stored conversations over the API:
 * GET /v1/conversations, GET and DELETE /v1/conversations/{id} (see
 * api.h). The owner is always the calling key's id, so another key's
 * conversation reads as absent. */
#include "autoconf.h"
#include "api.h"
#include "convo.h"
#include "oai.h"
#include "recstore.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The %-decoded path segment s into out (CONVO_ID_MAX + 1); 0, or -1 when
 * it is too long, badly encoded or not a conversation id. */
static int decode_id(const char *s, char *out)
{
	size_t n = 0;
	for (; *s; s++) {
		if (n >= CONVO_ID_MAX)
			return -1;
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
			if (lo < 0)
				return -1;
			out[n++] = (char)(hi * 16 + lo);
			s += 2;
		} else if (*s == '/') {
			return -1;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return convo_id_ok(out) ? 0 : -1;
}

static int add_public(const char *id, size_t idlen, const char *data, size_t len, time_t mtime, void *user)
{
	(void)id;
	(void)idlen;
	cJSON *rec = convo_record_parse(data, len);
	if (rec)
		cJSON_AddItemToArray(user, convo_public(rec, mtime, 0));
	cJSON_Delete(rec);
	return 0;
}

static int by_last_used(const void *a, const void *b)
{
	double x = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a, "last_used")->valuedouble;
	double y = cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)b, "last_used")->valuedouble;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* GET /v1/conversations */
static void list(const struct api_call *call, const char *root)
{
	cJSON *all = cJSON_CreateArray();
	recstore_each(root, call->who->id, convo_max_age(&call->snap->cfg), add_public, all);
	size_t n = (size_t)cJSON_GetArraySize(all), i = 0;
	cJSON **v = xcalloc(n ? n : 1, sizeof(*v));
	while (all->child)
		v[i++] = cJSON_DetachItemViaPointer(all, all->child);
	qsort(v, n, sizeof(*v), by_last_used);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(all, v[i]);
	free(v);
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "object", "list");
	cJSON_AddItemToObject(out, "data", all);
	api_respond_json(call->r, 200, out);
	cJSON_Delete(out);
}

static void not_found(const struct api_call *call)
{
	oai_error(call->r, 404, "invalid_request_error", "conversation_not_found", NULL, NULL,
		  "No conversation with that id is kept for this key.");
}

/* GET or DELETE /v1/conversations/{id} */
static void one(const struct api_call *call, const char *root, const char *id)
{
	if (!strcmp(call->r->method, "DELETE")) {
		if (recstore_delete(root, call->who->id, id) != 0) {
			not_found(call);
			return;
		}
		cJSON *out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "id", id);
		cJSON_AddStringToObject(out, "object", "conversation.deleted");
		cJSON_AddBoolToObject(out, "deleted", 1);
		api_respond_json(call->r, 200, out);
		cJSON_Delete(out);
		return;
	}
	size_t len;
	time_t mtime;
	char *data = recstore_get(root, call->who->id, id, convo_max_age(&call->snap->cfg), &len, &mtime);
	cJSON *rec = data ? convo_record_parse(data, len) : NULL;
	free(data);
	if (!rec) {
		not_found(call);
		return;
	}
	cJSON *out = convo_public(rec, mtime, 1);
	api_respond_json(call->r, 200, out);
	cJSON_Delete(out);
	cJSON_Delete(rec);
}

void api_convo_handle(const struct api_call *call)
{
	char id[CONVO_ID_MAX + 1];
	const char *rest = call->path + strlen("conversations");
	char *root = convo_root(&call->snap->cfg);
	if (!*rest && !strcmp(call->r->method, "GET"))
		list(call, root);
	else if (*rest == '/' && decode_id(rest + 1, id) == 0)
		one(call, root, id);
	else if (!*rest)
		oai_error(call->r, 405, "invalid_request_error", NULL, NULL, "Allow: GET\r\n",
			  "Method %.16s is not allowed here.", call->r->method);
	else
		oai_error(call->r, 404, "invalid_request_error", "invalid_conversation_id", NULL, NULL,
			  "Unknown conversation path: the id must be 1 to %d printable ASCII characters.", CONVO_ID_MAX);
	free(root);
}
