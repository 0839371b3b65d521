/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file protocol_records.h
 * @brief Record batches (magic 2), legacy message sets (magic 0/1),
 *        CRC-32C and compression codecs. Included by chronik/protocol.h.
 *
 * Everything here works on caller-owned byte buffers. Parsed structures
 * (batches, records, messages) are views: their pointers borrow from the
 * input buffer and stay valid exactly as long as that buffer does. Nothing
 * allocates except the functions documented to (decompression, compression,
 * the batch builder), whose results the caller frees.
 *
 * Thread-safety: all functions are reentrant; a builder or iterator must
 * be used by one thread at a time. There is no global mutable state.
 *
 * Formats: https://kafka.apache.org/documentation/#recordbatch and
 * https://kafka.apache.org/documentation/#messageset ; see docs/records.md.
 * @since 0.1
 */
#ifndef CHRONIK_PROTOCOL_RECORDS_H
#define CHRONIK_PROTOCOL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>

/* Also defined by chronik/protocol.h; repeated so this header stands alone. */
#ifndef CHRONIK_PROTOCOL_API
#define CHRONIK_PROTOCOL_API CHRONIK_EXPORT_
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- CRC */

/**
 * CRC-32C (Castagnoli), as used by record batches v2.
 *
 * Uses the CPU's CRC instruction when present (SSE 4.2 / ARMv8 CRC,
 * detected once at run time) and a portable table implementation
 * otherwise.
 *
 * @param crc  0 for a fresh checksum, or a previous result to extend.
 * @param data bytes to checksum; may be NULL when @p len is 0.
 * @param len  number of bytes.
 * @return the updated checksum. Never fails. Thread-safe.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API uint32_t chronik_protocol_crc32c(uint32_t crc,
						      const void *data,
						      size_t len);

/* --------------------------------------------------------- compression */

/** Compression codecs: the low 3 bits of batch/message attributes.
 *  @since 0.1 */
enum chronik_protocol_compression {
	CHRONIK_PROTOCOL_COMPRESSION_NONE = 0,
	CHRONIK_PROTOCOL_COMPRESSION_GZIP = 1,
	CHRONIK_PROTOCOL_COMPRESSION_SNAPPY = 2,
	CHRONIK_PROTOCOL_COMPRESSION_LZ4 = 3,
	CHRONIK_PROTOCOL_COMPRESSION_ZSTD = 4
};

/** Flags for chronik_protocol_decompress(). @since 0.1 */
enum chronik_protocol_decompress_flags {
	/** LZ4: accept the frame-descriptor checksum that Kafka before
	 *  0.10 computed wrongly (over the magic number too). Set this
	 *  for magic 0 message sets. */
	CHRONIK_PROTOCOL_DECOMPRESS_LZ4_LEGACY_HC = 1u << 0
};

/** Flags for chronik_protocol_compress(). @since 0.1 */
enum chronik_protocol_compress_flags {
	/** LZ4: write the broken pre-0.10 descriptor checksum that magic 0
	 *  readers expect. */
	CHRONIK_PROTOCOL_COMPRESS_LZ4_LEGACY_HC = 1u << 0
};

