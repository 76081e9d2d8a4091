/* kb_store.h — knowledge bases on disk, under the state folder:
 *
 *   kb/files/<file-id>.json        an uploaded file: its name, kind, bytes, owner
 *   kb/files/<file-id>.txt         its text (kb_text.h)
 *   kb/stores/<vs_id>/store.json   a vector store: its name, owner
 *   kb/stores/<vs_id>/<file-id>.vec      an attached file, indexed (kb_vec.h)
 *   kb/stores/<vs_id>/<file-id>.pending  attached, waiting to be indexed
 *   kb/tmp/                        PDFs while pdftotext reads them
 *
 * Every JSON file is written under a temporary name and renamed. An owner
 * is a gateway key's id, or KB_ADMIN_OWNER for what the admin uploaded: a
 * store of the admin's is shared (every key may search it, none may change
 * it); any other store or file is seen only by its own key. */
#ifndef LLMGATE_KB_STORE_H
#define LLMGATE_KB_STORE_H
#include "config.h"
#include <cjson/cJSON.h>
#include <stddef.h>

#define KB_ADMIN_OWNER "admin"
#define KB_ID_MAX 48
#define KB_PATH_MAX 4096

/* A new id: prefix ("file-", "vs_") and 24 random hex digits. */
void kb_store_new_id(const char *prefix, char *out, size_t n);
/* Is id prefix followed by 1..40 of [A-Za-z0-9_-]? (Ids name files.) */
int kb_store_id_ok(const char *id, const char *prefix);
/* <state>/kb/<sub> into out ("" : kb itself), the folders made (0700).
 * 0 or -1. */
int kb_store_dir(const struct config *c, const char *sub, char *out, size_t n);

/* ---- files */
/* Keep a file: meta {id, object "file", bytes, created_at, filename,
 * purpose, kind, owner, chars} and its text. 0 (id in id_out) or -1. */
int kb_store_file_put(const struct config *c, const char *owner, const char *filename, const char *purpose,
		      const char *kind, size_t bytes, const char *text, size_t tlen, char *id_out, size_t idlen);
/* A file's meta (new object), or NULL. */
cJSON *kb_store_file_get(const struct config *c, const char *id);
/* A file's text (new string), or NULL. */
char *kb_store_file_text(const struct config *c, const char *id, size_t *len);
/* Remove a file and its text. 0, or -1 when there was none. */
int kb_store_file_delete(const struct config *c, const char *id);
/* The metas of owner's files (NULL: everyone's), newest first. */
cJSON *kb_store_file_list(const struct config *c, const char *owner);

/* ---- vector stores */
int kb_store_vs_create(const struct config *c, const char *owner, const char *name, char *id_out, size_t idlen);
cJSON *kb_store_vs_get(const struct config *c, const char *id);
/* Stores owner sees (its own and, with shared, the admin's); NULL owner:
 * all. Newest first. */
cJSON *kb_store_vs_list(const struct config *c, const char *owner, int shared);
/* Remove a store and everything indexed in it. 0 or -1. */
int kb_store_vs_delete(const struct config *c, const char *id);
/* May the key with id who see store meta vs? (its own, or the admin's) */
int kb_store_vs_visible(const cJSON *vs, const char *who);
/* Path of <vs>/<file_id><ext> (".vec", ".pending") into out. */
void kb_store_vs_path(const struct config *c, const char *vs, const char *file_id, const char *ext, char *out,
		      size_t n);
/* The files of a store: [{id, status "completed"|"in_progress", chunks,
 * model}] (new array). */
cJSON *kb_store_vs_files(const struct config *c, const char *vs);
/* Mark file_id of vs to be indexed (again): 0 or -1. */
int kb_store_vs_mark_pending(const struct config *c, const char *vs, const char *file_id);
/* Take file_id out of vs (its vectors and its mark): 0, or -1 when it was
 * not in it. */
int kb_store_vs_detach(const struct config *c, const char *vs, const char *file_id);
/* Write all n bytes of p to fd (retrying short writes and EINTR); 0 or -1. */
int kb_store_write_all(int fd, const void *p, size_t n);
/* Write j to path by a temporary file and a rename; 0 or -1. */
int kb_store_write_json(const char *path, const cJSON *j);
/* Read a JSON file (new value) or NULL. */
cJSON *kb_store_read_json(const char *path);
#endif
