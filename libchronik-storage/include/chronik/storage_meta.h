/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file storage_meta.h
 * @brief Broker metadata store: topics, configs, group offsets and state,
 *        producer ids and producer state, log start offsets. Included by
 *        chronik/storage.h.
 *
 * The store lives in one directory (by default `data/meta/`). Every
 * mutation is appended to a metadata log (a libchronik-wal instance in
 * `<dir>/wal`) as one CRC-32C-checked record; snapshots of the whole state
 * (`<dir>/snapshot-<lsn>.meta`) are written now and then with write-temp,
 * fsync, rename and a directory fsync. Opening the store loads the newest
 * valid snapshot (falling back to an older one if it is corrupt) and
 * replays the log after it. See docs/metadata.md for the API tour and
 * docs/formats.md ("Metadata store") for the file formats.
 *
 * Durability: a synchronous mutation returns only once its log record is
 * durable (group commit: concurrent callers share one fsync). A batch
 * (chronik_storage_meta_batch) applies many mutations atomically with one
 * record and one fsync; chronik_storage_meta_batch_commit_async() reports
 * durability through a callback, for event loops that must not block.
 *
 * Visibility: a mutation is visible to readers as soon as it is accepted,
 * before it is durable. A crash may lose an accepted mutation whose call
 * had not yet returned (or whose callback had not yet run), never an
 * acknowledged one.
 *
 * Errors: 0 (or a count) on success, negative on failure: -errno for
 * system failures, chronik_error codes from chronik/common.h otherwise.
 * chronik_storage_meta_last_error() gives detail text per handle.
 *
 * Thread-safety: every function taking a chronik_storage_meta may be
 * called from any number of threads at once (a mutex inside the handle
 * serialises them), except chronik_storage_meta_close(), which must be the
 * last call. Iteration callbacks run with that mutex held and must not call
 * back into the store. A chronik_storage_meta_batch is used by one thread
 * at a time.
 * @since 0.1
 */
#ifndef CHRONIK_STORAGE_META_H
#define CHRONIK_STORAGE_META_H

#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>

#ifndef CHRONIK_STORAGE_API
/** Marks a declaration exported from libchronik-storage. */
#define CHRONIK_STORAGE_API CHRONIK_EXPORT_
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** An open metadata store (opaque). @since 0.1 */
typedef struct chronik_storage_meta chronik_storage_meta;

/** A set of mutations committed atomically (opaque). @since 0.1 */
typedef struct chronik_storage_meta_batch chronik_storage_meta_batch;

/** Longest topic or group name and transactional id, in bytes.
 * @since 0.1 */
#define CHRONIK_STORAGE_META_MAX_NAME 4096
/** Largest opaque blob (group state, producer state), in bytes.
 * @since 0.1 */
#define CHRONIK_STORAGE_META_MAX_BLOB ((size_t)8 * 1024 * 1024)

/** chronik_storage_meta_options::flags: never fsync; mutations survive a
 * process crash but not a machine crash. For tests. @since 0.1 */
#define CHRONIK_STORAGE_META_NO_SYNC 0x1u
/** chronik_storage_meta_options::flags: fail with CHRONIK_ENOTFOUND if
 * the directory holds no store instead of creating one. @since 0.1 */
#define CHRONIK_STORAGE_META_NO_CREATE 0x2u
/** chronik_storage_meta_options::flags: if the metadata log is corrupt in
 * the middle, drop everything from the corruption on instead of failing
 * (what was lost is logged). @since 0.1 */
#define CHRONIK_STORAGE_META_SALVAGE 0x4u

/**
 * Log callback for recovery reports (snapshot fallbacks, salvage) and
 * failures; one line without newline.
 * @param level    0 error, 1 warning, 2 info.
 * @param msg      NUL-terminated text, valid during the call only.
 * @param userdata chronik_storage_meta_options::userdata.
 * Called from the thread calling into the store (or the WAL's writer
 * thread). @since 0.1
 */
typedef void (*chronik_storage_meta_log_cb)(int level, const char *msg,
					    void *userdata);

