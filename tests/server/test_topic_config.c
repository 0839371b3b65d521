/* SPDX-License-Identifier: Apache-2.0 */
/* The topic config catalogue: Kafka's constraints and messages, list
 * configs, canonical values, sources and the partition log config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chronik/common.h"
#include "config.h"
#include "topic_config.h"

static int check(const char *name, const char *value, char *why)
{
	const chronik_tc_def *d = chronik_tc_find(name);

	assert_non_null(d);
	return chronik_tc_check(d, value, why, 256);
}

static void test_values(void **state)
{
	char why[256];
	static const char *const good[][2] = {
		{ "cleanup.policy", "delete" },
		{ "cleanup.policy", "compact,delete" },
		{ "cleanup.policy", " delete , compact " },
		{ "retention.ms", "-1" },
		{ "retention.bytes", "-5" },
		{ "segment.bytes", "1048576" },
		{ "segment.ms", "1" },
		{ "max.message.bytes", "0" },
		{ "compression.type", "zstd" },
		{ "compression.gzip.level", "-1" },
		{ "message.timestamp.type", "LogAppendTime" },
		{ "min.cleanable.dirty.ratio", "0.25" },
		{ "preallocate", "TRUE" },
		{ "delete.retention.ms", "0" },
	};
	static const char *const bad[][3] = {
		{ "cleanup.policy", "", "String must be one of" },
		{ "cleanup.policy", "delete,shred", "compact, delete" },
		{ "retention.ms", "-2", "at least -1" },
		{ "retention.ms", "12x", "Not a number of type LONG" },
		{ "segment.bytes", "1048575", "at least 1048576" },
		{ "segment.bytes", "2147483648", "Not a number of type INT" },
		{ "segment.ms", "0", "at least 1" },
		{ "compression.type", "brotli", "String must be one of" },
		{ "compression.gzip.level", "0", "between 1 and 9, or -1" },
		{ "message.timestamp.type", "createtime", "one of" },
		{ "min.cleanable.dirty.ratio", "1.5", "between 0 and 1" },
		{ "preallocate", "yes", "true or false" },
		{ "min.insync.replicas", "0", "at least 1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (check(good[i][0], good[i][1], why) != 0)
			fail_msg("%s=%s: %s", good[i][0], good[i][1], why);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(check(bad[i][0], bad[i][1], why),
				 CHRONIK_EARG);
		if (!strstr(why, bad[i][2]) || !strstr(why, bad[i][0]))
			fail_msg("%s=%s: '%s'", bad[i][0], bad[i][1], why);
	}
	assert_int_equal(check("retention.ms", NULL, why), CHRONIK_EARG);
	assert_non_null(strstr(why, "Null value"));
	assert_null(chronik_tc_find("no.such.config"));
}

static void test_set(void **state)
{
	char why[256];
	chronik_storage_meta_config unknown[] = { { "retention.ms", "1" },
						  { "bogus", "1" } };
	chronik_storage_meta_config mir[] = { { "min.insync.replicas", "2" } };

	(void)state;
	assert_int_equal(chronik_tc_validate(unknown, 2, 1, why, sizeof why),
			 CHRONIK_EARG);
	assert_string_equal(why, "Unknown topic config name: bogus");
	assert_int_equal(chronik_tc_validate(mir, 1, 1, why, sizeof why),
			 CHRONIK_EARG);
	assert_int_equal(chronik_tc_validate(mir, 1, 3, why, sizeof why), 0);
	assert_int_equal(chronik_tc_validate(NULL, 0, 1, why, sizeof why), 0);
}

static void test_normalize(void **state)
{
	char buf[64];
	const chronik_tc_def *cp = chronik_tc_find("cleanup.policy");

	(void)state;
	assert_string_equal(chronik_tc_normalize(cp, " delete , compact",
						 buf, sizeof buf),
			    "compact,delete");
	assert_string_equal(chronik_tc_normalize(cp, "compact", buf,
						 sizeof buf), "compact");
	assert_string_equal(chronik_tc_normalize(
		chronik_tc_find("retention.ms"), " 42 ", buf, sizeof buf),
		"42");
	assert_string_equal(chronik_tc_normalize(
		chronik_tc_find("preallocate"), "True", buf, sizeof buf),
		"true");
}

static void test_effective_and_build(void **state)
{
	chronik_config cfg;
	chronik_storage_topic_config sc;
	char buf[64], why[256];
	int8_t src;
	chronik_storage_meta_config cfgs[] = {
		{ "retention.ms", "1000" },
		{ "cleanup.policy", "compact" },
		{ "segment.bytes", "2097152" },
		{ "message.timestamp.type", "LogAppendTime" },
		{ "max.message.bytes", "5000" },
	};

	(void)state;
	chronik_config_defaults(&cfg);
	cfg.topic_defaults.retention_ms = 777;
	const chronik_tc_def *ret = chronik_tc_find("retention.ms");
	assert_string_equal(chronik_tc_effective(&cfg, ret, cfgs, 5, buf,
						 sizeof buf, &src), "1000");
	assert_int_equal(src, CHRONIK_TC_SRC_TOPIC);
	assert_string_equal(chronik_tc_effective(&cfg, ret, NULL, 0, buf,
						 sizeof buf, &src), "777");
	assert_int_equal(src, CHRONIK_TC_SRC_DEFAULT);
	assert_string_equal(chronik_tc_effective(&cfg,
		chronik_tc_find("segment.index.bytes"), NULL, 0, buf,
		sizeof buf, &src), "10485760");

	assert_int_equal(chronik_tc_build(&cfg, &sc, cfgs, 5, why,
					  sizeof why), 0);
	assert_int_equal(sc.retention_ms, 1000);
	assert_int_equal(sc.cleanup_policy, CHRONIK_STORAGE_CLEANUP_COMPACT);
	assert_int_equal(sc.segment_bytes, 2097152);
	assert_int_equal(sc.max_message_bytes, 5000);
	assert_int_equal(sc.message_timestamp_type,
			 CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME);
	assert_int_equal(chronik_tc_build(&cfg, &sc, NULL, 0, why,
					  sizeof why), 0);
	assert_int_equal(sc.retention_ms, 777);
	assert_int_equal(sc.cleanup_policy, CHRONIK_STORAGE_CLEANUP_DELETE);
	chronik_config_free(&cfg);
}

static void test_catalogue_sorted(void **state)
{
	(void)state;
	for (size_t i = 1; i < chronik_tc_count(); i++)
		assert_true(strcmp(chronik_tc_at(i - 1)->name,
				   chronik_tc_at(i)->name) < 0);
	assert_null(chronik_tc_at(chronik_tc_count()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_effective_and_build),
		cmocka_unit_test(test_catalogue_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
