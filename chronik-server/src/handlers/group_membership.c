/* SPDX-License-Identifier: Apache-2.0 */
/* FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup: the
 * classic group protocol, decided by the coordinator (group.c); this file
 * converts requests and answers. Loop thread. */
#include <stdio.h>
#include <string.h>

#include "../group_broker.h"
#include "handlers.h"

/* Key types of FindCoordinator (v1+). */
#define KEY_TYPE_GROUP 0
#define KEY_TYPE_TRANSACTION 1

static chronik_protocol_str arena_str(chronik_request *req, const char *s)
{
	chronik_protocol_str r = { NULL, -1 };
	size_t n;
	char *p;

	if (!s)
		return r;
	n = strlen(s);
	p = chronik_protocol_arena_alloc(req->arena, n + 1);
	if (!p)
		return r;
	memcpy(p, s, n + 1);
	r.ptr = p;
	r.len = (int32_t)n;
	return r;
}

static chronik_protocol_bytes arena_bytes(chronik_request *req,
					  const uint8_t *d, size_t n)
{
	chronik_protocol_bytes r = { NULL, 0 };
	uint8_t *p = chronik_protocol_arena_alloc(req->arena, n ? n : 1);

	if (!p)
		return r;
	if (n)
		memcpy(p, d, n);
	r.ptr = p;
	r.len = (int32_t)n;
	return r;
}

/* A protocol string as a C string in the arena; "" for null. */
static const char *cstr(chronik_request *req, const chronik_protocol_str *s)
{
	char *p;

	if (s->len <= 0)
		return "";
	p = chronik_request_strdup(req, s);
	return p ? p : "";
}

/* NULL for null or empty. */
static const char *cstr_null(chronik_request *req,
			     const chronik_protocol_str *s)
{
	if (s->len <= 0)
		return NULL;
	return chronik_request_strdup(req, s);
}

static void set_error(chronik_request *req, int16_t err)
{
	if (err && !req->error_code)
		req->error_code = err;
}

/* ---- FindCoordinator -------------------------------------------------- */

static void coordinator_of(chronik_request *req, int8_t key_type,
			   int16_t *err, const char **msg)
{
	(void)req;
	*err = 0;
	*msg = NULL;
	if (key_type == KEY_TYPE_GROUP)
		return;
	if (key_type == KEY_TYPE_TRANSACTION) {
		/* No transaction coordinator yet (produce refuses
		 * transactional batches). */
		*err = CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
		*msg = "transactions are not supported";
		return;
	}
	*err = CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
	*msg = "unknown coordinator key type";
}

int chronik_handle_find_coordinator(chronik_request *req, const void *body,
				    void *resp_)
{
	const chronik_protocol_find_coordinator_request *r = body;
	chronik_protocol_find_coordinator_response *resp = resp_;
	chronik_broker *b = req->broker;
	chronik_protocol_str host = arena_str(req, b->advertised_host);
	int16_t err;
	const char *msg;

	coordinator_of(req, r->key_type, &err, &msg);
	if (req->api_version < 4) {
		resp->error_code = err;
		if (req->api_version >= 1)
			resp->error_message = arena_str(req, msg);
		resp->node_id = err ? -1 : b->node_id;
		resp->host = err ? arena_str(req, "") : host;
		resp->port = err ? -1 : b->advertised_port;
		set_error(req, err);
		return CHRONIK_HANDLER_DONE;
	}
	int32_t n = r->coordinator_keys_count > 0 ? r->coordinator_keys_count
						  : 0;
	resp->coordinators = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->coordinators);
	if (!resp->coordinators)
		return CHRONIK_ENOMEM;
	resp->coordinators_count = n;
	for (int32_t i = 0; i < n; i++) {
		chronik_protocol_find_coordinator_response_coordinator *c =
			&resp->coordinators[i];

		chronik_protocol_find_coordinator_response_coordinator_init(c);
		c->key = r->coordinator_keys[i];
		c->error_code = err;
		c->error_message = arena_str(req, msg);
		c->node_id = err ? -1 : b->node_id;
		c->host = err ? arena_str(req, "") : host;
		c->port = err ? -1 : b->advertised_port;
		set_error(req, err);
	}
	return CHRONIK_HANDLER_DONE;
}

