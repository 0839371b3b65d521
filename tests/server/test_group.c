/* SPDX-License-Identifier: Apache-2.0 */
/* The group coordinator's state machine (chronik-server/src/group.c) with
 * a fake clock: join/sync/heartbeat/leave, KIP-394 member ids, protocol
 * selection, rebalance, session and pending-sync timeouts, the initial
 * rebalance delay, static members (KIP-345), offset-commit checks,
 * persistence in a real metadata store, offset expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <chronik/protocol.h>
#include <chronik/storage.h>

#include "group.h"

#define E(x) CHRONIK_PROTOCOL_ERR_##x

static int64_t fake_now = 1000000;
static int64_t fake_wall = INT64_C(1700000000000);

static int64_t now_cb(void *ud)
{
	(void)ud;
	return fake_now;
}

static int64_t wall_cb(void *ud)
{
	(void)ud;
	return fake_wall;
}

static void advance(int64_t ms)
{
	fake_now += ms;
	fake_wall += ms;
}

/* A parked or answered JoinGroup/SyncGroup. */
typedef struct call {
	bool done;
	int16_t error;
	int32_t generation;
	char member_id[256];
	char leader[256];
	char protocol[64];
	bool skip;
	size_t nmembers;
	char assignment[64];
} call;

static void join_cb(void *ctx, const chronik_group_join_result *r)
{
	call *x = ctx;

	assert_false(x->done);
	x->done = true;
	x->error = r->error;
	x->generation = r->generation;
	snprintf(x->member_id, sizeof x->member_id, "%s", r->member_id);
	snprintf(x->leader, sizeof x->leader, "%s",
		 r->leader_id ? r->leader_id : "");
	snprintf(x->protocol, sizeof x->protocol, "%s",
		 r->protocol_name ? r->protocol_name : "");
	x->skip = r->skip_assignment;
	x->nmembers = r->nmembers;
}

static void sync_cb(void *ctx, const chronik_group_sync_result *r)
{
	call *x = ctx;

	assert_false(x->done);
	x->done = true;
	x->error = r->error;
	snprintf(x->assignment, sizeof x->assignment, "%.*s", (int)r->len,
		 r->assignment ? (const char *)r->assignment : "");
}

static const chronik_group_ops ops = { join_cb, sync_cb, now_cb, wall_cb,
				       NULL };

static chronik_group_protocol proto_range = {
	"range", (uint8_t *)"meta-r", 6
};
static chronik_group_protocol proto_rr = {
	"roundrobin", (uint8_t *)"meta-rr", 7
};

typedef struct fixture {
	chronik_group_coord c;
	chronik_storage_meta *meta;
	char dir[64];
} fixture;

static int setup_cfg(void **state, int32_t delay, bool with_meta)
{
	fixture *f = calloc(1, sizeof *f);
	chronik_group_config cfg;

	if (!f)
		return -1;
	chronik_group_config_defaults(&cfg);
	cfg.initial_rebalance_delay_ms = delay;
	if (with_meta) {
		chronik_storage_meta_options o =
			CHRONIK_STORAGE_META_OPTIONS_INIT;
		snprintf(f->dir, sizeof f->dir, "/tmp/chronik-tg-XXXXXX");
		if (!mkdtemp(f->dir))
			return -1;
		o.dir = f->dir;
		o.flags = CHRONIK_STORAGE_META_NO_SYNC;
		if (chronik_storage_meta_open(&f->meta, &o, NULL) != 0)
			return -1;
	}
	chronik_group_coord_init(&f->c, &cfg, &ops, f->meta, NULL);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, 0, false);
}

static int setup_delay(void **state)
{
	return setup_cfg(state, 3000, false);
}

static int setup_meta(void **state)
{
	return setup_cfg(state, 0, true);
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	chronik_group_coord_free(&f->c);
	if (f->meta) {
		chronik_storage_meta_close(f->meta);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
		if (system(cmd) != 0)
			return -1;
	}
	free(f);
	return 0;
}

