/* resolve.h — a host name looked up without holding an event loop.
 *
 * getaddrinfo(3) blocks, for as long as the system's resolver takes (a
 * dead DNS server: seconds). A request parked on the event loop that
 * opens a connection (a retry or a fallback after it parked) must not
 * stop every other stream on that loop meanwhile: the lookup runs on a
 * thread of its own, and the request waits for it the way it waits for a
 * socket (the loop's wait function). */
#ifndef LLMGATE_RESOLVE_H
#define LLMGATE_RESOLVE_H
#include <netdb.h>
#include <stdint.h>

/* getaddrinfo(host, port, hints, res), the lookup made on a helper thread
 * while the caller waits with wait(fd, POLLIN, deadline) (1 ready, 0
 * deadline, -1 error: upstream.h's wait hook; forget(fd), if not NULL,
 * before that fd is closed). An address literal is
 * read at once, without a thread. Returns getaddrinfo's code; EAI_SYSTEM
 * with errno ETIMEDOUT at the deadline, ECONNABORTED when the wait failed
 * (the lookup then ends on its own and frees what it found). */
int resolve_waiting(const char *host, const char *port, const struct addrinfo *hints, struct addrinfo **res,
		    int (*wait)(int fd, short ev, int64_t deadline), void (*forget)(int fd), int64_t deadline);
#endif
