/* SPDX-License-Identifier: Apache-2.0 */
/* Record batches (magic 2): hand-built known-good batch, builder round
 * trips for every codec, malformed input, rewrites, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <chronik/protocol.h>

#include "crc32c.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* Recompute the CRC of a batch after a test mutated it. */
static void fix_crc(uint8_t *b, size_t len)
{
	put32(b + 17, chronik_protocol_crc32c(0, b + 21, len - 21));
}

/* A batch written by hand from the spec: two records, base timestamp
 * 1000, the first with key "k1", value "hello" and header h=v, the second
 * 5 ms later with a null key, value "x" and no headers. */
static size_t hand_batch(uint8_t *b)
{
	static const uint8_t recs[] = {
		0x22, /* length 17 */
		0x00, /* attributes */
		0x00, /* timestampDelta 0 */
		0x00, /* offsetDelta 0 */
		0x04, 'k', '1',
		0x0a, 'h', 'e', 'l', 'l', 'o',
		0x02, /* 1 header */
		0x02, 'h', 0x02, 'v',
		0x0e, /* length 7 */
		0x00, 0x0a /* +5 */, 0x02 /* 1 */, 0x01 /* null key */,
		0x02, 'x', 0x00,
	};
	size_t len = 61 + sizeof recs;

	memset(b, 0, 61);
	put64(b, 0);                        /* baseOffset */
	put32(b + 8, (uint32_t)(len - 12)); /* batchLength */
	put32(b + 12, 0xffffffffu);         /* partitionLeaderEpoch -1 */
	b[16] = 2;                          /* magic */
	/* attributes 0 at 21 */
	put32(b + 23, 1);                   /* lastOffsetDelta */
	put64(b + 27, 1000);                /* baseTimestamp */
	put64(b + 35, 1005);                /* maxTimestamp */
	put64(b + 43, UINT64_MAX);          /* producerId -1 */
	b[51] = 0xff;                       /* producerEpoch -1 */
	b[52] = 0xff;
	put32(b + 53, 0xffffffffu);         /* baseSequence -1 */
	put32(b + 57, 2);                   /* recordsCount */
	memcpy(b + 61, recs, sizeof recs);
	fix_crc(b, len);
	return len;
}

static void test_records_hand_built(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	chronik_protocol_batch batch;
	chronik_protocol_record_iter it;
	chronik_protocol_record r;
	chronik_protocol_record_header h;
	size_t pos = 0;
	(void)state;

	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len), 0);
	assert_int_equal(batch.size, len);
	assert_int_equal(batch.header.magic, 2);
	assert_int_equal(batch.header.records_count, 2);
	assert_int_equal(batch.header.partition_leader_epoch, -1);
	assert_int_equal(batch.header.producer_id, -1);
	assert_int_equal(batch.header.base_timestamp, 1000);
	assert_int_equal(chronik_protocol_batch_verify_crc(&batch), 0);
	assert_int_equal(chronik_protocol_batch_validate(NULL, b, len, NULL),
			 0);

	assert_int_equal(chronik_protocol_record_iter_init(&it, &batch), 0);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 1);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.timestamp, 1000);
	assert_int_equal(r.key_len, 2);
	assert_memory_equal(r.key, "k1", 2);
	assert_int_equal(r.value_len, 5);
	assert_memory_equal(r.value, "hello", 5);
	assert_int_equal(r.headers_count, 1);
	assert_int_equal(chronik_protocol_record_header_next(&h, &r, &pos), 1);
	assert_int_equal(h.key_len, 1);
	assert_memory_equal(h.key, "h", 1);
	assert_int_equal(h.value_len, 1);
	assert_memory_equal(h.value, "v", 1);
	assert_int_equal(chronik_protocol_record_header_next(&h, &r, &pos), 0);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 1);
	assert_int_equal(r.offset, 1);
	assert_int_equal(r.timestamp, 1005);
	assert_int_equal(r.key_len, -1);
	assert_null(r.key);
	assert_int_equal(r.value_len, 1);
	assert_int_equal(r.headers_count, 0);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 0);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 0);
}

