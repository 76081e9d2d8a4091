/* kb_index.c — indexing and searching stores (see kb_index.h). */
#include "autoconf.h"
#include "kb_index.h"
#include "kb_chunk.h"
#include "kb_store.h"
#include "log.h"
#include "xmalloc.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct chunks {
	const char **v;
	size_t *len;
	size_t n;
};

static int add_chunk(const char *p, size_t n, void *user)
{
	struct chunks *ch = user;
	ch->v = xrealloc(ch->v, (ch->n + 1) * sizeof(*ch->v));
	ch->len = xrealloc(ch->len, (ch->n + 1) * sizeof(*ch->len));
	ch->v[ch->n] = p;
	ch->len[ch->n++] = n;
	return 0;
}

/* Embed the chunks in batches: n * dim floats (new) or NULL (err). */
static float *embed_all(const struct kb_embedder *e, int as_admin, const struct chunks *ch, int *dim, int *rc,
			char *err, size_t errlen)
{
	float *all = NULL;
	*dim = 0;
	for (size_t i = 0; i < ch->n; i += KB_EMBED_BATCH) {
		size_t m = ch->n - i < KB_EMBED_BATCH ? ch->n - i : KB_EMBED_BATCH;
		char **t = xmalloc(m * sizeof(*t));
		for (size_t j = 0; j < m; j++) {
			t[j] = xmalloc(ch->len[i + j] + 1);
			memcpy(t[j], ch->v[i + j], ch->len[i + j]);
			t[j][ch->len[i + j]] = '\0';
		}
		float *v = NULL;
		int d = 0;
		*rc = e->fn(e->user, as_admin, (const char *const *)t, m, &v, &d, err, errlen);
		for (size_t j = 0; j < m; j++)
			free(t[j]);
		free(t);
		if (*rc == 0 && *dim && d != *dim) {
			snprintf(err, errlen, "the embedding model answered vectors of %d and %d dimensions", *dim, d);
			*rc = -1;
		}
		if (*rc != 0) {
			free(v);
			free(all);
			return NULL;
		}
		*dim = d;
		all = xrealloc(all, (i + m) * (size_t)d * sizeof(float));
		memcpy(all + i * (size_t)d, v, m * (size_t)d * sizeof(float));
		free(v);
	}
	return all;
}

int kb_index_file(const struct config *c, const struct kb_embedder *e, int as_admin, const char *vs,
		  const char *file_id, long *chunks, char *err, size_t errlen)
{
	size_t tlen;
	char *text = kb_store_file_text(c, file_id, &tlen);
	if (!text) {
		snprintf(err, errlen, "the file %s no longer exists", file_id);
		return -1;
	}
	struct chunks ch = { 0 };
	kb_chunk_split(text, tlen, c->rag_chunk_size, c->rag_chunk_overlap, add_chunk, &ch);
	int rc = 0, dim = 0;
	float *vecs = ch.n ? embed_all(e, as_admin, &ch, &dim, &rc, err, errlen) : NULL;
	if (!ch.n) {
		snprintf(err, errlen, "the file holds no text");
		rc = -1;
	}
	if (rc == 0) {
		char path[KB_PATH_MAX];
		kb_store_vs_path(c, vs, file_id, ".vec", path, sizeof(path));
		if (kb_vec_write(path, e->model, dim, ch.n, vecs, ch.v, ch.len) != 0) {
			snprintf(err, errlen, "the vectors could not be stored");
			rc = -1;
		} else {
			kb_store_vs_path(c, vs, file_id, ".pending", path, sizeof(path));
			unlink(path);
			*chunks = (long)ch.n;
		}
	}
	free(vecs);
	free(ch.v);
	free(ch.len);
	free(text);
	return rc;
}

/* The store's lock (taken), or -1. */
static int lock_store(const struct config *c, const char *vs)
{
	char path[KB_PATH_MAX];
	kb_store_vs_path(c, vs, ".lock", "", path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Does file id of vs need indexing (a pending mark, or vectors of another
 * model)? */
static int needs_index(const char *model, const cJSON *f)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "status"));
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "model"));
	return (st && !strcmp(st, "in_progress")) || !m || strcmp(m, model);
}

/* The quick look before every search: no file marked pending, and the
 * store's "model" file names e's model (written after a whole pass). 1 up
 * to date, 0 a whole pass is needed. */
