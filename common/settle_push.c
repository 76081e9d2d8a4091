/* settle_push.c — settlement: settled segments to the billing backend, in signed batches over libcurl (settle.h, settle_base.h). */
#include "autoconf.h"
#include "settle_base.h"
#include "buf.h"
#include "log.h"
#include "pool.h"
#include "sha256.h"
#include "spool.h"
#include "xmalloc.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_BODY_MAX (64u << 20)        /* one batch body */

#define SETTLE_RESPONSE_MAX (64u << 10)    /* backend answer bytes looked at */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int write_push_file(const struct settle_ctx *x, const char *seg, long batch, long acked)
{
	char text[96];
	char *name = xasprintf("%s.push", seg);
	int n = snprintf(text, sizeof(text), "{\"batch\":%ld,\"acked\":%ld}\n", batch, acked);
	int r = settle_write_atomic(x->spool_dir, name, text, (size_t)n, 1);
	free(name);
	return r;
}

void settle_sign(const char *secret, const char *ts, const char *body, size_t len, char out[SETTLE_SIG_LEN])
{
	unsigned char mac[SHA256_DIGEST_LEN];
	size_t tl = strlen(ts);
	char *msg = xmalloc(tl + 1 + len);
	memcpy(msg, ts, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	hmac_sha256(secret, strlen(secret), msg, tl + 1 + len, mac);
	free(msg);
	memcpy(out, "sha256=", 7);
	hex_encode(mac, sizeof(mac), out + 7);
}

void settle_batch_id(const char *segment, long index, char out[SETTLE_BATCH_ID_MAX])
{
	snprintf(out, SETTLE_BATCH_ID_MAX, "%.*s.%ld", SPOOL_NAME_MAX, segment, index);
}

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *user)
{
	size_t *seen = user;
	(void)p;
	*seen += size * nmemb;
	return *seen > SETTLE_RESPONSE_MAX ? 0 : size * nmemb;
}

/* POST one batch once. Returns the HTTP status, or 0 with why filled in. */
static long post_once(struct settle_ctx *x, const char *id, const char *body, size_t len, char *why, size_t whylen)
{
	const struct settle_opts *o = x->o;
	char ts[32], sig[SETTLE_SIG_LEN], h_ts[64], h_sig[SETTLE_SIG_LEN + 32], h_id[SETTLE_BATCH_ID_MAX + 32];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	size_t seen = 0;
	long status = 0;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	settle_sign(o->secret, ts, body, len, sig);
	snprintf(h_ts, sizeof(h_ts), "X-Llmgate-Timestamp: %s", ts);
	snprintf(h_sig, sizeof(h_sig), "X-Llmgate-Signature: %s", sig);
	snprintf(h_id, sizeof(h_id), "X-Llmgate-Batch-Id: %s", id);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, h_ts);
	hdrs = curl_slist_append(hdrs, h_sig);
	hdrs = curl_slist_append(hdrs, h_id);

	CURL *h = x->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "llmgate-settle/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status)) {
		snprintf(why, whylen, "%.150s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		status = 0;
	} else {
		snprintf(why, whylen, "HTTP %ld", status);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	log_scrub(why);
	return status;
}

/* POST one batch with retries. 0 accepted, 1 not. */
static int post_batch(struct settle_ctx *x, const char *id, const char *body, size_t len)
{
	const struct settle_opts *o = x->o;
	long delay = o->retry_delay_ms;
	char why[200];
	for (int attempt = 0; attempt <= o->retries; attempt++) {
		if (attempt) {
			sleep_ms(delay);
			delay *= 2;
		}
		long status = post_once(x, id, body, len, why, sizeof(why));
		x->r->push_status = status;
		if (status >= 200 && status < 300) {
			x->push_ok_ms = pool_now_ms();
			return 0;
		}
		log_warn("batch %s not accepted: %s (try %d of %d)", id, why, attempt + 1, o->retries + 1);
		snprintf(x->push_error, sizeof(x->push_error), "batch %.80s: %.100s", id, why);
		/* the backend refuses it: asking again will not help this run */
		if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429)
			break;
	}
	return 1;
}

/* Push one .settled segment. 0 all accepted (segment deleted), 1 the
 * backend did not take a batch, -1 error, SETTLE_STOPPED. */
