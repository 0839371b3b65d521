/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file storage.h
 * @brief libchronik-storage public API: Kafka partition logs on disk built
 *        on libchronik-wal, plus the metadata store (storage_meta.h) and
 *        the object-store backend interface (storage_object.h).
 * @since 0.1
 */
#ifndef CHRONIK_STORAGE_H
#define CHRONIK_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>
#include <chronik/storage_version.h>

#ifndef CHRONIK_STORAGE_API
/** Marks a declaration exported from libchronik-storage. */
#define CHRONIK_STORAGE_API CHRONIK_EXPORT_
#endif

#include <chronik/storage_meta.h>
#include <chronik/storage_object.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ABI version of the loaded library, packed as CHRONIK_STORAGE_VERSION.
 * Thread-safe.
 * @return the packed version.
 * @since 0.1
 */
CHRONIK_STORAGE_API unsigned int chronik_storage_version(void);

/**
 * ABI version of the loaded library as "MAJOR.MINOR.PATCH".
 * @return a static string; never NULL. Thread-safe.
 * @since 0.1
 */
CHRONIK_STORAGE_API const char *chronik_storage_version_string(void);

/* --- partition logs --- */

/*
 * Partition logs (issue 4). A chronik_storage handle owns a data directory:
 * data/wal/ holds one libchronik-wal log shared by every partition and
 * data/topics/<topic>-<partition>/ holds each partition's segment files
 * (<20-digit base offset>.log with record batches exactly as on the wire,
 * plus .index and .timeindex). See docs/storage.md.
 *
 * Produce path: chronik_storage_append() validates a batch, assigns its
 * offsets by rewriting the base offset, and appends it to the WAL. Once the
 * WAL record is durable the batch becomes visible (the high watermark
 * moves) and the completion is reported (callback, chronik_storage_wait()
 * or the eventfd of chronik_storage_event_fd()). A background writer
 * thread then copies the batch into the partition's active segment; a
 * background cleaner applies retention and compaction.
 *
 * Thread-safety: every function taking a chronik_storage or a
 * chronik_storage_partition may be called from any thread at any time,
 * except chronik_storage_close(), which must be the last call and must not
 * run concurrently with any other call on the handle or its partitions.
 */

/** An open storage directory (opaque). @since 0.1 */
typedef struct chronik_storage chronik_storage;

/** One partition log inside a chronik_storage (opaque, owned by the
 * storage handle). @since 0.1 */
typedef struct chronik_storage_partition chronik_storage_partition;

/** cleanup.policy bits: delete old segments by time/size. @since 0.1 */
#define CHRONIK_STORAGE_CLEANUP_DELETE 0x1u
/** cleanup.policy bits: keep the newest record per key. @since 0.1 */
#define CHRONIK_STORAGE_CLEANUP_COMPACT 0x2u

/** message.timestamp.type values. @since 0.1 */
enum chronik_storage_timestamp_type {
	/** Keep the producer's timestamps (CreateTime). */
	CHRONIK_STORAGE_TIMESTAMP_CREATE_TIME = 0,
	/** Stamp batches with the broker's clock (LogAppendTime). */
	CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME = 1
};

/** Current version of chronik_storage_topic_config. @since 0.1 */
#define CHRONIK_STORAGE_TOPIC_CONFIG_VERSION 1

/**
 * Per-topic configuration, passed by the caller (the metadata store keeps
 * the topic definitions). Initialise with
 * chronik_storage_topic_config_init(); fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_storage_topic_config {
	/** Must be CHRONIK_STORAGE_TOPIC_CONFIG_VERSION (or older). */
	unsigned int version;
	/** retention.ms: delete segments whose newest timestamp is older;
	 * -1 keeps them forever. Default 7 days. */
	int64_t retention_ms;
	/** retention.bytes: delete the oldest segments while the log is
	 * larger; -1 means no limit (default). */
	int64_t retention_bytes;
	/** segment.bytes: roll the active segment at this size. Default
	 * 1 GiB; 4 KiB .. 2 GiB - 1. */
	uint64_t segment_bytes;
	/** segment.ms: roll the active segment when its first batch is
	 * older than this (checked on append). Default 7 days. */
	int64_t segment_ms;
	/** cleanup.policy: CHRONIK_STORAGE_CLEANUP_* bits (default
	 * DELETE; COMPACT|DELETE is "compact,delete"). */
	unsigned int cleanup_policy;
	/** delete.retention.ms: how long compaction keeps tombstones,
	 * measured from the tombstone's timestamp. Default 1 day. */
	int64_t delete_retention_ms;
	/** max.message.bytes: largest batch accepted. Default 1 MiB. */
	uint32_t max_message_bytes;
	/** message.timestamp.type (chronik_storage_timestamp_type). */
	int message_timestamp_type;
	/** index.interval.bytes: bytes of log between two index entries.
	 * Default 4096. */
	uint32_t index_interval_bytes;
} chronik_storage_topic_config;

