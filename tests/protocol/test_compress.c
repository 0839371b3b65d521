/* SPDX-License-Identifier: Apache-2.0 */
/* Compression codecs: round trips, xerial snappy, Kafka's lz4 frame,
 * corrupt and truncated payloads, decompression bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <lz4frame.h>

#include <chronik/protocol.h>

#include "records_internal.h"

#define MiB ((size_t)1 << 20)

static uint8_t *payload(size_t n, int compressible)
{
	uint8_t *p = calloc(1, n ? n : 1);
	static const char line[] =
		"{\"level\":\"info\",\"msg\":\"request served\"}\n";
	uint32_t s = 99;

	for (size_t i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		p[i] = compressible ? (uint8_t)line[i % (sizeof line - 1)]
				    : (uint8_t)(s >> 16);
		if (compressible && (s >> 28) == 0)
			p[i] = (uint8_t)('0' + (s >> 20) % 10);
	}
	return p;
}

static void round_trip(int codec, size_t n, int compressible)
{
	uint8_t *in = payload(n, compressible);
	void *c, *d;
	size_t clen, dlen;

	assert_int_equal(chronik_protocol_compress(&c, &clen, codec, 0, 0, in,
						   n),
			 0);
	assert_int_equal(chronik_protocol_decompress(&d, &dlen, codec, 0, c,
						     clen, n),
			 0);
	assert_int_equal(dlen, n);
	assert_memory_equal(d, in, n);
	chronik_protocol_free(d);
	if (n > 0) {
		/* One byte under the size: the cap bites. */
		assert_int_equal(chronik_protocol_decompress(&d, &dlen, codec,
							     0, c, clen, n - 1),
				 CHRONIK_ETOOBIG);
	}
	chronik_protocol_free(c);
	free(in);
}

static void test_compress_round_trip_all(void **state)
{
	static const size_t sizes[] = {0, 1, 100, 4096, 65536, 65537,
				       300000};
	(void)state;

	for (int codec = 1; codec <= 4; codec++)
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			round_trip(codec, sizes[i], 1);
			round_trip(codec, sizes[i], 0);
		}
}

static void test_compress_unknown_codec(void **state)
{
	void *c;
	size_t clen;
	(void)state;

	assert_int_equal(chronik_protocol_compress(&c, &clen, 0, 0, 0, "a", 1),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(chronik_protocol_compress(&c, &clen, 5, 0, 0, "a", 1),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(chronik_protocol_decompress(&c, &clen, 7, 0, "a", 1,
						     10),
			 CHRONIK_EUNSUPPORTED);
}

static void test_compress_snappy_xerial(void **state)
{
	uint8_t *in = payload(100000, 1);
	void *c, *d;
	size_t clen, dlen, rlen;
	char *raw;
	(void)state;

	/* We write xerial framing: magic, version 1, compat 1, blocks. */
	assert_int_equal(chronik_protocol_compress(
				 &c, &clen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, 0, in, 100000),
			 0);
	assert_memory_equal(c, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16);
	/* 100000 bytes = 4 blocks of at most 32 KiB. */
	size_t pos = 16, blocks = 0;
	while (pos < clen) {
		pos += 4 + chronik_protocol__be32((uint8_t *)c + pos);
		blocks++;
	}
	assert_int_equal(pos, clen);
	assert_int_equal(blocks, 4);
	chronik_protocol_free(c);

	/* Raw snappy (no framing) is detected and read too. */
	rlen = snappy_max_compressed_length(100000);
	raw = malloc(rlen);
	assert_int_equal(snappy_compress((char *)in, 100000, raw, &rlen),
			 SNAPPY_OK);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, raw, rlen, MiB),
			 0);
	assert_int_equal(dlen, 100000);
	assert_memory_equal(d, in, dlen);
	chronik_protocol_free(d);
	/* Raw: the declared length is checked before anything else. */
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, raw, rlen, 99999),
			 CHRONIK_ETOOBIG);
	free(raw);
	free(in);

	/* A header-only xerial stream is an empty payload; a short header
	 * is truncated. */
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, "\x82SNAPPY\0\0\0\0\1\0\0\0\1", 16, 10),
			 0);
	assert_int_equal(dlen, 0);
	chronik_protocol_free(d);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, "\x82SNAPPY\0\0\0\0\1", 12, 10),
			 CHRONIK_ETRUNCATED);
}

