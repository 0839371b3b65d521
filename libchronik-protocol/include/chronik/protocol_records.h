/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file protocol_records.h
 * @brief Record batches (magic 2), legacy message sets (magic 0/1),
 *        CRC-32C and compression codecs. Included by chronik/protocol.h.
 * @since 0.1
 */
#ifndef CHRONIK_PROTOCOL_RECORDS_H
#define CHRONIK_PROTOCOL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif /* CHRONIK_PROTOCOL_RECORDS_H */