/** Current version of chronik_storage_meta_options. @since 0.1 */
#define CHRONIK_STORAGE_META_OPTIONS_VERSION 1

/**
 * Options for chronik_storage_meta_open(). Initialise with
 * CHRONIK_STORAGE_META_OPTIONS_INIT or chronik_storage_meta_options_init();
 * fields may only ever be appended.
 * @since 0.1
 */
typedef struct chronik_storage_meta_options {
	/** Must be CHRONIK_STORAGE_META_OPTIONS_VERSION (or older). */
	unsigned int version;
	/** Directory of the store (e.g. "data/meta"); created (one level) if
	 * missing. Required; copied. */
	const char *dir;
	/** CHRONIK_STORAGE_META_* flags. */
	unsigned int flags;
	/** Log bytes written since the last snapshot after which a
	 * synchronous mutation also writes a new snapshot; 0 means 8 MiB. */
	uint64_t snapshot_log_bytes;
	/** Size of the metadata log's segment files; 0 means 4 MiB (at
	 * least 64 KiB). */
	uint64_t log_segment_size;
	/** Optional log sink; may be NULL. */
	chronik_storage_meta_log_cb log;
	/** Passed to @ref log. */
	void *userdata;
} chronik_storage_meta_options;

/** Static initialiser for chronik_storage_meta_options with every
 * default. @since 0.1 */
#define CHRONIK_STORAGE_META_OPTIONS_INIT \
	{ CHRONIK_STORAGE_META_OPTIONS_VERSION, NULL, 0, 0, 0, NULL, NULL }

/**
 * Initialise @p opts with defaults for the given options version.
 * @param[out] opts the struct to fill.
 * @param version   CHRONIK_STORAGE_META_OPTIONS_VERSION as the caller
 *                  knows it.
 * @return 0; CHRONIK_EARG if @p opts is NULL; CHRONIK_EVERSION for an
 *         unknown version.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_options_init(
	chronik_storage_meta_options *opts, unsigned int version);

/**
 * Open (creating if needed) the store in opts->dir and recover it: load
 * the newest valid snapshot, then replay the metadata log after it.
 *
 * A snapshot that fails verification is skipped (with a warning naming the
 * file and offset) in favour of the previous one; the log is kept long
 * enough to replay from it. One process at a time may open a directory.
 *
 * @param[out] out the new handle, owned by the caller and released with
 *                 chronik_storage_meta_close(); NULL on failure.
 * @param opts     options; not referenced after the call.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION (options or an on-disk format
 *         this library does not know); CHRONIK_ECORRUPT (the log is
 *         corrupt, or no usable snapshot/log combination exists: the file
 *         and offset are in @p err_out); CHRONIK_ENOTFOUND (NO_CREATE and
 *         no store); -EWOULDBLOCK (another process holds the directory);
 *         -ENOMEM; other -errno.
 * @param err_out  optional; on failure receives a malloc'd description of
 *                 the error (free with chronik_storage_meta_free()),
 *                 since no handle exists to ask; NULL on success.
 * Thread-safe (distinct directories). @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_open(
	chronik_storage_meta **out, const chronik_storage_meta_options *opts,
	char **err_out);

/**
 * Close the store: wait for pending mutations to become durable, run
 * pending callbacks, free the handle. Does not write a snapshot.
 * @param meta the handle, or NULL (no-op). Invalid after the call.
 * @return 0, or the error that left the metadata log failed (the handle is
 *         freed anyway).
 * Must not run concurrently with other calls on @p meta, nor from a
 * callback. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_close(chronik_storage_meta *meta);

/**
 * Detail text of the last error on this handle.
 * @param meta the handle, or NULL.
 * @return a string owned by the handle, "" if none; valid until the next
 *         failing call on the handle or close.
 * Thread-safe, but concurrent failures may overwrite the text.
 * @since 0.1
 */
CHRONIK_STORAGE_API const char *chronik_storage_meta_last_error(
	const chronik_storage_meta *meta);

