/* evloop.c — the event loop that holds parked streams (evloop.h). */
#include "autoconf.h"
#include "evloop.h"
#include "log.h"
#if !defined(HAVE_SWAPCONTEXT) || !defined(HAVE_EPOLL_CREATE1)
/* no coroutines or epoll in this C library (musl): the mode is refused */
#include <stdlib.h>

int evloop_available(void)
{
	return 0;
}

int evloop_start(void (*done)(void))
{
	(void)done;
	log_err("[server] streams = events needs swapcontext and epoll, which this C library lacks; use threads");
	return -1;
}

struct evloop_co *evloop_co_new(int sock)
{
	(void)sock;
	return NULL;
}

FCGX_Request *evloop_request(struct evloop_co *co)
{
	(void)co;
	return NULL;
}

struct http_req *evloop_http(struct evloop_co *co)
{
	(void)co;
	return NULL;
}

int evloop_run(struct evloop_co *co, void (*handle)(void *w, struct http_req *r), void *w)
{
	(void)co;
	(void)handle;
	(void)w;
	return 0;
}

void evloop_co_free(struct evloop_co *co)
{
	(void)co;
}

int evloop_parked(void)
{
	return 0;
}
#else
#include "buf.h"
#include "clock.h"
#include "fcgi_rec.h"
#include "serve.h"
#include "upstream.h"
#include "xmalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#define EVLOOP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVLOOP_ASAN 1
#endif
#endif
#ifdef EVLOOP_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* how long the loop sleeps at most between two looks at the clock */
#define EVLOOP_SLEEP_MAX_MS 60000

enum co_state { CO_RUN, CO_PARKING, CO_PARKED, CO_DONE };

struct evtag {
	struct evloop_co *co;
	int client;   /* the FastCGI connection, else the upstream */
};

struct evloop_co {
	ucontext_t ctx;
	ucontext_t *back;        /* where the coroutine returns to when it waits or ends */
	char *stack;
	FCGX_Request fr;
	struct http_req r;
	struct http_ev hev;
	void (*handle)(void *w, struct http_req *r);
	void *w;
	enum co_state state;
	/* parked */
	int cfd;                 /* the FastCGI connection */
	unsigned id;             /* its request id */
	unsigned cmask;          /* what cfd is watched for */
	struct buf out;          /* records not yet taken by the web server */
	struct fcgi_rec_reader *rd;
	int gone;                /* the client went away */
	int wait_up;             /* waits for its upstream (until deadline) */
	int wait_out;            /* waits for out to be at most out_below */
	size_t out_below;
	int64_t deadline;
	int result;
	int up_fd;               /* the upstream descriptor in the epoll set, -1 */
	unsigned up_mask;        /* what it is watched for there (kept between
				  * two waits: no system call per event) */
	struct evtag up_tag, cl_tag;
	struct evloop_co *prev, *next;
	/* for AddressSanitizer and valgrind: the stack it was resumed from,
	 * its own fake stack, its stack's registration */
	const void *from_low;
	size_t from_size;
	void *fake;
	unsigned vg_stack;
};

static int ep = -1, qfd = -1;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static struct evloop_co *queue;       /* handed over by workers */
static struct evloop_co *parked;      /* on the loop */
static struct evloop_co *ended;       /* freed after the batch of events */
static int parked_n;
static void (*done_cb)(void);
/* no request waits on a deadline earlier than this (the loop thread's):
 * lowered by each wait, recomputed by the look at the deadlines, which is
 * only taken once it passed; INT64_MAX: none */
static int64_t next_due = INT64_MAX;
static ucontext_t loop_ctx;
static __thread struct evloop_co *current;
static __thread struct evloop_co *starting;

int evloop_available(void)
{
	return 1;
}