static chronik_group_join_args jargs(const char *group, const char *member,
				     const char *instance,
				     const chronik_group_protocol *p,
				     size_t n)
{
	chronik_group_join_args a = { 0 };

	a.group_id = group;
	a.member_id = member;
	a.instance_id = instance;
	a.client_id = "client";
	a.client_host = "/127.0.0.1";
	a.protocol_type = "consumer";
	a.session_timeout_ms = 10000;
	a.rebalance_timeout_ms = 30000;
	a.protocols = p;
	a.nprotocols = n;
	a.require_known_member_id = true;
	return a;
}

static void join(chronik_group_coord *c, call *x, const char *group,
		 const char *member_, const char *instance)
{
	char member[256];
	chronik_group_join_args a;

	/* member_ may point into *x, which is reset below. */
	snprintf(member, sizeof member, "%s", member_);
	a = jargs(group, member, instance, &proto_range, 1);

	memset(x, 0, sizeof *x);
	assert_int_equal(chronik_group_join(c, &a, x), 0);
}

/* KIP-394: a dynamic member joins twice (MEMBER_ID_REQUIRED first). */
static void join_new(chronik_group_coord *c, call *x, const char *group)
{
	char id[256];

	join(c, x, group, "", NULL);
	assert_true(x->done);
	assert_int_equal(x->error, E(MEMBER_ID_REQUIRED));
	assert_true(strncmp(x->member_id, "client-", 7) == 0);
	snprintf(id, sizeof id, "%s", x->member_id);
	join(c, x, group, id, NULL);
}

static void sync_leader(chronik_group_coord *c, call *x, const char *group,
			int32_t gen, const char *member_,
			const chronik_group_assignment *as, size_t n)
{
	chronik_group_sync_args a = { 0 };
	char member[256];

	snprintf(member, sizeof member, "%s", member_);

	a.group_id = group;
	a.generation = gen;
	a.member_id = member;
	a.assignments = as;
	a.nassignments = n;
	memset(x, 0, sizeof *x);
	assert_int_equal(chronik_group_sync(c, &a, x), 0);
}

static chronik_group_state state_of(chronik_group_coord *c, const char *g)
{
	chronik_group *grp = chronik_group_find(c, g);
	return grp ? grp->state : CHRONIK_GROUP_DEAD;
}

/* Two members, stable, assignments "A" and "B". */
static void two_stable(chronik_group_coord *c, call *a, call *b)
{
	call s1, s2;
	char ida[256], idb[256];

	join_new(c, a, "g");
	assert_true(a->done);
	assert_int_equal(a->error, 0);
	assert_int_equal(a->generation, 1);
	snprintf(ida, sizeof ida, "%s", a->member_id);
	sync_leader(c, &s1, "g", 1, ida, NULL, 0);
	assert_true(s1.done);
	assert_int_equal(state_of(c, "g"), CHRONIK_GROUP_STABLE);

	join_new(c, b, "g");
	assert_false(b->done); /* waits for a to rejoin */
	assert_int_equal(state_of(c, "g"),
			 CHRONIK_GROUP_PREPARING_REBALANCE);
	assert_int_equal(chronik_group_heartbeat(c, "g", 1, ida, NULL),
			 E(REBALANCE_IN_PROGRESS));
	join(c, a, "g", ida, NULL);
	assert_true(a->done && b->done);
	assert_int_equal(a->generation, 2);
	assert_int_equal(b->generation, 2);
	assert_string_equal(a->leader, ida);
	assert_int_equal(a->nmembers, 2);
	assert_int_equal(b->nmembers, 0);
	snprintf(idb, sizeof idb, "%s", b->member_id);

	/* The follower waits for the leader's assignment. */
	sync_leader(c, &s2, "g", 2, idb, NULL, 0);
	assert_false(s2.done);
	chronik_group_assignment as[2] = {
		{ ida, (const uint8_t *)"A", 1 },
		{ idb, (const uint8_t *)"B", 1 }
	};
	sync_leader(c, &s1, "g", 2, ida, as, 2);
	assert_true(s1.done && s2.done);
	assert_string_equal(s1.assignment, "A");
	assert_string_equal(s2.assignment, "B");
	assert_int_equal(state_of(c, "g"), CHRONIK_GROUP_STABLE);
}

