/* SPDX-License-Identifier: Apache-2.0 */
/* API and error tables, and version negotiation against a peer's
 * ApiVersions response. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chronik/protocol.h"

static void test_tables_api_ranges(void **state)
{
	(void)state;
	static const struct {
		int16_t key, min, max, flex;
		const char *name;
	} want[] = {
		{ 0, 0, 11, 9, "Produce" },
		{ 1, 0, 17, 12, "Fetch" },
		{ 2, 0, 9, 6, "ListOffsets" },
		{ 3, 0, 12, 9, "Metadata" },
		{ 7, 0, 3, 3, "ControlledShutdown" },
		{ 17, 0, 1, -1, "SaslHandshake" },
		{ 18, 0, 4, 3, "ApiVersions" },
		{ 47, 0, 0, -1, "OffsetDelete" },
		{ 75, 0, 0, 0, "DescribeTopicPartitions" },
		{ 87, 0, 0, 0, "ReadShareGroupStateSummary" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const chronik_protocol_api_info *a =
			chronik_protocol_api_get(want[i].key);
		assert_non_null(a);
		assert_int_equal(a->api_key, want[i].key);
		assert_int_equal(a->min_version, want[i].min);
		assert_int_equal(a->max_version, want[i].max);
		assert_int_equal(a->flexible_min, want[i].flex);
		assert_string_equal(a->name, want[i].name);
	}
	assert_null(chronik_protocol_api_get(88));
	assert_null(chronik_protocol_api_get(-1));
	/* Every key 0..87 is present, min 0, and named. */
	int unstable = 0;
	for (int16_t k = 0; k < CHRONIK_PROTOCOL_API_COUNT; k++) {
		const chronik_protocol_api_info *a = chronik_protocol_api_get(k);
		assert_non_null(a);
		assert_int_equal(a->api_key, k);
		assert_int_equal(a->min_version, 0);
		assert_true(a->name[0] != '\0');
		unstable += a->unstable;
	}
	/* Share groups (76-79, 83-87) are unstable in 3.9. */
	assert_int_equal(unstable, 9);
	assert_true(chronik_protocol_api_get(78)->unstable);
	assert_true(chronik_protocol_api_get(0)->deprecated_max == 6);
	assert_true(chronik_protocol_api_get(0)->listeners &
		    CHRONIK_PROTOCOL_LISTENER_BROKER);
	assert_false(chronik_protocol_api_get(52)->listeners &
		     CHRONIK_PROTOCOL_LISTENER_BROKER);
}

static void test_tables_errors(void **state)
{
	(void)state;
	int n = 0;
	for (int c = -1; c <= 127; c++) {
		const chronik_protocol_error_info *e =
			chronik_protocol_error_get((int16_t)c);
		assert_non_null(e);
		assert_int_equal(e->code, c);
		n++;
	}
	assert_int_equal(n, 129);
	assert_null(chronik_protocol_error_get(128));
	assert_null(chronik_protocol_error_get(-2));
	assert_string_equal(chronik_protocol_error_name(-1),
			    "UNKNOWN_SERVER_ERROR");
	assert_string_equal(chronik_protocol_error_name(0), "NONE");
	assert_string_equal(chronik_protocol_error_name(3),
			    "UNKNOWN_TOPIC_OR_PARTITION");
	assert_string_equal(chronik_protocol_error_name(35),
			    "UNSUPPORTED_VERSION");
	assert_string_equal(chronik_protocol_error_name(
		CHRONIK_PROTOCOL_ERR_VOTER_NOT_FOUND), "VOTER_NOT_FOUND");
	assert_string_equal(chronik_protocol_error_name(1000), "UNKNOWN");
	assert_true(chronik_protocol_error_get(6)->retriable);
	assert_true(chronik_protocol_error_get(
		CHRONIK_PROTOCOL_ERR_NOT_COORDINATOR)->retriable);
	assert_false(chronik_protocol_error_get(
		CHRONIK_PROTOCOL_ERR_TOPIC_AUTHORIZATION_FAILED)->retriable);
	assert_false(chronik_protocol_error_get(-1)->retriable);
}

static void test_tables_version_pick(void **state)
{
	(void)state;
	chronik_protocol_api_versions_response r;
	chronik_protocol_api_versions_response_api_version k[3];
	chronik_protocol_api_versions_response_init(&r);
	for (int i = 0; i < 3; i++)
		chronik_protocol_api_versions_response_api_version_init(&k[i]);
	k[0].api_key = 0;  k[0].min_version = 0; k[0].max_version = 20;
	k[1].api_key = 3;  k[1].min_version = 1; k[1].max_version = 7;
	k[2].api_key = 18; k[2].min_version = 5; k[2].max_version = 9;
	r.api_keys = k;
	r.api_keys_count = 3;
	int16_t v = -1;
	/* Peer newer than us: our max. */
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 0, -1, -1), 0);
	assert_int_equal(v, 11);
	/* Peer older: its max. */
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 3, -1, -1), 0);
	assert_int_equal(v, 7);
	/* Our own narrower range. */
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 3, 0, 4), 0);
	assert_int_equal(v, 4);
	/* No overlap, missing key, unknown key, bad args. */
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 18, -1, -1),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 1, -1, -1),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 99, -1, -1),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(chronik_protocol_version_pick(&v, &r, 3, 5, 2),
			 CHRONIK_EARG);
	assert_int_equal(chronik_protocol_version_pick(&v, NULL, 3, -1, -1),
			 CHRONIK_EARG);
}

static void test_tables_arena(void **state)
{
	(void)state;
	chronik_protocol_arena *a;
	assert_int_equal(chronik_protocol_arena_new(NULL, 0), CHRONIK_EARG);
	assert_int_equal(chronik_protocol_arena_new(&a, 64), 0);
	uint8_t *p = chronik_protocol_arena_alloc(a, 10);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i], 0);
	/* Larger than a chunk: a new chunk. */
	void *big = chronik_protocol_arena_alloc(a, 100000);
	assert_non_null(big);
	memset(big, 1, 100000);
	chronik_protocol_arena_reset(a);
	assert_non_null(chronik_protocol_arena_alloc(a, 50000));
	assert_non_null(chronik_protocol_arena_alloc(a, 0));
	assert_null(chronik_protocol_arena_alloc(NULL, 1));
	chronik_protocol_arena_reset(NULL);
	chronik_protocol_arena_free(a);
	chronik_protocol_arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_api_ranges),
		cmocka_unit_test(test_tables_errors),
		cmocka_unit_test(test_tables_version_pick),
		cmocka_unit_test(test_tables_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
