/* SPDX-License-Identifier: Apache-2.0 */
/* Log-bucket latency histogram; see hist.h. */
#include <math.h>
#include <string.h>

#include "hist.h"

#define SUB (1u << BENCH_HIST_SUB_BITS)      /* 64 */
#define EXACT (2u * SUB)                     /* values below are exact */

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, e;

	if (v < EXACT)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	e = msb - BENCH_HIST_SUB_BITS;       /* >= 1 */
	return e * SUB + (unsigned)(v >> e); /* v >> e in [SUB, 2 SUB) */
}

/* Lowest value of a bucket and its width. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
	unsigned e, m;

	if (i < EXACT) {
		*lo = i;
		*width = 1;
		return;
	}
	e = i / SUB - 1;
	m = i % SUB + SUB;
	*lo = (uint64_t)m << e;
	*width = (uint64_t)1 << e;
}

void bench_hist_reset(bench_hist *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
}

void bench_hist_record(bench_hist *h, uint64_t v)
{
	h->buckets[bucket_of(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void bench_hist_merge(bench_hist *into, const bench_hist *from)
{
	if (!from->count)
		return;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t bench_hist_quantile(const bench_hist *h, double q)
{
	uint64_t target, seen = 0, lo, width, v;

	if (!h->count)
		return 0;
	if (q >= 1.0)
		return h->max;
	target = (uint64_t)ceil(q * (double)h->count);
	if (target < 1)
		target = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen < target)
			continue;
		bucket_range(i, &lo, &width);
		v = lo + width / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}

double bench_hist_mean(const bench_hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
