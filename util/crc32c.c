/* SPDX-License-Identifier: Apache-2.0 */
#include "crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

/* The slicing tables are filled once, lazily, under a pthread_once guard. */
#include <pthread.h>

static uint32_t tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void tab_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			tab[t][i] = (tab[t - 1][i] >> 8) ^
				    tab[0][tab[t - 1][i] & 0xff];
}

uint32_t chronik_util_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&tab_once, tab_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		w ^= crc;
		crc = tab[7][w & 0xff] ^ tab[6][(w >> 8) & 0xff] ^
		      tab[5][(w >> 16) & 0xff] ^ tab[4][(w >> 24) & 0xff] ^
		      tab[3][(w >> 32) & 0xff] ^ tab[2][(w >> 40) & 0xff] ^
		      tab[1][(w >> 48) & 0xff] ^ tab[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

/*
 * The crc32 instruction has a latency of 3 cycles but can start one every
 * cycle, so one dependent chain runs at a third of the possible speed.
 * Long buffers are cut into three adjacent blocks checksummed by three
 * independent chains; the partial CRCs are then joined with
 *   crc(A || B) = shift(crc(A), |B|) ^ crc0(B)
 * where crc0 starts from a zero register and shift() advances a CRC
 * register over |B| zero bytes. shift() is linear, so for each fixed block
 * size it is four 256-entry tables (one per register byte).
 */
#define LONG_BLK 8192
#define SHORT_BLK 256

static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* Advance a raw CRC register over n zero bytes, one bit at a time. */
static uint32_t zeros_slow(uint32_t reg, size_t n)
{
	for (size_t i = 0; i < n * 8; i++)
		reg = (reg & 1) ? (reg >> 1) ^ POLY : reg >> 1;
	return reg;
}

static void shift_table(uint32_t t[4][256], size_t n)
{
	uint32_t col[32];

	for (int i = 0; i < 32; i++)
		col[i] = zeros_slow(1u << i, n);
	for (int k = 0; k < 4; k++)
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t v = 0;
			for (int j = 0; j < 8; j++)
				if (b & (1u << j))
					v ^= col[8 * k + j];
			t[k][b] = v;
		}
}

static void shift_init(void)
{
	shift_table(shift_long, LONG_BLK);
	shift_table(shift_short, SHORT_BLK);
}

static inline uint64_t shift(uint32_t t[4][256], uint64_t reg)
{
	return t[0][reg & 0xff] ^ t[1][(reg >> 8) & 0xff] ^
	       t[2][(reg >> 16) & 0xff] ^ t[3][(reg >> 24) & 0xff];
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

/* Three interleaved chains over blocks of blk bytes; returns the joined
 * register. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc3(uint64_t c0, const unsigned char *p, size_t blk,
     uint32_t t[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	const unsigned char *end = p + blk;

	do {
		c0 = _mm_crc32_u64(c0, load64(p));
		c1 = _mm_crc32_u64(c1, load64(p + blk));
		c2 = _mm_crc32_u64(c2, load64(p + 2 * blk));
		p += 8;
	} while (p < end);
	c0 = shift(t, c0) ^ c1;
	return shift(t, c0) ^ c2;
}

__attribute__((target("sse4.2")))
uint32_t chronik_util_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	if (len >= 3 * SHORT_BLK) {
		pthread_once(&shift_once, shift_init);
		while (len >= 3 * LONG_BLK) {
			c = crc3(c, p, LONG_BLK, shift_long);
			p += 3 * LONG_BLK;
			len -= 3 * LONG_BLK;
		}
		while (len >= 3 * SHORT_BLK) {
			c = crc3(c, p, SHORT_BLK, shift_short);
			p += 3 * SHORT_BLK;
			len -= 3 * SHORT_BLK;
		}
	}
	while (len >= 8) {
		c = _mm_crc32_u64(c, load64(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

int chronik_util_crc32c_hw_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

uint32_t chronik_util_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = ~crc;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __crc32cd(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __crc32cb(c, *p++);
	return ~c;
}

int chronik_util_crc32c_hw_available(void)
{
	return 1;
}
#else
uint32_t chronik_util_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	return chronik_util_crc32c_sw(crc, data, len);
}

int chronik_util_crc32c_hw_available(void)
{
	return 0;
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static crc_fn impl;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static void impl_init(void)
{
	impl = chronik_util_crc32c_hw_available() ? chronik_util_crc32c_hw
						   : chronik_util_crc32c_sw;
}

uint32_t chronik_util_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&impl_once, impl_init);
	return impl(crc, data, len);
}
