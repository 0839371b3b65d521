/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group coordinator: Kafka's classic consumer group protocol
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a state machine per
 * group, plus the checks OffsetCommit/OffsetDelete/DeleteGroups need.
 * docs/groups.md describes the behaviour for users.
 *
 *   Empty ──join──► PreparingRebalance ──all joined / timeout──►
 *   CompletingRebalance ──leader's SyncGroup──► Stable
 *   (any but Dead) ──member joins/leaves/expires──► PreparingRebalance
 *   PreparingRebalance with no member left ──► Empty
 *   Empty, offsets expired or DeleteGroups ──► Dead (forgotten)
 *
 * The coordinator knows nothing of connections or libuv: a parked
 * JoinGroup or SyncGroup is an opaque `ctx` answered later through the
 * ops callbacks, and time comes from ops->now_ms (monotonic, deadlines)
 * and ops->wall_ms (timestamps that are stored). The broker drives
 * chronik_group_tick() from a libuv timer; unit tests call it with a
 * fake clock. It stays assignor-agnostic: protocol metadata and
 * assignments are opaque bytes chosen and computed by the clients.
 *
 * Durability: group state (protocol, generation, leader, members with
 * their metadata and assignment) is written to the metadata store as one
 * blob per group when a rebalance completes, when a static member is
 * replaced and when the group becomes Empty; committed offsets are
 * written by the OffsetCommit handler. chronik_group_load() rebuilds
 * the groups at start-up (members get a fresh session timeout).
 *
 * Threads: everything runs on the loop thread (or the test's thread).
 */
#ifndef CHRONIK_SERVER_GROUP_H
#define CHRONIK_SERVER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chronik/storage.h>

#include "log.h"

typedef enum chronik_group_state {
	CHRONIK_GROUP_EMPTY,
	CHRONIK_GROUP_PREPARING_REBALANCE,
	CHRONIK_GROUP_COMPLETING_REBALANCE,
	CHRONIK_GROUP_STABLE,
	CHRONIK_GROUP_DEAD
} chronik_group_state;

/* Kafka's spelling: "Empty", "PreparingRebalance", ... */
const char *chronik_group_state_name(chronik_group_state s);

/* One protocol a member supports (name + opaque metadata). */
typedef struct chronik_group_protocol {
	char *name;
	uint8_t *metadata;
	size_t len;
} chronik_group_protocol;

typedef struct chronik_group_member {
	char *member_id;
	char *instance_id;        /* NULL: dynamic member */
	char *client_id;
	char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	chronik_group_protocol *protocols; /* preference order */
	size_t nprotocols;
	uint8_t *assignment;
	size_t assignment_len;
	int64_t hb_deadline;      /* monotonic ms */
	void *join_ctx;           /* parked JoinGroup, or NULL */
	void *sync_ctx;           /* parked SyncGroup, or NULL */
	bool synced;              /* sent SyncGroup this generation */
} chronik_group_member;

typedef struct chronik_group_pending {
	char *member_id;
	int64_t deadline;
} chronik_group_pending;

typedef struct chronik_group {
	char *id;
	chronik_group_state state;
	char *protocol_type;      /* NULL: none yet (simple consumer) */
	char *protocol_name;      /* NULL unless a generation chose one */
	int32_t generation;
	char *leader_id;
	chronik_group_member **members;
	size_t nmembers, cap;
	/* KIP-394: member ids handed out with MEMBER_ID_REQUIRED. */
	chronik_group_pending *pending;
	size_t npending, pending_cap;
	/* PreparingRebalance: when the join phase ends at the latest;
	 * CompletingRebalance: when members that did not sync are dropped. */
	int64_t rebalance_deadline;
	/* Initial delay (group.initial.rebalance.delay.ms) in progress. */
	bool initial_delay;
	bool new_member_added;
	int64_t initial_delay_end;   /* latest end of the whole delay */
	int64_t empty_since_wall;    /* wall ms the group became Empty */
	struct chronik_group *next;
} chronik_group;

/* A member as a JoinGroup response lists it (to the leader). */
typedef struct chronik_group_member_view {
	const char *member_id;
	const char *instance_id;
	const uint8_t *metadata;
	size_t len;
} chronik_group_member_view;

typedef struct chronik_group_join_result {
	int16_t error;
	int32_t generation;
	const char *protocol_type;  /* NULL on errors */
	const char *protocol_name;
	const char *leader_id;
	const char *member_id;      /* "" when not assigned */
	bool skip_assignment;
	const chronik_group_member_view *members; /* leader only */
	size_t nmembers;
} chronik_group_join_result;

typedef struct chronik_group_sync_result {
	int16_t error;
	const char *protocol_type;
	const char *protocol_name;
	const uint8_t *assignment;
	size_t len;
} chronik_group_sync_result;

typedef struct chronik_group_ops {
	/* Answer a JoinGroup / SyncGroup given to chronik_group_join/sync.
	 * Called at most once per ctx, possibly before join/sync return.
	 * Views are valid during the call only. */
	void (*join_done)(void *ctx, const chronik_group_join_result *r);
	void (*sync_done)(void *ctx, const chronik_group_sync_result *r);
	int64_t (*now_ms)(void *ud);   /* monotonic */
	int64_t (*wall_ms)(void *ud);  /* ms since the epoch */
	void *ud;
} chronik_group_ops;

typedef struct chronik_group_config {
	int32_t min_session_timeout_ms;    /* Kafka: 6000 */
	int32_t max_session_timeout_ms;    /* Kafka: 1800000 */
	int32_t initial_rebalance_delay_ms; /* Kafka: 3000 */
	int64_t offsets_retention_ms;      /* Kafka: 7 days */
	int64_t retention_check_ms;        /* Kafka: 600000 */
	size_t max_metadata_bytes;         /* offset.metadata.max.bytes */
} chronik_group_config;

void chronik_group_config_defaults(chronik_group_config *cfg);

typedef struct chronik_group_coord {
	chronik_group_config cfg;
	chronik_group_ops ops;
	chronik_storage_meta *meta;   /* NULL: nothing is stored */
	chronik_log *log;             /* may be NULL */
	chronik_group *groups;
	size_t ngroups;
	int64_t next_retention_check;
	uint64_t id_seq;
} chronik_group_coord;

/* meta and log may be NULL. 0 or CHRONIK_ENOMEM. */
int chronik_group_coord_init(chronik_group_coord *c,
			     const chronik_group_config *cfg,
			     const chronik_group_ops *ops,
			     chronik_storage_meta *meta, chronik_log *log);
/* Free every group; parked requests must have been cancelled. */
void chronik_group_coord_free(chronik_group_coord *c);
/* Rebuild groups from the metadata store. 0 or a negative code. */
int chronik_group_load(chronik_group_coord *c);

chronik_group *chronik_group_find(chronik_group_coord *c, const char *id);

typedef struct chronik_group_join_args {
	const char *group_id;
	const char *member_id;      /* "" for a new member */
	const char *instance_id;    /* NULL: dynamic */
	const char *client_id;
	const char *client_host;
	const char *protocol_type;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms; /* -1: the session timeout (v0) */
	const chronik_group_protocol *protocols;
	size_t nprotocols;
	bool require_known_member_id;  /* JoinGroup v4+ */
	bool supports_skip_assignment; /* JoinGroup v9+ */
} chronik_group_join_args;

/* Handle a JoinGroup; ops->join_done(ctx) answers it now or later.
 * 0, or CHRONIK_ENOMEM (nothing was answered). */
int chronik_group_join(chronik_group_coord *c,
		       const chronik_group_join_args *a, void *ctx);

typedef struct chronik_group_assignment {
	const char *member_id;
	const uint8_t *data;
	size_t len;
} chronik_group_assignment;

typedef struct chronik_group_sync_args {
	const char *group_id;
	int32_t generation;
	const char *member_id;
	const char *instance_id;
	const char *protocol_type;  /* NULL: not checked (before v5) */
	const char *protocol_name;
	const chronik_group_assignment *assignments;
	size_t nassignments;
} chronik_group_sync_args;

/* Handle a SyncGroup; ops->sync_done(ctx) answers it now or later.
 * 0 or CHRONIK_ENOMEM. */
int chronik_group_sync(chronik_group_coord *c,
		       const chronik_group_sync_args *a, void *ctx);

/* Heartbeat: the error code to answer. */
int16_t chronik_group_heartbeat(chronik_group_coord *c, const char *group_id,
				int32_t generation, const char *member_id,
				const char *instance_id);

/* Remove one member (member_id "" with an instance id: by instance).
 * The error code for that member. */
int16_t chronik_group_leave(chronik_group_coord *c, const char *group_id,
			    const char *member_id, const char *instance_id);

/* Forget a parked JoinGroup/SyncGroup (its connection went away).
 * true if ctx was parked here. */
bool chronik_group_cancel(chronik_group_coord *c, void *ctx);

/* OffsetCommit's group and member checks (classic protocol). A commit
 * with generation -1 and an unknown group creates an Empty group
 * without protocol type (simple consumer). The error code. */
int16_t chronik_group_commit_check(chronik_group_coord *c,
				   const char *group_id, int32_t generation,
				   const char *member_id,
				   const char *instance_id);

/* OffsetDelete's group-level check: NONE, GROUP_ID_NOT_FOUND,
 * NON_EMPTY_GROUP (members, protocol type not "consumer"). */
int16_t chronik_group_offset_delete_check(chronik_group_coord *c,
					  const char *group_id);
/* true if a member of the group subscribes to topic (consumer
 * protocol metadata of the selected protocol). */
bool chronik_group_subscribed(const chronik_group *g, const char *topic);

/* DeleteGroups: NONE (state and offsets removed), NON_EMPTY_GROUP,
 * GROUP_ID_NOT_FOUND. */
int16_t chronik_group_delete(chronik_group_coord *c, const char *group_id);

/* Run deadlines: pending member ids, session timeouts, the end of join
 * and sync phases, offset retention. Call often (the broker: 100 ms). */
void chronik_group_tick(chronik_group_coord *c);

/* Next deadline (monotonic ms) or INT64_MAX. */
int64_t chronik_group_next_deadline(chronik_group_coord *c);

/* Delete expired offsets now (also done by tick every
 * retention_check_ms); groups left Empty without offsets are removed.
 * The number of offsets deleted. */
size_t chronik_group_expire_offsets(chronik_group_coord *c);

/* Encode/decode the stored state blob (exposed for tests). */
int chronik_group_encode(const chronik_group *g, uint8_t **out,
			 size_t *len);
int chronik_group_decode(chronik_group_coord *c, const char *id,
			 const uint8_t *blob, size_t len,
			 chronik_group **out);

#endif /* CHRONIK_SERVER_GROUP_H */
