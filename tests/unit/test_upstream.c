/* test_upstream.c — the upstream client's limits on an answer that keeps
 * coming (head_timeout_ms, total_timeout_ms, stream_max_ms,
 * stream_max_bytes) against a local server on 127.0.0.1 that drips its
 * answer; which limit ended a call, that it is the gateway's
 * (upstream_gateway_limit) and the silence timeouts are not, and that
 * answers within the limits are whole. No timing is asserted. */
#include "autoconf.h"
#include "upstream.h"
#include "tap.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* What the server does with the one connection it accepts. */
enum drip { DRIP_HEAD, DRIP_BODY, SSE_ENDLESS, SSE_FAST, SSE_FLOOD, WHOLE, SILENT_AFTER_HEAD };

struct server {
	int lfd;
	int port;
	enum drip how;
	pthread_t th;
};

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Write s in pieces of n bytes every gap ms; stops when the client left
 * or after max pieces (bounded). */
static void drip(int fd, const char *s, size_t n, long gap, int max)
{
	size_t len = strlen(s);
	for (size_t at = 0; at < len && max-- > 0; at += n) {
		size_t k = len - at < n ? len - at : n;
		if (send(fd, s + at, k, MSG_NOSIGNAL) < 0)
			return;
		pause_ms(gap);
	}
}

static const char BODY[] = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"hello\"}}]}";

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char req[8192];
	(void)!recv(fd, req, sizeof(req), 0);
	char head[512];
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: %s\r\n"
		 "Content-Length: %zu\r\n\r\n", "padding-padding-padding-padding", strlen(BODY));
	switch (s->how) {
	case DRIP_HEAD:
		drip(fd, head, 1, 20, 400);
		break;
	case DRIP_BODY:
		drip(fd, head, sizeof(head), 0, 1);
		drip(fd, BODY, 1, 20, 400);
		break;
	case SSE_ENDLESS:
	case SSE_FAST:
	case SSE_FLOOD: {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
		drip(fd, h, strlen(h), 0, 1);
		/* one chunk per event */
		const char *data = "data: {\"choices\":[{\"delta\":{\"content\":\"word\"}}]}\n\n";
		char ev[160];
		snprintf(ev, sizeof(ev), "%zx\r\n%s\r\n", strlen(data), data);
		for (long i = 0; i < (s->how == SSE_FLOOD ? 20000000L : 4000); i++) {
			if (send(fd, ev, strlen(ev), MSG_NOSIGNAL) < 0)
				break;
			if (s->how != SSE_FLOOD)
				pause_ms(s->how == SSE_FAST ? 1 : 20);
		}
		break;
	}
	case WHOLE:
		drip(fd, head, sizeof(head), 0, 1);
		drip(fd, BODY, sizeof(BODY), 0, 1);
		break;
	case SILENT_AFTER_HEAD:
		drip(fd, head, sizeof(head), 0, 1);
		pause_ms(1500);
		break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum drip how)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	s->how = how;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 4) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0) {
		perror("test server");
		exit(1);
	}
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

struct got {
	size_t bytes;
	char body[256];
};

static int got_data(void *user, const char *p, size_t n)
{
	struct got *g = user;
	if (g->bytes + n < sizeof(g->body))
		memcpy(g->body + g->bytes, p, n);
	g->bytes += n;
	return 0;
}

/* One call to a server doing how, with the limits given. */
static int call(enum drip how, struct upstream_call *c, struct got *g)
{
	struct server s;
	char url[64];
	server_start(&s, how);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/chat/completions", s.port);
	memset(g, 0, sizeof(*g));
	c->url = url;
	c->body = "{}";
	c->body_len = 2;
	c->connect_timeout_ms = 2000;
	if (!c->first_byte_timeout_ms)
		c->first_byte_timeout_ms = 2000;
	if (!c->idle_timeout_ms)
		c->idle_timeout_ms = 2000;
	c->on_data = got_data;
	c->user = g;
	int r = upstream_perform(c);
	c->url = NULL;
	server_stop(&s);
	return r;
}

static void test_head(void)
{
	struct got g;
	struct upstream_call c = { .head_timeout_ms = 200, .total_timeout_ms = 60000 };
	is_int(call(DRIP_HEAD, &c, &g), -1, "dripped head: the call fails");
	is_int(c.err, UPSTREAM_ERR_TIMEOUT, "as a timeout");
	is_int(c.timeout, UPSTREAM_TIMEOUT_HEAD, "of the head");
	ok(c.t_first_byte_ms != 0, "bytes had come (no silence timeout could end it)");
	is_int(c.t_head_ms, 0, "the head never completed");
	is_int(upstream_gateway_limit(&c), 1, "the gateway's limit");
	ok(strstr(c.errmsg, "head_timeout_ms") != NULL, "errmsg names it: %s", c.errmsg);
}