/* ---- JoinGroup -------------------------------------------------------- */

void chronik_group_join_fill(chronik_request *req,
			     const chronik_group_join_result *r)
{
	chronik_protocol_join_group_response *resp = req->resp;
	int16_t v = req->api_version;

	resp->error_code = r->error;
	resp->generation_id = r->generation;
	if (v >= 7)
		resp->protocol_type = arena_str(req, r->protocol_type);
	resp->protocol_name = arena_str(req, r->protocol_name);
	if (v < 7 && resp->protocol_name.len < 0)
		resp->protocol_name = arena_str(req, "");
	resp->leader = arena_str(req, r->leader_id ? r->leader_id : "");
	if (v >= 9)
		resp->skip_assignment = r->skip_assignment;
	resp->member_id = arena_str(req, r->member_id ? r->member_id : "");
	resp->members = chronik_protocol_arena_alloc(req->arena,
		(r->nmembers ? r->nmembers : 1) * sizeof *resp->members);
	resp->members_count = resp->members ? (int32_t)r->nmembers : 0;
	for (int32_t i = 0; i < resp->members_count; i++) {
		chronik_protocol_join_group_response_join_group_response_member
			*m = &resp->members[i];
		chronik_protocol_join_group_response_join_group_response_member_init(
			m);
		m->member_id = arena_str(req, r->members[i].member_id);
		if (v >= 5)
			m->group_instance_id = arena_str(req,
				r->members[i].instance_id);
		m->metadata = arena_bytes(req, r->members[i].metadata,
					  r->members[i].len);
	}
	set_error(req, r->error);
}

static int call_join(chronik_group_coord *c, const void *args, void *ctx)
{
	return chronik_group_join(c, args, ctx);
}

/* The client's address as Kafka prints it ("/127.0.0.1"). */
static const char *client_host(chronik_request *req)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	char ip[64] = "", *out;

	/* The connection starts with its uv_tcp_t (net.c). */
	if (!req->conn || uv_tcp_getpeername((const uv_tcp_t *)req->conn,
					     (struct sockaddr *)&ss,
					     &len) != 0)
		return "";
	if (ss.ss_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)&ss, ip, sizeof ip);
	else
		uv_ip4_name((const struct sockaddr_in *)&ss, ip, sizeof ip);
	out = chronik_protocol_arena_alloc(req->arena, strlen(ip) + 2);
	if (!out)
		return "";
	snprintf(out, strlen(ip) + 2, "/%s", ip);
	return out;
}

int chronik_handle_join_group(chronik_request *req, const void *body,
			      void *resp_)
{
	const chronik_protocol_join_group_request *r = body;
	chronik_group_join_args a = { 0 };
	chronik_group_protocol *p;
	int32_t n = r->protocols_count > 0 ? r->protocols_count : 0;

	(void)resp_;
	p = chronik_protocol_arena_alloc(req->arena,
					 (size_t)(n ? n : 1) * sizeof *p);
	if (!p)
		return CHRONIK_ENOMEM;
	for (int32_t i = 0; i < n; i++) {
		p[i].name = (char *)cstr(req, &r->protocols[i].name);
		p[i].metadata = (uint8_t *)r->protocols[i].metadata.ptr;
		p[i].len = r->protocols[i].metadata.len > 0 ?
			   (size_t)r->protocols[i].metadata.len : 0;
	}
	a.group_id = cstr(req, &r->group_id);
	a.member_id = cstr(req, &r->member_id);
	a.instance_id = cstr_null(req, &r->group_instance_id);
	a.client_id = cstr(req, &req->hdr.client_id);
	a.client_host = client_host(req);
	a.protocol_type = cstr(req, &r->protocol_type);
	a.session_timeout_ms = r->session_timeout_ms;
	a.rebalance_timeout_ms = req->api_version >= 1 ?
				 r->rebalance_timeout_ms : -1;
	a.protocols = p;
	a.nprotocols = (size_t)n;
	a.require_known_member_id = req->api_version >= 4;
	a.supports_skip_assignment = req->api_version >= 9;
	return chronik_groups_park(req, call_join, &a);
}

/* ---- SyncGroup -------------------------------------------------------- */

