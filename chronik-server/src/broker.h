/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The broker: the libuv event loop, Kafka connections, the request
 * pipeline and the handler framework every Kafka API plugs into.
 * docs/server.md describes the architecture for users and contributors.
 *
 * Threads
 * - loop: one libuv loop thread runs the listener, every connection,
 *   request decoding, every handler, response encoding and writes. All
 *   functions here run on it unless they say otherwise.
 * - storage: the WAL writer thread runs storage completion callbacks;
 *   they reach the loop only through chronik_broker_post().
 * - http: libmicrohttpd's thread serves /metrics and /admin; it reads
 *   the metadata store (thread-safe) and atomics, never broker fields.
 *
 * Handler contract (see handlers/handlers.h for the table):
 *   int handler(chronik_request *req, const void *body, void *resp);
 * `body` is the decoded request struct of req->api_key (e.g.
 * chronik_protocol_produce_request), `resp` the matching response struct,
 * already initialised to schema defaults, both living in req->arena
 * (which is freed after the response was encoded). The handler fills
 * `resp` and returns
 *   CHRONIK_HANDLER_DONE         respond now (encode resp),
 *   CHRONIK_HANDLER_ASYNC        it keeps req and later calls
 *                                chronik_request_complete(req) on the
 *                                loop thread (after a WAL commit, a
 *                                long-poll wake-up, ...),
 *   CHRONIK_HANDLER_NO_RESPONSE  no response is sent (Produce acks=0),
 *   negative                     protocol violation: the connection is
 *                                closed.
 * Responses leave each connection in request order whatever order
 * handlers complete in.
 */
#ifndef CHRONIK_SERVER_BROKER_H
#define CHRONIK_SERVER_BROKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <chronik/protocol.h>
#include <chronik/storage.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

typedef struct chronik_broker chronik_broker;
typedef struct chronik_conn chronik_conn;
typedef struct chronik_request chronik_request;
typedef struct chronik_topic chronik_topic;
typedef struct chronik_fetch_waiter chronik_fetch_waiter;

enum chronik_handler_result {
	CHRONIK_HANDLER_DONE = 0,
	CHRONIK_HANDLER_ASYNC = 1,
	CHRONIK_HANDLER_NO_RESPONSE = 2
};

typedef int (*chronik_handler_fn)(chronik_request *req, const void *body,
				  void *resp);

/* One Kafka API served by the broker: what ApiVersions advertises. */
typedef struct chronik_handler {
	int16_t api_key;
	int16_t min_version;
	int16_t max_version;
	chronik_handler_fn fn;
} chronik_handler;

/* ---- zero-copy response bytes (sendfile) ----------------------------
 * A handler whose response carries large byte fields that live in files
 * (Fetch records in segment files) does not copy them: it points the
 * bytes field at a splice's marker (CHRONIK_SPLICE_MARKER bytes from
 * chronik_splice_init) and lists the pieces (file ranges, memory) that
 * replace it on the wire. The framework encodes the response with the
 * markers, then writes the bytes before each marker, the field's real
 * length prefix and the pieces (file ranges with sendfile(2) once the
 * socket's write queue is empty), keeping the connection's response
 * order. From chronik_request_complete() on, the framework owns the
 * pieces' fds (it closes them) and calls req->out_free(req->out_free_arg)
 * once the response is written or dropped, which releases the memory the
 * pieces point to. Only byte fields (not nested in tagged fields) may be
 * spliced: int32 length prefix in non-flexible versions, unsigned varint
 * length + 1 in flexible ones. */
#define CHRONIK_SPLICE_MARKER 16

typedef struct chronik_splice_piece {
	int fd;              /* file to send from, or -1 for memory */
	uint64_t pos;        /* file position (fd >= 0) */
	const uint8_t *mem;  /* fd == -1: bytes valid until out_free */
	size_t len;
} chronik_splice_piece;

typedef struct chronik_splice {
	uint8_t marker[CHRONIK_SPLICE_MARKER];
	chronik_splice_piece *pieces; /* any memory (read at complete) */
	size_t npieces;
	size_t len;                   /* sum of the pieces' lengths */
} chronik_splice;

/* One part of a response being written (framework-private). */
typedef struct chronik_out_piece {
	int fd;
	uint64_t pos;
	const uint8_t *mem;
	size_t len;
} chronik_out_piece;

/* One request from its frame to its encoded response. */
struct chronik_request {
	chronik_broker *broker;
	/* NULL once the connection closed while the request was in flight:
	 * the handler may still finish (its response is dropped). */
	chronik_conn *conn;
	chronik_protocol_request_header hdr;
	int16_t api_key;
	int16_t api_version;
	/* Holds body, resp and anything the handler allocates for them;
	 * freed with the request. */
	chronik_protocol_arena *arena;
	void *resp;
	/* Kafka error code of the response as a whole, for the metrics
	 * (handlers set the first partition/topic error they report). */
	int16_t error_code;
	/* Free for the handler (pending counts, waiter state, ...). */
	void *handler_data;
	/* Set by a handler that parks the request (long poll): called on
	 * the loop thread when the connection closes (req->conn is then
	 * NULL) or the broker shuts down; it must complete the request
	 * soon (at once for a long poll). */
	void (*cancel)(chronik_request *req);

