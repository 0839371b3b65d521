/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the idempotent producer state (producer_state.c):
 * duplicates, gaps, fencing, epoch bump, sequence wrap, expiry, rebuild
 * from batch headers, snapshot blob round trip and damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chronik/common.h"
#include "chronik/protocol.h"
#include "producer_state.h"

/* Check, and on APPEND record at `*next_off` (advancing it). */
static int produce(chronik_pstate *ps, int64_t pid, int16_t epoch,
		   int32_t seq, int32_t count, int64_t *next_off,
		   int16_t *err, int64_t *dup_off)
{
	chronik_pstate_producer *p = chronik_pstate_find(ps, pid);
	const chronik_pstate_batch *dup = NULL;
	int v = chronik_pstate_check(p, epoch, seq, count, err, &dup);

	if (v == CHRONIK_PSTATE_DUPLICATE)
		*dup_off = dup->first_offset;
	if (v != CHRONIK_PSTATE_APPEND)
		return v;
	p = chronik_pstate_get(ps, pid);
	assert_non_null(p);
	chronik_pstate_batch b = {
		.first_seq = seq,
		.last_seq = chronik_pstate_seq_add(seq, count - 1),
		.first_offset = *next_off,
		.last_offset = *next_off + count - 1,
		.timestamp = 1000,
	};
	chronik_pstate_record(p, epoch, &b);
	*next_off += count;
	return v;
}

