/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "varint.h"

/* Check values from RFC 3720 (iSCSI) appendix B.4. */
static void test_crc32c_known_vectors(void **state)
{
	uint8_t buf[32];
	(void)state;

	assert_int_equal(chronik_util_crc32c(0, "123456789", 9), 0xe3069283);
	memset(buf, 0, sizeof buf);
	assert_int_equal(chronik_util_crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof buf);
	assert_int_equal(chronik_util_crc32c(0, buf, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(chronik_util_crc32c(0, buf, 32), 0x46dd794e);
}

/* Hardware and portable paths agree on every length and alignment, and
 * incremental use equals one pass. */
static void test_crc32c_hw_sw_agree(void **state)
{
	uint8_t buf[1031];
	(void)state;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; len + off <= sizeof buf; len += 37) {
			uint32_t a = chronik_util_crc32c_sw(0, buf + off, len);
			uint32_t b = chronik_util_crc32c(0, buf + off, len);
			assert_int_equal(a, b);
			if (chronik_util_crc32c_hw_available())
				assert_int_equal(
					a, chronik_util_crc32c_hw(0, buf + off, len));
			uint32_t c = chronik_util_crc32c(0, buf + off, len / 2);
			c = chronik_util_crc32c(c, buf + off + len / 2, len - len / 2);
			assert_int_equal(a, c);
		}
	}
}

static void test_varint_round_trip(void **state)
{
	static const int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300,
				       INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
	uint8_t buf[16];
	(void)state;

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		size_t n = chronik_varint64_write(buf, vals[i]);
		int64_t v;
		assert_int_equal(n, chronik_varint64_size(vals[i]));
		assert_int_equal(chronik_varint64_read(&v, buf, n), (int)n);
		assert_true(v == vals[i]);
		/* Every strict prefix is reported as truncated. */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(chronik_varint64_read(&v, buf, k), 0);
	}
}

static void test_varint_rejects_overlong(void **state)
{
	uint8_t buf[11];
	uint32_t u32;
	uint64_t u64;
	(void)state;

	memset(buf, 0x80, sizeof buf);
	assert_int_equal(chronik_uvarint32_read(&u32, buf, sizeof buf), -1);
	assert_int_equal(chronik_uvarint64_read(&u64, buf, sizeof buf), -1);
	/* 2^32 does not fit an unsigned 32-bit varint. */
	const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x10};
	assert_int_equal(chronik_uvarint32_read(&u32, big, sizeof big), -1);
	const uint8_t max32[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	assert_int_equal(chronik_uvarint32_read(&u32, max32, sizeof max32), 5);
	assert_int_equal(u32, UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_vectors),
		cmocka_unit_test(test_crc32c_hw_sw_agree),
		cmocka_unit_test(test_varint_round_trip),
		cmocka_unit_test(test_varint_rejects_overlong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
