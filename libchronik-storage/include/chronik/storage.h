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

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_STORAGE_H */
