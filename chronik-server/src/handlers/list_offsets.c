/* SPDX-License-Identifier: Apache-2.0 */
/* ListOffsets: earliest (-2), latest (-1), max timestamp (-3) and by
 * timestamp, from the partition log's indexes. Loop thread. */
#include <string.h>

#include "handlers.h"

int chronik_handle_list_offsets(chronik_request *req, const void *body,
				void *resp_)
{
	const chronik_protocol_list_offsets_request *r = body;
	chronik_protocol_list_offsets_response *resp = resp_;
	chronik_broker *b = req->broker;
	int32_t nt = r->topics_count > 0 ? r->topics_count : 0;

	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(nt ? nt : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = nt;
	for (int32_t i = 0; i < nt; i++) {
		const chronik_protocol_list_offsets_request_list_offsets_topic
			*rt = &r->topics[i];
		chronik_protocol_list_offsets_response_list_offsets_topic_response
			*tr = &resp->topics[i];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count
						      : 0;
		chronik_topic *t = chronik_broker_topic_find(b, rt->name.ptr,
			rt->name.len > 0 ? (size_t)rt->name.len : 0);

		chronik_protocol_list_offsets_response_list_offsets_topic_response_init(
			tr);
		tr->name = rt->name;
		tr->partitions = chronik_protocol_arena_alloc(req->arena,
			(size_t)(np ? np : 1) * sizeof *tr->partitions);
		if (!tr->partitions)
			return CHRONIK_ENOMEM;
		tr->partitions_count = np;
		for (int32_t j = 0; j < np; j++) {
			const chronik_protocol_list_offsets_request_list_offsets_partition
				*rp = &rt->partitions[j];
			chronik_protocol_list_offsets_response_list_offsets_partition_response
				*pr = &tr->partitions[j];
			int64_t off = -1, ts = -1;
			int rc;

			chronik_protocol_list_offsets_response_list_offsets_partition_response_init(
				pr);
			pr->partition_index = rp->partition_index;
			pr->timestamp = -1;
			pr->offset = -1;
			if (req->api_version >= 4)
				pr->leader_epoch = 0;
			pr->old_style_offsets_count = 0;
			if (!t || rp->partition_index < 0 ||
			    rp->partition_index >= t->partitions) {
				pr->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
				goto next;
			}
			if (rp->timestamp < -3) {
				pr->error_code =
					CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
				goto next;
			}
			rc = chronik_storage_lookup_time(&off, &ts,
				t->parts[rp->partition_index], rp->timestamp);
			if (rc != 0) {
				pr->error_code = chronik_kafka_error_from(rc);
				goto next;
			}
			pr->offset = off;
			pr->timestamp = rp->timestamp < 0 &&
					rp->timestamp != -3 ? -1 : ts;
			if (off < 0)
				pr->timestamp = -1;
			if (req->api_version == 0) {
				/* v0: a list of offsets (at most one here). */
				int64_t *v = chronik_protocol_arena_alloc(
					req->arena, sizeof *v);
				if (!v)
					return CHRONIK_ENOMEM;
				*v = off;
				pr->old_style_offsets = v;
				pr->old_style_offsets_count =
					off >= 0 && rp->max_num_offsets > 0;
			}
next:
			if (pr->error_code && !req->error_code)
				req->error_code = pr->error_code;
		}
	}
	return CHRONIK_HANDLER_DONE;
}
