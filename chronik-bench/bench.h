/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-bench: shared state of one run. One libuv loop thread does
 * everything; see main.c (options, set-up, report), load.c (the modes).
 */
#ifndef CHRONIK_BENCH_BENCH_H
#define CHRONIK_BENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "hist.h"
#include "kafka.h"

enum bench_mode {
	MODE_PRODUCE,
	MODE_CONSUME,
	MODE_ROUND_TRIP,
	MODE_METADATA
};

enum bench_pattern {
	PATTERN_NONE,
	PATTERN_RANDOM,
	PATTERN_SEQUENTIAL,
	PATTERN_FIXED
};

/* Payload header written into every value of >= 24 bytes:
 * seq (le64), send time uv_hrtime ns (le64), CRC-32C of bytes 0..15
 * and 24..end (le32), magic "CBv1". */
#define BENCH_HDR_SIZE 24
#define BENCH_MAGIC "CBv1"

typedef struct bench_opts {
	int mode;
	const char *bootstrap;
	const char *topic;
	int concurrency;
	int connections;
	int message_size;
	double duration;   /* seconds; 0 with count */
	uint64_t count;    /* messages; 0: duration */
	double warmup;     /* seconds */
	int acks;
	int compression;
	int partitions;
	int batch_size;
	bool create_topic;
	int key_pattern;
	int payload_pattern;
	bool validate;
	bool json;
	bool progress;
	int fetch_bytes;   /* per partition and fetch */
	int timeout_s;     /* give up when nothing completes this long */
} bench_opts;

typedef struct bench bench;

/* A request slot: one request in flight at a time. */
typedef struct bench_slot {
	kreq req;
	bench *b;
	kconn *conn;
	int partition;
	int nmsg;
	bool warm;      /* sent during the warm-up: not counted */
	bool busy;
} bench_slot;

/* Consumer side: one fetch in flight per fetcher. */
typedef struct bench_fetcher {
	kreq req;
	bench *b;
	kconn *conn;
	int *parts;     /* partition indexes it owns */
	int nparts;
	chronik_protocol_fetch_request_fetch_partition *fparts; /* nparts */
	bool busy;
} bench_fetcher;

typedef struct part_state {
	int64_t next;   /* next offset to fetch */
	int64_t end;    /* stop here (consume to the end) */
	int64_t last_seq;
	bool done;
} part_state;

struct bench {
	bench_opts o;
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bench_versions v;
	int nparts;
	uint8_t topic_id[16];

	kconn *conns;     /* producer / metadata / fetch connections */
	int nconns;
	int nconnected;
	kconn cconn;      /* round-trip consumer connection */
	bench_slot *slots;
	int nslots;
	int active;       /* slots with a request in flight */
	bench_fetcher *fetchers;
	int nfetchers;
	int fetch_active;
	part_state *ps;

	uv_timer_t tick;
	unsigned ticks;
	uint64_t t_start;      /* load started */
	uint64_t t_measure;    /* measurement started (after warm-up) */
	uint64_t t_stop_send;  /* stop_sending set */
	uint64_t t_end;
	uint64_t t_last_done;
	bool measuring;
	bool stop_sending;
	bool finished;
	bool failed;

	/* measured */
	uint64_t msgs;
	uint64_t bytes;
	uint64_t requests;
	uint64_t errors;
	uint64_t sent_measured;
	uint64_t first_measured_seq;
	uint64_t rt_consumed;
	uint64_t rt_expected;
	char first_error[256];
	bench_hist hist;       /* request latency (ns) */
	bench_hist e2e;        /* round trip: produce to consume (ns) */
	bench_hist interval;   /* this second, for the progress line */
	uint64_t iv_msgs, iv_bytes;

	/* validation */
	uint64_t v_checked, v_bad, v_dup, v_ooo, v_maxseq;
	uint8_t *seen;
	size_t seen_bytes;

	/* message generation */
	uint64_t next_seq;
	uint64_t rng;
	chronik_protocol_batch_builder *builder;
	uint8_t *payload;
	uint8_t *pool;         /* random or ramp bytes to copy from */
	size_t pool_size;
	int next_part;
};

extern const kconn_ops bench_conn_ops;

void bench_error(bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Start the load on b->loop (connections already initialised by main). */
int bench_load_start(bench *b);
/* Payload helpers (also used by the consumer's validation). */
void bench_payload_make(bench *b, uint8_t *p, uint64_t seq, uint64_t ts);
/* 0: valid, -1: bad; *seq and *ts filled when valid. */
int bench_payload_check(const uint8_t *p, size_t n, uint64_t *seq,
			uint64_t *ts);

#endif
