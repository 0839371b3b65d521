/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker side of idempotent producers (docs/idempotence.md):
 * - per-partition producer state (producer_state.h), loaded lazily on
 *   the first idempotent produce to a partition from the newest snapshot
 *   in the metadata store plus a scan of the batch headers after it, and
 *   snapshotted every CHRONIK_PRODUCERS_SNAPSHOT_MS while it changes and
 *   at shutdown;
 * - the producer-id manager: ids come from the metadata store's durable
 *   allocator in blocks, the current epoch of each id is kept (and
 *   stored) for InitProducerId's KIP-360 epoch bump.
 * Loop thread only.
 */
#ifndef CHRONIK_SERVER_PRODUCERS_H
#define CHRONIK_SERVER_PRODUCERS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "producer_state.h"

/* Snapshot a changed partition's state at most this often. */
#define CHRONIK_PRODUCERS_SNAPSHOT_MS 30000
/* Producer ids reserved from the metadata store at a time. */
#define CHRONIK_PRODUCERS_ID_BLOCK 1000
/* Reserved "producer id" under which a partition's snapshot blob is
 * stored in the metadata store. */
#define CHRONIK_PRODUCERS_SNAPSHOT_PID INT64_MAX
/* Pseudo topic (not a valid Kafka name) holding the epoch registry. */
#define CHRONIK_PRODUCERS_REGISTRY_TOPIC "#producer-ids"

/* One partition's producer state in the broker. */
typedef struct chronik_pstate_part {
	chronik_storage_partition *part;
	char *topic;
	int32_t partition;
	chronik_pstate ps;
	int64_t last_snapshot_ms;
	int64_t last_expire_ms;
	bool dirty;
	struct chronik_pstate_part *next;
} chronik_pstate_part;

/* The state of partition `index` of t, loaded on first use. NULL when
 * it cannot be loaded (out of memory, unreadable log: logged). */
chronik_pstate_part *chronik_producers_part(chronik_broker *b,
					    chronik_topic *t, int32_t index);
/* After appends: expire idle producers, snapshot when due. */
void chronik_producers_touched(chronik_broker *b, chronik_pstate_part *pp);
/* Snapshot every changed partition synchronously (graceful shutdown,
 * before the storage closes). */
void chronik_producers_snapshot_all(chronik_broker *b);
/* Free everything (after the storage closed and posts drained). */
void chronik_producers_free(chronik_broker *b);

/* A new producer id. 0 or a negative chronik code. */
int chronik_producers_new_id(chronik_broker *b, int64_t *pid);
/* The epoch registry: the entry of a producer id (epoch, last_ts =
 * time of its last InitProducerId), NULL if unknown; loaded from the
 * metadata store on first use. */
chronik_pstate_producer *chronik_producers_registry_find(chronik_broker *b,
							 int64_t pid);
/* Set pid's epoch and add the durable write to mb. 0 or negative. */
int chronik_producers_registry_set(chronik_broker *b,
				   chronik_storage_meta_batch *mb,
				   int64_t pid, int16_t epoch);

#endif /* CHRONIK_SERVER_PRODUCERS_H */
