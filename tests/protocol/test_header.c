/* SPDX-License-Identifier: Apache-2.0 */
/* Request/response headers and frames: header versions per API, ClientId
 * staying a classic string in v2, ApiVersions' response header v0, unknown
 * tags in header v2, size prefixes and whole-frame round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chronik/protocol.h"

static chronik_protocol_arena *arena;

static int setup(void **state)
{
	(void)state;
	return chronik_protocol_arena_new(&arena, 0);
}

static int teardown(void **state)
{
	(void)state;
	chronik_protocol_arena_free(arena);
	return 0;
}

static void test_header_versions(void **state)
{
	(void)state;
	/* Produce: flexible from v9. */
	assert_int_equal(chronik_protocol_request_header_version(0, 8), 1);
	assert_int_equal(chronik_protocol_request_header_version(0, 9), 2);
	assert_int_equal(chronik_protocol_response_header_version(0, 8), 0);
	assert_int_equal(chronik_protocol_response_header_version(0, 9), 1);
	/* ControlledShutdown v0 has no client id. */
	assert_int_equal(chronik_protocol_request_header_version(7, 0), 0);
	assert_int_equal(chronik_protocol_request_header_version(7, 1), 1);
	/* ApiVersions: request header v2 from v3, response header always 0. */
	assert_int_equal(chronik_protocol_request_header_version(18, 3), 2);
	assert_int_equal(chronik_protocol_response_header_version(18, 3), 0);
	assert_int_equal(chronik_protocol_response_header_version(18, 4), 0);
	/* A future version of a flexible API is treated as flexible. */
	assert_int_equal(chronik_protocol_request_header_version(18, 99), 2);
	/* SaslHandshake is never flexible. */
	assert_int_equal(chronik_protocol_request_header_version(17, 1), 1);
	assert_int_equal(chronik_protocol_request_header_version(88, 0),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(chronik_protocol_request_header_version(-1, 0),
			 CHRONIK_EUNSUPPORTED);
}

static void test_header_request_v1_v2_bytes(void **state)
{
	(void)state;
	chronik_protocol_request_header h;
	uint8_t buf[64];
	size_t n, used;
	chronik_protocol_request_header_init(&h);
	h.request_api_key = 3;
	h.request_api_version = 9; /* flexible: header v2 */
	h.correlation_id = 0x01020304;
	h.client_id.ptr = "cli";
	h.client_id.len = 3;
	assert_int_equal(chronik_protocol_request_header_encode(&n, buf,
		sizeof buf, &h, NULL), 0);
	static const uint8_t v2[] = { 0, 3, 0, 9, 1, 2, 3, 4,
				      0, 3, 'c', 'l', 'i', /* int16 length */
				      0 /* no tags */ };
	assert_int_equal(n, sizeof v2);
	assert_memory_equal(buf, v2, n);
	chronik_protocol_request_header d;
	assert_int_equal(chronik_protocol_request_header_decode(&d, &used,
		arena, buf, n, NULL), 0);
	assert_int_equal(used, n);
	assert_int_equal(d.correlation_id, 0x01020304);
	assert_int_equal(d.client_id.len, 3);
	assert_ptr_equal(d.client_id.ptr, (const char *)buf + 10);

	/* v1: Metadata v8, null client id. */
	h.request_api_version = 8;
	h.client_id.ptr = NULL;
	h.client_id.len = -1;
	assert_int_equal(chronik_protocol_request_header_encode(&n, buf,
		sizeof buf, &h, NULL), 0);
	static const uint8_t v1[] = { 0, 3, 0, 8, 1, 2, 3, 4, 0xff, 0xff };
	assert_int_equal(n, sizeof v1);
	assert_memory_equal(buf, v1, n);
	assert_int_equal(chronik_protocol_request_header_decode(&d, &used,
		arena, buf, n, NULL), 0);
	assert_int_equal(d.client_id.len, -1);
}

