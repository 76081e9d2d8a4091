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

/* a holder that never lets go, and a second thread that wants a slot */
static int stuck_go, second_in;

static void *stuck_holder(void *p)
{
	(void)p;
	admit_enter();
	while (!__atomic_load_n(&stuck_go, __ATOMIC_SEQ_CST))
		sched_yield();
	admit_leave();
	return NULL;
}

static void *second(void *p)
{
	(void)p;
	admit_enter();
	__atomic_store_n(&second_in, 1, __ATOMIC_SEQ_CST);
	admit_leave();
	return NULL;
}

static void wait_a_moment(void)
{
	for (int i = 0; i < 20000; i++)
		sched_yield();
}

static void lending(void)
{
	admit_init(1);
	pthread_t a, b;
	pthread_create(&a, NULL, stuck_holder, NULL);
	wait_a_moment();
	pthread_create(&b, NULL, second, NULL);
	wait_a_moment();
	is_int(__atomic_load_n(&second_in, __ATOMIC_SEQ_CST), 0, "one slot, held: the second thread waits");
	admit_tick(0, 0);
	wait_a_moment();
	is_int(__atomic_load_n(&second_in, __ATOMIC_SEQ_CST), 0, "nothing queued: no slot lent");
	admit_tick(1, 1);
	wait_a_moment();
	is_int(__atomic_load_n(&second_in, __ATOMIC_SEQ_CST), 0, "queued but requests taken: no slot lent");
	admit_tick(1, 0);
	pthread_join(b, NULL);
	is_int(second_in, 1, "queued and nothing taken for a tick: a slot is lent");
	__atomic_store_n(&stuck_go, 1, __ATOMIC_SEQ_CST);
	pthread_join(a, NULL);
	admit_tick(0, 0);   /* the lent slot given back */
	admit_enter();
	is_int(admit_holding(), 1, "after the queue emptied, the one slot again");
	admit_leave();
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
	lending();
	return done_testing();
}
