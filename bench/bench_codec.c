/* SPDX-License-Identifier: Apache-2.0 */
/* Codec benchmark (not a test): decode and re-encode of a Produce request
 * carrying a 1 MiB record batch, and encodes of a Metadata and a Fetch
 * response. Prints the median of 9 timed runs of each case.
 *   ninja -C build bench && build/bench/bench_codec */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chronik/protocol.h"

#define RUNS 9

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what, int rc, const chronik_protocol_errinfo *e)
{
	fprintf(stderr, "bench_codec: %s: %s (%s)\n", what,
		chronik_strerror(rc), e ? e->message : "");
	exit(1);
}

typedef int (*bench_fn)(void *ctx);

/* Runs fn repeatedly for about 0.3 s per run; returns the median seconds
 * per call over RUNS runs. */
static double measure(bench_fn fn, void *ctx)
{
	double per[RUNS];
	long iters = 1;
	/* Calibrate. */
	for (;;) {
		double t0 = now();
		for (long i = 0; i < iters; i++)
			fn(ctx);
		double dt = now() - t0;
		if (dt > 0.05)
			break;
		iters *= 2;
	}
	iters = iters * 6;
	for (int r = 0; r < RUNS; r++) {
		double t0 = now();
		for (long i = 0; i < iters; i++)
			fn(ctx);
		per[r] = (now() - t0) / (double)iters;
	}
	qsort(per, RUNS, sizeof per[0], cmp_double);
	return per[RUNS / 2];
}

struct produce_ctx {
	chronik_protocol_arena *arena;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	int16_t version;
	int reencode;
};

static int produce_roundtrip(void *p)
{
	struct produce_ctx *c = p;
	chronik_protocol_errinfo err;
	chronik_protocol_request_header h;
	void *body;
	size_t n;
	chronik_protocol_arena_reset(c->arena);
	int rc = chronik_protocol_request_frame_decode(&h, &body, c->arena,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, c->in, c->in_len, &err);
	if (rc)
		die("decode", rc, &err);
	if (!c->reencode)
		return 0;
	rc = chronik_protocol_request_frame_encode(&n, c->out, c->out_cap,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &h, body, &err);
	if (rc || n != c->in_len)
		die("encode", rc, &err);
	return 0;
}

static void bench_produce(int16_t version, size_t batch)
{
	chronik_protocol_arena *a;
	chronik_protocol_errinfo err;
	if (chronik_protocol_arena_new(&a, 0))
		die("arena", CHRONIK_ENOMEM, NULL);
	uint8_t *records = malloc(batch);
	for (size_t i = 0; i < batch; i++)
		records[i] = (uint8_t)(i * 131 + 7);
	chronik_protocol_produce_request_partition_produce_data part;
	chronik_protocol_produce_request_topic_produce_data topic;
	chronik_protocol_produce_request req;
	chronik_protocol_request_header h;
	chronik_protocol_produce_request_partition_produce_data_init(&part);
	chronik_protocol_produce_request_topic_produce_data_init(&topic);
	chronik_protocol_produce_request_init(&req);
	chronik_protocol_request_header_init(&h);
	part.index = 0;
	part.records.ptr = records;
	part.records.len = (int32_t)batch;
	topic.name.ptr = "bench-topic";
	topic.name.len = 11;
	topic.partition_data = &part;
	topic.partition_data_count = 1;
	req.acks = -1;
	req.timeout_ms = 30000;
	req.topic_data = &topic;
	req.topic_data_count = 1;
	h.request_api_key = CHRONIK_PROTOCOL_API_PRODUCE;
	h.request_api_version = version;
	h.correlation_id = 1;
	h.client_id.ptr = "bench";
	h.client_id.len = 5;
	size_t n;
	int rc = chronik_protocol_request_frame_encode(&n, NULL, 0,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &h, &req, &err);
	if (rc)
		die("size", rc, &err);
	uint8_t *frame = malloc(n), *out = malloc(n);
	rc = chronik_protocol_request_frame_encode(&n, frame, n,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &h, &req, &err);
	if (rc)
		die("encode", rc, &err);
	struct produce_ctx c = { a, frame, n, out, n, version, 0 };
	double d = measure(produce_roundtrip, &c);
	c.reencode = 1;
	double rt = measure(produce_roundtrip, &c);
	printf("produce v%-2d %7zu B batch: decode %8.3f us (%7.1f GB/s), "
	       "decode+re-encode %8.3f us (%5.2f GB/s)\n", version, batch,
	       d * 1e6, (double)n / d / 1e9, rt * 1e6, (double)n / rt / 1e9);
	free(frame);
	free(out);
	free(records);
	chronik_protocol_arena_free(a);
}

struct enc_ctx {
	int16_t key, version;
	const void *msg;
	uint8_t *out;
	size_t cap, len;
};

static int encode_response(void *p)
{
	struct enc_ctx *c = p;
	chronik_protocol_errinfo err;
	int rc = chronik_protocol_response_encode(&c->len, c->out, c->cap,
		c->key, c->version, c->msg, &err);
	if (rc)
		die("response encode", rc, &err);
	return 0;
}

