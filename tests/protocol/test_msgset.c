/* SPDX-License-Identifier: Apache-2.0 */
/* Legacy message sets (magic 0 and 1): hand-built messages, round trips,
 * compressed wrappers for gzip/snappy/lz4, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <zlib.h>

#include <chronik/protocol.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A magic 1 message written by hand: offset 5, timestamp 0x0102, key
 * "ab", value "xyz". */
static size_t hand_v1(uint8_t *m)
{
	static const uint8_t body[] = {
		1, 0,                                     /* magic, attrs */
		0, 0, 0, 0, 0, 0, 1, 2,                   /* timestamp */
		0, 0, 0, 2, 'a', 'b', 0, 0, 0, 3, 'x', 'y', 'z'};
	memset(m, 0, 12);
	m[7] = 5;
	put32(m + 8, 4 + sizeof body);
	memcpy(m + 16, body, sizeof body);
	put32(m + 12, (uint32_t)crc32(0, body, sizeof body));
	return 16 + sizeof body;
}

static void test_msgset_hand_built_v1(void **state)
{
	uint8_t m[64], w[64];
	size_t len = hand_v1(m);
	chronik_protocol_message msg;
	(void)state;

	assert_int_equal(chronik_protocol_message_parse(&msg, m, len), 0);
	assert_int_equal(msg.offset, 5);
	assert_int_equal(msg.magic, 1);
	assert_int_equal(msg.timestamp, 0x0102);
	assert_int_equal(msg.key_len, 2);
	assert_memory_equal(msg.key, "ab", 2);
	assert_int_equal(msg.value_len, 3);
	assert_memory_equal(msg.value, "xyz", 3);
	assert_int_equal(msg.size, len);
	/* The writer produces the same bytes. */
	assert_int_equal(chronik_protocol_message_size(1, 2, 3), len);
	assert_int_equal(chronik_protocol_message_write(w, sizeof w, 1, 5, 0,
							0x0102, "ab", 2, "xyz",
							3),
			 (int64_t)len);
	assert_memory_equal(w, m, len);
	assert_int_equal(chronik_protocol_message_write(w, len - 1, 1, 5, 0,
							0x0102, "ab", 2, "xyz",
							3),
			 CHRONIK_ETOOBIG);
}

static void test_msgset_v0_nulls(void **state)
{
	uint8_t m[64];
	chronik_protocol_message msg;
	int64_t n;
	(void)state;

	n = chronik_protocol_message_write(m, sizeof m, 0, 9, 0, 777, NULL,
					   -1, NULL, -1);
	assert_int_equal(n, 26);
	assert_int_equal(chronik_protocol_message_parse(&msg, m, (size_t)n),
			 0);
	assert_int_equal(msg.magic, 0);
	assert_int_equal(msg.timestamp, -1);
	assert_null(msg.key);
	assert_int_equal(msg.key_len, -1);
	assert_null(msg.value);
	assert_int_equal(msg.value_len, -1);
	assert_int_equal(chronik_protocol_message_write(m, sizeof m, 2, 0, 0,
							0, NULL, -1, NULL, -1),
			 CHRONIK_EARG);
}

static void test_msgset_malformed(void **state)
{
	uint8_t m[64];
	size_t len = hand_v1(m);
	chronik_protocol_message msg;
	(void)state;

	for (size_t n = 0; n < len; n++) {
		uint8_t *c = malloc(n ? n : 1);
		memcpy(c, m, n);
		assert_int_equal(chronik_protocol_message_parse(&msg, c, n),
				 CHRONIK_ETRUNCATED);
		free(c);
	}
	m[len - 1] ^= 1;
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_ECRC);
	len = hand_v1(m);
	put32(m + 8, 13);
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_EMALFORMED);
	put32(m + 8, 0x80000000u);
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_EMALFORMED);
	len = hand_v1(m);
	put32(m + 26, 0x7fffffffu); /* key length past the end */
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_EMALFORMED);
	len = hand_v1(m);
	put32(m + 26, 0xfffffffeu); /* key length -2 */
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_EMALFORMED);
	len = hand_v1(m);
	m[16] = 2;
	assert_int_equal(chronik_protocol_message_parse(&msg, m, len),
			 CHRONIK_EUNSUPPORTED);
	/* zstd in a magic 1 message: valid CRC, unsupported codec. */
	int64_t n = chronik_protocol_message_write(m, sizeof m, 1, 0, 4, 0,
						   NULL, -1, "x", 1);
	assert_int_equal(chronik_protocol_message_parse(&msg, m, (size_t)n),
			 CHRONIK_EUNSUPPORTED);
	/* Every byte mutated: never a crash. */
	len = hand_v1(m);
	for (size_t i = 0; i < len; i++) {
		uint8_t *c = malloc(len);
		memcpy(c, m, len);
		c[i] ^= 0xa5;
		(void)chronik_protocol_message_parse(&msg, c, len);
		free(c);
	}
}

