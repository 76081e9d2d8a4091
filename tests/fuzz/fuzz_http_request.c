/* fuzz_http_request.c — one whole request through the router's handler:
 * gateway_handle() on a FastCGI request built from the input, with an
 * upstream (a thread of this process on 127.0.0.1) that answers with
 * bytes from the input too.
 *
 * Input:   NAME=VALUE lines (the FastCGI params: REQUEST_METHOD,
 *          REQUEST_URI, HTTP_AUTHORIZATION, CONTENT_TYPE, ...)
 *          a blank line
 *          the request body
 *          optionally "\n=====\n" and the upstream's raw HTTP answer
 *          (status line, headers, body); without it the upstream answers
 *          with a fixed chat.completion.
 * CONTENT_LENGTH is added when the params do not set it. The pseudo
 * param FUZZ_GONE_AFTER=N makes the client go away after N bytes of
 * answer (writes then fail, as when lighttpd drops the connection).
 *
 * The environment gives every built-in provider a key and points it at
 * the fake upstream (/<provider>/...), and accepts one gateway key
 * (GW_KEY below), so seeds that carry it reach routing and upstreams.
 *
 * Properties checked:
 *  - the answer is a well-formed CGI response: "Status: NNN" first,
 *    header lines "Name: value" without stray CR/LF/NUL, X-Request-Id,
 *    Content-Length equal to the body when present;
 *  - an error answer (status >= 400) holds no upstream key and no gateway
 *    key, raw or JSON-decoded; the gateway's own errors are JSON with an
 *    "error" object;
 *  - no answer header holds a secret;
 *  - every usage record (spool_append, wrapped) is one line of JSON
 *    without a secret;
 *  - the upstream request: a well-formed request line and header lines,
 *    the provider's own key in its own header (once), never the gateway
 *    key in an auth header.
 * Checks of known, unfixed bugs are named (fuzz_check_on) so run.sh can
 * switch them off. */
// FUZZ_LDFLAGS: -Wl,--wrap=spool_append
#include "fuzz_common.h"
#include "gateway.h"
#include "http.h"
#include "pool.h"
#include "spool.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#define GW_KEY "sk-lg-fuzzgatewaykey0123456789abcdef0123456789abcd"
#define OUT_CAP (8u << 20)
#define MAX_PARAMS 64

static const struct {
	const char *prov;     /* first path segment at the fake upstream */
	const char *env;      /* its variables' prefix */
	const char *suffix;   /* base URL path after /<prov> */
	const char *key;
	const char *header;   /* the header the key travels in */
} ups[] = {
	{ "openai", "OPENAI", "/v1", "sk-fuzz-up-openai-SECRET-000001", "authorization: bearer " },
	{ "deepseek", "DEEPSEEK", "", "sk-fuzz-up-deepseek-SECRET-0002", "authorization: bearer " },
	{ "anthropic", "ANTHROPIC", "/v1", "sk-ant-fuzz-up-SECRET-00000003", "x-api-key: " },
	{ "gemini", "GEMINI", "/v1beta", "AIzaFuzzUpGeminiSECRET00000004", "x-goog-api-key: " },
	{ "moonshot", "MOONSHOT", "/v1", "sk-fuzz-up-moonshot-SECRET-0005", "authorization: bearer " },
};
#define NUPS (sizeof(ups) / sizeof(ups[0]))

static struct gateway gw;
static struct worker wk;
static int lsock = -1;
static pthread_mutex_t resp_mu = PTHREAD_MUTEX_INITIALIZER;
static char *resp;          /* the upstream's answer for this input */
static size_t resp_len;

static const char default_resp_body[] =
	"{\"id\":\"chatcmpl-fz\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"m\","
	"\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";

/* ------------------------------------------------------------ secrets */

/* Secrets the client itself sent in this input (its params or body, raw
 * or JSON-escaped) are not leaks when they come back: skip those. */
static int client_sent[NUPS + 1];

static int has_secret(const char *s, size_t n, const char **which)
{
	for (size_t i = 0; i < NUPS; i++) {
		if (!client_sent[i] && memmem(s, n, ups[i].key, strlen(ups[i].key))) {
			*which = ups[i].key;
			return 1;
		}
	}
	if (!client_sent[NUPS] && memmem(s, n, GW_KEY, strlen(GW_KEY))) {
		*which = GW_KEY;
		return 1;
	}
	return 0;
}