/**
 * Compress a buffer in the form Kafka's Java client produces: gzip
 * (RFC 1952), snappy in xerial framing, lz4 frame (64 KiB independent
 * blocks, no content size or checksum), zstd frame.
 *
 * @param[out] out     receives a malloc'd buffer the caller frees with
 *                     chronik_protocol_free(); untouched on failure.
 * @param[out] out_len receives its length.
 * @param codec        a chronik_protocol_compression value other than NONE.
 * @param level        codec level, or 0 for the codec's default (snappy
 *                     ignores it).
 * @param flags        chronik_protocol_compress_flags.
 * @param in           input bytes (may be NULL when @p in_len is 0).
 * @param in_len       input length (at most INT32_MAX).
 * @return 0; CHRONIK_EUNSUPPORTED for an unknown codec, CHRONIK_ETOOBIG
 *         when @p in_len exceeds INT32_MAX, CHRONIK_ENOMEM,
 *         CHRONIK_ECODEC if the codec library fails.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_compress(void **out,
						   size_t *out_len, int codec,
						   int level, unsigned flags,
						   const void *in,
						   size_t in_len);

/**
 * Decompress a buffer, never producing more than @p max_out bytes.
 *
 * Gzip accepts concatenated members; snappy accepts both raw blocks and
 * the xerial framing (detected by its magic header); lz4 takes one frame;
 * zstd accepts concatenated frames.
 *
 * @param[out] out     receives a malloc'd buffer (free with
 *                     chronik_protocol_free()); untouched on failure.
 * @param[out] out_len receives the decompressed length.
 * @param codec        a chronik_protocol_compression value other than NONE.
 * @param flags        chronik_protocol_decompress_flags.
 * @param in           compressed bytes.
 * @param in_len       their length.
 * @param max_out      output cap: the decompression-bomb guard.
 * @return 0; CHRONIK_ETOOBIG when the output would exceed @p max_out,
 *         CHRONIK_ECODEC or CHRONIK_EMALFORMED for corrupt input
 *         (CHRONIK_ETRUNCATED when it ends early), CHRONIK_EUNSUPPORTED
 *         for an unknown codec, CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_decompress(void **out,
						     size_t *out_len,
						     int codec, unsigned flags,
						     const void *in,
						     size_t in_len,
						     size_t max_out);

/**
 * Free a buffer returned by this library (compress, decompress,
 * message-set builders). Accepts NULL.
 * @param p the buffer.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_free(void *p);

/* ------------------------------------------------------- record batches */

/** Size of the fixed record batch header (magic 2), in bytes. */
#define CHRONIK_PROTOCOL_BATCH_HEADER_SIZE 61
/** Bytes before and including the batchLength field (not counted in it). */
#define CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD 12
/** Offset of the CRC-covered region (attributes onward). */
#define CHRONIK_PROTOCOL_BATCH_CRC_START 21

/** Batch attribute bits (the compression codec is bits 0-2). */
#define CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK 0x07
/** Timestamps are LogAppendTime (else CreateTime). */
#define CHRONIK_PROTOCOL_ATTR_LOG_APPEND_TIME 0x08
/** The batch belongs to a transaction. */
#define CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL 0x10
/** The batch holds control records (transaction markers). */
#define CHRONIK_PROTOCOL_ATTR_CONTROL 0x20
/** baseTimestamp holds the delete horizon (compaction, KIP-534). */
#define CHRONIK_PROTOCOL_ATTR_DELETE_HORIZON 0x40

/** Decoded record batch header (magic 2). Plain value struct. @since 0.1 */
typedef struct chronik_protocol_batch_header {
	int64_t base_offset;
	int32_t batch_length; /**< bytes after this field */
	int32_t partition_leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t records_count;
} chronik_protocol_batch_header;

/** A parsed batch: its header plus views into the input buffer.
 *  @since 0.1 */
typedef struct chronik_protocol_batch {
	chronik_protocol_batch_header header;
	const uint8_t *data;    /**< the whole batch (from baseOffset) */
	size_t size;            /**< 12 + batch_length */
	const uint8_t *records; /**< the records section, maybe compressed */
	size_t records_size;
} chronik_protocol_batch;

