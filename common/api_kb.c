/* api_kb.c — OpenAI's files and vector stores API over the knowledge
 * bases (kb_store.h): POST/GET /v1/files, GET/DELETE /v1/files/{id}[/content],
 * POST/GET /v1/vector_stores, GET/DELETE /v1/vector_stores/{id},
 * POST/GET /v1/vector_stores/{id}/files, GET/DELETE
 * /v1/vector_stores/{id}/files/{file_id}, POST /v1/vector_stores/{id}/search.
 * Each file and store belongs to the gateway key that made it: another key
 * gets 404. The admin's stores are shared: every key may read and search
 * them, none may change them (403). Attaching a file indexes it before the
 * answer (its status is "completed"), or answers the embedding's failure
 * with nothing indexed. Errors in OpenAI's shape. */
#include "autoconf.h"
#include "api.h"
#include "kb_embed.h"
#include "kb_index.h"
#include "kb_store.h"
#include "kb_text.h"
#include "log.h"
#include "multipart.h"
#include "oai.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KB_MULTIPART_PARTS 8

static const char *jstr(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static double jnum(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A file's meta as OpenAI's file object (owner and our own members out). */
static cJSON *file_object(const cJSON *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", jstr(m, "id"));
	cJSON_AddStringToObject(o, "object", "file");
	cJSON_AddNumberToObject(o, "bytes", jnum(m, "bytes"));
	cJSON_AddNumberToObject(o, "created_at", jnum(m, "created_at"));
	cJSON_AddStringToObject(o, "filename", jstr(m, "filename") ? jstr(m, "filename") : "");
	cJSON_AddStringToObject(o, "purpose", jstr(m, "purpose") ? jstr(m, "purpose") : "assistants");
	cJSON_AddStringToObject(o, "status", "processed");
	cJSON_AddNullToObject(o, "status_details");
	return o;
}

/* {"object":"list","data":data,...} answered. */
static void respond_list(struct http_req *r, cJSON *data)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "object", "list");
	int n = cJSON_GetArraySize(data);
	cJSON_AddItemToObject(l, "data", data);
	const char *first = n ? jstr(cJSON_GetArrayItem(data, 0), "id") : NULL;
	const char *last = n ? jstr(cJSON_GetArrayItem(data, n - 1), "id") : NULL;
	if (first)
		cJSON_AddStringToObject(l, "first_id", first);
	else
		cJSON_AddNullToObject(l, "first_id");
	if (last)
		cJSON_AddStringToObject(l, "last_id", last);
	else
		cJSON_AddNullToObject(l, "last_id");
	cJSON_AddFalseToObject(l, "has_more");
	api_respond_json(r, 200, l);
	cJSON_Delete(l);
}

static void respond_deleted(struct http_req *r, const char *id, const char *object)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", object);
	cJSON_AddTrueToObject(o, "deleted");
	api_respond_json(r, 200, o);
	cJSON_Delete(o);
}

static void not_found(struct http_req *r, const char *what, const char *id)
{
	oai_error(r, 404, "invalid_request_error", NULL, NULL, NULL, "No %s found with id '%.80s'.", what, id);
}

static void bad_method(struct http_req *r, const char *allow)
{
	char extra[64];
	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	oai_error(r, 405, "invalid_request_error", "method_not_allowed", NULL, extra, "Method %s is not allowed here; "
		  "use %s.", r->method, allow);
}

/* The caller's own file (meta, new) or NULL after a 404. */
static cJSON *own_file(const struct api_call *call, const char *id)
{
	cJSON *m = kb_store_file_get(&call->snap->cfg, id);
	const char *owner = jstr(m, "owner");
	if (!m || !owner || strcmp(owner, call->who->id)) {
		cJSON_Delete(m);
		not_found(call->r, "file", id);
		return NULL;
	}
	return m;
}

/* ---------------------------------------------------------------- files */

