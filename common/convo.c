/* convo.c — server-side conversations per gateway key (see convo.h). */
#include "autoconf.h"
#include "convo.h"
#include "buf.h"
#include "log.h"
#include "recstore.h"
#include "xmalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONVO_ANSWER_CAP (4u << 20)   /* the answer's text kept for the turn */

struct convo_turn {
	char id[CONVO_ID_MAX + 1];
	cJSON *fresh;       /* the request's own non-system messages: the new turn */
	struct buf answer;  /* the answer's text as it arrives */
	int finished;       /* the answer came to its end (a finish_reason) */
	int broken;         /* more than the cap, or not an answer in text */
};

int convo_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONVO_ID_MAX || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

char *convo_root(const struct config *c)
{
	return xasprintf("%s/conversations", c->state_dir);
}

long convo_max_age(const struct config *c)
{
	return c->conv_retention_days * 86400L;
}

struct convo_turn *convo_begin(const char *id)
{
	struct convo_turn *t = xcalloc(1, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	buf_init(&t->answer, CONVO_ANSWER_CAP);
	return t;
}

void convo_free(struct convo_turn *t)
{
	if (!t)
		return;
	cJSON_Delete(t->fresh);
	buf_free(&t->answer);
	free(t);
}

/* ------------------------------------------------------------ trimming */

static long utf8_chars(const char *s)
{
	long n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static long text_chars(const cJSON *j)
{
	if (cJSON_IsString(j))
		return utf8_chars(j->valuestring);
	long n = 0;
	for (const cJSON *c = (cJSON_IsArray(j) || cJSON_IsObject(j)) ? j->child : NULL; c; c = c->next)
		n += text_chars(c);
	return n;
}

long convo_message_chars(const cJSON *m)
{
	return text_chars(cJSON_GetObjectItemCaseSensitive(m, "content"));
}

static int role_is(const cJSON *m, const char *role)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
	return cJSON_IsString(r) && !strcmp(r->valuestring, role);
}

long convo_trim(cJSON *messages, long budget)
{
	long total = 0, dropped = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, messages)
		total += convo_message_chars(m);
	while (total > budget && cJSON_GetArraySize(messages) > 0) {
		do {
			cJSON *first = cJSON_DetachItemFromArray(messages, 0);
			total -= convo_message_chars(first);
			cJSON_Delete(first);
			dropped++;
		} while (cJSON_GetArraySize(messages) > 0 && !role_is(messages->child, "user"));
	}
	return dropped;
}

/* ------------------------------------------------------------ records */

static int message_ok(const cJSON *m)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	return cJSON_IsObject(m) && (role_is(m, "user") || role_is(m, "assistant")) &&
	       (cJSON_IsString(c) || cJSON_IsArray(c));
}

cJSON *convo_record_parse(const char *data, size_t len)
{
	cJSON *rec = cJSON_ParseWithLength(data, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(rec, "created");
	int ok = cJSON_IsObject(rec) && cJSON_IsString(id) && cJSON_IsArray(ms) && cJSON_IsNumber(cr);
	const cJSON *m;
	cJSON_ArrayForEach(m, ms)
		ok = ok && message_ok(m);
	if (!ok) {
		cJSON_Delete(rec);
		return NULL;
	}
	return rec;
}

cJSON *convo_public(const cJSON *rec, time_t last_used, int messages)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages"), *m;
	int turns = 0;
	cJSON_ArrayForEach(m, ms)
		turns += role_is(m, "user");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", cJSON_GetObjectItemCaseSensitive(rec, "id")->valuestring);
	cJSON_AddStringToObject(o, "object", "conversation");
	cJSON_AddNumberToObject(o, "created", cJSON_GetObjectItemCaseSensitive(rec, "created")->valuedouble);
	cJSON_AddNumberToObject(o, "last_used", (double)last_used);
	cJSON_AddNumberToObject(o, "turns", turns);
	if (messages)
		cJSON_AddItemToObject(o, "messages", cJSON_Duplicate(ms, 1));
	return o;
}

/* ------------------------------------------------------------ the filter */

/* The stored messages of fc's conversation (new array; empty when there is
 * none yet), trimmed to the history budget. */
static cJSON *history(const struct filter_ctx *fc)
{
	char *root = convo_root(fc->c);
	size_t len;
	char *data = recstore_get(root, fc->who->id, fc->convo->id, convo_max_age(fc->c), &len, NULL);
	free(root);
	cJSON *rec = data ? convo_record_parse(data, len) : NULL;
	if (data && !rec)
		log_warn("%s key=%s a stored conversation did not read back; it starts anew", fc->req_id, fc->who->id);
	free(data);
	cJSON *ms = rec ? cJSON_DetachItemFromObjectCaseSensitive(rec, "messages") : cJSON_CreateArray();
	cJSON_Delete(rec);
	convo_trim(ms, fc->c->conv_history_chars);
	return ms;
}

