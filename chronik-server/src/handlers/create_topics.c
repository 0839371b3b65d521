/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CreateTopics: minimal for now: name, partition count (or
 * num.partitions), replication factor 1 (or -1), configs stored as given
 * and applied where the partition log understands them, validate_only.
 * Manual assignments must name this node. Extend here (config
 * validation, describe-style config results for v5+). Loop thread.
 */
#include <string.h>

#include "handlers.h"

typedef chronik_protocol_create_topics_response_creatable_topic_result
	topic_result;

static chronik_protocol_str cstr(const char *s)
{
	chronik_protocol_str r = { s, s ? (int32_t)strlen(s) : -1 };
	return r;
}

static void create_one(chronik_request *req,
		       const chronik_protocol_create_topics_request *r,
		       const chronik_protocol_create_topics_request_creatable_topic
			       *ct,
		       topic_result *res)
{
	chronik_broker *b = req->broker;
	chronik_storage_meta_config *cfgs = NULL;
	int32_t nparts = ct->num_partitions;
	const char *why = NULL;
	chronik_topic *t = NULL;
	char *name = chronik_request_strdup(req, &ct->name);
	int rc;

	res->num_partitions = -1;
	res->replication_factor = -1;
	if (!name || !chronik_topic_name_valid(ct->name.ptr,
					       (size_t)ct->name.len)) {
		res->error_code = CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
		res->error_message = cstr("invalid topic name");
		return;
	}
	if (ct->assignments_count > 0) {
		if (nparts != -1 || ct->replication_factor != -1) {
			res->error_code =
				CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
			res->error_message = cstr("give either assignments "
				"or partitions and replication factor");
			return;
		}
		for (int32_t i = 0; i < ct->assignments_count; i++) {
			const chronik_protocol_create_topics_request_creatable_replica_assignment
				*a = &ct->assignments[i];
			if (a->partition_index != i ||
			    a->broker_ids_count != 1 ||
			    a->broker_ids[0] != b->node_id) {
				res->error_code = CHRONIK_PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
				res->error_message = cstr("assignments must "
					"list partitions 0..n-1 on this node");
				return;
			}
		}
		nparts = ct->assignments_count;
	}
	if (nparts == 0 || nparts < -1) {
		res->error_code = CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS;
		res->error_message = cstr("partition count must be positive");
		return;
	}
	if (ct->replication_factor != -1 && ct->replication_factor != 1) {
		res->error_code =
			CHRONIK_PROTOCOL_ERR_INVALID_REPLICATION_FACTOR;
		res->error_message = cstr("replication factor must be 1 on "
					  "a standalone broker");
		return;
	}
	if (ct->configs_count > 0) {
		cfgs = chronik_protocol_arena_alloc(req->arena,
			(size_t)ct->configs_count * sizeof *cfgs);
		if (!cfgs) {
			res->error_code =
				CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
			return;
		}
		for (int32_t i = 0; i < ct->configs_count; i++) {
			cfgs[i].key = chronik_request_strdup(req,
				&ct->configs[i].name);
			cfgs[i].value = chronik_request_strdup(req,
				&ct->configs[i].value);
			if (!cfgs[i].key || !cfgs[i].value) {
				res->error_code =
					CHRONIK_PROTOCOL_ERR_INVALID_CONFIG;
				res->error_message = cstr("config without "
							  "a value");
				return;
			}
		}
	}
	rc = chronik_broker_topic_create(b, &t, name, nparts, cfgs,
		ct->configs_count > 0 ? (size_t)ct->configs_count : 0,
		r->validate_only, &why);
	if (rc == CHRONIK_EEXIST) {
		res->error_code = CHRONIK_PROTOCOL_ERR_TOPIC_ALREADY_EXISTS;
		res->error_message = cstr("topic already exists");
		return;
	}
	if (rc == CHRONIK_EARG) {
		res->error_code = CHRONIK_PROTOCOL_ERR_INVALID_CONFIG;
		res->error_message = cstr(why ? why : "invalid request");
		return;
	}
	if (rc != 0) {
		res->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
		res->error_message = cstr(chronik_strerror(rc));
		return;
	}
	res->num_partitions = nparts > 0 ? nparts : b->cfg->num_partitions;
	res->replication_factor = 1;
	if (t)
		memcpy(res->topic_id.bytes, t->id, 16);
}

int chronik_handle_create_topics(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_create_topics_request *r = body;
	chronik_protocol_create_topics_response *resp = resp_;
	int32_t n = r->topics_count > 0 ? r->topics_count : 0;

	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		topic_result *res = &resp->topics[i];
		chronik_protocol_create_topics_response_creatable_topic_result_init(
			res);
		res->name = r->topics[i].name;
		res->configs_count = -1;
		/* A name twice in one request: Kafka rejects both. */
		bool dup = false;
		for (int32_t j = 0; j < n; j++)
			if (j != i && r->topics[j].name.len ==
				      r->topics[i].name.len &&
			    memcmp(r->topics[j].name.ptr,
				   r->topics[i].name.ptr,
				   (size_t)r->topics[i].name.len) == 0)
				dup = true;
		if (dup) {
			res->error_code =
				CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
			res->error_message = cstr("topic named twice");
		} else {
			create_one(req, r, &r->topics[i], res);
		}
		if (req->api_version < 1)
			res->error_message.ptr = NULL,
			res->error_message.len = -1;
		if (res->error_code && !req->error_code)
			req->error_code = res->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
