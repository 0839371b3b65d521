/* SPDX-License-Identifier: Apache-2.0 */
/* Record batches (magic 2): header parsing, CRC-32C, in-place rewrites,
 * zero-copy record iteration, records-blob splitting, validation and the
 * batch builder. Layout: https://kafka.apache.org/documentation/#recordbatch
 */
#include <chronik/protocol.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "records_internal.h"
#include "varint.h"

#define be16 chronik_protocol__be16
#define be32 chronik_protocol__be32
#define be64 chronik_protocol__be64
#define put16 chronik_protocol__put16
#define put32 chronik_protocol__put32
#define put64 chronik_protocol__put64

/* Field offsets in the batch header. */
enum {
	OFF_BASE_OFFSET = 0,
	OFF_LENGTH = 8,
	OFF_LEADER_EPOCH = 12,
	OFF_MAGIC = 16,
	OFF_CRC = 17,
	OFF_ATTRIBUTES = 21,
	OFF_LAST_OFFSET_DELTA = 23,
	OFF_BASE_TIMESTAMP = 27,
	OFF_MAX_TIMESTAMP = 35,
	OFF_PRODUCER_ID = 43,
	OFF_PRODUCER_EPOCH = 51,
	OFF_BASE_SEQUENCE = 53,
	OFF_RECORDS_COUNT = 57
};

/* Smallest record: length, attributes, timestampDelta, offsetDelta,
 * keyLength, valueLength, headers count: one byte each. */
#define MIN_RECORD_SIZE 7
/* Smallest legacy messages (after offset and size): crc, magic,
 * attributes, key and value lengths; magic 1 adds a timestamp. */
#define MIN_MESSAGE_V0 14
#define MIN_MESSAGE_V1 22
#define MIN_BATCH_LENGTH \
	(CHRONIK_PROTOCOL_BATCH_HEADER_SIZE - \
	 CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD)

static inline int64_t add64(int64_t a, int64_t b)
{
	/* Wrapping add: hostile deltas must not be undefined behaviour. */
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

uint32_t chronik_protocol_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (len == 0)
		return crc;
	return chronik_util_crc32c(crc, data, len);
}

/* ------------------------------------------------------------ header */

int chronik_protocol_batch_parse(chronik_protocol_batch *out,
				 const void *buf, size_t len)
{
	const uint8_t *p = buf;
	chronik_protocol_batch_header *h;
	int32_t blen;

	if (!out || (!buf && len))
		return CHRONIK_EARG;
	if (len < CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD)
		return CHRONIK_ETRUNCATED;
	blen = (int32_t)be32(p + OFF_LENGTH);
	if (blen < MIN_BATCH_LENGTH)
		return CHRONIK_EMALFORMED;
	if (len <= OFF_MAGIC)
		return CHRONIK_ETRUNCATED;
	if (p[OFF_MAGIC] != 2)
		return CHRONIK_EUNSUPPORTED;
	if ((size_t)blen > len - CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD)
		return CHRONIK_ETRUNCATED;

	h = &out->header;
	h->base_offset = (int64_t)be64(p + OFF_BASE_OFFSET);
	h->batch_length = blen;
	h->partition_leader_epoch = (int32_t)be32(p + OFF_LEADER_EPOCH);
	h->magic = 2;
	h->crc = be32(p + OFF_CRC);
	h->attributes = (int16_t)be16(p + OFF_ATTRIBUTES);
	h->last_offset_delta = (int32_t)be32(p + OFF_LAST_OFFSET_DELTA);
	h->base_timestamp = (int64_t)be64(p + OFF_BASE_TIMESTAMP);
	h->max_timestamp = (int64_t)be64(p + OFF_MAX_TIMESTAMP);
	h->producer_id = (int64_t)be64(p + OFF_PRODUCER_ID);
	h->producer_epoch = (int16_t)be16(p + OFF_PRODUCER_EPOCH);
	h->base_sequence = (int32_t)be32(p + OFF_BASE_SEQUENCE);
	h->records_count = (int32_t)be32(p + OFF_RECORDS_COUNT);

	out->data = p;
	out->size = (size_t)blen + CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD;
	out->records = p + CHRONIK_PROTOCOL_BATCH_HEADER_SIZE;
	out->records_size = out->size - CHRONIK_PROTOCOL_BATCH_HEADER_SIZE;
	if (h->records_count < 0)
		return CHRONIK_EMALFORMED;
	if ((h->attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) == 0 &&
	    (size_t)h->records_count > out->records_size / MIN_RECORD_SIZE)
		return CHRONIK_EMALFORMED;
	return 0;
}

