/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file protocol.h
 * @brief libchronik-protocol public API.
 * @since 0.1
 */
#ifndef CHRONIK_PROTOCOL_H
#define CHRONIK_PROTOCOL_H

#include <chronik/common.h>
#include <chronik/protocol_version.h>

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

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_PROTOCOL_H */