static void test_join_sync_heartbeat(void **state)
{
	fixture *f = *state;
	call a, b;

	two_stable(&f->c, &a, &b);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2, a.member_id,
						 NULL), 0);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 1, a.member_id,
						 NULL), E(ILLEGAL_GENERATION));
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2, "nobody",
						 NULL), E(UNKNOWN_MEMBER_ID));
	assert_int_equal(chronik_group_heartbeat(&f->c, "x", 2, "nobody",
						 NULL), E(UNKNOWN_MEMBER_ID));
	/* A follower rejoining with the same metadata in Stable gets the
	 * current generation at once. */
	join(&f->c, &b, "g", b.member_id, NULL);
	assert_true(b.done);
	assert_int_equal(b.generation, 2);
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_STABLE);
	/* Unknown member id on an existing group. */
	join(&f->c, &b, "g", "bogus", NULL);
	assert_int_equal(b.error, E(UNKNOWN_MEMBER_ID));
	/* SyncGroup with a bad generation. */
	sync_leader(&f->c, &b, "g", 7, a.member_id, NULL, 0);
	assert_int_equal(b.error, E(ILLEGAL_GENERATION));
}

static void test_protocol_checks(void **state)
{
	fixture *f = *state;
	call a, b, x;
	chronik_group_protocol both[2] = { proto_range, proto_rr };
	chronik_group_protocol rev[2] = { proto_rr, proto_range };
	chronik_group_protocol only_rr[1] = { proto_rr };
	chronik_group_join_args ja;

	/* A prefers range, B and C prefer roundrobin: roundrobin wins. */
	ja = jargs("p", "", NULL, both, 2);
	ja.require_known_member_id = false;
	memset(&a, 0, sizeof a);
	chronik_group_join(&f->c, &ja, &a);
	assert_true(a.done);
	assert_string_equal(a.protocol, "range");
	sync_leader(&f->c, &x, "p", 1, a.member_id, NULL, 0);
	ja = jargs("p", "", NULL, rev, 2);
	ja.require_known_member_id = false;
	memset(&b, 0, sizeof b);
	chronik_group_join(&f->c, &ja, &b);
	call cc = { 0 };
	ja = jargs("p", "", NULL, only_rr, 1);
	ja.require_known_member_id = false;
	chronik_group_join(&f->c, &ja, &cc);
	char ida[256];
	snprintf(ida, sizeof ida, "%s", a.member_id);
	ja = jargs("p", ida, NULL, both, 2);
	memset(&a, 0, sizeof a);
	chronik_group_join(&f->c, &ja, &a);
	assert_true(a.done && b.done && cc.done);
	assert_string_equal(a.protocol, "roundrobin");
	assert_string_equal(cc.protocol, "roundrobin");

	/* A member with no common protocol, or another type. */
	chronik_group_protocol other = { "sticky", (uint8_t *)"m", 1 };
	ja = jargs("p", "", NULL, &other, 1);
	memset(&x, 0, sizeof x);
	chronik_group_join(&f->c, &ja, &x);
	assert_int_equal(x.error, E(INCONSISTENT_GROUP_PROTOCOL));
	ja = jargs("p", "", NULL, both, 2);
	ja.protocol_type = "connect";
	memset(&x, 0, sizeof x);
	chronik_group_join(&f->c, &ja, &x);
	assert_int_equal(x.error, E(INCONSISTENT_GROUP_PROTOCOL));
	/* Session timeout outside the broker's range; empty group id. */
	ja = jargs("p", "", NULL, both, 2);
	ja.session_timeout_ms = 10;
	memset(&x, 0, sizeof x);
	chronik_group_join(&f->c, &ja, &x);
	assert_int_equal(x.error, E(INVALID_SESSION_TIMEOUT));
	ja = jargs("", "", NULL, both, 2);
	memset(&x, 0, sizeof x);
	chronik_group_join(&f->c, &ja, &x);
	assert_int_equal(x.error, E(INVALID_GROUP_ID));

	/* SyncGroup v5 protocol checks. */
	chronik_group_sync_args sa = { 0 };
	sa.group_id = "p";
	sa.generation = a.generation;
	sa.member_id = a.member_id;
	sa.protocol_type = "consumer";
	sa.protocol_name = "range";
	memset(&x, 0, sizeof x);
	chronik_group_sync(&f->c, &sa, &x);
	assert_int_equal(x.error, E(INCONSISTENT_GROUP_PROTOCOL));
}

