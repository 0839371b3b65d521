/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetch with long polling. A fetch that finds fewer than min_bytes parks
 * itself on every partition it asked for (per-partition waiter lists in
 * chronik_topic) and arms a max_wait_ms timer. The storage's eventfd
 * (polled by the broker) wakes chronik_fetch_wake(), which re-runs only
 * the fetches parked on partitions whose high watermark moved: no busy
 * waiting. Fetch sessions (KIP-227) are declined: every response carries
 * session id 0, so clients keep sending full fetch requests.
 *
 * Records are copied out of the partition log (pread for segment file
 * ranges, memcpy for the in-memory tail) into buffers that live until
 * the response is encoded. TODO(broker): splice segment ranges into the
 * socket with sendfile instead (#5).
 *
 * Loop thread only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"

typedef chronik_protocol_fetch_response_partition_data part_data;

typedef struct rec_buf {
	struct rec_buf *next;
	uint8_t data[];
} rec_buf;

typedef struct fetch_state {
	chronik_request *req;
	const chronik_protocol_fetch_request *r;
	uv_timer_t *timer;        /* malloc'd; freed by its close callback */
	chronik_fetch_waiter *waiters; /* one per requested partition */
	size_t nwaiters;
	rec_buf *bufs;            /* records of the current attempt */
	bool parked;
	bool dirty;
	struct fetch_state *dirty_next;
} fetch_state;

static void bufs_free(rec_buf *b)
{
	while (b) {
		rec_buf *n = b->next;
		free(b);
		b = n;
	}
}

static uint8_t *buf_new(fetch_state *st, size_t size)
{
	rec_buf *b = malloc(sizeof *b + (size ? size : 1));
	if (!b)
		return NULL;
	b->next = st->bufs;
	st->bufs = b;
	return b->data;
}

/* Read up to `budget` bytes of whole batches from `offset`; the first
 * batch whole if `whole_first`. Sets pd's records, error and offsets. */
static size_t read_partition(fetch_state *st, part_data *pd,
			     chronik_storage_partition *part, int64_t offset,
			     size_t budget, bool whole_first)
{
	chronik_storage_slice sl;
	chronik_storage_offsets o;
	uint8_t *buf = NULL;
	size_t cap = 0, got = 0;
	int64_t off = offset;
	static const uint8_t empty[1];

	pd->records.ptr = empty;
	pd->records.len = 0;
	chronik_storage_partition_offsets(&o, part);
	pd->high_watermark = o.high_watermark;
	pd->last_stable_offset = o.last_stable_offset;
	if (st->req->api_version >= 5)
		pd->log_start_offset = o.log_start_offset;
	if (offset < o.log_start_offset || offset > o.high_watermark) {
		pd->error_code = CHRONIK_PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
		return 0;
	}
	if (offset == o.high_watermark || (budget == 0 && !whole_first))
		return 0;
	cap = budget ? budget : 1;
	buf = buf_new(st, cap);
	if (!buf) {
		pd->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
		return 0;
	}
	for (;;) {
		size_t left = got < budget ? budget - got : 0;
		bool may_exceed = got == 0 && whole_first;
		if (left == 0 && !may_exceed)
			break;
		int rc = chronik_storage_read(&sl, part, off, left ? left : 1,
					      buf + got, cap - got);
		if (rc == CHRONIK_EAGAIN && may_exceed && sl.length > 0) {
			/* KIP-74: the first batch goes out whole. */
			buf = buf_new(st, sl.length);
			if (!buf)
				break;
			cap = sl.length;
			continue;
		}
		if (rc != 0) {
			if (got == 0)
				pd->error_code = chronik_kafka_error_from(rc);
			break;
		}
		if (sl.length == 0)
			break;
		if (sl.fd >= 0) {
			if (sl.length > cap - got) {
				if (!may_exceed) {
					close(sl.fd);
					break;
				}
				buf = buf_new(st, sl.length);
				if (!buf) {
					close(sl.fd);
					break;
				}
				cap = sl.length;
			}
			size_t done = 0;
			while (done < sl.length) {
				ssize_t n = pread(sl.fd, buf + got + done,
					sl.length - done,
					(off_t)(sl.file_position + done));
				if (n <= 0)
					break;
				done += (size_t)n;
			}
			close(sl.fd);
			if (done < sl.length) {
				if (got == 0)
					pd->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
				break;
			}
		}
		got += sl.length;
		off = sl.next_offset;
		pd->high_watermark = sl.high_watermark;
		if (off >= sl.high_watermark)
			break;
	}
	pd->records.ptr = got ? buf : empty;
	pd->records.len = (int32_t)got;
	return got;
}

/* Build (or rebuild) the response. Returns the record bytes found and
 * whether some partition has an error. */
static size_t fetch_build(fetch_state *st, bool *error)
{
	chronik_request *req = st->req;
	chronik_broker *b = req->broker;
	const chronik_protocol_fetch_request *r = st->r;
	chronik_protocol_fetch_response *resp = req->resp;
	size_t total = 0;
	size_t budget = req->api_version >= 3 && r->max_bytes >= 0 ?
			(size_t)r->max_bytes : (size_t)INT32_MAX;
	bool by_id = req->api_version >= 13;

	bufs_free(st->bufs);
	st->bufs = NULL;
	*error = false;
	resp->error_code = 0;
	resp->session_id = 0;
	req->error_code = 0;
	for (int32_t i = 0; i < resp->responses_count; i++) {
		const chronik_protocol_fetch_request_fetch_topic *ft =
			&r->topics[i];
		chronik_protocol_fetch_response_fetchable_topic_response *tr =
			&resp->responses[i];
		chronik_topic *t = by_id ?
			chronik_broker_topic_find_id(b, ft->topic_id.bytes) :
			chronik_broker_topic_find(b, ft->topic.ptr,
				ft->topic.len > 0 ? (size_t)ft->topic.len : 0);
		for (int32_t j = 0; j < tr->partitions_count; j++) {
			const chronik_protocol_fetch_request_fetch_partition *fp =
				&ft->partitions[j];
			part_data *pd = &tr->partitions[j];
			chronik_protocol_fetch_response_partition_data_init(pd);
			pd->partition_index = fp->partition;
			pd->high_watermark = -1;
			pd->last_stable_offset = -1;
			pd->log_start_offset = -1;
			pd->aborted_transactions_count = -1;
			pd->preferred_read_replica = -1;
			pd->records.ptr = NULL;
			pd->records.len = 0;
			if (!t || fp->partition < 0 ||
			    fp->partition >= t->partitions) {
				pd->error_code = !t && by_id ?
					CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_ID :
					CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else {
				size_t pb = fp->partition_max_bytes > 0 ?
					(size_t)fp->partition_max_bytes : 0;
				size_t left = total < budget ?
					budget - total : 0;
				if (pb > left)
					pb = left;
				total += read_partition(st, pd,
					t->parts[fp->partition],
					fp->fetch_offset, pb, total == 0);
			}
			if (pd->error_code) {
				*error = true;
				if (!req->error_code)
					req->error_code = pd->error_code;
			}
		}
	}
	return total;
}

static void unpark(fetch_state *st)
{
	for (size_t i = 0; i < st->nwaiters; i++) {
		chronik_fetch_waiter *w = &st->waiters[i];
		if (!w->pprev)
			continue;
		*w->pprev = w->next;
		if (w->next)
			w->next->pprev = w->pprev;
		w->pprev = NULL;
		w->next = NULL;
	}
	st->nwaiters = 0;
	if (st->timer) {
		uv_timer_stop(st->timer);
		uv_close((uv_handle_t *)st->timer,
			 (uv_close_cb)free);
		st->timer = NULL;
	}
	st->parked = false;
}

/* Encode and send; frees the record buffers after encoding. */
static void fetch_finish(fetch_state *st)
{
	rec_buf *bufs = st->bufs;
	unpark(st);
	st->bufs = NULL;
	chronik_request_complete(st->req); /* may free st (arena) */
	bufs_free(bufs);
}

static void fetch_cancel(chronik_request *req)
{
	fetch_state *st = req->handler_data;
	bool err;

	if (req->conn)
		fetch_build(st, &err);
	fetch_finish(st);
}

static void on_timeout(uv_timer_t *t)
{
	fetch_state *st = t->data;
	bool err;
	fetch_build(st, &err);
	fetch_finish(st);
}

void chronik_fetch_cancel(chronik_request *req)
{
	fetch_cancel(req);
}

static void park(fetch_state *st)
{
	chronik_request *req = st->req;
	chronik_broker *b = req->broker;
	const chronik_protocol_fetch_request *r = st->r;
	size_t n = 0, k = 0;
	bool by_id = req->api_version >= 13;

	for (int32_t i = 0; i < r->topics_count; i++)
		n += (size_t)(r->topics[i].partitions_count > 0 ?
			      r->topics[i].partitions_count : 0);
	st->waiters = chronik_protocol_arena_alloc(req->arena,
		(n ? n : 1) * sizeof *st->waiters);
	st->timer = malloc(sizeof *st->timer);
	if (!st->waiters || !st->timer) {
		free(st->timer);
		st->timer = NULL;
		fetch_finish(st);
		return;
	}
	for (int32_t i = 0; i < r->topics_count; i++) {
		const chronik_protocol_fetch_request_fetch_topic *ft =
			&r->topics[i];
		chronik_topic *t = by_id ?
			chronik_broker_topic_find_id(b, ft->topic_id.bytes) :
			chronik_broker_topic_find(b, ft->topic.ptr,
				ft->topic.len > 0 ? (size_t)ft->topic.len : 0);
		if (!t)
			continue;
		for (int32_t j = 0; j < ft->partitions_count; j++) {
			int32_t p = ft->partitions[j].partition;
			if (p < 0 || p >= t->partitions)
				continue;
			chronik_fetch_waiter *w = &st->waiters[k++];
			w->req = req;
			w->next = t->waiters[p];
			if (w->next)
				w->next->pprev = &w->next;
			w->pprev = &t->waiters[p];
			t->waiters[p] = w;
		}
	}
	st->nwaiters = k;
	uv_timer_init(b->loop, st->timer);
	st->timer->data = st;
	uv_timer_start(st->timer, on_timeout, (uint64_t)r->max_wait_ms, 0);
	st->parked = true;
	req->cancel = fetch_cancel;
}

void chronik_fetch_wake(chronik_broker *b)
{
	fetch_state *dirty = NULL;

	for (chronik_topic *t = b->topics; t; t = t->next) {
		for (int32_t p = 0; p < t->partitions; p++) {
			chronik_storage_offsets o;
			if (!t->waiters[p])
				continue;
			chronik_storage_partition_offsets(&o, t->parts[p]);
			if (o.high_watermark == t->last_hw[p])
				continue;
			t->last_hw[p] = o.high_watermark;
			for (chronik_fetch_waiter *w = t->waiters[p]; w;
			     w = w->next) {
				fetch_state *st = w->req->handler_data;
				if (st->dirty)
					continue;
				st->dirty = true;
				st->dirty_next = dirty;
				dirty = st;
			}
		}
	}
	/* Keep last_hw current for partitions nobody waits on, so a
	 * fetch parking later compares against a fresh value. */
	for (chronik_topic *t = b->topics; t; t = t->next)
		for (int32_t p = 0; p < t->partitions; p++)
			if (!t->waiters[p]) {
				chronik_storage_offsets o;
				chronik_storage_partition_offsets(&o,
								  t->parts[p]);
				t->last_hw[p] = o.high_watermark;
			}
	while (dirty) {
		fetch_state *st = dirty;
		bool err;
		dirty = st->dirty_next;
		st->dirty = false;
		size_t got = fetch_build(st, &err);
		int32_t min = st->r->min_bytes;
		if (err || got >= (size_t)(min > 0 ? min : 1))
			fetch_finish(st);
	}
}

int chronik_handle_fetch(chronik_request *req, const void *body,
			 void *resp_)
{
	const chronik_protocol_fetch_request *r = body;
	chronik_protocol_fetch_response *resp = resp_;
	fetch_state *st;
	bool err;

	st = chronik_protocol_arena_alloc(req->arena, sizeof *st);
	if (!st)
		return CHRONIK_ENOMEM;
	memset(st, 0, sizeof *st);
	st->req = req;
	st->r = r;
	req->handler_data = st;
	int32_t nt = r->topics_count > 0 ? r->topics_count : 0;
	resp->responses = chronik_protocol_arena_alloc(req->arena,
		(size_t)(nt ? nt : 1) * sizeof *resp->responses);
	if (!resp->responses)
		return CHRONIK_ENOMEM;
	resp->responses_count = nt;
	for (int32_t i = 0; i < nt; i++) {
		const chronik_protocol_fetch_request_fetch_topic *ft =
			&r->topics[i];
		chronik_protocol_fetch_response_fetchable_topic_response *tr =
			&resp->responses[i];
		int32_t np = ft->partitions_count > 0 ? ft->partitions_count
						      : 0;
		chronik_protocol_fetch_response_fetchable_topic_response_init(
			tr);
		tr->topic = ft->topic;
		tr->topic_id = ft->topic_id;
		tr->partitions = chronik_protocol_arena_alloc(req->arena,
			(size_t)(np ? np : 1) * sizeof *tr->partitions);
		if (!tr->partitions)
			return CHRONIK_ENOMEM;
		tr->partitions_count = np;
	}
	size_t got = fetch_build(st, &err);
	int32_t min = r->min_bytes;
	if (err || r->max_wait_ms <= 0 || nt == 0 ||
	    got >= (size_t)(min > 0 ? min : 1) || req->broker->stopping) {
		fetch_finish(st);
		return CHRONIK_HANDLER_ASYNC; /* completed already */
	}
	park(st);
	return CHRONIK_HANDLER_ASYNC;
}
