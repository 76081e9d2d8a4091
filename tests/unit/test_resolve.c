/* test_resolve.c — lookups made on a helper thread while the caller waits
 * the way a request on the event loop does (resolve.h). */
#include "autoconf.h"
#include "clock.h"
#include "resolve.h"
#include "tap.h"
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <time.h>

static int waits, waited_fd = -1, forgot_fd = -2;

static void forget(int fd)
{
	forgot_fd = fd;
}

static int wait_poll(int fd, short ev, int64_t deadline)
{
	waits++;
	waited_fd = fd;
	int64_t left = deadline - mono_ms();
	struct pollfd p = { fd, ev, 0 };
	int r = poll(&p, 1, left > 0 ? (int)left : 0);
	return r > 0 ? 1 : r == 0 ? 0 : -1;
}

static int wait_gone(int fd, short ev, int64_t deadline)
{
	(void)fd, (void)ev, (void)deadline;
	waits++;
	return -1;
}

static int wait_late(int fd, short ev, int64_t deadline)
{
	(void)fd, (void)ev, (void)deadline;
	waits++;
	return 0;
}

static const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };

int main(void)
{
	struct addrinfo *res = NULL;
	waits = 0;
	is_int(resolve_waiting("127.0.0.1", "443", &hints, &res, wait_poll, NULL, mono_ms() + 5000), 0, "an address literal");
	ok(res && res->ai_family == AF_INET, "read as it is");
	is_int(waits, 0, "without a thread or a wait");
	freeaddrinfo(res);

	res = NULL;
	waits = 0;
	is_int(resolve_waiting("localhost", "80", &hints, &res, wait_poll, forget, mono_ms() + 5000), 0, "a name");
	ok(res != NULL, "its addresses");
	is_int(waits, 1, "looked up while the caller waited once");
	is_int(forgot_fd, waited_fd, "the descriptor waited for is forgotten before it closes");
	freeaddrinfo(res);

	res = NULL;
	waits = 0;
	errno = 0;
	is_int(resolve_waiting("localhost", "80", &hints, &res, wait_gone, NULL, mono_ms() + 5000), EAI_SYSTEM,
	       "a wait that fails (the client left)");
	is_int(errno, ECONNABORTED, "says so");
	ok(res == NULL, "nothing handed back");
	is_int(resolve_waiting("localhost", "80", &hints, &res, wait_late, NULL, mono_ms()), EAI_SYSTEM, "a deadline passed");
	is_int(errno, ETIMEDOUT, "says so");
	/* the helpers end on their own and free what they found */
	struct timespec t = { 0, 300 * 1000000L };
	nanosleep(&t, NULL);
	return done_testing();
}