int evloop_parked(void)
{
	return __atomic_load_n(&parked_n, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------ the coroutines */

/* Every switch between stacks is told to AddressSanitizer (which keeps a
 * shadow of each stack) before and after it; valgrind is told of each
 * coroutine's stack once (co_new). Without them both are no-ops. */
static void sw_leave(void **fake, const void *low, size_t size)
{
#ifdef EVLOOP_ASAN
	__sanitizer_start_switch_fiber(fake, low, size);
#else
	(void)fake, (void)low, (void)size;
#endif
}

static void sw_arrive(void *fake, const void **from_low, size_t *from_size)
{
#ifdef EVLOOP_ASAN
	__sanitizer_finish_switch_fiber(fake, from_low, from_size);
#else
	(void)fake, (void)from_low, (void)from_size;
#endif
}

/* From a thread's own stack into co, back when it yields or ends. */
static void co_enter(struct evloop_co *co, ucontext_t *here)
{
	void *fake = NULL;
	sw_leave(&fake, co->stack + 4096, SERVE_STACK_SIZE - 4096);
	swapcontext(here, &co->ctx);
	sw_arrive(fake, NULL, NULL);
}

static void trampoline(void);

struct evloop_co *evloop_co_new(int sock)
{
	struct evloop_co *co = calloc(1, sizeof(*co));
	if (!co)
		return NULL;
	co->stack = mmap(NULL, SERVE_STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (co->stack == MAP_FAILED) {
		free(co);
		return NULL;
	}
	mprotect(co->stack, 4096, PROT_NONE);   /* a guard page below */
#ifdef HAVE_VALGRIND_VALGRIND_H
	co->vg_stack = VALGRIND_STACK_REGISTER(co->stack + 4096, co->stack + SERVE_STACK_SIZE);
#endif
	FCGX_InitRequest(&co->fr, sock, 0);
	co->cfd = -1;
	co->up_fd = -1;
	co->up_tag = (struct evtag){ co, 0 };
	co->cl_tag = (struct evtag){ co, 1 };
	return co;
}

FCGX_Request *evloop_request(struct evloop_co *co)
{
	return &co->fr;
}

struct http_req *evloop_http(struct evloop_co *co)
{
	return &co->r;
}

void evloop_co_free(struct evloop_co *co)
{
	if (!co)
		return;
#ifdef HAVE_VALGRIND_VALGRIND_H
	VALGRIND_STACK_DEREGISTER(co->vg_stack);
#endif
	munmap(co->stack, SERVE_STACK_SIZE);
	free(co);
}

/* Leave the coroutine for whoever resumed it; back here when resumed. */
static void co_yield(struct evloop_co *co)
{
	sw_leave(&co->fake, co->from_low, co->from_size);
	swapcontext(&co->ctx, co->back);
	sw_arrive(co->fake, &co->from_low, &co->from_size);
}

/* --------------------------------------------- the client's connection */

static void cl_watch(struct evloop_co *co, unsigned mask)
{
	if (co->cfd < 0 || mask == co->cmask)
		return;
	struct epoll_event e = { .events = mask, .data.ptr = &co->cl_tag };
	epoll_ctl(ep, EPOLL_CTL_MOD, co->cfd, &e);
	co->cmask = mask;
}

/* Write what the socket takes. -1 when the client went away. */
static int out_flush(struct evloop_co *co)
{
	while (co->out.len && !co->gone) {
		ssize_t w = write(co->cfd, co->out.data, co->out.len);
		if (w > 0) {
			buf_consume(&co->out, (size_t)w);
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			break;
		} else {
			co->gone = 1;
		}
	}
	if (co->gone)
		return -1;
	unsigned in = co->cmask & (EPOLLIN | EPOLLRDHUP);
	cl_watch(co, co->out.len ? in | EPOLLOUT : in);
	return 0;
}

/* In the coroutine: wait until at most below bytes are left to write. */
static void up_unwatch(struct evloop_co *co);

static int wait_out(struct evloop_co *co, size_t below)
{
	/* a readable upstream is not this wait's business: no wake-ups
	 * for it meanwhile */
	if (co->out.len > below)
		up_unwatch(co);
	while (!co->gone && co->out.len > below) {
		if (out_flush(co) != 0 || co->out.len <= below)
			break;
		co->wait_out = 1;
		co->out_below = below;
		co_yield(co);
		co->wait_out = 0;
	}
	return co->gone ? -1 : 0;
}

/* Never waits: the request may be handing on bytes of the loop's one
 * receive buffer (upstream.c), which the next request to run would
 * overwrite. The cap is held where the request waits for its upstream
 * (loop_wait). */
static int ev_write(struct http_ev *ev, const void *p, size_t n)
{
	struct evloop_co *co = (struct evloop_co *)((char *)ev - offsetof(struct evloop_co, hev));
	if (co->gone || fcgi_rec_stdout(&co->out, co->id, p, n) != 0)
		return -1;
	return 0;
}

static int ev_flush(struct http_ev *ev)
{
	struct evloop_co *co = (struct evloop_co *)((char *)ev - offsetof(struct evloop_co, hev));
	return out_flush(co);
}

static int on_record(const struct fcgi_rec *rec, void *user)
{
	struct evloop_co *co = user;
	return fcgi_rec_reply(&co->out, co->id, rec) != 0;
}

/* What the web server sends while the answer is under way: nothing, as a
 * rule; an abort, a refused second request, a management query, or the
 * end of the connection. */
static void cl_read(struct evloop_co *co)
{
	char b[2048];
	for (;;) {
		ssize_t n = read(co->cfd, b, sizeof(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* the end of what it sends: a server that closed the
			 * connection (its client left: nginx does so at once) or
			 * only its sending half. An empty STDERR record tells
			 * which: the first fails its write or is answered with
			 * a reset (EPOLLHUP/EPOLLERR), the second takes it. The
			 * answer is written either way. */
			if (n < 0 || fcgi_rec_stderr_end(&co->out, co->id) != 0)
				co->gone = 1;
			cl_watch(co, co->cmask & EPOLLOUT);
			break;
		}
		if (!co->rd) {
			co->rd = xmalloc(sizeof(*co->rd));
			fcgi_rec_reader_init(co->rd);
		}
		if (fcgi_rec_feed(co->rd, b, (size_t)n, on_record, co) != 0) {
			co->gone = 1;
			break;
		}
	}
	if (!co->gone)
		out_flush(co);
}

/* ------------------------------------------------- running, parking */

static void co_end(struct evloop_co *co);

static void trampoline(void)
{
	struct evloop_co *co = starting;
	sw_arrive(NULL, &co->from_low, &co->from_size);
	co->handle(co->w, &co->r);
	if (co->state == CO_PARKED)
		co_end(co);
	co->state = CO_DONE;
	sw_leave(NULL, co->from_low, co->from_size);   /* this stack is done */
	setcontext(co->back);
}

/* http_req.park: on the worker, inside the request. */
static int co_park(struct http_req *r)
{
	struct evloop_co *co = current;
	if (!co || &co->r != r || co->state != CO_RUN || !r->fcgx || FCGX_FFlush(co->fr.out) != 0)
		return 0;
	co->cfd = co->fr.ipcFd;
	co->id = (unsigned)co->fr.requestId;
	int fl = fcntl(co->cfd, F_GETFL);
	if (fl < 0 || fcntl(co->cfd, F_SETFL, fl | O_NONBLOCK) != 0)
		return 0;
	buf_init(&co->out, SIZE_MAX);
	co->hev = (struct http_ev){ ev_write, ev_flush };
	r->ev = &co->hev;
	/* libfcgi's streams (8 KB buffers for stdin and stdout, 512 bytes
	 * for stderr) are not used again: the body was read, and the answer
	 * goes out as records of our own; only the parameters stay */
	FCGX_FreeStream(&co->fr.in);
	FCGX_FreeStream(&co->fr.out);
	FCGX_FreeStream(&co->fr.err);
	log_debug("%s parked on the event loop", r->request_id);
	/* the stack below this point was used by what ran before (parsing,
	 * the upstream's connection): hand it all back; the stream's reads
	 * take the page or two they need again (their depth is a few KB) */
	char here;
	uintptr_t low = (uintptr_t)co->stack + 4096, top = (uintptr_t)&here & ~(uintptr_t)4095;
	if (top > low)
		madvise((void *)low, top - low, MADV_DONTNEED);
	co->state = CO_PARKING;
	co_yield(co);
	return 1;   /* on the loop now */
}

int evloop_run(struct evloop_co *co, void (*handle)(void *w, struct http_req *r), void *w)
{
	ucontext_t here;
	co->handle = handle;
	co->w = w;
	co->state = CO_RUN;
	co->r.park = co_park;
	getcontext(&co->ctx);
	co->ctx.uc_stack.ss_sp = co->stack + 4096;
	co->ctx.uc_stack.ss_size = SERVE_STACK_SIZE - 4096;
	co->ctx.uc_link = NULL;
	makecontext(&co->ctx, trampoline, 0);
	co->back = &here;
	starting = co;
	current = co;
	co_enter(co, &here);
	current = NULL;
	if (co->state != CO_PARKING)
		return 0;
	pthread_mutex_lock(&qmu);
	co->next = queue;
	queue = co;
	pthread_mutex_unlock(&qmu);
	uint64_t one = 1;
	ssize_t wr = write(qfd, &one, sizeof(one));
	(void)wr;
	return 1;
}

/* In the coroutine, on the loop: the answer's end, the connection closed. */
static void co_end(struct evloop_co *co)
{
	http_req_free(&co->r);
	if (!co->gone && fcgi_rec_end(&co->out, co->id, 0) == 0)
		wait_out(co, 0);
	epoll_ctl(ep, EPOLL_CTL_DEL, co->cfd, NULL);
	close(co->cfd);
	co->cfd = -1;
	/* libfcgi frees the request without writing or closing anything */
	co->fr.ipcFd = -1;
	co->fr.keepConnection = 0;
	FCGX_Stream *s[2] = { co->fr.out, co->fr.err };
	for (int i = 0; i < 2; i++)
		if (s[i])
			s[i]->wasFCloseCalled = s[i]->isClosed = 1;
	FCGX_Finish_r(&co->fr);
	buf_free(&co->out);
	free(co->rd);
	co->rd = NULL;
}

/* ------------------------------------------------------------ the loop */

/* Watch fd for mask (level-triggered) for co; kept until another mask, a
 * wait for the client (up_unwatch) or fd's close (loop_forget). */
static int up_watch(struct evloop_co *co, int fd, unsigned mask)
{
	if (co->up_fd == fd && co->up_mask == mask)
		return 0;
	struct epoll_event e = { .events = mask, .data.ptr = &co->up_tag };
	if (co->up_fd == fd && epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e) == 0) {
		co->up_mask = mask;
		return 0;
	}
	up_unwatch(co);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0 && (errno != EEXIST || epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e) != 0))
		return -1;
	co->up_fd = fd;
	co->up_mask = mask;
	return 0;
}

static void up_unwatch(struct evloop_co *co)
{
	if (co->up_fd >= 0)
		epoll_ctl(ep, EPOLL_CTL_DEL, co->up_fd, NULL);
	co->up_fd = -1;
	co->up_mask = 0;
}

/* upstream.c's word that fd is about to close: closing takes it out of the
 * epoll set, and its number may come back as another socket. */
static void loop_forget(int fd)
{
	struct evloop_co *co = current;
	if (co && co->up_fd == fd) {
		co->up_fd = -1;
		co->up_mask = 0;
	}
}

/* upstream.c's wait, on the loop thread: register, yield, resumed by the
 * loop when fd is ready (1), at the deadline (0) or when the client left
 * (-1). */
static int loop_wait(int fd, short ev, int64_t deadline)
{
	struct evloop_co *co = current;
	/* the cap: past it the upstream is not read until the client took
	 * some of what it has */
	int held = co->out.len >= EVLOOP_OUT_CAP && wait_out(co, EVLOOP_OUT_CAP - 1) == 0;
	if (co->gone) {
		errno = ECONNABORTED;
		return -1;
	}
	if (held)
		return 1;   /* a look first: it may have sent meanwhile */
	if (up_watch(co, fd, ev & POLLOUT ? EPOLLOUT : EPOLLIN) != 0)
		return -1;
	co->wait_up = 1;
	co->deadline = deadline;
	if (deadline < next_due)
		next_due = deadline;
	co_yield(co);
	co->wait_up = 0;
	if (co->result < 0)
		errno = ECONNABORTED;
	return co->result;
}

static void resume(struct evloop_co *co, int result)
{
	co->result = result;
	co->back = &loop_ctx;
	current = co;
	co_enter(co, &loop_ctx);
	current = NULL;
	if (co->state != CO_DONE)
		return;
	if (co->prev)
		co->prev->next = co->next;
	else
		parked = co->next;
	if (co->next)
		co->next->prev = co->prev;
	co->next = ended;
	ended = co;
	__atomic_sub_fetch(&parked_n, 1, __ATOMIC_RELAXED);
	done_cb();
}

static void take_queue(void)
{
	uint64_t v;
	ssize_t rd = read(qfd, &v, sizeof(v));
	(void)rd;
	pthread_mutex_lock(&qmu);
	struct evloop_co *q = queue;
	queue = NULL;
	pthread_mutex_unlock(&qmu);
	while (q) {
		struct evloop_co *co = q;
		q = q->next;
		co->state = CO_PARKED;
		co->prev = NULL;
		co->next = parked;
		if (parked)
			parked->prev = co;
		parked = co;
		__atomic_add_fetch(&parked_n, 1, __ATOMIC_RELAXED);
		co->cmask = EPOLLIN | EPOLLRDHUP;
		struct epoll_event e = { .events = co->cmask, .data.ptr = &co->cl_tag };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, co->cfd, &e) != 0)
			co->gone = 1;
		out_flush(co);
		resume(co, 1);   /* it goes on reading its upstream */
	}
}

