/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Idempotent producer state of one partition (KIP-98, KIP-360): for each
 * producer id its epoch, the time it was last seen and its last five
 * batches (first/last sequence, first/last offset, timestamp), the
 * sequence rules of Kafka's ProducerAppendInfo, the rebuild from batch
 * headers found in the log and the snapshot blob (docs/formats.md,
 * "Producer state snapshot"). Pure logic: no I/O, no locking; the broker
 * glue is producers.c. docs/idempotence.md explains the design.
 *
 * Not thread-safe: one table is used by one thread at a time (the loop
 * thread that runs the produce handler).
 */
#ifndef CHRONIK_SERVER_PRODUCER_STATE_H
#define CHRONIK_SERVER_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Batches remembered per producer (Kafka: 5, the most a client keeps in
 * flight per partition with idempotence). */
#define CHRONIK_PSTATE_MAX_BATCHES 5
/* Version of the snapshot blob. */
#define CHRONIK_PSTATE_BLOB_VERSION 1

/* One batch of a producer as appended to the log. */
typedef struct chronik_pstate_batch {
	int32_t first_seq;
	int32_t last_seq;
	int64_t first_offset;
	int64_t last_offset;
	int64_t timestamp; /* ms: append time (live) or maxTimestamp */
	/* Owner token while the append waits for its WAL commit (the
	 * produce slot), NULL once committed (or when nobody waits). */
	void *pending;
} chronik_pstate_batch;

typedef struct chronik_pstate_producer {
	int64_t producer_id;
	int16_t epoch;
	int64_t last_ts; /* ms, for expiry */
	int32_t n;       /* batches held in b[], oldest first */
	chronik_pstate_batch b[CHRONIK_PSTATE_MAX_BATCHES];
	struct chronik_pstate_producer *next; /* hash chain */
} chronik_pstate_producer;

/* The producers of one partition: a hash table by producer id. */
typedef struct chronik_pstate {
	chronik_pstate_producer **buckets;
	size_t nbuckets;
	size_t count;
} chronik_pstate;

/* Verdicts of chronik_pstate_check(). */
enum chronik_pstate_verdict {
	CHRONIK_PSTATE_APPEND = 0,    /* new, in sequence: append it */
	CHRONIK_PSTATE_DUPLICATE = 1, /* one of the last five: *dup */
	CHRONIK_PSTATE_REJECT = 2     /* *error holds the Kafka error */
};

/* 0 or -ENOMEM. */
int chronik_pstate_init(chronik_pstate *ps);
void chronik_pstate_free(chronik_pstate *ps);
chronik_pstate_producer *chronik_pstate_find(const chronik_pstate *ps,
					     int64_t producer_id);
/* Find or create (epoch -1, no batches). NULL when out of memory. */
chronik_pstate_producer *chronik_pstate_get(chronik_pstate *ps,
					    int64_t producer_id);
void chronik_pstate_remove(chronik_pstate *ps, int64_t producer_id);

/* Kafka's DefaultRecordBatch.incrementSequence: seq + n, wrapping from
 * INT32_MAX to 0. */
int32_t chronik_pstate_seq_add(int32_t seq, int32_t n);

/* Check a batch (epoch, base sequence, record count) of a producer whose
 * state is pr (NULL: unknown producer) the way Kafka 3.x does:
 * - unknown producer: any sequence is accepted (its state may have been
 *   removed by retention or expiry);
 * - older epoch: INVALID_PRODUCER_EPOCH (fenced);
 * - newer epoch: the sequence must be 0, else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - same epoch: a batch equal (first and last sequence) to one of the
 *   last five is a DUPLICATE (*dup points at it); else the sequence must
 *   follow the newest batch's last one (INT32_MAX wraps to 0), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER.
 * Returns a chronik_pstate_verdict. */
int chronik_pstate_check(const chronik_pstate_producer *pr, int16_t epoch,
			 int32_t first_seq, int32_t count, int16_t *error,
			 const chronik_pstate_batch **dup);

/* Record an appended batch: a newer epoch forgets the older batches; the
 * oldest batch goes when five are held. last_ts becomes the newest of
 * last_ts and b->timestamp. */
void chronik_pstate_record(chronik_pstate_producer *pr, int16_t epoch,
			   const chronik_pstate_batch *b);

/* Forget one batch (its append failed), found by its owner token. True
 * if it was there. */
bool chronik_pstate_drop_pending(chronik_pstate_producer *pr,
				 const void *pending);
/* Mark the batch with this owner token committed. */
bool chronik_pstate_commit(chronik_pstate_producer *pr, const void *pending);

/* Rebuild: apply a batch header read from the log (no checks, the log is
 * the truth): an older epoch than the state's is skipped, a newer one
 * resets, a batch at or below the newest known offset is skipped (the
 * snapshot already had it). ts is the batch's maxTimestamp. 0 or
 * -ENOMEM. */
int chronik_pstate_replay(chronik_pstate *ps, int64_t producer_id,
			  int16_t epoch, int32_t base_seq, int32_t count,
			  int64_t first_offset, int64_t ts);

/* Remove producers idle for max_idle_ms (last_ts older than now_ms -
 * max_idle_ms) that have no append in flight. Returns how many went. */
size_t chronik_pstate_expire(chronik_pstate *ps, int64_t now_ms,
			     int64_t max_idle_ms);

/* The lowest first offset of a batch still waiting for its commit, or
 * INT64_MAX. */
int64_t chronik_pstate_min_pending(const chronik_pstate *ps);

/* Snapshot blob of the state as of covered_to: only batches with
 * last_offset < covered_to and no append in flight are written;
 * producers left without batches are left out. *out is malloc'd.
 * 0 or -ENOMEM. */
int chronik_pstate_encode(uint8_t **out, size_t *len,
			  const chronik_pstate *ps, int64_t covered_to);
/* Load a snapshot blob into an empty table. 0, CHRONIK_ECORRUPT,
 * CHRONIK_EVERSION or -ENOMEM (the table may then hold part of it). */
int chronik_pstate_decode(chronik_pstate *ps, int64_t *covered_to,
			  const void *blob, size_t len);

#endif /* CHRONIK_SERVER_PRODUCER_STATE_H */