void chronik_group_sync_fill(chronik_request *req,
			     const chronik_group_sync_result *r)
{
	chronik_protocol_sync_group_response *resp = req->resp;

	resp->error_code = r->error;
	if (req->api_version >= 5) {
		resp->protocol_type = arena_str(req, r->protocol_type);
		resp->protocol_name = arena_str(req, r->protocol_name);
	}
	resp->assignment = arena_bytes(req, r->assignment, r->len);
	set_error(req, r->error);
}

static int call_sync(chronik_group_coord *c, const void *args, void *ctx)
{
	return chronik_group_sync(c, args, ctx);
}

int chronik_handle_sync_group(chronik_request *req, const void *body,
			      void *resp_)
{
	const chronik_protocol_sync_group_request *r = body;
	chronik_group_sync_args a = { 0 };
	chronik_group_assignment *as;
	int32_t n = r->assignments_count > 0 ? r->assignments_count : 0;

	(void)resp_;
	as = chronik_protocol_arena_alloc(req->arena,
					  (size_t)(n ? n : 1) * sizeof *as);
	if (!as)
		return CHRONIK_ENOMEM;
	for (int32_t i = 0; i < n; i++) {
		as[i].member_id = cstr(req, &r->assignments[i].member_id);
		as[i].data = r->assignments[i].assignment.ptr;
		as[i].len = r->assignments[i].assignment.len > 0 ?
			    (size_t)r->assignments[i].assignment.len : 0;
	}
	a.group_id = cstr(req, &r->group_id);
	a.generation = r->generation_id;
	a.member_id = cstr(req, &r->member_id);
	a.instance_id = cstr_null(req, &r->group_instance_id);
	if (req->api_version >= 5) {
		a.protocol_type = cstr_null(req, &r->protocol_type);
		a.protocol_name = cstr_null(req, &r->protocol_name);
	}
	a.assignments = as;
	a.nassignments = (size_t)n;
	return chronik_groups_park(req, call_sync, &a);
}

/* ---- Heartbeat, LeaveGroup -------------------------------------------- */

int chronik_handle_heartbeat(chronik_request *req, const void *body,
			     void *resp_)
{
	const chronik_protocol_heartbeat_request *r = body;
	chronik_protocol_heartbeat_response *resp = resp_;

	resp->error_code = chronik_group_heartbeat(
		chronik_groups(req->broker), cstr(req, &r->group_id),
		r->generation_id, cstr(req, &r->member_id),
		cstr_null(req, &r->group_instance_id));
	set_error(req, resp->error_code);
	return CHRONIK_HANDLER_DONE;
}

int chronik_handle_leave_group(chronik_request *req, const void *body,
			       void *resp_)
{
	const chronik_protocol_leave_group_request *r = body;
	chronik_protocol_leave_group_response *resp = resp_;
	chronik_group_coord *c = chronik_groups(req->broker);
	const char *group = cstr(req, &r->group_id);
	int32_t n;

	if (req->api_version < 3) {
		resp->error_code = chronik_group_leave(c, group,
			cstr(req, &r->member_id), NULL);
		set_error(req, resp->error_code);
		return CHRONIK_HANDLER_DONE;
	}
	n = r->members_count > 0 ? r->members_count : 0;
	resp->members = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->members);
	if (!resp->members)
		return CHRONIK_ENOMEM;
	resp->members_count = n;
	{
		chronik_group *g = chronik_group_find(c, group);
		if (g && g->state == CHRONIK_GROUP_DEAD)
			resp->error_code =
				CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
	}
	for (int32_t i = 0; i < n; i++) {
		const chronik_protocol_leave_group_request_member_identity
			*m = &r->members[i];
		chronik_protocol_leave_group_response_member_response *o =
			&resp->members[i];

		chronik_protocol_leave_group_response_member_response_init(o);
		o->member_id = m->member_id;
		o->group_instance_id = m->group_instance_id;
		if (resp->error_code)
			continue;
		o->error_code = chronik_group_leave(c, group,
			cstr(req, &m->member_id),
			cstr_null(req, &m->group_instance_id));
		set_error(req, o->error_code);
	}
	set_error(req, resp->error_code);
	return CHRONIK_HANDLER_DONE;
}
