/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file protocol.h
 * @brief libchronik-protocol public API.
 * @since 0.1
 */
#ifndef CHRONIK_PROTOCOL_H
#define CHRONIK_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>
#include <chronik/protocol_version.h>
#include <chronik/protocol_messages.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration exported from libchronik-protocol. */
#ifndef CHRONIK_PROTOCOL_API
#define CHRONIK_PROTOCOL_API CHRONIK_EXPORT_
#endif

#ifdef __cplusplus
}
#endif
#include <chronik/protocol_records.h>
#ifdef __cplusplus
extern "C" {
#endif

/**
 * ABI version of the loaded library, packed as CHRONIK_PROTOCOL_VERSION.
 * Thread-safe.
 * @return the packed version.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API unsigned int chronik_protocol_version(void);

/**
 * ABI version of the loaded library as "MAJOR.MINOR.PATCH".
 * @return a static string; never NULL. Thread-safe.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API const char *chronik_protocol_version_string(void);

/* ---- messages, headers, tables ---- */

/**
 * @defgroup codec Kafka message codec
 *
 * Every request and response of Kafka 3.9 (88 API keys, every version),
 * the request/response headers and the non-RPC "data" schemas, generated
 * from Kafka's JSON schemas (see docs/protocol.md). Messages are the typed
 * structs of chronik/protocol_messages.h; the functions here are generic
 * and keyed by API key and version.
 *
 * Lifetimes: a decoded message lives in the arena passed to the decode
 * call and points into the input buffer (strings, bytes and records are
 * views, never copies). It stays valid until the arena is reset or freed
 * and as long as the input buffer is unchanged, whichever ends first.
 *
 * Thread-safety: functions that take an arena use only that arena; one
 * arena must be used by one thread at a time. Everything else is pure.
 * @{
 */

/** Decode arena: one per request (or per connection, reset per request).
 * Opaque. @since 0.1 */
typedef struct chronik_protocol_arena chronik_protocol_arena;

/**
 * Error details of a failed decode or encode: which message, version,
 * field and byte offset, and a ready-made one-line message.
 * A plain value struct filled by the call; the caller allocates it
 * (on the stack). May be NULL in every call that takes it. @since 0.1
 */
typedef struct chronik_protocol_errinfo {
	/** The negative error code the call returned (0: no error). */
	int code;
	/** API key (or data type / header kind) of the message, -1 unknown. */
	int16_t api_key;
	/** Version of the message being decoded or encoded. */
	int16_t api_version;
	/** Byte offset in the input where decoding failed (decode only),
	 *  relative to the buffer passed to the call. */
	size_t offset;
	/** Failing field as "Struct.Field" (schema names), a static string;
	 *  NULL when the failure is not about one field. */
	const char *field;
	/** Human-readable summary, e.g. "ProduceRequest v9: field
	 *  TopicProduceData.Name: string longer than the input at byte 21".
	 *  Always NUL-terminated. */
	char message[240];
} chronik_protocol_errinfo;

/** Bits of chronik_protocol_api_info::listeners. @since 0.1 */
enum chronik_protocol_listener {
	/** Served by a ZooKeeper-mode broker. */
	CHRONIK_PROTOCOL_LISTENER_ZK_BROKER = 1,
	/** Served by a KRaft broker (the client-facing APIs). */
	CHRONIK_PROTOCOL_LISTENER_BROKER = 2,
	/** Served by a KRaft controller. */
	CHRONIK_PROTOCOL_LISTENER_CONTROLLER = 4
};

/** What the codec knows about one API key (from Kafka 3.9's schemas).
 * Fields are only ever appended. @since 0.1 */
typedef struct chronik_protocol_api_info {
	/** Kafka's name without the Request suffix, e.g. "Produce". */
	const char *name;
	/** The API key. */
	int16_t api_key;
	/** Lowest version this codec decodes and encodes. */
	int16_t min_version;
	/** Highest version this codec decodes and encodes. */
	int16_t max_version;
	/** First flexible version (compact encodings, tagged fields, request
	 *  header v2), or -1 when no version is flexible. */
	int16_t flexible_min;
	/** Highest version Kafka marks deprecated, or -1. */
	int16_t deprecated_max;
	/** Node roles that serve the API (chronik_protocol_listener bits). */
	unsigned int listeners;
	/** true when Kafka 3.9 marks the latest version unstable (share
	 *  groups): a broker should not advertise it by default. */
	bool unstable;
} chronik_protocol_api_info;

/** A Kafka error code with its name and whether it is retriable.
 * @since 0.1 */
typedef struct chronik_protocol_error_info {
	/** The code as on the wire (chronik_protocol_kafka_err). */
	int16_t code;
	/** Kafka's name, e.g. "NOT_LEADER_OR_FOLLOWER". */
	const char *name;
	/** true when a client may retry the request as is. */
	bool retriable;
} chronik_protocol_error_info;

/**
 * Create a decode arena.
 * @param[out] out the new arena; free with chronik_protocol_arena_free().
 * @param chunk_size size of the first memory chunk in bytes (0: 4 KiB).
 *        Later chunks grow geometrically.
 * @return 0, CHRONIK_EARG (out is NULL) or CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_arena_new(
	chronik_protocol_arena **out, size_t chunk_size);

/**
 * Release everything allocated from the arena but keep its largest chunk
 * for reuse, so a per-connection arena stops calling malloc once warm.
 * Messages decoded into it become invalid.
 * @param a the arena; NULL is ignored.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_arena_reset(
	chronik_protocol_arena *a);

/**
 * Free the arena and everything allocated from it.
 * @param a the arena; NULL is ignored.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void chronik_protocol_arena_free(
	chronik_protocol_arena *a);

/**
 * Allocate zeroed memory from the arena, aligned for any message field
 * (e.g. the items of an array while building a response).
 * @param a the arena.
 * @param size bytes wanted (0 gives a valid unique pointer).
 * @return the memory, owned by the arena (valid until reset or free), or
 *         NULL when out of memory.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API void *chronik_protocol_arena_alloc(
	chronik_protocol_arena *a, size_t size);

/**
 * Request header version for an API key and version: 2 for flexible
 * versions, 0 for ControlledShutdown v0, 1 otherwise.
 * @return 0, 1 or 2; CHRONIK_EUNSUPPORTED for an unknown API key.
 *         A version above the API's range is treated as its highest.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_header_version(
	int16_t api_key, int16_t api_version);

/**
 * Response header version: 1 for flexible versions except ApiVersions
 * (always 0, so any client can read the error), 0 otherwise.
 * @return 0 or 1; CHRONIK_EUNSUPPORTED for an unknown API key.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_header_version(
	int16_t api_key, int16_t api_version);

struct chronik_protocol_request_header;
struct chronik_protocol_response_header;

/**
 * Decode a request header (without the 4-byte size prefix). The header
 * version is chosen from the API key and version it starts with.
 * ClientId is a view into buf (a classic nullable string, also in v2).
 * @param[out] hdr the header; api key, version and correlation id are
 *        filled even when the key is unknown, so a server can answer.
 * @param[out] consumed bytes used by the header (where the body starts).
 * @param buf,len the input.
 * @param a arena for unknown tagged fields (header v2); may be NULL when
 *        the header has none.
 * @param[out] err error details, or NULL.
 * @return 0; CHRONIK_EUNSUPPORTED for an unknown API key (the first 8
 *         bytes are decoded); CHRONIK_ETRUNCATED, CHRONIK_EMALFORMED,
 *         CHRONIK_ENOMEM. A version outside the API's range is not an
 *         error here (the body decode reports CHRONIK_EVERSION), so an
 *         ApiVersions request of a future version can be answered.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_header_decode(
	struct chronik_protocol_request_header *hdr, size_t *consumed,
	chronik_protocol_arena *a, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err);

/**
 * Encode a request header in the version its API key and version need.
 * @param[out] written bytes written, or the size needed when buf is NULL
 *        or too small.
 * @param buf,cap output buffer; buf NULL only computes the size.
 * @param hdr the header.
 * @param[out] err error details, or NULL.
 * @return 0; CHRONIK_ETOOBIG (cap too small, *written is the size
 *         needed), CHRONIK_EUNSUPPORTED, CHRONIK_EARG.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_header_encode(
	size_t *written, uint8_t *buf, size_t cap,
	const struct chronik_protocol_request_header *hdr,
	chronik_protocol_errinfo *err);

/**
 * Decode a response header of the given version (see
 * chronik_protocol_response_header_version()).
 * @param[out] hdr,consumed the header and the bytes it used.
 * @param a arena for unknown tagged fields (v1), may be NULL if none.
 * @param header_version 0 or 1.
 * @param buf,len the input (no size prefix).
 * @param[out] err error details, or NULL.
 * @return 0, CHRONIK_EVERSION, CHRONIK_ETRUNCATED, CHRONIK_EMALFORMED,
 *         CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_header_decode(
	struct chronik_protocol_response_header *hdr, size_t *consumed,
	chronik_protocol_arena *a, int header_version, const uint8_t *buf,
	size_t len, chronik_protocol_errinfo *err);

/**
 * Encode a response header of the given version.
 * @param[out] written bytes written or needed.
 * @param buf,cap output; buf NULL computes the size only.
 * @param header_version 0 or 1.
 * @param hdr the header.
 * @param[out] err error details, or NULL.
 * @return 0, CHRONIK_ETOOBIG, CHRONIK_EVERSION, CHRONIK_EARG.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_header_encode(
	size_t *written, uint8_t *buf, size_t cap, int header_version,
	const struct chronik_protocol_response_header *hdr,
	chronik_protocol_errinfo *err);

/**
 * Decode a request body. The whole buffer must be the body: bytes left
 * over are an error.
 * @param[out] out the message, allocated in the arena; cast it to the
 *        struct of the API key (e.g. chronik_protocol_produce_request).
 *        Unchanged on failure.
 * @param a the arena (the message and its arrays live there).
 * @param api_key,version which message.
 * @param buf,len the body bytes; views in the message point into buf.
 * @param[out] err error details (API, version, field, offset), or NULL.
 * @return 0; CHRONIK_EUNSUPPORTED (unknown key), CHRONIK_EVERSION
 *         (version out of range), CHRONIK_ETRUNCATED (input ended, or a
 *         length/count larger than the input), CHRONIK_EMALFORMED (bad
 *         varint, negative length, null where not nullable, tagged fields
 *         out of order, trailing bytes), CHRONIK_ENOMEM, CHRONIK_EARG.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_decode(
	void **out, chronik_protocol_arena *a, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err);

/** Like chronik_protocol_request_decode(), for a response body.
 * @since 0.1 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_decode(
	void **out, chronik_protocol_arena *a, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err);

/**
 * Encode a request body in the given version. Fields the version lacks
 * must hold their default unless the schema marks them ignorable; null
 * is only accepted where the version allows it.
 * @param[out] written bytes written, or the size needed when buf is NULL
 *        or cap is too small.
 * @param buf,cap output buffer; buf NULL only computes the size.
 * @param api_key,version which message.
 * @param msg the message struct of that API key.
 * @param[out] err error details (the failing field), or NULL.
 * @return 0; CHRONIK_ETOOBIG (cap too small, or over 2 GiB),
 *         CHRONIK_EUNSUPPORTED, CHRONIK_EVERSION, CHRONIK_EARG (invalid
 *         value: a non-default field the version lacks, a null where not
 *         nullable, a string over 32767 bytes, unsorted unknown tags).
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_encode(
	size_t *written, uint8_t *buf, size_t cap, int16_t api_key,
	int16_t version, const void *msg, chronik_protocol_errinfo *err);

/** Like chronik_protocol_request_encode(), for a response body.
 * @since 0.1 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_encode(
	size_t *written, uint8_t *buf, size_t cap, int16_t api_key,
	int16_t version, const void *msg, chronik_protocol_errinfo *err);

/**
 * Allocate a request struct in the arena with every field at its schema
 * default (ready to fill in and encode).
 * @param[out] out the message.
 * @param a,api_key the arena and the API key.
 * @return 0, CHRONIK_EUNSUPPORTED, CHRONIK_ENOMEM.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_new(
	void **out, chronik_protocol_arena *a, int16_t api_key);

/** Like chronik_protocol_request_new(), for a response. @since 0.1 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_new(
	void **out, chronik_protocol_arena *a, int16_t api_key);

/**
 * Decode a non-RPC data schema (e.g. ConsumerProtocolSubscription, whose
 * version is the int16 in front of the bytes; this call takes the bytes
 * after it). Same rules and errors as chronik_protocol_request_decode().
 * @param type a chronik_protocol_data_type.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_data_decode(
	void **out, chronik_protocol_arena *a, int type, int16_t version,
	const uint8_t *buf, size_t len, chronik_protocol_errinfo *err);

/** Encode a data schema; as chronik_protocol_request_encode().
 * @since 0.1 */
CHRONIK_PROTOCOL_API int chronik_protocol_data_encode(
	size_t *written, uint8_t *buf, size_t cap, int type, int16_t version,
	const void *msg, chronik_protocol_errinfo *err);

/**
 * Read the 4-byte big-endian size prefix of a frame.
 * @param[out] size the frame size after the prefix.
 * @param buf,len input; needs at least 4 bytes.
 * @param max_size largest acceptable size (e.g. socket.request.max.bytes).
 * @return 0; CHRONIK_EAGAIN (fewer than 4 bytes), CHRONIK_EMALFORMED
 *         (negative size), CHRONIK_ETOOBIG (over max_size).
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_frame_size(
	size_t *size, const uint8_t *buf, size_t len, size_t max_size);

/** Flags for the frame functions. @since 0.1 */
enum chronik_protocol_frame_flags {
	/** The buffer starts with (or gets) the 4-byte size prefix. */
	CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX = 1
};

/**
 * Decode a whole request: header and body, optionally behind the size
 * prefix (which must then match the length exactly).
 * @param[out] hdr the header (filled as far as possible on failure).
 * @param[out] body the body message, in the arena.
 * @param a the arena.
 * @param flags chronik_protocol_frame_flags.
 * @param buf,len the frame.
 * @param[out] err error details; offsets are relative to buf.
 * @return 0 or the errors of the header and body decoders.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_frame_decode(
	struct chronik_protocol_request_header *hdr, void **body,
	chronik_protocol_arena *a, unsigned int flags, const uint8_t *buf,
	size_t len, chronik_protocol_errinfo *err);

/**
 * Encode a whole request (header version from its API key and version).
 * @param[out] written bytes written or needed.
 * @param buf,cap output; NULL computes the size.
 * @param flags CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX to write the prefix.
 * @param hdr,body the header and the body struct of hdr's API key.
 * @param[out] err error details, or NULL.
 * @return 0 or the errors of chronik_protocol_request_encode().
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_request_frame_encode(
	size_t *written, uint8_t *buf, size_t cap, unsigned int flags,
	const struct chronik_protocol_request_header *hdr, const void *body,
	chronik_protocol_errinfo *err);

/**
 * Decode a whole response to a request of the given API key and version.
 * @param[out] hdr,body header and body (body in the arena).
 * @param a,flags arena and chronik_protocol_frame_flags.
 * @param api_key,version of the request this answers.
 * @param buf,len the frame.
 * @param[out] err error details, or NULL.
 * @return 0 or the errors of the header and body decoders.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_frame_decode(
	struct chronik_protocol_response_header *hdr, void **body,
	chronik_protocol_arena *a, unsigned int flags, int16_t api_key,
	int16_t version, const uint8_t *buf, size_t len,
	chronik_protocol_errinfo *err);

/**
 * Encode a whole response: optional size prefix, the response header of
 * the right version, then the body.
 * @param[out] written bytes written or needed.
 * @param buf,cap output; NULL computes the size.
 * @param flags chronik_protocol_frame_flags.
 * @param api_key,version of the request answered.
 * @param hdr,body header and body.
 * @param[out] err error details, or NULL.
 * @return 0 or the errors of chronik_protocol_response_encode().
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_response_frame_encode(
	size_t *written, uint8_t *buf, size_t cap, unsigned int flags,
	int16_t api_key, int16_t version,
	const struct chronik_protocol_response_header *hdr, const void *body,
	chronik_protocol_errinfo *err);

/**
 * What the codec knows about an API key.
 * @return a pointer into a static table (never freed), or NULL for an
 *         unknown key. Thread-safe.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API const chronik_protocol_api_info *chronik_protocol_api_get(
	int16_t api_key);

/**
 * Look up a Kafka error code.
 * @return a pointer into a static table, or NULL for a code Kafka 3.9
 *         does not define. Thread-safe.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API const chronik_protocol_error_info *chronik_protocol_error_get(
	int16_t code);

/**
 * Kafka's name of an error code, e.g. "UNKNOWN_TOPIC_OR_PARTITION".
 * @return a static string; "UNKNOWN" for an undefined code; never NULL.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API const char *chronik_protocol_error_name(int16_t code);

/**
 * Pick the version to use for an API with a peer: the highest version in
 * both the peer's range (from its ApiVersions response) and ours.
 * @param[out] version the chosen version.
 * @param peer the peer's decoded ApiVersionsResponse (any version).
 * @param api_key the API wanted.
 * @param our_min,our_max our range; pass -1 for both to use this codec's
 *        full range for the key.
 * @return 0; CHRONIK_ENOTFOUND (peer lacks the API, or no overlap),
 *         CHRONIK_EUNSUPPORTED (unknown key), CHRONIK_EARG.
 * @since 0.1
 */
CHRONIK_PROTOCOL_API int chronik_protocol_version_pick(
	int16_t *version,
	const struct chronik_protocol_api_versions_response *peer,
	int16_t api_key, int16_t our_min, int16_t our_max);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_PROTOCOL_H */
