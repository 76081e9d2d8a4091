/* test_streamcap.c — the open-stream cap: never more places taken than the
 * cap, threads racing for the last ones included; 0 means no cap. */
#include "autoconf.h"
#include "streamcap.h"
#include "tap.h"
#include <pthread.h>

#define THREADS 8
#define ROUNDS 2000
#define CAP 3

static int inside, most, refused;

static void *worker(void *p)
{
	(void)p;
	for (int i = 0; i < ROUNDS; i++) {
		if (!streamcap_take(CAP)) {
			__atomic_add_fetch(&refused, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		int now = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		int m = __atomic_load_n(&most, __ATOMIC_SEQ_CST);
		while (now > m && !__atomic_compare_exchange_n(&most, &m, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		streamcap_give();
	}
	return NULL;
}

int main(void)
{
	for (int i = 0; i < CAP; i++)
		ok(streamcap_take(CAP), "place %d of %d taken", i + 1, CAP);
	is_int(streamcap_open(), CAP, "all places open");
	is_int(streamcap_take(CAP), 0, "one more is refused");
	is_int(streamcap_open(), CAP, "a refusal takes nothing");
	ok(streamcap_take(0), "no cap: always taken");
	streamcap_give();
	for (int i = 0; i < CAP; i++)
		streamcap_give();
	is_int(streamcap_open(), 0, "every place given back");

	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ok(most <= CAP, "never more than %d open at once (%d)", CAP, most);
	is_int(streamcap_open(), 0, "none left open after the race");
	return done_testing();
}
