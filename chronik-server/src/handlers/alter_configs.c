/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AlterConfigs v0-2 (replace a topic's whole config set) and
 * IncrementalAlterConfigs v0-1 (SET, DELETE, APPEND, SUBTRACT; the last
 * two for list configs such as cleanup.policy, starting from the current
 * or default value, as Kafka does). Both validate with topic_config.c
 * (INVALID_CONFIG with Kafka's message), honour validate_only, store the
 * result in the metadata store (durable before the answer) and push it
 * to the partitions at once (chronik_topic_admin_set_configs).
 *
 * Broker resources: chronik-server has no dynamic broker configs, so a
 * change to any broker config is INVALID_REQUEST ("Cannot update these
 * configs dynamically"); an empty change succeeds; a broker id other
 * than this node's (or "") is INVALID_REQUEST. Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../topic_admin.h"
#include "../topic_config.h"
#include "admin_util.h"

enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

#define ERR_UNKNOWN CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR

/* One requested change, whichever API it came from. */
typedef struct change {
	chronik_protocol_str name;
	chronik_protocol_str value;
	int8_t op;
} change;

typedef struct outcome {
	int16_t code;
	chronik_protocol_str msg;
} outcome;

static outcome ok(void)
{
	outcome o = { 0, { NULL, -1 } };
	return o;
}

static outcome err(chronik_request *req, int16_t code, const char *msg)
{
	outcome o = { code, admin_str(admin_dup(req, msg)) };
	return o;
}

/* The working config set of a topic. */
typedef struct cfgset {
	chronik_storage_meta_config *v;
	size_t n, cap;
} cfgset;

static void set_put(cfgset *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0) {
			if (value) {
				s->v[i].value = value;
			} else {
				s->v[i] = s->v[s->n - 1];
				s->n--;
			}
			return;
		}
	if (value && s->n < s->cap) {
		s->v[s->n].key = key;
		s->v[s->n].value = value;
		s->n++;
	}
}

/* APPEND / SUBTRACT on a comma-separated list. */
static const char *list_edit(chronik_request *req, const char *base,
			     const char *items, bool append)
{
	size_t cap = strlen(base) + strlen(items) + 2;
	char *out = chronik_protocol_arena_alloc(req->arena, cap);
	char *tmp = chronik_protocol_arena_alloc(req->arena, cap);
	size_t o = 0;

	if (!out || !tmp)
		return NULL;
	out[0] = '\0';
	/* Keep base items (minus the subtracted ones). */
	snprintf(tmp, cap, "%s", base);
	for (char *sv = NULL, *tok = strtok_r(tmp, ",", &sv); tok;
	     tok = strtok_r(NULL, ",", &sv)) {
		bool drop = false;
		if (!append) {
			char *t2 = chronik_protocol_arena_alloc(req->arena,
				strlen(items) + 1);
			if (!t2)
				return NULL;
			strcpy(t2, items);
			for (char *s2 = NULL, *x = strtok_r(t2, ",", &s2); x;
			     x = strtok_r(NULL, ",", &s2))
				if (strcmp(x, tok) == 0)
					drop = true;
		}
		if (!drop)
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "," : "", tok);
	}
	if (append) {
		snprintf(tmp, cap, "%s", items);
		for (char *sv = NULL, *tok = strtok_r(tmp, ",", &sv); tok;
		     tok = strtok_r(NULL, ",", &sv)) {
			/* Only items not there yet. */
			bool have = false;
			char *t2 = chronik_protocol_arena_alloc(req->arena,
				strlen(out) + 1);
			if (!t2)
				return NULL;
			strcpy(t2, out);
			for (char *s2 = NULL, *x = strtok_r(t2, ",", &s2); x;
			     x = strtok_r(NULL, ",", &s2))
				if (strcmp(x, tok) == 0)
					have = true;
			if (!have)
				o += (size_t)snprintf(out + o, cap - o,
						      "%s%s", o ? "," : "",
						      tok);
		}
	}
	return out;
}

static outcome alter_topic(chronik_request *req, chronik_protocol_str name,
			   const change *ch, int32_t nch, bool incremental,
			   bool validate_only)
{
	chronik_broker *b = req->broker;
	chronik_storage_meta_topic *mt = NULL;
	const char *why;
	char msg[512];
	cfgset s = { 0 };

	if ((why = admin_topic_name_error(req, name)))
		return err(req, CHRONIK_PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION,
			   why);
	chronik_topic *t = chronik_broker_topic_find(b, name.ptr,
						     (size_t)name.len);
	if (!t || chronik_storage_meta_topic_get(&mt, b->meta, t->name) != 0) {
		snprintf(msg, sizeof msg, "The topic '%.*s' does not exist.",
			 (int)name.len, name.ptr);
		return err(req,
			   CHRONIK_PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION,
			   msg);
	}
	s.cap = mt->nconfigs + (size_t)nch + 1;
	s.v = chronik_protocol_arena_alloc(req->arena, s.cap * sizeof *s.v);
	if (!s.v) {
		chronik_storage_meta_free(mt);
		return err(req, CHRONIK_PROTOCOL_ERR_UNKNOWN_SERVER_ERROR,
			   "out of memory");
	}
	/* Incremental changes start from the current set (copied: mt is
	 * freed below); AlterConfigs replaces it. */
	if (incremental)
		for (size_t i = 0; i < mt->nconfigs; i++)
			set_put(&s, admin_dup(req, mt->configs[i].key),
				admin_dup(req, mt->configs[i].value));
	chronik_storage_meta_free(mt);

	for (int32_t i = 0; i < nch; i++) {
		char *key = chronik_request_strdup(req, &ch[i].name);
		char *val = chronik_request_strdup(req, &ch[i].value);
		const chronik_tc_def *d = key ? chronik_tc_find(key) : NULL;
		char buf[64];
		if (!key)
			return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
				   "Null config name");
		if (!d) {
			snprintf(msg, sizeof msg, "Unknown topic config name: "
				 "%s", key);
			return err(req, CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
				   msg);
		}
		switch (ch[i].op) {
		case OP_SET:
			break;
		case OP_DELETE:
			set_put(&s, key, NULL);
			continue;
		case OP_APPEND:
		case OP_SUBTRACT: {
			int8_t src;
			const char *base;
			if (d->type != CHRONIK_TC_LIST) {
				snprintf(msg, sizeof msg, "Config value %s is "
					 "not allowed for config key: %s",
					 ch[i].op == OP_APPEND ? "append" :
					 "subtract", key);
				return err(req,
					   CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
					   msg);
			}
			if (!val)
				return err(req,
					   CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
					   "Null value not supported for "
					   "list config operations");
			base = chronik_tc_effective(b->cfg, d, s.v, s.n, buf,
						    sizeof buf, &src);
			val = (char *)list_edit(req, base, val,
						ch[i].op == OP_APPEND);
			if (!val)
				return err(req, ERR_UNKNOWN,
					   "out of memory");
			break;
		}
		default:
			snprintf(msg, sizeof msg, "Unknown config operation %d "
				 "for %s", ch[i].op, key);
			return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
				   msg);
		}
		if (chronik_tc_check(d, val, msg, sizeof msg) != 0)
			return err(req, CHRONIK_PROTOCOL_ERR_INVALID_CONFIG,
				   msg);
		const char *nv = chronik_tc_normalize(d, val, buf, sizeof buf);
		set_put(&s, key, nv == buf ? admin_dup(req, buf) : nv);
	}
	if (chronik_tc_validate(s.v, s.n, 1, msg, sizeof msg) != 0)
		return err(req, CHRONIK_PROTOCOL_ERR_INVALID_CONFIG, msg);
	if (validate_only)
		return ok();
	int rc = chronik_topic_admin_set_configs(b, t, s.v, s.n);
	if (rc != 0)
		return err(req, CHRONIK_PROTOCOL_ERR_KAFKA_STORAGE_ERROR,
			   chronik_strerror(rc));
	return ok();
}