static void test_total(void)
{
	struct got g;
	struct upstream_call c = { .head_timeout_ms = 60000, .total_timeout_ms = 200, .stream_max_ms = 60000 };
	is_int(call(DRIP_BODY, &c, &g), -1, "dripped body: the call fails");
	is_int(c.timeout, UPSTREAM_TIMEOUT_TOTAL, "on total_timeout_ms");
	is_int(c.status, 200, "after a whole head");
	is_int(c.event_stream, 0, "not a stream");
	ok(g.bytes > 0 && g.bytes < strlen(BODY), "part of the body came: %zu", g.bytes);
	is_int(upstream_gateway_limit(&c), 1, "the gateway's limit");
	ok(strstr(c.errmsg, "total_timeout_ms") != NULL, "errmsg names it: %s", c.errmsg);
}

static void test_stream(void)
{
	struct got g;
	struct upstream_call c = { .head_timeout_ms = 60000, .total_timeout_ms = 100, .stream_max_ms = 300 };
	is_int(call(SSE_ENDLESS, &c, &g), -1, "endless stream: the call ends");
	is_int(c.timeout, UPSTREAM_TIMEOUT_STREAM, "on stream_max_ms, not total_timeout_ms");
	is_int(c.event_stream, 1, "an event stream");
	ok(g.bytes > 0, "events came first: %zu bytes", g.bytes);
	is_int(upstream_gateway_limit(&c), 1, "the gateway's limit");
	ok(strstr(c.errmsg, "stream_max_s") != NULL, "errmsg names it: %s", c.errmsg);
}

static void test_stream_flood(void)
{
	struct got g;
	struct upstream_call c = { .stream_max_ms = 200 };
	is_int(call(SSE_FLOOD, &c, &g), -1, "a stream sent without pause: the call ends");
	is_int(c.timeout, UPSTREAM_TIMEOUT_STREAM, "on stream_max_ms");
	ok(g.bytes > 0, "after %zu bytes", g.bytes);
}

static void test_stream_bytes(void)
{
	struct got g;
	struct upstream_call c = { .stream_max_ms = 60000, .stream_max_bytes = 1000 };
	is_int(call(SSE_FAST, &c, &g), -1, "stream over stream_max_bytes: the call ends");
	is_int(c.err, UPSTREAM_ERR_TOO_LARGE, "as too large");
	is_int(c.aborted, 0, "not as a callback's abort");
	is_int((long long)g.bytes, 1000, "exactly stream_max_bytes handed on");
	is_int((long long)c.body_bytes, 1000, "and counted");
	is_int(upstream_gateway_limit(&c), 1, "the gateway's limit");
}

static void test_within(void)
{
	struct got g;
	struct upstream_call c = { .head_timeout_ms = 5000, .total_timeout_ms = 5000, .stream_max_ms = 5000,
				   .stream_max_bytes = 100 };
	is_int(call(WHOLE, &c, &g), 0, "an answer within the limits is whole");
	is_int(c.status, 200, "status");
	is_int((long long)g.bytes, (long long)strlen(BODY), "every body byte (stream_max_bytes is for streams)");
	ok(!memcmp(g.body, BODY, strlen(BODY)), "as sent");
	ok(c.t_head_ms != 0, "head time set");

	struct upstream_call d = { 0 };
	is_int(call(DRIP_BODY, &d, &g), 0, "no limits (0): a dripped body completes");
	is_int((long long)g.bytes, (long long)strlen(BODY), "whole");
}

static void test_silence_is_not_a_limit(void)
{
	struct got g;
	struct upstream_call c = { .idle_timeout_ms = 200, .head_timeout_ms = 60000, .total_timeout_ms = 60000 };
	is_int(call(SILENT_AFTER_HEAD, &c, &g), -1, "silence after the head");
	is_int(c.timeout, UPSTREAM_TIMEOUT_IDLE, "is the idle timeout");
	is_int(upstream_gateway_limit(&c), 0, "the upstream's fault, not a gateway limit");
}

int main(void)
{
	test_head();
	test_total();
	test_stream();
	test_stream_flood();
	test_stream_bytes();
	test_within();
	test_silence_is_not_a_limit();
	return done_testing();
}
