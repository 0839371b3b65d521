/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DescribeConfigs v0-4 for topic and broker resources.
 *
 * Topics: every config of the catalogue (topic_config.c), or the named
 * ones (unknown names are left out, as Kafka does); the value is the
 * topic's own (TOPIC_CONFIG) or the broker default (STATIC_BROKER_CONFIG
 * when [topic_defaults] sets it, else DEFAULT_CONFIG); synonyms (v1+,
 * include_synonyms) list the topic value, the broker setting and the
 * default; documentation and types from v3. An invalid name is
 * INVALID_TOPIC_EXCEPTION, an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
 *
 * Brokers: this node's id lists its Kafka-named settings, all read-only
 * (chronik-server has no dynamic broker configs); "" lists the dynamic
 * cluster defaults, i.e. nothing; another id is INVALID_REQUEST.
 * Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../topic_config.h"
#include "admin_util.h"

typedef chronik_protocol_describe_configs_response_describe_configs_result
	dc_result;
typedef chronik_protocol_describe_configs_response_describe_configs_resource_result
	dc_entry;
typedef chronik_protocol_describe_configs_response_describe_configs_synonym
	dc_synonym;
typedef chronik_protocol_describe_configs_request_describe_configs_resource
	dc_resource;

/* ---- broker configs -------------------------------------------------- */

typedef struct broker_cfg {
	const char *name;
	const char *origin_key; /* chronik setting, NULL: fixed */
	int8_t type;
	const char *doc;
} broker_cfg;

static const broker_cfg broker_cfgs[] = {
	{ "advertised.listeners", "advertise.kafka", CHRONIK_TC_STRING,
	  "The Kafka listener clients are told to use." },
	{ "auto.create.topics.enable", "auto.create.topics.enable",
	  CHRONIK_TC_BOOLEAN, "Create unknown topics on metadata and "
	  "produce requests." },
	{ "broker.id", "node_id", CHRONIK_TC_INT, "This broker's id." },
	{ "compression.type", "topic_defaults.compression.type",
	  CHRONIK_TC_STRING, "Default compression.type of topics." },
	{ "connections.max.idle.ms", "connections.max.idle.ms",
	  CHRONIK_TC_LONG, "Idle connections are closed after this." },
	{ "default.replication.factor", "replication_factor",
	  CHRONIK_TC_INT, "Replication factor of new topics." },
	{ "delete.topic.enable", NULL, CHRONIK_TC_BOOLEAN,
	  "Topics can be deleted." },
	{ "listeners", "bind.kafka", CHRONIK_TC_STRING,
	  "Where the Kafka listener binds." },
	{ "log.cleaner.min.compaction.lag.ms",
	  "topic_defaults.min.compaction.lag.ms", CHRONIK_TC_LONG,
	  "Default min.compaction.lag.ms of topics." },
	{ "log.cleanup.policy", "topic_defaults.cleanup.policy",
	  CHRONIK_TC_LIST, "Default cleanup.policy of topics." },
	{ "log.dirs", "data_dir", CHRONIK_TC_STRING,
	  "The directory holding the partition logs." },
	{ "log.retention.bytes", "topic_defaults.retention.bytes",
	  CHRONIK_TC_LONG, "Default retention.bytes of topics." },
	{ "log.retention.ms", "topic_defaults.retention.ms",
	  CHRONIK_TC_LONG, "Default retention.ms of topics." },
	{ "log.roll.ms", "topic_defaults.segment.ms", CHRONIK_TC_LONG,
	  "Default segment.ms of topics." },
	{ "log.segment.bytes", "topic_defaults.segment.bytes",
	  CHRONIK_TC_INT, "Default segment.bytes of topics." },
	{ "message.max.bytes", "topic_defaults.max.message.bytes",
	  CHRONIK_TC_INT, "Default max.message.bytes of topics." },
	{ "min.insync.replicas", "min_insync_replicas", CHRONIK_TC_INT,
	  "Default min.insync.replicas of topics." },
	{ "node.id", "node_id", CHRONIK_TC_INT, "This node's id." },
	{ "num.partitions", "num.partitions", CHRONIK_TC_INT,
	  "Partitions of auto-created topics." },
	{ "socket.request.max.bytes", "socket.request.max.bytes",
	  CHRONIK_TC_INT, "The largest request accepted." },
};