/**
 * Free memory returned by this API (blobs, error strings). NULL is a no-op.
 * @param p the pointer.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API void chronik_storage_meta_free(void *p);

/**
 * Write a snapshot of the current state now (waiting for everything it
 * covers to be durable first), then let the log drop what the previous
 * snapshot no longer needs. The newest two snapshots are kept.
 * @param meta the handle.
 * @return 0; CHRONIK_EFAILED; -errno (details in last_error).
 * Thread-safe; blocks for the file writes; one snapshot at a time (a
 * concurrent call waits). @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_snapshot(
	chronik_storage_meta *meta);

/**
 * Current counters of a store.
 * @since 0.1
 */
typedef struct chronik_storage_meta_info {
	/** LSN of the last accepted mutation (0 if none ever). */
	uint64_t last_lsn;
	/** LSN covered by the newest snapshot (0 if none). */
	uint64_t snapshot_lsn;
	/** Log bytes appended since the newest snapshot. */
	uint64_t log_bytes_since_snapshot;
	/** Number of stored entries (topics, offsets, blobs, ...). */
	uint64_t entries;
	/** Snapshots skipped at open because they failed verification. */
	uint64_t snapshots_skipped;
	/** Log records replayed at open. */
	uint64_t records_replayed;
} chronik_storage_meta_info;

/**
 * Fill @p out with the store's counters.
 * @param[out] out counters.
 * @param meta     the handle.
 * @return 0; CHRONIK_EARG.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_info_get(
	chronik_storage_meta_info *out, chronik_storage_meta *meta);

/* ------------------------------------------------------------------ */
/* Topics                                                              */
/* ------------------------------------------------------------------ */

/** One topic configuration entry (both strings NUL-terminated).
 * @since 0.1 */
typedef struct chronik_storage_meta_config {
	/** Config name, e.g. "retention.ms". */
	const char *key;
	/** Value; NULL in chronik_storage_meta_topic_configs_alter() removes
	 * the key. */
	const char *value;
} chronik_storage_meta_config;

/**
 * A topic as stored. Returned by chronik_storage_meta_topic_get() (one
 * allocation, free with chronik_storage_meta_free()) and passed, borrowed,
 * to chronik_storage_meta_topic_foreach() callbacks. Fields may be
 * appended in later minor versions (the library always allocates it).
 * @since 0.1
 */
typedef struct chronik_storage_meta_topic {
	/** Topic name. */
	const char *name;
	/** 16-byte topic id (random UUID v4). */
	uint8_t id[16];
	/** Number of partitions. */
	int32_t partitions;
	/** Creation time, milliseconds since the Unix epoch. */
	int64_t created_ms;
	/** Non-zero once chronik_storage_meta_topic_mark_deleted() ran. */
	int deleted;
	/** Number of entries in @ref configs. */
	size_t nconfigs;
	/** Configs, sorted by key. */
	const chronik_storage_meta_config *configs;
} chronik_storage_meta_topic;

/**
 * Create a topic with a new random topic id.
 * @param[out] id_out optional; receives the 16-byte topic id.
 * @param meta       the handle.
 * @param name       topic name (1..CHRONIK_STORAGE_META_MAX_NAME bytes).
 * @param partitions partition count (>= 1).
 * @param configs    @p nconfigs entries (values must not be NULL);
 *                   duplicate keys: the last one wins.
 * @param nconfigs   number of configs.
 * @param created_ms creation time in ms since the epoch; 0 means now.
 * @return 0 once durable; CHRONIK_EEXIST (a live topic has that name; a
 *         topic marked deleted is replaced); CHRONIK_EARG; CHRONIK_ETOOBIG;
 *         CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_create(
	uint8_t id_out[16], chronik_storage_meta *meta, const char *name,
	int32_t partitions, const chronik_storage_meta_config *configs,
	size_t nconfigs, int64_t created_ms);

/**
 * Look a topic up by name (live or marked deleted).
 * @param[out] out the topic; free with chronik_storage_meta_free().
 * @param meta the handle.
 * @param name topic name.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -ENOMEM; CHRONIK_ECORRUPT.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_get(
	chronik_storage_meta_topic **out, chronik_storage_meta *meta,
	const char *name);

/**
 * Look a topic up by its id (linear in the number of topics).
 * @param[out] out the topic; free with chronik_storage_meta_free().
 * @param meta the handle.
 * @param id   16-byte topic id.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -ENOMEM.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_get_by_id(
	chronik_storage_meta_topic **out, chronik_storage_meta *meta,
	const uint8_t id[16]);

/**
 * Raise a live topic's partition count.
 * @param meta       the handle.
 * @param name       topic name.
 * @param partitions new count; must be greater than the current one.
 * @return 0 once durable; CHRONIK_ENOTFOUND (no live topic); CHRONIK_EARG
 *         (not an increase); CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_set_partitions(
	chronik_storage_meta *meta, const char *name, int32_t partitions);

/** chronik_storage_meta_topic_configs_alter() flag: replace the whole
 * config set by @p configs instead of merging. @since 0.1 */