static outcome alter_broker(chronik_request *req, chronik_protocol_str name,
			    const change *ch, int32_t nch)
{
	char id[16], msg[512];
	size_t o;

	snprintf(id, sizeof id, "%d", (int)req->broker->node_id);
	if (name.len != 0 && (name.len != (int32_t)strlen(id) ||
			      memcmp(name.ptr, id, strlen(id)) != 0)) {
		snprintf(msg, sizeof msg, "Unexpected broker id, expected %s "
			 "or empty string, but received %.*s", id,
			 (int)name.len, name.ptr);
		return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, msg);
	}
	if (nch <= 0)
		return ok();
	o = (size_t)snprintf(msg, sizeof msg, "Cannot update these configs "
			     "dynamically: ");
	for (int32_t i = 0; i < nch && o < sizeof msg; i++)
		o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%.*s",
				      i ? ", " : "", (int)ch[i].name.len,
				      ch[i].name.ptr);
	return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, msg);
}

/* Same type and name as another resource of the request. */
static bool dup_resource(int8_t type, chronik_protocol_str name,
			 const int8_t *types, const chronik_protocol_str *names,
			 int32_t n, int32_t self)
{
	for (int32_t j = 0; j < n; j++)
		if (j != self && types[j] == type &&
		    admin_str_eq(names[j], name))
			return true;
	return false;
}

/* Duplicate keys inside one resource. */
static bool dup_keys(const change *ch, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < i; j++)
			if (admin_str_eq(ch[i].name, ch[j].name))
				return true;
	return false;
}

