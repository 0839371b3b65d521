/* SPDX-License-Identifier: Apache-2.0 */
/* The WAL's statistics as broker metrics (see wal_metrics.h). */
#include <string.h>

#include <chronik/wal.h>

#include "wal_metrics.h"

int chronik_wal_metrics_copy(chronik_storage *s, chronik_counter *syncs,
			     chronik_histogram *h)
{
	chronik_wal_stats ws;
	int rc;

	memset(&ws, 0, sizeof ws);
	ws.version = CHRONIK_WAL_STATS_VERSION;
	rc = chronik_storage_wal_stats(&ws, s);
	if (rc != 0)
		return rc;
	atomic_store_explicit(&syncs->value, ws.syncs, memory_order_relaxed);
	for (size_t i = 0; i <= h->nbounds; i++) {
		uint64_t c = 0;
		for (size_t k = i; k < CHRONIK_WAL_HIST_BUCKETS; k++) {
			c += ws.batch_records_hist[k];
			if (i < h->nbounds)
				break; /* +Inf takes the rest */
		}
		atomic_store_explicit(&h->counts[i], c, memory_order_relaxed);
	}
	atomic_store_explicit(&h->sum_bits,
			      chronik_metrics__dbits((double)ws.records),
			      memory_order_relaxed);
	return 0;
}