static void run_encode(const char *name, struct enc_ctx *c)
{
	size_t n;
	int rc = chronik_protocol_response_encode(&n, NULL, 0, c->key,
		c->version, c->msg, NULL);
	if (rc)
		die(name, rc, NULL);
	c->out = malloc(n);
	c->cap = n;
	double t = measure(encode_response, c);
	printf("%-36s %8zu B: %8.3f us (%5.2f GB/s)\n", name, n, t * 1e6,
	       (double)n / t / 1e9);
	free(c->out);
}

static void bench_metadata(void)
{
	chronik_protocol_arena *a;
	if (chronik_protocol_arena_new(&a, 0))
		die("arena", CHRONIK_ENOMEM, NULL);
	chronik_protocol_metadata_response *r;
	void *m;
	chronik_protocol_response_new(&m, a, CHRONIK_PROTOCOL_API_METADATA);
	r = m;
	enum { TOPICS = 100, PARTS = 10, BROKERS = 3 };
	static int32_t replicas[BROKERS] = { 1, 2, 3 };
	r->brokers = chronik_protocol_arena_alloc(a, BROKERS *
						  sizeof *r->brokers);
	r->brokers_count = BROKERS;
	for (int i = 0; i < BROKERS; i++) {
		chronik_protocol_metadata_response_metadata_response_broker_init(
			&r->brokers[i]);
		r->brokers[i].node_id = i + 1;
		r->brokers[i].host.ptr = "broker.example.com";
		r->brokers[i].host.len = 18;
		r->brokers[i].port = 9092;
	}
	r->cluster_id.ptr = "chronik-cluster";
	r->cluster_id.len = 15;
	r->topics = chronik_protocol_arena_alloc(a, TOPICS * sizeof *r->topics);
	r->topics_count = TOPICS;
	for (int t = 0; t < TOPICS; t++) {
		chronik_protocol_metadata_response_metadata_response_topic *tp =
			&r->topics[t];
		chronik_protocol_metadata_response_metadata_response_topic_init(
			tp);
		char *name = chronik_protocol_arena_alloc(a, 16);
		tp->name.len = snprintf(name, 16, "topic-%04d", t);
		tp->name.ptr = name;
		tp->topic_id.bytes[0] = (uint8_t)t;
		tp->partitions = chronik_protocol_arena_alloc(a, PARTS *
			sizeof *tp->partitions);
		tp->partitions_count = PARTS;
		for (int p = 0; p < PARTS; p++) {
			chronik_protocol_metadata_response_metadata_response_partition
				*pp = &tp->partitions[p];
			chronik_protocol_metadata_response_metadata_response_partition_init(
				pp);
			pp->partition_index = p;
			pp->leader_id = 1 + p % BROKERS;
			pp->replica_nodes = replicas;
			pp->replica_nodes_count = BROKERS;
			pp->isr_nodes = replicas;
			pp->isr_nodes_count = BROKERS;
		}
	}
	struct enc_ctx c = { CHRONIK_PROTOCOL_API_METADATA, 12, r, NULL, 0, 0 };
	run_encode("metadata v12 response (100x10)", &c);
	chronik_protocol_arena_free(a);
}

static void bench_fetch(void)
{
	chronik_protocol_arena *a;
	if (chronik_protocol_arena_new(&a, 0))
		die("arena", CHRONIK_ENOMEM, NULL);
	enum { TOPICS = 4, PARTS = 8, BATCH = 64 * 1024 };
	uint8_t *records = calloc(1, BATCH);
	void *m;
	chronik_protocol_response_new(&m, a, CHRONIK_PROTOCOL_API_FETCH);
	chronik_protocol_fetch_response *r = m;
	r->responses = chronik_protocol_arena_alloc(a, TOPICS *
						    sizeof *r->responses);
	r->responses_count = TOPICS;
	for (int t = 0; t < TOPICS; t++) {
		chronik_protocol_fetch_response_fetchable_topic_response *tp =
			&r->responses[t];
		chronik_protocol_fetch_response_fetchable_topic_response_init(tp);
		tp->topic_id.bytes[15] = (uint8_t)(t + 1);
		tp->partitions = chronik_protocol_arena_alloc(a, PARTS *
			sizeof *tp->partitions);
		tp->partitions_count = PARTS;
		for (int p = 0; p < PARTS; p++) {
			chronik_protocol_fetch_response_partition_data *pd =
				&tp->partitions[p];
			chronik_protocol_fetch_response_partition_data_init(pd);
			pd->partition_index = p;
			pd->high_watermark = 1000000;
			pd->records.ptr = records;
			pd->records.len = BATCH;
		}
	}
	struct enc_ctx c = { CHRONIK_PROTOCOL_API_FETCH, 16, r, NULL, 0, 0 };
	run_encode("fetch v16 response (4x8x64KiB)", &c);
	free(records);
	chronik_protocol_arena_free(a);
}

int main(void)
{
	bench_produce(3, 1 << 20);
	bench_produce(9, 1 << 20);
	bench_produce(11, 1 << 20);
	bench_produce(9, 1024);
	bench_metadata();
	bench_fetch();
	return 0;
}
