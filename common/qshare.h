/* qshare.h — quota counters shared by every router process of one state
 * folder (FastCGI processes, CGI processes, threads): the per-key windows of
 * the last minute, the reservations of requests in flight, and the usage
 * recorded in the spool that settle has not folded into the ledger yet.
 *
 * They live in one file, $STATE_DIR/run/quota.shm, that each process maps
 * (MAP_SHARED); every look or change happens between qshare_lock and
 * qshare_unlock (a process-wide mutex and flock(2) on the file, which the
 * kernel lets go when a holder dies). The file is made on first use, its
 * space allocated at once (no SIGBUS on a full disk later), and made anew
 * when its layout is not this program's.
 *
 * Crash safety: a reservation carries its process id and is dropped when
 * that process is gone (or after QSHARE_RESERVE_MAX_MS); unsettled usage
 * carries the spool segment its record is in, and is dropped once settle
 * has taken that segment (it renames a segment only after the ledger holds
 * it). Usage whose record could not be written (segment "") carries its
 * process id and goes with its process, as its record would. */
#ifndef LLMGATE_QSHARE_H
#define LLMGATE_QSHARE_H
#include <stddef.h>
#include <stdint.h>

#define QSHARE_WINDOW_S 60
#define QSHARE_RESERVE_MAX_MS (3LL * 3600 * 1000)

struct qshare;

/* Map state_dir/run/quota.shm, making it when create is set. NULL with
 * err on failure (not made yet, no space, no permission): callers fail
 * closed for keys with limits. */
struct qshare *qshare_open(const char *state_dir, int create, char *err, size_t errlen);
void qshare_close(struct qshare *s);

/* Hold the counters (threads of this process and other processes). */
void qshare_lock(struct qshare *s);
void qshare_unlock(struct qshare *s);

/* Drop reservations of dead processes and unsettled usage whose segment
 * (in spool_dir) is no longer pending; at most once a second across all
 * processes unless force. Locked. */
void qshare_prune(struct qshare *s, const char *spool_dir, int64_t now_ms, int force);

/* The key's last minute: requests counted, tokens used, plus the tokens
 * its requests in flight reserved; *reset_s: seconds until the oldest
 * counted second leaves the window (>= 1). Locked. */
void qshare_window(struct qshare *s, const char *key, int64_t now_s, unsigned *reqs, long long *toks,
		   long *reset_s);

/* Tokens and cost the key has spent outside the ledger (unsettled usage
 * plus reservations in flight): overall and in month ("YYYY-MM"). Locked. */
struct qshare_spent {
	long long tokens, tokens_month;
	double cost, cost_month;
};
void qshare_spent(struct qshare *s, const char *key, const char *month, struct qshare_spent *out);

/* Reserve tokens and cost for a request of key starting now, and count it
 * in the key's request window. Returns the reservation's handle (>= 0), or
 * -1 when the table is full. Locked. */
int qshare_reserve(struct qshare *s, const char *key, const char *month, long long tokens, double cost,
		   int64_t now_ms);
/* Replace reservation hold (-1: none) by what the request used: tokens
 * into the key's window, tokens and cost as unsettled usage of segment seg
 * ("" when its record could not be written). Returns 0, or -1 when the
 * usage table is full (the usage is then lost to the counters until
 * settle). Locked. */
int qshare_settle(struct qshare *s, int hold, const char *key, const char *month, long long tokens,
		  double cost, const char *seg, int64_t now_ms);
/* Add usage of key in segment seg ("": not written) to the unsettled
 * usage, without touching any window. 0, or -1 when the table is full.
 * Locked. */
int qshare_unsettled(struct qshare *s, const char *key, const char *month, long long tokens, double cost,
		     const char *seg);
#endif