int chronik_protocol_batch_verify_crc(const chronik_protocol_batch *batch)
{
	uint32_t c;

	if (!batch || batch->size < CHRONIK_PROTOCOL_BATCH_HEADER_SIZE)
		return CHRONIK_EARG;
	c = chronik_util_crc32c(0,
				batch->data + CHRONIK_PROTOCOL_BATCH_CRC_START,
				batch->size - CHRONIK_PROTOCOL_BATCH_CRC_START);
	return c == batch->header.crc ? 0 : CHRONIK_ECRC;
}

int chronik_protocol_batch_set_base_offset(void *buf, size_t len,
					   int64_t base_offset)
{
	if (!buf || len < OFF_LENGTH)
		return CHRONIK_ETRUNCATED;
	put64((uint8_t *)buf + OFF_BASE_OFFSET, (uint64_t)base_offset);
	return 0;
}

int chronik_protocol_batch_set_leader_epoch(void *buf, size_t len,
					    int32_t epoch)
{
	if (!buf || len < OFF_MAGIC)
		return CHRONIK_ETRUNCATED;
	put32((uint8_t *)buf + OFF_LEADER_EPOCH, (uint32_t)epoch);
	return 0;
}

int chronik_protocol_batch_decompress(void **out, size_t *out_len,
				      const chronik_protocol_batch *batch,
				      size_t max_out)
{
	int codec;

	if (!batch)
		return CHRONIK_EARG;
	codec = batch->header.attributes &
		CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK;
	if (codec == CHRONIK_PROTOCOL_COMPRESSION_NONE)
		return CHRONIK_EARG;
	return chronik_protocol_decompress(out, out_len, codec, 0,
					   batch->records,
					   batch->records_size, max_out);
}

/* ------------------------------------------------------------ records */

int chronik_protocol_record_iter_init_buf(
	chronik_protocol_record_iter *it,
	const chronik_protocol_batch_header *header, const void *records,
	size_t len)
{
	static const uint8_t empty[1];

	if (!it || !header || (!records && len))
		return CHRONIK_EARG;
	if (!records)
		records = empty;
	it->pos_ = records;
	it->end_ = it->pos_ + len;
	it->base_offset_ = header->base_offset;
	it->base_timestamp_ = header->base_timestamp;
	it->left_ = header->records_count < 0 ? CHRONIK_EMALFORMED
					      : header->records_count;
	it->index_ = 0;
	return 0;
}

int chronik_protocol_record_iter_init(chronik_protocol_record_iter *it,
				      const chronik_protocol_batch *batch)
{
	if (!it || !batch)
		return CHRONIK_EARG;
	if (batch->header.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK)
		return CHRONIK_EUNSUPPORTED;
	return chronik_protocol_record_iter_init_buf(
		it, &batch->header, batch->records, batch->records_size);
}

/* Read a zigzag varint32 from [*pp, end); 0 on success. */
static inline int rd_varint32(int32_t *v, const uint8_t **pp,
			      const uint8_t *end)
{
	const uint8_t *p = *pp;

	/* Fast path: one byte, the common case for small fields. */
	if (p < end && !(*p & 0x80)) {
		*v = (int32_t)((*p >> 1) ^ (~(*p & 1u) + 1));
		*pp = p + 1;
		return 0;
	}
	int n = chronik_varint32_read(v, p, (size_t)(end - p));
	if (n <= 0)
		return CHRONIK_EMALFORMED;
	*pp = p + n;
	return 0;
}

static inline int rd_varint64(int64_t *v, const uint8_t **pp,
			      const uint8_t *end)
{
	int n = chronik_varint64_read(v, *pp, (size_t)(end - *pp));
	if (n <= 0)
		return CHRONIK_EMALFORMED;
	*pp += n;
	return 0;
}

