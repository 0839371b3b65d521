/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file storage_version.h
 * @brief ABI version of libchronik-storage (separate from the package version).
 *
 * MAJOR is the soversion and changes on every ABI break; MINOR grows when
 * symbols are added; PATCH for fixes. Read at build time by meson.
 * @since 0.1
 */
#ifndef CHRONIK_STORAGE_VERSION_H
#define CHRONIK_STORAGE_VERSION_H

#define CHRONIK_STORAGE_VERSION_MAJOR 0
#define CHRONIK_STORAGE_VERSION_MINOR 4
#define CHRONIK_STORAGE_VERSION_PATCH 1
/** Packed version: (MAJOR << 16) | (MINOR << 8) | PATCH. */
#define CHRONIK_STORAGE_VERSION \
	((CHRONIK_STORAGE_VERSION_MAJOR << 16) | (CHRONIK_STORAGE_VERSION_MINOR << 8) | \
	 CHRONIK_STORAGE_VERSION_PATCH)

#endif
