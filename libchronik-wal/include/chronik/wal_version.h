/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file wal_version.h
 * @brief ABI version of libchronik-wal (separate from the package version).
 *
 * MAJOR is the soversion and changes on every ABI break; MINOR grows when
 * symbols are added; PATCH for fixes. Read at build time by meson.
 * @since 0.1
 */
#ifndef CHRONIK_WAL_VERSION_H
#define CHRONIK_WAL_VERSION_H

#define CHRONIK_WAL_VERSION_MAJOR 0
#define CHRONIK_WAL_VERSION_MINOR 3
#define CHRONIK_WAL_VERSION_PATCH 1
/** Packed version: (MAJOR << 16) | (MINOR << 8) | PATCH. */
#define CHRONIK_WAL_VERSION \
	((CHRONIK_WAL_VERSION_MAJOR << 16) | (CHRONIK_WAL_VERSION_MINOR << 8) | \
	 CHRONIK_WAL_VERSION_PATCH)

#endif
