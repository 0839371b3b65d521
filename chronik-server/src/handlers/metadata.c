/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata: this node as the only broker, leader of every partition;
 * topic ids; auto-creation (auto.create.topics.enable). Loop thread. */
#include <string.h>

#include "handlers.h"


static chronik_protocol_str cstr(const char *s)
{
	chronik_protocol_str r = { s, (int32_t)strlen(s) };
	return r;
}

static int fill_topic(chronik_request *req,
		      chronik_protocol_metadata_response_metadata_response_topic
			      *out,
		      chronik_topic *t)
{
	chronik_broker *b = req->broker;
	int32_t *node = chronik_protocol_arena_alloc(req->arena,
						     sizeof *node);

	if (!node)
		return CHRONIK_ENOMEM;
	*node = b->node_id;
	out->name = cstr(t->name);
	memcpy(out->topic_id.bytes, t->id, 16);
	out->partitions = chronik_protocol_arena_alloc(req->arena,
		(size_t)t->partitions * sizeof *out->partitions);
	if (!out->partitions)
		return CHRONIK_ENOMEM;
	out->partitions_count = t->partitions;
	for (int32_t p = 0; p < t->partitions; p++) {
		chronik_protocol_metadata_response_metadata_response_partition
			*mp = &out->partitions[p];
		chronik_protocol_metadata_response_metadata_response_partition_init(
			mp);
		mp->partition_index = p;
		mp->leader_id = b->node_id;
		if (req->api_version >= 7)
			mp->leader_epoch = 0;
		mp->replica_nodes = node;
		mp->replica_nodes_count = 1;
		mp->isr_nodes = node;
		mp->isr_nodes_count = 1;
		mp->offline_replicas_count = 0;
	}
	return 0;
}

int chronik_handle_metadata(chronik_request *req, const void *body,
			    void *resp_)
{
	const chronik_protocol_metadata_request *r = body;
	chronik_protocol_metadata_response *resp = resp_;
	chronik_broker *b = req->broker;
	int32_t n = 0;
	/* v0: an empty list means all topics; v1+: null means all. */
	bool all = r->topics_count < 0 ||
		   (req->api_version == 0 && r->topics_count == 0);
	bool auto_create = b->cfg->auto_create_topics_enable &&
			   (req->api_version < 4 ||
			    r->allow_auto_topic_creation);

	resp->brokers = chronik_protocol_arena_alloc(req->arena,
						     sizeof *resp->brokers);
	if (!resp->brokers)
		return CHRONIK_ENOMEM;
	chronik_protocol_metadata_response_metadata_response_broker_init(
		resp->brokers);
	resp->brokers_count = 1;
	resp->brokers->node_id = b->node_id;
	resp->brokers->host = cstr(b->advertised_host);
	resp->brokers->port = b->advertised_port;
	resp->cluster_id = cstr(b->cluster_id);
	resp->controller_id = b->node_id;

	if (all) {
		for (chronik_topic *t = b->topics; t; t = t->next)
			n++;
	} else {
		n = r->topics_count;
	}
	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = n;
	if (all) {
		int32_t i = 0;
		for (chronik_topic *t = b->topics; t; t = t->next, i++) {
			chronik_protocol_metadata_response_metadata_response_topic_init(
				&resp->topics[i]);
			if (fill_topic(req, &resp->topics[i], t) != 0)
				return CHRONIK_ENOMEM;
		}
		return CHRONIK_HANDLER_DONE;
	}
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_metadata_request_metadata_request_topic
			*rt = &r->topics[i];
		chronik_protocol_metadata_response_metadata_response_topic *o =
			&resp->topics[i];
		chronik_topic *t = NULL;
		chronik_protocol_metadata_response_metadata_response_topic_init(
			o);
		o->partitions_count = 0;
		if (rt->name.len < 0) {
			/* By id (v10+). */
			t = chronik_broker_topic_find_id(b,
							 rt->topic_id.bytes);
			memcpy(o->topic_id.bytes, rt->topic_id.bytes, 16);
			if (!t) {
				o->error_code =
					CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_ID;
				continue;
			}
		} else {
			t = chronik_broker_topic_find(b, rt->name.ptr,
						      (size_t)rt->name.len);
			o->name = rt->name;
		}
		if (!t && !chronik_topic_name_valid(rt->name.ptr,
						    (size_t)rt->name.len)) {
			o->error_code =
				CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
			continue;
		}
		if (!t && auto_create) {
			char *name = chronik_request_strdup(req, &rt->name);
			int rc = name ? chronik_broker_topic_create(b, &t,
				name, 0, NULL, 0, false, NULL) :
				CHRONIK_ENOMEM;
			if (rc != 0 && rc != CHRONIK_EEXIST) {
				o->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			if (!t)
				t = chronik_broker_topic_find(b, rt->name.ptr,
					(size_t)rt->name.len);
		}
		if (!t) {
			o->error_code =
				CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			if (!req->error_code)
				req->error_code = o->error_code;
			continue;
		}
		if (fill_topic(req, o, t) != 0)
			return CHRONIK_ENOMEM;
	}
	return CHRONIK_HANDLER_DONE;
}
