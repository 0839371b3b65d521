/* SPDX-License-Identifier: Apache-2.0 */
/* The WAL's statistics as broker metrics (see wal_metrics.h). */
#include <string.h>

#include <chronik/wal.h>

#include "wal_metrics.h"

/* Store the WAL's log2 buckets src[] into h (whose bounds are 2^(i+1) - 1
 * in the buckets' unit), the buckets past h's last bound into +Inf, and
 * the sum. */
static void copy_log2(chronik_histogram *h, const uint64_t *src,
		      double sum)
{
	for (size_t i = 0; i <= h->nbounds; i++) {
		uint64_t c = 0;
		for (size_t k = i; k < CHRONIK_WAL_HIST_BUCKETS; k++) {
			c += src[k];
			if (i < h->nbounds)
				break; /* +Inf takes the rest */
		}
		atomic_store_explicit(&h->counts[i], c, memory_order_relaxed);
	}
	atomic_store_explicit(&h->sum_bits, chronik_metrics__dbits(sum),
			      memory_order_relaxed);
}

int chronik_wal_metrics_copy(chronik_storage *s, chronik_counter *syncs,
			     chronik_histogram *h, chronik_histogram *sync_s)
{
	chronik_wal_stats ws;
	int rc;

	memset(&ws, 0, sizeof ws);
	ws.version = CHRONIK_WAL_STATS_VERSION;
	rc = chronik_storage_wal_stats(&ws, s);
	if (rc != 0)
		return rc;
	atomic_store_explicit(&syncs->value, ws.syncs, memory_order_relaxed);
	copy_log2(h, ws.batch_records_hist, (double)ws.records);
	if (sync_s)
		copy_log2(sync_s, ws.sync_us_hist,
			  (double)ws.sync_ns_total / 1e9);
	return 0;
}
