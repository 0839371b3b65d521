/* SPDX-License-Identifier: Apache-2.0 */
/* Round trips of every request, response and data schema in every version
 * with generated random instances: encode -> decode -> compare -> re-encode
 * byte-identical. Plus defaults, ignorable fields and unknown tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen/testsupport.c"

#define SEEDS 24

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

static int enc(int kind, size_t *n, uint8_t *buf, size_t cap, int key,
	       int16_t v, const void *m, chronik_protocol_errinfo *err)
{
	switch (kind) {
	case CHRONIK__K_REQUEST:
		return chronik_protocol_request_encode(n, buf, cap,
						       (int16_t)key, v, m, err);
	case CHRONIK__K_RESPONSE:
		return chronik_protocol_response_encode(n, buf, cap,
							(int16_t)key, v, m,
							err);
	default:
		return chronik_protocol_data_encode(n, buf, cap, key, v, m,
						    err);
	}
}

static int dec(int kind, void **out, int key, int16_t v, const uint8_t *buf,
	       size_t len, chronik_protocol_errinfo *err)
{
	switch (kind) {
	case CHRONIK__K_REQUEST:
		return chronik_protocol_request_decode(out, arena, (int16_t)key,
						       v, buf, len, err);
	case CHRONIK__K_RESPONSE:
		return chronik_protocol_response_decode(out, arena,
							(int16_t)key, v, buf,
							len, err);
	default:
		return chronik_protocol_data_decode(out, arena, key, v, buf,
						    len, err);
	}
}

/* One round trip; returns the number of encoded bytes. */
static size_t roundtrip(int kind, int key, int16_t v, uint64_t seed)
{
	chronik__ts g = { seed * 0x2545f4914f6cdd1dull + 1, arena, NULL };
	chronik_protocol_errinfo err;
	void *m = chronik__ts_random(&g, kind, key, v), *m2 = NULL;
	size_t n = 0, n2 = 0;
	assert_non_null(m);
	int rc = enc(kind, &n, NULL, 0, key, v, m, &err);
	if (rc)
		fail_msg("encode size %s: %s", chronik_strerror(rc),
			 err.message);
	uint8_t *b1 = malloc(n + 1), *b2 = malloc(n + 1);
	assert_non_null(b1);
	assert_non_null(b2);
	size_t w = 0;
	assert_int_equal(enc(kind, &w, b1, n, key, v, m, &err), 0);
	assert_int_equal(w, n);
	rc = dec(kind, &m2, key, v, b1, n, &err);
	if (rc)
		fail_msg("kind %d key %d v%d seed %llu: decode: %s", kind, key,
			 v, (unsigned long long)seed, err.message);
	chronik__ts_last_diff = NULL;
	if (chronik__ts_compare(kind, key, m, m2) != 0)
		fail_msg("kind %d key %d v%d seed %llu: field %s differs",
			 kind, key, v, (unsigned long long)seed,
			 chronik__ts_last_diff);
	assert_int_equal(enc(kind, &n2, b2, n + 1, key, v, m2, &err), 0);
	assert_int_equal(n2, n);
	assert_memory_equal(b1, b2, n);
	free(b1);
	free(b2);
	chronik_protocol_arena_reset(arena);
	return n;
}

static void roundtrip_kind(int kind)
{
	unsigned long msgs = 0, trips = 0, bytes = 0;
	for (int key = 0;; key++) {
		const chronik__msginfo *mi = chronik__gen_info(kind, key);
		if (!mi)
			break;
		msgs++;
		for (int v = mi->min_version; v <= mi->max_version; v++)
			for (uint64_t s = 0; s < SEEDS; s++) {
				bytes += roundtrip(kind, key, (int16_t)v,
						   s + (uint64_t)key * 1000);
				trips++;
			}
	}
	print_message("# %lu messages, %lu round trips, %lu bytes\n", msgs,
		      trips, bytes);
}

static void test_messages_roundtrip_requests(void **state)
{
	(void)state;
	roundtrip_kind(CHRONIK__K_REQUEST);
}