#define CHRONIK_STORAGE_META_CONFIGS_REPLACE 0x1u

/**
 * Change a live topic's configs: set each key to its value, or remove it
 * when the value is NULL (merge mode); or replace the whole set.
 * @param meta     the handle.
 * @param name     topic name.
 * @param configs  @p nconfigs entries.
 * @param nconfigs number of entries.
 * @param flags    0 or CHRONIK_STORAGE_META_CONFIGS_REPLACE.
 * @return 0 once durable; CHRONIK_ENOTFOUND; CHRONIK_EARG; CHRONIK_ETOOBIG;
 *         CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_configs_alter(
	chronik_storage_meta *meta, const char *name,
	const chronik_storage_meta_config *configs, size_t nconfigs,
	unsigned int flags);

/**
 * Set the deleted marker of a topic (its data may then be removed; the
 * record stays until chronik_storage_meta_topic_purge()).
 * @param meta the handle.
 * @param name topic name.
 * @return 0 once durable (also if already marked); CHRONIK_ENOTFOUND;
 *         CHRONIK_EARG; CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_mark_deleted(
	chronik_storage_meta *meta, const char *name);

/**
 * Remove a topic record for good, together with its partitions' log start
 * offsets and producer states (group offsets are kept: they belong to the
 * groups).
 * @param meta the handle.
 * @param name topic name.
 * @return 0 once durable; CHRONIK_ENOTFOUND; CHRONIK_EARG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_purge(
	chronik_storage_meta *meta, const char *name);

/**
 * Iteration callback over topics.
 * @param topic    the topic; borrowed for the call.
 * @param userdata as given.
 * @return 0 to continue, non-zero to stop (then returned by foreach).
 * Runs with the store's mutex held: must not call into the store.
 * @since 0.1
 */
typedef int (*chronik_storage_meta_topic_cb)(
	const chronik_storage_meta_topic *topic, void *userdata);

/**
 * Call @p cb for every topic (live and marked deleted), in name order.
 * @param meta     the handle.
 * @param cb       callback.
 * @param userdata passed to @p cb.
 * @return 0; the callback's non-zero value; CHRONIK_EARG; -ENOMEM;
 *         CHRONIK_ECORRUPT.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_topic_foreach(
	chronik_storage_meta *meta, chronik_storage_meta_topic_cb cb,
	void *userdata);

/* ------------------------------------------------------------------ */
/* Consumer groups: committed offsets and opaque group state           */
/* ------------------------------------------------------------------ */

/** A committed offset (a plain value struct). @since 0.1 */
typedef struct chronik_storage_meta_offset {
	/** Committed offset. */
	int64_t offset;
	/** Leader epoch of the committed offset, -1 if unknown. */
	int32_t leader_epoch;
	/** Client metadata string; NULL means empty. Borrowed (input) or
	 * owned by the enclosing allocation (output). */
	const char *metadata;
	/** Commit time, ms since the epoch. */
	int64_t commit_ms;
	/** Expiry time, ms since the epoch; -1 for none. */
	int64_t expire_ms;
} chronik_storage_meta_offset;

