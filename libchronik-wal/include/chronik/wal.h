/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file wal.h
 * @brief libchronik-wal: an embeddable group-commit write-ahead log with
 *        crash recovery.
 *
 * A WAL is a directory of preallocated segment files holding framed records
 * (length, type byte, CRC-32C, LSN). Records get consecutive log sequence
 * numbers (LSNs) starting at 1. Many threads may append concurrently; an
 * internal writer thread per handle writes what they queued, and one sync
 * makes everything written so far durable (group commit), run by the
 * writer itself or, when records wait for their write to be acknowledged,
 * by an internal sync thread while the writer goes on writing. A caller
 * may also write the queue in its own thread (CHRONIK_WAL_APPEND_DEFER,
 * chronik_wal_flush()). Durability is reported in three interchangeable
 * ways:
 *
 *  - a per-record callback (and a per-handle on_commit callback), called
 *    from the WAL's writer or sync thread;
 *  - chronik_wal_wait(), which blocks the calling thread until an LSN is
 *    durable;
 *  - an eventfd (chronik_wal_event_fd()) that becomes readable whenever the
 *    durable LSN advances or the WAL fails, for event loops (libuv, epoll),
 *    combined with chronik_wal_durable_lsn().
 *
 * Readers (chronik_wal_reader_open()) iterate durable records from any LSN
 * still on disk, also while appends continue. chronik_wal_checkpoint()
 * declares everything before an LSN stored elsewhere; whole segments below
 * it are then deleted.
 *
 * Opening a WAL recovers it: the durable end is found, every record's CRC
 * is verified, a torn tail (a partly written last write) is cleared, and
 * corruption in the middle of the log is refused with CHRONIK_ECORRUPT
 * (unless CHRONIK_WAL_OPEN_SALVAGE asks to truncate at it). See docs/wal.md
 * for the exact guarantees and docs/formats.md for the on-disk format.
 *
 * Errors: functions return 0 (or a count) on success and a negative value
 * on failure: -errno for system failures, or a chronik_error code from
 * chronik/common.h. chronik_wal_last_error() gives detail text per handle.
 *
 * Thread-safety: unless a function says otherwise, all functions taking a
 * chronik_wal may be called from any number of threads at once, except
 * chronik_wal_close(), which must be the last call on a handle and must not
 * run concurrently with any other call on it. A chronik_wal_reader is used
 * by one thread at a time.
 *
 * A record appended with CHRONIK_WAL_APPEND_WRITTEN also has its callback
 * called once it is written, before it is durable (e.g. to acknowledge
 * Kafka's acks=1, which does not wait for the disk).
 *
 * The library has no global state and starts three threads per open
 * handle: the writer, the sync thread, and a segment preparer that sleeps
 * except while it makes the next segment file ahead of time.
 * @since 0.1
 */
#ifndef CHRONIK_WAL_H
#define CHRONIK_WAL_H

#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>
#include <chronik/wal_version.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration exported from libchronik-wal. */
#define CHRONIK_WAL_API CHRONIK_EXPORT_

/** An open write-ahead log (opaque). @since 0.1 */
typedef struct chronik_wal chronik_wal;

/** A cursor over the records of a chronik_wal (opaque). @since 0.1 */
typedef struct chronik_wal_reader chronik_wal_reader;

/**
 * Group-commit profiles: how much a busy WAL batches before it syncs.
 *
 * In every profile, a record appended to an idle WAL is written and synced
 * at once (at most `max batch` bytes per write). The profile only matters
 * while the WAL is busy: records arriving during a sync gather for the
 * next one; when that sync ends and fewer than `target` bytes are
 * waiting, the next round first waits up to `linger` for more (never
 * longer, and never when idle). Records appended with
 * CHRONIK_WAL_APPEND_WRITTEN are written without waiting for the sync in
 * flight (docs/wal.md):
 *
 * | profile | max batch | target  | linger  |
 * |---------|-----------|---------|---------|
 * | low     | 1 MiB     | -       | 0       |
 * | medium  | 1 MiB     | 64 KiB  | 100 us  |
 * | high    | 4 MiB     | 256 KiB | 500 us  |
 * | ultra   | 16 MiB    | 1 MiB   | 2 ms    |
 *
 * A batch always holds at least one record, whatever its size.
 * @since 0.1
 */
enum chronik_wal_profile {
	/** Lowest latency: sync as soon as possible, never linger. */
	CHRONIK_WAL_PROFILE_LOW = 0,
	/** Default: short linger while busy, 1 MiB writes. */
	CHRONIK_WAL_PROFILE_MEDIUM = 1,
	/** More throughput per sync, up to 0.5 ms extra latency when busy. */
	CHRONIK_WAL_PROFILE_HIGH = 2,
	/** Largest batches, up to 2 ms extra latency when busy. */
	CHRONIK_WAL_PROFILE_ULTRA = 3
};

/** How (and whether) written data is made durable. @since 0.1 */
enum chronik_wal_sync_mode {
	/** fdatasync() after each write batch (default). */
	CHRONIK_WAL_SYNC_DATA = 0,
	/** fsync() after each write batch (also flushes file metadata). */
	CHRONIK_WAL_SYNC_FULL = 1,
	/**
	 * Never sync: a record counts as "durable" once it is written to the
	 * page cache. It survives a crash of the process but NOT a crash of
	 * the machine or a power loss. For tests and for users who accept
	 * page-cache durability only.
	 */
	CHRONIK_WAL_SYNC_NONE = 2
};

/** chronik_wal_options::flags: truncate the log at a corrupt record in
 * the middle of the log instead of failing with CHRONIK_ECORRUPT; what was
 * lost is reported by chronik_wal_recovery_get(). @since 0.1 */
#define CHRONIK_WAL_OPEN_SALVAGE 0x1u
/** chronik_wal_options::flags: fail with CHRONIK_ENOTFOUND if the
 * directory holds no WAL instead of creating one. @since 0.1 */
#define CHRONIK_WAL_OPEN_NO_CREATE 0x2u

/** Largest payload of one record in bytes (16 MiB - 64). @since 0.1 */
#define CHRONIK_WAL_MAX_RECORD ((size_t)16 * 1024 * 1024 - 64)
/** Default segment size: 64 MiB. @since 0.1 */
#define CHRONIK_WAL_DEFAULT_SEGMENT_SIZE ((uint64_t)64 * 1024 * 1024)

/** Status given to the callback of a record appended with
 * CHRONIK_WAL_APPEND_WRITTEN once it is written to its segment file: the
 * operating system has it (a crash of the process keeps it), the disk may
 * not yet (a crash of the machine or a power loss may lose it).
 * @since 0.2 */
#define CHRONIK_WAL_WRITTEN 1

/**
 * Completion of one appended record, called once from the WAL's writer or
 * sync thread (and, for a record appended with CHRONIK_WAL_APPEND_WRITTEN,
 * once before that with status CHRONIK_WAL_WRITTEN, if and only if the
 * record was written, from the writer thread or from a thread whose
 * chronik_wal_flush() wrote it, before that call returns).
 *
 * @param lsn      the record's LSN.
 * @param status   0 when the record is durable; CHRONIK_WAL_WRITTEN (see
 *                 above); a negative code (-EIO, -ENOSPC, CHRONIK_EFAILED,
 *                 CHRONIK_ECLOSED, ...) when it will never be acknowledged
 *                 (the WAL failed or closed), also after a
 *                 CHRONIK_WAL_WRITTEN call.
 * @param userdata the pointer given to chronik_wal_appendv().
 *
 * Callbacks must not block for long, must not call chronik_wal_close() or
 * chronik_wal_wait(); they may append (with CHRONIK_WAL_APPEND_NONBLOCK
 * implied: a full queue gives CHRONIK_EAGAIN instead of blocking).
 * @since 0.1
 */
typedef void (*chronik_wal_append_cb)(uint64_t lsn, int status,
				      void *userdata);

/**
 * Per-handle notification. As on_commit: called from the writer or the
 * sync thread after every sync once its records' own callbacks have run. As
 * on_written: called after every write once the CHRONIK_WAL_WRITTEN
 * callbacks of its records have run, from the thread that wrote (the
 * writer's, or one in chronik_wal_flush()); durable_lsn is then the
 * highest LSN written (status 0).
 *
 * @param w           the handle.
 * @param durable_lsn every LSN <= this is durable.
 * @param status      0, or the error that put the WAL in the failed state
 *                    (then called once, and never again).
 * @param userdata    chronik_wal_options::userdata.
 *
 * Same rules as chronik_wal_append_cb.
 * @since 0.1
 */
typedef void (*chronik_wal_commit_cb)(chronik_wal *w, uint64_t durable_lsn,
				      int status, void *userdata);

/**
 * Log callback for recovery reports and failures (one line, no newline).
 * @param level    0 error, 1 warning, 2 info.
 * @param msg      NUL-terminated text, valid during the call only.
 * @param userdata chronik_wal_options::userdata.
 * May be called from the thread calling chronik_wal_open() or from the
 * writer thread. @since 0.1
 */
typedef void (*chronik_wal_log_cb)(int level, const char *msg,
				   void *userdata);

/** Current version of chronik_wal_options. @since 0.1 */
#define CHRONIK_WAL_OPTIONS_VERSION 2

/**
 * Options for chronik_wal_open(). Initialise with CHRONIK_WAL_OPTIONS_INIT
 * or chronik_wal_options_init(); fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_wal_options {
	/** Must be CHRONIK_WAL_OPTIONS_VERSION (or an older version). */
	unsigned int version;
	/** Directory of the WAL; created (one level) if missing. Required.
	 * Copied by chronik_wal_open(). */
	const char *dir;
	/** Preallocated size of each segment file in bytes; 0 means
	 * CHRONIK_WAL_DEFAULT_SEGMENT_SIZE. At least 64 KiB. Records never
	 * span segments, so a record's frame must fit in one segment. Only
	 * affects new segments. */
	uint64_t segment_size;
	/** Group-commit profile (default CHRONIK_WAL_PROFILE_MEDIUM). */
	enum chronik_wal_profile profile;
	/** Durability mode (default CHRONIK_WAL_SYNC_DATA). */
	enum chronik_wal_sync_mode sync_mode;
	/** CHRONIK_WAL_OPEN_* flags. */
	unsigned int flags;
	/** Optional per-handle commit notification; may be NULL. */
	chronik_wal_commit_cb on_commit;
	/** Optional log sink; may be NULL. */
	chronik_wal_log_cb log;
	/** Passed to on_commit and log. */
	void *userdata;
	/** Bytes of appended records that may wait in memory for the writer
	 * before appenders block (or get CHRONIK_EAGAIN); 0 means 64 MiB.
	 * Raised to at least twice the profile's max batch. */
	size_t max_queued_bytes;
	/** Optional per-handle notification after every write (see
	 * chronik_wal_commit_cb); may be NULL. Options version 2.
	 * @since 0.2 */
	chronik_wal_commit_cb on_written;
} chronik_wal_options;