static void test_messages_roundtrip_responses(void **state)
{
	(void)state;
	roundtrip_kind(CHRONIK__K_RESPONSE);
}

static void test_messages_roundtrip_data(void **state)
{
	(void)state;
	roundtrip_kind(CHRONIK__K_DATA);
}

static void test_messages_all_apis_present(void **state)
{
	(void)state;
	int versions = 0;
	for (int key = 0; key < CHRONIK_PROTOCOL_API_COUNT; key++) {
		const chronik__msginfo *q = chronik__gen_info(
			CHRONIK__K_REQUEST, key);
		const chronik__msginfo *p = chronik__gen_info(
			CHRONIK__K_RESPONSE, key);
		assert_non_null(q);
		assert_non_null(p);
		assert_int_equal(q->min_version, p->min_version);
		assert_int_equal(q->max_version, p->max_version);
		versions += q->max_version - q->min_version + 1;
	}
	assert_int_equal(CHRONIK_PROTOCOL_API_COUNT, 88);
	assert_null(chronik__gen_info(CHRONIK__K_REQUEST, 88));
	print_message("# %d request versions\n", versions);
}

/* A hand-built Produce v3 request, checked byte for byte. */
static void test_messages_produce_v3_bytes(void **state)
{
	(void)state;
	static const uint8_t rec[] = { 1, 2, 3, 4, 5 };
	chronik_protocol_produce_request_partition_produce_data part;
	chronik_protocol_produce_request_topic_produce_data topic;
	chronik_protocol_produce_request req;
	chronik_protocol_produce_request_partition_produce_data_init(&part);
	chronik_protocol_produce_request_topic_produce_data_init(&topic);
	chronik_protocol_produce_request_init(&req);
	assert_int_equal(req.transactional_id.len, -1);
	part.index = 7;
	part.records.ptr = rec;
	part.records.len = 5;
	topic.name.ptr = "t";
	topic.name.len = 1;
	topic.partition_data = &part;
	topic.partition_data_count = 1;
	req.acks = -1;
	req.timeout_ms = 1000;
	req.topic_data = &topic;
	req.topic_data_count = 1;
	static const uint8_t want[] = {
		0xff, 0xff,             /* transactional id: null */
		0xff, 0xff,             /* acks -1 */
		0, 0, 0x03, 0xe8,       /* timeout 1000 */
		0, 0, 0, 1,             /* 1 topic */
		0, 1, 't',
		0, 0, 0, 1,             /* 1 partition */
		0, 0, 0, 7,
		0, 0, 0, 5, 1, 2, 3, 4, 5
	};
	uint8_t buf[64];
	size_t n;
	assert_int_equal(chronik_protocol_request_encode(&n, buf, sizeof buf,
		0, 3, &req, NULL), 0);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(buf, want, n);
	void *out;
	assert_int_equal(chronik_protocol_request_decode(&out, arena, 0, 3,
		buf, n, NULL), 0);
	const chronik_protocol_produce_request *d = out;
	assert_int_equal(d->topic_data_count, 1);
	/* Zero copy: the records view points into the input buffer. */
	assert_ptr_equal(d->topic_data[0].partition_data[0].records.ptr,
			 buf + n - 5);
	assert_ptr_equal(d->topic_data[0].name.ptr, (const char *)buf + 14);
	chronik_protocol_arena_reset(arena);
}

/* Decoding an old version fills the schema defaults of absent fields. */
static void test_messages_defaults_for_absent_fields(void **state)
{
	(void)state;
	/* ApiVersionsResponse v0: error 0, no api keys. */
	static const uint8_t v0[] = { 0, 0, 0, 0, 0, 0 };
	void *out;
	assert_int_equal(chronik_protocol_response_decode(&out, arena, 18, 0,
		v0, sizeof v0, NULL), 0);
	const chronik_protocol_api_versions_response *r = out;
	assert_int_equal(r->throttle_time_ms, 0);
	assert_int_equal(r->finalized_features_epoch, -1);
	assert_false(r->zk_migration_ready);
	/* JoinGroupRequest v0: no RebalanceTimeoutMs -> default -1;
	 * GroupInstanceId (v5+) defaults to null. */
	chronik_protocol_join_group_request jg;
	chronik_protocol_join_group_request_init(&jg);
	assert_int_equal(jg.rebalance_timeout_ms, -1);
	assert_int_equal(jg.group_instance_id.len, -1);
	/* FetchRequest: ReplicaId default -1, MaxBytes 0x7fffffff. */
	chronik_protocol_fetch_request fr;
	chronik_protocol_fetch_request_init(&fr);
	assert_int_equal(fr.replica_id, -1);
	assert_int_equal(fr.max_bytes, 0x7fffffff);
	assert_int_equal(fr.isolation_level, 0);
	chronik_protocol_arena_reset(arena);
}