static void client_event(struct evloop_co *co, unsigned events)
{
	if (events & (EPOLLERR | EPOLLHUP))
		co->gone = 1;
	else if (events & (EPOLLIN | EPOLLRDHUP))
		cl_read(co);
	if (!co->gone && (events & EPOLLOUT))
		out_flush(co);
	if (co->gone) {
		co->r.client_gone = 1;
		if (co->wait_up || co->wait_out)
			resume(co, -1);
	} else if (co->wait_out && co->out.len <= co->out_below) {
		resume(co, 1);
	}
}

/* Resume the requests whose deadline passed, and find the next one. */
static void scan_deadlines(int64_t now)
{
	next_due = INT64_MAX;
	for (struct evloop_co *co = parked, *next; co; co = next) {
		next = co->next;
		if (co->wait_up && co->deadline <= now)
			resume(co, 0);   /* a new wait lowers next_due itself */
		else if (co->wait_up && co->deadline < next_due)
			next_due = co->deadline;
	}
}

/* epoll_wait's timeout: until the next deadline, or for ever. */
static int sleep_ms(int64_t now)
{
	if (next_due == INT64_MAX)
		return -1;
	int64_t left = next_due - now;
	return left <= 0 ? 0 : left > EVLOOP_SLEEP_MAX_MS ? EVLOOP_SLEEP_MAX_MS : (int)left;
}

static void *loop_main(void *arg)
{
	(void)arg;
	upstream_set_wait_hook(loop_wait, loop_forget);
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, sleep_ms(mono_ms()));
		for (int i = 0; i < n; i++) {
			struct evtag *t = evs[i].data.ptr;
			if (!t) {
				take_queue();
				continue;
			}
			struct evloop_co *co = t->co;
			if (co->state != CO_PARKED)
				continue;
			if (t->client)
				client_event(co, evs[i].events);
			else if (co->wait_up)
				resume(co, 1);
		}
		int64_t now = mono_ms();
		if (now >= next_due)
			scan_deadlines(now);
		while (ended) {
			struct evloop_co *co = ended;
			ended = co->next;
			evloop_co_free(co);
		}
	}
	return NULL;
}

int evloop_start(void (*done)(void))
{
	done_cb = done;
	ep = epoll_create1(EPOLL_CLOEXEC);
	qfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	if (ep < 0 || qfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, qfd, &e) != 0)
		return -1;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10);
	int rc = pthread_create(&t, &attr, loop_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -1;
	pthread_detach(t);
	return 0;
}
#endif