/* Nullable bytes with a varint length (-1 = null). */
static inline int rd_bytes(const uint8_t **data, int32_t *len,
			   const uint8_t **pp, const uint8_t *end)
{
	int32_t n;

	if (rd_varint32(&n, pp, end))
		return CHRONIK_EMALFORMED;
	if (n < -1 || (n > 0 && n > end - *pp))
		return CHRONIK_EMALFORMED;
	*len = n;
	*data = n < 0 ? NULL : *pp;
	if (n > 0)
		*pp += n;
	return 0;
}

static int walk_headers(const uint8_t **pp, const uint8_t *end,
			int32_t count)
{
	for (int32_t i = 0; i < count; i++) {
		const uint8_t *d;
		int32_t n;
		if (rd_bytes(&d, &n, pp, end) || n < 0)
			return CHRONIK_EMALFORMED; /* keys are never null */
		if (rd_bytes(&d, &n, pp, end))
			return CHRONIK_EMALFORMED;
	}
	return 0;
}

int chronik_protocol_record_next(chronik_protocol_record *out,
				 chronik_protocol_record_iter *it)
{
	const uint8_t *p, *rend;
	int32_t len;
	int rc = CHRONIK_EMALFORMED;

	if (!out || !it)
		return CHRONIK_EARG;
	if (it->left_ <= 0) {
		if (it->left_ < 0)
			return it->left_;
		if (it->pos_ != it->end_) {
			it->left_ = CHRONIK_EMALFORMED; /* trailing bytes */
			return it->left_;
		}
		return 0;
	}
	p = it->pos_;
	if (p == it->end_) {
		/* Fewer records than recordsCount says. */
		it->left_ = CHRONIK_EMALFORMED;
		return it->left_;
	}
	if (rd_varint32(&len, &p, it->end_) || len < MIN_RECORD_SIZE - 1 ||
	    len > it->end_ - p)
		goto fail;
	rend = p + len;
	out->attributes = (int8_t)*p++;
	if (rd_varint64(&out->timestamp_delta, &p, rend) ||
	    rd_varint32(&out->offset_delta, &p, rend) ||
	    rd_bytes(&out->key, &out->key_len, &p, rend) ||
	    rd_bytes(&out->value, &out->value_len, &p, rend) ||
	    rd_varint32(&out->headers_count, &p, rend) ||
	    out->headers_count < 0)
		goto fail;
	out->headers = p;
	if (out->headers_count > 0 &&
	    walk_headers(&p, rend, out->headers_count))
		goto fail;
	if (p != rend)
		goto fail;
	out->headers_size = (size_t)(rend - out->headers);
	out->offset = add64(it->base_offset_, out->offset_delta);
	out->timestamp = add64(it->base_timestamp_, out->timestamp_delta);
	it->pos_ = rend;
	it->left_--;
	it->index_++;
	return 1;
fail:
	it->left_ = rc;
	return rc;
}

int chronik_protocol_record_header_next(chronik_protocol_record_header *out,
					const chronik_protocol_record *rec,
					size_t *pos)
{
	const uint8_t *p, *end;

	if (!out || !rec || !pos)
		return CHRONIK_EARG;
	if (*pos > rec->headers_size)
		return CHRONIK_EMALFORMED;
	p = rec->headers + *pos;
	end = rec->headers + rec->headers_size;
	if (p == end)
		return 0;
	if (rd_bytes(&out->key, &out->key_len, &p, end) || out->key_len < 0 ||
	    rd_bytes(&out->value, &out->value_len, &p, end))
		return CHRONIK_EMALFORMED;
	*pos = (size_t)(p - rec->headers);
	return 1;
}

/* ------------------------------------------------------- records blob */

void chronik_protocol_records_iter_init(chronik_protocol_records_iter *it,
					const void *buf, size_t len)
{
	it->pos_ = buf;
	it->left_ = buf ? len : 0;
	it->partial_ = 0;
}

