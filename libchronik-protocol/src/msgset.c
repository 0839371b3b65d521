/* SPDX-License-Identifier: Apache-2.0 */
/* Legacy message sets (magic 0 and 1), still sent by old clients and
 * proxies: offset, message size, CRC-32 (IEEE), magic, attributes,
 * [timestamp], key, value; a compressed wrapper carries an inner message
 * set as its value. https://kafka.apache.org/documentation/#messageset */
#include <chronik/protocol.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "records_internal.h"

#define OVERHEAD 12 /* offset + message size */
#define OFF_CRC 12
#define OFF_MAGIC 16
#define OFF_ATTRIBUTES 17
#define OFF_TIMESTAMP 18

static uint32_t ieee_crc(const uint8_t *p, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths; messages are below 2 GiB anyway. */
	while (len) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
		c = crc32(c, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)c;
}

/* Nullable bytes with an int32 length. */
static int rd_bytes(const uint8_t **d, int32_t *n, const uint8_t **pp,
		    const uint8_t *end)
{
	if (end - *pp < 4)
		return CHRONIK_EMALFORMED;
	*n = (int32_t)chronik_protocol__be32(*pp);
	*pp += 4;
	if (*n < -1 || (*n > 0 && *n > end - *pp))
		return CHRONIK_EMALFORMED;
	*d = *n < 0 ? NULL : *pp;
	if (*n > 0)
		*pp += *n;
	return 0;
}

int chronik_protocol_message_parse(chronik_protocol_message *out,
				   const void *buf, size_t len)
{
	const uint8_t *p = buf, *q, *end;
	int32_t size;

	if (!out || (!buf && len))
		return CHRONIK_EARG;
	if (len < OVERHEAD)
		return CHRONIK_ETRUNCATED;
	size = (int32_t)chronik_protocol__be32(p + 8);
	if (size < 14)
		return CHRONIK_EMALFORMED;
	if ((size_t)size > len - OVERHEAD)
		return CHRONIK_ETRUNCATED;
	out->offset = (int64_t)chronik_protocol__be64(p);
	out->message_size = size;
	out->crc = chronik_protocol__be32(p + OFF_CRC);
	out->magic = (int8_t)p[OFF_MAGIC];
	out->attributes = (int8_t)p[OFF_ATTRIBUTES];
	out->data = p;
	out->size = (size_t)size + OVERHEAD;
	end = p + out->size;
	if (out->magic != 0 && out->magic != 1)
		return CHRONIK_EUNSUPPORTED;
	q = p + OFF_TIMESTAMP;
	out->timestamp = -1;
	if (out->magic == 1) {
		if (size < 22)
			return CHRONIK_EMALFORMED;
		out->timestamp = (int64_t)chronik_protocol__be64(q);
		q += 8;
	}
	if (rd_bytes(&out->key, &out->key_len, &q, end) ||
	    rd_bytes(&out->value, &out->value_len, &q, end) || q != end)
		return CHRONIK_EMALFORMED;
	if (ieee_crc(p + OFF_MAGIC, out->size - OFF_MAGIC) != out->crc)
		return CHRONIK_ECRC;
	/* zstd (4) never existed for magic 0/1. */
	if ((out->attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) >
	    CHRONIK_PROTOCOL_COMPRESSION_LZ4)
		return CHRONIK_EUNSUPPORTED;
	return 0;
}

int chronik_protocol_message_decompress(void **out, size_t *out_len,
					const chronik_protocol_message *msg,
					size_t max_out)
{
	int codec;
	unsigned flags = 0;

	if (!msg)
		return CHRONIK_EARG;
	codec = msg->attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK;
	if (codec == CHRONIK_PROTOCOL_COMPRESSION_NONE || msg->value_len < 0)
		return CHRONIK_EARG;
	if (codec > CHRONIK_PROTOCOL_COMPRESSION_LZ4)
		return CHRONIK_EUNSUPPORTED;
	/* Kafka before 0.10 wrote a wrong lz4 descriptor checksum. */
	if (msg->magic == 0 && codec == CHRONIK_PROTOCOL_COMPRESSION_LZ4)
		flags |= CHRONIK_PROTOCOL_DECOMPRESS_LZ4_LEGACY_HC;
	return chronik_protocol_decompress(out, out_len, codec, flags,
					   msg->value, (size_t)msg->value_len,
					   max_out);
}

