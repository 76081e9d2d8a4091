/* upstream.c — one upstream HTTP request over a worker's connection cache. */
#include "autoconf.h"
#include "upstream.h"
#include "ini.h"
#include "pool.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>


#define UPSTREAM_MAX_CONNECTS 4
#define UPSTREAM_RECV_BUFFER 8192
#define UPSTREAM_STREAM_RECV_BUFFER 4096

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

CURLM *upstream_conns(void)
{
	CURLM *m = curl_multi_init();
	/* bounded: a worker keeps at most this many upstream connections */
	if (m)
		curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)UPSTREAM_MAX_CONNECTS);
	return m;
}

void upstream_conns_free(CURLM *m)
{
	if (m)
		curl_multi_cleanup(m);
}

/* What curl_easy_perform does, over the worker's own multi handle rather
 * than a new one per call: the multi keeps the connection and DNS caches,
 * and one is made per worker instead of one per request. */
static CURLcode run_on(CURLM *m, CURL *h)
{
	CURLMcode mc = curl_multi_add_handle(m, h);
	CURLcode rc = CURLE_OK;
	int running = 1;
	if (mc != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
	while (running) {
		mc = curl_multi_perform(m, &running);
		if (mc == CURLM_OK && running)
			mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK) {
			rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_RECV_ERROR;
			break;
		}
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			rc = msg->data.result;
	curl_multi_remove_handle(m, h);
	return rc;
}

long upstream_parse_retry_after(const char *v)
{
	long s;
	while (*v == ' ' || *v == '\t')
		v++;
	char tmp[64];
	size_t n = strcspn(v, "\r\n");
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	while (n && isspace((unsigned char)tmp[n - 1]))
		tmp[--n] = '\0';
	if (ini_parse_long(tmp, 0, 86400 * 7, &s) == 0)
		return s;
	time_t when = curl_getdate(tmp, NULL);
	if (when < 0)
		return -1;
	time_t now = time(NULL);
	return when > now ? (long)(when - now) : 0;
}

static void head_done(struct upstream_call *c)
{
	long code = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	c->status = (int)code;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *user)
{
	struct upstream_call *c = user;
	size_t n = size * nmemb;
	c->t_last_rx_ms = mono_ms();
	if (!c->t_first_byte_ms)
		c->t_first_byte_ms = c->t_last_rx_ms;
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new response head (after 1xx): start over */
		c->retry_after_s = -1;
		c->content_type[0] = '\0';
		c->status = 0;
	} else if (n >= 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char tmp[80];
		size_t m = n - 12 < sizeof(tmp) - 1 ? n - 12 : sizeof(tmp) - 1;
		memcpy(tmp, p + 12, m);
		tmp[m] = '\0';
		c->retry_after_s = upstream_parse_retry_after(tmp);
	} else if (n >= 13 && !strncasecmp(p, "Content-Type:", 13)) {
		const char *v = p + 13;
		size_t m = n - 13;
		while (m && (*v == ' ' || *v == '\t')) {
			v++;
			m--;
		}
		while (m && (v[m - 1] == '\r' || v[m - 1] == '\n' || v[m - 1] == ' '))
			m--;
		if (m >= sizeof(c->content_type))
			m = sizeof(c->content_type) - 1;
		memcpy(c->content_type, v, m);
		c->content_type[m] = '\0';
	} else if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
		head_done(c);
		if (c->status >= 200 && c->on_head &&
		    c->on_head(c->user, c->status, c->content_type, c->retry_after_s) != 0) {
			c->aborted = 1;
			return 0;
		}
	}
	return n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
	struct upstream_call *c = user;
	size_t n = size * nmemb;
	c->t_last_rx_ms = mono_ms();
	if (c->on_data && c->on_data(c->user, p, n) != 0) {
		c->aborted = 1;
		return 0;
	}
	return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct upstream_call *c = user;
	int64_t now = mono_ms();
	(void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
	if (!c->t_first_byte_ms) {
		if (now - c->t_start_ms > c->first_byte_timeout_ms) {
			c->timeout = UPSTREAM_TIMEOUT_FIRST_BYTE;
			return 1;
		}
	} else if (now - c->t_last_rx_ms > c->idle_timeout_ms) {
		c->timeout = UPSTREAM_TIMEOUT_IDLE;
		return 1;
	}
	return 0;
}

int upstream_perform(struct upstream_call *c)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char accept[160];
	char rid[96];

	c->status = 0;
	c->timeout = UPSTREAM_TIMEOUT_NONE;
	c->aborted = 0;
	c->retry_after_s = -1;
	c->content_type[0] = '\0';
	c->errmsg[0] = '\0';
	c->t_first_byte_ms = 0;
	c->t_start_ms = mono_ms();

	if (!h) {
		c->rc = CURLE_OUT_OF_MEMORY;
		snprintf(c->errmsg, sizeof(c->errmsg), "no memory for an upstream call");
		return -1;
	}
	c->easy = h;
	if (!c->no_content_type)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	snprintf(accept, sizeof(accept), "Accept: %s", c->accept ? c->accept : "application/json");
	hdrs = curl_slist_append(hdrs, accept);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (c->request_id && snprintf(rid, sizeof(rid), "X-Request-Id: %s", c->request_id) < (int)sizeof(rid))
		hdrs = curl_slist_append(hdrs, rid);
	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	for (const char *const *eh = c->extra_headers; eh && *eh; eh++)
		hdrs = curl_slist_append(hdrs, *eh);
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (!c->method || !strcmp(c->method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
	} else if (!strcmp(c->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
		if (c->body_len) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
		}
	}
	curl_easy_setopt(h, CURLOPT_USERAGENT, "llmgate/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errmsg);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* answers come in small pieces (SSE events, chat JSON): a smaller
	 * receive buffer per call is memory kept for other streams, and
	 * smaller still for a stream, which holds it for its whole length */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, c->accept && !strcmp(c->accept, "text/event-stream") ?
			 (long)UPSTREAM_STREAM_RECV_BUFFER : (long)UPSTREAM_RECV_BUFFER);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");

	c->rc = c->conns ? run_on(c->conns, h) : curl_easy_perform(h);
	c->t_end_ms = mono_ms();
	if (!c->status)
		head_done(c);
	curl_easy_cleanup(h);   /* its connection stays in the multi handle */
	c->easy = NULL;
	curl_slist_free_all(hdrs);
	if (c->rc == CURLE_OPERATION_TIMEDOUT && c->timeout == UPSTREAM_TIMEOUT_NONE)
		c->timeout = c->status ? UPSTREAM_TIMEOUT_IDLE : UPSTREAM_TIMEOUT_CONNECT;
	return c->rc == CURLE_OK ? 0 : -1;
}