static int up_to_date(const struct config *c, const char *model, const char *vs)
{
	char path[KB_PATH_MAX], have[KB_VEC_MODEL_MAX + 2] = "";
	kb_store_vs_path(c, vs, "", "", path, sizeof(path));
	DIR *d = opendir(path);
	struct dirent *de;
	int pending = 0;
	while (d && !pending && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		pending = l > 8 && !strcmp(de->d_name + l - 8, ".pending");
	}
	if (d)
		closedir(d);
	kb_store_vs_path(c, vs, "model", "", path, sizeof(path));
	FILE *f = pending ? NULL : fopen(path, "r");
	size_t n = f ? fread(have, 1, sizeof(have) - 1, f) : 0;
	if (f)
		fclose(f);
	have[n] = '\0';
	return !pending && !strcmp(have, model);
}

/* Say in the store's "model" file that every file is e's model's now. */
static void mark_model(const struct config *c, const char *model, const char *vs)
{
	char path[KB_PATH_MAX], tmp[KB_PATH_MAX + 8];
	kb_store_vs_path(c, vs, "model", "", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f && fputs(model, f) >= 0 && fclose(f) == 0)
		rename(tmp, path);
	else if (f)
		fclose(f);
}

int kb_index_sync(const struct config *c, const struct kb_embedder *e, const char *vs, char *err, size_t errlen)
{
	if (up_to_date(c, e->model, vs))
		return 0;
	cJSON *files = kb_store_vs_files(c, vs);
	int todo = 0, rc = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, files)
		todo |= needs_index(e->model, f);
	if (!todo) {
		cJSON_Delete(files);
		mark_model(c, e->model, vs);
		return 0;
	}
	int fd = lock_store(c, vs);
	cJSON *meta = kb_store_vs_get(c, vs);
	const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "owner"));
	int as_admin = owner && !strcmp(owner, KB_ADMIN_OWNER);
	cJSON_Delete(meta);
	cJSON_Delete(files);
	files = kb_store_vs_files(c, vs);   /* again, under the lock */
	cJSON_ArrayForEach(f, files) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "id"));
		long n = 0;
		if (!id || !needs_index(e->model, f))
			continue;
		rc = kb_index_file(c, e, as_admin, vs, id, &n, err, errlen);
		if (rc != 0)
			break;
		log_info("knowledge base %s: %s indexed with %s, %ld chunks", vs, id, e->model, n);
	}
	cJSON_Delete(files);
	if (rc == 0)
		mark_model(c, e->model, vs);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Search every vector file of vs. */
static void search_store(const struct config *c, const char *model, const char *vs, const struct kb_query *q,
			 float min_score, struct kb_top *top)
{
	char dir[KB_PATH_MAX], path[KB_PATH_MAX + 300];
	kb_store_vs_path(c, vs, "", "", dir, sizeof(dir));
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".vec"))
			continue;
		char id[KB_ID_MAX];
		if (l - 4 >= sizeof(id))
			continue;
		memcpy(id, de->d_name, l - 4);
		id[l - 4] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		kb_vec_search(path, model, q, min_score, id, top);
	}
	if (d)
		closedir(d);
}

int kb_index_search(const struct config *c, const struct kb_embedder *e, const char *const *vs, size_t n,
		    const char *query, float min_score, struct kb_top *top, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int rc = kb_index_sync(c, e, vs[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	const char *texts[1] = { query };
	float *v = NULL;
	int dim = 0;
	int rc = e->fn(e->user, 0, texts, 1, &v, &dim, err, errlen);
	if (rc != 0)
		return rc;
	struct kb_query q;
	if (kb_vec_query_init(&q, v, dim) == 0)
		for (size_t i = 0; i < n; i++)
			search_store(c, e->model, vs[i], &q, min_score, top);
	kb_vec_query_free(&q);
	free(v);
	return 0;
}

/* The hits as the search answer's data. */
cJSON *kb_index_hits_json(const struct config *c, const struct kb_top *top)
{
	cJSON *data = cJSON_CreateArray();
	for (size_t i = 0; i < top->n; i++) {
		const struct kb_hit *h = &top->v[i];
		cJSON *m = kb_store_file_get(c, h->source);
		const cJSON *fname = cJSON_GetObjectItemCaseSensitive(m, "filename");
		if (!cJSON_IsString(fname))
			fname = NULL;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file_id", h->source);
		cJSON_AddStringToObject(o, "filename", fname ? fname->valuestring : h->source);
		cJSON_AddNumberToObject(o, "score", h->score);
		cJSON_AddItemToObject(o, "attributes", cJSON_CreateObject());
		cJSON *content = cJSON_AddArrayToObject(o, "content");
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "type", "text");
		cJSON_AddStringToObject(t, "text", h->text);
		cJSON_AddItemToArray(content, t);
		cJSON_AddItemToArray(data, o);
		cJSON_Delete(m);
	}
	return data;
}
