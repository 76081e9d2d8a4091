/* upstream.c — one upstream HTTP request over a worker's connections.
 *
 * HTTP/1.1 over plain TCP or TLS (tls.c), written here rather than taken
 * from libcurl: the router needs one request shape (a request, a response
 * read as it arrives, kept-alive connections), and libcurl with the
 * libraries it brings was half of the router's instructions per request
 * and most of its memory (docs/performance.md). */
#include "autoconf.h"
#include "upstream.h"
#include "resolve.h"
#include "xmalloc.h"
#include "admit.h"
#include "clock.h"
#include "httpresp.h"
#include "tls.h"
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF 8192
/* the receive buffer of the event loop's thread, which every call parked
 * on it reads through (park_buf) */
#define PARK_RECV_BUF 16384
/* an idle connection older than this is closed rather than reused */
#define IDLE_MAX_AGE_MS 60000
/* one idle for less than this is reused without a look (a poll): servers
 * keep idle connections for seconds, and one closed in the meantime is
 * met by the retry on a new connection (exchange) */
#define IDLE_LOOK_MS 1000

struct up_conn {
	int fd;
	struct tls_conn *tls;
	char *origin;              /* "scheme://host:port": what it can serve */
	int64_t idle_since;
	struct up_conn *next;
};

struct upstream_conns {
	struct up_conn *idle;      /* most recently used first */
	int n_idle;
	struct tls_client *tls;    /* made at the first TLS connection */
	char *buf;                 /* receive buffer */
};

struct url {
	int https;
	char host[256];            /* without brackets */
	char port[6];
	char hosthdr[300];         /* the Host header's value */
	char origin[300];
	const char *target;        /* path and query */
	size_t target_len;
};

void upstream_set_ca_file(const char *path)
{
	tls_set_ca_file(path);
}

struct upstream_conns *upstream_conns(void)
{
	return calloc(1, sizeof(struct upstream_conns));
}

/* an event loop's wait for a descriptor, and what it is told before one
 * closes (upstream_set_wait_hook) */
static __thread int (*wait_hook)(int fd, short ev, int64_t deadline);
static __thread void (*forget_hook)(int fd);

/* Close a socket that may have been waited for. */
static void close_fd(int fd)
{
	if (forget_hook)
		forget_hook(fd);
	close(fd);
}

static void conn_close(struct up_conn *k, int orderly)
{
	if (!k)
		return;
	tls_close(k->tls, orderly);
	if (k->fd >= 0)
		close_fd(k->fd);
	free(k->origin);
	free(k);
}

static void conns_clear(struct upstream_conns *m)
{
	while (m->idle) {
		struct up_conn *k = m->idle;
		m->idle = k->next;
		conn_close(k, 1);
	}
	m->n_idle = 0;
	tls_client_free(m->tls);
	m->tls = NULL;
	free(m->buf);
	m->buf = NULL;
}

void upstream_conns_free(struct upstream_conns *m)
{
	if (!m)
		return;
	conns_clear(m);
	free(m);
}

static int fail(struct upstream_call *c, enum upstream_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct upstream_call *c, enum upstream_error e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	c->err = e;
	return -1;
}

/* ------------------------------------------------------------------ URL */

static int host_char(int ch, int v6)
{
	if (v6)
		return isxdigit(ch) || ch == ':' || ch == '.';
	return isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
}

