/* SPDX-License-Identifier: Apache-2.0 */
/* OffsetCommit, OffsetFetch, OffsetDelete: committed offsets live in the
 * metadata store (one batch, one fsync per OffsetCommit, answered once
 * durable); the coordinator checks generations and members. Loop
 * thread, except the commit completion, which is posted back. */
#include <stdlib.h>
#include <string.h>

#include "../group_broker.h"
#include "handlers.h"

typedef chronik_protocol_offset_commit_request_offset_commit_request_topic
	commit_topic;
typedef chronik_protocol_offset_commit_response_offset_commit_response_topic
	commit_topic_resp;
typedef chronik_protocol_offset_commit_response_offset_commit_response_partition
	commit_part_resp;

static const char *cstr(chronik_request *req, const chronik_protocol_str *s)
{
	char *p;

	if (s->len <= 0)
		return "";
	p = chronik_request_strdup(req, s);
	return p ? p : "";
}

static void set_error(chronik_request *req, int16_t err)
{
	if (err && !req->error_code)
		req->error_code = err;
}

/* ---- OffsetCommit ----------------------------------------------------- */

typedef struct commit_state {
	chronik_request *req;
	chronik_storage_meta_batch *batch;
	int status;
} commit_state;

static void commit_finish(void *arg)
{
	commit_state *s = arg;
	chronik_request *req = s->req;

	if (s->status != 0) {
		chronik_protocol_offset_commit_response *resp = req->resp;
		chronik_log_error(req->broker->log, "group", "offset commit "
				  "failed: %s", chronik_strerror(s->status));
		for (int32_t i = 0; i < resp->topics_count; i++)
			for (int32_t j = 0;
			     j < resp->topics[i].partitions_count; j++) {
				commit_part_resp *p =
					&resp->topics[i].partitions[j];
				if (!p->error_code)
					p->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
				set_error(req, p->error_code);
			}
	}
	chronik_storage_meta_batch_free(s->batch);
	free(s);
	chronik_request_complete(req);
}

/* Metadata log writer thread: hand the result to the loop. */
static void commit_durable(int status, void *ud)
{
	commit_state *s = ud;

	s->status = status;
	if (chronik_broker_post(s->req->broker, commit_finish, s) != 0) {
		/* Cannot happen short of OOM; the request then never
		 * completes, which beats touching the loop from here. */
		(void)0;
	}
}