static void test_rebalance_timeout(void **state)
{
	fixture *f = *state;
	call a, b;
	char ida[256];

	two_stable(&f->c, &a, &b);
	snprintf(ida, sizeof ida, "%s", a.member_id);
	/* b rejoins with new metadata; a keeps heartbeating but never
	 * rejoins: removed when the rebalance timeout (30 s) ends. */
	char idb[256];
	snprintf(idb, sizeof idb, "%s", b.member_id);
	chronik_group_join_args ja = jargs("g", idb, NULL, &proto_rr, 1);
	chronik_group_protocol both[2] = { proto_range, proto_rr };
	ja.protocols = both;
	ja.nprotocols = 2;
	memset(&b, 0, sizeof b);
	chronik_group_join(&f->c, &ja, &b);
	assert_false(b.done);
	for (int i = 0; i < 29; i++) {
		advance(1000);
		assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2, ida,
							 NULL),
				 E(REBALANCE_IN_PROGRESS));
		chronik_group_tick(&f->c);
		assert_false(b.done);
	}
	advance(1000);
	chronik_group_tick(&f->c);
	assert_true(b.done);
	assert_int_equal(b.generation, 3);
	assert_string_equal(b.leader, b.member_id);
	assert_int_equal(chronik_group_find(&f->c, "g")->nmembers, 1);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 3, ida, NULL),
			 E(UNKNOWN_MEMBER_ID));
}

static void test_session_timeout(void **state)
{
	fixture *f = *state;
	call a, b, s;

	two_stable(&f->c, &a, &b);
	/* Only b heartbeats. */
	for (int i = 0; i < 9; i++) {
		advance(1000);
		assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2,
			b.member_id, NULL), 0);
		chronik_group_tick(&f->c);
	}
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_STABLE);
	advance(1500);
	chronik_group_tick(&f->c);
	assert_int_equal(state_of(&f->c, "g"),
			 CHRONIK_GROUP_PREPARING_REBALANCE);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2, a.member_id,
						 NULL), E(UNKNOWN_MEMBER_ID));
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 2, b.member_id,
						 NULL),
			 E(REBALANCE_IN_PROGRESS));
	join(&f->c, &b, "g", b.member_id, NULL);
	assert_true(b.done);
	assert_int_equal(b.generation, 3);
	assert_int_equal(b.nmembers, 1);
	sync_leader(&f->c, &s, "g", 3, b.member_id, NULL, 0);
	assert_true(s.done);
	assert_int_equal(s.error, 0);
	/* b also goes silent: the group ends Empty. */
	advance(10001);
	chronik_group_tick(&f->c);
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_EMPTY);
	assert_int_equal(chronik_group_find(&f->c, "g")->generation, 4);
}

static void test_pending_member_expiry(void **state)
{
	fixture *f = *state;
	call a, x;

	join_new(&f->c, &a, "g");
	sync_leader(&f->c, &x, "g", 1, a.member_id, NULL, 0);
	/* A MEMBER_ID_REQUIRED id that never comes back. */
	join(&f->c, &x, "g", "", NULL);
	assert_int_equal(x.error, E(MEMBER_ID_REQUIRED));
	assert_int_equal(chronik_group_find(&f->c, "g")->npending, 1);
	advance(10001);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 1, a.member_id,
						 NULL), 0);
	chronik_group_tick(&f->c);
	assert_int_equal(chronik_group_find(&f->c, "g")->npending, 0);
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_STABLE);
}

