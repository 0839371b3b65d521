/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka topic configs: the catalogue of the names chronik-server accepts
 * (type, constraints, broker synonym, default, documentation), validation
 * with Kafka's error texts, effective values and their sources for
 * DescribeConfigs / CreateTopics v5+, and the translation into the
 * partition log's chronik_storage_topic_config.
 *
 * Constraints follow Kafka 4.0's topic configs (TopicConfig, LogConfig,
 * KIP-1030: segment.bytes at least 1 MiB). Names outside the catalogue
 * are refused with INVALID_CONFIG, as Kafka does.
 *
 * Plain functions over plain data: callable from any thread.
 */
#ifndef CHRONIK_SERVER_TOPIC_CONFIG_H
#define CHRONIK_SERVER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chronik/storage.h>

#include "config.h"

/* Kafka's DescribeConfigs ConfigType. */
enum chronik_tc_type {
	CHRONIK_TC_UNKNOWN = 0,
	CHRONIK_TC_BOOLEAN = 1,
	CHRONIK_TC_STRING = 2,
	CHRONIK_TC_INT = 3,
	CHRONIK_TC_SHORT = 4,
	CHRONIK_TC_LONG = 5,
	CHRONIK_TC_DOUBLE = 6,
	CHRONIK_TC_LIST = 7,
	CHRONIK_TC_CLASS = 8,
	CHRONIK_TC_PASSWORD = 9
};

/* Kafka's DescribeConfigs ConfigSource. */
enum chronik_tc_source {
	CHRONIK_TC_SRC_UNKNOWN = 0,
	CHRONIK_TC_SRC_TOPIC = 1,
	CHRONIK_TC_SRC_DYNAMIC_BROKER = 2,
	CHRONIK_TC_SRC_DYNAMIC_DEFAULT_BROKER = 3,
	CHRONIK_TC_SRC_STATIC_BROKER = 4,
	CHRONIK_TC_SRC_DEFAULT = 5
};

/* One topic config of the catalogue. */
typedef struct chronik_tc_def {
	const char *name;
	int8_t type;             /* chronik_tc_type */
	const char *synonym;     /* broker-level config name */
	const char *dflt;        /* Kafka's default, as text */
	int64_t min, max;        /* INT, LONG: inclusive range */
	const char *const *choices; /* STRING, LIST: allowed values */
	const char *doc;
} chronik_tc_def;

/* Number of catalogue entries and entry i (name order). */
size_t chronik_tc_count(void);
const chronik_tc_def *chronik_tc_at(size_t i);
/* Look a name up; NULL when Kafka (as served here) does not know it. */
const chronik_tc_def *chronik_tc_find(const char *name);

/* Check one value against its definition. 0, or CHRONIK_EARG with a
 * Kafka-style message ("Invalid value x for configuration y: ...") in
 * why. */
int chronik_tc_check(const chronik_tc_def *d, const char *value,
		     char *why, size_t cap);

/* The canonical text of a valid value, as stored in the metadata store:
 * integers and booleans without blanks, cleanup.policy as "delete",
 * "compact" or "compact,delete". Returns buf or v. */
const char *chronik_tc_normalize(const chronik_tc_def *d, const char *v,
				 char *buf, size_t cap);

/* Validate a whole set: every name known, every value valid (NULL
 * values refused), min.insync.replicas at most `replication_factor`
 * (skipped when it is <= 0). 0 or CHRONIK_EARG with the message. */
int chronik_tc_validate(const chronik_storage_meta_config *cfgs, size_t n,
			int32_t replication_factor, char *why, size_t cap);

/* The value a topic sets for `name` (the last entry wins), or NULL. */
const char *chronik_tc_lookup(const chronik_storage_meta_config *cfgs,
			      size_t n, const char *name);

/* The broker's default for d: [topic_defaults] (and
 * min_insync_replicas) where chronik-server has a setting, else Kafka's
 * default. *source: STATIC_BROKER when the setting came from the file,
 * the environment or a flag, DEFAULT otherwise. The text is in buf or
 * static. */
const char *chronik_tc_default(const chronik_config *cfg,
			       const chronik_tc_def *d, char *buf,
			       size_t cap, int8_t *source);

/* Effective value of d for a topic with configs cfgs: the topic's own
 * value (source TOPIC) or the broker default. */
const char *chronik_tc_effective(const chronik_config *cfg,
				 const chronik_tc_def *d,
				 const chronik_storage_meta_config *cfgs,
				 size_t n, char *buf, size_t cap,
				 int8_t *source);

/* The partition log configuration of a topic: broker defaults, then the
 * topic's (validated) configs. 0 or CHRONIK_EARG with the message. */
int chronik_tc_build(const chronik_config *cfg,
		     chronik_storage_topic_config *out,
		     const chronik_storage_meta_config *cfgs, size_t n,
		     char *why, size_t cap);

#endif /* CHRONIK_SERVER_TOPIC_CONFIG_H */