/* The builder writes exactly the bytes written by hand above. */
static void test_records_builder_matches_spec(void **state)
{
	uint8_t want[128];
	size_t want_len = hand_batch(want);
	chronik_protocol_batch_builder *b;
	chronik_protocol_record_header h = {(const uint8_t *)"h", 1,
					    (const uint8_t *)"v", 1};
	const uint8_t *out;
	size_t out_len;
	(void)state;

	assert_int_equal(chronik_protocol_batch_builder_new(&b, NULL), 0);
	assert_int_equal(chronik_protocol_batch_builder_append(
				 b, 1000, "k1", 2, "hello", 5, &h, 1),
			 0);
	assert_int_equal(chronik_protocol_batch_builder_append(
				 b, 1005, NULL, -1, "x", 1, NULL, 0),
			 0);
	assert_int_equal(chronik_protocol_batch_builder_finish(&out, &out_len,
							       b),
			 0);
	assert_int_equal(out_len, want_len);
	assert_memory_equal(out, want, want_len);
	chronik_protocol_batch_builder_free(b);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Build n records with pseudo-random sizes, null keys and headers;
 * check the parse against the same generator. */
static void round_trip(int codec, int n)
{
	chronik_protocol_batch_builder_options o;
	chronik_protocol_batch_builder *b;
	chronik_protocol_batch batch;
	chronik_protocol_record_iter it;
	chronik_protocol_record r;
	uint8_t val[600];
	const uint8_t *out;
	size_t out_len;
	void *plain = NULL;
	size_t plain_len;
	uint32_t s = 7;

	for (size_t i = 0; i < sizeof val; i++)
		val[i] = (uint8_t)("abcdefgh{}\":, 0123"[i % 19]);
	chronik_protocol_batch_builder_options_init(
		&o, CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION);
	o.compression = codec;
	o.base_offset = 1000;
	o.producer_id = 42;
	o.producer_epoch = 3;
	o.base_sequence = 7;
	o.attributes = CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL;
	assert_int_equal(chronik_protocol_batch_builder_new(&b, &o), 0);
	for (int i = 0; i < n; i++) {
		uint32_t vl = lcg(&s) % sizeof val;
		int nullkey = lcg(&s) % 4 == 0;
		chronik_protocol_record_header hd[2] = {
			{(const uint8_t *)"trace", 5, val, (int32_t)(vl % 9)},
			{(const uint8_t *)"", 0, NULL, -1}};
		assert_int_equal(chronik_protocol_batch_builder_append(
					 b, 5000 + i * 3 - (i % 5), val,
					 nullkey ? -1 : 8, val, (int32_t)vl, hd,
					 (size_t)(i % 3)),
				 0);
	}
	assert_int_equal(chronik_protocol_batch_builder_finish(&out, &out_len,
							       b),
			 0);
	assert_int_equal(chronik_protocol_batch_parse(&batch, out, out_len), 0);
	assert_int_equal(chronik_protocol_batch_verify_crc(&batch), 0);
	assert_int_equal(batch.header.attributes & 7, codec);
	assert_true(batch.header.attributes &
		    CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL);
	assert_int_equal(batch.header.records_count, n);
	assert_int_equal(batch.header.last_offset_delta, n - 1);
	assert_int_equal(batch.header.producer_id, 42);
	assert_int_equal(batch.header.producer_epoch, 3);
	assert_int_equal(batch.header.base_sequence, 7);
	assert_int_equal(chronik_protocol_batch_validate(NULL, out, out_len,
							 NULL),
			 0);
	if (codec) {
		assert_int_equal(chronik_protocol_record_iter_init(&it, &batch),
				 CHRONIK_EUNSUPPORTED);
		assert_int_equal(chronik_protocol_batch_decompress(
					 &plain, &plain_len, &batch, 64 << 20),
				 0);
		chronik_protocol_record_iter_init_buf(&it, &batch.header,
						      plain, plain_len);
	} else {
		assert_int_equal(chronik_protocol_record_iter_init(&it, &batch),
				 0);
	}
	s = 7;
	int64_t maxts = 0;
	for (int i = 0; i < n; i++) {
		uint32_t vl = lcg(&s) % sizeof val;
		int nullkey = lcg(&s) % 4 == 0;
		chronik_protocol_record_header h;
		size_t pos = 0;
		assert_int_equal(chronik_protocol_record_next(&r, &it), 1);
		assert_int_equal(r.offset, 1000 + i);
		assert_int_equal(r.timestamp, 5000 + i * 3 - (i % 5));
		if (r.timestamp > maxts)
			maxts = r.timestamp;
		assert_int_equal(r.key_len, nullkey ? -1 : 8);
		assert_int_equal(r.value_len, (int32_t)vl);
		assert_memory_equal(r.value, val, vl);
		assert_int_equal(r.headers_count, i % 3);
		for (int k = 0; k < i % 3; k++) {
			assert_int_equal(chronik_protocol_record_header_next(
						 &h, &r, &pos),
					 1);
			assert_int_equal(h.value_len,
					 k == 0 ? (int32_t)(vl % 9) : -1);
		}
		assert_int_equal(chronik_protocol_record_header_next(&h, &r,
								     &pos),
				 0);
	}
	assert_int_equal(chronik_protocol_record_next(&r, &it), 0);
	assert_int_equal(batch.header.max_timestamp, maxts);
	chronik_protocol_free(plain);
	chronik_protocol_batch_builder_free(b);
}

static void test_records_round_trip_none(void **state)
{
	(void)state;
	round_trip(CHRONIK_PROTOCOL_COMPRESSION_NONE, 1);
	round_trip(CHRONIK_PROTOCOL_COMPRESSION_NONE, 2000);
}

static void test_records_round_trip_codecs(void **state)
{
	(void)state;
	for (int c = 1; c <= 4; c++) {
		round_trip(c, 1);
		round_trip(c, 3000);
	}
}

static void test_records_builder_reuse(void **state)
{
	chronik_protocol_batch_builder *b;
	const uint8_t *out;
	size_t len;
	(void)state;

	assert_int_equal(chronik_protocol_batch_builder_new(&b, NULL), 0);
	assert_int_equal(chronik_protocol_batch_builder_finish(&out, &len, b),
			 CHRONIK_EARG);
	assert_int_equal(chronik_protocol_batch_builder_append(
				 b, 1, NULL, 5, NULL, -1, NULL, 0),
			 CHRONIK_EARG);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++)
			assert_int_equal(chronik_protocol_batch_builder_append(
						 b, 1, "k", 1, "v", 1, NULL, 0),
					 0);
		assert_int_equal(chronik_protocol_batch_builder_finish(
					 &out, &len, b),
				 0);
		assert_int_equal(chronik_protocol_batch_validate(NULL, out,
								 len, NULL),
				 0);
		chronik_protocol_batch_builder_reset(b);
	}
	chronik_protocol_batch_builder_free(b);
	chronik_protocol_batch_builder_free(NULL);
}