/**
 * Parse and check a record batch header at the start of @p buf.
 *
 * Checks: the buffer holds 61 bytes and then the whole batch,
 * batchLength >= 49, magic == 2, recordsCount >= 0, and for uncompressed
 * batches that recordsCount records could fit (7 bytes minimum each).
 * Does not verify the CRC (see chronik_protocol_batch_verify_crc()).
 *
 * @param[out] out  the batch; views borrow from @p buf.
 * @param buf       input bytes.
 * @param len       bytes available; may extend past the batch.
 * @return 0; CHRONIK_ETRUNCATED when @p buf ends before the batch does,
 *         CHRONIK_EUNSUPPORTED when magic is not 2, CHRONIK_EMALFORMED for
 *         an impossible length or record count.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_parse(
	chronik_protocol_batch *out, const void *buf, size_t len);

/**
 * Verify the CRC-32C of a parsed batch (attributes through the end).
 * @param batch a batch from chronik_protocol_batch_parse().
 * @return 0 or CHRONIK_ECRC.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_verify_crc(
	const chronik_protocol_batch *batch);

/**
 * Overwrite the baseOffset of the batch at @p buf in place. The CRC does
 * not cover it, so it is left alone (this is how a broker assigns
 * offsets).
 * @param buf  a batch (at least 12 bytes writable).
 * @param len  bytes available at @p buf.
 * @param base_offset the new base offset.
 * @return 0 or CHRONIK_ETRUNCATED.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_set_base_offset(
	void *buf, size_t len, int64_t base_offset);

/**
 * Overwrite the partitionLeaderEpoch of the batch at @p buf in place; not
 * CRC-covered either.
 * @param buf  a batch.
 * @param len  bytes available at @p buf.
 * @param epoch the new epoch.
 * @return 0 or CHRONIK_ETRUNCATED.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_set_leader_epoch(
	void *buf, size_t len, int32_t epoch);

/**
 * Decompress a compressed batch's records section.
 * @param[out] out     malloc'd records (free with chronik_protocol_free()).
 * @param[out] out_len their length.
 * @param batch        a compressed batch.
 * @param max_out      output cap.
 * @return 0; CHRONIK_EARG when the batch is not compressed; the errors of
 *         chronik_protocol_decompress().
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_decompress(
	void **out, size_t *out_len, const chronik_protocol_batch *batch,
	size_t max_out);

/* ---------------------------------------------------------- records */

/** A record header: key (never null) and nullable value. @since 0.1 */
typedef struct chronik_protocol_record_header {
	const uint8_t *key;
	int32_t key_len;
	const uint8_t *value; /**< NULL when value_len is -1 */
	int32_t value_len;    /**< -1 for a null value */
} chronik_protocol_record_header;

/** A record decoded from a batch; a view into the records buffer.
 *  @since 0.1 */
typedef struct chronik_protocol_record {
	int64_t offset;    /**< base offset + offset delta */
	int64_t timestamp; /**< base timestamp + timestamp delta */
	int64_t timestamp_delta;
	int32_t offset_delta;
	int8_t attributes;
	const uint8_t *key; /**< NULL when key_len is -1 */
	int32_t key_len;
	const uint8_t *value; /**< NULL when value_len is -1 */
	int32_t value_len;
	int32_t headers_count;
	const uint8_t *headers; /**< raw headers (already validated) */
	size_t headers_size;
} chronik_protocol_record;

/** Record iterator: a small value struct; fields are private.
 *  @since 0.1 */
typedef struct chronik_protocol_record_iter {
	const uint8_t *pos_;
	const uint8_t *end_;
	int64_t base_offset_;
	int64_t base_timestamp_;
	int32_t left_;
	int32_t index_;
} chronik_protocol_record_iter;

