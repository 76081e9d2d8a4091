/* api_metrics.c — GET /metrics: the Prometheus text exposition of the
 * shared counters (metrics.h) and of gauges read when scraped (key pools,
 * usage spool, settle), behind its own access control. */
#include "autoconf.h"
#include "api.h"
#include "ini.h"
#include "metrics.h"
#include "oai.h"
#include "settle.h"
#include "sha256.h"
#include "xmalloc.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* addr as 16 bytes (IPv4 as IPv4-mapped IPv6) in out; 0, or -1. */
static int addr_parse(const char *addr, unsigned char out[16])
{
	unsigned char v4[4];
	if (inet_pton(AF_INET, addr, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, addr, out) == 1 ? 0 : -1;
}

/* Is addr inside entry ("10.0.0.5", "10.0.0.0/8", "fd00::/8")? */
static int addr_in(const unsigned char a[16], const char *entry)
{
	char host[64];
	const char *slash = strchr(entry, '/');
	size_t hl = slash ? (size_t)(slash - entry) : strlen(entry);
	unsigned char net[16];
	if (hl >= sizeof(host))
		return 0;
	memcpy(host, entry, hl);
	host[hl] = '\0';
	if (addr_parse(host, net) != 0)
		return 0;
	int v4 = strchr(host, ':') == NULL;
	long bits = v4 ? 32 : 128;
	if (slash && ini_parse_long(slash + 1, 0, bits, &bits) != 0)
		return 0;
	if (v4)
		bits += 96;
	for (long i = 0; i < bits; i++) {
		unsigned char m = (unsigned char)(0x80 >> (i % 8));
		if ((a[i / 8] & m) != (net[i / 8] & m))
			return 0;
	}
	return 1;
}

int api_metrics_addr_allowed(const char *allow, const char *remote_addr)
{
	unsigned char a[16];
	if (!remote_addr || addr_parse(remote_addr, a) != 0)
		return 0;
	char **list;
	size_t n = ini_split_list(allow ? allow : "", &list);
	int ok = 0;
	for (size_t i = 0; i < n && !ok; i++)
		ok = addr_in(a, list[i]);
	ini_free_list(list, n);
	return ok;
}

/* Publish this process's key states (metrics_publish_keys). */
void api_metrics_publish_keys(struct runtime *rt, int64_t now)
{
	size_t total = 0;
	for (size_t i = 0; i < rt->cfg.nproviders; i++)
		total += rt->pools[i].n;
	struct metrics_key_in *keys = xcalloc(total ? total : 1, sizeof(*keys));
	size_t n = 0;
	for (size_t i = 0; i < rt->cfg.nproviders; i++) {
		struct pool *p = &rt->pools[i];
		if (!provider_usable(&rt->cfg.providers[i]))
			continue;
		pthread_mutex_lock(&p->mu);
		for (size_t k = 0; k < p->n; k++) {
			const struct pool_key *pk = &p->keys[k];
			keys[n].provider = p->provider;
			keys[n].key = pk->id;
			keys[n].state = pk->blocked ? METRICS_KEY_BLOCKED :
					pk->cool_until_ms > now ? METRICS_KEY_COOLING : METRICS_KEY_ACTIVE;
			n++;
		}
		pthread_mutex_unlock(&p->mu);
	}
	metrics_publish_keys(keys, n, now);
	free(keys);
}

#define SETTLE_GAUGES_EVERY_MS 10000

/* The settle figures: settle_status reads the ledger and counts the
 * records of the spool's segments, so a process reads them at most every
 * SETTLE_GAUGES_EVERY_MS and answers scrapes in between from what it read
 * (left out while the ledger cannot be read). */
static void settle_gauges(const struct config *c, struct metrics_gauges *g, int64_t now)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t read_ms;
	static struct metrics_gauges last;
	pthread_mutex_lock(&mu);
	if (!read_ms || now - read_ms >= SETTLE_GAUGES_EVERY_MS || now < read_ms) {
		struct settle_opts o;
		struct settle_status st;
		char err[256];
		settle_opts_from_config(&o, c);
		memset(&last, 0, sizeof(last));
		if (settle_status(&o, &st, err, sizeof(err)) == 0) {
			last.settle_known = 1;
			last.settle_backlog_records = st.backlog_records;
			last.settle_last_success_s = (double)st.last_push_ok_ms / 1000.0;
			last.settle_last_run_s = (double)st.last_run_ms / 1000.0;
			last.settle_oldest_unsettled_s = (double)st.oldest_ms / 1000.0;
		}
		read_ms = now;
	}
	g->settle_known = last.settle_known;
	g->settle_backlog_records = last.settle_backlog_records;
	g->settle_last_success_s = last.settle_last_success_s;
	g->settle_last_run_s = last.settle_last_run_s;
	g->settle_oldest_unsettled_s = last.settle_oldest_unsettled_s;
	pthread_mutex_unlock(&mu);
}

void api_metrics_handle(const struct api_call *call)
{
	struct http_req *r = call->r;
	const struct config *c = &call->snap->cfg;
	const char *auth = http_header(r, "Authorization");
	int token_ok = c->metrics_token && *c->metrics_token && bearer_ok(auth, c->metrics_token);
	if (!token_ok && !api_metrics_addr_allowed(c->metrics_allow, http_param(r, "REMOTE_ADDR"))) {
		if (auth && *auth)
			oai_error(r, 401, "invalid_request_error", "invalid_metrics_token", NULL, "WWW-Authenticate: Bearer\r\n",
				  "Wrong metrics token: send the [metrics] token (METRICS_TOKEN) as 'Authorization: Bearer TOKEN'.");
		else
			oai_error(r, 403, "invalid_request_error", "metrics_forbidden", NULL, NULL,
				  "/metrics is open to the addresses of [metrics] allow (loopback by default); from elsewhere "
				  "send the [metrics] token (METRICS_TOKEN) as 'Authorization: Bearer TOKEN'.");
		return;
	}
	struct gateway *gw = call->w->gw;
	int64_t now = pool_now_ms();
	api_metrics_publish_keys(call->snap, now);
	struct metrics_snapshot s;
	if (metrics_snapshot(&s, now) != 0) {
		oai_error(r, 503, "server_error", "metrics_unavailable", NULL, NULL,
			  "Metrics are not available: the shared counters could not be opened (see the server log).");
		return;
	}
	struct metrics_gauges g = {
		.version = PACKAGE_VERSION,
		.start_time_s = (double)(gw->started_ms / 1000),
		.spool_backlog_bytes = __atomic_load_n(&gw->spool_backlog, __ATOMIC_RELAXED),
	};
	settle_gauges(c, &g, now);
	struct buf out;
	buf_init(&out, METRICS_TEXT_CAP);
	metrics_text(&out, &s, &g);
	metrics_snapshot_free(&s);
	http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", "Cache-Control: no-store\r\n",
		     buf_str(&out), out.len);
	buf_free(&out);
}