static void test_header_v2_unknown_tags(void **state)
{
	(void)state;
	static const uint8_t in[] = { 0, 18, 0, 3, 0, 0, 0, 9, 0, 1, 'x',
				      1, 5, 2, 0xaa, 0xbb };
	chronik_protocol_request_header h;
	size_t used, n;
	uint8_t buf[32];
	assert_int_equal(chronik_protocol_request_header_decode(&h, &used,
		arena, in, sizeof in, NULL), 0);
	assert_int_equal(used, sizeof in);
	assert_int_equal(h.unknown_tags.count, 1);
	assert_int_equal(h.unknown_tags.items[0].tag, 5);
	assert_int_equal(chronik_protocol_request_header_encode(&n, buf,
		sizeof buf, &h, NULL), 0);
	assert_int_equal(n, sizeof in);
	assert_memory_equal(buf, in, n);
	/* Without an arena the unknown tag cannot be kept. */
	chronik_protocol_errinfo err;
	assert_int_equal(chronik_protocol_request_header_decode(&h, &used,
		NULL, in, sizeof in, &err), CHRONIK_EARG);
	chronik_protocol_arena_reset(arena);
}

static void test_header_unknown_key(void **state)
{
	(void)state;
	static const uint8_t in[] = { 0x03, 0xe7, 0, 0, 0, 0, 0, 42, 0, 0 };
	chronik_protocol_request_header h;
	chronik_protocol_errinfo err;
	size_t used;
	assert_int_equal(chronik_protocol_request_header_decode(&h, &used,
		arena, in, sizeof in, &err), CHRONIK_EUNSUPPORTED);
	assert_int_equal(h.request_api_key, 999);
	assert_int_equal(h.correlation_id, 42);
	assert_int_equal(used, 8);
	assert_non_null(strstr(err.message, "unknown API key 999"));
	/* Too short for even that. */
	assert_int_equal(chronik_protocol_request_header_decode(&h, &used,
		arena, in, 3, &err), CHRONIK_ETRUNCATED);
}

static void test_header_response(void **state)
{
	(void)state;
	chronik_protocol_response_header h, d;
	uint8_t buf[16];
	size_t n, used;
	chronik_protocol_response_header_init(&h);
	h.correlation_id = 7;
	assert_int_equal(chronik_protocol_response_header_encode(&n, buf,
		sizeof buf, 0, &h, NULL), 0);
	assert_int_equal(n, 4);
	assert_int_equal(chronik_protocol_response_header_encode(&n, buf,
		sizeof buf, 1, &h, NULL), 0);
	assert_int_equal(n, 5);
	assert_int_equal(buf[4], 0);
	assert_int_equal(chronik_protocol_response_header_decode(&d, &used,
		arena, 1, buf, n, NULL), 0);
	assert_int_equal(d.correlation_id, 7);
	assert_int_equal(chronik_protocol_response_header_encode(&n, buf,
		sizeof buf, 2, &h, NULL), CHRONIK_EVERSION);
}

static void test_header_request_frame(void **state)
{
	(void)state;
	/* An ApiVersions v3 request shaped like librdkafka's, size-prefixed. */
	static const uint8_t in[] = {
		0, 0, 0, 0, /* size: set below */
		0, 18, 0, 3, 0, 0, 0, 1, 0, 7, 'r', 'd', 'k', 'a', 'f', 'k',
		'a', 0,
		8, 'r', 'd', 'k', 'a', 'f', 'k', 'a', 3, '2', '.', 0
	};
	chronik_protocol_request_header h;
	chronik_protocol_errinfo err;
	void *body;
	/* Set the size prefix. */
	uint8_t frame[sizeof in];
	memcpy(frame, in, sizeof in);
	frame[3] = (uint8_t)(sizeof in - 4);
	if (chronik_protocol_request_frame_decode(&h, &body, arena,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, frame, sizeof frame, &err))
		fail_msg("%s", err.message);
	const chronik_protocol_api_versions_request *r = body;
	assert_int_equal(r->client_software_name.len, 7);
	assert_int_equal(r->client_software_version.len, 2);
	uint8_t out[64];
	size_t n;
	assert_int_equal(chronik_protocol_request_frame_encode(&n, out,
		sizeof out, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &h, body, &err),
		0);
	assert_int_equal(n, sizeof frame);
	assert_memory_equal(out, frame, n);
	/* Without the prefix. */
	assert_int_equal(chronik_protocol_request_frame_decode(&h, &body,
		arena, 0, frame + 4, sizeof frame - 4, &err), 0);
	/* Prefix says more than there is / less than there is. */
	frame[3]++;
	assert_int_equal(chronik_protocol_request_frame_decode(&h, &body,
		arena, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, frame, sizeof frame,
		&err), CHRONIK_ETRUNCATED);
	frame[3] -= 2;
	assert_int_equal(chronik_protocol_request_frame_decode(&h, &body,
		arena, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, frame, sizeof frame,
		&err), CHRONIK_EMALFORMED);
	/* Garbage after the body: offset names the first extra byte. */
	frame[3]++;
	uint8_t longer[sizeof in + 1];
	memcpy(longer, frame + 4, sizeof frame - 4);
	longer[sizeof frame - 4] = 0x55;
	assert_int_equal(chronik_protocol_request_frame_decode(&h, &body,
		arena, 0, longer, sizeof frame - 3, &err), CHRONIK_EMALFORMED);
	assert_int_equal(err.offset, sizeof frame - 4);
	assert_non_null(strstr(err.message, "trailing"));
	/* A future ApiVersions version: header decodes, body says EVERSION. */
	frame[4 + 3] = 9;
	assert_int_equal(chronik_protocol_request_frame_decode(&h, &body,
		arena, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, frame, sizeof frame,
		&err), CHRONIK_EVERSION);
	assert_int_equal(h.request_api_version, 9);
	assert_int_equal(h.correlation_id, 1);
	chronik_protocol_arena_reset(arena);
}