/* Any string inside JSON text that holds a secret once decoded. */
static int json_has_secret(const cJSON *j, const char **which)
{
	for (; j; j = j->next) {
		if (cJSON_IsString(j) && j->valuestring && has_secret(j->valuestring, strlen(j->valuestring), which))
			return 1;
		if (j->string && has_secret(j->string, strlen(j->string), which))
			return 1;
		if (j->child && json_has_secret(j->child, which))
			return 1;
	}
	return 0;
}

static void mark_client_secrets(const char *s, size_t n)
{
	const char *which;
	memset(client_sent, 0, sizeof(client_sent));
	for (int round = 0; round < (int)NUPS + 1; round++) {
		if (!has_secret(s, n, &which))
			break;
		for (size_t i = 0; i < NUPS; i++)
			if (which == ups[i].key)
				client_sent[i] = 1;
		if (!strcmp(which, GW_KEY))
			client_sent[NUPS] = 1;
	}
	cJSON *j = cJSON_ParseWithLength(s, n);
	for (int round = 0; j && round < (int)NUPS + 1; round++) {
		if (!json_has_secret(j, &which))
			break;
		for (size_t i = 0; i < NUPS; i++)
			if (!strcmp(which, ups[i].key))
				client_sent[i] = 1;
		if (!strcmp(which, GW_KEY))
			client_sent[NUPS] = 1;
	}
	cJSON_Delete(j);
}

/* ------------------------------------------------------------ usage records */

