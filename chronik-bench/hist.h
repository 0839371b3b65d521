/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Latency histogram with HDR-like logarithmic buckets: values below 128
 * are exact, above that every power of two is split into 64 linear
 * sub-buckets, so any recorded value is reported within 1/64 (1.6 %).
 * Values are nanoseconds (any uint64_t works); 3776 buckets cover the
 * whole range. Not thread-safe: one histogram per thread.
 */
#ifndef CHRONIK_BENCH_HIST_H
#define CHRONIK_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS) * \
			    (1 << BENCH_HIST_SUB_BITS) + \
			    (1 << BENCH_HIST_SUB_BITS))

typedef struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_reset(bench_hist *h);
void bench_hist_record(bench_hist *h, uint64_t v);
/* Add every value of `from` into `into`. */
void bench_hist_merge(bench_hist *into, const bench_hist *from);
/* The value at quantile q (0..1): the middle of its bucket, clamped to
 * the exact min and max. 0 for an empty histogram. */
uint64_t bench_hist_quantile(const bench_hist *h, double q);
double bench_hist_mean(const bench_hist *h);

#endif
