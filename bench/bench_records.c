/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmarks for record batches: CRC-32C (hardware and portable), record
 * iteration and batch validation, and each compression codec on a
 * JSON-ish log payload. Prints medians of 5 runs.
 *   bench_records [--payload-out FILE] [--quick]
 * --payload-out writes the codec payload so the codec CLIs can be timed on
 * the same bytes (see docs/performance.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chronik/protocol.h>

#include "crc32c.h"

#define RUNS 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static volatile uint32_t sink;
static double min_time = 0.2;

/* ---------------------------------------------------------------- CRC */

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static double bench_crc(crc_fn fn, const uint8_t *buf, size_t len)
{
	double r[RUNS];
	for (int k = 0; k < RUNS; k++) {
		double t0 = now_s(), t;
		size_t bytes = 0;
		uint32_t c = 0;
		do {
			c = fn(c, buf, len);
			bytes += len;
			t = now_s() - t0;
		} while (t < min_time);
		sink = c;
		r[k] = (double)bytes / t / 1e9;
	}
	return median(r, RUNS);
}

/* ------------------------------------------------------------ records */

static void bench_iteration(void)
{
	chronik_protocol_batch_builder *b;
	chronik_protocol_batch batch;
	chronik_protocol_record_iter it;
	chronik_protocol_record rec;
	const uint8_t *out;
	size_t out_len;
	uint8_t value[256];
	double r[RUNS], v[RUNS];
	const int n = 4000;

	for (size_t i = 0; i < sizeof value; i++)
		value[i] = (uint8_t)('a' + i % 26);
	chronik_protocol_batch_builder_new(&b, NULL);
	for (int i = 0; i < n; i++) {
		char key[16];
		int kl = snprintf(key, sizeof key, "user-%d", i % 977);
		chronik_protocol_batch_builder_append(b, 1700000000000 + i, key,
						      kl, value, 256, NULL, 0);
	}
	chronik_protocol_batch_builder_finish(&out, &out_len, b);
	chronik_protocol_batch_parse(&batch, out, out_len);
	for (int k = 0; k < RUNS; k++) {
		double t0 = now_s(), t;
		long recs = 0;
		size_t sum = 0;
		do {
			chronik_protocol_record_iter_init(&it, &batch);
			while (chronik_protocol_record_next(&rec, &it) == 1) {
				sum += (size_t)rec.value_len;
				recs++;
			}
			t = now_s() - t0;
		} while (t < min_time);
		sink = (uint32_t)sum;
		r[k] = (double)recs / t;
	}
	for (int k = 0; k < RUNS; k++) {
		double t0 = now_s(), t;
		long recs = 0;
		do {
			if (chronik_protocol_batch_validate(NULL, out, out_len,
							    NULL) != 0)
				abort();
			recs += n;
			t = now_s() - t0;
		} while (t < min_time);
		v[k] = (double)recs / t;
	}
	printf("record iteration: %d records of 256 B (batch %zu B)\n", n,
	       out_len);
	printf("  iterate   %8.1f M records/s  %6.2f GB/s\n",
	       median(r, RUNS) / 1e6,
	       median(r, RUNS) * ((double)out_len / n) / 1e9);
	printf("  validate  %8.1f M records/s  %6.2f GB/s  (CRC + records)\n",
	       median(v, RUNS) / 1e6,
	       median(v, RUNS) * ((double)out_len / n) / 1e9);
	chronik_protocol_batch_builder_free(b);
}

/* -------------------------------------------------------------- codecs */

/* JSON-ish log lines with varying fields, about 170 bytes each. */
static uint8_t *make_payload(size_t len)
{
	static const char *lvl[] = {"INFO", "INFO", "INFO", "WARN", "DEBUG",
				    "ERROR"};
	static const char *path[] = {"/api/v1/orders", "/api/v1/users/me",
				     "/healthz", "/api/v1/cart/items",
				     "/static/app.js", "/api/v2/search"};
	uint8_t *p = malloc(len + 512);
	size_t pos = 0;
	uint32_t s = 12345;

	while (pos < len) {
		s = s * 1103515245u + 12345u;
		uint32_t r = s >> 8;
		pos += (size_t)snprintf(
			(char *)p + pos, 512,
			"{\"ts\":\"2026-11-26T12:%02u:%02u.%03uZ\","
			"\"level\":\"%s\",\"host\":\"web-%02u\","
			"\"req\":\"%08x\",\"method\":\"GET\","
			"\"path\":\"%s\",\"status\":%u,\"ms\":%u.%u}\n",
			r % 60, (r >> 6) % 60, (r >> 3) % 1000, lvl[r % 6],
			(r >> 4) % 24, s, path[(r >> 9) % 6],
			(r % 17) ? 200 : 500, (r >> 12) % 250, (r >> 2) % 10);
	}
	return p;
}

static void bench_codec(const char *name, int codec, int level,
			const uint8_t *in, size_t len)
{
	double c[RUNS], d[RUNS];
	void *comp = NULL, *plain;
	size_t clen = 0, plen;

	for (int k = 0; k < RUNS; k++) {
		double t0 = now_s(), t;
		size_t bytes = 0;
		do {
			chronik_protocol_free(comp);
			if (chronik_protocol_compress(&comp, &clen, codec,
						      level, 0, in, len))
				abort();
			bytes += len;
			t = now_s() - t0;
		} while (t < min_time);
		c[k] = (double)bytes / t / 1e6;
	}
	for (int k = 0; k < RUNS; k++) {
		double t0 = now_s(), t;
		size_t bytes = 0;
		do {
			if (chronik_protocol_decompress(&plain, &plen, codec, 0,
							comp, clen, len) ||
			    plen != len)
				abort();
			chronik_protocol_free(plain);
			bytes += len;
			t = now_s() - t0;
		} while (t < min_time);
		d[k] = (double)bytes / t / 1e6;
	}
	printf("  %-10s ratio %5.2f  compress %8.1f MB/s  decompress %8.1f "
	       "MB/s\n",
	       name, (double)len / (double)clen, median(c, RUNS),
	       median(d, RUNS));
	chronik_protocol_free(comp);
}

int main(int argc, char **argv)
{
	const char *payload_out = NULL;
	size_t crc_len = (size_t)1 << 20, plen = (size_t)4 << 20;
	uint8_t *buf;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--payload-out") && i + 1 < argc)
			payload_out = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			min_time = 0.05;
	}

	buf = malloc(crc_len);
	for (size_t i = 0; i < crc_len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 24);
	printf("CRC-32C over a %zu KiB buffer (median of %d):\n",
	       crc_len >> 10, RUNS);
	if (chronik_util_crc32c_hw_available())
		printf("  hardware  %6.2f GB/s\n",
		       bench_crc(chronik_util_crc32c_hw, buf, crc_len));
	else
		printf("  hardware  n/a\n");
	printf("  portable  %6.2f GB/s\n",
	       bench_crc(chronik_util_crc32c_sw, buf, crc_len));
	printf("  256 B     %6.2f GB/s  (chronik_protocol_crc32c)\n",
	       bench_crc(chronik_protocol_crc32c, buf, 256));
	free(buf);

	bench_iteration();

	buf = make_payload(plen);
	if (payload_out) {
		FILE *f = fopen(payload_out, "wb");
		if (!f || fwrite(buf, 1, plen, f) != plen) {
			perror(payload_out);
			return 1;
		}
		fclose(f);
	}
	printf("codecs on %zu MiB of JSON log lines (median of %d):\n",
	       plen >> 20, RUNS);
	bench_codec("gzip-1", CHRONIK_PROTOCOL_COMPRESSION_GZIP, 1, buf, plen);
	bench_codec("gzip-6", CHRONIK_PROTOCOL_COMPRESSION_GZIP, 6, buf, plen);
	bench_codec("snappy", CHRONIK_PROTOCOL_COMPRESSION_SNAPPY, 0, buf,
		    plen);
	bench_codec("lz4", CHRONIK_PROTOCOL_COMPRESSION_LZ4, 0, buf, plen);
	bench_codec("zstd-1", CHRONIK_PROTOCOL_COMPRESSION_ZSTD, 1, buf, plen);
	bench_codec("zstd-3", CHRONIK_PROTOCOL_COMPRESSION_ZSTD, 3, buf, plen);
	free(buf);
	return 0;
}