static int push_segment(struct settle_ctx *x, const char *seg)
{
	const struct settle_opts *o = x->o;
	int result = -1;
	char *settled = settle_seg_path(x, seg, ".settled");
	char *side = settle_seg_path(x, seg, ".push");
	struct settle_line *lines = NULL;
	long n = 0, batch = o->batch, acked = 0;
	struct buf body;
	buf_init(&body, SETTLE_BODY_MAX);

	char *data = settle_load_records(settled, &lines, &n);
	if (!data) {
		if (errno == ENOENT) {
			result = 0;
		} else {
			settle_fail(x, "cannot read segment %s: %s", settled, strerror(errno));
		}
		goto out;
	}
	int pr = settle_read_push_file(side, &batch, &acked);
	if (pr != 1) {
		if (pr < 0)
			log_warn("%s is unreadable; pushing segment %s from its start", side, seg);
		batch = o->batch;
		acked = 0;
		/* fix the batch size of this segment before its first batch
		 * leaves, so that a batch id always names the same records */
		if (write_push_file(x, seg, batch, 0) != 0) {
			settle_fail(x, "cannot write %s: %s", side, strerror(errno));
			goto out;
		}
		SETTLE_STOP_AT(x, SETTLE_STEP_PLANNED);
	}
	long nb = (n + batch - 1) / batch;
	for (long i = acked; i < nb; i++) {
		char id[SETTLE_BATCH_ID_MAX];
		long first = i * batch, count = n - first < batch ? n - first : batch;
		settle_batch_id(seg, i, id);
		buf_reset(&body);
		int bad = buf_printf(&body, "{\"batch_id\":\"%s\",\"source\":\"llmgate\",\"records\":[", id);
		for (long k = 0; k < count && !bad; k++) {
			const struct settle_line *l = &lines[first + k];
			bad = (k && buf_append(&body, ",", 1)) || buf_append(&body, data + l->off, l->len);
		}
		if (bad || buf_puts(&body, "]}")) {
			settle_fail(x, "batch %s is over %u bytes; lower [settle] batch", id, SETTLE_BODY_MAX);
			goto out;
		}
		if (post_batch(x, id, body.data, body.len) != 0) {
			x->r->push_failed = 1;
			result = 1;
			goto out;
		}
		log_info("batch %s accepted (%ld records)", id, count);
		SETTLE_STOP_AT(x, SETTLE_STEP_SENT);
		if (write_push_file(x, seg, batch, i + 1) != 0) {
			settle_fail(x, "cannot write %s: %s", side, strerror(errno));
			goto out;
		}
		x->r->pushed_batches++;
		x->r->pushed_records += count;
		SETTLE_STOP_AT(x, SETTLE_STEP_ACKED);
	}
	result = 0;
	if (!settle_pg_done(x, seg))
		goto out;   /* kept until the database has it too */
	result = -1;
	if (settle_segment_done(x, settled, seg) != 0 && errno != ENOENT) {
		settle_fail(x, "cannot %s %s: %s", o->archive ? "archive" : "delete", settled, strerror(errno));
		goto out;
	}
	SETTLE_STOP_AT(x, SETTLE_STEP_DELETED);
	unlink(side);
	if (settle_is_set(o->database)) {
		char *pg = settle_seg_path(x, seg, ".pg");
		unlink(pg);
		free(pg);
	}
	result = 0;
out:
	buf_free(&body);
	free(data);
	free(lines);
	free(settled);
	free(side);
	return result;
}

/* Push every .settled segment, oldest first, until one is not taken. */
int settle_push_all(struct settle_ctx *x)
{
	int result = 0;
	char **list;
	size_t n = spool_list(x->spool_dir, ".settled", &list);
	if (n) {
		x->curl = curl_easy_init();
		if (!x->curl) {
			settle_fail(x, "cannot start libcurl");
			result = -1;
		}
	}
	for (size_t i = 0; result == 0 && i < n; i++)
		result = push_segment(x, list[i]);
	spool_free_list(list, n);
	return result;
}

void settle_push_end(struct settle_ctx *x)
{
	if (x->curl)
		curl_easy_cleanup(x->curl);
	x->curl = NULL;
}