static void test_compress_lz4_frame(void **state)
{
	uint8_t *in = payload(200000, 1);
	uint8_t *c, *c0;
	void *d;
	size_t clen, c0len, dlen;
	(void)state;

	assert_int_equal(chronik_protocol__xxh32("", 0, 0), 0x02cc5d05u);
	assert_int_equal(chronik_protocol_compress(
				 (void **)&c, &clen,
				 CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0, 0, in,
				 200000),
			 0);
	/* Kafka's frame: magic, FLG 0x60 (v1, independent blocks), BD 0x40
	 * (64 KiB), HC = second byte of XXH32(FLG BD). */
	assert_memory_equal(c, "\x04\x22\x4d\x18\x60\x40", 6);
	assert_int_equal(c[6],
			 (uint8_t)(chronik_protocol__xxh32(c + 4, 2, 0) >> 8));

	/* Legacy (magic 0) HC: XXH32 over magic + descriptor. */
	assert_int_equal(chronik_protocol_compress(
				 (void **)&c0, &c0len,
				 CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0,
				 CHRONIK_PROTOCOL_COMPRESS_LZ4_LEGACY_HC, in,
				 200000),
			 0);
	assert_int_equal(c0[6], (uint8_t)(chronik_protocol__xxh32(c0, 6, 0) >>
					  8));
	assert_int_not_equal(c0[6], c[6]);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0,
				 c0, c0len, MiB),
			 CHRONIK_ECODEC);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_LZ4,
				 CHRONIK_PROTOCOL_DECOMPRESS_LZ4_LEGACY_HC, c0,
				 c0len, MiB),
			 0);
	assert_int_equal(dlen, 200000);
	assert_memory_equal(d, in, dlen);
	chronik_protocol_free(d);
	/* The legacy flag tolerates a correct checksum too. */
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_LZ4,
				 CHRONIK_PROTOCOL_DECOMPRESS_LZ4_LEGACY_HC, c,
				 clen, MiB),
			 0);
	chronik_protocol_free(d);
	/* Bytes after the frame. */
	uint8_t *x = malloc(clen + 2);
	memcpy(x, c, clen);
	x[clen] = x[clen + 1] = 0;
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0,
				 x, clen + 2, MiB),
			 CHRONIK_EMALFORMED);
	free(x);
	chronik_protocol_free(c);
	chronik_protocol_free(c0);
	free(in);
}

/* Cut a compressed payload at every length and flip bytes everywhere:
 * always an error code or a result within the cap, never a crash. */
static void test_compress_corrupt_and_truncated(void **state)
{
	uint8_t *in = payload(5000, 1);
	(void)state;

	for (int codec = 1; codec <= 4; codec++) {
		uint8_t *c;
		void *d;
		size_t clen, dlen;
		assert_int_equal(chronik_protocol_compress((void **)&c, &clen,
							   codec, 0, 0, in,
							   5000),
				 0);
		for (size_t n = 0; n < clen; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, c, n);
			int rc = chronik_protocol_decompress(&d, &dlen, codec,
							     0, cut, n, MiB);
			/* A xerial stream cut right after its header or a
			 * block is a valid, shorter stream. */
			if (rc == 0) {
				assert_int_equal(
					codec,
					CHRONIK_PROTOCOL_COMPRESSION_SNAPPY);
				assert_int_equal(n, 16);
				chronik_protocol_free(d);
			} else {
				assert_true(rc == CHRONIK_ETRUNCATED ||
					    rc == CHRONIK_ECODEC ||
					    rc == CHRONIK_EMALFORMED);
			}
			free(cut);
		}
		for (size_t i = 0; i < clen; i++) {
			uint8_t *m = malloc(clen);
			memcpy(m, c, clen);
			m[i] ^= (uint8_t)(0x5a + i);
			int rc = chronik_protocol_decompress(&d, &dlen, codec,
							     0, m, clen, 8000);
			if (rc == 0) {
				assert_true(dlen <= 8000);
				chronik_protocol_free(d);
			} else {
				assert_true(rc == CHRONIK_ETRUNCATED ||
					    rc == CHRONIK_ECODEC ||
					    rc == CHRONIK_EMALFORMED ||
					    rc == CHRONIK_ETOOBIG);
			}
			free(m);
		}
		chronik_protocol_free(c);
	}
	free(in);
}

