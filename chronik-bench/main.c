/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-bench: the project's Kafka load generator. Options, set-up
 * over a blocking control connection (ApiVersions, CreateTopics,
 * Metadata, ListOffsets), then the load on libuv (load.c), then the
 * report (text or JSON).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench.h"

#ifndef CHRONIK_BENCH_VERSION
#define CHRONIK_BENCH_VERSION "0.1.0"
#endif

static const char help_text[] =
"NAME\n"
"    chronik-bench - load generator for Kafka-compatible brokers\n"
"\n"
"SYNOPSIS\n"
"    chronik-bench MODE [OPTIONS]\n"
"    chronik-bench --help | --version\n"
"\n"
"DESCRIPTION\n"
"    Speaks the Kafka protocol itself (libchronik-protocol on libuv, no\n"
"    librdkafka): negotiates versions with ApiVersions, looks the topic\n"
"    up with Metadata (creating it with CreateTopics when asked), then\n"
"    keeps --concurrency requests in flight and reports throughput and\n"
"    a latency histogram (p50, p90, p99, p99.9, max; log buckets, 1.6 %\n"
"    resolution).\n"
"\n"
"MODES\n"
"    produce     Produce requests of --batch-size messages (one record\n"
"                batch for one partition, partitions in turn); latency\n"
"                is request to response (acks=0: to the socket write).\n"
"    consume     Fetch the topic from the earliest offsets up to the end\n"
"                offsets seen at start (or --count / --duration); one\n"
"                Fetch in flight per connection, partitions spread over\n"
"                the connections; latency is per Fetch.\n"
"    round-trip  Produce as above while one more connection long-polls\n"
"                Fetch from the latest offsets; also reports end-to-end\n"
"                latency (send time embedded in each value to the moment\n"
"                the consumer decodes it).\n"
"    metadata    Metadata requests for the topic, --concurrency in\n"
"                flight.\n"
"\n"
"OPTIONS\n"
"    -b, --bootstrap HOST:PORT   broker (default 127.0.0.1:9092)\n"
"    -t, --topic NAME            topic (default chronik-bench)\n"
"    -c, --concurrency N         requests in flight (default 128)\n"
"        --connections N         TCP connections (default 1); the\n"
"                                in-flight requests are spread over them\n"
"    -s, --message-size BYTES    value size (default 256; k/m suffixes)\n"
"    -d, --duration SECONDS      measure this long (default 10)\n"
"    -n, --count N               measure exactly N messages (produce,\n"
"                                consume) or requests (metadata)\n"
"    -w, --warmup SECONDS        run this long before measuring\n"
"                                (default 0; not for consume)\n"
"    -a, --acks 0|1|all|-1       required acks (default all)\n"
"    -z, --compression CODEC     none, gzip, snappy, lz4, zstd\n"
"    -p, --partitions N          partitions for --create-topic\n"
"                                (default 1); the load uses every\n"
"                                partition the topic has\n"
"        --batch-size N          messages per Produce request (default\n"
"                                1: one message per request)\n"
"        --create-topic          CreateTopics first (an existing topic\n"
"                                is fine)\n"
"        --key-pattern P         none (default), random, sequential,\n"
"                                fixed (16-17 byte keys)\n"
"        --payload-pattern P     random (default), sequential, fixed\n"
"        --validate              consume: check every record's payload\n"
"                                (magic, CRC-32C, sequence numbers:\n"
"                                duplicates and gaps are errors)\n"
"        --fetch-bytes BYTES     per-partition Fetch size (default 1m)\n"
"        --timeout SECONDS       give up when nothing completes this\n"
"                                long (default 30)\n"
"        --json                  print one JSON object instead of text\n"
"        --progress / --no-progress\n"
"                                one line per second (default: when\n"
"                                stdout is a terminal and not --json)\n"
"    -h, --help                  this text\n"
"    -V, --version               the version\n"
"\n"
"PAYLOAD\n"
"    Values of 24 bytes or more start with a header: sequence number\n"
"    (le64), send time (le64, ns, monotonic clock of the producer),\n"
"    CRC-32C of the rest of the value (le32) and \"CBv1\". --validate\n"
"    checks them; round-trip needs them (--message-size >= 24).\n"
"\n"
"OUTPUT\n"
"    messages, errors, seconds, msg/s, MB/s (produce: value bytes;\n"
"    consume: record batch bytes), latency percentiles in ms. --json\n"
"    gives the same as one object (latencies in microseconds).\n"
"\n"
"EXIT STATUS\n"
"    0 when the run completed without errors, 1 when any request or\n"
"    validation failed, 2 for bad usage.\n"
"\n"
"EXAMPLES\n"
"    chronik-bench produce --create-topic -d 10 -c 128 -a all\n"
"    chronik-bench produce -n 100000 --batch-size 100 -z lz4\n"
"    chronik-bench consume --validate\n"
"    chronik-bench round-trip -d 5 -c 16 --json\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "chronik-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'chronik-bench --help'.\n");
	exit(2);
}