/* The text of an upload, or NULL after the client's error. */
static char *upload_text(struct http_req *r, const struct config *c, const struct multipart_part *f,
			 enum kb_kind *kind, size_t *tlen)
{
	char err[300], tmp[KB_PATH_MAX];
	if (f->len > c->rag_max_file_bytes) {
		oai_error(r, 413, "invalid_request_error", "file_too_large", "file", NULL,
			  "The file is %zu bytes; this gateway takes files of up to %zu bytes.", f->len,
			  c->rag_max_file_bytes);
		return NULL;
	}
	*kind = kb_text_kind(f->filename, f->ctype, f->data, f->len);
	char *text = NULL;
	if (kb_store_dir(c, "tmp", tmp, sizeof(tmp)) != 0 ||
	    kb_text_extract(*kind, f->data, f->len, tmp, &text, tlen, err, sizeof(err)) != 0) {
		oai_error(r, 400, "invalid_request_error", *kind == KB_UNKNOWN ? "unsupported_file" : "invalid_file",
			  "file", NULL, "%s: %s", f->filename[0] ? f->filename : "the file", err);
		return NULL;
	}
	return text;
}

/* POST /v1/files (multipart/form-data: file, purpose). */
static void files_upload(const struct api_call *call)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	char boundary[80], err[200];
	if (multipart_boundary(http_header(r, "Content-Type"), boundary, sizeof(boundary)) != 0) {
		oai_error(r, 400, "invalid_request_error", "invalid_content_type", NULL, NULL,
			  "Uploads must be multipart/form-data with a boundary.");
		return;
	}
	if (api_read_body(r, c) != 0)
		return;
	struct multipart_part *parts = xmalloc(KB_MULTIPART_PARTS * sizeof(*parts));
	int n = multipart_parse(r->body.data ? r->body.data : "", r->body.len, boundary, parts, KB_MULTIPART_PARTS,
				err, sizeof(err));
	const struct multipart_part *f = n > 0 ? multipart_find(parts, n, "file") : NULL;
	const struct multipart_part *p = n > 0 ? multipart_find(parts, n, "purpose") : NULL;
	char purpose[32] = "";
	if (p)
		snprintf(purpose, sizeof(purpose), "%.*s", (int)(p->len < 31 ? p->len : 31), p->data);
	size_t tlen;
	enum kb_kind kind;
	char *text = NULL, id[KB_ID_MAX];
	if (n < 0)
		oai_error(r, 400, "invalid_request_error", "invalid_multipart", NULL, NULL, "%s", err);
	else if (!f || !f->has_filename)
		oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "file", NULL,
			  "Missing required parameter: 'file'.");
	else if (strcmp(purpose, "assistants") && strcmp(purpose, "user_data"))
		oai_error(r, 400, "invalid_request_error", "invalid_value", "purpose", NULL,
			  "'purpose' must be 'assistants' (or 'user_data') for this gateway's knowledge bases.");
	else if ((text = upload_text(r, c, f, &kind, &tlen)) != NULL) {
		if (kb_store_file_put(c, call->who->id, f->filename, purpose, kb_text_kind_name(kind), f->len, text, tlen,
				      id, sizeof(id)) != 0) {
			oai_error(r, 500, "server_error", "storage_error", NULL, NULL, "The file could not be stored.");
		} else {
			cJSON *m = kb_store_file_get(c, id);
			cJSON *o = file_object(m);
			api_respond_json(r, 200, o);
			cJSON_Delete(o);
			cJSON_Delete(m);
		}
	}
	free(text);
	free(parts);
}

