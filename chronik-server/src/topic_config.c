/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka topic configs: catalogue, validation, effective values and the
 * partition log configuration (see topic_config.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "topic_config.h"

static const char *const cleanup_policies[] = { "compact", "delete", NULL };
static const char *const compression_types[] = {
	"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL
};
static const char *const timestamp_types[] = {
	"CreateTime", "LogAppendTime", NULL
};

#define NOMAX INT64_MAX
#define I32MAX ((int64_t)INT32_MAX)

/* Name order. min/max only for INT and LONG. */
static const chronik_tc_def defs[] = {
	{ "cleanup.policy", CHRONIK_TC_LIST, "log.cleanup.policy", "delete",
	  0, 0, cleanup_policies,
	  "The retention policy of old log segments: \"delete\" discards "
	  "them by time or size, \"compact\" keeps the newest record of "
	  "each key; both may be given (\"compact,delete\")." },
	{ "compression.gzip.level", CHRONIK_TC_INT, "compression.gzip.level",
	  "-1", -1, 9, NULL,
	  "The gzip level when compression.type is gzip: 1-9 or -1 for "
	  "the codec's default." },
	{ "compression.lz4.level", CHRONIK_TC_INT, "compression.lz4.level",
	  "9", 1, 17, NULL,
	  "The lz4 level when compression.type is lz4." },
	{ "compression.type", CHRONIK_TC_STRING, "compression.type",
	  "producer", 0, 0, compression_types,
	  "The compression of the topic's batches: a codec, \"uncompressed\""
	  " or \"producer\" (keep what the producer sent)." },
	{ "compression.zstd.level", CHRONIK_TC_INT, "compression.zstd.level",
	  "3", -131072, 22, NULL,
	  "The zstd level when compression.type is zstd." },
	{ "delete.retention.ms", CHRONIK_TC_LONG,
	  "log.cleaner.delete.retention.ms", "86400000", 0, NOMAX, NULL,
	  "How long delete tombstones are kept on compacted topics." },
	{ "file.delete.delay.ms", CHRONIK_TC_LONG,
	  "log.segment.delete.delay.ms", "60000", 0, NOMAX, NULL,
	  "The time to wait before deleting a file from the filesystem." },
	{ "flush.messages", CHRONIK_TC_LONG, "log.flush.interval.messages",
	  "9223372036854775807", 1, NOMAX, NULL,
	  "Force an fsync after this many messages (the WAL syncs "
	  "anyway)." },
	{ "flush.ms", CHRONIK_TC_LONG, "log.flush.interval.ms",
	  "9223372036854775807", 0, NOMAX, NULL,
	  "Force an fsync after this long (the WAL syncs anyway)." },
	{ "index.interval.bytes", CHRONIK_TC_INT, "log.index.interval.bytes",
	  "4096", 0, I32MAX, NULL,
	  "How often an offset index entry is added." },
	{ "local.retention.bytes", CHRONIK_TC_LONG,
	  "log.local.retention.bytes", "-2", -2, NOMAX, NULL,
	  "Local size limit of tiered topics (-2: retention.bytes)." },
	{ "local.retention.ms", CHRONIK_TC_LONG, "log.local.retention.ms",
	  "-2", -2, NOMAX, NULL,
	  "Local time limit of tiered topics (-2: retention.ms)." },
	{ "max.compaction.lag.ms", CHRONIK_TC_LONG,
	  "log.cleaner.max.compaction.lag.ms", "9223372036854775807", 1,
	  NOMAX, NULL,
	  "The longest a message stays ineligible for compaction." },
	{ "max.message.bytes", CHRONIK_TC_INT, "message.max.bytes",
	  "1048588", 0, I32MAX, NULL,
	  "The largest record batch size allowed." },
	{ "message.timestamp.after.max.ms", CHRONIK_TC_LONG,
	  "log.message.timestamp.after.max.ms", "3600000", 0, NOMAX, NULL,
	  "How far a CreateTime timestamp may be ahead of the broker's "
	  "clock." },
	{ "message.timestamp.before.max.ms", CHRONIK_TC_LONG,
	  "log.message.timestamp.before.max.ms", "9223372036854775807", 0,
	  NOMAX, NULL,
	  "How far a CreateTime timestamp may be behind the broker's "
	  "clock." },
	{ "message.timestamp.type", CHRONIK_TC_STRING,
	  "log.message.timestamp.type", "CreateTime", 0, 0, timestamp_types,
	  "Whether records keep the producer's timestamp (CreateTime) or "
	  "get the broker's (LogAppendTime)." },
	{ "min.cleanable.dirty.ratio", CHRONIK_TC_DOUBLE,
	  "log.cleaner.min.cleanable.ratio", "0.5", 0, 0, NULL,
	  "The dirty share of a log above which it is compacted." },
	{ "min.compaction.lag.ms", CHRONIK_TC_LONG,
	  "log.cleaner.min.compaction.lag.ms", "0", 0, NOMAX, NULL,
	  "The shortest time a message stays uncompacted." },
	{ "min.insync.replicas", CHRONIK_TC_INT, "min.insync.replicas", "1",
	  1, I32MAX, NULL,
	  "The replicas that must acknowledge a write with acks=all." },
	{ "preallocate", CHRONIK_TC_BOOLEAN, "log.preallocate", "false", 0, 0,
	  NULL, "Preallocate segment files." },
	{ "remote.storage.enable", CHRONIK_TC_BOOLEAN, NULL, "false", 0, 0,
	  NULL, "Tiered storage for the topic." },
	{ "retention.bytes", CHRONIK_TC_LONG, "log.retention.bytes", "-1",
	  INT64_MIN, NOMAX, NULL,
	  "The largest size of a partition before old segments are "
	  "discarded (delete policy); -1: no limit." },
	{ "retention.ms", CHRONIK_TC_LONG, "log.retention.ms", "604800000",
	  -1, NOMAX, NULL,
	  "How long a segment is kept (delete policy); -1: forever." },
	{ "segment.bytes", CHRONIK_TC_INT, "log.segment.bytes", "1073741824",
	  1048576, I32MAX, NULL, "The segment file size of the log." },
	{ "segment.index.bytes", CHRONIK_TC_INT, "log.index.size.max.bytes",
	  "10485760", 4, I32MAX, NULL,
	  "The size of the offset index of a segment." },
	{ "segment.jitter.ms", CHRONIK_TC_LONG, "log.roll.jitter.ms", "0", 0,
	  NOMAX, NULL, "Random jitter subtracted from segment.ms." },
	{ "segment.ms", CHRONIK_TC_LONG, "log.roll.ms", "604800000", 1,
	  NOMAX, NULL,
	  "The time after which a segment is rolled even if not full." },
	{ "unclean.leader.election.enable", CHRONIK_TC_BOOLEAN,
	  "unclean.leader.election.enable", "false", 0, 0, NULL,
	  "Whether an out-of-sync replica may become leader." },
};

#define NDEFS (sizeof defs / sizeof defs[0])

size_t chronik_tc_count(void)
{
	return NDEFS;
}

const chronik_tc_def *chronik_tc_at(size_t i)
{
	return i < NDEFS ? &defs[i] : NULL;
}

const chronik_tc_def *chronik_tc_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

static const char *type_name(int8_t t)
{
	return t == CHRONIK_TC_INT ? "INT" : t == CHRONIK_TC_LONG ? "LONG" :
	       t == CHRONIK_TC_DOUBLE ? "DOUBLE" : "STRING";
}

/* Kafka trims config values before parsing them. */
static int parse_long(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (*s == ' ' || *s == '\t')
		s++;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return CHRONIK_EARG;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end)
		return CHRONIK_EARG;
	*out = v;
	return 0;
}

