/* SPDX-License-Identifier: Apache-2.0 */
/* The table of served Kafka APIs and their version ranges. ApiVersions
 * advertises exactly this. Produce v0-2 and Fetch v0-3 carry the legacy
 * message formats (magic 0/1), which the log does not store; Kafka 4.0
 * dropped them too (KIP-896). */
#include "handlers.h"

const chronik_handler chronik_handler_table[] = {
	{ CHRONIK_PROTOCOL_API_PRODUCE, 3, 11, chronik_handle_produce },
	{ CHRONIK_PROTOCOL_API_FETCH, 4, 17, chronik_handle_fetch },
	{ CHRONIK_PROTOCOL_API_LIST_OFFSETS, 0, 9,
	  chronik_handle_list_offsets },
	{ CHRONIK_PROTOCOL_API_METADATA, 0, 12, chronik_handle_metadata },
	{ CHRONIK_PROTOCOL_API_API_VERSIONS, 0, 4,
	  chronik_handle_api_versions },
	{ CHRONIK_PROTOCOL_API_CREATE_TOPICS, 0, 7,
	  chronik_handle_create_topics },
	{ CHRONIK_PROTOCOL_API_DELETE_TOPICS, 0, 6,
	  chronik_handle_delete_topics },
	{ CHRONIK_PROTOCOL_API_DELETE_RECORDS, 0, 2,
	  chronik_handle_delete_records },
	{ CHRONIK_PROTOCOL_API_DESCRIBE_CONFIGS, 0, 4,
	  chronik_handle_describe_configs },
	{ CHRONIK_PROTOCOL_API_ALTER_CONFIGS, 0, 2,
	  chronik_handle_alter_configs },
	{ CHRONIK_PROTOCOL_API_DESCRIBE_LOG_DIRS, 0, 4,
	  chronik_handle_describe_log_dirs },
	{ CHRONIK_PROTOCOL_API_CREATE_PARTITIONS, 0, 3,
	  chronik_handle_create_partitions },
	{ CHRONIK_PROTOCOL_API_INCREMENTAL_ALTER_CONFIGS, 0, 1,
	  chronik_handle_incremental_alter_configs },
	{ CHRONIK_PROTOCOL_API_DESCRIBE_CLUSTER, 0, 1,
	  chronik_handle_describe_cluster },
	{ CHRONIK_PROTOCOL_API_DESCRIBE_TOPIC_PARTITIONS, 0, 0,
	  chronik_handle_describe_topic_partitions },

	/* Consumer groups, classic protocol (group_*.c). FindCoordinator
	 * v6 is KIP-932 share groups. */
	{ CHRONIK_PROTOCOL_API_FIND_COORDINATOR, 0, 5,
	  chronik_handle_find_coordinator },
	{ CHRONIK_PROTOCOL_API_JOIN_GROUP, 0, 9, chronik_handle_join_group },
	{ CHRONIK_PROTOCOL_API_SYNC_GROUP, 0, 5, chronik_handle_sync_group },
	{ CHRONIK_PROTOCOL_API_HEARTBEAT, 0, 4, chronik_handle_heartbeat },
	{ CHRONIK_PROTOCOL_API_LEAVE_GROUP, 0, 5,
	  chronik_handle_leave_group },
	{ CHRONIK_PROTOCOL_API_OFFSET_COMMIT, 0, 9,
	  chronik_handle_offset_commit },
	{ CHRONIK_PROTOCOL_API_OFFSET_FETCH, 0, 9,
	  chronik_handle_offset_fetch },
	{ CHRONIK_PROTOCOL_API_OFFSET_DELETE, 0, 0,
	  chronik_handle_offset_delete },
	{ CHRONIK_PROTOCOL_API_LIST_GROUPS, 0, 5,
	  chronik_handle_list_groups },
	{ CHRONIK_PROTOCOL_API_DESCRIBE_GROUPS, 0, 5,
	  chronik_handle_describe_groups },
	{ CHRONIK_PROTOCOL_API_DELETE_GROUPS, 0, 2,
	  chronik_handle_delete_groups },

	/* From v0: librdkafka 2.0 enables idempotence only then. */
	{ CHRONIK_PROTOCOL_API_INIT_PRODUCER_ID, 0, 5,
	  chronik_handle_init_producer_id },
};

const size_t chronik_handler_table_len =
	sizeof chronik_handler_table / sizeof chronik_handler_table[0];