/** Static initialiser for chronik_wal_options with every default.
 * @since 0.1 */
#define CHRONIK_WAL_OPTIONS_INIT                                          \
	{                                                                 \
		CHRONIK_WAL_OPTIONS_VERSION, NULL, 0,                     \
		CHRONIK_WAL_PROFILE_MEDIUM, CHRONIK_WAL_SYNC_DATA, 0,     \
		NULL, NULL, NULL, 0, NULL                                 \
	}

/**
 * Initialise @p opts with defaults for the given options version.
 *
 * @param[out] opts    the struct to fill (the whole struct of that
 *                     version is written).
 * @param version      CHRONIK_WAL_OPTIONS_VERSION as the caller knows it.
 * @return 0; CHRONIK_EARG if @p opts is NULL; CHRONIK_EVERSION if the
 *         version is unknown to this library.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_options_init(chronik_wal_options *opts,
					     unsigned int version);

/**
 * Parse a profile name ("low", "medium", "high", "ultra", any case, as in
 * the CHRONIK_WAL_PROFILE environment variable).
 *
 * @param[out] out the profile.
 * @param name     NUL-terminated name.
 * @return 0; CHRONIK_EARG if NULL or not a profile name.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_profile_parse(enum chronik_wal_profile *out,
					      const char *name);

/**
 * Name of a profile ("low", "medium", "high", "ultra").
 * @param profile a profile value.
 * @return a static string; "unknown" for other values; never NULL.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API const char *chronik_wal_profile_name(
	enum chronik_wal_profile profile);

/**
 * Open (creating if needed) and recover the WAL in opts->dir, then start
 * its writer thread.
 *
 * Recovery verifies every record of every segment, clears a torn tail and
 * refuses mid-log corruption (see docs/wal.md). One process at a time may
 * open a directory (an flock() on a LOCK file).
 *
 * @param[out] out  the new handle. On success, owned by the caller and
 *                  released with chronik_wal_close(). On failure *out is
 *                  NULL if the failure happened before a handle existed
 *                  (CHRONIK_EARG, CHRONIK_EVERSION, -ENOMEM); otherwise it
 *                  is a handle in the failed state that only answers
 *                  chronik_wal_last_error(), chronik_wal_recovery_get() and
 *                  chronik_wal_close(), which the caller must call.
 * @param opts      options; not referenced after the call returns.
 * @return 0; CHRONIK_EARG (NULL or invalid option); CHRONIK_EVERSION (an
 *         options version or an on-disk format version this library does
 *         not know); CHRONIK_ECORRUPT (mid-log corruption: file, offset and
 *         LSN are in chronik_wal_last_error()); CHRONIK_ENOTFOUND (no WAL
 *         and CHRONIK_WAL_OPEN_NO_CREATE); -EWOULDBLOCK (another process
 *         holds the directory); other -errno from the file system.
 * Thread-safe (distinct directories). @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_open(chronik_wal **out,
				     const chronik_wal_options *opts);

/**
 * Stop accepting appends, write and sync everything already appended
 * (unless the WAL has failed), run all pending callbacks (records that
 * could not be made durable get a negative status), stop the writer thread
 * and free the handle. Readers must be closed first.
 *
 * @param w the handle, or NULL (no-op). Invalid after the call.
 * @return 0; or the error that left the WAL failed (the handle is freed
 *         anyway).
 * Must not be called from a callback. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_close(chronik_wal *w);

/** A buffer of an appended record (not owned by the WAL). @since 0.1 */
typedef struct chronik_wal_buf {
	/** Start of the bytes; may be NULL if len is 0. */
	const void *base;
	/** Number of bytes. */
	size_t len;
} chronik_wal_buf;

