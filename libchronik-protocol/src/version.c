/* SPDX-License-Identifier: Apache-2.0 */
#include "chronik/protocol.h"

CHRONIK_PROTOCOL_API unsigned int chronik_protocol_version(void)
{
	return CHRONIK_PROTOCOL_VERSION;
}

CHRONIK_PROTOCOL_API const char *chronik_protocol_version_string(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(CHRONIK_PROTOCOL_VERSION_MAJOR) "." STR(CHRONIK_PROTOCOL_VERSION_MINOR) "." STR(CHRONIK_PROTOCOL_VERSION_PATCH);
}