static void files_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	const char *rest = call->path + 5;   /* after "files" */
	if (!*rest || !strcmp(rest, "/")) {
		if (!strcmp(r->method, "POST")) {
			files_upload(call);
			return;
		}
		if (strcmp(r->method, "GET")) {
			bad_method(r, "GET, POST");
			return;
		}
		cJSON *all = kb_store_file_list(&call->snap->cfg, call->who->id), *data = cJSON_CreateArray();
		const cJSON *m;
		cJSON_ArrayForEach(m, all)
			cJSON_AddItemToArray(data, file_object(m));
		cJSON_Delete(all);
		respond_list(r, data);
		return;
	}
	char id[KB_ID_MAX];
	const char *slash = strchr(rest + 1, '/');
	size_t il = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
	snprintf(id, sizeof(id), "%.*s", (int)(il < sizeof(id) - 1 ? il : sizeof(id) - 1), rest + 1);
	int content = slash && !strcmp(slash, "/content");
	if (slash && !content) {
		oai_error(r, 404, "invalid_request_error", "unknown_url", NULL, NULL, "Unknown request URL.");
		return;
	}
	if (strcmp(r->method, "GET") && (content || strcmp(r->method, "DELETE"))) {
		bad_method(r, content ? "GET" : "GET, DELETE");
		return;
	}
	cJSON *m = own_file(call, id);
	if (!m)
		return;
	if (content) {
		size_t len;
		char *t = kb_store_file_text(&call->snap->cfg, id, &len);
		http_respond(r, 200, "text/plain; charset=utf-8", NULL, t ? t : "", t ? len : 0);
		free(t);
	} else if (!strcmp(r->method, "DELETE")) {
		kb_store_file_delete(&call->snap->cfg, id);
		respond_deleted(r, id, "file");
	} else {
		cJSON *o = file_object(m);
		api_respond_json(r, 200, o);
		cJSON_Delete(o);
	}
	cJSON_Delete(m);
}

/* ---------------------------------------------------------------- stores */

/* A store of the caller's or the admin's (meta, new), or NULL after a
 * 404; write: the caller's own (the admin's: 403). */
static cJSON *visible_store(const struct api_call *call, const char *id, int write)
{
	cJSON *vs = kb_store_vs_get(&call->snap->cfg, id);
	if (!kb_store_vs_visible(vs, call->who->id)) {
		cJSON_Delete(vs);
		not_found(call->r, "vector store", id);
		return NULL;
	}
	if (write && strcmp(jstr(vs, "owner"), call->who->id)) {
		cJSON_Delete(vs);
		oai_error(call->r, 403, "permission_error", "read_only", NULL, NULL,
			  "The vector store '%.80s' is shared by the gateway's admin and cannot be changed with a key.", id);
		return NULL;
	}
	return vs;
}

static cJSON *vs_file_object(const char *vs, const cJSON *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", jstr(f, "id"));
	cJSON_AddStringToObject(o, "object", "vector_store.file");
	cJSON_AddNumberToObject(o, "usage_bytes", 0);
	cJSON_AddNumberToObject(o, "created_at", jnum(f, "created_at"));
	cJSON_AddStringToObject(o, "vector_store_id", vs);
	cJSON_AddStringToObject(o, "status", jstr(f, "status"));
	cJSON_AddNullToObject(o, "last_error");
	cJSON_AddNumberToObject(o, "chunks", jnum(f, "chunks"));
	cJSON_AddItemToObject(o, "attributes", cJSON_CreateObject());
	return o;
}

static cJSON *vs_object(const struct config *c, const cJSON *vs)
{
	const char *id = jstr(vs, "id");
	cJSON *files = kb_store_vs_files(c, id);
	int done = 0, total = cJSON_GetArraySize(files);
	const cJSON *f;
	cJSON_ArrayForEach(f, files)
		done += !strcmp(jstr(f, "status"), "completed");
	cJSON_Delete(files);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", "vector_store");
	cJSON_AddNumberToObject(o, "created_at", jnum(vs, "created_at"));
	cJSON_AddStringToObject(o, "name", jstr(vs, "name") ? jstr(vs, "name") : "");
	cJSON_AddNumberToObject(o, "usage_bytes", 0);
	cJSON *fc = cJSON_AddObjectToObject(o, "file_counts");
	cJSON_AddNumberToObject(fc, "in_progress", total - done);
	cJSON_AddNumberToObject(fc, "completed", done);
	cJSON_AddNumberToObject(fc, "failed", 0);
	cJSON_AddNumberToObject(fc, "cancelled", 0);
	cJSON_AddNumberToObject(fc, "total", total);
	cJSON_AddStringToObject(o, "status", "completed");
	cJSON_AddNullToObject(o, "expires_after");
	cJSON_AddNullToObject(o, "expires_at");
	cJSON_AddNumberToObject(o, "last_active_at", jnum(vs, "created_at"));
	cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
	cJSON_AddBoolToObject(o, "shared", !strcmp(jstr(vs, "owner"), KB_ADMIN_OWNER));
	return o;
}