/**
 * Start iterating the records of an uncompressed batch.
 * @param[out] it the iterator; borrows from the batch's buffer.
 * @param batch   a parsed batch.
 * @return 0; CHRONIK_EUNSUPPORTED when the batch is compressed (use
 *         chronik_protocol_batch_decompress() then
 *         chronik_protocol_record_iter_init_buf()).
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_record_iter_init(
	chronik_protocol_record_iter *it, const chronik_protocol_batch *batch);

/**
 * Start iterating records held in a separate (e.g. decompressed) buffer.
 * @param[out] it   the iterator; borrows from @p records.
 * @param header    the batch header (base offset/timestamp, count).
 * @param records   the records bytes.
 * @param len       their length.
 * @return 0 (cannot fail on valid pointers).
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_record_iter_init_buf(
	chronik_protocol_record_iter *it,
	const chronik_protocol_batch_header *header, const void *records,
	size_t len);

/**
 * Decode the next record. Never allocates. Validates the record fully,
 * headers included; after recordsCount records, checks that no bytes are
 * left.
 * @param[out] out the record; views borrow from the records buffer.
 * @param it       the iterator.
 * @return 1 when a record was produced, 0 at the end, or
 *         CHRONIK_EMALFORMED (bad varint, length mismatch, trailing
 *         bytes, fewer records than recordsCount) / CHRONIK_ETRUNCATED.
 *         After an error the iterator keeps returning it.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_record_next(
	chronik_protocol_record *out, chronik_protocol_record_iter *it);

/**
 * Decode the record header at index @p *pos of @p rec's raw headers and
 * advance @p *pos (start with 0).
 * @param[out] out the header; views borrow from the records buffer.
 * @param rec      a record from chronik_protocol_record_next().
 * @param[in,out] pos byte position within rec->headers.
 * @return 1 when a header was produced, 0 at the end, CHRONIK_EMALFORMED
 *         if @p rec was not produced by this library.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_record_header_next(
	chronik_protocol_record_header *out,
	const chronik_protocol_record *rec, size_t *pos);

/* ----------------------------------------------- records blob (Produce) */

/** One entry of a records blob: a magic 2 batch or a magic 0/1
 *  message (possibly a compressed wrapper). @since 0.1 */
typedef struct chronik_protocol_records_entry {
	int64_t offset;      /**< baseOffset / message offset */
	int8_t magic;        /**< 0, 1 or 2 */
	const uint8_t *data; /**< the whole entry */
	size_t size;         /**< 12 + length */
} chronik_protocol_records_entry;

/** Iterator over a records blob; fields are private. @since 0.1 */
typedef struct chronik_protocol_records_iter {
	const uint8_t *pos_;
	size_t left_;
	size_t partial_;
} chronik_protocol_records_iter;

/**
 * Start splitting a records blob (as carried by Produce and Fetch).
 * @param[out] it the iterator; borrows from @p buf.
 * @param buf     the blob.
 * @param len     its length.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_records_iter_init(
	chronik_protocol_records_iter *it, const void *buf, size_t len);

/**
 * Return the next entry. Like Kafka's consumers, a partial entry at the
 * end of the blob (a Fetch cut at max_bytes) ends the iteration; its size
 * is then reported by chronik_protocol_records_partial().
 * @param[out] out the entry; borrows from the blob.
 * @param it       the iterator.
 * @return 1 with an entry, 0 at the end, CHRONIK_EMALFORMED for a
 *         length below the minimum for its magic, CHRONIK_EUNSUPPORTED for
 *         an unknown magic.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_records_next(
	chronik_protocol_records_entry *out, chronik_protocol_records_iter *it);

/**
 * Bytes of a partial trailing entry skipped at the end, 0 if none.
 * @param it an iterator that returned 0.
 * @return the byte count.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API size_t chronik_protocol_records_partial(
	const chronik_protocol_records_iter *it);

/* ----------------------------------------------------------- validate */