/**
 * Fill @p cfg with Kafka's defaults for the given struct version.
 * @param[out] cfg  the struct to fill.
 * @param version   CHRONIK_STORAGE_TOPIC_CONFIG_VERSION.
 * @return 0; CHRONIK_EARG (NULL); CHRONIK_EVERSION (unknown version).
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_topic_config_init(
	chronik_storage_topic_config *cfg, unsigned int version);

/**
 * Log callback for recovery progress, repairs and background failures.
 * @param level    0 error, 1 warning, 2 info.
 * @param msg      one line without newline, valid during the call only.
 * @param userdata chronik_storage_options::userdata.
 * Called from the thread calling chronik_storage_open() or from the
 * storage's background threads; must not call back into the storage.
 * @since 0.1
 */
typedef void (*chronik_storage_log_cb)(int level, const char *msg,
				       void *userdata);

/**
 * Completion of one chronik_storage_append(), called exactly once from one
 * of the WAL's threads (never from the appending thread during the append),
 * except the early completion of a batch appended with
 * CHRONIK_STORAGE_APPEND_WRITTEN: it may also come from a thread in
 * chronik_storage_append_flush() (before that returns).
 * @param p           the partition.
 * @param base_offset offset assigned to the batch's first record.
 * @param status      0 once durable and visible to readers (with
 *                    CHRONIK_STORAGE_APPEND_WRITTEN: once written to the
 *                    WAL, before it is durable and readable); negative
 *                    (-EIO, CHRONIK_EFAILED, CHRONIK_ECLOSED, ...) if the
 *                    batch will never be acknowledged.
 * @param userdata    the pointer given to chronik_storage_append().
 * Must not block for long and must not call chronik_storage_close() or
 * chronik_storage_wait(); it may append.
 * @since 0.1
 */
typedef void (*chronik_storage_append_cb)(chronik_storage_partition *p,
					  int64_t base_offset, int status,
					  void *userdata);

/** Current version of chronik_storage_options (version 1 lacks
 * tail_max_bytes and is still accepted). @since 0.1 */
#define CHRONIK_STORAGE_OPTIONS_VERSION 2

/**
 * Options for chronik_storage_open(). Initialise with
 * chronik_storage_options_init(); fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_storage_options {
	/** Must be CHRONIK_STORAGE_OPTIONS_VERSION (or older). */
	unsigned int version;
	/** WAL group-commit profile: a chronik_wal_profile value
	 * (default 1, medium). */
	int wal_profile;
	/** WAL durability: a chronik_wal_sync_mode value (default 0,
	 * fdatasync). 2 (no sync) survives process crashes only. */
	int wal_sync_mode;
	/** WAL segment size; 0 for the WAL's default (64 MiB). */
	uint64_t wal_segment_size;
	/** Optional log sink; may be NULL. */
	chronik_storage_log_cb log;
	/** Passed to log. */
	void *userdata;
	/** How often the cleaner checks retention and compaction, ms;
	 * 0 means 5000 (Kafka's log.retention.check.interval is 5 min). */
	unsigned int retention_check_ms;
	/** How often the segment writer syncs segments and checkpoints
	 * the WAL, ms; 0 means 1000. */
	unsigned int flush_interval_ms;
	/** Memory cap of the compaction key map (16 bytes per key);
	 * 0 means 16 MiB. Larger logs are cleaned in several passes. */
	size_t cleaner_map_bytes;
	/** Sync segment files (fdatasync) before checkpointing the WAL
	 * (default 1). 0 only for tests and benchmarks. */
	int sync_segments;
	/** Memory cap of the in-memory tail (batches appended but not yet
	 * copied into a segment by the writer), in bytes, over all
	 * partitions; 0 means 256 MiB. When it is reached,
	 * chronik_storage_append() waits until the writer has caught up;
	 * appends from a completion callback never wait (they may exceed
	 * the cap), and a batch larger than the cap is taken when the tail
	 * is empty. Options version 2. */
	size_t tail_max_bytes;
} chronik_storage_options;

