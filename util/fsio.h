/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helper (not installed): small POSIX file helpers that several
 * libraries and the server need for crash-safe writes. */
#ifndef CHRONIK_UTIL_FSIO_H
#define CHRONIK_UTIL_FSIO_H

#include <stddef.h>

/* fsync the directory `dir`, making renames and creations inside it
 * durable. Returns 0 or -errno. */
int chronik_util_fsync_dir(const char *dir);

/* write(2) all `len` bytes, retrying on EINTR and short writes. Returns 0
 * or -errno. */
int chronik_util_write_all(int fd, const void *buf, size_t len);

#endif
