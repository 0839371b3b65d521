/* SPDX-License-Identifier: Apache-2.0 */
/* ListGroups, DescribeGroups, DeleteGroups: read and remove the
 * coordinator's groups. Loop thread. */
#include <stdint.h>
#include <strings.h>
#include <string.h>

#include "../group_broker.h"
#include "handlers.h"

static chronik_protocol_str pstr(const char *s)
{
	chronik_protocol_str r = { s ? s : "", s ? (int32_t)strlen(s) : 0 };
	return r;
}

static chronik_protocol_bytes pbytes(const uint8_t *p, size_t n)
{
	chronik_protocol_bytes r = { p, (int32_t)n };
	return r;
}

static void set_error(chronik_request *req, int16_t err)
{
	if (err && !req->error_code)
		req->error_code = err;
}

static bool state_wanted(const chronik_protocol_list_groups_request *r,
			 chronik_group_state s)
{
	const char *name = chronik_group_state_name(s);

	if (r->states_filter_count <= 0)
		return true;
	for (int32_t i = 0; i < r->states_filter_count; i++) {
		const chronik_protocol_str *f = &r->states_filter[i];
		if (f->len == (int32_t)strlen(name) &&
		    strncasecmp(f->ptr, name, (size_t)f->len) == 0)
			return true;
	}
	return false;
}

static bool type_wanted(const chronik_protocol_list_groups_request *r)
{
	if (r->types_filter_count <= 0)
		return true;
	for (int32_t i = 0; i < r->types_filter_count; i++) {
		const chronik_protocol_str *f = &r->types_filter[i];
		if (f->len == 7 && strncasecmp(f->ptr, "classic", 7) == 0)
			return true;
	}
	return false;
}

int chronik_handle_list_groups(chronik_request *req, const void *body,
			       void *resp_)
{
	const chronik_protocol_list_groups_request *r = body;
	chronik_protocol_list_groups_response *resp = resp_;
	chronik_group_coord *c = chronik_groups(req->broker);
	int32_t n = 0;

	resp->groups = chronik_protocol_arena_alloc(req->arena,
		(c->ngroups ? c->ngroups : 1) * sizeof *resp->groups);
	if (!resp->groups)
		return CHRONIK_ENOMEM;
	for (chronik_group *g = c->groups; g; g = g->next) {
		chronik_protocol_list_groups_response_listed_group *o;

		if (g->state == CHRONIK_GROUP_DEAD)
			continue;
		if (req->api_version >= 4 && !state_wanted(r, g->state))
			continue;
		if (req->api_version >= 5 && !type_wanted(r))
			continue;
		o = &resp->groups[n++];
		chronik_protocol_list_groups_response_listed_group_init(o);
		o->group_id = pstr(g->id);
		o->protocol_type = pstr(g->protocol_type);
		if (req->api_version >= 4)
			o->group_state = pstr(chronik_group_state_name(
				g->state));
		if (req->api_version >= 5)
			o->group_type = pstr("classic");
	}
	resp->groups_count = n;
	return CHRONIK_HANDLER_DONE;
}

int chronik_handle_describe_groups(chronik_request *req, const void *body,
				   void *resp_)
{
	const chronik_protocol_describe_groups_request *r = body;
	chronik_protocol_describe_groups_response *resp = resp_;
	chronik_group_coord *c = chronik_groups(req->broker);
	int32_t n = r->groups_count > 0 ? r->groups_count : 0;

	resp->groups = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->groups);
	if (!resp->groups)
		return CHRONIK_ENOMEM;
	resp->groups_count = n;
	for (int32_t i = 0; i < n; i++) {
		chronik_protocol_describe_groups_response_described_group *o =
			&resp->groups[i];
		char *id = chronik_request_strdup(req, &r->groups[i]);
		chronik_group *g = id ? chronik_group_find(c, id) : NULL;
		bool stable;

		chronik_protocol_describe_groups_response_described_group_init(
			o);
		o->group_id = r->groups[i];
		if (req->api_version >= 3)
			o->authorized_operations =
				r->include_authorized_operations ?
				0 : INT32_MIN;
		if (!g) {
			/* Kafka describes an unknown group as Dead. */
			o->group_state = pstr("Dead");
			o->protocol_type = pstr("");
			o->protocol_data = pstr("");
			continue;
		}
		stable = g->state == CHRONIK_GROUP_STABLE;
		o->group_state = pstr(chronik_group_state_name(g->state));
		o->protocol_type = pstr(g->protocol_type);
		o->protocol_data = pstr(stable ? g->protocol_name : "");
		o->members = chronik_protocol_arena_alloc(req->arena,
			(g->nmembers ? g->nmembers : 1) * sizeof *o->members);
		if (!o->members)
			return CHRONIK_ENOMEM;
		o->members_count = (int32_t)g->nmembers;
		for (size_t j = 0; j < g->nmembers; j++) {
			chronik_protocol_describe_groups_response_described_group_member
				*m = &o->members[j];
			const chronik_group_member *gm = g->members[j];

			chronik_protocol_describe_groups_response_described_group_member_init(
				m);
			m->member_id = pstr(gm->member_id);
			if (req->api_version >= 4 && gm->instance_id)
				m->group_instance_id = pstr(gm->instance_id);
			m->client_id = pstr(gm->client_id);
			m->client_host = pstr(gm->client_host);
			m->member_metadata = pbytes(NULL, 0);
			m->member_assignment = pbytes(NULL, 0);
			if (!stable)
				continue;
			for (size_t k = 0; k < gm->nprotocols; k++)
				if (strcmp(gm->protocols[k].name,
					   g->protocol_name) == 0)
					m->member_metadata = pbytes(
						gm->protocols[k].metadata,
						gm->protocols[k].len);
			m->member_assignment = pbytes(gm->assignment,
						      gm->assignment_len);
		}
	}
	return CHRONIK_HANDLER_DONE;
}

int chronik_handle_delete_groups(chronik_request *req, const void *body,
				 void *resp_)
{
	const chronik_protocol_delete_groups_request *r = body;
	chronik_protocol_delete_groups_response *resp = resp_;
	chronik_group_coord *c = chronik_groups(req->broker);
	int32_t n = r->groups_names_count > 0 ? r->groups_names_count : 0;

	resp->results = chronik_protocol_arena_alloc(req->arena,
		(size_t)(n ? n : 1) * sizeof *resp->results);
	if (!resp->results)
		return CHRONIK_ENOMEM;
	resp->results_count = n;
	for (int32_t i = 0; i < n; i++) {
		chronik_protocol_delete_groups_response_deletable_group_result
			*o = &resp->results[i];
		char *id = chronik_request_strdup(req, &r->groups_names[i]);

		chronik_protocol_delete_groups_response_deletable_group_result_init(
			o);
		o->group_id = r->groups_names[i];
		if (!id)
			o->error_code =
				CHRONIK_PROTOCOL_ERR_GROUP_ID_NOT_FOUND;
		else if (!*id)
			o->error_code = CHRONIK_PROTOCOL_ERR_INVALID_GROUP_ID;
		else
			o->error_code = chronik_group_delete(c, id);
		set_error(req, o->error_code);
	}
	return CHRONIK_HANDLER_DONE;
}