/**
 * Initialise @p opts with defaults for the given options version.
 * @param[out] opts the struct to fill.
 * @param version   CHRONIK_STORAGE_OPTIONS_VERSION (or 1, for the
 *                  shorter version-1 struct).
 * @return 0; CHRONIK_EARG (NULL); CHRONIK_EVERSION (unknown version).
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_options_init(
	chronik_storage_options *opts, unsigned int version);

/**
 * Open (creating if needed) a storage directory and recover it: open the
 * WAL in dir/wal, open every partition under dir/topics (finish a
 * compaction swap a crash cut short; check by CRC the batches after the
 * partition's recovery point, or the whole active segment without a
 * usable one, and truncate a torn tail; rebuild missing or inconsistent
 * indexes), replay the WAL past its checkpoint into the segments and
 * restore the high watermarks. Progress is reported through opts->log.
 * Then the writer and cleaner threads start.
 *
 * Recovered partitions use the default topic configuration until
 * chronik_storage_partition_open() gives theirs.
 *
 * @param[out] out the handle, owned by the caller, released with
 *                 chronik_storage_close(); NULL on failure.
 * @param dir      data directory (created, one level, if missing);
 *                 copied.
 * @param opts     options or NULL for the defaults; not referenced after
 *                 the call.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION (options or on-disk format);
 *         CHRONIK_ECORRUPT (a segment that cannot be repaired safely or
 *         mid-log WAL corruption; the message names the file and offset
 *         and is passed to opts->log); -EWOULDBLOCK (another process has
 *         the WAL open); -ENOMEM; other -errno.
 * Thread-safe (distinct directories). @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_open(
	chronik_storage **out, const char *dir,
	const chronik_storage_options *opts);

/**
 * Stop the background threads after the segment writer has applied
 * everything committed, sync the segments, checkpoint the WAL and free
 * the handle and all its partitions.
 * @param s the handle, or NULL (no-op). Invalid after the call.
 * @return 0, or the first error met while flushing (the handle is freed
 *         anyway).
 * Must be the last call on the handle and its partitions. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_close(chronik_storage *s);

/**
 * Detail text of the last failure on this handle (file names, offsets).
 * @param s the handle or NULL.
 * @return text owned by the handle, "" if none; valid until the next
 *         failing call or close. Thread-safe to call, but concurrent
 *         failures may overwrite it. @since 0.1
 */
CHRONIK_STORAGE_API const char *chronik_storage_last_error(
	const chronik_storage *s);

