/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Produce: validate, append each batch to its partition log (offsets are
 * assigned by the storage, batches stored verbatim), and answer once
 * every append is durable in the WAL (acks=all), or written to the WAL
 * (acks=1, unless acks1.durable; see docs/server.md). acks=0 answers
 * nothing and does not wait.
 *
 * Idempotent batches (producer id >= 0) are checked against the
 * partition's producer state (producer_state.h, docs/idempotence.md)
 * before anything of the partition is appended: every batch of a
 * partition is validated first, so a later bad batch never leaves earlier
 * ones appended. A duplicate of one of a producer's last five batches is
 * answered with the original base offset and not appended again; if the
 * original still waits for its WAL commit, the duplicate's answer waits
 * for it too (it "follows" the original's slot).
 *
 * Threads: the handler runs on the loop thread; append completions run
 * on a WAL thread, which only stores a status and counts down;
 * the last one posts the completion back to the loop thread, where the
 * producer state learns which batches committed. The check, the appends
 * and the state update of a partition happen in one handler call on the
 * loop thread, so no other produce request can come between them.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../producers.h"
#include "handlers.h"

typedef chronik_protocol_produce_response_partition_produce_response
	part_resp;
typedef chronik_protocol_produce_request_partition_produce_data part_data;
#define E_STORAGE CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR
#define E_FENCED CHRONIK_PROTOCOL_ERR_INVALID_PRODUCER_EPOCH

typedef struct produce_state {
	chronik_request *req;
	atomic_int pending; /* appends in flight + 1 for the handler */
	chronik_post_item post; /* completion to the loop (no malloc) */
} produce_state;

/* A duplicate waiting for the original batch's commit; lives in the
 * duplicate's request arena. */
typedef struct produce_follower {
	produce_state *st;
	part_resp *pr;
	struct produce_follower *next;
} produce_follower;

/* One append in flight; lives in the request arena. */
typedef struct produce_slot {
	produce_state *st;
	part_resp *pr;
	int status; /* written by the WAL thread before the countdown */
	/* Idempotent batch: the partition state that holds it (as pending,
	 * with this slot as owner token), else NULL. */
	chronik_pstate_part *pp;
	int64_t producer_id;
	produce_follower *followers;
	struct produce_slot *next;
} produce_slot;

/* A producer's state as the batches before this one in the request
 * would leave it (checks only; the real state changes on append). */
typedef struct produce_scratch {
	int64_t producer_id;
	bool known;
	chronik_pstate_producer p;
} produce_scratch;

static void produce_done(void *arg);

/* Drop one count of a request; whoever reaches 0 answers it. */
static void produce_release(produce_state *st)
{
	if (atomic_fetch_sub_explicit(&st->pending, 1,
				      memory_order_acq_rel) == 1)
		produce_done(st);
}

typedef struct slot_list {
	produce_slot *head;
} slot_list;

/* Loop thread: every append finished; fold the statuses in, respond. */
static void produce_done(void *arg)
{
	produce_state *st = arg;
	chronik_request *req = st->req;
	slot_list *sl = req->handler_data;

	for (produce_slot *s = sl->head; s; s = s->next) {
		if (s->pp) {
			chronik_pstate_producer *p = chronik_pstate_find(
				&s->pp->ps, s->producer_id);
			if (p && s->status == 0)
				chronik_pstate_commit(p, s);
			else if (p)
				chronik_pstate_drop_pending(p, s);
		}
		if (s->status != 0 && s->pr->error_code == 0) {
			s->pr->error_code =
				CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
			s->pr->base_offset = -1;
		}
		if (s->pr->error_code && !req->error_code)
			req->error_code = s->pr->error_code;
	}
	/* Duplicates that waited for these batches (other requests). */
	for (produce_slot *s = sl->head; s; s = s->next) {
		produce_follower *f = s->followers, *next;
		s->followers = NULL;
		for (; f; f = next) {
			next = f->next;
			if (s->status != 0) {
				f->pr->error_code = E_STORAGE;
				f->pr->base_offset = -1;
			}
			produce_release(f->st);
		}
	}
	chronik_request_complete(req);
}

/* A WAL thread, or the loop itself: acks=1 batches are written by the
 * loop at the end of its iteration (CHRONIK_STORAGE_APPEND_DEFER, then
 * chronik_storage_append_flush() in broker.c) when the WAL's writer is
 * idle, and their early completions then run there. */
static void on_append(chronik_storage_partition *p, int64_t base,
		      int status, void *ud)
{
	produce_slot *s = ud;
	(void)p;
	(void)base;
	s->status = status;
	/* A success is followed by the commit's storage event, which runs
	 * the posted completions: no wake-up of the loop per request. A
	 * failure may not be (the WAL closing): wake it. */
	if (atomic_fetch_sub_explicit(&s->st->pending, 1,
				      memory_order_acq_rel) == 1)
		chronik_broker_post_item(s->st->req->broker, &s->st->post,
					 produce_done, s->st, status != 0);
}

/* Check the blob: magic 2 batches only, each within max.message.bytes.
 * Returns a Kafka error code. */
static int16_t produce_check(const chronik_protocol_bytes *recs,
			     const chronik_topic *t, size_t *nbatches)
{
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int rc;

	*nbatches = 0;
	if (recs->len <= 0)
		return CHRONIK_PROTOCOL_ERR_INVALID_RECORD;
	chronik_protocol_records_iter_init(&it, recs->ptr, (size_t)recs->len);
	while ((rc = chronik_protocol_records_next(&e, &it)) == 1) {
		if (e.magic != 2)
			return CHRONIK_PROTOCOL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
		if (e.size > t->cfg.max_message_bytes)
			return CHRONIK_PROTOCOL_ERR_MESSAGE_TOO_LARGE;
		(*nbatches)++;
	}
	if (rc < 0 || chronik_protocol_records_partial(&it) != 0 ||
	    *nbatches == 0)
		return CHRONIK_PROTOCOL_ERR_CORRUPT_MESSAGE;
	return 0;
}

/* Phase 1 for a partition: validate every batch (when there are several:
 * a single batch is checked by the storage as it is appended) and check
 * the idempotent ones against the producer state as the earlier batches
 * of the request would leave it. Sets pr->error_code, or *dup when a
 * batch repeats one of its producer's last five (Kafka then answers the
 * whole partition with that batch's offsets). */
static void produce_validate(chronik_request *req, chronik_topic *t,
			     int32_t index,
			     const chronik_protocol_bytes *recs, part_resp *pr,
			     chronik_protocol_batch_header *hdrs, size_t nb,
			     chronik_pstate_part **ppp,
			     const chronik_pstate_batch **dup,
			     chronik_pstate_batch *dup_copy)
{
	chronik_broker *b = req->broker;
	chronik_protocol_batch_validate_options vo =
		CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT;
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	produce_scratch *sc = NULL;
	size_t nsc = 0, i = 0;
	int64_t now = chronik_wall_ms();

	vo.max_batch_size = (size_t)t->cfg.max_message_bytes;
	chronik_protocol_records_iter_init(&it, recs->ptr, (size_t)recs->len);
	while (i < nb && chronik_protocol_records_next(&e, &it) == 1) {
		chronik_protocol_batch bt;
		int problem = 0, rc;

		rc = chronik_protocol_batch_parse(&bt, e.data, e.size);
		if (rc == 0 && nb > 1)
			rc = chronik_protocol_batch_validate(&problem, e.data,
							     e.size, &vo);
		if (rc != 0) {
			pr->error_code = chronik_kafka_error_from(rc);
			return;
		}
		hdrs[i++] = bt.header;
		if (bt.header.producer_id < 0)
			continue;
		/* The storage checks these too, but only as it appends. */
		if (bt.header.base_sequence < 0 ||
		    bt.header.last_offset_delta < 0 ||
		    bt.header.last_offset_delta !=
		    bt.header.records_count - 1) {
			pr->error_code = CHRONIK_PROTOCOL_ERR_INVALID_RECORD;
			return;
		}
		if (!*ppp) {
			*ppp = chronik_producers_part(b, t, index);
			if (!*ppp) {
				pr->error_code = E_STORAGE;
				return;
			}
		}
		if (!sc) {
			sc = chronik_protocol_arena_alloc(req->arena,
							  nb * sizeof *sc);
			if (!sc) {
				pr->error_code = E_STORAGE;
				return;
			}
		}
		produce_scratch *x = NULL;
		for (size_t k = 0; k < nsc && !x; k++)
			if (sc[k].producer_id == bt.header.producer_id)
				x = &sc[k];
		if (!x) {
			const chronik_pstate_producer *cur =
				chronik_pstate_find(&(*ppp)->ps,
						    bt.header.producer_id);
			x = &sc[nsc++];
			x->producer_id = bt.header.producer_id;
			x->known = cur != NULL;
			if (cur)
				x->p = *cur;
		}
		int32_t count = bt.header.last_offset_delta + 1;
		const chronik_pstate_batch *d = NULL;
		int16_t err = 0;
		int v = chronik_pstate_check(x->known ? &x->p : NULL,
					     bt.header.producer_epoch,
					     bt.header.base_sequence, count,
					     &err, &d);
		if (v == CHRONIK_PSTATE_REJECT) {
			chronik_log_debug(b->log, "produce", "%s-%d: producer "
				"%lld epoch %d seq %d (%d records): %s",
				t->name, index,
				(long long)bt.header.producer_id,
				bt.header.producer_epoch,
				bt.header.base_sequence, count,
				err == E_FENCED ? "fenced epoch" :
				"out of order sequence");
			pr->error_code = err;
			return;
		}
		if (v == CHRONIK_PSTATE_DUPLICATE) {
			*dup_copy = *d;
			*dup = dup_copy;
			return;
		}
		chronik_pstate_batch nbt = {
			.first_seq = bt.header.base_sequence,
			.last_seq = chronik_pstate_seq_add(
				bt.header.base_sequence, count - 1),
			.timestamp = now,
		};
		chronik_pstate_record(&x->p, bt.header.producer_epoch, &nbt);
		x->known = true;
	}
}

/* Validate, then append every batch of one partition. Returns 0, or
 * -ENOMEM before anything was appended. */
static int produce_partition(chronik_request *req, produce_state *st,
			     slot_list *sl, chronik_topic *t,
			     const part_data *pd,
			     part_resp *pr, size_t nb, int16_t acks)
{
	chronik_broker *b = req->broker;
	chronik_storage_partition *part = t->parts[pd->index];
	chronik_protocol_batch_header *hdrs;
	chronik_pstate_part *pp = NULL;
	const chronik_pstate_batch *dup = NULL;
	chronik_pstate_batch dup_copy;
	chronik_storage_offsets o;
	int64_t now = chronik_wall_ms();
	bool acks0 = acks == 0;
	bool acks1_early = acks == 1 && !b->cfg->acks1_durable;

	hdrs = chronik_protocol_arena_alloc(req->arena, nb * sizeof *hdrs);
	if (!hdrs)
		return -ENOMEM;
	produce_validate(req, t, pd->index, &pd->records, pr, hdrs, nb, &pp,
			 &dup, &dup_copy);
	if (dup) {
		produce_slot *orig = dup->pending;
		pr->base_offset = dup->first_offset;
		chronik_log_debug(b->log, "produce", "%s-%d: duplicate batch "
				  "at offset %lld%s", t->name, pd->index,
				  (long long)dup->first_offset,
				  orig ? " (waiting for its commit)" : "");
		/* Wait for the original's commit, unless it belongs to
		 * this very request (it would wait for itself). */
		if (!acks0 && orig && orig->st != st) {
			produce_follower *f = chronik_protocol_arena_alloc(
				req->arena, sizeof *f);
			if (!f)
				return -ENOMEM;
			f->st = st;
			f->pr = pr;
			f->next = orig->followers;
			orig->followers = f;
			atomic_fetch_add(&st->pending, 1);
		}
	}
	if (pr->error_code || dup)
		goto out;
	if (t->cfg.message_timestamp_type ==
	    CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME)
		pr->log_append_time_ms = now;

	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	bool first = true;
	size_t i = 0;
	chronik_protocol_records_iter_init(&it, pd->records.ptr,
					   (size_t)pd->records.len);
	while (i < nb && chronik_protocol_records_next(&e, &it) == 1) {
		const chronik_protocol_batch_header *h = &hdrs[i++];
		int64_t base = -1;
		produce_slot *s = NULL;
		int rc;
		if (!acks0) {
			s = chronik_protocol_arena_alloc(req->arena,
							 sizeof *s);
			if (!s) {
				pr->error_code = E_STORAGE;
				break;
			}
			memset(s, 0, sizeof *s);
			s->st = st;
			s->pr = pr;
			atomic_fetch_add(&st->pending, 1);
		}
		/* acks=1 is answered once the batch is in the WAL file, as
		 * Kafka's leader answers it once the batch is in its log
		 * (unless acks1.durable); the loop writes it itself at the
		 * end of its iteration when the WAL writer is idle (no
		 * thread hand-off on the way to the answer, one write for
		 * the iteration's batches). acks=all and idempotent batches
		 * (whose state must only count durable batches) wait for
		 * the sync. */
		bool early = acks1_early && h->producer_id < 0;
		if (early)
			b->storage_flush_due = true;
		rc = chronik_storage_append(&base, part, e.data, e.size,
					    early ? CHRONIK_STORAGE_APPEND_WRITTEN |
							    CHRONIK_STORAGE_APPEND_DEFER
						  : 0,
					    acks0 ? NULL : on_append, s);
		if (rc != 0) {
			if (!acks0)
				atomic_fetch_sub(&st->pending, 1);
			pr->error_code = chronik_kafka_error_from(rc);
			chronik_log_debug(b->log, "produce",
				"%s-%d: append: %s (%s)", t->name, pd->index,
				chronik_strerror(rc),
				chronik_storage_last_error(b->storage));
			break;
		}
		if (h->producer_id >= 0 && pp) {
			chronik_pstate_producer *p =
				chronik_pstate_get(&pp->ps, h->producer_id);
			int32_t count = h->last_offset_delta + 1;
			chronik_pstate_batch nbt = {
				.first_seq = h->base_sequence,
				.last_seq = chronik_pstate_seq_add(
					h->base_sequence, count - 1),
				.first_offset = base,
				.last_offset = base + count - 1,
				.timestamp = now,
				.pending = s,
			};
			if (p)
				chronik_pstate_record(p, h->producer_epoch,
						      &nbt);
			if (s) {
				s->pp = pp;
				s->producer_id = h->producer_id;
			}
		}
		if (!acks0) {
			s->next = sl->head;
			sl->head = s;
		}
		if (first)
			pr->base_offset = base;
		first = false;
	}
	if (pr->error_code && first)
		pr->base_offset = -1;
	if (pp)
		chronik_producers_touched(b, pp);
out:
	if (req->api_version >= 5 &&
	    chronik_storage_partition_offsets(&o, part) == 0)
		pr->log_start_offset = o.log_start_offset;
	return 0;
}

int chronik_handle_produce(chronik_request *req, const void *body,
			   void *resp_)
{
	const chronik_protocol_produce_request *r = body;
	chronik_protocol_produce_response *resp = resp_;
	chronik_broker *b = req->broker;
	bool acks0 = r->acks == 0;
	produce_state *st = NULL;
	slot_list *sl;
	int16_t bad_acks = 0;

	if (r->acks != 0 && r->acks != 1 && r->acks != -1)
		bad_acks = CHRONIK_PROTOCOL_ERR_INVALID_REQUIRED_ACKS;
	if (r->transactional_id.len >= 0 && !bad_acks)
		bad_acks = CHRONIK_PROTOCOL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

	sl = chronik_protocol_arena_alloc(req->arena, sizeof *sl);
	st = chronik_protocol_arena_alloc(req->arena, sizeof *st);
	if (!sl || !st)
		return CHRONIK_ENOMEM;
	memset(sl, 0, sizeof *sl);
	st->req = req;
	atomic_init(&st->pending, 1);
	req->handler_data = sl;

	int32_t nt = r->topic_data_count > 0 ? r->topic_data_count : 0;
	resp->responses = chronik_protocol_arena_alloc(req->arena,
		(size_t)(nt ? nt : 1) * sizeof *resp->responses);
	if (!resp->responses)
		return CHRONIK_ENOMEM;
	resp->responses_count = nt;

	for (int32_t i = 0; i < nt; i++) {
		const chronik_protocol_produce_request_topic_produce_data *td =
			&r->topic_data[i];
		chronik_protocol_produce_response_topic_produce_response *tr =
			&resp->responses[i];
		chronik_topic *t = chronik_broker_topic_find(b, td->name.ptr,
			td->name.len > 0 ? (size_t)td->name.len : 0);
		int32_t np = td->partition_data_count > 0 ?
			     td->partition_data_count : 0;

		chronik_protocol_produce_response_topic_produce_response_init(
			tr);
		tr->name = td->name;
		tr->partition_responses = chronik_protocol_arena_alloc(
			req->arena, (size_t)(np ? np : 1) *
			sizeof *tr->partition_responses);
		if (!tr->partition_responses) {
			/* Appends may be in flight: never fail the request
			 * from here, answer what was done. */
			resp->responses_count = i;
			break;
		}
		tr->partition_responses_count = np;
		for (int32_t j = 0; j < np; j++) {
			const chronik_protocol_produce_request_partition_produce_data
				*pd = &td->partition_data[j];
			part_resp *pr = &tr->partition_responses[j];
			size_t nb = 0;

			chronik_protocol_produce_response_partition_produce_response_init(
				pr);
			pr->index = pd->index;
			pr->base_offset = -1;
			pr->log_append_time_ms = -1;
			pr->log_start_offset = -1;
			if (bad_acks) {
				pr->error_code = bad_acks;
				continue;
			}
			if (!t || pd->index < 0 || pd->index >= t->partitions) {
				pr->error_code = CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			pr->error_code = produce_check(&pd->records, t, &nb);
			if (pr->error_code)
				continue;
			if (produce_partition(req, st, sl, t, pd, pr, nb,
					      r->acks) != 0)
				pr->error_code = E_STORAGE;
		}
	}
	if (acks0)
		return CHRONIK_HANDLER_NO_RESPONSE;
	/* Drop the handler's own count; whoever reaches 0 responds. */
	if (atomic_fetch_sub_explicit(&st->pending, 1,
				      memory_order_acq_rel) == 1) {
		produce_done(st);
		return CHRONIK_HANDLER_ASYNC; /* already completed */
	}
	return CHRONIK_HANDLER_ASYNC;
}