/** chronik_wal_appendv() flag: never block when the in-memory queue is
 * full; return CHRONIK_EAGAIN instead. @since 0.1 */
#define CHRONIK_WAL_APPEND_NONBLOCK 0x1u
/** chronik_wal_appendv() flag: also call the callback with status
 * CHRONIK_WAL_WRITTEN once the record is written, before it is durable.
 * When only such records wait for the next sync, the sync thread may wait
 * up to 200 us (0.3) before it syncs, so that one sync covers more; a
 * record written without the flag or the writer waiting for the sync ends
 * that wait, and none starts while a chronik_wal_wait() caller waits.
 * @since 0.2 */
#define CHRONIK_WAL_APPEND_WRITTEN 0x2u
/** chronik_wal_appendv() flag: queue the record without waking the writer
 * thread; the caller promises to call chronik_wal_flush() soon (e.g. once
 * per event-loop iteration), which writes everything queued in one go. A
 * record appended without the flag, by any thread, wakes the writer for
 * the deferred ones too. @since 0.3 */
#define CHRONIK_WAL_APPEND_DEFER 0x4u

/**
 * Append one record whose payload is the concatenation of @p bufs.
 *
 * The bytes are copied before the call returns; the record is durable
 * later, when @p cb runs with status 0, chronik_wal_wait() returns 0 for
 * its LSN, or chronik_wal_durable_lsn() reaches it. Records become durable
 * in LSN order.
 *
 * @param[out] lsn_out optional; receives the record's LSN.
 * @param w        the handle.
 * @param type     record type byte, opaque to the WAL (returned by
 *                 readers).
 * @param bufs     @p nbufs buffers; may be NULL if nbufs is 0.
 * @param nbufs    number of buffers.
 * @param flags    0, or any of CHRONIK_WAL_APPEND_NONBLOCK,
 *                 CHRONIK_WAL_APPEND_WRITTEN and
 *                 CHRONIK_WAL_APPEND_DEFER.
 * @param cb       optional completion, called exactly once with the final
 *                 status from a WAL thread if (and only if) this call
 *                 returns 0; with CHRONIK_WAL_APPEND_WRITTEN, possibly once
 *                 before with CHRONIK_WAL_WRITTEN (see
 *                 chronik_wal_append_cb).
 * @param userdata passed to @p cb.
 * @return 0; CHRONIK_EARG (bad arguments); CHRONIK_ETOOBIG (payload over
 *         CHRONIK_WAL_MAX_RECORD or over what one segment can hold);
 *         CHRONIK_EAGAIN (queue full and NONBLOCK, or called from a
 *         callback); CHRONIK_EFAILED (the WAL is in the failed state);
 *         CHRONIK_ECLOSED (closing).
 * Thread-safe. May block while the queue is full. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_appendv(uint64_t *lsn_out, chronik_wal *w,
					uint8_t type,
					const chronik_wal_buf *bufs,
					size_t nbufs, unsigned int flags,
					chronik_wal_append_cb cb,
					void *userdata);

/**
 * Write what is queued now, in the calling thread when it can: when a
 * queued record was appended with CHRONIK_WAL_APPEND_WRITTEN (otherwise
 * the writer thread writes and syncs at once, which costs less than a
 * write here and a sync on the sync thread), the writer thread is not
 * writing, the active segment has room for all of it
 * (a segment roll is the writer's) and the bytes written but not yet
 * durable stay within bounds, this thread writes the queued records (any
 * appender's) with one write per batch and runs their CHRONIK_WAL_WRITTEN
 * callbacks and on_written before returning; the sync that makes them
 * durable is the sync thread's. Otherwise it wakes the writer thread,
 * which writes them. Either way the records of earlier
 * CHRONIK_WAL_APPEND_DEFER appends are on their way when it returns.
 *
 * For an event loop answering at CHRONIK_WAL_WRITTEN (Kafka's acks=1):
 * append with CHRONIK_WAL_APPEND_WRITTEN | CHRONIK_WAL_APPEND_DEFER while
 * handling what one loop iteration read, then flush once: the answers
 * need no thread wake-up, and the iteration's records share one write.
 * The caller must not hold a lock that the callbacks take. A write error
 * puts the WAL in the failed state as the writer's would (the records'
 * callbacks then get the error from the sync thread).
 *
 * @param w the handle.
 * @return 0; CHRONIK_EARG.
 * Thread-safe; a call from a callback only wakes the writer. @since 0.3
 */
