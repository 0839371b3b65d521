/* SPDX-License-Identifier: Apache-2.0 */
/* Malformed input: every message and version truncated at every byte
 * offset, lying lengths and counts, bad varints, unknown keys and
 * versions, trailing garbage and random bytes. Each must give a clear
 * error (code, field, offset), never a crash; run under ASan+UBSan too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen/testsupport.c"

static chronik_protocol_arena *arena;

static int setup(void **state)
{
	(void)state;
	return chronik_protocol_arena_new(&arena, 0);
}

static int teardown(void **state)
{
	(void)state;
	chronik_protocol_arena_free(arena);
	return 0;
}

static int dec(int kind, int key, int16_t v, const uint8_t *buf, size_t len,
	       chronik_protocol_errinfo *err)
{
	void *out;
	if (kind == CHRONIK__K_REQUEST)
		return chronik_protocol_request_decode(&out, arena, (int16_t)key,
						       v, buf, len, err);
	return chronik_protocol_response_decode(&out, arena, (int16_t)key, v,
						buf, len, err);
}

/* Every strict prefix of a valid message is truncated, with an offset
 * inside the prefix; the whole message plus one byte is trailing data. */
static void truncate_all(int kind)
{
	unsigned long cases = 0;
	for (int key = 0;; key++) {
		const chronik__msginfo *mi = chronik__gen_info(kind, key);
		if (!mi)
			break;
		for (int v = mi->min_version; v <= mi->max_version; v++) {
			chronik__ts g = { (uint64_t)key * 7919 + (uint64_t)v + 1,
					  arena, NULL };
			void *m = chronik__ts_random(&g, kind, key, (int16_t)v);
			size_t n;
			chronik_protocol_errinfo err;
			int rc = kind == CHRONIK__K_REQUEST ?
				chronik_protocol_request_encode(&n, NULL, 0,
					(int16_t)key, (int16_t)v, m, &err) :
				chronik_protocol_response_encode(&n, NULL, 0,
					(int16_t)key, (int16_t)v, m, &err);
			assert_int_equal(rc, 0);
			uint8_t *full = malloc(n + 1);
			assert_non_null(full);
			rc = kind == CHRONIK__K_REQUEST ?
				chronik_protocol_request_encode(&n, full, n,
					(int16_t)key, (int16_t)v, m, &err) :
				chronik_protocol_response_encode(&n, full, n,
					(int16_t)key, (int16_t)v, m, &err);
			assert_int_equal(rc, 0);
			for (size_t cut = 0; cut < n; cut++) {
				/* Exact-size copy so ASan sees over-reads. */
				uint8_t *p = malloc(cut ? cut : 1);
				assert_non_null(p);
				memcpy(p, full, cut);
				rc = dec(kind, key, (int16_t)v, p, cut, &err);
				if (rc != CHRONIK_ETRUNCATED)
					fail_msg("%s v%d cut at %zu of %zu: %d "
						 "(%s)", mi->name, v, cut, n,
						 rc, err.message);
				assert_true(err.offset <= cut);
				assert_non_null(strstr(err.message, mi->name));
				free(p);
				cases++;
			}
			full[n] = 0;
			rc = dec(kind, key, (int16_t)v, full, n + 1, &err);
			assert_int_equal(rc, CHRONIK_EMALFORMED);
			assert_int_equal(err.offset, n);
			free(full);
			chronik_protocol_arena_reset(arena);
		}
	}
	print_message("# %lu truncated inputs\n", cases);
}

static void test_malformed_truncated_requests(void **state)
{
	(void)state;
	truncate_all(CHRONIK__K_REQUEST);
}

static void test_malformed_truncated_responses(void **state)
{
	(void)state;
	truncate_all(CHRONIK__K_RESPONSE);
}

/* An array count of 2^31-1 in a 10-byte frame fails at once, without
 * allocating for it. */