static long long parse_int(const char *s, const char *what, long long min,
			   long long max)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	long long mul = 1;

	if (end == s)
		usage_error("%s: not a number", what);
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		mul = 1024LL * 1024 * 1024;
	if (mul != 1)
		end++;
	if (*end)
		usage_error("%s: trailing characters", what);
	v *= mul;
	if (v < min || v > max)
		usage_error("%s: out of range", what);
	return v;
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || (*end && strcmp(end, "s")) || v < 0 || v > 1e6)
		usage_error("%s: expected seconds", what);
	return v;
}

static int parse_pattern(const char *s, bool allow_none)
{
	if (allow_none && !strcmp(s, "none"))
		return PATTERN_NONE;
	if (!strcmp(s, "random"))
		return PATTERN_RANDOM;
	if (!strcmp(s, "sequential"))
		return PATTERN_SEQUENTIAL;
	if (!strcmp(s, "fixed"))
		return PATTERN_FIXED;
	usage_error("unknown pattern '%s'", s);
	return 0;
}

static const char *codec_names[] = { "none", "gzip", "snappy", "lz4",
				     "zstd" };
static const char *mode_names[] = { "produce", "consume", "round-trip",
				    "metadata" };

enum {
	OPT_CONNECTIONS = 256, OPT_BATCH, OPT_CREATE, OPT_KEYP, OPT_PAYP,
	OPT_VALIDATE, OPT_JSON, OPT_PROGRESS, OPT_NOPROGRESS, OPT_FETCH,
	OPT_TIMEOUT
};

