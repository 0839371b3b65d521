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
 * Zero copy: records already in segment files come from the storage as
 * file ranges (a dup()ed fd, position, length); they are not read but
 * spliced into the response (chronik_splice in broker.h), and the
 * framework sends them with sendfile(2). Only the in-memory tail (batches
 * not yet in a segment) is copied, into buffers that live until the
 * response is written. A fetch holds at most MAX_FDS file ranges; beyond
 * that (a fetch over very many partitions) ranges are read with pread.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"

typedef chronik_protocol_fetch_response_partition_data part_data;

/* File ranges one fetch may hold open. */
#define MAX_FDS 256
/* Largest buffer allocated at once for in-memory data. */
#define TAIL_CHUNK ((size_t)1 << 20)

typedef struct rec_buf {
	struct rec_buf *next;
	uint8_t data[];
} rec_buf;

/* The records of one partition of the response: pieces[start, +count). */
typedef struct part_out {
	part_data *pd;
	size_t start, count, len;
} part_out;

typedef struct fetch_state {
	chronik_request *req;
	const chronik_protocol_fetch_request *r;
	uv_timer_t *timer;        /* malloc'd; freed by its close callback */
	chronik_fetch_waiter *waiters; /* one per requested partition */
	size_t nwaiters;
	/* The current attempt: memory, pieces, per-partition ranges. */
	rec_buf *bufs;
	chronik_splice_piece *pieces; /* malloc'd */
	size_t npieces, cappieces, nfds;
	part_out *pout;               /* [total partitions], arena */
	size_t npout;
	bool parked;
	bool dirty;
	struct fetch_state *dirty_next, **dirty_pprev;
} fetch_state;

static void bufs_free(rec_buf *b)
{
	while (b) {
		rec_buf *n = b->next;
		free(b);
		b = n;
	}
}