int chronik_protocol_records_next(chronik_protocol_records_entry *out,
				  chronik_protocol_records_iter *it)
{
	const uint8_t *p;
	int32_t len;
	int8_t magic;

	if (!out || !it)
		return CHRONIK_EARG;
	p = it->pos_;
	/* Like Kafka's consumers: fewer bytes than a header, or than the
	 * length announces, is a partial entry cut off by the fetch size. */
	if (it->left_ < CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD) {
		it->partial_ = it->left_;
		it->left_ = 0;
		return 0;
	}
	len = (int32_t)be32(p + OFF_LENGTH);
	if (len < MIN_MESSAGE_V0)
		return CHRONIK_EMALFORMED; /* sticky: nothing advanced */
	if ((size_t)len > it->left_ - CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD) {
		it->partial_ = it->left_;
		it->left_ = 0;
		return 0;
	}
	magic = (int8_t)p[OFF_MAGIC];
	if (magic == 2) {
		if (len < MIN_BATCH_LENGTH)
			return CHRONIK_EMALFORMED;
	} else if (magic == 1) {
		if (len < MIN_MESSAGE_V1)
			return CHRONIK_EMALFORMED;
	} else if (magic != 0) {
		return CHRONIK_EUNSUPPORTED;
	}
	out->offset = (int64_t)be64(p);
	out->magic = magic;
	out->data = p;
	out->size = (size_t)len + CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD;
	it->pos_ += out->size;
	it->left_ -= out->size;
	return 1;
}

size_t chronik_protocol_records_partial(const chronik_protocol_records_iter *it)
{
	return it ? it->partial_ : 0;
}

/* ----------------------------------------------------------- validate */

int chronik_protocol_batch_validate_options_init(
	chronik_protocol_batch_validate_options *opts, unsigned int version)
{
	static const chronik_protocol_batch_validate_options defaults =
		CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT;

	if (!opts)
		return CHRONIK_EARG;
	if (version != CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION)
		return CHRONIK_EVERSION;
	*opts = defaults;
	return 0;
}

const char *chronik_protocol_batch_problem_name(int problem)
{
	switch (problem) {
	case CHRONIK_PROTOCOL_BATCH_OK: return "ok";
	case CHRONIK_PROTOCOL_BATCH_TRUNCATED: return "truncated batch";
	case CHRONIK_PROTOCOL_BATCH_BAD_LENGTH: return "bad batch length";
	case CHRONIK_PROTOCOL_BATCH_TRAILING_BYTES:
		return "bytes after the batch";
	case CHRONIK_PROTOCOL_BATCH_TOO_BIG: return "batch too big";
	case CHRONIK_PROTOCOL_BATCH_BAD_MAGIC: return "unsupported magic";
	case CHRONIK_PROTOCOL_BATCH_BAD_CRC: return "bad CRC";
	case CHRONIK_PROTOCOL_BATCH_BAD_CODEC:
		return "unknown compression codec";
	case CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT:
		return "bad record count";
	case CHRONIK_PROTOCOL_BATCH_BAD_OFFSET_RANGE:
		return "record count inconsistent with last offset delta";
	case CHRONIK_PROTOCOL_BATCH_BAD_PRODUCER:
		return "inconsistent producer id, epoch or sequence";
	case CHRONIK_PROTOCOL_BATCH_CONTROL_NOT_ALLOWED:
		return "control batch not allowed";
	case CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP:
		return "timestamp out of range";
	case CHRONIK_PROTOCOL_BATCH_DECOMPRESS_FAILED:
		return "corrupt compressed records";
	case CHRONIK_PROTOCOL_BATCH_DECOMPRESS_TOO_BIG:
		return "decompressed records too big";
	case CHRONIK_PROTOCOL_BATCH_BAD_RECORD: return "malformed record";
	case CHRONIK_PROTOCOL_BATCH_BAD_RECORD_OFFSET:
		return "record offset delta out of sequence";
	case CHRONIK_PROTOCOL_BATCH_RECORD_COUNT_MISMATCH:
		return "records present differ from record count";
	default: return "unknown problem";
	}
}

static int ts_ok(int64_t ts, const chronik_protocol_batch_validate_options *o)
{
	uint64_t d;

	if (o->max_timestamp_diff_ms < 0)
		return 1;
	/* The true difference always fits in 64 unsigned bits. */
	d = ts >= o->now_ms ? (uint64_t)ts - (uint64_t)o->now_ms
			    : (uint64_t)o->now_ms - (uint64_t)ts;
	return d <= (uint64_t)o->max_timestamp_diff_ms;
}

#define PROBLEM(pb, err) \
	do { \
		problem = (pb); \
		rc = (err); \
		goto out; \
	} while (0)