/**
 * Store a committed offset for (group, topic, partition).
 * @param meta      the handle.
 * @param group     group id.
 * @param topic     topic name.
 * @param partition partition (>= 0).
 * @param value     the offset; copied.
 * @return 0 once durable; CHRONIK_EARG; CHRONIK_ETOOBIG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_offset_commit(
	chronik_storage_meta *meta, const char *group, const char *topic,
	int32_t partition, const chronik_storage_meta_offset *value);

/**
 * Read a committed offset.
 * @param[out] out the offset (one allocation with its metadata string;
 *                 free with chronik_storage_meta_free()).
 * @param meta      the handle.
 * @param group     group id.
 * @param topic     topic name.
 * @param partition partition.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -ENOMEM; CHRONIK_ECORRUPT.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_offset_fetch(
	chronik_storage_meta_offset **out, chronik_storage_meta *meta,
	const char *group, const char *topic, int32_t partition);

/**
 * Delete a committed offset.
 * @param meta      the handle.
 * @param group     group id.
 * @param topic     topic name.
 * @param partition partition.
 * @return 0 once durable; CHRONIK_ENOTFOUND; CHRONIK_EARG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_offset_delete(
	chronik_storage_meta *meta, const char *group, const char *topic,
	int32_t partition);

/**
 * Iteration callback over committed offsets.
 * @param group     group id (borrowed for the call).
 * @param topic     topic name (borrowed).
 * @param partition partition.
 * @param value     the offset (borrowed).
 * @param userdata  as given.
 * @return 0 to continue, non-zero to stop.
 * Runs with the store's mutex held: must not call into the store.
 * @since 0.1
 */
typedef int (*chronik_storage_meta_offset_cb)(
	const char *group, const char *topic, int32_t partition,
	const chronik_storage_meta_offset *value, void *userdata);

/**
 * Call @p cb for every committed offset of @p group (or of every group
 * when @p group is NULL), ordered by group, topic, partition.
 * @param meta     the handle.
 * @param group    group id or NULL.
 * @param cb       callback.
 * @param userdata passed to @p cb.
 * @return 0; the callback's non-zero value; CHRONIK_EARG; CHRONIK_ECORRUPT.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_offset_foreach(
	chronik_storage_meta *meta, const char *group,
	chronik_storage_meta_offset_cb cb, void *userdata);

/**
 * Store a group's state blob (defined by the group coordinator: protocol
 * type, generation, members, ...), replacing any previous one.
 * @param meta  the handle.
 * @param group group id.
 * @param blob  @p len bytes; copied.
 * @param len   at most CHRONIK_STORAGE_META_MAX_BLOB.
 * @return 0 once durable; CHRONIK_EARG; CHRONIK_ETOOBIG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_group_put(
	chronik_storage_meta *meta, const char *group, const void *blob,
	size_t len);

/**
 * Read a group's state blob.
 * @param[out] blob_out malloc'd copy (free with
 *                      chronik_storage_meta_free()); NULL if @p len_out
 *                      is 0.
 * @param[out] len_out  its length.
 * @param meta  the handle.
 * @param group group id.
 * @return 0; CHRONIK_ENOTFOUND (no state blob); CHRONIK_EARG; -ENOMEM.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_group_get(
	void **blob_out, size_t *len_out, chronik_storage_meta *meta,
	const char *group);

/**
 * Delete a group: its state blob and all its committed offsets.
 * @param meta  the handle.
 * @param group group id.
 * @return 0 once durable; CHRONIK_ENOTFOUND (neither blob nor offsets);
 *         CHRONIK_EARG; CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_group_delete(
	chronik_storage_meta *meta, const char *group);

/**
 * Iteration callback over groups.
 * @param group    group id (borrowed for the call).
 * @param blob     state blob, or NULL if the group only has offsets.
 * @param len      blob length.
 * @param userdata as given.
 * @return 0 to continue, non-zero to stop.
 * Runs with the store's mutex held: must not call into the store.
 * @since 0.1
 */
typedef int (*chronik_storage_meta_group_cb)(const char *group,
					     const void *blob, size_t len,
					     void *userdata);

