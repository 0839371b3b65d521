/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-bench's Kafka client plumbing on libchronik-protocol:
 *
 * - a blocking control connection (kc_sync) for the set-up requests
 *   (ApiVersions, CreateTopics, Metadata, ListOffsets), one request at
 *   a time with socket time-outs, so set-up code reads top to bottom;
 * - an asynchronous libuv connection (kconn) for the load: requests are
 *   pipelined, queued writes go out in one uv_write per loop turn, and
 *   responses are matched to the in-flight FIFO (Kafka answers in order
 *   per connection) and decoded zero-copy into a per-connection arena.
 */
#ifndef CHRONIK_BENCH_KAFKA_H
#define CHRONIK_BENCH_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include <chronik/protocol.h>

/* The versions picked with the broker (-1: the broker lacks the API). */
typedef struct bench_versions {
	int16_t produce;
	int16_t fetch;
	int16_t list_offsets;
	int16_t metadata;
	int16_t create_topics;
} bench_versions;

/* Resolve "host:port" (IPv6 as "[::1]:9092"). 0 or -1 with msg set. */
int kc_resolve(const char *hostport, struct sockaddr_storage *ss,
	       socklen_t *len, char *msg, size_t msgcap);

/* Encode a whole request frame (size prefix included) into *buf,
 * growing it. 0 or a negative chronik error. */
int kc_encode(uint8_t **buf, size_t *cap, size_t *len, int16_t api,
	      int16_t ver, int32_t corr, const void *body, char *msg,
	      size_t msgcap);

typedef struct kc_sync {
	int fd;
	int32_t corr;
	chronik_protocol_arena *arena;
	uint8_t *wbuf;
	size_t wcap;
	uint8_t *rbuf;
	size_t rcap;
	char err[300];
} kc_sync;

int kc_sync_open(kc_sync *k, const struct sockaddr *sa, socklen_t salen,
		 int timeout_ms);
/* Send one request and wait for its response, decoded into k->arena
 * (valid until the next call). 0 or -1 with k->err set. */
int kc_sync_call(kc_sync *k, int16_t api, int16_t ver, const void *body,
		 void **resp);
/* ApiVersions v3 (v0 fallback), then chronik_protocol_version_pick for
 * every API chronik-bench uses, within the ranges it implements. */
int kc_sync_negotiate(kc_sync *k, bench_versions *v);
void kc_sync_close(kc_sync *k);

/* ---- asynchronous connection ---- */

typedef struct kconn kconn;

/* One request: owned by the caller, reused after completion. */
typedef struct kreq {
	struct kreq *next;
	uint8_t *buf;   /* the encoded frame */
	size_t len;
	size_t cap;
	int16_t api;
	int16_t ver;
	int32_t corr;
	bool no_response; /* acks=0 produce: done when written */
	uint64_t t_sent;  /* uv_hrtime() when queued */
	void *ud;
} kreq;

typedef struct kconn_ops {
	/* A response arrived for req; body is decoded into the connection's
	 * arena and is valid only during the call. */
	void (*on_response)(kconn *c, kreq *req, void *body, uint64_t now);
	/* A no_response request was written to the socket. */
	void (*on_written)(kconn *c, kreq *req, uint64_t now);
	/* The connection failed (closed, bad frame); it is being closed. */
	void (*on_error)(kconn *c, const char *what);
} kconn_ops;

struct kconn {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	const kconn_ops *ops;
	void *ud;
	int id;
	bool connected;
	bool closing;
	int32_t next_corr;
	size_t inflight;      /* requests sent and not answered */
	kreq *head, *tail;    /* awaiting a response, in send order */
	kreq *qhead, *qtail;  /* queued, not yet handed to uv_write */
	size_t nqueued;
	uint8_t *rbuf;
	size_t rstart, rlen, rcap;
	chronik_protocol_arena *arena;
	uint64_t bytes_in, bytes_out;
	void (*on_connect)(kconn *c, int status);
};

int kconn_init(kconn *c, uv_loop_t *loop, const kconn_ops *ops, void *ud,
	       int id);
int kconn_connect(kconn *c, const struct sockaddr *sa,
		  void (*on_connect)(kconn *c, int status));
/* Encode body into req (correlation id assigned here) and queue it. */
int kconn_send(kconn *c, kreq *req, int16_t api, int16_t ver,
	       const void *body, bool no_response);
/* Hand every queued request to the socket in one uv_write. */
void kconn_flush(kconn *c);
void kconn_close(kconn *c);

#endif