static bool in_choices(const char *const *c, const char *s, size_t len)
{
	for (; *c; c++)
		if (strlen(*c) == len && memcmp(*c, s, len) == 0)
			return true;
	return false;
}

static void choices_text(const char *const *c, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; *c && o < cap; c++) {
		int k = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", *c);
		if (k < 0)
			break;
		o += (size_t)k;
	}
}

int chronik_tc_check(const chronik_tc_def *d, const char *v, char *why,
		     size_t cap)
{
	char list[160];
	int64_t x;

	if (!v) {
		snprintf(why, cap, "Null value not supported for topic "
			 "configs: %s", d->name);
		return CHRONIK_EARG;
	}
	switch (d->type) {
	case CHRONIK_TC_INT:
	case CHRONIK_TC_LONG:
		if (parse_long(v, &x) != 0 ||
		    (d->type == CHRONIK_TC_INT &&
		     (x < INT32_MIN || x > INT32_MAX))) {
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Not a number of type %s", v, d->name,
				 type_name(d->type));
			return CHRONIK_EARG;
		}
		if (strcmp(d->name, "compression.gzip.level") == 0) {
			if (x == -1 || (x >= 1 && x <= 9))
				return 0;
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Value must be between 1 and 9, or -1",
				 v, d->name);
			return CHRONIK_EARG;
		}
		if (x < d->min) {
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Value must be at least %" PRId64, v,
				 d->name, d->min);
			return CHRONIK_EARG;
		}
		if (x > d->max) {
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Value must be no more than %" PRId64, v,
				 d->name, d->max);
			return CHRONIK_EARG;
		}
		return 0;
	case CHRONIK_TC_DOUBLE: {
		char *end;
		double f;
		errno = 0;
		f = strtod(v, &end);
		while (*end == ' ')
			end++;
		if (errno || end == v || *end || !isfinite(f)) {
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Not a number of type DOUBLE", v, d->name);
			return CHRONIK_EARG;
		}
		if (f < 0.0 || f > 1.0) {
			snprintf(why, cap, "Invalid value %s for configuration "
				 "%s: Value must be between 0 and 1", v,
				 d->name);
			return CHRONIK_EARG;
		}
		return 0;
	}
	case CHRONIK_TC_BOOLEAN: {
		const char *s = v;
		size_t n;
		while (*s == ' ')
			s++;
		n = strlen(s);
		while (n && s[n - 1] == ' ')
			n--;
		if ((n == 4 && strncasecmp(s, "true", 4) == 0) ||
		    (n == 5 && strncasecmp(s, "false", 5) == 0))
			return 0;
		snprintf(why, cap, "Invalid value %s for configuration %s: "
			 "Expected value to be either true or false", v,
			 d->name);
		return CHRONIK_EARG;
	}
	case CHRONIK_TC_STRING:
		if (!d->choices || in_choices(d->choices, v, strlen(v)))
			return 0;
		choices_text(d->choices, list, sizeof list);
		snprintf(why, cap, "Invalid value %s for configuration %s: "
			 "String must be one of: %s", v, d->name, list);
		return CHRONIK_EARG;
	case CHRONIK_TC_LIST: {
		const char *s = v;
		size_t items = 0;
		for (;;) {
			const char *e = strchr(s, ',');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			const char *a = s;
			while (n && *a == ' ')
				a++, n--;
			while (n && a[n - 1] == ' ')
				n--;
			if (n == 0 || !in_choices(d->choices, a, n))
				goto bad_list;
			items++;
			if (!e)
				break;
			s = e + 1;
		}
		if (items > 0)
			return 0;
bad_list:
		choices_text(d->choices, list, sizeof list);
		snprintf(why, cap, "Invalid value %s for configuration %s: "
			 "String must be one of: %s", v, d->name, list);
		return CHRONIK_EARG;
	}
	default:
		return 0;
	}
}

