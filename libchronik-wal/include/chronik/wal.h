/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file wal.h
 * @brief libchronik-wal public API.
 * @since 0.1
 */
#ifndef CHRONIK_WAL_H
#define CHRONIK_WAL_H

#include <chronik/common.h>
#include <chronik/wal_version.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration exported from libchronik-wal. */
#define CHRONIK_WAL_API CHRONIK_EXPORT_

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