int chronik_handle_offset_commit(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_offset_commit_request *r = body;
	chronik_protocol_offset_commit_response *resp = resp_;
	chronik_broker *b = req->broker;
	chronik_group_coord *c = chronik_groups(b);
	const char *group = cstr(req, &r->group_id);
	int32_t nt = r->topics_count > 0 ? r->topics_count : 0;
	int64_t now = chronik_wall_ms();
	commit_state *s = NULL;
	int16_t gerr;
	int rc;

	gerr = chronik_group_commit_check(c, group,
		req->api_version >= 1 ? r->generation_id_or_member_epoch : -1,
		cstr(req, &r->member_id),
		req->api_version >= 7 ?
			(r->group_instance_id.len > 0 ?
			 cstr(req, &r->group_instance_id) : NULL) : NULL);
	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(nt ? nt : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = nt;
	if (!gerr) {
		s = calloc(1, sizeof *s);
		if (!s || chronik_storage_meta_batch_new(&s->batch,
							 b->meta) != 0) {
			free(s);
			return CHRONIK_ENOMEM;
		}
		s->req = req;
	}
	for (int32_t i = 0; i < nt; i++) {
		const commit_topic *rt = &r->topics[i];
		commit_topic_resp *tr = &resp->topics[i];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count
						      : 0;
		const char *topic = cstr(req, &rt->name);
		chronik_topic *t = chronik_broker_topic_find(b, rt->name.ptr,
			rt->name.len > 0 ? (size_t)rt->name.len : 0);

		chronik_protocol_offset_commit_response_offset_commit_response_topic_init(
			tr);
		tr->name = rt->name;
		tr->partitions = chronik_protocol_arena_alloc(req->arena,
			(size_t)(np ? np : 1) * sizeof *tr->partitions);
		if (!tr->partitions)
			goto oom;
		tr->partitions_count = np;
		for (int32_t j = 0; j < np; j++) {
			const chronik_protocol_offset_commit_request_offset_commit_request_partition
				*rp = &rt->partitions[j];
			commit_part_resp *pr = &tr->partitions[j];
			chronik_storage_meta_offset o;

			chronik_protocol_offset_commit_response_offset_commit_response_partition_init(
				pr);
			pr->partition_index = rp->partition_index;
			pr->error_code = gerr;
			if (!gerr && (!t || rp->partition_index < 0 ||
				      rp->partition_index >= t->partitions))
				pr->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			if (!pr->error_code &&
			    rp->committed_metadata.len > 0 &&
			    (size_t)rp->committed_metadata.len >
			    c->cfg.max_metadata_bytes)
				pr->error_code = CHRONIK_PROTOCOL_ERR_OFFSET_METADATA_TOO_LARGE;
			set_error(req, pr->error_code);
			if (pr->error_code)
				continue;
			memset(&o, 0, sizeof o);
			o.offset = rp->committed_offset;
			o.leader_epoch = req->api_version >= 6 ?
					 rp->committed_leader_epoch : -1;
			o.metadata = rp->committed_metadata.len > 0 ?
				cstr(req, &rp->committed_metadata) : NULL;
			/* v1's commit timestamp is the client's; retention
			 * always counts from the broker's clock. */
			o.commit_ms = now;
			o.expire_ms = -1;
			if (req->api_version >= 2 &&
			    req->api_version <= 4 &&
			    r->retention_time_ms > 0)
				o.expire_ms = now + r->retention_time_ms;
			rc = chronik_storage_meta_batch_offset_commit(
				s->batch, group, topic, rp->partition_index,
				&o);
			if (rc != 0) {
				pr->error_code = rc == CHRONIK_ENOMEM ?
					CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR :
					CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
				set_error(req, pr->error_code);
			}
		}
	}
	if (!s)
		return CHRONIK_HANDLER_DONE;
	if (chronik_storage_meta_batch_count(s->batch) == 0) {
		chronik_storage_meta_batch_free(s->batch);
		free(s);
		return CHRONIK_HANDLER_DONE;
	}
	rc = chronik_storage_meta_batch_commit_async(s->batch,
						     commit_durable, s);
	if (rc != 0) {
		s->status = rc;
		commit_finish(s);
		return CHRONIK_HANDLER_ASYNC;
	}
	return CHRONIK_HANDLER_ASYNC;
oom:
	if (s) {
		chronik_storage_meta_batch_free(s->batch);
		free(s);
	}
	return CHRONIK_ENOMEM;
}

/* ---- OffsetFetch ------------------------------------------------------ */

/* One fetched offset, in a list built from the store. */
typedef struct fetched {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int32_t epoch;
	const char *metadata;
	struct fetched *next;
} fetched;

typedef struct fetch_all {
	chronik_request *req;
	fetched *head, **tail;
	size_t ntopics;
	const char *last_topic;
	bool oom;
} fetch_all;

static char *arena_cstr(chronik_request *req, const char *s)
{
	size_t n = strlen(s);
	char *p = chronik_protocol_arena_alloc(req->arena, n + 1);

	if (p)
		memcpy(p, s, n + 1);
	return p;
}

static int fetch_all_cb(const char *group, const char *topic,
			int32_t partition, const chronik_storage_meta_offset *o,
			void *ud)
{
	fetch_all *f = ud;
	fetched *x = chronik_protocol_arena_alloc(f->req->arena, sizeof *x);

	(void)group;
	if (!x) {
		f->oom = true;
		return 1;
	}
	if (!f->last_topic || strcmp(f->last_topic, topic) != 0) {
		f->last_topic = arena_cstr(f->req, topic);
		if (!f->last_topic) {
			f->oom = true;
			return 1;
		}
		f->ntopics++;
	}
	x->topic = f->last_topic;
	x->partition = partition;
	x->offset = o->offset;
	x->epoch = o->leader_epoch;
	x->metadata = o->metadata ? arena_cstr(f->req, o->metadata) : "";
	x->next = NULL;
	*f->tail = x;
	f->tail = &x->next;
	return 0;
}

/* Both layouts (topic list in v0-7, per group in v8+) have the same partition
 * fields; this is the common shape. */
typedef struct part_out {
	int32_t partition_index;
	int64_t committed_offset;
	int32_t committed_leader_epoch;
	chronik_protocol_str metadata;
	int16_t error_code;
} part_out;

typedef struct topic_out {
	chronik_protocol_str name;
	part_out *parts;
	int32_t nparts;
} topic_out;

static chronik_protocol_str pstr(const char *s)
{
	chronik_protocol_str r = { s, (int32_t)strlen(s) };
	return r;
}

static void fetch_one(chronik_request *req, part_out *p, const char *group,
		      const char *topic, int32_t partition)
{
	chronik_storage_meta_offset *o = NULL;

	p->partition_index = partition;
	p->committed_offset = -1;
	p->committed_leader_epoch = -1;
	p->metadata = pstr("");
	p->error_code = 0;
	if (chronik_storage_meta_offset_fetch(&o, req->broker->meta, group,
					      topic, partition) == 0) {
		char *md = arena_cstr(req, o->metadata ? o->metadata : "");
		p->committed_offset = o->offset;
		p->committed_leader_epoch = o->leader_epoch;
		p->metadata = pstr(md ? md : "");
		chronik_storage_meta_free(o);
	}
}

/* Offsets of one group: the requested topics (names + partitions) or
 * all (ntopics < 0); *out and *nout in the arena. 0 or CHRONIK_ENOMEM. */
static int fetch_group(chronik_request *req, const char *group,
		       int32_t ntopics, const chronik_protocol_str *names,
		       int32_t *const *parts, const int32_t *nparts,
		       topic_out **out, int32_t *nout)
{
	topic_out *t;

	if (ntopics >= 0) {
		t = chronik_protocol_arena_alloc(req->arena,
			(size_t)(ntopics ? ntopics : 1) * sizeof *t);
		if (!t)
			return CHRONIK_ENOMEM;
		for (int32_t i = 0; i < ntopics; i++) {
			int32_t np = nparts[i] > 0 ? nparts[i] : 0;
			const char *topic = cstr(req, &names[i]);
			t[i].name = names[i];
			t[i].nparts = np;
			t[i].parts = chronik_protocol_arena_alloc(req->arena,
				(size_t)(np ? np : 1) * sizeof *t[i].parts);
			if (!t[i].parts)
				return CHRONIK_ENOMEM;
			for (int32_t j = 0; j < np; j++)
				fetch_one(req, &t[i].parts[j], group, topic,
					  parts[i][j]);
		}
		*out = t;
		*nout = ntopics;
		return 0;
	}
	fetch_all f = { req, NULL, NULL, 0, NULL, false };
	f.tail = &f.head;
	chronik_storage_meta_offset_foreach(req->broker->meta, group,
					    fetch_all_cb, &f);
	if (f.oom)
		return CHRONIK_ENOMEM;
	t = chronik_protocol_arena_alloc(req->arena,
		(f.ntopics ? f.ntopics : 1) * sizeof *t);
	if (!t)
		return CHRONIK_ENOMEM;
	int32_t k = -1;
	const char *cur = NULL;
	for (fetched *x = f.head; x; x = x->next) {
		if (x->topic != cur) {
			cur = x->topic;
			k++;
			t[k].name = pstr(cur);
			t[k].nparts = 0;
			t[k].parts = NULL;
		}
		t[k].nparts++;
	}
	k = -1;
	cur = NULL;
	int32_t j = 0;
	for (fetched *x = f.head; x; x = x->next) {
		if (x->topic != cur) {
			cur = x->topic;
			k++;
			j = 0;
			t[k].parts = chronik_protocol_arena_alloc(req->arena,
				(size_t)t[k].nparts * sizeof *t[k].parts);
			if (!t[k].parts)
				return CHRONIK_ENOMEM;
		}
		part_out *p = &t[k].parts[j++];
		p->partition_index = x->partition;
		p->committed_offset = x->offset;
		p->committed_leader_epoch = x->epoch;
		p->metadata = pstr(x->metadata ? x->metadata : "");
		p->error_code = 0;
	}
	*out = t;
	*nout = (int32_t)f.ntopics;
	return 0;
}

int chronik_handle_offset_fetch(chronik_request *req, const void *body,
				void *resp_)
{
	const chronik_protocol_offset_fetch_request *r = body;
	chronik_protocol_offset_fetch_response *resp = resp_;
	int16_t v = req->api_version;
	topic_out *t;
	int32_t nt;

	/* require_stable (v7+): no transactions, so every offset is
	 * stable. */
	if (v < 8) {
		int32_t n = r->topics_count;
		const chronik_protocol_str *names = NULL;
		int32_t **parts = NULL;
		int32_t *nparts = NULL;

		if (n < 0 && v < 2)
			n = 0; /* null means all only from v2 */
		if (n > 0) {
			chronik_protocol_str *nm;
			nm = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *nm);
			parts = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *parts);
			nparts = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *nparts);
			if (!nm || !parts || !nparts)
				return CHRONIK_ENOMEM;
			for (int32_t i = 0; i < n; i++) {
				nm[i] = r->topics[i].name;
				parts[i] = r->topics[i].partition_indexes;
				nparts[i] =
					r->topics[i].partition_indexes_count;
			}
			names = nm;
		}
		if (fetch_group(req, cstr(req, &r->group_id), n, names,
				parts, nparts, &t, &nt) != 0)
			return CHRONIK_ENOMEM;
		resp->topics = chronik_protocol_arena_alloc(req->arena,
			(size_t)(nt ? nt : 1) * sizeof *resp->topics);
		if (!resp->topics)
			return CHRONIK_ENOMEM;
		resp->topics_count = nt;
		for (int32_t i = 0; i < nt; i++) {
			chronik_protocol_offset_fetch_response_offset_fetch_response_topic
				*o = &resp->topics[i];
			chronik_protocol_offset_fetch_response_offset_fetch_response_topic_init(
				o);
			o->name = t[i].name;
			o->partitions = chronik_protocol_arena_alloc(
				req->arena, (size_t)(t[i].nparts ?
				t[i].nparts : 1) * sizeof *o->partitions);
			if (!o->partitions)
				return CHRONIK_ENOMEM;
			o->partitions_count = t[i].nparts;
			for (int32_t j = 0; j < t[i].nparts; j++) {
				chronik_protocol_offset_fetch_response_offset_fetch_response_partition
					*p = &o->partitions[j];
				chronik_protocol_offset_fetch_response_offset_fetch_response_partition_init(
					p);
				p->partition_index =
					t[i].parts[j].partition_index;
				p->committed_offset =
					t[i].parts[j].committed_offset;
				if (v >= 5)
					p->committed_leader_epoch =
						t[i].parts[j].committed_leader_epoch;
				p->metadata = t[i].parts[j].metadata;
			}
		}
		return CHRONIK_HANDLER_DONE;
	}

	int32_t ng = r->groups_count > 0 ? r->groups_count : 0;
	resp->groups = chronik_protocol_arena_alloc(req->arena,
		(size_t)(ng ? ng : 1) * sizeof *resp->groups);
	if (!resp->groups)
		return CHRONIK_ENOMEM;
	resp->groups_count = ng;
	for (int32_t g = 0; g < ng; g++) {
		const chronik_protocol_offset_fetch_request_offset_fetch_request_group
			*rg = &r->groups[g];
		chronik_protocol_offset_fetch_response_offset_fetch_response_group
			*og = &resp->groups[g];
		int32_t n = rg->topics_count;
		chronik_protocol_str *nm = NULL;
		int32_t **parts = NULL;
		int32_t *nparts = NULL;

		chronik_protocol_offset_fetch_response_offset_fetch_response_group_init(
			og);
		og->group_id = rg->group_id;
		if (n > 0) {
			nm = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *nm);
			parts = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *parts);
			nparts = chronik_protocol_arena_alloc(req->arena,
				(size_t)n * sizeof *nparts);
			if (!nm || !parts || !nparts)
				return CHRONIK_ENOMEM;
			for (int32_t i = 0; i < n; i++) {
				nm[i] = rg->topics[i].name;
				parts[i] = rg->topics[i].partition_indexes;
				nparts[i] =
					rg->topics[i].partition_indexes_count;
			}
		}
		if (fetch_group(req, cstr(req, &rg->group_id), n, nm, parts,
				nparts, &t, &nt) != 0)
			return CHRONIK_ENOMEM;
		og->topics = chronik_protocol_arena_alloc(req->arena,
			(size_t)(nt ? nt : 1) * sizeof *og->topics);
		if (!og->topics)
			return CHRONIK_ENOMEM;
		og->topics_count = nt;
		for (int32_t i = 0; i < nt; i++) {
			chronik_protocol_offset_fetch_response_offset_fetch_response_topics
				*o = &og->topics[i];
			chronik_protocol_offset_fetch_response_offset_fetch_response_topics_init(
				o);
			o->name = t[i].name;
			o->partitions = chronik_protocol_arena_alloc(
				req->arena, (size_t)(t[i].nparts ?
				t[i].nparts : 1) * sizeof *o->partitions);
			if (!o->partitions)
				return CHRONIK_ENOMEM;
			o->partitions_count = t[i].nparts;
			for (int32_t j = 0; j < t[i].nparts; j++) {
				chronik_protocol_offset_fetch_response_offset_fetch_response_partitions
					*p = &o->partitions[j];
				chronik_protocol_offset_fetch_response_offset_fetch_response_partitions_init(
					p);
				p->partition_index =
					t[i].parts[j].partition_index;
				p->committed_offset =
					t[i].parts[j].committed_offset;
				p->committed_leader_epoch =
					t[i].parts[j].committed_leader_epoch;
				p->metadata = t[i].parts[j].metadata;
			}
		}
	}
	return CHRONIK_HANDLER_DONE;
}