/**
 * A non-blocking eventfd that becomes readable whenever some partition's
 * high watermark advances (after the completions of that commit ran) or
 * the storage fails. Read 8 bytes to reset it. Owned by the handle; valid
 * until chronik_storage_close(). For event loops (libuv uv_poll, epoll).
 * @param s the handle.
 * @return the fd. Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_event_fd(const chronik_storage *s);

/**
 * Open a partition log, creating its directory if it does not exist, and
 * set (or replace) its topic configuration.
 *
 * @param[out] out the partition, owned by the storage handle: valid until
 *                 chronik_storage_close(). Opening it again returns the
 *                 same pointer.
 * @param s         the handle.
 * @param topic     topic name (1..249 chars of [a-zA-Z0-9._-]).
 * @param partition partition index (>= 0).
 * @param cfg       configuration (copied), or NULL for the defaults.
 * @return 0; CHRONIK_EARG (bad name, partition or config);
 *         CHRONIK_EVERSION (config version); -ENOMEM; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_partition_open(
	chronik_storage_partition **out, chronik_storage *s,
	const char *topic, int32_t partition,
	const chronik_storage_topic_config *cfg);

/**
 * Delete a partition log: its data becomes unreachable durably before
 * the call returns, and its files are removed in the background.
 *
 * Appends to it are refused from the start of the call
 * (CHRONIK_ECLOSED); appends in flight are waited for; then its
 * directory is renamed to `<topic>-<partition>.<random id>-delete` and
 * the parent directory is synced. From then on a restart neither opens
 * it nor replays its WAL records (a record of a partition without a
 * directory is skipped, and a partition created again under the same
 * name records in its directory the LSN it was created at, so older
 * records are skipped too). The cleaner thread removes the renamed
 * directory; one left by a crash or a close is removed at the next open.
 *
 * The partition pointer must not be used after the call (the handle
 * keeps the struct until chronik_storage_close(), so a thread that still
 * holds it meets CHRONIK_ECLOSED or empty reads rather than freed
 * memory). chronik_storage_partition_open() of the same name afterwards
 * creates a new, empty partition.
 *
 * @param s         the handle.
 * @param topic     topic name.
 * @param partition partition index.
 * @return 0; CHRONIK_ENOTFOUND (no such partition); CHRONIK_EAGAIN
 *         (another thread is deleting it); CHRONIK_EARG; CHRONIK_ECLOSED;
 *         CHRONIK_EFAILED (the rename could not be made durable); -errno
 *         (the rename failed: nothing changed).
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_partition_delete(
	chronik_storage *s, const char *topic, int32_t partition);

struct chronik_wal_stats;

/**
 * Statistics of the storage's write-ahead log (group commits, syncs,
 * records per write batch, sync latencies): chronik_wal_stats_get() on
 * the WAL the storage owns. Include chronik/wal.h for the struct.
 * @param[out] out the counters; out->version must be set by the caller
 *                 (CHRONIK_WAL_STATS_VERSION).
 * @param s        the handle.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION (unknown out->version).
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_wal_stats(
	struct chronik_wal_stats *out, chronik_storage *s);

/**
 * Replace a partition's topic configuration at run time (new segment
 * sizes apply to the next roll; retention to the next cleaner round).
 * @param p   the partition.
 * @param cfg the new configuration (copied).
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION. Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_partition_set_config(
	chronik_storage_partition *p, const chronik_storage_topic_config *cfg);

/** chronik_storage_append() flag: accept control batches (transaction
 * markers written by the broker itself). @since 0.1 */
#define CHRONIK_STORAGE_APPEND_CONTROL 0x1u
/** chronik_storage_append() flag: complete once the batch is written to
 * the WAL file rather than once it is durable: the operating system has
 * it (a crash of the process keeps it; a crash of the machine or a power
 * loss may not). It still becomes readable only when durable, and if the
 * WAL fails before that, the callback does not run again. This is Kafka's
 * acks=1 (the leader has it in its log). @since 0.2 */
#define CHRONIK_STORAGE_APPEND_WRITTEN 0x2u
/** chronik_storage_append() flag: hand the batch to the WAL without
 * waking its writer thread (CHRONIK_WAL_APPEND_DEFER); the caller promises
 * to call chronik_storage_append_flush() soon, e.g. once per event-loop
 * iteration. @since 0.3 */
#define CHRONIK_STORAGE_APPEND_DEFER 0x4u