static void test_malformed_huge_count(void **state)
{
	(void)state;
	/* Produce v2: acks, timeout, topic count 0x7fffffff. */
	static const uint8_t in[] = { 0, 1, 0, 0, 0, 10, 0x7f, 0xff, 0xff,
				      0xff };
	chronik_protocol_errinfo err;
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 2, in, sizeof in, &err),
			 CHRONIK_ETRUNCATED);
	assert_string_equal(err.field, "ProduceRequest.TopicData");
	assert_int_equal(err.offset, 6);
	assert_non_null(strstr(err.message, "ProduceRequest v2"));
	assert_non_null(strstr(err.message, "at byte 6"));
	/* Flexible: compact count 2^32-1 (uvarint ff ff ff ff 0f). */
	static const uint8_t fin[] = { 0, 0, 1, 0, 0, 0, 10, 0xff, 0xff,
				       0xff, 0xff, 0x0f };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 9, fin, sizeof fin, &err),
			 CHRONIK_ETRUNCATED);
	assert_string_equal(err.field, "ProduceRequest.TopicData");
	/* Metadata v1 topics: count 1000 of 2-byte strings in 20 bytes. */
	static const uint8_t md[] = { 0, 0, 3, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 3, 1, md, sizeof md, &err),
			 CHRONIK_ETRUNCATED);
}

static void test_malformed_negative_lengths(void **state)
{
	(void)state;
	chronik_protocol_errinfo err;
	/* Produce v3 transactional id length -2. */
	static const uint8_t s[] = { 0xff, 0xfe, 0, 1, 0, 0, 0, 10, 0, 0, 0,
				     0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 3, s, sizeof s, &err),
			 CHRONIK_EMALFORMED);
	assert_string_equal(err.field, "ProduceRequest.TransactionalId");
	assert_int_equal(err.offset, 0);
	/* Non-nullable topic name null (-1) in Produce v3. */
	static const uint8_t n[] = { 0xff, 0xff, 0, 1, 0, 0, 0, 10, 0, 0, 0,
				     1, 0xff, 0xff, 0, 0, 0, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 3, n, sizeof n, &err),
			 CHRONIK_EMALFORMED);
	assert_string_equal(err.field, "TopicProduceData.Name");
	assert_int_equal(err.offset, 12);
	/* Array count -2. */
	static const uint8_t a[] = { 0xff, 0xff, 0, 1, 0, 0, 0, 10, 0xff, 0xff,
				     0xff, 0xfe };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 3, a, sizeof a, &err),
			 CHRONIK_EMALFORMED);
	/* Records length -5. */
	static const uint8_t r[] = { 0xff, 0xff, 0, 1, 0, 0, 0, 10, 0, 0, 0, 1,
				     0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0,
				     0xff, 0xff, 0xff, 0xfb };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 3, r, sizeof r, &err),
			 CHRONIK_EMALFORMED);
	assert_string_equal(err.field, "PartitionProduceData.Records");
	assert_int_equal(err.offset, 23);
}

static void test_malformed_bad_varints(void **state)
{
	(void)state;
	chronik_protocol_errinfo err;
	/* ApiVersions v3 request: a 6-byte varint as the name length. */
	static const uint8_t v[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, v, sizeof v, &err),
			 CHRONIK_EMALFORMED);
	assert_string_equal(err.field, "ApiVersionsRequest.ClientSoftwareName");
	assert_non_null(strstr(err.message, "bad varint"));
	/* Overflowing 32 bits in the 5th byte. */
	static const uint8_t o[] = { 0xff, 0xff, 0xff, 0xff, 0x1f, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, o, sizeof o, &err),
			 CHRONIK_EMALFORMED);
	/* Compact string length over 32767. */
	static const uint8_t l[] = { 0x81, 0x80, 0x02, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, l, sizeof l, &err),
			 CHRONIK_EMALFORMED);
	/* Tagged fields: out of order, size past the end, count too big. */
	static const uint8_t t1[] = { 1, 1, 2, 5, 0, 3, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, t1, sizeof t1, &err),
			 CHRONIK_EMALFORMED);
	assert_non_null(strstr(err.message, "out of order"));
	static const uint8_t t2[] = { 1, 1, 1, 5, 9, 0 };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, t2, sizeof t2, &err),
			 CHRONIK_ETRUNCATED);
	static const uint8_t t3[] = { 1, 1, 0x7f };
	assert_int_equal(dec(CHRONIK__K_REQUEST, 18, 3, t3, sizeof t3, &err),
			 CHRONIK_ETRUNCATED);
	/* A known tag whose value does not fill its size. */
	static const uint8_t t4[] = { 0, 0, 1, 0, 0, 0, 0, 1, 1, 9, 0, 0, 0, 0,
				      0, 0, 0, 5, 0 };
	assert_int_equal(dec(CHRONIK__K_RESPONSE, 18, 3, t4, sizeof t4, &err),
			 CHRONIK_EMALFORMED);
	assert_string_equal(err.field,
			    "ApiVersionsResponse.FinalizedFeaturesEpoch");
}

