/* kb_store.c — knowledge bases on disk (see kb_store.h). */
#include "autoconf.h"
#include "kb_store.h"
#include "kb_vec.h"
#include "sha256.h"
#include "xmalloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void kb_store_new_id(const char *prefix, char *out, size_t n)
{
	unsigned char r[12];
	char hex[25];
	if (random_bytes(r, sizeof(r)) != 0)
		memset(r, 0, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	snprintf(out, n, "%s%s", prefix, hex);
}

int kb_store_id_ok(const char *id, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (!id || strncmp(id, prefix, pl))
		return 0;
	size_t n = 0;
	for (const char *p = id + pl; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= 40;
}

int kb_store_dir(const struct config *c, const char *sub, char *out, size_t n)
{
	snprintf(out, n, "%s", c->state_dir);
	if ((mkdir(out, 0700) != 0 && errno != EEXIST))
		return -1;
	size_t l = strlen(out);
	snprintf(out + l, n - l, "/kb");
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -1;
	if (sub && *sub) {
		l = strlen(out);
		snprintf(out + l, n - l, "/%s", sub);
		if (mkdir(out, 0700) != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

int kb_store_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int kb_store_write_json(const char *path, const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	char tmp[KB_PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd >= 0) {
		size_t len = strlen(text);
		rc = kb_store_write_all(fd, text, len) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -1;
		if (rc != 0)
			unlink(tmp);
	}
	free(text);
	return rc;
}

/* A whole file (new string, NUL-terminated), or NULL. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	char *d = NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
		d = xmalloc((size_t)st.st_size + 1);
		size_t n = fread(d, 1, (size_t)st.st_size, f);
		d[n] = '\0';
		if (len)
			*len = n;
	}
	fclose(f);
	return d;
}

cJSON *kb_store_read_json(const char *path)
{
	char *d = read_all(path, NULL);
	cJSON *j = d ? cJSON_Parse(d) : NULL;
	free(d);
	return j;
}

/* ---------------------------------------------------------------- files */

static void file_path(const struct config *c, const char *id, const char *ext, char *out, size_t n)
{
	char dir[KB_PATH_MAX];
	kb_store_dir(c, "files", dir, sizeof(dir));
	snprintf(out, n, "%.3000s/%s%s", dir, id, ext);
}

int kb_store_file_put(const struct config *c, const char *owner, const char *filename, const char *purpose,
		      const char *kind, size_t bytes, const char *text, size_t tlen, char *id_out, size_t idlen)
{
	char id[KB_ID_MAX], path[KB_PATH_MAX];
	kb_store_new_id("file-", id, sizeof(id));
	file_path(c, id, ".txt", path, sizeof(path));
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(text, 1, tlen, f) == tlen;
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "object", "file");
	cJSON_AddNumberToObject(m, "bytes", (double)bytes);
	cJSON_AddNumberToObject(m, "created_at", (double)time(NULL));
	cJSON_AddStringToObject(m, "filename", filename);
	cJSON_AddStringToObject(m, "purpose", purpose);
	cJSON_AddStringToObject(m, "kind", kind);
	cJSON_AddStringToObject(m, "owner", owner);
	cJSON_AddNumberToObject(m, "chars", (double)tlen);
	file_path(c, id, ".json", path, sizeof(path));
	ok = ok && kb_store_write_json(path, m) == 0;
	cJSON_Delete(m);
	if (!ok) {
		file_path(c, id, ".txt", path, sizeof(path));
		unlink(path);
		return -1;
	}
	snprintf(id_out, idlen, "%s", id);
	return 0;
}

cJSON *kb_store_file_get(const struct config *c, const char *id)
{
	if (!kb_store_id_ok(id, "file-"))
		return NULL;
	char path[KB_PATH_MAX];
	file_path(c, id, ".json", path, sizeof(path));
	return kb_store_read_json(path);
}

char *kb_store_file_text(const struct config *c, const char *id, size_t *len)
{
	if (!kb_store_id_ok(id, "file-"))
		return NULL;
	char path[KB_PATH_MAX];
	file_path(c, id, ".txt", path, sizeof(path));
	return read_all(path, len);
}

int kb_store_file_delete(const struct config *c, const char *id)
{
	if (!kb_store_id_ok(id, "file-"))
		return -1;
	char path[KB_PATH_MAX];
	file_path(c, id, ".json", path, sizeof(path));
	int rc = unlink(path);
	file_path(c, id, ".txt", path, sizeof(path));
	unlink(path);
	return rc == 0 ? 0 : -1;
}

/* Sort by created_at, newest first. */
static int newest_first(const void *a, const void *b)
{
	double ta = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a, "created_at"));
	double tb = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)b, "created_at"));
	return ta < tb ? 1 : ta > tb ? -1 : 0;
}

/* An array of the JSON objects v[0..n) sorted newest first (consumes v). */
static cJSON *sorted_array(cJSON **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), newest_first);
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
	free(v);
	return arr;
}

/* Does meta m belong to owner (NULL: anyone; shared: the admin's too)? */
static int owned(const cJSON *m, const char *owner, int shared)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, "owner");
	if (!owner)
		return 1;
	return cJSON_IsString(o) && (!strcmp(o->valuestring, owner) || (shared && !strcmp(o->valuestring, KB_ADMIN_OWNER)));
}

cJSON *kb_store_file_list(const struct config *c, const char *owner)
{
	char dir[KB_PATH_MAX], path[KB_PATH_MAX + 300];
	cJSON **v = NULL;
	size_t n = 0;
	DIR *d = kb_store_dir(c, "files", dir, sizeof(dir)) == 0 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cJSON *m = kb_store_read_json(path);
		if (m && owned(m, owner, 0)) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = m;
		} else {
			cJSON_Delete(m);
		}
	}
	if (d)
		closedir(d);
	return sorted_array(v, n);
}

