/* admin_kb.c — the admin API's knowledge bases (kb_store.h): every store
 * with its documents (chunk counts, status), stores shared by the admin
 * made and removed, documents uploaded (a file's bytes as the body, or
 * pasted text) and removed, a store indexed again.
 *
 *   GET    kb                          {model, pdf, chunk_size, stores:[{..., files:[...]}]}
 *   POST   kb/stores                   {name}: a store of the admin's, shared with every key
 *   DELETE kb/stores/<id>
 *   POST   kb/stores/<id>/documents?name=<file name>   the body: the file (or pasted text)
 *   POST   kb/stores/<id>/remove       {file_id}
 *   POST   kb/stores/<id>/reindex
 *
 * This program makes no upstream calls: a document the admin adds is
 * chunked and kept here and marked pending; the router embeds it (through
 * its own routing, recorded against the admin identity "admin") when a
 * request first searches the store, and so after "reindex". */
#include "autoconf.h"
#include "admin_impl.h"
#include "http.h"
#include "kb_chunk.h"
#include "kb_store.h"
#include "kb_text.h"
#include "xmalloc.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kb_chunk_split's callback when only the count matters. */
static int chunk_cb(const char *p, size_t n, void *user)
{
	(void)p;
	(void)n;
	(void)user;
	return 0;
}

/* The store's documents: its files with their metas and chunk counts. */
static cJSON *documents(const struct config *c, const char *vs)
{
	cJSON *files = kb_store_vs_files(c, vs), *out = cJSON_CreateArray();
	const cJSON *f;
	cJSON_ArrayForEach(f, files) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "id"));
		cJSON *m = kb_store_file_get(c, id), *o = cJSON_Duplicate(f, 1);
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "filename"));
		cJSON_AddStringToObject(o, "filename", name ? name : id);
		cJSON_AddNumberToObject(o, "bytes", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "bytes")));
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "kind"));
		cJSON_AddStringToObject(o, "kind", kind ? kind : "");
		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "status")), "in_progress")) {
			size_t len;
			char *t = kb_store_file_text(c, id, &len);
			long n = t ? kb_chunk_split(t, len, c->rag_chunk_size, c->rag_chunk_overlap, chunk_cb, NULL) : 0;
			cJSON_ReplaceItemInObjectCaseSensitive(o, "chunks", cJSON_CreateNumber((double)n));
			free(t);
		}
		cJSON_AddItemToArray(out, o);
		cJSON_Delete(m);
	}
	cJSON_Delete(files);
	return out;
}

/* The configuration with state.db's settings, or a 500 answered. */
static int load(struct admin_ctx *x, struct config *c)
{
	char err[256];
	if (admin_load_config(x, c, 1, err, sizeof(err)) != 0) {
		admin_reply_error(x, 500, "config_error", NULL, "%s", err);
		return -1;
	}
	return 0;
}

void admin_kb_get(struct admin_ctx *x)
{
	struct config c;
	if (load(x, &c) != 0)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", c.rag_model ? c.rag_model : "");
	cJSON_AddBoolToObject(o, "pdf", kb_text_pdf_tool() != NULL);
	cJSON_AddNumberToObject(o, "chunk_size", c.rag_chunk_size);
	cJSON_AddNumberToObject(o, "max_file_bytes", (double)c.rag_max_file_bytes);
	cJSON *stores = kb_store_vs_list(&c, NULL, 0), *out = cJSON_AddArrayToObject(o, "stores");
	const cJSON *s;
	cJSON_ArrayForEach(s, stores) {
		cJSON *e = cJSON_Duplicate(s, 1);
		const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "owner"));
		cJSON_AddBoolToObject(e, "shared", owner && !strcmp(owner, KB_ADMIN_OWNER));
		cJSON_AddItemToObject(e, "files",
				      documents(&c, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id"))));
		cJSON_AddItemToArray(out, e);
	}
	cJSON_Delete(stores);
	config_free(&c);
	admin_reply_ok(x, 200, o);
}

void admin_kb_store_post(struct admin_ctx *x)
{
	const char *name = admin_str_of(x->body, "name");
	if (!name || !*name || strlen(name) > 200) {
		admin_reply_error(x, 400, "invalid_name", NULL, "a store needs a name of 1 to 200 bytes");
		return;
	}
	struct config c;
	char id[KB_ID_MAX];
	if (load(x, &c) != 0)
		return;
	if (kb_store_vs_create(&c, KB_ADMIN_OWNER, name, id, sizeof(id)) != 0) {
		admin_reply_write_error(x);
	} else {
		cJSON *o = kb_store_vs_get(&c, id);
		cJSON_AddBoolToObject(o, "shared", 1);
		cJSON_AddItemToObject(o, "files", cJSON_CreateArray());
		admin_reply_ok(x, 201, o);
	}
	config_free(&c);
}

/* The store of x->id, or a 404 answered (NULL). */
static cJSON *store_of(struct admin_ctx *x, const struct config *c)
{
	cJSON *vs = kb_store_vs_get(c, x->id);
	if (!vs)
		admin_reply_error(x, 404, "not_found", NULL, "no vector store %.60s", x->id);
	return vs;
}

