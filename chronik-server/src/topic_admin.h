/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Topic administration shared by the admin handlers (CreateTopics,
 * DeleteTopics, CreatePartitions, AlterConfigs, ...): changing a live
 * topic's configs and partition count in the metadata store, the topic
 * cache and the storage, and removing deleted topics' data.
 *
 * Deleted topics: the storage (libchronik-storage 0.1) has no way to
 * close or remove a partition, and keeps writing through the partition's
 * directory path, so the directories cannot be renamed while it runs.
 * On DeleteTopics the data is cut off instead (DeleteRecords up to the
 * high watermark: nothing stays readable, the cleaner drops the closed
 * segments) and the WAL is checkpointed; at the next start, before the
 * storage opens, the directories of topics marked deleted are renamed to
 * <topic>-<p>.<id hex>-delete, the topic records purged, and every
 * *-delete directory removed on a libuv worker thread.
 *
 * Loop thread unless said otherwise.
 */
#ifndef CHRONIK_SERVER_TOPIC_ADMIN_H
#define CHRONIK_SERVER_TOPIC_ADMIN_H

#include "broker.h"

/* Replace a live topic's configs (already validated) durably in the
 * metadata store, then push the new partition log configuration to its
 * partitions and the topic cache. 0 or a negative code. */
int chronik_topic_admin_set_configs(chronik_broker *b, chronik_topic *t,
				    const chronik_storage_meta_config *cfgs,
				    size_t n);

/* Raise a topic's partition count: metadata store, then open the new
 * partitions and grow the cache arrays (waiter lists stay valid).
 * 0 or a negative code. */
int chronik_topic_admin_grow(chronik_broker *b, chronik_topic *t,
			     int32_t partitions);


/* Start-up hook, after the metadata store opened and before the storage
 * opens (main thread): rename deleted topics' partition directories to
 * *-delete, purge their records, and queue their removal on the loop's
 * worker pool. Failures are logged, never fatal. */
void chronik_topic_admin_purge_deleted(chronik_broker *b);

#endif /* CHRONIK_SERVER_TOPIC_ADMIN_H */
