/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Produce: validate, append each batch to its partition log (offsets are
 * assigned by the storage, batches stored verbatim), and answer once
 * every append is durable in the WAL. acks=0 answers nothing and does
 * not wait.
 *
 * Threads: the handler runs on the loop thread; append completions run
 * on the WAL writer thread, which only stores a status and counts down;
 * the last one posts the completion back to the loop thread.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

typedef chronik_protocol_produce_response_partition_produce_response
	part_resp;

typedef struct produce_state {
	chronik_request *req;
	atomic_int pending; /* appends in flight + 1 for the handler */
} produce_state;

/* One append in flight; lives in the request arena. */
typedef struct produce_slot {
	produce_state *st;
	part_resp *pr;
	int status; /* written by the WAL thread before the countdown */
	struct produce_slot *next;
} produce_slot;

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
		if (s->status != 0 && s->pr->error_code == 0) {
			s->pr->error_code =
				CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
			s->pr->base_offset = -1;
		}
		if (s->pr->error_code && !req->error_code)
			req->error_code = s->pr->error_code;
	}
	chronik_request_complete(req);
}

/* WAL writer thread. */
static void on_append(chronik_storage_partition *p, int64_t base,
		      int status, void *ud)
{
	produce_slot *s = ud;
	(void)p;
	(void)base;
	s->status = status;
	if (atomic_fetch_sub_explicit(&s->st->pending, 1,
				      memory_order_acq_rel) == 1)
		chronik_broker_post(s->st->req->broker, produce_done, s->st);
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
			chronik_storage_partition *part = t->parts[pd->index];
			if (t->cfg.message_timestamp_type ==
			    CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME)
				pr->log_append_time_ms = chronik_wall_ms();
			chronik_protocol_records_iter it;
			chronik_protocol_records_entry e;
			bool first = true;
			chronik_protocol_records_iter_init(&it,
				pd->records.ptr, (size_t)pd->records.len);
			while (chronik_protocol_records_next(&e, &it) == 1) {
				int64_t base = -1;
				produce_slot *s = NULL;
				int rc;
				if (!acks0) {
					s = chronik_protocol_arena_alloc(
						req->arena, sizeof *s);
					if (!s) {
						pr->error_code = CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
						break;
					}
					s->st = st;
					s->pr = pr;
					s->status = 0;
					atomic_fetch_add(&st->pending, 1);
				}
				rc = chronik_storage_append(&base, part,
					e.data, e.size, 0,
					acks0 ? NULL : on_append, s);
				if (rc != 0) {
					if (!acks0)
						atomic_fetch_sub(&st->pending,
								 1);
					pr->error_code =
						chronik_kafka_error_from(rc);
					chronik_log_debug(b->log, "produce",
						"%s-%d: append: %s (%s)",
						t->name, pd->index,
						chronik_strerror(rc),
						chronik_storage_last_error(
							b->storage));
					break;
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
			chronik_storage_offsets o;
			if (req->api_version >= 5 &&
			    chronik_storage_partition_offsets(&o, part) == 0)
				pr->log_start_offset = o.log_start_offset;
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