int __wrap_spool_append(struct spool *s, const char *json, size_t len, int held, char seg_out[SPOOL_NAME_MAX]);
int __wrap_spool_append(struct spool *s, const char *json, size_t len, int held, char seg_out[SPOOL_NAME_MAX])
{
	const char *which;
	if (held)
		spool_unreserve(s);   /* the reservation the request took before going upstream */
	FUZZ_ASSERT(len == strlen(json) && !memchr(json, '\n', len), "a usage record is not one line");
	cJSON *j = cJSON_ParseWithLength(json, len);
	FUZZ_ASSERT(cJSON_IsObject(j), "a usage record is not a JSON object: %.300s", json);
	if (fuzz_check_on("secret-in-usage-record"))
		FUZZ_ASSERT(!has_secret(json, len, &which) && !json_has_secret(j, &which),
			    "a usage record holds secret %s: %.300s", which, json);
	cJSON_Delete(j);
	if (seg_out)
		seg_out[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------ the fake upstream */

static int tokchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void check_upstream_request(const char *req, size_t hlen)
{
	/* request line */
	const char *eol = memmem(req, hlen, "\r\n", 2);
	FUZZ_ASSERT(eol, "upstream request without a request line");
	const char *p = req;
	while (p < eol && *p != ' ')
		p++;
	int method_ok = p > req && p < eol;
	for (const char *q = req; q < p; q++)
		method_ok &= tokchar((unsigned char)*q);
	if (fuzz_check_on("upstream-method-token"))
		FUZZ_ASSERT(method_ok, "upstream request line with a bad method: %.*s", (int)(eol - req), req);
	const char *target = p + 1;
	const char *sp2 = target < eol ? memchr(target, ' ', (size_t)(eol - target)) : NULL;
	/* a method with spaces shifts the rest: the same bug as above */
	if (method_ok && fuzz_check_on("upstream-method-token")) {
		FUZZ_ASSERT(sp2 && (size_t)(eol - sp2) == 9 && !memcmp(sp2, " HTTP/1.1", 9),
			    "malformed upstream request line: %.*s", (int)(eol - req), req);
	}
	/* which provider: /<prov>/... */
	size_t pi = NUPS;
	if (sp2 && *target == '/') {
		for (size_t i = 0; i < NUPS; i++) {
			size_t l = strlen(ups[i].prov);
			if ((size_t)(sp2 - target) > l && !strncmp(target + 1, ups[i].prov, l) &&
			    (target[1 + l] == '/' || target[1 + l] == ' ' || target[1 + l] == '?'))
				pi = i;
		}
	}
	/* header lines */
	unsigned auth_lines = 0;
	for (const char *line = eol + 2; line < req + hlen;) {
		const char *e = memmem(line, (size_t)(req + hlen - line), "\r\n", 2);
		if (!e)
			break;
		size_t n = (size_t)(e - line);
		if (!n)
			break;
		const char *colon = memchr(line, ':', n);
		int ok = colon && colon > line;
		for (const char *q = line; ok && q < colon; q++)
			ok = tokchar((unsigned char)*q);
		for (const char *q = line; ok && q < e; q++)
			ok = *q != '\r' && *q != '\n' && *q != '\0';
		if (fuzz_check_on("forwarded-header-crlf"))
			FUZZ_ASSERT(ok, "malformed upstream header line: %.*s", (int)(n > 200 ? 200 : n), line);
		if ((n >= 14 && !strncasecmp(line, "authorization:", 14)) || (n >= 10 && !strncasecmp(line, "x-api-key:", 10)) ||
		    (n >= 15 && !strncasecmp(line, "x-goog-api-key:", 15))) {
			auth_lines++;
			FUZZ_ASSERT(!memmem(line, n, GW_KEY, strlen(GW_KEY)),
				    "the client's gateway key was sent upstream: %.*s", (int)n, line);
			if (pi < NUPS) {
				size_t hl = strlen(ups[pi].header), kl = strlen(ups[pi].key);
				FUZZ_ASSERT(n == hl + kl && !strncasecmp(line, ups[pi].header, hl) &&
					    !memcmp(line + hl, ups[pi].key, kl),
					    "upstream %s got the auth header %.*s", ups[pi].prov, (int)n, line);
			}
		}
		line = e + 2;
	}
	FUZZ_ASSERT(auth_lines <= 1, "%u auth headers sent upstream", auth_lines);
}

static void serve_one(int c)
{
	struct timeval tv = { 2, 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t cap = (1u << 20), len = 0, hlen = 0, want = 0;
	char *req = malloc(cap + 1);
	if (!req)
		abort();
	for (;;) {
		if (hlen && len >= hlen + want)
			break;
		ssize_t got = recv(c, req + len, cap - len, 0);
		if (got <= 0)
			break;
		len += (size_t)got;
		req[len] = '\0';
		if (!hlen) {
			char *e = memmem(req, len, "\r\n\r\n", 4);
			if (e) {
				hlen = (size_t)(e - req) + 4;
				want = 0;
				for (char *h = req; h < e;) {
					if (!strncasecmp(h, "content-length:", 15)) {
						want = strtoul(h + 15, NULL, 10);
						if (want > cap - hlen)
							want = cap - hlen;
					}
					char *nx = memmem(h, (size_t)(e - h) + 2, "\r\n", 2);
					if (!nx)
						break;
					h = nx + 2;
				}
			}
		}
		if (len == cap)
			break;
	}
	if (hlen)
		check_upstream_request(req, hlen);
	free(req);
	pthread_mutex_lock(&resp_mu);
	size_t off = 0;
	while (off < resp_len) {
		ssize_t w = send(c, resp + off, resp_len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&resp_mu);
	shutdown(c, SHUT_WR);
	close(c);
}

static void *upstream_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(lsock, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		serve_one(c);
	}
}

/* ------------------------------------------------------------ fake FastCGI streams */

struct out_data {
	unsigned char buf[8192];
	struct buf all;
	size_t gone_after;   /* 0: never */
};

static void out_empty(FCGX_Stream *st, int doClose)
{
	struct out_data *d = st->data;
	size_t n = (size_t)(st->wrNext - d->buf);
	(void)doClose;
	if (n) {
		if (d->gone_after && d->all.len + n > d->gone_after) {
			st->isClosed = 1;   /* the client went away */
			st->FCGI_errno = EPIPE;
		} else if (buf_append(&d->all, d->buf, n) != 0) {
			st->isClosed = 1;
		}
	}
	st->wrNext = d->buf;
}

static void in_fill(FCGX_Stream *st)
{
	st->isClosed = 1;    /* EOF: the body is all there is */
}

static void null_empty(FCGX_Stream *st, int doClose)
{
	(void)doClose;
	st->wrNext = st->data;
}

/* ------------------------------------------------------------ setup */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/llmgate-fuzz-http-XXXXXX";
	char err[512], path[600], var[128], url[256];
	if (!mkdtemp(dir))
		abort();
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lsock, 16) != 0 ||
	    getsockname(lsock, (struct sockaddr *)&sa, &sl) != 0)
		abort();
	int port = ntohs(sa.sin_port);
	static const char *unset[] = { "AUTH_KEY", "BACKEND_URL", "INTERNAL_SECRET", "LLMGATE_CONFIG",
				       "ZAI_API_KEY", "SILICONFLOW_API_KEY", "OPENROUTER_API_KEY", NULL };
	for (size_t i = 0; unset[i]; i++)
		unsetenv(unset[i]);
	for (size_t i = 0; i < NUPS; i++) {
		snprintf(var, sizeof(var), "%s_API_KEY", ups[i].env);
		setenv(var, ups[i].key, 1);
		snprintf(var, sizeof(var), "%s_BASE_URL", ups[i].env);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s%s", port, ups[i].prov, ups[i].suffix);
		setenv(var, url, 1);
	}
	setenv("AUTH_KEY", GW_KEY, 1);
	snprintf(path, sizeof(path), "%s/state", dir);
	setenv("LLMGATE_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/llmgate.conf", dir);
	static const char conf[] =
		"[server]\nthreads = 1\nmax_body = 65536\nmax_response = 262144\nlog_level = error\n"
		"[upstream]\nconnect_timeout_ms = 1000\nfirst_byte_timeout_ms = 1500\nidle_timeout_ms = 1500\n"
		"max_attempts = 2\ncooldown_s = 1\n"
		"[aliases]\nfast = deepseek/deepseek-chat\n"
		"[fallback]\ndeepseek-chat = moonshot/kimi-k2.5\n"
		/* no held /sse stream (it would wait for its idle timeout): refused */
		"[mcp]\nsse_per_key = 0\n"
		"[app.fz]\nmodel = deepseek-chat\nfields = a:64, b\nprompt = {{a}}: {{b}}\nanswer = json\n"
		"shape = {\"x\":\"string\"}\nauth = open\nlog_days = 0\n";
	if (fuzz_write_file(path, conf, sizeof(conf) - 1) != 0)
		abort();
	log_init("fuzz", LOG_ERR);
	if (gateway_init(&gw, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "gateway_init: %s\n", err);
		abort();
	}
	worker_init(&wk, &gw, 0);
	pthread_t th;
	if (pthread_create(&th, NULL, upstream_thread, NULL) != 0)
		abort();
	pthread_detach(th);
	/* one ordinary transfer first, so that every input meets kept
	 * connections, as a router worker's calls do */
	static const char prime[] = "REQUEST_METHOD=POST\nREQUEST_URI=/v1/chat/completions\n"
				    "HTTP_AUTHORIZATION=Bearer " GW_KEY "\n\n"
				    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	LLVMFuzzerTestOneInput((const uint8_t *)prime, sizeof(prime) - 1);
	return 0;
}

