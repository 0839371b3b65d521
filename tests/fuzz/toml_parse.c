/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the config TOML parser: any input either parses or fails with a
 * positioned message; a parsed document dumps to TOML that parses back to
 * an equal document (round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chronik/common.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The dump writes nested tables inline, so it nests as deep as the
 * document; past the parser's limit the reparse is expected to fail. */
static size_t depth(const chronik_toml_value *v)
{
	size_t d = 0, n;

	switch (chronik_toml_type_of(v)) {
	case CHRONIK_TOML_ARRAY:
		n = chronik_toml_array_size(v);
		for (size_t i = 0; i < n; i++) {
			size_t c = depth(chronik_toml_array_at(v, i));
			if (c > d)
				d = c;
		}
		return d + 1;
	case CHRONIK_TOML_TABLE:
		n = chronik_toml_table_size(v);
		for (size_t i = 0; i < n; i++) {
			size_t c = depth(chronik_toml_table_at(v, i, NULL,
							       NULL, NULL));
			if (c > d)
				d = c;
		}
		return d + 1;
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chronik_toml_value *root = NULL, *again = NULL;
	chronik_toml_error err;
	char *dump = NULL;
	int rc;

	rc = chronik_toml_parse(&root, (const char *)data, size, "fuzz", &err);
	if (rc != 0) {
		/* Every failure names a position and says something. */
		if (rc == CHRONIK_EMALFORMED &&
		    (err.line < 1 || err.column < 1 || err.message[0] == '\0' ||
		     strncmp(err.text, "fuzz:", 5) != 0))
			abort();
		return 0;
	}
	if (chronik_toml_dump(&dump, root) != 0)
		abort();
	rc = chronik_toml_parse(&again, dump, strlen(dump), "dump", &err);
	if (rc != 0) {
		/* Fine only past the nesting limit. */
		if (depth(root) <= CHRONIK_TOML_MAX_DEPTH)
			abort();
	} else if (!chronik_toml_equal(root, again)) {
		abort();
	}
	free(dump);
	chronik_toml_free(root);
	chronik_toml_free(again);
	return 0;
}