/* Answer an embedding failure (rc -1; -2 was answered). */
static void embed_failed(struct http_req *r, int rc, const char *err)
{
	if (rc == -2)
		return;
	int unconfigured = !strncmp(err, "no embedding model", 18) || strstr(err, "is not routed") ||
			   strstr(err, "no OpenAI-compatible");
	oai_error(r, unconfigured ? 503 : 502, "upstream_error", unconfigured ? "embedding_unavailable" : "embedding_failed",
		  NULL, NULL, "The file could not be indexed: %s", err);
}

/* Attach file_id to vs (indexed now). 1 answered with the store file, 0
 * failed (answered). */
static int attach(const struct api_call *call, const char *vs, const char *file_id, int answer)
{
	const struct config *c = &call->snap->cfg;
	char err[512];
	cJSON *m = own_file(call, file_id);
	if (!m)
		return 0;
	cJSON_Delete(m);
	struct kb_embed_ctx ctx = { .w = call->w, .snap = call->snap, .r = call->r, .who = call->who,
				    .req_id = call->req_id };
	struct kb_embedder e;
	long chunks = 0;
	int rc = kb_embed_init(&e, &ctx, err, sizeof(err));
	if (rc == 0)
		rc = kb_index_file(c, &e, 0, vs, file_id, &chunks, err, sizeof(err));
	if (rc != 0) {
		embed_failed(call->r, rc, err);
		return 0;
	}
	if (answer) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "id", file_id);
		cJSON_AddStringToObject(f, "status", "completed");
		cJSON_AddNumberToObject(f, "chunks", (double)chunks);
		cJSON_AddNumberToObject(f, "created_at", (double)time(NULL));
		cJSON *o = vs_file_object(vs, f);
		api_respond_json(call->r, 200, o);
		cJSON_Delete(o);
		cJSON_Delete(f);
	}
	return 1;
}

/* The search's parameters from the body: query, max_num_results,
 * ranking_options.score_threshold. 0, or -1 after a 400. */
static int search_params(struct http_req *r, const cJSON *b, const char **query, int *k, float *threshold)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(b, "query");
	if (cJSON_IsArray(q))
		q = cJSON_GetArrayItem(q, 0);
	if (!cJSON_IsString(q) || !*q->valuestring) {
		oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "query", NULL,
			  "'query' must be a non-empty string.");
		return -1;
	}
	*query = q->valuestring;
	const cJSON *mx = cJSON_GetObjectItemCaseSensitive(b, "max_num_results");
	if (mx && (!cJSON_IsNumber(mx) || mx->valuedouble < 1 || mx->valuedouble > 50)) {
		oai_error(r, 400, "invalid_request_error", "invalid_value", "max_num_results", NULL,
			  "'max_num_results' must be between 1 and 50.");
		return -1;
	}
	*k = mx ? (int)mx->valuedouble : 10;
	const cJSON *ro = cJSON_GetObjectItemCaseSensitive(b, "ranking_options");
	const cJSON *st = cJSON_IsObject(ro) ? cJSON_GetObjectItemCaseSensitive(ro, "score_threshold") : NULL;
	if (st && (!cJSON_IsNumber(st) || st->valuedouble < 0 || st->valuedouble > 1)) {
		oai_error(r, 400, "invalid_request_error", "invalid_value", "ranking_options.score_threshold", NULL,
			  "'score_threshold' must be between 0 and 1.");
		return -1;
	}
	*threshold = st ? (float)st->valuedouble : 0;
	return 0;
}