static void test_pending_sync_timeout(void **state)
{
	fixture *f = *state;
	call a, b, s;

	two_stable(&f->c, &a, &b);
	/* b leaves: a rejoins alone, gets generation 3 as leader but never
	 * syncs; after the rebalance timeout it is dropped. */
	assert_int_equal(chronik_group_leave(&f->c, "g", b.member_id, NULL),
			 0);
	join(&f->c, &a, "g", a.member_id, NULL);
	assert_true(a.done);
	assert_int_equal(a.generation, 3);
	assert_int_equal(state_of(&f->c, "g"),
			 CHRONIK_GROUP_COMPLETING_REBALANCE);
	/* OffsetCommit during CompletingRebalance. */
	assert_int_equal(chronik_group_commit_check(&f->c, "g", 3,
		a.member_id, NULL), E(REBALANCE_IN_PROGRESS));
	for (int i = 0; i < 30; i++) {
		advance(1000);
		chronik_group_heartbeat(&f->c, "g", 3, a.member_id, NULL);
		chronik_group_tick(&f->c);
	}
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_EMPTY);
	sync_leader(&f->c, &s, "g", 3, a.member_id, NULL, 0);
	assert_int_equal(s.error, E(UNKNOWN_MEMBER_ID));
}

static void test_leave(void **state)
{
	fixture *f = *state;
	call a, b, s;

	two_stable(&f->c, &a, &b);
	/* A follower waiting in SyncGroup hears REBALANCE_IN_PROGRESS. */
	assert_int_equal(chronik_group_leave(&f->c, "g", "nobody", NULL),
			 E(UNKNOWN_MEMBER_ID));
	assert_int_equal(chronik_group_leave(&f->c, "g", a.member_id, NULL),
			 0);
	assert_int_equal(state_of(&f->c, "g"),
			 CHRONIK_GROUP_PREPARING_REBALANCE);
	join(&f->c, &b, "g", b.member_id, NULL);
	assert_true(b.done);
	assert_int_equal(b.nmembers, 1); /* b is the leader now */
	sync_leader(&f->c, &s, "g", b.generation, b.member_id, NULL, 0);
	assert_int_equal(s.error, 0);
	assert_int_equal(chronik_group_leave(&f->c, "g", b.member_id, NULL),
			 0);
	assert_int_equal(state_of(&f->c, "g"), CHRONIK_GROUP_EMPTY);
	assert_int_equal(chronik_group_leave(&f->c, "zz", "x", NULL),
			 E(UNKNOWN_MEMBER_ID));
}

static void test_sync_interrupted(void **state)
{
	fixture *f = *state;
	call a, b, s2, c;

	two_stable(&f->c, &a, &b);
	/* New member during CompletingRebalance: the waiting follower's
	 * SyncGroup ends with REBALANCE_IN_PROGRESS. */
	join(&f->c, &a, "g", a.member_id, NULL); /* leader rejoin */
	join(&f->c, &b, "g", b.member_id, NULL);
	assert_true(a.done && b.done);
	assert_int_equal(state_of(&f->c, "g"),
			 CHRONIK_GROUP_COMPLETING_REBALANCE);
	sync_leader(&f->c, &s2, "g", b.generation, b.member_id, NULL, 0);
	assert_false(s2.done);
	join_new(&f->c, &c, "g");
	assert_true(s2.done);
	assert_int_equal(s2.error, E(REBALANCE_IN_PROGRESS));
}