static void test_in_sequence_and_duplicates(void **state)
{
	chronik_pstate ps;
	int64_t off = 0, dup = -1;
	int16_t err;

	(void)state;
	assert_int_equal(chronik_pstate_init(&ps), 0);
	/* Unknown producer: any first sequence (Kafka 3.x). */
	assert_int_equal(produce(&ps, 7, 0, 0, 10, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	for (int i = 1; i < 8; i++)
		assert_int_equal(produce(&ps, 7, 0, i * 10, 10, &off, &err,
					 &dup), CHRONIK_PSTATE_APPEND);
	assert_int_equal(off, 80);
	/* The last five (sequences 30..79) are duplicates, with their
	 * original offsets; older ones are not remembered. */
	for (int i = 3; i < 8; i++) {
		assert_int_equal(produce(&ps, 7, 0, i * 10, 10, &off, &err,
					 &dup), CHRONIK_PSTATE_DUPLICATE);
		assert_int_equal(dup, i * 10);
	}
	assert_int_equal(produce(&ps, 7, 0, 20, 10, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(err,
			 CHRONIK_PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	/* Same first sequence, different length: not a duplicate. */
	assert_int_equal(produce(&ps, 7, 0, 70, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(off, 80);
	/* Another producer is independent. */
	assert_int_equal(produce(&ps, 8, 3, 500, 1, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	assert_int_equal(ps.count, 2);
	chronik_pstate_free(&ps);
}

static void test_gap(void **state)
{
	chronik_pstate ps;
	int64_t off = 0, dup;
	int16_t err;

	(void)state;
	chronik_pstate_init(&ps);
	produce(&ps, 1, 0, 0, 5, &off, &err, &dup);
	assert_int_equal(produce(&ps, 1, 0, 6, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(err,
			 CHRONIK_PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	assert_int_equal(produce(&ps, 1, 0, 5, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	chronik_pstate_free(&ps);
}

static void test_fencing_and_epoch_bump(void **state)
{
	chronik_pstate ps;
	int64_t off = 0, dup;
	int16_t err;

	(void)state;
	chronik_pstate_init(&ps);
	produce(&ps, 1, 2, 0, 5, &off, &err, &dup);
	produce(&ps, 1, 2, 5, 5, &off, &err, &dup);
	/* Older epoch: fenced. */
	assert_int_equal(produce(&ps, 1, 1, 10, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(err, CHRONIK_PROTOCOL_ERR_INVALID_PRODUCER_EPOCH);
	/* Newer epoch must start at 0. */
	assert_int_equal(produce(&ps, 1, 3, 10, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(err,
			 CHRONIK_PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	assert_int_equal(produce(&ps, 1, 3, 0, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	/* The bump forgot the old epoch's batches; old epoch now fenced. */
	assert_int_equal(chronik_pstate_find(&ps, 1)->n, 1);
	assert_int_equal(produce(&ps, 1, 2, 10, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_REJECT);
	assert_int_equal(err, CHRONIK_PROTOCOL_ERR_INVALID_PRODUCER_EPOCH);
	assert_int_equal(produce(&ps, 1, 3, 5, 5, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	chronik_pstate_free(&ps);
}

static void test_wrap(void **state)
{
	chronik_pstate ps;
	int64_t off = 0, dup;
	int16_t err;

	(void)state;
	assert_int_equal(chronik_pstate_seq_add(INT32_MAX, 1), 0);
	assert_int_equal(chronik_pstate_seq_add(INT32_MAX - 2, 5), 2);
	assert_int_equal(chronik_pstate_seq_add(5, 5), 10);
	chronik_pstate_init(&ps);
	produce(&ps, 1, 0, INT32_MAX - 9, 10, &off, &err, &dup);
	assert_int_equal(chronik_pstate_find(&ps, 1)->b[0].last_seq,
			 INT32_MAX);
	assert_int_equal(produce(&ps, 1, 0, 0, 10, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	/* A batch that wraps inside: INT32_MAX-1 .. 1 follows 9 only if
	 * in sequence; here it straddles after 10..19. */
	produce(&ps, 1, 0, 10, 10, &off, &err, &dup);
	assert_int_equal(produce(&ps, 1, 0, 0, 10, &off, &err, &dup),
			 CHRONIK_PSTATE_DUPLICATE);
	assert_int_equal(dup, 10);
	chronik_pstate_free(&ps);

	chronik_pstate_init(&ps);
	off = 0;
	produce(&ps, 2, 0, INT32_MAX - 4, 3, &off, &err, &dup);
	assert_int_equal(produce(&ps, 2, 0, INT32_MAX - 1, 4, &off, &err,
				 &dup), CHRONIK_PSTATE_APPEND);
	assert_int_equal(chronik_pstate_find(&ps, 2)->b[1].last_seq, 1);
	assert_int_equal(produce(&ps, 2, 0, 2, 1, &off, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	assert_int_equal(produce(&ps, 2, 0, INT32_MAX - 1, 4, &off, &err,
				 &dup), CHRONIK_PSTATE_DUPLICATE);
	chronik_pstate_free(&ps);
}

static void test_pending(void **state)
{
	chronik_pstate ps;
	chronik_pstate_producer *p;
	int tok1, tok2;
	chronik_pstate_batch b = { 0, 4, 100, 104, 5, &tok1 };

	(void)state;
	chronik_pstate_init(&ps);
	p = chronik_pstate_get(&ps, 3);
	p->epoch = 0;
	chronik_pstate_record(p, 0, &b);
	b = (chronik_pstate_batch){ 5, 9, 105, 109, 5, &tok2 };
	chronik_pstate_record(p, 0, &b);
	assert_int_equal(chronik_pstate_min_pending(&ps), 100);
	/* Pending producers never expire. */
	assert_int_equal(chronik_pstate_expire(&ps, 1000000, 10), 0);
	assert_true(chronik_pstate_commit(p, &tok1));
	assert_int_equal(chronik_pstate_min_pending(&ps), 105);
	/* A failed append is forgotten: a retry is then in sequence. */
	assert_true(chronik_pstate_drop_pending(p, &tok2));
	assert_int_equal(p->n, 1);
	int16_t err;
	const chronik_pstate_batch *dup;
	assert_int_equal(chronik_pstate_check(p, 0, 5, 5, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	assert_false(chronik_pstate_commit(p, &tok2));
	assert_int_equal(chronik_pstate_min_pending(&ps), INT64_MAX);
	chronik_pstate_free(&ps);
}

static void test_expiry(void **state)
{
	chronik_pstate ps;

	(void)state;
	chronik_pstate_init(&ps);
	for (int64_t pid = 0; pid < 100; pid++) {
		chronik_pstate_producer *p = chronik_pstate_get(&ps, pid);
		chronik_pstate_batch b = { 0, 0, pid, pid, 1000 + pid, NULL };
		chronik_pstate_record(p, 0, &b);
	}
	assert_int_equal(ps.count, 100);
	/* Idle for longer than 50 ms at now=1100: pids 0..49 go. */
	assert_int_equal(chronik_pstate_expire(&ps, 1100, 50), 50);
	assert_int_equal(ps.count, 50);
	assert_null(chronik_pstate_find(&ps, 10));
	assert_non_null(chronik_pstate_find(&ps, 60));
	assert_int_equal(chronik_pstate_expire(&ps, 1100, -1), 0);
	chronik_pstate_remove(&ps, 60);
	assert_null(chronik_pstate_find(&ps, 60));
	assert_int_equal(ps.count, 49);
	chronik_pstate_free(&ps);
}

static void test_replay(void **state)
{
	chronik_pstate ps;
	chronik_pstate_producer *p;
	int16_t err;
	const chronik_pstate_batch *dup;

	(void)state;
	chronik_pstate_init(&ps);
	/* pid 1: epoch 0 batches, then epoch 1 from offset 30. */
	assert_int_equal(chronik_pstate_replay(&ps, 1, 0, 0, 10, 0, 50), 0);
	chronik_pstate_replay(&ps, 1, 0, 10, 10, 10, 60);
	/* Replaying the same batch again (snapshot overlap): skipped. */
	chronik_pstate_replay(&ps, 1, 0, 10, 10, 10, 60);
	p = chronik_pstate_find(&ps, 1);
	assert_int_equal(p->n, 2);
	assert_int_equal(p->last_ts, 60);
	chronik_pstate_replay(&ps, 1, 1, 0, 5, 30, 70);
	/* An older epoch later in the log (cannot be written, but the log
	 * is the truth): skipped. */
	chronik_pstate_replay(&ps, 1, 0, 20, 5, 35, 80);
	assert_int_equal(p->epoch, 1);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->b[0].first_offset, 30);
	assert_int_equal(p->b[0].last_offset, 34);
	assert_int_equal(chronik_pstate_check(p, 1, 0, 5, &err, &dup),
			 CHRONIK_PSTATE_DUPLICATE);
	assert_int_equal(chronik_pstate_check(p, 1, 5, 5, &err, &dup),
			 CHRONIK_PSTATE_APPEND);
	for (int i = 0; i < 10; i++)
		chronik_pstate_replay(&ps, 1, 1, 5 + 5 * i, 5, 40 + 5 * i,
				      90);
	assert_int_equal(p->n, CHRONIK_PSTATE_MAX_BATCHES);
	assert_int_equal(p->b[4].last_seq, 54);
	chronik_pstate_free(&ps);
}

static void test_snapshot_blob(void **state)
{
	chronik_pstate ps, back;
	chronik_pstate_producer *p;
	uint8_t *blob;
	size_t len;
	int64_t covered;
	int tok;

	(void)state;
	chronik_pstate_init(&ps);
	for (int64_t pid = 0; pid < 40; pid++)
		for (int i = 0; i < 7; i++)
			chronik_pstate_replay(&ps, pid, (int16_t)(pid % 3),
					      i * 2, 2, pid * 100 + i * 2,
					      pid);
	/* pid 5's newest batch is still pending: not written. */
	p = chronik_pstate_find(&ps, 5);
	p->b[4].pending = &tok;
	/* pid 39's batches are all at or above covered_to: left out. */
	assert_int_equal(chronik_pstate_encode(&blob, &len, &ps, 3900), 0);
	chronik_pstate_init(&back);
	assert_int_equal(chronik_pstate_decode(&back, &covered, blob, len),
			 0);
	assert_int_equal(covered, 3900);
	assert_int_equal(back.count, 39);
	assert_null(chronik_pstate_find(&back, 39));
	assert_int_equal(chronik_pstate_find(&back, 5)->n, 4);
	chronik_pstate_producer *q = chronik_pstate_find(&back, 7);
	p = chronik_pstate_find(&ps, 7);
	assert_int_equal(q->epoch, 1);
	assert_int_equal(q->n, 5);
	assert_int_equal(q->last_ts, 7);
	assert_memory_equal(q->b, p->b, sizeof q->b);
	chronik_pstate_free(&back);

	/* Damage anywhere is detected (CRC), versions are checked. */
	for (size_t i = 0; i < len; i += 7) {
		blob[i] ^= 0x40;
		chronik_pstate_init(&back);
		assert_int_not_equal(chronik_pstate_decode(&back, &covered,
							   blob, len), 0);
		chronik_pstate_free(&back);
		blob[i] ^= 0x40;
	}
	chronik_pstate_init(&back);
	assert_int_equal(chronik_pstate_decode(&back, &covered, blob, 20),
			 CHRONIK_ECORRUPT);
	chronik_pstate_free(&back);
	blob[5] = 9;
	chronik_pstate_init(&back);
	assert_int_equal(chronik_pstate_decode(&back, &covered, blob, len),
			 CHRONIK_EVERSION);
	chronik_pstate_free(&back);
	free(blob);
	chronik_pstate_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_sequence_and_duplicates),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_fencing_and_epoch_bump),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_snapshot_blob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