static void parse_args(bench_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "connections", required_argument, NULL, OPT_CONNECTIONS },
		{ "message-size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "acks", required_argument, NULL, 'a' },
		{ "compression", required_argument, NULL, 'z' },
		{ "partitions", required_argument, NULL, 'p' },
		{ "batch-size", required_argument, NULL, OPT_BATCH },
		{ "create-topic", no_argument, NULL, OPT_CREATE },
		{ "key-pattern", required_argument, NULL, OPT_KEYP },
		{ "payload-pattern", required_argument, NULL, OPT_PAYP },
		{ "validate", no_argument, NULL, OPT_VALIDATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NOPROGRESS },
		{ "fetch-bytes", required_argument, NULL, OPT_FETCH },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, progress = -1;
	bool have_duration = false;
	const char *mode = NULL;

	memset(o, 0, sizeof *o);
	o->bootstrap = "127.0.0.1:9092";
	o->topic = "chronik-bench";
	o->concurrency = 128;
	o->connections = 1;
	o->message_size = 256;
	o->duration = 10;
	o->acks = -1;
	o->partitions = 1;
	o->batch_size = 1;
	o->key_pattern = PATTERN_NONE;
	o->payload_pattern = PATTERN_RANDOM;
	o->fetch_bytes = 1 << 20;
	o->timeout_s = 30;

	while ((c = getopt_long(argc, argv, "b:t:c:s:d:n:w:a:z:p:hV", lo,
				NULL)) != -1) {
		switch (c) {
		case 'b': o->bootstrap = optarg; break;
		case 't':
			if (!*optarg || strlen(optarg) > 249)
				usage_error("bad topic name '%s'", optarg);
			o->topic = optarg;
			break;
		case 'c':
			o->concurrency = (int)parse_int(optarg,
				"--concurrency", 1, 65536);
			break;
		case OPT_CONNECTIONS:
			o->connections = (int)parse_int(optarg,
				"--connections", 1, 4096);
			break;
		case 's':
			o->message_size = (int)parse_int(optarg,
				"--message-size", 0, 64 << 20);
			break;
		case 'd':
			o->duration = parse_seconds(optarg, "--duration");
			have_duration = true;
			break;
		case 'n':
			o->count = (uint64_t)parse_int(optarg, "--count", 1,
						       INT64_MAX / 2);
			break;
		case 'w':
			o->warmup = parse_seconds(optarg, "--warmup");
			break;
		case 'a':
			if (!strcmp(optarg, "all") || !strcmp(optarg, "-1"))
				o->acks = -1;
			else if (!strcmp(optarg, "0") || !strcmp(optarg, "1"))
				o->acks = atoi(optarg);
			else
				usage_error("--acks: '%s' (0, 1, all)",
					    optarg);
			break;
		case 'z': {
			int i;
			for (i = 0; i < 5; i++)
				if (!strcasecmp(optarg, codec_names[i]))
					break;
			if (i == 5)
				usage_error("unknown codec '%s'", optarg);
			o->compression = i;
			break;
		}
		case 'p':
			o->partitions = (int)parse_int(optarg, "--partitions",
						       1, 100000);
			break;
		case OPT_BATCH:
			o->batch_size = (int)parse_int(optarg, "--batch-size",
						       1, 1000000);
			break;
		case OPT_CREATE: o->create_topic = true; break;
		case OPT_KEYP: o->key_pattern = parse_pattern(optarg, true);
			break;
		case OPT_PAYP:
			o->payload_pattern = parse_pattern(optarg, false);
			break;
		case OPT_VALIDATE: o->validate = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_PROGRESS: progress = 1; break;
		case OPT_NOPROGRESS: progress = 0; break;
		case OPT_FETCH:
			o->fetch_bytes = (int)parse_int(optarg, "--fetch-bytes",
							1024, 1 << 30);
			break;
		case OPT_TIMEOUT:
			o->timeout_s = (int)parse_int(optarg, "--timeout", 1,
						      86400);
			break;
		case 'h':
			fputs(help_text, stdout);
			exit(0);
		case 'V':
			printf("chronik-bench %s (libchronik-protocol %s)\n",
			       CHRONIK_BENCH_VERSION,
			       chronik_protocol_version_string());
			exit(0);
		default:
			fprintf(stderr, "Try 'chronik-bench --help'.\n");
			exit(2);
		}
	}
	if (optind >= argc)
		usage_error("%s", "no mode given (produce, consume, "
			    "round-trip, metadata)");
	mode = argv[optind++];
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	o->mode = -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(mode, mode_names[i]))
			o->mode = i;
	if (o->mode < 0)
		usage_error("unknown mode '%s'", mode);
	if (o->count && !have_duration)
		o->duration = 0;
	if (o->mode == MODE_CONSUME && !have_duration)
		o->duration = 0; /* to the end offsets */
	if ((o->validate || o->mode == MODE_ROUND_TRIP) &&
	    o->message_size < BENCH_HDR_SIZE)
		usage_error("%s", "--validate and round-trip need "
			    "--message-size >= 24");
	o->progress = progress >= 0 ? progress : (!o->json && isatty(1));
}

/* ---- set-up over the control connection ---- */

static int create_topic(kc_sync *k, bench *b)
{
	chronik_protocol_create_topics_request req;
	chronik_protocol_create_topics_request_creatable_topic t;
	chronik_protocol_create_topics_response *r;
	void *body;

	if (b->v.create_topics < 0) {
		fprintf(stderr, "chronik-bench: the broker has no "
			"CreateTopics\n");
		return -1;
	}
	chronik_protocol_create_topics_request_init(&req);
	chronik_protocol_create_topics_request_creatable_topic_init(&t);
	t.name.ptr = b->o.topic;
	t.name.len = (int32_t)strlen(b->o.topic);
	t.num_partitions = b->o.partitions;
	t.replication_factor = 1;
	req.topics = &t;
	req.topics_count = 1;
	req.timeout_ms = 10000;
	if (kc_sync_call(k, CHRONIK_PROTOCOL_API_CREATE_TOPICS,
			 b->v.create_topics, &req, &body)) {
		fprintf(stderr, "chronik-bench: CreateTopics: %s\n", k->err);
		return -1;
	}
	r = body;
	if (r->topics_count == 1 && r->topics[0].error_code &&
	    r->topics[0].error_code !=
		    CHRONIK_PROTOCOL_ERR_TOPIC_ALREADY_EXISTS) {
		fprintf(stderr, "chronik-bench: CreateTopics %s: %s\n",
			b->o.topic, chronik_protocol_error_name(
				r->topics[0].error_code));
		return -1;
	}
	return 0;
}

