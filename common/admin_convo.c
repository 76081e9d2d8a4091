/* admin_convo.c — the admin's view of stored conversations (convo.h):
 * GET conversations (per gateway key: how many, last used), GET
 * conversations/<key id> (that key's, most recently used first, without
 * their messages) and POST conversations/<key id>/delete {"id"} (one of
 * them). A conversation's id is any printable text, so it travels in the
 * body, not in the path. */
#include "autoconf.h"
#include "admin_impl.h"
#include "convo.h"
#include "recstore.h"
#include "xmalloc.h"
#include <stdlib.h>
#include <string.h>

/* The retention in force (the file's, or the admin's in state.db). */
static long max_age(struct admin_ctx *x)
{
	struct config c;
	char err[256];
	if (admin_load_config(x, &c, 1, err, sizeof(err)) != 0)
		return convo_max_age(&x->a->cfg);
	long s = convo_max_age(&c);
	config_free(&c);
	return s;
}

struct tally {
	long n;
	time_t last;
	cJSON *list;   /* NULL: count only */
};

static int tally_one(const char *id, size_t idlen, const char *data, size_t len, time_t mtime, void *user)
{
	struct tally *t = user;
	(void)id;
	(void)idlen;
	t->n++;
	if (mtime > t->last)
		t->last = mtime;
	cJSON *rec = t->list ? convo_record_parse(data, len) : NULL;
	if (rec)
		cJSON_AddItemToArray(t->list, convo_public(rec, mtime, 0));
	cJSON_Delete(rec);
	return 0;
}

void admin_convo_get(struct admin_ctx *x)
{
	char err[256];
	cJSON *keys = admin_gwkeys_read(x, err, sizeof(err));
	if (!keys) {
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "state.db is busy; try again in a moment");
		return;
	}
	char *root = convo_root(&x->a->cfg);
	long age = max_age(x);
	cJSON *out = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(out, "keys");
	const cJSON *k;
	cJSON_ArrayForEach(k, keys) {
		const char *id = admin_str_of(k, "id");
		struct tally t = { 0 };
		if (!id)
			continue;
		recstore_each(root, id, age, tally_one, &t);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "name", admin_str_of(k, "name") ? admin_str_of(k, "name") : "");
		cJSON_AddNumberToObject(o, "conversations", (double)t.n);
		if (t.last)
			cJSON_AddNumberToObject(o, "last_used", (double)t.last);
		else
			cJSON_AddNullToObject(o, "last_used");
		cJSON_AddItemToArray(arr, o);
	}
	free(root);
	cJSON_Delete(keys);
	admin_reply_ok(x, 200, out);
}

static int newer_first(const void *a, const void *b)
{
	double p = admin_num_of(*(cJSON *const *)a, "last_used", 0), q = admin_num_of(*(cJSON *const *)b, "last_used", 0);
	return p < q ? 1 : p > q ? -1 : 0;
}

void admin_convo_key_get(struct admin_ctx *x)
{
	char *root = convo_root(&x->a->cfg);
	struct tally t = { .list = cJSON_CreateArray() };
	recstore_each(root, x->id, max_age(x), tally_one, &t);
	free(root);
	size_t n = (size_t)cJSON_GetArraySize(t.list), i = 0;
	cJSON **v = xcalloc(n ? n : 1, sizeof(*v));
	while (t.list->child)
		v[i++] = cJSON_DetachItemViaPointer(t.list, t.list->child);
	qsort(v, n, sizeof(*v), newer_first);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(t.list, v[i]);
	free(v);
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "key", x->id);
	cJSON_AddItemToObject(out, "conversations", t.list);
	admin_reply_ok(x, 200, out);
}

void admin_convo_delete(struct admin_ctx *x)
{
	const char *id = admin_str_of(x->body, "id");
	if (!id || !convo_id_ok(id)) {
		admin_reply_error(x, 400, "invalid_id", NULL, "id must be a conversation id (1 to %d printable ASCII characters)",
				  CONVO_ID_MAX);
		return;
	}
	char *root = convo_root(&x->a->cfg);
	int rc = recstore_delete(root, x->id, id);
	free(root);
	if (rc != 0) {
		admin_reply_error(x, 404, "not_found", NULL, "key %s keeps no conversation with that id", x->id);
		return;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddBoolToObject(out, "deleted", 1);
	admin_reply_ok(x, 200, out);
}
