/* admin_probe.c — testing a provider or one upstream key before traffic
 * finds out: one small real chat call (max_tokens 1) through the router's
 * own parts (dialect.c builds the URL, key header and body; upstream.c
 * makes the call with the configured deadlines), and for an
 * OpenAI-compatible provider its models list; the answer time, the
 * status and the error in plain words. Never the key: messages are
 * scrubbed. */
#include "autoconf.h"
#include "admin_impl.h"
#include "buf.h"
#include "dialect.h"
#include "log.h"
#include "pool.h"
#include "upstream.h"
#include "xmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_BODY_MAX (64u << 10)
#define PROBE_FIRST_BYTE_MS 20000
#define PROBE_TOTAL_MS 30000
#define PROBE_KEYS_MAX 8

static int probe_data(void *user, const char *p, size_t n)
{
	struct buf *b = user;
	if (b->len + n > PROBE_BODY_MAX)
		return 0;   /* enough to read an error: the rest is not kept */
	buf_append(b, p, n);
	return 0;
}

/* One call (body NULL: GET) to url with secret; its outcome into o. */
static void probe_call(const struct config *c, const struct dialect_ops *d, const char *url, const char *body,
		       const char *secret, cJSON *o)
{
	struct buf b;
	char msg[300];
	buf_init(&b, PROBE_BODY_MAX + 1);
	char *auth = dialect_auth_line(d, secret);
	long fb = c->first_byte_timeout_ms < PROBE_FIRST_BYTE_MS ? c->first_byte_timeout_ms : PROBE_FIRST_BYTE_MS;
	struct upstream_call uc = {
		.url = url, .method = body ? NULL : "GET", .auth_header = auth, .extra_headers = d->headers,
		.body = body, .body_len = body ? strlen(body) : 0, .accept = "application/json",
		.connect_timeout_ms = c->connect_timeout_ms, .first_byte_timeout_ms = fb,
		.idle_timeout_ms = c->idle_timeout_ms, .head_timeout_ms = PROBE_TOTAL_MS,
		.total_timeout_ms = PROBE_TOTAL_MS, .stream_max_ms = PROBE_TOTAL_MS, .stream_max_bytes = PROBE_BODY_MAX,
		.on_data = probe_data, .user = &b,
	};
	int done = upstream_perform(&uc) == 0;
	dialect_auth_free(auth);
	int ok = done && uc.status >= 200 && uc.status < 300;
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddNumberToObject(o, "status", uc.status);
	cJSON_AddNumberToObject(o, "ms", (double)(uc.t_end_ms - uc.t_start_ms));
	if (uc.t_first_byte_ms)
		cJSON_AddNumberToObject(o, "ttfb_ms", (double)(uc.t_first_byte_ms - uc.t_start_ms));
	if (!done) {
		snprintf(msg, sizeof(msg), "%s", uc.timeout == UPSTREAM_TIMEOUT_FIRST_BYTE ? "no response in time"
						 : uc.errmsg[0]			       ? uc.errmsg
										       : "transfer failed");
		log_scrub(msg);
		cJSON_AddStringToObject(o, "error", msg);
	} else if (!ok) {
		char m[240];
		dialect_error_message(d, uc.status, buf_str(&b), b.len, m, sizeof(m));
		snprintf(msg, sizeof(msg), "HTTP %d: %s", uc.status, m);
		cJSON_AddStringToObject(o, "error", msg);
	} else if (!body) {
		cJSON *j = cJSON_ParseWithLength(buf_str(&b), b.len);
		cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "data")));
		cJSON_Delete(j);
	}
	buf_free(&b);
}