/* Forget cool-downs and blocks, so that each input starts alike. */
static void reset_pools(void)
{
	struct runtime *rt = runtime_get(&gw);
	for (size_t i = 0; i < rt->cfg.nproviders; i++) {
		struct pool *p = &rt->pools[i];
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n; k++) {
			p->keys[k].cool_until_ms = 0;
			p->keys[k].consecutive_429 = 0;
			p->keys[k].recent_429 = 0;
			p->keys[k].blocked = 0;
		}
		p->rr = 0;
		pthread_mutex_unlock(&p->mu);
	}
	runtime_put(&gw, rt);
}

/* ------------------------------------------------------------ the answer */

static void check_answer(const char *out, size_t n, int gone)
{
	const char *which;
	if (gone && n == 0)
		return;
	FUZZ_ASSERT(n > 0, "no answer at all");
	const char *end = memmem(out, n, "\r\n\r\n", 4);
	if (gone && !end)
		return;
	FUZZ_ASSERT(end, "the answer's header block does not end: %.*s", (int)(n > 300 ? 300 : n), out);
	size_t hlen = (size_t)(end - out) + 2;   /* through the last header's CRLF */
	int status = n >= 12 && !memcmp(out, "Status: ", 8) ? atoi(out + 8) : 0;
	if (fuzz_check_on("answer-status-line"))
		FUZZ_ASSERT(isdigit((unsigned char)out[8]) && isdigit((unsigned char)out[9]) &&
			    isdigit((unsigned char)out[10]) && out[11] == ' ' && status >= 100 && status <= 599,
			    "the answer does not start with a valid status: %.*s", (int)(n > 100 ? 100 : n), out);
	else
		FUZZ_ASSERT(n >= 8 && !memcmp(out, "Status: ", 8), "the answer does not start with a status");
	long clen = -1;
	int rid = 0, own = 1, json = 0;
	for (const char *line = out; line < out + hlen;) {
		const char *e = memmem(line, (size_t)(out + hlen - line), "\r\n", 2);
		FUZZ_ASSERT(e, "header without CRLF");
		size_t ln = (size_t)(e - line);
		const char *colon = memchr(line, ':', ln);
		int ok = colon && colon > line && (colon + 1 == e || colon[1] == ' ');
		for (const char *q = line; ok && q < colon; q++)
			ok = tokchar((unsigned char)*q);
		for (const char *q = line; ok && q < e; q++)
			ok = (unsigned char)*q >= 0x20 && *q != 0x7f;
		if (fuzz_check_on("response-header-injection"))
			FUZZ_ASSERT(ok, "malformed answer header line: %.*s", (int)(ln > 200 ? 200 : ln), line);
		if (fuzz_check_on("secret-in-answer-header"))
			FUZZ_ASSERT(!has_secret(line, ln, &which), "an answer header holds secret %s: %.*s", which,
				    (int)(ln > 200 ? 200 : ln), line);
		if (ln > 16 && !strncasecmp(line, "Content-Length: ", 16))
			clen = strtol(line + 16, NULL, 10);
		if (ln > 14 && !strncasecmp(line, "X-Request-Id: ", 14))
			rid = 1;
		if (ln > 20 && !strncasecmp(line, "X-Llmgate-Provider: ", 20))
			own = 0;
		if (ln >= 30 && !strncasecmp(line, "Content-Type: application/json", 30))
			json = 1;
		line = e + 2;
	}
	FUZZ_ASSERT(rid, "an answer without X-Request-Id");
	const char *body = end + 4;
	size_t blen = n - (size_t)(body - out);
	if (clen >= 0 && !gone)
		FUZZ_ASSERT((size_t)clen == blen, "Content-Length %ld but %zu body bytes", clen, blen);
	if (status >= 400) {
		if (fuzz_check_on("secret-in-error"))
			FUZZ_ASSERT(!has_secret(body, blen, &which), "an error answer holds secret %s: %.*s", which,
				    (int)(blen > 400 ? 400 : blen), body);
		cJSON *j = json ? cJSON_ParseWithLength(body, blen) : NULL;
		if (j && fuzz_check_on("secret-in-error-escaped"))
			FUZZ_ASSERT(!json_has_secret(j, &which),
				    "an error answer holds secret %s once its JSON is decoded: %.*s", which,
				    (int)(blen > 400 ? 400 : blen), body);
		if (own && !gone) {
			/* an error object, or a prompt app's {"error": message, "code"} */
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
			FUZZ_ASSERT(json && cJSON_IsObject(j) && (cJSON_IsObject(e) || (cJSON_IsString(e) &&
				    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "code")))),
				    "the gateway's own error is not JSON with an error object: %.*s",
				    (int)(blen > 300 ? 300 : blen), body);
		}
		cJSON_Delete(j);
	}
}