static outcome alter_resource(chronik_request *req, int8_t type,
			      chronik_protocol_str name, const change *ch,
			      int32_t nch, bool incremental,
			      bool validate_only, bool dup)
{
	if (dup)
		return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			   "Duplicate resource in request.");
	if (dup_keys(ch, nch))
		return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST,
			   "Error due to duplicate config keys");
	if (type == ADMIN_RESOURCE_TOPIC)
		return alter_topic(req, name, ch, nch, incremental,
				   validate_only);
	if (type == ADMIN_RESOURCE_BROKER)
		return alter_broker(req, name, ch, nch);
	char msg[64];
	snprintf(msg, sizeof msg, "Unsupported resource type %d", type);
	return err(req, CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, msg);
}

static int collect(chronik_request *req, int32_t n, int8_t **types,
		   chronik_protocol_str **names)
{
	*types = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof **types);
	*names = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof **names);
	return *types && *names ? 0 : CHRONIK_ENOMEM;
}

int chronik_handle_alter_configs(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_alter_configs_request *r = body;
	chronik_protocol_alter_configs_response *resp = resp_;
	int32_t n = r->resources_count > 0 ? r->resources_count : 0;
	int8_t *types;
	chronik_protocol_str *names;

	resp->responses = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->responses);
	if (!resp->responses || collect(req, n, &types, &names) != 0)
		return CHRONIK_ENOMEM;
	resp->responses_count = n;
	for (int32_t i = 0; i < n; i++) {
		types[i] = r->resources[i].resource_type;
		names[i] = r->resources[i].resource_name;
	}
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_alter_configs_request_alter_configs_resource
			*rs = &r->resources[i];
		int32_t nc = rs->configs_count > 0 ? rs->configs_count : 0;
		change *ch = chronik_protocol_arena_alloc(req->arena,
			(size_t)(nc ? nc : 1) * sizeof *ch);
		if (!ch)
			return CHRONIK_ENOMEM;
		for (int32_t k = 0; k < nc; k++) {
			ch[k].name = rs->configs[k].name;
			ch[k].value = rs->configs[k].value;
			ch[k].op = OP_SET;
		}
		outcome o = alter_resource(req, rs->resource_type,
			rs->resource_name, ch, nc, false, r->validate_only,
			dup_resource(types[i], names[i], types, names, n, i));
		chronik_protocol_alter_configs_response_alter_configs_resource_response_init(
			&resp->responses[i]);
		resp->responses[i].error_code = o.code;
		resp->responses[i].error_message = o.msg;
		resp->responses[i].resource_type = rs->resource_type;
		resp->responses[i].resource_name = rs->resource_name;
		if (o.code && !req->error_code)
			req->error_code = o.code;
	}
	return CHRONIK_HANDLER_DONE;
}

int chronik_handle_incremental_alter_configs(chronik_request *req,
					     const void *body, void *resp_)
{
	const chronik_protocol_incremental_alter_configs_request *r = body;
	chronik_protocol_incremental_alter_configs_response *resp = resp_;
	int32_t n = r->resources_count > 0 ? r->resources_count : 0;
	int8_t *types;
	chronik_protocol_str *names;

	resp->responses = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->responses);
	if (!resp->responses || collect(req, n, &types, &names) != 0)
		return CHRONIK_ENOMEM;
	resp->responses_count = n;
	for (int32_t i = 0; i < n; i++) {
		types[i] = r->resources[i].resource_type;
		names[i] = r->resources[i].resource_name;
	}
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_incremental_alter_configs_request_alter_configs_resource
			*rs = &r->resources[i];
		int32_t nc = rs->configs_count > 0 ? rs->configs_count : 0;
		change *ch = chronik_protocol_arena_alloc(req->arena,
			(size_t)(nc ? nc : 1) * sizeof *ch);
		if (!ch)
			return CHRONIK_ENOMEM;
		for (int32_t k = 0; k < nc; k++) {
			ch[k].name = rs->configs[k].name;
			ch[k].value = rs->configs[k].value;
			ch[k].op = rs->configs[k].config_operation;
		}
		outcome o = alter_resource(req, rs->resource_type,
			rs->resource_name, ch, nc, true, r->validate_only,
			dup_resource(types[i], names[i], types, names, n, i));
		chronik_protocol_incremental_alter_configs_response_alter_configs_resource_response_init(
			&resp->responses[i]);
		resp->responses[i].error_code = o.code;
		resp->responses[i].error_message = o.msg;
		resp->responses[i].resource_type = rs->resource_type;
		resp->responses[i].resource_name = rs->resource_name;
		if (o.code && !req->error_code)
			req->error_code = o.code;
	}
	return CHRONIK_HANDLER_DONE;
}