/* The chat test of provider p with secret (NULL: keys = none) on model. */
static cJSON *probe_key(const struct config *c, const struct provider_conf *p, const char *key_id,
			const char *secret, const char *model)
{
	char path[512], err[256];
	cJSON *o = cJSON_CreateObject();
	const struct dialect_ops *d = dialect_ops(p->dialect);
	cJSON_AddStringToObject(o, "provider", p->name);
	if (key_id)
		cJSON_AddStringToObject(o, "id", key_id);
	cJSON_AddStringToObject(o, "model", model);
	if (dialect_chat_path(d, path, sizeof(path), model, 0, err, sizeof(err)) != 0) {
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", err);
		return o;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "model", model);
	cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", "ping");
	cJSON_AddItemToArray(msgs, m);
	cJSON_AddNumberToObject(req, "max_tokens", 1);
	char *body = d->chat_request ? d->chat_request(req, NULL, 0, model, 0, err, sizeof(err))
				     : cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	char *url = xasprintf("%s%s", p->base_url, path);
	if (body)
		probe_call(c, d, url, body, secret, o);
	else {
		cJSON_AddBoolToObject(o, "ok", 0);
		cJSON_AddStringToObject(o, "error", err);
	}
	free(url);
	free(body);
	if (p->dialect == DIALECT_OPENAI) {
		char *murl = xasprintf("%s/models", p->base_url);
		probe_call(c, d, murl, NULL, secret, cJSON_AddObjectToObject(o, "models"));
		free(murl);
	}
	return o;
}

/* The model to test with: the body's "model", else the provider's first;
 * NULL after an error answer. */
static const char *probe_model(struct admin_ctx *x, const struct provider_conf *p)
{
	const char *m = x->body ? admin_str_of(x->body, "model") : NULL;
	if (m && *m)
		return m;
	if (p->nmodels)
		return p->models[0];
	admin_reply_invalid(x, "invalid_request", "model", "the provider lists no model: name one to test with");
	return NULL;
}

/* Key k of p's pool id into id. */
static void key_id(const struct provider_conf *p, size_t k, char id[POOL_KEY_ID_MAX])
{
	if (p->key_ids && p->key_ids[k])
		snprintf(id, POOL_KEY_ID_MAX, "%s", p->key_ids[k]);
	else
		pool_key_id(p->name, k + 1, p->keys[k], id, POOL_KEY_ID_MAX);
}

/* The configuration with state.db applied; 0, or -1 after an error answer. */
static int probe_config(struct admin_ctx *x, struct config *c)
{
	char err[512];
	if (admin_load_config(x, c, 1, err, sizeof(err)) != 0) {
		log_err("%s", err);
		admin_reply_error(x, 503, "store_busy", "Retry-After: 1\r\n", "the configuration cannot be read now");
		return -1;
	}
	upstream_set_ca_file(c->ca_file);
	return 0;
}

void admin_probe_provider(struct admin_ctx *x)
{
	struct config c;
	if (probe_config(x, &c) != 0)
		return;
	const struct provider_conf *p = config_provider(&c, x->id);
	const char *model = p ? probe_model(x, p) : NULL;
	if (!p)
		admin_reply_error(x, 404, "not_found", NULL, "no provider '%s'", x->id);
	if (!model)
		goto out;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "provider", p->name);
	cJSON *arr = cJSON_AddArrayToObject(j, "results");
	const char *only = x->body ? admin_str_of(x->body, "key") : NULL;
	if ((p->no_auth || !p->nkeys) && !only)
		cJSON_AddItemToArray(arr, probe_key(&c, p, NULL, NULL, model));
	for (size_t k = 0, n = 0; k < p->nkeys && n < PROBE_KEYS_MAX && !p->no_auth; k++) {
		char id[POOL_KEY_ID_MAX];
		key_id(p, k, id);
		if (only && strcmp(only, id))
			continue;
		cJSON_AddItemToArray(arr, probe_key(&c, p, id, p->keys[k], model));
		n++;
	}
	if (only && !cJSON_GetArraySize(arr)) {
		cJSON_Delete(j);
		admin_reply_error(x, 404, "not_found", NULL, "%s has no key '%.60s' in use (a disabled key is not tested)",
				  p->name, only);
		goto out;
	}
	int ok = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, arr) ok |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
	cJSON_AddBoolToObject(j, "ok", ok);
	admin_reply_ok(x, 200, j);
out:
	config_free(&c);
}
