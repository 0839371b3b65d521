/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rdkafka_bench: a small librdkafka producer and consumer used by
 * bench/compare.sh as the common yardstick, run against chronik-server
 * and against librdkafka's in-process mock cluster (rdkafka_mock.h, no
 * disk: the ceiling).
 *
 *   rdkafka_bench produce [--mock | -b HOST:PORT] [-t TOPIC] [-a ACKS]
 *                 [-s 256] [--inflight 128] [-n N | -d SECONDS] [--json]
 *   rdkafka_bench consume [--mock | -b ...] [--preload-bytes B] [--json]
 *   rdkafka_bench serve-mock [-d SECONDS]   (prints the bootstrap address)
 *
 * produce: one rd_kafka_t, linger.ms=0, at most --inflight messages
 * outstanding (counted here: produce increments, the delivery report
 * decrements; at the limit we poll). Latency is produce() to delivery
 * report, in the same log-bucket histogram as chronik-bench.
 * consume: produces --preload-bytes of values first (batched, acks=1,
 * not timed), then reads the topic from the beginning with the simple
 * consumer API (no group coordinator needed) and times that.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "hist.h"

typedef struct opts {
	const char *mode;
	const char *bootstrap;
	const char *topic;
	bool mock;
	const char *acks;
	int size;
	int inflight;
	int partitions;
	uint64_t count;
	double duration;
	uint64_t preload_bytes;
	double timeout_s;
	bool json;
} opts;

static bench_hist hist;
static uint64_t outstanding, delivered, failed;
static char first_error[256];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "rdkafka_bench: %s: %s\n", what, why);
	exit(1);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
			void *opaque)
{
	uint64_t t0 = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	(void)opaque;
	outstanding--;
	if (m->err) {
		failed++;
		if (!first_error[0])
			snprintf(first_error, sizeof first_error, "%s",
				 rd_kafka_err2str(m->err));
		return;
	}
	delivered++;
	if (t0)
		bench_hist_record(&hist, now_ns() - t0);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
		die(k, err);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap,
			      const char *const *kv)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_t *rk;
	char err[256];

	if (bootstrap)
		set(c, "bootstrap.servers", bootstrap);
	for (; kv && kv[0]; kv += 2)
		set(c, kv[0], kv[1]);
	if (type == RD_KAFKA_PRODUCER)
		rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	rk = rd_kafka_new(type, c, err, sizeof err);
	if (!rk)
		die("rd_kafka_new", err);
	return rk;
}

static void fill(char *buf, int n, uint64_t seq)
{
	for (int i = 0; i < n; i++)
		buf[i] = (char)('a' + (seq + (uint64_t)i) % 26);
}

/* Produce count messages (or for duration seconds) with at most
 * `inflight` outstanding; returns the measured seconds. */
static double produce(rd_kafka_t *rk, const opts *o, uint64_t count,
		      double duration, int inflight, bool timed)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	char *buf = malloc((size_t)o->size + 1);
	uint64_t t0 = now_ns(), sent = 0;
	uint64_t end = duration > 0 ? t0 + (uint64_t)(duration * 1e9) : 0;

	if (!rkt || !buf)
		die("produce", "out of memory");
	for (;;) {
		if (count && sent >= count)
			break;
		if (end && (sent & 63) == 0 && now_ns() >= end)
			break;
		while (outstanding >= (uint64_t)inflight)
			rd_kafka_poll(rk, 1);
		fill(buf, o->size, sent);
		uintptr_t ts = timed ? (uintptr_t)now_ns() : 0;
		if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA,
				     RD_KAFKA_MSG_F_COPY, buf,
				     (size_t)o->size, NULL, 0,
				     (void *)ts) == -1) {
			rd_kafka_resp_err_t e = rd_kafka_last_error();
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				rd_kafka_poll(rk, 1);
				continue;
			}
			die("rd_kafka_produce", rd_kafka_err2str(e));
		}
		outstanding++;
		sent++;
		rd_kafka_poll(rk, 0);
	}
	while (outstanding)
		rd_kafka_poll(rk, 1);
	double secs = (double)(now_ns() - t0) / 1e9;
	rd_kafka_topic_destroy(rkt);
	free(buf);
	return secs;
}