static void test_malformed_unknown_key_version(void **state)
{
	(void)state;
	chronik_protocol_errinfo err;
	static const uint8_t z[8];
	assert_int_equal(dec(CHRONIK__K_REQUEST, 88, 0, z, sizeof z, &err),
			 CHRONIK_EUNSUPPORTED);
	assert_non_null(strstr(err.message, "88"));
	assert_int_equal(dec(CHRONIK__K_REQUEST, -1, 0, z, sizeof z, &err),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(dec(CHRONIK__K_REQUEST, 0, 12, z, sizeof z, &err),
			 CHRONIK_EVERSION);
	assert_non_null(strstr(err.message, "ProduceRequest v12"));
	assert_int_equal(dec(CHRONIK__K_RESPONSE, 3, -1, z, sizeof z, &err),
			 CHRONIK_EVERSION);
	size_t n;
	uint8_t buf[8];
	assert_int_equal(chronik_protocol_request_encode(&n, buf, sizeof buf,
		0, 12, z, &err), CHRONIK_EVERSION);
	assert_int_equal(chronik_protocol_data_decode(NULL, arena, 0, 0, z, 8,
		&err), CHRONIK_EARG);
	void *out;
	assert_int_equal(chronik_protocol_data_decode(&out, arena, 99, 0, z, 8,
		&err), CHRONIK_EUNSUPPORTED);
}

/* Random bytes for every message and version: any result but a crash. */
static void test_malformed_random_bytes(void **state)
{
	(void)state;
	chronik__ts g = { 12345, arena, NULL };
	unsigned long ok = 0, total = 0;
	for (int kind = 0; kind < 2; kind++)
		for (int key = 0; key < CHRONIK_PROTOCOL_API_COUNT; key++) {
			const chronik__msginfo *mi = chronik__gen_info(kind,
								       key);
			for (int v = mi->min_version; v <= mi->max_version;
			     v++)
				for (int i = 0; i < 20; i++) {
					size_t n = chronik__ts_next(&g) % 48;
					uint8_t *p = malloc(n ? n : 1);
					assert_non_null(p);
					chronik__ts_fill(&g, p, n);
					/* Small values make lengths plausible. */
					for (size_t j = 0; j < n; j++)
						if (chronik__ts_coin(&g))
							p[j] &= 3;
					chronik_protocol_errinfo err;
					int rc = dec(kind, key, (int16_t)v, p,
						     n, &err);
					assert_true(rc == 0 || rc ==
						    CHRONIK_ETRUNCATED || rc ==
						    CHRONIK_EMALFORMED);
					assert_true(rc != 0 ||
						    err.message[0] == '\0');
					ok += rc == 0;
					total++;
					free(p);
					chronik_protocol_arena_reset(arena);
				}
		}
	print_message("# %lu of %lu random inputs decoded\n", ok, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_truncated_requests),
		cmocka_unit_test(test_malformed_truncated_responses),
		cmocka_unit_test(test_malformed_huge_count),
		cmocka_unit_test(test_malformed_negative_lengths),
		cmocka_unit_test(test_malformed_bad_varints),
		cmocka_unit_test(test_malformed_unknown_key_version),
		cmocka_unit_test(test_malformed_random_bytes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
