/* SPDX-License-Identifier: Apache-2.0 */
/* The group coordinator in the broker: lifecycle, timer, parked
 * JoinGroup/SyncGroup requests (see group_broker.h). Loop thread. */
#include <stdlib.h>
#include <string.h>

#include "group_broker.h"

/* How often deadlines are checked; session timeouts are >= 1 s in
 * practice (group.min.session.timeout.ms, default 6 s). */
#define GROUP_TICK_MS 100

struct chronik_groups_state {
	chronik_group_coord coord;
	uv_timer_t timer;
	bool timer_open;
	chronik_broker *b;
};

chronik_group_coord *chronik_groups(chronik_broker *b)
{
	return &b->groups->coord;
}

static int64_t mono_ms(void *ud)
{
	(void)ud;
	return (int64_t)(chronik_now_ns() / 1000000u);
}

static int64_t wall_ms(void *ud)
{
	(void)ud;
	return chronik_wall_ms();
}

/* A parked request: handler_data points at `in_call` while the
 * coordinator runs inside the handler, NULL once parked. */
static void answer(chronik_request *req)
{
	if (req->handler_data) {
		*(bool *)req->handler_data = true;
		return;
	}
	req->cancel = NULL;
	chronik_request_complete(req);
}

static void join_done(void *ctx, const chronik_group_join_result *r)
{
	chronik_request *req = ctx;

	chronik_group_join_fill(req, r);
	answer(req);
}

static void sync_done(void *ctx, const chronik_group_sync_result *r)
{
	chronik_request *req = ctx;

	chronik_group_sync_fill(req, r);
	answer(req);
}

/* Connection gone or shutdown: forget the parked request and answer
 * COORDINATOR_NOT_AVAILABLE (dropped if the connection is gone), so a
 * client that is still there looks the coordinator up again. */
static void cancel(chronik_request *req)
{
	chronik_broker *b = req->broker;

	chronik_group_cancel(chronik_groups(b), req);
	req->cancel = NULL;
	if (req->api_key == CHRONIK_PROTOCOL_API_JOIN_GROUP) {
		chronik_group_join_result r = { 0 };
		r.error = CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
		r.generation = -1;
		r.member_id = "";
		r.leader_id = "";
		chronik_group_join_fill(req, &r);
	} else {
		chronik_group_sync_result r = { 0 };
		r.error = CHRONIK_PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
		chronik_group_sync_fill(req, &r);
	}
	chronik_request_complete(req);
}

int chronik_groups_park(chronik_request *req, chronik_groups_call call,
			const void *args)
{
	bool in_call = false;
	int rc;

	req->handler_data = &in_call;
	rc = call(chronik_groups(req->broker), args, req);
	req->handler_data = NULL;
	if (rc != 0)
		return rc;
	if (in_call)
		return CHRONIK_HANDLER_DONE;
	req->cancel = cancel;
	return CHRONIK_HANDLER_ASYNC;
}

static void on_tick(uv_timer_t *t)
{
	struct chronik_groups_state *s = t->data;

	chronik_group_tick(&s->coord);
}

int chronik_groups_start(chronik_broker *b)
{
	struct chronik_groups_state *s = calloc(1, sizeof *s);
	chronik_group_config gc;
	chronik_group_ops ops = { join_done, sync_done, mono_ms, wall_ms,
				  NULL };
	int rc;

	if (!s)
		return CHRONIK_ENOMEM;
	chronik_group_config_defaults(&gc);
	gc.initial_rebalance_delay_ms =
		(int32_t)b->cfg->group_initial_rebalance_delay_ms;
	gc.min_session_timeout_ms =
		(int32_t)b->cfg->group_min_session_timeout_ms;
	gc.max_session_timeout_ms =
		(int32_t)b->cfg->group_max_session_timeout_ms;
	gc.offsets_retention_ms = b->cfg->offsets_retention_minutes * 60000;
	chronik_group_coord_init(&s->coord, &gc, &ops, b->meta, b->log);
	s->b = b;
	b->groups = s;
	rc = chronik_group_load(&s->coord);
	if (rc != 0) {
		chronik_log_error(b->log, "group", "cannot load groups: %s",
				  chronik_strerror(rc));
		return rc;
	}
	uv_timer_init(b->loop, &s->timer);
	s->timer.data = s;
	s->timer_open = true;
	uv_timer_start(&s->timer, on_tick, GROUP_TICK_MS, GROUP_TICK_MS);
	return 0;
}

void chronik_groups_stop(chronik_broker *b)
{
	if (b->groups && b->groups->timer_open) {
		uv_close((uv_handle_t *)&b->groups->timer, NULL);
		b->groups->timer_open = false;
	}
}

void chronik_groups_free(chronik_broker *b)
{
	if (!b->groups)
		return;
	chronik_group_coord_free(&b->groups->coord);
	free(b->groups);
	b->groups = NULL;
}
