/* admit.c — slots for worker threads taking new requests (admit.h). */
#include "autoconf.h"
#include "admit.h"
#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static int limit;      /* 0: off */
static int taken;
static int waiting;
static int lent;       /* slots lent while the holders are stuck (admit_tick) */
static __thread int held;

void admit_init(int slots)
{
	pthread_mutex_lock(&mu);
	limit = slots > 0 ? slots : 0;
	pthread_mutex_unlock(&mu);
}

void admit_enter(void)
{
	if (held || !__atomic_load_n(&limit, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&mu);
	while (limit && taken >= limit + lent) {
		waiting++;
		pthread_cond_wait(&freed, &mu);
		waiting--;
	}
	taken++;
	pthread_mutex_unlock(&mu);
	held = 1;
}

void admit_leave(void)
{
	if (!held)
		return;
	held = 0;
	pthread_mutex_lock(&mu);
	taken--;
	if (waiting)
		pthread_cond_signal(&freed);
	pthread_mutex_unlock(&mu);
}

int admit_holding(void)
{
	return held;
}

void admit_tick(int queued, int accepted)
{
	pthread_mutex_lock(&mu);
	if (limit) {
		if (queued && !accepted && waiting) {
			lent++;
			pthread_cond_signal(&freed);
		} else if (!queued && lent) {
			lent--;
		}
	}
	pthread_mutex_unlock(&mu);
}