const char *chronik_tc_normalize(const chronik_tc_def *d, const char *v,
				 char *buf, size_t cap)
{
	int64_t x;

	switch (d->type) {
	case CHRONIK_TC_INT:
	case CHRONIK_TC_LONG:
		if (parse_long(v, &x) != 0)
			return v;
		snprintf(buf, cap, "%" PRId64, x);
		return buf;
	case CHRONIK_TC_BOOLEAN:
		return strcasestr(v, "true") ? "true" : "false";
	case CHRONIK_TC_LIST: {
		bool del = strstr(v, "delete") != NULL;
		bool cmp = strstr(v, "compact") != NULL;
		return del && cmp ? "compact,delete" : cmp ? "compact" :
		       "delete";
	}
	default:
		return v;
	}
}

const char *chronik_tc_lookup(const chronik_storage_meta_config *cfgs,
			      size_t n, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < n; i++)
		if (cfgs[i].key && strcmp(cfgs[i].key, name) == 0)
			v = cfgs[i].value;
	return v;
}

int chronik_tc_validate(const chronik_storage_meta_config *cfgs, size_t n,
			int32_t rf, char *why, size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		const chronik_tc_def *d = chronik_tc_find(cfgs[i].key);
		int rc;

		if (!d) {
			snprintf(why, cap, "Unknown topic config name: %s",
				 cfgs[i].key ? cfgs[i].key : "(null)");
			return CHRONIK_EARG;
		}
		rc = chronik_tc_check(d, cfgs[i].value, why, cap);
		if (rc != 0)
			return rc;
	}
	const char *mir = chronik_tc_lookup(cfgs, n, "min.insync.replicas");
	int64_t x;
	if (mir && rf > 0 && parse_long(mir, &x) == 0 && x > rf) {
		snprintf(why, cap, "Invalid value %s for configuration "
			 "min.insync.replicas: it must be at most the "
			 "replication factor (%d)", mir, (int)rf);
		return CHRONIK_EARG;
	}
	return 0;
}

