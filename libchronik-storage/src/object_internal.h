/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the object store (object*.c). Never installed. */
#ifndef CHRONIK_STORAGE_OBJECT_INTERNAL_H
#define CHRONIK_STORAGE_OBJECT_INTERNAL_H

#include "chronik/storage.h"

/* Validate a key (mode 0) or a list prefix (mode 1; NULL and "" allowed,
 * the last component may be partial). Returns 0 or CHRONIK_EARG. */
int chronik_storage_object__name_check(const char *s, int mode);

#endif