/* POST /v1/vector_stores/{id}/search */
static void vs_search(const struct api_call *call, const char *vs, const cJSON *b)
{
	const struct config *c = &call->snap->cfg;
	const char *query;
	int k;
	float threshold;
	char err[512];
	if (search_params(call->r, b, &query, &k, &threshold) != 0)
		return;
	struct kb_embed_ctx ctx = { .w = call->w, .snap = call->snap, .r = call->r, .who = call->who,
				    .req_id = call->req_id };
	struct kb_embedder e;
	struct kb_top top;
	kb_top_init(&top, (size_t)k);
	const char *list[1] = { vs };
	int rc = kb_embed_init(&e, &ctx, err, sizeof(err));
	if (rc == 0)
		rc = kb_index_search(c, &e, list, 1, query, threshold, &top, err, sizeof(err));
	if (rc != 0) {
		embed_failed(call->r, rc, err);
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "object", "vector_store.search_results.page");
		cJSON_AddItemToObject(o, "search_query", cJSON_CreateStringArray(&query, 1));
		cJSON_AddItemToObject(o, "data", kb_index_hits_json(c, &top));
		cJSON_AddFalseToObject(o, "has_more");
		cJSON_AddNullToObject(o, "next_page");
		api_respond_json(call->r, 200, o);
		cJSON_Delete(o);
	}
	kb_top_free(&top);
}

/* POST /v1/vector_stores {name, file_ids} */
static void vs_create(const struct api_call *call, const cJSON *b)
{
	const struct config *c = &call->snap->cfg;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(b, "file_ids");
	if ((name && !cJSON_IsString(name) && !cJSON_IsNull(name)) || (ids && !cJSON_IsArray(ids))) {
		oai_error(call->r, 400, "invalid_request_error", "invalid_type", name && !cJSON_IsString(name) ? "name" :
			  "file_ids", NULL, "'name' must be a string and 'file_ids' an array of file ids.");
		return;
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, ids) {   /* every file the caller's before anything is made */
		cJSON *m = cJSON_IsString(f) ? own_file(call, f->valuestring) : NULL;
		if (!m) {
			if (!cJSON_IsString(f))
				not_found(call->r, "file", "");
			return;
		}
		cJSON_Delete(m);
	}
	char id[KB_ID_MAX];
	if (kb_store_vs_create(c, call->who->id, cJSON_IsString(name) ? name->valuestring : "", id, sizeof(id)) != 0) {
		oai_error(call->r, 500, "server_error", "storage_error", NULL, NULL, "The vector store could not be made.");
		return;
	}
	cJSON_ArrayForEach(f, ids) {
		if (!attach(call, id, f->valuestring, 0)) {
			kb_store_vs_delete(c, id);   /* nothing half made */
			return;
		}
	}
	cJSON *vs = kb_store_vs_get(c, id), *o = vs_object(c, vs);
	api_respond_json(call->r, 200, o);
	cJSON_Delete(o);
	cJSON_Delete(vs);
}

/* /v1/vector_stores/{vs}/files[/{file}] */
static void vs_files(const struct api_call *call, const char *vs, const char *fid, const cJSON *b)
{
	const struct config *c = &call->snap->cfg;
	struct http_req *r = call->r;
	int post = !strcmp(r->method, "POST"), del = !strcmp(r->method, "DELETE");
	if (!fid && post) {
		const char *file_id = jstr(b, "file_id");
		if (!file_id)
			oai_error(r, 400, "invalid_request_error", "missing_required_parameter", "file_id", NULL,
				  "Missing required parameter: 'file_id'.");
		else
			attach(call, vs, file_id, 1);
		return;
	}
	cJSON *files = kb_store_vs_files(c, vs), *data = cJSON_CreateArray();
	const cJSON *f, *hit = NULL;
	cJSON_ArrayForEach(f, files) {
		if (fid && !strcmp(jstr(f, "id"), fid))
			hit = f;
		if (!fid)
			cJSON_AddItemToArray(data, vs_file_object(vs, f));
	}
	if (!fid) {
		respond_list(r, data);
	} else if (!hit) {
		not_found(r, "file", fid);
		cJSON_Delete(data);
	} else if (del) {
		kb_store_vs_detach(c, vs, fid);
		respond_deleted(r, fid, "vector_store.file.deleted");
		cJSON_Delete(data);
	} else {
		cJSON *o = vs_file_object(vs, hit);
		api_respond_json(r, 200, o);
		cJSON_Delete(o);
		cJSON_Delete(data);
	}
	cJSON_Delete(files);
}