int64_t chronik_protocol_message_inner_offset(
	const chronik_protocol_message *wrapper, int64_t last_inner,
	int64_t inner)
{
	if (!wrapper || wrapper->magic == 0)
		return inner;
	/* Magic 1: inner offsets are relative; the wrapper holds the
	 * absolute offset of the last inner message. */
	return (int64_t)((uint64_t)wrapper->offset - (uint64_t)last_inner +
			 (uint64_t)inner);
}

size_t chronik_protocol_message_size(int magic, int32_t key_len,
				     int32_t value_len)
{
	return OVERHEAD + 4 + 1 + 1 + (magic == 1 ? 8 : 0) + 4 +
	       (key_len > 0 ? (size_t)key_len : 0) + 4 +
	       (value_len > 0 ? (size_t)value_len : 0);
}

int64_t chronik_protocol_message_write(void *out, size_t cap, int magic,
				       int64_t offset, int8_t attributes,
				       int64_t timestamp, const void *key,
				       int32_t key_len, const void *value,
				       int32_t value_len)
{
	uint8_t *p = out, *q;
	size_t size;

	if ((magic != 0 && magic != 1) || key_len < -1 || value_len < -1 ||
	    (key_len > 0 && !key) || (value_len > 0 && !value))
		return CHRONIK_EARG;
	size = chronik_protocol_message_size(magic, key_len, value_len);
	if (size - OVERHEAD > INT32_MAX)
		return CHRONIK_ETOOBIG;
	if (!out || cap < size)
		return CHRONIK_ETOOBIG;
	chronik_protocol__put64(p, (uint64_t)offset);
	chronik_protocol__put32(p + 8, (uint32_t)(size - OVERHEAD));
	p[OFF_MAGIC] = (uint8_t)magic;
	p[OFF_ATTRIBUTES] = (uint8_t)attributes;
	q = p + OFF_TIMESTAMP;
	if (magic == 1) {
		chronik_protocol__put64(q, (uint64_t)timestamp);
		q += 8;
	}
	chronik_protocol__put32(q, (uint32_t)key_len);
	q += 4;
	if (key_len > 0) {
		memcpy(q, key, (size_t)key_len);
		q += key_len;
	}
	chronik_protocol__put32(q, (uint32_t)value_len);
	q += 4;
	if (value_len > 0)
		memcpy(q, value, (size_t)value_len);
	chronik_protocol__put32(p + OFF_CRC,
				ieee_crc(p + OFF_MAGIC, size - OFF_MAGIC));
	return (int64_t)size;
}

int chronik_protocol_message_wrap(void **out, size_t *out_len, int magic,
				  int codec, int64_t offset,
				  int64_t timestamp, const void *inner,
				  size_t inner_len)
{
	void *c;
	size_t clen, size;
	uint8_t *buf;
	int rc;

	if (!out || !out_len || (magic != 0 && magic != 1))
		return CHRONIK_EARG;
	if (codec < CHRONIK_PROTOCOL_COMPRESSION_GZIP ||
	    codec > CHRONIK_PROTOCOL_COMPRESSION_LZ4)
		return CHRONIK_EUNSUPPORTED;
	rc = chronik_protocol_compress(
		&c, &clen, codec, 0,
		magic == 0 ? CHRONIK_PROTOCOL_COMPRESS_LZ4_LEGACY_HC : 0, inner,
		inner_len);
	if (rc)
		return rc;
	if (clen > INT32_MAX - 64) {
		free(c);
		return CHRONIK_ETOOBIG;
	}
	size = chronik_protocol_message_size(magic, -1, (int32_t)clen);
	buf = malloc(size);
	if (!buf) {
		free(c);
		return CHRONIK_ENOMEM;
	}
	chronik_protocol_message_write(buf, size, magic, offset, (int8_t)codec,
				       timestamp, NULL, -1, c, (int32_t)clen);
	free(c);
	*out = buf;
	*out_len = size;
	return 0;
}
