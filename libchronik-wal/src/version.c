/* SPDX-License-Identifier: Apache-2.0 */
#include "chronik/wal.h"

CHRONIK_WAL_API unsigned int chronik_wal_version(void)
{
	return CHRONIK_WAL_VERSION;
}

CHRONIK_WAL_API const char *chronik_wal_version_string(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(CHRONIK_WAL_VERSION_MAJOR) "." STR(CHRONIK_WAL_VERSION_MINOR) "." STR(CHRONIK_WAL_VERSION_PATCH);
}
