/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DescribeTopicPartitions v0 (KIP-966): the requested topics (all when
 * the list is empty) in name order, from the cursor on, with at most
 * response_partition_limit partitions (capped at 2000, Kafka's
 * max.request.partition.size.limit); next_cursor says where the next
 * page starts. Unknown topics get UNKNOWN_TOPIC_OR_PARTITION and illegal
 * names INVALID_TOPIC_EXCEPTION (neither counts against the limit); a
 * cursor topic missing from a non-empty list makes every topic
 * INVALID_REQUEST. Leader, replicas and ISR are this node, the eligible
 * leader replicas empty. Loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "admin_util.h"

typedef chronik_protocol_describe_topic_partitions_response_describe_topic_partitions_response_topic
	dtp_topic;
typedef chronik_protocol_describe_topic_partitions_response_describe_topic_partitions_response_partition
	dtp_part;

#define PARTITION_LIMIT 2000

/* AclOperation bits a topic supports: READ 3, WRITE 4, CREATE 5,
 * DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11. */
#define TOPIC_OPS ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | \
		   (1 << 8) | (1 << 10) | (1 << 11))

static int str_cmp(const void *a, const void *b)
{
	const chronik_protocol_str *x = a, *y = b;
	int32_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? memcmp(x->ptr, y->ptr, (size_t)n) : 0;

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int fill_parts(chronik_request *req, chronik_topic *t, int32_t from,
		      int32_t count, dtp_topic *out)
{
	int32_t *node = chronik_protocol_arena_alloc(req->arena,
						     sizeof *node);

	if (!node)
		return CHRONIK_ENOMEM;
	*node = req->broker->node_id;
	out->partitions = chronik_protocol_arena_alloc(req->arena,
		(size_t)(count > 0 ? count : 1) * sizeof *out->partitions);
	if (!out->partitions)
		return CHRONIK_ENOMEM;
	out->partitions_count = count;
	for (int32_t i = 0; i < count; i++) {
		dtp_part *p = &out->partitions[i];
		chronik_protocol_describe_topic_partitions_response_describe_topic_partitions_response_partition_init(
			p);
		p->partition_index = from + i;
		p->leader_id = *node;
		p->leader_epoch = 0;
		p->replica_nodes = node;
		p->replica_nodes_count = 1;
		p->isr_nodes = node;
		p->isr_nodes_count = 1;
		p->eligible_leader_replicas_count = 0;
		p->last_known_elr_count = 0;
		p->offline_replicas_count = 0;
	}
	return 0;
}

int chronik_handle_describe_topic_partitions(chronik_request *req,
					     const void *body, void *resp_)
{
	const chronik_protocol_describe_topic_partitions_request *r = body;
	chronik_protocol_describe_topic_partitions_response *resp = resp_;
	chronik_broker *b = req->broker;
	const chronik_protocol_describe_topic_partitions_request_cursor *cur =
		r->cursor;
	int32_t limit = r->response_partition_limit;
	chronik_protocol_str *names;
	int32_t n = 0, k = 0;
	bool listed = r->topics_count > 0;

	if (limit <= 0 || limit > PARTITION_LIMIT)
		limit = PARTITION_LIMIT;
	if (listed) {
		n = r->topics_count;
	} else {
		for (chronik_topic *t = b->topics; t; t = t->next)
			n++;
	}
	names = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *names);
	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->topics);
	if (!names || !resp->topics)
		return CHRONIK_ENOMEM;
	if (listed) {
		for (int32_t i = 0; i < n; i++)
			names[i] = r->topics[i].name;
	} else {
		int32_t i = 0;
		for (chronik_topic *t = b->topics; t; t = t->next)
			names[i++] = admin_str(t->name);
	}
	qsort(names, (size_t)n, sizeof *names, str_cmp);
	/* Drop repeated names. */
	for (int32_t i = 0; i < n; i++)
		if (k == 0 || !admin_str_eq(names[k - 1], names[i]))
			names[k++] = names[i];
	n = k;
	resp->topics_count = 0;
	resp->next_cursor = NULL;

	bool cursor_missing = false;
	if (cur && listed) {
		cursor_missing = true;
		for (int32_t i = 0; i < n; i++)
			if (admin_str_eq(names[i], cur->topic_name))
				cursor_missing = false;
	}
	int32_t remaining = limit;
	for (int32_t i = 0; i < n; i++) {
		chronik_protocol_str nm = names[i];
		int32_t from = 0;
		if (!cursor_missing && cur &&
		    str_cmp(&nm, &cur->topic_name) < 0)
			continue;
		if (!cursor_missing && remaining == 0) {
			resp->next_cursor = chronik_protocol_arena_alloc(
				req->arena, sizeof *resp->next_cursor);
			if (!resp->next_cursor)
				return CHRONIK_ENOMEM;
			chronik_protocol_describe_topic_partitions_response_cursor_init(
				resp->next_cursor);
			resp->next_cursor->topic_name = nm;
			resp->next_cursor->partition_index = 0;
			break;
		}
		dtp_topic *o = &resp->topics[resp->topics_count++];
		chronik_protocol_describe_topic_partitions_response_describe_topic_partitions_response_topic_init(
			o);
		o->name = nm;
		o->partitions_count = 0;
		if (cursor_missing) {
			o->error_code = CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
			continue;
		}
		if (admin_topic_name_error(req, nm)) {
			o->error_code =
				CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
			continue;
		}
		chronik_topic *t = chronik_broker_topic_find(b, nm.ptr,
							     (size_t)nm.len);
		if (!t) {
			o->error_code =
				CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		memcpy(o->topic_id.bytes, t->id, 16);
		o->is_internal = false;
		o->topic_authorized_operations = TOPIC_OPS;
		if (cur && admin_str_eq(nm, cur->topic_name) &&
		    cur->partition_index > 0)
			from = cur->partition_index;
		if (from > t->partitions)
			from = t->partitions;
		int32_t take = t->partitions - from;
		if (take > remaining)
			take = remaining;
		if (fill_parts(req, t, from, take, o) != 0)
			return CHRONIK_ENOMEM;
		remaining -= take;
		if (from + take < t->partitions) {
			resp->next_cursor = chronik_protocol_arena_alloc(
				req->arena, sizeof *resp->next_cursor);
			if (!resp->next_cursor)
				return CHRONIK_ENOMEM;
			chronik_protocol_describe_topic_partitions_response_cursor_init(
				resp->next_cursor);
			resp->next_cursor->topic_name = nm;
			resp->next_cursor->partition_index = from + take;
			break;
		}
	}
	for (int32_t i = 0; i < resp->topics_count; i++)
		if (resp->topics[i].error_code && !req->error_code)
			req->error_code = resp->topics[i].error_code;
	return CHRONIK_HANDLER_DONE;
}
