/* metrics_text.c — the Prometheus text exposition of the metrics
 * (metrics.h): families in a fixed order, series sorted by their labels. */
#include "autoconf.h"
#include "metrics.h"
#include <stdlib.h>
#include <string.h>

void metrics_text_label(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			buf_puts(out, "\\\\");
		else if (*v == '"')
			buf_puts(out, "\\\"");
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* {route="...",provider="...",model="...",status="..." (no closing brace) */
static void series_labels(struct buf *out, const struct metrics_series *s)
{
	buf_puts(out, "{route=\"");
	metrics_text_label(out, s->route);
	buf_puts(out, "\",provider=\"");
	metrics_text_label(out, s->provider);
	buf_puts(out, "\",model=\"");
	metrics_text_label(out, s->model);
	buf_printf(out, "\",status=\"%d\"", (int)s->status);
}

static void counter_lines(struct buf *out, const struct metrics_snapshot *s, const char *name, size_t offset)
{
	for (size_t i = 0; i < s->nseries; i++) {
		buf_puts(out, name);
		series_labels(out, &s->series[i]);
		buf_printf(out, "} %llu\n", (unsigned long long)*(const uint64_t *)((const char *)&s->series[i] + offset));
	}
}

static void histogram_lines(struct buf *out, const struct metrics_snapshot *s, const char *name, int ttfb)
{
	for (size_t i = 0; i < s->nseries; i++) {
		const struct metrics_series *m = &s->series[i];
		const uint64_t *b = ttfb ? m->ttfb : m->lat;
		uint64_t cum = 0;
		for (unsigned k = 0; k <= METRICS_BUCKETS; k++) {
			cum += b[k];
			buf_printf(out, "%s_bucket", name);
			series_labels(out, m);
			if (k < METRICS_BUCKETS)
				buf_printf(out, ",le=\"%g\"} %llu\n", metrics_bucket_s[k], (unsigned long long)cum);
			else
				buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		buf_printf(out, "%s_sum", name);
		series_labels(out, m);
		buf_printf(out, "} %.3f\n", (double)(ttfb ? m->ttfb_sum_ms : m->lat_sum_ms) / 1000.0);
		buf_printf(out, "%s_count", name);
		series_labels(out, m);
		buf_printf(out, "} %llu\n", (unsigned long long)cum);
	}
}

static int series_cmp(const void *a, const void *b)
{
	const struct metrics_series *x = a, *y = b;
	int c = strcmp(x->route, y->route);
	if (!c)
		c = strcmp(x->provider, y->provider);
	if (!c)
		c = strcmp(x->model, y->model);
	return c ? c : (x->status > y->status) - (x->status < y->status);
}

static void request_families(struct buf *out, const struct metrics_snapshot *s)
{
	family(out, "llmgate_requests_total", "counter", "Requests answered, by route, provider, model and HTTP status.");
	counter_lines(out, s, "llmgate_requests_total", offsetof(struct metrics_series, requests));
	family(out, "llmgate_input_tokens_total", "counter", "Prompt tokens used, as the upstreams reported them.");
	counter_lines(out, s, "llmgate_input_tokens_total", offsetof(struct metrics_series, tokens_in));
	family(out, "llmgate_output_tokens_total", "counter", "Completion tokens used, as the upstreams reported them.");
	counter_lines(out, s, "llmgate_output_tokens_total", offsetof(struct metrics_series, tokens_out));
	family(out, "llmgate_cache_hits_total", "counter", "Requests answered from the response cache.");
	counter_lines(out, s, "llmgate_cache_hits_total", offsetof(struct metrics_series, cache_hits));
	family(out, "llmgate_request_duration_seconds", "histogram", "Time from a request's start to its end.");
	histogram_lines(out, s, "llmgate_request_duration_seconds", 0);
	family(out, "llmgate_time_to_first_byte_seconds", "histogram",
	       "Time from an upstream attempt's start to the upstream's first byte.");
	histogram_lines(out, s, "llmgate_time_to_first_byte_seconds", 1);
}

static void gauge(struct buf *out, const char *name, const char *help, double v)
{
	family(out, name, "gauge", help);
	buf_printf(out, "%s %.17g\n", name, v);
}

void metrics_text(struct buf *out, const struct metrics_snapshot *s, const struct metrics_gauges *g)
{
	qsort(s->series, s->nseries, sizeof(*s->series), series_cmp);
	request_families(out, s);
	family(out, "llmgate_upstream_failures_total", "counter", "Upstream attempts that failed, by provider and kind.");
	for (size_t i = 0; i < s->nfails; i++) {
		buf_puts(out, "llmgate_upstream_failures_total{provider=\"");
		metrics_text_label(out, s->fails[i].provider);
		buf_puts(out, "\",kind=\"");
		metrics_text_label(out, s->fails[i].kind);
		buf_printf(out, "\"} %llu\n", (unsigned long long)s->fails[i].count);
	}
	static const char *const states[METRICS_KEY_STATES] = { "active", "cooling", "blocked" };
	family(out, "llmgate_upstream_keys", "gauge", "Upstream keys by provider and pool state, over the live router processes.");
	for (size_t i = 0; i < s->npools; i++) {
		for (int k = 0; k < METRICS_KEY_STATES; k++) {
			buf_puts(out, "llmgate_upstream_keys{provider=\"");
			metrics_text_label(out, s->pools[i].provider);
			buf_printf(out, "\",state=\"%s\"} %u\n", states[k], s->pools[i].n[k]);
		}
	}
	family(out, "llmgate_metrics_dropped_total", "counter", "Observations not counted: the metrics tables were full.");
	buf_printf(out, "llmgate_metrics_dropped_total %llu\n", (unsigned long long)s->dropped);
	gauge(out, "llmgate_usage_spool_backlog_bytes", "Usage records not yet settled, in bytes of spool.",
	      (double)g->spool_backlog_bytes);
	if (g->settle_known) {
		gauge(out, "llmgate_settle_backlog_records", "Usage records waiting for the ledger or the billing backend.",
		      (double)g->settle_backlog_records);
		gauge(out, "llmgate_settle_last_success_timestamp_seconds",
		      "When settle last pushed to the billing backend successfully (0: never).", g->settle_last_success_s);
		gauge(out, "llmgate_settle_last_run_timestamp_seconds", "When settle last ran (0: never).",
		      g->settle_last_run_s);
		gauge(out, "llmgate_settle_oldest_unsettled_timestamp_seconds",
		      "Time of the oldest usage record not yet settled (0: none).", g->settle_oldest_unsettled_s);
	}
	gauge(out, "llmgate_process_start_time_seconds", "When the router process that answered started.",
	      g->start_time_s);
	family(out, "llmgate_build_info", "gauge", "The build of llmgate that answered (always 1).");
	buf_puts(out, "llmgate_build_info{version=\"");
	metrics_text_label(out, g->version);
	buf_puts(out, "\"} 1\n");
}