static void test_records_truncated_every_offset(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	chronik_protocol_batch batch;
	int problem;
	(void)state;

	for (size_t n = 0; n < len; n++) {
		/* Exact-size copy so ASan sees over-reads. */
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, b, n);
		assert_int_equal(chronik_protocol_batch_parse(&batch, cut, n),
				 CHRONIK_ETRUNCATED);
		assert_int_equal(chronik_protocol_batch_validate(&problem, cut,
								 n, NULL),
				 CHRONIK_ETRUNCATED);
		assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_TRUNCATED);
		free(cut);
	}
}

static void test_records_bad_lengths(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	chronik_protocol_batch batch;
	int problem;
	static const uint32_t bad[] = {0, 1, 48, 0x80000000u, 0xffffffffu};
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put32(b + 8, bad[i]);
		assert_int_equal(chronik_protocol_batch_parse(&batch, b, len),
				 CHRONIK_EMALFORMED);
		chronik_protocol_batch_validate(&problem, b, len, NULL);
		assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_LENGTH);
	}
	put32(b + 8, 0x7fffffffu);
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len),
			 CHRONIK_ETRUNCATED);
	len = hand_batch(b);
	put32(b + 57, 0xffffffffu); /* recordsCount -1 */
	fix_crc(b, len);
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len),
			 CHRONIK_EMALFORMED);
	chronik_protocol_batch_validate(&problem, b, len, NULL);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT);
	put32(b + 57, 1000000); /* cannot fit in 26 bytes */
	fix_crc(b, len);
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len),
			 CHRONIK_EMALFORMED);
	len = hand_batch(b);
	b[16] = 1;
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len),
			 CHRONIK_EUNSUPPORTED);
	chronik_protocol_batch_validate(&problem, b, len, NULL);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_MAGIC);
}

/* Parse and iterate a mutated batch; report the first error. */
static int iterate_all(const uint8_t *b, size_t len)
{
	chronik_protocol_batch batch;
	chronik_protocol_record_iter it;
	chronik_protocol_record r;
	int rc = chronik_protocol_batch_parse(&batch, b, len);

	if (rc)
		return rc;
	if ((rc = chronik_protocol_record_iter_init(&it, &batch)) != 0)
		return rc;
	while ((rc = chronik_protocol_record_next(&r, &it)) == 1) {
		chronik_protocol_record_header h;
		size_t pos = 0;
		while (chronik_protocol_record_header_next(&h, &r, &pos) == 1)
			;
	}
	return rc;
}