/* Three inner messages, compressed into a wrapper; inner offsets are
 * relative for magic 1, absolute for magic 0. */
static void wrapper_round_trip(int magic, int codec)
{
	uint8_t inner[256];
	size_t ilen = 0;
	void *wrap, *plain;
	size_t wlen, plen;
	chronik_protocol_message w, im;
	chronik_protocol_records_iter it;
	chronik_protocol_records_entry e;
	int64_t last = 0;
	int count = 0;

	for (int i = 0; i < 3; i++) {
		char v[8];
		int64_t n;
		snprintf(v, sizeof v, "val-%d", i);
		n = chronik_protocol_message_write(
			inner + ilen, sizeof inner - ilen, magic,
			magic == 1 ? i : 100 + i, 0, 1000 + i, "k", 1, v,
			(int32_t)strlen(v));
		assert_true(n > 0);
		ilen += (size_t)n;
	}
	assert_int_equal(chronik_protocol_message_wrap(&wrap, &wlen, magic,
						       codec, 102, 1002, inner,
						       ilen),
			 0);
	assert_int_equal(chronik_protocol_message_parse(&w, wrap, wlen), 0);
	assert_int_equal(w.attributes & 7, codec);
	assert_int_equal(w.offset, 102);
	assert_int_equal(chronik_protocol_message_decompress(&plain, &plen, &w,
							     1 << 20),
			 0);
	assert_int_equal(plen, ilen);
	assert_memory_equal(plain, inner, ilen);
	/* Find the last inner offset, then map each to an absolute one. */
	chronik_protocol_records_iter_init(&it, plain, plen);
	while (chronik_protocol_records_next(&e, &it) == 1)
		last = e.offset;
	chronik_protocol_records_iter_init(&it, plain, plen);
	while (chronik_protocol_records_next(&e, &it) == 1) {
		assert_int_equal(e.magic, magic);
		assert_int_equal(chronik_protocol_message_parse(&im, e.data,
								e.size),
				 0);
		assert_int_equal(chronik_protocol_message_inner_offset(
					 &w, last, im.offset),
				 100 + count);
		count++;
	}
	assert_int_equal(count, 3);
	assert_int_equal(chronik_protocol_message_decompress(&plain, &plen, &w,
							     ilen - 1),
			 CHRONIK_ETOOBIG);
	chronik_protocol_free(plain);
	chronik_protocol_free(wrap);
}

static void test_msgset_wrappers(void **state)
{
	(void)state;
	for (int magic = 0; magic <= 1; magic++)
		for (int codec = 1; codec <= 3; codec++)
			wrapper_round_trip(magic, codec);
}

/* Magic 0 lz4 carries the broken pre-0.10 descriptor checksum: strict
 * lz4 refuses it; the message path tolerates it. */
static void test_msgset_v0_lz4_broken_checksum(void **state)
{
	uint8_t inner[64];
	int64_t n;
	void *wrap, *plain;
	size_t wlen, plen;
	chronik_protocol_message w;
	(void)state;

	n = chronik_protocol_message_write(inner, sizeof inner, 0, 0, 0, 0,
					   NULL, -1, "hello", 5);
	assert_int_equal(chronik_protocol_message_wrap(
				 &wrap, &wlen, 0,
				 CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0, 0, inner,
				 (size_t)n),
			 0);
	assert_int_equal(chronik_protocol_message_parse(&w, wrap, wlen), 0);
	assert_int_equal(chronik_protocol_decompress(
				 &plain, &plen,
				 CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0, w.value,
				 (size_t)w.value_len, 1024),
			 CHRONIK_ECODEC);
	assert_int_equal(chronik_protocol_message_decompress(&plain, &plen, &w,
							     1024),
			 0);
	assert_int_equal(plen, (size_t)n);
	chronik_protocol_free(plain);
	chronik_protocol_free(wrap);
	assert_int_equal(chronik_protocol_message_wrap(
				 &wrap, &wlen, 1,
				 CHRONIK_PROTOCOL_COMPRESSION_ZSTD, 0, 0, inner,
				 (size_t)n),
			 CHRONIK_EUNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgset_hand_built_v1),
		cmocka_unit_test(test_msgset_v0_nulls),
		cmocka_unit_test(test_msgset_malformed),
		cmocka_unit_test(test_msgset_wrappers),
		cmocka_unit_test(test_msgset_v0_lz4_broken_checksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