static void test_initial_delay(void **state)
{
	fixture *f = *state;
	call a, b;

	join_new(&f->c, &a, "g");
	assert_false(a.done); /* 3 s initial delay */
	advance(2000);
	join_new(&f->c, &b, "g");
	assert_false(b.done);
	advance(1000); /* first delay ends, a member came: +3 s */
	chronik_group_tick(&f->c);
	assert_false(a.done);
	advance(2999);
	chronik_group_tick(&f->c);
	assert_false(a.done);
	advance(1);
	chronik_group_tick(&f->c);
	assert_true(a.done && b.done);
	assert_int_equal(a.generation, 1);
	assert_int_equal(a.nmembers + b.nmembers, 2);
}

static void test_static_members(void **state)
{
	fixture *f = *state;
	call a, b, s1, s2, x;
	char olda[256];

	join(&f->c, &a, "s", "", "ia"); /* no MEMBER_ID_REQUIRED */
	assert_true(a.done);
	assert_int_equal(a.error, 0);
	assert_true(strncmp(a.member_id, "ia-", 3) == 0);
	sync_leader(&f->c, &s1, "s", 1, a.member_id, NULL, 0);
	join(&f->c, &b, "s", "", "ib");
	assert_false(b.done);
	join(&f->c, &a, "s", a.member_id, "ia");
	assert_true(a.done && b.done);
	chronik_group_assignment as[2] = {
		{ a.member_id, (const uint8_t *)"A", 1 },
		{ b.member_id, (const uint8_t *)"B", 1 }
	};
	sync_leader(&f->c, &s2, "s", 2, b.member_id, NULL, 0);
	sync_leader(&f->c, &s1, "s", 2, a.member_id, as, 2);
	assert_string_equal(s2.assignment, "B");
	snprintf(olda, sizeof olda, "%s", a.member_id);

	/* The follower restarts: same instance, new member id, no
	 * rebalance, same assignment. */
	join(&f->c, &x, "s", "", "ib");
	assert_true(x.done);
	assert_int_equal(x.error, 0);
	assert_int_equal(x.generation, 2);
	assert_string_not_equal(x.member_id, b.member_id);
	assert_int_equal(state_of(&f->c, "s"), CHRONIK_GROUP_STABLE);
	sync_leader(&f->c, &s2, "s", 2, x.member_id, NULL, 0);
	assert_string_equal(s2.assignment, "B");
	/* The old incarnation is fenced. */
	assert_int_equal(chronik_group_heartbeat(&f->c, "s", 2, b.member_id,
						 "ib"), E(FENCED_INSTANCE_ID));
	join(&f->c, &s2, "s", b.member_id, "ib");
	assert_int_equal(s2.error, E(FENCED_INSTANCE_ID));
	assert_int_equal(chronik_group_commit_check(&f->c, "s", 2,
		b.member_id, "ib"), E(FENCED_INSTANCE_ID));

	/* The leader restarts with an old JoinGroup: told the old id leads
	 * (acts as a follower); with v9 it gets skip_assignment. */
	join(&f->c, &x, "s", "", "ia");
	assert_int_equal(x.error, 0);
	assert_string_equal(x.leader, olda);
	assert_int_equal(x.nmembers, 0);
	assert_int_equal(state_of(&f->c, "s"), CHRONIK_GROUP_STABLE);
	chronik_group_join_args ja = jargs("s", "", "ia", &proto_range, 1);
	ja.supports_skip_assignment = true;
	memset(&s1, 0, sizeof s1);
	chronik_group_join(&f->c, &ja, &s1);
	assert_int_equal(s1.error, 0);
	assert_true(s1.skip);
	assert_string_equal(s1.leader, s1.member_id);
	assert_int_equal(s1.nmembers, 2);
	assert_int_equal(state_of(&f->c, "s"), CHRONIK_GROUP_STABLE);

	/* LeaveGroup by instance id with a stale member id is fenced. */
	assert_int_equal(chronik_group_leave(&f->c, "s", olda, "ia"),
			 E(FENCED_INSTANCE_ID));
	assert_int_equal(chronik_group_leave(&f->c, "s", "", "ia"), 0);
	assert_int_equal(chronik_group_leave(&f->c, "s", "", "nope"),
			 E(UNKNOWN_MEMBER_ID));
}

