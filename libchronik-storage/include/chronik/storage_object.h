/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file storage_object.h
 * @brief Object-store backend interface (local directory, later S3/GCS/Azure). Included by chronik/storage.h.
 * @since 0.1
 */
#ifndef CHRONIK_STORAGE_OBJECT_H
#define CHRONIK_STORAGE_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include <chronik/common.h>

#ifndef CHRONIK_STORAGE_API
#define CHRONIK_STORAGE_API CHRONIK_EXPORT_
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_STORAGE_OBJECT_H */
