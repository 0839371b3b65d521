/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The WAL's statistics as broker metrics. Apart from broker.c because
 * chronik/wal.h and config.h both declare enum chronik_wal_profile.
 */
#ifndef CHRONIK_SERVER_WAL_METRICS_H
#define CHRONIK_SERVER_WAL_METRICS_H

#include <chronik/storage.h>

#include "metrics.h"

/*
 * Copy the storage's WAL statistics into chronik_wal_syncs_total
 * (`syncs`: the WAL's sync count) and chronik_wal_sync_records (`h`:
 * records per write batch, i.e. per group commit and sync). The WAL
 * counts batches in power-of-two buckets [2^i, 2^(i+1)); `h` must have
 * the bounds 2^(i+1) - 1 (1, 3, 7, ...), which hold exactly the same
 * integers; batches past its last bound go to +Inf. The sum is the
 * records written. `sync_s` (may be NULL) gets the sync durations,
 * counted by the WAL in microsecond buckets [2^i, 2^(i+1)), so its
 * bounds must be (2^(i+1) - 1) us in seconds, from 1 us on; its sum is
 * the total time spent syncing. Values are stored, not added: the WAL
 * counts since open, the process's lifetime. Any thread. 0 or a
 * negative code.
 */
int chronik_wal_metrics_copy(chronik_storage *s, chronik_counter *syncs,
			     chronik_histogram *h, chronik_histogram *sync_s);

#endif /* CHRONIK_SERVER_WAL_METRICS_H */