CHRONIK_WAL_API int chronik_wal_flush(chronik_wal *w);

/**
 * Append one record from one buffer; same as chronik_wal_appendv() with a
 * single buffer, no flags and no callback.
 *
 * @param[out] lsn_out optional; receives the record's LSN.
 * @param w    the handle.
 * @param type record type byte.
 * @param data payload (may be NULL if len is 0); copied.
 * @param len  payload length.
 * @return as chronik_wal_appendv().
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_append(uint64_t *lsn_out, chronik_wal *w,
				       uint8_t type, const void *data,
				       size_t len);

/**
 * Wait until @p lsn is durable.
 *
 * @param w          the handle.
 * @param lsn        an LSN returned by an append (0 returns at once).
 * @param timeout_ms maximum wait in milliseconds; negative waits forever,
 *                   0 only checks.
 * @return 0 when durable; -ETIMEDOUT when the time ran out; the WAL's
 *         failure code (e.g. -EIO, -ENOSPC) if it failed before @p lsn
 *         became durable; CHRONIK_ECLOSED if the WAL closed first;
 *         CHRONIK_EARG if @p lsn was never assigned.
 * Waiters are woken once per durable advance (one futex wake for all of
 * them), never per record.
 * Thread-safe; must not be called from a callback. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_wait(chronik_wal *w, uint64_t lsn,
				     int timeout_ms);

/**
 * The highest LSN such that it and every LSN below it are durable (0 if
 * none yet).
 * @param w the handle.
 * @return the durable LSN.
 * Thread-safe, lock-free. @since 0.1
 */