int chronik_protocol_batch_validate(
	int *problem_out, const void *buf, size_t len,
	const chronik_protocol_batch_validate_options *opts)
{
	static const chronik_protocol_batch_validate_options defaults =
		CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT;
	const chronik_protocol_batch_validate_options *o =
		opts ? opts : &defaults;
	chronik_protocol_batch b;
	const chronik_protocol_batch_header *h = &b.header;
	chronik_protocol_record_iter it;
	chronik_protocol_record rec;
	void *plain = NULL;
	int problem = CHRONIK_PROTOCOL_BATCH_OK, rc = 0, codec, create_time;

	if (o->version != CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION) {
		rc = CHRONIK_EVERSION;
		goto out;
	}
	rc = chronik_protocol_batch_parse(&b, buf, len);
	if (rc == CHRONIK_ETRUNCATED)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_TRUNCATED, rc);
	if (rc == CHRONIK_EUNSUPPORTED)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_MAGIC, rc);
	if (rc == CHRONIK_EMALFORMED &&
	    (int32_t)be32((const uint8_t *)buf + OFF_LENGTH) >=
		    MIN_BATCH_LENGTH)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT, rc);
	if (rc)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_LENGTH, rc);
	if (o->exact_size && b.size != len)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_TRAILING_BYTES,
			CHRONIK_EMALFORMED);
	if (o->max_batch_size && b.size > o->max_batch_size)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_TOO_BIG, CHRONIK_ETOOBIG);
	if (chronik_protocol_batch_verify_crc(&b))
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_CRC, CHRONIK_ECRC);
	codec = h->attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK;
	if (codec > CHRONIK_PROTOCOL_COMPRESSION_ZSTD)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_CODEC, CHRONIK_EUNSUPPORTED);
	if (h->records_count <= 0)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT,
			CHRONIK_EMALFORMED);
	if (h->last_offset_delta < 0 ||
	    h->last_offset_delta != h->records_count - 1)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_OFFSET_RANGE,
			CHRONIK_EMALFORMED);
	if ((h->producer_id >= 0 && h->base_sequence < 0) ||
	    ((h->attributes & CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL) &&
	     h->producer_id < 0))
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_PRODUCER,
			CHRONIK_EMALFORMED);
	if ((h->attributes & CHRONIK_PROTOCOL_ATTR_CONTROL) &&
	    !o->allow_control)
		PROBLEM(CHRONIK_PROTOCOL_BATCH_CONTROL_NOT_ALLOWED,
			CHRONIK_EMALFORMED);
	create_time = !(h->attributes & CHRONIK_PROTOCOL_ATTR_LOG_APPEND_TIME);
	if (create_time && !ts_ok(h->max_timestamp, o))
		PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP,
			CHRONIK_EMALFORMED);
	if (!o->check_records)
		goto out;

	if (codec != CHRONIK_PROTOCOL_COMPRESSION_NONE) {
		size_t plen;
		rc = chronik_protocol_batch_decompress(
			&plain, &plen, &b,
			o->max_decompressed_size ? o->max_decompressed_size
						 : (size_t)64 << 20);
		if (rc == CHRONIK_ETOOBIG)
			PROBLEM(CHRONIK_PROTOCOL_BATCH_DECOMPRESS_TOO_BIG, rc);
		if (rc)
			PROBLEM(CHRONIK_PROTOCOL_BATCH_DECOMPRESS_FAILED,
				rc == CHRONIK_ENOMEM ? rc : CHRONIK_ECODEC);
		chronik_protocol_record_iter_init_buf(&it, h, plain, plen);
	} else {
		chronik_protocol_record_iter_init(&it, &b);
	}
	for (int32_t i = 0;; i++) {
		rc = chronik_protocol_record_next(&rec, &it);
		if (rc == 0)
			break;
		if (rc < 0) {
			/* Distinguish "fewer/more records than the count"
			 * from a record that does not parse. */
			if (it.pos_ == it.end_ || i == h->records_count)
				PROBLEM(
				    CHRONIK_PROTOCOL_BATCH_RECORD_COUNT_MISMATCH,
				    CHRONIK_EMALFORMED);
			PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_RECORD,
				CHRONIK_EMALFORMED);
		}
		if (rec.offset_delta != i)
			PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_RECORD_OFFSET,
				CHRONIK_EMALFORMED);
		if (create_time && !ts_ok(rec.timestamp, o))
			PROBLEM(CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP,
				CHRONIK_EMALFORMED);
	}
	rc = 0;
