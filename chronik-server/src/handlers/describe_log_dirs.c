/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DescribeLogDirs v0-4: one log dir, <data_dir>/topics (absolute), with
 * every requested partition (all when topics is null) hosted here: its
 * size on disk and an offset lag of 0 (no future replicas); topics or
 * partitions that do not exist are left out, as Kafka does. v4 adds the
 * file system's total and usable bytes (statvfs). Loop thread.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "admin_util.h"

typedef chronik_protocol_describe_log_dirs_response_describe_log_dirs_topic
	ld_topic;
typedef chronik_protocol_describe_log_dirs_response_describe_log_dirs_partition
	ld_part;

/* want == NULL and nwant < 0: every partition. */
static int fill_topic(chronik_request *req, chronik_topic *t,
		      const int32_t *want, int32_t nwant, ld_topic *out)
{
	int32_t n = nwant < 0 ? t->partitions : nwant;

	chronik_protocol_describe_log_dirs_response_describe_log_dirs_topic_init(
		out);
	out->name = admin_str(t->name);
	out->partitions = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n > 0 ? n : 1) * sizeof *out->partitions);
	if (!out->partitions)
		return CHRONIK_ENOMEM;
	out->partitions_count = 0;
	for (int32_t i = 0; i < n; i++) {
		int32_t p = nwant < 0 ? i : want[i];
		chronik_storage_offsets o;
		if (p < 0 || p >= t->partitions)
			continue;
		ld_part *lp = &out->partitions[out->partitions_count++];
		chronik_protocol_describe_log_dirs_response_describe_log_dirs_partition_init(
			lp);
		lp->partition_index = p;
		if (chronik_storage_partition_offsets(&o, t->parts[p]) == 0)
			lp->partition_size = (int64_t)o.size_bytes;
		lp->offset_lag = 0;
		lp->is_future_key = false;
	}
	return 0;
}

int chronik_handle_describe_log_dirs(chronik_request *req, const void *body,
				     void *resp_)
{
	const chronik_protocol_describe_log_dirs_request *r = body;
	chronik_protocol_describe_log_dirs_response *resp = resp_;
	chronik_broker *b = req->broker;
	chronik_protocol_describe_log_dirs_response_describe_log_dirs_result
		*res;
	char dir[PATH_MAX + 16], real[PATH_MAX];
	int32_t n = 0;

	res = chronik_protocol_arena_alloc(req->arena, sizeof *res);
	if (!res)
		return CHRONIK_ENOMEM;
	chronik_protocol_describe_log_dirs_response_describe_log_dirs_result_init(
		res);
	resp->results = res;
	resp->results_count = 1;
	snprintf(dir, sizeof dir, "%s/topics", b->cfg->data_dir);
	res->log_dir = admin_str(admin_dup(req, realpath(dir, real) ? real :
					   dir));
	if (req->api_version >= 4) {
		struct statvfs sv;
		if (statvfs(dir, &sv) == 0) {
			res->total_bytes = (int64_t)sv.f_blocks *
					   (int64_t)sv.f_frsize;
			res->usable_bytes = (int64_t)sv.f_bavail *
					    (int64_t)sv.f_frsize;
		}
	}
	if (r->topics_count < 0) {
		for (chronik_topic *t = b->topics; t; t = t->next)
			n++;
	} else {
		n = r->topics_count;
	}
	res->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n > 0 ? n : 1) * sizeof *res->topics);
	if (!res->topics)
		return CHRONIK_ENOMEM;
	res->topics_count = 0;
	if (r->topics_count < 0) {
		for (chronik_topic *t = b->topics; t; t = t->next)
			if (fill_topic(req, t, NULL, -1,
				       &res->topics[res->topics_count++]) != 0)
				return CHRONIK_ENOMEM;
		return CHRONIK_HANDLER_DONE;
	}
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_describe_log_dirs_request_describable_log_dir_topic
			*rt = &r->topics[i];
		chronik_topic *t = rt->topic.len > 0 ?
			chronik_broker_topic_find(b, rt->topic.ptr,
						  (size_t)rt->topic.len) : NULL;
		if (!t)
			continue;
		if (fill_topic(req, t, rt->partitions,
			       rt->partitions_count > 0 ?
			       rt->partitions_count : 0,
			       &res->topics[res->topics_count++]) != 0)
			return CHRONIK_ENOMEM;
	}
	return CHRONIK_HANDLER_DONE;
}
