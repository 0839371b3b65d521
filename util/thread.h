/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helper (not installed): naming and scheduling of the
 * libraries' own threads. */
#ifndef CHRONIK_UTIL_THREAD_H
#define CHRONIK_UTIL_THREAD_H

/* Name the calling thread (at most 15 characters; shown by top -H, ps -L,
 * perf and gdb). With `background` set, also make it a Linux SCHED_BATCH
 * thread: same share of the CPU, but its wake-ups never preempt the
 * thread running on that CPU. For the threads whose work is off the
 * answer's path (a sync nobody waits for yet, segment copies, file
 * preparation): a wake-up of theirs, thousands per second, would otherwise
 * push aside the event loop or the client on a small machine. Failures are
 * ignored (the thread keeps the default policy). */
void chronik_util_thread_setup(const char *name, int background);

#endif