void admin_kb_store_delete(struct admin_ctx *x)
{
	struct config c;
	if (load(x, &c) != 0)
		return;
	cJSON *vs = store_of(x, &c);
	if (vs) {
		kb_store_vs_delete(&c, x->id);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", x->id);
		cJSON_AddTrueToObject(o, "deleted");
		admin_reply_ok(x, 200, o);
	}
	cJSON_Delete(vs);
	config_free(&c);
}

/* The query's name= value, %-decoded (and '+' as a space), into out; 0
 * or -1 when there is none or it is not fit for a file name. */
static int query_name(const char *q, char *out, size_t n)
{
	const char *p = q ? strstr(q, "name=") : NULL;
	while (p && p != q && p[-1] != '&')
		p = strstr(p + 1, "name=");
	if (!p)
		return -1;
	size_t o = 0;
	for (p += 5; *p && *p != '&' && o + 1 < n; p++) {
		int c = (unsigned char)*p;
		if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = { p[1], p[2], 0 };
			c = (int)strtol(hex, NULL, 16);
			p += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == '/' || c == '\\' || c == 0x7f)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o ? 0 : -1;
}

void admin_kb_document_post(struct admin_ctx *x)
{
	struct config c;
	if (load(x, &c) != 0)
		return;
	char name[256], err[300], tmp[KB_PATH_MAX], fid[KB_ID_MAX];
	cJSON *vs = store_of(x, &c);
	char *text = NULL;
	size_t tlen;
	int rb = vs ? http_read_body(x->r, c.rag_max_file_bytes) : 0;
	if (!vs) {
		/* answered */
	} else if (query_name(x->r->query, name, sizeof(name)) != 0) {
		admin_reply_error(x, 400, "invalid_name", NULL, "name= must give the document's file name");
	} else if (rb == -1) {
		admin_reply_error(x, 413, "file_too_large", NULL, "the file is larger than %zu bytes ([rag] max_file_bytes)",
				  c.rag_max_file_bytes);
	} else if (rb != 0) {
		admin_reply_error(x, 400, "invalid_request", NULL, "the file could not be read");
	} else {
		const char *data = x->r->body.data ? x->r->body.data : "";
		enum kb_kind k = kb_text_kind(name, http_header(x->r, "Content-Type"), data, x->r->body.len);
		if (kb_store_dir(&c, "tmp", tmp, sizeof(tmp)) != 0 ||
		    kb_text_extract(k, data, x->r->body.len, tmp, &text, &tlen, err, sizeof(err)) != 0) {
			admin_reply_error(x, 400, k == KB_UNKNOWN ? "unsupported_file" : "invalid_file", NULL, "%s: %s", name,
					  err);
		} else if (kb_store_file_put(&c, KB_ADMIN_OWNER, name, "assistants", kb_text_kind_name(k), x->r->body.len,
					     text, tlen, fid, sizeof(fid)) != 0 ||
			   kb_store_vs_mark_pending(&c, x->id, fid) != 0) {
			admin_reply_write_error(x);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", fid);
			cJSON_AddStringToObject(o, "filename", name);
			cJSON_AddStringToObject(o, "status", "in_progress");
			cJSON_AddNumberToObject(o, "chunks",
						(double)kb_chunk_split(text, tlen, c.rag_chunk_size, c.rag_chunk_overlap,
								       chunk_cb, NULL));
			admin_reply_ok(x, 201, o);
		}
	}
	free(text);
	cJSON_Delete(vs);
	config_free(&c);
}

void admin_kb_remove(struct admin_ctx *x)
{
	struct config c;
	const char *fid = admin_str_of(x->body, "file_id");
	if (load(x, &c) != 0)
		return;
	cJSON *vs = store_of(x, &c);
	if (vs && (!fid || kb_store_vs_detach(&c, x->id, fid) != 0)) {
		admin_reply_error(x, 404, "not_found", NULL, "no such document in this store");
	} else if (vs) {
		cJSON *m = kb_store_file_get(&c, fid);
		const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "owner"));
		if (owner && !strcmp(owner, KB_ADMIN_OWNER))
			kb_store_file_delete(&c, fid);   /* the admin's document goes with it */
		cJSON_Delete(m);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", fid);
		cJSON_AddTrueToObject(o, "deleted");
		admin_reply_ok(x, 200, o);
	}
	cJSON_Delete(vs);
	config_free(&c);
}

void admin_kb_reindex(struct admin_ctx *x)
{
	struct config c;
	if (load(x, &c) != 0)
		return;
	cJSON *vs = store_of(x, &c);
	if (vs) {
		cJSON *files = kb_store_vs_files(&c, x->id);
		const cJSON *f;
		int n = 0;
		cJSON_ArrayForEach(f, files)
			n += kb_store_vs_mark_pending(&c, x->id,
						      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "id"))) == 0;
		cJSON_Delete(files);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pending", n);
		admin_reply_ok(x, 200, o);
	}
	cJSON_Delete(vs);
	config_free(&c);
}