CHRONIK_WAL_API uint64_t chronik_wal_durable_lsn(const chronik_wal *w);

/**
 * The LSN the next append will get.
 * @param w the handle.
 * @return the next LSN (1 for an empty, never checkpointed WAL).
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API uint64_t chronik_wal_next_lsn(chronik_wal *w);

/**
 * A non-blocking, close-on-exec eventfd that becomes readable whenever the
 * durable LSN advances or the WAL enters the failed state. Read 8 bytes
 * from it to reset it, then call chronik_wal_durable_lsn() (and
 * chronik_wal_status()). Owned by the handle: do not close it; valid until
 * chronik_wal_close().
 * @param w the handle.
 * @return the file descriptor.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_event_fd(const chronik_wal *w);

/**
 * Health of the handle.
 * @param w the handle.
 * @return 0 while healthy; the error that put it in the failed state (for
 *         example -EIO or -ENOSPC from a write or sync) otherwise.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_status(const chronik_wal *w);

/**
 * Declare every record with an LSN below @p lsn stored elsewhere.
 *
 * The checkpoint LSN is made durable in the directory (a small file,
 * written and renamed atomically), then every segment whose records are
 * all below it is deleted, or (since 0.3.1) kept as a spare that a later
 * segment reuses (up to 4 spares, none while a reader is open; close and
 * open delete them). Never deletes the segment being written.
 * Checkpoints never move backwards (a lower LSN is a no-op).
 *
 * @param w   the handle.
 * @param lsn first LSN still needed; at most chronik_wal_durable_lsn()+1.
 * @return 0; CHRONIK_EARG (lsn beyond the durable end); CHRONIK_EFAILED;
 *         -errno from the file system.
 * Thread-safe (serialised internally). Open readers keep deleted segments
 * readable until they move past them. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_checkpoint(chronik_wal *w, uint64_t lsn);

/**
 * The current checkpoint LSN (first LSN still needed; 0 if never set).
 * After a restart, replay from here.
 * @param w the handle.
 * @return the checkpoint LSN.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API uint64_t chronik_wal_checkpoint_lsn(chronik_wal *w);

/**
 * The lowest LSN still stored in the WAL's segments (may be below the
 * checkpoint, since only whole segments are deleted).
 * @param w the handle.
 * @return that LSN, or chronik_wal_next_lsn() if the WAL holds no record.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API uint64_t chronik_wal_first_lsn(chronik_wal *w);

/**
 * Detail text for the last error on this handle (file, offset, LSN for
 * corruption; the failing call for I/O errors).
 * @param w the handle, or NULL.
 * @return a NUL-terminated string owned by the handle, "" if none; valid
 *         until the next call on the handle that fails, or close.
 * Thread-safe to call, but concurrent failures may overwrite the text.
 * @since 0.1
 */
