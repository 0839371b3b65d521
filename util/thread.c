/* SPDX-License-Identifier: Apache-2.0 */
#include "thread.h"

#include <pthread.h>
#include <sched.h>

void chronik_util_thread_setup(const char *name, int background)
{
	pthread_setname_np(pthread_self(), name);
#ifdef SCHED_BATCH
	if (background) {
		struct sched_param sp = { .sched_priority = 0 };

		(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	}
#else
	(void)background;
#endif
}
