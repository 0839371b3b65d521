/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The group coordinator inside the broker (group_broker.c): one
 * chronik_group_coord on the loop thread, a libuv timer driving its
 * deadlines, and the glue that answers parked JoinGroup/SyncGroup
 * requests. Three hooks in broker.c: start after the topics are loaded,
 * stop when the loop shuts down, free before the metadata store closes.
 */
#ifndef CHRONIK_SERVER_GROUP_BROKER_H
#define CHRONIK_SERVER_GROUP_BROKER_H

#include "broker.h"
#include "group.h"

/* Load groups from the metadata store and start the timer. 0 or a
 * negative code (logged). */
int chronik_groups_start(chronik_broker *b);
/* Close the timer (the loop can then finish). */
void chronik_groups_stop(chronik_broker *b);
/* Free the coordinator. */
void chronik_groups_free(chronik_broker *b);

/* The coordinator of b (loop thread). */
chronik_group_coord *chronik_groups(chronik_broker *b);

/* Park req while the coordinator answers it: returns
 * CHRONIK_HANDLER_DONE if the answer came during `call`, else
 * CHRONIK_HANDLER_ASYNC (req->cancel set). Used by JoinGroup/SyncGroup. */
typedef int (*chronik_groups_call)(chronik_group_coord *c, const void *args,
				   void *ctx);
int chronik_groups_park(chronik_request *req, chronik_groups_call call,
			const void *args);

/* Filled in by handlers/group_membership.c: write a coordinator answer
 * into req->resp (copying into req->arena). */
void chronik_group_join_fill(chronik_request *req,
			     const chronik_group_join_result *r);
void chronik_group_sync_fill(chronik_request *req,
			     const chronik_group_sync_result *r);

#endif /* CHRONIK_SERVER_GROUP_BROKER_H */