static void test_commit_check(void **state)
{
	fixture *f = *state;
	call a, s;

	/* Simple consumer: generation -1, no member, unknown group. */
	assert_int_equal(chronik_group_commit_check(&f->c, "simple", -1, "",
						    NULL), 0);
	assert_int_equal(state_of(&f->c, "simple"), CHRONIK_GROUP_EMPTY);
	assert_null(chronik_group_find(&f->c, "simple")->protocol_type);
	assert_int_equal(chronik_group_commit_check(&f->c, "nogroup", 3,
						    "m", NULL),
			 E(ILLEGAL_GENERATION));
	join_new(&f->c, &a, "g");
	sync_leader(&f->c, &s, "g", 1, a.member_id, NULL, 0);
	assert_int_equal(chronik_group_commit_check(&f->c, "g", -1, "",
						    NULL),
			 E(UNKNOWN_MEMBER_ID));
	assert_int_equal(chronik_group_commit_check(&f->c, "g", 2,
						    a.member_id, NULL),
			 E(ILLEGAL_GENERATION));
	assert_int_equal(chronik_group_commit_check(&f->c, "g", 1,
						    a.member_id, NULL), 0);
	assert_int_equal(chronik_group_commit_check(&f->c, "", -1, "",
						    NULL), E(INVALID_GROUP_ID));
	/* DeleteGroups and OffsetDelete checks. */
	assert_int_equal(chronik_group_delete(&f->c, "g"),
			 E(NON_EMPTY_GROUP));
	assert_int_equal(chronik_group_delete(&f->c, "simple"), 0);
	assert_int_equal(chronik_group_delete(&f->c, "simple"),
			 E(GROUP_ID_NOT_FOUND));
	assert_int_equal(chronik_group_offset_delete_check(&f->c, "nope"),
			 E(GROUP_ID_NOT_FOUND));
	assert_int_equal(chronik_group_offset_delete_check(&f->c, "g"), 0);
}

/* ConsumerProtocolSubscription v0 with one topic. */
static void test_subscribed(void **state)
{
	fixture *f = *state;
	static uint8_t sub[] = { 0, 0, 0, 0, 0, 1, 0, 2, 't', '1',
				 0xff, 0xff, 0xff, 0xff };
	chronik_group_protocol p = { "range", sub, sizeof sub };
	chronik_group_join_args ja = jargs("sub", "", NULL, &p, 1);
	call a;

	ja.require_known_member_id = false;
	memset(&a, 0, sizeof a);
	chronik_group_join(&f->c, &ja, &a);
	assert_true(a.done);
	assert_true(chronik_group_subscribed(chronik_group_find(&f->c, "sub"),
					     "t1"));
	assert_false(chronik_group_subscribed(
		chronik_group_find(&f->c, "sub"), "t2"));
}

static void test_persist_and_load(void **state)
{
	fixture *f = *state;
	call a, b;
	chronik_group_coord c2;
	chronik_group_config cfg;
	chronik_group *g;

	two_stable(&f->c, &a, &b);
	chronik_group_config_defaults(&cfg);
	chronik_group_coord_init(&c2, &cfg, &ops, f->meta, NULL);
	assert_int_equal(chronik_group_load(&c2), 0);
	g = chronik_group_find(&c2, "g");
	assert_non_null(g);
	assert_int_equal(g->state, CHRONIK_GROUP_STABLE);
	assert_int_equal(g->generation, 2);
	assert_int_equal(g->nmembers, 2);
	assert_string_equal(g->protocol_name, "range");
	assert_string_equal(g->leader_id, a.member_id);
	/* The restored members carry on without a rebalance. */
	assert_int_equal(chronik_group_heartbeat(&c2, "g", 2, b.member_id,
						 NULL), 0);
	call s;
	sync_leader(&c2, &s, "g", 2, b.member_id, NULL, 0);
	assert_string_equal(s.assignment, "B");
	chronik_group_coord_free(&c2);

	/* An Empty group with offsets only reappears too. */
	chronik_storage_meta_offset o = { 5, -1, NULL, fake_wall, -1 };
	assert_int_equal(chronik_storage_meta_offset_commit(f->meta, "lone",
		"t", 0, &o), 0);
	chronik_group_coord_init(&c2, &cfg, &ops, f->meta, NULL);
	assert_int_equal(chronik_group_load(&c2), 0);
	g = chronik_group_find(&c2, "lone");
	assert_non_null(g);
	assert_int_equal(g->state, CHRONIK_GROUP_EMPTY);
	chronik_group_coord_free(&c2);
}