#define NBROKER (sizeof broker_cfgs / sizeof broker_cfgs[0])

bool chronik_admin_broker_config_known(const char *name)
{
	for (size_t i = 0; i < NBROKER; i++)
		if (strcmp(broker_cfgs[i].name, name) == 0)
			return true;
	return false;
}

static const char *broker_value(chronik_request *req, const broker_cfg *c)
{
	chronik_broker *b = req->broker;
	const chronik_config *cfg = b->cfg;
	const chronik_config_topic_defaults *t = &cfg->topic_defaults;
	const char *n = c->name;
	char buf[CHRONIK_CONFIG_PATH_MAX + 64];

	if (!strcmp(n, "advertised.listeners"))
		snprintf(buf, sizeof buf, "PLAINTEXT://%s:%d",
			 b->advertised_host, b->advertised_port);
	else if (!strcmp(n, "listeners"))
		snprintf(buf, sizeof buf, "PLAINTEXT://%s:%d",
			 cfg->bind_kafka.host, b->bound_port);
	else if (!strcmp(n, "auto.create.topics.enable"))
		return cfg->auto_create_topics_enable ? "true" : "false";
	else if (!strcmp(n, "delete.topic.enable"))
		return "true";
	else if (!strcmp(n, "broker.id") || !strcmp(n, "node.id"))
		snprintf(buf, sizeof buf, "%d", (int)cfg->node_id);
	else if (!strcmp(n, "compression.type"))
		return t->compression_type;
	else if (!strcmp(n, "log.cleanup.policy"))
		return t->cleanup_policy;
	else if (!strcmp(n, "connections.max.idle.ms"))
		snprintf(buf, sizeof buf, "%" PRId64,
			 cfg->connections_max_idle_ms);
	else if (!strcmp(n, "default.replication.factor"))
		snprintf(buf, sizeof buf, "%d", (int)cfg->replication_factor);
	else if (!strcmp(n, "min.insync.replicas"))
		snprintf(buf, sizeof buf, "%d", (int)cfg->min_insync_replicas);
	else if (!strcmp(n, "num.partitions"))
		snprintf(buf, sizeof buf, "%d", (int)cfg->num_partitions);
	else if (!strcmp(n, "socket.request.max.bytes"))
		snprintf(buf, sizeof buf, "%" PRId64,
			 cfg->socket_request_max_bytes);
	else if (!strcmp(n, "log.dirs"))
		snprintf(buf, sizeof buf, "%s/topics", cfg->data_dir);
	else if (!strcmp(n, "log.cleaner.min.compaction.lag.ms"))
		snprintf(buf, sizeof buf, "%" PRId64, t->min_compaction_lag_ms);
	else if (!strcmp(n, "log.retention.bytes"))
		snprintf(buf, sizeof buf, "%" PRId64, t->retention_bytes);
	else if (!strcmp(n, "log.retention.ms"))
		snprintf(buf, sizeof buf, "%" PRId64, t->retention_ms);
	else if (!strcmp(n, "log.roll.ms"))
		snprintf(buf, sizeof buf, "%" PRId64, t->segment_ms);
	else if (!strcmp(n, "log.segment.bytes"))
		snprintf(buf, sizeof buf, "%" PRId64, t->segment_bytes);
	else if (!strcmp(n, "message.max.bytes"))
		snprintf(buf, sizeof buf, "%" PRId64, t->max_message_bytes);
	else
		return NULL;
	return admin_dup(req, buf);
}