/** Why chronik_protocol_batch_validate() rejected a batch. @since 0.1 */
enum chronik_protocol_batch_problem {
	CHRONIK_PROTOCOL_BATCH_OK = 0,
	CHRONIK_PROTOCOL_BATCH_TRUNCATED,      /**< buffer ends early */
	CHRONIK_PROTOCOL_BATCH_BAD_LENGTH,     /**< batchLength impossible */
	CHRONIK_PROTOCOL_BATCH_TRAILING_BYTES, /**< bytes after the batch */
	CHRONIK_PROTOCOL_BATCH_TOO_BIG,        /**< above max_batch_size */
	CHRONIK_PROTOCOL_BATCH_BAD_MAGIC,      /**< magic != 2 */
	CHRONIK_PROTOCOL_BATCH_BAD_CRC,        /**< CRC-32C mismatch */
	CHRONIK_PROTOCOL_BATCH_BAD_CODEC,      /**< compression 5..7 */
	CHRONIK_PROTOCOL_BATCH_BAD_RECORD_COUNT, /**< recordsCount <= 0 */
	CHRONIK_PROTOCOL_BATCH_BAD_OFFSET_RANGE, /**< lastOffsetDelta+1 !=
						    recordsCount */
	/** producer id without a base sequence, or transactional without
	 *  a producer id */
	CHRONIK_PROTOCOL_BATCH_BAD_PRODUCER,
	CHRONIK_PROTOCOL_BATCH_CONTROL_NOT_ALLOWED, /**< client control batch */
	CHRONIK_PROTOCOL_BATCH_BAD_TIMESTAMP,  /**< out of the allowed range */
	CHRONIK_PROTOCOL_BATCH_DECOMPRESS_FAILED, /**< corrupt payload */
	CHRONIK_PROTOCOL_BATCH_DECOMPRESS_TOO_BIG, /**< above the cap */
	CHRONIK_PROTOCOL_BATCH_BAD_RECORD,     /**< a record does not parse */
	CHRONIK_PROTOCOL_BATCH_BAD_RECORD_OFFSET, /**< offsetDelta != index */
	/** records present != recordsCount */
	CHRONIK_PROTOCOL_BATCH_RECORD_COUNT_MISMATCH
};

/** Version of chronik_protocol_batch_validate_options. */
#define CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION 1

/** Options of chronik_protocol_batch_validate(). @since 0.1 */
typedef struct chronik_protocol_batch_validate_options {
	/** CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION */
	unsigned int version;
	/** Reject batches larger than this (0: no limit). */
	size_t max_batch_size;
	/** Decompression cap for deep checks (0: 64 MiB). */
	size_t max_decompressed_size;
	/** "Now" for the timestamp check, in ms since the epoch. */
	int64_t now_ms;
	/** Allowed |timestamp - now| for CreateTime batches; < 0 disables. */
	int64_t max_timestamp_diff_ms;
	/** Decode every record (decompressing if needed) and check them. */
	int check_records;
	/** Accept control batches (a client may not send them). */
	int allow_control;
	/** Require the buffer to hold exactly one batch. */
	int exact_size;
} chronik_protocol_batch_validate_options;

/** Static initializer: no size limit, 64 MiB cap, no timestamp check,
 *  records checked, control batches refused, exact size required. */
#define CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT \
	{ CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION, 0, 0, 0, -1, 1, 0, \
	  1 }

/**
 * Initialize validate options to the defaults of
 * CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT.
 * @param[out] opts the options.
 * @param version  CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_VERSION.
 * @return 0 or CHRONIK_EVERSION.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_validate_options_init(
	chronik_protocol_batch_validate_options *opts, unsigned int version);

/**
 * Validate a produced batch the way a broker must before appending it:
 * structure, CRC, codec, record count against lastOffsetDelta, producer
 * fields, timestamps, and (with check_records) every record.
 *
 * @param[out] problem_out  receives a chronik_protocol_batch_problem
 *                          (CHRONIK_PROTOCOL_BATCH_OK on success); may be
 *                          NULL.
 * @param buf   the batch.
 * @param len   its length.
 * @param opts  options, or NULL for the defaults.
 * @return 0 when valid; otherwise the chronik error that best matches
 *         the problem (CHRONIK_ETRUNCATED, CHRONIK_EMALFORMED,
 *         CHRONIK_ECRC, CHRONIK_EUNSUPPORTED, CHRONIK_ETOOBIG,
 *         CHRONIK_ECODEC), CHRONIK_EVERSION for unknown options, or
 *         CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_validate(
	int *problem_out, const void *buf, size_t len,
	const chronik_protocol_batch_validate_options *opts);

/**
 * Name a chronik_protocol_batch_problem, e.g. "bad CRC".
 * @param problem the value.
 * @return a static string; never NULL.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API const char *chronik_protocol_batch_problem_name(
	int problem);

/* ------------------------------------------------------------ builder */

