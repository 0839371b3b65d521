/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helper (not installed): CRC-32C (Castagnoli), as used by Kafka
 * record batches v2 and by Chronik's own on-disk formats. */
#ifndef CHRONIK_UTIL_CRC32C_H
#define CHRONIK_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 for a fresh checksum) over `len` bytes. Uses the CPU's
 * CRC instruction when present (detected once at run time), else a
 * portable slicing-by-8 table implementation. Thread-safe. */
uint32_t chronik_util_crc32c(uint32_t crc, const void *data, size_t len);

/* The portable implementation alone (for tests and benchmarks). */
uint32_t chronik_util_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* The hardware implementation alone; only valid when
 * chronik_util_crc32c_hw_available() returns 1. */
uint32_t chronik_util_crc32c_hw(uint32_t crc, const void *data, size_t len);
int chronik_util_crc32c_hw_available(void);

#endif