out:
	free(plain);
	if (problem_out)
		*problem_out = problem;
	return rc;
}

/* ------------------------------------------------------------ builder */

struct chronik_protocol_batch_builder {
	chronik_protocol_batch_builder_options opts;
	uint8_t *buf; /* header room + uncompressed records */
	size_t len;
	size_t cap;
	uint8_t *out; /* finished compressed batch */
	int32_t count;
	int64_t base_ts;
	int64_t max_ts;
};

int chronik_protocol_batch_builder_options_init(
	chronik_protocol_batch_builder_options *opts, unsigned int version)
{
	static const chronik_protocol_batch_builder_options defaults =
		CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT;

	if (!opts)
		return CHRONIK_EARG;
	if (version != CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION)
		return CHRONIK_EVERSION;
	*opts = defaults;
	return 0;
}

int chronik_protocol_batch_builder_new(
	chronik_protocol_batch_builder **out,
	const chronik_protocol_batch_builder_options *opts)
{
	static const chronik_protocol_batch_builder_options defaults =
		CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT;
	chronik_protocol_batch_builder *b;

	if (!out)
		return CHRONIK_EARG;
	if (!opts)
		opts = &defaults;
	if (opts->version != CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION)
		return CHRONIK_EVERSION;
	if (opts->compression < 0 ||
	    opts->compression > CHRONIK_PROTOCOL_COMPRESSION_ZSTD)
		return CHRONIK_EUNSUPPORTED;
	b = calloc(1, sizeof *b);
	if (!b)
		return CHRONIK_ENOMEM;
	b->opts = *opts;
	b->cap = 4096;
	b->buf = malloc(b->cap);
	if (!b->buf) {
		free(b);
		return CHRONIK_ENOMEM;
	}
	b->len = CHRONIK_PROTOCOL_BATCH_HEADER_SIZE;
	*out = b;
	return 0;
}

void chronik_protocol_batch_builder_reset(chronik_protocol_batch_builder *b)
{
	if (!b)
		return;
	b->len = CHRONIK_PROTOCOL_BATCH_HEADER_SIZE;
	b->count = 0;
	free(b->out);
	b->out = NULL;
}

void chronik_protocol_batch_builder_free(chronik_protocol_batch_builder *b)
{
	if (!b)
		return;
	free(b->out);
	free(b->buf);
	free(b);
}

static size_t bytes_size(int32_t n)
{
	return chronik_varint64_size(n) + (n > 0 ? (size_t)n : 0);
}

static uint8_t *put_bytes(uint8_t *p, const void *d, int32_t n)
{
	p += chronik_varint64_write(p, n);
	if (n > 0) {
		memcpy(p, d, (size_t)n);
		p += n;
	}
	return p;
}

int chronik_protocol_batch_builder_append(
	chronik_protocol_batch_builder *b, int64_t timestamp,
	const void *key, int32_t key_len, const void *value,
	int32_t value_len, const chronik_protocol_record_header *headers,
	size_t n_headers)
{
	uint64_t body;
	int64_t ts_delta;
	size_t total;
	uint8_t *p;

	if (!b || key_len < -1 || value_len < -1 || (key_len > 0 && !key) ||
	    (value_len > 0 && !value) || (n_headers && !headers) ||
	    n_headers > INT32_MAX)
		return CHRONIK_EARG;
	if (b->count == INT32_MAX)
		return CHRONIK_ETOOBIG;
	if (b->out) {
		/* Appending after finish invalidates the finished bytes. */
		free(b->out);
		b->out = NULL;
	}
	if (b->count == 0) {
		b->base_ts = timestamp;
		b->max_ts = timestamp;
	}
	ts_delta = add64(timestamp, -b->base_ts);
	body = 1 + chronik_varint64_size(ts_delta) +
	       chronik_varint64_size(b->count) + bytes_size(key_len) +
	       bytes_size(value_len) +
	       chronik_varint64_size((int64_t)n_headers);
	for (size_t i = 0; i < n_headers; i++) {
		if (headers[i].key_len < 0 || headers[i].value_len < -1 ||
		    (headers[i].key_len > 0 && !headers[i].key) ||
		    (headers[i].value_len > 0 && !headers[i].value))
			return CHRONIK_EARG;
		body += bytes_size(headers[i].key_len) +
			bytes_size(headers[i].value_len);
		if (body > INT32_MAX)
			return CHRONIK_ETOOBIG;
	}
	total = chronik_varint64_size((int64_t)body) + (size_t)body;
	if (total > (size_t)INT32_MAX - b->len)
		return CHRONIK_ETOOBIG;
	if (b->len + total > b->cap) {
		size_t ncap = b->cap;
		while (ncap < b->len + total)
			ncap *= 2;
		p = realloc(b->buf, ncap);
		if (!p)
			return CHRONIK_ENOMEM;
		b->buf = p;
		b->cap = ncap;
	}
	p = b->buf + b->len;
	p += chronik_varint64_write(p, (int64_t)body);
	*p++ = 0; /* record attributes: unused */
	p += chronik_varint64_write(p, ts_delta);
	p += chronik_varint64_write(p, b->count);
	p = put_bytes(p, key, key_len);
	p = put_bytes(p, value, value_len);
	p += chronik_varint64_write(p, (int64_t)n_headers);
	for (size_t i = 0; i < n_headers; i++) {
		p = put_bytes(p, headers[i].key, headers[i].key_len);
		p = put_bytes(p, headers[i].value, headers[i].value_len);
	}
	b->len += total;
	b->count++;
	if (timestamp > b->max_ts)
		b->max_ts = timestamp;
	return 0;
}