/** Opaque record batch builder. @since 0.1 */
typedef struct chronik_protocol_batch_builder chronik_protocol_batch_builder;

/** Version of chronik_protocol_batch_builder_options. */
#define CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION 1

/** Options of a batch builder. @since 0.1 */
typedef struct chronik_protocol_batch_builder_options {
	/** CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION */
	unsigned int version;
	int compression;       /**< chronik_protocol_compression */
	int compression_level; /**< 0: codec default */
	/** Extra attribute bits: CHRONIK_PROTOCOL_ATTR_TRANSACTIONAL,
	 *  _CONTROL, _LOG_APPEND_TIME. */
	int16_t attributes;
	int64_t base_offset;
	int32_t partition_leader_epoch;
	int64_t producer_id;    /**< -1: none */
	int16_t producer_epoch; /**< -1: none */
	int32_t base_sequence;  /**< -1: none */
} chronik_protocol_batch_builder_options;

/** Static initializer: uncompressed, offset 0, no producer. */
#define CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT \
	{ CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION, 0, 0, 0, 0, -1, -1, \
	  -1, -1 }

/**
 * Initialize builder options to CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_INIT.
 * @param[out] opts the options.
 * @param version  CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION.
 * @return 0 or CHRONIK_EVERSION.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_builder_options_init(
	chronik_protocol_batch_builder_options *opts, unsigned int version);

/**
 * Create a builder.
 * @param[out] out the builder; free with chronik_protocol_batch_builder_free().
 * @param opts     options (copied), or NULL for the defaults.
 * @return 0; CHRONIK_EVERSION, CHRONIK_EUNSUPPORTED (codec),
 *         CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_builder_new(
	chronik_protocol_batch_builder **out,
	const chronik_protocol_batch_builder_options *opts);

/**
 * Append a record. Its offset delta is the number of records appended
 * before it; the first record's timestamp becomes the base timestamp.
 * @param b          the builder.
 * @param timestamp  ms since the epoch.
 * @param key        key bytes, NULL with @p key_len -1 for a null key.
 * @param key_len    key length or -1.
 * @param value      value bytes, or NULL with -1.
 * @param value_len  value length or -1.
 * @param headers    @p n_headers headers (copied), may be NULL when 0.
 * @param n_headers  header count.
 * @return 0; CHRONIK_EARG for inconsistent lengths, CHRONIK_ETOOBIG when
 *         the batch would pass 2 GiB, CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_builder_append(
	chronik_protocol_batch_builder *b, int64_t timestamp,
	const void *key, int32_t key_len, const void *value,
	int32_t value_len, const chronik_protocol_record_header *headers,
	size_t n_headers);

/**
 * Finish the batch: compress the records if asked, fill the header,
 * compute the CRC-32C.
 * @param[out] out     the batch bytes, owned by the builder, valid until
 *                     the next call on it (reset, append, free).
 * @param[out] out_len their length.
 * @param b            the builder.
 * @return 0; CHRONIK_EARG for an empty batch, CHRONIK_ECODEC,
 *         CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_batch_builder_finish(
	const uint8_t **out, size_t *out_len,
	chronik_protocol_batch_builder *b);

/**
 * Forget the records appended so far (the options stay); keeps memory.
 * @param b the builder.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_batch_builder_reset(
	chronik_protocol_batch_builder *b);

/**
 * Free a builder. Accepts NULL.
 * @param b the builder.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_batch_builder_free(
	chronik_protocol_batch_builder *b);

/* ------------------------------------------- legacy messages (magic 0/1) */

/** Legacy message attribute: timestamp is LogAppendTime (magic 1). */
#define CHRONIK_PROTOCOL_MSG_ATTR_LOG_APPEND_TIME 0x08