/**
 * Append one record batch (magic 2) to a partition.
 *
 * The batch is validated (structure, CRC-32C, every record,
 * max.message.bytes), given the next offsets by rewriting its baseOffset
 * (and, for LogAppendTime topics, its maxTimestamp and CRC), copied, and
 * appended to the WAL. It becomes readable when the WAL record is
 * durable, and then @p cb runs. Offsets are assigned in call order per
 * partition and are never reused for acknowledged data, even across
 * crashes.
 *
 * @param[out] base_offset_out optional; the offset given to the first
 *                 record (known at once, acknowledged later).
 * @param p        the partition.
 * @param batch    one record batch; not referenced after the call.
 * @param len      its exact length.
 * @param flags    0, or any of CHRONIK_STORAGE_APPEND_CONTROL,
 *                 CHRONIK_STORAGE_APPEND_WRITTEN and
 *                 CHRONIK_STORAGE_APPEND_DEFER.
 * @param cb       optional completion; runs exactly once iff the call
 *                 returns 0.
 * @param userdata passed to @p cb.
 * @return 0; CHRONIK_EARG (NULL, or an unknown flag); CHRONIK_ETRUNCATED,
 *         CHRONIK_EMALFORMED, CHRONIK_ECRC,
 *         CHRONIK_EUNSUPPORTED, CHRONIK_ECODEC (invalid batch; detail in
 *         chronik_storage_last_error()); CHRONIK_ETOOBIG (over
 *         max.message.bytes); CHRONIK_EFAILED (the storage failed);
 *         CHRONIK_ECLOSED; -ENOMEM.
 * Thread-safe. May block while the WAL's in-memory queue is full or the
 * in-memory tail is at chronik_storage_options::tail_max_bytes (not when
 * called from a completion callback).
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_append(
	int64_t *base_offset_out, chronik_storage_partition *p,
	const void *batch, size_t len, unsigned int flags,
	chronik_storage_append_cb cb, void *userdata);

/**
 * Write the batches appended so far to the WAL file now: in the calling
 * thread when the WAL's writer is idle (chronik_wal_flush()), else by
 * waking the writer. For a caller that appended with
 * CHRONIK_STORAGE_APPEND_DEFER; with CHRONIK_STORAGE_APPEND_WRITTEN their
 * early completions (and those of other such batches written with them)
 * then run in this thread before it returns, so the caller must not hold
 * a lock its callbacks take. The event fd is written after them as usual.
 * For an event loop answering Kafka acks=1: defer the appends of one loop
 * iteration, flush once at its end; no thread wake-up on the way to the
 * answers, one write for all of them.
 * @param s the handle.
 * @return 0; CHRONIK_EARG.
 * Thread-safe. @since 0.3
 */
CHRONIK_STORAGE_API int chronik_storage_append_flush(chronik_storage *s);

/**
 * Wait until every offset below @p offset is durable and visible
 * (high watermark >= @p offset).
 * @param p          the partition.
 * @param offset     e.g. base offset + record count of an append.
 * @param timeout_ms maximum wait; negative waits forever, 0 only checks.
 * @return 0; -ETIMEDOUT; the storage's failure code; CHRONIK_ECLOSED.
 * Thread-safe; not from a completion callback. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_wait(chronik_storage_partition *p,
					     int64_t offset, int timeout_ms);

/** Offsets of a partition (plain value struct). @since 0.1 */
typedef struct chronik_storage_offsets {
	/** First offset still readable (DeleteRecords, retention). */
	int64_t log_start_offset;
	/** Offset after the last durable, visible record. */
	int64_t high_watermark;
	/** Last stable offset: equal to high_watermark until transactions
	 * land. */
	int64_t last_stable_offset;
	/** Next offset to be assigned (includes appends not yet durable). */
	int64_t log_end_offset;
	/** Total bytes of the partition's segment files. */
	uint64_t size_bytes;
	/** Number of segment files. */
	uint32_t segments;
} chronik_storage_offsets;

/**
 * Current offsets of a partition.
 * @param[out] out the offsets.
 * @param p        the partition.
 * @return 0; CHRONIK_EARG. Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_partition_offsets(
	chronik_storage_offsets *out, chronik_storage_partition *p);

/**
 * The partition's high watermark alone (the high_watermark of
 * chronik_storage_partition_offsets()), read without taking the
 * partition's lock: for callers that poll it often, e.g. an event loop
 * checking parked fetches after every completion, which must not wait
 * while the segment writer holds that lock to write.
 * @param p the partition.
 * @return the high watermark; CHRONIK_EARG for NULL.
 * Thread-safe, lock-free. @since 0.4
 */
CHRONIK_STORAGE_API int64_t chronik_storage_partition_high_watermark(
	const chronik_storage_partition *p);

/**
 * Result of chronik_storage_read(): either a file range (fd >= 0, for
 * sendfile) or bytes copied into the caller's buffer (fd == -1). Plain
 * value struct. @since 0.1
 */
typedef struct chronik_storage_slice {
	/** A dup()ed descriptor of a segment file, owned by the caller
	 * (close it), or -1 when the data was copied into the buffer. */
	int fd;
	/** Byte position of the first batch in the file (fd >= 0). */
	uint64_t file_position;
	/** Bytes of whole batches returned (0 at the high watermark). */
	size_t length;
	/** Offset to ask for next (after the last batch returned). */
	int64_t next_offset;
	/** High watermark when the read ran. */
	int64_t high_watermark;
	/** Log start offset when the read ran. */
	int64_t log_start_offset;
	/** Last stable offset when the read ran. */
	int64_t last_stable_offset;
} chronik_storage_slice;

