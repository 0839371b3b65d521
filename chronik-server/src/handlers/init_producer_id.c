/* SPDX-License-Identifier: Apache-2.0 */
/*
 * InitProducerId (all versions of the codec, 0-5): idempotent producers
 * (transactional_id null). A request without a producer id (v0-2, or
 * -1/-1) gets a new id from the durable allocator with epoch 0. From v3 a
 * client may pass its current id and epoch (KIP-360): the same id with
 * epoch + 1 when the epoch is the current one, a new id (epoch 0) when
 * the epoch is exhausted or the id is unknown to the broker (expired),
 * PRODUCER_FENCED (v4+) / INVALID_PRODUCER_EPOCH when the epoch is not
 * the current one. Transactional ids are not supported yet:
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients treat as a fatal,
 * clearly worded error instead of retrying forever.
 *
 * The new epoch is stored in the metadata store before the answer
 * (asynchronously: the answer waits for the commit callback).
 */
#include <stdlib.h>

#include "../producers.h"
#include "handlers.h"

#define E_TXN_REFUSED \
	CHRONIK_PROTOCOL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED

typedef struct ipid_state {
	chronik_request *req;
	int status;
} ipid_state;

static void ipid_done(void *arg)
{
	ipid_state *st = arg;
	chronik_protocol_init_producer_id_response *resp = st->req->resp;

	if (st->status != 0) {
		resp->error_code =
			CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
		resp->producer_id = -1;
		resp->producer_epoch = -1;
		st->req->error_code = resp->error_code;
	}
	chronik_request_complete(st->req);
}

/* Metadata store's WAL thread. */
static void ipid_committed(int status, void *ud)
{
	ipid_state *st = ud;
	st->status = status;
	if (chronik_broker_post(st->req->broker, ipid_done, st) != 0)
		ipid_done(st); /* only when out of memory */
}

static int ipid_fail(chronik_request *req,
			 chronik_protocol_init_producer_id_response *resp,
			 int16_t err)
{
	resp->error_code = err;
	resp->producer_id = -1;
	resp->producer_epoch = -1;
	req->error_code = err;
	return CHRONIK_HANDLER_DONE;
}

int chronik_handle_init_producer_id(chronik_request *req, const void *body,
				    void *resp_)
{
	const chronik_protocol_init_producer_id_request *r = body;
	chronik_protocol_init_producer_id_response *resp = resp_;
	chronik_broker *b = req->broker;
	chronik_storage_meta_batch *mb = NULL;
	chronik_pstate_producer *cur = NULL;
	ipid_state *st;
	int64_t pid = -1;
	int16_t epoch = 0;
	int rc;

	if (r->transactional_id.len >= 0)
		return ipid_fail(req, resp, E_TXN_REFUSED);
	if (r->producer_id >= 0 || r->producer_epoch >= 0) {
		/* Only v3+ carry these (they decode as -1 before). */
		if (r->producer_id < 0 || r->producer_epoch < 0)
			return ipid_fail(req, resp,
				CHRONIK_PROTOCOL_ERR_INVALID_REQUEST);
		cur = chronik_producers_registry_find(b, r->producer_id);
		if (cur && cur->epoch != r->producer_epoch)
			return ipid_fail(req, resp, req->api_version >= 4 ?
				CHRONIK_PROTOCOL_ERR_PRODUCER_FENCED :
				CHRONIK_PROTOCOL_ERR_INVALID_PRODUCER_EPOCH);
		/* Kafka starts a new id when the epoch is exhausted. */
		if (cur && cur->epoch < INT16_MAX - 1) {
			pid = cur->producer_id;
			epoch = (int16_t)(cur->epoch + 1);
		}
	} else {
		/* Load the registry (it is needed for the set below). */
		chronik_producers_registry_find(b, -1);
	}
	if (pid < 0) {
		rc = chronik_producers_new_id(b, &pid);
		if (rc != 0) {
			chronik_log_warn(b->log, "producers", "producer id "
					 "allocation: %s",
					 chronik_strerror(rc));
			return ipid_fail(req, resp,
				CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE);
		}
		epoch = 0;
	}
	st = chronik_protocol_arena_alloc(req->arena, sizeof *st);
	if (!st)
		return CHRONIK_ENOMEM;
	st->req = req;
	st->status = 0;
	rc = chronik_storage_meta_batch_new(&mb, b->meta);
	if (rc == 0)
		rc = chronik_producers_registry_set(b, mb, pid, epoch);
	if (rc == 0)
		rc = chronik_storage_meta_batch_commit_async(mb,
			ipid_committed, st);
	chronik_storage_meta_batch_free(mb);
	resp->producer_id = pid;
	resp->producer_epoch = epoch;
	chronik_log_debug(b->log, "producers", "InitProducerId v%d: id %lld "
			  "epoch %d%s", req->api_version, (long long)pid,
			  epoch, rc ? " (not stored)" : "");
	if (rc != 0)
		return ipid_fail(req, resp,
			CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE);
	return CHRONIK_HANDLER_ASYNC;
}