/** A legacy message (magic 0 or 1): a view into its buffer. @since 0.1 */
typedef struct chronik_protocol_message {
	int64_t offset;
	int32_t message_size; /**< bytes after this field */
	uint32_t crc;         /**< IEEE CRC-32 of magic..end */
	int8_t magic;
	int8_t attributes;
	int64_t timestamp;    /**< -1 for magic 0 */
	const uint8_t *key;   /**< NULL when key_len is -1 */
	int32_t key_len;
	const uint8_t *value; /**< NULL when value_len is -1 */
	int32_t value_len;
	const uint8_t *data;  /**< the whole entry (from offset) */
	size_t size;          /**< 12 + message_size */
} chronik_protocol_message;

/**
 * Parse one legacy message at the start of @p buf and verify its CRC.
 * @param[out] out the message; views borrow from @p buf.
 * @param buf      input bytes.
 * @param len      bytes available.
 * @return 0; CHRONIK_ETRUNCATED, CHRONIK_EMALFORMED (lengths),
 *         CHRONIK_EUNSUPPORTED (magic not 0/1, codec not 1..3),
 *         CHRONIK_ECRC.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_message_parse(
	chronik_protocol_message *out, const void *buf, size_t len);

/**
 * Decompress a wrapper message's value: the inner message set, which can
 * be walked with chronik_protocol_records_iter_init(). Inner offsets are
 * absolute for magic 0 and relative (0..n-1, the wrapper carrying the
 * last one) for magic 1; see
 * chronik_protocol_message_inner_offset().
 * @param[out] out     malloc'd inner set (free with chronik_protocol_free()).
 * @param[out] out_len its length.
 * @param msg          a wrapper message (compression bits set).
 * @param max_out      output cap.
 * @return 0; CHRONIK_EARG when @p msg is not compressed or has a null
 *         value; the errors of chronik_protocol_decompress().
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_message_decompress(
	void **out, size_t *out_len, const chronik_protocol_message *msg,
	size_t max_out);

/**
 * Absolute offset of an inner message of a compressed wrapper.
 * @param wrapper     the wrapper message.
 * @param last_inner  offset field of the last inner message.
 * @param inner       offset field of this inner message.
 * @return the absolute offset.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int64_t chronik_protocol_message_inner_offset(
	const chronik_protocol_message *wrapper, int64_t last_inner,
	int64_t inner);

/**
 * Bytes a legacy message takes, offset and size fields included.
 * @param magic     0 or 1.
 * @param key_len   key length or -1.
 * @param value_len value length or -1.
 * @return the size.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API size_t chronik_protocol_message_size(int magic,
							  int32_t key_len,
							  int32_t value_len);

/**
 * Write one legacy message (with its CRC).
 * @param[out] out   destination.
 * @param cap        bytes available at @p out.
 * @param magic      0 or 1.
 * @param offset     the offset field.
 * @param attributes attribute byte (compression bits, timestamp type).
 * @param timestamp  ms since the epoch (ignored for magic 0).
 * @param key        key or NULL with -1.
 * @param key_len    key length or -1.
 * @param value      value or NULL with -1.
 * @param value_len  value length or -1.
 * @return bytes written; CHRONIK_EARG, CHRONIK_ETOOBIG when @p cap is short.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int64_t chronik_protocol_message_write(
	void *out, size_t cap, int magic, int64_t offset, int8_t attributes,
	int64_t timestamp, const void *key, int32_t key_len,
	const void *value, int32_t value_len);

/**
 * Compress an inner message set into one wrapper message.
 * @param[out] out     malloc'd wrapper (free with chronik_protocol_free()).
 * @param[out] out_len its length.
 * @param magic        0 or 1.
 * @param codec        GZIP, SNAPPY or LZ4.
 * @param offset       the wrapper's offset field.
 * @param timestamp    the wrapper's timestamp (magic 1).
 * @param inner        the inner message set.
 * @param inner_len    its length.
 * @return 0; CHRONIK_EARG, CHRONIK_EUNSUPPORTED, CHRONIK_ECODEC,
 *         CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_message_wrap(
	void **out, size_t *out_len, int magic, int codec, int64_t offset,
	int64_t timestamp, const void *inner, size_t inner_len);

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_PROTOCOL_RECORDS_H */