/* ---- OffsetDelete ----------------------------------------------------- */

int chronik_handle_offset_delete(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_offset_delete_request *r = body;
	chronik_protocol_offset_delete_response *resp = resp_;
	chronik_group_coord *c = chronik_groups(req->broker);
	const char *group = cstr(req, &r->group_id);
	int32_t nt = r->topics_count > 0 ? r->topics_count : 0;
	chronik_group *g;

	resp->error_code = chronik_group_offset_delete_check(c, group);
	if (resp->error_code) {
		set_error(req, resp->error_code);
		return CHRONIK_HANDLER_DONE;
	}
	g = chronik_group_find(c, group);
	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(nt ? nt : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = nt;
	for (int32_t i = 0; i < nt; i++) {
		const chronik_protocol_offset_delete_request_offset_delete_request_topic
			*rt = &r->topics[i];
		chronik_protocol_offset_delete_response_offset_delete_response_topic
			*tr = &resp->topics[i];
		int32_t np = rt->partitions_count > 0 ? rt->partitions_count
						      : 0;
		const char *topic = cstr(req, &rt->name);
		chronik_topic *t = chronik_broker_topic_find(req->broker,
			rt->name.ptr,
			rt->name.len > 0 ? (size_t)rt->name.len : 0);
		bool subscribed = g && chronik_group_subscribed(g, topic);

		chronik_protocol_offset_delete_response_offset_delete_response_topic_init(
			tr);
		tr->name = rt->name;
		tr->partitions = chronik_protocol_arena_alloc(req->arena,
			(size_t)(np ? np : 1) * sizeof *tr->partitions);
		if (!tr->partitions)
			return CHRONIK_ENOMEM;
		tr->partitions_count = np;
		for (int32_t j = 0; j < np; j++) {
			int32_t part = rt->partitions[j].partition_index;
			chronik_protocol_offset_delete_response_offset_delete_response_partition
				*pr = &tr->partitions[j];
			int rc;

			chronik_protocol_offset_delete_response_offset_delete_response_partition_init(
				pr);
			pr->partition_index = part;
			if (!t || part < 0 || part >= t->partitions)
				pr->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (subscribed)
				pr->error_code = CHRONIK_PROTOCOL_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
			if (!pr->error_code) {
				rc = chronik_storage_meta_offset_delete(
					req->broker->meta, group, topic, part);
				if (rc != 0 && rc != CHRONIK_ENOTFOUND)
					pr->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
			}
			set_error(req, pr->error_code);
		}
	}
	return CHRONIK_HANDLER_DONE;
}
