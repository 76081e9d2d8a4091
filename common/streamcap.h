/* streamcap.h — how many streams one router process holds open at once.
 *
 * [server] max_streams caps the streamed answers a process serves at the
 * same moment: a stream request over it is refused with 503 and
 * Retry-After before anything is held or sent upstream, so that a client
 * learns at once to come back later instead of waiting in the web
 * server's queue for a thread. The count is the process's own (each
 * router process of a web server's pool has its cap). */
#ifndef LLMGATE_STREAMCAP_H
#define LLMGATE_STREAMCAP_H

/* Take one of max open-stream places (max <= 0: no cap, always taken).
 * 1: taken, give it back with streamcap_give; 0: all max are taken. */
int streamcap_take(int max);
/* Give a place taken by streamcap_take back. */
void streamcap_give(void);
/* Streams open now in this process. */
int streamcap_open(void);
#endif