static int8_t origin_source(const chronik_config *cfg, const char *key)
{
	const chronik_config_origin *o = chronik_config_origin_of(cfg, key);

	return o && o->source != CHRONIK_CONFIG_DEFAULT ?
	       CHRONIK_TC_SRC_STATIC_BROKER : CHRONIK_TC_SRC_DEFAULT;
}

const char *chronik_tc_default(const chronik_config *cfg,
			       const chronik_tc_def *d, char *buf,
			       size_t cap, int8_t *source)
{
	const chronik_config_topic_defaults *t = &cfg->topic_defaults;
	static const struct {
		const char *name, *key;
		size_t off;
	} longs[] = {
		{ "retention.ms", "topic_defaults.retention.ms",
		  offsetof(chronik_config_topic_defaults, retention_ms) },
		{ "retention.bytes", "topic_defaults.retention.bytes",
		  offsetof(chronik_config_topic_defaults, retention_bytes) },
		{ "segment.bytes", "topic_defaults.segment.bytes",
		  offsetof(chronik_config_topic_defaults, segment_bytes) },
		{ "segment.ms", "topic_defaults.segment.ms",
		  offsetof(chronik_config_topic_defaults, segment_ms) },
		{ "max.message.bytes", "topic_defaults.max.message.bytes",
		  offsetof(chronik_config_topic_defaults,
			   max_message_bytes) },
		{ "min.compaction.lag.ms",
		  "topic_defaults.min.compaction.lag.ms",
		  offsetof(chronik_config_topic_defaults,
			   min_compaction_lag_ms) },
	};

	*source = CHRONIK_TC_SRC_DEFAULT;
	for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
		if (strcmp(d->name, longs[i].name) != 0)
			continue;
		int64_t v;
		memcpy(&v, (const char *)t + longs[i].off, sizeof v);
		snprintf(buf, cap, "%" PRId64, v);
		*source = origin_source(cfg, longs[i].key);
		return buf;
	}
	if (strcmp(d->name, "cleanup.policy") == 0) {
		*source = origin_source(cfg, "topic_defaults.cleanup.policy");
		snprintf(buf, cap, "%s", t->cleanup_policy);
		return buf;
	}
	if (strcmp(d->name, "compression.type") == 0) {
		*source = origin_source(cfg,
					"topic_defaults.compression.type");
		snprintf(buf, cap, "%s", t->compression_type);
		return buf;
	}
	if (strcmp(d->name, "min.insync.replicas") == 0) {
		*source = origin_source(cfg, "min_insync_replicas");
		snprintf(buf, cap, "%d", (int)cfg->min_insync_replicas);
		return buf;
	}
	return d->dflt;
}

