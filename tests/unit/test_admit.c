/* test_admit.c — admission slots: never more holders than slots, every
 * waiter gets its turn, a holder keeps its slot, off means off. */
#include "autoconf.h"
#include "admit.h"
#include "tap.h"
#include <pthread.h>
#include <sched.h>

#define THREADS 6
#define ROUNDS 300

static int inside, most, rounds_done;

static void *worker(void *p)
{
	(void)p;
	for (int i = 0; i < ROUNDS; i++) {
		admit_enter();
		admit_enter();   /* a holder asking again keeps its one slot */
		int now = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		int m = __atomic_load_n(&most, __ATOMIC_SEQ_CST);
		while (now > m && !__atomic_compare_exchange_n(&most, &m, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		for (int k = 0; k < 50; k++)
			sched_yield();
		__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&rounds_done, 1, __ATOMIC_SEQ_CST);
		admit_leave();
		admit_leave();   /* leaving twice gives back one slot */
	}
	return NULL;
}

int main(void)
{
	/* off: nothing is held, nothing waits */
	admit_init(0);
	admit_enter();
	is_int(admit_holding(), 0, "no slots: entering holds nothing");
	admit_leave();

	admit_init(2);
	admit_enter();
	is_int(admit_holding(), 1, "a slot is held after entering");
	admit_leave();
	is_int(admit_holding(), 0, "and not after leaving");

	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	is_int(rounds_done, THREADS * ROUNDS, "every thread got through every round");
	ok(most <= 2, "never more than two threads inside at once (%d)", most);
	is_int(most, 2, "both slots were used");
	return done_testing();
}