/* ------------------------------------------------------------ one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200000)
		return 0;
	char *in = fuzz_strndup(data, size);   /* NUL-terminated; the body may hold NULs */
	char *envp[MAX_PARAMS + 2];
	size_t np = 0, gone_after = 0;
	int has_cl = 0;

	/* params, up to the first blank line */
	char *p = in, *lim = in + size;
	while (p < lim) {
		char *nl = memchr(p, '\n', (size_t)(lim - p));
		char *e = nl ? nl : lim;
		if (e == p) {          /* blank line: the body follows */
			p = nl ? nl + 1 : lim;
			break;
		}
		*e = '\0';
		if (e > p && e[-1] == '\r')
			e[-1] = '\0';
		if (!strncmp(p, "FUZZ_GONE_AFTER=", 16)) {
			gone_after = strtoul(p + 16, NULL, 10);
			if (!gone_after)
				gone_after = 1;
		} else if (strchr(p, '=') && np < MAX_PARAMS) {
			if (!strncmp(p, "CONTENT_LENGTH=", 15))
				has_cl = 1;
			envp[np++] = p;
		}
		p = nl ? nl + 1 : lim;
	}
	/* body, and the upstream's answer after the marker */
	char *body = p;
	size_t body_len = (size_t)(lim - p);
	const char *mark = memmem(body, body_len, "\n=====\n", 7);
	char *up = NULL;
	size_t up_len = 0;
	if (mark) {
		up = (char *)mark + 7;
		up_len = (size_t)(lim - up);
		body_len = (size_t)(mark - body);
	}
	/* the client part: its params and body, but not the upstream's answer */
	mark_client_secrets((const char *)data, (size_t)((up ? mark : lim) - in));
	{
		cJSON *bj = cJSON_ParseWithLength(body, body_len);
		const char *which;
		for (int round = 0; bj && round < (int)NUPS + 1 && json_has_secret(bj, &which); round++) {
			for (size_t i = 0; i < NUPS; i++)
				if (!strcmp(which, ups[i].key))
					client_sent[i] = 1;
			if (!strcmp(which, GW_KEY))
				client_sent[NUPS] = 1;
		}
		cJSON_Delete(bj);
	}
	char clbuf[64];
	if (!has_cl && np < MAX_PARAMS) {
		snprintf(clbuf, sizeof(clbuf), "CONTENT_LENGTH=%zu", body_len);
		envp[np++] = clbuf;
	}
	envp[np] = NULL;

	/* the fake upstream's answer: a copy it owns (a late connection of an
	 * earlier input may still be served while this one runs) */
	char def[1024];
	if (!up) {
		int dn = snprintf(def, sizeof(def),
				  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				  sizeof(default_resp_body) - 1, default_resp_body);
		up = def;
		up_len = (size_t)dn;
	}
	/* a copy the fake upstream owns */
	size_t copy_len = up_len;
	char *copy = malloc(up_len + 1);
	if (!copy)
		abort();
	memcpy(copy, up, up_len);
	pthread_mutex_lock(&resp_mu);
	free(resp);
	resp = copy;
	resp_len = copy_len;
	pthread_mutex_unlock(&resp_mu);

	/* the FastCGI request */
	static struct out_data od;
	static unsigned char errbuf[1024];
	buf_init(&od.all, OUT_CAP);
	od.gone_after = gone_after;
	FCGX_Stream sin = { 0 }, sout = { 0 }, serr = { 0 };
	sin.rdNext = (unsigned char *)body;
	sin.stop = (unsigned char *)body + body_len;
	sin.wrNext = sin.stop;
	sin.stopUnget = (unsigned char *)body;
	sin.isReader = 1;
	sin.fillBuffProc = in_fill;
	sout.wrNext = od.buf;
	sout.stop = od.buf + sizeof(od.buf);
	sout.rdNext = sout.stop;
	sout.emptyBuffProc = out_empty;
	sout.data = &od;
	serr.wrNext = errbuf;
	serr.stop = errbuf + sizeof(errbuf);
	serr.rdNext = serr.stop;
	serr.emptyBuffProc = null_empty;
	serr.data = errbuf;
	FCGX_Request fr;
	memset(&fr, 0, sizeof(fr));
	fr.in = &sin;
	fr.out = &sout;
	fr.err = &serr;
	fr.envp = envp;

	struct http_req r;
	http_req_init(&r, &fr);
	FUZZ_ASSERT(r.path && strnlen(r.path, HTTP_PATH_MAX) < HTTP_PATH_MAX && r.method && r.query, "http_req_init left a bad request");
	(void)http_header(&r, "Authorization");
	(void)http_header(&r, "x-api-key");
	(void)http_header(&r, "Content-Type");
	gateway_handle(&wk, &r);
	out_empty(&sout, 1);     /* what FCGX_Finish_r would flush */
	int gone = r.client_gone || sout.isClosed;
	http_req_free(&r);

	check_answer(od.all.data ? od.all.data : "", od.all.len, gone);
	buf_free(&od.all);
	reset_pools();
	free(in);
	return 0;
}