static void bufs_free_cb(void *arg)
{
	bufs_free(arg);
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

/* Drop the current attempt's data (fds, buffers, pieces). */
static void attempt_release(fetch_state *st)
{
	for (size_t i = 0; i < st->npieces; i++)
		if (st->pieces[i].fd >= 0)
			close(st->pieces[i].fd);
	free(st->pieces);
	st->pieces = NULL;
	st->npieces = st->cappieces = st->nfds = 0;
	bufs_free(st->bufs);
	st->bufs = NULL;
	st->npout = 0;
}

static int piece_add(fetch_state *st, part_out *po, int fd, uint64_t pos,
		     const uint8_t *mem, size_t len)
{
	if (st->npieces == st->cappieces) {
		size_t nc = st->cappieces ? st->cappieces * 2 : 16;
		void *p = realloc(st->pieces, nc * sizeof *st->pieces);
		if (!p)
			return CHRONIK_ENOMEM;
		st->pieces = p;
		st->cappieces = nc;
	}
	st->pieces[st->npieces++] = (chronik_splice_piece){ fd, pos, mem,
							    len };
	if (fd >= 0)
		st->nfds++;
	po->count++;
	po->len += len;
	return 0;
}

/* Copy a file range (when the fetch holds too many fds already). */
static const uint8_t *pread_all(fetch_state *st, int fd, uint64_t pos,
				size_t len)
{
	uint8_t *buf = buf_new(st, len);
	size_t done = 0;

	while (buf && done < len) {
		ssize_t n = pread(fd, buf + done, len - done,
				  (off_t)(pos + done));
		if (n <= 0)
			return NULL;
		done += (size_t)n;
	}
	return buf;
}

/* Read up to `budget` bytes of whole batches from `offset`; the first
 * batch whole if `whole_first`. Adds the pieces to `po`; sets pd's
 * error and offsets. */
static size_t read_partition(fetch_state *st, part_out *po, part_data *pd,
			     chronik_storage_partition *part, int64_t offset,
			     size_t budget, bool whole_first)
{
	chronik_storage_slice sl;
	chronik_storage_offsets o;
	size_t got = 0;
	int64_t off = offset;

	po->start = st->npieces;
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
	for (;;) {
		size_t left = got < budget ? budget - got : 0;
		bool may_exceed = got == 0 && whole_first;
		uint8_t *buf = NULL;
		int rc;

		if (left == 0 && !may_exceed)
			break;
		rc = chronik_storage_read(&sl, part, off, left ? left : 1,
					  NULL, 0);
		if (rc == CHRONIK_EAGAIN && sl.length > 0) {
			/* In the in-memory tail: copy (KIP-74: the first
			 * batch goes out whole). */
			size_t cap = left < TAIL_CHUNK ? left : TAIL_CHUNK;
			if (sl.length > left && !may_exceed)
				break;
			if (cap < sl.length)
				cap = sl.length;
			buf = buf_new(st, cap);
			if (!buf) {
				rc = CHRONIK_ENOMEM;
			} else {
				rc = chronik_storage_read(&sl, part, off,
							  left ? left : 1,
							  buf, cap);
				if (rc == CHRONIK_EAGAIN)
					break; /* changed meanwhile */
			}
		}
		if (rc != 0) {
			if (got == 0)
				pd->error_code = chronik_kafka_error_from(rc);
			break;
		}
		if (sl.length == 0)
			break;
		if (sl.fd >= 0) {
			const uint8_t *copy = NULL;
			if (sl.length > left && !may_exceed) {
				close(sl.fd);
				break;
			}
			if (st->nfds >= MAX_FDS) {
				copy = pread_all(st, sl.fd, sl.file_position,
						 sl.length);
				close(sl.fd);
				sl.fd = -1;
				rc = copy ? piece_add(st, po, -1, 0, copy,
						      sl.length) :
					    -EIO;
			} else {
				rc = piece_add(st, po, sl.fd, sl.file_position,
					       NULL, sl.length);
				if (rc != 0)
					close(sl.fd);
			}
		} else {
			rc = piece_add(st, po, -1, 0, buf, sl.length);
		}
		if (rc != 0) {
			if (got == 0)
				pd->error_code =
				      CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
			break;
		}
		got += sl.length;
		off = sl.next_offset;
		pd->high_watermark = sl.high_watermark;
		if (off >= sl.high_watermark)
			break;
	}
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

	attempt_release(st);
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
			part_out *po = &st->pout[st->npout++];
			memset(po, 0, sizeof *po);
			po->pd = pd;
			po->start = st->npieces;
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
				total += read_partition(st, po, pd,
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

/* Start watching (t, p) for a fetch that saw high watermark `seen`
 * there (-1: unknown, so the next wake-up re-runs the fetch once). Not
 * the current value: it may have moved since, its event still to come. */
static bool watch_add(chronik_broker *b, chronik_topic *t, int32_t p,
		      int64_t seen)
{
	if (b->nfetch_watch == b->capfetch_watch) {
		size_t cap = b->capfetch_watch ? b->capfetch_watch * 2 : 16;
		chronik_fetch_watch *nw = realloc(b->fetch_watch,
						  cap * sizeof *nw);
		if (!nw)
			return false;
		b->fetch_watch = nw;
		b->capfetch_watch = cap;
	}
	b->fetch_watch[b->nfetch_watch].topic = t;
	b->fetch_watch[b->nfetch_watch].partition = p;
	t->watch_idx[p] = ++b->nfetch_watch;
	t->last_hw[p] = seen;
	return true;
}

/* Its last waiter left: stop watching (t, p). */
static void watch_remove(chronik_broker *b, chronik_topic *t, int32_t p)
{
	size_t i = t->watch_idx[p];
	chronik_fetch_watch *last;

	if (i == 0)
		return;
	t->watch_idx[p] = 0;
	last = &b->fetch_watch[--b->nfetch_watch];
	if (i - 1 != b->nfetch_watch) {
		b->fetch_watch[i - 1] = *last;
		last->topic->watch_idx[last->partition] = i;
	}
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
		if (!w->topic->waiters[w->partition])
			watch_remove(st->req->broker, w->topic,
				     w->partition);
	}
	st->nwaiters = 0;
	if (st->dirty) {
		/* On chronik_fetch_wake()'s list: leave it, so the wake-up
		 * never touches this request once it is freed. */
		*st->dirty_pprev = st->dirty_next;
		if (st->dirty_next)
			st->dirty_next->dirty_pprev = st->dirty_pprev;
		st->dirty = false;
	}
	if (st->timer) {
		uv_timer_stop(st->timer);
		uv_close((uv_handle_t *)st->timer,
			 (uv_close_cb)free);
		st->timer = NULL;
	}
	st->parked = false;
}

/* Point each partition's records at its data: one memory piece
 * directly (the encoder copies it), anything with a file range (or
 * several pieces) through a splice. */
static int attach_records(fetch_state *st)
{
	chronik_request *req = st->req;
	size_t ns = 0, k = 0;

	for (size_t i = 0; i < st->npout; i++) {
		part_out *po = &st->pout[i];
		if (po->count > 1 ||
		    (po->count == 1 && st->pieces[po->start].fd >= 0))
			ns++;
	}
	if (ns) {
		req->splices = chronik_protocol_arena_alloc(req->arena,
			ns * sizeof *req->splices);
		if (!req->splices)
			return CHRONIK_ENOMEM;
	}
	for (size_t i = 0; i < st->npout; i++) {
		part_out *po = &st->pout[i];
		chronik_splice_piece *pc = st->pieces + po->start;
		if (po->count == 0)
			continue;
		if (po->count == 1 && pc->fd < 0) {
			po->pd->records.ptr = pc->mem;
			po->pd->records.len = (int32_t)po->len;
			continue;
		}
		chronik_splice *sp = &req->splices[k++];
		chronik_splice_init(req->broker, sp);
		sp->pieces = pc;
		sp->npieces = po->count;
		sp->len = po->len;
		po->pd->records.ptr = sp->marker;
		po->pd->records.len = CHRONIK_SPLICE_MARKER;
	}
	req->nsplices = ns;
	return 0;
}

/* Encode and send. The framework takes over the file ranges and, via
 * out_free, the memory buffers (they live until the response is
 * written). */
static void fetch_finish(fetch_state *st)
{
	chronik_request *req = st->req;
	chronik_splice_piece *pieces;

	unpark(st);
	if (attach_records(st) != 0) {
		/* Out of memory: answer without records. */
		for (size_t i = 0; i < st->npout; i++) {
			part_data *pd = st->pout[i].pd;
			if (st->pout[i].count == 0)
				continue;
			pd->records.ptr = NULL;
			pd->records.len = 0;
			pd->error_code =
				CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
		}
		attempt_release(st);
	}
	req->out_free = bufs_free_cb;
	req->out_free_arg = st->bufs;
	st->bufs = NULL;
	pieces = st->pieces; /* the framework closes or takes the fds */
	st->pieces = NULL;
	chronik_request_complete(req); /* frees st (arena) */
	free(pieces);
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

/* The high watermark the last build saw for the request's topic i,
 * partition j (-1 if it did not read that partition). */
static int64_t seen_hw(const fetch_state *st, int32_t i, int32_t j)
{
	const chronik_protocol_fetch_response *resp = st->req->resp;

	if (i >= resp->responses_count ||
	    j >= resp->responses[i].partitions_count)
		return -1;
	return resp->responses[i].partitions[j].high_watermark;
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
			/* Watched exactly while it has waiters. */
			if (!t->watch_idx[p] &&
			    !watch_add(b, t, p, seen_hw(st, i, j)))
				continue; /* no memory: the timer answers */
			chronik_fetch_waiter *w = &st->waiters[k++];
			w->req = req;
			w->topic = t;
			w->partition = p;
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
	/* Every way out rebuilds (or drops) the response: do not hold file
	 * descriptors and buffers while parked. */
	attempt_release(st);
	req->cancel = fetch_cancel;
}

void chronik_fetch_wake(chronik_broker *b)
{
	fetch_state **list = (fetch_state **)&b->fetch_wake_list;

	/* Only the partitions fetches wait on (this runs after every
	 * storage event; the high watermark is read without a lock). */
	for (size_t i = 0; i < b->nfetch_watch; i++) {
		chronik_topic *t = b->fetch_watch[i].topic;
		int32_t p = b->fetch_watch[i].partition;
		int64_t hw = chronik_storage_partition_high_watermark(
			t->parts[p]);

		if (hw == t->last_hw[p])
			continue;
		t->last_hw[p] = hw;
		for (chronik_fetch_waiter *w = t->waiters[p]; w; w = w->next) {
			fetch_state *st = w->req->handler_data;
			if (st->dirty)
				continue;
			st->dirty = true;
			st->dirty_next = *list;
			if (*list)
				(*list)->dirty_pprev = &st->dirty_next;
			st->dirty_pprev = list;
			*list = st;
		}
	}
	/* Finishing one fetch may close its connection (a failed write),
	 * which cancels and frees other fetches of that connection: those
	 * leave the list in unpark(), so take the head each time. */
	while (*list) {
		fetch_state *st = *list;
		bool err;
		*list = st->dirty_next;
		if (*list)
			(*list)->dirty_pprev = list;
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
	size_t nparts = 0;
	for (int32_t i = 0; i < nt; i++)
		nparts += (size_t)(r->topics[i].partitions_count > 0 ?
				   r->topics[i].partitions_count : 0);
	st->pout = chronik_protocol_arena_alloc(req->arena,
		(nparts ? nparts : 1) * sizeof *st->pout);
	if (!st->pout)
		return CHRONIK_ENOMEM;
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
