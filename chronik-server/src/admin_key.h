/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API key: the configured one (admin_api_key /
 * CHRONIK_ADMIN_API_KEY), or one generated on first start and kept in
 * <data-dir>/admin.key (mode 0600), reused on later starts. The key
 * itself is never logged, only where it comes from.
 */
#ifndef CHRONIK_SERVER_ADMIN_KEY_H
#define CHRONIK_SERVER_ADMIN_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* Name of the key file inside the data directory. */
#define CHRONIK_ADMIN_KEY_FILE "admin.key"
/* Longest key accepted (bytes, without the NUL). */
#define CHRONIK_ADMIN_KEY_MAX 255
/* Random bytes in a generated key (hex encoded: twice as many chars). */
#define CHRONIK_ADMIN_KEY_RANDOM_BYTES 32

typedef enum chronik_admin_key_source {
	CHRONIK_ADMIN_KEY_CONFIGURED, /* from the configuration */
	CHRONIK_ADMIN_KEY_FILE_READ,  /* an existing admin.key */
	CHRONIK_ADMIN_KEY_GENERATED   /* a new admin.key */
} chronik_admin_key_source;

/*
 * Find the admin key. `configured` is cfg.admin_api_key ("" or NULL:
 * unset). Otherwise read <data_dir>/admin.key, which must be a regular
 * file owned by this user with no group/other permission bits; or, if it
 * does not exist, create data_dir (mode 0700 when missing) and the file:
 * 32 bytes from getrandom() as 64 hex digits, written to a temporary
 * file made with O_EXCL and mode 0600, fsync'd, renamed into place, the
 * directory fsync'd.
 *
 * out gets the key (NUL-terminated, outlen >= CHRONIK_ADMIN_KEY_MAX + 1).
 * source_out (optional) tells where it came from. log (optional) gets one
 * info line naming the source or file. On failure err gets one line,
 * e.g. "./data/admin.key is readable by group or others (mode 0644);
 * run 'chmod 600 ./data/admin.key' or remove it to generate a new key".
 * Returns 0, CHRONIK_EARG (bad arguments, a key file that is unsafe or
 * not a key), or -errno.
 */
int chronik_admin_key_load(char *out, size_t outlen,
			   chronik_admin_key_source *source_out,
			   const char *configured, const char *data_dir,
			   chronik_log *log, char *err, size_t errlen);

/* Compare a presented key with the expected one in time that depends only
 * on the lengths, not on where they differ. NULL `given` is false. */
bool chronik_admin_key_equal(const char *expected, const char *given);

#endif /* CHRONIK_SERVER_ADMIN_KEY_H */
