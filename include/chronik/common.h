/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file common.h
 * @brief Definitions shared by every Chronik library: export macros, error
 *        codes and chronik_strerror().
 *
 * Error convention: functions return 0 (or a non-negative count) on success
 * and a negative value on failure. System failures are passed through as
 * `-errno`; Chronik's own failures use the reserved block -1000..-1999
 * below, which is append-only. Kafka wire error codes are data, not return
 * codes, and live in chronik/protocol.h.
 *
 * Thread-safety: everything in this header is pure and thread-safe.
 * @since 0.1
 */
#ifndef CHRONIK_COMMON_H
#define CHRONIK_COMMON_H

#include <errno.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Symbol visibility helper used by each library's CHRONIK_<LIB>_API. */
#if defined(__GNUC__) || defined(__clang__)
#define CHRONIK_EXPORT_ __attribute__((visibility("default")))
#else
#define CHRONIK_EXPORT_
#endif

/** Chronik's own error codes (always negative). @since 0.1 */
enum chronik_error {
	CHRONIK_OK = 0,
	/** Options struct or on-disk/wire format version not supported. */
	CHRONIK_EVERSION = -1000,
	/** Input ended before a complete item could be read. */
	CHRONIK_ETRUNCATED = -1001,
	/** Input is structurally invalid (bad length, bad varint, ...). */
	CHRONIK_EMALFORMED = -1002,
	/** A checksum did not match. */
	CHRONIK_ECRC = -1003,
	/** Unknown API key, message type, codec or feature. */
	CHRONIK_EUNSUPPORTED = -1004,
	/** A size limit was exceeded (decompression cap, max message size). */
	CHRONIK_ETOOBIG = -1005,
	/** Corrupt data found in the middle of a file or log. */
	CHRONIK_ECORRUPT = -1006,
	/** The handle is in a failed state after an unrecoverable I/O error. */
	CHRONIK_EFAILED = -1007,
	/** The handle is closed or closing. */
	CHRONIK_ECLOSED = -1008,
	/** A caller-supplied argument is invalid. */
	CHRONIK_EARG = -1009,
	/** Compression or decompression failed inside the codec library. */
	CHRONIK_ECODEC = -1010,
	/** The requested item does not exist. */
	CHRONIK_ENOTFOUND = -1011,
	/** The item already exists. */
	CHRONIK_EEXIST = -1012,
	/** Out of memory (also reported as -ENOMEM by system paths). */
	CHRONIK_ENOMEM = -1013,
	/** The operation would block / is not ready yet. */
	CHRONIK_EAGAIN = -1014
};

/**
 * Describe an error code returned by any Chronik function.
 *
 * @param err a value returned by a Chronik function (0, a chronik_error, or
 *            a negated errno value).
 * @return a static, NUL-terminated string; never NULL.
 * @since 0.1
 */
static inline const char *chronik_strerror(int err)
{
	switch (err) {
	case CHRONIK_OK: return "success";
	case CHRONIK_EVERSION: return "unsupported version";
	case CHRONIK_ETRUNCATED: return "input truncated";
	case CHRONIK_EMALFORMED: return "malformed input";
	case CHRONIK_ECRC: return "checksum mismatch";
	case CHRONIK_EUNSUPPORTED: return "unsupported";
	case CHRONIK_ETOOBIG: return "size limit exceeded";
	case CHRONIK_ECORRUPT: return "corrupt data";
	case CHRONIK_EFAILED: return "handle is in a failed state";
	case CHRONIK_ECLOSED: return "handle is closed";
	case CHRONIK_EARG: return "invalid argument";
	case CHRONIK_ECODEC: return "compression codec error";
	case CHRONIK_ENOTFOUND: return "not found";
	case CHRONIK_EEXIST: return "already exists";
	case CHRONIK_ENOMEM: return "out of memory";
	case CHRONIK_EAGAIN: return "try again";
	default: break;
	}
	if (err < 0 && err > -1000) {
		const char *s = strerror(-err);
		return s ? s : "system error";
	}
	return "unknown error";
}

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_COMMON_H */
