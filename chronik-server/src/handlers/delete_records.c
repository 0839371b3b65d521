/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DeleteRecords v0-2: advance partitions' log start offsets
 * (chronik_storage_delete_records, durable before the answer). Offset -1
 * means the high watermark; beyond the high watermark or below -1:
 * OFFSET_OUT_OF_RANGE; a topic without the delete cleanup policy:
 * POLICY_VIOLATION (as Kafka). The low watermark returned is the log
 * start offset afterwards. Loop thread.
 */
#include <string.h>

#include "admin_util.h"

typedef chronik_protocol_delete_records_response_delete_records_partition_result
	dr_part;
typedef chronik_protocol_delete_records_response_delete_records_topic_result
	dr_topic;
typedef chronik_protocol_delete_records_request_delete_records_partition
	dr_req_part;

static void delete_part(chronik_request *req, chronik_topic *t,
			const dr_req_part *rp,
			dr_part *out)
{
	chronik_storage_offsets o;
	int64_t off = rp->offset;
	int rc;

	out->partition_index = rp->partition_index;
	out->low_watermark = -1;
	if (!t || rp->partition_index < 0 ||
	    rp->partition_index >= t->partitions) {
		out->error_code =
			CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	if (!(t->cfg.cleanup_policy & CHRONIK_STORAGE_CLEANUP_DELETE)) {
		out->error_code = CHRONIK_PROTOCOL_ERR_POLICY_VIOLATION;
		return;
	}
	chronik_storage_partition *p = t->parts[rp->partition_index];
	if (chronik_storage_partition_offsets(&o, p) != 0) {
		out->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
		return;
	}
	if (off == -1)
		off = o.high_watermark;
	if (off < 0 || off > o.high_watermark) {
		out->error_code = CHRONIK_PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	rc = chronik_storage_delete_records(p, off);
	if (rc == CHRONIK_ENOTFOUND) {
		out->error_code = CHRONIK_PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	if (rc != 0) {
		chronik_log_warn(req->broker->log, "admin", "%s-%d: delete "
				 "records to %lld: %s", t->name,
				 rp->partition_index, (long long)off,
				 chronik_strerror(rc));
		out->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
		return;
	}
	chronik_storage_partition_offsets(&o, p);
	out->low_watermark = o.log_start_offset;
}

int chronik_handle_delete_records(chronik_request *req, const void *body,
				  void *resp_)
{
	const chronik_protocol_delete_records_request *r = body;
	chronik_protocol_delete_records_response *resp = resp_;
	int32_t n = r->topics_count > 0 ? r->topics_count : 0;

	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_delete_records_request_delete_records_topic
			*rt = &r->topics[i];
		dr_topic *ot = &resp->topics[i];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count :
			     0;
		chronik_topic *t = chronik_broker_topic_find(req->broker,
			rt->name.ptr, rt->name.len > 0 ? (size_t)rt->name.len :
			0);

		chronik_protocol_delete_records_response_delete_records_topic_result_init(
			ot);
		ot->name = rt->name;
		ot->partitions = chronik_protocol_arena_alloc(req->arena,
			(size_t)(np ? np : 1) * sizeof *ot->partitions);
		if (!ot->partitions)
			return CHRONIK_ENOMEM;
		ot->partitions_count = np;
		for (int32_t k = 0; k < np; k++) {
			dr_part *op = &ot->partitions[k];
			chronik_protocol_delete_records_response_delete_records_partition_result_init(
				op);
			delete_part(req, t, &rt->partitions[k], op);
			if (op->error_code && !req->error_code)
				req->error_code = op->error_code;
		}
	}
	return CHRONIK_HANDLER_DONE;
}