static int lookup_topic(kc_sync *k, bench *b)
{
	chronik_protocol_metadata_request req;
	chronik_protocol_metadata_request_metadata_request_topic t;
	chronik_protocol_metadata_response *r;
	void *body;
	int16_t ec = 0;

	for (int attempt = 0; attempt < 50; attempt++) {
		chronik_protocol_metadata_request_init(&req);
		chronik_protocol_metadata_request_metadata_request_topic_init(
			&t);
		t.name.ptr = b->o.topic;
		t.name.len = (int32_t)strlen(b->o.topic);
		req.topics = &t;
		req.topics_count = 1;
		if (b->v.metadata >= 4)
			req.allow_auto_topic_creation =
				b->o.mode != MODE_CONSUME;
		if (kc_sync_call(k, CHRONIK_PROTOCOL_API_METADATA,
				 b->v.metadata, &req, &body)) {
			fprintf(stderr, "chronik-bench: Metadata: %s\n",
				k->err);
			return -1;
		}
		r = body;
		if (r->topics_count == 1) {
			ec = r->topics[0].error_code;
			if (!ec && r->topics[0].partitions_count > 0) {
				b->nparts = r->topics[0].partitions_count;
				memcpy(b->topic_id,
				       r->topics[0].topic_id.bytes, 16);
				return 0;
			}
		}
		usleep(100 * 1000);
	}
	fprintf(stderr, "chronik-bench: topic %s: %s\n", b->o.topic,
		ec ? chronik_protocol_error_name(ec) : "no partitions");
	return -1;
}

/* ListOffsets of one partition: earliest (-2) or latest (-1). One
 * partition per request: librdkafka's mock cluster writes 4 extra bytes
 * per partition in v4+ responses, which only a lone partition at the
 * end of the response survives (the tail is ignored, see kafka.c). */
static int list_offset(kc_sync *k, bench *b, int32_t part, int64_t ts,
		       int64_t *out)
{
	chronik_protocol_list_offsets_request req;
	chronik_protocol_list_offsets_request_list_offsets_topic t;
	chronik_protocol_list_offsets_request_list_offsets_partition ps;
	chronik_protocol_list_offsets_response *r;
	void *body;

	chronik_protocol_list_offsets_request_init(&req);
	chronik_protocol_list_offsets_request_list_offsets_topic_init(&t);
	chronik_protocol_list_offsets_request_list_offsets_partition_init(
		&ps);
	req.replica_id = -1;
	ps.partition_index = part;
	ps.timestamp = ts;
	t.name.ptr = b->o.topic;
	t.name.len = (int32_t)strlen(b->o.topic);
	t.partitions = &ps;
	t.partitions_count = 1;
	req.topics = &t;
	req.topics_count = 1;
	if (kc_sync_call(k, CHRONIK_PROTOCOL_API_LIST_OFFSETS,
			 b->v.list_offsets, &req, &body)) {
		fprintf(stderr, "chronik-bench: ListOffsets: %s\n", k->err);
		return -1;
	}
	r = body;
	if (r->topics_count != 1 || r->topics[0].partitions_count != 1) {
		fprintf(stderr, "chronik-bench: ListOffsets: partition %d "
			"missing\n", part);
		return -1;
	}
	if (r->topics[0].partitions[0].error_code) {
		fprintf(stderr, "chronik-bench: ListOffsets partition %d: "
			"%s\n", part, chronik_protocol_error_name(
				r->topics[0].partitions[0].error_code));
		return -1;
	}
	*out = r->topics[0].partitions[0].offset;
	return 0;
}

static int list_offsets(kc_sync *k, bench *b, int64_t ts, bool earliest)
{
	for (int p = 0; p < b->nparts; p++)
		if (list_offset(k, b, p, ts, earliest ? &b->ps[p].next
						      : &b->ps[p].end))
			return -1;
	return 0;
}

static bool zero_id(const uint8_t *id)
{
	for (int i = 0; i < 16; i++)
		if (id[i])
			return false;
	return true;
}