CHRONIK_WAL_API const char *chronik_wal_last_error(const chronik_wal *w);

/** A record returned by chronik_wal_reader_next(). @since 0.1 */
typedef struct chronik_wal_record {
	/** The record's LSN. */
	uint64_t lsn;
	/** Payload; borrowed, valid until the next call on the reader. */
	const void *data;
	/** Payload length in bytes. */
	size_t len;
	/** The type byte given to the append. */
	uint8_t type;
} chronik_wal_record;

/**
 * Open a reader positioned at the first record with LSN >= @p from_lsn.
 *
 * Readers see only durable records (chronik_wal_durable_lsn()) and may run
 * while appends continue; every record's CRC is checked.
 *
 * @param[out] out the reader; free with chronik_wal_reader_close().
 * @param w        the handle; must outlive the reader.
 * @param from_lsn first LSN wanted (0 means the first record still stored).
 * @return 0; CHRONIK_ENOTFOUND if @p from_lsn is below
 *         chronik_wal_first_lsn() (already deleted); CHRONIK_EARG; -ENOMEM.
 * Thread-safe with respect to the WAL. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_reader_open(chronik_wal_reader **out,
					    chronik_wal *w,
					    uint64_t from_lsn);

/**
 * Read the next durable record.
 *
 * @param[out] rec the record; its data is borrowed until the next call on
 *                 this reader.
 * @param r        the reader.
 * @return 1 when a record was read; 0 at the durable end (call again later
 *         for records that become durable after); CHRONIK_ECORRUPT if a
 *         durable record does not verify; CHRONIK_ENOTFOUND if the next
 *         segment was deleted by a checkpoint; -errno on read errors.
 * One thread at a time per reader. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_reader_next(chronik_wal_record *rec,
					    chronik_wal_reader *r);

/**
 * Close a reader.
 * @param r the reader, or NULL (no-op). Invalid after the call.
 * @since 0.1
 */
CHRONIK_WAL_API void chronik_wal_reader_close(chronik_wal_reader *r);

/** Number of buckets in the histograms of chronik_wal_stats. */
#define CHRONIK_WAL_HIST_BUCKETS 32
/** Current version of chronik_wal_stats. @since 0.1 */
#define CHRONIK_WAL_STATS_VERSION 1

