/* SPDX-License-Identifier: Apache-2.0 */
/* Kafka connections (net.c). Loop thread only. */
#ifndef CHRONIK_SERVER_NET_H
#define CHRONIK_SERVER_NET_H

#include <stdbool.h>

#include "broker.h"

/* Bind and listen on bind.kafka; sets b->bound_port. 0 or a uv error. */
int chronik_net_listen(chronik_broker *b);
void chronik_net_stop_accepting(chronik_broker *b);
/* Stop reading from every connection; cancel parked requests. */
void chronik_net_quiesce(chronik_broker *b);
/* No requests or unsent responses on any connection. */
bool chronik_net_idle(chronik_broker *b);
void chronik_net_close_all(chronik_broker *b);

void chronik_net__conn_close(chronik_conn *c, const char *why);
/* Capacity of the pooled small buffers (request frames, responses). */
#define CHRONIK_NET_SMALL_BUF 1024u
/* Free the request and buffer pools (after arena_pool_closed is set). */
void chronik_net__pools_free(chronik_broker *b);
int chronik_net__read_start(chronik_conn *c);

#endif /* CHRONIK_SERVER_NET_H */