int convo_filter(cJSON *req, const struct filter_ctx *fc)
{
	struct convo_turn *t = fc->convo;
	if (!t)
		return 0;
	cJSON *messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
	cJSON *out = cJSON_CreateArray(), *h = history(fc);
	int lead = 1, n = cJSON_GetArraySize(h);
	t->fresh = cJSON_CreateArray();
	/* the leading system messages, the history, then the rest: a new
	 * array, moved item by item */
	while (messages && messages->child) {
		cJSON *m = cJSON_DetachItemViaPointer(messages, messages->child);
		int sys = role_is(m, "system") || role_is(m, "developer");
		if (lead && !sys) {
			while (h->child)
				cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(h, h->child));
			lead = 0;
		}
		if (!sys)
			cJSON_AddItemToArray(t->fresh, cJSON_Duplicate(m, 1));
		cJSON_AddItemToArray(out, m);
	}
	while (h->child)
		cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(h, h->child));
	cJSON_Delete(h);
	if (messages)
		cJSON_ReplaceItemInObjectCaseSensitive(req, "messages", out);
	else
		cJSON_Delete(out);
	return n > 0;
}

/* ------------------------------------------------------------ the tap */

/* One OpenAI-form event or buffered answer: its text kept, its end seen. */
static void tap_data(const struct filter_ctx *fc, const char *data, size_t len)
{
	struct convo_turn *t = fc->convo;
	if (!t || t->broken)
		return;
	cJSON *j = cJSON_ParseWithLength(data, len);
	const cJSON *ch = NULL, *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "choices")) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		if (!ch && (!idx || (cJSON_IsNumber(idx) && idx->valuedouble == 0)))
			ch = c;   /* the first choice only (n > 1 keeps choice 0) */
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
	const cJSON *part = cJSON_GetObjectItemCaseSensitive(msg ? msg : delta, "content");
	const cJSON *fin = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
	if (msg)
		buf_reset(&t->answer);
	if (cJSON_IsString(part) && buf_puts(&t->answer, part->valuestring) != 0)
		t->broken = 1;
	if (cJSON_IsString(fin))
		t->finished = 1;
	cJSON_Delete(j);
}

/* recstore_update's change: the record with the new turn. */
static char *with_turn(const char *old, size_t oldlen, void *user)
{
	const struct filter_ctx *fc = user;
	struct convo_turn *t = fc->convo;
	cJSON *rec = old ? convo_record_parse(old, oldlen) : NULL;
	if (!rec) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "id", t->id);
		cJSON_AddNumberToObject(rec, "created", (double)time(NULL));
		cJSON_AddArrayToObject(rec, "messages");
	}
	cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	const cJSON *m;
	cJSON_ArrayForEach(m, t->fresh) {
		cJSON *keep = cJSON_CreateObject();
		cJSON_AddStringToObject(keep, "role", "user");
		cJSON_AddItemToObject(keep, "content",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m, "content"), 1));
		if (message_ok(keep))
			cJSON_AddItemToArray(ms, keep);
		else
			cJSON_Delete(keep);
	}
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "role", "assistant");
	cJSON_AddStringToObject(a, "content", buf_str(&t->answer));
	cJSON_AddItemToArray(ms, a);
	convo_trim(ms, fc->c->conv_history_chars);
	char *out = cJSON_PrintUnformatted(rec);
	cJSON_Delete(rec);
	return out;
}

/* The answer ended: a complete answer in text is kept with its question. */
static void tap_end(const struct filter_ctx *fc, int status, const struct usage *u)
{
	struct convo_turn *t = fc->convo;
	(void)u;
	if (!t || status != 200 || !t->finished || t->broken || !t->answer.len || !t->fresh)
		return;
	int only_user = 1;
	const cJSON *m;
	cJSON_ArrayForEach(m, t->fresh)
		only_user = only_user && role_is(m, "user");
	if (!only_user) {
		log_info("%s key=%s conversation turn not kept: it carries tool or assistant messages", fc->req_id,
			 fc->who->id);
		return;
	}
	char *root = convo_root(fc->c);
	recstore_sweep(root, convo_max_age(fc->c), CONVO_SWEEP_S);
	if (recstore_update(root, fc->who->id, t->id, convo_max_age(fc->c), (size_t)fc->c->conv_max_per_key,
			    with_turn, (void *)fc) < 0)
		log_err("%s key=%s conversation turn not kept: %s", fc->req_id, fc->who->id, strerror(errno));
	free(root);
}

const struct tap convo_tap = { "conversation", tap_data, tap_end };
