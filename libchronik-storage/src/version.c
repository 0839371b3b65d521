/* SPDX-License-Identifier: Apache-2.0 */
#include "chronik/storage.h"

CHRONIK_STORAGE_API unsigned int chronik_storage_version(void)
{
	return CHRONIK_STORAGE_VERSION;
}

CHRONIK_STORAGE_API const char *chronik_storage_version_string(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(CHRONIK_STORAGE_VERSION_MAJOR) "." STR(CHRONIK_STORAGE_VERSION_MINOR) "." STR(CHRONIK_STORAGE_VERSION_PATCH);
}
