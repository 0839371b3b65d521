/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka APIs chronik-server serves. One file per area under
 * chronik-server/src/handlers/ defines handler functions (signature and
 * return values: broker.h); table.c lists them with their version range,
 * and the broker registers that table at start-up. To add an API:
 *   1. write handlers/<area>.c with
 *        int chronik_handle_<api>(chronik_request *req, const void *body,
 *                                 void *resp);
 *   2. declare it below, add a line to chronik_handler_table in table.c,
 *   3. add the file to chronik-server/meson.build (server_handler_srcs).
 * ApiVersions then advertises the new range automatically.
 * All handlers run on the loop thread.
 */
#ifndef CHRONIK_SERVER_HANDLERS_H
#define CHRONIK_SERVER_HANDLERS_H

#include "../broker.h"

extern const chronik_handler chronik_handler_table[];
extern const size_t chronik_handler_table_len;

/* api_versions.c */
int chronik_handle_api_versions(chronik_request *req, const void *body,
				void *resp);
/* Fill an ApiVersions response with the registered APIs. */
int chronik_api_versions_fill(chronik_request *req, void *resp);
/* metadata.c */
int chronik_handle_metadata(chronik_request *req, const void *body,
			    void *resp);
/* produce.c */
int chronik_handle_produce(chronik_request *req, const void *body,
			   void *resp);
/* fetch.c */
int chronik_handle_fetch(chronik_request *req, const void *body,
			 void *resp);
/* Called when the connection of a waiting fetch goes away or on
 * shutdown: answer now with what there is. */
void chronik_fetch_cancel(chronik_request *req);
/* list_offsets.c */
int chronik_handle_list_offsets(chronik_request *req, const void *body,
				void *resp);
/* init_producer_id.c */
int chronik_handle_init_producer_id(chronik_request *req, const void *body,
				    void *resp);
/* create_topics.c */
int chronik_handle_create_topics(chronik_request *req, const void *body,
				 void *resp);
/* delete_topics.c */
int chronik_handle_delete_topics(chronik_request *req, const void *body,
				 void *resp);
/* create_partitions.c */
int chronik_handle_create_partitions(chronik_request *req, const void *body,
				     void *resp);
/* delete_records.c */
int chronik_handle_delete_records(chronik_request *req, const void *body,
				  void *resp);
/* describe_configs.c */
int chronik_handle_describe_configs(chronik_request *req, const void *body,
				    void *resp);
/* Whether `name` is a broker config DescribeConfigs reports. */
bool chronik_admin_broker_config_known(const char *name);
/* alter_configs.c */
int chronik_handle_alter_configs(chronik_request *req, const void *body,
				 void *resp);
int chronik_handle_incremental_alter_configs(chronik_request *req,
					     const void *body, void *resp);
/* describe_cluster.c */
int chronik_handle_describe_cluster(chronik_request *req, const void *body,
				    void *resp);
/* describe_log_dirs.c */
int chronik_handle_describe_log_dirs(chronik_request *req, const void *body,
				     void *resp);
/* describe_topic_partitions.c */
int chronik_handle_describe_topic_partitions(chronik_request *req,
					     const void *body, void *resp);

/* group_membership.c */
int chronik_handle_find_coordinator(chronik_request *req, const void *body,
				    void *resp);
int chronik_handle_join_group(chronik_request *req, const void *body,
			      void *resp);
int chronik_handle_sync_group(chronik_request *req, const void *body,
			      void *resp);
int chronik_handle_heartbeat(chronik_request *req, const void *body,
			     void *resp);
int chronik_handle_leave_group(chronik_request *req, const void *body,
			       void *resp);
/* group_offsets.c */
int chronik_handle_offset_commit(chronik_request *req, const void *body,
				 void *resp);
int chronik_handle_offset_fetch(chronik_request *req, const void *body,
				void *resp);
int chronik_handle_offset_delete(chronik_request *req, const void *body,
				 void *resp);
/* group_admin.c */
int chronik_handle_list_groups(chronik_request *req, const void *body,
			       void *resp);
int chronik_handle_describe_groups(chronik_request *req, const void *body,
				   void *resp);
int chronik_handle_delete_groups(chronik_request *req, const void *body,
				 void *resp);

/* Map a chronik error code to a Kafka error code (handlers share it). */
int16_t chronik_kafka_error_from(int rc);

#endif /* CHRONIK_SERVER_HANDLERS_H */
