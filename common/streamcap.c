/* streamcap.c — the open-stream count of a router process (streamcap.h). */
#include "autoconf.h"
#include "streamcap.h"

static int open_now;

int streamcap_take(int max)
{
	int n = __atomic_add_fetch(&open_now, 1, __ATOMIC_ACQ_REL);
	if (max > 0 && n > max) {
		__atomic_sub_fetch(&open_now, 1, __ATOMIC_ACQ_REL);
		return 0;
	}
	return 1;
}

void streamcap_give(void)
{
	__atomic_sub_fetch(&open_now, 1, __ATOMIC_ACQ_REL);
}

int streamcap_open(void)
{
	return __atomic_load_n(&open_now, __ATOMIC_ACQUIRE);
}