static void test_records_bad_varints(void **state)
{
	uint8_t b[128];
	size_t len;
	int problem;
	(void)state;

	/* Record length varint of 5 continuation bytes. */
	len = hand_batch(b);
	memset(b + 61, 0xff, 5);
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	chronik_protocol_batch_validate(&problem, b, len, NULL);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_RECORD);
	/* Record length beyond the batch. */
	len = hand_batch(b);
	b[61] = 0x7e;
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	/* Key length -2, and key longer than the record. */
	len = hand_batch(b);
	b[65] = 0x03;
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	b[65] = 0x40;
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	/* Header count 5 with one header present. */
	len = hand_batch(b);
	b[74] = 0x0a;
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	/* Null header key. */
	len = hand_batch(b);
	b[75] = 0x01;
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	/* Record count 3 but only 2 records; then count 1 with 2. */
	len = hand_batch(b);
	put32(b + 57, 3);
	put32(b + 23, 2);
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	chronik_protocol_batch_validate(&problem, b, len, NULL);
	assert_int_equal(problem,
			 CHRONIK_PROTOCOL_BATCH_RECORD_COUNT_MISMATCH);
	put32(b + 57, 1);
	put32(b + 23, 0);
	fix_crc(b, len);
	assert_int_equal(iterate_all(b, len), CHRONIK_EMALFORMED);
	chronik_protocol_batch_validate(&problem, b, len, NULL);
	assert_int_equal(problem,
			 CHRONIK_PROTOCOL_BATCH_RECORD_COUNT_MISMATCH);
}

/* Flip every byte of the batch (CRC fixed up): never a crash. */
static void test_records_every_byte_mutated(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	(void)state;

	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 256; v += 17) {
			uint8_t *m = malloc(len);
			memcpy(m, b, len);
			m[i] = (uint8_t)v;
			if (i < 17 || i > 20)
				fix_crc(m, len);
			(void)iterate_all(m, len);
			(void)chronik_protocol_batch_validate(NULL, m, len,
							      NULL);
			free(m);
		}
	}
}

static void test_records_bad_crc(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	chronik_protocol_batch batch;
	int problem;
	(void)state;

	b[70] ^= 1;
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len), 0);
	assert_int_equal(chronik_protocol_batch_verify_crc(&batch),
			 CHRONIK_ECRC);
	assert_int_equal(chronik_protocol_batch_validate(&problem, b, len,
							 NULL),
			 CHRONIK_ECRC);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_CRC);
	assert_string_equal(chronik_protocol_batch_problem_name(problem),
			    "bad CRC");
}

static void test_records_rewrite_in_place(void **state)
{
	uint8_t b[128];
	size_t len = hand_batch(b);
	uint8_t crc[4];
	chronik_protocol_batch batch;
	chronik_protocol_record_iter it;
	chronik_protocol_record r;
	(void)state;

	memcpy(crc, b + 17, 4);
	assert_int_equal(chronik_protocol_batch_set_base_offset(
				 b, len, INT64_C(1) << 40),
			 0);
	assert_int_equal(chronik_protocol_batch_set_leader_epoch(b, len, 7),
			 0);
	assert_memory_equal(crc, b + 17, 4); /* CRC untouched */
	assert_int_equal(chronik_protocol_batch_parse(&batch, b, len), 0);
	assert_int_equal(chronik_protocol_batch_verify_crc(&batch), 0);
	assert_int_equal(batch.header.base_offset, INT64_C(1) << 40);
	assert_int_equal(batch.header.partition_leader_epoch, 7);
	chronik_protocol_record_iter_init(&it, &batch);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 1);
	assert_int_equal(chronik_protocol_record_next(&r, &it), 1);
	assert_int_equal(r.offset, (INT64_C(1) << 40) + 1);
	assert_int_equal(chronik_protocol_batch_set_base_offset(b, 7, 0),
			 CHRONIK_ETRUNCATED);
}

