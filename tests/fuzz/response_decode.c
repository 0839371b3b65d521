/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: response decoding for every API key and version.
 * Key = byte 1 % 88, version = byte 2 % (max + 1); byte 0 picks the
 * mode: even parses a whole response frame (header and body), odd a bare
 * body. Whatever
 * decodes is re-encoded, decoded again and compared (field by field and
 * byte for byte): decode -> encode -> decode -> encode must be stable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/testsupport.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "response_decode: %s (%s)\n", what,
			chronik__ts_last_diff ? chronik__ts_last_diff : "-");
		abort();
	}
}

static void roundtrip(chronik_protocol_arena *a, int16_t key, int16_t v,
		      const void *m)
{
	size_t n, n2;
	chronik_protocol_errinfo err;
	void *m2;
	int rc = chronik_protocol_response_encode(&n, NULL, 0, key, v, m, &err);
	check(rc == 0, "re-encode of a decoded message failed");
	uint8_t *b1 = malloc(n ? n : 1), *b2 = malloc(n ? n : 1);
	check(b1 && b2, "oom");
	check(chronik_protocol_response_encode(&n, b1, n, key, v, m, &err) == 0,
	      "encode");
	check(chronik_protocol_response_decode(&m2, a, key, v, b1, n, &err) == 0,
	      "decode of our own encoding failed");
	chronik__ts_last_diff = NULL;
	check(chronik__ts_compare(CHRONIK__K_RESPONSE, key, m, m2) == 0,
	      "decoded messages differ");
	check(chronik_protocol_response_encode(&n2, b2, n, key, v, m2, &err) ==
	      0 && n2 == n && memcmp(b1, b2, n) == 0, "encodings differ");
	free(b1);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chronik_protocol_arena *a;
	chronik_protocol_errinfo err;
	void *m;
	if (size < 3 || chronik_protocol_arena_new(&a, 0) != 0)
		return 0;
	int16_t key = (int16_t)(data[1] % CHRONIK_PROTOCOL_API_COUNT);
	const chronik_protocol_api_info *api = chronik_protocol_api_get(key);
	int16_t v = (int16_t)(data[2] % (api->max_version + 1));
	if ((data[0] & 1) == 0) {
		/* A whole response frame: header of the right version. */
		chronik_protocol_response_header h;
		if (chronik_protocol_response_frame_decode(&h, &m, a, 0, key, v,
			data + 3, size - 3, &err) == 0) {
			roundtrip(a, key, v, m);
			size_t n;
			uint8_t *f = malloc(size);
			check(f != NULL, "oom");
			check(chronik_protocol_response_frame_encode(&n, f,
				size, 0, key, v, &h, m, &err) == 0,
				"frame encode");
			chronik_protocol_response_header h2;
			void *m2;
			check(chronik_protocol_response_frame_decode(&h2, &m2,
				a, 0, key, v, f, n, &err) == 0,
				"frame re-decode");
			check(h2.correlation_id == h.correlation_id,
			      "header differs");
			free(f);
		}
	} else if (chronik_protocol_response_decode(&m, a, key, v, data + 3,
						    size - 3, &err) == 0) {
		roundtrip(a, key, v, m);
	} else {
		check(err.code != 0 && err.message[0] != '\0',
		      "failure without error details");
	}
	chronik_protocol_arena_free(a);
	return 0;
}
