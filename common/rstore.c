/* rstore.c — stored responses in STATE/responses/ (see rstore.h), kept by
 * the record store (recstore.h) with the gateway key's id as owner. */
#include "autoconf.h"
#include "rstore.h"
#include "recstore.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RSTORE_SWEEP_S 3600   /* expired records dropped at most this often */

char *rstore_path(const char *state_dir)
{
	return xasprintf("%s/responses", state_dir);
}

static char *replace_with(const char *old, size_t oldlen, void *user)
{
	(void)old;
	(void)oldlen;
	return xstrdup(user);
}

int rstore_put(const char *state_dir, const char *owner, const cJSON *response,
	       const cJSON *input, const char *instructions, long ttl_s)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(response, "id");
	if (!cJSON_IsString(id) || !owner) {
		errno = EINVAL;
		return -1;
	}
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "owner", owner);
	cJSON_AddNumberToObject(rec, "created", (double)time(NULL));
	if (instructions)
		cJSON_AddStringToObject(rec, "instructions", instructions);
	cJSON_AddItemToObject(rec, "input", input ? cJSON_Duplicate(input, 1) : cJSON_CreateArray());
	cJSON_AddItemToObject(rec, "response", cJSON_Duplicate(response, 1));
	char *txt = cJSON_PrintUnformatted(rec);
	cJSON_Delete(rec);
	char *root = rstore_path(state_dir);
	recstore_sweep(root, ttl_s, RSTORE_SWEEP_S);
	int rc = recstore_update(root, owner, id->valuestring, 0, 0, replace_with, txt) == 1 ? 0 : -1;
	free(root);
	free(txt);
	return rc;
}

cJSON *rstore_get(const char *state_dir, const char *owner, const char *id, long ttl_s)
{
	if (!owner || !id || ttl_s < 0) {
		errno = ENOENT;
		return NULL;
	}
	char *root = rstore_path(state_dir);
	size_t len;
	char *data = recstore_get(root, owner, id, ttl_s, &len, NULL);
	int e = errno;
	free(root);
	cJSON *rec = data ? cJSON_ParseWithLength(data, len) : NULL;
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(rec, "owner");
	free(data);
	if (data && (!cJSON_IsString(o) || strcmp(o->valuestring, owner))) {
		cJSON_Delete(rec);
		rec = NULL;
		e = ENOENT;
	}
	errno = e;
	return rec;
}

int rstore_delete(const char *state_dir, const char *owner, const char *id)
{
	if (!owner || !id) {
		errno = ENOENT;
		return -1;
	}
	char *root = rstore_path(state_dir);
	int rc = recstore_delete(root, owner, id);
	int e = errno;
	free(root);
	errno = e;
	return rc;
}