/**
 * Call @p cb once for every group that has a state blob or committed
 * offsets, in group-id order.
 * @param meta     the handle.
 * @param cb       callback.
 * @param userdata passed to @p cb.
 * @return 0; the callback's non-zero value; CHRONIK_EARG.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_group_foreach(
	chronik_storage_meta *meta, chronik_storage_meta_group_cb cb,
	void *userdata);

/* ------------------------------------------------------------------ */
/* Producer ids, producer state, log start offsets                     */
/* ------------------------------------------------------------------ */

/**
 * Durably reserve @p count consecutive producer ids (a block for the
 * producer-id manager). Ids start at 0 and are never handed out twice,
 * also across crashes.
 * @param[out] first_out the first id of the block.
 * @param meta  the handle.
 * @param count block size (1 .. 2^20).
 * @return 0 once durable; CHRONIK_EARG; CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_producer_id_alloc(
	int64_t *first_out, chronik_storage_meta *meta, int32_t count);

/**
 * Store the sequence state of one producer on one partition (producer id,
 * epoch, last sequences/offsets of its last batches: a blob defined by the
 * produce path), replacing the previous one.
 * @param meta        the handle.
 * @param topic       topic name.
 * @param partition   partition (>= 0).
 * @param producer_id producer id (>= 0).
 * @param blob        @p len bytes; copied.
 * @param len         at most CHRONIK_STORAGE_META_MAX_BLOB.
 * @return 0 once durable; CHRONIK_EARG; CHRONIK_ETOOBIG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_put(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t producer_id, const void *blob, size_t len);

/**
 * Read one producer's state blob on one partition.
 * @param[out] blob_out malloc'd copy (free with
 *                      chronik_storage_meta_free()).
 * @param[out] len_out  its length.
 * @param meta        the handle.
 * @param topic       topic name.
 * @param partition   partition.
 * @param producer_id producer id.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -ENOMEM.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_get(
	void **blob_out, size_t *len_out, chronik_storage_meta *meta,
	const char *topic, int32_t partition, int64_t producer_id);

/**
 * Delete one producer's state on one partition (e.g. when it expires).
 * @param meta        the handle.
 * @param topic       topic name.
 * @param partition   partition.
 * @param producer_id producer id.
 * @return 0 once durable; CHRONIK_ENOTFOUND; CHRONIK_EARG; CHRONIK_EFAILED;
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_delete(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t producer_id);

/**
 * Iteration callback over producer states.
 * @param topic       topic name (borrowed for the call).
 * @param partition   partition.
 * @param producer_id producer id.
 * @param blob        state blob (borrowed).
 * @param len         blob length.
 * @param userdata    as given.
 * @return 0 to continue, non-zero to stop.
 * Runs with the store's mutex held: must not call into the store.
 * @since 0.1
 */
typedef int (*chronik_storage_meta_producer_cb)(const char *topic,
						int32_t partition,
						int64_t producer_id,
						const void *blob, size_t len,
						void *userdata);

/**
 * Call @p cb for every producer state of one partition, or of every
 * partition of @p topic when @p partition is -1, or of everything when
 * @p topic is NULL; ordered by topic, partition, producer id.
 * @param meta      the handle.
 * @param topic     topic name or NULL.
 * @param partition partition or -1.
 * @param cb        callback.
 * @param userdata  passed to @p cb.
 * @return 0; the callback's non-zero value; CHRONIK_EARG.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_producer_state_foreach(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	chronik_storage_meta_producer_cb cb, void *userdata);

/**
 * Store a partition's log start offset.
 * @param meta      the handle.
 * @param topic     topic name.
 * @param partition partition (>= 0).
 * @param offset    log start offset (>= 0).
 * @return 0 once durable; CHRONIK_EARG; CHRONIK_EFAILED; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_log_start_set(
	chronik_storage_meta *meta, const char *topic, int32_t partition,
	int64_t offset);

/**
 * Read a partition's log start offset.
 * @param[out] out the offset.
 * @param meta      the handle.
 * @param topic     topic name.
 * @param partition partition.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_log_start_get(
	int64_t *out, chronik_storage_meta *meta, const char *topic,
	int32_t partition);

/* ------------------------------------------------------------------ */
/* Batches: several mutations, one record, one fsync                   */
/* ------------------------------------------------------------------ */