static int parse_url(const char *s, struct url *u)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (!strncasecmp(s, "https://", 8)) {
		u->https = 1;
		p = s + 8;
	} else if (!strncasecmp(s, "http://", 7)) {
		p = s + 7;
	} else {
		return -1;
	}
	size_t alen = strcspn(p, "/?#");
	const char *a = p, *ae = p + alen;
	if (memchr(a, '@', alen))
		return -1;   /* credentials in the URL are not sent */
	const char *h = a, *he, *pp = NULL;
	int v6 = 0;
	if (a < ae && *a == '[') {
		v6 = 1;
		h = a + 1;
		he = memchr(h, ']', (size_t)(ae - h));
		if (!he)
			return -1;
		if (he + 1 < ae) {
			if (he[1] != ':')
				return -1;
			pp = he + 2;
		}
	} else {
		he = memchr(a, ':', alen);
		if (he)
			pp = he + 1;
		else
			he = ae;
	}
	size_t hl = (size_t)(he - h);
	if (!hl || hl >= sizeof(u->host))
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (!host_char((unsigned char)h[i], v6))
			return -1;
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	long port = u->https ? 443 : 80;
	if (pp) {
		if (pp == ae || ae - pp > 5)
			return -1;
		port = 0;
		for (const char *q = pp; q < ae; q++) {
			if (!isdigit((unsigned char)*q))
				return -1;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return -1;
	}
	snprintf(u->port, sizeof(u->port), "%ld", port);
	int dflt = port == (u->https ? 443 : 80);
	snprintf(u->hosthdr, sizeof(u->hosthdr), "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
		 dflt ? "" : ":", dflt ? "" : u->port);
	snprintf(u->origin, sizeof(u->origin), "%s://%s:%s", u->https ? "https" : "http", u->host, u->port);
	for (char *q = u->origin; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	u->target = ae;
	u->target_len = strcspn(ae, "#");
	for (size_t i = 0; i < u->target_len; i++)
		if ((unsigned char)ae[i] <= 0x20 || ae[i] == 0x7f)
			return -1;   /* would break the request line */
	return 0;
}

/* -------------------------------------------------------------- request */

static int header_ok(const char *h)
{
	return !strpbrk(h, "\r\n");
}

/* The request head, on the heap (it may hold a key: the caller wipes it). */
static char *build_head(const struct upstream_call *c, const struct url *u, size_t *len)
{
	const char *method = c->method ? c->method : "POST";
	int with_len = !strcmp(method, "POST") || c->body_len;
	size_t need = strlen(method) + u->target_len + strlen(u->hosthdr) + 256 +
		      (c->accept ? strlen(c->accept) : 16) + (c->request_id ? strlen(c->request_id) : 0) +
		      (c->auth_header ? strlen(c->auth_header) : 0);
	for (const char *const *eh = c->extra_headers; eh && *eh; eh++)
		need += strlen(*eh) + 2;
	char *b = malloc(need);
	if (!b)
		return NULL;
	size_t n = 0;
#define ADD(s, l) do { memcpy(b + n, (s), (l)); n += (l); } while (0)
#define ADDS(s) ADD((s), strlen(s))
	ADDS(method);
	ADD(" ", 1);
	if (u->target_len && u->target[0] == '/') {
		ADD(u->target, u->target_len);
	} else {
		ADD("/", 1);
		ADD(u->target, u->target_len);
	}
	ADDS(" HTTP/1.1\r\nHost: ");
	ADDS(u->hosthdr);
	ADDS("\r\nUser-Agent: llmgate/" PACKAGE_VERSION "\r\n");
	if (!c->no_content_type)
		ADDS("Content-Type: application/json\r\n");
	ADDS("Accept: ");
	ADDS(c->accept ? c->accept : "application/json");
	ADDS("\r\nAccept-Encoding: identity\r\n");
	if (c->request_id && strlen(c->request_id) < 80) {
		ADDS("X-Request-Id: ");
		ADDS(c->request_id);
		ADD("\r\n", 2);
	}
	if (c->auth_header) {
		ADDS(c->auth_header);
		ADD("\r\n", 2);
	}
	for (const char *const *eh = c->extra_headers; eh && *eh; eh++) {
		ADDS(*eh);
		ADD("\r\n", 2);
	}
	if (with_len)
		n += (size_t)snprintf(b + n, need - n, "Content-Length: %zu\r\n", c->body_len);
	ADD("\r\n", 2);
#undef ADD
#undef ADDS
	*len = n;
	return b;
}

/* ---------------------------------------------------------- connections */

void upstream_set_wait_hook(int (*wait)(int fd, short ev, int64_t deadline), void (*forget)(int fd))
{
	wait_hook = wait;
	forget_hook = forget;
}

/* The receive buffer of calls parked on this thread (an event loop's):
 * one for all of them, since a parked call hands on what it read before
 * it waits again (its client's writes never wait: evloop.h), so no call
 * holds a buffer of its own while its stream is open. Not inlined: a
 * parked call reads it after it moved threads. */
static __attribute__((noinline)) char *park_buf(void)
{
	static __thread char *b;
	if (!b)
		b = xmalloc(PARK_RECV_BUF);
	return b;
}

static int wait_fd(int fd, short ev, int64_t deadline, int grace)
{
	if (wait_hook)
		return wait_hook(fd, ev, deadline);
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { fd, ev, 0 };
		/* a thread holding an admission slot waits a moment with it, then
		 * hands it on: this request is slow (admit.h) */
		int slot = admit_holding();
		if (slot && grace <= 0) {
			admit_leave();
			slot = 0;
		}
		if (slot && left > grace)
			left = grace;
		int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r == 0 && slot)
			admit_leave();
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static struct up_conn *take_idle(struct upstream_conns *m, const char *origin)
{
	int64_t now = mono_ms();
	for (struct up_conn **pp = &m->idle; *pp;) {
		struct up_conn *k = *pp;
		int stale = now - k->idle_since > IDLE_MAX_AGE_MS;
		if (!stale && strcmp(k->origin, origin)) {
			pp = &k->next;
			continue;
		}
		*pp = k->next;
		m->n_idle--;
		if (!stale) {
			/* an idle connection has nothing to read: if it has, the
			 * server closed it (or sent what no request asked for) */
			struct pollfd pfd = { k->fd, POLLIN, 0 };
			stale = (k->tls && tls_pending(k->tls)) ||
				(now - k->idle_since >= IDLE_LOOK_MS && poll(&pfd, 1, 0) != 0);
		}
		if (!stale)
			return k;
		conn_close(k, 0);
	}
	return NULL;
}

static void put_idle(struct upstream_conns *m, struct up_conn *k)
{
	k->idle_since = mono_ms();
	k->next = m->idle;
	m->idle = k;
	if (++m->n_idle > UPSTREAM_MAX_IDLE) {
		struct up_conn **pp = &m->idle;
		while ((*pp)->next)
			pp = &(*pp)->next;
		conn_close(*pp, 1);
		*pp = NULL;
		m->n_idle--;
	}
}

static struct up_conn *open_conn(struct upstream_conns *m, struct upstream_call *c, const struct url *u)
{
	int64_t deadline = c->t_start_ms + (c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 300000);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	/* on an event loop, the lookup must not hold every other stream */
	int gr = wait_hook ? resolve_waiting(u->host, u->port, &hints, &res, wait_hook, forget_hook, deadline)
			   : getaddrinfo(u->host, u->port, &hints, &res);
	if (gr) {
		fail(c, UPSTREAM_ERR_RESOLVE, "could not resolve host %s: %s", u->host,
		     gr == EAI_SYSTEM ? strerror(errno) : gai_strerror(gr));
		return NULL;
	}
	int fd = -1, last = 0, timed_out = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline, ADMIT_SLOW_MS);
			if (w == 1) {
				socklen_t sl = sizeof(last);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &sl) == 0 && last == 0)
					r = 0;
			} else {
				last = w == 0 ? ETIMEDOUT : errno;
				timed_out = w == 0;
			}
		} else if (r < 0) {
			last = errno;
		}
		if (r < 0) {
			close_fd(fd);
			fd = -1;
			if (timed_out)
				break;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (timed_out) {
			c->timeout = UPSTREAM_TIMEOUT_CONNECT;
			fail(c, UPSTREAM_ERR_TIMEOUT, "connect to %s:%s timed out", u->host, u->port);
		} else {
			fail(c, UPSTREAM_ERR_CONNECT, "connect to %s:%s failed: %s", u->host, u->port,
			     strerror(last ? last : ECONNREFUSED));
		}
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	struct up_conn *k = calloc(1, sizeof(*k));
	if (!k || !(k->origin = strdup(u->origin))) {
		free(k);
		close_fd(fd);
		fail(c, UPSTREAM_ERR_NOMEM, "out of memory");
		return NULL;
	}
	k->fd = fd;
	if (u->https) {
		char err[200] = "";
		if (!m->tls && !(m->tls = tls_client_new(err, sizeof(err)))) {
			conn_close(k, 0);
			fail(c, UPSTREAM_ERR_TLS, "%s", err);
			return NULL;
		}
		/* a handshake takes round trips: not something to hold an
		 * admission slot for (admit.h) */
		admit_leave();
		k->tls = tls_connect(m->tls, fd, u->host, deadline, wait_hook, err, sizeof(err));
		if (!k->tls) {
			int to = errno == ETIMEDOUT && mono_ms() >= deadline;
			conn_close(k, 0);
			if (to)
				c->timeout = UPSTREAM_TIMEOUT_CONNECT;
			fail(c, to ? UPSTREAM_ERR_TIMEOUT : UPSTREAM_ERR_TLS, "%s", err);
			return NULL;
		}
	}
	return k;
}

