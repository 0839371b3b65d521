/* SPDX-License-Identifier: Apache-2.0 */
/* DeleteTopics by name (v0-5) or name/id (v6). Loop thread. */
#include <string.h>

#include "handlers.h"

typedef chronik_protocol_delete_topics_response_deletable_topic_result
	del_result;

static void delete_one(chronik_request *req, chronik_protocol_str name,
		       const uint8_t *id, del_result *res)
{
	chronik_broker *b = req->broker;
	chronik_topic *t = NULL;

	if (name.len >= 0)
		t = chronik_broker_topic_find(b, name.ptr, (size_t)name.len);
	else if (id)
		t = chronik_broker_topic_find_id(b, id);
	res->name = name;
	if (id)
		memcpy(res->topic_id.bytes, id, 16);
	if (!t) {
		res->error_code = name.len < 0 && id ?
			CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_ID :
			CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (req->api_version >= 6) {
		/* The name is known now; the topic is freed below. */
		char *n = chronik_protocol_arena_alloc(req->arena,
						       strlen(t->name) + 1);
		if (n) {
			strcpy(n, t->name);
			res->name.ptr = n;
			res->name.len = (int32_t)strlen(n);
		}
		memcpy(res->topic_id.bytes, t->id, 16);
	}
	char *cname = chronik_protocol_arena_alloc(req->arena,
						   strlen(t->name) + 1);
	if (!cname) {
		res->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
		return;
	}
	strcpy(cname, t->name);
	int rc = chronik_broker_topic_delete(b, cname);
	if (rc != 0)
		res->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
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
		if (v6)
			delete_one(req, r->topics[i].name,
				   r->topics[i].topic_id.bytes, res);
		else
			delete_one(req, r->topic_names[i], NULL, res);
		if (res->error_code && !req->error_code)
			req->error_code = res->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