/**
 * Counters since open. The caller sets `version` before calling
 * chronik_wal_stats_get(); fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_wal_stats {
	/** Set by the caller to CHRONIK_WAL_STATS_VERSION. */
	unsigned int version;
	/** Records appended (accepted). */
	uint64_t records;
	/** Payload bytes appended. */
	uint64_t bytes;
	/** Bytes written to segment files (frames included). */
	uint64_t bytes_written;
	/** Writes of queued records (each covered by a later sync unless
	 * SYNC_NONE; one sync may cover several). */
	uint64_t batches;
	/** Syncs performed. */
	uint64_t syncs;
	/** Largest number of records in one batch. */
	uint64_t batch_records_max;
	/** Batches by record count: bucket i counts batches of
	 * [2^i, 2^(i+1)) records. */
	uint64_t batch_records_hist[CHRONIK_WAL_HIST_BUCKETS];
	/** Total time spent in sync calls, nanoseconds. */
	uint64_t sync_ns_total;
	/** Longest sync, nanoseconds. */
	uint64_t sync_ns_max;
	/** Syncs by duration: bucket i counts syncs of
	 * [2^i, 2^(i+1)) microseconds (bucket 0 also holds < 1 us). */
	uint64_t sync_us_hist[CHRONIK_WAL_HIST_BUCKETS];
	/** Segment files created and deleted. */
	uint64_t segments_created;
	/** Segment files deleted by checkpoints. */
	uint64_t segments_deleted;
	/** Current segment count. */
	uint64_t segments;
	/** Bytes queued in memory, not yet written. */
	uint64_t queued_bytes;
	/** chronik_wal_durable_lsn() at the time of the call. */
	uint64_t durable_lsn;
	/** chronik_wal_next_lsn() at the time of the call. */
	uint64_t next_lsn;
} chronik_wal_stats;

/**
 * Copy the handle's counters.
 * @param[out] out counters; out->version must be set by the caller.
 * @param w        the handle.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION for an unknown out->version.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_stats_get(chronik_wal_stats *out,
					  chronik_wal *w);

/** Current version of chronik_wal_recovery. @since 0.1 */
#define CHRONIK_WAL_RECOVERY_VERSION 1

/**
 * What recovery found when the handle was opened. The caller sets
 * `version`; fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_wal_recovery {
	/** Set by the caller to CHRONIK_WAL_RECOVERY_VERSION. */
	unsigned int version;
	/** Segment files scanned. */
	uint64_t segments;
	/** Valid records found. */
	uint64_t records;
	/** Payload bytes of those records. */
	uint64_t bytes;
	/** First and last valid LSN found (0 if none). */
	uint64_t first_lsn;
	/** Last valid LSN found: the durable end. */
	uint64_t last_lsn;
	/** Non-zero bytes of a torn tail that were cleared. */
	uint64_t torn_bytes;
	/** 1 if mid-log corruption was found (refused or salvaged). */
	int corrupt;
	/** LSN expected at the corruption. */
	uint64_t corrupt_lsn;
	/** Byte offset of the corruption inside corrupt_file. */
	uint64_t corrupt_offset;
	/** Path of the corrupt segment; borrowed from the handle, valid until
	 * close; NULL if none. */
	const char *corrupt_file;
	/** With CHRONIK_WAL_OPEN_SALVAGE: bytes dropped (from the corruption
	 * to the old end, later segments included). */
	uint64_t lost_bytes;
	/** With CHRONIK_WAL_OPEN_SALVAGE: whole segment files removed. */
	uint64_t lost_segments;
	/** With CHRONIK_WAL_OPEN_SALVAGE: highest LSN seen beyond the
	 * corruption (so LSNs corrupt_lsn..lost_last_lsn were lost); 0 if
	 * unknown. */
	uint64_t lost_last_lsn;
	/** Time spent recovering, nanoseconds. */
	uint64_t elapsed_ns;
} chronik_wal_recovery;

/**
 * Copy the recovery report of this handle's open.
 * @param[out] out report; out->version must be set by the caller.
 * @param w        the handle (also one returned by a failed open).
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION for an unknown out->version.
 * Thread-safe. @since 0.1
 */
CHRONIK_WAL_API int chronik_wal_recovery_get(chronik_wal_recovery *out,
					     const chronik_wal *w);

/**
 * ABI version of the loaded library, packed as CHRONIK_WAL_VERSION.
 * Thread-safe.
 * @return the packed version.
 * @since 0.1
 */
CHRONIK_WAL_API unsigned int chronik_wal_version(void);

/**
 * ABI version of the loaded library as "MAJOR.MINOR.PATCH".
 * @return a static string; never NULL. Thread-safe.
 * @since 0.1
 */
CHRONIK_WAL_API const char *chronik_wal_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_WAL_H */