static int setup(bench *b)
{
	kc_sync k;
	char msg[300];
	int rc = -1;

	if (kc_resolve(b->o.bootstrap, &b->addr, &b->addrlen, msg,
		       sizeof msg)) {
		fprintf(stderr, "chronik-bench: %s\n", msg);
		return -1;
	}
	if (kc_sync_open(&k, (struct sockaddr *)&b->addr, b->addrlen,
			 b->o.timeout_s * 1000)) {
		fprintf(stderr, "chronik-bench: %s: %s\n", b->o.bootstrap,
			k.err);
		return -1;
	}
	if (kc_sync_negotiate(&k, &b->v)) {
		fprintf(stderr, "chronik-bench: %s\n", k.err);
		goto out;
	}
	if (b->v.metadata < 0 || (b->o.mode != MODE_METADATA &&
				  (b->v.produce < 0 || b->v.fetch < 0 ||
				   b->v.list_offsets < 0))) {
		fprintf(stderr, "chronik-bench: the broker lacks Produce, "
			"Fetch, ListOffsets or Metadata in versions we "
			"speak\n");
		goto out;
	}
	if (b->o.create_topic && create_topic(&k, b))
		goto out;
	if (lookup_topic(&k, b))
		goto out;
	/* Fetch v13+ names topics by id: fall back if we have none. */
	if (b->v.fetch >= 13 && zero_id(b->topic_id))
		b->v.fetch = 12;
	b->ps = calloc((size_t)b->nparts, sizeof *b->ps);
	if (!b->ps)
		goto out;
	for (int p = 0; p < b->nparts; p++)
		b->ps[p].last_seq = -1;
	if (b->o.mode == MODE_CONSUME) {
		if (list_offsets(&k, b, -2, true) ||
		    list_offsets(&k, b, -1, false))
			goto out;
		for (int p = 0; p < b->nparts; p++)
			b->ps[p].done = b->ps[p].next >= b->ps[p].end;
	} else if (b->o.mode == MODE_ROUND_TRIP) {
		if (list_offsets(&k, b, -1, true))
			goto out;
	}
	rc = 0;
out:
	kc_sync_close(&k);
	return rc;
}

/* ---- load objects ---- */

static int prepare(bench *b)
{
	bench_opts *o = &b->o;
	chronik_protocol_batch_builder_options bo;
	size_t n = (size_t)o->message_size;

	b->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	b->nconns = o->connections;
	b->conns = calloc((size_t)b->nconns, sizeof *b->conns);
	if (!b->conns)
		return -1;
	for (int i = 0; i < b->nconns; i++)
		if (kconn_init(&b->conns[i], b->loop, &bench_conn_ops, b, i))
			return -1;
	if (o->mode == MODE_ROUND_TRIP &&
	    kconn_init(&b->cconn, b->loop, &bench_conn_ops, b, b->nconns))
		return -1;

	if (o->mode != MODE_CONSUME) {
		b->nslots = o->concurrency;
		b->slots = calloc((size_t)b->nslots, sizeof *b->slots);
		if (!b->slots)
			return -1;
		for (int i = 0; i < b->nslots; i++) {
			b->slots[i].b = b;
			b->slots[i].conn = &b->conns[i % b->nconns];
			b->slots[i].req.ud = &b->slots[i];
		}
	}
	if (o->mode == MODE_CONSUME || o->mode == MODE_ROUND_TRIP) {
		int nf = o->mode == MODE_ROUND_TRIP ? 1 :
			 (b->nconns < b->nparts ? b->nconns : b->nparts);
		b->nfetchers = nf;
		b->fetchers = calloc((size_t)nf, sizeof *b->fetchers);
		if (!b->fetchers)
			return -1;
		for (int i = 0; i < nf; i++) {
			bench_fetcher *f = &b->fetchers[i];
			f->b = b;
			f->conn = o->mode == MODE_ROUND_TRIP ? &b->cconn
							     : &b->conns[i];
			f->req.ud = f;
			f->parts = calloc((size_t)b->nparts, sizeof(int));
			f->fparts = calloc((size_t)b->nparts,
					   sizeof *f->fparts);
			if (!f->parts || !f->fparts)
				return -1;
			for (int p = i; p < b->nparts; p += nf)
				f->parts[f->nparts++] = p;
		}
	}
	if (o->mode == MODE_PRODUCE || o->mode == MODE_ROUND_TRIP) {
		chronik_protocol_batch_builder_options_init(&bo,
			CHRONIK_PROTOCOL_BATCH_BUILDER_OPTIONS_VERSION);
		bo.compression = o->compression;
		if (chronik_protocol_batch_builder_new(&b->builder, &bo))
			return -1;
		b->payload = malloc(n ? n : 1);
		b->pool_size = n + 65536;
		b->pool = malloc(b->pool_size);
		if (!b->payload || !b->pool)
			return -1;
		for (size_t i = 0; i < b->pool_size; i++) {
			uint64_t x = b->rng;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b->rng = x;
			b->pool[i] = o->payload_pattern == PATTERN_RANDOM ?
				     (uint8_t)(x >> 29) : (uint8_t)i;
		}
		memset(b->payload, 'x', n);
	}
	bench_hist_reset(&b->hist);
	bench_hist_reset(&b->e2e);
	bench_hist_reset(&b->interval);
	return 0;
}

