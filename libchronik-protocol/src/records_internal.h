/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers of the record batch, message set and codec code. */
#ifndef CHRONIK_PROTOCOL_RECORDS_INTERNAL_H
#define CHRONIK_PROTOCOL_RECORDS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t chronik_protocol__be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t chronik_protocol__be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t chronik_protocol__be64(const uint8_t *p)
{
	return (uint64_t)chronik_protocol__be32(p) << 32 |
	       chronik_protocol__be32(p + 4);
}

static inline void chronik_protocol__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void chronik_protocol__put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void chronik_protocol__put64(uint8_t *p, uint64_t v)
{
	chronik_protocol__put32(p, (uint32_t)(v >> 32));
	chronik_protocol__put32(p + 4, (uint32_t)v);
}

/* XXH32 (seed given), needed for the lz4 frame descriptor checksum that
 * liblz4 does not export. */
uint32_t chronik_protocol__xxh32(const void *data, size_t len, uint32_t seed);

#endif