/**
 * Read whole record batches starting with the one that holds @p offset.
 *
 * Data already in segment files is returned as a file range of one
 * segment (send it with sendfile(), then close out->fd); the newest data,
 * not yet in a segment, is copied into @p buf (never waiting for the
 * segment writer). At most @p max_bytes are returned, except that the
 * first batch is always returned whole, like Kafka (KIP-74), if it fits
 * @p buf (copies) or in any case (file ranges). Only batches below the
 * high watermark are returned. Call again with out->next_offset for more.
 *
 * @param[out] out the result.
 * @param p         the partition.
 * @param offset    first offset wanted.
 * @param max_bytes byte budget.
 * @param buf       buffer for in-memory data, or NULL.
 * @param buf_cap   its size.
 * @return 0 (out->length may be 0 at the high watermark);
 *         CHRONIK_ENOTFOUND (offset below the log start offset or above
 *         the high watermark: Kafka's OFFSET_OUT_OF_RANGE);
 *         CHRONIK_EAGAIN (the data is only in memory and @p buf is NULL
 *         or smaller than the first batch; out->length gives the size
 *         needed); CHRONIK_ECORRUPT (a segment does not parse; the
 *         detail names the file and position); -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_read(chronik_storage_slice *out,
					     chronik_storage_partition *p,
					     int64_t offset, size_t max_bytes,
					     void *buf, size_t buf_cap);

/** chronik_storage_lookup_time(): ListOffsets "latest" (-1). */
#define CHRONIK_STORAGE_TIME_LATEST ((int64_t)-1)
/** chronik_storage_lookup_time(): ListOffsets "earliest" (-2). */
#define CHRONIK_STORAGE_TIME_EARLIEST ((int64_t)-2)
/** chronik_storage_lookup_time(): ListOffsets "max timestamp" (-3). */
#define CHRONIK_STORAGE_TIME_MAX_TIMESTAMP ((int64_t)-3)

/**
 * ListOffsets: find the first offset whose record timestamp is >=
 * @p timestamp, or one of the special CHRONIK_STORAGE_TIME_* values.
 *
 * @param[out] offset_out    the offset; -1 when no record is that new
 *                           (Kafka's UNKNOWN_OFFSET) or, with
 *                           MAX_TIMESTAMP, when the log is empty.
 * @param[out] timestamp_out optional; the record's timestamp (-1 for
 *                           EARLIEST/LATEST).
 * @param p         the partition.
 * @param timestamp ms since the epoch, or CHRONIK_STORAGE_TIME_*.
 * @return 0; CHRONIK_EARG; CHRONIK_ECORRUPT; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_lookup_time(
	int64_t *offset_out, int64_t *timestamp_out,
	chronik_storage_partition *p, int64_t timestamp);

/**
 * DeleteRecords: advance the log start offset to @p offset durably
 * (stored in the partition directory before the call returns); whole
 * segments below it are deleted by the cleaner.
 * @param p      the partition.
 * @param offset new log start offset, at most the high watermark; a
 *               lower value than the current one is a no-op.
 * @return 0; CHRONIK_ENOTFOUND (above the high watermark); -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_delete_records(
	chronik_storage_partition *p, int64_t offset);

/**
 * Truncate the log to @p offset: remove every batch at or above it (for
 * replication: a follower dropping an unacknowledged suffix). The
 * truncation is logged in the WAL first, so it survives a crash. Waits
 * for appends in flight on this partition to complete first.
 * @param p      the partition.
 * @param offset new log end offset; rounded down to a batch boundary;
 *               not below the log start offset.
 * @return 0; CHRONIK_EARG; CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_truncate(
	chronik_storage_partition *p, int64_t offset);

/**
 * Run retention and compaction for every partition now, in the calling
 * thread, instead of waiting for the cleaner's next round (tests, admin).
 * @param s the handle.
 * @return 0 or the first error. Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_run_cleaner(chronik_storage *s);

/**
 * Wait until the segment writer has copied everything durable into the
 * segments, then sync them and checkpoint the WAL.
 * @param s the handle.
 * @return 0 or -errno / CHRONIK_EFAILED. Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_flush(chronik_storage *s);

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_STORAGE_H */