/* ---------------------------------------------------------------- stores */

static void vs_dir(const struct config *c, const char *id, char *out, size_t n)
{
	char dir[KB_PATH_MAX];
	kb_store_dir(c, "stores", dir, sizeof(dir));
	snprintf(out, n, "%.3000s/%s", dir, id);
}

void kb_store_vs_path(const struct config *c, const char *vs, const char *file_id, const char *ext, char *out,
		      size_t n)
{
	char dir[KB_PATH_MAX];
	vs_dir(c, vs, dir, sizeof(dir));
	snprintf(out, n, "%.3500s/%s%s", dir, file_id, ext);
}

int kb_store_vs_create(const struct config *c, const char *owner, const char *name, char *id_out, size_t idlen)
{
	char id[KB_ID_MAX], dir[KB_PATH_MAX], path[KB_PATH_MAX + 16];
	kb_store_new_id("vs_", id, sizeof(id));
	vs_dir(c, id, dir, sizeof(dir));
	if (mkdir(dir, 0700) != 0)
		return -1;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "name", name ? name : "");
	cJSON_AddStringToObject(m, "owner", owner);
	cJSON_AddNumberToObject(m, "created_at", (double)time(NULL));
	snprintf(path, sizeof(path), "%s/store.json", dir);
	int rc = kb_store_write_json(path, m);
	cJSON_Delete(m);
	if (rc != 0) {
		rmdir(dir);
		return -1;
	}
	snprintf(id_out, idlen, "%s", id);
	return 0;
}

cJSON *kb_store_vs_get(const struct config *c, const char *id)
{
	if (!kb_store_id_ok(id, "vs_"))
		return NULL;
	char dir[KB_PATH_MAX], path[KB_PATH_MAX + 16];
	vs_dir(c, id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/store.json", dir);
	return kb_store_read_json(path);
}

cJSON *kb_store_vs_list(const struct config *c, const char *owner, int shared)
{
	char dir[KB_PATH_MAX];
	cJSON **v = NULL;
	size_t n = 0;
	DIR *d = kb_store_dir(c, "stores", dir, sizeof(dir)) == 0 ? opendir(dir) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		cJSON *m = kb_store_id_ok(e->d_name, "vs_") ? kb_store_vs_get(c, e->d_name) : NULL;
		if (m && owned(m, owner, shared)) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = m;
		} else {
			cJSON_Delete(m);
		}
	}
	if (d)
		closedir(d);
	return sorted_array(v, n);
}

int kb_store_vs_delete(const struct config *c, const char *id)
{
	if (!kb_store_id_ok(id, "vs_"))
		return -1;
	char dir[KB_PATH_MAX], path[KB_PATH_MAX + 300];
	vs_dir(c, id, dir, sizeof(dir));
	/* store.json first: a store half removed is no store */
	snprintf(path, sizeof(path), "%s/store.json", dir);
	if (unlink(path) != 0)
		return -1;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

int kb_store_vs_visible(const cJSON *vs, const char *who)
{
	return vs && owned(vs, who, 1);
}

/* The id part of a store's entry name ("file-x.vec" -> "file-x") with its
 * extension, or 0. */
static int entry_id(const char *name, char *id, size_t n, const char **ext)
{
	const char *dot = strrchr(name, '.');
	if (!dot || (strcmp(dot, ".vec") && strcmp(dot, ".pending")) || (size_t)(dot - name) >= n)
		return 0;
	memcpy(id, name, (size_t)(dot - name));
	id[dot - name] = '\0';
	*ext = dot;
	return kb_store_id_ok(id, "file-");
}

cJSON *kb_store_vs_files(const struct config *c, const char *vs)
{
	char dir[KB_PATH_MAX], path[KB_PATH_MAX + 300], id[KB_ID_MAX];
	cJSON *arr = cJSON_CreateArray();
	vs_dir(c, vs, dir, sizeof(dir));
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		const char *ext;
		if (!entry_id(e->d_name, id, sizeof(id), &ext))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int pending = !strcmp(ext, ".pending");
		char alt[KB_PATH_MAX + 300];
		snprintf(alt, sizeof(alt), "%s/%s.pending", dir, id);
		if (!pending && access(alt, F_OK) == 0)
			continue;   /* listed by its mark */
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		char model[KB_VEC_MODEL_MAX] = "";
		int dim = 0;
		size_t count = 0;
		if (!pending)
			kb_vec_info(path, model, sizeof(model), &dim, &count);
		cJSON_AddStringToObject(o, "status", pending ? "in_progress" : "completed");
		cJSON_AddNumberToObject(o, "chunks", (double)count);
		cJSON_AddStringToObject(o, "model", model);
		struct stat st;
		cJSON_AddNumberToObject(o, "created_at", stat(path, &st) == 0 ? (double)st.st_mtime : 0);
		cJSON_AddItemToArray(arr, o);
	}
	if (d)
		closedir(d);
	return arr;
}

int kb_store_vs_mark_pending(const struct config *c, const char *vs, const char *file_id)
{
	char path[KB_PATH_MAX];
	kb_store_vs_path(c, vs, file_id, ".pending", path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int kb_store_vs_detach(const struct config *c, const char *vs, const char *file_id)
{
	char path[KB_PATH_MAX];
	kb_store_vs_path(c, vs, file_id, ".vec", path, sizeof(path));
	int a = unlink(path);
	kb_store_vs_path(c, vs, file_id, ".pending", path, sizeof(path));
	int b = unlink(path);
	return a == 0 || b == 0 ? 0 : -1;
}