	/* Zero-copy bytes of the response (see chronik_splice above); the
	 * array may live in the arena. Set before completing. */
	chronik_splice *splices;
	size_t nsplices;
	void (*out_free)(void *arg);
	void *out_free_arg;

	/* --- framework-private --- */
	uint8_t *frame;   /* the request bytes; body views point here */
	size_t frame_len;
	uint64_t start_ns;
	uint8_t *out;     /* encoded response frame (size-prefixed) */
	size_t out_len;
	bool done;
	bool no_response;
	chronik_out_piece *pieces; /* spliced response, else NULL */
	size_t npieces, piece_idx;
	uint64_t piece_off;        /* bytes of pieces[piece_idx] sent */
	uint8_t (*prefixes)[8];    /* length prefixes of the splices */
	unsigned int writes;       /* uv_writes in flight */
	bool all_queued;           /* every byte handed to the socket */
	chronik_request *next; /* connection FIFO */
	chronik_request *post_next; /* chronik_broker_post queue */
};

/* A topic as the loop thread sees it (a cache of the metadata store). */
struct chronik_topic {
	char *name;
	uint8_t id[16];
	int32_t partitions;
	chronik_storage_topic_config cfg;
	chronik_storage_partition **parts; /* [partitions] */
	/* Per partition: long-polling fetches waiting for data. */
	chronik_fetch_waiter **waiters;    /* [partitions] list heads */
	/* [partitions] seen at the last wake-up; kept for watched
	 * partitions only (-1 when one starts being watched). */
	int64_t *last_hw;
	/* [partitions] 1 + its index in the broker's fetch_watch, 0 when
	 * no fetch waits on it. */
	size_t *watch_idx;
	chronik_topic *next;
};

/* A fetch registered on one partition while it long-polls. */
struct chronik_fetch_waiter {
	chronik_request *req;
	chronik_fetch_waiter *next;
	chronik_fetch_waiter **pprev;
	chronik_topic *topic;
	int32_t partition;
};

/* A partition some long-polling fetch waits on (fetch.c). */
typedef struct chronik_fetch_watch {
	chronik_topic *topic;
	int32_t partition;
} chronik_fetch_watch;

typedef void (*chronik_post_fn)(void *arg);

/* A unit of work posted to the loop; chronik_broker_post allocates one,
 * chronik_broker_post_item takes the caller's (no allocation). */
typedef struct chronik_post_item {
	chronik_post_fn fn;
	void *arg;
	bool owned; /* allocated by chronik_broker_post: freed after fn */
	struct chronik_post_item *next;
} chronik_post_item;

struct chronik_broker {
	const chronik_config *cfg;
	chronik_log *log;
	chronik_metrics *metrics;
	chronik_broker_metrics *bm;
	chronik_storage *storage;
	chronik_storage_meta *meta;
	chronik_http *http;
	uv_loop_t *loop;

	int32_t node_id;
	char cluster_id[64];
	char advertised_host[CHRONIK_CONFIG_HOST_MAX];
	int advertised_port;
	int bound_port;

	/* Handlers by API key (NULL fn: not served). */
	chronik_handler handlers[CHRONIK_METRICS_MAX_API];

	/* Group coordinator (group_broker.c). */
	struct chronik_groups_state *groups;

	chronik_topic *topics;   /* loop thread only */
	/* Idempotent producer state and ids (producers.c; loop thread). */
	struct chronik_producers *producers;
	int32_t partition_count;

	/* Connections (loop thread). */
	uv_tcp_t listener;
	bool listening;
	chronik_conn *conns;
	size_t nconns;
	uint64_t next_conn_id;
	uv_timer_t sweep_timer;
	bool sweep_started;
	/* Connections with responses finished during this loop turn: they
	 * are written together (one write per connection) from a check
	 * handle, after every callback of the turn ran (net.c). */
	uv_check_t flush_check;
	bool flush_check_init;
	chronik_conn *flush_list;
	/* Reset decode arenas of small Produce requests, reused by the next
	 * requests (a fresh arena costs two allocations of which one is a
	 * 4 KiB chunk, too big for malloc's per-thread cache). */
	chronik_protocol_arena *arena_pool[128];
	size_t narena_pool;
	bool arena_pool_closed; /* also closes the two pools below */
	/* Request structs and small buffers (frames and responses of at
	 * most CHRONIK_NET_SMALL_BUF bytes) kept for reuse: with many
	 * requests in flight, malloc's per-thread cache (7 chunks per size)
	 * overflows and every request paid its slow path three times. Loop
	 * thread only. */
	struct chronik_request *req_pool[256];
	size_t nreq_pool;
	void *buf_pool[256];
	size_t nbuf_pool;
	uv_poll_t storage_poll;
	/* Runs at the end of every loop iteration: writes the acks=1 batches
	 * the iteration appended with CHRONIK_STORAGE_APPEND_DEFER (when
	 * storage_flush_due) and answers what that completed. Loop thread. */
	uv_check_t storage_flush;
	bool storage_flush_due;
	uv_signal_t sigterm, sigint;
	uv_async_t post_async;
	uv_timer_t shutdown_timer;
	/* Read by the HTTP thread (/admin status): atomic. */
	atomic_bool stopping;
	int exit_code;
	unsigned int shutdown_ticks;