static void report(const opts *o, const char *mode, uint64_t msgs,
		   uint64_t bytes, double secs, const bench_hist *h)
{
	double mps = secs > 0 ? (double)msgs / secs : 0;
	double mbs = secs > 0 ? (double)bytes / secs / 1e6 : 0;

	if (o->json) {
		printf("{\"tool\":\"rdkafka_bench\",\"mode\":\"%s\","
		       "\"target\":\"%s\",\"acks\":\"%s\",\"message_size\":%d,"
		       "\"inflight\":%d,\"messages\":%" PRIu64 ",\"errors\":%"
		       PRIu64 ",\"seconds\":%.6f,\"msgs_per_sec\":%.1f,"
		       "\"mb_per_sec\":%.3f", mode, o->mock ? "mock" :
		       o->bootstrap, o->acks, o->size, o->inflight, msgs,
		       failed, secs, mps, mbs);
		if (h)
			printf(",\"latency_us\":{\"count\":%" PRIu64
			       ",\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
			       "\"p999\":%.1f,\"max\":%.1f}", h->count,
			       bench_hist_quantile(h, 0.5) / 1e3,
			       bench_hist_quantile(h, 0.9) / 1e3,
			       bench_hist_quantile(h, 0.99) / 1e3,
			       bench_hist_quantile(h, 0.999) / 1e3,
			       (double)h->max / 1e3);
		if (first_error[0])
			printf(",\"first_error\":\"%s\"", first_error);
		printf("}\n");
		return;
	}
	printf("rdkafka_bench %s (%s, acks %s, %d B, %d outstanding): "
	       "%" PRIu64 " msgs, %" PRIu64 " errors, %.3f s, %.0f msg/s, "
	       "%.2f MB/s\n", mode, o->mock ? "mock" : o->bootstrap, o->acks,
	       o->size, o->inflight, msgs, failed, secs, mps, mbs);
	if (h)
		printf("  latency: p50 %.3f ms, p90 %.3f, p99 %.3f, p99.9 "
		       "%.3f, max %.3f\n", bench_hist_quantile(h, 0.5) / 1e6,
		       bench_hist_quantile(h, 0.9) / 1e6,
		       bench_hist_quantile(h, 0.99) / 1e6,
		       bench_hist_quantile(h, 0.999) / 1e6,
		       (double)h->max / 1e6);
	if (first_error[0])
		printf("  first error: %s\n", first_error);
}

static void run_produce(const opts *o, const char *bootstrap)
{
	const char *kv[] = {
		"acks", o->acks, "linger.ms", "0",
		"enable.idempotence", "false",
		"queue.buffering.max.messages", "100000",
		NULL
	};
	rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, bootstrap, kv);
	double secs;

	/* Warm the connection and metadata (not measured). */
	produce(rk, o, 100, 0, o->inflight, false);
	bench_hist_reset(&hist);
	delivered = failed = 0;
	secs = produce(rk, o, o->count, o->duration, o->inflight, true);
	report(o, "produce", delivered, delivered * (uint64_t)o->size, secs,
	       &hist);
	rd_kafka_flush(rk, 10000);
	rd_kafka_destroy(rk);
}

