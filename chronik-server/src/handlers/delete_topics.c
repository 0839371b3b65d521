/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DeleteTopics by name (v0-5) or by name or id (v6): UNKNOWN_TOPIC_OR_
 * PARTITION / UNKNOWN_TOPIC_ID, INVALID_REQUEST for a name and an id
 * together or a topic named twice; messages from v5. The topic is marked
 * deleted in the metadata store and dropped from the cache; the broker
 * deletes its partition logs on a worker thread
 * (chronik_storage_partition_delete). Loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "../topic_admin.h"
#include "admin_util.h"

typedef chronik_protocol_delete_topics_response_deletable_topic_result
	del_result;

static const uint8_t zero_id[16];

static void fail(chronik_request *req, del_result *res, int16_t code,
		 const char *msg)
{
	res->error_code = code;
	if (req->api_version >= 5)
		res->error_message = admin_str(admin_dup(req, msg));
}

static void delete_one(chronik_request *req, chronik_protocol_str name,
		       const uint8_t *id, del_result *res)
{
	chronik_broker *b = req->broker;
	chronik_topic *t = NULL;
	bool by_id = name.len < 0;

	res->name = name;
	if (id && by_id)
		memcpy(res->topic_id.bytes, id, 16);
	if (!by_id && id && memcmp(id, zero_id, 16) != 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
		     "You may not specify both topic name and topic id.");
		return;
	}
	if (!by_id)
		t = chronik_broker_topic_find(b, name.ptr, (size_t)name.len);
	else if (id && memcmp(id, zero_id, 16) != 0)
		t = chronik_broker_topic_find_id(b, id);
	if (!t) {
		if (by_id)
			fail(req, res, CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_ID,
			     "This server does not host this topic ID.");
		else
			fail(req, res,
			     CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION,
			     "This server does not host this topic-partition.");
		return;
	}
	/* The topic is freed by the delete: keep what the response needs. */
	const char *cname = admin_dup(req, t->name);
	if (!cname) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR,
		     "out of memory");
		return;
	}
	if (req->api_version >= 6) {
		res->name = admin_str(cname);
		memcpy(res->topic_id.bytes, t->id, 16);
	}
	/* The broker deletes the partition logs on a worker thread
	 * (chronik_storage_partition_delete); nothing stays readable. */
	int rc = chronik_broker_topic_delete(b, cname);
	if (rc != 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR,
		     chronik_strerror(rc));
		return;
	}
}

static bool same_entry(const chronik_protocol_delete_topics_request *r,
		       bool v6, int32_t i, int32_t j)
{
	if (!v6)
		return admin_str_eq(r->topic_names[i], r->topic_names[j]);
	if (r->topics[i].name.len >= 0 || r->topics[j].name.len >= 0)
		return admin_str_eq(r->topics[i].name, r->topics[j].name);
	return memcmp(r->topics[i].topic_id.bytes, r->topics[j].topic_id.bytes,
		      16) == 0;
}

int chronik_handle_delete_topics(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_delete_topics_request *r = body;
	chronik_protocol_delete_topics_response *resp = resp_;
	bool v6 = req->api_version >= 6;
	int32_t n = v6 ? r->topics_count : r->topic_names_count;

	if (n < 0)
		n = 0;
	resp->responses = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->responses);
	if (!resp->responses)
		return CHRONIK_ENOMEM;
	resp->responses_count = n;
	for (int32_t i = 0; i < n; i++) {
		del_result *res = &resp->responses[i];
		chronik_protocol_delete_topics_response_deletable_topic_result_init(
			res);
		bool dup = false;
		for (int32_t j = 0; j < n && !dup; j++)
			dup = j != i && same_entry(r, v6, i, j);
		if (dup) {
			res->name = v6 ? r->topics[i].name : r->topic_names[i];
			if (v6)
				memcpy(res->topic_id.bytes,
				       r->topics[i].topic_id.bytes, 16);
			fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			     "Duplicate topic in request.");
		} else if (v6) {
			delete_one(req, r->topics[i].name,
				   r->topics[i].topic_id.bytes, res);
		} else {
			delete_one(req, r->topic_names[i], NULL, res);
		}
		if (res->error_code && !req->error_code)
			req->error_code = res->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