	/* Work posted from other threads. */
	uv_mutex_t post_mu;
	bool post_closed; /* no more uv_async_send; drained by close */
	struct chronik_post_item *post_head, *post_tail;

	/* Topics whose partition logs are being deleted by a worker
	 * (loop thread): the name cannot be created again until done. */
	struct chronik_topic_deletion *deletions;
	/* Fetch wake-ups being processed (fetch.c; loop thread). */
	void *fetch_wake_list;
	/* The partitions fetches wait on: what a wake-up looks at, so its
	 * cost follows the parked fetches, not the partition count. */
	chronik_fetch_watch *fetch_watch;
	size_t nfetch_watch, capfetch_watch;
	/* Random part of splice markers (chronik_splice_init). */
	uint8_t splice_nonce[12];
	uint32_t splice_seq;
	/* Guards `stats_storage`, the storage as the metrics collector
	 * (HTTP thread) may use it: NULL once the storage closes. */
	uv_mutex_t stats_mu;
	chronik_storage *stats_storage;

	/* Limits. */
	size_t max_request_bytes;
	uint64_t idle_ms;
	size_t max_inflight;       /* per connection */
	size_t max_queued_output;  /* per connection, bytes */
};

/* ---- lifecycle (main thread, which becomes the loop thread) ---------- */

/* Open metadata and storage under cfg->data_dir, recover, reopen every
 * known partition, start HTTP, bind the Kafka listener. 0 or negative
 * with a logged reason. */
int chronik_broker_open(chronik_broker *b, const chronik_config *cfg,
			chronik_log *log, uv_loop_t *loop);
/* Run the loop until SIGTERM/SIGINT and the graceful shutdown finish. */
int chronik_broker_run(chronik_broker *b);
/* Close storage, meta, HTTP; free everything. */
void chronik_broker_close(chronik_broker *b);

/* ---- for handlers (loop thread) ------------------------------------- */

/* Register (or replace) the handler of one API key; ApiVersions
 * advertises exactly the registered ranges. 0 or CHRONIK_EARG. */
int chronik_broker_register(chronik_broker *b, const chronik_handler *h);

/* Finish an asynchronous request: encode req->resp and queue it. */
void chronik_request_complete(chronik_request *req);
/* Finish an asynchronous request without a response. */
void chronik_request_complete_silent(chronik_request *req);

/* Run fn(arg) on the loop thread soon. Any thread. 0 or -ENOMEM. */
int chronik_broker_post(chronik_broker *b, chronik_post_fn fn, void *arg);
/* Same with caller-owned storage `it`, which must stay valid until fn
 * runs (fn may free it). Any thread. wake = false skips the loop
 * wake-up: only for storage completion callbacks that run before the
 * commit's storage event (the WAL's on_commit writes the storage event
 * fd after every record callback of the commit), whose handler drains
 * the posts: one wake-up per WAL commit instead of one per request. */
void chronik_broker_post_item(chronik_broker *b, chronik_post_item *it,
			      chronik_post_fn fn, void *arg, bool wake);

/* Topics (loop thread). */
chronik_topic *chronik_broker_topic_find(chronik_broker *b,
					 const char *name, size_t len);
chronik_topic *chronik_broker_topic_find_id(chronik_broker *b,
					    const uint8_t id[16]);
/* Create a topic in the metadata store and open its partitions.
 * partitions <= 0: num.partitions. configs override topic_defaults.
 * 0; CHRONIK_EEXIST; CHRONIK_EARG (bad name, partitions or config,
 * *why set); other negative codes. */
int chronik_broker_topic_create(chronik_broker *b, chronik_topic **out,
				const char *name, int32_t partitions,
				const chronik_storage_meta_config *configs,
				size_t nconfigs, bool validate_only,
				const char **why);
/* Mark deleted in meta and forget it; its partition logs are deleted
 * by a worker thread (chronik_storage_partition_delete), and creating
 * the name again returns CHRONIK_EEXIST until that is done.
 * 0 or CHRONIK_ENOTFOUND. */
int chronik_broker_topic_delete(chronik_broker *b, const char *name);
/* Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not . or .. */
bool chronik_topic_name_valid(const char *name, size_t len);

/* Long polling (fetch handler): wake waiters of partitions whose high
 * watermark moved. Called by the broker on the storage event fd. */
void chronik_fetch_wake(chronik_broker *b);

/* Give `sp` a marker unique on this broker and no pieces. */
void chronik_splice_init(chronik_broker *b, chronik_splice *sp);

/* Monotonic clock and wall clock. */
uint64_t chronik_now_ns(void);
int64_t chronik_wall_ms(void);

/* Copy a protocol string into the arena as a C string (NULL for null). */
char *chronik_request_strdup(chronik_request *req,
			     const chronik_protocol_str *s);

#endif /* CHRONIK_SERVER_BROKER_H */