static void test_records_validate_reasons(void **state)
{
	chronik_protocol_batch_validate_options o;
	chronik_protocol_batch_builder_options bo;
	chronik_protocol_batch_builder *bb;
	const uint8_t *out;
	uint8_t b[128], big[256];
	size_t len = hand_batch(b), out_len;
	int problem;
	(void)state;

	assert_int_equal(chronik_protocol_batch_validate_options_init(&o, 99),
			 CHRONIK_EVERSION);
	assert_int_equal(chronik_protocol_batch_validate_options_init(
				 &o,
				 CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION),
			 0);
	/* Trailing bytes. */
	memcpy(big, b, len);
	assert_int_equal(chronik_protocol_batch_validate(&problem, big,
							 len + 3, &o),
			 CHRONIK_EMALFORMED);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_TRAILING_BYTES);
	o.exact_size = 0;
	assert_int_equal(chronik_protocol_batch_validate(&problem, big,
							 len + 3, &o),
			 0);
	/* Size limit. */
	o.max_batch_size = 64;
	assert_int_equal(chronik_protocol_batch_validate(&problem, b, len, &o),
			 CHRONIK_ETOOBIG);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_TOO_BIG);
	o.max_batch_size = 0;
	/* Timestamps: the batch is at 1000..1005. */
	o.now_ms = 1000000;
	o.max_timestamp_diff_ms = 1000;
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP);
	o.now_ms = 1500;
	assert_int_equal(chronik_protocol_batch_validate(&problem, b, len, &o),
			 0);
	o.now_ms = INT64_MIN;
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP);
	o.max_timestamp_diff_ms = -1;
	/* Codec 6. */
	b[22] = 6;
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_CODEC);
	/* Offset range vs count. */
	len = hand_batch(b);
	put32(b + 23, 5);
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_OFFSET_RANGE);
	/* Zero records. */
	len = hand_batch(b);
	put32(b + 57, 0);
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT);
	/* Producer id without sequence; transactional without producer. */
	len = hand_batch(b);
	put64(b + 43, 5);
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_PRODUCER);
	len = hand_batch(b);
	b[22] = CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL;
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_PRODUCER);
	/* Out-of-sequence offset delta in record 2. */
	len = hand_batch(b);
	b[82] = 0x04;
	fix_crc(b, len);
	chronik_protocol_batch_validate(&problem, b, len, &o);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_BAD_RECORD_OFFSET);
	o.check_records = 0;
	assert_int_equal(chronik_protocol_batch_validate(&problem, b, len, &o),
			 0);
	o.check_records = 1;

	/* Control batch: refused unless allowed. */
	chronik_protocol_batch_builder_options_init(
		&bo, CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION);
	bo.attributes = CHRONIK_PROTOCOL_ATTR_CONTROL |
			CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL;
	bo.producer_id = 1;
	bo.producer_epoch = 0;
	bo.base_sequence = 0;
	assert_int_equal(chronik_protocol_batch_builder_new(&bb, &bo), 0);
	chronik_protocol_batch_builder_append(bb, 1, "\0\0\0\1", 4,
					      "\0\0\0\0\0\0", 6, NULL, 0);
	chronik_protocol_batch_builder_finish(&out, &out_len, bb);
	chronik_protocol_batch_validate(&problem, out, out_len, &o);
	assert_int_equal(problem,
			 CHRONIK_PROTOCOL_BATCH_CONTROL_NOT_ALLOWED);
	o.allow_control = 1;
	assert_int_equal(chronik_protocol_batch_validate(&problem, out,
							 out_len, &o),
			 0);
	chronik_protocol_batch_builder_free(bb);

	/* Compressed records that do not decompress. */
	bo = (chronik_protocol_batch_builder_options)
		CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT;
	bo.compression = CHRONIK_PROTOCOL_COMPRESSION_ZSTD;
	assert_int_equal(chronik_protocol_batch_builder_new(&bb, &bo), 0);
	for (int i = 0; i < 100; i++)
		chronik_protocol_batch_builder_append(bb, 1, NULL, -1,
						      "aaaaaaaaaaaaaaaa", 16,
						      NULL, 0);
	chronik_protocol_batch_builder_finish(&out, &out_len, bb);
	o.max_decompressed_size = 100;
	chronik_protocol_batch_validate(&problem, out, out_len, &o);
	assert_int_equal(problem,
			 CHRONIK_PROTOCOL_BATCH_DECOMPRESS_TOO_BIG);
	o.max_decompressed_size = 0;
	uint8_t *m = malloc(out_len);
	memcpy(m, out, out_len);
	m[61] ^= 0x55; /* the zstd frame magic */
	fix_crc(m, out_len);
	assert_int_equal(chronik_protocol_batch_validate(&problem, m, out_len,
							 &o),
			 CHRONIK_ECODEC);
	assert_int_equal(problem, CHRONIK_PROTOCOL_BATCH_DECOMPRESS_FAILED);
	free(m);
	chronik_protocol_batch_builder_free(bb);
}