static int8_t broker_source(const chronik_config *cfg, const broker_cfg *c)
{
	const chronik_config_origin *o;

	if (!c->origin_key)
		return CHRONIK_TC_SRC_DEFAULT;
	o = chronik_config_origin_of(cfg, c->origin_key);
	return o && o->source != CHRONIK_CONFIG_DEFAULT ?
	       CHRONIK_TC_SRC_STATIC_BROKER : CHRONIK_TC_SRC_DEFAULT;
}

/* ---- entries --------------------------------------------------------- */

static bool wanted(const dc_resource *rs, const char *name)
{
	if (rs->configuration_keys_count < 0)
		return true;
	for (int32_t i = 0; i < rs->configuration_keys_count; i++) {
		chronik_protocol_str k = rs->configuration_keys[i];
		if (k.len == (int32_t)strlen(name) &&
		    memcmp(k.ptr, name, (size_t)k.len) == 0)
			return true;
	}
	return false;
}

static void entry_fill(chronik_request *req,
		       const chronik_protocol_describe_configs_request *r,
		       dc_entry *e, const char *name, const char *value,
		       int8_t source, bool read_only, int8_t type,
		       const char *doc)
{
	chronik_protocol_describe_configs_response_describe_configs_resource_result_init(
		e);
	e->name = admin_str(name);
	e->value = admin_str(value);
	e->read_only = read_only;
	e->is_sensitive = false;
	if (req->api_version == 0)
		e->is_default = source == CHRONIK_TC_SRC_DEFAULT;
	else
		e->config_source = source;
	e->synonyms_count = 0;
	if (req->api_version >= 3) {
		e->config_type = type;
		e->documentation = admin_str(r->include_documentation ? doc :
					     NULL);
	} else {
		e->documentation = admin_str(NULL);
	}
}

static void synonym_add(dc_entry *e, const char *name, const char *value,
			int8_t source)
{
	dc_synonym *s = &e->synonyms[e->synonyms_count++];

	chronik_protocol_describe_configs_response_describe_configs_synonym_init(
		s);
	s->name = admin_str(name);
	s->value = admin_str(value);
	s->source = source;
}

static int describe_topic(chronik_request *req,
			  const chronik_protocol_describe_configs_request *r,
			  const dc_resource *rs, dc_result *out)
{
	chronik_broker *b = req->broker;
	chronik_storage_meta_topic *mt = NULL;
	const char *why;
	size_t count = chronik_tc_count();
	bool syn = req->api_version >= 1 && r->include_synonyms;

	if ((why = admin_topic_name_error(req, rs->resource_name))) {
		out->error_code = CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
		out->error_message = admin_str(why);
		return 0;
	}
	chronik_topic *t = chronik_broker_topic_find(b, rs->resource_name.ptr,
		(size_t)rs->resource_name.len);
	if (!t || chronik_storage_meta_topic_get(&mt, b->meta, t->name) != 0) {
		out->error_code =
			CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		out->error_message = admin_fmt(req, "The topic '%.*s' does "
			"not exist.", (int)rs->resource_name.len,
			rs->resource_name.ptr);
		return 0;
	}
	out->configs = chronik_protocol_arena_alloc(req->arena,
		count * sizeof *out->configs);
	if (!out->configs) {
		chronik_storage_meta_free(mt);
		return CHRONIK_ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const chronik_tc_def *d = chronik_tc_at(i);
		char buf[64], dbuf[64];
		int8_t src, dsrc;
		const char *v, *own, *dv;
		if (!wanted(rs, d->name))
			continue;
		dc_entry *e = &out->configs[out->configs_count++];
		v = admin_dup(req, chronik_tc_effective(b->cfg, d, mt->configs,
			mt->nconfigs, buf, sizeof buf, &src));
		entry_fill(req, r, e, d->name, v, src, false, d->type, d->doc);
		if (!syn)
			continue;
		e->synonyms = chronik_protocol_arena_alloc(req->arena,
			3 * sizeof *e->synonyms);
		if (!e->synonyms)
			break;
		own = chronik_tc_lookup(mt->configs, mt->nconfigs, d->name);
		if (own)
			synonym_add(e, d->name, v, CHRONIK_TC_SRC_TOPIC);
		dv = admin_dup(req, chronik_tc_default(b->cfg, d, dbuf,
			sizeof dbuf, &dsrc));
		if (dsrc == CHRONIK_TC_SRC_STATIC_BROKER) {
			synonym_add(e, d->synonym ? d->synonym : d->name, dv,
				    dsrc);
			synonym_add(e, d->synonym ? d->synonym : d->name,
				    d->dflt, CHRONIK_TC_SRC_DEFAULT);
		} else {
			synonym_add(e, d->synonym ? d->synonym : d->name, dv,
				    CHRONIK_TC_SRC_DEFAULT);
		}
	}
	chronik_storage_meta_free(mt);
	return 0;
}