/* The parts of a vector_stores path: id, sub ("files", "search", ""), fid. */
struct vs_path {
	char id[KB_ID_MAX], sub[16], fid[KB_ID_MAX];
	int ok;
};

static struct vs_path vs_path_parse(const char *p)
{
	struct vs_path v = { .ok = 1 };
	p += strlen("vector_stores");
	if (*p == '/')
		p++;
	char parts[3][KB_ID_MAX] = { "", "", "" };
	for (int i = 0; *p; i++) {
		size_t n = strcspn(p, "/");
		if (i >= 3 || n >= KB_ID_MAX) {
			v.ok = 0;
			return v;
		}
		memcpy(parts[i], p, n);
		parts[i][n] = '\0';
		p += n + (p[n] == '/');
	}
	snprintf(v.id, sizeof(v.id), "%s", parts[0]);
	snprintf(v.sub, sizeof(v.sub), "%.15s", parts[1]);
	snprintf(v.fid, sizeof(v.fid), "%s", parts[2]);
	v.ok = (!*v.sub || !strcmp(v.sub, "files") || (!strcmp(v.sub, "search") && !*v.fid)) && (*v.id || !*v.sub);
	return v;
}

/* The allowed methods of a vector_stores path. */
/* Is method one of the list ("GET, POST")? */
static int method_in(const char *list, const char *method)
{
	size_t n = strlen(method);
	for (const char *p = list; n && (p = strstr(p, method)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static const char *vs_allow(const struct vs_path *v)
{
	if (!*v->id)
		return "GET, POST";
	if (!*v->sub)
		return "GET, DELETE";
	if (!strcmp(v->sub, "search"))
		return "POST";
	return *v->fid ? "GET, DELETE" : "GET, POST";
}

static void vs_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	struct vs_path v = vs_path_parse(call->path);
	if (!v.ok) {
		oai_error(r, 404, "invalid_request_error", "unknown_url", NULL, NULL, "Unknown request URL: %s %.200s.",
			  r->method, r->path);
		return;
	}
	const char *allow = vs_allow(&v);
	if (!method_in(allow, r->method)) {
		bad_method(r, allow);
		return;
	}
	int post = !strcmp(r->method, "POST"), del = !strcmp(r->method, "DELETE");
	cJSON *b = post ? api_read_json_body(r, c) : NULL;
	if (post && !b)
		return;
	if (!*v.id) {
		if (post) {
			vs_create(call, b);
		} else {
			cJSON *all = kb_store_vs_list(c, call->who->id, 1), *data = cJSON_CreateArray();
			const cJSON *m;
			cJSON_ArrayForEach(m, all)
				cJSON_AddItemToArray(data, vs_object(c, m));
			cJSON_Delete(all);
			respond_list(r, data);
		}
		cJSON_Delete(b);
		return;
	}
	int write = (!*v.sub && del) || (!strcmp(v.sub, "files") && (post || del));
	cJSON *vs = visible_store(call, v.id, write);
	if (!vs) {
		cJSON_Delete(b);
		return;
	}
	if (!strcmp(v.sub, "search")) {
		vs_search(call, v.id, b);
	} else if (!strcmp(v.sub, "files")) {
		vs_files(call, v.id, *v.fid ? v.fid : NULL, b);
	} else if (del) {
		kb_store_vs_delete(c, v.id);
		respond_deleted(r, v.id, "vector_store.deleted");
	} else {
		cJSON *o = vs_object(c, vs);
		api_respond_json(r, 200, o);
		cJSON_Delete(o);
	}
	cJSON_Delete(vs);
	cJSON_Delete(b);
}

void api_kb_handle(const struct api_call *call)
{
	if (!strncmp(call->path, "files", 5))
		files_handle(call);
	else
		vs_handle(call);
}