/* 1 GiB of zeros, compressed, against a 1 MiB cap. */
static void test_compress_bomb_zstd(void **state)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	uint8_t *zeros = calloc(1, MiB);
	size_t cap = 4 * MiB, clen = 0;
	uint8_t *c = malloc(cap);
	void *d;
	size_t dlen;
	(void)state;

	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
	for (int i = 0; i < 1024; i++) {
		ZSTD_inBuffer ib = {zeros, MiB, 0};
		ZSTD_EndDirective end =
			i == 1023 ? ZSTD_e_end : ZSTD_e_continue;
		size_t r;
		do {
			ZSTD_outBuffer ob = {c, cap, clen};
			r = ZSTD_compressStream2(cc, &ob, &ib, end);
			assert_false(ZSTD_isError(r));
			clen = ob.pos;
		} while (ib.pos < ib.size || (end == ZSTD_e_end && r != 0));
	}
	ZSTD_freeCCtx(cc);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_ZSTD,
				 0, c, clen, MiB),
			 CHRONIK_ETOOBIG);
	free(c);
	free(zeros);
}

static void test_compress_bomb_gzip(void **state)
{
	uint8_t *zeros = calloc(1, MiB);
	void *one, *d;
	size_t onelen, dlen;
	(void)state;

	/* 1024 gzip members of 1 MiB of zeros each: 1 GiB in all. */
	assert_int_equal(chronik_protocol_compress(
				 &one, &onelen,
				 CHRONIK_PROTOCOL_COMPRESSION_GZIP, 9, 0, zeros,
				 MiB),
			 0);
	uint8_t *c = malloc(onelen * 1024);
	for (int i = 0; i < 1024; i++)
		memcpy(c + (size_t)i * onelen, one, onelen);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_GZIP,
				 0, c, onelen * 1024, MiB),
			 CHRONIK_ETOOBIG);
	/* Two members decompress to exactly their sum. */
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_GZIP,
				 0, c, onelen * 2, 2 * MiB),
			 0);
	assert_int_equal(dlen, 2 * MiB);
	chronik_protocol_free(d);
	free(c);
	chronik_protocol_free(one);
	free(zeros);
}

static void test_compress_bomb_lz4_snappy(void **state)
{
	uint8_t *zeros = calloc(1, MiB);
	uint8_t *one;
	void *d;
	size_t onelen, dlen;
	(void)state;

	/* lz4: a frame of one 64 KiB block, whose block we repeat 16384
	 * times (blocks are independent): 1 GiB of output. */
	assert_int_equal(chronik_protocol_compress(
				 (void **)&one, &onelen,
				 CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0, 0, zeros,
				 65536),
			 0);
	size_t blk = onelen - 7 - 4; /* minus header and end mark */
	uint8_t *c = malloc(7 + blk * 16384 + 4);
	memcpy(c, one, 7);
	for (size_t i = 0; i < 16384; i++)
		memcpy(c + 7 + i * blk, one + 7, blk);
	memset(c + 7 + blk * 16384, 0, 4);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0,
				 c, 7 + blk * 16384 + 4, MiB),
			 CHRONIK_ETOOBIG);
	free(c);
	chronik_protocol_free(one);

	/* xerial snappy: 2048 copies of a 32 KiB block (64 MiB). */
	assert_int_equal(chronik_protocol_compress(
				 (void **)&one, &onelen,
				 CHRONIK_PROTOCOL_COMPRESSION_SNAPPY, 0, 0,
				 zeros, 32768),
			 0);
	blk = onelen - 16;
	c = malloc(16 + blk * 2048);
	memcpy(c, one, 16);
	for (size_t i = 0; i < 2048; i++)
		memcpy(c + 16 + i * blk, one + 16, blk);
	assert_int_equal(chronik_protocol_decompress(
				 &d, &dlen, CHRONIK_PROTOCOL_COMPRESSION_SNAPPY,
				 0, c, 16 + blk * 2048, MiB),
			 CHRONIK_ETOOBIG);
	free(c);
	chronik_protocol_free(one);
	free(zeros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compress_round_trip_all),
		cmocka_unit_test(test_compress_unknown_codec),
		cmocka_unit_test(test_compress_snappy_xerial),
		cmocka_unit_test(test_compress_lz4_frame),
		cmocka_unit_test(test_compress_corrupt_and_truncated),
		cmocka_unit_test(test_compress_bomb_zstd),
		cmocka_unit_test(test_compress_bomb_gzip),
		cmocka_unit_test(test_compress_bomb_lz4_snappy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