static int describe_broker(chronik_request *req,
			   const chronik_protocol_describe_configs_request *r,
			   const dc_resource *rs, dc_result *out)
{
	chronik_broker *b = req->broker;
	char id[16];
	bool syn = req->api_version >= 1 && r->include_synonyms;

	snprintf(id, sizeof id, "%d", (int)b->node_id);
	if (rs->resource_name.len == 0)
		return 0; /* no dynamic cluster-wide defaults */
	if (rs->resource_name.len != (int32_t)strlen(id) ||
	    memcmp(rs->resource_name.ptr, id, strlen(id)) != 0) {
		out->error_code = CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
		out->error_message = admin_fmt(req, "Unexpected broker id, "
			"expected %s or empty string, but received %.*s", id,
			(int)rs->resource_name.len, rs->resource_name.ptr);
		return 0;
	}
	out->configs = chronik_protocol_arena_alloc(req->arena,
		NBROKER * sizeof *out->configs);
	if (!out->configs)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < NBROKER; i++) {
		const broker_cfg *c = &broker_cfgs[i];
		if (!wanted(rs, c->name))
			continue;
		dc_entry *e = &out->configs[out->configs_count++];
		const char *v = broker_value(req, c);
		int8_t src = broker_source(b->cfg, c);
		entry_fill(req, r, e, c->name, v, src, true, c->type, c->doc);
		if (!syn)
			continue;
		e->synonyms = chronik_protocol_arena_alloc(req->arena,
							   sizeof *e->synonyms);
		if (e->synonyms)
			synonym_add(e, c->name, v, src);
	}
	return 0;
}

int chronik_handle_describe_configs(chronik_request *req, const void *body,
				    void *resp_)
{
	const chronik_protocol_describe_configs_request *r = body;
	chronik_protocol_describe_configs_response *resp = resp_;
	int32_t n = r->resources_count > 0 ? r->resources_count : 0;

	resp->results = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->results);
	if (!resp->results)
		return CHRONIK_ENOMEM;
	resp->results_count = n;
	for (int32_t i = 0; i < n; i++) {
		const dc_resource *rs = &r->resources[i];
		dc_result *out = &resp->results[i];
		int rc = 0;
		chronik_protocol_describe_configs_response_describe_configs_result_init(
			out);
		out->resource_type = rs->resource_type;
		out->resource_name = rs->resource_name;
		out->error_message = admin_str(NULL);
		out->configs_count = 0;
		if (rs->resource_type == ADMIN_RESOURCE_TOPIC)
			rc = describe_topic(req, r, rs, out);
		else if (rs->resource_type == ADMIN_RESOURCE_BROKER)
			rc = describe_broker(req, r, rs, out);
		else {
			out->error_code = CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
			out->error_message = admin_fmt(req, "Unsupported "
				"resource type %d", rs->resource_type);
		}
		if (rc != 0)
			return rc;
		if (out->error_code && !req->error_code)
			req->error_code = out->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