static void run_consume(const opts *o, const char *bootstrap)
{
	const char *pkv[] = {
		"acks", "1", "linger.ms", "5",
		"enable.idempotence", "false", NULL
	};
	const char *ckv[] = { "enable.partition.eof", "false",
			      getenv("RDB_DEBUG") ? "debug" : NULL,
			      getenv("RDB_DEBUG"), NULL };
	uint64_t n = o->preload_bytes / (uint64_t)o->size, got = 0, bytes = 0;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	rd_kafka_queue_t *q;
	rd_kafka_message_t *msgs[10000];
	uint64_t t0, deadline;
	double secs;

	if (n == 0)
		n = 1;
	rk = new_client(RD_KAFKA_PRODUCER, bootstrap, pkv);
	bench_hist_reset(&hist);
	secs = produce(rk, o, n, 0, 20000, false);
	rd_kafka_flush(rk, 30000);
	if (failed)
		die("preload", first_error);
	if (!o->json)
		printf("preloaded %" PRIu64 " messages (%.1f MB) in %.2f s\n",
		       n, (double)n * o->size / 1e6, secs);
	fflush(stdout);
	rd_kafka_destroy(rk);

	rk = new_client(RD_KAFKA_CONSUMER, bootstrap, ckv);
	rkt = rd_kafka_topic_new(rk, o->topic, NULL);
	q = rd_kafka_queue_new(rk);
	t0 = now_ns();
	for (int p = 0; p < o->partitions; p++)
		if (rd_kafka_consume_start_queue(rkt, p,
						 RD_KAFKA_OFFSET_BEGINNING, q))
			die("consume_start",
			    rd_kafka_err2str(rd_kafka_last_error()));
	deadline = t0 + (uint64_t)(o->timeout_s * 1e9);
	while (got < n && now_ns() < deadline) {
		size_t want = n - got < 10000 ? (size_t)(n - got) : 10000;
		ssize_t k = rd_kafka_consume_batch_queue(q, 1000, msgs, want);
		for (ssize_t i = 0; i < k; i++) {
			if (msgs[i]->err) {
				if (msgs[i]->err !=
				    RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					failed++;
					if (!first_error[0])
						snprintf(first_error,
						    sizeof first_error, "%s",
						    rd_kafka_message_errstr(
							    msgs[i]));
				}
			} else {
				got++;
				bytes += msgs[i]->len;
			}
			rd_kafka_message_destroy(msgs[i]);
		}
	}
	secs = (double)(now_ns() - t0) / 1e9;
	if (got < n) {
		failed++;
		snprintf(first_error, sizeof first_error,
			 "consumed %" PRIu64 " of %" PRIu64, got, n);
	}
	report(o, "consume", got, bytes, secs, NULL);
	for (int p = 0; p < o->partitions; p++)
		rd_kafka_consume_stop(rkt, p);
	rd_kafka_queue_destroy(q);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(void)
{
	fputs("usage: rdkafka_bench produce|consume|serve-mock [--mock | -b "
	      "HOST:PORT]\n"
	      "  [-t TOPIC] [-a 0|1|all] [-s BYTES] [--inflight N] "
	      "[-p PARTITIONS]\n"
	      "  [-n COUNT | -d SECONDS] [--preload-bytes B] [--json]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	opts o = { .topic = "rdkafka-bench", .acks = "all", .size = 256,
		   .inflight = 128, .partitions = 1, .duration = 5,
		   .preload_bytes = 64ull << 20, .timeout_s = 300 };
	rd_kafka_t *host = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	const char *bootstrap;

	if (argc < 2)
		usage();
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--mock")) {
			o.mock = true;
			continue;
		}
		if (!strcmp(a, "--json")) {
			o.json = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "-b"))
			o.bootstrap = v;
		else if (!strcmp(a, "-t"))
			o.topic = v;
		else if (!strcmp(a, "-a"))
			o.acks = !strcmp(v, "-1") ? "all" : v;
		else if (!strcmp(a, "-s"))
			o.size = atoi(v);
		else if (!strcmp(a, "--inflight"))
			o.inflight = atoi(v);
		else if (!strcmp(a, "-p"))
			o.partitions = atoi(v);
		else if (!strcmp(a, "-n")) {
			o.count = strtoull(v, NULL, 10);
			o.duration = 0;
		} else if (!strcmp(a, "-d"))
			o.duration = atof(v);
		else if (!strcmp(a, "--timeout"))
			o.timeout_s = atof(v);
		else if (!strcmp(a, "--preload-bytes"))
			o.preload_bytes = strtoull(v, NULL, 10);
		else
			usage();
	}
	if (o.size < 1 || o.inflight < 1 || o.partitions < 1 ||
	    (!o.mock && !o.bootstrap && strcmp(o.mode, "serve-mock")))
		usage();
	bench_hist_reset(&hist);
	if (o.mock || !strcmp(o.mode, "serve-mock")) {
		const char *kv[] = { "log_level", "3", NULL };
		host = new_client(RD_KAFKA_PRODUCER, NULL, kv);
		mc = rd_kafka_mock_cluster_new(host, 1);
		if (!mc)
			die("mock", "rd_kafka_mock_cluster_new failed");
		if (rd_kafka_mock_topic_create(mc, o.topic, o.partitions, 1))
			die("mock", "topic create failed");
		o.mock = true;
	}
	bootstrap = mc ? rd_kafka_mock_cluster_bootstraps(mc) : o.bootstrap;
	if (!strcmp(o.mode, "produce"))
		run_produce(&o, bootstrap);
	else if (!strcmp(o.mode, "consume"))
		run_consume(&o, bootstrap);
	else if (!strcmp(o.mode, "serve-mock")) {
		uint64_t end = now_ns() + (uint64_t)(o.duration * 1e9);
		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		printf("%s\n", bootstrap);
		fflush(stdout);
		while (!stop_flag && now_ns() < end)
			usleep(50000);
	} else
		usage();
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (host)
		rd_kafka_destroy(host);
	return failed ? 1 : 0;
}
