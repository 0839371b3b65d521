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
	/* From v0: librdkafka 2.0 enables idempotence only then. */
	{ CHRONIK_PROTOCOL_API_INIT_PRODUCER_ID, 0, 5,
	  chronik_handle_init_producer_id },
};

const size_t chronik_handler_table_len =
	sizeof chronik_handler_table / sizeof chronik_handler_table[0];