/* ---- report ---- */

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void print_text(bench *b, double secs)
{
	const bench_opts *o = &b->o;
	const bench_hist *h = &b->hist;

	printf("chronik-bench %s: %s topic %s, %d partition(s), acks %d, "
	       "%s, %d B values, batch %d, %d in flight on %d "
	       "connection(s)\n", mode_names[o->mode], o->bootstrap, o->topic,
	       b->nparts, o->acks, codec_names[o->compression],
	       o->message_size, o->batch_size, o->concurrency, b->nconns);
	printf("versions: Produce v%d, Fetch v%d, ListOffsets v%d, "
	       "Metadata v%d\n", b->v.produce, b->v.fetch, b->v.list_offsets,
	       b->v.metadata);
	printf("messages:   %" PRIu64 " in %" PRIu64 " requests, errors %"
	       PRIu64 "\n", b->msgs, b->requests, b->errors);
	printf("time:       %.3f s\n", secs);
	printf("throughput: %.0f msg/s, %.2f MB/s\n",
	       secs > 0 ? (double)b->msgs / secs : 0.0,
	       secs > 0 ? (double)b->bytes / secs / 1e6 : 0.0);
	printf("latency:    p50 %.3f ms, p90 %.3f, p99 %.3f, p99.9 %.3f, "
	       "max %.3f, mean %.3f (%s)\n",
	       ms(bench_hist_quantile(h, 0.5)), ms(bench_hist_quantile(h, 0.9)),
	       ms(bench_hist_quantile(h, 0.99)),
	       ms(bench_hist_quantile(h, 0.999)), ms(h->max),
	       bench_hist_mean(h) / 1e6,
	       o->mode == MODE_CONSUME ? "per fetch" : "per request");
	if (o->mode == MODE_ROUND_TRIP) {
		h = &b->e2e;
		printf("end to end: p50 %.3f ms, p90 %.3f, p99 %.3f, p99.9 "
		       "%.3f, max %.3f (%" PRIu64 " of %" PRIu64
		       " consumed)\n", ms(bench_hist_quantile(h, 0.5)),
		       ms(bench_hist_quantile(h, 0.9)),
		       ms(bench_hist_quantile(h, 0.99)),
		       ms(bench_hist_quantile(h, 0.999)), ms(h->max),
		       b->rt_consumed, b->rt_expected);
	}
	if (o->validate)
		printf("validate:   %" PRIu64 " checked, %" PRIu64 " bad, %"
		       PRIu64 " duplicates, %" PRIu64 " gaps, %" PRIu64
		       " out of order\n", b->v_checked, b->v_bad, b->v_dup,
		       b->v_checked ? b->v_maxseq + 1 - (b->v_checked -
							 b->v_dup) : 0,
		       b->v_ooo);
	if (b->first_error[0])
		printf("first error: %s\n", b->first_error);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_hist(const char *name, const bench_hist *h)
{
	printf(",\"%s\":{\"count\":%" PRIu64 ",\"p50\":%.1f,\"p90\":%.1f,"
	       "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}", name,
	       h->count, (double)bench_hist_quantile(h, 0.5) / 1e3,
	       (double)bench_hist_quantile(h, 0.9) / 1e3,
	       (double)bench_hist_quantile(h, 0.99) / 1e3,
	       (double)bench_hist_quantile(h, 0.999) / 1e3,
	       (double)h->max / 1e3, bench_hist_mean(h) / 1e3);
}

static void print_json(bench *b, double secs)
{
	const bench_opts *o = &b->o;

	printf("{\"mode\":\"%s\",\"bootstrap\":", mode_names[o->mode]);
	json_str(o->bootstrap);
	printf(",\"topic\":");
	json_str(o->topic);
	printf(",\"partitions\":%d,\"acks\":%d,\"compression\":\"%s\","
	       "\"message_size\":%d,\"batch_size\":%d,\"concurrency\":%d,"
	       "\"connections\":%d,\"seconds\":%.6f,\"messages\":%" PRIu64
	       ",\"requests\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"errors\":%" PRIu64 ",\"msgs_per_sec\":%.1f,"
	       "\"mb_per_sec\":%.3f", b->nparts, o->acks,
	       codec_names[o->compression], o->message_size, o->batch_size,
	       o->concurrency, b->nconns, secs, b->msgs, b->requests,
	       b->bytes, b->errors,
	       secs > 0 ? (double)b->msgs / secs : 0.0,
	       secs > 0 ? (double)b->bytes / secs / 1e6 : 0.0);
	json_hist("latency_us", &b->hist);
	if (o->mode == MODE_ROUND_TRIP) {
		json_hist("e2e_latency_us", &b->e2e);
		printf(",\"consumed\":%" PRIu64 ",\"expected\":%" PRIu64,
		       b->rt_consumed, b->rt_expected);
	}
	if (o->validate)
		printf(",\"validate\":{\"checked\":%" PRIu64 ",\"bad\":%" PRIu64
		       ",\"duplicates\":%" PRIu64 ",\"gaps\":%" PRIu64
		       ",\"out_of_order\":%" PRIu64 "}", b->v_checked,
		       b->v_bad, b->v_dup,
		       b->v_checked ? b->v_maxseq + 1 - (b->v_checked -
							 b->v_dup) : 0,
		       b->v_ooo);
	printf(",\"versions\":{\"produce\":%d,\"fetch\":%d,"
	       "\"list_offsets\":%d,\"metadata\":%d}", b->v.produce,
	       b->v.fetch, b->v.list_offsets, b->v.metadata);
	if (b->first_error[0]) {
		printf(",\"first_error\":");
		json_str(b->first_error);
	}
	printf("}\n");
}

/* Everything prepare() allocated; the connections are closed by then
 * (their buffers are freed by their close callbacks). */
static void bench_free(bench *b)
{
	for (int i = 0; i < b->nslots; i++)
		free(b->slots[i].req.buf);
	for (int i = 0; i < b->nfetchers; i++) {
		free(b->fetchers[i].req.buf);
		free(b->fetchers[i].parts);
		free(b->fetchers[i].fparts);
	}
	free(b->slots);
	free(b->fetchers);
	free(b->conns);
	free(b->ps);
	free(b->payload);
	free(b->pool);
	free(b->seen);
	chronik_protocol_batch_builder_free(b->builder);
	free(b);
}

int main(int argc, char **argv)
{
	bench *b = calloc(1, sizeof *b);
	int rc;
	double secs;
	uint64_t gaps = 0;

	if (!b)
		return 1;
	parse_args(&b->o, argc, argv);
	b->loop = uv_default_loop();
	if (setup(b))
		return 1;
	if (prepare(b)) {
		fprintf(stderr, "chronik-bench: out of memory\n");
		return 1;
	}
	if (bench_load_start(b)) {
		fprintf(stderr, "chronik-bench: cannot connect\n");
		return 1;
	}
	uv_run(b->loop, UV_RUN_DEFAULT);
	secs = b->t_end > b->t_measure ?
	       (double)(b->t_end - b->t_measure) / 1e9 : 0.0;
	if (b->o.validate && b->v_checked)
		gaps = b->v_maxseq + 1 - (b->v_checked - b->v_dup);
	if (b->o.validate && b->o.mode == MODE_CONSUME && b->v_checked == 0 &&
	    b->msgs > 0)
		bench_error(b, "validate: no record carried a payload "
			    "header");
	if (b->o.json)
		print_json(b, secs);
	else
		print_text(b, secs);
	uv_loop_close(b->loop);
	rc = b->errors || b->failed || b->v_dup || b->v_bad || gaps ? 1 : 0;
	bench_free(b);
	return rc;
}