const char *chronik_tc_effective(const chronik_config *cfg,
				 const chronik_tc_def *d,
				 const chronik_storage_meta_config *cfgs,
				 size_t n, char *buf, size_t cap,
				 int8_t *source)
{
	const char *v = chronik_tc_lookup(cfgs, n, d->name);

	if (v) {
		*source = CHRONIK_TC_SRC_TOPIC;
		return v;
	}
	return chronik_tc_default(cfg, d, buf, cap, source);
}

static unsigned int policy_bits(const char *v)
{
	unsigned int bits = 0;

	if (strstr(v, "delete"))
		bits |= CHRONIK_STORAGE_CLEANUP_DELETE;
	if (strstr(v, "compact"))
		bits |= CHRONIK_STORAGE_CLEANUP_COMPACT;
	return bits;
}

int chronik_tc_build(const chronik_config *cfg,
		     chronik_storage_topic_config *c,
		     const chronik_storage_meta_config *cfgs, size_t n,
		     char *why, size_t cap)
{
	const chronik_config_topic_defaults *d = &cfg->topic_defaults;
	const char *v;
	int64_t x;
	int rc;

	rc = chronik_tc_validate(cfgs, n, -1, why, cap);
	if (rc != 0)
		return rc;
	chronik_storage_topic_config_init(c,
		CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	c->retention_ms = d->retention_ms;
	c->retention_bytes = d->retention_bytes;
	c->segment_bytes = (uint64_t)d->segment_bytes;
	c->segment_ms = d->segment_ms;
	c->max_message_bytes = (uint32_t)d->max_message_bytes;
	c->cleanup_policy = policy_bits(d->cleanup_policy);
	if ((v = chronik_tc_lookup(cfgs, n, "retention.ms")) &&
	    parse_long(v, &x) == 0)
		c->retention_ms = x;
	if ((v = chronik_tc_lookup(cfgs, n, "retention.bytes")) &&
	    parse_long(v, &x) == 0)
		c->retention_bytes = x < -1 ? -1 : x;
	if ((v = chronik_tc_lookup(cfgs, n, "segment.bytes")) &&
	    parse_long(v, &x) == 0)
		c->segment_bytes = (uint64_t)x;
	if ((v = chronik_tc_lookup(cfgs, n, "segment.ms")) &&
	    parse_long(v, &x) == 0)
		c->segment_ms = x;
	if ((v = chronik_tc_lookup(cfgs, n, "max.message.bytes")) &&
	    parse_long(v, &x) == 0)
		c->max_message_bytes = (uint32_t)x;
	if ((v = chronik_tc_lookup(cfgs, n, "delete.retention.ms")) &&
	    parse_long(v, &x) == 0)
		c->delete_retention_ms = x;
	if ((v = chronik_tc_lookup(cfgs, n, "index.interval.bytes")) &&
	    parse_long(v, &x) == 0)
		c->index_interval_bytes = (uint32_t)x;
	if ((v = chronik_tc_lookup(cfgs, n, "cleanup.policy")))
		c->cleanup_policy = policy_bits(v);
	if ((v = chronik_tc_lookup(cfgs, n, "message.timestamp.type")))
		c->message_timestamp_type =
			strcmp(v, "LogAppendTime") == 0 ?
			CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME :
			CHRONIK_STORAGE_TIMESTAMP_CREATE_TIME;
	/* The partition log's floor (broker defaults may go below). */
	if (c->segment_bytes < 4096)
		c->segment_bytes = 4096;
	if (c->cleanup_policy == 0)
		c->cleanup_policy = CHRONIK_STORAGE_CLEANUP_DELETE;
	return 0;
}