static void test_records_blob_split(void **state)
{
	uint8_t b[128], blob[512];
	size_t len = hand_batch(b), blen = 0;
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int64_t n;
	(void)state;

	memcpy(blob, b, len);
	blen += len;
	n = chronik_protocol_message_write(blob + blen, sizeof blob - blen, 1,
					   2, 0, 1234, "k", 1, "v1", 2);
	assert_true(n > 0);
	blen += (size_t)n;
	n = chronik_protocol_message_write(blob + blen, sizeof blob - blen, 0,
					   3, 0, 0, NULL, -1, "v0", 2);
	assert_true(n > 0);
	blen += (size_t)n;
	memcpy(blob + blen, b, len);
	blen += len;

	/* Every cut: whole entries come out, the rest is reported. */
	for (size_t cut = 0; cut <= blen; cut++) {
		uint8_t *c = malloc(cut ? cut : 1);
		size_t seen = 0;
		int rc, count = 0;
		memcpy(c, blob, cut);
		chronik_protocol_records_iter_init(&it, c, cut);
		while ((rc = chronik_protocol_records_next(&e, &it)) == 1) {
			assert_int_equal(e.magic, count == 0   ? 2
						  : count == 1 ? 1
						  : count == 2 ? 0
							       : 2);
			seen += e.size;
			count++;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(seen + chronik_protocol_records_partial(&it),
				 cut);
		if (cut == blen)
			assert_int_equal(count, 4);
		free(c);
	}
	/* A bad length is an error, not a partial entry. */
	put32(blob + 8, 5);
	chronik_protocol_records_iter_init(&it, blob, blen);
	assert_int_equal(chronik_protocol_records_next(&e, &it),
			 CHRONIK_EMALFORMED);
	assert_int_equal(chronik_protocol_records_next(&e, &it),
			 CHRONIK_EMALFORMED);
	put32(blob + 8, (uint32_t)(len - 12));
	blob[16] = 3;
	chronik_protocol_records_iter_init(&it, blob, blen);
	assert_int_equal(chronik_protocol_records_next(&e, &it),
			 CHRONIK_EUNSUPPORTED);
}

static void test_records_crc32c_entry_point(void **state)
{
	(void)state;
	assert_int_equal(chronik_protocol_crc32c(0, "123456789", 9),
			 0xe3069283);
	assert_int_equal(chronik_protocol_crc32c(5, NULL, 0), 5);
}

/* The interleaved hardware path (blocks of 3 x 256 and 3 x 8192 bytes)
 * agrees with the portable tables at sizes around the block edges. */
static void test_records_crc32c_large(void **state)
{
	static const size_t sizes[] = {767, 768, 769, 1536, 24575, 24576,
				       24577, 50000, 100003};
	uint8_t *buf = malloc(100003 + 8);
	(void)state;

	for (size_t i = 0; i < 100003 + 8; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
		for (size_t off = 0; off < 8; off += 3) {
			uint32_t sw = chronik_util_crc32c_sw(0, buf + off,
							     sizes[k]);
			assert_int_equal(chronik_protocol_crc32c(0, buf + off,
								 sizes[k]),
					 sw);
			if (sizes[k] < 1000)
				continue;
			uint32_t c =
				chronik_protocol_crc32c(0, buf + off, 1000);
			c = chronik_protocol_crc32c(c, buf + off + 1000,
						    sizes[k] - 1000);
			assert_int_equal(c, sw);
		}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_hand_built),
		cmocka_unit_test(test_records_builder_matches_spec),
		cmocka_unit_test(test_records_round_trip_none),
		cmocka_unit_test(test_records_round_trip_codecs),
		cmocka_unit_test(test_records_builder_reuse),
		cmocka_unit_test(test_records_truncated_every_offset),
		cmocka_unit_test(test_records_bad_lengths),
		cmocka_unit_test(test_records_bad_varints),
		cmocka_unit_test(test_records_every_byte_mutated),
		cmocka_unit_test(test_records_bad_crc),
		cmocka_unit_test(test_records_rewrite_in_place),
		cmocka_unit_test(test_records_validate_reasons),
		cmocka_unit_test(test_records_blob_split),
		cmocka_unit_test(test_records_crc32c_entry_point),
		cmocka_unit_test(test_records_crc32c_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
