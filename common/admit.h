/* admit.h — how many worker threads take new requests at once.
 *
 * A router runs [server] threads workers so that as many requests can wait
 * on slow upstreams at once (an LLM call lasts seconds, a stream its whole
 * length). Against a fast upstream (a cache, a local model, a quick error)
 * those threads all run at the same moment, and on a machine of two cores
 * sixteen of them crowd out the web server's own thread: make bench saw
 * the added latency at the 99th percentile grow by several ms over four
 * threads. So only hot_threads (two per core unless set) hold a slot: a
 * thread takes a slot before it accepts a request and gives it up when the
 * request turns slow: its upstream keeps it waiting for an answer more
 * than ADMIT_SLOW_MS, or pauses in the middle of one (a model writing as
 * it goes), or a new TLS connection needs its handshake. A thread without a slot
 * finishes its request, then waits for one. With a fast upstream no slot
 * ever changes hands (no lock, no wake-up per request); with slow ones
 * every thread can be busy. */
#ifndef LLMGATE_ADMIT_H
#define LLMGATE_ADMIT_H

/* a wait on the upstream longer than this gives the slot up */
#define ADMIT_SLOW_MS 5

/* slots <= 0: no limit (every call below does nothing) */
void admit_init(int slots);
/* before accepting a request: take a slot, waiting for one if needed (a
 * thread that holds one keeps it) */
void admit_enter(void);
/* this thread's request turned slow: hand its slot on */
void admit_leave(void);
/* does this thread hold a slot? */
int admit_holding(void);
/* Four times a second: queued, requests wait in the listen queue; accepted,
 * some were taken since the last tick. Queued requests that no thread took
 * for a tick, while threads wait for slots, mean the holders are stuck on
 * something else than an upstream (a client slow to read a large answer,
 * a locked database): one more slot is lent, and given back a tick at a
 * time once the queue is empty. */
void admit_tick(int queued, int accepted);
#endif