/* Encoding a non-default value in a version lacking the field fails
 * unless the field is ignorable. */
static void test_messages_missing_field_rules(void **state)
{
	(void)state;
	chronik_protocol_produce_request req;
	chronik_protocol_errinfo err;
	size_t n;
	chronik_protocol_produce_request_init(&req);
	req.transactional_id.ptr = "tx";
	req.transactional_id.len = 2;
	assert_int_equal(chronik_protocol_request_encode(&n, NULL, 0, 0, 2,
		&req, &err), CHRONIK_EARG);
	assert_string_equal(err.field, "ProduceRequest.TransactionalId");
	assert_non_null(strstr(err.message, "ProduceRequest v2"));
	assert_int_equal(chronik_protocol_request_encode(&n, NULL, 0, 0, 3,
		&req, &err), 0);

	/* ThrottleTimeMs is ignorable: dropped silently in v0. */
	chronik_protocol_api_versions_response resp;
	chronik_protocol_api_versions_response_init(&resp);
	resp.throttle_time_ms = 100;
	assert_int_equal(chronik_protocol_response_encode(&n, NULL, 0, 18, 0,
		&resp, &err), 0);
	assert_int_equal(n, 6);

	/* Null where the version does not allow it. */
	chronik_protocol_produce_request_init(&req);
	req.topic_data_count = -1;
	assert_int_equal(chronik_protocol_request_encode(&n, NULL, 0, 0, 9,
		&req, &err), CHRONIK_EARG);
	assert_string_equal(err.field, "ProduceRequest.TopicData");

	/* Buffer too small: ETOOBIG with the size needed. */
	uint8_t small[4];
	chronik_protocol_produce_request_init(&req);
	assert_int_equal(chronik_protocol_request_encode(&n, small,
		sizeof small, 0, 3, &req, &err), CHRONIK_ETOOBIG);
	assert_int_equal(n, 12);
}

/* Unknown tagged fields survive decode and re-encode, merged in tag order
 * with the known ones. */
