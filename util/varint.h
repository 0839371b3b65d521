/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helper (not installed): Kafka's varints. Unsigned varints are
 * LEB128 (7 bits a byte, low first); signed varints are zigzag-encoded
 * first. All readers are bounds-checked and reject over-long encodings. */
#ifndef CHRONIK_UTIL_VARINT_H
#define CHRONIK_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define CHRONIK_UVARINT32_MAX_LEN 5
#define CHRONIK_UVARINT64_MAX_LEN 10

/* Read an unsigned varint of at most 32 bits from p[0..len). Returns the
 * number of bytes consumed, 0 if the input ends first, -1 if the encoding
 * is too long or overflows 32 bits. */
static inline int chronik_uvarint32_read(uint32_t *out, const uint8_t *p,
					  size_t len)
{
	uint32_t v = 0;
	for (size_t i = 0; i < CHRONIK_UVARINT32_MAX_LEN; i++) {
		if (i >= len)
			return 0;
		uint8_t b = p[i];
		if (i == 4 && (b & 0xf0))
			return -1;
		v |= (uint32_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return (int)i + 1;
		}
	}
	return -1;
}

static inline int chronik_uvarint64_read(uint64_t *out, const uint8_t *p,
					  size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < CHRONIK_UVARINT64_MAX_LEN; i++) {
		if (i >= len)
			return 0;
		uint8_t b = p[i];
		if (i == 9 && (b & 0xfe))
			return -1;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return (int)i + 1;
		}
	}
	return -1;
}

static inline int chronik_varint32_read(int32_t *out, const uint8_t *p,
					 size_t len)
{
	uint32_t u;
	int n = chronik_uvarint32_read(&u, p, len);
	if (n > 0)
		*out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return n;
}

static inline int chronik_varint64_read(int64_t *out, const uint8_t *p,
					 size_t len)
{
	uint64_t u;
	int n = chronik_uvarint64_read(&u, p, len);
	if (n > 0)
		*out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
	return n;
}

/* Encoded sizes. */
static inline size_t chronik_uvarint64_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint64_t chronik_zigzag64(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline uint32_t chronik_zigzag32(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline size_t chronik_varint64_size(int64_t v)
{
	return chronik_uvarint64_size(chronik_zigzag64(v));
}

/* Write; the caller guarantees room for the encoded size. Returns bytes
 * written. */
static inline size_t chronik_uvarint64_write(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t chronik_varint64_write(uint8_t *p, int64_t v)
{
	return chronik_uvarint64_write(p, chronik_zigzag64(v));
}

#endif
