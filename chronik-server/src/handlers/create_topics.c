/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CreateTopics v0-7, with Kafka's checks and error codes: topic names
 * (INVALID_TOPIC_EXCEPTION, also for '.'/'_' collisions), existing
 * topics (TOPIC_ALREADY_EXISTS), partition counts (-1: num.partitions;
 * INVALID_PARTITIONS), replication factors (-1: the default; more than
 * the one broker: INVALID_REPLICATION_FACTOR), manual assignments
 * (INVALID_REPLICA_ASSIGNMENT), configs (topic_config.c; INVALID_CONFIG
 * with Kafka's message), validate_only (no side effects). v5+ responses
 * carry the topic's configs with their sources. Loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "../topic_config.h"
#include "admin_util.h"

typedef chronik_protocol_create_topics_response_creatable_topic_result
	topic_result;
typedef chronik_protocol_create_topics_request_creatable_topic
	creatable_topic;
typedef chronik_protocol_create_topics_request_creatable_replica_assignment
	replica_assignment;

#define MAX_PARTITIONS 100000
#define BAD_ASSIGNMENT CHRONIK_PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT

static void fail(chronik_request *req, topic_result *res, int16_t code,
		 const char *msg)
{
	res->error_code = code;
	res->error_message = admin_str(admin_dup(req, msg));
}

/* Another topic whose name differs only in '.' versus '_'. */
static const chronik_topic *collision(chronik_broker *b,
				      chronik_protocol_str n)
{
	for (chronik_topic *t = b->topics; t; t = t->next) {
		if ((int32_t)strlen(t->name) != n.len)
			continue;
		bool same = true;
		for (int32_t i = 0; i < n.len && same; i++) {
			char x = t->name[i], y = n.ptr[i];
			if (x == '.')
				x = '_';
			if (y == '.')
				y = '_';
			same = x == y;
		}
		if (same)
			return t;
	}
	return NULL;
}

/* Manual assignments: partitions 0..n-1 in any order, each once, each
 * with the same number of distinct, existing brokers (here: this node).
 * 0 or an error code with *why. */
static int16_t check_assignments(chronik_request *req,
				 const creatable_topic *ct, const char **why)
{
	int32_t n = ct->assignments_count;
	int32_t rf = -1;
	bool *seen = chronik_protocol_arena_alloc(req->arena,
						  (size_t)n * sizeof *seen);

	if (!seen)
		return CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
	memset(seen, 0, (size_t)n * sizeof *seen);
	for (int32_t i = 0; i < n; i++) {
		const replica_assignment *a = &ct->assignments[i];
		if (a->partition_index < 0 || a->partition_index >= n ||
		    seen[a->partition_index]) {
			*why = "Partitions should be a consecutive 0-based "
			       "integer sequence";
			return BAD_ASSIGNMENT;
		}
		seen[a->partition_index] = true;
		if (a->broker_ids_count <= 0) {
			*why = admin_fmt(req, "The manual partition assignment "
				"includes an empty replica list for partition "
				"%d.", a->partition_index).ptr;
			return BAD_ASSIGNMENT;
		}
		if (rf >= 0 && a->broker_ids_count != rf) {
			*why = "All partitions should have the same number "
			       "of replicas";
			return BAD_ASSIGNMENT;
		}
		rf = a->broker_ids_count;
		for (int32_t k = 0; k < a->broker_ids_count; k++) {
			for (int32_t j = 0; j < k; j++)
				if (a->broker_ids[j] == a->broker_ids[k]) {
					*why = admin_fmt(req, "The manual "
						"partition assignment includes "
						"the broker %d more than once.",
						a->broker_ids[k]).ptr;
					return BAD_ASSIGNMENT;
				}
			if (a->broker_ids[k] != req->broker->node_id) {
				*why = admin_fmt(req, "The manual partition "
					"assignment includes broker %d, but no "
					"such broker is registered.",
					a->broker_ids[k]).ptr;
				return BAD_ASSIGNMENT;
			}
		}
	}
	return 0;
}

/* v5+: every topic config with the value this topic got. */
static int fill_configs(chronik_request *req, topic_result *res,
			const chronik_storage_meta_config *cfgs, size_t n)
{
	size_t count = chronik_tc_count();
	char buf[64];

	res->configs = chronik_protocol_arena_alloc(req->arena,
		count * sizeof *res->configs);
	if (!res->configs)
		return CHRONIK_ENOMEM;
	res->configs_count = (int32_t)count;
	for (size_t i = 0; i < count; i++) {
		const chronik_tc_def *d = chronik_tc_at(i);
		chronik_protocol_create_topics_response_creatable_topic_configs
			*c = &res->configs[i];
		int8_t src;
		const char *v = chronik_tc_effective(req->broker->cfg, d, cfgs,
						     n, buf, sizeof buf, &src);
		chronik_protocol_create_topics_response_creatable_topic_configs_init(
			c);
		c->name = admin_str(d->name);
		c->value = admin_str(admin_dup(req, v));
		c->read_only = false;
		c->config_source = src;
		c->is_sensitive = false;
	}
	return 0;
}

static void create_one(chronik_request *req,
		       const chronik_protocol_create_topics_request *r,
		       const creatable_topic *ct, topic_result *res)
{
	chronik_broker *b = req->broker;
	chronik_storage_meta_config *cfgs = NULL;
	size_t ncfgs = 0;
	int32_t nparts = ct->num_partitions;
	int32_t rf = ct->replication_factor;
	const char *why = NULL;
	const chronik_topic *other;
	chronik_topic *t = NULL;
	char *name;
	char msg[512];
	int rc;

	res->num_partitions = -1;
	res->replication_factor = -1;
	if ((why = admin_topic_name_error(req, ct->name))) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION,
		     why);
		return;
	}
	name = chronik_request_strdup(req, &ct->name);
	if (!name) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR,
		     "out of memory");
		return;
	}
	if (strcmp(name, "__consumer_offsets") == 0 ||
	    strcmp(name, "__transaction_state") == 0) {
		snprintf(msg, sizeof msg, "Creation of internal topic %s is "
			 "prohibited.", name);
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, msg);
		return;
	}
	if (chronik_broker_topic_find(b, ct->name.ptr, (size_t)ct->name.len)) {
		snprintf(msg, sizeof msg, "Topic '%s' already exists.", name);
		fail(req, res, CHRONIK_PROTOCOL_ERR_TOPIC_ALREADY_EXISTS, msg);
		return;
	}
	if ((other = collision(b, ct->name))) {
		snprintf(msg, sizeof msg, "Topic '%s' collides with existing "
			 "topic: %s", name, other->name);
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION,
		     msg);
		return;
	}
	if (ct->assignments_count > 0) {
		int16_t code;
		if (nparts != -1 || rf != -1) {
			fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			     "Both numPartitions or replicationFactor and "
			     "replicasAssignments were set. Both cannot be "
			     "used at the same time.");
			return;
		}
		code = check_assignments(req, ct, &why);
		if (code) {
			fail(req, res, code, why ? why : "invalid assignment");
			return;
		}
		nparts = ct->assignments_count;
		rf = ct->assignments[0].broker_ids_count;
	}
	if (nparts == -1)
		nparts = b->cfg->num_partitions;
	if (nparts <= 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS,
		     "Number of partitions was set to an invalid non-positive "
		     "value.");
		return;
	}
	if (nparts > MAX_PARTITIONS) {
		snprintf(msg, sizeof msg, "Number of partitions %d is over "
			 "the limit of %d.", nparts, MAX_PARTITIONS);
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_PARTITIONS, msg);
		return;
	}
	if (rf == -1)
		rf = b->cfg->replication_factor;
	if (rf <= 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REPLICATION_FACTOR,
		     "Replication factor must be larger than 0, or -1 to use "
		     "the default value.");
		return;
	}
	if (rf > 1) {
		snprintf(msg, sizeof msg, "Unable to replicate the partition "
			 "%d time(s): The target replication factor of %d "
			 "cannot be reached because only 1 broker(s) are "
			 "registered.", rf, rf);
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REPLICATION_FACTOR,
		     msg);
		return;
	}
	if (ct->configs_count > 0) {
		cfgs = chronik_protocol_arena_alloc(req->arena,
			(size_t)ct->configs_count * sizeof *cfgs);
		if (!cfgs) {
			fail(req, res,
			     CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR,
			     "out of memory");
			return;
		}
		for (int32_t i = 0; i < ct->configs_count; i++) {
			cfgs[i].key = chronik_request_strdup(req,
				&ct->configs[i].name);
			cfgs[i].value = chronik_request_strdup(req,
				&ct->configs[i].value);
			if (!cfgs[i].key) {
				fail(req, res,
				     CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
				     "Null config name");
				return;
			}
		}
		ncfgs = (size_t)ct->configs_count;
	}
	if (chronik_tc_validate(cfgs, ncfgs, rf, msg, sizeof msg) != 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_CONFIG, msg);
		return;
	}
	/* Store canonical values (what the partition log parses). */
	for (size_t i = 0; i < ncfgs; i++) {
		char buf[64];
		const char *v = chronik_tc_normalize(
			chronik_tc_find(cfgs[i].key), cfgs[i].value, buf,
			sizeof buf);
		if (v == buf)
			v = admin_dup(req, buf);
		if (v)
			cfgs[i].value = v;
	}
	rc = chronik_broker_topic_create(b, &t, name, nparts, cfgs, ncfgs,
					 r->validate_only, &why);
	if (rc == CHRONIK_EEXIST) {
		snprintf(msg, sizeof msg, "Topic '%s' already exists.", name);
		fail(req, res, CHRONIK_PROTOCOL_ERR_TOPIC_ALREADY_EXISTS, msg);
		return;
	}
	if (rc == CHRONIK_EARG) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
		     why ? why : "invalid request");
		return;
	}
	if (rc != 0) {
		fail(req, res, CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR,
		     chronik_strerror(rc));
		return;
	}
	res->num_partitions = nparts;
	res->replication_factor = (int16_t)rf;
	if (t)
		memcpy(res->topic_id.bytes, t->id, 16);
	if (req->api_version >= 5 &&
	    fill_configs(req, res, cfgs, ncfgs) != 0)
		res->configs_count = -1;
}

int chronik_handle_create_topics(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_create_topics_request *r = body;
	chronik_protocol_create_topics_response *resp = resp_;
	int32_t n = r->topics_count > 0 ? r->topics_count : 0;

	resp->topics = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->topics);
	if (!resp->topics)
		return CHRONIK_ENOMEM;
	resp->topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		topic_result *res = &resp->topics[i];
		chronik_protocol_create_topics_response_creatable_topic_result_init(
			res);
		res->name = r->topics[i].name;
		res->configs_count = -1;
		/* A name twice in one request: Kafka rejects every copy. */
		bool dup = false;
		for (int32_t j = 0; j < n; j++)
			if (j != i && admin_str_eq(r->topics[j].name,
						   r->topics[i].name))
				dup = true;
		if (dup)
			fail(req, res, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			     "Duplicate topic name.");
		else
			create_one(req, r, &r->topics[i], res);
		if (req->api_version < 1) {
			res->error_message.ptr = NULL;
			res->error_message.len = -1;
		}
		if (res->error_code && !req->error_code)
			req->error_code = res->error_code;
	}
	return CHRONIK_HANDLER_DONE;
}