static void fill_header(uint8_t *p, size_t total,
			const chronik_protocol_batch_builder *b)
{
	const chronik_protocol_batch_builder_options *o = &b->opts;
	uint16_t attrs = (uint16_t)((o->attributes &
				     ~CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) |
				    o->compression);

	put64(p + OFF_BASE_OFFSET, (uint64_t)o->base_offset);
	put32(p + OFF_LENGTH,
	      (uint32_t)(total - CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD));
	put32(p + OFF_LEADER_EPOCH, (uint32_t)o->partition_leader_epoch);
	p[OFF_MAGIC] = 2;
	put16(p + OFF_ATTRIBUTES, attrs);
	put32(p + OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
	put64(p + OFF_BASE_TIMESTAMP, (uint64_t)b->base_ts);
	put64(p + OFF_MAX_TIMESTAMP, (uint64_t)b->max_ts);
	put64(p + OFF_PRODUCER_ID, (uint64_t)o->producer_id);
	put16(p + OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
	put32(p + OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
	put32(p + OFF_RECORDS_COUNT, (uint32_t)b->count);
	put32(p + OFF_CRC,
	      chronik_util_crc32c(0, p + CHRONIK_PROTOCOL_BATCH_CRC_START,
				  total - CHRONIK_PROTOCOL_BATCH_CRC_START));
}

int chronik_protocol_batch_builder_finish(const uint8_t **out,
					  size_t *out_len,
					  chronik_protocol_batch_builder *b)
{
	void *c;
	size_t clen;
	int rc;

	if (!out || !out_len || !b || b->count == 0)
		return CHRONIK_EARG;
	if (b->opts.compression == CHRONIK_PROTOCOL_COMPRESSION_NONE) {
		fill_header(b->buf, b->len, b);
		*out = b->buf;
		*out_len = b->len;
		return 0;
	}
	free(b->out);
	b->out = NULL;
	rc = chronik_protocol_compress(
		&c, &clen, b->opts.compression, b->opts.compression_level, 0,
		b->buf + CHRONIK_PROTOCOL_BATCH_HEADER_SIZE,
		b->len - CHRONIK_PROTOCOL_BATCH_HEADER_SIZE);
	if (rc)
		return rc;
	if (clen > (size_t)INT32_MAX - CHRONIK_PROTOCOL_BATCH_HEADER_SIZE) {
		free(c);
		return CHRONIK_ETOOBIG;
	}
	b->out = malloc(CHRONIK_PROTOCOL_BATCH_HEADER_SIZE + clen);
	if (!b->out) {
		free(c);
		return CHRONIK_ENOMEM;
	}
	memcpy(b->out + CHRONIK_PROTOCOL_BATCH_HEADER_SIZE, c, clen);
	free(c);
	fill_header(b->out, CHRONIK_PROTOCOL_BATCH_HEADER_SIZE + clen, b);
	*out = b->out;
	*out_len = CHRONIK_PROTOCOL_BATCH_HEADER_SIZE + clen;
	return 0;
}
