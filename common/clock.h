/* clock.h — milliseconds on the monotonic clock, for deadlines and ages
 * (pool_now_ms() is wall-clock time, for timestamps). */
#ifndef LLMGATE_CLOCK_H
#define LLMGATE_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif
