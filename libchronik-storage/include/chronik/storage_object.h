/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file storage_object.h
 * @brief Object-store interface for tiered storage: immutable objects
 *        addressed by keys, behind a backend vtable (local directory now;
 *        S3, GCS and Azure Blob later). Included by chronik/storage.h.
 *
 * A chronik_storage_object_store is a generic handle around one backend.
 * Backends implement a small set of blocking operations
 * (chronik_storage_object_backend); the generic layer validates keys,
 * keeps per-handle error text, and runs operations either in the calling
 * thread (the synchronous functions) or on a small internal thread pool
 * (the *_async functions, which report through a completion callback).
 *
 * Backend-specific settings (a root directory; later an endpoint, region,
 * credentials, retry policy, multipart part size) go in the backend's own
 * constructor options, never in the generic vtable, so request signing,
 * retries and multipart uploads stay inside the backend.
 *
 * Keys: 1..CHRONIK_STORAGE_OBJECT_MAX_KEY bytes of '/'-separated, non-empty
 * components; no leading or trailing '/', no "." or ".." component, no
 * control characters (bytes 0x01-0x1f and 0x7f; a key is a C string so it
 * cannot hold NUL), and no component starting with ".chronik" (reserved
 * for temporary files). The same rules hold for every backend, so keys
 * stay portable. See chronik_storage_object_key_check().
 *
 * Errors: 0 on success, negative on failure: CHRONIK_ENOTFOUND for a
 * missing object, CHRONIK_EARG for a bad key, -errno for system failures,
 * other chronik_error codes. chronik_storage_object_last_error() gives
 * detail text per handle.
 *
 * Thread-safety: all functions taking a store may be called from any
 * number of threads at once, except chronik_storage_object_close().
 * Completion callbacks run on a pool thread, must not block for long and
 * must not call chronik_storage_object_close() or any synchronous function
 * of the same store (the *_async ones are fine).
 * @since 0.1
 */
#ifndef CHRONIK_STORAGE_OBJECT_H
#define CHRONIK_STORAGE_OBJECT_H

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

/** An object store: a backend plus its worker threads (opaque).
 * @since 0.1 */
typedef struct chronik_storage_object_store chronik_storage_object_store;

/** Longest key in bytes. @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_MAX_KEY 1024

/** Put flag: fail with CHRONIK_EEXIST instead of replacing an existing
 * object (atomically). @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE 0x1u

/** Length argument of a ranged get meaning "to the end". @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_TO_END UINT64_MAX

/** What chronik_storage_object_head() reports. @since 0.1 */
typedef struct chronik_storage_object_info {
	/** Object size in bytes. */
	uint64_t size;
	/** Last modification time, ms since the Unix epoch. */
	int64_t mtime_ms;
} chronik_storage_object_info;

/** One object in a listing. @since 0.1 */
typedef struct chronik_storage_object_entry {
	/** The key (owned by the enclosing listing). */
	const char *key;
	/** Size in bytes. */
	uint64_t size;
	/** Last modification time, ms since the epoch. */
	int64_t mtime_ms;
} chronik_storage_object_entry;

/**
 * One page of a listing, allocated by the library and freed with
 * chronik_storage_object_list_free(). Fields may be appended in later
 * minor versions (the library always allocates it).
 * @since 0.1
 */
typedef struct chronik_storage_object_list {
	/** Number of entries. */
	size_t count;
	/** Entries in ascending byte order of their keys. */
	chronik_storage_object_entry *entries;
	/** NULL if this was the last page; otherwise pass it as
	 * `start_after` to get the next page. */
	const char *next_start_after;
} chronik_storage_object_list;

/** Current version of chronik_storage_object_backend. @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_BACKEND_VERSION 1

/**
 * A backend: blocking operations on one bucket or directory, called from
 * the caller's thread (synchronous API) or a pool thread (asynchronous
 * API), possibly from several threads at once, so they must be
 * thread-safe. Keys and prefixes are validated before a backend sees
 * them. Every operation returns 0 or a negative code and may write a
 * one-line explanation (NUL-terminated) into `err` (`errlen` bytes).
 * Memory handed out (get data, listings) must come from malloc(); the
 * generic layer releases it with free().
 * @since 0.1
 */
typedef struct chronik_storage_object_backend {
	/** CHRONIK_STORAGE_OBJECT_BACKEND_VERSION. */
	unsigned int version;
	/** Short backend name ("local", "s3", ...). */
	const char *name;
	/** Store an object atomically: readers see the old object or the
	 * whole new one, never a part; durable when it returns 0. */
	int (*put)(void *self, char *err, size_t errlen, const char *key,
		   const void *data, size_t len, unsigned int flags);
	/** Store the contents of a local file as an object (same rules as
	 * put); may be NULL, then the generic layer reads the file into
	 * memory and calls put. */
	int (*put_file)(void *self, char *err, size_t errlen, const char *key,
			const char *path, unsigned int flags);
	/** Read len bytes from offset (len may be
	 * CHRONIK_STORAGE_OBJECT_TO_END; a range past the end is clipped;
	 * an offset beyond the size is CHRONIK_EARG) into a malloc'd
	 * buffer. */
	int (*get)(void *self, char *err, size_t errlen, const char *key,
		   uint64_t offset, uint64_t len, void **data_out,
		   size_t *len_out);
	/** Size and modification time of an object. */
	int (*head)(void *self, char *err, size_t errlen, const char *key,
		    chronik_storage_object_info *out);
	/** Up to max_keys keys that start with prefix (may be "") and sort
	 * after start_after (NULL: from the start), ascending. */
	int (*list)(void *self, char *err, size_t errlen, const char *prefix,
		    const char *start_after, size_t max_keys,
		    chronik_storage_object_list **out);
	/** Delete an object; deleting a missing object succeeds. */
	int (*del)(void *self, char *err, size_t errlen, const char *key);
	/** Release the backend (called once, by close). */
	void (*destroy)(void *self);
} chronik_storage_object_backend;

/** Current version of chronik_storage_object_options. @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_OPTIONS_VERSION 1

/**
 * Generic options of a store (worker pool). Initialise with
 * CHRONIK_STORAGE_OBJECT_OPTIONS_INIT or
 * chronik_storage_object_options_init(); fields may only be appended.
 * @since 0.1
 */
typedef struct chronik_storage_object_options {
	/** CHRONIK_STORAGE_OBJECT_OPTIONS_VERSION (or older). */
	unsigned int version;
	/** Worker threads for the asynchronous API; 0 means 4. Started
	 * lazily on the first asynchronous call. */
	unsigned int threads;
	/** Most asynchronous requests waiting for a worker before further
	 * ones fail with CHRONIK_EAGAIN; 0 means 1024. */
	unsigned int max_queued;
} chronik_storage_object_options;

/** Static initialiser with every default. @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_OPTIONS_INIT \
	{ CHRONIK_STORAGE_OBJECT_OPTIONS_VERSION, 0, 0 }

/**
 * Initialise @p opts with defaults for the given version.
 * @param[out] opts the struct to fill.
 * @param version   CHRONIK_STORAGE_OBJECT_OPTIONS_VERSION.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_options_init(
	chronik_storage_object_options *opts, unsigned int version);

/**
 * Wrap a backend in a store. Used by backend constructors (and by
 * programs with their own backend).
 * @param[out] out the store; close with chronik_storage_object_close().
 * @param backend  the vtable; must stay valid until the store is closed.
 * @param self     backend state passed to every operation; owned by the
 *                 store on success (released through backend->destroy).
 * @param opts     generic options, or NULL for defaults; not referenced
 *                 after the call.
 * @return 0; CHRONIK_EARG (NULL or incomplete vtable); CHRONIK_EVERSION;
 *         -ENOMEM. On failure @p self is not destroyed.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_store_new(
	chronik_storage_object_store **out,
	const chronik_storage_object_backend *backend, void *self,
	const chronik_storage_object_options *opts);

/** Local-directory flag: do not fsync (tests only). @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_LOCAL_NO_SYNC 0x1u

/** Current version of chronik_storage_object_local_options.
 * @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_LOCAL_OPTIONS_VERSION 1

/**
 * Options of the local-directory backend.
 * @since 0.1
 */
typedef struct chronik_storage_object_local_options {
	/** CHRONIK_STORAGE_OBJECT_LOCAL_OPTIONS_VERSION (or older). */
	unsigned int version;
	/** Root directory; created (one level) if missing. Required;
	 * copied. */
	const char *root;
	/** CHRONIK_STORAGE_OBJECT_LOCAL_* flags. */
	unsigned int flags;
	/** Worker threads for the asynchronous API (0 means 4). */
	unsigned int threads;
} chronik_storage_object_local_options;

/** Static initialiser with every default. @since 0.1 */
#define CHRONIK_STORAGE_OBJECT_LOCAL_OPTIONS_INIT \
	{ CHRONIK_STORAGE_OBJECT_LOCAL_OPTIONS_VERSION, NULL, 0, 0 }

/**
 * Open a store on a local directory: key "a/b/c" is the file
 * `<root>/a/b/c`. A put writes a temporary file under
 * `<root>/.chronik-tmp/`, fsyncs it, renames it into place and fsyncs the
 * directory. Limitation of this backend: a key cannot be both an object
 * and a prefix of another key's directories ("a" and "a/b").
 * @param[out] out the store; close with chronik_storage_object_close().
 * @param opts     options; not referenced after the call.
 * @return 0; CHRONIK_EARG; CHRONIK_EVERSION; -ENOMEM; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_local_open(
	chronik_storage_object_store **out,
	const chronik_storage_object_local_options *opts);

/**
 * Close a store: wait for queued asynchronous requests (their callbacks
 * run), stop the workers, destroy the backend.
 * @param store the store, or NULL. Invalid after the call.
 * Must not be called from a callback. @since 0.1
 */
CHRONIK_STORAGE_API void chronik_storage_object_close(
	chronik_storage_object_store *store);

/**
 * Detail text of the last failed operation on this store.
 * @param store the store, or NULL.
 * @return text owned by the store ("" if none); valid until the next
 *         failure or close. Concurrent failures may overwrite it.
 * @since 0.1
 */
CHRONIK_STORAGE_API const char *chronik_storage_object_last_error(
	const chronik_storage_object_store *store);

/**
 * Name of the store's backend ("local", ...).
 * @param store the store.
 * @return a static string; never NULL.
 * @since 0.1
 */
CHRONIK_STORAGE_API const char *chronik_storage_object_backend_name(
	const chronik_storage_object_store *store);

/**
 * Check a key against the rules in this header's description.
 * @param key the key.
 * @return 0 if valid; CHRONIK_EARG otherwise.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_key_check(const char *key);

/**
 * Free memory returned by this API (get data). NULL is a no-op.
 * @param p the pointer.
 * @since 0.1
 */
CHRONIK_STORAGE_API void chronik_storage_object_free(void *p);

/**
 * Free a listing. NULL is a no-op.
 * @param list the listing.
 * @since 0.1
 */
CHRONIK_STORAGE_API void chronik_storage_object_list_free(
	chronik_storage_object_list *list);

/* ---- synchronous operations (run in the calling thread) ---- */

/**
 * Store @p len bytes under @p key, atomically and durably.
 * @param store the store.
 * @param key   the key.
 * @param data  the bytes (may be NULL if len is 0).
 * @param len   length.
 * @param flags 0 or CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE.
 * @return 0; CHRONIK_EARG (bad key); CHRONIK_EEXIST (NO_OVERWRITE);
 *         -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_put(
	chronik_storage_object_store *store, const char *key,
	const void *data, size_t len, unsigned int flags);

/**
 * Store the contents of the local file @p path under @p key.
 * @param store the store.
 * @param key   the key.
 * @param path  a readable regular file.
 * @param flags 0 or CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE.
 * @return as chronik_storage_object_put(); -ENOENT if @p path is missing.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_put_file(
	chronik_storage_object_store *store, const char *key,
	const char *path, unsigned int flags);

/**
 * Read a whole object.
 * @param[out] data_out malloc'd bytes (free with
 *                      chronik_storage_object_free()); NULL on failure.
 * @param[out] len_out  their number.
 * @param store the store.
 * @param key   the key.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -ENOMEM; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_get(
	void **data_out, size_t *len_out, chronik_storage_object_store *store,
	const char *key);

/**
 * Read part of an object.
 * @param[out] data_out malloc'd bytes (free with
 *                      chronik_storage_object_free()).
 * @param[out] len_out  their number (less than @p len at the end).
 * @param store  the store.
 * @param key    the key.
 * @param offset first byte.
 * @param len    number of bytes, or CHRONIK_STORAGE_OBJECT_TO_END.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG (bad key, offset beyond the
 *         size); -ENOMEM; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_get_range(
	void **data_out, size_t *len_out, chronik_storage_object_store *store,
	const char *key, uint64_t offset, uint64_t len);

/**
 * Size and modification time of an object.
 * @param[out] out the information.
 * @param store the store.
 * @param key   the key.
 * @return 0; CHRONIK_ENOTFOUND; CHRONIK_EARG; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_head(
	chronik_storage_object_info *out, chronik_storage_object_store *store,
	const char *key);

/**
 * List one page of keys starting with @p prefix.
 * @param[out] out the page (free with chronik_storage_object_list_free()).
 * @param store       the store.
 * @param prefix      key prefix ("" or NULL for all; same character rules
 *                    as keys, but may end with '/' or inside a
 *                    component).
 * @param start_after NULL, or the previous page's next_start_after.
 * @param max_keys    page size (1..100000); 0 means 1000.
 * @return 0; CHRONIK_EARG; -ENOMEM; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_list_page(
	chronik_storage_object_list **out, chronik_storage_object_store *store,
	const char *prefix, const char *start_after, size_t max_keys);

/**
 * Delete an object (idempotent: a missing object is not an error).
 * @param store the store.
 * @param key   the key.
 * @return 0; CHRONIK_EARG; -errno.
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_delete(
	chronik_storage_object_store *store, const char *key);

/* ---- asynchronous operations (run on the pool) ---- */

/**
 * Completion of a put, put_file or delete.
 * @param status   0 or a negative code, as the synchronous function.
 * @param userdata as given.
 * @since 0.1
 */
typedef void (*chronik_storage_object_done_cb)(int status, void *userdata);

/**
 * Completion of a get or get_range.
 * @param status   0 or a negative code.
 * @param data     the bytes, owned by the callback from now on (free with
 *                 chronik_storage_object_free()); NULL on failure.
 * @param len      their number.
 * @param userdata as given.
 * @since 0.1
 */
typedef void (*chronik_storage_object_get_cb)(int status, void *data,
					      size_t len, void *userdata);

/**
 * Completion of a head.
 * @param status   0 or a negative code.
 * @param info     the information (borrowed for the call); NULL on
 *                 failure.
 * @param userdata as given.
 * @since 0.1
 */
typedef void (*chronik_storage_object_head_cb)(
	int status, const chronik_storage_object_info *info, void *userdata);

/**
 * Completion of a list.
 * @param status   0 or a negative code.
 * @param list     the page, owned by the callback from now on (free with
 *                 chronik_storage_object_list_free()); NULL on failure.
 * @param userdata as given.
 * @since 0.1
 */
typedef void (*chronik_storage_object_list_cb)(
	int status, chronik_storage_object_list *list, void *userdata);

/**
 * Queue a put. @p data is borrowed: it must stay valid and unchanged
 * until @p cb runs.
 * @param store    the store.
 * @param key      the key (copied).
 * @param data     the bytes.
 * @param len      length.
 * @param flags    as chronik_storage_object_put().
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return 0; CHRONIK_EARG (bad key: checked at once); CHRONIK_EAGAIN
 *         (queue full); CHRONIK_ECLOSED; -ENOMEM; -EAGAIN (no thread).
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_put_async(
	chronik_storage_object_store *store, const char *key,
	const void *data, size_t len, unsigned int flags,
	chronik_storage_object_done_cb cb, void *userdata);

/**
 * Queue a put of a local file (path copied).
 * @param store    the store.
 * @param key      the key (copied).
 * @param path     the file (copied).
 * @param flags    as chronik_storage_object_put().
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return as chronik_storage_object_put_async().
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_put_file_async(
	chronik_storage_object_store *store, const char *key,
	const char *path, unsigned int flags,
	chronik_storage_object_done_cb cb, void *userdata);

/**
 * Queue a ranged get (offset 0, CHRONIK_STORAGE_OBJECT_TO_END for all).
 * @param store    the store.
 * @param key      the key (copied).
 * @param offset   first byte.
 * @param len      number of bytes or CHRONIK_STORAGE_OBJECT_TO_END.
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return as chronik_storage_object_put_async().
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_get_async(
	chronik_storage_object_store *store, const char *key, uint64_t offset,
	uint64_t len, chronik_storage_object_get_cb cb, void *userdata);

/**
 * Queue a head.
 * @param store    the store.
 * @param key      the key (copied).
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return as chronik_storage_object_put_async().
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_head_async(
	chronik_storage_object_store *store, const char *key,
	chronik_storage_object_head_cb cb, void *userdata);

/**
 * Queue a list (arguments as chronik_storage_object_list_page(); strings
 * copied).
 * @param store       the store.
 * @param prefix      key prefix or NULL.
 * @param start_after NULL or a previous next_start_after.
 * @param max_keys    page size; 0 means 1000.
 * @param cb          completion, called exactly once iff this returns 0.
 * @param userdata    passed to @p cb.
 * @return as chronik_storage_object_put_async().
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_list_async(
	chronik_storage_object_store *store, const char *prefix,
	const char *start_after, size_t max_keys,
	chronik_storage_object_list_cb cb, void *userdata);

/**
 * Queue a delete.
 * @param store    the store.
 * @param key      the key (copied).
 * @param cb       completion, called exactly once iff this returns 0.
 * @param userdata passed to @p cb.
 * @return as chronik_storage_object_put_async().
 * Thread-safe. @since 0.1
 */
CHRONIK_STORAGE_API int chronik_storage_object_delete_async(
	chronik_storage_object_store *store, const char *key,
	chronik_storage_object_done_cb cb, void *userdata);

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_STORAGE_OBJECT_H */