static void test_messages_unknown_tags_kept(void **state)
{
	(void)state;
	/* ApiVersionsResponse v3: error, 0 keys (compact: 1), throttle,
	 * tags: 2 fields: tag 1 (known: FinalizedFeaturesEpoch = 5) and
	 * tag 9 (unknown, 2 bytes). */
	static const uint8_t in[] = {
		0, 0, 1, 0, 0, 0, 0,
		2,
		1, 8, 0, 0, 0, 0, 0, 0, 0, 5,
		9, 2, 0xab, 0xcd
	};
	void *out;
	chronik_protocol_errinfo err;
	assert_int_equal(chronik_protocol_response_decode(&out, arena, 18, 3,
		in, sizeof in, &err), 0);
	chronik_protocol_api_versions_response *r = out;
	assert_int_equal(r->finalized_features_epoch, 5);
	assert_int_equal(r->unknown_tags.count, 1);
	assert_int_equal(r->unknown_tags.items[0].tag, 9);
	assert_int_equal(r->unknown_tags.items[0].data.len, 2);
	uint8_t buf[64];
	size_t n;
	assert_int_equal(chronik_protocol_response_encode(&n, buf, sizeof buf,
		18, 3, r, &err), 0);
	assert_int_equal(n, sizeof in);
	assert_memory_equal(buf, in, n);

	/* An unknown tag may not reuse a tag the version knows. */
	chronik_protocol_tagged_field tf = { 0, { (const uint8_t *)"z", 1 } };
	r->unknown_tags.items = &tf;
	r->unknown_tags.count = 1;
	assert_int_equal(chronik_protocol_response_encode(&n, buf, sizeof buf,
		18, 3, r, &err), CHRONIK_EARG);
	assert_non_null(strstr(err.message, "ApiVersionsResponse v3"));
	/* Unknown tags must be sorted. */
	chronik_protocol_tagged_field two[2] = {
		{ 12, { (const uint8_t *)"a", 1 } },
		{ 11, { (const uint8_t *)"b", 1 } }
	};
	r->unknown_tags.items = two;
	r->unknown_tags.count = 2;
	assert_int_equal(chronik_protocol_response_encode(&n, buf, sizeof buf,
		18, 3, r, &err), CHRONIK_EARG);
	/* But at v3 a tag 4 is unknown, and written after the known tag 1. */
	tf.tag = 4;
	r->unknown_tags.items = &tf;
	r->unknown_tags.count = 1;
	assert_int_equal(chronik_protocol_response_encode(&n, buf, sizeof buf,
		18, 3, r, &err), 0);
	static const uint8_t want[] = {
		0, 0, 1, 0, 0, 0, 0,
		2,
		1, 8, 0, 0, 0, 0, 0, 0, 0, 5,
		4, 1, 'z'
	};
	assert_int_equal(n, sizeof want);
	assert_memory_equal(buf, want, n);
	chronik_protocol_arena_reset(arena);
}

static void test_messages_new(void **state)
{
	(void)state;
	void *m;
	assert_int_equal(chronik_protocol_response_new(&m, arena, 1), 0);
	chronik_protocol_fetch_response *f = m;
	assert_int_equal(f->responses_count, 0);
	assert_int_equal(chronik_protocol_request_new(&m, arena, 1), 0);
	assert_int_equal(((chronik_protocol_fetch_request *)m)->replica_id,
			 -1);
	assert_int_equal(chronik_protocol_request_new(&m, arena, 88),
			 CHRONIK_EUNSUPPORTED);
	assert_int_equal(chronik_protocol_request_new(&m, arena, -1),
			 CHRONIK_EUNSUPPORTED);
	chronik_protocol_arena_reset(arena);
}

/* Data schemas: a ConsumerProtocolSubscription v1 as a client sends it
 * (after the int16 version). */
static void test_messages_consumer_subscription(void **state)
{
	(void)state;
	static const uint8_t in[] = {
		0, 0, 0, 1, 0, 3, 'f', 'o', 'o', /* topics ["foo"] */
		0xff, 0xff, 0xff, 0xff,          /* user data null */
		0, 0, 0, 0                       /* owned partitions [] */
	};
	void *out;
	chronik_protocol_errinfo err;
	assert_int_equal(chronik_protocol_data_decode(&out, arena,
		CHRONIK_PROTOCOL_DATA_CONSUMER_PROTOCOL_SUBSCRIPTION, 1, in,
		sizeof in, &err), 0);
	const chronik_protocol_consumer_protocol_subscription *s = out;
	assert_int_equal(s->topics_count, 1);
	assert_int_equal(s->topics[0].len, 3);
	assert_memory_equal(s->topics[0].ptr, "foo", 3);
	assert_int_equal(s->user_data.len, -1);
	assert_int_equal(s->generation_id, -1);
	chronik_protocol_arena_reset(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages_all_apis_present),
		cmocka_unit_test(test_messages_roundtrip_requests),
		cmocka_unit_test(test_messages_roundtrip_responses),
		cmocka_unit_test(test_messages_roundtrip_data),
		cmocka_unit_test(test_messages_produce_v3_bytes),
		cmocka_unit_test(test_messages_defaults_for_absent_fields),
		cmocka_unit_test(test_messages_missing_field_rules),
		cmocka_unit_test(test_messages_unknown_tags_kept),
		cmocka_unit_test(test_messages_new),
		cmocka_unit_test(test_messages_consumer_subscription),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
