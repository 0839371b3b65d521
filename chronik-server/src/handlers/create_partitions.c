/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CreatePartitions v0-3: raise a topic's partition count (increase only:
 * INVALID_PARTITIONS otherwise), optional assignments of the new
 * partitions (INVALID_REPLICA_ASSIGNMENT unless one per new partition,
 * each naming this node once), validate_only. Loop thread.
 */
#include <string.h>

#include "../topic_admin.h"
#include "admin_util.h"

typedef chronik_protocol_create_partitions_response_create_partitions_topic_result
	cp_result;
typedef chronik_protocol_create_partitions_request_create_partitions_topic
	cp_topic;

typedef chronik_protocol_create_partitions_request_create_partitions_assignment
	cp_assignment;

#define MAX_PARTITIONS 100000
#define BAD_ASSIGNMENT CHRONIK_PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT

static void fail(chronik_request *req, cp_result *res, int16_t code,
		 chronik_protocol_str msg)
{
	res->error_code = code;
	res->error_message = msg;
	(void)req;
}

static void grow_one(chronik_request *req, bool validate_only,
		     const cp_topic *ct, cp_result *res)
{
	chronik_broker *b = req->broker;
	chronik_topic *t;
	int32_t add;
	int rc;

	t = chronik_broker_topic_find(b, ct->name.ptr, (size_t)ct->name.len);
	if (!t) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION,
		     admin_fmt(req, "The topic '%.*s' does not exist.",
			       (int)ct->name.len, ct->name.ptr));
		return;
	}
	if (ct->count < t->partitions) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS,
		     admin_fmt(req, "Topic currently has %d partitions, which "
			       "is higher than the requested %d.",
			       t->partitions, ct->count));
		return;
	}
	if (ct->count == t->partitions) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS,
		     admin_fmt(req, "Topic already has %d partitions.",
			       t->partitions));
		return;
	}
	if (ct->count > MAX_PARTITIONS) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS,
		     admin_fmt(req, "Number of partitions %d is over the "
			       "limit of %d.", ct->count, MAX_PARTITIONS));
		return;
	}
	add = ct->count - t->partitions;
	if (ct->assignments_count >= 0) {
		if (ct->assignments_count != add) {
			fail(req, res, BAD_ASSIGNMENT,
			     admin_fmt(req, "Attempted to add %d additional "
				       "partition(s), but only %d assignment(s)"
				       " were specified.", add,
				       ct->assignments_count));
			return;
		}
		for (int32_t i = 0; i < add; i++) {
			const cp_assignment *a = &ct->assignments[i];
			if (a->broker_ids_count != 1) {
				fail(req, res, BAD_ASSIGNMENT,
				     admin_fmt(req, "The manual partition "
					       "assignment of partition %d "
					       "needs exactly 1 replica (the "
					       "topic's replication factor).",
					       t->partitions + i));
				return;
			}
			if (a->broker_ids[0] != b->node_id) {
				fail(req, res, BAD_ASSIGNMENT,
				     admin_fmt(req, "The manual partition "
					       "assignment includes broker %d,"
					       " but no such broker is "
					       "registered.",
					       a->broker_ids[0]));
				return;
			}
		}
	}
	if (validate_only)
		return;
	rc = chronik_topic_admin_grow(b, t, ct->count);
	if (rc != 0)
		fail(req, res, CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR,
		     admin_str(chronik_strerror(rc)));
}

int chronik_handle_create_partitions(chronik_request *req, const void *body,
				     void *resp_)
{
	const chronik_protocol_create_partitions_request *r = body;
	chronik_protocol_create_partitions_response *resp = resp_;
	int32_t n = r->topics_count > 0 ? r->topics_count : 0;

	resp->results = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->results);
	if (!resp->results)
		return CHRONIK_ENOMEM;
	resp->results_count = n;
	for (int32_t i = 0; i < n; i++) {
		cp_result *res = &resp->results[i];
		chronik_protocol_create_partitions_response_create_partitions_topic_result_init(
			res);
		res->name = r->topics[i].name;
		bool dup = false;
		for (int32_t j = 0; j < n && !dup; j++)
			dup = j != i && admin_str_eq(r->topics[j].name,
						     r->topics[i].name);
		if (dup)
			fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			     admin_str("Duplicate topic in request."));
		else
			grow_one(req, r->validate_only, &r->topics[i], res);
		if (res->error_code && !req->error_code)
			req->error_code = res->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