static void test_offset_expiry(void **state)
{
	fixture *f = *state;
	chronik_storage_meta_offset *got = NULL;
	call a, s;
	int64_t week = f->c.cfg.offsets_retention_ms;

	/* A simple consumer's offset: expires a week after the commit. */
	assert_int_equal(chronik_group_commit_check(&f->c, "simple", -1, "",
						    NULL), 0);
	chronik_storage_meta_offset o = { 5, -1, NULL, fake_wall, -1 };
	assert_int_equal(chronik_storage_meta_offset_commit(f->meta,
		"simple", "t", 0, &o), 0);
	/* A consumer group: kept while it has members, then a week from
	 * when it became Empty. */
	join_new(&f->c, &a, "g");
	sync_leader(&f->c, &s, "g", 1, a.member_id, NULL, 0);
	assert_int_equal(chronik_storage_meta_offset_commit(f->meta, "g",
		"t", 0, &o), 0);
	advance(week - 1000);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 1, a.member_id,
						 NULL), 0);
	assert_int_equal(chronik_group_expire_offsets(&f->c), 0);
	advance(2000);
	assert_int_equal(chronik_group_heartbeat(&f->c, "g", 1, a.member_id,
						 NULL), 0);
	assert_int_equal(chronik_group_expire_offsets(&f->c), 1);
	assert_null(chronik_group_find(&f->c, "simple"));
	assert_int_equal(chronik_group_leave(&f->c, "g", a.member_id, NULL),
			 0);
	advance(week - 1);
	assert_int_equal(chronik_group_expire_offsets(&f->c), 0);
	advance(2);
	assert_int_equal(chronik_group_expire_offsets(&f->c), 1);
	assert_null(chronik_group_find(&f->c, "g"));
	assert_int_equal(chronik_storage_meta_offset_fetch(&got, f->meta, "g",
							   "t", 0),
			 CHRONIK_ENOTFOUND);
}

static void test_blob_roundtrip(void **state)
{
	fixture *f = *state;
	call a, b;
	uint8_t *blob;
	size_t len;
	chronik_group *g;

	two_stable(&f->c, &a, &b);
	assert_int_equal(chronik_group_encode(chronik_group_find(&f->c, "g"),
					      &blob, &len), 0);
	assert_int_equal(chronik_group_decode(&f->c, "g2", blob, len, &g), 0);
	assert_int_equal(g->nmembers, 2);
	assert_string_equal(g->members[1]->client_host, "/127.0.0.1");
	assert_int_equal(g->members[0]->assignment_len, 1);
	/* Truncations are refused, never read past. */
	for (size_t n = 0; n < len; n++) {
		chronik_group *h = NULL;
		assert_int_not_equal(chronik_group_decode(&f->c, "g3", blob, n,
							  &h), 0);
		assert_null(h);
	}
	free(blob);
	/* Free it through a coordinator. */
	g->next = f->c.groups;
	f->c.groups = g;
	f->c.ngroups++;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_sync_heartbeat,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_checks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_session_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pending_member_expiry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_sync_timeout,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_interrupted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_initial_delay,
						setup_delay, teardown),
		cmocka_unit_test_setup_teardown(test_static_members, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_commit_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_subscribed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_persist_and_load,
						setup_meta, teardown),
		cmocka_unit_test_setup_teardown(test_offset_expiry,
						setup_meta, teardown),
		cmocka_unit_test_setup_teardown(test_blob_roundtrip, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