/**
 * Start an empty batch.
 * @param[out] out the batch; free with chronik_storage_meta_batch_free()
 *                 (committing does not free it).
 * @param meta     the store; must outlive the batch.
 * @return 0; CHRONIK_EARG; -ENOMEM.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_new(
	chronik_storage_meta_batch **out, chronik_storage_meta *meta);

/**
 * Free a batch (committed or not).
 * @param b the batch, or NULL. Invalid after the call.
 * @since 0.1
 */
CHRONIK_STORAGE_API void chronik_storage_meta_batch_free(
	chronik_storage_meta_batch *b);

/**
 * Add an offset commit to a batch (same arguments as
 * chronik_storage_meta_offset_commit()).
 * @param b         the batch.
 * @param group     group id.
 * @param topic     topic name.
 * @param partition partition.
 * @param value     the offset; copied.
 * @return 0; CHRONIK_EARG; CHRONIK_ETOOBIG; -ENOMEM.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_offset_commit(
	chronik_storage_meta_batch *b, const char *group, const char *topic,
	int32_t partition, const chronik_storage_meta_offset *value);

/**
 * Add a group state blob replacement to a batch.
 * @param b     the batch.
 * @param group group id.
 * @param blob  @p len bytes; copied.
 * @param len   blob length.
 * @return 0; CHRONIK_EARG; CHRONIK_ETOOBIG; -ENOMEM.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_group_put(
	chronik_storage_meta_batch *b, const char *group, const void *blob,
	size_t len);

/**
 * Add a producer state replacement to a batch.
 * @param b           the batch.
 * @param topic       topic name.
 * @param partition   partition.
 * @param producer_id producer id.
 * @param blob        @p len bytes; copied.
 * @param len         blob length.
 * @return 0; CHRONIK_EARG; CHRONIK_ETOOBIG; -ENOMEM.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_producer_state_put(
	chronik_storage_meta_batch *b, const char *topic, int32_t partition,
	int64_t producer_id, const void *blob, size_t len);

/**
 * Add a log start offset update to a batch.
 * @param b         the batch.
 * @param topic     topic name.
 * @param partition partition.
 * @param offset    log start offset.
 * @return 0; CHRONIK_EARG; -ENOMEM.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_log_start_set(
	chronik_storage_meta_batch *b, const char *topic, int32_t partition,
	int64_t offset);

/**
 * Number of mutations in a batch.
 * @param b the batch.
 * @return the count (0 for NULL).
 * @since 0.1
 */
CHRONIK_STORAGE_API size_t chronik_storage_meta_batch_count(
	const chronik_storage_meta_batch *b);

/**
 * Apply every mutation of the batch atomically (one log record) and wait
 * until it is durable. The batch is emptied and may be reused.
 * @param b the batch.
 * @return 0 once durable (also for an empty batch); CHRONIK_ETOOBIG (over
 *         16 MiB); CHRONIK_EFAILED; CHRONIK_ECLOSED; -errno.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_commit(
	chronik_storage_meta_batch *b);

/**
 * Completion of chronik_storage_meta_batch_commit_async().
 * @param status   0 when durable; a negative code when it never will be.
 * @param userdata as given.
 * Called once, from the metadata log's writer thread; must not block and
 * must not call into the store (hand the result to your own thread or
 * event loop instead). @since 0.1
 */
typedef void (*chronik_storage_meta_commit_cb)(int status, void *userdata);

/**
 * Apply every mutation of the batch atomically (visible at once) and
 * report durability through @p cb. Does not wait for the disk (it may
 * block briefly if the log's memory queue is full). The batch is emptied.
 * @param b        the batch.
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return 0; CHRONIK_EARG; CHRONIK_ETOOBIG; CHRONIK_EFAILED;
 *         CHRONIK_ECLOSED.
 * @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_meta_batch_commit_async(
	chronik_storage_meta_batch *b, chronik_storage_meta_commit_cb cb,
	void *userdata);

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_STORAGE_META_H */