/* ------------------------------------------------------------- exchange */

/* Write all of the pieces; 0, or -1 with errno (ETIMEDOUT at deadline). */
static int send_all(struct up_conn *k, struct iovec *iov, int niov, int64_t deadline, char *err, size_t el)
{
	while (niov > 0) {
		if (!iov->iov_len) {
			iov++;
			niov--;
			continue;
		}
		ssize_t r;
		int want = 2;
		if (k->tls) {
			r = tls_write(k->tls, iov->iov_base, iov->iov_len, &want, err, el);
		} else {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
			r = sendmsg(k->fd, &mh, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				snprintf(err, el, "%s", strerror(errno));
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			int w = wait_fd(k->fd, want == 1 ? POLLIN : POLLOUT, deadline, ADMIT_SLOW_MS);
			if (w <= 0) {
				if (w == 0)
					errno = ETIMEDOUT;
				snprintf(err, el, "%s", strerror(errno));
				return -1;
			}
			continue;
		}
		size_t done = (size_t)r;
		while (niov > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Some bytes: >0, 0 at the end, -1 failure (errno, err), -2 deadline.
 * wait_first: wait until the socket is readable before reading (unless
 * TLS holds bytes already), so that the caller's buffer is only taken
 * once there is something for it. */
static ssize_t recv_some(struct up_conn *k, char *buf, size_t n, int64_t deadline, int grace, int wait_first,
			 char *err, size_t el)
{
	int want = 1;
	if (wait_first && (!k->tls || !tls_pending(k->tls)))
		goto wait;
	for (;;) {
		ssize_t r;
		want = 1;
		if (k->tls) {
			r = tls_read(k->tls, buf, n, &want, err, el);
		} else {
			r = recv(k->fd, buf, n, 0);
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				snprintf(err, el, "%s", strerror(errno));
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
wait:;
		int w = wait_fd(k->fd, want == 2 ? POLLOUT : POLLIN, deadline, grace);
		if (w == 0)
			return -2;
		if (w < 0) {
			snprintf(err, el, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int on_head(void *user, const struct hresp *r)
{
	struct upstream_call *c = user;
	c->status = r->status;
	c->retry_after_s = r->retry_after_s;
	c->t_head_ms = mono_ms();
	c->event_stream = !strncasecmp(r->content_type, "text/event-stream", 17);
	snprintf(c->content_type, sizeof(c->content_type), "%s", r->content_type);
	return c->on_head ? c->on_head(c->user, c->status, c->content_type, c->retry_after_s) : 0;
}

/* An event stream is handed on up to stream_max_bytes, then stopped
 * (over_size). */
static int on_data(void *user, const char *p, size_t n)
{
	struct upstream_call *c = user;
	int over = 0;
	if (c->event_stream && c->stream_max_bytes && n > c->stream_max_bytes - c->body_bytes) {
		n = (size_t)(c->stream_max_bytes - c->body_bytes);   /* up to the limit, not past it */
		over = 1;
	}
	c->body_bytes += n;
	int r = c->on_data && n ? c->on_data(c->user, p, n) : 0;
	return r ? r : over;
}

/* The deadline of the next wait and which one it is: the upstream's
 * silence (first byte, idle) or the gateway's limit on the whole head, a
 * whole answer or a stream, whichever comes first. */
static int64_t next_deadline(const struct upstream_call *c, enum upstream_timeout *which)
{
	int64_t d = c->t_first_byte_ms ? c->t_last_rx_ms + c->idle_timeout_ms : c->t_start_ms + c->first_byte_timeout_ms;
	*which = c->t_first_byte_ms ? UPSTREAM_TIMEOUT_IDLE : UPSTREAM_TIMEOUT_FIRST_BYTE;
	long lim = !c->t_head_ms ? c->head_timeout_ms : c->event_stream ? c->stream_max_ms : c->total_timeout_ms;
	if (lim > 0 && c->t_start_ms + lim <= d) {
		d = c->t_start_ms + lim;
		*which = !c->t_head_ms ? UPSTREAM_TIMEOUT_HEAD
				       : c->event_stream ? UPSTREAM_TIMEOUT_STREAM : UPSTREAM_TIMEOUT_TOTAL;
	}
	return d;
}

/* When an event stream that has been silent is to be said so (on_quiet),
 * or 0 when that does not apply. */
static int64_t quiet_deadline(const struct upstream_call *c)
{
	if (!c->on_quiet || c->quiet_ms <= 0 || !c->t_head_ms || !c->event_stream)
		return 0;
	int64_t from = c->t_last_rx_ms > c->t_quiet_ms ? c->t_last_rx_ms : c->t_quiet_ms;
	return from + c->quiet_ms;
}

/* Fail c on the deadline which (next_deadline) that passed. */
static int over_size(const struct upstream_call *c)
{
	return c->event_stream && c->stream_max_bytes && c->body_bytes >= c->stream_max_bytes;
}

static void fail_deadline(struct upstream_call *c, enum upstream_timeout which, const struct url *u)
{
	c->timeout = which;
	switch (which) {
	case UPSTREAM_TIMEOUT_HEAD:
		fail(c, UPSTREAM_ERR_TIMEOUT, "response head not complete within head_timeout_ms (%ld ms) from %s:%s",
		     c->head_timeout_ms, u->host, u->port);
		break;
	case UPSTREAM_TIMEOUT_TOTAL:
		fail(c, UPSTREAM_ERR_TIMEOUT, "response not complete within total_timeout_ms (%ld ms) from %s:%s",
		     c->total_timeout_ms, u->host, u->port);
		break;
	case UPSTREAM_TIMEOUT_STREAM:
		fail(c, UPSTREAM_ERR_TIMEOUT, "stream longer than stream_max_s (%ld ms) from %s:%s",
		     c->stream_max_ms, u->host, u->port);
		break;
	case UPSTREAM_TIMEOUT_IDLE:
		fail(c, UPSTREAM_ERR_TIMEOUT, "response stalled from %s:%s", u->host, u->port);
		break;
	default:
		fail(c, UPSTREAM_ERR_TIMEOUT, "no response in time from %s:%s", u->host, u->port);
		break;
	}
}

int upstream_gateway_limit(const struct upstream_call *c)
{
	return c->err == UPSTREAM_ERR_TOO_LARGE ||
	       (c->err == UPSTREAM_ERR_TIMEOUT && (c->timeout == UPSTREAM_TIMEOUT_HEAD ||
						   c->timeout == UPSTREAM_TIMEOUT_TOTAL ||
						   c->timeout == UPSTREAM_TIMEOUT_STREAM));
}

enum { X_DONE, X_FAILED, X_STALE };

/* Offer the call to the event loop (c->park): between two reads of a
 * flowing answer, and whenever it has waited this long for its upstream
 * (a model thinking before its first byte, a slow answer that is not
 * streamed). Quicker answers, 429s and errors among them, stay on the
 * worker, which keeps its connections for the next call. */
#define PARK_WAIT_MS 250

/* Offer c to the event loop; 1 when it runs there now. */
static int park_call(struct upstream_call *c, const struct up_conn *k)
{
	return c->park && (!k->tls || tls_movable(k->tls)) && c->park(c->user);
}

/* One request and its response on k. X_STALE: k was kept from an earlier
 * call and turned out closed before any byte of an answer (try again on a
 * new connection); k is closed or kept by this function either way.
 * *parked: the call runs on the event loop (in: since an earlier
 * connection of it; out: it moved here). */
static int exchange(struct upstream_conns *m, struct upstream_call *c, struct up_conn *k, int reused, char *head,
		    size_t head_len, const struct url *u, int *parked_io)
{
	char err[200] = "";
	struct iovec iov[2] = { { head, head_len }, { (void *)(c->body ? c->body : ""), c->body ? c->body_len : 0 } };
	if (send_all(k, iov, 2, c->t_start_ms + c->first_byte_timeout_ms, err, sizeof(err)) != 0) {
		int e = errno;
		conn_close(k, 0);
		if (reused && (e == EPIPE || e == ECONNRESET))
			return X_STALE;
		if (e == ETIMEDOUT) {
			c->timeout = UPSTREAM_TIMEOUT_FIRST_BYTE;
			fail(c, UPSTREAM_ERR_TIMEOUT, "sending to %s:%s timed out", u->host, u->port);
		} else {
			fail(c, UPSTREAM_ERR_SEND, "sending to %s:%s failed: %s", u->host, u->port, err);
		}
		return X_FAILED;
	}
	struct hresp hr;
	hresp_init(&hr);
	hr.on_head = on_head;
	hr.on_data = on_data;
	hr.user = c;
	int rv = X_FAILED, keep = 0, parked = *parked_io;
	char *rb = parked ? park_buf() : m->buf;
	size_t rlen = parked ? PARK_RECV_BUF : RECV_BUF;
	for (;;) {
		enum upstream_timeout which;
		int64_t deadline = next_deadline(c, &which);
		int64_t now = mono_ms();
		/* an upstream sending without pause is never waited for: its
		 * limit is looked at between reads too */
		if (which >= UPSTREAM_TIMEOUT_HEAD && now >= deadline) {
			fail_deadline(c, which, u);
			break;
		}
		/* a wait in the middle of an answer is an upstream writing it as
		 * it goes (a model streaming): the slot is handed on at once */
		int64_t quiet = quiet_deadline(c);
		int quiet_first = quiet && quiet < deadline;
		int64_t wake = quiet_first ? quiet : deadline;
		int park_first = !parked && c->park && now + PARK_WAIT_MS < wake;
		if (park_first)
			wake = now + PARK_WAIT_MS;
		ssize_t n = recv_some(k, rb, rlen, wake, c->t_first_byte_ms ? 0 : ADMIT_SLOW_MS, parked, err,
				      sizeof(err));
		if (n == -2 && park_first) {
			/* a long wait: on the event loop, if it takes it */
			if (park_call(c, k)) {
				parked = 1;
				rlen = PARK_RECV_BUF;
				rb = park_buf();
			}
			continue;
		}
		if (n == -2 && quiet_first) {
			c->t_quiet_ms = mono_ms();
			if (c->on_quiet(c->user) != 0) {
				c->aborted = 1;
				fail(c, UPSTREAM_ERR_ABORTED, "transfer stopped by the gateway");
				break;
			}
			continue;
		}
		if (n == -2) {
			fail_deadline(c, which, u);
			break;
		}
		if (n < 0) {
			if (reused && hresp_untouched(&hr) && errno == ECONNRESET) {
				rv = X_STALE;
				break;
			}
			fail(c, UPSTREAM_ERR_RECV, "receiving from %s:%s failed: %s", u->host, u->port, err);
			break;
		}
		if (n == 0) {
			if (reused && hresp_untouched(&hr)) {
				rv = X_STALE;
				break;
			}
			if (hresp_eof(&hr) == HRESP_COMPLETE) {
				rv = X_DONE;
				break;
			}
			fail(c, UPSTREAM_ERR_RECV, "%s (%s:%s)", hr.err, u->host, u->port);
			break;
		}
		c->t_last_rx_ms = mono_ms();
		if (!c->t_first_byte_ms)
			c->t_first_byte_ms = c->t_last_rx_ms;
		size_t used;
		enum hresp_result res = hresp_feed(&hr, rb, (size_t)n, &used);
		if (res == HRESP_COMPLETE) {
			rv = X_DONE;
			keep = hr.keep_alive && used == (size_t)n && !(k->tls && tls_pending(k->tls));
			break;
		}
		if (res == HRESP_ABORTED && over_size(c)) {
			fail(c, UPSTREAM_ERR_TOO_LARGE, "stream longer than stream_max_bytes (%llu bytes) from %s:%s",
			     (unsigned long long)c->stream_max_bytes, u->host, u->port);
			break;
		}
		if (res == HRESP_ABORTED) {
			c->aborted = 1;
			fail(c, UPSTREAM_ERR_ABORTED, "transfer stopped by the gateway");
			break;
		}
		if (res == HRESP_ERROR) {
			fail(c, UPSTREAM_ERR_PROTOCOL, "%s from %s:%s", hr.err, u->host, u->port);
			break;
		}
		if (!parked && park_call(c, k)) {
			/* on the event loop now: the worker's buffer is the worker's */
			parked = 1;
			rlen = PARK_RECV_BUF;
			rb = park_buf();
		}
	}
	hresp_free(&hr);
	*parked_io = parked;
	if (parked)
		keep = 0;
	if (keep)
		put_idle(m, k);
	else
		conn_close(k, rv == X_DONE);
	return rv;
}

int upstream_perform(struct upstream_call *c)
{
	struct upstream_conns one = { 0 }, *m = c->conns ? c->conns : &one;
	struct url u;
	c->status = 0;
	c->err = UPSTREAM_OK;
	c->timeout = UPSTREAM_TIMEOUT_NONE;
	c->aborted = 0;
	c->retry_after_s = -1;
	c->content_type[0] = '\0';
	c->errmsg[0] = '\0';
	c->t_first_byte_ms = 0;
	c->t_head_ms = 0;
	c->event_stream = 0;
	c->body_bytes = 0;
	c->t_start_ms = c->t_last_rx_ms = mono_ms();

	int header_bad = (c->auth_header && !header_ok(c->auth_header)) ||
			 (c->request_id && !header_ok(c->request_id)) || (c->accept && !header_ok(c->accept)) ||
			 (c->method && (!*c->method || strpbrk(c->method, " \t\r\n")));
	for (const char *const *eh = c->extra_headers; eh && *eh && !header_bad; eh++)
		header_bad = !header_ok(*eh);
	if (parse_url(c->url ? c->url : "", &u) != 0) {
		fail(c, UPSTREAM_ERR_URL, "upstream URL not usable (http:// or https://, host, port, path)");
	} else if (header_bad) {
		fail(c, UPSTREAM_ERR_URL, "a request header line holds a line break");
	} else if (!m->buf && !(m->buf = malloc(RECV_BUF))) {
		fail(c, UPSTREAM_ERR_NOMEM, "out of memory");
	} else {
		size_t head_len;
		char *head = build_head(c, &u, &head_len);
		if (!head) {
			fail(c, UPSTREAM_ERR_NOMEM, "out of memory");
		} else {
			int parked = 0;
			for (int attempt = 0; attempt < 2; attempt++) {
				/* a call that moved to the event loop does not use the
				 * worker's connections any more */
				if (parked)
					m = &one;
				struct up_conn *k = attempt == 0 ? take_idle(m, u.origin) : NULL;
				int reused = k != NULL;
				if (!k && !(k = open_conn(m, c, &u)))
					break;
				if (exchange(m, c, k, reused, head, head_len, &u, &parked) != X_STALE)
					break;
			}
			explicit_bzero(head, head_len);   /* it holds the upstream key */
			free(head);
		}
	}
	c->t_end_ms = mono_ms();
	if (m == &one)
		conns_clear(&one);
	return c->err == UPSTREAM_OK ? 0 : -1;
}