static void test_header_response_frame(void **state)
{
	(void)state;
	/* ApiVersions v3 response: header v0 (no tag byte) even though the
	 * body is flexible. */
	chronik_protocol_response_header h;
	chronik_protocol_api_versions_response r;
	chronik_protocol_api_versions_response_api_version k = { 0, 0, 11,
		{ NULL, 0 } };
	chronik_protocol_response_header_init(&h);
	chronik_protocol_api_versions_response_init(&r);
	h.correlation_id = 5;
	r.api_keys = &k;
	r.api_keys_count = 1;
	uint8_t out[64];
	size_t n;
	assert_int_equal(chronik_protocol_response_frame_encode(&n, out,
		sizeof out, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, 18, 3, &h, &r,
		NULL), 0);
	static const uint8_t want[] = {
		0, 0, 0, 19, 0, 0, 0, 5,         /* size, correlation id */
		0, 0, 2, 0, 0, 0, 0, 0, 11, 0,   /* error, keys[1] */
		0, 0, 0, 0, 0                    /* throttle, tags */
	};
	assert_int_equal(n, sizeof want);
	assert_memory_equal(out, want, n);
	chronik_protocol_response_header hd;
	void *body;
	assert_int_equal(chronik_protocol_response_frame_decode(&hd, &body,
		arena, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, 18, 3, out, n, NULL),
		0);
	assert_int_equal(hd.correlation_id, 5);
	assert_int_equal(((chronik_protocol_api_versions_response *)body)
			 ->api_keys[0].max_version, 11);
	chronik_protocol_arena_reset(arena);
}

static void test_header_frame_size(void **state)
{
	(void)state;
	static const uint8_t a[] = { 0, 0, 1, 0 }, b[] = { 0x80, 0, 0, 0 };
	size_t s;
	assert_int_equal(chronik_protocol_frame_size(&s, a, 4, 1024), 0);
	assert_int_equal(s, 256);
	assert_int_equal(chronik_protocol_frame_size(&s, a, 3, 1024),
			 CHRONIK_EAGAIN);
	assert_int_equal(chronik_protocol_frame_size(&s, a, 4, 255),
			 CHRONIK_ETOOBIG);
	assert_int_equal(chronik_protocol_frame_size(&s, b, 4, 1024),
			 CHRONIK_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_versions),
		cmocka_unit_test(test_header_request_v1_v2_bytes),
		cmocka_unit_test(test_header_v2_unknown_tags),
		cmocka_unit_test(test_header_unknown_key),
		cmocka_unit_test(test_header_response),
		cmocka_unit_test(test_header_request_frame),
		cmocka_unit_test(test_header_response_frame),
		cmocka_unit_test(test_header_frame_size),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
